/* Elementwise activations and softmax, split into fixed chunks across threads. */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "layers/layer.h"

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

void gn_relu_backward_bf16(float *dx, const float *dy, const uint16_t *y, size_t n) {
    const gn_kernels *K = gn_kern();
    GN_PARALLEL_CHUNKS(n, o, m, {
        float t[GN_CHUNK];
        K->bf16_to_f32(t, y + o, m);
        K->relu_backward(dx + o, dy + o, t, m);
    });
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

/* ---- registry entries: relu, leaky_relu, sigmoid, tanh, softmax ----
 * x: (N, H, W, C) -> y: (N, H, W, C), elementwise (softmax: over C). */

static gn_act act_of(const gn_layer *L) {
    switch (L->kind) {
    case GN_LAYER_LEAKY_RELU: return GN_ACT_LEAKY_RELU;
    case GN_LAYER_SIGMOID: return GN_ACT_SIGMOID;
    case GN_LAYER_TANH: return GN_ACT_TANH;
    default: return GN_ACT_RELU;
    }
}

static float alpha_of(const gn_layer *L) { return L->kind == GN_LAYER_LEAKY_RELU ? L->a.leaky.alpha : 0; }

/* The forward of a ReLU fused into the oneDNN layer before it has run there. */
static gn_status act_fwd(gn_layer *L, gn_call *c) {
    size_t count = gn_layer_count_in(L, c->n);
    if (L->dtype == GN_BF16 && (!(L->fuse & GN_FUSE_FWD_IN_OP) || c->y != c->x[0]))
        return gn_fail(GN_ERR_UNSUPPORTED, "%s on bf16: only the ReLU the layer before runs", L->ops->title);
    if (!(L->fuse & GN_FUSE_FWD_IN_OP))
        gn_activation_forward(act_of(L), c->y, c->x[0], count, alpha_of(L));
    else if (c->y != c->x[0])
        memcpy(c->y, c->x[0], count * sizeof(float));
    return GN_OK;
}

/* A ReLU whose output is stored in bf16 (net.c's choose_storage) reads its sign there. */
static gn_status act_bwd(gn_layer *L, gn_call *c) {
    size_t n = gn_layer_count_in(L, c->n);
    if (!c->dx[0]) return GN_OK;
    if (L->dtype == GN_BF16 && act_of(L) == GN_ACT_RELU)
        gn_relu_backward_bf16(c->dx[0], c->dy, (const uint16_t *)c->y, n);
    else if (L->dtype == GN_BF16)
        return gn_fail(GN_ERR_UNSUPPORTED, "%s on bf16: ReLU only", L->ops->title);
    else
        gn_activation_backward(act_of(L), c->dx[0], c->dy, c->y, n, alpha_of(L));
    return GN_OK;
}

static void relu_describe(const gn_layer *L, char *buf, size_t len) {
    snprintf(buf, len, "ReLU%s", L->fuse & GN_FUSE_DONE_BY_BN  ? " (in BN)"
                                 : L->fuse & GN_FUSE_FWD_IN_OP ? " (fwd in op)"
                                                               : "");
}

/* A ReLU keeps the sign that the backward of an earlier ReLU-like layer
 * reads, so it may run over its input. */
const gn_layer_ops gn_relu_ops = {
    .kind = GN_LAYER_RELU, .name = "relu", .title = "ReLU", .ninputs = 1,
    .traits = GN_OP_IN_PLACE | GN_OP_GRAD_IN_PLACE, .shape = gn_shape_same, .forward = act_fwd,
    .backward = act_bwd, .describe = relu_describe,
};

static int leaky_shape(gn_layer *L, char *why, size_t len) {
    float a = L->a.leaky.alpha;
    return gn_shape_same_if(L, a >= 0 && a < 1, "LeakyReLU slope must be in [0, 1)", a, why, len);
}

static void leaky_describe(const gn_layer *L, char *buf, size_t len) {
    snprintf(buf, len, "LeakyReLU %.2g%s", L->a.leaky.alpha, L->fuse & GN_FUSE_IDENTITY ? " (= id)" : "");
}

const gn_layer_ops gn_leaky_relu_ops = {
    .kind = GN_LAYER_LEAKY_RELU, .name = "leaky_relu", .title = "LeakyReLU", .ninputs = 1,
    .traits = GN_OP_IN_PLACE | GN_OP_GRAD_IN_PLACE, .shape = leaky_shape, .forward = act_fwd,
    .backward = act_bwd, .describe = leaky_describe,
};

/* Sigmoid and tanh (a generator's last layer) read their output in backward. */
const gn_layer_ops gn_sigmoid_ops = {.kind = GN_LAYER_SIGMOID, .name = "sigmoid", .title = "Sigmoid",
    .ninputs = 1, .traits = GN_OP_GRAD_IN_PLACE | GN_OP_READS_OUTPUT, .shape = gn_shape_same,
    .forward = act_fwd, .backward = act_bwd, .describe = gn_describe_title};
const gn_layer_ops gn_tanh_ops = {.kind = GN_LAYER_TANH, .name = "tanh", .title = "Tanh",
    .ninputs = 1, .traits = GN_OP_GRAD_IN_PLACE | GN_OP_READS_OUTPUT, .shape = gn_shape_same,
    .forward = act_fwd, .backward = act_bwd, .describe = gn_describe_title};

static gn_status softmax_fwd(gn_layer *L, gn_call *c) {
    gn_softmax_forward(c->y, c->x[0], gn_layer_rows(L, c->n), L->in.c);
    return GN_OK;
}

/* dx = y * (dy - sum(dy * y)) per row */
static gn_status softmax_bwd(gn_layer *L, gn_call *c) {
    if (!c->dx[0]) return GN_OK;
    size_t rows = gn_layer_rows(L, c->n), C = L->in.c;
    const float *g = c->dy, *y = c->y;
    float *dx = c->dx[0];
    for (size_t r = 0; r < rows; r++) {
        double dot = 0;
        for (size_t k = 0; k < C; k++) dot += (double)g[r * C + k] * y[r * C + k];
        for (size_t k = 0; k < C; k++) dx[r * C + k] = (float)(y[r * C + k] * (g[r * C + k] - dot));
    }
    return GN_OK;
}

/* As the last layer, folded into the loss (see gn_net_logits). */
const gn_layer_ops gn_softmax_ops = {
    .kind = GN_LAYER_SOFTMAX, .name = "softmax", .title = "Softmax", .ninputs = 1,
    .traits = GN_OP_READS_OUTPUT | GN_OP_FOLDS_INTO_LOSS, .shape = gn_shape_same, .forward = softmax_fwd,
    .backward = softmax_bwd, .describe = gn_describe_title,
};
