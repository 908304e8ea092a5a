/* How much memory this process may still use, so that a run too large for the
 * machine is refused with the figures instead of being killed by the kernel's
 * out-of-memory killer after minutes of allocating. */
#ifndef GANNET_MEMORY_H
#define GANNET_MEMORY_H

#include "gannet/export.h"

#include <stddef.h>

/* The bytes this process can still allocate: the smallest of the kernel's
 * MemAvailable, the cgroup's limit less its usage (v2 or v1) and the soft
 * RLIMIT_AS and RLIMIT_DATA; writes which one it is to `source`. Returns
 * (size_t)-1 when none is known. */
GN_API size_t gn_mem_available(char *source, size_t len);

#endif
