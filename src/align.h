/* Buffer sizes rounded up to whole cache lines (64 bytes, as gn_alloc
 * aligns), so that buffers laid out one after another in an arena or a
 * scratch slot each start on a line. */
#ifndef GANNET_ALIGN_H
#define GANNET_ALIGN_H

#include <stddef.h>

static inline size_t gn_align64(size_t x) { return (x + 63) & ~(size_t)63; }

#endif
