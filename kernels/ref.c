/* The scalar reference kernels: the truth every vector path is tested against.
 * The per-element maths lives in scalar.h so the vector tails share it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"
#include "scalar.h"

// exp(x) by the polynomial every path uses (exported for tests and callers)
float gn_expf(float x) { return gn_expf_1(x); }

// y = max(x, 0)
static void relu_forward(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = gn_relu_1(x[i]);
}

// dx = y > 0 ? dy : 0
static void relu_backward(float *dx, const float *dy, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] = gn_relu_bwd_1(dy[i], y[i]);
}

// y = x > 0 ? x : alpha * x
static void leaky_relu_forward(float *y, const float *x, size_t n, float alpha) {
    for (size_t i = 0; i < n; i++) y[i] = gn_leaky_1(x[i], alpha);
}

// dx = y > 0 ? dy : alpha * dy
static void leaky_relu_backward(float *dx, const float *dy, const float *y, size_t n,
                                float alpha) {
    for (size_t i = 0; i < n; i++) dx[i] = gn_leaky_bwd_1(dy[i], y[i], alpha);
}

// y = 1 / (1 + exp(-x))
static void sigmoid_forward(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = gn_sigmoid_1(x[i]);
}

// dx = dy * y * (1 - y)
static void sigmoid_backward(float *dx, const float *dy, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] = gn_sigmoid_bwd_1(dy[i], y[i]);
}

// y = tanh(x)
static void tanh_forward(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = gn_tanh_1(x[i]);
}

// dx = dy * (1 - y^2)
static void tanh_backward(float *dx, const float *dy, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] = gn_tanh_bwd_1(dy[i], y[i]);
}

// inverted dropout keyed by the global element index
static void dropout(float *y, const float *x, size_t n, uint64_t key, uint64_t offset,
                    uint32_t threshold, float scale) {
    for (size_t i = 0; i < n; i++) {
        int keep = gn_dropout_hash(key, offset + i) >= threshold;
        y[i] = keep ? x[i] * scale : 0.0f;
    }
}

// per-channel sum and sum of squares of d = x - centre, rows in order, accumulated
static void channel_sum_sumsq(float *sum, float *sumsq, const float *x, const float *centre,
                              size_t rows, size_t C) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        for (size_t c = 0; c < C; c++) {
            float d = gn_centred_1(xr[c], centre, c);
            sum[c] += d;
            sumsq[c] = fmaf(d, d, sumsq[c]);
        }
    }
}

// y = x * scale[c] + shift[c], optionally followed by relu
static void channel_affine(float *y, const float *x, size_t rows, size_t C, const float *scale,
                           const float *shift, int relu) {
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < C; c++)
            y[r * C + c] = gn_affine_1(x[r * C + c], scale[c], shift[c], relu);
    }
}

// sum_g[c] += g, sum_gx[c] += g * (x - centre), rows in order
static void bn_backward_sums(float *sum_g, float *sum_gx, const float *dy, const float *y,
                             const float *x, const float *centre, size_t rows, size_t C,
                             int relu) {
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < C; c++) {
            size_t i = r * C + c;
            float g = gn_bn_g_1(dy[i], relu ? y[i] : 0.0f, relu);
            sum_g[c] += g;
            sum_gx[c] = fmaf(g, gn_centred_1(x[i], centre, c), sum_gx[c]);
        }
    }
}

// dx = a[c] * g + b[c] * (x - centre[c]) + k[c]
static void bn_backward_apply(float *dx, const float *dy, const float *y, const float *x,
                              const float *centre, size_t rows, size_t C, const float *a,
                              const float *b, const float *k, int relu) {
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < C; c++) {
            size_t i = r * C + c;
            float g = gn_bn_g_1(dy[i], relu ? y[i] : 0.0f, relu);
            dx[i] = gn_bn_apply_1(g, gn_centred_1(x[i], centre, c), a[c], b[c], k[c]);
        }
    }
}

// nearest upsampling (H, W, C) -> (H*f, W*f, C)
static void upsample_forward(float *y, const float *x, size_t H, size_t W, size_t C, size_t f) {
    size_t orow = W * f * C;
    for (size_t h = 0; h < H; h++) {
        float *y0 = y + h * f * orow;
        for (size_t w = 0; w < W; w++)
            for (size_t j = 0; j < f; j++)
                for (size_t c = 0; c < C; c++) y0[(w * f + j) * C + c] = x[(h * W + w) * C + c];
        for (size_t i = 1; i < f; i++) memcpy(y0 + i * orow, y0, orow * sizeof *y);
    }
}

// dx[h,w,c] = sum over the f*f copies, in row-major order of the copies
static void upsample_backward(float *dx, const float *dy, size_t H, size_t W, size_t C,
                              size_t f) {
    size_t orow = W * f * C;
    for (size_t h = 0; h < H; h++) {
        for (size_t w = 0; w < W; w++) {
            const float *d0 = dy + h * f * orow + w * f * C;
            float *o = dx + (h * W + w) * C;
            for (size_t c = 0; c < C; c++) {
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
    for (size_t i = 0; i < n; i++)
        w[i] = gn_adam_1(w[i], &m[i], &v[i], g[i], lr, b1, b2, eps, bc1, bc2);
}

// y += a * x (fused)
static void axpy(float *y, const float *x, size_t n, float a) {
    for (size_t i = 0; i < n; i++) y[i] = fmaf(a, x[i], y[i]);
}

// 1 when no element is inf or NaN
static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!gn_finite_1(x[i])) return 0;
    return 1;
}

// bf16 from float, rounded to nearest even (scalar.h defines it)
static void f32_to_bf16(uint16_t *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = gn_bf16_from_f32_1(x[i]);
}

// float from bf16
static void bf16_to_f32(float *y, const uint16_t *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = gn_f32_from_bf16_1(x[i]);
}

const gn_kernels gn_kernels_ref = {
    .name = "ref",
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
    .f32_to_bf16 = f32_to_bf16,
    .bf16_to_f32 = bf16_to_f32,
};
