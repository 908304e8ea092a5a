/* Status codes and error messages. Library code never exits: it returns a
 * gn_status, and gn_last_error() says precisely what went wrong. */
#ifndef GANNET_STATUS_H
#define GANNET_STATUS_H

#include "gannet/export.h"

typedef enum gn_status {
    GN_OK = 0,
    GN_ERR_ARG,         /* a bad argument or option value */
    GN_ERR_IO,          /* a file could not be opened, read or written */
    GN_ERR_FORMAT,      /* a file's contents are malformed */
    GN_ERR_NOMEM,       /* an allocation failed */
    GN_ERR_SHAPE,       /* tensors or models whose shapes do not fit together */
    GN_ERR_DNNL,        /* oneDNN refused or failed */
    GN_ERR_NONFINITE,   /* a NaN or infinity where numbers must be finite */
    GN_ERR_UNSUPPORTED, /* a valid request this build cannot serve */
    GN_ERR_INTERRUPTED, /* stopped by a signal */
} gn_status;

/* A short fixed text for the code ("malformed file"). */
GN_API const char *gn_strerror(gn_status s);

/* The message of the last failure on this thread ("data/x.idx: bad magic ..."). */
GN_API const char *gn_last_error(void);

/* Records a formatted message for this thread and returns s, so that
 * `return gn_fail(GN_ERR_FORMAT, "%s: ...", path);` reads as one statement. */
GN_API gn_status gn_fail(gn_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
