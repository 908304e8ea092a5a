/* The scalar maths of every kernel, shared by ref.c and the scalar tails of
 * the vector paths so that all of them compute exactly the same thing.
 *
 * Private to kernels/. Every translation unit that includes it is compiled
 * with -ffp-contract=off: a fused multiply-add happens only where fmaf() is
 * written, which is exactly where the vector code uses an FMA instruction. */
#ifndef GANNET_KERNELS_SCALAR_H
#define GANNET_KERNELS_SCALAR_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

/* The tables, one per translation unit (dispatch.c picks among them). */
extern const gn_kernels gn_kernels_ref;
extern const gn_kernels gn_kernels_avx2;
extern const gn_kernels gn_kernels_avx512;
extern const gn_kernels gn_kernels_neon;

/* exp(x) = 2^n * exp(r), n = floor(x*log2(e) + 1/2), r = x - n*ln2 (Cody-Waite
 * split of ln2 into C1 + C2, C1 with 9 significant bits so n*C1 is exact),
 * exp(r) by the Cephes minimax polynomial on [-ln2/2, ln2/2]. */
#define GN_EXP_LO (-104.0f)          /* exp(-104) < FLT_TRUE_MIN / 2: rounds to 0 */
#define GN_EXP_HI (89.0f)            /* exp(89) > FLT_MAX: overflows to +inf */
#define GN_LOG2E 1.44269504088896341f
#define GN_EXP_C1 0.693359375f
#define GN_EXP_C2 (-2.12194440e-4f)
#define GN_EXP_P0 1.9875691500e-4f
#define GN_EXP_P1 1.3981999507e-3f
#define GN_EXP_P2 8.3334519073e-3f
#define GN_EXP_P3 4.1665795894e-2f
#define GN_EXP_P4 1.6666665459e-1f
#define GN_EXP_P5 5.0000001201e-1f

/* tanh(x) for |x| < 0.625: x + x^3 * P(x^2) (Cephes tanhf), else from exp. */
#define GN_TANH_SMALL 0.625f
#define GN_TANH_T0 (-5.70498872745e-3f)
#define GN_TANH_T1 2.06390887954e-2f
#define GN_TANH_T2 (-5.37397155531e-2f)
#define GN_TANH_T3 1.33314422036e-1f
#define GN_TANH_T4 (-3.33332819422e-1f)

/* The float whose bits are u. */
static inline float gn_f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The bits of the float f. */
static inline uint32_t gn_bits_from_f32(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* 2^k for -126 <= k <= 127, built from its exponent bits. */
static inline float gn_pow2i(int32_t k) {
    return gn_f32_from_bits((uint32_t)(k + 127) << 23);
}

/* exp(x) to about 1 ulp; +inf above ~88.72, 0 below ~-103.97, NaN stays NaN.
 * The scale 2^n is applied in two halves so that n = 128 and subnormal
 * results need no special case (the second multiply is the only rounding). */
static inline float gn_expf_1(float x) {
    if (x != x) return x;
    x = x < GN_EXP_LO ? GN_EXP_LO : x;
    x = x > GN_EXP_HI ? GN_EXP_HI : x;
    float fx = floorf(fmaf(x, GN_LOG2E, 0.5f));
    float r = fmaf(fx, -GN_EXP_C1, x);
    r = fmaf(fx, -GN_EXP_C2, r);
    float z = r * r;
    float p = GN_EXP_P0;
    p = fmaf(p, r, GN_EXP_P1);
    p = fmaf(p, r, GN_EXP_P2);
    p = fmaf(p, r, GN_EXP_P3);
    p = fmaf(p, r, GN_EXP_P4);
    p = fmaf(p, r, GN_EXP_P5);
    p = fmaf(p, z, r);
    p = p + 1.0f;
    int32_t n = (int32_t)fx;
    int32_t n1 = n >> 1;
    int32_t n2 = n - n1;
    return (p * gn_pow2i(n1)) * gn_pow2i(n2);
}

/* 1 / (1 + exp(-x)): exp(-x) -> inf gives 0, exp(-x) -> 0 gives 1. */
static inline float gn_sigmoid_1(float x) {
    return 1.0f / (1.0f + gn_expf_1(-x));
}

/* tanh(x) = sign(x) * tanh(|x|): for |x| < 0.625 the odd polynomial
 * |x| + |x|^3 * P(x^2), else 1 - 2 / (exp(2|x|) + 1). Odd exactly, -0 kept. */
static inline float gn_tanh_1(float x) {
    float ax = fabsf(x);
    float y;
    if (ax < GN_TANH_SMALL) {
        float s = ax * ax;
        float p = GN_TANH_T0;
        p = fmaf(p, s, GN_TANH_T1);
        p = fmaf(p, s, GN_TANH_T2);
        p = fmaf(p, s, GN_TANH_T3);
        p = fmaf(p, s, GN_TANH_T4);
        y = fmaf(ax, p * s, ax);
    } else {
        float e = gn_expf_1(2.0f * ax);
        y = 1.0f - 2.0f / (e + 1.0f);
    }
    return copysignf(y, x);
}

/* relu: x where x > 0, else +0 (NaN gives 0). */
static inline float gn_relu_1(float x) { return x > 0.0f ? x : 0.0f; }

/* relu gradient: dy where y > 0, else +0. */
static inline float gn_relu_bwd_1(float dy, float y) { return y > 0.0f ? dy : 0.0f; }

/* leaky relu: x where x > 0, else alpha * x. */
static inline float gn_leaky_1(float x, float alpha) { return x > 0.0f ? x : alpha * x; }

/* leaky relu gradient: dy where y > 0, else dy * alpha. */
static inline float gn_leaky_bwd_1(float dy, float y, float alpha) {
    return y > 0.0f ? dy : dy * alpha;
}

/* sigmoid gradient: (dy * y) * (1 - y). */
static inline float gn_sigmoid_bwd_1(float dy, float y) { return (dy * y) * (1.0f - y); }

/* tanh gradient: dy * (1 - y*y), the 1 - y*y fused. */
static inline float gn_tanh_bwd_1(float dy, float y) { return dy * fmaf(-y, y, 1.0f); }

/* channel affine: x * scale + shift (fused), then relu when asked. */
static inline float gn_affine_1(float x, float scale, float shift, int relu) {
    float y = fmaf(x, scale, shift);
    return relu ? gn_relu_1(y) : y;
}

/* batch-norm gradient through the optional relu: 0 where relu and y <= 0. */
static inline float gn_bn_g_1(float dy, float y, int relu) {
    return (relu && y <= 0.0f) ? 0.0f : dy;
}

/* x - centre[c], one rounded subtraction; x itself when centre is NULL
 * (the same bits as x - 0, -0 and NaN included). */
static inline float gn_centred_1(float x, const float *centre, size_t c) {
    return centre ? x - centre[c] : x;
}

/* batch-norm backward to the input: a*g + (b*d + k), both fused (d = x - centre). */
static inline float gn_bn_apply_1(float g, float d, float a, float b, float k) {
    return fmaf(a, g, fmaf(b, d, k));
}

/* One Adam step for one weight; m, v updated in place. */
static inline float gn_adam_1(float w, float *m, float *v, float g, float lr, float b1,
                              float b2, float eps, float bc1, float bc2) {
    float mm = fmaf(b1, *m, (1.0f - b1) * g);
    float vv = fmaf(b2, *v, (1.0f - b2) * (g * g));
    *m = mm;
    *v = vv;
    float mhat = mm / bc1;
    float vhat = vv / bc2;
    return w - (lr * mhat) / (sqrtf(vhat) + eps);
}

/* 1 when x is neither infinite nor NaN (exponent bits not all ones). */
static inline int gn_finite_1(float x) {
    return (gn_bits_from_f32(x) & 0x7f800000u) != 0x7f800000u;
}

/* bf16 is the top half of a float's bits. Rounding to it is to nearest,
 * ties to even, done on the bits (so denormals round like every other value,
 * unlike vcvtneps2bf16, which treats them as zero): add 0x7fff plus the
 * lowest kept bit, keep the top 16 bits; a carry into the exponent rounds up
 * to the next binade or to infinity, as it should. A NaN stays a NaN (sign and
 * top payload bits kept, the quiet bit set) instead of rounding to infinity. */
#define GN_BF16_QUIET 0x00400000u
#define GN_F32_ABS 0x7fffffffu
#define GN_F32_INF 0x7f800000u
#define GN_BF16_HALF 0x7fffu

static inline uint16_t gn_bf16_from_f32_1(float x) {
    uint32_t u = gn_bits_from_f32(x);
    if ((u & GN_F32_ABS) > GN_F32_INF) return (uint16_t)((u | GN_BF16_QUIET) >> 16);
    return (uint16_t)((u + GN_BF16_HALF + ((u >> 16) & 1u)) >> 16);
}

/* The float a bf16 stands for (exact). */
static inline float gn_f32_from_bf16_1(uint16_t h) { return gn_f32_from_bits((uint32_t)h << 16); }

#endif
