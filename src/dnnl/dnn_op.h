/* oneDNN-backed layers (dense, conv2d, deconv2d) for one batch size:
 * forward, backward-data and backward-weights primitives built once (the
 * backward ones on first use) and reused. Activations are plain NHWC (dense:
 * (N, features)); weights and gradients are plain in the caller's slab
 * (dense (O, I), conv (O, I, KH, KW), deconv (O, I, KH, KW)) and are
 * reordered to the layout each primitive prefers only when they changed. */
#ifndef GANNET_DNN_OP_H
#define GANNET_DNN_OP_H

#include <stdint.h>

#include "gannet/status.h"

typedef enum gn_dnn_kind { GN_DNN_DENSE, GN_DNN_CONV, GN_DNN_DECONV } gn_dnn_kind;

/* bf16 buffers that the ops of one network share, because each op needs
 * them only within one call (or the calls of one layer that follow each
 * other): the copy of x (which backward-weights uses again while no other op
 * has used the slot since, else it converts x again), with col_mm.h's sums
 * after it; the copy of dy (for the pair of backward calls); col_mm.h's
 * patches. Each slot grows to the largest need and remembers which op wrote
 * it last. The slots hold only what does not fit where nothing else is at
 * the time: a forward's copy of x goes to `fwd`, a backward's copies and
 * patches to the op's own output (gn_dnn_spec.spare_y), its dx before
 * backward-data writes it (dx_room), or the free middle of the gradient
 * workspace (bwd_room). */
enum { GN_DNN_SLOT_X, GN_DNN_SLOT_DY, GN_DNN_SLOT_COLS, GN_DNN_SLOTS };
typedef struct gn_dnn_scratch {
    void *buf[GN_DNN_SLOTS];
    size_t bytes[GN_DNN_SLOTS];    /* allocated */
    size_t need[GN_DNN_SLOTS];     /* the largest any op asked for */
    const void *owner[GN_DNN_SLOTS];
    /* A buffer that nothing uses during a forward pass (the network's
     * gradient workspace), or NULL: a bf16 forward puts its copy of x there
     * when it fits, not in the X slot. */
    void *fwd;
    size_t fwd_bytes;
} gn_dnn_scratch;
void gn_dnn_scratch_free(gn_dnn_scratch *sc); /* its buffers; not sc itself */

typedef struct gn_dnn_spec {
    gn_dnn_kind kind;
    int n;                    /* batch */
    int ih, iw, ic;           /* input per sample (dense: ih = iw = 1, ic = features) */
    int oh, ow, oc;           /* output per sample */
    int kh, kw, sh, sw;       /* kernel and strides (conv, deconv) */
    int pad_t, pad_l, pad_b, pad_r;
    int post_relu;            /* forward applies max(0, .) to its output */
    int no_bias;              /* conv, deconv: no bias (nor its gradient) */
    unsigned bf16;            /* passes run in bf16 (GN_DNN_BF16_*): their inputs and weights
                                 are converted to bf16, their outputs stay f32 */
    gn_dnn_scratch *scratch;  /* shared with the network's other ops and outliving them,
                                 or NULL: the op keeps its own */
    size_t fwd_room;          /* scratch->fwd holds at least this many bytes whenever the op
                                 runs: a forward copy of x that fits needs no X slot */
    int spare_y;              /* the output y is dead during the backward passes (every
                                 reader's backward has run): they keep their bf16 copies and
                                 patches in it, where those fit (gn_dnn_op_spare) */
    size_t bwd_room;          /* during the backward passes, this many bytes of the gradient
                                 workspace are free: what does not fit in y goes there */
    size_t dx_room;           /* dx holds this many bytes, free until backward-data writes
                                 them (backward-weights runs first): what only
                                 backward-weights reads goes there */
    int x_bf16;               /* x is stored in bf16 (the forward and backward-weights run
                                 in bf16 and read it as it is) */
    int y_bf16;               /* y is stored in bf16: a bf16 forward writes it so, an fp32 one
                                 rounds its f32 output (made in scratch->fwd) into it */
    int y_keep_f32;           /* with y_bf16: write the f32 output only, for the layer after
                                 to round into y (gn_dnn_op_output_f32) */
} gn_dnn_spec;

/* Bits of gn_dnn_spec.bf16, one per pass (1 << which, as gn_dnn_op_impl counts). */
#define GN_DNN_BF16_FWD 1u
#define GN_DNN_BF16_BWD_DATA 2u
#define GN_DNN_BF16_BWD_WEIGHTS 4u
#define GN_DNN_BF16_ALL 7u

/* The passes of a layer that run in bf16 under --precision bf16: all but
 * those measured slower in bf16 than in fp32 (docs/precision.md). */
unsigned gn_dnn_bf16_passes(const gn_dnn_spec *spec);

typedef struct gn_dnn_op gn_dnn_op;

/* Weights in primitive layouts, shared by one layer's ops of every batch size. */
typedef struct gn_dnn_cache gn_dnn_cache;
gn_dnn_cache *gn_dnn_cache_new(void);
void gn_dnn_cache_free(gn_dnn_cache *c);

/* The op keeps using `cache`, which must outlive it. */
gn_status gn_dnn_op_create(gn_dnn_op **op, const gn_dnn_spec *spec, gn_dnn_cache *cache);
void gn_dnn_op_free(gn_dnn_op *op);

/* y = op(x; w, b). wver: the weights' version; reorders are skipped when unchanged.
 * Where gn_dnn_op_unit_scale is not NULL, the bias and ReLU are left out.
 * x and y hold bf16 (uint16_t) where spec.x_bf16, spec.y_bf16 say so. */
gn_status gn_dnn_op_forward(gn_dnn_op *op, const float *x, const float *w, const float *b,
                            float *y, uint64_t wver);
/* NULL when the forward primitive adds the bias (and the ReLU) itself; else
 * oc ones, so that the caller adds them as the per-channel affine y * 1 + b
 * (exactly y + b) then max(0, .) when post_relu. (Transposed convolutions.) */
const float *gn_dnn_op_unit_scale(const gn_dnn_op *op);
/* spec.y_keep_f32: the f32 output of the last forward (valid until the next
 * forward pass of any op sharing the scratch). */
const float *gn_dnn_op_output_f32(const gn_dnn_op *op);
const gn_dnn_spec *gn_dnn_op_spec(const gn_dnn_op *op);
/* Before the backward passes: y, the op's output buffer of the last forward
 * (n * oh * ow * oc floats), which they may overwrite when spec.spare_y;
 * mid, mid_bytes (at least spec.bwd_room) of free gradient workspace; and
 * dx, where backward-data will write (spec.dx_room), in which case
 * backward-weights must run first. */
void gn_dnn_op_spare(gn_dnn_op *op, float *y, void *mid, size_t mid_bytes, float *dx);
/* dx = op^T(dy; w) */
gn_status gn_dnn_op_backward_data(gn_dnn_op *op, const float *dy, const float *w, float *dx,
                                  uint64_t wver);
/* dw, db = gradients of the weights and bias (overwritten). */
gn_status gn_dnn_op_backward_weights(gn_dnn_op *op, const float *x, const float *dy, float *dw,
                                     float *db);
/* The implementations chosen: which = 0 forward, 1 backward-data, 2 backward-weights
 * ("" when that primitive is not built yet). */
const char *gn_dnn_op_impl(const gn_dnn_op *op, int which);
/* 1 when that pass runs in bf16. */
int gn_dnn_op_pass_bf16(const gn_dnn_op *op, int which);

/* One line about the oneDNN build and the ISA it runs on. */
void gn_dnn_runtime(char *buf, unsigned long len);

#endif
