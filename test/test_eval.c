/* GAN quality measures: the symmetric eigendecomposition and the Frechet
 * distance against closed forms, the Inception Score on known inputs, the
 * shipped classifier (accuracy, scores of real, noisy, repeated and blurred
 * digits in the expected order), the classifier file (round trip, corrupt
 * files), short training, the choice of classifier and real images for a
 * run's data (the bundled digits or Fashion-MNIST), and `gannet eval` /
 * `gannet classifier` through the command line. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gannet/checkpoint.h"
#include "gannet/eval.h"
#include "util.h"
#include "util_net.h"

#define IMG (28 * 28)

/* Loads the bundled MNIST sample with labels. */
static gn_dataset load_mnist(void) {
    gn_dataset ds = tu_load_mnist();
    ck_assert_uint_ge(ds.n, GN_CLS_HELDOUT_START + GN_CLS_HELDOUT);
    return ds;
}

/* Loads the shipped classifier. */
static gn_classifier *load_shipped(void) {
    char path[4200];
    gn_default_classifier_path(path, sizeof path);
    gn_classifier *c;
    ck_assert_msg(gn_classifier_load(&c, path) == GN_OK, "%s", gn_last_error());
    return c;
}

/* Reads a whole file into a fresh buffer. */
static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *p = malloc(*len);
    ck_assert_uint_eq(fread(p, 1, *len, f), *len);
    fclose(f);
    return p;
}

/* A random orthonormal d x d matrix (Gram-Schmidt on uniform columns). */
static void random_rotation(double *Q, int d, uint64_t seed) {
    float *r = malloc((size_t)d * d * sizeof(float));
    tu_fill(r, (size_t)d * d, seed, -1, 1);
    for (int j = 0; j < d; j++) {
        for (int i = 0; i < d; i++) Q[i * d + j] = r[i * d + j];
        for (int k = 0; k < j; k++) {
            double dot = 0;
            for (int i = 0; i < d; i++) dot += Q[i * d + j] * Q[i * d + k];
            for (int i = 0; i < d; i++) Q[i * d + j] -= dot * Q[i * d + k];
        }
        double nrm = 0;
        for (int i = 0; i < d; i++) nrm += Q[i * d + j] * Q[i * d + j];
        for (int i = 0; i < d; i++) Q[i * d + j] /= sqrt(nrm);
    }
    free(r);
}

/* S = Q diag(a) Q^T. */
static void compose(double *S, const double *Q, const double *a, int d) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += Q[i * d + k] * a[k] * Q[j * d + k];
            S[i * d + j] = s;
        }
}

START_TEST(sym_eig_reconstructs) {
    for (int d = 1; d <= 128; d = d < 8 ? d + 3 : d * 2) {
        double *A = malloc((size_t)d * d * sizeof(double)), *A0 = malloc((size_t)d * d * sizeof(double));
        double *V = malloc((size_t)d * d * sizeof(double)), *w = malloc((size_t)d * sizeof(double));
        float *r = malloc((size_t)d * d * sizeof(float));
        tu_fill(r, (size_t)d * d, (uint64_t)d, -1, 1);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) A0[i * d + j] = r[i * d + j] + r[j * d + i];
        memcpy(A, A0, (size_t)d * d * sizeof(double));
        gn_sym_eig(A, d, w, V);
        double worst = 0, worst_orth = 0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double s = 0, o = 0;
                for (int k = 0; k < d; k++) {
                    s += V[i * d + k] * w[k] * V[j * d + k];
                    o += V[k * d + i] * V[k * d + j];
                }
                worst = fmax(worst, fabs(s - A0[i * d + j]));
                worst_orth = fmax(worst_orth, fabs(o - (i == j)));
            }
        ck_assert_msg(worst < 1e-11 * d, "d=%d: |V diag(w) V^T - A| = %g", d, worst);
        ck_assert_msg(worst_orth < 1e-12 * d, "d=%d: V^T V - I = %g", d, worst_orth);
        free(A); free(A0); free(V); free(w); free(r);
    }
}
END_TEST

START_TEST(frechet_of_a_set_to_itself_is_zero) {
    /* correlated features, and real classifier features (with dead units: a singular covariance) */
    const int n = 1500, d = 64;
    float *x = malloc((size_t)n * d * sizeof(float));
    tu_fill(x, (size_t)n * d, 3, -1, 1);
    for (int i = 0; i < n; i++)
        for (int j = 1; j < d; j++) x[i * d + j] += 0.7f * x[i * d + j - 1];
    double fd = -1;
    ck_assert_int_eq(gn_frechet_distance(x, n, x, n, d, &fd), GN_OK);
    ck_assert_msg(fd >= 0 && fd < 1e-9, "FD(x, x) = %g", fd);
    free(x);

    gn_classifier *c = load_shipped();
    gn_dataset ds = load_mnist();
    const int m = 1000, F = GN_CLS_FEATURES;
    float *img = malloc((size_t)m * IMG * sizeof(float)), *f = malloc((size_t)m * F * sizeof(float));
    gn_dataset_slice(&ds, img, NULL, GN_CLS_HELDOUT_START, m, GN_RANGE_01);
    ck_assert_int_eq(gn_classifier_run(c, img, m, NULL, f), GN_OK);
    double *mu = malloc(F * sizeof(double)), *S = malloc((size_t)F * F * sizeof(double));
    gn_mean_cov(f, m, F, mu, S);
    double tr = 0;
    for (int i = 0; i < F; i++) tr += S[i * F + i];
    ck_assert_int_eq(gn_frechet_distance(f, m, f, m, F, &fd), GN_OK);
    ck_assert_msg(fd < 1e-9 * tr, "FD(features, features) = %g (trace %g)", fd, tr);
    free(img); free(f); free(mu); free(S);
    gn_dataset_free(&ds);
    gn_classifier_free(c);
}
END_TEST

START_TEST(frechet_of_gaussians_matches_closed_forms) {
    /* 1. commuting covariances Q diag(a) Q^T, Q diag(b) Q^T:
     *    FD = |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2 */
    const int d = 32;
    double *Q = malloc(d * d * sizeof(double)), *S1 = malloc(d * d * sizeof(double));
    double *S2 = malloc(d * d * sizeof(double)), a[32], b[32], mu1[32], mu2[32];
    random_rotation(Q, d, 11);
    double want = 0;
    for (int i = 0; i < d; i++) {
        a[i] = 0.1 + i * 0.37;
        b[i] = i % 3 ? 2.0 + 0.1 * i : 0.0; /* a singular S2 */
        mu1[i] = 0.5 * i;
        mu2[i] = 0.5 * i + (i % 2 ? 0.25 : -1.0);
        want += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + (sqrt(a[i]) - sqrt(b[i])) * (sqrt(a[i]) - sqrt(b[i]));
    }
    compose(S1, Q, a, d);
    compose(S2, Q, b, d);
    double fd;
    ck_assert_int_eq(gn_frechet_gaussians(mu1, S1, mu2, S2, d, &fd), GN_OK);
    /* (the square root of eigenvalues that are 0 in exact arithmetic turns
     * rounding of 1e-16 into 1e-8: hence the looser bound) */
    ck_assert_msg(fabs(fd - want) < 1e-6 * want, "commuting: FD %.12g, closed form %.12g", fd, want);
    /* symmetric in its arguments */
    double fd2;
    ck_assert_int_eq(gn_frechet_gaussians(mu2, S2, mu1, S1, d, &fd2), GN_OK);
    ck_assert_msg(fabs(fd2 - want) < 1e-6 * want, "swapped: FD %.12g, closed form %.12g", fd2, want);

    /* 2. non-commuting 2 x 2: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)), with
     *    tr M = tr(S1 S2) and det M = det S1 det S2 */
    double P1[4] = {2.0, 0.8, 0.8, 1.0}, P2[4] = {0.5, -0.3, -0.3, 3.0};
    double m1[2] = {1.0, -2.0}, m2[2] = {0.0, 0.5};
    double trp = P1[0] * P2[0] + P1[1] * P2[2] + P1[2] * P2[1] + P1[3] * P2[3];
    double det = (P1[0] * P1[3] - P1[1] * P1[2]) * (P2[0] * P2[3] - P2[1] * P2[2]);
    double want2 = (m1[0] - m2[0]) * (m1[0] - m2[0]) + (m1[1] - m2[1]) * (m1[1] - m2[1]) + P1[0] +
                   P1[3] + P2[0] + P2[3] - 2 * sqrt(trp + 2 * sqrt(det));
    ck_assert_int_eq(gn_frechet_gaussians(m1, P1, m2, P2, 2, &fd), GN_OK);
    ck_assert_msg(fabs(fd - want2) < 1e-12 * want2, "2x2: FD %.15g, closed form %.15g", fd, want2);

    /* 3. the same two Gaussians, estimated from 40,000 samples each */
    const int n = 40000;
    float *x = malloc((size_t)n * 2 * sizeof(float)), *y = malloc((size_t)n * 2 * sizeof(float));
    float *u = malloc((size_t)n * 4 * sizeof(float));
    tu_fill(u, (size_t)n * 4, 5, 0, 1);
    /* Cholesky factors of P1 and P2 */
    double l1a = sqrt(P1[0]), l1b = P1[2] / l1a, l1c = sqrt(P1[3] - l1b * l1b);
    double l2a = sqrt(P2[0]), l2b = P2[2] / l2a, l2c = sqrt(P2[3] - l2b * l2b);
    for (int i = 0; i < n; i++) {
        /* Box-Muller: two standard normals from two uniforms, twice */
        double r1 = sqrt(-2 * log(1 - u[4 * i])), t1 = 2 * M_PI * u[4 * i + 1];
        double r2 = sqrt(-2 * log(1 - u[4 * i + 2])), t2 = 2 * M_PI * u[4 * i + 3];
        double g0 = r1 * cos(t1), g1 = r1 * sin(t1), h0 = r2 * cos(t2), h1 = r2 * sin(t2);
        x[2 * i] = (float)(m1[0] + l1a * g0);
        x[2 * i + 1] = (float)(m1[1] + l1b * g0 + l1c * g1);
        y[2 * i] = (float)(m2[0] + l2a * h0);
        y[2 * i + 1] = (float)(m2[1] + l2b * h0 + l2c * h1);
    }
    ck_assert_int_eq(gn_frechet_distance(x, n, y, n, 2, &fd), GN_OK);
    ck_assert_msg(fabs(fd - want2) < 0.03 * want2, "sampled: FD %.6g, closed form %.6g", fd, want2);
    free(x); free(y); free(u); free(Q); free(S1); free(S2);
}
END_TEST

START_TEST(inception_score_of_known_outputs) {
    float p[100 * 10];
    /* one-hot over all ten classes in equal measure: the ceiling, 10 */
    memset(p, 0, sizeof p);
    for (int i = 0; i < 100; i++) p[i * 10 + i % 10] = 1;
    ck_assert_double_eq_tol(gn_inception_score(p, 100, 10), 10.0, 1e-9);
    /* one-hot over two classes: 2 */
    memset(p, 0, sizeof p);
    for (int i = 0; i < 100; i++) p[i * 10 + 3 * (i % 2)] = 1;
    ck_assert_double_eq_tol(gn_inception_score(p, 100, 10), 2.0, 1e-9);
    /* every row the same: 1, however confident */
    for (int i = 0; i < 100; i++)
        for (int k = 0; k < 10; k++) p[i * 10 + k] = k == 4 ? 0.91f : 0.01f;
    ck_assert_double_eq_tol(gn_inception_score(p, 100, 10), 1.0, 1e-9);
}
END_TEST

START_TEST(shipped_classifier_accuracy) {
    gn_classifier *c = load_shipped();
    gn_dataset ds = load_mnist();
    double acc = 0;
    ck_assert_int_eq(gn_classifier_accuracy(c, &ds, GN_CLS_HELDOUT_START, GN_CLS_HELDOUT, &acc), GN_OK);
    fprintf(stderr, "shipped classifier: held-out accuracy %.2f%% (file says %.2f%%)\n", 100 * acc,
            100 * c->heldout_acc);
    ck_assert_msg(acc >= 0.97, "held-out accuracy %.4f", acc);
    ck_assert_msg(fabs(acc - c->heldout_acc) < 0.005, "measured %.4f, the file says %.4f", acc,
                  c->heldout_acc);
    /* the share of images in their label's class, over chunks: the accuracy again; with every
     * label moved to the next class, the images the classifier misplaces as that one */
    size_t n = GN_CLS_HELDOUT;
    float *x = malloc(n * IMG * sizeof(float));
    int *lab = malloc(n * sizeof(int)), *next = malloc(n * sizeof(int));
    gn_dataset_slice(&ds, x, lab, GN_CLS_HELDOUT_START, n, GN_RANGE_01);
    for (size_t i = 0; i < n; i++) next[i] = (lab[i] + 1) % 10;
    double share = -1, moved = -1;
    ck_assert_int_eq(gn_classifier_agreement(c, x, n, lab, &share), GN_OK);
    ck_assert_int_eq(gn_classifier_agreement(c, x, n, next, &moved), GN_OK);
    ck_assert_msg(share == acc, "agreement %.6f, accuracy %.6f", share, acc);
    ck_assert_msg(moved < 0.01, "%.4f of the digits agree with the next class", moved);
    ck_assert_int_eq(gn_classifier_agreement(c, x, 0, lab, &share), GN_ERR_ARG);
    free(x);
    free(lab);
    free(next);
    gn_dataset_free(&ds);
    gn_classifier_free(c);
}
END_TEST

/* In-place 5x5 box blur of n images (zero outside), `passes` times. */
static void blur(float *x, int n, int passes) {
    float tmp[IMG];
    for (int p = 0; p < passes; p++)
        for (int i = 0; i < n; i++) {
            float *im = x + (size_t)i * IMG;
            for (int y = 0; y < 28; y++)
                for (int xx = 0; xx < 28; xx++) {
                    float s = 0;
                    for (int dy = -2; dy <= 2; dy++)
                        for (int dx = -2; dx <= 2; dx++) {
                            int yy = y + dy, xs = xx + dx;
                            if (yy >= 0 && yy < 28 && xs >= 0 && xs < 28) s += im[yy * 28 + xs];
                        }
                    tmp[y * 28 + xx] = s / 25;
                }
            memcpy(im, tmp, sizeof tmp);
        }
}

START_TEST(scores_rank_real_blurred_noise_single) {
    gn_classifier *c = load_shipped();
    gn_dataset ds = load_mnist();
    const int n = 2000, F = GN_CLS_FEATURES;
    float *ref = malloc((size_t)n * F * sizeof(float)), *x = malloc((size_t)n * IMG * sizeof(float));
    gn_dataset_slice(&ds, x, NULL, GN_CLS_HELDOUT_START, n, GN_RANGE_01);
    ck_assert_int_eq(gn_classifier_run(c, x, n, NULL, ref), GN_OK);
    gn_eval_scores real, blur1, blur2, noise, single;
    /* real: the training split's first n against the held-out */
    gn_dataset_slice(&ds, x, NULL, 0, n, GN_RANGE_01);
    ck_assert_int_eq(gn_eval_images(c, x, n, ref, n, &real), GN_OK);
    /* blurred: the same digits through a 5x5 box blur, once, then twice */
    blur(x, n, 1);
    ck_assert_int_eq(gn_eval_images(c, x, n, ref, n, &blur1), GN_OK);
    blur(x, n, 1);
    ck_assert_int_eq(gn_eval_images(c, x, n, ref, n, &blur2), GN_OK);
    /* noise: uniform grey levels */
    tu_fill(x, (size_t)n * IMG, 9, 0, 1);
    ck_assert_int_eq(gn_eval_images(c, x, n, ref, n, &noise), GN_OK);
    /* one real digit, repeated */
    gn_dataset_slice(&ds, x, NULL, 0, 1, GN_RANGE_01);
    for (int i = 1; i < n; i++) memcpy(x + (size_t)i * IMG, x, IMG * sizeof(float));
    ck_assert_int_eq(gn_eval_images(c, x, n, ref, n, &single), GN_OK);
    const gn_eval_scores *all[5] = {&real, &blur1, &blur2, &noise, &single};
    const char *names[5] = {"real", "blur x1", "blur x2", "noise", "single"};
    for (int k = 0; k < 5; k++)
        fprintf(stderr, "%-8s IS %6.3f  FD %9.3f  KL %6.4f  confidence %6.4f\n", names[k],
                all[k]->inception, all[k]->frechet, all[k]->class_kl, all[k]->confidence);
    ck_assert_uint_eq(real.n_fd, n);
    /* real digits: near the ceiling, even classes, confident, close to the held-out */
    ck_assert_msg(real.inception > 9.3, "IS(real) %.3f", real.inception);
    ck_assert_msg(real.class_kl < 0.02, "KL(real) %.4f", real.class_kl);
    ck_assert_msg(real.confidence > 0.97, "confidence(real) %.4f", real.confidence);
    /* worse in the expected order: real, blurred once, blurred twice, noise */
    for (int k = 1; k < 4; k++) {
        ck_assert_msg(all[k]->inception < all[k - 1]->inception - 0.5, "IS %s %.3f, %s %.3f",
                      names[k], all[k]->inception, names[k - 1], all[k - 1]->inception);
        ck_assert_msg(all[k]->frechet > 1.2 * all[k - 1]->frechet, "FD %s %.3f, %s %.3f",
                      names[k], all[k]->frechet, names[k - 1], all[k - 1]->frechet);
    }
    ck_assert_msg(blur1.frechet > 5 * real.frechet, "FD blurred %.3f real %.3f", blur1.frechet, real.frechet);
    ck_assert_msg(blur2.confidence < blur1.confidence && blur1.confidence < real.confidence,
                  "confidence %.4f %.4f %.4f", real.confidence, blur1.confidence, blur2.confidence);
    /* one repeated digit: IS 1, every prediction the same class, far from the held-out */
    ck_assert_msg(fabs(single.inception - 1) < 1e-6, "IS(single) %.6f", single.inception);
    ck_assert_double_eq_tol(single.class_kl, log(10.0), 1e-9);
    ck_assert_double_eq_tol(single.hist[ds.labels[0]], 1.0, 1e-12);
    ck_assert_msg(single.frechet > 20 * real.frechet, "FD single %.3f real %.3f", single.frechet, real.frechet);
    free(ref); free(x);
    gn_dataset_free(&ds);
    gn_classifier_free(c);
}
END_TEST

START_TEST(classifier_file_round_trip) {
    gn_classifier *c, *d;
    ck_assert_int_eq(gn_classifier_create(&c, 7), GN_OK);
    c->heldout_acc = 0.5f;
    c->iters = 12;
    c->batch = 34;
    c->seed = 1ull << 40;
    char *dir = tu_tmpdir(), path[4200];
    snprintf(path, sizeof path, "%s/c.gnc", dir);
    ck_assert_msg(gn_classifier_save(c, path) == GN_OK, "%s", gn_last_error());
    ck_assert_msg(gn_classifier_load(&d, path) == GN_OK, "%s", gn_last_error());
    ck_assert_int_eq(memcmp(gn_net_params(c->features), gn_net_params(d->features),
                            gn_net_param_count(c->features) * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(gn_net_params(c->head), gn_net_params(d->head),
                            gn_net_param_count(c->head) * sizeof(float)), 0);
    ck_assert_float_eq(d->heldout_acc, 0.5f);
    ck_assert_uint_eq(d->iters, 12);
    ck_assert_uint_eq(d->batch, 34);
    ck_assert(d->seed == 1ull << 40);
    /* the loaded copy computes the same outputs */
    float x[3 * IMG], p1[30], p2[30], f1[3 * GN_CLS_FEATURES], f2[3 * GN_CLS_FEATURES];
    tu_fill(x, 3 * IMG, 1, 0, 1);
    ck_assert_int_eq(gn_classifier_run(c, x, 3, p1, f1), GN_OK);
    ck_assert_int_eq(gn_classifier_run(d, x, 3, p2, f2), GN_OK);
    ck_assert_int_eq(memcmp(p1, p2, sizeof p1), 0);
    ck_assert_int_eq(memcmp(f1, f2, sizeof f1), 0);
    gn_classifier_free(c);
    gn_classifier_free(d);
    remove(path);
    remove(dir);
    free(dir);
}
END_TEST

/* Writes buf to dir/name, loads it, and checks the error's code and message. */
static void expect_load_error(const char *dir, const char *name, const void *buf, size_t len,
                              gn_status want, const char *words) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_int_eq(tu_write_file(path, buf, len), 0);
    gn_classifier *c = (gn_classifier *)1;
    gn_status s = gn_classifier_load(&c, path);
    ck_assert_msg(s == want, "%s: status %d, expected %d (%s)", name, s, want, gn_last_error());
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(gn_last_error(), words) && strstr(gn_last_error(), name),
                  "%s: message '%s' lacks '%s' or the file name", name, gn_last_error(), words);
    remove(path);
}

START_TEST(corrupt_classifier_files_fail_clearly) {
    char path[4200];
    gn_default_classifier_path(path, sizeof path);
    size_t len;
    unsigned char *good = slurp(path, &len), *bad = malloc(len);
    char *dir = tu_tmpdir();
    /* one flipped bit in the weights */
    memcpy(bad, good, len);
    bad[len / 2] ^= 0x10;
    expect_load_error(dir, "flipped.gnc", bad, len, GN_ERR_FORMAT, "bad checksum");
    /* cut short, and padded */
    expect_load_error(dir, "short.gnc", good, len - 100, GN_ERR_FORMAT, "truncated");
    memcpy(bad, good, len);
    expect_load_error(dir, "tiny.gnc", good, 10, GN_ERR_FORMAT, "truncated");
    unsigned char *big = calloc(len + 8, 1);
    memcpy(big, good, len);
    expect_load_error(dir, "padded.gnc", big, len + 8, GN_ERR_FORMAT, "bytes");
    free(big);
    /* another file type, a newer version */
    memcpy(bad, good, len);
    memcpy(bad, "GANNETCK", 8);
    expect_load_error(dir, "magic.gnc", bad, len, GN_ERR_FORMAT, "bad magic");
    memcpy(bad, good, len);
    bad[8] = 9;
    expect_load_error(dir, "version.gnc", bad, len, GN_ERR_FORMAT, "version 9");
    expect_load_error(dir, "empty.gnc", good, 0, GN_ERR_FORMAT, "truncated");
    /* no file at all */
    char missing[4300];
    snprintf(missing, sizeof missing, "%s/missing.gnc", dir);
    gn_classifier *c;
    ck_assert_int_eq(gn_classifier_load(&c, missing), GN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(gn_last_error(), "missing.gnc"));
    /* the command line says so too, with exit status 1 */
    snprintf(path, sizeof path, "%s/flipped.gnc", dir);
    memcpy(bad, good, len);
    bad[len / 2] ^= 0x10;
    ck_assert_int_eq(tu_write_file(path, bad, len), 0);
    char cmd[9000], out[4096];
    snprintf(cmd, sizeof cmd, "%s classifier test --classifier %s", tu_gannet_bin(), path);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "bad checksum"), "%s", out);
    remove(path);
    remove(dir);
    free(dir);
    free(good);
    free(bad);
}
END_TEST

START_TEST(short_training_learns) {
    omp_set_num_threads(1); /* the classifier is small: one thread is faster on a busy machine */
    gn_dataset ds = load_mnist();
    gn_classifier *c;
    ck_assert_int_eq(gn_classifier_create(&c, 5), GN_OK);
    double before = 0, after = 0;
    ck_assert_int_eq(gn_classifier_accuracy(c, &ds, GN_CLS_HELDOUT_START, 1000, &before), GN_OK);
    gn_classifier_train_config cfg = gn_classifier_train_defaults();
    cfg.iters = 250;
    cfg.seed = 5;
    ck_assert_msg(gn_classifier_train(c, &ds, GN_CLS_HELDOUT_START, &cfg) == GN_OK, "%s", gn_last_error());
    ck_assert_int_eq(gn_classifier_accuracy(c, &ds, GN_CLS_HELDOUT_START, 1000, &after), GN_OK);
    fprintf(stderr, "250 iterations: held-out accuracy %.1f%% -> %.1f%%\n", 100 * before, 100 * after);
    ck_assert_msg(after > 0.85 && after > before + 0.5, "accuracy %.3f -> %.3f", before, after);
    ck_assert_uint_eq(c->iters, 250);
    /* bad settings are refused */
    cfg.iters = 0;
    ck_assert_int_eq(gn_classifier_train(c, &ds, GN_CLS_HELDOUT_START, &cfg), GN_ERR_ARG);
    gn_classifier_free(c);
    gn_dataset_free(&ds);
}
END_TEST

/* The figures block of gannet eval's output: from the table header on. */
static const char *figures(const char *out) {
    const char *p = strstr(out, "inception score");
    ck_assert_msg(p != NULL, "no figures in: %s", out);
    return p;
}

/* The figures' numbers alone: each line of the block up to the notes, from
 * its 35th character (past the name), into buf. */
static const char *figure_numbers(const char *out, char *buf, size_t len) {
    const char *p = figures(out), *end = strstr(p, "\n\nreal:");
    ck_assert_msg(end != NULL, "no notes in: %s", out);
    size_t k = 0;
    while (p < end && k + 1 < len) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        for (const char *q = p + 34; q < nl && k + 1 < len; q++) buf[k++] = *q;
        if (k + 1 < len) buf[k++] = '\n';
        p = nl + 1;
    }
    buf[k] = 0;
    return buf;
}

START_TEST(cli_eval_idx_and_checkpoint_agree) {
    char *dir = tu_tmpdir(), ck[4200], idx[4200], cmd[9000];
    /* an untrained dcgan checkpoint is enough to generate images */
    gn_gan_config cfg;
    ck_assert_int_eq(gn_preset_config("dcgan", &cfg), GN_OK);
    gn_gan *gan;
    ck_assert_msg(gn_gan_create(&gan, &cfg) == GN_OK, "%s", gn_last_error());
    snprintf(ck, sizeof ck, "%s/checkpoint.gnt", dir);
    ck_assert_msg(gn_checkpoint_save(ck, gan, NULL, 0, NULL) == GN_OK, "%s", gn_last_error());
    gn_gan_free(gan);
    snprintf(idx, sizeof idx, "%s/s.idx", dir);
    static char a[16384], b[16384], out[4096];
    snprintf(cmd, sizeof cmd, "%s sample --checkpoint %s --n 300 --seed 4 --out %s", tu_gannet_bin(), dir, idx);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(cmd, sizeof cmd, "%s eval --checkpoint %s --n 300 --seed 4", tu_gannet_bin(), ck);
    ck_assert_msg(tu_run(cmd, a, sizeof a) == 0, "%s", a);
    snprintf(cmd, sizeof cmd, "%s eval --samples %s", tu_gannet_bin(), idx);
    ck_assert_msg(tu_run(cmd, b, sizeof b) == 0, "%s", b);
    /* the same images by both routes: the same figures */
    ck_assert_str_eq(figures(a), figures(b));
    ck_assert_msg(strstr(a, "frechet distance (N = 300)") && strstr(a, "preset dcgan"), "%s", a);
    /* more images than the file holds, when asked for explicitly, is an error */
    snprintf(cmd, sizeof cmd, "%s eval --samples %s --n 400", tu_gannet_bin(), idx);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "holds only 300"), "%s", out);
    /* one source, not two or none */
    snprintf(cmd, sizeof cmd, "%s eval --samples %s --checkpoint %s", tu_gannet_bin(), idx, ck);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s eval", tu_gannet_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
    remove(idx);
    remove(ck);
    remove(dir);
    free(dir);
}
END_TEST

START_TEST(cli_eval_real_digits_reach_the_floor) {
    /* 2500 real training digits as an IDX file: past the held-out size, so
     * the Frechet distance is capped at 2000; samples and real agree */
    gn_dataset ds = load_mnist();
    char *dir = tu_tmpdir(), idx[4200], cmd[9000];
    snprintf(idx, sizeof idx, "%s/real.idx", dir);
    uint32_t dims[3] = {2500, 28, 28};
    ck_assert_int_eq(gn_idx_write_u8(idx, ds.pixels, 3, dims), GN_OK);
    static char out[16384];
    snprintf(cmd, sizeof cmd, "%s eval --samples %s", tu_gannet_bin(), idx);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "2500 images from") && strstr(out, "frechet distance (N = 2000)") &&
                  strstr(out, "first 2000 images of each side"), "%s", out);
    const char *p = strstr(out, "inception score (ceiling 10)");
    double is_s, is_r;
    ck_assert_msg(p && sscanf(p + 28, "%lf %lf", &is_s, &is_r) == 2, "%s", out);
    ck_assert_double_eq_tol(is_s, is_r, 1e-9);
    ck_assert_msg(is_s > 9.3, "%s", out);
    remove(idx);
    remove(dir);
    free(dir);
    gn_dataset_free(&ds);
}
END_TEST

/* Writes items [start, start + n) of ds as IDX files dir/NAME-images.idx and,
 * when labels, dir/NAME-labels.idx (label + shift for every item, so that a
 * shift makes labels out of range). */
static void write_split(const gn_dataset *ds, const char *dir, const char *name, size_t start, size_t n,
                        int label_shift, char *images, char *labels) {
    sprintf(images, "%s/%s-images.idx", dir, name);
    sprintf(labels, "%s/%s-labels.idx", dir, name);
    uint32_t dims[3] = {(uint32_t)n, 28, 28};
    ck_assert_int_eq(gn_idx_write_u8(images, ds->pixels + start * IMG, 3, dims), GN_OK);
    uint8_t *lab = malloc(n);
    for (size_t i = 0; i < n; i++) lab[i] = (uint8_t)(ds->labels[start + i] + label_shift);
    ck_assert_int_eq(gn_idx_write_u8(labels, lab, 1, dims), GN_OK);
    free(lab);
}

START_TEST(cli_classifier_trains_on_other_files) {
    /* 2000 digits to learn from and 500 others to measure, as files: the
     * route Fashion-MNIST's IDX files take */
    gn_dataset ds = load_mnist();
    char *dir = tu_tmpdir(), ti[4300], tl[4300], vi[4300], vl[4300], bi[4300], bl[4300], gnc[4300];
    write_split(&ds, dir, "train", 0, 2000, 0, ti, tl);
    write_split(&ds, dir, "test", 8000, 500, 0, vi, vl);
    write_split(&ds, dir, "bad", 0, 100, 3, bi, bl); /* labels 3..12 */
    snprintf(gnc, sizeof gnc, "%s/c.gnc", dir);
    static char cmd[40000], out[16384], out2[16384];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s classifier train --data %s --labels %s --test-data %s "
             "--test-labels %s --iters 200 --log-every 0 --out %s", tu_gannet_bin(), ti, tl, vi, vl, gnc);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    double acc = 0;
    const char *p = strstr(out, "held-out accuracy ");
    ck_assert_msg(p && sscanf(p + 18, "%lf", &acc) == 1 && acc > 80, "%s", out);
    ck_assert_msg(strstr(out, "(500 images of ") && strstr(out, "training on 2000 images"), "%s", out);
    /* classifier test measures the same images to the same figure */
    snprintf(cmd, sizeof cmd, "%s classifier test --classifier %s --data %s --labels %s", tu_gannet_bin(), gnc,
             vi, vl);
    ck_assert_msg(tu_run(cmd, out2, sizeof out2) == 0, "%s", out2);
    char want[64];
    snprintf(want, sizeof want, ": %.2f%%", acc);
    ck_assert_msg(strstr(out2, want) && strstr(out2, "500 images of "), "%s | %s", want, out2);
    /* files without their partner, labels the classifier cannot have, no test set */
    snprintf(cmd, sizeof cmd, "%s classifier train --data %s --test-data %s --test-labels %s --out %s",
             tu_gannet_bin(), ti, vi, vl, gnc);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "needs its labels file"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s classifier train --data %s --labels %s --out %s", tu_gannet_bin(), ti, tl, gnc);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "--test-data"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s classifier train --data %s --labels %s --test-data %s --test-labels %s "
             "--iters 1 --out %s", tu_gannet_bin(), bi, bl, vi, vl, gnc);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "has label 1") && strstr(out, "knows 0..9"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s classifier test --classifier %s --data %s --labels %s", tu_gannet_bin(), gnc,
             bi, bl);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "knows 0..9"), "%s", out);
    const char *files[] = {ti, tl, vi, vl, bi, bl, gnc};
    for (int i = 0; i < 7; i++) remove(files[i]);
    remove(dir);
    free(dir);
    gn_dataset_free(&ds);
}
END_TEST

START_TEST(cli_eval_reference_and_real_files) {
    /* the bundled split given as files (--reference the held-out digits,
     * --real the training split) gives the same figures as the default */
    gn_dataset ds = load_mnist();
    char *dir = tu_tmpdir(), si[4300], sl[4300], hi[4300], hl[4300], ri[4300], rl[4300];
    static char cmd[40000];
    write_split(&ds, dir, "s", 100, 1500, 0, si, sl);
    write_split(&ds, dir, "held", GN_CLS_HELDOUT_START, GN_CLS_HELDOUT, 0, hi, hl);
    write_split(&ds, dir, "real", 0, GN_CLS_HELDOUT_START, 0, ri, rl);
    static char a[16384], b[16384];
    snprintf(cmd, sizeof cmd, "%s eval --samples %s", tu_gannet_bin(), si);
    ck_assert_msg(tu_run(cmd, a, sizeof a) == 0, "%s", a);
    snprintf(cmd, sizeof cmd, "%s eval --samples %s --reference %s --real %s", tu_gannet_bin(), si, hi, ri);
    ck_assert_msg(tu_run(cmd, b, sizeof b) == 0, "%s", b);
    static char fa[4096], fb[4096];
    ck_assert_str_eq(figure_numbers(a, fa, sizeof fa), figure_numbers(b, fb, sizeof fb));
    ck_assert_msg(strstr(b, "the first 2000 images of ") && strstr(b, "the first 1500 images of "), "%s", b);
    /* the classifier is still the digits', the reference no longer the held-out split */
    ck_assert_msg(strstr(b, "predicted digits") && strstr(b, "real images\nagainst the reference") &&
                  !strstr(b, "held-out digits") && !strstr(b, "held-out ones"), "%s", b);
    /* a reference of another size: the Frechet distance uses as many as it holds */
    write_split(&ds, dir, "held", GN_CLS_HELDOUT_START, 700, 0, hi, hl);
    snprintf(cmd, sizeof cmd, "%s eval --samples %s --reference %s", tu_gannet_bin(), si, hi);
    ck_assert_msg(tu_run(cmd, b, sizeof b) == 0, "%s", b);
    ck_assert_msg(strstr(b, "frechet distance (N = 700)") && strstr(b, "holds 700 real"), "%s", b);
    /* images the classifier cannot take are refused, naming the option */
    uint32_t dims[3] = {10, 32, 32};
    ck_assert_int_eq(gn_idx_write_u8(hi, ds.pixels, 3, dims), GN_OK);
    snprintf(cmd, sizeof cmd, "%s eval --samples %s --real %s", tu_gannet_bin(), si, hi);
    ck_assert_int_eq(tu_run(cmd, b, sizeof b), 2);
    ck_assert_msg(strstr(b, "--real") && strstr(b, "32x32x1"), "%s", b);
    const char *files[] = {si, sl, hi, hl, ri, rl};
    for (int i = 0; i < 6; i++) remove(files[i]);
    remove(dir);
    free(dir);
    gn_dataset_free(&ds);
}
END_TEST

/* Fashion-MNIST as Debian's dataset-fashion-mnist installs it; the tests
 * that need it say so and pass when it is missing. */
static int have_fashion(const char *test) {
    if (!access(GN_FASHION_MNIST_PATH, R_OK) && !access(GN_FASHION_MNIST_TEST_PATH, R_OK)) return 1;
    printf("%s: skipped the Fashion-MNIST part: %s is not installed (apt-get install %s)\n", test,
           GN_FASHION_MNIST_PATH, GN_FASHION_MNIST_PACKAGE);
    return 0;
}

/* Whether s ends in tail. */
static int ends_with(const char *s, const char *tail) {
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

START_TEST(eval_set_told_by_fingerprint) {
    gn_eval_set set;
    /* the bundled digits, wherever their file lies; and a run that recorded no data */
    gn_dataset ds = load_mnist();
    ck_assert_int_eq(gn_eval_set_for_data("/elsewhere/digits.idx", ds.fp.size, ds.fp.crc32, &set), GN_OK);
    ck_assert_int_eq(set.kind, GN_EVAL_DIGITS);
    ck_assert_msg(ends_with(set.classifier, "/" GN_CLS_FILE), "%s", set.classifier);
    ck_assert_uint_eq(set.ref_start, GN_CLS_HELDOUT_START);
    ck_assert_uint_eq(set.ref_count, GN_CLS_HELDOUT);
    ck_assert_uint_eq(set.real_count, GN_CLS_HELDOUT_START);
    ck_assert_str_eq(set.reference, set.real);
    ck_assert_str_eq(set.noun, "digits");
    ck_assert_ptr_null(set.class_names);
    ck_assert_int_eq(gn_eval_set_for_data("", 0, 0, &set), GN_OK);
    ck_assert_int_eq(set.kind, GN_EVAL_DIGITS);
    /* other images, or the digits converted (another fingerprint): refused, naming the data */
    ck_assert_int_eq(gn_eval_set_for_data("/x/other.idx", ds.fp.size, ds.fp.crc32 ^ 1, &set), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), "/x/other.idx") && strstr(gn_last_error(), "no shipped classifier"),
                  "%s", gn_last_error());
    ck_assert_int_eq(gn_eval_set_for_data("/x/other.idx", ds.fp.size + 1, ds.fp.crc32, &set), GN_ERR_ARG);
    gn_dataset_free(&ds);
    /* Fashion-MNIST: the shipped classifier, the test images as reference, the training images as real */
    gn_eval_set_of(GN_EVAL_FASHION, &set);
    ck_assert_msg(ends_with(set.classifier, "/" GN_FASHION_CLS_FILE), "%s", set.classifier);
    ck_assert_str_eq(set.reference, GN_FASHION_MNIST_TEST_PATH);
    ck_assert_str_eq(set.real, GN_FASHION_MNIST_PATH);
    ck_assert_uint_eq(set.ref_start, 0);
    ck_assert_uint_eq(set.ref_count, GN_CLS_HELDOUT);
    ck_assert_uint_eq(set.real_count, 0);
    ck_assert_str_eq(set.class_names[0], "T-shirt/top");
    ck_assert_str_eq(set.class_names[9], "Ankle boot");
    if (!have_fashion("eval_set_told_by_fingerprint")) return;
    gn_dataset fa;
    ck_assert_msg(gn_dataset_load(GN_FASHION_MNIST_PATH, NULL, &fa) == GN_OK, "%s", gn_last_error());
    ck_assert_int_eq(gn_eval_set_for_data(GN_FASHION_MNIST_PATH, fa.fp.size, fa.fp.crc32, &set), GN_OK);
    ck_assert_int_eq(set.kind, GN_EVAL_FASHION);
    gn_dataset_free(&fa);
}
END_TEST

START_TEST(shipped_fashion_classifier) {
    gn_eval_set set;
    gn_eval_set_of(GN_EVAL_FASHION, &set);
    gn_classifier *c;
    ck_assert_msg(gn_classifier_load(&c, set.classifier) == GN_OK, "%s", gn_last_error());
    /* what data/README.md and docs/quality.md record of it */
    ck_assert_double_eq_tol(c->heldout_acc, 0.8827, 5e-5);
    ck_assert_uint_eq(c->iters, 8000);
    ck_assert_uint_eq(c->seed, 1);
    if (have_fashion("shipped_fashion_classifier")) {
        gn_dataset test;
        ck_assert_msg(gn_dataset_load(GN_FASHION_MNIST_TEST_PATH,
                                      "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", &test) == GN_OK,
                      "%s", gn_last_error());
        double acc = 0;
        ck_assert_int_eq(gn_classifier_accuracy(c, &test, 0, test.n, &acc), GN_OK);
        /* another thread count or CPU sums in another order: a few images may change side */
        ck_assert_msg(fabs(acc - c->heldout_acc) < 0.003, "test accuracy %.4f, file says %.4f", acc, c->heldout_acc);
        gn_dataset_free(&test);
        float *ref;
        size_t n;
        ck_assert_msg(gn_eval_reference_features(c, &set, &ref, &n) == GN_OK, "%s", gn_last_error());
        ck_assert_uint_eq(n, GN_CLS_HELDOUT);
        free(ref);
    }
    gn_classifier_free(c);
}
END_TEST

/* The number in column col (0: samples, 1: real) of the figure line starting with name. */
static double figure(const char *out, const char *name, int col) {
    const char *p = strstr(out, name);
    double a = NAN, b = NAN;
    ck_assert_msg(p && sscanf(p + 34, "%lf %lf", &a, &b) == 2, "no %s in: %s", name, out);
    return col ? b : a;
}

START_TEST(cli_fashion_run_scored_with_fashion) {
    if (!have_fashion("cli_fashion_run_scored_with_fashion")) return;
    char *dir = tu_tmpdir(), run[4200], idx[4200];
    static char cmd[20000], out[16384], a[16384], b[16384], fa[4096], fb[4096];
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(idx, sizeof idx, "%s/s.idx", dir);
    /* a Fashion run whose --eval-every scores it, then gannet eval of its checkpoint */
    snprintf(cmd, sizeof cmd, "%s train --preset dcgan --data %s --batch 8 --iters 2 --plot-every 2 --eval-every 2 "
             "--progress lines --out %s", tu_gannet_bin(), GN_FASHION_MNIST, run);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(cmd, sizeof cmd, "%s eval --checkpoint %s --n 1000", tu_gannet_bin(), run);
    ck_assert_msg(tu_run(cmd, a, sizeof a) == 0, "%s", a);
    ck_assert_msg(strstr(a, "/" GN_FASHION_CLS_FILE " (held-out accuracy 88.27%)") &&
                  strstr(a, "the first 2000 Fashion-MNIST test images (" GN_FASHION_MNIST_TEST_PATH ")") &&
                  strstr(a, "Fashion-MNIST training images (" GN_FASHION_MNIST_PATH ")") &&
                  strstr(a, "predicted classes") && strstr(a, "9 Ankle boot") && !strstr(a, "digit"), "%s", a);
    /* --eval-every scored it the same way: its Frechet distance (1000 other samples of a
     * generator that has barely moved) is near gannet eval's, far from the digits' */
    char csv[4300], line[512] = "";
    snprintf(csv, sizeof csv, "%s/losses.csv", run);
    FILE *f = fopen(csv, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f) && strncmp(line, "2,", 2)) {
    }
    fclose(f);
    const char *last = strrchr(line, ',');
    ck_assert_msg(!strncmp(line, "2,", 2) && last, "%s", line);
    double fd_train = atof(last + 1), fd_eval = figure(a, "frechet distance", 0);
    ck_assert_msg(fabs(fd_train - fd_eval) < 0.1 * fd_eval, "--eval-every FD %g, gannet eval FD %g", fd_train, fd_eval);
    /* the same images through --samples: --data fashion-mnist, or the three files by hand */
    snprintf(cmd, sizeof cmd, "%s sample --checkpoint %s --n 1000 --out %s", tu_gannet_bin(), run, idx);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(cmd, sizeof cmd, "%s eval --samples %s --data %s", tu_gannet_bin(), idx, GN_FASHION_MNIST);
    ck_assert_msg(tu_run(cmd, b, sizeof b) == 0, "%s", b);
    ck_assert_str_eq(figures(a), figures(b));
    snprintf(cmd, sizeof cmd, "%s eval --samples %s --classifier %s/%s --reference %s --real %s", tu_gannet_bin(),
             idx, getenv("GANNET_DATA_DIR") ? getenv("GANNET_DATA_DIR") : "data", GN_FASHION_CLS_FILE,
             GN_FASHION_MNIST_TEST_PATH, GN_FASHION_MNIST_PATH);
    ck_assert_msg(tu_run(cmd, b, sizeof b) == 0, "%s", b);
    ck_assert_str_eq(figure_numbers(a, fa, sizeof fa), figure_numbers(b, fb, sizeof fb));
    ck_assert_msg(!strstr(b, "digit"), "%s", b);
    /* without --data, --samples are digits: the digit classifier scores them */
    snprintf(cmd, sizeof cmd, "%s eval --samples %s", tu_gannet_bin(), idx);
    ck_assert_msg(tu_run(cmd, b, sizeof b) == 0, "%s", b);
    ck_assert_msg(strstr(b, "/" GN_CLS_FILE) && strstr(b, "predicted digits"), "%s", b);
    ck_assert_int_eq(tu_rm_rf(dir), 0);
    free(dir);
}
END_TEST

/* Builds the suite. */
static Suite *eval_suite(void) {
    Suite *s = suite_create("eval");
    TCase *t = tcase_create("math");
    tcase_add_test(t, sym_eig_reconstructs);
    tcase_add_test(t, frechet_of_a_set_to_itself_is_zero);
    tcase_add_test(t, frechet_of_gaussians_matches_closed_forms);
    tcase_add_test(t, inception_score_of_known_outputs);
    suite_add_tcase(s, t);
    t = tcase_create("classifier");
    tcase_add_test(t, shipped_classifier_accuracy);
    tcase_add_test(t, scores_rank_real_blurred_noise_single);
    tcase_add_test(t, classifier_file_round_trip);
    tcase_add_test(t, corrupt_classifier_files_fail_clearly);
    tcase_add_test(t, short_training_learns);
    tcase_add_test(t, eval_set_told_by_fingerprint);
    tcase_add_test(t, shipped_fashion_classifier);
    suite_add_tcase(s, t);
    t = tcase_create("cli");
    tcase_add_test(t, cli_eval_idx_and_checkpoint_agree);
    tcase_add_test(t, cli_eval_real_digits_reach_the_floor);
    tcase_add_test(t, cli_classifier_trains_on_other_files);
    tcase_add_test(t, cli_eval_reference_and_real_files);
    tcase_add_test(t, cli_fashion_run_scored_with_fashion);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    return tu_run_suite(eval_suite());
}
