/* Losses and optimizers: values against hand computation in double,
 * stability when the discriminator saturates, gradients against finite
 * differences, and one step of each optimizer against its formula. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/loss.h"
#include "gannet/optim.h"
#include "util.h"

START_TEST(softmax_ce_value_and_gradient) {
    float l[6] = {1.0f, -0.5f, 0.2f, 0.2f, -3.0f, 4.0f};
    float t[6] = {1, 0, 0.1f, 0.9f, 0, 1};
    float g[6];
    float loss = gn_softmax_cross_entropy(l, t, 3, 2, g);
    double want = 0;
    for (int r = 0; r < 3; r++) {
        double a = l[2 * r], b = l[2 * r + 1], lse = log(exp(a) + exp(b));
        want -= t[2 * r] * (a - lse) + t[2 * r + 1] * (b - lse);
    }
    want /= 3;
    ck_assert_double_eq_tol(loss, want, 1e-6);
    for (int i = 0; i < 6; i++) {
        float keep = l[i];
        l[i] = keep + 1e-3f;
        double lp = gn_softmax_cross_entropy(l, t, 3, 2, NULL);
        l[i] = keep - 1e-3f;
        double lm = gn_softmax_cross_entropy(l, t, 3, 2, NULL);
        l[i] = keep;
        ck_assert_double_eq_tol(g[i], (lp - lm) / 2e-3, 1e-3);
    }
}
END_TEST

/* Hinge losses on z = l1 - l0: D's relu(1 - z) for real rows, relu(1 + z)
 * for fake rows, G's -z; values by hand, gradients by finite differences
 * (no row sits within the step of a kink). */
START_TEST(hinge_value_and_gradient) {
    float l[8] = {0.1f, 0.6f, -1.0f, 2.0f, 0.3f, -0.2f, -2.5f, -0.4f}; /* z: .5, 3, -.5, 2.1 */
    float g[8];
    float d = gn_hinge_d_loss(l, 4, 2, g);
    ck_assert_double_eq_tol(d, (0.5 + 0 + 0.5 + 3.1) / 4, 1e-6);
    float gl = gn_hinge_g_loss(l, 4, NULL);
    ck_assert_double_eq_tol(gl, -(0.5 + 3.0 - 0.5 + 2.1) / 4, 1e-6);
    for (int which = 0; which < 2; which++) {
        if (which) gn_hinge_g_loss(l, 4, g);
        for (int i = 0; i < 8; i++) {
            float keep = l[i];
            l[i] = keep + 1e-2f;
            double lp = which ? gn_hinge_g_loss(l, 4, NULL) : gn_hinge_d_loss(l, 4, 2, NULL);
            l[i] = keep - 1e-2f;
            double lm = which ? gn_hinge_g_loss(l, 4, NULL) : gn_hinge_d_loss(l, 4, 2, NULL);
            l[i] = keep;
            ck_assert_msg(fabs(g[i] - (lp - lm) / 2e-2) < 1e-3, "%s loss, logit %d: %g vs %g",
                          which ? "G" : "D", i, g[i], (lp - lm) / 2e-2);
        }
    }
}
END_TEST

/* A one-logit head z is the two-class head (0, z): every loss, its gradient
 * (on the real logit) and D's belief agree, saturated logits included. */
START_TEST(one_logit_heads_match_two_logit_heads) {
    enum { N = 6 };
    float z[N] = {0.7f, -2.0f, 35.0f, -800.0f, 0.0f, 3.5f}, two[2 * N], g1[N], g2[2 * N];
    for (int i = 0; i < N; i++) two[2 * i] = 0, two[2 * i + 1] = z[i];
    for (int kind = GN_GLOSS_MINIMAX; kind <= GN_GLOSS_ML; kind++) {
        float a = gn_generator_loss_head((gn_gen_loss)kind, z, N, 1, g1);
        float b = gn_generator_loss_head((gn_gen_loss)kind, two, N, 2, g2);
        ck_assert_msg(a == b && isfinite(a), "%s: %g vs %g", gn_gen_loss_name((gn_gen_loss)kind), a, b);
        for (int i = 0; i < N; i++) ck_assert(g1[i] == g2[2 * i + 1] && g2[2 * i] == -g1[i]);
    }
    ck_assert(gn_hinge_d_loss_head(z, N, 1, 3, g1) == gn_hinge_d_loss_head(two, N, 2, 3, g2));
    for (int i = 0; i < N; i++) ck_assert(g1[i] == g2[2 * i + 1]);
    ck_assert(gn_hinge_g_loss_head(z, N, 1, g1) == gn_hinge_g_loss(two, N, g2));
    for (int i = 0; i < N; i++) ck_assert(g1[i] == g2[2 * i + 1]);
    ck_assert(gn_mean_real_prob_head(z, N, 1) == gn_mean_real_prob(two, N));
    /* D's cross-entropy on one logit is the binary one, on two the softmax one: equal */
    float t1[N] = {1, 1, 1, 0, 0, 0}, t2[2 * N];
    for (int i = 0; i < N; i++) t2[2 * i] = 1 - t1[i], t2[2 * i + 1] = t1[i];
    float a = gn_sigmoid_cross_entropy(z, t1, N, g1), b = gn_softmax_cross_entropy(two, t2, N, 2, g2);
    ck_assert_msg(isfinite(a) && fabs(a - b) <= 1e-6 * fabs(b), "%g vs %g", a, b);
    for (int i = 0; i < N; i++) ck_assert_double_eq_tol(g1[i], g2[2 * i + 1], 1e-7);
}
END_TEST

/* Binary cross-entropy: the mean over the batch and its gradient. */
START_TEST(sigmoid_ce_value_and_gradient) {
    float l[3] = {1.5f, -0.5f, 0.25f}, t[3] = {1, 0, 0.3f}, g[3];
    float loss = gn_sigmoid_cross_entropy(l, t, 3, g);
    double want = 0;
    for (int i = 0; i < 3; i++) {
        double s = 1 / (1 + exp(-(double)l[i]));
        want -= t[i] * log(s) + (1 - t[i]) * log(1 - s);
    }
    ck_assert_double_eq_tol(loss, want / 3, 1e-6);
    for (int i = 0; i < 3; i++) {
        float keep = l[i];
        l[i] = keep + 1e-3f;
        double lp = gn_sigmoid_cross_entropy(l, t, 3, NULL);
        l[i] = keep - 1e-3f;
        double lm = gn_sigmoid_cross_entropy(l, t, 3, NULL);
        l[i] = keep;
        ck_assert_double_eq_tol(g[i], (lp - lm) / 2e-3, 1e-4);
    }
}
END_TEST

START_TEST(saturated_discriminator_is_finite) {
    float l[4] = {1e4f, -1e4f, -1e4f, 1e4f}, t[4] = {0, 1, 1, 0}, g[4];
    float loss = gn_softmax_cross_entropy(l, t, 2, 2, g);
    ck_assert(isfinite(loss));
    ck_assert_double_eq_tol(loss, 2e4, 1);
    for (int i = 0; i < 4; i++) ck_assert(isfinite(g[i]) && fabsf(g[i]) <= 0.5f + 1e-6f);
    float z[2] = {3e4f, -2e4f}, tz[2] = {0, 1}, gz[2];
    ck_assert(isfinite(gn_sigmoid_cross_entropy(z, tz, 2, gz)));
    for (int k = 0; k < 3; k++) {
        float gl[4];
        float v = gn_generator_loss((gn_gen_loss)k, l, 2, gl);
        ck_assert_msg(isfinite(v), "%s loss not finite", gn_gen_loss_name((gn_gen_loss)k));
        for (int i = 0; i < 4; i++) ck_assert(isfinite(gl[i]));
    }
}
END_TEST

START_TEST(generator_losses) {
    float l[6] = {0.3f, -0.2f, -1.0f, 2.0f, 1.5f, 0.5f}, g[6];
    for (int k = 0; k < 3; k++) {
        gn_gen_loss kind = (gn_gen_loss)k;
        float v = gn_generator_loss(kind, l, 3, g);
        double want = 0;
        for (int i = 0; i < 3; i++) {
            double z = (double)l[2 * i + 1] - l[2 * i], d = 1 / (1 + exp(-z));
            want += kind == GN_GLOSS_MINIMAX ? log(1 - d) : kind == GN_GLOSS_ML ? -exp(z) : -log(d);
        }
        ck_assert_double_eq_tol(v, want / 3, 1e-5);
        for (int i = 0; i < 6; i++) {
            float keep = l[i];
            l[i] = keep + 1e-3f;
            double lp = gn_generator_loss(kind, l, 3, NULL);
            l[i] = keep - 1e-3f;
            double lm = gn_generator_loss(kind, l, 3, NULL);
            l[i] = keep;
            ck_assert_double_eq_tol(g[i], (lp - lm) / 2e-3, 2e-3);
        }
    }
    /* non-saturating equals cross-entropy with the label "real" (the notebook's G loss) */
    float t[6] = {0, 1, 0, 1, 0, 1};
    ck_assert_double_eq_tol(gn_generator_loss(GN_GLOSS_NONSATURATING, l, 3, NULL),
                            gn_softmax_cross_entropy(l, t, 3, 2, NULL), 1e-6);
    ck_assert_int_eq(gn_gen_loss_parse("ml"), GN_GLOSS_ML);
    ck_assert_int_eq(gn_gen_loss_parse("nope"), -1);
}
END_TEST

START_TEST(label_smoothing_targets) {
    /* with smoothing s the real row's target is (s, 1 - s): the loss at equal logits is log 2 */
    float l[2] = {0.7f, 0.7f}, t[2] = {0.1f, 0.9f};
    ck_assert_double_eq_tol(gn_softmax_cross_entropy(l, t, 1, 2, NULL), log(2.0), 1e-6);
}
END_TEST

/* Three optimizer steps on 3 weights against the formula in double; the
 * gradients shrink from step to step, so that Adamax's max(beta2 v, |g|)
 * takes its first argument. */
START_TEST(optimizer_steps) {
    const float g0[3] = {0.5f, -2.0f, 1e-3f};
    for (int k = 0; k < 3; k++) {
        gn_optim o;
        ck_assert_int_eq(gn_optim_init(&o, (gn_opt_kind)k, 3, 0.01f, 0.9f, 0.999f, 1e-7f), GN_OK);
        float w[3] = {1.0f, -1.0f, 0.25f};
        double m[3] = {0}, v[3] = {0}, wd[3] = {1.0, -1.0, 0.25};
        for (int t = 1; t <= 3; t++) {
            float g[3];
            for (int i = 0; i < 3; i++) g[i] = g0[i] / (float)t;
            gn_optim_step(&o, w, g);
            for (int i = 0; i < 3; i++) {
                if (k == GN_OPT_ADAM) {
                    m[i] = 0.9 * m[i] + 0.1 * g[i];
                    v[i] = 0.999 * v[i] + 0.001 * (double)g[i] * g[i];
                    wd[i] -= 0.01 * (m[i] / (1 - pow(0.9, t))) / (sqrt(v[i] / (1 - pow(0.999, t))) + 1e-7);
                } else if (k == GN_OPT_ADAMAX) {
                    m[i] = 0.9 * m[i] + 0.1 * g[i];
                    v[i] = fmax(0.999 * v[i], fabs(g[i]));
                    wd[i] -= 0.01 / (1 - pow(0.9, t)) * m[i] / (v[i] + 1e-7);
                } else {
                    m[i] = 0.9 * m[i] - 0.01 * g[i];
                    wd[i] += m[i];
                }
            }
        }
        for (int i = 0; i < 3; i++)
            ck_assert_msg(fabs(w[i] - wd[i]) < 1e-6, "%s: w[%d] = %.8f, expected %.8f",
                          gn_opt_name((gn_opt_kind)k), i, w[i], wd[i]);
        gn_optim_free(&o);
    }
    gn_optim o;
    ck_assert_int_eq(gn_optim_init(&o, GN_OPT_ADAM, 3, -1.0f, 0.9f, 0.999f, 1e-7f), GN_ERR_ARG);
}
END_TEST

/* A slab larger than one chunk: every element gets the same update as the first. */
START_TEST(adam_whole_slab) {
    size_t n = 100003;
    float *w = malloc(n * 4), *g = malloc(n * 4);
    for (size_t i = 0; i < n; i++) w[i] = 1.0f, g[i] = 0.5f;
    gn_optim o;
    ck_assert_int_eq(gn_optim_init(&o, GN_OPT_ADAM, n, 1e-3f, 0.9f, 0.999f, 1e-7f), GN_OK);
    gn_optim_step(&o, w, g);
    for (size_t i = 0; i < n; i++) ck_assert_msg(w[i] == w[0], "w[%zu] = %f, w[0] = %f", i, w[i], w[0]);
    ck_assert_double_eq_tol(w[0], 1.0 - 1e-3, 1e-6);
    gn_optim_free(&o);
    free(w);
    free(g);
}
END_TEST

int main(void) {
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("loss");
    tcase_add_test(tc, softmax_ce_value_and_gradient);
    tcase_add_test(tc, hinge_value_and_gradient);
    tcase_add_test(tc, sigmoid_ce_value_and_gradient);
    tcase_add_test(tc, one_logit_heads_match_two_logit_heads);
    tcase_add_test(tc, saturated_discriminator_is_finite);
    tcase_add_test(tc, generator_losses);
    tcase_add_test(tc, label_smoothing_targets);
    tcase_add_test(tc, optimizer_steps);
    tcase_add_test(tc, adam_whole_slab);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
