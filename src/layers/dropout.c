/* Inverted dropout with masks from a counter hash (kernels.h), and additive
 * Gaussian noise; both keyed so that results do not depend on threads. */
#include "gannet/rng.h"
#include "kernels.h"
#include "layers/layers.h"

static uint32_t drop_threshold(float rate) {
    double t = (double)rate * 4294967296.0;
    return t >= 4294967295.0 ? 0xFFFFFFFFu : (uint32_t)t;
}

/* x: (n) -> y: (n) = x * mask / (1 - rate), mask: (n) of 0/1. */
void gn_dropout_forward(float *y, uint8_t *mask, const float *x, size_t n, float rate,
                        uint64_t key) {
    const gn_kernels *K = gn_kern();
    uint32_t thr = drop_threshold(rate);
    float scale = rate < 1 ? 1.0f / (1.0f - rate) : 0.0f;
    GN_PARALLEL_CHUNKS(n, o, m, K->dropout_forward(y + o, mask + o, x + o, m, key, o, thr, scale));
}

/* dy: (n) -> dx: (n) = dy * mask / (1 - rate). */
void gn_dropout_backward(float *dx, const float *dy, const uint8_t *mask, size_t n, float rate) {
    const gn_kernels *K = gn_kern();
    float scale = rate < 1 ? 1.0f / (1.0f - rate) : 0.0f;
    GN_PARALLEL_CHUNKS(n, o, m, K->dropout_backward(dx + o, dy + o, mask + o, m, scale));
}

/* x: (n) -> y: (n) = x + sigma * N(0,1), the normals drawn from (seed, key). */
void gn_gaussian_noise_forward(float *y, const float *x, size_t n, float sigma, uint64_t seed,
                               uint64_t key) {
#pragma omp parallel for schedule(static) if (n > GN_CHUNK)
    for (size_t i = 0; i < n; i++) y[i] = x[i] + sigma * gn_rng_normal(seed, key, i);
}
