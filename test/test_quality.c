/* The sample-quality options (docs/quality.md): the EMA of G's weights
 * (its update, ramp-up, checkpoint section and exact resume) and the hinge
 * loss through the GAN step and the command line. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/augment.h"
#include "gannet/checkpoint.h"
#include "gannet/gan.h"
#include "gannet/model.h"
#include "gannet/train.h"
#include "util.h"
#include "util_net.h"


static const char *augment_policy = "";

static gn_gan *make_gan(float ema, gn_loss_kind loss) {
    gn_gan_config c;
    ck_assert_int_eq(gn_preset_config("dcgan", &c), GN_OK);
    snprintf(c.augment, sizeof c.augment, "%s", augment_policy);
    c.batch = 4;
    c.ema = ema;
    c.loss = loss;
    gn_gan *gan;
    ck_assert_msg(gn_gan_create(&gan, &c) == GN_OK, "%s", gn_last_error());
    return gan;
}

static float *copy_floats(const float *x, size_t n) {
    float *y = malloc(n * sizeof(float));
    memcpy(y, x, n * sizeof(float));
    return y;
}

/* G_ema starts as G, follows lerp(G, G_ema, 0.5^(B / half-life)) with the
 * half-life capped by the ramp-up, and carries G's statistics unaveraged. */
START_TEST(ema_update_follows_its_formula) {
    gn_gan *none = make_gan(0, GN_LOSS_CROSS_ENTROPY);
    ck_assert_ptr_null(none->G_ema);
    ck_assert_ptr_eq(gn_gan_sampler(none), none->G);
    gn_gan_free(none);

    gn_dataset ds = tu_load_mnist();
    gn_gan *gan = make_gan(100, GN_LOSS_CROSS_ENTROPY);
    ck_assert_ptr_nonnull(gan->G_ema);
    ck_assert_ptr_eq(gn_gan_sampler(gan), gan->G_ema);
    size_t n = gn_net_param_count(gan->G), ns = gn_net_state_count(gan->G);
    ck_assert(ns > 0);
    ck_assert(!memcmp(gn_net_params(gan->G), gn_net_params(gan->G_ema), n * 4));
    gn_step_stats st;
    /* the first update has seen no images: the average restarts at G */
    ck_assert_int_eq(gn_gan_iteration(gan, &ds, &st), GN_OK);
    ck_assert(!memcmp(gn_net_params(gan->G), gn_net_params(gan->G_ema), n * 4));
    ck_assert_int_eq(gn_gan_iteration(gan, &ds, &st), GN_OK);
    ck_assert(!memcmp(gn_net_state(gan->G), gn_net_state(gan->G_ema), ns * 4));

    uint64_t seen[2] = {1000000, 400}; /* past the ramp-up; within it: half-life 400 * 0.05 */
    double half[2] = {100, 400 * GN_EMA_RAMPUP};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(gn_gan_iteration(gan, &ds, &st), GN_OK); /* moves G away from G_ema */
        float *pe = copy_floats(gn_net_params(gan->G_ema), n);
        const float *p = gn_net_params(gan->G);
        double beta = pow(0.5, 4 / half[k]), moved = 0;
        gn_gan_ema_update(gan, seen[k]);
        for (size_t i = 0; i < n; i++) {
            double want = p[i] + (pe[i] - p[i]) * beta;
            ck_assert_msg(fabs(gn_net_params(gan->G_ema)[i] - want) <= 1e-6 * (1 + fabs(want)),
                          "case %d, weight %zu: %g, want %g", k, i, gn_net_params(gan->G_ema)[i], want);
            moved += fabs(pe[i] - p[i]);
        }
        ck_assert_msg(moved > 0, "G and its average did not differ: the check checks nothing");
        free(pe);
    }
    gn_gan_free(gan);
    gn_dataset_free(&ds);
}
END_TEST

/* A checkpoint holds G_ema (GEMA); loading it and going on matches the run
 * that never stopped, bit for bit; a checkpoint without GEMA starts the
 * average from G. */
START_TEST(ema_checkpoint_resumes_exactly) {
    gn_dataset ds = tu_load_mnist();
    augment_policy = "translation,cutout,color"; /* resumes exactly too */
    gn_gan *a = make_gan(50, GN_LOSS_HINGE), *b;
    gn_step_stats st;
    for (int i = 0; i < 3; i++) ck_assert_int_eq(gn_gan_iteration(a, &ds, &st), GN_OK);
    size_t n = gn_net_param_count(a->G);
    ck_assert(memcmp(gn_net_params(a->G), gn_net_params(a->G_ema), n * 4));
    char *tmp = tu_tmpdir(), path[4200];
    snprintf(path, sizeof path, "%s/ck.gnt", tmp);
    ck_assert_msg(gn_checkpoint_save(path, a, NULL, 0, NULL) == GN_OK, "%s", gn_last_error());
    gn_gan_config r;
    ck_assert_int_eq(gn_checkpoint_read_config(path, &r), GN_OK);
    ck_assert(r.ema == 50 && r.loss == GN_LOSS_HINGE && !strcmp(r.augment, augment_policy));
    ck_assert_int_eq(gn_gan_create(&b, &r), GN_OK);
    ck_assert_msg(gn_checkpoint_load(path, b, NULL, 0, NULL) == GN_OK, "%s", gn_last_error());
    ck_assert(!memcmp(gn_net_params(a->G_ema), gn_net_params(b->G_ema), n * 4));
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(gn_gan_iteration(a, &ds, &st), GN_OK);
        ck_assert_int_eq(gn_gan_iteration(b, &ds, &st), GN_OK);
    }
    ck_assert_msg(!memcmp(gn_net_params(a->G_ema), gn_net_params(b->G_ema), n * 4),
                  "G_ema differs after resuming");
    ck_assert(!memcmp(gn_net_params(a->G), gn_net_params(b->G), n * 4));
    gn_gan_free(b);

    augment_policy = "";
    /* a run without the average, resumed into a GAN with one */
    gn_gan *c = make_gan(0, GN_LOSS_HINGE);
    ck_assert_int_eq(gn_gan_iteration(c, &ds, &st), GN_OK);
    ck_assert_int_eq(gn_checkpoint_save(path, c, NULL, 0, NULL), GN_OK);
    ck_assert_int_eq(gn_checkpoint_load(path, a, NULL, 0, NULL), GN_OK);
    ck_assert(!memcmp(gn_net_params(a->G), gn_net_params(a->G_ema), n * 4));
    ck_assert(!memcmp(gn_net_params(c->G), gn_net_params(a->G_ema), n * 4));

    /* a non-finite average is refused, naming its section */
    gn_net_params(a->G_ema)[n / 2] = INFINITY;
    ck_assert_int_eq(gn_checkpoint_save(path, a, NULL, 0, NULL), GN_OK);
    ck_assert_int_eq(gn_checkpoint_load(path, a, NULL, 0, NULL), GN_ERR_NONFINITE);
    ck_assert_msg(strstr(gn_last_error(), "G weight average"), "%s", gn_last_error());
    gn_gan_free(a);
    gn_gan_free(c);
    gn_dataset_free(&ds);
    free(tmp);
}
END_TEST

/* The hinge loss changes training (D's and G's losses), and every value stays finite. */
START_TEST(hinge_trains_differently) {
    gn_dataset ds = tu_load_mnist();
    gn_gan *ce = make_gan(0, GN_LOSS_CROSS_ENTROPY), *hi = make_gan(0, GN_LOSS_HINGE);
    gn_step_stats a, b;
    ck_assert_int_eq(gn_gan_iteration(ce, &ds, &a), GN_OK);
    ck_assert_int_eq(gn_gan_iteration(hi, &ds, &b), GN_OK);
    ck_assert_msg(a.d_loss != b.d_loss && a.g_loss != b.g_loss, "hinge left the losses alone");
    ck_assert(isfinite(b.d_loss) && isfinite(b.g_loss) && b.d_loss >= 0);
    size_t n = gn_net_param_count(ce->D);
    ck_assert(memcmp(gn_net_params(ce->D), gn_net_params(hi->D), n * 4));
    gn_gan_free(ce);
    gn_gan_free(hi);
    gn_dataset_free(&ds);
}
END_TEST

/* The command line: a run with --ema stopped and resumed writes the same
 * losses and the same sample grid (drawn by G_ema) as one that never stopped. */
static char *read_text(const char *dir, const char *name, size_t *len) {
    char p[8400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 22);
    *len = fread(buf, 1, (1 << 22) - 1, f);
    fclose(f);
    return buf;
}

/* losses.csv without its elapsed-seconds column (the sixth). */
static void drop_elapsed(char *csv) {
    char *o = csv;
    int col = 0;
    for (char *c = csv; *c; c++) {
        if (*c == '\n') col = -1;
        if (*c == ',' || *c == '\n') col++;
        if (col == 5 && *c != ',') continue;
        *o++ = *c;
    }
    *o = 0;
}

START_TEST(ema_run_resumes_exactly_from_the_command_line) {
    char *tmp = tu_tmpdir(), cmd[8192], out[16384], da[4200], db[4200];
    const char *common = "--preset dcgan --batch 4 --plot-every 2 --threads 2 --seed 5 --ema 200 "
                         "--loss hinge --progress lines";
    tu_train_whole_and_resumed(common, tmp);
    snprintf(da, sizeof da, "%s/a", tmp);
    snprintf(db, sizeof db, "%s/b", tmp);
    const char *files[] = {"losses.csv", "samples/iter_000004.png"};
    for (int i = 0; i < 2; i++) {
        size_t la, lb;
        char *a = read_text(da, files[i], &la), *b = read_text(db, files[i], &lb);
        ck_assert_msg(a && b, "%s missing", files[i]);
        if (!i) {
            drop_elapsed(a);
            drop_elapsed(b);
            la = strlen(a);
            lb = strlen(b);
        }
        ck_assert_msg(la == lb && !memcmp(a, b, la), "%s differs after resuming:\n%s\n%s", files[i],
                      i ? "" : a, i ? "" : b);
        free(a);
        free(b);
    }
    snprintf(cmd, sizeof cmd, "%s sample --checkpoint %s/a --n 4 --out %s/s.png", tu_gannet_bin(), tmp, tmp);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    free(tmp);
}
END_TEST

/* Spectral normalisation: training forwards run the power iteration (sigma
 * converges to W's largest singular value, found here by a long power
 * iteration in double); inference divides by the stored sigma, whatever it is. */
START_TEST(spectral_norm_sigma_and_inference) {
    const int I = 6, O = 4;
    gn_net *net = gn_net_new("sn", (gn_shape){1, 1, I});
    gn_net_add_dense(net, O);
    gn_net_spectral_norm(net);
    ck_assert_msg(gn_net_build(net, GN_INIT_GLOROT_UNIFORM, 3) == GN_OK, "%s", gn_last_error());
    ck_assert_int_eq(gn_net_state_count(net), O + 1);
    float *w = gn_net_params(net), *b = gn_net_params(net) + O * I, *st = gn_net_state(net);
    for (int o = 0; o < O; o++) b[o] = 0.25f * (float)o;
    gn_net_params_changed(net);
    double v[6] = {1, 1, 1, 1, 1, 1}, top = 0;
    for (int it = 0; it < 500; it++) { /* v <- W^T W v */
        double u[4], nv = 0;
        for (int o = 0; o < O; o++) {
            u[o] = 0;
            for (int i = 0; i < I; i++) u[o] += w[o * I + i] * v[i];
        }
        for (int i = 0; i < I; i++) {
            v[i] = 0;
            for (int o = 0; o < O; o++) v[i] += w[o * I + i] * u[o];
            nv += v[i] * v[i];
        }
        for (int i = 0; i < I; i++) v[i] /= sqrt(nv);
        top = 0;
        for (int o = 0; o < O; o++) top += u[o] * u[o];
        top = sqrt(top);
    }
    float x[6] = {0.5f, -1, 0.25f, 2, -0.75f, 1};
    gn_tensor xt = gn_tensor_f32(x, 1, (gn_shape){1, 1, I});
    const gn_tensor *y;
    for (int it = 0; it < 100; it++) ck_assert_int_eq(gn_net_forward(net, &xt, GN_TRAIN, 1, 0, &y), GN_OK);
    ck_assert_msg(fabs(st[O] - top) < 1e-4 * top, "sigma %g, largest singular value %g", st[O], top);
    st[O] = 2.5f; /* inference reads the stored sigma */
    ck_assert_int_eq(gn_net_forward(net, &xt, GN_INFER, 1, 0, &y), GN_OK);
    for (int o = 0; o < O; o++) {
        double want = b[o];
        for (int i = 0; i < I; i++) want += w[o * I + i] / 2.5 * x[i];
        ck_assert_msg(fabs(((float *)y->data)[o] - want) < 1e-5, "output %d: %g, want %g", o,
                      ((float *)y->data)[o], want);
    }
    gn_net_free(net);

    net = gn_net_new("sn", (gn_shape){1, 1, I});
    gn_net_add_relu(net);
    gn_net_spectral_norm(net);
    ck_assert_int_eq(gn_net_build(net, GN_INIT_GLOROT_UNIFORM, 3), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), "spectral normalisation"), "%s", gn_last_error());
    gn_net_free(net);
}
END_TEST

/* sn=1 in a model file: the layer's state holds u and sigma; sn=2 is refused. */
START_TEST(spectral_norm_in_model_files) {
    const char *text = "[settings]\nnoise = normal\n[generator]\ninput 4\ndense 16 sn=1\n"
                       "reshape 4 4 1\nconv2d 1 kernel=3 sn=1\n"
                       "[discriminator]\ninput 4 4 1\nconv2d 3 kernel=3 stride=2 sn=1\nflatten\n"
                       "dense 2 sn=1\nsoftmax\n";
    gn_model *m;
    ck_assert_msg(gn_model_parse("t.gnm", text, strlen(text), &m) == GN_OK, "%s", gn_last_error());
    gn_net *G, *D;
    ck_assert_msg(gn_model_build(m, 1, &G, &D) == GN_OK, "%s", gn_last_error());
    gn_model_free(m);
    ck_assert_int_eq(gn_net_state_count(G), (16 + 1) + (1 + 1));
    ck_assert_int_eq(gn_net_state_count(D), (3 + 1) + (2 + 1));
    char desc[128];
    gn_net_layer_desc(D, 0, desc, sizeof desc);
    ck_assert_msg(strstr(desc, " sn"), "%s", desc);
    gn_net_free(G);
    gn_net_free(D);
    const char *bad = "[generator]\ninput 4\ndense 16 sn=2\n[discriminator]\ninput 4\ndense 2\n";
    ck_assert_int_eq(gn_model_parse("bad.gnm", bad, strlen(bad), &m), GN_ERR_FORMAT);
    ck_assert_msg(strstr(gn_last_error(), "sn"), "%s", gn_last_error());
}
END_TEST

/* The augmentation's draws: the same key gives the same images at any
 * thread count, another key others; a translation brings zeros in at one
 * side only, a cutout zeroes a square of half the side. */
START_TEST(augmentation_draws) {
    gn_shape s = {8, 8, 1};
    int n = 16;
    size_t N = (size_t)n * 64;
    float *x = malloc(N * 4), *a = malloc(N * 4), *b = malloc(N * 4), *tmp = malloc(N * 4);
    for (size_t i = 0; i < N; i++) x[i] = 1.0f + (float)(i % 7);
    omp_set_num_threads(1);
    gn_augment_forward(GN_AUG_COLOR | GN_AUG_TRANSLATION | GN_AUG_CUTOUT, a, x, tmp, n, s, 3, 10);
    omp_set_num_threads(2);
    gn_augment_forward(GN_AUG_COLOR | GN_AUG_TRANSLATION | GN_AUG_CUTOUT, b, x, tmp, n, s, 3, 10);
    ck_assert(!memcmp(a, b, N * 4));
    gn_augment_forward(GN_AUG_COLOR | GN_AUG_TRANSLATION | GN_AUG_CUTOUT, b, x, tmp, n, s, 3, 11);
    ck_assert(memcmp(a, b, N * 4));
    int shifted = 0;
    gn_augment_forward(GN_AUG_CUTOUT, a, x, tmp, n, s, 3, 10);
    gn_augment_forward(GN_AUG_TRANSLATION, b, x, tmp, n, s, 3, 10);
    for (int i = 0; i < n; i++) {
        int zeros = 0, zb = 0, rows[8] = {0}, cols[8] = {0};
        for (int k = 0; k < 64; k++) {
            if (a[i * 64 + k] == 0) {
                zeros++;
                rows[k / 8] = cols[k % 8] = 1;
            } else {
                ck_assert(a[i * 64 + k] == x[i * 64 + k]);
            }
            zb += b[i * 64 + k] == 0;
        }
        int nr = 0, nc = 0;
        for (int k = 0; k < 8; k++) nr += rows[k], nc += cols[k];
        ck_assert_msg(zeros == nr * nc && nr >= 2 && nr <= 4 && nc >= 2 && nc <= 4,
                      "image %d: a cutout of %d pixels over %d rows and %d columns", i, zeros, nr, nc);
        /* a shift of at most one pixel each way (1/8 of 8): whole rows or columns of zeros */
        ck_assert_msg(zb == 0 || zb == 8 || zb == 15, "image %d: %d zeros after a translation", i, zb);
        shifted += zb > 0;
    }
    ck_assert_msg(shifted > 0 && shifted < n, "%d of %d images moved", shifted, n);
    free(x);
    free(a);
    free(b);
    free(tmp);
}
END_TEST

/* The G step's image gradient goes back through the augmentation: G's
 * parameter gradient from one G step matches central differences of the
 * step's loss (G's last layer: its bias and a few weights), and differs from
 * the gradient without augmentation. */
static float g_step_loss(gn_gan *gan, float *grads) { return tu_gan_step_loss(gan, NULL, 0, 3, grads); }

START_TEST(augmentation_gradient_reaches_g) {
    augment_policy = "color,translation,cutout";
    gn_gan *gan = make_gan(0, GN_LOSS_HINGE);
    augment_policy = "";
    gn_gan *plain = make_gan(0, GN_LOSS_HINGE);
    size_t n = gn_net_param_count(gan->G), wn, bn;
    float *g = malloc(n * 4), *g0 = malloc(n * 4);
    g_step_loss(gan, g);
    g_step_loss(plain, g0);
    ck_assert_msg(memcmp(g, g0, n * 4), "augmentation left G's gradient alone");
    int last = gn_net_layer_count(gan->G) - 2; /* the deconvolution before tanh */
    float *w = gn_net_layer_weights(gan->G, last, &wn), *b = gn_net_layer_bias(gan->G, last, &bn);
    float *probe[4] = {b, w, w + wn / 3, w + wn / 2};
    for (int k = 0; k < 4; k++) {
        size_t at = (size_t)(probe[k] - gn_net_params(gan->G));
        float keep = *probe[k], h = 1e-3f;
        *probe[k] = keep + h;
        gn_net_params_changed(gan->G);
        double lp = g_step_loss(gan, NULL);
        *probe[k] = keep - h;
        gn_net_params_changed(gan->G);
        double lm = g_step_loss(gan, NULL);
        *probe[k] = keep;
        gn_net_params_changed(gan->G);
        double fd = (lp - lm) / (2 * h);
        /* D's LeakyReLU kinks within the step leave a few percent (as without augmentation) */
        ck_assert_msg(fabs(fd - g[at]) <= 0.1 * fmax(fabs(fd), fabs(g[at])) + 1e-3,
                      "parameter %zu: gradient %g, differences %g", at, g[at], fd);
    }
    /* the D step: D reads all 2B images (real and generated) augmented, keyed 4 key */
    gn_dataset ds = tu_load_mnist();
    gn_step_stats st;
    ck_assert_int_eq(gn_gan_d_step(gan, &ds, 1, 1, 5, &st), GN_OK);
    gn_shape is = gn_net_output_shape(gan->G);
    size_t all = 2 * (size_t)gan->cfg.batch * gn_shape_size(is);
    float *want = malloc(all * 4), *tmp = malloc(all * 4);
    gn_augment_forward(gan->augment, want, gan->images, tmp, 2 * gan->cfg.batch, is, gan->cfg.seed, 4 * 5);
    ck_assert_msg(!memcmp(want, gan->aug_x, all * 4), "D did not see [real; fake] augmented");
    ck_assert(memcmp(want, gan->images, all * 4));
    free(want);
    free(tmp);
    gn_dataset_free(&ds);
    free(g);
    free(g0);
    gn_gan_free(gan);
    gn_gan_free(plain);
}
END_TEST

START_TEST(bad_quality_options) {
    tu_gannet_expect("train --loss hinge --label-smoothing 0.1 --iters 1", 2, "--label-smoothing");
    tu_gannet_expect("train --loss squared", 2, "is not one of crossentropy, hinge");
    tu_gannet_expect("train --ema -1", 2, "--ema");
    tu_gannet_expect("train --ema nan", 2, "--ema");
    tu_gannet_expect("train --augment color,flip --iters 1", 2, "'flip' is not one of color");
    tu_gannet_expect("train --augment cutout,cutout --iters 1", 2, "cutout is given twice");
    tu_gannet_expect("train --augment none,color --iters 1", 2, "'none' is not one of color");
    unsigned mask = 1;
    ck_assert(gn_augment_parse("none", &mask) == GN_OK && mask == 0);
    ck_assert(gn_augment_parse("", &mask) == GN_OK && mask == 0);
    ck_assert(gn_augment_parse("translation", &mask) == GN_OK && mask == GN_AUG_TRANSLATION);
}
END_TEST

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    Suite *s = suite_create("quality");
    TCase *tc = tcase_create("quality");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, ema_update_follows_its_formula);
    tcase_add_test(tc, ema_checkpoint_resumes_exactly);
    tcase_add_test(tc, hinge_trains_differently);
    tcase_add_test(tc, ema_run_resumes_exactly_from_the_command_line);
    tcase_add_test(tc, spectral_norm_sigma_and_inference);
    tcase_add_test(tc, spectral_norm_in_model_files);
    tcase_add_test(tc, augmentation_draws);
    tcase_add_test(tc, augmentation_gradient_reaches_g);
    tcase_add_test(tc, bad_quality_options);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
