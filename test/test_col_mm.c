/* A strided convolution's bf16 backward-weights as patches and bf16 matrix
 * products (src/dnnl/col_mm.c) against the direct convolution: a double
 * reference over the same bf16-rounded x and dy (only the f32 summation
 * order differs: within 1e-5 of the gradient's scale), and oneDNN's own fp32
 * backward-weights on the unrounded inputs (bf16 rounds each input by at most
 * 2^-9 relative: within 1e-2 of the scale). The bias gradient is summed
 * from f32 dy in both: within 1e-5. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnnl/col_mm.h"
#include "dnnl/dnn_op.h"
#include "gannet/tensor.h"
#include "kernels.h"
#include "util.h"

#define SUM_TOL 1e-5  /* same rounded inputs, f32 sums in another order */
#define BF16_TOL 1e-2 /* bf16 inputs against fp32 ones */

typedef struct shape {
    int n, ih, iw, ic, oc, k, s, same, deconv;
} shape;

/* The spec of a convolution as gn_conv_out_size pads it ('same': extra pixel at the end). */
static gn_dnn_spec spec_of(shape c) {
    gn_dnn_spec p = {.kind = GN_DNN_CONV, .n = c.n, .ih = c.ih, .iw = c.iw, .ic = c.ic, .oc = c.oc,
                     .kh = c.k, .kw = c.k, .sh = c.s, .sw = c.s};
    if (c.deconv) { /* the convolution it transposes maps the output back to the input */
        gn_dnn_spec t = spec_of((shape){c.n, c.ih * c.s, c.iw * c.s, c.oc, c.ic, c.k, c.s, c.same, 0});
        if (!c.same) t = spec_of((shape){c.n, (c.ih - 1) * c.s + c.k, (c.iw - 1) * c.s + c.k, c.oc,
                                         c.ic, c.k, c.s, 0, 0});
        p = t;
        p.kind = GN_DNN_DECONV;
        p.ih = t.oh, p.iw = t.ow, p.ic = t.oc, p.oh = t.ih, p.ow = t.iw, p.oc = t.ic;
        return p;
    }
    if (c.same) {
        p.oh = (c.ih + c.s - 1) / c.s;
        p.ow = (c.iw + c.s - 1) / c.s;
        int th = (p.oh - 1) * c.s + c.k - c.ih, tw = (p.ow - 1) * c.s + c.k - c.iw;
        p.pad_t = th / 2, p.pad_b = th - th / 2, p.pad_l = tw / 2, p.pad_r = tw - tw / 2;
    } else {
        p.oh = (c.ih - c.k) / c.s + 1;
        p.ow = (c.iw - c.k) / c.s + 1;
    }
    return p;
}

/* Elements of x, y (dy) and the weights of a spec. */
static size_t count_x(const gn_dnn_spec *p) { return (size_t)p->n * p->ih * p->iw * p->ic; }
static size_t count_y(const gn_dnn_spec *p) { return (size_t)p->n * p->oh * p->ow * p->oc; }
static size_t count_w(const gn_dnn_spec *p) { return (size_t)p->oc * p->ic * p->kh * p->kw; }

static float *bf16_round(const float *x, size_t n) {
    uint16_t *h = malloc(n * sizeof *h);
    float *r = malloc(n * sizeof *r);
    gn_kern()->f32_to_bf16(h, x, n);
    gn_kern()->bf16_to_f32(r, h, n);
    free(h);
    return r;
}

/* dw (OC, IC, KH, KW) of the direct convolution, summed in double; a
 * transposed convolution as the convolution it transposes (x and dy swap
 * roles, and so do OC and IC, which its weights keep in the same order). */
static void reference(const gn_dnn_spec *q, const float *x, const float *dy, float *dw) {
    gn_dnn_spec t = *q;
    const gn_dnn_spec *p = &t;
    if (q->kind == GN_DNN_DECONV) {
        const float *sw = x;
        x = dy, dy = sw;
        t.ih = q->oh, t.iw = q->ow, t.ic = q->oc, t.oh = q->ih, t.ow = q->iw, t.oc = q->ic;
    }
    int dc = q->kind == GN_DNN_DECONV;
    for (int o = 0; o < p->oc; o++)
        for (int i = 0; i < p->ic; i++)
            for (int kh = 0; kh < p->kh; kh++)
                for (int kw = 0; kw < p->kw; kw++) {
                    double s = 0;
                    for (int n = 0; n < p->n; n++)
                        for (int oh = 0; oh < p->oh; oh++)
                            for (int ow = 0; ow < p->ow; ow++) {
                                int ih = oh * p->sh - p->pad_t + kh, iw = ow * p->sw - p->pad_l + kw;
                                if (ih < 0 || ih >= p->ih || iw < 0 || iw >= p->iw) continue;
                                s += (double)x[((size_t)(n * p->ih + ih) * p->iw + iw) * p->ic + i] *
                                     dy[((size_t)(n * p->oh + oh) * p->ow + ow) * p->oc + o];
                            }
                    size_t at = dc ? (size_t)i * p->oc + o : (size_t)o * p->ic + i;
                    dw[(at * p->kh + kh) * p->kw + kw] = (float)s;
                }
}

/* max |a - b| / max |b| */
static double scaled_err(const float *a, const float *b, size_t n) {
    double e = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(a[i] - b[i]) > e) e = fabs(a[i] - b[i]);
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return e / (m > 0 ? m : 1);
}

/* One shape through gn_dnn_op: fp32 (oneDNN's direct pass) and bf16 backward-weights. */
static void check_op(shape c) {
    gn_dnn_spec p = spec_of(c);
    size_t xn = count_x(&p), yn = count_y(&p), wn = count_w(&p);
    float *x = malloc(xn * 4), *dy = malloc(yn * 4), *dw[2], *db[2], *ref = malloc(wn * 4);
    tu_fill(x, xn, 11, -1, 1);
    tu_fill(dy, yn, 12, -1, 1);
    for (int h = 0; h < 2; h++) {
        gn_dnn_cache *cache = gn_dnn_cache_new();
        gn_dnn_op *op;
        p.bf16 = h ? GN_DNN_BF16_BWD_WEIGHTS : 0;
        ck_assert_int_eq(gn_dnn_op_create(&op, &p, cache), GN_OK);
        dw[h] = malloc(wn * 4), db[h] = malloc(p.oc * 4);
        ck_assert_int_eq(gn_dnn_op_backward_weights(op, x, dy, dw[h], db[h]), GN_OK);
        if (h) ck_assert_str_eq(gn_dnn_op_impl(op, 2), "im2col+matmul");
        gn_dnn_op_free(op);
        gn_dnn_cache_free(cache);
    }
    float *xr = bf16_round(x, xn), *dyr = bf16_round(dy, yn);
    reference(&p, xr, dyr, ref);
    double e_sum = scaled_err(dw[1], ref, wn), e_bf16 = scaled_err(dw[1], dw[0], wn),
           e_db = scaled_err(db[1], db[0], p.oc);
    printf("%s %dx%d/%d %s %d->%d, batch %d: against rounded inputs %.1e, against oneDNN fp32 %.1e, "
           "bias %.1e\n", c.deconv ? "transposed" : "conv", c.k, c.k, c.s, c.same ? "same" : "valid", c.ic, c.oc, c.n, e_sum, e_bf16, e_db);
    ck_assert_msg(e_sum < SUM_TOL, "bf16 weight gradients differ from the direct sum");
    ck_assert_msg(e_bf16 < BF16_TOL, "bf16 weight gradients differ from oneDNN's fp32");
    ck_assert_msg(e_bf16 > 0, "bf16 weight gradients equal fp32's: bf16 is not in effect");
    ck_assert_msg(e_db < SUM_TOL, "bias gradients differ");
    free(x), free(dy), free(ref), free(xr), free(dyr);
    for (int h = 0; h < 2; h++) free(dw[h]), free(db[h]);
}

START_TEST(against_direct) {
    check_op((shape){3, 14, 14, 32, 48, 5, 2, 1, 0}); /* D's 5x5/2, odd padding (1 before, 2 after) */
    check_op((shape){2, 9, 7, 16, 24, 4, 2, 1, 0});   /* dcgan's 4x4/2, odd sizes */
    check_op((shape){1, 11, 11, 20, 17, 3, 2, 0, 0}); /* valid, batch 1 */
    check_op((shape){2, 10, 10, 16, 16, 3, 3, 1, 0}); /* stride 3 */
    check_op((shape){3, 7, 7, 32, 24, 4, 2, 1, 1});  /* transposed 4x4/2 (G's up-convolution) */
    check_op((shape){2, 5, 6, 16, 20, 3, 2, 0, 1});  /* transposed 3x3/2 valid */
}
END_TEST

/* Products over groups of taps (disjoint columns of dw), and over chunks of
 * samples (summed), give the one product's gradients, and the same again
 * when run again; summed in dw itself (dwt NULL) and transposed there, the
 * same bits. */
static void check_split(size_t max_taps, int want_chunk, int want_taps) {
    gn_dnn_spec p = spec_of((shape){6, 9, 9, 16, 32, 5, 2, 1, 0});
    size_t xn = count_x(&p), yn = count_y(&p), wn = count_w(&p);
    float *x = malloc(xn * 4), *dy = malloc(yn * 4), *dw = malloc(wn * 4), *ref = malloc(wn * 4);
    uint16_t *dyh = malloc(yn * 2);
    tu_fill(x, xn, 21, -1, 1);
    tu_fill(dy, yn, 22, -1, 1);
    gn_kern()->f32_to_bf16(dyh, dy, yn);
    gn_col_mm m = {.n = p.n, .ih = p.ih, .iw = p.iw, .ic = p.ic, .oh = p.oh, .ow = p.ow, .oc = p.oc,
                   .kh = p.kh, .kw = p.kw, .sh = p.sh, .sw = p.sw, .pad_t = p.pad_t, .pad_l = p.pad_l};
    m.max_bytes = max_taps * p.oh * p.ow * p.ic * sizeof(uint16_t); /* sample-taps */
    ck_assert_int_eq(gn_col_mm_init(&m), GN_OK);
    ck_assert_int_eq(m.chunk, want_chunk);
    ck_assert_int_eq(m.taps, want_taps);
    m.cols = malloc(gn_col_mm_bytes(&m, 0));
    m.dwt = malloc(gn_col_mm_bytes(&m, 1));
    float *dw1 = malloc(wn * 4);
    ck_assert_int_eq(gn_col_mm_run(&m, x, dyh, dw1), GN_OK);
    ck_assert_int_eq(gn_col_mm_run(&m, x, dyh, dw), GN_OK); /* again: the sums start afresh */
    ck_assert_msg(!memcmp(dw, dw1, wn * 4), "a second run gives other weight gradients");
    free(m.dwt);
    m.dwt = NULL;
    tu_fill(dw1, wn, 23, -1, 1);
    ck_assert_int_eq(gn_col_mm_run(&m, x, dyh, dw1), GN_OK);
    ck_assert_msg(!memcmp(dw, dw1, wn * 4), "the sums in dw itself give other weight gradients");
    free(m.cols), free(dw1);
    float *xr = bf16_round(x, xn), *dyr = bf16_round(dy, yn);
    reference(&p, xr, dyr, ref);
    double e = scaled_err(dw, ref, wn);
    printf("products of %d samples and %d taps: against rounded inputs %.1e\n", m.chunk, m.taps, e);
    ck_assert_msg(e < SUM_TOL, "split bf16 weight gradients differ from the direct sum");
    gn_col_mm_free(&m);
    free(x), free(dy), free(dw), free(ref), free(dyh), free(xr), free(dyr);
}

START_TEST(splits_sum) {
    check_split(2 * 25, 2, 25); /* 3 chunks of 2 samples, every tap */
    check_split(5, 1, 5);       /* 6 chunks of 1 sample, 5 groups of 5 taps */
}
END_TEST

/* Layers that share bf16 scratch (gn_dnn_scratch): a layer whose copy of dy
 * another layer overwrote between its two backward passes converts dy again,
 * and gets what a layer with its own scratch gets, bit for bit. */
START_TEST(shared_scratch) {
    gn_dnn_spec p = spec_of((shape){2, 10, 10, 16, 32, 4, 2, 1, 0});
    size_t xn = count_x(&p), yn = count_y(&p), wn = count_w(&p);
    float *x = malloc(xn * 4), *dy = malloc(yn * 4), *dy2 = malloc(yn * 4), *w = malloc(wn * 4);
    float *dx[3], *dw = malloc(wn * 4), *db = malloc(p.oc * 4);
    tu_fill(x, xn, 31, -1, 1);
    tu_fill(dy, yn, 32, -1, 1);
    tu_fill(dy2, yn, 33, -1, 1);
    tu_fill(w, wn, 34, -1, 1);
    gn_dnn_scratch sc = {0};
    gn_dnn_op *op[3];
    gn_dnn_cache *cache[3];
    for (int k = 0; k < 3; k++) {
        gn_dnn_spec q = p;
        q.bf16 = GN_DNN_BF16_ALL;
        q.scratch = k < 2 ? &sc : NULL; /* op 2: its own scratch, the reference */
        cache[k] = gn_dnn_cache_new();
        ck_assert_int_eq(gn_dnn_op_create(&op[k], &q, cache[k]), GN_OK);
        dx[k] = malloc(xn * 4);
    }
    ck_assert_int_eq(gn_dnn_op_backward_data(op[2], dy, w, dx[2], 0), GN_OK);
    ck_assert_int_eq(gn_dnn_op_backward_weights(op[0], x, dy, dw, db), GN_OK); /* op 0 converts dy */
    ck_assert_int_eq(gn_dnn_op_backward_data(op[1], dy2, w, dx[1], 0), GN_OK); /* op 1 overwrites it */
    ck_assert_int_eq(gn_dnn_op_backward_data(op[0], dy, w, dx[0], 0), GN_OK);
    ck_assert_msg(!memcmp(dx[0], dx[2], xn * 4), "a layer read another layer's bf16 dy");
    for (int k = 0; k < 3; k++) {
        gn_dnn_op_free(op[k]);
        gn_dnn_cache_free(cache[k]);
        free(dx[k]);
    }
    gn_dnn_scratch_free(&sc);
    free(x), free(dy), free(dy2), free(w), free(dw), free(db);
}
END_TEST

/* Weight gradients of op after its forward on x, fills dw. */
static void forward_then_weights(gn_dnn_op *op, const gn_dnn_spec *p, const float *x, const float *w,
                                 const float *dy, float *dw) {
    float *y = malloc(count_y(p) * 4), *b = calloc(p->oc, 4), *db = malloc(p->oc * 4);
    ck_assert_int_eq(gn_dnn_op_forward(op, x, w, b, y, 0), GN_OK);
    ck_assert_int_eq(gn_dnn_op_backward_weights(op, x, dy, dw, db), GN_OK);
    free(y), free(b), free(db);
}

/* The bf16 copy of x in the shared scratch's X slot (with the strided
 * products' sums after it): a layer's backward-weights uses the copy its
 * forward made only while no other layer has used the slot since, and gets
 * what a layer with its own scratch gets, bit for bit, when another layer's
 * forward (or a convolution's patches and sums) overwrote it in between.
 * Both of its readers: oneDNN's bf16 backward-weights of a stride-1
 * convolution, and a transposed convolution's products with x. */
START_TEST(shared_scratch_x) {
    const shape shapes[2] = {{2, 8, 8, 16, 24, 3, 1, 1, 0}, {2, 5, 5, 32, 16, 4, 2, 1, 1}};
    for (int c = 0; c < 2; c++) {
        gn_dnn_spec p = spec_of(shapes[c]);
        gn_dnn_spec q = spec_of((shape){2, 10, 10, 16, 32, 4, 2, 1, 0}); /* a convolution's patches */
        size_t xn = count_x(&p), yn = count_y(&p), wn = count_w(&p);
        float *x = malloc(xn * 4), *x2 = malloc(xn * 4), *dy = malloc(yn * 4), *w = malloc(wn * 4);
        float *ref = malloc(wn * 4), *dw = malloc(wn * 4), *y = malloc(yn * 4), *b = calloc(p.oc, 4);
        float *qx = malloc(count_x(&q) * 4), *qdy = malloc(count_y(&q) * 4), *qdw = malloc(count_w(&q) * 4);
        float *qdb = malloc(q.oc * 4), *db = malloc(p.oc * 4);
        tu_fill(x, xn, 41, -1, 1);
        tu_fill(x2, xn, 42, -1, 1);
        tu_fill(dy, yn, 43, -1, 1);
        tu_fill(w, wn, 44, -1, 1);
        tu_fill(qx, count_x(&q), 45, -1, 1);
        tu_fill(qdy, count_y(&q), 46, -1, 1);
        gn_dnn_scratch sc = {0};
        gn_dnn_op *op[4];
        gn_dnn_cache *cache[4];
        for (int k = 0; k < 4; k++) {
            gn_dnn_spec r = k == 3 ? q : p;
            r.bf16 = GN_DNN_BF16_ALL;
            r.scratch = k < 2 || k == 3 ? &sc : NULL; /* op 2: its own scratch, the reference */
            cache[k] = gn_dnn_cache_new();
            ck_assert_int_eq(gn_dnn_op_create(&op[k], &r, cache[k]), GN_OK);
        }
        ck_assert_str_eq(gn_dnn_op_impl(op[3], 2), ""); /* built on first use: */
        ck_assert_int_eq(gn_dnn_op_backward_weights(op[3], qx, qdy, qdw, qdb), GN_OK);
        ck_assert_str_eq(gn_dnn_op_impl(op[3], 2), "im2col+matmul");
        forward_then_weights(op[2], &p, x, w, dy, ref);
        forward_then_weights(op[0], &p, x, w, dy, dw); /* the copy used again */
        ck_assert_msg(!memcmp(dw, ref, wn * 4), "shape %d: the copy of x differs when used again", c);
        ck_assert_int_eq(gn_dnn_op_forward(op[0], x, w, b, y, 0), GN_OK);
        ck_assert_int_eq(gn_dnn_op_forward(op[1], x2, w, b, y, 0), GN_OK); /* op 1 overwrites it */
        ck_assert_int_eq(gn_dnn_op_backward_weights(op[0], x, dy, dw, db), GN_OK);
        ck_assert_msg(!memcmp(dw, ref, wn * 4), "shape %d: a layer read another layer's bf16 x", c);
        ck_assert_int_eq(gn_dnn_op_forward(op[0], x, w, b, y, 0), GN_OK);
        ck_assert_int_eq(gn_dnn_op_backward_weights(op[3], qx, qdy, qdw, qdb), GN_OK); /* its sums */
        ck_assert_int_eq(gn_dnn_op_backward_weights(op[0], x, dy, dw, db), GN_OK);
        ck_assert_msg(!memcmp(dw, ref, wn * 4), "shape %d: a layer read the sums as its bf16 x", c);
        if (c == 1) ck_assert_str_eq(gn_dnn_op_impl(op[0], 2), "im2col+matmul");
        for (int k = 0; k < 4; k++) {
            gn_dnn_op_free(op[k]);
            gn_dnn_cache_free(cache[k]);
        }
        gn_dnn_scratch_free(&sc);
        free(x), free(x2), free(dy), free(w), free(ref), free(dw), free(y), free(b);
        free(qx), free(qdy), free(qdw), free(qdb), free(db);
    }
}
END_TEST

/* Where the bf16 copies live when the network has room for them (dnn_op.h):
 * a forward's copy of x in scratch->fwd (the gradient workspace, free
 * during a forward); the patches and copy of x (with a transposed
 * convolution's sums) that only backward-weights reads in dx, which
 * backward-data writes after (spec.dx_room), else in the op's own output
 * buffer, dead by then (spec.spare_y), else in the free middle of the
 * gradient workspace (spec.bwd_room); the copy of dy in y, else the middle.
 * Each op gets what an op with its own scratch gets, bit for bit, the shared
 * slots stay empty, and a backward pass without its buffers (or with a
 * middle smaller than planned) is refused. The shapes: a strided
 * convolution (patches in dx, dy in y; its sums go into dw itself), a
 * transposed convolution with a small dx (dy in y; patches, x and sums in
 * the middle), and a stride-1 convolution (oneDNN's bf16 backward-weights:
 * x in dx, dy in y). */
START_TEST(copies_in_free_buffers) {
    const shape shapes[3] = {{16, 8, 8, 16, 64, 2, 2, 1, 0}, {2, 5, 5, 32, 16, 4, 2, 1, 1},
                             {2, 8, 8, 16, 24, 3, 1, 1, 0}};
    enum { MID = 64 << 10 };
    for (int c = 0; c < 3; c++) {
        gn_dnn_spec p = spec_of(shapes[c]);
        p.bf16 = GN_DNN_BF16_ALL;
        size_t xn = count_x(&p), yn = count_y(&p), wn = count_w(&p), fb = xn * 2 + 4096;
        float *x = malloc(xn * 4), *dy = malloc(yn * 4), *w = malloc(wn * 4), *b = calloc(p.oc, 4);
        float *y[2], *dx[2], *dw[2], *db[2], *fwd = malloc(fb), *y0 = malloc(yn * 4);
        unsigned char *mid = malloc(MID);
        tu_fill(x, xn, 51, -1, 1);
        tu_fill(dy, yn, 52, -1, 1);
        tu_fill(w, wn, 53, -1, 1);
        memset(fwd, 0xff, fb);
        memset(mid, 0xff, MID);
        gn_dnn_scratch sc = {.fwd = fwd, .fwd_bytes = fb};
        gn_dnn_op *op[2];
        gn_dnn_cache *cache[2];
        for (int k = 0; k < 2; k++) { /* op 0: its own scratch, the reference; op 1: the free buffers */
            gn_dnn_spec q = p;
            if (k) q.scratch = &sc, q.fwd_room = fb, q.spare_y = 1, q.bwd_room = MID, q.dx_room = xn * 4;
            cache[k] = gn_dnn_cache_new();
            ck_assert_int_eq(gn_dnn_op_create(&op[k], &q, cache[k]), GN_OK);
            y[k] = malloc(yn * 4), dx[k] = malloc(xn * 4), dw[k] = malloc(wn * 4), db[k] = malloc(p.oc * 4);
            ck_assert_int_eq(gn_dnn_op_forward(op[k], x, w, b, y[k], 0), GN_OK);
        }
        ck_assert_msg(!memcmp(y[0], y[1], yn * 4), "shape %d: the forward differs with x's copy in fwd", c);
        ck_assert_msg(((unsigned char *)fwd)[0] != 0xff || ((unsigned char *)fwd)[1] != 0xff,
                      "shape %d: the forward did not put x's copy in fwd", c);
        memcpy(y0, y[1], yn * 4);
        ck_assert_int_eq(gn_dnn_op_backward_weights(op[1], x, dy, dw[1], db[1]), GN_ERR_ARG); /* none */
        gn_dnn_op_spare(op[1], y[1], mid, 64, dx[1]);
        if (c == 1) ck_assert_int_eq(gn_dnn_op_backward_data(op[1], dy, w, dx[1], 0), GN_ERR_ARG); /* small */
        gn_dnn_op_spare(op[1], y[1], mid, MID, dx[1]);
        for (int k = 0; k < 2; k++) {
            ck_assert_int_eq(gn_dnn_op_backward_weights(op[k], x, dy, dw[k], db[k]), GN_OK);
            ck_assert_int_eq(gn_dnn_op_backward_data(op[k], dy, w, dx[k], 0), GN_OK);
        }
        ck_assert_msg(!memcmp(dw[0], dw[1], wn * 4), "shape %d: weight gradients differ", c);
        ck_assert_msg(!memcmp(db[0], db[1], p.oc * 4), "shape %d: bias gradients differ", c);
        ck_assert_msg(!memcmp(dx[0], dx[1], xn * 4), "shape %d: input gradients differ", c);
        ck_assert_msg(memcmp(y0, y[1], yn * 4), "shape %d: the backward passes left y alone", c);
        ck_assert_msg((mid[0] != 0xff || mid[1] != 0xff) == (c == 1), "shape %d: the middle %s", c,
                      c == 1 ? "was not used" : "was used, though y had room");
        for (int k = 0; k < GN_DNN_SLOTS; k++)
            ck_assert_msg(sc.need[k] == 0, "shape %d: slot %d grew to %zu bytes", c, k, sc.need[k]);
        for (int k = 0; k < 2; k++) {
            gn_dnn_op_free(op[k]);
            gn_dnn_cache_free(cache[k]);
            free(y[k]), free(dx[k]), free(dw[k]), free(db[k]);
        }
        gn_dnn_scratch_free(&sc);
        free(x), free(dy), free(w), free(b), free(fwd), free(y0), free(mid);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("col_mm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, against_direct);
    tcase_add_test(tc, splits_sum);
    tcase_add_test(tc, shared_scratch);
    tcase_add_test(tc, shared_scratch_x);
    tcase_add_test(tc, copies_in_free_buffers);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
