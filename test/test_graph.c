/* Graphs: the layer registry, named tensors and their errors, a ResNet-style
 * block fused and unfused, in-place layers beside a second reader, and
 * buffer reuse. Gradients of add, concat and fan-out: test_gradcheck.c. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/net.h"
#include "layers/layer.h"
#include "util.h"
#include "util_net.h"

START_TEST(registry_complete) {
    ck_assert_int_eq(gn_layer_registry_size, GN_LAYER_CONCAT + 1);
    for (int k = 0; k < gn_layer_registry_size; k++) {
        const gn_layer_ops *o = gn_layer_registry[k];
        ck_assert_msg(o != NULL, "kind %d has no entry", k);
        ck_assert_msg(o->kind == (gn_layer_kind)k, "entry %d is kind %d", k, o->kind);
        ck_assert_msg(o->name && *o->name && o->title && *o->title, "kind %d lacks a name", k);
        ck_assert_msg(o->shape && o->forward && o->backward && o->describe, "%s is incomplete", o->name);
        ck_assert_msg(o->ninputs >= 1 && o->ninputs <= GN_MAX_INPUTS, "%s: %d inputs", o->name, o->ninputs);
        ck_assert_msg(!o->counts == !o->init, "%s: counts and init go together", o->name);
        for (const char *c = o->name; *c; c++)
            ck_assert_msg((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_',
                          "name '%s' is not lower-case Keras style", o->name);
        for (int j = 0; j < k; j++)
            ck_assert_msg(strcmp(o->name, gn_layer_registry[j]->name), "name '%s' twice", o->name);
        ck_assert_ptr_eq(gn_layer_ops_by_name(o->name), o);
        ck_assert_str_eq(gn_layer_kind_name((gn_layer_kind)k), o->title);
    }
    ck_assert_ptr_eq(gn_layer_ops_by_name("conv2d"), &gn_conv2d_ops);
    ck_assert_ptr_null(gn_layer_ops_by_name("conv3d"));
    ck_assert_ptr_null(gn_layer_ops_of((gn_layer_kind)99));
}
END_TEST

/* Builds `net` and checks that it fails with `code` and a message holding `needle`. */
static void expect_error(gn_net *net, gn_status code, const char *needle) {
    ck_assert_int_eq(gn_net_build(net, GN_INIT_GLOROT_UNIFORM, 1), code);
    ck_assert_msg(strstr(gn_last_error(), needle), "'%s' lacks '%s'", gn_last_error(), needle);
    gn_net_free(net);
}

/* A network "n" whose first layer is a ReLU named "h". */
static gn_net *relu_net(void) {
    gn_net *n = gn_net_new("n", (gn_shape){4, 4, 2});
    gn_net_add_relu(n);
    gn_net_name_output(n, "h");
    return n;
}

START_TEST(name_errors) {
    static const struct {
        void (*call)(gn_net *, const char *);
        const char *name, *needle;
        gn_status code;
    } cases[] = {
        {gn_net_take, "nosuch", "take: no tensor named 'nosuch'", GN_ERR_SHAPE},
        {gn_net_add_add, "missing", "add: no tensor named 'missing'", GN_ERR_SHAPE},
        {gn_net_add_concat, "gone", "concat: no tensor named 'gone'", GN_ERR_SHAPE},
        {gn_net_name_output, "h", "'h' is used twice", GN_ERR_ARG},
        {gn_net_name_output, "input", "'input' is used twice", GN_ERR_ARG},
        {gn_net_name_output, "bad name", "'bad name'", GN_ERR_ARG},
        {gn_net_take, "a_name_of_more_than_31_characters", "no tensor named", GN_ERR_SHAPE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        gn_net *n = relu_net();
        cases[i].call(n, cases[i].name);
        expect_error(n, cases[i].code, cases[i].needle);
    }
    gn_net *n = gn_net_new("g", (gn_shape){4, 4, 2});
    gn_net_name_output(n, "early");
    expect_error(n, GN_ERR_ARG, "no layer");
    /* a tensor nothing reads: the tanh's output, left behind by take */
    gn_net_add_tanh(n = relu_net());
    gn_net_name_output(n, "t");
    gn_net_take(n, "h");
    gn_net_add_sigmoid(n);
    expect_error(n, GN_ERR_SHAPE, "tensor 't') is never read");
}
END_TEST

START_TEST(shape_mismatches) {
    gn_net *n = gn_net_new("a", (gn_shape){4, 4, 2});
    gn_net_add_conv2d(n, 3, 3, 1, GN_PAD_SAME);
    gn_net_add_add(n, "input");
    expect_error(n, GN_ERR_SHAPE, "add with 'input'): shapes differ: 4x4x3 and 4x4x2");
    n = gn_net_new("b", (gn_shape){4, 4, 2});
    gn_net_add_conv2d(n, 3, 3, 2, GN_PAD_SAME);
    gn_net_name_output(n, "half");
    gn_net_take(n, "input");
    gn_net_add_concat(n, "half");
    expect_error(n, GN_ERR_SHAPE, "concat with 'half'): heights and widths differ: 4x4 and 2x2");
    /* concat joins channels of different counts */
    n = gn_net_new("c", (gn_shape){4, 4, 2});
    gn_net_add_conv2d(n, 3, 3, 1, GN_PAD_SAME);
    gn_net_add_concat(n, "input");
    ck_assert_int_eq(gn_net_build(n, GN_INIT_GLOROT_UNIFORM, 1), GN_OK);
    gn_shape o = gn_net_output_shape(n);
    ck_assert(o.h == 4 && o.w == 4 && o.c == 5);
    gn_net_free(n);
}
END_TEST

/* A ReLU whose input another layer also reads must not write over it:
 * y = relu(h) + h, checked against h from a net with the same dense layer. */
START_TEST(in_place_respects_other_readers) {
    gn_net *a = gn_net_new("a", (gn_shape){1, 1, 5}), *b = gn_net_new("a", (gn_shape){1, 1, 5});
    gn_net_add_dense(a, 8);
    gn_net_name_output(a, "h");
    gn_net_add_relu(a);
    gn_net_add_dropout(a, 0.5f);
    gn_net_add_add(a, "h");
    gn_net_add_dense(b, 8);
    ck_assert_int_eq(gn_net_build(a, GN_INIT_GLOROT_UNIFORM, 4), GN_OK);
    ck_assert_int_eq(gn_net_build(b, GN_INIT_GLOROT_UNIFORM, 4), GN_OK);
    float x[3 * 5];
    tu_fill(x, 15, 1, -1, 1);
    gn_tensor xt = gn_tensor_f32(x, 3, (gn_shape){1, 1, 5});
    const gn_tensor *ya, *yb;
    ck_assert_int_eq(gn_net_forward(a, &xt, GN_INFER, 1, 0, &ya), GN_OK);
    ck_assert_int_eq(gn_net_forward(b, &xt, GN_INFER, 1, 0, &yb), GN_OK);
    const float *h = yb->data, *y = ya->data;
    int negative = 0;
    for (int i = 0; i < 24; i++) {
        ck_assert_float_eq_tol(y[i], (h[i] > 0 ? h[i] : 0) + h[i], 1e-6);
        negative += h[i] < 0;
    }
    ck_assert(negative > 0);
    gn_net_free(a);
    gn_net_free(b);
}
END_TEST

/* The ResNet-style block with real ReLUs and batch norms, so that every
 * fusion applies (BN + ReLU, transient BN, upsample + conv, ReLU post-op),
 * fused or not. */
static gn_net *res_block(int fuse) {
    gn_net *n = tu_net_new("res", (gn_shape){1, 1, 6}, fuse);
    gn_net_add_dense(n, 4 * 4 * 8);
    gn_net_add_reshape(n, (gn_shape){4, 4, 8});
    tu_res_block(n, 6, 1);
    gn_net_add_conv2d(n, 6, 3, 1, GN_PAD_SAME);
    gn_net_add_relu(n);
    gn_net_add_conv2d(n, 2, 3, 2, GN_PAD_SAME);
    tu_build_with_biases(n);
    return n;
}

START_TEST(res_block_fusions_change_nothing) {
    gn_net *a = res_block(1), *b = res_block(0);
    enum { N = 4, NX = N * 6, NY = N * 8 * 8 * 2 / 4 };
    float x[NX], dy[NY];
    tu_fill(x, NX, 7, -1, 1);
    tu_fill(dy, NY, 8, -1, 1);
    gn_tensor xt = gn_tensor_f32(x, N, (gn_shape){1, 1, 6}), dyt = gn_tensor_f32(dy, N, (gn_shape){4, 4, 2});
    tu_compare_nets(a, b, &xt, &dyt, 0);
    const char *fused[][2] = {{"10", "(up)"}, {"9", "(in conv)"}, {"4", "(in BN)"}, {"15", "(fwd in op)"}};
    for (size_t i = 0; i < sizeof fused / sizeof *fused; i++) {
        char desc[48];
        gn_net_layer_desc(a, atoi(fused[i][0]), desc, sizeof desc);
        ck_assert_msg(strstr(desc, fused[i][1]), "layer %s: %s lacks %s", fused[i][0], desc, fused[i][1]);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    gn_net_summary(a, f);
    fclose(f);
    ck_assert_msg(strstr(buf, "<- #5, x  -> r") && strstr(buf, "<- r\n") && strstr(buf, "<- #12, main"),
                  "the summary does not show the graph:\n%s", buf);
    ck_assert_msg(!strstr(buf, "<- #3"), "a chain link is shown:\n%s", buf);
    free(buf);
    gn_net_free(a);
    gn_net_free(b);
}
END_TEST

/* A long chain keeps fewer activation bytes than its outputs add up to
 * (ReLU and dropout in place, views), and a chain needs no gradient
 * buffers beyond the two-ended region: adding a skip connection adds one. */
START_TEST(buffers_are_reused) {
    gn_net *n = gn_net_new("chain", (gn_shape){8, 8, 4});
    for (int i = 0; i < 6; i++) {
        gn_net_add_conv2d(n, 4, 3, 1, GN_PAD_SAME);
        gn_net_add_relu(n);
        gn_net_add_leaky_relu(n, 0.2f);
        gn_net_add_dropout(n, 0.1f);
    }
    gn_net_add_flatten(n);
    ck_assert_int_eq(gn_net_build(n, GN_INIT_GLOROT_UNIFORM, 1), GN_OK);
    size_t act, grad, sum = 0;
    ck_assert_int_eq(gn_net_memory(n, 16, &act, &grad), GN_OK);
    for (int i = 0; i < gn_net_layer_count(n); i++) sum += 16 * gn_shape_size(gn_net_layer_output(n, i)) * 4;
    ck_assert_msg(act * 3 < sum, "activations take %zu bytes of %zu", act, sum);
    ck_assert_uint_eq(grad, 2 * 16 * 8 * 8 * 4 * 4); /* one conv's output and input gradients */
    gn_net_free(n);
    n = gn_net_new("skip", (gn_shape){8, 8, 4});
    gn_net_add_conv2d(n, 4, 3, 1, GN_PAD_SAME);
    gn_net_add_relu(n);
    gn_net_add_add(n, "input");
    ck_assert_int_eq(gn_net_build(n, GN_INIT_GLOROT_UNIFORM, 1), GN_OK);
    ck_assert_int_eq(gn_net_memory(n, 16, &act, &grad), GN_OK);
    ck_assert_uint_gt(grad, 2 * 16 * 8 * 8 * 4 * 4);
    gn_net_free(n);
}
END_TEST

int main(void) {
    const TTest *tests[] = {registry_complete, name_errors, shape_mismatches,
                            in_place_respects_other_readers, res_block_fusions_change_nothing,
                            buffers_are_reused};
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("graph");
    tcase_set_timeout(tc, 300);
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
