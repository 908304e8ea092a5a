/* The vector kernels, written once over a small vector API that each ISA file
 * (avx2.c, avx512.c, neon.c) defines before including this header; the ISA
 * file then lists these functions in its gn_kernels table.
 *
 * Same maths as ref.c, in the same order, with the same fused multiply-adds:
 * every lane does the IEEE operations the scalar code of scalar.h does, so the
 * results are bit-identical. 1-D kernels finish with that scalar code; kernels
 * over channels finish each row (or column block) with a partial vector.
 *
 * The API, W lanes of 32 bits, lane by lane unless said otherwise:
 *   W                          lanes per vector (a macro)
 *   vf, vu, vmask              float vector, uint32 vector, lane mask
 *   vf_load(p), vf_store(p, v)           W floats at p, unaligned
 *   vf_load_n(p, k), vf_store_n(p, v, k) the first k lanes only (1 <= k <= W);
 *                              loads give +0 in the other lanes and read nothing there
 *   vf_set1(a), vf_zero()      every lane a, every lane +0
 *   vf_add, vf_sub, vf_mul, vf_div, vf_sqrt    one IEEE operation each
 *   vf_fma(a, b, c)            a * b + c, one rounding
 *   vf_fnma(a, b, c)           c - a * b, one rounding
 *   vf_max(a, b), vf_min(a, b) for a not NaN: NaN where b is NaN
 *   vf_floor(x), vf_abs(x), vf_neg(x)    the last two change the sign bit only
 *   vf_copysign(x, s)          x with the sign bit of s
 *   vf_gt, vf_lt, vf_le        ordered compares (false with a NaN), giving a vmask
 *   vf_select(m, a, b)         m ? a : b
 *   vf_keep(m, x), vf_clear(m, x)        m ? x : +0, m ? +0 : x
 *   vf_to_vu(x)                x truncated to int32 (x in range), as uint32 bits
 *   vf_as_vu(x), vu_as_vf(u)   the same bits as the other type
 *   vu_set1(a), vu_iota()      every lane a; lane i holds i
 *   vu_add, vu_sub, vu_xor, vu_and, vu_mullo   modulo 2^32 (mullo: the low 32 bits)
 *   vu_srl(x, n), vu_sra(x, n), vu_sll(x, n)   shifts by a constant n (may be macros)
 *   vu_ge(a, b), vu_eq(a, b)   unsigned a >= b, a == b, giving a vmask
 *   vm_or(a, b), vm_any(m)     either mask; 1 when any lane of m is set
 *   vu_load_u16(p)             W uint16 at p, zero-extended to 32-bit lanes
 *   vu_store_u16(p, u)         the low 16 bits of each lane to W uint16 at p
 * and, built here on those: vf_load_bf16(p), vf_store_bf16(p, v), W bf16
 * values at p as floats, and floats rounded to bf16 as gn_bf16_from_f32_1 does. */
#ifndef GANNET_KERNELS_SIMD_KERNELS_H
#define GANNET_KERNELS_SIMD_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"
#include "scalar.h"

// rows per block so a block of x (rows x C floats) stays near 128 KiB
static inline size_t block_rows(size_t C) {
    size_t rb = 32768 / (C ? C : 1);
    return rb ? rb : 1;
}

// the lanes of the channel group starting at c of a row of C channels: min(C - c, W)
static inline size_t group_lanes(size_t c, size_t C) { return C - c < W ? C - c : W; }

// 2^k for integer lanes -126 <= k <= 127, built from its exponent bits
static inline vf pow2i_v(vu k) { return vu_as_vf(vu_sll(vu_add(k, vu_set1(127)), 23)); }

// gn_expf_1 on W lanes
static inline vf exp_v(vf x) {
    x = vf_max(vf_set1(GN_EXP_LO), x); // a NaN x stays NaN
    x = vf_min(vf_set1(GN_EXP_HI), x);
    vf fx = vf_floor(vf_fma(x, vf_set1(GN_LOG2E), vf_set1(0.5f)));
    vf r = vf_fnma(fx, vf_set1(GN_EXP_C1), x);
    r = vf_fnma(fx, vf_set1(GN_EXP_C2), r);
    vf z = vf_mul(r, r);
    vf p = vf_set1(GN_EXP_P0);
    p = vf_fma(p, r, vf_set1(GN_EXP_P1));
    p = vf_fma(p, r, vf_set1(GN_EXP_P2));
    p = vf_fma(p, r, vf_set1(GN_EXP_P3));
    p = vf_fma(p, r, vf_set1(GN_EXP_P4));
    p = vf_fma(p, r, vf_set1(GN_EXP_P5));
    p = vf_fma(p, z, r);
    p = vf_add(p, vf_set1(1.0f));
    vu n = vf_to_vu(fx);
    vu n1 = vu_sra(n, 1);
    vu n2 = vu_sub(n, n1);
    return vf_mul(vf_mul(p, pow2i_v(n1)), pow2i_v(n2));
}

// gn_sigmoid_1 on W lanes
static inline vf sigmoid_v(vf x) {
    vf one = vf_set1(1.0f);
    return vf_div(one, vf_add(one, exp_v(vf_neg(x))));
}

// gn_tanh_1 on W lanes: both branches on |x|, a select, then the sign of x
static inline vf tanh_v(vf x) {
    vf one = vf_set1(1.0f), two = vf_set1(2.0f);
    vf ax = vf_abs(x);
    vmask small = vf_lt(ax, vf_set1(GN_TANH_SMALL));
    vf s = vf_mul(ax, ax);
    vf p = vf_set1(GN_TANH_T0);
    p = vf_fma(p, s, vf_set1(GN_TANH_T1));
    p = vf_fma(p, s, vf_set1(GN_TANH_T2));
    p = vf_fma(p, s, vf_set1(GN_TANH_T3));
    p = vf_fma(p, s, vf_set1(GN_TANH_T4));
    vf ys = vf_fma(ax, vf_mul(p, s), ax);
    vf e = exp_v(vf_mul(two, ax));
    vf yl = vf_sub(one, vf_div(two, vf_add(e, one)));
    return vf_copysign(vf_select(small, ys, yl), x);
}

// gn_mix32 on W lanes
static inline vu mix_v(vu x) {
    x = vu_xor(x, vu_srl(x, 16));
    x = vu_mullo(x, vu_set1(0x7feb352du));
    x = vu_xor(x, vu_srl(x, 15));
    x = vu_mullo(x, vu_set1(0x846ca68bu));
    x = vu_xor(x, vu_srl(x, 16));
    return x;
}

// y = max(x, 0)
static void relu_forward(float *y, const float *x, size_t n) {
    vf zero = vf_zero();
    size_t i = 0;
    for (; i + W <= n; i += W) {
        vf v = vf_load(x + i);
        vf_store(y + i, vf_keep(vf_gt(v, zero), v));
    }
    for (; i < n; i++) y[i] = gn_relu_1(x[i]);
}

// dx = y > 0 ? dy : 0
static void relu_backward(float *dx, const float *dy, const float *y, size_t n) {
    vf zero = vf_zero();
    size_t i = 0;
    for (; i + W <= n; i += W)
        vf_store(dx + i, vf_keep(vf_gt(vf_load(y + i), zero), vf_load(dy + i)));
    for (; i < n; i++) dx[i] = gn_relu_bwd_1(dy[i], y[i]);
}

// y = x > 0 ? x : alpha * x
static void leaky_relu_forward(float *y, const float *x, size_t n, float alpha) {
    vf zero = vf_zero(), a = vf_set1(alpha);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        vf v = vf_load(x + i);
        vf_store(y + i, vf_select(vf_gt(v, zero), v, vf_mul(a, v)));
    }
    for (; i < n; i++) y[i] = gn_leaky_1(x[i], alpha);
}

// dx = y > 0 ? dy : alpha * dy
static void leaky_relu_backward(float *dx, const float *dy, const float *y, size_t n,
                                float alpha) {
    vf zero = vf_zero(), a = vf_set1(alpha);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        vf d = vf_load(dy + i);
        vf_store(dx + i, vf_select(vf_gt(vf_load(y + i), zero), d, vf_mul(d, a)));
    }
    for (; i < n; i++) dx[i] = gn_leaky_bwd_1(dy[i], y[i], alpha);
}

// y = 1 / (1 + exp(-x))
static void sigmoid_forward(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) vf_store(y + i, sigmoid_v(vf_load(x + i)));
    for (; i < n; i++) y[i] = gn_sigmoid_1(x[i]);
}

// dx = dy * y * (1 - y)
static void sigmoid_backward(float *dx, const float *dy, const float *y, size_t n) {
    vf one = vf_set1(1.0f);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        vf v = vf_load(y + i);
        vf_store(dx + i, vf_mul(vf_mul(vf_load(dy + i), v), vf_sub(one, v)));
    }
    for (; i < n; i++) dx[i] = gn_sigmoid_bwd_1(dy[i], y[i]);
}

// y = tanh(x)
static void tanh_forward(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) vf_store(y + i, tanh_v(vf_load(x + i)));
    for (; i < n; i++) y[i] = gn_tanh_1(x[i]);
}

// dx = dy * (1 - y^2)
static void tanh_backward(float *dx, const float *dy, const float *y, size_t n) {
    vf one = vf_set1(1.0f);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        vf v = vf_load(y + i);
        vf_store(dx + i, vf_mul(vf_load(dy + i), vf_fnma(v, v, one)));
    }
    for (; i < n; i++) dx[i] = gn_tanh_bwd_1(dy[i], y[i]);
}

// dropout keep mask (set where kept) of the W indices idx .. idx + W - 1 (mod 2^32)
static inline vmask dropout_keep_v(uint32_t idx, vu klo, vu khi, vu thr) {
    vu h = vu_add(vu_set1(idx), vu_iota());
    h = mix_v(vu_xor(mix_v(vu_xor(h, klo)), khi));
    return vu_ge(h, thr);
}

// inverted dropout keyed by the global element index, two vectors per step
static void dropout(float *y, const float *x, size_t n, uint64_t key, uint64_t offset,
                    uint32_t threshold, float scale) {
    vu klo = vu_set1((uint32_t)key), khi = vu_set1((uint32_t)(key >> 32));
    vu thr = vu_set1(threshold);
    vf s = vf_set1(scale);
    size_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        uint32_t idx = (uint32_t)(offset + i);
        vmask k0 = dropout_keep_v(idx, klo, khi, thr);
        vmask k1 = dropout_keep_v(idx + W, klo, khi, thr);
        vf v0 = vf_mul(vf_load(x + i), s), v1 = vf_mul(vf_load(x + i + W), s);
        vf_store(y + i, vf_keep(k0, v0));
        vf_store(y + i + W, vf_keep(k1, v1));
    }
    for (; i < n; i++) {
        int keep = gn_dropout_hash(key, offset + i) >= threshold;
        y[i] = keep ? x[i] * scale : 0.0f;
    }
}

// the centre of the k channels from c, +0 in the other lanes or where centre is NULL
// (x - 0 has the bits of x, so a NULL centre changes nothing)
static inline vf centre_n(const float *centre, size_t c, size_t k) {
    return centre ? vf_load_n(centre + c, k) : vf_zero();
}

// per-channel sum and sum of squares of d = x - centre; each channel adds its rows in order
static void channel_sum_sumsq(float *sum, float *sumsq, const float *x, const float *centre,
                              size_t rows, size_t C) {
    size_t rb = block_rows(C);
    for (size_t r0 = 0; r0 < rows; r0 += rb) {
        size_t r1 = rows - r0 < rb ? rows : r0 + rb;
        size_t c = 0;
        // 4 vectors of channels at a time
        for (; c + 4 * W <= C; c += 4 * W) {
            vf s[4], q[4], m[4];
            for (int u = 0; u < 4; u++) {
                s[u] = vf_load(sum + c + u * W);
                q[u] = vf_load(sumsq + c + u * W);
                m[u] = centre_n(centre, c + u * W, W);
            }
            for (size_t r = r0; r < r1; r++) {
                const float *xr = x + r * C + c;
                for (int u = 0; u < 4; u++) {
                    vf v = vf_sub(vf_load(xr + u * W), m[u]);
                    s[u] = vf_add(s[u], v);
                    q[u] = vf_fma(v, v, q[u]);
                }
            }
            for (int u = 0; u < 4; u++) {
                vf_store(sum + c + u * W, s[u]);
                vf_store(sumsq + c + u * W, q[u]);
            }
        }
        // then one vector at a time, the last one partial
        for (; c < C; c += W) {
            size_t k = group_lanes(c, C);
            vf s = vf_load_n(sum + c, k), q = vf_load_n(sumsq + c, k);
            vf m = centre_n(centre, c, k);
            for (size_t r = r0; r < r1; r++) {
                vf v = vf_sub(vf_load_n(x + r * C + c, k), m);
                s = vf_add(s, v);
                q = vf_fma(v, v, q);
            }
            vf_store_n(sum + c, s, k);
            vf_store_n(sumsq + c, q, k);
        }
    }
}

// x * scale + shift on the first k lanes, then relu when asked
static inline vf affine_n(const float *x, const float *scale, const float *shift, size_t k,
                          int relu) {
    vf v = vf_fma(vf_load_n(x, k), vf_load_n(scale, k), vf_load_n(shift, k));
    return relu ? vf_keep(vf_gt(v, vf_zero()), v) : v;
}

// y = x * scale[c] + shift[c], optionally followed by relu
static void channel_affine(float *y, const float *x, size_t rows, size_t C, const float *scale,
                           const float *shift, int relu) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        size_t c = 0;
        for (; c + W <= C; c += W)
            vf_store(yr + c, affine_n(xr + c, scale + c, shift + c, W, relu));
        if (c < C) {
            size_t k = C - c;
            vf_store_n(yr + c, affine_n(xr + c, scale + c, shift + c, k, relu), k);
        }
    }
}

// g = dy (its first k lanes d), or 0 where y[o] <= 0 when relu (y is not read otherwise
// and may be NULL)
static inline vf bn_g_n(vf d, const float *y, size_t o, size_t k, int relu) {
    if (!relu) return d;
    return vf_clear(vf_le(vf_load_n(y + o, k), vf_zero()), d);
}

// sum_g[c] += g, sum_gx[c] += g * (x - centre); each channel adds its rows in order
static void bn_backward_sums(float *sum_g, float *sum_gx, const float *dy, const float *y,
                             const float *x, const float *centre, size_t rows, size_t C,
                             int relu) {
    size_t rb = block_rows(C);
    for (size_t r0 = 0; r0 < rows; r0 += rb) {
        size_t r1 = rows - r0 < rb ? rows : r0 + rb;
        size_t c = 0;
        // 2 vectors of channels at a time
        for (; c + 2 * W <= C; c += 2 * W) {
            vf s[2], q[2], m[2];
            for (int u = 0; u < 2; u++) {
                s[u] = vf_load(sum_g + c + u * W);
                q[u] = vf_load(sum_gx + c + u * W);
                m[u] = centre_n(centre, c + u * W, W);
            }
            for (size_t r = r0; r < r1; r++) {
                for (int u = 0; u < 2; u++) {
                    size_t o = r * C + c + u * W;
                    vf g = bn_g_n(vf_load(dy + o), y, o, W, relu);
                    s[u] = vf_add(s[u], g);
                    q[u] = vf_fma(g, vf_sub(vf_load(x + o), m[u]), q[u]);
                }
            }
            for (int u = 0; u < 2; u++) {
                vf_store(sum_g + c + u * W, s[u]);
                vf_store(sum_gx + c + u * W, q[u]);
            }
        }
        // then one vector at a time, the last one partial
        for (; c < C; c += W) {
            size_t k = group_lanes(c, C);
            vf s = vf_load_n(sum_g + c, k), q = vf_load_n(sum_gx + c, k);
            vf m = centre_n(centre, c, k);
            for (size_t r = r0; r < r1; r++) {
                size_t o = r * C + c;
                vf g = bn_g_n(vf_load_n(dy + o, k), y, o, k, relu);
                s = vf_add(s, g);
                q = vf_fma(g, vf_sub(vf_load_n(x + o, k), m), q);
            }
            vf_store_n(sum_g + c, s, k);
            vf_store_n(sum_gx + c, q, k);
        }
    }
}

// a * g + (b * (x - centre) + k) on the first n lanes at row offset o, channel c
static inline vf bn_apply_n(const float *dy, const float *y, const float *x,
                            const float *centre, const float *a, const float *b,
                            const float *k, size_t o, size_t c, size_t n, int relu) {
    vf g = bn_g_n(vf_load_n(dy + o + c, n), y, o + c, n, relu);
    vf d = vf_sub(vf_load_n(x + o + c, n), centre_n(centre, c, n));
    vf t = vf_fma(vf_load_n(b + c, n), d, vf_load_n(k + c, n));
    return vf_fma(vf_load_n(a + c, n), g, t);
}

// dx = a[c] * g + b[c] * (x - centre[c]) + k[c]
static void bn_backward_apply(float *dx, const float *dy, const float *y, const float *x,
                              const float *centre, size_t rows, size_t C, const float *a,
                              const float *b, const float *k, int relu) {
    for (size_t r = 0; r < rows; r++) {
        size_t o = r * C, c = 0;
        for (; c + W <= C; c += W)
            vf_store(dx + o + c, bn_apply_n(dy, y, x, centre, a, b, k, o, c, W, relu));
        if (c < C) {
            size_t n = C - c;
            vf_store_n(dx + o + c, bn_apply_n(dy, y, x, centre, a, b, k, o, c, n, relu), n);
        }
    }
}

// the first k channels at xp into the f copies along an output row (copies C apart)
static inline void upsample_copies_n(float *yp, const float *xp, size_t C, size_t f, size_t k) {
    vf v = vf_load_n(xp, k);
    for (size_t j = 0; j < f; j++) vf_store_n(yp + j * C, v, k);
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
            for (; c + W <= C; c += W) upsample_copies_n(yp + c, xp + c, C, f, W);
            if (c < C) upsample_copies_n(yp + c, xp + c, C, f, C - c);
        }
        for (size_t i = 1; i < f; i++) memcpy(y0 + i * orow, y0, orow * sizeof *y);
    }
}

// the sum of the f*f copies of the first k channels at d0, in row-major order of the
// copies (rows orow apart, columns C apart)
static inline vf upsample_sum_n(const float *d0, size_t orow, size_t C, size_t f, size_t k) {
    vf acc = vf_load_n(d0, k);
    for (size_t i = 0; i < f; i++)
        for (size_t j = (i == 0); j < f; j++)
            acc = vf_add(acc, vf_load_n(d0 + i * orow + j * C, k));
    return acc;
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
            for (; c + W <= C; c += W) vf_store(o + c, upsample_sum_n(d0 + c, orow, C, f, W));
            if (c < C) vf_store_n(o + c, upsample_sum_n(d0 + c, orow, C, f, C - c), C - c);
        }
    }
}

// one Adam step over n weights
static void adam(float *w, float *m, float *v, const float *g, size_t n, float lr, float b1,
                 float b2, float eps, float bc1, float bc2) {
    vf vb1 = vf_set1(b1), vb2 = vf_set1(b2);
    vf ob1 = vf_set1(1.0f - b1), ob2 = vf_set1(1.0f - b2);
    vf vlr = vf_set1(lr), veps = vf_set1(eps);
    vf vbc1 = vf_set1(bc1), vbc2 = vf_set1(bc2);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        vf gv = vf_load(g + i);
        vf mm = vf_fma(vb1, vf_load(m + i), vf_mul(ob1, gv));
        vf vv = vf_fma(vb2, vf_load(v + i), vf_mul(ob2, vf_mul(gv, gv)));
        vf_store(m + i, mm);
        vf_store(v + i, vv);
        vf mhat = vf_div(mm, vbc1);
        vf vhat = vf_div(vv, vbc2);
        vf step = vf_div(vf_mul(vlr, mhat), vf_add(vf_sqrt(vhat), veps));
        vf_store(w + i, vf_sub(vf_load(w + i), step));
    }
    for (; i < n; i++) w[i] = gn_adam_1(w[i], &m[i], &v[i], g[i], lr, b1, b2, eps, bc1, bc2);
}

// y += a * x (fused)
static void axpy(float *y, const float *x, size_t n, float a) {
    vf va = vf_set1(a);
    size_t i = 0;
    for (; i + W <= n; i += W) vf_store(y + i, vf_fma(va, vf_load(x + i), vf_load(y + i)));
    for (; i < n; i++) y[i] = fmaf(a, x[i], y[i]);
}

// the lanes of W floats at p that are inf or NaN (exponent bits all ones)
static inline vmask nonfinite_v(const float *p) {
    vu e = vu_set1(0x7f800000u);
    return vu_eq(vu_and(vf_as_vu(vf_load(p)), e), e);
}

// 1 when no element is inf or NaN
static int all_finite(const float *x, size_t n) {
    size_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
        vmask m01 = vm_or(nonfinite_v(x + i), nonfinite_v(x + i + W));
        vmask m23 = vm_or(nonfinite_v(x + i + 2 * W), nonfinite_v(x + i + 3 * W));
        if (vm_any(vm_or(m01, m23))) return 0;
    }
    for (; i + W <= n; i += W)
        if (vm_any(nonfinite_v(x + i))) return 0;
    for (; i < n; i++)
        if (!gn_finite_1(x[i])) return 0;
    return 1;
}

// W bf16 at p as floats (exact)
static inline vf vf_load_bf16(const uint16_t *p) { return vu_as_vf(vu_sll(vu_load_u16(p), 16)); }

// W floats to bf16 at p: gn_bf16_from_f32_1 on every lane (RNE on the bits, NaN kept)
static inline void vf_store_bf16(uint16_t *p, vf v) {
    vu u = vf_as_vu(v);
    vu rounded = vu_add(vu_add(u, vu_set1(GN_BF16_HALF)), vu_and(vu_srl(u, 16), vu_set1(1)));
    // u | quiet, as (u & ~quiet) ^ quiet
    vu quiet = vu_set1(GN_BF16_QUIET);
    vu nan = vu_xor(vu_and(u, vu_set1(~GN_BF16_QUIET)), quiet);
    vmask is_nan = vu_ge(vu_and(u, vu_set1(GN_F32_ABS)), vu_set1(GN_F32_INF + 1));
    vu r = vf_as_vu(vf_select(is_nan, vu_as_vf(nan), vu_as_vf(rounded)));
    vu_store_u16(p, vu_srl(r, 16));
}

// bf16 from float, rounded to nearest even
static void f32_to_bf16(uint16_t *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) vf_store_bf16(y + i, vf_load(x + i));
    for (; i < n; i++) y[i] = gn_bf16_from_f32_1(x[i]);
}

// float from bf16
static void bf16_to_f32(float *y, const uint16_t *x, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) vf_store(y + i, vf_load_bf16(x + i));
    for (; i < n; i++) y[i] = gn_f32_from_bf16_1(x[i]);
}

/* The table of these kernels, named `name`, as gn_kernels_<isa>. */
#define GN_SIMD_KERNELS(isa, name_)                                                              \
    const gn_kernels gn_kernels_##isa = {                                                        \
        .name = name_,                                                                           \
        .relu_forward = relu_forward,                                                            \
        .relu_backward = relu_backward,                                                          \
        .leaky_relu_forward = leaky_relu_forward,                                                \
        .leaky_relu_backward = leaky_relu_backward,                                              \
        .sigmoid_forward = sigmoid_forward,                                                      \
        .sigmoid_backward = sigmoid_backward,                                                    \
        .tanh_forward = tanh_forward,                                                            \
        .tanh_backward = tanh_backward,                                                          \
        .dropout = dropout,                                                                      \
        .channel_sum_sumsq = channel_sum_sumsq,                                                  \
        .channel_affine = channel_affine,                                                        \
        .bn_backward_sums = bn_backward_sums,                                                    \
        .bn_backward_apply = bn_backward_apply,                                                  \
        .upsample_forward = upsample_forward,                                                    \
        .upsample_backward = upsample_backward,                                                  \
        .adam = adam,                                                                            \
        .axpy = axpy,                                                                            \
        .all_finite = all_finite,                                                                \
        .f32_to_bf16 = f32_to_bf16,                                                              \
        .bf16_to_f32 = bf16_to_f32,                                                              \
    }

#endif
