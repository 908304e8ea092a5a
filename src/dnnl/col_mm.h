/* The bf16 weight gradients of a strided convolution as patches (im2col) and
 * bf16 matrix products: oneDNN 2.6.3's bf16 backward-weights ran 2-3x slower
 * than its fp32 one on D's 5x5/2 256->512 convolution (and so did a stride-1
 * convolution over the space-to-depth of its input), while its bf16 matmul
 * runs the same product 2-3x faster than the fp32 pass (docs/precision.md). */
#ifndef GANNET_COL_MM_H
#define GANNET_COL_MM_H

#include <stdint.h>

#include "dnnl/dnnl_util.h"
#include "gannet/status.h"

typedef struct gn_col_mm {
    int n, ih, iw, ic;          /* input x (N, IH, IW, IC), NHWC */
    int oh, ow, oc;             /* gradient dy (N, OH, OW, OC), NHWC */
    int kh, kw, sh, sw, pad_t, pad_l;
    int transposed;             /* dw for a transposed convolution (see gn_col_mm_run) */
    int x_bf16;                 /* x is stored in bf16 (a convolution's; not transposed) */
    size_t max_bytes;           /* patches of one product at most this large; 0: GN_COL_MM_BYTES */
    int chunk;                  /* samples per product; divides n */
    int taps;                   /* taps per product; divides KH * KW */
    uint16_t *cols;             /* (chunk * OH * OW, taps * IC) bf16 patches of x, and */
    float *dwt;                 /* (OC, KH * KW * IC) the products' sum before the transpose:
                                   buffers of gn_col_mm_bytes bytes that the caller sets;
                                   dwt NULL (a convolution only): the products sum into dw
                                   itself, transposed in place after */
    dnnl_primitive_t mm[2];     /* the products: the first chunk's (writes dwt), the others' (add) */
    dnnl_memory_t mem[3];       /* their dy, cols and dwt memory objects */
} gn_col_mm;

/* The patches of one product at most this large by default. */
#define GN_COL_MM_BYTES (32u << 20)

/* Whether a convolution of these strides takes this path when its
 * backward-weights runs in bf16. */
int gn_col_mm_wanted(int sh, int sw);

/* Chooses chunk and taps (from the shape and max_bytes), so that
 * gn_col_mm_bytes(m, 0) is known before the products are built. */
void gn_col_mm_plan(gn_col_mm *m);
gn_status gn_col_mm_init(gn_col_mm *m);
/* The bytes of cols (which = 0) and dwt (which = 1), once planned. */
size_t gn_col_mm_bytes(const gn_col_mm *m, int which);
void gn_col_mm_free(gn_col_mm *m);

/* dw = sum over samples and output pixels of g x patch of x, with x (f32)
 * and g (bf16) rounded to bf16 and the sums in f32: x (N, IH, IW, IC) and g
 * (N, OH, OW, OC) as the convolution sees them. A convolution: x its input,
 * g its output gradient, dw (OC, IC, KH, KW). A transposed convolution: x
 * its output gradient, g its input, dw (IC, OC, KH, KW) (its weights' own
 * order), set by `transposed`. x holds uint16_t bf16 values where x_bf16. */
gn_status gn_col_mm_run(gn_col_mm *m, const void *x, const uint16_t *g, float *dw);

/* out (C) = the sum of a (rows, C) over its rows, in row order whatever the
 * thread count: a bias gradient. */
void gn_col_mm_bias(const float *a, size_t rows, int C, float *out);

#endif
