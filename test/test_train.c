/* Training end to end: the GAN step's contracts through the library, and
 * `gannet train` / `gannet sample` through the command line. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gannet/checkpoint.h"
#include "gannet/gan.h"
#include "gannet/rng.h"
#include "gannet/train.h"
#include "util.h"
#include "util_net.h"

static int exists(const char *dir, const char *name) {
    char p[8400];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 && st.st_size > 0;
}


/* D's cross-entropy and accuracy on a fixed batch of real and generated images (inference mode). */
static void d_score(gn_gan *gan, const float *x, int n2, float *loss, float *acc) {
    gn_tensor xt = gn_tensor_f32((float *)x, n2, (gn_shape){28, 28, 1});
    const gn_tensor *p;
    ck_assert_int_eq(gn_net_forward(gan->D, &xt, GN_INFER, 1, 0, &p), GN_OK);
    const float *l = gn_net_logits(gan->D, n2)->data;
    float *t = calloc((size_t)n2 * 2, sizeof(float));
    int right = 0;
    for (int i = 0; i < n2; i++) {
        int real = i < n2 / 2;
        t[2 * i + real] = 1;
        right += (l[2 * i + 1] > l[2 * i]) == real;
    }
    *loss = gn_softmax_cross_entropy(l, t, n2, 2, NULL);
    *acc = (float)right / n2;
    free(t);
}

START_TEST(d_steps_raise_d_accuracy) {
    gn_dataset ds = tu_load_mnist();
    gn_gan_config c;
    gn_preset_config("seed-mnist", &c);
    c.batch = 16;
    gn_gan *gan;
    ck_assert_msg(gn_gan_create(&gan, &c) == GN_OK, "%s", gn_last_error());
    /* a fixed batch: 16 real images and 16 fakes of fixed noise */
    float *x = malloc(32 * 784 * sizeof(float)), *z = malloc(16 * 100 * sizeof(float));
    gn_dataset_sample(&ds, x, NULL, 16, 99, 0, GN_RANGE_01);
    gn_gan_noise(gan, z, 16, GN_STREAM_SAMPLE, 0);
    ck_assert_int_eq(gn_gan_generate(gan, z, 16, x + 16 * 784), GN_OK);
    float l0, a0, l1, a1;
    d_score(gan, x, 32, &l0, &a0);
    gn_step_stats st = {0};
    for (int k = 0; k < 8; k++) ck_assert_int_eq(gn_gan_d_step(gan, &ds, k, k, k, &st), GN_OK);
    d_score(gan, x, 32, &l1, &a1);
    printf("D on a fixed batch: loss %.4f -> %.4f, accuracy %.3f -> %.3f\n", l0, l1, a0, a1);
    ck_assert_msg(l1 < l0 - 0.05f, "D loss did not fall: %f -> %f", l0, l1);
    ck_assert_msg(a1 >= a0 && a1 >= 0.9f, "D accuracy %f -> %f", a0, a1);
    free(x);
    free(z);
    gn_gan_free(gan);
    gn_dataset_free(&ds);
}
END_TEST

START_TEST(g_step_leaves_d_untouched) {
    gn_gan_config c;
    gn_preset_config("seed-mnist", &c);
    c.batch = 8;
    gn_gan *gan;
    ck_assert_int_eq(gn_gan_create(&gan, &c), GN_OK);
    size_t nd = gn_net_param_count(gan->D), ng = gn_net_param_count(gan->G);
    float *d0 = malloc(nd * 4), *g0 = malloc(ng * 4);
    memcpy(d0, gn_net_params(gan->D), nd * 4);
    memcpy(g0, gn_net_params(gan->G), ng * 4);
    /* (G and D share one gradient slab; that a frozen backward writes no
     * parameter gradients is test_net's frozen_backward_writes_no_gradients) */
    gn_step_stats st = {0};
    ck_assert_int_eq(gn_gan_g_step(gan, 0, 0, &st), GN_OK);
    ck_assert_msg(memcmp(d0, gn_net_params(gan->D), nd * 4) == 0, "a G step changed D's weights");
    ck_assert_msg(memcmp(g0, gn_net_params(gan->G), ng * 4) != 0, "a G step left G unchanged");
    ck_assert(isfinite(st.g_loss));
    free(d0);
    free(g0);
    gn_gan_free(gan);
}
END_TEST

START_TEST(generator_losses_differ) {
    /* the three generator losses give different G updates from the same start */
    float first[3];
    for (int k = 0; k < 3; k++) {
        gn_gan_config c;
        gn_preset_config("dcgan", &c);
        c.batch = 8;
        c.g_loss = (gn_gen_loss)k;
        gn_gan *gan;
        ck_assert_int_eq(gn_gan_create(&gan, &c), GN_OK);
        gn_step_stats st = {0};
        ck_assert_int_eq(gn_gan_g_step(gan, 0, 0, &st), GN_OK);
        first[k] = gn_net_params(gan->G)[0];
        gn_gan_free(gan);
    }
    ck_assert(first[0] != first[1] && first[1] != first[2]);
}
END_TEST

/* Reads losses.csv without its elapsed column (the sixth). */
static char *csv_without_time(const char *dir) {
    char p[8400];
    snprintf(p, sizeof p, "%s/losses.csv", dir);
    FILE *f = fopen(p, "r");
    if (!f) return NULL;
    char *out = calloc(1, 1 << 20), line[512];
    while (fgets(line, sizeof line, f)) {
        int col = 0;
        size_t o = strlen(out);
        for (char *c = line; *c; c++) {
            if (*c == ',') col++;
            if (col == 5 && *c != ',') continue; /* drop the elapsed value, keep the commas */
            out[o++] = *c;
        }
        out[o] = 0;
    }
    fclose(f);
    return out;
}

START_TEST(train_writes_everything_and_resumes_exactly) {
    char *tmp = tu_tmpdir(), cmd[8192], out[16384];
    const char *common = "--preset seed-mnist --batch 8 --plot-every 3 --threads 2 --seed 7 --progress lines";
    snprintf(cmd, sizeof cmd, "%s train %s --iters 6 --out %s/a", tu_gannet_bin(), common, tmp);
    int rc = tu_run(cmd, out, sizeof out);
    ck_assert_msg(rc == 0, "train failed (%d): %s", rc, out);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/a", tmp);
    const char *files[] = {"losses.csv", "losses.png", "samples/iter_000003.png", "samples/iter_000006.png",
                           "real.png", "checkpoint.gnt", "config.json"};
    for (int i = 0; i < 7; i++) ck_assert_msg(exists(dir, files[i]), "%s was not written", files[i]);
    char *a = csv_without_time(dir);
    ck_assert_ptr_nonnull(a);
    int lines = 0;
    for (char *p = a; *p; p++) lines += *p == '\n';
    ck_assert_int_eq(lines, 7);
    ck_assert_msg(!strstr(a, "nan") && !strstr(a, "inf"), "non-finite losses:\n%s", a);

    /* the same run stopped after 3 iterations and resumed to 6 */
    snprintf(cmd, sizeof cmd, "%s train %s --iters 3 --out %s/b", tu_gannet_bin(), common, tmp);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s train --resume %s/b --iters 6 --progress lines", tu_gannet_bin(), tmp);
    rc = tu_run(cmd, out, sizeof out);
    ck_assert_msg(rc == 0, "resume failed (%d): %s", rc, out);
    snprintf(dir, sizeof dir, "%s/b", tmp);
    char *b = csv_without_time(dir);
    ck_assert_msg(b && !strcmp(a, b), "resumed losses differ:\n%s\nvs\n%s", a, b ? b : "(none)");

    /* gannet sample: an IDX file of u8 images and a PNG grid */
    snprintf(cmd, sizeof cmd, "%s sample --checkpoint %s/a --n 10 --out %s/s.idx", tu_gannet_bin(), tmp, tmp);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 0);
    char p[4200];
    snprintf(p, sizeof p, "%s/s.idx", tmp);
    gn_idx idx;
    ck_assert_msg(gn_idx_load(p, &idx) == GN_OK, "%s", gn_last_error());
    ck_assert_int_eq(idx.type, GN_IDX_U8);
    ck_assert_int_eq(idx.rank, 3);
    ck_assert_int_eq(idx.dims[0], 10);
    ck_assert_int_eq(idx.dims[1], 28);
    ck_assert_int_eq(idx.dims[2], 28);
    gn_idx_free(&idx);
    snprintf(cmd, sizeof cmd, "%s sample --checkpoint %s/a/checkpoint.gnt --n 5 --out %s/s.png", tu_gannet_bin(), tmp, tmp);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 0);
    ck_assert(exists(tmp, "s.png"));
    free(a);
    free(b);
    free(tmp);
}
END_TEST

/* What the resume tests start from: a GAN of c after 2 iterations on ds,
 * its checkpoint saved to path. */
static gn_gan *trained_and_saved(const gn_gan_config *c, const gn_dataset *ds, const char *path) {
    gn_gan *g;
    ck_assert_int_eq(gn_gan_create(&g, c), GN_OK);
    gn_step_stats st;
    for (int i = 0; i < 2; i++) ck_assert_int_eq(gn_gan_iteration(g, ds, &st), GN_OK);
    ck_assert_msg(gn_checkpoint_save(path, g, NULL, 0, NULL) == GN_OK, "%s", gn_last_error());
    return g;
}

/* A checkpoint taken mid-run (Adam step counts of G and D apart: --d-steps 2,
 * --d-pretrain 1) resumes exactly: settings, counters, moments, and the next
 * iteration bit for bit; a flipped byte is refused by its checksum. */
START_TEST(checkpoint_resumes_mid_run_exactly) {
    gn_dataset ds = tu_load_mnist();
    gn_gan_config c;
    gn_preset_config("dcgan", &c);
    c.batch = 4;
    c.d_steps = 2;
    c.d_pretrain = 1;
    c.label_smoothing = 0.1234567f;
    c.g_loss = GN_GLOSS_MINIMAX;
    char *tmp = tu_tmpdir(), path[4200];
    snprintf(path, sizeof path, "%s/ck.gnt", tmp);
    gn_gan *a = trained_and_saved(&c, &ds, path), *b;
    gn_step_stats st;

    gn_gan_config r;
    ck_assert_int_eq(gn_checkpoint_read_config(path, &r), GN_OK);
    ck_assert(r.batch == c.batch && r.d_steps == c.d_steps && r.d_pretrain == c.d_pretrain);
    ck_assert_msg(r.label_smoothing == c.label_smoothing, "smoothing %.9g", r.label_smoothing);
    ck_assert(r.g_loss == c.g_loss && r.g_lr == c.g_lr && r.d_lr == c.d_lr && r.seed == c.seed);
    ck_assert_int_eq(gn_gan_create(&b, &r), GN_OK);
    ck_assert_msg(gn_checkpoint_load(path, b, NULL, 0, NULL) == GN_OK, "%s", gn_last_error());
    ck_assert(b->iter == a->iter && b->d_pretrained == a->d_pretrained);
    ck_assert(b->og.t == a->og.t && b->od.t == a->od.t && a->og.t != a->od.t);
    size_t ng = gn_net_param_count(a->G), nd = gn_net_param_count(a->D);
    ck_assert(!memcmp(a->og.m, b->og.m, ng * 4) && !memcmp(a->og.v, b->og.v, ng * 4));
    ck_assert(!memcmp(a->od.m, b->od.m, nd * 4) && !memcmp(a->od.v, b->od.v, nd * 4));
    ck_assert_int_eq(gn_gan_iteration(a, &ds, &st), GN_OK);
    ck_assert_int_eq(gn_gan_iteration(b, &ds, &st), GN_OK);
    ck_assert_msg(!memcmp(gn_net_params(a->G), gn_net_params(b->G), ng * 4), "G differs after resuming");
    ck_assert_msg(!memcmp(gn_net_params(a->D), gn_net_params(b->D), nd * 4), "D differs after resuming");

    /* one byte flipped inside a section's payload */
    FILE *f = fopen(path, "r+b");
    ck_assert(f && !fseek(f, 0, SEEK_END));
    long at = ftell(f) / 2;
    ck_assert(!fseek(f, at, SEEK_SET));
    int byte = fgetc(f);
    ck_assert(!fseek(f, at, SEEK_SET) && fputc(byte ^ 0x10, f) != EOF && !fclose(f));
    ck_assert_int_eq(gn_checkpoint_load(path, b, NULL, 0, NULL), GN_ERR_FORMAT);
    ck_assert_msg(strstr(gn_last_error(), "checksum"), "%s", gn_last_error());
    gn_gan_free(a);
    gn_gan_free(b);
    gn_dataset_free(&ds);
    free(tmp);
}
END_TEST

/* bf16: a checkpoint (fp32 master weights, as always) resumes exactly, bit
 * for bit, in bf16; a run resumes in either precision (fp32 -> bf16 and
 * back), through the command line, where --precision may change on --resume;
 * a bf16 run's checkpoint samples in fp32, on any CPU. */
START_TEST(bf16_resumes_exactly_and_in_either_precision) {
    if (!tu_have_bf16()) return;
    gn_dataset ds = tu_load_mnist();
    gn_gan_config c;
    gn_preset_config("seed-mnist", &c);
    c.batch = 4;
    c.precision = GN_PRECISION_BF16;
    char *tmp = tu_tmpdir(), path[4200], cmd[8400], out[16384];
    snprintf(path, sizeof path, "%s/ck.gnt", tmp);
    gn_gan *a = trained_and_saved(&c, &ds, path), *b;
    gn_step_stats st;
    gn_gan_config r;
    ck_assert_int_eq(gn_checkpoint_read_config(path, &r), GN_OK);
    ck_assert_int_eq(r.precision, GN_PRECISION_BF16);
    ck_assert_int_eq(gn_gan_create(&b, &r), GN_OK);
    ck_assert_msg(gn_checkpoint_load(path, b, NULL, 0, NULL) == GN_OK, "%s", gn_last_error());
    size_t ng = gn_net_param_count(a->G), nd = gn_net_param_count(a->D);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(gn_gan_iteration(a, &ds, &st), GN_OK);
        ck_assert_int_eq(gn_gan_iteration(b, &ds, &st), GN_OK);
    }
    ck_assert_msg(!memcmp(gn_net_params(a->G), gn_net_params(b->G), ng * 4), "G differs after resuming");
    ck_assert_msg(!memcmp(gn_net_params(a->D), gn_net_params(b->D), nd * 4), "D differs after resuming");
    gn_gan_free(a);
    gn_gan_free(b);
    gn_dataset_free(&ds);

    const char *common = "--preset seed-mnist --batch 4 --plot-every 2 --threads 2 --progress lines";
    snprintf(cmd, sizeof cmd, "%s train %s --iters 2 --out %s/r", tu_gannet_bin(), common, tmp);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(cmd, sizeof cmd, "%s train --resume %s/r --iters 3 --precision bf16 --progress lines",
             tu_gannet_bin(), tmp);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "fp32 -> bf16: %s", out);
    /* its checkpoint says bf16; sampling runs in fp32, also on a CPU without bf16 */
    snprintf(cmd, sizeof cmd, "GANNET_CPU_NO_BF16=1 %s sample --checkpoint %s/r --n 2 --out %s/s.png",
             tu_gannet_bin(), tmp, tmp);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "sample of a bf16 run: %s", out);
    snprintf(cmd, sizeof cmd, "%s train --resume %s/r --iters 4 --precision fp32 --progress lines",
             tu_gannet_bin(), tmp);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "bf16 -> fp32: %s", out);
    snprintf(cmd, sizeof cmd, "GANNET_CPU_NO_BF16=1 %s train --resume %s/r --iters 5 --precision bf16",
             tu_gannet_bin(), tmp);
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "AVX512_BF16"), "%s", out);
    free(tmp);
}
END_TEST

/* losses.csv's columns hold the step's statistics: d_loss, g_loss, D(x), D(G(z)). */
START_TEST(csv_columns_hold_the_step_stats) {
    char *tmp = tu_tmpdir(), cmd[8192], out[16384];
    snprintf(cmd, sizeof cmd, "%s train --preset dcgan --batch 4 --iters 1 --seed 3 --threads 2 "
             "--progress lines --out %s/c", tu_gannet_bin(), tmp);
    int rc = tu_run(cmd, out, sizeof out);
    ck_assert_msg(rc == 0, "train failed (%d): %s", rc, out);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/c", tmp);
    char *csv = csv_without_time(dir);
    ck_assert_ptr_nonnull(csv);
    char *row = strchr(csv, '\n');
    ck_assert_ptr_nonnull(row);
    float v[4];
    ck_assert_int_eq(sscanf(row + 1, "1,%f,%f,%f,%f,", &v[0], &v[1], &v[2], &v[3]), 4);

    gn_dataset ds = tu_load_mnist();
    gn_gan_config c;
    gn_preset_config("dcgan", &c);
    c.batch = 4;
    c.seed = 3;
    gn_gan *gan;
    ck_assert_int_eq(gn_gan_create(&gan, &c), GN_OK);
    gn_step_stats st;
    ck_assert_int_eq(gn_gan_iteration(gan, &ds, &st), GN_OK);
    const float want[4] = {st.d_loss, st.g_loss, st.d_real, st.d_fake};
    for (int i = 0; i < 4; i++)
        ck_assert_msg(fabsf(v[i] - want[i]) <= 1e-6f, "column %d: %.6f in losses.csv, %.6f from the step",
                      i + 2, v[i], want[i]);
    gn_gan_free(gan);
    gn_dataset_free(&ds);
    free(csv);
    free(tmp);
}
END_TEST

START_TEST(eval_every_adds_scores) {
    char *tmp = tu_tmpdir(), cmd[8192], out[16384];
    snprintf(cmd, sizeof cmd, "%s train --preset dcgan --batch 8 --iters 4 --plot-every 2 --eval-every 2 "
             "--threads 2 --progress lines --out %s/e", tu_gannet_bin(), tmp);
    int rc = tu_run(cmd, out, sizeof out);
    ck_assert_msg(rc == 0, "train failed (%d): %s", rc, out);
    ck_assert_msg(strstr(out, "Inception Score"), "no scores printed: %s", out);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/e", tmp);
    ck_assert(exists(dir, "scores.png"));
    char *csv = csv_without_time(dir);
    /* rows 2 and 4 carry both scores (the last two columns), rows 1 and 3 leave them empty */
    char *line = strtok(csv, "\n");
    for (int row = 0; line; row++, line = strtok(NULL, "\n")) {
        if (row == 0) continue;
        size_t len = strlen(line);
        int empty = len > 1 && line[len - 1] == ',' && line[len - 2] == ',';
        ck_assert_msg(empty == (row % 2 == 1), "row %d: '%s'", row, line);
    }
    free(csv);
    free(tmp);
}
END_TEST

START_TEST(bad_options_and_checkpoints) {
    tu_gannet_expect("train --batch 0", 2, "--batch");
    tu_gannet_expect("train --batch abc", 2, "'abc' is not an integer");
    tu_gannet_expect("train --preset nope", 2, "--preset");
    tu_gannet_expect("train --g-lr -1", 2, "--g-lr");
    tu_gannet_expect("train --bogus", 2, "unknown option '--bogus'");
    tu_gannet_expect("train --iters", 2, "--iters needs a value");
    tu_gannet_expect("train stray", 2, "unexpected argument 'stray'");
    tu_gannet_expect("train --resume /nonexistent-run --batch 4", 2, "--batch cannot be changed");
    tu_gannet_expect("train --resume /nonexistent-run", 1, "cannot open checkpoint");
    tu_gannet_expect("train --data /nonexistent.idx --iters 1", 1, "/nonexistent.idx");
    tu_gannet_expect("sample --n 3 --out x.png", 2, "--checkpoint is required");
    tu_gannet_expect("sample --checkpoint /nonexistent.gnt --n 3 --out /tmp/x.png", 1, "cannot open checkpoint");
    tu_gannet_expect("sample --checkpoint x.gnt --out x.jpg", 2, "must end in .png");
    tu_gannet_expect("nosuchcommand", 2, "unknown command");
    tu_gannet_expect("info --preset nope", 2, "--preset");
    char *tmp = tu_tmpdir(), p[4200], args[8400];
    snprintf(p, sizeof p, "%s/bad.gnt", tmp);
    tu_write_file(p, "GANNETCK\x01\x00\x00\x00\x0c\x00\x00\x00", 16);
    snprintf(args, sizeof args, "sample --checkpoint %s --n 1 --out %s/x.png", p, tmp);
    tu_gannet_expect(args, 1, "truncated");
    tu_write_file(p, "NOTAGANNETFILE!!", 16);
    tu_gannet_expect(args, 1, "bad magic");
    free(tmp);
}
END_TEST

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, d_steps_raise_d_accuracy);
    tcase_add_test(tc, g_step_leaves_d_untouched);
    tcase_add_test(tc, generator_losses_differ);
    tcase_add_test(tc, train_writes_everything_and_resumes_exactly);
    tcase_add_test(tc, checkpoint_resumes_mid_run_exactly);
    tcase_add_test(tc, bf16_resumes_exactly_and_in_either_precision);
    tcase_add_test(tc, csv_columns_hold_the_step_stats);
    tcase_add_test(tc, eval_every_adds_scores);
    tcase_add_test(tc, bad_options_and_checkpoints);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
