/* AVX-512 (F, BW, VL) kernels, 16 floats per vector. Same maths as ref.c, in
 * the same order, with the same fused multiply-adds: results are bit-identical.
 * 1-D kernels finish with the scalar code of scalar.h; 2-D kernels vectorise
 * across channels and finish each row with a masked vector. */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"
#include "scalar.h"

#define W 16

// the lanes c .. min(c + 16, C) - 1 of a row of C channels
static inline __mmask16 lanes(size_t c, size_t C) {
    size_t k = C - c;
    return k >= W ? (__mmask16)0xffff : (__mmask16)((1u << k) - 1);
}

// rows per block so a block of x (rows x C floats) stays near 128 KiB
static inline size_t block_rows(size_t C) {
    size_t rb = 32768 / (C ? C : 1);
    return rb ? rb : 1;
}

// -x (sign flip)
static inline __m512 neg16(__m512 x) {
    return _mm512_castsi512_ps(
        _mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u)));
}

// 2^k for integer lanes -126 <= k <= 127
static inline __m512 pow2i16(__m512i k) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k, _mm512_set1_epi32(127)), 23));
}

// gn_expf_1 on 16 lanes
static inline __m512 exp16(__m512 x) {
    x = _mm512_max_ps(_mm512_set1_ps(GN_EXP_LO), x); // a NaN x stays NaN (second operand)
    x = _mm512_min_ps(_mm512_set1_ps(GN_EXP_HI), x);
    __m512 fx = _mm512_fmadd_ps(x, _mm512_set1_ps(GN_LOG2E), _mm512_set1_ps(0.5f));
    fx = _mm512_roundscale_ps(fx, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(GN_EXP_C1), x);
    r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(GN_EXP_C2), r);
    __m512 z = _mm512_mul_ps(r, r);
    __m512 p = _mm512_set1_ps(GN_EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(GN_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(GN_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(GN_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(GN_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(GN_EXP_P5));
    p = _mm512_fmadd_ps(p, z, r);
    p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
    __m512i n = _mm512_cvttps_epi32(fx);
    __m512i n1 = _mm512_srai_epi32(n, 1);
    __m512i n2 = _mm512_sub_epi32(n, n1);
    return _mm512_mul_ps(_mm512_mul_ps(p, pow2i16(n1)), pow2i16(n2));
}

// gn_sigmoid_1 on 16 lanes
static inline __m512 sigmoid16(__m512 x) {
    __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, exp16(neg16(x))));
}

// gn_tanh_1 on 16 lanes: both branches on |x|, a blend, then the sign of x
static inline __m512 tanh16(__m512 x) {
    __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
    __m512 ax = _mm512_abs_ps(x);
    __mmask16 small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(GN_TANH_SMALL), _CMP_LT_OQ);
    __m512 s = _mm512_mul_ps(ax, ax);
    __m512 p = _mm512_set1_ps(GN_TANH_T0);
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(GN_TANH_T1));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(GN_TANH_T2));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(GN_TANH_T3));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(GN_TANH_T4));
    __m512 ys = _mm512_fmadd_ps(ax, _mm512_mul_ps(p, s), ax);
    __m512 e = exp16(_mm512_mul_ps(two, ax));
    __m512 yl = _mm512_sub_ps(one, _mm512_div_ps(two, _mm512_add_ps(e, one)));
    __m512i y = _mm512_castps_si512(_mm512_mask_blend_ps(small, yl, ys));
    __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(sign, y),
                                               _mm512_and_si512(sign, _mm512_castps_si512(x))));
}

// gn_mix32 on 16 lanes
static inline __m512i mix16(__m512i x) {
    x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 16));
    x = _mm512_mullo_epi32(x, _mm512_set1_epi32(0x7feb352d));
    x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 15));
    x = _mm512_mullo_epi32(x, _mm512_set1_epi32((int)0x846ca68bu));
    x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 16));
    return x;
}

// y = max(x, 0)
static void relu_forward(float *y, const float *x, size_t n) {
    __m512 zero = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m512 v = _mm512_loadu_ps(x + i);
        _mm512_storeu_ps(y + i, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ), v));
    }
    for (; i < n; i++) y[i] = gn_relu_1(x[i]);
}

// dx = y > 0 ? dy : 0
static void relu_backward(float *dx, const float *dy, const float *y, size_t n) {
    __m512 zero = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __mmask16 k = _mm512_cmp_ps_mask(_mm512_loadu_ps(y + i), zero, _CMP_GT_OQ);
        _mm512_storeu_ps(dx + i, _mm512_maskz_mov_ps(k, _mm512_loadu_ps(dy + i)));
    }
    for (; i < n; i++) dx[i] = gn_relu_bwd_1(dy[i], y[i]);
}

// y = x > 0 ? x : alpha * x
static void leaky_relu_forward(float *y, const float *x, size_t n, float alpha) {
    __m512 zero = _mm512_setzero_ps(), a = _mm512_set1_ps(alpha);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m512 v = _mm512_loadu_ps(x + i);
        __mmask16 k = _mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ);
        _mm512_storeu_ps(y + i, _mm512_mask_blend_ps(k, _mm512_mul_ps(a, v), v));
    }
    for (; i < n; i++) y[i] = gn_leaky_1(x[i], alpha);
}

// dx = y > 0 ? dy : alpha * dy
static void leaky_relu_backward(float *dx, const float *dy, const float *y, size_t n,
                                float alpha) {
    __m512 zero = _mm512_setzero_ps(), a = _mm512_set1_ps(alpha);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m512 d = _mm512_loadu_ps(dy + i);
        __mmask16 k = _mm512_cmp_ps_mask(_mm512_loadu_ps(y + i), zero, _CMP_GT_OQ);
        _mm512_storeu_ps(dx + i, _mm512_mask_blend_ps(k, _mm512_mul_ps(d, a), d));
    }
    for (; i < n; i++) dx[i] = gn_leaky_bwd_1(dy[i], y[i], alpha);
}

// y = 1 / (1 + exp(-x))
static void sigmoid_forward(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) _mm512_storeu_ps(y + i, sigmoid16(_mm512_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = gn_sigmoid_1(x[i]);
}

// dx = dy * y * (1 - y)
static void sigmoid_backward(float *dx, const float *dy, const float *y, size_t n) {
    __m512 one = _mm512_set1_ps(1.0f);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m512 v = _mm512_loadu_ps(y + i);
        __m512 d = _mm512_mul_ps(_mm512_loadu_ps(dy + i), v);
        _mm512_storeu_ps(dx + i, _mm512_mul_ps(d, _mm512_sub_ps(one, v)));
    }
    for (; i < n; i++) dx[i] = gn_sigmoid_bwd_1(dy[i], y[i]);
}

// y = tanh(x)
static void tanh_forward(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) _mm512_storeu_ps(y + i, tanh16(_mm512_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = gn_tanh_1(x[i]);
}

// dx = dy * (1 - y^2)
static void tanh_backward(float *dx, const float *dy, const float *y, size_t n) {
    __m512 one = _mm512_set1_ps(1.0f);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m512 v = _mm512_loadu_ps(y + i);
        __m512 t = _mm512_fnmadd_ps(v, v, one);
        _mm512_storeu_ps(dx + i, _mm512_mul_ps(_mm512_loadu_ps(dy + i), t));
    }
    for (; i < n; i++) dx[i] = gn_tanh_bwd_1(dy[i], y[i]);
}

// inverted dropout keyed by the global element index
static void dropout(float *y, const float *x, size_t n, uint64_t key, uint64_t offset,
                    uint32_t threshold, float scale) {
    __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512i klo = _mm512_set1_epi32((int)(uint32_t)key);
    __m512i khi = _mm512_set1_epi32((int)(uint32_t)(key >> 32));
    __m512i thr = _mm512_set1_epi32((int)threshold);
    __m512 s = _mm512_set1_ps(scale);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m512i idx = _mm512_add_epi32(_mm512_set1_epi32((int)(uint32_t)(offset + i)), iota);
        __m512i h = mix16(_mm512_xor_si512(mix16(_mm512_xor_si512(idx, klo)), khi));
        __mmask16 keep = _mm512_cmpge_epu32_mask(h, thr);
        _mm512_storeu_ps(y + i, _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(x + i), s));
    }
    for (; i < n; i++) {
        int keep = gn_dropout_hash(key, offset + i) >= threshold;
        y[i] = keep ? x[i] * scale : 0.0f;
    }
}

// the centre of channels c .. c + 15 on the lanes of k, +0 elsewhere or where centre
// is NULL (x - 0 has the bits of x, so a NULL centre changes nothing)
static inline __m512 centre16(const float *centre, size_t c, __mmask16 k) {
    return centre ? _mm512_maskz_loadu_ps(k, centre + c) : _mm512_setzero_ps();
}

// per-channel sum and sum of squares of d = x - centre; each channel adds its rows in order
static void channel_sum_sumsq(float *sum, float *sumsq, const float *x, const float *centre,
                              size_t rows, size_t C) {
    size_t rb = block_rows(C);
    for (size_t r0 = 0; r0 < rows; r0 += rb) {
        size_t r1 = rows - r0 < rb ? rows : r0 + rb;
        size_t c = 0;
        for (; c + 4 * W <= C; c += 4 * W) {
            __m512 s0 = _mm512_loadu_ps(sum + c), s1 = _mm512_loadu_ps(sum + c + W);
            __m512 s2 = _mm512_loadu_ps(sum + c + 2 * W), s3 = _mm512_loadu_ps(sum + c + 3 * W);
            __m512 q0 = _mm512_loadu_ps(sumsq + c), q1 = _mm512_loadu_ps(sumsq + c + W);
            __m512 q2 = _mm512_loadu_ps(sumsq + c + 2 * W);
            __m512 q3 = _mm512_loadu_ps(sumsq + c + 3 * W);
            __m512 m0 = centre16(centre, c, 0xffff), m1 = centre16(centre, c + W, 0xffff);
            __m512 m2 = centre16(centre, c + 2 * W, 0xffff);
            __m512 m3 = centre16(centre, c + 3 * W, 0xffff);
            for (size_t r = r0; r < r1; r++) {
                const float *xr = x + r * C + c;
                __m512 v0 = _mm512_sub_ps(_mm512_loadu_ps(xr), m0);
                __m512 v1 = _mm512_sub_ps(_mm512_loadu_ps(xr + W), m1);
                __m512 v2 = _mm512_sub_ps(_mm512_loadu_ps(xr + 2 * W), m2);
                __m512 v3 = _mm512_sub_ps(_mm512_loadu_ps(xr + 3 * W), m3);
                s0 = _mm512_add_ps(s0, v0); q0 = _mm512_fmadd_ps(v0, v0, q0);
                s1 = _mm512_add_ps(s1, v1); q1 = _mm512_fmadd_ps(v1, v1, q1);
                s2 = _mm512_add_ps(s2, v2); q2 = _mm512_fmadd_ps(v2, v2, q2);
                s3 = _mm512_add_ps(s3, v3); q3 = _mm512_fmadd_ps(v3, v3, q3);
            }
            _mm512_storeu_ps(sum + c, s0); _mm512_storeu_ps(sum + c + W, s1);
            _mm512_storeu_ps(sum + c + 2 * W, s2); _mm512_storeu_ps(sum + c + 3 * W, s3);
            _mm512_storeu_ps(sumsq + c, q0); _mm512_storeu_ps(sumsq + c + W, q1);
            _mm512_storeu_ps(sumsq + c + 2 * W, q2); _mm512_storeu_ps(sumsq + c + 3 * W, q3);
        }
        for (; c < C; c += W) {
            __mmask16 k = lanes(c, C);
            __m512 s = _mm512_maskz_loadu_ps(k, sum + c), q = _mm512_maskz_loadu_ps(k, sumsq + c);
            __m512 m = centre16(centre, c, k);
            for (size_t r = r0; r < r1; r++) {
                __m512 v = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + r * C + c), m);
                s = _mm512_add_ps(s, v);
                q = _mm512_fmadd_ps(v, v, q);
            }
            _mm512_mask_storeu_ps(sum + c, k, s);
            _mm512_mask_storeu_ps(sumsq + c, k, q);
        }
    }
}

// x * scale + shift on the lanes of k, then relu when asked
static inline __m512 affine16(const float *x, const float *scale, const float *shift,
                              __mmask16 k, int relu) {
    __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, x), _mm512_maskz_loadu_ps(k, scale),
                               _mm512_maskz_loadu_ps(k, shift));
    if (relu) v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), v);
    return v;
}

// y = x * scale[c] + shift[c], optionally followed by relu
static void channel_affine(float *y, const float *x, size_t rows, size_t C, const float *scale,
                           const float *shift, int relu) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        size_t c = 0;
        for (; c + W <= C; c += W)
            _mm512_storeu_ps(yr + c, affine16(xr + c, scale + c, shift + c, 0xffff, relu));
        if (c < C) {
            __mmask16 k = lanes(c, C);
            _mm512_mask_storeu_ps(yr + c, k, affine16(xr + c, scale + c, shift + c, k, relu));
        }
    }
}

// g = dy, or 0 where y[o] <= 0 when relu (y is not read otherwise and may be NULL)
static inline __m512 bn_g16(__m512 d, const float *y, size_t o, __mmask16 k, int relu) {
    if (!relu) return d;
    __m512 yv = _mm512_maskz_loadu_ps(k, y + o);
    __mmask16 le = _mm512_cmp_ps_mask(yv, _mm512_setzero_ps(), _CMP_LE_OQ);
    return _mm512_mask_mov_ps(d, le, _mm512_setzero_ps());
}

// sum_g[c] += g, sum_gx[c] += g * (x - centre); each channel adds its rows in order
static void bn_backward_sums(float *sum_g, float *sum_gx, const float *dy, const float *y,
                             const float *x, const float *centre, size_t rows, size_t C,
                             int relu) {
    size_t rb = block_rows(C);
    for (size_t r0 = 0; r0 < rows; r0 += rb) {
        size_t r1 = rows - r0 < rb ? rows : r0 + rb;
        size_t c = 0;
        for (; c + 2 * W <= C; c += 2 * W) {
            __m512 s0 = _mm512_loadu_ps(sum_g + c), s1 = _mm512_loadu_ps(sum_g + c + W);
            __m512 q0 = _mm512_loadu_ps(sum_gx + c), q1 = _mm512_loadu_ps(sum_gx + c + W);
            __m512 m0 = centre16(centre, c, 0xffff), m1 = centre16(centre, c + W, 0xffff);
            for (size_t r = r0; r < r1; r++) {
                size_t o = r * C + c;
                __m512 g0 = bn_g16(_mm512_loadu_ps(dy + o), y, o, 0xffff, relu);
                __m512 g1 = bn_g16(_mm512_loadu_ps(dy + o + W), y, o + W, 0xffff, relu);
                __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(x + o), m0);
                __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(x + o + W), m1);
                s0 = _mm512_add_ps(s0, g0); q0 = _mm512_fmadd_ps(g0, d0, q0);
                s1 = _mm512_add_ps(s1, g1); q1 = _mm512_fmadd_ps(g1, d1, q1);
            }
            _mm512_storeu_ps(sum_g + c, s0); _mm512_storeu_ps(sum_g + c + W, s1);
            _mm512_storeu_ps(sum_gx + c, q0); _mm512_storeu_ps(sum_gx + c + W, q1);
        }
        for (; c < C; c += W) {
            __mmask16 k = lanes(c, C);
            __m512 s = _mm512_maskz_loadu_ps(k, sum_g + c);
            __m512 q = _mm512_maskz_loadu_ps(k, sum_gx + c);
            __m512 m = centre16(centre, c, k);
            for (size_t r = r0; r < r1; r++) {
                size_t o = r * C + c;
                __m512 g = bn_g16(_mm512_maskz_loadu_ps(k, dy + o), y, o, k, relu);
                s = _mm512_add_ps(s, g);
                q = _mm512_fmadd_ps(g, _mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + o), m), q);
            }
            _mm512_mask_storeu_ps(sum_g + c, k, s);
            _mm512_mask_storeu_ps(sum_gx + c, k, q);
        }
    }
}

// a * g + (b * (x - centre) + k) for the lanes of m at row offset o, channel c
static inline __m512 bn_apply16(const float *dy, const float *y, const float *x,
                                const float *centre, const float *a, const float *b,
                                const float *k, size_t o, size_t c, __mmask16 m, int relu) {
    __m512 g = bn_g16(_mm512_maskz_loadu_ps(m, dy + o + c), y, o + c, m, relu);
    __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + o + c), centre16(centre, c, m));
    __m512 t = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, b + c), d, _mm512_maskz_loadu_ps(m, k + c));
    return _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + c), g, t);
}

// dx = a[c] * g + b[c] * (x - centre[c]) + k[c]
static void bn_backward_apply(float *dx, const float *dy, const float *y, const float *x,
                              const float *centre, size_t rows, size_t C, const float *a,
                              const float *b, const float *k, int relu) {
    for (size_t r = 0; r < rows; r++) {
        size_t o = r * C, c = 0;
        for (; c + W <= C; c += W)
            _mm512_storeu_ps(dx + o + c,
                             bn_apply16(dy, y, x, centre, a, b, k, o, c, 0xffff, relu));
        if (c < C) {
            __mmask16 m = lanes(c, C);
            _mm512_mask_storeu_ps(dx + o + c, m,
                                  bn_apply16(dy, y, x, centre, a, b, k, o, c, m, relu));
        }
    }
}

// nearest upsampling (H, W, C) -> (H*f, W*f, C)
static void upsample_forward(float *y, const float *x, size_t H, size_t Wd, size_t C, size_t f) {
    size_t orow = Wd * f * C;
    for (size_t h = 0; h < H; h++) {
        float *y0 = y + h * f * orow;
        for (size_t w = 0; w < Wd; w++) {
            const float *xp = x + (h * Wd + w) * C;
            float *yp = y0 + w * f * C;
            size_t c = 0;
            for (; c + W <= C; c += W) {
                __m512 v = _mm512_loadu_ps(xp + c);
                for (size_t j = 0; j < f; j++) _mm512_storeu_ps(yp + j * C + c, v);
            }
            if (c < C) {
                __mmask16 k = lanes(c, C);
                __m512 v = _mm512_maskz_loadu_ps(k, xp + c);
                for (size_t j = 0; j < f; j++) _mm512_mask_storeu_ps(yp + j * C + c, k, v);
            }
        }
        for (size_t i = 1; i < f; i++) memcpy(y0 + i * orow, y0, orow * sizeof *y);
    }
}

// dx[h,w,c] = sum over the f*f copies, in row-major order of the copies
static void upsample_backward(float *dx, const float *dy, size_t H, size_t Wd, size_t C,
                              size_t f) {
    size_t orow = Wd * f * C;
    for (size_t h = 0; h < H; h++) {
        for (size_t w = 0; w < Wd; w++) {
            const float *d0 = dy + h * f * orow + w * f * C;
            float *o = dx + (h * Wd + w) * C;
            for (size_t c = 0; c < C; c += W) {
                __mmask16 k = lanes(c, C);
                __m512 acc = _mm512_maskz_loadu_ps(k, d0 + c);
                for (size_t i = 0; i < f; i++)
                    for (size_t j = (i == 0); j < f; j++)
                        acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(k, d0 + i * orow + j * C + c));
                if (k == 0xffff) _mm512_storeu_ps(o + c, acc);
                else _mm512_mask_storeu_ps(o + c, k, acc);
            }
        }
    }
}

// one Adam step over n weights
static void adam(float *w, float *m, float *v, const float *g, size_t n, float lr, float b1,
                 float b2, float eps, float bc1, float bc2) {
    __m512 vb1 = _mm512_set1_ps(b1), vb2 = _mm512_set1_ps(b2);
    __m512 ob1 = _mm512_set1_ps(1.0f - b1), ob2 = _mm512_set1_ps(1.0f - b2);
    __m512 vlr = _mm512_set1_ps(lr), veps = _mm512_set1_ps(eps);
    __m512 vbc1 = _mm512_set1_ps(bc1), vbc2 = _mm512_set1_ps(bc2);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m512 gv = _mm512_loadu_ps(g + i);
        __m512 mm = _mm512_fmadd_ps(vb1, _mm512_loadu_ps(m + i), _mm512_mul_ps(ob1, gv));
        __m512 vv = _mm512_fmadd_ps(vb2, _mm512_loadu_ps(v + i),
                                    _mm512_mul_ps(ob2, _mm512_mul_ps(gv, gv)));
        _mm512_storeu_ps(m + i, mm);
        _mm512_storeu_ps(v + i, vv);
        __m512 mhat = _mm512_div_ps(mm, vbc1);
        __m512 vhat = _mm512_div_ps(vv, vbc2);
        __m512 step = _mm512_div_ps(_mm512_mul_ps(vlr, mhat),
                                    _mm512_add_ps(_mm512_sqrt_ps(vhat), veps));
        _mm512_storeu_ps(w + i, _mm512_sub_ps(_mm512_loadu_ps(w + i), step));
    }
    for (; i < n; i++) w[i] = gn_adam_1(w[i], &m[i], &v[i], g[i], lr, b1, b2, eps, bc1, bc2);
}

// y += a * x (fused)
static void axpy(float *y, const float *x, size_t n, float a) {
    __m512 va = _mm512_set1_ps(a);
    size_t i = 0;
    for (; i + W <= n; i += W)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    for (; i < n; i++) y[i] = fmaf(a, x[i], y[i]);
}

// 1 when no element is inf or NaN (exponent bits all ones)
static int all_finite(const float *x, size_t n) {
    __m512i e = _mm512_set1_epi32(0x7f800000);
    size_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
        __m512i b0 = _mm512_and_si512(_mm512_castps_si512(_mm512_loadu_ps(x + i)), e);
        __m512i b1 = _mm512_and_si512(_mm512_castps_si512(_mm512_loadu_ps(x + i + W)), e);
        __m512i b2 = _mm512_and_si512(_mm512_castps_si512(_mm512_loadu_ps(x + i + 2 * W)), e);
        __m512i b3 = _mm512_and_si512(_mm512_castps_si512(_mm512_loadu_ps(x + i + 3 * W)), e);
        if (_mm512_cmpeq_epi32_mask(b0, e) | _mm512_cmpeq_epi32_mask(b1, e) |
            _mm512_cmpeq_epi32_mask(b2, e) | _mm512_cmpeq_epi32_mask(b3, e))
            return 0;
    }
    for (; i + W <= n; i += W) {
        __m512i b = _mm512_and_si512(_mm512_castps_si512(_mm512_loadu_ps(x + i)), e);
        if (_mm512_cmpeq_epi32_mask(b, e)) return 0;
    }
    for (; i < n; i++)
        if (!gn_finite_1(x[i])) return 0;
    return 1;
}

const gn_kernels gn_kernels_avx512 = {
    .name = "avx512",
    .relu_forward = relu_forward,
    .relu_backward = relu_backward,
    .leaky_relu_forward = leaky_relu_forward,
    .leaky_relu_backward = leaky_relu_backward,
    .sigmoid_forward = sigmoid_forward,
    .sigmoid_backward = sigmoid_backward,
    .tanh_forward = tanh_forward,
    .tanh_backward = tanh_backward,
    .dropout = dropout,
    .channel_sum_sumsq = channel_sum_sumsq,
    .channel_affine = channel_affine,
    .bn_backward_sums = bn_backward_sums,
    .bn_backward_apply = bn_backward_apply,
    .upsample_forward = upsample_forward,
    .upsample_backward = upsample_backward,
    .adam = adam,
    .axpy = axpy,
    .all_finite = all_finite,
};
