/* Opening input files without surprises: a FIFO, a device or a folder given
 * where a regular file is needed is refused with a message that says what it
 * is, instead of blocking for ever in open() or read(). */
#ifndef GANNET_FILES_H
#define GANNET_FILES_H

#include "gannet/export.h"

#include <stdio.h>
#include <sys/types.h>

#include "gannet/status.h"

/* What a file of this mode is, in words ("a folder", "a FIFO or pipe", ...). */
GN_API const char *gn_file_kind(mode_t mode);

/* Opens path for reading when it is a regular file; `what` names the kind of
 * file in messages ("checkpoint"). Never blocks on a FIFO without a writer. */
GN_API gn_status gn_open_regular(const char *path, const char *what, FILE **out);

/* Opens path for reading as a stream: a regular file or a pipe (a FIFO,
 * /dev/stdin, bash's <(...)); folders, devices and sockets are refused.
 * A FIFO that has no writer reads as empty instead of blocking. Returns a
 * file descriptor in *fd. */
GN_API gn_status gn_open_stream(const char *path, const char *what, int *fd);

#endif
