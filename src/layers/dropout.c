/* Inverted dropout with masks from a counter hash (kernels.h), and additive
 * Gaussian noise; both keyed so that results do not depend on threads. */
#include "gannet/rng.h"
#include "kernels.h"
#include <string.h>

#include "layers/layer.h"

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

/* ---- registry entries: dropout, gaussian_noise (x: (N, H, W, C) -> y: same) ---- */

static int dropout_shape(gn_layer *L, char *why, size_t len) {
    if (!(L->a.dropout.rate >= 0 && L->a.dropout.rate < 1)) {
        snprintf(why, len, "dropout rate must be in [0, 1) (%g)", L->a.dropout.rate);
        return -1;
    }
    L->out = L->in;
    return 0;
}

static gn_status dropout_fwd(gn_layer *L, gn_call *c) {
    size_t count = gn_layer_count_in(L, c->n);
    if (c->train && L->a.dropout.rate > 0)
        gn_dropout_forward(c->y, c->x[0], count, L->a.dropout.rate, c->key);
    else if (c->y != c->x[0])
        memcpy(c->y, c->x[0], count * sizeof(float));
    return GN_OK;
}

static gn_status dropout_bwd(gn_layer *L, gn_call *c) {
    size_t count = gn_layer_count_in(L, c->n);
    if (c->dx[0] && L->a.dropout.rate > 0)
        gn_dropout_backward(c->dx[0], c->dy, count, L->a.dropout.rate, c->key);
    else
        gn_pass_gradient(c->dx[0], c->dy, count);
    return GN_OK;
}

static void dropout_describe(const gn_layer *L, char *buf, size_t len) {
    snprintf(buf, len, "Dropout %.2g", L->a.dropout.rate);
}

/* Dropout zeroes exactly where its own backward zeroes the gradient, and
 * keeps signs, so it may run over its input. */
const gn_layer_ops gn_dropout_ops = {
    .kind = GN_LAYER_DROPOUT, .name = "dropout", .title = "Dropout", .ninputs = 1,
    .traits = GN_OP_IN_PLACE | GN_OP_GRAD_IN_PLACE | GN_OP_RANDOM, .shape = dropout_shape,
    .forward = dropout_fwd, .backward = dropout_bwd, .describe = dropout_describe,
};

static int noise_shape(gn_layer *L, char *why, size_t len) {
    if (!(L->a.noise.sigma >= 0)) {
        snprintf(why, len, "noise sigma must be non-negative (%g)", L->a.noise.sigma);
        return -1;
    }
    L->out = L->in;
    return 0;
}

static gn_status noise_fwd(gn_layer *L, gn_call *c) {
    size_t count = gn_layer_count_in(L, c->n);
    if (c->train && L->a.noise.sigma > 0)
        gn_gaussian_noise_forward(c->y, c->x[0], count, L->a.noise.sigma, c->seed, c->key);
    else if (c->y != c->x[0])
        memcpy(c->y, c->x[0], count * sizeof(float));
    return GN_OK;
}

/* additive noise: the gradient passes unchanged */
static gn_status noise_bwd(gn_layer *L, gn_call *c) {
    gn_pass_gradient(c->dx[0], c->dy, gn_layer_count_in(L, c->n));
    return GN_OK;
}

static void noise_describe(const gn_layer *L, char *buf, size_t len) {
    snprintf(buf, len, "GaussianNoise %.2g", L->a.noise.sigma);
}

const gn_layer_ops gn_gaussian_noise_ops = {
    .kind = GN_LAYER_GAUSSIAN_NOISE, .name = "gaussian_noise", .title = "GaussianNoise", .ninputs = 1,
    .traits = GN_OP_GRAD_IN_PLACE | GN_OP_RANDOM, .shape = noise_shape, .forward = noise_fwd,
    .backward = noise_bwd, .describe = noise_describe,
};
