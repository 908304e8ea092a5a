/* Inverted dropout with masks from a counter hash (kernels.h), and additive
 * Gaussian noise; both keyed so that results do not depend on threads. */
#include "gannet/rng.h"
#include "kernels.h"
#include <string.h>

#include "layers/layer.h"

/* Inverted dropout: the kept units scaled by 1 / (1 - rate). */
static float drop_scale(float rate) { return rate < 1 ? 1.0f / (1.0f - rate) : 0.0f; }

static uint32_t drop_threshold(float rate) {
    double t = (double)rate * 4294967296.0;
    return t >= 4294967295.0 ? 0xFFFFFFFFu : (uint32_t)t;
}

/* x: (n) -> y: (n) = x * keep / (1 - rate), keep[i] from the hash of (key, at + i). */
void gn_dropout_forward(float *y, const float *x, size_t n, float rate, uint64_t key, uint64_t at) {
    const gn_kernels *K = gn_kern();
    uint32_t thr = drop_threshold(rate);
    float scale = drop_scale(rate);
    GN_PARALLEL_CHUNKS(n, o, m, K->dropout(y + o, x + o, m, key, at + o, thr, scale));
}

void gn_dropout_forward_bf16(uint16_t *y, const void *x, int x_bf16, size_t n, float rate, uint64_t key,
                             uint64_t at) {
    const gn_kernels *K = gn_kern();
    uint32_t thr = drop_threshold(rate);
    float scale = drop_scale(rate);
    GN_PARALLEL_CHUNKS(n, o, m, {
        float t[GN_CHUNK];
        if (x_bf16) K->bf16_to_f32(t, (const uint16_t *)x + o, m);
        else memcpy(t, (const float *)x + o, m * sizeof(float));
        if (rate > 0) K->dropout(t, t, m, key, at + o, thr, scale);
        K->f32_to_bf16(y + o, t, m);
    });
}

/* dy: (n) -> dx: (n) = dy * keep / (1 - rate): the forward map again (it is
 * diagonal), its keep bits drawn again from the same key. */
void gn_dropout_backward(float *dx, const float *dy, size_t n, float rate, uint64_t key, uint64_t at) {
    gn_dropout_forward(dx, dy, n, rate, key, at);
}

/* x: (n) -> y: (n) = x + sigma * N(0,1), the normals drawn from (seed, key). */
void gn_gaussian_noise_forward(float *y, const float *x, size_t n, float sigma, uint64_t seed,
                               uint64_t key, uint64_t at) {
#pragma omp parallel for schedule(static) if (n > GN_CHUNK)
    for (size_t i = 0; i < n; i++) y[i] = x[i] + sigma * gn_rng_normal(seed, key, at + i);
}

/* ---- registry entries: dropout, gaussian_noise (x: (N, H, W, C) -> y: same) ---- */

static int dropout_shape(gn_layer *L, char *why, size_t len) {
    float r = L->a.dropout.rate;
    return gn_shape_same_if(L, r >= 0 && r < 1, "dropout rate must be in [0, 1)", r, why, len);
}

static int noise_shape(gn_layer *L, char *why, size_t len) {
    float s = L->a.noise.sigma;
    return gn_shape_same_if(L, s >= 0, "noise sigma must be non-negative", s, why, len);
}

/* The mask or noise of elements [0, count) of one call: the samples before
 * c->samples.split and those after stand at different places of the whole
 * batch, so each part draws from its own first counter. */
static void random_run(gn_layer *L, gn_call *c, float *y, const float *x, size_t count, int bf16) {
    int x_bf16 = L->rounds_f32_of == GN_NONE; /* else x is the f32 output it rounds (net.c) */
    size_t per = count / (size_t)c->n, head = (size_t)c->samples.split * per;
    const size_t len[2] = {head, count - head};
    const uint64_t at[2] = {c->samples.first * per, c->samples.second * per};
    for (int part = 0; part < 2; part++) {
        size_t off = part ? head : 0;
        if (!len[part]) continue;
        if (L->kind == GN_LAYER_DROPOUT && bf16)
            gn_dropout_forward_bf16((uint16_t *)y + off, x_bf16 ? (const void *)((const uint16_t *)x + off)
                                                                : (const void *)(x + off),
                                    x_bf16, len[part], L->a.dropout.rate, c->key, at[part]);
        else if (L->kind == GN_LAYER_DROPOUT)
            gn_dropout_forward(y + off, x + off, len[part], L->a.dropout.rate, c->key, at[part]);
        else
            gn_gaussian_noise_forward(y + off, x + off, len[part], L->a.noise.sigma, c->seed, c->key, at[part]);
    }
}

/* Both are random in training only; otherwise the identity. */
static gn_status random_fwd(gn_layer *L, gn_call *c) {
    size_t count = gn_layer_count_in(L, c->n);
    float rate = L->kind == GN_LAYER_DROPOUT ? L->a.dropout.rate : 0;
    float sigma = L->kind == GN_LAYER_GAUSSIAN_NOISE ? L->a.noise.sigma : 0;
    if (c->train && (rate > 0 || sigma > 0))
        random_run(L, c, c->y, c->x[0], count, L->dtype == GN_BF16); /* stored in bf16 (net.c) */
    else if (L->rounds_f32_of != GN_NONE)
        gn_dropout_forward_bf16((uint16_t *)c->y, c->x[0], 0, count, 0, 0, 0);
    else if (c->y != c->x[0])
        memcpy(c->y, c->x[0], count * gn_dtype_size(L->dtype));
    return GN_OK;
}

/* Dropout's mask again; the noise is additive, so its gradient passes unchanged. */
static gn_status random_bwd(gn_layer *L, gn_call *c) {
    size_t count = gn_layer_count_in(L, c->n);
    float rate = L->kind == GN_LAYER_DROPOUT ? L->a.dropout.rate : 0;
    if (c->dx[0] && rate > 0)
        random_run(L, c, c->dx[0], c->dy, count, 0); /* gradients: f32 */
    else
        gn_pass_gradient(c->dx[0], c->dy, count);
    return GN_OK;
}

static void random_describe(const gn_layer *L, char *buf, size_t len) {
    snprintf(buf, len, "%s %.2g", L->ops->title,
             L->kind == GN_LAYER_DROPOUT ? L->a.dropout.rate : L->a.noise.sigma);
}

/* Dropout zeroes exactly where its own backward zeroes the gradient, and
 * keeps signs, so it may run over its input. */
const gn_layer_ops gn_dropout_ops = {
    .kind = GN_LAYER_DROPOUT, .name = "dropout", .title = "Dropout", .ninputs = 1,
    .traits = GN_OP_IN_PLACE | GN_OP_GRAD_IN_PLACE | GN_OP_RANDOM, .shape = dropout_shape,
    .forward = random_fwd, .backward = random_bwd, .describe = random_describe,
};

const gn_layer_ops gn_gaussian_noise_ops = {
    .kind = GN_LAYER_GAUSSIAN_NOISE, .name = "gaussian_noise", .title = "GaussianNoise", .ninputs = 1,
    .traits = GN_OP_GRAD_IN_PLACE | GN_OP_RANDOM, .shape = noise_shape, .forward = random_fwd,
    .backward = random_bwd, .describe = random_describe,
};
