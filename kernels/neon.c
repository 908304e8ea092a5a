/* NEON (AArch64 Advanced SIMD) kernels, 4 floats per vector. Same maths as
 * ref.c, in the same order, with the same fused multiply-adds: results are
 * bit-identical. Every kernel finishes with the scalar code of scalar.h. */
#include <arm_neon.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"
#include "scalar.h"

#define W 4

// rows per block so a block of x (rows x C floats) stays near 128 KiB
static inline size_t block_rows(size_t C) {
    size_t rb = 32768 / (C ? C : 1);
    return rb ? rb : 1;
}

// lanes of x where the mask is set, +0 elsewhere
static inline float32x4_t keep4(uint32x4_t mask, float32x4_t x) {
    return vreinterpretq_f32_u32(vandq_u32(mask, vreinterpretq_u32_f32(x)));
}

// 2^k for integer lanes -126 <= k <= 127
static inline float32x4_t pow2i4(int32x4_t k) {
    return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(k, vdupq_n_s32(127)), 23));
}

// gn_expf_1 on 4 lanes (FMAX/FMIN return NaN when an input is NaN)
static inline float32x4_t exp4(float32x4_t x) {
    x = vmaxq_f32(vdupq_n_f32(GN_EXP_LO), x);
    x = vminq_f32(vdupq_n_f32(GN_EXP_HI), x);
    float32x4_t fx = vrndmq_f32(vfmaq_f32(vdupq_n_f32(0.5f), x, vdupq_n_f32(GN_LOG2E)));
    float32x4_t r = vfmsq_f32(x, fx, vdupq_n_f32(GN_EXP_C1));
    r = vfmsq_f32(r, fx, vdupq_n_f32(GN_EXP_C2));
    float32x4_t z = vmulq_f32(r, r);
    float32x4_t p = vdupq_n_f32(GN_EXP_P0);
    p = vfmaq_f32(vdupq_n_f32(GN_EXP_P1), p, r);
    p = vfmaq_f32(vdupq_n_f32(GN_EXP_P2), p, r);
    p = vfmaq_f32(vdupq_n_f32(GN_EXP_P3), p, r);
    p = vfmaq_f32(vdupq_n_f32(GN_EXP_P4), p, r);
    p = vfmaq_f32(vdupq_n_f32(GN_EXP_P5), p, r);
    p = vfmaq_f32(r, p, z);
    p = vaddq_f32(p, vdupq_n_f32(1.0f));
    int32x4_t n = vcvtq_s32_f32(fx);
    int32x4_t n1 = vshrq_n_s32(n, 1);
    int32x4_t n2 = vsubq_s32(n, n1);
    return vmulq_f32(vmulq_f32(p, pow2i4(n1)), pow2i4(n2));
}

// gn_sigmoid_1 on 4 lanes
static inline float32x4_t sigmoid4(float32x4_t x) {
    float32x4_t one = vdupq_n_f32(1.0f);
    return vdivq_f32(one, vaddq_f32(one, exp4(vnegq_f32(x))));
}

// gn_tanh_1 on 4 lanes: both branches on |x|, a select, then the sign of x
static inline float32x4_t tanh4(float32x4_t x) {
    float32x4_t one = vdupq_n_f32(1.0f), two = vdupq_n_f32(2.0f);
    float32x4_t ax = vabsq_f32(x);
    uint32x4_t small = vcltq_f32(ax, vdupq_n_f32(GN_TANH_SMALL));
    float32x4_t s = vmulq_f32(ax, ax);
    float32x4_t p = vdupq_n_f32(GN_TANH_T0);
    p = vfmaq_f32(vdupq_n_f32(GN_TANH_T1), p, s);
    p = vfmaq_f32(vdupq_n_f32(GN_TANH_T2), p, s);
    p = vfmaq_f32(vdupq_n_f32(GN_TANH_T3), p, s);
    p = vfmaq_f32(vdupq_n_f32(GN_TANH_T4), p, s);
    float32x4_t ys = vfmaq_f32(ax, ax, vmulq_f32(p, s));
    float32x4_t e = exp4(vmulq_f32(two, ax));
    float32x4_t yl = vsubq_f32(one, vdivq_f32(two, vaddq_f32(e, one)));
    float32x4_t y = vbslq_f32(small, ys, yl);
    return vbslq_f32(vdupq_n_u32(0x80000000u), x, y);
}

// gn_mix32 on 4 lanes
static inline uint32x4_t mix4(uint32x4_t x) {
    x = veorq_u32(x, vshrq_n_u32(x, 16));
    x = vmulq_u32(x, vdupq_n_u32(0x7feb352du));
    x = veorq_u32(x, vshrq_n_u32(x, 15));
    x = vmulq_u32(x, vdupq_n_u32(0x846ca68bu));
    x = veorq_u32(x, vshrq_n_u32(x, 16));
    return x;
}

// y = max(x, 0)
static void relu_forward(float *y, const float *x, size_t n) {
    float32x4_t zero = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        float32x4_t v = vld1q_f32(x + i);
        vst1q_f32(y + i, keep4(vcgtq_f32(v, zero), v));
    }
    for (; i < n; i++) y[i] = gn_relu_1(x[i]);
}

// dx = y > 0 ? dy : 0
static void relu_backward(float *dx, const float *dy, const float *y, size_t n) {
    float32x4_t zero = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + W <= n; i += W)
        vst1q_f32(dx + i, keep4(vcgtq_f32(vld1q_f32(y + i), zero), vld1q_f32(dy + i)));
    for (; i < n; i++) dx[i] = gn_relu_bwd_1(dy[i], y[i]);
}

// y = x > 0 ? x : alpha * x
static void leaky_relu_forward(float *y, const float *x, size_t n, float alpha) {
    float32x4_t zero = vdupq_n_f32(0.0f), a = vdupq_n_f32(alpha);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        float32x4_t v = vld1q_f32(x + i);
        vst1q_f32(y + i, vbslq_f32(vcgtq_f32(v, zero), v, vmulq_f32(a, v)));
    }
    for (; i < n; i++) y[i] = gn_leaky_1(x[i], alpha);
}

// dx = y > 0 ? dy : alpha * dy
static void leaky_relu_backward(float *dx, const float *dy, const float *y, size_t n,
                                float alpha) {
    float32x4_t zero = vdupq_n_f32(0.0f), a = vdupq_n_f32(alpha);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        float32x4_t d = vld1q_f32(dy + i);
        vst1q_f32(dx + i, vbslq_f32(vcgtq_f32(vld1q_f32(y + i), zero), d, vmulq_f32(d, a)));
    }
    for (; i < n; i++) dx[i] = gn_leaky_bwd_1(dy[i], y[i], alpha);
}

// y = 1 / (1 + exp(-x))
static void sigmoid_forward(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) vst1q_f32(y + i, sigmoid4(vld1q_f32(x + i)));
    for (; i < n; i++) y[i] = gn_sigmoid_1(x[i]);
}

// dx = dy * y * (1 - y)
static void sigmoid_backward(float *dx, const float *dy, const float *y, size_t n) {
    float32x4_t one = vdupq_n_f32(1.0f);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        float32x4_t v = vld1q_f32(y + i);
        float32x4_t d = vmulq_f32(vld1q_f32(dy + i), v);
        vst1q_f32(dx + i, vmulq_f32(d, vsubq_f32(one, v)));
    }
    for (; i < n; i++) dx[i] = gn_sigmoid_bwd_1(dy[i], y[i]);
}

// y = tanh(x)
static void tanh_forward(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) vst1q_f32(y + i, tanh4(vld1q_f32(x + i)));
    for (; i < n; i++) y[i] = gn_tanh_1(x[i]);
}

// dx = dy * (1 - y^2)
static void tanh_backward(float *dx, const float *dy, const float *y, size_t n) {
    float32x4_t one = vdupq_n_f32(1.0f);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        float32x4_t v = vld1q_f32(y + i);
        vst1q_f32(dx + i, vmulq_f32(vld1q_f32(dy + i), vfmsq_f32(one, v, v)));
    }
    for (; i < n; i++) dx[i] = gn_tanh_bwd_1(dy[i], y[i]);
}

// dropout keep mask (all ones where kept) of the 4 indices starting at idx
static inline uint32x4_t dropout_keep4(uint32_t idx, uint32_t klo, uint32_t khi, uint32_t thr) {
    static const uint32_t iota[4] = {0, 1, 2, 3};
    uint32x4_t x = vaddq_u32(vdupq_n_u32(idx), vld1q_u32(iota));
    x = mix4(veorq_u32(x, vdupq_n_u32(klo)));
    x = mix4(veorq_u32(x, vdupq_n_u32(khi)));
    return vcgeq_u32(x, vdupq_n_u32(thr));
}

// inverted dropout keyed by the global element index, 8 elements per step
static void dropout(float *y, const float *x, size_t n, uint64_t key, uint64_t offset,
                    uint32_t threshold, float scale) {
    uint32_t klo = (uint32_t)key, khi = (uint32_t)(key >> 32);
    float32x4_t s = vdupq_n_f32(scale);
    size_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        uint32_t idx = (uint32_t)(offset + i);
        uint32x4_t k0 = dropout_keep4(idx, klo, khi, threshold);
        uint32x4_t k1 = dropout_keep4(idx + W, klo, khi, threshold);
        vst1q_f32(y + i, keep4(k0, vmulq_f32(vld1q_f32(x + i), s)));
        vst1q_f32(y + i + W, keep4(k1, vmulq_f32(vld1q_f32(x + i + W), s)));
    }
    for (; i < n; i++) {
        int keep = gn_dropout_hash(key, offset + i) >= threshold;
        y[i] = keep ? x[i] * scale : 0.0f;
    }
}

// the centre of channels c .. c + 3, +0 where centre is NULL
// (x - 0 has the bits of x, so a NULL centre changes nothing)
static inline float32x4_t centre4(const float *centre, size_t c) {
    return centre ? vld1q_f32(centre + c) : vdupq_n_f32(0.0f);
}

// per-channel sum and sum of squares of d = x - centre; each channel adds its rows in order
static void channel_sum_sumsq(float *sum, float *sumsq, const float *x, const float *centre,
                              size_t rows, size_t C) {
    size_t rb = block_rows(C);
    for (size_t r0 = 0; r0 < rows; r0 += rb) {
        size_t r1 = rows - r0 < rb ? rows : r0 + rb;
        size_t c = 0;
        for (; c + 4 * W <= C; c += 4 * W) {
            float32x4_t s0 = vld1q_f32(sum + c), s1 = vld1q_f32(sum + c + W);
            float32x4_t s2 = vld1q_f32(sum + c + 2 * W), s3 = vld1q_f32(sum + c + 3 * W);
            float32x4_t q0 = vld1q_f32(sumsq + c), q1 = vld1q_f32(sumsq + c + W);
            float32x4_t q2 = vld1q_f32(sumsq + c + 2 * W), q3 = vld1q_f32(sumsq + c + 3 * W);
            float32x4_t m0 = centre4(centre, c), m1 = centre4(centre, c + W);
            float32x4_t m2 = centre4(centre, c + 2 * W), m3 = centre4(centre, c + 3 * W);
            for (size_t r = r0; r < r1; r++) {
                const float *xr = x + r * C + c;
                float32x4_t v0 = vsubq_f32(vld1q_f32(xr), m0);
                float32x4_t v1 = vsubq_f32(vld1q_f32(xr + W), m1);
                float32x4_t v2 = vsubq_f32(vld1q_f32(xr + 2 * W), m2);
                float32x4_t v3 = vsubq_f32(vld1q_f32(xr + 3 * W), m3);
                s0 = vaddq_f32(s0, v0); q0 = vfmaq_f32(q0, v0, v0);
                s1 = vaddq_f32(s1, v1); q1 = vfmaq_f32(q1, v1, v1);
                s2 = vaddq_f32(s2, v2); q2 = vfmaq_f32(q2, v2, v2);
                s3 = vaddq_f32(s3, v3); q3 = vfmaq_f32(q3, v3, v3);
            }
            vst1q_f32(sum + c, s0); vst1q_f32(sum + c + W, s1);
            vst1q_f32(sum + c + 2 * W, s2); vst1q_f32(sum + c + 3 * W, s3);
            vst1q_f32(sumsq + c, q0); vst1q_f32(sumsq + c + W, q1);
            vst1q_f32(sumsq + c + 2 * W, q2); vst1q_f32(sumsq + c + 3 * W, q3);
        }
        for (; c + W <= C; c += W) {
            float32x4_t s = vld1q_f32(sum + c), q = vld1q_f32(sumsq + c);
            float32x4_t m = centre4(centre, c);
            for (size_t r = r0; r < r1; r++) {
                float32x4_t v = vsubq_f32(vld1q_f32(x + r * C + c), m);
                s = vaddq_f32(s, v);
                q = vfmaq_f32(q, v, v);
            }
            vst1q_f32(sum + c, s);
            vst1q_f32(sumsq + c, q);
        }
        for (; c < C; c++) {
            for (size_t r = r0; r < r1; r++) {
                float v = gn_centred_1(x[r * C + c], centre, c);
                sum[c] += v;
                sumsq[c] = fmaf(v, v, sumsq[c]);
            }
        }
    }
}

// y = x * scale[c] + shift[c], optionally followed by relu
static void channel_affine(float *y, const float *x, size_t rows, size_t C, const float *scale,
                           const float *shift, int relu) {
    float32x4_t zero = vdupq_n_f32(0.0f);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        size_t c = 0;
        for (; c + W <= C; c += W) {
            float32x4_t v = vfmaq_f32(vld1q_f32(shift + c), vld1q_f32(xr + c), vld1q_f32(scale + c));
            if (relu) v = keep4(vcgtq_f32(v, zero), v);
            vst1q_f32(yr + c, v);
        }
        for (; c < C; c++) yr[c] = gn_affine_1(xr[c], scale[c], shift[c], relu);
    }
}

// g = dy, or 0 where y[o] <= 0 when relu (y is not read otherwise and may be NULL)
static inline float32x4_t bn_g4(float32x4_t d, const float *y, size_t o, int relu) {
    if (!relu) return d;
    uint32x4_t le = vcleq_f32(vld1q_f32(y + o), vdupq_n_f32(0.0f));
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(d), le));
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
            float32x4_t s0 = vld1q_f32(sum_g + c), s1 = vld1q_f32(sum_g + c + W);
            float32x4_t q0 = vld1q_f32(sum_gx + c), q1 = vld1q_f32(sum_gx + c + W);
            float32x4_t m0 = centre4(centre, c), m1 = centre4(centre, c + W);
            for (size_t r = r0; r < r1; r++) {
                size_t o = r * C + c;
                float32x4_t g0 = bn_g4(vld1q_f32(dy + o), y, o, relu);
                float32x4_t g1 = bn_g4(vld1q_f32(dy + o + W), y, o + W, relu);
                float32x4_t d0 = vsubq_f32(vld1q_f32(x + o), m0);
                float32x4_t d1 = vsubq_f32(vld1q_f32(x + o + W), m1);
                s0 = vaddq_f32(s0, g0); q0 = vfmaq_f32(q0, g0, d0);
                s1 = vaddq_f32(s1, g1); q1 = vfmaq_f32(q1, g1, d1);
            }
            vst1q_f32(sum_g + c, s0); vst1q_f32(sum_g + c + W, s1);
            vst1q_f32(sum_gx + c, q0); vst1q_f32(sum_gx + c + W, q1);
        }
        for (; c + W <= C; c += W) {
            float32x4_t s = vld1q_f32(sum_g + c), q = vld1q_f32(sum_gx + c);
            float32x4_t m = centre4(centre, c);
            for (size_t r = r0; r < r1; r++) {
                size_t o = r * C + c;
                float32x4_t g = bn_g4(vld1q_f32(dy + o), y, o, relu);
                s = vaddq_f32(s, g);
                q = vfmaq_f32(q, g, vsubq_f32(vld1q_f32(x + o), m));
            }
            vst1q_f32(sum_g + c, s);
            vst1q_f32(sum_gx + c, q);
        }
        for (; c < C; c++) {
            for (size_t r = r0; r < r1; r++) {
                size_t o = r * C + c;
                float g = gn_bn_g_1(dy[o], relu ? y[o] : 0.0f, relu);
                sum_g[c] += g;
                sum_gx[c] = fmaf(g, gn_centred_1(x[o], centre, c), sum_gx[c]);
            }
        }
    }
}

// dx = a[c] * g + b[c] * (x - centre[c]) + k[c]
static void bn_backward_apply(float *dx, const float *dy, const float *y, const float *x,
                              const float *centre, size_t rows, size_t C, const float *a,
                              const float *b, const float *k, int relu) {
    for (size_t r = 0; r < rows; r++) {
        size_t o = r * C, c = 0;
        for (; c + W <= C; c += W) {
            float32x4_t g = bn_g4(vld1q_f32(dy + o + c), y, o + c, relu);
            float32x4_t d = vsubq_f32(vld1q_f32(x + o + c), centre4(centre, c));
            float32x4_t t = vfmaq_f32(vld1q_f32(k + c), vld1q_f32(b + c), d);
            vst1q_f32(dx + o + c, vfmaq_f32(t, vld1q_f32(a + c), g));
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
                float32x4_t v = vld1q_f32(xp + c);
                for (size_t j = 0; j < f; j++) vst1q_f32(yp + j * C + c, v);
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
                float32x4_t acc = vld1q_f32(d0 + c);
                for (size_t i = 0; i < f; i++)
                    for (size_t j = (i == 0); j < f; j++)
                        acc = vaddq_f32(acc, vld1q_f32(d0 + i * orow + j * C + c));
                vst1q_f32(o + c, acc);
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
    float32x4_t vb1 = vdupq_n_f32(b1), vb2 = vdupq_n_f32(b2);
    float32x4_t ob1 = vdupq_n_f32(1.0f - b1), ob2 = vdupq_n_f32(1.0f - b2);
    float32x4_t vlr = vdupq_n_f32(lr), veps = vdupq_n_f32(eps);
    float32x4_t vbc1 = vdupq_n_f32(bc1), vbc2 = vdupq_n_f32(bc2);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        float32x4_t gv = vld1q_f32(g + i);
        float32x4_t mm = vfmaq_f32(vmulq_f32(ob1, gv), vb1, vld1q_f32(m + i));
        float32x4_t vv = vfmaq_f32(vmulq_f32(ob2, vmulq_f32(gv, gv)), vb2, vld1q_f32(v + i));
        vst1q_f32(m + i, mm);
        vst1q_f32(v + i, vv);
        float32x4_t mhat = vdivq_f32(mm, vbc1);
        float32x4_t vhat = vdivq_f32(vv, vbc2);
        float32x4_t step = vdivq_f32(vmulq_f32(vlr, mhat), vaddq_f32(vsqrtq_f32(vhat), veps));
        vst1q_f32(w + i, vsubq_f32(vld1q_f32(w + i), step));
    }
    for (; i < n; i++) w[i] = gn_adam_1(w[i], &m[i], &v[i], g[i], lr, b1, b2, eps, bc1, bc2);
}

// y += a * x (fused)
static void axpy(float *y, const float *x, size_t n, float a) {
    float32x4_t va = vdupq_n_f32(a);
    size_t i = 0;
    for (; i + W <= n; i += W) vst1q_f32(y + i, vfmaq_f32(vld1q_f32(y + i), va, vld1q_f32(x + i)));
    for (; i < n; i++) y[i] = fmaf(a, x[i], y[i]);
}

// 1 when no element is inf or NaN (exponent bits all ones)
static int all_finite(const float *x, size_t n) {
    uint32x4_t e = vdupq_n_u32(0x7f800000u);
    size_t i = 0;
    for (; i + W <= n; i += W) {
        uint32x4_t b = vandq_u32(vreinterpretq_u32_f32(vld1q_f32(x + i)), e);
        if (vmaxvq_u32(vceqq_u32(b, e))) return 0;
    }
    for (; i < n; i++)
        if (!gn_finite_1(x[i])) return 0;
    return 1;
}

const gn_kernels gn_kernels_neon = {
    .name = "neon",
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
