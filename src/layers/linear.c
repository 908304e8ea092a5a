/* The layers oneDNN runs: dense (inner product), conv2d and deconv2d. The
 * primitives live in a gn_dnn_op built for one batch size (dnnl/dnn_op.c). */
#include "layers/layers.h"

/* dense    x: (N, I) -> y: (N, O); w: (O, I), b: (O)
 * conv2d   x: (N, H, W, C) -> y: (N, OH, OW, F); w: (F, C, KH, KW), b: (F)
 * deconv2d x: (N, H, W, C) -> y: (N, OH, OW, F); w: (F, C, KH, KW), b: (F) */
gn_status gn_linear_forward(gn_dnn_op *op, float *y, const float *x, const float *w,
                            const float *b, uint64_t wver) {
    return gn_dnn_op_forward(op, x, w, b, y, wver);
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
