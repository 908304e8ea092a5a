/* One atomic writer for every file gannet writes: the bytes go to a
 * temporary file in the target's folder, which is fsync'd and renamed over
 * the target, and then the folder is fsync'd. A reader sees the old file or
 * the whole new one, never half of one; on any error the target is left as it
 * was and the temporary file is removed.
 *
 * The temporary name is `.NAME.gannet-tmp.PID.SEQ`: hidden, recognisable and
 * made only here, so that a later run can remove what a killed writer left
 * (gn_atomic_remove_stale) without touching anybody else's files. */
#ifndef GANNET_ATOMIC_H
#define GANNET_ATOMIC_H

#include "gannet/export.h"

#include <stddef.h>
#include <stdio.h>

#include "gannet/status.h"

/* A file being written. */
typedef struct gn_atomic_file {
    FILE *f;          /* write here (or with gn_atomic_put) */
    char *path;       /* the target */
    char *tmp;        /* the temporary file beside it */
    const char *what; /* what the file is, for messages ("checkpoint") */
    int err;          /* the first errno of a failed write, 0 while all is well */
} gn_atomic_file;

/* Creates the temporary file for path; `what` names the kind of file in messages. */
GN_API gn_status gn_atomic_begin(gn_atomic_file *a, const char *path, const char *what);

/* Appends n bytes; a failure is remembered and reported by gn_atomic_commit. */
GN_API void gn_atomic_put(gn_atomic_file *a, const void *p, size_t n);

/* Records a failure found outside gn_atomic_put (an errno value), so the commit fails. */
GN_API void gn_atomic_set_error(gn_atomic_file *a, int err);

/* Flushes, fsyncs and renames the temporary file over the target, then fsyncs
 * the folder. On any failure (including an earlier one) the temporary file is
 * removed, the target is untouched and the message names the target. */
GN_API gn_status gn_atomic_commit(gn_atomic_file *a);

/* Gives up: closes and removes the temporary file. Safe after a commit. */
GN_API void gn_atomic_abort(gn_atomic_file *a);

/* Writes n bytes as the whole new contents of path, atomically. */
GN_API gn_status gn_atomic_write_file(const char *path, const void *p, size_t n, const char *what);

/* Whether a file name is one of gn_atomic_begin's temporary names. */
GN_API int gn_atomic_is_temp_name(const char *name);

/* Removes from dir the temporary files of writers that are no longer
 * running (a writer killed mid-write leaves one); nothing else. Returns the
 * number removed. */
GN_API int gn_atomic_remove_stale(const char *dir);

#endif
