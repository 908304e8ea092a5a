/* The layers, each a set of explicit functions over caller-owned buffers.
 * Shapes are per call; activations are NHWC float32, flattened to
 * (rows, C) where a layer works per channel. Forward functions write their
 * output and whatever their backward needs; backward functions write the
 * input gradient and (separately) the parameter gradients. */
#ifndef GANNET_LAYERS_H
#define GANNET_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "dnnl/dnn_op.h"
#include "gannet/status.h"

/* Which samples of the whole (global) batch a batch holds, so that random
 * layers draw what one process would: local sample i < split is global
 * sample first + i, the others global second + (i - split). All zero: local
 * sample i is sample i (one process). */
typedef struct gn_samples {
    uint64_t first, second;
    int split;
    uint64_t step; /* a network run in slices (net_hooks.h): slice s holds first + s * step
                      and second + s * step on */
} gn_samples;

/* Sums across the processes of a data-parallel run (synchronised batch
 * norm): sum(ctx, buf, n) replaces buf by its sum over `ranks` processes
 * (in double: the statistics' partial sums before they round to float);
 * this one is process `rank`, the one whose samples come first.
 * Or, in one process (sum NULL), the batch cut into `slices` equal slices
 * that stand for that many ranks: each slice's sums taken as a rank takes
 * its own, then added in slice order; each slice's gamma and beta
 * gradients go to its own gradient slab, grad_stride floats apart. */
typedef struct gn_sync {
    void (*sum)(void *ctx, double *buf, size_t n);
    void *ctx;
    int rank, ranks;
    int slices;
    size_t grad_stride;
} gn_sync;

/* Elementwise work is split into chunks of this many elements; chunk
 * boundaries do not depend on the thread count. */
#define GN_CHUNK ((size_t)16384)
#define GN_PARALLEL_CHUNKS(n, off, len, body)                                       \
    do {                                                                            \
        size_t gn_n_ = (n), gn_chunks_ = (gn_n_ + GN_CHUNK - 1) / GN_CHUNK;         \
        _Pragma("omp parallel for schedule(static) if (gn_chunks_ > 1)")            \
        for (size_t gn_c_ = 0; gn_c_ < gn_chunks_; gn_c_++) {                       \
            size_t off = gn_c_ * GN_CHUNK;                                          \
            size_t len = gn_n_ - off < GN_CHUNK ? gn_n_ - off : GN_CHUNK;           \
            body;                                                                   \
        }                                                                           \
    } while (0)

/* ---- dense, conv2d, deconv2d (oneDNN; see dnnl/dnn_op.h for layouts) ---- */

/* dense    x: (N, I) -> y: (N, O); w: (O, I), b: (O)
 * conv2d   x: (N, H, W, C) -> y: (N, OH, OW, F); w: (F, C, KH, KW), b: (F)
 * deconv2d x: (N, H, W, C) -> y: (N, OH, OW, F); w: (F, C, KH, KW), b: (F) */
gn_status gn_linear_forward(gn_dnn_op *op, float *y, const float *x, const float *w,
                            const float *b, uint64_t wver);
/* dy: (N, out) -> dx: (N, in) */
gn_status gn_linear_backward_data(gn_dnn_op *op, float *dx, const float *dy, const float *w,
                                  uint64_t wver);
/* x: (N, in), dy: (N, out) -> dw, db (overwritten) */
gn_status gn_linear_backward_weights(gn_dnn_op *op, float *dw, float *db, const float *x,
                                     const float *dy);
/* UpSampling2D(2) followed by a 3x3 'same' convolution equals a 4x4
 * transposed convolution of stride 2 and padding 1 on the small image, with
 * K = M W M^T per (out, in) pair, M = [[0,0,1],[0,1,1],[1,1,0],[1,0,0]].
 * w3: (F, C, 3, 3) -> w4: (F, C, 4, 4) */
void gn_upconv_weights(float *w4, const float *w3, int F, int C);
/* The gradient back through that map: dw4 (F, C, 4, 4) -> dw3 (F, C, 3, 3) = M^T dK M. */
void gn_upconv_weights_backward(float *dw3, const float *dw4, int F, int C);

/* Output size and padding of a convolution ('same' as Keras: pad_total =
 * max((out-1)*stride + k - in, 0), the extra pixel at the bottom/right). */
int gn_conv_out_size(int in, int k, int stride, int same, int *pad_lo, int *pad_hi);
/* The same for a transposed convolution: 'same' gives in*stride. */
int gn_deconv_out_size(int in, int k, int stride, int same, int *pad_lo, int *pad_hi);

/* ---- batch normalisation, per channel over rows ---- */

/* x: (rows, C) -> y: (rows, C) = x * scale[c] + shift[c], then max(0, .) when
 * relu; y may be x. */
void gn_channel_affine(float *y, const float *x, size_t rows, size_t C, const float *scale,
                       const float *shift, int relu);

/* Training: x: (rows, C) -> y: (rows, C), using batch statistics;
 * writes mean, rstd (C) for backward and updates running_mean/var (C):
 * r = momentum * r + (1 - momentum) * batch. relu: fuse max(0, .).
 * work: gn_batchnorm_work_size(rows, C) floats. sync (NULL: none): the
 * statistics are those of the rows of every process (synchronised batch norm),
 * or of every slice of rows (sync->slices), added as the processes add theirs. */
void gn_batchnorm_forward_train(float *y, float *mean, float *rstd, float *running_mean,
                                float *running_var, const float *x, const float *gamma,
                                const float *beta, size_t rows, size_t C, float momentum,
                                float eps, int relu, float *work, const gn_sync *sync);
/* x: (rows, C) -> y: (rows, C) again, from the mean and rstd a training
 * forward wrote (and the same gamma, beta): its output, bit for bit. For a
 * network that does not keep that output. work: 2C floats. */
void gn_batchnorm_remake(float *y, const float *x, const float *gamma, const float *beta,
                         const float *mean, const float *rstd, size_t rows, size_t C, int relu,
                         float *work);
/* Inference: x: (rows, C) -> y: (rows, C) with the running statistics. */
void gn_batchnorm_forward_infer(float *y, const float *x, const float *gamma, const float *beta,
                                const float *running_mean, const float *running_var, size_t rows,
                                size_t C, float eps, int relu, float *work);
/* dy: (rows, C) -> dx: (rows, C) (may alias dy; NULL to skip), dgamma, dbeta: (C)
 * (NULL to skip). y: the forward output (for the fused ReLU); x: its input.
 * sync: as the forward's; dgamma and dbeta stay this process's sums (the
 * parameter gradients are averaged across processes afterwards), with slices
 * each slice's, sync->grad_stride floats apart (slice 0's at dgamma, dbeta). */
void gn_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *y, const float *x, const float *gamma, const float *mean,
                           const float *rstd, size_t rows, size_t C, int relu, float *work,
                           const gn_sync *sync);
size_t gn_batchnorm_work_size(size_t rows, size_t C);

/* ---- activations, n elements; forward may run in place ---- */

typedef enum gn_act { GN_ACT_RELU, GN_ACT_LEAKY_RELU, GN_ACT_SIGMOID, GN_ACT_TANH } gn_act;
/* x: (n) -> y: (n) */
void gn_activation_forward(gn_act act, float *y, const float *x, size_t n, float alpha);
/* dy: (n) -> dx: (n), from the forward output y; dx may alias dy */
void gn_activation_backward(gn_act act, float *dx, const float *dy, const float *y, size_t n,
                            float alpha);
/* The ReLU's: dy: (n) -> dx: (n) from y stored in bf16 (exact in f32): the
 * f32 kernel on each chunk of y widened. */
void gn_relu_backward_bf16(float *dx, const float *dy, const uint16_t *y, size_t n);
/* Softmax over the last axis: x: (rows, C) -> y: (rows, C). */
void gn_softmax_forward(float *y, const float *x, size_t rows, size_t C);

/* ---- dropout (inverted) and Gaussian noise ---- */

/* x: (n) -> y: (n); key selects the random stream (see kernels.h). No mask is
 * kept: the backward draws the same bits again from the key. y may alias x. */
/* Element i draws with counter at + i (at: the first element's index in the
 * whole batch; 0 in one process). */
void gn_dropout_forward(float *y, const float *x, size_t n, float rate, uint64_t key, uint64_t at);
/* The same into y stored in bf16, from x in f32 or (x_bf16) in bf16 (y may
 * alias it): each chunk dropped by the f32 kernel (bf16 widened first),
 * then rounded to nearest even; rate 0 (or inference): rounded only. */
void gn_dropout_forward_bf16(uint16_t *y, const void *x, int x_bf16, size_t n, float rate, uint64_t key,
                             uint64_t at);
/* dy: (n) -> dx: (n) with the forward's key; dx may alias dy */
void gn_dropout_backward(float *dx, const float *dy, size_t n, float rate, uint64_t key, uint64_t at);
/* x: (n) -> y: (n) = x + sigma * N(0, 1) keyed by (seed, step); backward is the identity. */
void gn_gaussian_noise_forward(float *y, const float *x, size_t n, float sigma, uint64_t seed,
                               uint64_t key, uint64_t at);

/* ---- resampling ---- */

/* x: (N, H, W, C) -> y: (N, H*f, W*f, C) */
void gn_upsample_forward(float *y, const float *x, size_t N, size_t H, size_t W, size_t C, size_t f);
/* dy: (N, H*f, W*f, C) -> dx: (N, H, W, C) */
void gn_upsample_backward(float *dx, const float *dy, size_t N, size_t H, size_t W, size_t C,
                          size_t f);
/* x: (N, H, W, C) -> y: (N, OH, OW, C), OH = (H - k) / s + 1; argmax: (N, OH, OW, C)
 * the flat index (h * W + w) of each maximum. */
void gn_maxpool_forward(float *y, int32_t *argmax, const float *x, size_t N, size_t H, size_t W,
                        size_t C, int k, int s);
/* dy: (N, OH, OW, C) -> dx: (N, H, W, C) (overwritten) */
void gn_maxpool_backward(float *dx, const float *dy, const int32_t *argmax, size_t N, size_t H,
                         size_t W, size_t C, int k, int s);

#endif
