/* Tensors: NHWC activations with their element type. */
#ifndef GANNET_TENSOR_H
#define GANNET_TENSOR_H

#include "gannet/export.h"

#include <stddef.h>

typedef enum gn_dtype { GN_F32 = 0, GN_BF16 = 1 } gn_dtype;

/* The shape of one sample: height, width, channels (a dense layer's features
 * are (1, 1, C)). */
typedef struct gn_shape {
    int h, w, c;
} gn_shape;

/* A batch of n samples of one shape, NHWC, contiguous. */
typedef struct gn_tensor {
    gn_dtype dtype;
    int n;
    gn_shape shape;
    void *data;
} gn_tensor;

static inline size_t gn_shape_size(gn_shape s) { return (size_t)s.h * s.w * s.c; }
static inline size_t gn_tensor_count(const gn_tensor *t) { return (size_t)t->n * gn_shape_size(t->shape); }
GN_API size_t gn_dtype_size(gn_dtype t);
GN_API const char *gn_dtype_name(gn_dtype t);

/* A float32 tensor view over existing data. */
static inline gn_tensor gn_tensor_f32(float *data, int n, gn_shape s) {
    gn_tensor t = {GN_F32, n, s, data};
    return t;
}

/* 64-byte aligned allocation (NULL on failure) and its release. */
GN_API void *gn_alloc(size_t bytes);
GN_API void gn_free(void *p);
/* The most memory this process has had resident (peak RSS), in MiB; 0 when unknown. */
GN_API double gn_peak_rss_mib(void);

#endif
