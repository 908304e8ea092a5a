/* The layers oneDNN runs: dense (inner product), conv2d and deconv2d. The
 * primitives live in a gn_dnn_op built for one batch size (dnnl/dnn_op.c). */
#include "layers/layers.h"

/* dense    x: (N, I) -> y: (N, O); w: (O, I), b: (O)
 * conv2d   x: (N, H, W, C) -> y: (N, OH, OW, F); w: (F, C, KH, KW), b: (F)
 * deconv2d x: (N, H, W, C) -> y: (N, OH, OW, F); w: (F, C, KH, KW), b: (F) */
gn_status gn_linear_forward(gn_dnn_op *op, float *y, const float *x, const float *w,
                            const float *b, uint64_t wver) {
    gn_status s = gn_dnn_op_forward(op, x, w, b, y, wver);
    const float *ones = gn_dnn_op_unit_scale(op);
    if (s || !ones) return s;
    /* the bias and ReLU the primitive left out: y = y * 1 + b, then max(0, .) */
    const gn_dnn_spec *sp = gn_dnn_op_spec(op);
    gn_channel_affine(y, y, (size_t)sp->n * sp->oh * sp->ow, (size_t)sp->oc, ones, b, sp->post_relu);
    return GN_OK;
}

/* dy: (N, out) -> dx: (N, in) */
gn_status gn_linear_backward_data(gn_dnn_op *op, float *dx, const float *dy, const float *w,
                                  uint64_t wver) {
    return gn_dnn_op_backward_data(op, dy, w, dx, wver);
}

/* x: (N, in), dy: (N, out) -> dw: like w, db: (out) */
gn_status gn_linear_backward_weights(gn_dnn_op *op, float *dw, float *db, const float *x,
                                     const float *dy) {
    return gn_dnn_op_backward_weights(op, x, dy, dw, db);
}

/* Output size of a convolution; 'same' pads like Keras (extra pixel at the end). */
int gn_conv_out_size(int in, int k, int stride, int same, int *pad_lo, int *pad_hi) {
    if (!same) {
        *pad_lo = *pad_hi = 0;
        return in < k ? 0 : (in - k) / stride + 1;
    }
    int out = (in + stride - 1) / stride;
    int total = (out - 1) * stride + k - in;
    if (total < 0) total = 0;
    *pad_lo = total / 2;
    *pad_hi = total - *pad_lo;
    return out;
}

/* Output size of a transposed convolution: the convolution it transposes maps
 * the output back to the input, with the same padding. */
int gn_deconv_out_size(int in, int k, int stride, int same, int *pad_lo, int *pad_hi) {
    if (!same) {
        *pad_lo = *pad_hi = 0;
        return (in - 1) * stride + k;
    }
    int out = in * stride;
    int total = (in - 1) * stride + k - out;
    if (total < 0) return 0; /* kernel smaller than stride: not expressible as 'same' */
    *pad_lo = total / 2;
    *pad_hi = total - *pad_lo;
    return out;
}

/* Which 3x3 taps (rows of M) feed each of the four 4x4 taps along one axis. */
static const float upconv_m[4][3] = {{0, 0, 1}, {0, 1, 1}, {1, 1, 0}, {1, 0, 0}};

/* w3: (F, C, 3, 3) -> w4: (F, C, 4, 4), w4 = M w3 M^T per (f, c). */
void gn_upconv_weights(float *w4, const float *w3, int F, int C) {
#pragma omp parallel for schedule(static)
    for (int fc = 0; fc < F * C; fc++) {
        const float *a = w3 + (size_t)fc * 9;
        float *k = w4 + (size_t)fc * 16;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                float v = 0;
                for (int p = 0; p < 3; p++)
                    for (int q = 0; q < 3; q++) v += upconv_m[i][p] * upconv_m[j][q] * a[p * 3 + q];
                k[i * 4 + j] = v;
            }
    }
}

/* dw4: (F, C, 4, 4) -> dw3: (F, C, 3, 3) = M^T dw4 M per (f, c). */
void gn_upconv_weights_backward(float *dw3, const float *dw4, int F, int C) {
#pragma omp parallel for schedule(static)
    for (int fc = 0; fc < F * C; fc++) {
        const float *k = dw4 + (size_t)fc * 16;
        float *a = dw3 + (size_t)fc * 9;
        for (int p = 0; p < 3; p++)
            for (int q = 0; q < 3; q++) {
                float v = 0;
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) v += upconv_m[i][p] * upconv_m[j][q] * k[i * 4 + j];
                a[p * 3 + q] = v;
            }
    }
}
