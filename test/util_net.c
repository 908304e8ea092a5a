#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "util_net.h"

void tu_res_block(gn_net *n, int channels, int relu) {
    void (*act)(gn_net *) = relu ? gn_net_add_relu : gn_net_add_tanh;
    gn_net_add_conv2d(n, channels, 3, 1, GN_PAD_SAME);
    gn_net_name_output(n, "x");
    gn_net_add_batchnorm(n, 0.9f, 1e-3f);
    act(n);
    gn_net_add_conv2d(n, channels, 3, 1, GN_PAD_SAME);
    gn_net_add_add(n, "x");
    gn_net_name_output(n, "r");
    gn_net_add_batchnorm(n, 0.9f, 1e-3f);
    act(n);
    gn_net_add_upsample(n, 2);
    gn_net_add_conv2d(n, channels, 3, 1, GN_PAD_SAME);
    gn_net_name_output(n, "main");
    gn_net_take(n, "r");
    gn_net_add_upsample(n, 2);
    gn_net_add_conv2d(n, channels, 1, 1, GN_PAD_SAME);
    gn_net_add_add(n, "main");
}

gn_net *tu_net_new(const char *name, gn_shape in, int fuse) {
    gn_net *n = gn_net_new(name, in);
    if (!fuse) gn_net_disable_fusions(n);
    return n;
}

void tu_build_with_biases(gn_net *n) {
    ck_assert_msg(gn_net_build(n, GN_INIT_GLOROT_UNIFORM, 5) == GN_OK, "%s", gn_last_error());
    for (int i = 0; i < gn_net_layer_count(n); i++) {
        size_t nb;
        float *b = gn_net_layer_bias(n, i, &nb);
        gn_layer_kind k = gn_net_layer_kind(n, i);
        if (b && (k == GN_LAYER_DECONV2D || k == GN_LAYER_CONV2D)) tu_fill(b, nb, 10 + i, -0.5f, 0.5f);
    }
    gn_net_params_changed(n);
}

static double max_abs(const float *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

double tu_compare_nets(gn_net *a, gn_net *b, const gn_tensor *x, const gn_tensor *dy, double dx_floor) {
    return tu_compare_nets_tol(a, b, x, dy, dx_floor, 1e-4);
}

/* a against b (n values), what: their name in the message. Within tol
 * relative to the larger of |b| and floor; tol 0: the same bits. Returns the
 * worst relative difference. */
static double expect_close(const float *a, const float *b, size_t n, double floor, double tol,
                           const char *what) {
    double e = tu_max_rel_err(a, b, n, floor);
    if (tol == 0)
        ck_assert_msg(!memcmp(a, b, n * sizeof(float)), "%s differ (by %g): not bit for bit", what, e);
    else
        ck_assert_msg(e < tol, "%s differ by %g", what, e);
    return e;
}

double tu_compare_nets_tol(gn_net *a, gn_net *b, const gn_tensor *x, const gn_tensor *dy, double dx_floor,
                           double tol) {
    int n = x->n;
    size_t nx = gn_tensor_count(x), np = gn_net_param_count(a);
    ck_assert_uint_eq(np, gn_net_param_count(b));
    const gn_tensor *ya, *yb, *dxa, *dxb;
    ck_assert_int_eq(gn_net_forward(a, x, GN_TRAIN, 1, 3, &ya), GN_OK);
    ck_assert_int_eq(gn_net_forward(b, x, GN_TRAIN, 1, 3, &yb), GN_OK);
    const gn_tensor *la = gn_net_logits(a, n), *lb = gn_net_logits(b, n);
    expect_close(la->data, lb->data, gn_tensor_count(la), 1e-4, tol, "logits");
    ck_assert_int_eq(gn_net_backward(a, dy, 1, &dxa), GN_OK);
    ck_assert_int_eq(gn_net_backward(b, dy, 1, &dxb), GN_OK);
    double floor = dx_floor > 0 ? dx_floor : 1e-2 * max_abs(dxb->data, nx);
    expect_close(dxa->data, dxb->data, nx, floor, tol, "input gradients");
    return expect_close(gn_net_grads(a), gn_net_grads(b), np, 1e-2 * max_abs(gn_net_grads(b), np), tol,
                        "parameter gradients");
}

int tu_have_bf16(void) {
    if (gn_precision_check(GN_PRECISION_BF16) == GN_OK) return 1;
    printf("bf16 test skipped: %s\n", gn_last_error());
    return 0;
}

gn_dataset tu_load_mnist(void) {
    char ip[4096], lp[4096];
    gn_default_mnist_paths(ip, sizeof ip, lp, sizeof lp);
    gn_dataset ds;
    ck_assert_msg(gn_dataset_load(ip, lp, &ds) == GN_OK, "%s", gn_last_error());
    return ds;
}

static float *copy_of(const float *x, size_t n) {
    float *y = malloc(n * sizeof(float));
    ck_assert(y != NULL);
    memcpy(y, x, n * sizeof(float));
    return y;
}

float tu_gan_step_loss(gn_gan *gan, const gn_dataset *ds, int d_step, uint64_t step, float *grads) {
    gn_net *net = d_step ? gan->D : gan->G;
    gn_optim *o = d_step ? &gan->od : &gan->og;
    size_t n = gn_net_param_count(net);
    float *p = copy_of(gn_net_params(net), n), *m = copy_of(o->m, n), *v = copy_of(o->v, n);
    uint64_t t = o->t;
    gn_step_stats st;
    gn_status s = d_step ? gn_gan_d_step(gan, ds, step, step, step, &st) : gn_gan_g_step(gan, step, step, &st);
    ck_assert_msg(s == GN_OK, "%s", gn_last_error());
    if (grads) memcpy(grads, gn_net_grads(net), n * sizeof(float));
    memcpy(gn_net_params(net), p, n * sizeof(float));
    memcpy(o->m, m, n * sizeof(float));
    memcpy(o->v, v, n * sizeof(float));
    o->t = t;
    gn_net_params_changed(net);
    free(p);
    free(m);
    free(v);
    return d_step ? st.d_loss : st.g_loss;
}
