/* A run folder and what keeps it whole: a path that fits, a lock held while
 * a training writes into it, the list of files that make a run (so that a
 * run is never silently replaced, and --overwrite removes nothing else),
 * and the data file a run records so that --resume trains on the same
 * images. */
#ifndef GANNET_RUNFOLDER_H
#define GANNET_RUNFOLDER_H

#include <stddef.h>

#include "gannet/gan.h"

/* The longest run folder path, in bytes: the longest file gannet writes
 * inside ("samples/iter_1000000000.png" and a temporary suffix) must still
 * fit in PATH_MAX (4096). */
#define GN_RUN_DIR_MAX 4000
/* Room for any path inside a run folder. */
#define GN_RUN_PATH_MAX 4200
/* The lock file, held with flock(2) while a training runs. */
#define GN_RUN_LOCK_FILE "gannet.lock"

/* Copies a run folder path into dst (GN_RUN_PATH_MAX bytes), refusing one
 * longer than GN_RUN_DIR_MAX; `option` names where it came from ("--out"). */
gn_status gn_run_set_dir(char *dst, const char *dir, const char *option);

/* Creates dir and the folders above it; *made says whether dir itself was new. */
gn_status gn_run_make_dirs(const char *dir, int *made);

/* Takes the run folder's lock (a flock on GN_RUN_LOCK_FILE, with this
 * process's id written in it); fails naming the process that holds it. */
gn_status gn_run_lock(const char *dir, int *fd);
/* Releases the lock (closes fd; the file stays). */
void gn_run_unlock(int fd);

/* Whether dir holds files of a run; the first one found goes into `first`. */
int gn_run_exists(const char *dir, char *first, size_t len);
/* Removes the files of a run from dir (and samples/ when it is left empty);
 * any other file stays. */
gn_status gn_run_clear(const char *dir);
/* Undoes a start that failed before writing anything: removes the lock
 * file, samples/ and dir, each only when empty. */
void gn_run_unmake(const char *dir);

/* The size and CRC-32 of a regular file. */
gn_status gn_file_fingerprint(const char *path, uint64_t *size, uint64_t *crc32);
/* Records the data of a new run in cfg: the absolute path of `path` and its fingerprint. */
gn_status gn_run_record_data(gn_gan_config *cfg, const char *path);
/* Checks the data of a resumed run: cfg->data is the recorded path, or the
 * path given with --data when it differs from `recorded`; either must have
 * the recorded size and CRC-32. On success cfg->data is absolute. A
 * checkpoint that records no data (older gannet) takes cfg->data as given,
 * or `fallback` (the bundled MNIST) when empty. */
gn_status gn_run_check_data(gn_gan_config *cfg, const gn_gan_config *recorded, const char *fallback);

#endif
