#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "gannet/tensor.h"

size_t gn_dtype_size(gn_dtype t) { return t == GN_BF16 ? 2 : 4; }
const char *gn_dtype_name(gn_dtype t) { return t == GN_BF16 ? "bf16" : "f32"; }

void *gn_alloc(size_t bytes) {
    void *p = NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, rounded ? rounded : 64)) return NULL;
    return p;
}

void gn_free(void *p) { free(p); }

double gn_peak_rss_mib(void) {
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u)) return 0;
    return u.ru_maxrss / 1024.0; /* Linux counts kilobytes */
}
