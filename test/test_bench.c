/* The bench commands run and print what their documentation promises: a
 * table per layer with measured peak, every kernel on every ISA, and a step
 * breakdown whose last line has the fixed form scripts read. (Speed itself
 * is shown by running them, not by tests.) */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/net.h"
#include "gannet/gan.h"
#include "util.h"

static char out[1 << 18];

/* The last non-empty line of s, copied into line. */
static void last_line(const char *s, char *line, size_t cap) {
    size_t n = strlen(s);
    while (n && s[n - 1] == '\n') n--;
    size_t start = n;
    while (start && s[start - 1] != '\n') start--;
    size_t len = n - start < cap - 1 ? n - start : cap - 1;
    memcpy(line, s + start, len);
    line[len] = 0;
}

START_TEST(step_prints_breakdown_and_last_line) {
    char cmd[1024], line[256];
    snprintf(cmd, sizeof cmd, "%s bench step --batch 8 --iters 2 --warmup 1", tu_gannet_bin());
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "D forward + backward (2B)") && strstr(out, "G step") &&
                      strstr(out, "total (mean)") && strstr(out, "peak memory (RSS):"),
                  "breakdown missing: %s", out);
    last_line(out, line, sizeof line);
    double ms = 0, sps = 0;
    char tail[16] = "";
    int got = sscanf(line, "step: %lf ms/iter, %lf samples/%15s", &ms, &sps, tail);
    ck_assert_msg(got == 3 && !strcmp(tail, "s") && ms > 0 && sps > 0, "last line: '%s'", line);
    /* samples/s counts the B samples of one iteration; both figures are
     * printed rounded (samples/s to one decimal: 0.05 either way) */
    double want = 8000.0 / ms;
    ck_assert_msg(fabs(sps - want) <= 0.01 * want + 0.05, "'%s' does not add up (B / ms/iter = %.3f)", line,
                  want);

    snprintf(cmd, sizeof cmd, "%s bench step --batch 8 --iters 1 --warmup 0 --json", tu_gannet_bin());
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "\"samples_per_s\"") && strstr(out, "\"peak_rss_mib\"") &&
                      strstr(out, "\"passes_ms\""),
                  "json: %s", out);
}
END_TEST

START_TEST(layers_lists_every_layer) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s bench layers --batch 4 --iters 1 --warmup 0", tu_gannet_bin());
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "measured fp32 FMA peak") != NULL, "%s", out);
    gn_net *G, *D;
    ck_assert_int_eq(gn_preset_build("seed-mnist", 1, &G, &D), GN_OK);
    /* one row per layer, "G   i ..." then "D   i ..." */
    gn_net *nets[2] = {G, D};
    const char *tag[2] = {"G", "D"};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < gn_net_layer_count(nets[k]); i++) {
            char row[32];
            snprintf(row, sizeof row, "\n%s %3d ", tag[k], i);
            ck_assert_msg(strstr(out, row) != NULL, "no row for %s layer %d:\n%s", tag[k], i, out);
        }
    gn_net_free(G);
    gn_net_free(D);
}
END_TEST

/* --image-size and --channels: the preset as train picks it for such data
 * (dcgan-32x32x3.gnm: D ends in one logit, D benched at B as it has batch
 * norm); a preset without a file for the shape is refused. */
START_TEST(a_preset_at_another_image_shape) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s bench layers --preset dcgan --image-size 32 --channels 3 --batch 2 --iters 1 "
             "--warmup 0", tu_gannet_bin());
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "images 32x32x3, G at batch 2, D at 2,") && strstr(out, "\nG  10 ") &&
                      strstr(out, "\nD   8 Conv2D 4x4/1 valid no-bias") && strstr(out, "1x1x1"),
                  "%s", out);
    snprintf(cmd, sizeof cmd, "%s bench step --preset dcgan --image-size 32 --channels 3 --batch 2 --iters 1 "
             "--warmup 0", tu_gannet_bin());
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0 && strstr(out, "images 32x32x3, fp32, batch 2"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s bench step --preset seed-mnist --image-size 64 --channels 3", tu_gannet_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "preset seed-mnist takes 28x28x1"), "%s", out);
}
END_TEST

START_TEST(kernels_times_every_isa) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s bench kernels --iters 1 --kernel channel_affine", tu_gannet_bin());
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "channel_affine") && strstr(out, " ref "), "%s", out);
    snprintf(cmd, sizeof cmd, "%s bench kernels --kernel no_such_kernel", tu_gannet_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
}
END_TEST

START_TEST(bad_options_exit_2) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s bench step --batch 0", tu_gannet_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s bench layers --preset nope", tu_gannet_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s bench nothing", tu_gannet_bin());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out), 2);
}
END_TEST

int main(void) {
    Suite *s = suite_create("bench");
    TCase *tc = tcase_create("bench");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, step_prints_breakdown_and_last_line);
    tcase_add_test(tc, layers_lists_every_layer);
    tcase_add_test(tc, a_preset_at_another_image_shape);
    tcase_add_test(tc, kernels_times_every_isa);
    tcase_add_test(tc, bad_options_exit_2);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
