/* The SIMD kernels behind every layer that oneDNN does not run.
 *
 * One table of function pointers per ISA (ref, avx2, avx512, neon), chosen
 * once at start-up from cpuid; GANNET_ISA=ref|avx2|avx512|neon forces one.
 * ref.c is the truth: every vector path computes the same maths (the same
 * polynomials, the same hash), has a scalar tail, and is tested against it.
 *
 * Kernels are single-threaded over the slice they are given; callers split
 * the work with OpenMP on outer loops, in blocks whose boundaries do not
 * depend on the thread count. */
#ifndef GANNET_KERNELS_H
#define GANNET_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef struct gn_kernels {
    const char *name; /* "ref", "avx2", "avx512", "neon" */

    /* Activations, n elements; forward may run in place (y == x). */
    void (*relu_forward)(float *y, const float *x, size_t n);
    /* dx = y > 0 ? dy : 0 (i.e. dy * (y > 0), with +0 where y <= 0); dx may alias dy */
    void (*relu_backward)(float *dx, const float *dy, const float *y, size_t n);
    /* y = x > 0 ? x : alpha * x */
    void (*leaky_relu_forward)(float *y, const float *x, size_t n, float alpha);
    /* dx = dy * (y > 0 ? 1 : alpha); y is the forward output (its sign is x's for alpha > 0) */
    void (*leaky_relu_backward)(float *dx, const float *dy, const float *y, size_t n, float alpha);
    /* y = 1 / (1 + exp(-x)), exp by gn_expf's polynomial (see ref.c) */
    void (*sigmoid_forward)(float *y, const float *x, size_t n);
    /* dx = dy * y * (1 - y) */
    void (*sigmoid_backward)(float *dx, const float *dy, const float *y, size_t n);
    /* y = tanh(x) = sign(x) * (1 - 2 / (exp(2|x|) + 1)), same exp polynomial;
     * for |x| < 0.625 an odd polynomial instead (no cancellation near 0) */
    void (*tanh_forward)(float *y, const float *x, size_t n);
    /* dx = dy * (1 - y * y) */
    void (*tanh_backward)(float *dx, const float *dy, const float *y, size_t n);

    /* Inverted dropout, element i of a tensor whose first element has
     * global index `offset`: keep = gn_dropout_hash(key, offset + i) >= threshold,
     * where threshold = (uint32_t)(p * 2^32) (saturating);
     * y[i] = keep ? x[i] * scale : 0 (scale = 1 / (1 - p)). y may alias x. The map
     * is its own transpose: called on dy with the same key, it is the backward. */
    void (*dropout)(float *y, const float *x, size_t n, uint64_t key, uint64_t offset,
                    uint32_t threshold, float scale);

    /* x is a (rows, C) row-major matrix (NHWC flattened to rows = N*H*W).
     * With d = x[r,c] - centre[c] (one rounded subtraction; centre may be NULL,
     * meaning zeros): sum[c] += sum_r d; sumsq[c] += sum_r d^2 (accumulating
     * into the outputs). A centre near the mean keeps sumsq accurate when the
     * mean is large compared with the spread. */
    void (*channel_sum_sumsq)(float *sum, float *sumsq, const float *x, const float *centre,
                              size_t rows, size_t C);
    /* y[r,c] = x[r,c] * scale[c] + shift[c], then max(0, .) when relu != 0. y may alias x. */
    void (*channel_affine)(float *y, const float *x, size_t rows, size_t C, const float *scale,
                           const float *shift, int relu);
    /* Batch-norm backward reductions (accumulating):
     * g = dy[r,c], or 0 where relu != 0 and y[r,c] <= 0 (y: the BN(+ReLU) output);
     * d = x[r,c] - centre[c] (centre may be NULL, meaning zeros);
     * sum_g[c] += g; sum_gx[c] += g * d. y is ignored when relu == 0. */
    void (*bn_backward_sums)(float *sum_g, float *sum_gx, const float *dy, const float *y,
                             const float *x, const float *centre, size_t rows, size_t C,
                             int relu);
    /* Batch-norm backward to the input, g and d as above:
     * dx[r,c] = a[c] * g + b[c] * d + k[c]. dx may alias dy. */
    void (*bn_backward_apply)(float *dx, const float *dy, const float *y, const float *x,
                              const float *centre, size_t rows, size_t C, const float *a,
                              const float *b, const float *k, int relu);

    /* Nearest upsampling of one image by an integer factor f:
     * x (H, W, C) -> y (H*f, W*f, C). */
    void (*upsample_forward)(float *y, const float *x, size_t H, size_t W, size_t C, size_t f);
    /* dx (H, W, C) = sum of the f*f copies in dy (H*f, W*f, C); dx is overwritten. */
    void (*upsample_backward)(float *dx, const float *dy, size_t H, size_t W, size_t C, size_t f);

    /* Adam on a slab (Keras form: eps added to sqrt(v_hat)):
     * m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
     * w -= lr * (m / bc1) / (sqrt(v / bc2) + eps), bc1 = 1 - b1^t, bc2 = 1 - b2^t. */
    void (*adam)(float *w, float *m, float *v, const float *g, size_t n, float lr, float b1,
                 float b2, float eps, float bc1, float bc2);

    /* y[i] += a * x[i] */
    void (*axpy)(float *y, const float *x, size_t n, float a);
    /* 1 when every element is finite, else 0 */
    int (*all_finite)(const float *x, size_t n);

    /* bf16 (the top 16 bits of a float) from float: round to nearest, ties to
     * even, on the bits (denormals round too, none is flushed); a NaN stays a
     * NaN (quiet bit set). */
    void (*f32_to_bf16)(uint16_t *y, const float *x, size_t n);
    /* float from bf16, exact */
    void (*bf16_to_f32)(float *y, const uint16_t *x, size_t n);
} gn_kernels;

/* The dropout hash (defined once here so every ISA shares it):
 * two rounds of a 32-bit integer mixer over the low 32 bits of the index,
 * keyed by the 64-bit key. */
static inline uint32_t gn_mix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}
static inline uint32_t gn_dropout_hash(uint64_t key, uint64_t index) {
    uint32_t x = (uint32_t)index ^ (uint32_t)key;
    x = gn_mix32(x);
    x ^= (uint32_t)(key >> 32);
    return gn_mix32(x);
}

/* exp(x) by the polynomial every path uses (Cephes range reduction and
 * minimax polynomial, ~1 ulp): +inf above ~88.72, 0 below ~-103.97, NaN kept. */
float gn_expf(float x);

/* The table in use (chosen on first call; thread-safe after gn_kernels_init). */
const gn_kernels *gn_kern(void);
/* Chooses the table: GANNET_ISA if set and available, else the best the CPU has. */
void gn_kernels_init(void);
/* The table for an ISA name, or NULL when this build or CPU lacks it. */
const gn_kernels *gn_kernels_get(const char *isa);
/* Every table this build and CPU can run, ref first; returns the count. */
int gn_kernels_available(const gn_kernels **out, int max);

/* CPU features, from cpuid (x86) or the target (aarch64). */
typedef struct gn_cpu_features {
    int avx2, fma, avx512f, avx512bw, avx512vl, avx512_bf16, amx_tile, amx_bf16, neon;
} gn_cpu_features;
gn_cpu_features gn_cpu_detect(void);

#endif
