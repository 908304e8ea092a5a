/* Inverted dropout with masks from a counter hash (kernels.h), and additive
 * Gaussian noise; both keyed so that results do not depend on threads. */
#include "gannet/rng.h"
#include "kernels.h"
#include "layers/layers.h"

static uint32_t drop_threshold(float rate) {
    double t = (double)rate * 4294967296.0;
    return t >= 4294967295.0 ? 0xFFFFFFFFu : (uint32_t)t;
}

/* x: (n) -> y: (n) = x * keep / (1 - rate), keep[i] from the hash of (key, i). */
void gn_dropout_forward(float *y, const float *x, size_t n, float rate, uint64_t key) {
    const gn_kernels *K = gn_kern();
    uint32_t thr = drop_threshold(rate);
    float scale = rate < 1 ? 1.0f / (1.0f - rate) : 0.0f;
    GN_PARALLEL_CHUNKS(n, o, m, K->dropout(y + o, x + o, m, key, o, thr, scale));
}

/* dy: (n) -> dx: (n) = dy * keep / (1 - rate): the forward map again (it is
 * diagonal), its keep bits drawn again from the same key. */
void gn_dropout_backward(float *dx, const float *dy, size_t n, float rate, uint64_t key) {
    gn_dropout_forward(dx, dy, n, rate, key);
}

/* x: (n) -> y: (n) = x + sigma * N(0,1), the normals drawn from (seed, key). */
void gn_gaussian_noise_forward(float *y, const float *x, size_t n, float sigma, uint64_t seed,
                               uint64_t key) {
#pragma omp parallel for schedule(static) if (n > GN_CHUNK)
    for (size_t i = 0; i < n; i++) y[i] = x[i] + sigma * gn_rng_normal(seed, key, i);
}
