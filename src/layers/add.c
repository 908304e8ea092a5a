/* add: the sum of two tensors of one shape (a residual connection). */
#include <string.h>

#include "layers/layer.h"

/* x0, x1: (N, H, W, C) -> y: (N, H, W, C) */
static int add_shape(gn_layer *L, char *why, size_t len) {
    gn_shape a = L->in, b = L->in2;
    if (a.h != b.h || a.w != b.w || a.c != b.c) {
        snprintf(why, len, "shapes differ: %dx%dx%d and %dx%dx%d", a.h, a.w, a.c, b.h, b.w, b.c);
        return -1;
    }
    L->out = a;
    return 0;
}

static gn_status add_fwd(gn_layer *L, gn_call *c) {
    const float *a = c->x[0], *b = c->x[1];
    float *y = c->y;
    GN_PARALLEL_CHUNKS(gn_layer_count_in(L, c->n), o, m, {
        for (size_t j = o; j < o + m; j++) y[j] = a[j] + b[j];
    });
    return GN_OK;
}

/* dy -> dx0 = dy, dx1 = dy */
static gn_status add_bwd(gn_layer *L, gn_call *c) {
    size_t count = gn_layer_count_in(L, c->n);
    gn_pass_gradient(c->dx[0], c->dy, count);
    gn_pass_gradient(c->dx[1], c->dy, count);
    return GN_OK;
}

const gn_layer_ops gn_add_ops = {
    .kind = GN_LAYER_ADD, .name = "add", .title = "Add", .ninputs = 2,
    .traits = GN_OP_GRAD_IN_PLACE, .shape = add_shape, .forward = add_fwd, .backward = add_bwd,
    .describe = gn_describe_title,
};
