/* Nearest-neighbour upsampling (kernels) and max pooling. */
#include <float.h>
#include <string.h>

#include "kernels.h"
#include "layers/layers.h"

/* x: (N, H, W, C) -> y: (N, H*f, W*f, C) */
void gn_upsample_forward(float *y, const float *x, size_t N, size_t H, size_t W, size_t C, size_t f) {
    const gn_kernels *K = gn_kern();
    size_t in = H * W * C, out = in * f * f;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < N; i++) K->upsample_forward(y + i * out, x + i * in, H, W, C, f);
}

/* dy: (N, H*f, W*f, C) -> dx: (N, H, W, C) */
void gn_upsample_backward(float *dx, const float *dy, size_t N, size_t H, size_t W, size_t C,
                          size_t f) {
    const gn_kernels *K = gn_kern();
    size_t in = H * W * C, out = in * f * f;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < N; i++) K->upsample_backward(dx + i * in, dy + i * out, H, W, C, f);
}

/* x: (N, H, W, C) -> y: (N, OH, OW, C); argmax keeps h * W + w of each maximum. */
void gn_maxpool_forward(float *y, int32_t *argmax, const float *x, size_t N, size_t H, size_t W,
                        size_t C, int k, int s) {
    size_t OH = (H - k) / s + 1, OW = (W - k) / s + 1;
#pragma omp parallel for schedule(static)
    for (size_t n = 0; n < N; n++) {
        const float *xn = x + n * H * W * C;
        for (size_t oh = 0; oh < OH; oh++)
            for (size_t ow = 0; ow < OW; ow++)
                for (size_t c = 0; c < C; c++) {
                    float best = -FLT_MAX;
                    int32_t at = (int32_t)((oh * s) * W + ow * s);
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++) {
                            size_t h = oh * s + i, w = ow * s + j;
                            float v = xn[(h * W + w) * C + c];
                            if (v > best) {
                                best = v;
                                at = (int32_t)(h * W + w);
                            }
                        }
                    size_t o = ((n * OH + oh) * OW + ow) * C + c;
                    y[o] = best;
                    argmax[o] = at;
                }
    }
}

/* dy: (N, OH, OW, C) -> dx: (N, H, W, C): each gradient goes to its maximum. */
void gn_maxpool_backward(float *dx, const float *dy, const int32_t *argmax, size_t N, size_t H,
                         size_t W, size_t C, int k, int s) {
    size_t OH = (H - k) / s + 1, OW = (W - k) / s + 1;
#pragma omp parallel for schedule(static)
    for (size_t n = 0; n < N; n++) {
        float *dxn = dx + n * H * W * C;
        memset(dxn, 0, H * W * C * sizeof(float));
        for (size_t p = 0; p < OH * OW; p++)
            for (size_t c = 0; c < C; c++) {
                size_t o = (n * OH * OW + p) * C + c;
                dxn[(size_t)argmax[o] * C + c] += dy[o];
            }
    }
}
