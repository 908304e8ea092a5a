/* Networks: the seed-mnist summary and parameter counts, shape errors,
 * thread-count independence of the random layers, and the frozen backward. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/gan.h"
#include "gannet/net.h"
#include "net_hooks.h"
#include "util.h"
#include "util_net.h"

START_TEST(seed_mnist_counts) {
    gn_net *G, *D;
    ck_assert_int_eq(gn_preset_build("seed-mnist", 1, &G, &D), GN_OK);
    ck_assert_uint_eq(gn_net_param_count(D), 9707266);
    /* G: dense 100*39200+39200, BN 2*39200, conv 3*3*200*100+100, BN 200, conv 3*3*100*50+50, BN 100, conv 50+1 */
    ck_assert_uint_eq(gn_net_param_count(G), 3959200 + 78400 + 180100 + 200 + 45050 + 100 + 51);
    gn_shape o = gn_net_output_shape(G);
    ck_assert(o.h == 28 && o.w == 28 && o.c == 1);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    gn_net_summary(D, f);
    fclose(f);
    ck_assert_msg(strstr(buf, "9707266"), "summary lacks the total: %s", buf);
    ck_assert_msg(strstr(buf, "(7, 7, 512)"), "summary lacks conv2's shape: %s", buf);
    free(buf);
    gn_net_free(G);
    gn_net_free(D);
    gn_net *dc, *dd;
    ck_assert_int_eq(gn_preset_build("dcgan", 1, &dc, &dd), GN_OK);
    gn_net_free(dc);
    gn_net_free(dd);
    ck_assert_int_eq(gn_preset_build("nope", 1, &dc, &dd), GN_ERR_ARG);
}
END_TEST

START_TEST(shape_errors) {
    gn_net *n = gn_net_new("x", (gn_shape){4, 4, 1});
    gn_net_add_conv2d(n, 2, 5, 1, GN_PAD_VALID);
    ck_assert_int_eq(gn_net_build(n, GN_INIT_GLOROT_UNIFORM, 1), GN_ERR_SHAPE);
    ck_assert_msg(strstr(gn_last_error(), "too small"), "%s", gn_last_error());
    gn_net_free(n);
    n = gn_net_new("y", (gn_shape){2, 2, 3});
    gn_net_add_reshape(n, (gn_shape){5, 1, 1});
    ck_assert_int_eq(gn_net_build(n, GN_INIT_GLOROT_UNIFORM, 1), GN_ERR_SHAPE);
    gn_net_free(n);
    n = gn_net_new("z", (gn_shape){1, 1, 3});
    gn_net_add_dense(n, 2);
    ck_assert_int_eq(gn_net_build(n, GN_INIT_GLOROT_UNIFORM, 1), GN_OK);
    float x[8] = {0};
    gn_tensor bad = gn_tensor_f32(x, 2, (gn_shape){1, 1, 4});
    const gn_tensor *y;
    ck_assert_int_eq(gn_net_forward(n, &bad, GN_TRAIN, 1, 0, &y), GN_ERR_SHAPE);
    gn_tensor dy = gn_tensor_f32(x, 2, (gn_shape){1, 1, 2});
    ck_assert_int_eq(gn_net_backward(n, &dy, 1, NULL), GN_ERR_ARG); /* no forward yet */
    gn_net_free(n);
}
END_TEST

/* Runs dropout, noise and a dense layer with `threads` threads; returns the output. */
static float *random_layers(int threads, size_t *count) {
    omp_set_num_threads(threads);
    gn_net *n = gn_net_new("r", (gn_shape){16, 16, 64});
    gn_net_add_dropout(n, 0.3f);
    gn_net_add_gaussian_noise(n, 0.5f);
    gn_net_add_flatten(n);
    gn_net_add_dense(n, 10);
    ck_assert_int_eq(gn_net_build(n, GN_INIT_GLOROT_UNIFORM, 3), GN_OK);
    size_t nx = 8 * 16 * 16 * 64;
    float *x = malloc(nx * 4);
    tu_fill(x, nx, 1, -1, 1);
    gn_tensor xt = gn_tensor_f32(x, 8, (gn_shape){16, 16, 64});
    const gn_tensor *y;
    ck_assert_int_eq(gn_net_forward(n, &xt, GN_TRAIN, 9, 4, &y), GN_OK);
    *count = gn_tensor_count(y);
    float *out = malloc(*count * 4);
    memcpy(out, y->data, *count * 4);
    free(x);
    gn_net_free(n);
    return out;
}

START_TEST(random_layers_ignore_thread_count) {
    size_t n1, n2;
    float *a = random_layers(1, &n1), *b = random_layers(2, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_msg(memcmp(a, b, n1 * 4) == 0, "dropout/noise results depend on the thread count");
    free(a);
    free(b);
    omp_set_num_threads(2);
}
END_TEST

START_TEST(dropout_keeps_the_expected_fraction) {
    gn_net *n = gn_net_new("d", (gn_shape){1, 1, 100000});
    gn_net_add_dropout(n, 0.25f);
    ck_assert_int_eq(gn_net_build(n, GN_INIT_GLOROT_UNIFORM, 3), GN_OK);
    float *x = malloc(100000 * 4);
    for (int i = 0; i < 100000; i++) x[i] = 1.0f;
    gn_tensor xt = gn_tensor_f32(x, 1, (gn_shape){1, 1, 100000});
    const gn_tensor *y;
    ck_assert_int_eq(gn_net_forward(n, &xt, GN_TRAIN, 1, 0, &y), GN_OK);
    int kept = 0;
    for (int i = 0; i < 100000; i++) {
        float v = ((float *)y->data)[i];
        ck_assert(v == 0.0f || (v > 1.3333f && v < 1.3334f));
        kept += v != 0;
    }
    ck_assert_msg(kept > 74000 && kept < 76000, "kept %d of 100000 at rate 0.25", kept);
    ck_assert_int_eq(gn_net_forward(n, &xt, GN_INFER, 1, 0, &y), GN_OK);
    for (int i = 0; i < 100000; i++) ck_assert(((float *)y->data)[i] == 1.0f);
    free(x);
    gn_net_free(n);
}
END_TEST

START_TEST(frozen_backward_writes_no_gradients) {
    gn_net *n = gn_net_new("f", (gn_shape){6, 6, 2});
    gn_net_add_conv2d(n, 3, 3, 2, GN_PAD_SAME);
    gn_net_add_relu(n);
    gn_net_add_flatten(n);
    gn_net_add_dense(n, 2);
    ck_assert_int_eq(gn_net_build(n, GN_INIT_GLOROT_UNIFORM, 3), GN_OK);
    float x[4 * 72], dy[8];
    tu_fill(x, 4 * 72, 2, -1, 1);
    tu_fill(dy, 8, 3, -1, 1);
    size_t np = gn_net_param_count(n);
    for (size_t i = 0; i < np; i++) gn_net_grads(n)[i] = 123.0f;
    gn_tensor xt = gn_tensor_f32(x, 4, (gn_shape){6, 6, 2}), dyt = gn_tensor_f32(dy, 4, (gn_shape){1, 1, 2});
    const gn_tensor *y, *dx;
    ck_assert_int_eq(gn_net_forward(n, &xt, GN_TRAIN, 1, 0, &y), GN_OK);
    ck_assert_int_eq(gn_net_backward(n, &dyt, 0, &dx), GN_OK);
    for (size_t i = 0; i < np; i++) ck_assert(gn_net_grads(n)[i] == 123.0f);
    int nonzero = 0;
    for (int i = 0; i < 4 * 72; i++) nonzero += ((float *)dx->data)[i] != 0;
    ck_assert(nonzero > 0);
    gn_net_free(n);
}
END_TEST

/* A small seed-mnist-like G and D in one network, fused or not. */
static gn_net *fusable(int fuse) {
    gn_net *n = tu_net_new("f", (gn_shape){1, 1, 10}, fuse);
    gn_net_add_dense(n, 7 * 7 * 8);
    gn_net_add_batchnorm(n, 0.99f, 1e-3f);
    gn_net_add_relu(n);
    gn_net_add_reshape(n, (gn_shape){7, 7, 8});
    gn_net_add_deconv2d(n, 8, 3, 1, GN_PAD_SAME); /* its bias and ReLU run outside oneDNN */
    gn_net_add_relu(n);
    gn_net_add_upsample(n, 2);
    gn_net_add_conv2d(n, 6, 3, 1, GN_PAD_SAME);
    gn_net_add_batchnorm(n, 0.99f, 1e-3f);
    gn_net_add_relu(n);
    gn_net_add_conv2d(n, 5, 5, 2, GN_PAD_SAME);
    gn_net_add_relu(n);
    gn_net_add_leaky_relu(n, 0.2f);
    gn_net_add_dropout(n, 0.25f);
    gn_net_add_flatten(n);
    gn_net_add_dense(n, 2);
    gn_net_add_softmax(n);
    tu_build_with_biases(n);
    return n;
}

START_TEST(fusions_change_nothing) {
    gn_net *a = fusable(1), *b = fusable(0);
    float x[6 * 10], dy[6 * 2];
    tu_fill(x, 60, 7, 0, 1);
    tu_fill(dy, 12, 8, -1, 1);
    gn_tensor xt = gn_tensor_f32(x, 6, (gn_shape){1, 1, 10}), dyt = gn_tensor_f32(dy, 6, (gn_shape){1, 1, 2});
    double e = tu_compare_nets(a, b, &xt, &dyt, 1e-5);
    printf("fused vs unfused: worst relative difference %.2e\n", e);
    gn_net_free(a);
    gn_net_free(b);
}
END_TEST

/* max |a - b| / max |b|: an error against the tensor's scale (bf16's
 * rounding noise is relative to the terms summed, not to each result). */
static double normwise_err(const float *a, const float *b, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    return m > 0 ? d / m : d;
}

/* In bf16 the fusions change only roundings (the up-convolution's 4x4
 * weights are made in fp32 and then rounded, where the unfused 3x3 ones are
 * rounded first): fused and unfused agree to within bf16's own noise,
 * measured against each tensor's scale. bf16 rounds to 2^-9 (0.2%); batch
 * norm over 6 samples amplifies that in the gradients, to about 10% here
 * between bf16 and fp32. So: logits within 5e-2, and gradients no further
 * apart than twice the distance between the unfused net in bf16 and in fp32
 * (a broken fusion is off by the tensors' whole scale). bf16 must also be in
 * effect (the logits differ from fp32's), or this would pass with bf16
 * doing nothing. */
START_TEST(fusions_change_nothing_bf16) {
    if (!tu_have_bf16()) return;
    enum { NB = 6 };
    gn_net *nets[3] = {fusable(1), fusable(0), fusable(1)}; /* bf16 fused, bf16 unfused, fp32 fused */
    /* every pass in bf16: this net's layers are narrower than --precision bf16's rule keeps in bf16 */
    gn_net_set_precision(nets[0], GN_PRECISION_BF16_ALL);
    gn_net_set_precision(nets[1], GN_PRECISION_BF16_ALL);
    size_t np = gn_net_param_count(nets[0]);
    float x[NB * 10], dy[NB * 2], logits[3][NB * 2], dx[3][NB * 10], *grads[3];
    tu_fill(x, NB * 10, 7, 0, 1);
    tu_fill(dy, NB * 2, 8, -1, 1);
    gn_tensor xt = gn_tensor_f32(x, NB, (gn_shape){1, 1, 10}), dyt = gn_tensor_f32(dy, NB, (gn_shape){1, 1, 2});
    for (int k = 0; k < 3; k++) {
        const gn_tensor *y, *d;
        ck_assert_int_eq(gn_net_forward(nets[k], &xt, GN_TRAIN, 1, 3, &y), GN_OK);
        memcpy(logits[k], gn_net_logits(nets[k], NB)->data, sizeof logits[k]);
        ck_assert_msg(gn_net_backward(nets[k], &dyt, 1, &d) == GN_OK, "%s", gn_last_error());
        memcpy(dx[k], d->data, sizeof dx[k]);
        grads[k] = malloc(np * sizeof(float));
        memcpy(grads[k], gn_net_grads(nets[k]), np * sizeof(float));
    }
    double el = normwise_err(logits[0], logits[1], NB * 2), ed = normwise_err(dx[0], dx[1], NB * 10),
           eg = normwise_err(grads[0], grads[1], np);
    printf("bf16, fused vs unfused: logits %.2e, input gradients %.2e, parameter gradients %.2e\n", el, ed, eg);
    double e32 = normwise_err(logits[1], logits[2], NB * 2), ed32 = normwise_err(dx[1], dx[2], NB * 10),
           eg32 = normwise_err(grads[1], grads[2], np);
    printf("bf16 unfused vs fp32: logits %.2e, input gradients %.2e, parameter gradients %.2e\n", e32, ed32,
           eg32);
    fflush(stdout);
    ck_assert_msg(el < 5e-2, "bf16 fusions change the logits");
    ck_assert_msg(ed < 2 * ed32 && eg < 2 * eg32, "bf16 fusions change the gradients");
    ck_assert_msg(e32 > 1e-6, "bf16 logits equal fp32's: bf16 is not in effect");
    ck_assert_str_eq(gn_net_layer_precision(nets[0], 0, NB, 0), "bf16");
    ck_assert_str_eq(gn_net_layer_precision(nets[2], 0, NB, 0), "fp32");
    for (int k = 0; k < 3; k++) {
        free(grads[k]);
        gn_net_free(nets[k]);
    }
}
END_TEST

/* --precision bf16's per-pass rule on seed-mnist (src/dnnl/dnn_op.c,
 * docs/precision.md): wide layers forward and backward-data in bf16,
 * backward-weights in bf16 in convolutions and, when they are large enough,
 * strided and transposed ones (src/dnnl/col_mm.c), not in dense layers;
 * narrow layers (fewer than 16 channels in or out) wholly fp32. */
START_TEST(bf16_passes_follow_the_rule) {
    if (!tu_have_bf16()) return;
    enum { NB = 2 };
    gn_net *G, *D;
    ck_assert_int_eq(gn_preset_build("seed-mnist", 1, &G, &D), GN_OK);
    gn_net *nets[2] = {G, D};
    for (int k = 0; k < 2; k++) {
        gn_net_set_precision(nets[k], GN_PRECISION_BF16);
        gn_shape is = gn_net_input_shape(nets[k]);
        int L = gn_net_layer_count(nets[k]);
        gn_shape os = gn_net_layer_output(nets[k], k ? L - 2 : L - 1); /* D: the logits */
        size_t nx = NB * gn_shape_size(is), ny = NB * gn_shape_size(os);
        float *x = calloc(nx, sizeof(float)), *dy = calloc(ny, sizeof(float));
        tu_fill(x, nx, 3, 0, 1);
        tu_fill(dy, ny, 4, -1, 1);
        gn_tensor xt = gn_tensor_f32(x, NB, is), dyt = gn_tensor_f32(dy, NB, os);
        const gn_tensor *y, *dx;
        ck_assert_int_eq(gn_net_forward(nets[k], &xt, GN_TRAIN, 1, 0, &y), GN_OK);
        ck_assert_msg(gn_net_backward(nets[k], &dyt, 1, &dx) == GN_OK, "%s", gn_last_error());
        free(x);
        free(dy);
    }
    static const struct { int d, layer; const char *want[3]; } rule[] = {
        {0, 0, {"bf16", "bf16", "fp32"}},  /* G dense 100 -> 39200 */
        {0, 5, {"bf16", "bf16", "bf16"}},  /* G up-convolution, a 4x4/2 transposed convolution */
        {0, 8, {"bf16", "bf16", "bf16"}},  /* G conv 3x3/1 100 -> 50 */
        {0, 11, {"fp32", "fp32", "fp32"}}, /* G conv 1x1 50 -> 1 */
        {1, 0, {"fp32", "", "fp32"}},      /* D conv 5x5/2 1 -> 256 (no input gradient in training) */
        {1, 4, {"bf16", "bf16", "bf16"}},  /* D conv 5x5/2 256 -> 512 (patches and products) */
        {1, 12, {"fp32", "fp32", "fp32"}}, /* D dense 256 -> 2 */
    };
    for (size_t r = 0; r < sizeof rule / sizeof rule[0]; r++)
        for (int w = 0; w < 3; w++) {
            const char *got = gn_net_layer_precision(nets[rule[r].d], rule[r].layer, NB, w);
            if (!*rule[r].want[w]) continue;
            ck_assert_msg(!strcmp(got, rule[r].want[w]), "%s layer %d pass %d runs in '%s', not %s",
                          rule[r].d ? "D" : "G", rule[r].layer, w, got, rule[r].want[w]);
        }
    gn_net_free(G);
    gn_net_free(D);
}
END_TEST

/* A batch norm read only by the convolution after it keeps no output: the
 * backward remakes it. Run backward twice after one forward: the first uses
 * the last such output as the forward left it, the second a remade one, so
 * equal gradients, bit for bit, mean the remade output is the forward's. */
START_TEST(remade_batchnorm_matches_forward) {
    gn_net *n = fusable(1);
    size_t np = gn_net_param_count(n);
    float x[6 * 10], dy[6 * 2], dx1[6 * 10];
    tu_fill(x, 60, 9, 0, 1);
    tu_fill(dy, 12, 10, -1, 1);
    gn_tensor xt = gn_tensor_f32(x, 6, (gn_shape){1, 1, 10}), dyt = gn_tensor_f32(dy, 6, (gn_shape){1, 1, 2});
    const gn_tensor *y, *dx;
    ck_assert_int_eq(gn_net_forward(n, &xt, GN_TRAIN, 1, 3, &y), GN_OK);
    ck_assert_int_eq(gn_net_backward(n, &dyt, 1, &dx), GN_OK);
    memcpy(dx1, dx->data, sizeof dx1);
    float *g1 = malloc(np * sizeof(float));
    memcpy(g1, gn_net_grads(n), np * sizeof(float));
    ck_assert_int_eq(gn_net_backward(n, &dyt, 1, &dx), GN_OK);
    ck_assert_msg(memcmp(dx1, dx->data, sizeof dx1) == 0, "input gradients differ");
    ck_assert_msg(memcmp(g1, gn_net_grads(n), np * sizeof(float)) == 0, "parameter gradients differ");
    free(g1);
    gn_net_free(n);
}
END_TEST

/* In bf16 the backward passes keep their copies of dy and their patches in
 * the layers' own outputs, dead by then (src/net.c, dead_in_own_backward):
 * a second backward after one forward is refused, not run on overwritten
 * activations, and a new forward gives the same gradients again, bit for bit;
 * the output and the logits, which the caller may still read, are left alone. */
START_TEST(bf16_backward_uses_up_the_forward) {
    if (!tu_have_bf16()) return;
    gn_net *n = fusable(1);
    gn_net_set_precision(n, GN_PRECISION_BF16_ALL);
    size_t np = gn_net_param_count(n);
    float x[6 * 10], dy[6 * 2];
    tu_fill(x, 60, 9, 0, 1);
    tu_fill(dy, 12, 10, -1, 1);
    gn_tensor xt = gn_tensor_f32(x, 6, (gn_shape){1, 1, 10}), dyt = gn_tensor_f32(dy, 6, (gn_shape){1, 1, 2});
    const gn_tensor *y, *dx;
    ck_assert_int_eq(gn_net_forward(n, &xt, GN_TRAIN, 1, 3, &y), GN_OK);
    float out[6 * 2], logits[6 * 2];
    memcpy(out, y->data, sizeof out);
    memcpy(logits, gn_net_logits(n, 6)->data, sizeof logits);
    ck_assert_int_eq(gn_net_backward(n, &dyt, 1, &dx), GN_OK);
    ck_assert_msg(!memcmp(out, y->data, sizeof out), "the backward wrote over the output");
    ck_assert_msg(!memcmp(logits, gn_net_logits(n, 6)->data, sizeof logits), "the backward wrote over the logits");
    float *g1 = malloc(np * sizeof(float));
    memcpy(g1, gn_net_grads(n), np * sizeof(float));
    ck_assert_int_eq(gn_net_backward(n, &dyt, 1, &dx), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), "one backward per forward"), "%s", gn_last_error());
    ck_assert_int_eq(gn_net_forward(n, &xt, GN_TRAIN, 1, 3, &y), GN_OK);
    ck_assert_int_eq(gn_net_backward(n, &dyt, 1, &dx), GN_OK);
    ck_assert_msg(memcmp(g1, gn_net_grads(n), np * sizeof(float)) == 0, "parameter gradients differ");
    free(g1);
    gn_net_free(n);
}
END_TEST

/* A net whose transposed convolution keeps its patches and copy of x in the
 * free middle of the gradient workspace: its dx and output are too small,
 * and the 16->128 convolution after it sizes the workspace. */
static gn_net *middle_net(void) {
    gn_net *n = tu_net_new("m", (gn_shape){1, 1, 16}, 1);
    gn_net_add_dense(n, 4 * 4 * 64);
    gn_net_add_reshape(n, (gn_shape){4, 4, 64});
    gn_net_add_deconv2d(n, 16, 4, 2, GN_PAD_SAME);
    gn_net_add_conv2d(n, 128, 3, 1, GN_PAD_SAME);
    gn_net_add_flatten(n);
    gn_net_add_dense(n, 2);
    gn_net_add_softmax(n);
    tu_build_with_biases(n);
    return n;
}

/* The lean bf16 layout (copies in free buffers, activations stored in bf16:
 * net_hooks.h) against the plain one: the same logits, input gradient and
 * parameter gradients, bit for bit, for a net that uses the workspace's
 * middle (every pass in bf16), one with every fusion (every pass in bf16),
 * and seed-mnist's G and D (--precision bf16's rule). */
START_TEST(bf16_lean_layout_changes_nothing) {
    if (!tu_have_bf16()) return;
    enum { NB = 8, CASES = 4 };
    static const char *name[CASES] = {"the middle net", "the fusable net", "seed-mnist's G", "seed-mnist's D"};
    for (int c = 0; c < CASES; c++) {
        gn_net *nets[2];
        for (int k = 0; k < 2; k++) {
            gn_net *G = NULL, *D = NULL;
            if (c >= 2) ck_assert_int_eq(gn_preset_build("seed-mnist", 1, &G, &D), GN_OK);
            nets[k] = c == 0 ? middle_net() : c == 1 ? fusable(1) : c == 2 ? G : D;
            if (c >= 2) gn_net_free(c == 2 ? D : G);
            gn_net_set_precision(nets[k], c < 2 ? GN_PRECISION_BF16_ALL : GN_PRECISION_BF16);
        }
        gn_net_set_bf16_lean(nets[1], 0);
        gn_shape is = gn_net_input_shape(nets[0]);
        int L = gn_net_layer_count(nets[0]);
        gn_shape os = gn_net_layer_output(nets[0], c == 2 ? L - 1 : L - 2); /* the logits but for G */
        size_t nx = NB * gn_shape_size(is), ny = NB * gn_shape_size(os);
        float *x = malloc(nx * 4), *dy = malloc(ny * 4);
        tu_fill(x, nx, 21 + c, 0, 1);
        tu_fill(dy, ny, 31 + c, -1, 1);
        gn_tensor xt = gn_tensor_f32(x, NB, is), dyt = gn_tensor_f32(dy, NB, os);
        printf("lean against plain bf16 layout: %s\n", name[c]);
        fflush(stdout);
        tu_compare_nets_tol(nets[0], nets[1], &xt, &dyt, 0, 0);
        for (int k = 0; k < 2; k++) gn_net_free(nets[k]);
        free(x), free(dy);
    }
}
END_TEST

/* In bf16, D's first convolution in seed-mnist keeps its output in bf16
 * (net.c, choose_storage: the dropout after it rounds the convolution's f32
 * output into it, the ReLU's backward reads the sign there, D's 5x5/2 reads
 * it as it is): D's arena is 24.5 MiB smaller at batch 256, and the logits,
 * every parameter gradient and the input gradient are those of the same D
 * with that tensor in f32, bit for bit. */
START_TEST(bf16_storage_of_d_first_convolution) {
    if (!tu_have_bf16()) return;
    enum { NB = 8 };
    gn_net *G, *D[2];
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(gn_preset_build("seed-mnist", 1, &G, &D[k]), GN_OK);
        gn_net_free(G);
        gn_net_set_precision(D[k], GN_PRECISION_BF16);
    }
    gn_net_set_bf16_lean(D[1], 0);
    size_t act[2], grad[2];
    for (int k = 0; k < 2; k++) ck_assert_int_eq(gn_net_memory(D[k], 256, &act[k], &grad[k]), GN_OK);
    ck_assert_uint_eq(grad[0], grad[1]); /* gradients stay f32 */
    ck_assert_uint_eq(act[1] - act[0], (size_t)256 * 14 * 14 * 256 * 2);
    float x[NB * 28 * 28], dy[NB * 2];
    tu_fill(x, NB * 28 * 28, 11, 0, 1);
    tu_fill(dy, NB * 2, 12, -1, 1);
    gn_tensor xt = gn_tensor_f32(x, NB, gn_net_input_shape(D[0])), dyt = gn_tensor_f32(dy, NB, (gn_shape){1, 1, 2});
    tu_compare_nets_tol(D[0], D[1], &xt, &dyt, 0, 0);
    for (int k = 0; k < 2; k++) gn_net_free(D[k]);
}
END_TEST

int main(void) {
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("net");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, seed_mnist_counts);
    tcase_add_test(tc, shape_errors);
    tcase_add_test(tc, random_layers_ignore_thread_count);
    tcase_add_test(tc, dropout_keeps_the_expected_fraction);
    tcase_add_test(tc, frozen_backward_writes_no_gradients);
    tcase_add_test(tc, fusions_change_nothing);
    tcase_add_test(tc, fusions_change_nothing_bf16);
    tcase_add_test(tc, bf16_passes_follow_the_rule);
    tcase_add_test(tc, remade_batchnorm_matches_forward);
    tcase_add_test(tc, bf16_backward_uses_up_the_forward);
    tcase_add_test(tc, bf16_storage_of_d_first_convolution);
    tcase_add_test(tc, bf16_lean_layout_changes_nothing);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
