/* One GAN training step of a small G and D against a reference computed
 * independently in PyTorch (float64), test/gen_golden.py, which writes
 * test/data/golden.bin. Checked: G's output, D's logits, the loss, D's
 * input gradient, G's input gradient, every parameter gradient of both
 * networks, the batch-norm running statistics, one Adam step from a given
 * optimizer state, and an inference-mode forward after that step.
 *
 * The networks cover Dense, BatchNorm (after dense and conv layers, with and
 * without a fused ReLU), ReLU, LeakyReLU, Sigmoid, Tanh, Reshape, Flatten,
 * UpSampling2D, MaxPooling2D, Conv2D (stride 1 and 2, 'same' with uneven
 * padding and 'valid'), Deconv2D ('same' with even and uneven padding, and
 * 'valid') and a final Softmax folded into the loss. No dropout or noise:
 * their masks come from gannet's own generator.
 *
 * Each element must satisfy |got - want| <= 1e-4 |want| + 1e-6. The absolute
 * floor covers values that are small only through cancellation: float32 sums
 * of a few thousand terms of size up to ~0.3 carry rounding errors of
 * 1e-8 to a few 1e-7, and some gradients are zero in exact arithmetic (the
 * bias of a layer followed by batch norm), where a correct float32
 * implementation returns that noise (up to 4e-7 here, from the batch-norm
 * backward). The values compared are mostly 1e-3 to 0.5, and a wrong layout,
 * padding or formula changes them by their own size, far above the floor.
 *
 * golden.bin (little-endian): "GNGOLDEN", u32 array count, then per array
 * u32 name length, the name, u32 element count, float32 elements. The
 * names are listed in test/gen_golden.py. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/loss.h"
#include "gannet/net.h"
#include "gannet/optim.h"
#include "util.h"

#define REL_TOL 1e-4
#define ABS_TOL 1e-6
#define BATCH 3
#define ZDIM 8

/* ---- golden.bin ---- */

typedef tu_golden golden;

static void golden_load(golden *g) { tu_golden_load(g, "golden.bin", "test/gen_golden.py"); }
static void golden_free(golden *g) { tu_golden_free(g); }

/* The golden array `name`, which must hold `count` elements. */
static const float *golden_get(const golden *g, const char *name, size_t count) {
    return tu_golden_get(g, name, count);
}

/* ---- comparison ---- */

/* Compares got (count) with the golden array `name`; prints the worst
 * relative error |got - want| / (|want| + ABS_TOL / REL_TOL), which must
 * stay under REL_TOL. Returns the number of elements out of tolerance. */
static int compare(const golden *g, const char *name, const float *got, size_t count, int verbose) {
    const float *want = golden_get(g, name, count);
    double worst = 0;
    size_t at = 0;
    int bad = 0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)got[i] - want[i]);
        double rel = d / (fabs(want[i]) + ABS_TOL / REL_TOL);
        if (!(d <= REL_TOL * fabs(want[i]) + ABS_TOL)) bad++; /* NaN counts as bad */
        if (!(rel <= worst)) {
            worst = rel;
            at = i;
        }
    }
    if (verbose)
        printf("  %-18s %6zu  worst rel err %.2e at [%zu] (got %.8g, want %.8g)  %s\n", name, count,
               worst, at, got[at], want[at], bad ? "NOT OK" : "OK");
    return bad;
}

/* ---- the networks, exactly as test/gen_golden.py describes them ---- */

static gn_net *build_g(void) {
    gn_net *G = gn_net_new("G", (gn_shape){1, 1, ZDIM});
    gn_net_add_dense(G, 54);                       /* 0 */
    gn_net_add_batchnorm(G, 0.99f, 1e-3f);         /* 1 */
    gn_net_add_relu(G);                            /* 2 */
    gn_net_add_reshape(G, (gn_shape){3, 3, 6});    /* 3 */
    gn_net_add_deconv2d(G, 5, 2, 1, GN_PAD_VALID); /* 4: 3x3 -> 4x4 */
    gn_net_add_upsample(G, 2);                     /* 5: -> 8x8 */
    gn_net_add_conv2d(G, 4, 3, 1, GN_PAD_SAME);    /* 6 */
    gn_net_add_batchnorm(G, 0.99f, 1e-3f);         /* 7 */
    gn_net_add_relu(G);                            /* 8 */
    gn_net_add_deconv2d(G, 4, 4, 2, GN_PAD_SAME);  /* 9: -> 16x16, padding (1, 1) */
    gn_net_add_leaky_relu(G, 0.2f);                /* 10 */
    gn_net_add_deconv2d(G, 3, 3, 2, GN_PAD_SAME);  /* 11: -> 32x32, padding (0, 1) */
    gn_net_add_conv2d(G, 1, 5, 2, GN_PAD_SAME);    /* 12: -> 16x16, padding (1, 2) */
    gn_net_add_sigmoid(G);                         /* 13 */
    ck_assert_msg(gn_net_build(G, GN_INIT_GLOROT_UNIFORM, 1) == GN_OK, "G: %s", gn_last_error());
    return G;
}

static gn_net *build_d(void) {
    gn_net *D = gn_net_new("D", (gn_shape){16, 16, 1});
    gn_net_add_conv2d(D, 5, 5, 2, GN_PAD_SAME);    /* 0: -> 8x8, padding (1, 2) */
    gn_net_add_batchnorm(D, 0.9f, 1e-5f);          /* 1 */
    gn_net_add_leaky_relu(D, 0.2f);                /* 2 */
    gn_net_add_conv2d(D, 7, 3, 1, GN_PAD_VALID);   /* 3: -> 6x6 */
    gn_net_add_relu(D);                            /* 4 */
    gn_net_add_maxpool(D, 2, 2);                   /* 5: -> 3x3 */
    gn_net_add_tanh(D);                            /* 6 */
    gn_net_add_flatten(D);                         /* 7 */
    gn_net_add_dense(D, 2);                        /* 8 */
    gn_net_add_softmax(D);                         /* 9 */
    ck_assert_msg(gn_net_build(D, GN_INIT_GLOROT_UNIFORM, 2) == GN_OK, "D: %s", gn_last_error());
    return D;
}

/* Overwrites the parameters and running statistics with the golden ones. */
static void load_net(const golden *g, gn_net *net) {
    const char *nm = gn_net_name(net);
    char name[64];
    for (int i = 0; i < gn_net_layer_count(net); i++) {
        size_t nw, nb;
        float *w = gn_net_layer_weights(net, i, &nw), *b = gn_net_layer_bias(net, i, &nb);
        if (!w) continue;
        snprintf(name, sizeof name, "%s.%d.w", nm, i);
        memcpy(w, golden_get(g, name, nw), nw * sizeof(float));
        snprintf(name, sizeof name, "%s.%d.b", nm, i);
        memcpy(b, golden_get(g, name, nb), nb * sizeof(float));
    }
    snprintf(name, sizeof name, "%s.state0", nm);
    size_t ns = gn_net_state_count(net);
    memcpy(gn_net_state(net), golden_get(g, name, ns), ns * sizeof(float));
    gn_net_params_changed(net);
}

/* Compares every layer's parameters, or their gradients, with the golden
 * arrays NET.i.SUFFIX and NET.i.BSUFFIX. */
static int compare_layers(const golden *g, gn_net *net, const float *slab, const char *wsuffix,
                          const char *bsuffix, int verbose) {
    const char *nm = gn_net_name(net);
    const float *base = gn_net_params(net);
    char name[64];
    int bad = 0;
    for (int i = 0; i < gn_net_layer_count(net); i++) {
        size_t nw, nb;
        float *w = gn_net_layer_weights(net, i, &nw), *b = gn_net_layer_bias(net, i, &nb);
        if (!w) continue;
        snprintf(name, sizeof name, "%s.%d.%s", nm, i, wsuffix);
        bad += compare(g, name, slab + (w - base), nw, verbose);
        snprintf(name, sizeof name, "%s.%d.%s", nm, i, bsuffix);
        bad += compare(g, name, slab + (b - base), nb, verbose);
    }
    return bad;
}

/* Elements out of tolerance, per stage of the step. */
typedef struct step_result {
    int forward, backward, update, infer;
} step_result;

/* One Adam step of net from the golden optimizer state. */
static int adam_step(const golden *g, gn_net *net, float lr, int verbose) {
    const float *hp = golden_get(g, "adam", 6);
    const char *nm = gn_net_name(net);
    size_t np = gn_net_param_count(net);
    char name[64];
    gn_optim o;
    ck_assert_int_eq(gn_optim_init(&o, GN_OPT_ADAM, np, lr, hp[3], hp[4], hp[5]), GN_OK);
    snprintf(name, sizeof name, "%s.m0", nm);
    memcpy(o.m, golden_get(g, name, np), np * sizeof(float));
    snprintf(name, sizeof name, "%s.v0", nm);
    memcpy(o.v, golden_get(g, name, np), np * sizeof(float));
    o.t = (uint64_t)hp[0];
    gn_optim_step(&o, gn_net_params(net), gn_net_grads(net));
    gn_net_params_changed(net);
    int bad = compare_layers(g, net, gn_net_params(net), "w1", "b1", verbose);
    snprintf(name, sizeof name, "%s.m1", nm);
    bad += compare(g, name, o.m, np, verbose);
    snprintf(name, sizeof name, "%s.v1", nm);
    bad += compare(g, name, o.v, np, verbose);
    gn_optim_free(&o);
    return bad;
}

/* The whole step: G and D built and loaded from golden.bin, then `tweak`
 * (when not NULL) may change them before anything runs. */
static step_result run_step(const golden *g, void (*tweak)(gn_net *G, gn_net *D), int verbose) {
    step_result r = {0, 0, 0, 0};
    gn_net *G = build_g(), *D = build_d();
    load_net(g, G);
    load_net(g, D);
    if (tweak) tweak(G, D);

    /* forward: G on z, D on G's output, the loss on D's logits */
    float z[BATCH * ZDIM];
    memcpy(z, golden_get(g, "z", BATCH * ZDIM), sizeof z);
    gn_tensor zt = gn_tensor_f32(z, BATCH, gn_net_input_shape(G));
    const gn_tensor *img, *prob;
    ck_assert_int_eq(gn_net_forward(G, &zt, GN_TRAIN, 0, 0, &img), GN_OK);
    ck_assert_int_eq(gn_net_forward(D, img, GN_TRAIN, 0, 0, &prob), GN_OK);
    const gn_tensor *lg = gn_net_logits(D, BATCH);
    ck_assert(lg != NULL && gn_tensor_count(lg) == BATCH * 2);
    const float *logits = lg->data;
    float dlogits[BATCH * 2];
    float loss = gn_softmax_cross_entropy(logits, golden_get(g, "targets", BATCH * 2), BATCH, 2,
                                          dlogits);
    if (verbose) printf("forward\n");
    r.forward += compare(g, "G.out", img->data, gn_tensor_count(img), verbose);
    r.forward += compare(g, "D.logits", logits, BATCH * 2, verbose);
    r.forward += compare(g, "loss", &loss, 1, verbose);
    r.forward += compare(g, "G.state1", gn_net_state(G), gn_net_state_count(G), verbose);
    r.forward += compare(g, "D.state1", gn_net_state(D), gn_net_state_count(D), verbose);

    /* backward: D with its input gradient, then G from that gradient */
    gn_tensor dt = gn_tensor_f32(dlogits, BATCH, (gn_shape){1, 1, 2});
    const gn_tensor *ddx, *gdx;
    ck_assert_int_eq(gn_net_backward(D, &dt, 1, &ddx), GN_OK);
    ck_assert_int_eq(gn_net_backward(G, ddx, 1, &gdx), GN_OK);
    if (verbose) printf("backward\n");
    r.backward += compare(g, "D.dx", ddx->data, gn_tensor_count(ddx), verbose);
    r.backward += compare(g, "G.dx", gdx->data, gn_tensor_count(gdx), verbose);
    r.backward += compare_layers(g, D, gn_net_grads(D), "dw", "db", verbose);
    r.backward += compare_layers(g, G, gn_net_grads(G), "dw", "db", verbose);

    /* one Adam step of each network */
    const float *hp = golden_get(g, "adam", 6);
    if (verbose) printf("adam step %d\n", (int)hp[0] + 1);
    r.update += adam_step(g, G, hp[1], verbose);
    r.update += adam_step(g, D, hp[2], verbose);

    /* inference with the new weights and running statistics */
    ck_assert_int_eq(gn_net_forward(G, &zt, GN_INFER, 0, 0, &img), GN_OK);
    ck_assert_int_eq(gn_net_forward(D, img, GN_INFER, 0, 0, &prob), GN_OK);
    if (verbose) printf("inference after the step\n");
    r.infer += compare(g, "G.out_infer", img->data, gn_tensor_count(img), verbose);
    r.infer += compare(g, "D.logits_infer", gn_net_logits(D, BATCH)->data, BATCH * 2, verbose);

    gn_net_free(G);
    gn_net_free(D);
    return r;
}

START_TEST(test_golden_step) {
    golden g;
    golden_load(&g);
    step_result r = run_step(&g, NULL, 1);
    ck_assert_msg(r.forward == 0, "forward: %d elements out of tolerance", r.forward);
    ck_assert_msg(r.backward == 0, "backward: %d elements out of tolerance", r.backward);
    ck_assert_msg(r.update == 0, "Adam step: %d elements out of tolerance", r.update);
    ck_assert_msg(r.infer == 0, "inference: %d elements out of tolerance", r.infer);
    golden_free(&g);
}
END_TEST

/* The comparison must see a 1e-2 change of a single weight. */
static void perturb_g(gn_net *G, gn_net *D) {
    (void)D;
    gn_net_layer_weights(G, 9, NULL)[7] += 1e-2f;
    gn_net_params_changed(G);
}

static void perturb_d(gn_net *G, gn_net *D) {
    (void)G;
    gn_net_layer_weights(D, 3, NULL)[11] += 1e-2f;
    gn_net_params_changed(D);
}

/* The step with one weight perturbed (`what` names it) must fail the
 * comparison in both the forward pass and the gradients. */
static void expect_detected(void (*perturb)(gn_net *, gn_net *), const char *what, const char *net) {
    golden g;
    golden_load(&g);
    step_result r = run_step(&g, perturb, 0);
    printf("%s + 1e-2: %d forward, %d backward elements out of tolerance\n", what, r.forward,
           r.backward);
    ck_assert_msg(r.forward > 0, "a perturbed %s weight went unnoticed in the forward pass", net);
    ck_assert_msg(r.backward > 0, "a perturbed %s weight went unnoticed in the gradients", net);
    golden_free(&g);
}

START_TEST(test_golden_detects_g) { expect_detected(perturb_g, "G.9.w[7]", "G"); }
END_TEST

START_TEST(test_golden_detects_d) { expect_detected(perturb_d, "D.3.w[11]", "D"); }
END_TEST

int main(void) {
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("golden");
    tcase_add_test(tc, test_golden_step);
    tcase_add_test(tc, test_golden_detects_g);
    tcase_add_test(tc, test_golden_detects_d);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
