/* Layers that only change how a tensor is seen: reshape and flatten. Their
 * output is their input's buffer; the gradient passes unchanged. */
#include <string.h>

#include "layers/layer.h"

/* x: (N, H, W, C) -> y: (N, to.h, to.w, to.c), the same elements */
static int reshape_shape(gn_layer *L, char *why, size_t len) {
    gn_shape to = L->a.reshape.to;
    if (to.h <= 0 || to.w <= 0 || to.c <= 0 || gn_shape_size(to) != gn_shape_size(L->in)) {
        snprintf(why, len, "reshape must keep the element count (%zu to %dx%dx%d)",
                 gn_shape_size(L->in), to.h, to.w, to.c);
        return -1;
    }
    L->out = to;
    return 0;
}

/* x: (N, H, W, C) -> y: (N, H*W*C) */
static int flatten_shape(gn_layer *L, char *why, size_t len) {
    (void)why, (void)len;
    L->out = (gn_shape){1, 1, (int)gn_shape_size(L->in)};
    return 0;
}

static gn_status view_fwd(gn_layer *L, gn_call *c) {
    (void)L, (void)c; /* the engine gives the output the input's buffer */
    return GN_OK;
}

static gn_status view_bwd(gn_layer *L, gn_call *c) {
    gn_pass_gradient(c->dx[0], c->dy, gn_layer_count_in(L, c->n));
    return GN_OK;
}

const gn_layer_ops gn_reshape_ops = {
    .kind = GN_LAYER_RESHAPE, .name = "reshape", .title = "Reshape", .ninputs = 1,
    .traits = GN_OP_ALIAS | GN_OP_GRAD_IN_PLACE, .shape = reshape_shape, .forward = view_fwd,
    .backward = view_bwd, .describe = gn_describe_title,
};

const gn_layer_ops gn_flatten_ops = {
    .kind = GN_LAYER_FLATTEN, .name = "flatten", .title = "Flatten", .ninputs = 1,
    .traits = GN_OP_ALIAS | GN_OP_GRAD_IN_PLACE, .shape = flatten_shape, .forward = view_fwd,
    .backward = view_bwd, .describe = gn_describe_title,
};
