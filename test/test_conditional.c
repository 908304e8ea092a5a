/* Class-conditional GANs (classes = K, docs/quality.md): G's last K inputs
 * are the one-hot class, D gives one "real" logit per class and the loss
 * reads each image's own: the real images' labels, the fakes' classes from
 * their noise. The steps' losses against the same losses worked out here, and
 * their gradients against central differences of the steps' losses. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/gan.h"
#include "gannet/model.h"
#include "gannet/rng.h"
#include "gannet/train.h"
#include "util.h"
#include "util_net.h"

/* A small conditional model for the bundled digits: G (4 noise + 10 class
 * inputs) and D without batch norm, dropout or spectral normalisation, so
 * that a training forward is a function of the weights alone. */
static const char *tiny_model = "[settings]\n"
                                "classes = 10\n"
                                "noise = normal\n"
                                "pixel-range = [-1,1]\n"
                                "batch = 6\n"
                                "[generator]\n"
                                "input 14\n"
                                "dense 784\n"
                                "tanh\n"
                                "reshape 28 28 1\n"
                                "[discriminator]\n"
                                "input 28 28 1\n"
                                "conv2d 4 kernel=4 stride=4\n"
                                "leaky_relu 0.2\n"
                                "flatten\n"
                                "dense 10\n";


static gn_gan *make_gan(const char *text, gn_loss_kind loss) {
    gn_model *m;
    ck_assert_msg(gn_model_parse("tiny", text, strlen(text), &m) == GN_OK, "%s", gn_last_error());
    gn_gan_config c;
    gn_model_config(m, "tiny", &c);
    gn_model_free(m);
    c.model = text;
    c.loss = loss;
    c.seed = 7;
    gn_gan *gan;
    ck_assert_msg(gn_gan_create(&gan, &c) == GN_OK, "%s", gn_last_error());
    return gan;
}


/* The loss of one D step (is_d) or G step, its gradient into grads (when
 * not NULL); the network's weights and Adam's state are put back after. */
static float step_loss(gn_gan *gan, const gn_dataset *ds, int is_d, float *grads) {
    return tu_gan_step_loss(gan, ds, is_d, is_d ? 3 : 4, grads);
}

/* D's logits for n images. */
static const float *d_logits(gn_gan *gan, float *images, int n) {
    gn_tensor x = gn_tensor_f32(images, n, gn_net_input_shape(gan->D));
    const gn_tensor *y;
    ck_assert_int_eq(gn_net_forward(gan->D, &x, GN_TRAIN, gan->cfg.seed, 0, &y), GN_OK);
    return gn_net_logits(gan->D, n)->data;
}

/* The loss of a "real" logit z, for a real image or a fake, as D's step
 * (is_d) or G's computes it. */
static double loss_of(gn_loss_kind kind, int is_d, int real, double z) {
    if (!is_d) return kind == GN_LOSS_HINGE ? -z : log1p(exp(-z)); /* G: non-saturating */
    if (kind == GN_LOSS_HINGE) return fmax(0, real ? 1 - z : 1 + z);
    return real ? log1p(exp(-z)) : log1p(exp(z)); /* sigmoid cross-entropy, target 1 or 0 */
}

/* The central difference of the step's loss in parameter i, step h. */
static double central(gn_gan *gan, const gn_dataset *ds, int is_d, size_t i, float h) {
    gn_net *net = is_d ? gan->D : gan->G;
    float *q = gn_net_params(net) + i, keep = *q;
    *q = keep + h;
    double lp = step_loss(gan, ds, is_d, NULL);
    *q = keep - h;
    double lm = step_loss(gan, ds, is_d, NULL);
    *q = keep;
    gn_net_params_changed(net);
    return (lp - lm) / (2 * h);
}

/* Central differences of the step's loss for parameters at[0..count) of
 * the network (indices into its slab) against the step's gradient g. A
 * LeakyReLU kink within h of a parameter's value bends its difference: such
 * a parameter is checked again with a step 20 times smaller. */
static void check_grads(gn_gan *gan, const gn_dataset *ds, int is_d, const float *g, const size_t *at,
                        int count) {
    for (int k = 0; k < count; k++) {
        size_t i = at[k];
        double fd = central(gan, ds, is_d, i, 2e-3f);
        if (fabs(fd - g[i]) > 0.02 * fmax(fabs(fd), fabs(g[i])) + 2e-4) fd = central(gan, ds, is_d, i, 1e-4f);
        ck_assert_msg(fabs(fd - g[i]) <= 0.02 * fmax(fabs(fd), fabs(g[i])) + 2e-4,
                      "%s parameter %zu: gradient %g, differences %g", is_d ? "D" : "G", i, g[i], fd);
    }
}

/* The last K numbers of each noise vector are the one-hot of its index in
 * the stream modulo K; the others are the unconditional draws. */
START_TEST(noise_carries_the_class) {
    gn_gan *gan = make_gan(tiny_model, GN_LOSS_HINGE);
    int zd = gan->cfg.zdim, K = 10, n = 23;
    ck_assert_int_eq(zd, 14);
    float *z = malloc((size_t)n * zd * 4), *plain = malloc((size_t)n * zd * 4);
    uint64_t first = 37;
    gn_gan_noise(gan, z, n, GN_STREAM_SAMPLE, first * zd);
    gn_rng_fill_normal(plain, (size_t)n * zd, gan->cfg.seed, GN_STREAM_SAMPLE, first * zd, 0.0f, 1.0f);
    int count[10] = {0};
    for (int i = 0; i < n; i++) {
        int c = gn_gan_noise_label(gan, first * zd, i);
        ck_assert_int_eq(c, (int)((first + i) % K));
        count[c]++;
        for (int j = 0; j < zd; j++) {
            float want = j < zd - K ? plain[i * zd + j] : j - (zd - K) == c ? 1.0f : 0.0f;
            ck_assert_msg(z[i * zd + j] == want, "vector %d, number %d: %g, not %g", i, j, z[i * zd + j], want);
        }
    }
    for (int c = 0; c < K; c++) ck_assert(count[c] == 2 || count[c] == 3); /* 23 in turn */
    gn_gan_free(gan);
    /* an unconditional GAN's noise is the draws alone */
    gn_gan_config c;
    ck_assert_int_eq(gn_preset_config("mnist-quality", &c), GN_OK);
    c.batch = 2;
    ck_assert_int_eq(gn_gan_create(&gan, &c), GN_OK);
    ck_assert_int_eq(gn_gan_noise_label(gan, 0, 3), -1);
    free(z);
    free(plain);
    gn_gan_free(gan);
}
END_TEST

/* D's step: the real half carries the sampled images' labels, the fakes
 * their noise's classes; the loss reads each image's logit of its class, as
 * worked out here from D's logits, for both losses; the gradient matches
 * central differences in D's last layer (every class's row and bias). */
START_TEST(d_step_reads_each_images_class) {
    gn_dataset ds = tu_load_mnist();
    gn_loss_kind kinds[2] = {GN_LOSS_HINGE, GN_LOSS_CROSS_ENTROPY};
    for (int t = 0; t < 2; t++) {
        gn_gan *gan = make_gan(tiny_model, kinds[t]);
        int B = gan->cfg.batch, zd = gan->cfg.zdim, K = 10;
        size_t np = gn_net_param_count(gan->D), img = 28 * 28;
        float *g = malloc(np * 4);
        float loss = step_loss(gan, &ds, 1, g);
        /* the labels: the data's for the real half (the same draw), the noise's for the fakes */
        int *want = malloc(B * sizeof(int));
        float *x = malloc((size_t)B * img * 4);
        gn_dataset_sample_at(&ds, x, want, B, 0, B, gan->cfg.seed, 3, gan->cfg.range);
        ck_assert(!memcmp(x, gan->images, (size_t)B * img * 4));
        for (int i = 0; i < B; i++) {
            ck_assert_int_eq(gan->labels[i], want[i]);
            const float *onehot = gan->z + (size_t)i * zd + zd - K;
            ck_assert_msg(onehot[gan->labels[B + i]] == 1.0f, "fake %d: class %d is not its noise's", i,
                          gan->labels[B + i]);
        }
        /* the loss from the logits, each image's of its class */
        const float *l = d_logits(gan, gan->images, 2 * B);
        double sum = 0;
        for (int i = 0; i < 2 * B; i++) sum += loss_of(kinds[t], 1, i < B, l[i * K + gan->labels[i]]);
        ck_assert_msg(fabs(sum / (2 * B) - loss) < 1e-5, "loss %g, by hand %g", loss, sum / (2 * B));
        int last = gn_net_layer_count(gan->D) - 1;
        size_t wn, bn;
        float *w = gn_net_layer_weights(gan->D, last, &wn), *b = gn_net_layer_bias(gan->D, last, &bn);
        ck_assert_int_eq((int)bn, K);
        /* D's last layer, w: (K, 196): every class's bias and weights of every class's row */
        size_t at[50], in = wn / K, w0 = (size_t)(w - gn_net_params(gan->D)), b0 = (size_t)(b - gn_net_params(gan->D));
        for (int k = 0; k < 50; k++) at[k] = k < K ? b0 + k : w0 + (size_t)(k % K) * in + (size_t)(k * 37) % in;
        check_grads(gan, &ds, 1, g, at, 50);
        free(g);
        free(want);
        free(x);
        gn_gan_free(gan);
    }
    gn_dataset_free(&ds);
}
END_TEST

/* G's step: the fakes' classes come from their noise, D's logit of that
 * class makes the loss; G's gradient (through the picked logits and D)
 * matches central differences. */
START_TEST(g_step_reads_each_fakes_class) {
    gn_dataset ds = tu_load_mnist();
    gn_loss_kind kinds[2] = {GN_LOSS_HINGE, GN_LOSS_CROSS_ENTROPY};
    for (int t = 0; t < 2; t++) {
        gn_gan *gan = make_gan(tiny_model, kinds[t]);
        int B = gan->cfg.batch, zd = gan->cfg.zdim, K = 10;
        size_t np = gn_net_param_count(gan->G);
        float *g = malloc(np * 4);
        float loss = step_loss(gan, &ds, 0, g);
        uint64_t zoff = 4 * (uint64_t)B * zd;
        float *z = malloc((size_t)B * zd * 4), *x = malloc((size_t)B * 784 * 4);
        gn_gan_noise(gan, z, B, GN_STREAM_NOISE, zoff);
        ck_assert_int_eq(gn_gan_generate(gan, z, B, x), GN_OK); /* G has no batch norm: as in training */
        const float *l = d_logits(gan, x, B);
        double sum = 0;
        for (int i = 0; i < B; i++) {
            int c = gn_gan_noise_label(gan, zoff, i);
            ck_assert_int_eq(gan->labels[i], c);
            sum += loss_of(kinds[t], 0, 0, l[i * K + c]);
        }
        ck_assert_msg(fabs(sum / B - loss) < 1e-5, "loss %g, by hand %g", loss, sum / B);
        /* G's first layer, w: (784, 14): weights of every class input and of the noise */
        size_t wn, at[30];
        float *w = gn_net_layer_weights(gan->G, 0, &wn);
        size_t w0 = (size_t)(w - gn_net_params(gan->G));
        for (int k = 0; k < 30; k++) at[k] = w0 + (size_t)(k * 53 % 784) * zd + (k < 20 ? zd - K + k % K : k % (zd - K));
        check_grads(gan, &ds, 0, g, at, 30);
        free(g);
        free(z);
        free(x);
        gn_gan_free(gan);
    }
    gn_dataset_free(&ds);
}
END_TEST

/* The command line: the shipped conditional recipe stopped and resumed
 * draws the same sample grid as a run that never stopped; gannet sample
 * draws from it, and gannet eval scores it with the share of samples in the
 * class asked for. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 22);
    *len = fread(buf, 1, (1 << 22) - 1, f);
    fclose(f);
    return buf;
}

START_TEST(conditional_run_resumes_exactly) {
    char *tmp = tu_tmpdir(), cmd[8192], out[16384], p[8400], q[8400];
    const char *common = "--preset mnist-cond --batch 4 --plot-every 2 --threads 2 --seed 5 --progress lines";
    tu_train_whole_and_resumed(common, tmp);
    snprintf(p, sizeof p, "%s/a/samples/iter_000004.png", tmp);
    snprintf(q, sizeof q, "%s/b/samples/iter_000004.png", tmp);
    size_t la = 0, lb = 0;
    char *a = read_file(p, &la), *b = read_file(q, &lb);
    ck_assert_msg(a && b && la == lb && !memcmp(a, b, la), "the grids differ after resuming");
    free(a);
    free(b);
    snprintf(cmd, sizeof cmd, "%s sample --checkpoint %s/a --n 10 --out %s/s.png", tu_gannet_bin(), tmp, tmp);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    /* gannet eval says how many samples are of the class asked for */
    snprintf(cmd, sizeof cmd, "%s eval --checkpoint %s/a --n 20", tu_gannet_bin(), tmp);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "in the class asked for (%)"), "%s", out);
    free(tmp);
}
END_TEST

/* A conditional model needs labels, classes that fit them and a D head of
 * one logit per class. */
START_TEST(conditional_needs_labels_and_a_head) {
    char *tmp = tu_tmpdir(), ip[1024], lp[1024], cmd[8192], out[16384];
    gn_default_mnist_paths(ip, sizeof ip, lp, sizeof lp);
    /* images under another name: no labels beside them */
    snprintf(cmd, sizeof cmd, "cp %s %s/digits.gz && cp %s %s/d-images-idx3-ubyte.gz", ip, tmp, ip, tmp);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s train --preset mnist-cond --iters 1 --batch 2 --data %s/digits.gz --out %s/r1",
             tu_gannet_bin(), tmp, tmp);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "class-conditional") && strstr(out, "needs the labels"), "%s", out);
    /* MNIST's naming: X-labels-idx1-ubyte.gz beside X-images-idx3-ubyte.gz */
    snprintf(cmd, sizeof cmd, "%s train --preset mnist-cond --iters 1 --batch 2 --data %s/d-images-idx3-ubyte.gz "
             "--out %s/r2", tu_gannet_bin(), tmp, tmp);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "cp %s %s/d-labels-idx1-ubyte.gz", lp, tmp);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s train --preset mnist-cond --iters 1 --batch 2 --data %s/d-images-idx3-ubyte.gz "
             "--out %s/r3", tu_gannet_bin(), tmp, tmp);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    /* labels beyond the classes: a model of 5 classes on the digits */
    char model[2048];
    snprintf(model, sizeof model, "%s", tiny_model);
    char *k = strstr(model, "classes = 10"), *d = strstr(model, "dense 10\n");
    k[10] = ' ', k[11] = '5'; /* "classes =  5" */
    memcpy(d, "dense  5", 8);
    char *hi = strstr(model, "input 14");
    memcpy(hi, "input  9", 8);
    snprintf(cmd, sizeof cmd, "%s/five.gnm", tmp);
    ck_assert_int_eq(tu_write_file(cmd, model, strlen(model)), 0);
    snprintf(cmd, sizeof cmd, "%s train --model %s/five.gnm --iters 1 --out %s/r4", tu_gannet_bin(), tmp, tmp);
    ck_assert_int_ne(tu_run(cmd, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "labels-idx1-ubyte.gz: image ") && strstr(out, "5 classes"), "%s", out);
    /* ... and by the D step itself, for a caller of the library */
    gn_dataset ds = tu_load_mnist();
    memset(ds.labels, 12, ds.n);
    gn_gan *gan = make_gan(tiny_model, GN_LOSS_HINGE);
    gn_step_stats st;
    ck_assert_int_eq(gn_gan_d_step(gan, &ds, 0, 0, 0, &st), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), "has label 12"), "%s", gn_last_error());
    gn_gan_free(gan);
    gn_dataset_free(&ds);
    /* D's head: one logit per class; G: more inputs than classes */
    const char *bad[][2] = {{"dense 10\n", "dense 2\n"}, {"input 14\n", "input 10\n"}};
    const char *says[] = {"one per class", "more inputs than the 10 classes"};
    for (int i = 0; i < 2; i++) {
        char text[2048];
        const char *at = strstr(tiny_model, bad[i][0]);
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - tiny_model), tiny_model, bad[i][1],
                 at + strlen(bad[i][0]));
        gn_model *m;
        gn_net *G, *D;
        ck_assert_int_eq(gn_model_parse("bad", text, strlen(text), &m), GN_OK);
        ck_assert_int_ne(gn_model_build(m, 1, &G, &D), GN_OK);
        ck_assert_msg(strstr(gn_last_error(), says[i]), "%s", gn_last_error());
        gn_model_free(m);
    }
    tu_gannet_expect("train --preset mnist-cond --reduce-slices 2 --iters 1", 2, "--reduce-slices");
    const char *dd = getenv("GANNET_DATA_DIR");
    snprintf(cmd, sizeof cmd, "check-model %s/models/mnist-cond.gnm", dd ? dd : "data");
    tu_gannet_expect(cmd, 0, "noise size 100 and 10 classes)");
    free(tmp);
}
END_TEST

int main(void) {
    Suite *s = suite_create("conditional");
    TCase *tc = tcase_create("conditional");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, noise_carries_the_class);
    tcase_add_test(tc, d_step_reads_each_images_class);
    tcase_add_test(tc, g_step_reads_each_fakes_class);
    tcase_add_test(tc, conditional_run_resumes_exactly);
    tcase_add_test(tc, conditional_needs_labels_and_a_head);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
