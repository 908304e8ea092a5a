#include <stdlib.h>
#include <string.h>

#include "dnnl/dnn_op.h"
#include "dnnl/dnnl_util.h"
#include "gannet/tensor.h"

struct gn_dnn_op {
    gn_dnn_spec s;
    union {
        dnnl_convolution_desc_t conv;
        dnnl_deconvolution_desc_t deconv;
        dnnl_inner_product_desc_t ip;
    } fwd_desc;
    dnnl_memory_desc_t x_md, y_md, w_md, b_md; /* plain user layouts */
    dnnl_primitive_desc_t pd[3];
    dnnl_primitive_t prim[3];
    gn_dnn_view w_fwd, w_bwd, dw;
    dnnl_memory_t x, y, b, dx, dy, db;
    gn_dnn_cache *cache;
    float *ones;     /* (oc) ones when the primitive leaves out the bias and ReLU */
};

void gn_dnn_runtime(char *buf, unsigned long len) { gn_dnn_describe(buf, len); }

static gn_status make_mem(dnnl_memory_t *m, const dnnl_memory_desc_t *md, const char *what) {
    return gn_dnn_check(dnnl_memory_create(m, md, gn_dnn_engine(), DNNL_MEMORY_NONE), what);
}

/* Fills the plain memory descriptors for the op's tensors. */
static void plain_mds(gn_dnn_op *op) {
    const gn_dnn_spec *s = &op->s;
    if (s->kind == GN_DNN_DENSE) {
        dnnl_dim_t xd[2] = {s->n, (dnnl_dim_t)s->ih * s->iw * s->ic};
        dnnl_dim_t yd[2] = {s->n, s->oc};
        dnnl_dim_t wd[2] = {s->oc, (dnnl_dim_t)s->ih * s->iw * s->ic};
        op->x_md = gn_dnn_md(2, xd, dnnl_nc);
        op->y_md = gn_dnn_md(2, yd, dnnl_nc);
        op->w_md = gn_dnn_md(2, wd, dnnl_oi);
    } else {
        dnnl_dim_t xd[4] = {s->n, s->ic, s->ih, s->iw};
        dnnl_dim_t yd[4] = {s->n, s->oc, s->oh, s->ow};
        dnnl_dim_t wd[4] = {s->oc, s->ic, s->kh, s->kw};
        op->x_md = gn_dnn_md(4, xd, dnnl_nhwc);
        op->y_md = gn_dnn_md(4, yd, dnnl_nhwc);
        op->w_md = gn_dnn_md(4, wd, dnnl_oihw);
    }
    dnnl_dim_t bd[1] = {s->oc};
    op->b_md = gn_dnn_md(1, bd, dnnl_x);
}

/* The weights descriptor with format "any", for the primitive to choose.
 * Dense layers keep the plain layout: measured here, their brgemm kernels
 * run as fast on it, and no reordered copies of the largest weights exist. */
static dnnl_memory_desc_t any_weights(const gn_dnn_op *op) {
    if (op->s.kind == GN_DNN_DENSE) return op->w_md;
    dnnl_memory_desc_t md;
    dnnl_memory_desc_init_by_tag(&md, op->w_md.ndims, op->w_md.dims, dnnl_f32, dnnl_format_tag_any);
    return md;
}

/* The bias descriptor, or NULL for a layer without one. */
static const dnnl_memory_desc_t *bias_md(const gn_dnn_op *op) { return op->s.no_bias ? NULL : &op->b_md; }

gn_status gn_dnn_op_create(gn_dnn_op **out, const gn_dnn_spec *spec, gn_dnn_cache *cache) {
    gn_status s = gn_dnn_init();
    if (s) return s;
    gn_dnn_op *op = calloc(1, sizeof *op);
    if (!op) return gn_fail(GN_ERR_NOMEM, "out of memory creating a oneDNN layer");
    op->s = *spec;
    op->cache = cache;
    plain_mds(op);
    dnnl_memory_desc_t w_any = any_weights(op);
    dnnl_dims_t strides = {spec->sh, spec->sw}, pl = {spec->pad_t, spec->pad_l},
                pr = {spec->pad_b, spec->pad_r};
    /* oneDNN's transposed convolution adds a bias through a scratch copy of
     * the whole output (38 MiB for G's up-convolution at batch 128) and runs
     * slower for it: its primitive leaves out the bias, and the ReLU after it,
     * for the caller to add (gn_dnn_op_unit_scale). Without a bias it runs
     * the ReLU as a post-op itself. */
    if (spec->kind == GN_DNN_DECONV && !spec->no_bias) {
        op->ones = gn_alloc((size_t)spec->oc * sizeof(float));
        if (!op->ones) {
            free(op);
            return gn_fail(GN_ERR_NOMEM, "out of memory creating a oneDNN layer");
        }
        for (int c = 0; c < spec->oc; c++) op->ones[c] = 1.0f;
    }
    dnnl_status_t st;
    switch (spec->kind) {
    case GN_DNN_DENSE:
        st = dnnl_inner_product_forward_desc_init(&op->fwd_desc.ip, dnnl_forward_training, &op->x_md,
                                                  &w_any, &op->b_md, &op->y_md);
        break;
    case GN_DNN_CONV:
        st = dnnl_convolution_forward_desc_init(&op->fwd_desc.conv, dnnl_forward_training,
                                                dnnl_convolution_direct, &op->x_md, &w_any, bias_md(op),
                                                &op->y_md, strides, pl, pr);
        break;
    default:
        st = dnnl_deconvolution_forward_desc_init(&op->fwd_desc.deconv, dnnl_forward_training,
                                                  dnnl_deconvolution_direct, &op->x_md, &w_any,
                                                  NULL, &op->y_md, strides, pl, pr);
        break;
    }
    s = gn_dnn_check(st, "forward descriptor");
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    if (!s && spec->post_relu && !op->ones) {
        s = gn_dnn_check(dnnl_post_ops_create(&po), "post-ops");
        if (!s) s = gn_dnn_check(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f), "post-ops");
        if (!s) s = gn_dnn_check(dnnl_primitive_attr_create(&attr), "attributes");
        if (!s) s = gn_dnn_check(dnnl_primitive_attr_set_post_ops(attr, po), "attributes");
    }
    if (!s) s = gn_dnn_build(&op->fwd_desc, attr, NULL, &op->pd[0], &op->prim[0], "forward primitive");
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (po) dnnl_post_ops_destroy(po);
    if (!s)
        s = gn_dnn_view_init(&op->w_fwd, &op->w_md,
                             dnnl_primitive_desc_query_md(op->pd[0], dnnl_query_weights_md, 0), 0,
                             op->cache, "forward weights");
    if (!s) s = make_mem(&op->x, &op->x_md, "x");
    if (!s) s = make_mem(&op->y, &op->y_md, "y");
    if (!s) s = make_mem(&op->b, &op->b_md, "bias");
    if (s) {
        gn_dnn_op_free(op);
        return s;
    }
    *out = op;
    return GN_OK;
}

void gn_dnn_op_free(gn_dnn_op *op) {
    if (!op) return;
    for (int i = 0; i < 3; i++) {
        if (op->prim[i]) dnnl_primitive_destroy(op->prim[i]);
        if (op->pd[i]) dnnl_primitive_desc_destroy(op->pd[i]);
    }
    gn_dnn_view_free(&op->w_fwd);
    gn_dnn_view_free(&op->w_bwd);
    gn_dnn_view_free(&op->dw);
    gn_free(op->ones);
    dnnl_memory_t mems[6] = {op->x, op->y, op->b, op->dx, op->dy, op->db};
    for (int i = 0; i < 6; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    free(op);
}

/* The weights as the primitive wants them: reordered only when the cached
 * copy holds another version. */
static dnnl_memory_t weights_in(gn_dnn_view *v, const float *w, uint64_t wver) {
    if (!v->prim) return gn_dnn_view_in(v, w);
    if (*v->ver != wver + 1) {
        gn_dnn_view_in(v, w);
        *v->ver = wver + 1;
    }
    return v->prim;
}

gn_status gn_dnn_op_forward(gn_dnn_op *op, const float *x, const float *w, const float *b,
                            float *y, uint64_t wver) {
    dnnl_memory_t wm = weights_in(&op->w_fwd, w, wver);
    dnnl_memory_set_data_handle(op->x, (void *)x);
    dnnl_memory_set_data_handle(op->y, y);
    dnnl_memory_set_data_handle(op->b, (void *)b);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, op->x}, {DNNL_ARG_WEIGHTS, wm},
                               {DNNL_ARG_DST, op->y}, {DNNL_ARG_BIAS, op->b}};
    return gn_dnn_exec(op->prim[0], op->ones || op->s.no_bias ? 3 : 4, args, "forward");
}

const float *gn_dnn_op_unit_scale(const gn_dnn_op *op) { return op->ones; }
const gn_dnn_spec *gn_dnn_op_spec(const gn_dnn_op *op) { return &op->s; }

/* Builds the backward-data primitive on first use. */
static gn_status build_bwd_data(gn_dnn_op *op) {
    union {
        dnnl_convolution_desc_t conv;
        dnnl_deconvolution_desc_t deconv;
        dnnl_inner_product_desc_t ip;
    } d;
    dnnl_memory_desc_t w_any = any_weights(op);
    dnnl_dims_t strides = {op->s.sh, op->s.sw}, pl = {op->s.pad_t, op->s.pad_l},
                pr = {op->s.pad_b, op->s.pad_r};
    dnnl_status_t st;
    if (op->s.kind == GN_DNN_DENSE)
        st = dnnl_inner_product_backward_data_desc_init(&d.ip, &op->x_md, &w_any, &op->y_md);
    else if (op->s.kind == GN_DNN_CONV)
        st = dnnl_convolution_backward_data_desc_init(&d.conv, dnnl_convolution_direct, &op->x_md,
                                                      &w_any, &op->y_md, strides, pl, pr);
    else
        st = dnnl_deconvolution_backward_data_desc_init(&d.deconv, dnnl_deconvolution_direct,
                                                        &op->x_md, &w_any, &op->y_md, strides, pl, pr);
    gn_status s = gn_dnn_check(st, "backward-data descriptor");
    if (!s) s = gn_dnn_build(&d, NULL, op->pd[0], &op->pd[1], &op->prim[1], "backward-data primitive");
    if (!s)
        s = gn_dnn_view_init(&op->w_bwd, &op->w_md,
                             dnnl_primitive_desc_query_md(op->pd[1], dnnl_query_weights_md, 0), 0,
                             op->cache, "backward-data weights");
    if (!s) s = make_mem(&op->dx, &op->x_md, "dx");
    if (!s && !op->dy) s = make_mem(&op->dy, &op->y_md, "dy");
    return s;
}

gn_status gn_dnn_op_backward_data(gn_dnn_op *op, const float *dy, const float *w, float *dx,
                                  uint64_t wver) {
    if (!op->prim[1]) {
        gn_status s = build_bwd_data(op);
        if (s) return s;
    }
    dnnl_memory_t wm = weights_in(&op->w_bwd, w, wver);
    dnnl_memory_set_data_handle(op->dy, (void *)dy);
    dnnl_memory_set_data_handle(op->dx, dx);
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, op->dy}, {DNNL_ARG_WEIGHTS, wm},
                               {DNNL_ARG_DIFF_SRC, op->dx}};
    return gn_dnn_exec(op->prim[1], 3, args, "backward-data");
}

/* Builds the backward-weights primitive on first use. */
static gn_status build_bwd_weights(gn_dnn_op *op) {
    union {
        dnnl_convolution_desc_t conv;
        dnnl_deconvolution_desc_t deconv;
        dnnl_inner_product_desc_t ip;
    } d;
    dnnl_memory_desc_t w_any = any_weights(op);
    dnnl_dims_t strides = {op->s.sh, op->s.sw}, pl = {op->s.pad_t, op->s.pad_l},
                pr = {op->s.pad_b, op->s.pad_r};
    dnnl_status_t st;
    if (op->s.kind == GN_DNN_DENSE)
        st = dnnl_inner_product_backward_weights_desc_init(&d.ip, &op->x_md, &w_any, &op->b_md,
                                                           &op->y_md);
    else if (op->s.kind == GN_DNN_CONV)
        st = dnnl_convolution_backward_weights_desc_init(&d.conv, dnnl_convolution_direct, &op->x_md,
                                                         &w_any, bias_md(op), &op->y_md, strides, pl, pr);
    else
        st = dnnl_deconvolution_backward_weights_desc_init(&d.deconv, dnnl_deconvolution_direct,
                                                           &op->x_md, &w_any, bias_md(op), &op->y_md,
                                                           strides, pl, pr);
    gn_status s = gn_dnn_check(st, "backward-weights descriptor");
    if (!s)
        s = gn_dnn_build(&d, NULL, op->pd[0], &op->pd[2], &op->prim[2], "backward-weights primitive");
    if (!s)
        s = gn_dnn_view_init(&op->dw, &op->w_md,
                             dnnl_primitive_desc_query_md(op->pd[2], dnnl_query_diff_weights_md, 0), 1,
                             op->cache, "weight gradients");
    if (!s && !op->dy) s = make_mem(&op->dy, &op->y_md, "dy");
    if (!s) s = make_mem(&op->db, &op->b_md, "bias gradient");
    return s;
}

gn_status gn_dnn_op_backward_weights(gn_dnn_op *op, const float *x, const float *dy, float *dw,
                                     float *db) {
    if (!op->prim[2]) {
        gn_status s = build_bwd_weights(op);
        if (s) return s;
    }
    dnnl_memory_set_data_handle(op->x, (void *)x);
    dnnl_memory_set_data_handle(op->dy, (void *)dy);
    dnnl_memory_set_data_handle(op->db, db);
    dnnl_memory_t dwm = gn_dnn_view_out(&op->dw, dw);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, op->x}, {DNNL_ARG_DIFF_DST, op->dy},
                               {DNNL_ARG_DIFF_WEIGHTS, dwm}, {DNNL_ARG_DIFF_BIAS, op->db}};
    gn_status s = gn_dnn_exec(op->prim[2], op->s.no_bias ? 3 : 4, args, "backward-weights");
    if (!s) gn_dnn_view_finish(&op->dw);
    return s;
}

const char *gn_dnn_op_impl(const gn_dnn_op *op, int which) {
    if (which < 0 || which > 2 || !op->pd[which]) return "";
    return gn_dnn_impl(op->pd[which]);
}
