/* AVX2 + FMA kernels, 8 floats per vector. Same maths as ref.c, in the same
 * order, with the same fused multiply-adds: results are bit-identical.
 * Kernels finish with the scalar code of scalar.h; the reductions over rows
 * finish their channels with masked loads instead (vmaskmov stores are slow
 * on some CPUs, so they are kept out of per-row loops). */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"
#include "scalar.h"

#define W 8

// all-ones in lanes c .. min(c + 8, C) - 1 of a row of C channels
static inline __m256i lanes(size_t c, size_t C) {
    size_t k = C - c;
    int kk = k >= W ? W : (int)k;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(kk), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// rows per block so a block of x (rows x C floats) stays near 128 KiB
static inline size_t block_rows(size_t C) {
    size_t rb = 32768 / (C ? C : 1);
    return rb ? rb : 1;
}

// lanes of x where the mask is set, +0 elsewhere
static inline __m256 keep8(__m256 mask, __m256 x) { return _mm256_and_ps(mask, x); }

// 2^k for integer lanes -126 <= k <= 127
static inline __m256 pow2i8(__m256i k) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23));
}

// gn_expf_1 on 8 lanes
static inline __m256 exp8(__m256 x) {
    x = _mm256_max_ps(_mm256_set1_ps(GN_EXP_LO), x); // a NaN x stays NaN (second operand)
    x = _mm256_min_ps(_mm256_set1_ps(GN_EXP_HI), x);
    __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(GN_LOG2E), _mm256_set1_ps(0.5f)));
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(GN_EXP_C1), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(GN_EXP_C2), r);
    __m256 z = _mm256_mul_ps(r, r);
    __m256 p = _mm256_set1_ps(GN_EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(GN_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(GN_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(GN_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(GN_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(GN_EXP_P5));
    p = _mm256_fmadd_ps(p, z, r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    __m256i n = _mm256_cvttps_epi32(fx);
    __m256i n1 = _mm256_srai_epi32(n, 1);
    __m256i n2 = _mm256_sub_epi32(n, n1);
    return _mm256_mul_ps(_mm256_mul_ps(p, pow2i8(n1)), pow2i8(n2));
}

// gn_sigmoid_1 on 8 lanes
static inline __m256 sigmoid8(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 nx = _mm256_xor_ps(x, _mm256_set1_ps(-0.0f));
    return _mm256_div_ps(one, _mm256_add_ps(one, exp8(nx)));
}

// gn_tanh_1 on 8 lanes: both branches on |x|, a blend, then the sign of x
static inline __m256 tanh8(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f), sign = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_andnot_ps(sign, x);
    __m256 small = _mm256_cmp_ps(ax, _mm256_set1_ps(GN_TANH_SMALL), _CMP_LT_OQ);
    __m256 s = _mm256_mul_ps(ax, ax);
    __m256 p = _mm256_set1_ps(GN_TANH_T0);
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(GN_TANH_T1));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(GN_TANH_T2));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(GN_TANH_T3));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(GN_TANH_T4));
    __m256 ys = _mm256_fmadd_ps(ax, _mm256_mul_ps(p, s), ax);
    __m256 e = exp8(_mm256_mul_ps(two, ax));
    __m256 yl = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(e, one)));
    __m256 y = _mm256_blendv_ps(yl, ys, small);
    return _mm256_or_ps(_mm256_andnot_ps(sign, y), _mm256_and_ps(sign, x));
}

// gn_mix32 on 8 lanes
static inline __m256i mix8(__m256i x) {
    x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
    x = _mm256_mullo_epi32(x, _mm256_set1_epi32(0x7feb352d));
    x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 15));
    x = _mm256_mullo_epi32(x, _mm256_set1_epi32((int)0x846ca68bu));
    x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
    return x;
}

// y = max(x, 0)
static void relu_forward(float *y, const float *x, size_t n) {
    __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m256 v = _mm256_loadu_ps(x + i);
        _mm256_storeu_ps(y + i, keep8(_mm256_cmp_ps(v, zero, _CMP_GT_OQ), v));
    }
    for (; i < n; i++) y[i] = gn_relu_1(x[i]);
}

// dx = y > 0 ? dy : 0
static void relu_backward(float *dx, const float *dy, const float *y, size_t n) {
    __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m256 k = _mm256_cmp_ps(_mm256_loadu_ps(y + i), zero, _CMP_GT_OQ);
        _mm256_storeu_ps(dx + i, keep8(k, _mm256_loadu_ps(dy + i)));
    }
    for (; i < n; i++) dx[i] = gn_relu_bwd_1(dy[i], y[i]);
}

// y = x > 0 ? x : alpha * x
static void leaky_relu_forward(float *y, const float *x, size_t n, float alpha) {
    __m256 zero = _mm256_setzero_ps(), a = _mm256_set1_ps(alpha);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 k = _mm256_cmp_ps(v, zero, _CMP_GT_OQ);
        _mm256_storeu_ps(y + i, _mm256_blendv_ps(_mm256_mul_ps(a, v), v, k));
    }
    for (; i < n; i++) y[i] = gn_leaky_1(x[i], alpha);
}

// dx = y > 0 ? dy : alpha * dy
static void leaky_relu_backward(float *dx, const float *dy, const float *y, size_t n,
                                float alpha) {
    __m256 zero = _mm256_setzero_ps(), a = _mm256_set1_ps(alpha);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m256 d = _mm256_loadu_ps(dy + i);
        __m256 k = _mm256_cmp_ps(_mm256_loadu_ps(y + i), zero, _CMP_GT_OQ);
        _mm256_storeu_ps(dx + i, _mm256_blendv_ps(_mm256_mul_ps(d, a), d, k));
    }
    for (; i < n; i++) dx[i] = gn_leaky_bwd_1(dy[i], y[i], alpha);
}

// y = 1 / (1 + exp(-x))
static void sigmoid_forward(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) _mm256_storeu_ps(y + i, sigmoid8(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = gn_sigmoid_1(x[i]);
}

// dx = dy * y * (1 - y)
static void sigmoid_backward(float *dx, const float *dy, const float *y, size_t n) {
    __m256 one = _mm256_set1_ps(1.0f);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m256 v = _mm256_loadu_ps(y + i);
        __m256 d = _mm256_mul_ps(_mm256_loadu_ps(dy + i), v);
        _mm256_storeu_ps(dx + i, _mm256_mul_ps(d, _mm256_sub_ps(one, v)));
    }
    for (; i < n; i++) dx[i] = gn_sigmoid_bwd_1(dy[i], y[i]);
}

// y = tanh(x)
static void tanh_forward(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) _mm256_storeu_ps(y + i, tanh8(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = gn_tanh_1(x[i]);
}

// dx = dy * (1 - y^2)
static void tanh_backward(float *dx, const float *dy, const float *y, size_t n) {
    __m256 one = _mm256_set1_ps(1.0f);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m256 v = _mm256_loadu_ps(y + i);
        __m256 t = _mm256_fnmadd_ps(v, v, one);
        _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), t));
    }
    for (; i < n; i++) dx[i] = gn_tanh_bwd_1(dy[i], y[i]);
}

// inverted dropout keyed by the global element index
static void dropout(float *y, const float *x, size_t n, uint64_t key, uint64_t offset,
                    uint32_t threshold, float scale) {
    __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i klo = _mm256_set1_epi32((int)(uint32_t)key);
    __m256i khi = _mm256_set1_epi32((int)(uint32_t)(key >> 32));
    __m256i thr = _mm256_set1_epi32((int)threshold);
    __m256 s = _mm256_set1_ps(scale);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m256i idx = _mm256_add_epi32(_mm256_set1_epi32((int)(uint32_t)(offset + i)), iota);
        __m256i h = mix8(_mm256_xor_si256(mix8(_mm256_xor_si256(idx, klo)), khi));
        __m256i keep = _mm256_cmpeq_epi32(_mm256_max_epu32(h, thr), h); // h >= thr, unsigned
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), s);
        _mm256_storeu_ps(y + i, keep8(_mm256_castsi256_ps(keep), v));
    }
    for (; i < n; i++) {
        int keep = gn_dropout_hash(key, offset + i) >= threshold;
        y[i] = keep ? x[i] * scale : 0.0f;
    }
}

// the centre of channels c .. c + 7 on the lanes of k, +0 where centre is NULL
// (x - 0 has the bits of x, so a NULL centre changes nothing)
static inline __m256 centre8(const float *centre, size_t c, __m256i k) {
    return centre ? _mm256_maskload_ps(centre + c, k) : _mm256_setzero_ps();
}

// the centre of channels c .. c + 7, +0 where centre is NULL
static inline __m256 centre8u(const float *centre, size_t c) {
    return centre ? _mm256_loadu_ps(centre + c) : _mm256_setzero_ps();
}

// per-channel sum and sum of squares of d = x - centre; each channel adds its rows in order
static void channel_sum_sumsq(float *sum, float *sumsq, const float *x, const float *centre,
                              size_t rows, size_t C) {
    size_t rb = block_rows(C);
    for (size_t r0 = 0; r0 < rows; r0 += rb) {
        size_t r1 = rows - r0 < rb ? rows : r0 + rb;
        size_t c = 0;
        for (; c + 4 * W <= C; c += 4 * W) {
            __m256 s0 = _mm256_loadu_ps(sum + c), s1 = _mm256_loadu_ps(sum + c + W);
            __m256 s2 = _mm256_loadu_ps(sum + c + 2 * W), s3 = _mm256_loadu_ps(sum + c + 3 * W);
            __m256 q0 = _mm256_loadu_ps(sumsq + c), q1 = _mm256_loadu_ps(sumsq + c + W);
            __m256 q2 = _mm256_loadu_ps(sumsq + c + 2 * W);
            __m256 q3 = _mm256_loadu_ps(sumsq + c + 3 * W);
            __m256 m0 = centre8u(centre, c), m1 = centre8u(centre, c + W);
            __m256 m2 = centre8u(centre, c + 2 * W), m3 = centre8u(centre, c + 3 * W);
            for (size_t r = r0; r < r1; r++) {
                const float *xr = x + r * C + c;
                __m256 v0 = _mm256_sub_ps(_mm256_loadu_ps(xr), m0);
                __m256 v1 = _mm256_sub_ps(_mm256_loadu_ps(xr + W), m1);
                __m256 v2 = _mm256_sub_ps(_mm256_loadu_ps(xr + 2 * W), m2);
                __m256 v3 = _mm256_sub_ps(_mm256_loadu_ps(xr + 3 * W), m3);
                s0 = _mm256_add_ps(s0, v0); q0 = _mm256_fmadd_ps(v0, v0, q0);
                s1 = _mm256_add_ps(s1, v1); q1 = _mm256_fmadd_ps(v1, v1, q1);
                s2 = _mm256_add_ps(s2, v2); q2 = _mm256_fmadd_ps(v2, v2, q2);
                s3 = _mm256_add_ps(s3, v3); q3 = _mm256_fmadd_ps(v3, v3, q3);
            }
            _mm256_storeu_ps(sum + c, s0); _mm256_storeu_ps(sum + c + W, s1);
            _mm256_storeu_ps(sum + c + 2 * W, s2); _mm256_storeu_ps(sum + c + 3 * W, s3);
            _mm256_storeu_ps(sumsq + c, q0); _mm256_storeu_ps(sumsq + c + W, q1);
            _mm256_storeu_ps(sumsq + c + 2 * W, q2); _mm256_storeu_ps(sumsq + c + 3 * W, q3);
        }
        for (; c < C; c += W) {
            __m256i k = lanes(c, C);
            __m256 s = _mm256_maskload_ps(sum + c, k), q = _mm256_maskload_ps(sumsq + c, k);
            __m256 m = centre8(centre, c, k);
            for (size_t r = r0; r < r1; r++) {
                __m256 v = _mm256_sub_ps(_mm256_maskload_ps(x + r * C + c, k), m);
                s = _mm256_add_ps(s, v);
                q = _mm256_fmadd_ps(v, v, q);
            }
            _mm256_maskstore_ps(sum + c, k, s);
            _mm256_maskstore_ps(sumsq + c, k, q);
        }
    }
}

// y = x * scale[c] + shift[c], optionally followed by relu
static void channel_affine(float *y, const float *x, size_t rows, size_t C, const float *scale,
                           const float *shift, int relu) {
    __m256 zero = _mm256_setzero_ps();
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        size_t c = 0;
        for (; c + W <= C; c += W) {
            __m256 v = _mm256_fmadd_ps(_mm256_loadu_ps(xr + c), _mm256_loadu_ps(scale + c),
                                       _mm256_loadu_ps(shift + c));
            if (relu) v = keep8(_mm256_cmp_ps(v, zero, _CMP_GT_OQ), v);
            _mm256_storeu_ps(yr + c, v);
        }
        for (; c < C; c++) yr[c] = gn_affine_1(xr[c], scale[c], shift[c], relu);
    }
}

// g = dy, or 0 where y[o] <= 0 when relu (y is not read otherwise and may be NULL)
static inline __m256 bn_g8(__m256 d, const float *y, size_t o, __m256i k, int relu) {
    if (!relu) return d;
    __m256 le = _mm256_cmp_ps(_mm256_maskload_ps(y + o, k), _mm256_setzero_ps(), _CMP_LE_OQ);
    return _mm256_andnot_ps(le, d);
}

// sum_g[c] += g, sum_gx[c] += g * (x - centre); each channel adds its rows in order
static void bn_backward_sums(float *sum_g, float *sum_gx, const float *dy, const float *y,
                             const float *x, const float *centre, size_t rows, size_t C,
                             int relu) {
    __m256i all = _mm256_set1_epi32(-1);
    size_t rb = block_rows(C);
    for (size_t r0 = 0; r0 < rows; r0 += rb) {
        size_t r1 = rows - r0 < rb ? rows : r0 + rb;
        size_t c = 0;
        for (; c + 2 * W <= C; c += 2 * W) {
            __m256 s0 = _mm256_loadu_ps(sum_g + c), s1 = _mm256_loadu_ps(sum_g + c + W);
            __m256 q0 = _mm256_loadu_ps(sum_gx + c), q1 = _mm256_loadu_ps(sum_gx + c + W);
            __m256 m0 = centre8u(centre, c), m1 = centre8u(centre, c + W);
            for (size_t r = r0; r < r1; r++) {
                size_t o = r * C + c;
                __m256 g0 = bn_g8(_mm256_loadu_ps(dy + o), y, o, all, relu);
                __m256 g1 = bn_g8(_mm256_loadu_ps(dy + o + W), y, o + W, all, relu);
                __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + o), m0);
                __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + o + W), m1);
                s0 = _mm256_add_ps(s0, g0); q0 = _mm256_fmadd_ps(g0, d0, q0);
                s1 = _mm256_add_ps(s1, g1); q1 = _mm256_fmadd_ps(g1, d1, q1);
            }
            _mm256_storeu_ps(sum_g + c, s0); _mm256_storeu_ps(sum_g + c + W, s1);
            _mm256_storeu_ps(sum_gx + c, q0); _mm256_storeu_ps(sum_gx + c + W, q1);
        }
        for (; c < C; c += W) {
            __m256i k = lanes(c, C);
            __m256 s = _mm256_maskload_ps(sum_g + c, k), q = _mm256_maskload_ps(sum_gx + c, k);
            __m256 m = centre8(centre, c, k);
            for (size_t r = r0; r < r1; r++) {
                size_t o = r * C + c;
                __m256 g = bn_g8(_mm256_maskload_ps(dy + o, k), y, o, k, relu);
                s = _mm256_add_ps(s, g);
                q = _mm256_fmadd_ps(g, _mm256_sub_ps(_mm256_maskload_ps(x + o, k), m), q);
            }
            _mm256_maskstore_ps(sum_g + c, k, s);
            _mm256_maskstore_ps(sum_gx + c, k, q);
        }
    }
}

// dx = a[c] * g + b[c] * (x - centre[c]) + k[c]
static void bn_backward_apply(float *dx, const float *dy, const float *y, const float *x,
                              const float *centre, size_t rows, size_t C, const float *a,
                              const float *b, const float *k, int relu) {
    __m256i all = _mm256_set1_epi32(-1);
    for (size_t r = 0; r < rows; r++) {
        size_t o = r * C, c = 0;
        for (; c + W <= C; c += W) {
            __m256 g = bn_g8(_mm256_loadu_ps(dy + o + c), y, o + c, all, relu);
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + o + c), centre8u(centre, c));
            __m256 t = _mm256_fmadd_ps(_mm256_loadu_ps(b + c), d, _mm256_loadu_ps(k + c));
            _mm256_storeu_ps(dx + o + c, _mm256_fmadd_ps(_mm256_loadu_ps(a + c), g, t));
        }
        for (; c < C; c++) {
            float g = gn_bn_g_1(dy[o + c], relu ? y[o + c] : 0.0f, relu);
            dx[o + c] = gn_bn_apply_1(g, gn_centred_1(x[o + c], centre, c), a[c], b[c], k[c]);
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
                __m256 v = _mm256_loadu_ps(xp + c);
                for (size_t j = 0; j < f; j++) _mm256_storeu_ps(yp + j * C + c, v);
            }
            for (; c < C; c++)
                for (size_t j = 0; j < f; j++) yp[j * C + c] = xp[c];
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
            size_t c = 0;
            for (; c + W <= C; c += W) {
                __m256 acc = _mm256_loadu_ps(d0 + c);
                for (size_t i = 0; i < f; i++)
                    for (size_t j = (i == 0); j < f; j++)
                        acc = _mm256_add_ps(acc, _mm256_loadu_ps(d0 + i * orow + j * C + c));
                _mm256_storeu_ps(o + c, acc);
            }
            for (; c < C; c++) {
                float acc = d0[c];
                for (size_t i = 0; i < f; i++)
                    for (size_t j = (i == 0); j < f; j++) acc += d0[i * orow + j * C + c];
                o[c] = acc;
            }
        }
    }
}

// one Adam step over n weights
static void adam(float *w, float *m, float *v, const float *g, size_t n, float lr, float b1,
                 float b2, float eps, float bc1, float bc2) {
    __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2);
    __m256 ob1 = _mm256_set1_ps(1.0f - b1), ob2 = _mm256_set1_ps(1.0f - b2);
    __m256 vlr = _mm256_set1_ps(lr), veps = _mm256_set1_ps(eps);
    __m256 vbc1 = _mm256_set1_ps(bc1), vbc2 = _mm256_set1_ps(bc2);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        __m256 gv = _mm256_loadu_ps(g + i);
        __m256 mm = _mm256_fmadd_ps(vb1, _mm256_loadu_ps(m + i), _mm256_mul_ps(ob1, gv));
        __m256 vv = _mm256_fmadd_ps(vb2, _mm256_loadu_ps(v + i),
                                    _mm256_mul_ps(ob2, _mm256_mul_ps(gv, gv)));
        _mm256_storeu_ps(m + i, mm);
        _mm256_storeu_ps(v + i, vv);
        __m256 mhat = _mm256_div_ps(mm, vbc1);
        __m256 vhat = _mm256_div_ps(vv, vbc2);
        __m256 step = _mm256_div_ps(_mm256_mul_ps(vlr, mhat),
                                    _mm256_add_ps(_mm256_sqrt_ps(vhat), veps));
        _mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_loadu_ps(w + i), step));
    }
    for (; i < n; i++) w[i] = gn_adam_1(w[i], &m[i], &v[i], g[i], lr, b1, b2, eps, bc1, bc2);
}

// y += a * x (fused)
static void axpy(float *y, const float *x, size_t n, float a) {
    __m256 va = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + W <= n; i += W)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] = fmaf(a, x[i], y[i]);
}

// 1 when no element is inf or NaN (exponent bits all ones)
static int all_finite(const float *x, size_t n) {
    __m256i e = _mm256_set1_epi32(0x7f800000);
    size_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
        __m256i b0 = _mm256_and_si256(_mm256_castps_si256(_mm256_loadu_ps(x + i)), e);
        __m256i b1 = _mm256_and_si256(_mm256_castps_si256(_mm256_loadu_ps(x + i + W)), e);
        __m256i b2 = _mm256_and_si256(_mm256_castps_si256(_mm256_loadu_ps(x + i + 2 * W)), e);
        __m256i b3 = _mm256_and_si256(_mm256_castps_si256(_mm256_loadu_ps(x + i + 3 * W)), e);
        __m256i any = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi32(b0, e), _mm256_cmpeq_epi32(b1, e)),
                                      _mm256_or_si256(_mm256_cmpeq_epi32(b2, e), _mm256_cmpeq_epi32(b3, e)));
        if (!_mm256_testz_si256(any, any)) return 0;
    }
    for (; i + W <= n; i += W) {
        __m256i b = _mm256_and_si256(_mm256_castps_si256(_mm256_loadu_ps(x + i)), e);
        if (_mm256_movemask_epi8(_mm256_cmpeq_epi32(b, e))) return 0;
    }
    for (; i < n; i++)
        if (!gn_finite_1(x[i])) return 0;
    return 1;
}

const gn_kernels gn_kernels_avx2 = {
    .name = "avx2",
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
