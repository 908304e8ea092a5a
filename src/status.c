#include <stdarg.h>
#include <stdio.h>

#include "gannet/status.h"

static _Thread_local char last_error[1024];

const char *gn_strerror(gn_status s) {
    switch (s) {
    case GN_OK: return "success";
    case GN_ERR_ARG: return "bad argument";
    case GN_ERR_IO: return "input/output error";
    case GN_ERR_FORMAT: return "malformed file";
    case GN_ERR_NOMEM: return "out of memory";
    case GN_ERR_SHAPE: return "shape mismatch";
    case GN_ERR_DNNL: return "oneDNN error";
    case GN_ERR_NONFINITE: return "non-finite value";
    case GN_ERR_UNSUPPORTED: return "unsupported";
    case GN_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

const char *gn_last_error(void) { return last_error[0] ? last_error : "no error recorded"; }

gn_status gn_fail(gn_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}
