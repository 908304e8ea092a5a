/* Elementwise activations and softmax, split into fixed chunks across threads. */
#include <math.h>

#include "kernels.h"
#include "layers/layers.h"

/* x: (n) -> y: (n); alpha is LeakyReLU's slope. */
void gn_activation_forward(gn_act act, float *y, const float *x, size_t n, float alpha) {
    const gn_kernels *K = gn_kern();
    switch (act) {
    case GN_ACT_RELU: GN_PARALLEL_CHUNKS(n, o, m, K->relu_forward(y + o, x + o, m)); break;
    case GN_ACT_LEAKY_RELU:
        GN_PARALLEL_CHUNKS(n, o, m, K->leaky_relu_forward(y + o, x + o, m, alpha));
        break;
    case GN_ACT_SIGMOID: GN_PARALLEL_CHUNKS(n, o, m, K->sigmoid_forward(y + o, x + o, m)); break;
    case GN_ACT_TANH: GN_PARALLEL_CHUNKS(n, o, m, K->tanh_forward(y + o, x + o, m)); break;
    }
}

/* dy: (n) -> dx: (n) from the forward output y. */
void gn_activation_backward(gn_act act, float *dx, const float *dy, const float *y, size_t n,
                            float alpha) {
    const gn_kernels *K = gn_kern();
    switch (act) {
    case GN_ACT_RELU: GN_PARALLEL_CHUNKS(n, o, m, K->relu_backward(dx + o, dy + o, y + o, m)); break;
    case GN_ACT_LEAKY_RELU:
        GN_PARALLEL_CHUNKS(n, o, m, K->leaky_relu_backward(dx + o, dy + o, y + o, m, alpha));
        break;
    case GN_ACT_SIGMOID:
        GN_PARALLEL_CHUNKS(n, o, m, K->sigmoid_backward(dx + o, dy + o, y + o, m));
        break;
    case GN_ACT_TANH: GN_PARALLEL_CHUNKS(n, o, m, K->tanh_backward(dx + o, dy + o, y + o, m)); break;
    }
}

/* x: (rows, C) -> y: (rows, C), softmax over C with the maximum subtracted. */
void gn_softmax_forward(float *y, const float *x, size_t rows, size_t C) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        float mx = xr[0];
        for (size_t c = 1; c < C; c++) mx = xr[c] > mx ? xr[c] : mx;
        double s = 0;
        for (size_t c = 0; c < C; c++) s += exp((double)xr[c] - mx);
        for (size_t c = 0; c < C; c++) yr[c] = (float)(exp((double)xr[c] - mx) / s);
    }
}
