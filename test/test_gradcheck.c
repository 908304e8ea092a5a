/* Every layer's backward against central finite differences, for the input
 * and the parameters, on small random shapes (stride 2, odd sizes, batch 1
 * where defined). The loss is L = sum(y * r) for a fixed random r, so the
 * output gradient is r. Inputs to ReLU-like layers and max pooling keep away
 * from their kinks so that the differences are smooth. */
#include <check.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/augment.h"
#include "gannet/net.h"
#include "util.h"
#include "util_net.h"

typedef void (*builder)(gn_net *net);

/* The state slab as built: every forward starts from it, so that a layer
 * whose training forward updates its state (spectral normalisation's u)
 * computes the same function each time. */
static float *state0;
static int sn_net; /* the networks checked hold spectrally normalised layers */

/* L = sum_i y_i r_i in double, after a training forward keyed by step 0. */
static double loss_of(gn_net *net, const gn_tensor *x, const float *r) {
    const gn_tensor *y;
    memcpy(gn_net_state(net), state0, gn_net_state_count(net) * sizeof(float));
    ck_assert_int_eq(gn_net_forward(net, x, GN_TRAIN, 5, 0, &y), GN_OK);
    const gn_tensor *l = gn_net_logits(net, x->n);
    double s = 0;
    for (size_t i = 0; i < gn_tensor_count(l); i++) s += (double)((float *)l->data)[i] * r[i];
    return s;
}

/* Central difference of the loss in the value *v (eps), restoring it; a
 * parameter change is announced to the network. */
static double central(gn_net *net, const gn_tensor *x, const float *r, float *v, double eps, int param) {
    float keep = *v;
    *v = keep + (float)eps;
    if (param) gn_net_params_changed(net);
    double lp = loss_of(net, x, r);
    *v = keep - (float)eps;
    if (param) gn_net_params_changed(net);
    double lm = loss_of(net, x, r);
    *v = keep;
    if (param) gn_net_params_changed(net);
    return (lp - lm) / (2 * eps);
}

typedef struct check_state {
    double worst;
    int checked, kinks;
} check_state;

/* Compares one analytic derivative with central differences at two step
 * sizes (a third, smaller one only to spot kinks), combined by Richardson extrapolation (error O(eps^4), so the step
 * can be large enough to stay clear of float32 rounding in the forward).
 * Where the two differences disagree, a kink (ReLU at 0, a max switching)
 * lies within the step: that coordinate is counted, not judged. */
static void compare(check_state *cs, const char *what, const char *name, size_t i, double analytic,
                    double floor, gn_net *net, const gn_tensor *x, const float *r, float *v, int param) {
    const double eps = 1e-2, tol = 1e-2;
    double f1 = central(net, x, r, v, eps, param), f2 = central(net, x, r, v, eps / 2, param);
    double f3 = central(net, x, r, v, eps / 4, param);
    double scale = fmax(fmax(fabs(f1), fabs(f2)), floor);
    if (fabs(f1 - f2) / scale > 1e-2 || fabs(f2 - f3) / scale > 1e-2) {
        cs->kinks++;
        return;
    }
    double fd = (4 * f2 - f1) / 3;
    double err = fabs(fd - analytic) / fmax(fmax(fabs(fd), fabs(analytic)), floor);
    ck_assert_msg(err < tol, "%s: %s[%zu] = %g, finite difference %g", what, name, i, analytic, fd);
    if (err > cs->worst) cs->worst = err;
    cs->checked++;
}

/* Checks input and parameter gradients of the network `build` makes. */
static void gradcheck(const char *what, gn_shape in, int n, builder build, float xlo, float xhi,
                      int away_from_zero) {
    gn_net *net = gn_net_new(what, in);
    build(net);
    ck_assert_msg(gn_net_build(net, GN_INIT_GLOROT_UNIFORM, 11) == GN_OK, "%s: %s", what, gn_last_error());
    size_t ns = gn_net_state_count(net);
    state0 = malloc((ns ? ns : 1) * sizeof(float));
    memcpy(state0, gn_net_state(net), ns * sizeof(float));
    size_t nx = (size_t)n * gn_shape_size(in);
    float *x = malloc(nx * sizeof(float));
    tu_fill(x, nx, 3, xlo, xhi);
    if (away_from_zero)
        for (size_t i = 0; i < nx; i++) x[i] = x[i] < 0 ? x[i] - 0.1f : x[i] + 0.1f;
    gn_tensor xt = gn_tensor_f32(x, n, in);
    const gn_tensor *y;
    ck_assert_int_eq(gn_net_forward(net, &xt, GN_TRAIN, 5, 0, &y), GN_OK);
    ck_assert_msg(!ns || memcmp(gn_net_state(net), state0, ns * sizeof(float)) || !sn_net,
                  "%s: the training forward left spectral normalisation's u alone", what);
    const gn_tensor *lg = gn_net_logits(net, n);
    size_t ny = gn_tensor_count(lg);
    float *r = malloc(ny * sizeof(float));
    tu_fill(r, ny, 4, -1, 1);
    gn_tensor rt = gn_tensor_f32(r, n, lg->shape);
    const gn_tensor *dxt;
    ck_assert_msg(gn_net_backward(net, &rt, 1, &dxt) == GN_OK, "%s: %s", what, gn_last_error());
    float *dx = malloc(nx * sizeof(float));
    memcpy(dx, dxt->data, nx * sizeof(float));
    size_t np = gn_net_param_count(net);
    float *dp = malloc((np ? np : 1) * sizeof(float));
    memcpy(dp, gn_net_grads(net), np * sizeof(float));

    /* Errors are relative to the larger of the two values, or to 1% of the
     * tensor's largest gradient for values near zero (float32 rounding). */
    check_state cs = {0, 0, 0};
    double fx = 2e-3, fp = 2e-3;
    for (size_t i = 0; i < nx; i++) fx = fmax(fx, 1e-2 * fabs(dx[i]));
    for (size_t j = 0; j < np; j++) fp = fmax(fp, 1e-2 * fabs(dp[j]));
    size_t stride = nx > 60 ? nx / 60 : 1;
    for (size_t i = 0; i < nx; i += stride) compare(&cs, what, "dx", i, dx[i], fx, net, &xt, r, &x[i], 0);
    float *p = gn_net_params(net);
    size_t pstride = np > 80 ? np / 80 : 1;
    for (size_t j = 0; j < np; j += pstride)
        compare(&cs, what, "dparam", j, dp[j], fp, net, &xt, r, &p[j], 1);
    ck_assert_msg(cs.kinks * 5 <= cs.checked + cs.kinks, "%s: %d of %d coordinates sit on kinks", what,
                  cs.kinks, cs.checked + cs.kinks);
    printf("gradcheck %-28s worst relative error %.2e over %d coordinates (%d on kinks)\n", what,
           cs.worst, cs.checked, cs.kinks);
    free(x);
    free(r);
    free(dx);
    free(dp);
    free(state0);
    gn_net_free(net);
}

static void b_dense(gn_net *n) { gn_net_add_dense(n, 5); }
static void b_conv_same_s1(gn_net *n) { gn_net_add_conv2d(n, 4, 3, 1, GN_PAD_SAME); }
static void b_conv_same_s2(gn_net *n) { gn_net_add_conv2d(n, 3, 5, 2, GN_PAD_SAME); }
static void b_conv_valid_s2(gn_net *n) { gn_net_add_conv2d(n, 2, 3, 2, GN_PAD_VALID); }
static void b_deconv_same_s2(gn_net *n) { gn_net_add_deconv2d(n, 3, 4, 2, GN_PAD_SAME); }
static void b_deconv_valid(gn_net *n) { gn_net_add_deconv2d(n, 2, 3, 2, GN_PAD_VALID); }
/* RGB ends of a 64x64 DCGAN in small: a transposed convolution from many
 * channels to 3 (its forward) and a convolution from 3 (its backward-data)
 * run as products and a scatter (src/dnnl/scatter_mm.c), checked here
 * against oneDNN's other passes. */
static void b_deconv_to_rgb(gn_net *n) { gn_net_add_deconv2d(n, 3, 4, 2, GN_PAD_SAME); }
static void b_deconv_to_rgb_valid(gn_net *n) { gn_net_add_deconv2d(n, 3, 3, 2, GN_PAD_VALID); }
static void b_conv_from_rgb(gn_net *n) { gn_net_add_conv2d(n, 32, 4, 2, GN_PAD_SAME); }
static void b_conv_from_rgb_odd(gn_net *n) { gn_net_add_conv2d(n, 32, 5, 2, GN_PAD_SAME); }
static void b_bn_conv(gn_net *n) {
    gn_net_add_conv2d(n, 3, 3, 1, GN_PAD_SAME);
    gn_net_add_batchnorm(n, 0.9f, 1e-3f);
}
static void b_bn_relu(gn_net *n) {
    gn_net_add_conv2d(n, 3, 3, 1, GN_PAD_SAME);
    gn_net_add_batchnorm(n, 0.9f, 1e-3f);
    gn_net_add_relu(n);
    gn_net_add_conv2d(n, 2, 1, 1, GN_PAD_SAME);
}
static void b_bn_dense(gn_net *n) {
    gn_net_add_dense(n, 6);
    gn_net_add_batchnorm(n, 0.99f, 1e-3f);
    gn_net_add_dense(n, 3);
}
static void b_relu(gn_net *n) { gn_net_add_relu(n); }
static void b_leaky(gn_net *n) { gn_net_add_leaky_relu(n, 0.2f); }
static void b_relu_leaky_dropout(gn_net *n) {
    gn_net_add_conv2d(n, 4, 3, 2, GN_PAD_SAME);
    gn_net_add_relu(n);
    gn_net_add_leaky_relu(n, 0.2f);
    gn_net_add_dropout(n, 0.25f);
    gn_net_add_dense(n, 2);
}
static void b_sigmoid(gn_net *n) { gn_net_add_sigmoid(n); }
static void b_tanh(gn_net *n) { gn_net_add_tanh(n); }
static void b_sigmoid_dropout(gn_net *n) {
    gn_net_add_dense(n, 7);
    gn_net_add_sigmoid(n);
    gn_net_add_dropout(n, 0.5f);
    gn_net_add_dense(n, 2);
}
static void b_softmax_mid(gn_net *n) {
    gn_net_add_dense(n, 4);
    gn_net_add_softmax(n);
    gn_net_add_dense(n, 3);
}
static void b_softmax_last(gn_net *n) {
    gn_net_add_dense(n, 4);
    gn_net_add_softmax(n);
}
static void b_upsample(gn_net *n) {
    gn_net_add_upsample(n, 2);
    gn_net_add_conv2d(n, 2, 3, 1, GN_PAD_SAME);
}
/* Spectral normalisation: the exact derivative through sigma, v and u'. */
static void b_dense_sn(gn_net *n) {
    gn_net_add_dense(n, 5);
    gn_net_spectral_norm(n);
}
static void b_conv_sn(gn_net *n) {
    gn_net_add_conv2d(n, 3, 3, 2, GN_PAD_SAME);
    gn_net_spectral_norm(n);
    gn_net_add_leaky_relu(n, 0.2f);
    gn_net_add_dense(n, 4);
    gn_net_spectral_norm(n);
}
static void b_deconv_sn(gn_net *n) {
    gn_net_add_deconv2d(n, 3, 4, 2, GN_PAD_SAME);
    gn_net_spectral_norm(n);
}
static void b_upsample_sn(gn_net *n) { /* up-fused: the 4x4 weights come from W / sigma */
    gn_net_add_upsample(n, 2);
    gn_net_add_conv2d(n, 2, 3, 1, GN_PAD_SAME);
    gn_net_spectral_norm(n);
}
static void b_upsample3(gn_net *n) { gn_net_add_upsample(n, 3); }
static void b_maxpool(gn_net *n) { gn_net_add_maxpool(n, 2, 2); }
static void b_maxpool_overlap(gn_net *n) { gn_net_add_maxpool(n, 3, 2); }
static void b_noise(gn_net *n) {
    gn_net_add_gaussian_noise(n, 0.3f);
    gn_net_add_dense(n, 3);
}
static void b_reshape_flatten(gn_net *n) {
    gn_net_add_flatten(n);
    gn_net_add_dense(n, 12);
    gn_net_add_reshape(n, (gn_shape){2, 2, 3});
    gn_net_add_conv2d(n, 2, 2, 1, GN_PAD_VALID);
}
static void b_dense_relu(gn_net *n) {
    gn_net_add_dense(n, 24);
    gn_net_add_relu(n);
    gn_net_add_dense(n, 3);
}
static void b_dense_bn_relu(gn_net *n) {
    gn_net_add_dense(n, 24);
    gn_net_add_batchnorm(n, 0.99f, 1e-3f);
    gn_net_add_relu(n);
    gn_net_add_dense(n, 3);
}
/* The seed-mnist G's structure with tanh for ReLU: with batch statistics a
 * change of one input moves every unit, so ReLU kinks sit next to most
 * coordinates; the fused BN + ReLU is checked on its own above. */
static void b_seed_like(gn_net *n) {
    gn_net_add_dense(n, 4 * 4 * 3);
    gn_net_add_batchnorm(n, 0.99f, 1e-3f);
    gn_net_add_tanh(n);
    gn_net_add_reshape(n, (gn_shape){4, 4, 3});
    gn_net_add_upsample(n, 2);
    gn_net_add_conv2d(n, 4, 3, 1, GN_PAD_SAME);
    gn_net_add_batchnorm(n, 0.99f, 1e-3f);
    gn_net_add_tanh(n);
    gn_net_add_conv2d(n, 1, 1, 1, GN_PAD_SAME);
    gn_net_add_sigmoid(n);
}

/* Skip connections: add and concat reading the network input (whose
 * gradient is then a sum), one tensor feeding two layers, and a small
 * ResNet-style block (conv-BN-conv + identity add, then an upsample + 3x3
 * conv branch beside an upsample + 1x1 shortcut; util_net.c), tanh for
 * ReLU as above. */
static void b_add(gn_net *n) {
    gn_net_add_conv2d(n, 2, 3, 1, GN_PAD_SAME);
    gn_net_add_add(n, "input");
}
static void b_concat(gn_net *n) {
    gn_net_add_conv2d(n, 3, 3, 2, GN_PAD_SAME);
    gn_net_name_output(n, "small");
    gn_net_take(n, "input");
    gn_net_add_maxpool(n, 2, 2);
    gn_net_add_concat(n, "small");
    gn_net_add_conv2d(n, 2, 1, 1, GN_PAD_SAME);
}
static void b_fan_out(gn_net *n) {
    gn_net_add_dense(n, 6);
    gn_net_name_output(n, "h");
    gn_net_add_tanh(n);
    gn_net_name_output(n, "a");
    gn_net_take(n, "h");
    gn_net_add_sigmoid(n);
    gn_net_add_add(n, "a");
    gn_net_add_dense(n, 3);
}
static void b_res_block(gn_net *n) { tu_res_block(n, 3, 0); }

START_TEST(skip_connections) {
    static const struct {
        const char *what;
        gn_shape in;
        int n;
        builder build;
    } nets[] = {
        {"add (reads the input)", {3, 4, 2}, 2, b_add},
        {"concat (maxpool, conv)", {4, 6, 2}, 2, b_concat},
        {"one tensor, two readers", {1, 1, 5}, 3, b_fan_out},
        {"resnet block", {3, 3, 2}, 2, b_res_block},
    };
    for (size_t i = 0; i < sizeof nets / sizeof *nets; i++)
        gradcheck(nets[i].what, nets[i].in, nets[i].n, nets[i].build, -1, 1, 0);
}
END_TEST

START_TEST(dense) { gradcheck("dense", (gn_shape){1, 1, 7}, 3, b_dense, -1, 1, 0); }
END_TEST
START_TEST(dense_batch1) { gradcheck("dense batch 1", (gn_shape){2, 3, 2}, 1, b_dense, -1, 1, 0); }
END_TEST
START_TEST(conv) {
    gradcheck("conv 3x3/1 same", (gn_shape){5, 6, 3}, 2, b_conv_same_s1, -1, 1, 0);
    gradcheck("conv 5x5/2 same odd", (gn_shape){7, 9, 2}, 2, b_conv_same_s2, -1, 1, 0);
    gradcheck("conv 3x3/2 valid", (gn_shape){7, 8, 2}, 1, b_conv_valid_s2, -1, 1, 0);
}
END_TEST
START_TEST(deconv) {
    gradcheck("deconv 4x4/2 same", (gn_shape){3, 4, 2}, 2, b_deconv_same_s2, -1, 1, 0);
    gradcheck("deconv 3x3/2 valid", (gn_shape){3, 3, 3}, 1, b_deconv_valid, -1, 1, 0);
    gradcheck("deconv 32 -> 3 4x4/2 same", (gn_shape){3, 4, 32}, 2, b_deconv_to_rgb, -1, 1, 0);
    gradcheck("deconv 32 -> 3 3x3/2 valid", (gn_shape){3, 2, 32}, 1, b_deconv_to_rgb_valid, -1, 1, 0);
    gradcheck("conv 3 -> 32 4x4/2 same", (gn_shape){6, 7, 3}, 2, b_conv_from_rgb, -1, 1, 0);
    gradcheck("conv 3 -> 32 5x5/2 same odd", (gn_shape){7, 5, 3}, 1, b_conv_from_rgb_odd, -1, 1, 0);
}
END_TEST
START_TEST(spectral_norm) {
    sn_net = 1;
    gradcheck("dense sn", (gn_shape){1, 1, 7}, 3, b_dense_sn, -1, 1, 0);
    gradcheck("conv sn + dense sn", (gn_shape){5, 6, 2}, 2, b_conv_sn, -1, 1, 0);
    gradcheck("deconv sn", (gn_shape){3, 4, 2}, 2, b_deconv_sn, -1, 1, 0);
    gradcheck("upsample + conv sn (fused)", (gn_shape){3, 3, 2}, 2, b_upsample_sn, -1, 1, 0);
    sn_net = 0;
}
END_TEST
/* Differentiable augmentation: L = sum(aug(x) r); its backward against
 * central differences for every policy (linear in x for fixed draws, so the
 * differences are exact up to rounding), images of odd sizes and 3 channels. */
static double aug_loss(unsigned mask, const float *x, const float *r, float *y, float *tmp, int n,
                       gn_shape s) {
    gn_augment_forward(mask, y, x, tmp, n, s, 9, 21);
    double L = 0;
    for (size_t i = 0; i < (size_t)n * gn_shape_size(s); i++) L += (double)y[i] * r[i];
    return L;
}

START_TEST(augmentation) {
    const unsigned masks[] = {GN_AUG_COLOR, GN_AUG_TRANSLATION, GN_AUG_CUTOUT,
                              GN_AUG_COLOR | GN_AUG_TRANSLATION | GN_AUG_CUTOUT};
    const gn_shape shapes[] = {{9, 7, 3}, {8, 8, 1}};
    for (int si = 0; si < 2; si++)
        for (int mi = 0; mi < 4; mi++) {
            gn_shape s = shapes[si];
            int n = 3;
            size_t N = (size_t)n * gn_shape_size(s);
            float *x = malloc(N * 4), *r = malloc(N * 4), *y = malloc(N * 4), *tmp = malloc(N * 4),
                  *dx = malloc(N * 4);
            tu_fill(x, N, 5, -1, 1);
            tu_fill(r, N, 6, -1, 1);
            gn_augment_backward(masks[mi], dx, r, tmp, n, s, 9, 21);
            double worst = 0;
            for (size_t i = 0; i < N; i++) {
                float keep = x[i];
                x[i] = keep + 0.05f;
                double lp = aug_loss(masks[mi], x, r, y, tmp, n, s);
                x[i] = keep - 0.05f;
                double lm = aug_loss(masks[mi], x, r, y, tmp, n, s);
                x[i] = keep;
                double fd = (lp - lm) / 0.1, err = fabs(fd - dx[i]) / fmax(fabs(fd), 0.1);
                worst = fmax(worst, err);
                ck_assert_msg(err < 2e-3, "augment %u, %dx%dx%d, element %zu: backward %g, differences %g",
                              masks[mi], s.h, s.w, s.c, i, dx[i], fd);
            }
            printf("gradcheck augment %u %dx%dx%d          worst relative error %.2e over %zu coordinates\n",
                   masks[mi], s.h, s.w, s.c, worst, N);
            free(x);
            free(r);
            free(y);
            free(tmp);
            free(dx);
        }
}
END_TEST

START_TEST(batchnorm) {
    gradcheck("conv + batchnorm", (gn_shape){4, 5, 2}, 3, b_bn_conv, -1, 1, 0);
    gradcheck("conv + batchnorm + relu", (gn_shape){4, 4, 2}, 2, b_bn_relu, -1, 1, 0);
    gradcheck("conv + batchnorm batch 1", (gn_shape){4, 4, 2}, 1, b_bn_conv, -1, 1, 0);
    gradcheck("dense + batchnorm", (gn_shape){1, 1, 5}, 4, b_bn_dense, -1, 1, 0);
}
END_TEST
START_TEST(activations) {
    gradcheck("relu", (gn_shape){3, 3, 2}, 2, b_relu, -1, 1, 1);
    gradcheck("leaky relu", (gn_shape){3, 3, 2}, 2, b_leaky, -1, 1, 1);
    gradcheck("sigmoid", (gn_shape){2, 3, 2}, 2, b_sigmoid, -4, 4, 0);
    gradcheck("tanh", (gn_shape){2, 3, 2}, 2, b_tanh, -3, 3, 0);
    gradcheck("softmax inside", (gn_shape){1, 1, 5}, 3, b_softmax_mid, -1, 1, 0);
    gradcheck("softmax last (logits)", (gn_shape){1, 1, 5}, 3, b_softmax_last, -1, 1, 0);
}
END_TEST
START_TEST(dropout_chain) {
    gradcheck("conv relu leaky dropout", (gn_shape){6, 6, 1}, 2, b_relu_leaky_dropout, -1, 1, 0);
    gradcheck("sigmoid + dropout", (gn_shape){1, 1, 4}, 3, b_sigmoid_dropout, -1, 1, 0);
}
END_TEST
START_TEST(resampling) {
    gradcheck("upsample x2 + conv", (gn_shape){3, 2, 2}, 2, b_upsample, -1, 1, 0);
    gradcheck("upsample x3", (gn_shape){2, 3, 2}, 1, b_upsample3, -1, 1, 0);
    gradcheck("maxpool 2/2", (gn_shape){4, 6, 2}, 2, b_maxpool, -1, 1, 0);
    gradcheck("maxpool 3/2", (gn_shape){7, 5, 1}, 1, b_maxpool_overlap, -1, 1, 0);
}
END_TEST
START_TEST(misc) {
    gradcheck("gaussian noise", (gn_shape){1, 1, 6}, 2, b_noise, -1, 1, 0);
    gradcheck("flatten, reshape", (gn_shape){2, 2, 2}, 2, b_reshape_flatten, -1, 1, 0);
    gradcheck("dense relu dense", (gn_shape){1, 1, 5}, 4, b_dense_relu, 0, 1, 0);
    gradcheck("dense bn relu dense", (gn_shape){1, 1, 5}, 4, b_dense_bn_relu, 0, 1, 0);
    gradcheck("seed-mnist G shape, tanh", (gn_shape){1, 1, 5}, 4, b_seed_like, 0, 1, 0);
}
END_TEST

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    Suite *s = suite_create("gradcheck");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, dense);
    tcase_add_test(tc, dense_batch1);
    tcase_add_test(tc, conv);
    tcase_add_test(tc, deconv);
    tcase_add_test(tc, batchnorm);
    tcase_add_test(tc, spectral_norm);
    tcase_add_test(tc, augmentation);
    tcase_add_test(tc, activations);
    tcase_add_test(tc, dropout_chain);
    tcase_add_test(tc, resampling);
    tcase_add_test(tc, misc);
    tcase_add_test(tc, skip_connections);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
