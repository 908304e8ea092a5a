/* The layers oneDNN runs: dense (inner product), conv2d and deconv2d, and
 * their registry entries. The primitives live in a gn_dnn_op built for one
 * batch size (dnnl/dnn_op.c). */
#include <string.h>
#include <math.h>
#include <omp.h>

#include "gannet/rng.h"
#include "layers/layer.h"

/* dense    x: (N, I) -> y: (N, O); w: (O, I), b: (O)
 * conv2d   x: (N, H, W, C) -> y: (N, OH, OW, F); w: (F, C, KH, KW), b: (F)
 * deconv2d x: (N, H, W, C) -> y: (N, OH, OW, F); w: (F, C, KH, KW), b: (F) */
gn_status gn_linear_forward(gn_dnn_op *op, float *y, const float *x, const float *w,
                            const float *b, uint64_t wver) {
    gn_status s = gn_dnn_op_forward(op, x, w, b, y, wver);
    const float *ones = gn_dnn_op_unit_scale(op);
    if (s || !ones) return s;
    /* the bias and ReLU the primitive left out: y = y * 1 + b, then max(0, .) */
    const gn_dnn_spec *sp = gn_dnn_op_spec(op);
    gn_channel_affine(y, y, (size_t)sp->n * sp->oh * sp->ow, (size_t)sp->oc, ones, b, sp->post_relu);
    return GN_OK;
}

/* dy: (N, out) -> dx: (N, in) */
gn_status gn_linear_backward_data(gn_dnn_op *op, float *dx, const float *dy, const float *w,
                                  uint64_t wver) {
    return gn_dnn_op_backward_data(op, dy, w, dx, wver);
}

/* x: (N, in), dy: (N, out) -> dw: like w, db: (out) */
gn_status gn_linear_backward_weights(gn_dnn_op *op, float *dw, float *db, const float *x,
                                     const float *dy) {
    return gn_dnn_op_backward_weights(op, x, dy, dw, db);
}

/* Output size of a convolution; 'same' pads like Keras (extra pixel at the end). */
int gn_conv_out_size(int in, int k, int stride, int same, int *pad_lo, int *pad_hi) {
    if (!same) {
        *pad_lo = *pad_hi = 0;
        return in < k ? 0 : (in - k) / stride + 1;
    }
    int out = (in + stride - 1) / stride;
    int total = (out - 1) * stride + k - in;
    if (total < 0) total = 0;
    *pad_lo = total / 2;
    *pad_hi = total - *pad_lo;
    return out;
}

/* Output size of a transposed convolution: the convolution it transposes maps
 * the output back to the input, with the same padding. */
int gn_deconv_out_size(int in, int k, int stride, int same, int *pad_lo, int *pad_hi) {
    if (!same) {
        *pad_lo = *pad_hi = 0;
        return (in - 1) * stride + k;
    }
    int out = in * stride;
    int total = (in - 1) * stride + k - out;
    if (total < 0) return 0; /* kernel smaller than stride: not expressible as 'same' */
    *pad_lo = total / 2;
    *pad_hi = total - *pad_lo;
    return out;
}

/* Which 3x3 taps (rows of M) feed each of the four 4x4 taps along one axis. */
static const float upconv_m[4][3] = {{0, 0, 1}, {0, 1, 1}, {1, 1, 0}, {1, 0, 0}};

/* w3: (F, C, 3, 3) -> w4: (F, C, 4, 4), w4 = M w3 M^T per (f, c). */
void gn_upconv_weights(float *w4, const float *w3, int F, int C) {
#pragma omp parallel for schedule(static)
    for (int fc = 0; fc < F * C; fc++) {
        const float *a = w3 + (size_t)fc * 9;
        float *k = w4 + (size_t)fc * 16;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                float v = 0;
                for (int p = 0; p < 3; p++)
                    for (int q = 0; q < 3; q++) v += upconv_m[i][p] * upconv_m[j][q] * a[p * 3 + q];
                k[i * 4 + j] = v;
            }
    }
}

/* dw4: (F, C, 4, 4) -> dw3: (F, C, 3, 3) = M^T dw4 M per (f, c). */
void gn_upconv_weights_backward(float *dw3, const float *dw4, int F, int C) {
#pragma omp parallel for schedule(static)
    for (int fc = 0; fc < F * C; fc++) {
        const float *k = dw4 + (size_t)fc * 16;
        float *a = dw3 + (size_t)fc * 9;
        for (int p = 0; p < 3; p++)
            for (int q = 0; q < 3; q++) {
                float v = 0;
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) v += upconv_m[i][p] * upconv_m[j][q] * k[i * 4 + j];
                a[p * 3 + q] = v;
            }
    }
}

/* ---- registry entries: dense, conv2d, deconv2d ---- */

void gn_init_linear(float *w, size_t wn, float *b, size_t bn, double fan_in, double fan_out,
                    gn_init init, uint64_t seed, uint64_t stream) {
    if (init == GN_INIT_GLOROT_UNIFORM) {
        float lim = (float)sqrt(6.0 / (fan_in + fan_out));
        gn_rng_fill_uniform(w, wn, seed, stream, 0, -lim, lim);
    } else if (init == GN_INIT_GLOROT_NORMAL) {
        gn_rng_fill_normal(w, wn, seed, stream, 0, 0.0f, (float)sqrt(2.0 / (fan_in + fan_out)));
    } else {
        gn_rng_fill_normal(w, wn, seed, stream, 0, 0.0f, 0.02f);
    }
    memset(b, 0, bn * sizeof(float));
}

/* The weights a oneDNN layer runs with: the slab's (or, spectrally
 * normalised, W / sigma: fresh = 1 makes it, 0 takes the last training
 * forward's), or for an up-fused convolution their 4x4 form, remade when
 * the weights changed; *ver keys the cached layouts. NULL: out of memory. */
static const float *run_weights(gn_layer *L, const gn_call *c, int fresh, uint64_t *ver) {
    const float *w = c->w;
    *ver = c->version;
    if (gn_sn_on(L)) {
        w = fresh ? gn_sn_weights(L, c, ver) : L->sn;
        if (!fresh) *ver = L->sn_ver;
        if (!w) return NULL;
    }
    if (!(L->fuse & GN_FUSE_UPCONV)) return w;
    size_t n4 = (size_t)L->a.conv.filters * L->in.c * 16;
    if (!L->kw4 && !(L->kw4 = gn_alloc(n4 * sizeof(float)))) return NULL;
    if (L->kw4_ver != *ver + 1) {
        gn_upconv_weights(L->kw4, w, L->a.conv.filters, L->in.c);
        L->kw4_ver = *ver + 1;
    }
    return L->kw4;
}

static gn_status linear_fwd(gn_layer *L, gn_call *c) {
    uint64_t ver;
    const float *w = run_weights(L, c, 1, &ver);
    if (!w) return gn_fail(GN_ERR_NOMEM, "out of memory for the weights a layer runs with");
    return gn_linear_forward(c->op, c->y, c->x[0], w, c->b, ver);
}

/* dy -> dw, db (when wanted), then dx (when wanted: its buffer holds
 * backward-weights' bf16 copies until then, dnn_op.h); an up-fused
 * convolution's weight gradient goes through its 4x4 form. */
static gn_status linear_bwd(gn_layer *L, gn_call *c) {
    double t0 = c->profile ? omp_get_wtime() : 0;
    gn_status s;
    gn_dnn_op_spare(c->op, c->y, c->mid, c->mid_bytes, c->dx[0]); /* free now (dnn_op.h) */
    if (c->dw) {
        int up = (L->fuse & GN_FUSE_UPCONV) != 0;
        size_t n4 = (size_t)L->a.conv.filters * L->in.c * 16;
        if (up && !L->dkw4 && !(L->dkw4 = gn_alloc(n4 * sizeof(float))))
            return gn_fail(GN_ERR_NOMEM, "out of memory for up-fused weight gradients");
        if ((s = gn_linear_backward_weights(c->op, up ? L->dkw4 : c->dw, c->db, c->x[0], c->dy)))
            return s;
        if (up) gn_upconv_weights_backward(c->dw, L->dkw4, L->a.conv.filters, L->in.c);
        if (gn_sn_on(L)) gn_sn_backward(L, c, c->dw);
    }
    if (c->profile) c->weights_seconds = omp_get_wtime() - t0;
    if (!c->dx[0]) return GN_OK;
    uint64_t ver;
    const float *w = run_weights(L, c, 0, &ver);
    if (!w) return gn_fail(GN_ERR_NOMEM, "out of memory for the weights a layer runs with");
    return gn_linear_backward_data(c->op, c->dx[0], c->dy, w, ver);
}

static int dense_shape(gn_layer *L, char *why, size_t len) {
    if (L->a.dense.units <= 0) {
        snprintf(why, len, "units must be positive (%d)", L->a.dense.units);
        return -1;
    }
    L->out = (gn_shape){1, 1, L->a.dense.units};
    return 0;
}

static void dense_counts(const gn_layer *L, size_t *w, size_t *b, size_t *state) {
    *w = (size_t)L->a.dense.units * gn_shape_size(L->in);
    *b = L->a.dense.units;
    *state = gn_sn_state(L);
}

static void dense_init(const gn_layer *L, float *w, float *b, float *state, gn_init init,
                       uint64_t seed, uint64_t stream) {
    gn_init_linear(w, L->w_len, b, L->b_len, (double)gn_shape_size(L->in), (double)L->a.dense.units,
                   init, seed, stream);
    if (gn_sn_on(L)) gn_sn_init(L, w, state, seed, stream);
}

static double dense_flops(const gn_layer *L, int n) {
    return 2.0 * n * gn_shape_size(L->in) * L->a.dense.units;
}

static void dense_describe(const gn_layer *L, char *buf, size_t len) {
    snprintf(buf, len, "Dense%s", gn_sn_on(L) ? " sn" : "");
}

static void dense_spec(const gn_layer *L, int n, gn_dnn_spec *s) {
    *s = (gn_dnn_spec){.kind = GN_DNN_DENSE, .n = n, .ih = L->in.h, .iw = L->in.w, .ic = L->in.c,
                       .oh = L->out.h, .ow = L->out.w, .oc = L->out.c,
                       .post_relu = (L->fuse & GN_FUSE_POST_RELU) != 0};
}

const gn_layer_ops gn_dense_ops = {
    .kind = GN_LAYER_DENSE, .name = "dense", .title = "Dense", .ninputs = 1,
    .shape = dense_shape, .counts = dense_counts, .init = dense_init, .forward = linear_fwd,
    .backward = linear_bwd, .flops = dense_flops, .describe = dense_describe,
    .dnn_spec = dense_spec,
};

/* conv2d and deconv2d: x (N, H, W, C) -> y (N, OH, OW, filters) */
static int conv_shape(gn_layer *L, char *why, size_t len) {
    gn_conv_args *a = &L->a.conv;
    const char *bad = a->filters <= 0  ? "filters must be positive"
                      : a->kernel <= 0 ? "kernel size must be positive"
                      : a->stride <= 0 ? "stride must be positive"
                                       : NULL;
    if (bad) {
        snprintf(why, len, "%s", bad);
        return -1;
    }
    int same = a->pad == GN_PAD_SAME, oh, ow;
    if (L->kind == GN_LAYER_CONV2D) {
        oh = gn_conv_out_size(L->in.h, a->kernel, a->stride, same, &a->pad_t, &a->pad_b);
        ow = gn_conv_out_size(L->in.w, a->kernel, a->stride, same, &a->pad_l, &a->pad_r);
    } else {
        oh = gn_deconv_out_size(L->in.h, a->kernel, a->stride, same, &a->pad_t, &a->pad_b);
        ow = gn_deconv_out_size(L->in.w, a->kernel, a->stride, same, &a->pad_l, &a->pad_r);
    }
    if (oh <= 0 || ow <= 0) {
        snprintf(why, len, "input too small for the kernel (%dx%d, kernel %d)", L->in.h, L->in.w,
                 a->kernel);
        return -1;
    }
    L->out = (gn_shape){oh, ow, a->filters};
    return 0;
}

static void conv_counts(const gn_layer *L, size_t *w, size_t *b, size_t *state) {
    *w = (size_t)L->a.conv.filters * L->in.c * L->a.conv.kernel * L->a.conv.kernel;
    *b = L->a.conv.no_bias ? 0 : (size_t)L->a.conv.filters;
    *state = gn_sn_state(L);
}

static void conv_init(const gn_layer *L, float *w, float *b, float *state, gn_init init,
                      uint64_t seed, uint64_t stream) {
    double receptive = (double)L->a.conv.kernel * L->a.conv.kernel;
    gn_init_linear(w, L->w_len, b, L->b_len, L->in.c * receptive, L->a.conv.filters * receptive,
                   init, seed, stream);
    if (gn_sn_on(L)) gn_sn_init(L, w, state, seed, stream);
}

static double conv_flops(const gn_layer *L, int n) {
    const gn_conv_args *a = &L->a.conv;
    if (L->fuse & GN_FUSE_UPCONV) return 2.0 * n * (L->in.h / 2) * (L->in.w / 2) * a->filters * L->in.c * 16;
    if (L->kind == GN_LAYER_CONV2D)
        return 2.0 * n * L->out.h * L->out.w * a->filters * L->in.c * a->kernel * a->kernel;
    return 2.0 * n * L->in.h * L->in.w * a->filters * L->in.c * a->kernel * a->kernel;
}

static void conv_describe(const gn_layer *L, char *buf, size_t len) {
    const gn_conv_args *a = &L->a.conv;
    snprintf(buf, len, "%s %dx%d/%d %s%s%s%s", L->ops->title, a->kernel, a->kernel, a->stride,
             a->pad == GN_PAD_SAME ? "same" : "valid", L->fuse & GN_FUSE_UPCONV ? " (up)" : "",
             a->sn ? " sn" : "", a->no_bias ? " no-bias" : "");
}

static void conv_spec(const gn_layer *L, int n, gn_dnn_spec *s) {
    const gn_conv_args *a = &L->a.conv;
    *s = (gn_dnn_spec){.kind = L->kind == GN_LAYER_CONV2D ? GN_DNN_CONV : GN_DNN_DECONV, .n = n,
                       .ih = L->in.h, .iw = L->in.w, .ic = L->in.c, .oh = L->out.h, .ow = L->out.w,
                       .oc = L->out.c, .kh = a->kernel, .kw = a->kernel, .sh = a->stride, .sw = a->stride,
                       .pad_t = a->pad_t, .pad_l = a->pad_l, .pad_b = a->pad_b, .pad_r = a->pad_r,
                       .post_relu = (L->fuse & GN_FUSE_POST_RELU) != 0, .no_bias = a->no_bias};
    if (L->fuse & GN_FUSE_UPCONV) { /* on the image before the upsampling: 4x4, stride 2, padding 1 */
        s->kind = GN_DNN_DECONV;
        s->ih = L->in.h / 2;
        s->iw = L->in.w / 2;
        s->kh = s->kw = 4;
        s->sh = s->sw = 2;
        s->pad_t = s->pad_l = s->pad_b = s->pad_r = 1;
    }
}

const gn_layer_ops gn_conv2d_ops = {
    .kind = GN_LAYER_CONV2D, .name = "conv2d", .title = "Conv2D", .ninputs = 1,
    .shape = conv_shape, .counts = conv_counts, .init = conv_init, .forward = linear_fwd,
    .backward = linear_bwd, .flops = conv_flops, .describe = conv_describe, .dnn_spec = conv_spec,
};

const gn_layer_ops gn_deconv2d_ops = {
    .kind = GN_LAYER_DECONV2D, .name = "conv2d_transpose", .title = "Deconv2D", .ninputs = 1,
    .shape = conv_shape, .counts = conv_counts, .init = conv_init, .forward = linear_fwd,
    .backward = linear_bwd, .flops = conv_flops, .describe = conv_describe, .dnn_spec = conv_spec,
};
