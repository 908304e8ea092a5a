/* concat: two tensors side by side along channels (a U-Net or DenseNet link). */
#include <string.h>

#include "layers/layer.h"

/* x0: (N, H, W, C0), x1: (N, H, W, C1) -> y: (N, H, W, C0 + C1) */
static int concat_shape(gn_layer *L, char *why, size_t len) {
    gn_shape a = L->in, b = L->in2;
    if (a.h != b.h || a.w != b.w) {
        snprintf(why, len, "heights and widths differ: %dx%d and %dx%d", a.h, a.w, b.h, b.w);
        return -1;
    }
    L->out = (gn_shape){a.h, a.w, a.c + b.c};
    return 0;
}

/* Copies rows of C0 floats from x0 and C1 from x1 into rows of C0 + C1,
 * or back (split) when `join` is 0. */
static void interleave(float *y, float *x0, float *x1, size_t rows, size_t C0, size_t C1, int join) {
    size_t C = C0 + C1;
#pragma omp parallel for schedule(static) if (rows * C > (size_t)GN_CHUNK)
    for (size_t r = 0; r < rows; r++) {
        if (join) {
            memcpy(y + r * C, x0 + r * C0, C0 * sizeof(float));
            memcpy(y + r * C + C0, x1 + r * C1, C1 * sizeof(float));
        } else {
            if (x0) memcpy(x0 + r * C0, y + r * C, C0 * sizeof(float));
            if (x1) memcpy(x1 + r * C1, y + r * C + C0, C1 * sizeof(float));
        }
    }
}

static gn_status concat_fwd(gn_layer *L, gn_call *c) {
    interleave(c->y, (float *)c->x[0], (float *)c->x[1], gn_layer_rows(L, c->n), L->in.c, L->in2.c, 1);
    return GN_OK;
}

/* dy: (N, H, W, C0 + C1) -> dx0: (N, H, W, C0), dx1: (N, H, W, C1) */
static gn_status concat_bwd(gn_layer *L, gn_call *c) {
    interleave((float *)c->dy, c->dx[0], c->dx[1], gn_layer_rows(L, c->n), L->in.c, L->in2.c, 0);
    return GN_OK;
}

const gn_layer_ops gn_concat_ops = {
    .kind = GN_LAYER_CONCAT, .name = "concat", .title = "Concat", .ninputs = 2,
    .shape = concat_shape, .forward = concat_fwd, .backward = concat_bwd,
    .describe = gn_describe_title,
};
