/* Nearest-neighbour upsampling (kernels) and max pooling. */
#include <float.h>
#include <string.h>

#include "kernels.h"
#include "layers/layer.h"

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

/* ---- registry entries: upsampling2d, maxpool2d ---- */

static int upsample_shape(gn_layer *L, char *why, size_t len) {
    int f = L->a.upsample.factor;
    if (f <= 0) {
        snprintf(why, len, "upsampling factor must be positive (%d)", f);
        return -1;
    }
    L->out = (gn_shape){L->in.h * f, L->in.w * f, L->in.c};
    return 0;
}

static gn_status upsample_fwd(gn_layer *L, gn_call *c) {
    gn_upsample_forward(c->y, c->x[0], c->n, L->in.h, L->in.w, L->in.c, L->a.upsample.factor);
    return GN_OK;
}

static gn_status upsample_bwd(gn_layer *L, gn_call *c) {
    if (c->dx[0])
        gn_upsample_backward(c->dx[0], c->dy, c->n, L->in.h, L->in.w, L->in.c, L->a.upsample.factor);
    return GN_OK;
}

static void upsample_describe(const gn_layer *L, char *buf, size_t len) {
    snprintf(buf, len, "UpSampling2D x%d%s", L->a.upsample.factor,
             L->fuse & GN_FUSE_UP_IN_CONV ? " (in conv)" : "");
}

const gn_layer_ops gn_upsample_ops = {
    .kind = GN_LAYER_UPSAMPLE, .name = "upsampling2d", .title = "UpSampling2D", .ninputs = 1,
    .shape = upsample_shape, .forward = upsample_fwd, .backward = upsample_bwd,
    .describe = upsample_describe,
};

static int pool_shape(gn_layer *L, char *why, size_t len) {
    int k = L->a.pool.size, s = L->a.pool.stride;
    if (k <= 0 || s <= 0) {
        snprintf(why, len, "pool size and stride must be positive (%d, %d)", k, s);
        return -1;
    }
    if (L->in.h < k || L->in.w < k) {
        snprintf(why, len, "input smaller than the pool (%dx%d, pool %d)", L->in.h, L->in.w, k);
        return -1;
    }
    L->out = (gn_shape){(L->in.h - k) / s + 1, (L->in.w - k) / s + 1, L->in.c};
    return 0;
}

/* where each maximum was, from forward to backward */
static size_t pool_aux(const gn_layer *L, int n) {
    return (size_t)n * gn_shape_size(L->out) * sizeof(int32_t);
}

static gn_status pool_fwd(gn_layer *L, gn_call *c) {
    gn_maxpool_forward(c->y, c->aux, c->x[0], c->n, L->in.h, L->in.w, L->in.c, L->a.pool.size,
                       L->a.pool.stride);
    return GN_OK;
}

static gn_status pool_bwd(gn_layer *L, gn_call *c) {
    if (c->dx[0])
        gn_maxpool_backward(c->dx[0], c->dy, c->aux, c->n, L->in.h, L->in.w, L->in.c, L->a.pool.size,
                            L->a.pool.stride);
    return GN_OK;
}

static void pool_describe(const gn_layer *L, char *buf, size_t len) {
    snprintf(buf, len, "MaxPooling2D %d/%d", L->a.pool.size, L->a.pool.stride);
}

const gn_layer_ops gn_maxpool_ops = {
    .kind = GN_LAYER_MAXPOOL, .name = "maxpool2d", .title = "MaxPooling2D", .ninputs = 1,
    .shape = pool_shape, .forward = pool_fwd, .backward = pool_bwd, .describe = pool_describe,
    .aux_bytes = pool_aux,
};
