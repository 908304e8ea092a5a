/* Data sets: minibatch sampling (ranges, exact pixel values, labels,
 * reproducibility) and slices, on the bundled MNIST sample and on small
 * synthetic sets. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/data.h"
#include "gannet/rng.h"
#include "util.h"

static gn_dataset mnist;

/* Loads the bundled MNIST sample once per test (each test runs in its own process). */
static void setup(void) {
    char ip[4096], lp[4096];
    gn_default_mnist_paths(ip, sizeof ip, lp, sizeof lp);
    ck_assert_msg(gn_dataset_load(ip, lp, &mnist) == GN_OK, "%s", gn_last_error());
}

/* Frees the sample. */
static void teardown(void) { gn_dataset_free(&mnist); }

START_TEST(test_sample_ranges_and_values) {
    size_t B = 64, D = 28 * 28;
    float *x = malloc(B * D * sizeof *x), *y = malloc(B * D * sizeof *y);
    int *lab = malloc(B * sizeof *lab);
    uint64_t seed = 17, step = 5;
    gn_dataset_sample(&mnist, x, lab, B, seed, step, GN_RANGE_01);
    gn_dataset_sample(&mnist, y, NULL, B, seed, step, GN_RANGE_PM1);
    float lo01 = 1, hi01 = 0, lo = 1, hi = -1;
    for (size_t i = 0; i < B; i++) {
        uint32_t k = gn_rng_below(seed, GN_STREAM_DATA, step * B + i, (uint32_t)mnist.n);
        ck_assert_int_eq(lab[i], mnist.labels[k]);
        for (size_t j = 0; j < D; j++) {
            uint8_t p = mnist.pixels[k * D + j];
            float a = x[i * D + j], b = y[i * D + j];
            ck_assert_float_eq(a, (float)p / 255.0f);
            ck_assert_float_eq(b, (float)p / 127.5f - 1.0f);
            ck_assert(a >= 0.0f && a <= 1.0f);
            ck_assert(b >= -1.0f && b <= 1.0f);
            if (a < lo01) lo01 = a;
            if (a > hi01) hi01 = a;
            if (b < lo) lo = b;
            if (b > hi) hi = b;
        }
    }
    /* MNIST digits reach both ends of the range exactly */
    ck_assert_float_eq(lo01, 0.0f);
    ck_assert_float_eq(hi01, 1.0f);
    ck_assert_float_eq(lo, -1.0f);
    ck_assert_float_eq(hi, 1.0f);
    free(x); free(y); free(lab);
}
END_TEST

START_TEST(test_sample_steps_differ_and_repeat) {
    size_t B = 32, D = 28 * 28;
    int l1[32], l2[32], l3[32];
    float *x1 = malloc(B * D * sizeof *x1), *x2 = malloc(B * D * sizeof *x2);
    gn_dataset_sample(&mnist, x1, l1, B, 1, 0, GN_RANGE_01);
    gn_dataset_sample(&mnist, x2, l2, B, 1, 0, GN_RANGE_01);
    ck_assert_int_eq(memcmp(x1, x2, B * D * sizeof *x1), 0);
    ck_assert_int_eq(memcmp(l1, l2, sizeof l1), 0);
    gn_dataset_sample(&mnist, x2, l3, B, 1, 1, GN_RANGE_01);
    ck_assert_int_ne(memcmp(x1, x2, B * D * sizeof *x1), 0);
    free(x1); free(x2);
}
END_TEST

START_TEST(test_sample_covers_classes) {
    /* 20 batches of 50: every class appears, in rough proportion */
    size_t B = 50, D = 28 * 28, counts[10] = {0};
    float *x = malloc(B * D * sizeof *x);
    int lab[50];
    for (uint64_t step = 0; step < 20; step++) {
        gn_dataset_sample(&mnist, x, lab, B, 8, step, GN_RANGE_PM1);
        for (size_t i = 0; i < B; i++) {
            ck_assert(lab[i] >= 0 && lab[i] < 10);
            counts[lab[i]]++;
        }
    }
    for (int c = 0; c < 10; c++) ck_assert_msg(counts[c] > 40 && counts[c] < 180, "class %d: %zu", c, counts[c]);
    free(x);
}
END_TEST

START_TEST(test_slice) {
    size_t D = 28 * 28, start = 9990, count = 10;
    float *x = malloc(count * D * sizeof *x);
    int lab[10];
    gn_dataset_slice(&mnist, x, lab, start, count, GN_RANGE_01);
    for (size_t i = 0; i < count; i++) {
        ck_assert_int_eq(lab[i], mnist.labels[start + i]);
        for (size_t j = 0; j < D; j++)
            ck_assert_float_eq(x[i * D + j], (float)mnist.pixels[(start + i) * D + j] / 255.0f);
    }
    gn_dataset_slice(&mnist, x, NULL, 0, count, GN_RANGE_PM1);
    for (size_t j = 0; j < count * D; j++)
        ck_assert_float_eq(x[j], (float)mnist.pixels[j] / 127.5f - 1.0f);
    /* past the end: zeros and label -1, nothing read out of bounds */
    gn_dataset_slice(&mnist, x, lab, mnist.n - 2, 4, GN_RANGE_01);
    ck_assert_int_eq(lab[1], mnist.labels[mnist.n - 1]);
    ck_assert_int_eq(lab[2], -1);
    ck_assert_int_eq(lab[3], -1);
    for (size_t j = 2 * D; j < 4 * D; j++) ck_assert_float_eq(x[j], 0.0f);
    free(x);
}
END_TEST

START_TEST(test_slice_whole_set_parallel) {
    /* a slice large enough to run in parallel still matches item by item */
    size_t D = 28 * 28, count = 1000;
    float *x = malloc(count * D * sizeof *x);
    int *lab = malloc(count * sizeof *lab);
    gn_dataset_slice(&mnist, x, lab, 500, count, GN_RANGE_PM1);
    for (size_t i = 0; i < count; i++) {
        ck_assert_int_eq(lab[i], mnist.labels[500 + i]);
        ck_assert_float_eq(x[i * D + 400], (float)mnist.pixels[(500 + i) * D + 400] / 127.5f - 1.0f);
    }
    free(x); free(lab);
}
END_TEST

START_TEST(test_no_labels_and_channels) {
    /* 3 items of 2x2x3, no labels: labels_out gets -1; channels stay interleaved (HWC) */
    uint8_t px[3 * 12];
    for (int i = 0; i < 36; i++) px[i] = (uint8_t)(i * 7);
    gn_dataset ds = {.n = 3, .h = 2, .w = 2, .c = 3, .pixels = px, .labels = NULL};
    float x[5 * 12];
    int lab[5];
    gn_dataset_sample(&ds, x, lab, 5, 4, 0, GN_RANGE_01);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(lab[i], -1);
        uint32_t k = gn_rng_below(4, GN_STREAM_DATA, (uint64_t)i, 3);
        for (int j = 0; j < 12; j++) ck_assert_float_eq(x[i * 12 + j], (float)px[k * 12 + j] / 255.0f);
    }
    gn_dataset_slice(&ds, x, lab, 1, 2, GN_RANGE_01);
    ck_assert_int_eq(lab[0], -1);
    for (int j = 0; j < 24; j++) ck_assert_float_eq(x[j], (float)px[12 + j] / 255.0f);
}
END_TEST

START_TEST(test_sample_all_items_reachable) {
    /* 7 items, many draws: each item is drawn, none outside */
    uint8_t px[7], lb[7];
    for (int i = 0; i < 7; i++) { px[i] = (uint8_t)(i * 40); lb[i] = (uint8_t)i; }
    gn_dataset ds = {.n = 7, .h = 1, .w = 1, .c = 1, .pixels = px, .labels = lb};
    float x[700];
    int lab[700], seen[7] = {0};
    gn_dataset_sample(&ds, x, lab, 700, 11, 2, GN_RANGE_01);
    for (int i = 0; i < 700; i++) {
        ck_assert(lab[i] >= 0 && lab[i] < 7);
        ck_assert_float_eq(x[i], (float)(lab[i] * 40) / 255.0f);
        seen[lab[i]]++;
    }
    for (int k = 0; k < 7; k++) ck_assert_int_gt(seen[k], 50);
}
END_TEST

/* Builds the suite. */
static Suite *data_suite(void) {
    Suite *s = suite_create("data");
    TCase *t = tcase_create("mnist");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_sample_ranges_and_values);
    tcase_add_test(t, test_sample_steps_differ_and_repeat);
    tcase_add_test(t, test_sample_covers_classes);
    tcase_add_test(t, test_slice);
    tcase_add_test(t, test_slice_whole_set_parallel);
    suite_add_tcase(s, t);
    t = tcase_create("synthetic");
    tcase_add_test(t, test_no_labels_and_channels);
    tcase_add_test(t, test_sample_all_items_reachable);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    return tu_run_suite(data_suite());
}
