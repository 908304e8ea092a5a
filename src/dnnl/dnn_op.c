#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "dnnl/col_mm.h"
#include "dnnl/dnn_op.h"
#include "dnnl/dnnl_util.h"
#include "dnnl/scatter_mm.h"
#include "gannet/tensor.h"
#include "kernels.h"

/* Passes in bf16 (spec.bf16): their inputs x and dy are converted to bf16 by
 * the kernels (gn_kern()->f32_to_bf16), their weights by the cached reorder,
 * once per weights version; the outputs (y, dx, dw, db) are written f32, so
 * a pass can run in either precision; only an activation the network stores
 * in bf16 (spec.x_bf16, spec.y_bf16) is read or written as bf16. The copies
 * live where nothing else is at the time (make_staging): a forward's copy
 * of x in the gradient workspace (scratch->fwd), the backward passes'
 * patches, copy of x and copy of dy in dx before backward-data writes it, in
 * the op's own dead output, or in the workspace's free middle, else in the
 * slots the network's ops share. */
/* A backward buffer's place: a shared slot, or at `off` in y, in the
 * gradient workspace's free middle, or in dx (free until backward-data). */
enum { IN_SLOT, IN_Y, IN_MID, IN_DX, SPACES = 3 };
typedef struct gn_place {
    int where;
    size_t off;
} gn_place;

struct gn_dnn_op {
    gn_dnn_spec s;
    dnnl_memory_desc_t x_md, y_md, w_md, b_md; /* plain f32 user layouts */
    dnnl_memory_desc_t xh_md, yh_md;           /* x and dy in plain bf16 */
    dnnl_primitive_desc_t pd[3];
    dnnl_primitive_t prim[3];
    dnnl_primitive_desc_t other_fwd; /* a forward pd in the precision the forward does not run
                                        in: the hint of a backward pass that runs in it */
    gn_dnn_view w_fwd, w_bwd, dw;
    dnnl_memory_t x, y, b, dx, dy, db;
    dnnl_memory_t xh, dyh;  /* the bf16 copies below, when a pass runs in bf16 */
    uint16_t *dyh_buf;      /* dy's copy, in the shared scratch (since the last dy_in) */
    gn_dnn_scratch *sc;     /* the network's, or own_sc */
    gn_dnn_scratch own_sc;
    const float *xh_of;     /* the x whose copy this op last wrote to the X slot, or NULL */
    const float *dyh_of;    /* the dy one backward pass converted for the other, or NULL */
    gn_dnn_cache *cache;
    float *ones;     /* (oc) ones when the primitive leaves out the bias and ReLU */
    /* Passes to few channels run as products and a scatter (scatter_mm.h):
     * which[0] the forward of a transposed convolution, which[1] a
     * convolution's backward-data; ver: the weights version wt holds, plus 1. */
    gn_scatter_mm sm[2];
    int sm_on[2];
    uint64_t sm_ver[2];
    gn_col_mm cm;    /* a strided convolution's bf16 backward-weights (col_mm.h) */
    int cm_on;
    /* Where the backward passes keep their patches, copy of dy and copy of x
     * (with a transposed convolution's sums after it): in y (spec.spare_y),
     * in the gradient workspace's free middle (spec.bwd_room), in dx (what
     * only backward-weights reads: it runs first), or in a slot. */
    gn_place cols_at, dyh_at, xb_at;
    unsigned char *space[SPACES]; /* y, that middle and dx, for this backward (gn_dnn_op_spare) */
    float *y_f32;                 /* the last forward's f32 output, with spec.y_keep_f32 */
    size_t mid_bytes, need[SPACES];
};

typedef union op_desc {
    dnnl_convolution_desc_t conv;
    dnnl_deconvolution_desc_t deconv;
    dnnl_inner_product_desc_t ip;
} op_desc;

/* From now on, slot k holds at least `bytes`. */
static void scratch_reserve(gn_dnn_scratch *sc, int k, size_t bytes) {
    if (bytes > sc->need[k]) sc->need[k] = bytes;
}

/* Slot k, grown to the largest need (its contents and owner lost when it
 * grows); NULL when out of memory. */
static void *scratch_get(gn_dnn_scratch *sc, int k) {
    if (sc->bytes[k] < sc->need[k]) {
        gn_free(sc->buf[k]);
        sc->buf[k] = gn_alloc(sc->need[k]);
        sc->bytes[k] = sc->buf[k] ? sc->need[k] : 0;
        sc->owner[k] = NULL;
    }
    return sc->buf[k];
}

void gn_dnn_scratch_free(gn_dnn_scratch *sc) {
    for (int k = 0; k < GN_DNN_SLOTS; k++) gn_free(sc->buf[k]);
    memset(sc, 0, sizeof *sc);
}

static gn_status scratch_nomem(void) {
    return gn_fail(GN_ERR_NOMEM, "out of memory for the bf16 copies of a layer's inputs");
}

/* Elements converted per OpenMP work item (256 KiB of floats). */
#define CONVERT_CHUNK 65536

void gn_dnn_runtime(char *buf, unsigned long len) { gn_dnn_describe(buf, len); }

static gn_status make_mem(dnnl_memory_t *m, const dnnl_memory_desc_t *md, const char *what) {
    return gn_dnn_check(dnnl_memory_create(m, md, gn_dnn_engine(), DNNL_MEMORY_NONE), what);
}

static int pass_bf16(const gn_dnn_op *op, int which) { return (op->s.bf16 >> which) & 1; }
/* Whether backward-weights runs as patches and bf16 products (col_mm.h). */
static int col_path(const gn_dnn_op *op) {
    return op->s.kind != GN_DNN_DENSE && pass_bf16(op, 2) && gn_col_mm_wanted(op->s.sh, op->s.sw);
}
static size_t x_count(const gn_dnn_op *op) {
    return (size_t)op->s.n * op->s.ih * op->s.iw * op->s.ic;
}
static size_t y_count(const gn_dnn_op *op) {
    return (size_t)op->s.n * op->s.oh * op->s.ow * op->s.oc;
}

/* dst = bf16(src), n elements, split across the threads in fixed chunks. */
static void to_bf16(uint16_t *dst, const float *src, size_t n) {
    const gn_kernels *k = gn_kern();
    long chunks = (long)((n + CONVERT_CHUNK - 1) / CONVERT_CHUNK);
#pragma omp parallel for schedule(static)
    for (long c = 0; c < chunks; c++) {
        size_t at = (size_t)c * CONVERT_CHUNK;
        k->f32_to_bf16(dst + at, src + at, n - at < CONVERT_CHUNK ? n - at : CONVERT_CHUNK);
    }
}

/* A plain memory descriptor of the given element type. */
static dnnl_memory_desc_t md_of(int ndims, const dnnl_dim_t *dims, dnnl_data_type_t dt,
                                dnnl_format_tag_t tag) {
    dnnl_dims_t d = {0};
    for (int i = 0; i < ndims; i++) d[i] = dims[i];
    dnnl_memory_desc_t md;
    dnnl_memory_desc_init_by_tag(&md, ndims, d, dt, tag);
    return md;
}

/* Fills the plain memory descriptors for the op's tensors. */
static void plain_mds(gn_dnn_op *op) {
    const gn_dnn_spec *s = &op->s;
    int nd = s->kind == GN_DNN_DENSE ? 2 : 4;
    dnnl_format_tag_t act = nd == 2 ? dnnl_nc : dnnl_nhwc, wt = nd == 2 ? dnnl_oi : dnnl_oihw;
    dnnl_dim_t xd[4] = {s->n, s->ic, s->ih, s->iw}, yd[4] = {s->n, s->oc, s->oh, s->ow};
    dnnl_dim_t wd[4] = {s->oc, s->ic, s->kh, s->kw};
    if (nd == 2) {
        xd[1] = wd[1] = (dnnl_dim_t)s->ih * s->iw * s->ic;
        yd[1] = s->oc;
    }
    op->x_md = md_of(nd, xd, dnnl_f32, act);
    op->y_md = md_of(nd, yd, dnnl_f32, act);
    op->w_md = md_of(nd, wd, dnnl_f32, wt);
    op->xh_md = md_of(nd, xd, dnnl_bf16, act);
    op->yh_md = md_of(nd, yd, dnnl_bf16, act);
    dnnl_dim_t bd[1] = {s->oc};
    op->b_md = gn_dnn_md(1, bd, dnnl_x);
}

/* The weights descriptor for the primitive to choose the layout of. Dense
 * layers keep the plain f32 layout: measured here, their brgemm kernels run
 * as fast on it, and no reordered copies of the largest weights exist. */
static dnnl_memory_desc_t any_weights(const gn_dnn_op *op, int bf16) {
    if (op->s.kind == GN_DNN_DENSE && !bf16) return op->w_md;
    return md_of(op->w_md.ndims, op->w_md.dims, bf16 ? dnnl_bf16 : dnnl_f32, dnnl_format_tag_any);
}

/* The bias descriptor, or NULL for a layer without one. */
static const dnnl_memory_desc_t *bias_md(const gn_dnn_op *op) { return op->s.no_bias ? NULL : &op->b_md; }

/* Whether a forward in this precision writes y in bf16 itself: where y is
 * stored so, the forward runs in bf16 and no layer after rounds it. */
static int writes_bf16(const gn_dnn_op *op, int bf16) { return op->s.y_bf16 && !op->s.y_keep_f32 && bf16; }

/* The forward op descriptor in fp32 or bf16 (inputs; the output is f32, or
 * bf16 where writes_bf16). */
static dnnl_status_t fwd_desc(gn_dnn_op *op, int bf16, op_desc *d) {
    const gn_dnn_spec *s = &op->s;
    dnnl_memory_desc_t w = any_weights(op, bf16);
    const dnnl_memory_desc_t *x = bf16 ? &op->xh_md : &op->x_md;
    const dnnl_memory_desc_t *y = writes_bf16(op, bf16) ? &op->yh_md : &op->y_md;
    dnnl_dims_t strides = {s->sh, s->sw}, pl = {s->pad_t, s->pad_l}, pr = {s->pad_b, s->pad_r};
    switch (s->kind) {
    case GN_DNN_DENSE:
        return dnnl_inner_product_forward_desc_init(&d->ip, dnnl_forward_training, x, &w, &op->b_md, y);
    case GN_DNN_CONV:
        return dnnl_convolution_forward_desc_init(&d->conv, dnnl_forward_training, dnnl_convolution_direct,
                                                  x, &w, bias_md(op), y, strides, pl, pr);
    default:
        return dnnl_deconvolution_forward_desc_init(&d->deconv, dnnl_forward_training,
                                                    dnnl_deconvolution_direct, x, &w, NULL, y,
                                                    strides, pl, pr);
    }
}

/* The forward pd that hints backward pass `which`: one of its own precision. */
static gn_status hint_for(gn_dnn_op *op, int which, const_dnnl_primitive_desc_t *hint) {
    *hint = op->pd[0];
    if (pass_bf16(op, which) == pass_bf16(op, 0)) return GN_OK;
    if (!op->other_fwd) {
        op_desc d;
        gn_status s = gn_dnn_check(fwd_desc(op, pass_bf16(op, which), &d), "forward descriptor");
        if (!s) s = gn_dnn_check(dnnl_primitive_desc_create(&op->other_fwd, &d, NULL, gn_dnn_engine(), NULL),
                                 "forward hint");
        if (s) return s;
    }
    *hint = op->other_fwd;
    return GN_OK;
}

static size_t xh_bytes(const gn_dnn_op *op) { return gn_align64(x_count(op) * sizeof(uint16_t)); }

/* The patches and products of a strided convolution's bf16 backward-weights:
 * patches of x and products with dy; for a transposed convolution, the
 * convolution it transposes: patches of dy and products with x. Shapes and
 * chunks only: the products are built on first use. */
static void plan_col_path(gn_dnn_op *op) {
    const gn_dnn_spec *p = &op->s;
    if (p->kind == GN_DNN_DECONV)
        op->cm = (gn_col_mm){.n = p->n, .ih = p->oh, .iw = p->ow, .ic = p->oc, .oh = p->ih, .ow = p->iw,
                             .oc = p->ic, .kh = p->kh, .kw = p->kw, .sh = p->sh, .sw = p->sw,
                             .pad_t = p->pad_t, .pad_l = p->pad_l, .transposed = 1};
    else
        op->cm = (gn_col_mm){.n = p->n, .ih = p->ih, .iw = p->iw, .ic = p->ic, .oh = p->oh, .ow = p->ow,
                             .oc = p->oc, .kh = p->kh, .kw = p->kw, .sh = p->sh, .sw = p->sw,
                             .pad_t = p->pad_t, .pad_l = p->pad_l, .x_bf16 = p->x_bf16};
    gn_col_mm_plan(&op->cm);
}

/* Puts `bytes` in the first of the spaces `order` names (IN_Y, IN_MID,
 * IN_DX; 0 ends the list) with room left after what is there (used), else
 * in a slot (IN_SLOT). */
static gn_place put(size_t bytes, const int *order, const size_t room[SPACES], size_t used[SPACES]) {
    for (; *order; order++) {
        int k = *order - 1;
        if (used[k] <= room[k] && bytes <= room[k] - used[k]) {
            gn_place p = {*order, used[k]};
            used[k] += gn_align64(bytes);
            return p;
        }
    }
    return (gn_place){IN_SLOT, 0};
}

/* The memory objects of the bf16 copies of x and dy, for the passes that
 * read them (x: a bf16 forward, and a bf16 backward-weights but for a
 * convolution's patches, which read f32 x), and where they live. x's
 * forward copy: in scratch->fwd when it fits fwd_room, else in the X slot.
 * The backward passes' patches and copy of x (a transposed convolution's
 * sums after it), which only backward-weights reads, in dx (spec.dx_room),
 * which backward-data writes after, else in y (spec.spare_y), else in the
 * free middle of the gradient workspace (spec.bwd_room); the copy of dy,
 * which both read, in y, else the middle; else in the COLS, X and DY slots.
 * A strided convolution's products sum into dw itself (col_mm.h). The COLS
 * slot is reserved on first use (build_col_path): D at the batch of the G
 * step never makes patches. */
static gn_status make_staging(gn_dnn_op *op) {
    unsigned b = op->s.bf16;
    int col = col_path(op), deconv_col = col && op->s.kind == GN_DNN_DECONV;
    int need_dyh = b & GN_DNN_BF16_BWD_DATA || (b & GN_DNN_BF16_BWD_WEIGHTS && !deconv_col);
    int x_fwd = (b & GN_DNN_BF16_FWD) != 0, x_bwd = b & GN_DNN_BF16_BWD_WEIGHTS && (!col || deconv_col);
    int copy_x = !op->s.x_bf16; /* x stored in bf16 is read as it is */
    size_t ysize = op->s.y_bf16 ? sizeof(uint16_t) : sizeof(float);
    size_t room[SPACES] = {op->s.spare_y ? y_count(op) * ysize : 0, op->s.bwd_room, op->s.dx_room};
    size_t used[SPACES] = {0, 0, 0}, dyb = y_count(op) * sizeof(uint16_t);
    static const int weights_only[] = {IN_DX, IN_Y, IN_MID, 0}, both[] = {IN_Y, IN_MID, 0};
    if (col) {
        plan_col_path(op);
        op->cols_at = put(gn_col_mm_bytes(&op->cm, 0), weights_only, room, used);
    }
    size_t xb = xh_bytes(op) + (deconv_col ? gn_col_mm_bytes(&op->cm, 1) : 0);
    if (x_bwd && copy_x) op->xb_at = put(xb, weights_only, room, used);
    if (need_dyh) op->dyh_at = put(dyb, both, room, used);
    memcpy(op->need, used, sizeof used);
    gn_status s = GN_OK;
    if (x_fwd && copy_x && xh_bytes(op) > op->s.fwd_room) scratch_reserve(op->sc, GN_DNN_SLOT_X, xh_bytes(op));
    if (op->s.y_bf16 && !writes_bf16(op, x_fwd) && y_count(op) * sizeof(float) > op->s.fwd_room)
        scratch_reserve(op->sc, GN_DNN_SLOT_X, y_count(op) * sizeof(float));
    if (x_bwd && copy_x && op->xb_at.where == IN_SLOT) scratch_reserve(op->sc, GN_DNN_SLOT_X, xb);
    if (need_dyh && op->dyh_at.where == IN_SLOT) scratch_reserve(op->sc, GN_DNN_SLOT_DY, dyb);
    if (x_fwd || x_bwd) s = make_mem(&op->xh, &op->xh_md, "bf16 x");
    if (!s && need_dyh) s = make_mem(&op->dyh, &op->yh_md, "bf16 dy");
    return s;
}

/* scratch->fwd when `bytes` fit there (and in fwd_room, as make_staging
 * planned), else NULL: the X slot then. */
static void *fwd_buffer(const gn_dnn_op *op, size_t bytes) {
    return op->sc->fwd && bytes <= op->sc->fwd_bytes && bytes <= op->s.fwd_room ? op->sc->fwd : NULL;
}

/* Where place p is for this backward pass, or NULL for a slot. */
static unsigned char *at(const gn_dnn_op *op, gn_place p) {
    return p.where == IN_SLOT ? NULL : op->space[p.where - 1] + p.off;
}

/* The scatter paths of this op: a transposed convolution's forward to few
 * channels, or a convolution's backward-data from few, both in fp32. */
static gn_status scatter_setup(gn_dnn_op *op) {
    const gn_dnn_spec *p = &op->s;
    gn_status s = GN_OK;
    if (p->kind == GN_DNN_DECONV && !pass_bf16(op, 0) && gn_scatter_mm_wanted(p->ic, p->oc)) {
        op->sm[0] = (gn_scatter_mm){.n = p->n, .ih = p->ih, .iw = p->iw, .ic = p->ic, .oh = p->oh,
                                    .ow = p->ow, .oc = p->oc, .kh = p->kh, .kw = p->kw, .sh = p->sh,
                                    .sw = p->sw, .pad_t = p->pad_t, .pad_l = p->pad_l};
        s = gn_scatter_mm_init(&op->sm[0]);
        op->sm_on[0] = !s;
    }
    if (!s && p->kind == GN_DNN_CONV && !pass_bf16(op, 1) && gn_scatter_mm_wanted(p->oc, p->ic)) {
        op->sm[1] = (gn_scatter_mm){.n = p->n, .ih = p->oh, .iw = p->ow, .ic = p->oc, .oh = p->ih,
                                    .ow = p->iw, .oc = p->ic, .kh = p->kh, .kw = p->kw, .sh = p->sh,
                                    .sw = p->sw, .pad_t = p->pad_t, .pad_l = p->pad_l};
        s = gn_scatter_mm_init(&op->sm[1]);
        op->sm_on[1] = !s;
    }
    return s;
}

/* Runs scatter path `which` (0 forward, 1 backward-data) on in -> out. */
static gn_status scatter_run(gn_dnn_op *op, int which, const float *in, const float *w, float *out,
                             uint64_t wver, int relu) {
    if (op->sm_ver[which] != wver + 1) {
        gn_scatter_mm_weights(&op->sm[which], w, which);
        op->sm_ver[which] = wver + 1;
    }
    return gn_scatter_mm_run(&op->sm[which], in, out, relu);
}

gn_status gn_dnn_op_create(gn_dnn_op **out, const gn_dnn_spec *spec, gn_dnn_cache *cache) {
    gn_status s = gn_dnn_init();
    if (s) return s;
    const unsigned reads_x = GN_DNN_BF16_FWD | GN_DNN_BF16_BWD_WEIGHTS;
    if ((spec->x_bf16 || spec->y_bf16) && (spec->kind == GN_DNN_DECONV || spec->scratch == NULL ||
                                           (spec->x_bf16 && (spec->bf16 & reads_x) != reads_x)))
        return gn_fail(GN_ERR_ARG, "bf16 storage needs a convolution or dense layer that reads it in bf16");
    gn_dnn_op *op = calloc(1, sizeof *op);
    if (!op) return gn_fail(GN_ERR_NOMEM, "out of memory creating a oneDNN layer");
    op->s = *spec;
    op->sc = spec->scratch ? spec->scratch : &op->own_sc;
    op->cache = cache;
    plain_mds(op);
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
    op_desc fd;
    dnnl_status_t st = fwd_desc(op, pass_bf16(op, 0), &fd);
    s = gn_dnn_check(st, "forward descriptor");
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    if (!s && spec->post_relu && !op->ones) {
        s = gn_dnn_check(dnnl_post_ops_create(&po), "post-ops");
        if (!s) s = gn_dnn_check(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f), "post-ops");
        if (!s) s = gn_dnn_check(dnnl_primitive_attr_create(&attr), "attributes");
        if (!s) s = gn_dnn_check(dnnl_primitive_attr_set_post_ops(attr, po), "attributes");
    }
    if (!s) s = gn_dnn_build(&fd, attr, NULL, &op->pd[0], &op->prim[0], "forward primitive");
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (po) dnnl_post_ops_destroy(po);
    if (!s)
        s = gn_dnn_view_init(&op->w_fwd, &op->w_md,
                             dnnl_primitive_desc_query_md(op->pd[0], dnnl_query_weights_md, 0), 0,
                             op->cache, "forward weights");
    if (!s) s = make_mem(&op->x, &op->x_md, "x");
    if (!s) s = make_mem(&op->y, writes_bf16(op, pass_bf16(op, 0)) ? &op->yh_md : &op->y_md, "y");
    if (!s) s = make_mem(&op->b, &op->b_md, "bias");
    if (!s) s = make_staging(op);
    if (!s) s = scatter_setup(op);
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
    if (op->other_fwd) dnnl_primitive_desc_destroy(op->other_fwd);
    gn_dnn_view_free(&op->w_fwd);
    gn_dnn_view_free(&op->w_bwd);
    gn_dnn_view_free(&op->dw);
    gn_free(op->ones);
    for (int i = 0; i < 2; i++) gn_scatter_mm_free(&op->sm[i]);
    gn_col_mm_free(&op->cm);
    for (int k = 0; k < GN_DNN_SLOTS; k++)
        if (op->sc->owner[k] == op) op->sc->owner[k] = NULL;
    gn_dnn_scratch_free(&op->own_sc);
    dnnl_memory_t mems[8] = {op->x, op->y, op->b, op->dx, op->dy, op->db, op->xh, op->dyh};
    for (int i = 0; i < 8; i++)
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

/* x's bf16 copy. A forward's goes to scratch->fwd where it fits (nothing
 * there outlives the forward pass), else to the X slot; in the X slot, the
 * copy this op wrote last from this x is used again when no other op has
 * used the slot since (the backward-weights right after its forward; a
 * transient batch norm's output, which x may be, is remade bit for bit
 * before that backward), else made now. A forward always makes it: it
 * clears xh_of first. NULL when out of memory. */
static uint16_t *x_in(gn_dnn_op *op, const float *x, int fwd) {
    if (op->s.x_bf16) { /* stored in bf16: read as it is */
        dnnl_memory_set_data_handle(op->xh, (void *)x);
        return (uint16_t *)x;
    }
    uint16_t *f = fwd ? fwd_buffer(op, xh_bytes(op)) : NULL;
    if (f) {
        to_bf16(f, x, x_count(op));
        dnnl_memory_set_data_handle(op->xh, f);
        return f;
    }
    if (!fwd && op->xb_at.where != IN_SLOT) {
        uint16_t *xb = (uint16_t *)at(op, op->xb_at);
        to_bf16(xb, x, x_count(op));
        dnnl_memory_set_data_handle(op->xh, xb);
        return xb;
    }
    scratch_reserve(op->sc, GN_DNN_SLOT_X, xh_bytes(op)); /* reserved at creation; kept safe here */
    uint16_t *xh = scratch_get(op->sc, GN_DNN_SLOT_X);
    if (!xh) return NULL;
    if (op->sc->owner[GN_DNN_SLOT_X] != op || op->xh_of != x) {
        to_bf16(xh, x, x_count(op));
        op->sc->owner[GN_DNN_SLOT_X] = op;
        op->xh_of = x;
    }
    dnnl_memory_set_data_handle(op->xh, xh);
    return xh;
}

gn_status gn_dnn_op_forward(gn_dnn_op *op, const float *x, const float *w, const float *b,
                            float *y, uint64_t wver) {
    op->dyh_of = NULL; /* a new forward: the last backward's gradients are gone */
    op->xh_of = NULL;
    memset(op->space, 0, sizeof op->space);
    if (op->sm_on[0]) return scatter_run(op, 0, x, w, y, wver, op->s.post_relu && !op->ones);
    dnnl_memory_t wm = weights_in(&op->w_fwd, w, wver), xm = op->x;
    if (pass_bf16(op, 0)) {
        if (!x_in(op, x, 1)) return scratch_nomem();
        xm = op->xh;
    }
    /* y stored in bf16 but not written so: the f32 output where nothing else
     * is during a forward (as x's copies), rounded into y after, here or by
     * the layer after (y_keep_f32) */
    float *yf = y;
    if (op->s.y_bf16 && !writes_bf16(op, pass_bf16(op, 0))) {
        yf = fwd_buffer(op, y_count(op) * sizeof(float));
        if (!yf) {
            yf = scratch_get(op->sc, GN_DNN_SLOT_X);
            op->sc->owner[GN_DNN_SLOT_X] = NULL; /* over whatever copy of x was there */
        }
        if (!yf) return scratch_nomem();
    }
    dnnl_memory_set_data_handle(op->x, (void *)x);
    dnnl_memory_set_data_handle(op->y, yf);
    dnnl_memory_set_data_handle(op->b, (void *)b);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm},
                               {DNNL_ARG_DST, op->y}, {DNNL_ARG_BIAS, op->b}};
    gn_status s = gn_dnn_exec(op->prim[0], op->ones || op->s.no_bias ? 3 : 4, args, "forward");
    op->y_f32 = yf != y ? yf : NULL;
    if (!s && yf != y && !op->s.y_keep_f32) to_bf16((uint16_t *)y, yf, y_count(op));
    return s;
}

const float *gn_dnn_op_output_f32(const gn_dnn_op *op) { return op->y_f32; }

const float *gn_dnn_op_unit_scale(const gn_dnn_op *op) { return op->ones; }
const gn_dnn_spec *gn_dnn_op_spec(const gn_dnn_op *op) { return &op->s; }

/* Builds the backward-data primitive on first use. */
static gn_status build_bwd_data(gn_dnn_op *op) {
    op_desc d;
    int h = pass_bf16(op, 1);
    dnnl_memory_desc_t w_any = any_weights(op, h);
    const dnnl_memory_desc_t *dy = h ? &op->yh_md : &op->y_md;
    dnnl_dims_t strides = {op->s.sh, op->s.sw}, pl = {op->s.pad_t, op->s.pad_l},
                pr = {op->s.pad_b, op->s.pad_r};
    dnnl_status_t st;
    if (op->s.kind == GN_DNN_DENSE)
        st = dnnl_inner_product_backward_data_desc_init(&d.ip, &op->x_md, &w_any, dy);
    else if (op->s.kind == GN_DNN_CONV)
        st = dnnl_convolution_backward_data_desc_init(&d.conv, dnnl_convolution_direct, &op->x_md,
                                                      &w_any, dy, strides, pl, pr);
    else
        st = dnnl_deconvolution_backward_data_desc_init(&d.deconv, dnnl_deconvolution_direct,
                                                        &op->x_md, &w_any, dy, strides, pl, pr);
    const_dnnl_primitive_desc_t hint;
    gn_status s = gn_dnn_check(st, "backward-data descriptor");
    if (!s) s = hint_for(op, 1, &hint);
    if (!s) s = gn_dnn_build(&d, NULL, hint, &op->pd[1], &op->prim[1], "backward-data primitive");
    if (!s)
        s = gn_dnn_view_init(&op->w_bwd, &op->w_md,
                             dnnl_primitive_desc_query_md(op->pd[1], dnnl_query_weights_md, 0), 0,
                             op->cache, "backward-data weights");
    if (!s) s = make_mem(&op->dx, &op->x_md, "dx");
    if (!s && !op->dy) s = make_mem(&op->dy, &op->y_md, "dy");
    return s;
}

/* dy as a backward pass reads it: f32 as given, or its bf16 copy, converted
 * once for the pair of backward passes that follow one forward (unless
 * another op wrote the shared copy in between). NULL when out of memory. */
static dnnl_memory_t dy_in(gn_dnn_op *op, const float *dy, int bf16) {
    dnnl_memory_set_data_handle(op->dy, (void *)dy);
    if (!bf16) return op->dy;
    int own = op->dyh_at.where != IN_SLOT;
    op->dyh_buf = own ? (uint16_t *)at(op, op->dyh_at) : scratch_get(op->sc, GN_DNN_SLOT_DY);
    if (!op->dyh_buf) return NULL;
    dnnl_memory_set_data_handle(op->dyh, op->dyh_buf);
    if (op->dyh_of == dy && (own || op->sc->owner[GN_DNN_SLOT_DY] == op)) {
        op->dyh_of = NULL; /* the second of the pair: the copy is used up */
        return op->dyh;
    }
    to_bf16(op->dyh_buf, dy, y_count(op));
    op->dyh_of = dy;
    if (!own) op->sc->owner[GN_DNN_SLOT_DY] = op;
    return op->dyh;
}

void gn_dnn_op_spare(gn_dnn_op *op, float *y, void *mid, size_t mid_bytes, float *dx) {
    op->space[IN_Y - 1] = op->s.spare_y ? (unsigned char *)y : NULL;
    op->space[IN_MID - 1] = op->s.bwd_room ? mid : NULL;
    op->mid_bytes = op->s.bwd_room ? mid_bytes : 0;
    op->space[IN_DX - 1] = op->s.dx_room ? (unsigned char *)dx : NULL;
}

/* A backward pass of an op that keeps its copies in y, the middle or dx,
 * called without them (or with a middle smaller than planned). */
static int spare_missing(const gn_dnn_op *op) {
    for (int k = 0; k < SPACES; k++)
        if (op->need[k] && !op->space[k]) return 1;
    return op->mid_bytes < op->need[IN_MID - 1];
}

gn_status gn_dnn_op_backward_data(gn_dnn_op *op, const float *dy, const float *w, float *dx,
                                  uint64_t wver) {
    if (op->sm_on[1]) return scatter_run(op, 1, dy, w, dx, wver, 0);
    if (spare_missing(op)) return gn_fail(GN_ERR_ARG, "a backward pass without the buffers it planned to use");
    if (!op->prim[1]) {
        gn_status s = build_bwd_data(op);
        if (s) return s;
    }
    dnnl_memory_t wm = weights_in(&op->w_bwd, w, wver);
    dnnl_memory_t dym = dy_in(op, dy, pass_bf16(op, 1));
    if (!dym) return scratch_nomem();
    dnnl_memory_set_data_handle(op->dx, dx);
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_WEIGHTS, wm},
                               {DNNL_ARG_DIFF_SRC, op->dx}};
    return gn_dnn_exec(op->prim[1], 3, args, "backward-data");
}

/* The products of the planned patch path (plan_col_path), and the slot of
 * its patches when they have no other place. */
static gn_status build_col_path(gn_dnn_op *op) {
    gn_status s = gn_col_mm_init(&op->cm);
    op->cm_on = !s;
    if (op->cols_at.where == IN_SLOT) scratch_reserve(op->sc, GN_DNN_SLOT_COLS, gn_col_mm_bytes(&op->cm, 0));
    if (!s && !op->dy) s = make_mem(&op->dy, &op->y_md, "dy");
    return s;
}

/* Builds the backward-weights primitive on first use: f32 weight gradients
 * whatever the precision of x and dy. */
static gn_status build_bwd_weights(gn_dnn_op *op) {
    if (col_path(op)) return build_col_path(op);
    op_desc d;
    int h = pass_bf16(op, 2);
    dnnl_memory_desc_t dw_any = any_weights(op, 0);
    const dnnl_memory_desc_t *x = h ? &op->xh_md : &op->x_md, *dy = h ? &op->yh_md : &op->y_md;
    dnnl_dims_t strides = {op->s.sh, op->s.sw}, pl = {op->s.pad_t, op->s.pad_l},
                pr = {op->s.pad_b, op->s.pad_r};
    dnnl_status_t st;
    if (op->s.kind == GN_DNN_DENSE)
        st = dnnl_inner_product_backward_weights_desc_init(&d.ip, x, &dw_any, &op->b_md, dy);
    else if (op->s.kind == GN_DNN_CONV)
        st = dnnl_convolution_backward_weights_desc_init(&d.conv, dnnl_convolution_direct, x, &dw_any,
                                                         bias_md(op), dy, strides, pl, pr);
    else
        st = dnnl_deconvolution_backward_weights_desc_init(&d.deconv, dnnl_deconvolution_direct, x,
                                                           &dw_any, bias_md(op), dy, strides, pl, pr);
    const_dnnl_primitive_desc_t hint;
    gn_status s = gn_dnn_check(st, "backward-weights descriptor");
    if (!s) s = hint_for(op, 2, &hint);
    if (!s) s = gn_dnn_build(&d, NULL, hint, &op->pd[2], &op->prim[2], "backward-weights primitive");
    if (!s)
        s = gn_dnn_view_init(&op->dw, &op->w_md,
                             dnnl_primitive_desc_query_md(op->pd[2], dnnl_query_diff_weights_md, 0), 1,
                             op->cache, "weight gradients");
    if (!s && !op->dy) s = make_mem(&op->dy, &op->y_md, "dy");
    if (!s) s = make_mem(&op->db, &op->b_md, "bias gradient");
    return s;
}

/* Backward-weights as patches and bf16 products (col_mm.h); the bias
 * gradient summed from f32 dy. */
static gn_status col_backward_weights(gn_dnn_op *op, const float *x, const float *dy, float *dw,
                                      float *db) {
    gn_status s;
    op->cm.cols = op->cols_at.where != IN_SLOT ? (uint16_t *)at(op, op->cols_at)
                                                : scratch_get(op->sc, GN_DNN_SLOT_COLS);
    if (!op->cm.cols) return scratch_nomem();
    if (op->s.kind == GN_DNN_DECONV) { /* the sums after the copy of x */
        const uint16_t *xh = x_in(op, x, 0);
        if (!xh) return scratch_nomem();
        op->cm.dwt = (float *)((unsigned char *)xh + xh_bytes(op));
        s = gn_col_mm_run(&op->cm, dy, xh, dw);
    } else { /* the sums in dw itself */
        op->cm.dwt = NULL;
        if (!dy_in(op, dy, 1)) return scratch_nomem();
        s = gn_col_mm_run(&op->cm, x, op->dyh_buf, dw);
    }
    if (!s && !op->s.no_bias) gn_col_mm_bias(dy, y_count(op) / (size_t)op->s.oc, op->s.oc, db);
    return s;
}

gn_status gn_dnn_op_backward_weights(gn_dnn_op *op, const float *x, const float *dy, float *dw,
                                     float *db) {
    if (spare_missing(op)) return gn_fail(GN_ERR_ARG, "a backward pass without the buffers it planned to use");
    if (!op->prim[2] && !op->cm_on) {
        gn_status s = build_bwd_weights(op);
        if (s) return s;
    }
    if (op->cm_on) return col_backward_weights(op, x, dy, dw, db);
    dnnl_memory_t xm = op->x;
    dnnl_memory_set_data_handle(op->x, (void *)x);
    if (pass_bf16(op, 2)) {
        if (!x_in(op, x, 0)) return scratch_nomem();
        xm = op->xh;
    }
    dnnl_memory_t dym = dy_in(op, dy, pass_bf16(op, 2));
    if (!dym) return scratch_nomem();
    dnnl_memory_set_data_handle(op->db, db);
    dnnl_memory_t dwm = gn_dnn_view_out(&op->dw, dw);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_DST, dym},
                               {DNNL_ARG_DIFF_WEIGHTS, dwm}, {DNNL_ARG_DIFF_BIAS, op->db}};
    gn_status s = gn_dnn_exec(op->prim[2], op->s.no_bias ? 3 : 4, args, "backward-weights");
    if (!s) gn_dnn_view_finish(&op->dw);
    return s;
}

const char *gn_dnn_op_impl(const gn_dnn_op *op, int which) {
    if (which >= 0 && which < 2 && op->sm_on[which]) return "sgemm+scatter";
    if (which == 2 && op->cm_on) return "im2col+matmul";
    if (which < 0 || which > 2 || !op->pd[which]) return "";
    return gn_dnn_impl(op->pd[which]);
}

int gn_dnn_op_pass_bf16(const gn_dnn_op *op, int which) {
    return which >= 0 && which <= 2 && pass_bf16(op, which);
}

/* Which passes run in bf16 under --precision bf16, a fixed rule from
 * `gannet bench layers --precision bf16` on AVX512_BF16 (oneDNN 2.6.3;
 * docs/precision.md has the figures), not a start-up probe, so that a run
 * computes the same numbers however busy the machine is when it starts:
 * - a layer with fewer than GN_BF16_MIN_CHANNELS input or output channels
 *   stays fp32: bf16 dot products pair input channels, and such layers
 *   (G's 1x1 convolution to 1 channel, D's first convolution from 1, its
 *   dense layer to 2 logits) are too small to pay for converting their inputs;
 * - backward-weights: oneDNN's own in bf16 only in stride-1 convolutions (it
 *   ran 2x (D's 5x5/2 256->512), 10x (G's 4x4/2 transposed convolution) and
 *   2-3x (dense) slower than fp32 here); a strided convolution's or
 *   transposed convolution's as bf16 patches and products (col_mm.h), 0.6-0.8x
 *   fp32's time, where its weights hold at least GN_BF16_MIN_COL_WEIGHTS
 *   (dcgan's D 4x4/2 64->128, 131k weights, took 1.2-1.7x fp32's time:
 *   its products are too small to pay for copying the patches); dense
 *   layers' stays fp32. */
#define GN_BF16_MIN_CHANNELS 16
#define GN_BF16_MIN_COL_WEIGHTS (1L << 18)

unsigned gn_dnn_bf16_passes(const gn_dnn_spec *spec) {
    if (spec->ic < GN_BF16_MIN_CHANNELS || spec->oc < GN_BF16_MIN_CHANNELS) return 0;
    unsigned passes = GN_DNN_BF16_FWD | GN_DNN_BF16_BWD_DATA;
    long weights = (long)spec->ic * spec->oc * spec->kh * spec->kw;
    int strided = gn_col_mm_wanted(spec->sh, spec->sw);
    if (spec->kind == GN_DNN_CONV && !strided) passes |= GN_DNN_BF16_BWD_WEIGHTS;
    if (spec->kind != GN_DNN_DENSE && strided && weights >= GN_BF16_MIN_COL_WEIGHTS)
        passes |= GN_DNN_BF16_BWD_WEIGHTS;
    return passes;
}
