/* Counter-based RNG: known answers, reproducibility, independence of streams
 * and seeds, distributions, and results that do not depend on thread count. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/data.h"
#include "gannet/rng.h"
#include "util.h"

#define NDRAW 100000

START_TEST(test_philox_known_answers) {
    /* Random123 kat_vectors, philox4x32 10: counter words, key words, output.
     * gn_philox's counter is (index lo, index hi, stream lo, stream hi), its key (seed lo, hi). */
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
         0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
         0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int k = 0; k < 3; k++) {
        const uint32_t *v = kat[k];
        uint64_t index = ((uint64_t)v[1] << 32) | v[0];
        uint64_t stream = ((uint64_t)v[3] << 32) | v[2];
        uint64_t seed = ((uint64_t)v[5] << 32) | v[4];
        uint32_t out[4];
        gn_philox(seed, stream, index, out);
        for (int j = 0; j < 4; j++) ck_assert_uint_eq(out[j], v[6 + j]);
    }
    /* gn_rng_u32 picks word index % 4 of block index / 4 */
    for (uint64_t blk = 0; blk < 50; blk++) {
        uint32_t out[4];
        gn_philox(0x299f31d0a4093822ull, 9, blk, out);
        for (int j = 0; j < 4; j++)
            ck_assert_uint_eq(gn_rng_u32(0x299f31d0a4093822ull, 9, blk * 4 + (uint64_t)j), out[j]);
    }
}
END_TEST

START_TEST(test_same_inputs_same_values) {
    for (uint64_t i = 0; i < 1000; i++) {
        ck_assert_uint_eq(gn_rng_u32(42, 7, i), gn_rng_u32(42, 7, i));
        float a = gn_rng_normal(42, 7, i), b = gn_rng_normal(42, 7, i);
        ck_assert_int_eq(memcmp(&a, &b, sizeof a), 0);
    }
    float x[257], y[257];
    gn_rng_fill_uniform(x, 257, 3, GN_STREAM_NOISE, 100, -1, 1);
    gn_rng_fill_uniform(y, 257, 3, GN_STREAM_NOISE, 100, -1, 1);
    ck_assert_int_eq(memcmp(x, y, sizeof x), 0);
    /* an offset continues the same sequence */
    gn_rng_fill_uniform(y, 200, 3, GN_STREAM_NOISE, 157, -1, 1);
    ck_assert_int_eq(memcmp(x + 57, y, 200 * sizeof *y), 0);
    for (int i = 0; i < 257; i++) {
        float u = -1 + 2 * gn_rng_uniform(3, GN_STREAM_NOISE, 100 + (uint64_t)i);
        ck_assert_int_eq(memcmp(&u, &x[i], sizeof u), 0);
    }
}
END_TEST

/* Pearson correlation of two arrays of n doubles. */
static double correlation(const double *a, const double *b, size_t n) {
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
    ma /= (double)n; mb /= (double)n;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / sqrt(saa * sbb);
}

/* Fills out with n uniform draws of (seed, stream). */
static void draws(double *out, size_t n, uint64_t seed, uint64_t stream) {
    for (size_t i = 0; i < n; i++) out[i] = gn_rng_uniform(seed, stream, i);
}

/* Checks the mean of n uniforms is near 0.5 and every value is in [0, 1). */
static void check_uniform(const double *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert(a[i] >= 0.0 && a[i] < 1.0);
        m += a[i];
    }
    m /= (double)n;
    ck_assert_msg(fabs(m - 0.5) < 0.005, "mean %f", m); /* sd of the mean is 0.0009 */
}

START_TEST(test_streams_and_seeds_independent) {
    double *a = malloc(NDRAW * sizeof *a), *b = malloc(NDRAW * sizeof *b);
    double *c = malloc(NDRAW * sizeof *c);
    draws(a, NDRAW, 1234, GN_STREAM_DATA);
    draws(b, NDRAW, 1234, GN_STREAM_NOISE);
    draws(c, NDRAW, 1235, GN_STREAM_DATA);
    check_uniform(a, NDRAW);
    check_uniform(b, NDRAW);
    check_uniform(c, NDRAW);
    size_t same_ab = 0, same_ac = 0;
    for (size_t i = 0; i < NDRAW; i++) { same_ab += a[i] == b[i]; same_ac += a[i] == c[i]; }
    ck_assert_uint_lt(same_ab, 10);
    ck_assert_uint_lt(same_ac, 10);
    /* |r| has sd 1/sqrt(1e5) = 0.0032 for independent draws; 0.015 is almost 5 sd */
    double r_ab = correlation(a, b, NDRAW), r_ac = correlation(a, c, NDRAW);
    double r_lag = correlation(a, a + 1, NDRAW - 1);
    ck_assert_msg(fabs(r_ab) < 0.015, "streams correlate: %f", r_ab);
    ck_assert_msg(fabs(r_ac) < 0.015, "seeds correlate: %f", r_ac);
    ck_assert_msg(fabs(r_lag) < 0.015, "lag-1 correlation: %f", r_lag);
    free(a); free(b); free(c);
}
END_TEST

START_TEST(test_normal_moments) {
    double m = 0, m2 = 0, m3 = 0, m4 = 0;
    for (uint64_t i = 0; i < NDRAW; i++) {
        double x = gn_rng_normal(99, GN_STREAM_NOISE, i);
        ck_assert(isfinite(x));
        m += x; m2 += x * x; m3 += x * x * x; m4 += x * x * x * x;
    }
    m /= NDRAW; m2 /= NDRAW; m3 /= NDRAW; m4 /= NDRAW;
    double sd = sqrt(m2 - m * m);
    ck_assert_msg(fabs(m) < 0.015, "mean %f", m);
    ck_assert_msg(fabs(sd - 1) < 0.015, "std %f", sd);
    ck_assert_msg(fabs(m3) < 0.05, "third moment %f", m3);
    ck_assert_msg(fabs(m4 - 3) < 0.1, "fourth moment %f", m4);
    float f[1000];
    gn_rng_fill_normal(f, 1000, 99, GN_STREAM_NOISE, 0, 2.0f, 0.5f);
    for (int i = 0; i < 1000; i++) {
        float want = 2.0f + 0.5f * gn_rng_normal(99, GN_STREAM_NOISE, (uint64_t)i);
        ck_assert_int_eq(memcmp(&want, &f[i], sizeof want), 0);
    }
}
END_TEST

START_TEST(test_below_range_and_uniform) {
    size_t hist[10] = {0};
    for (uint64_t i = 0; i < NDRAW; i++) {
        uint32_t k = gn_rng_below(5, GN_STREAM_DATA, i, 10);
        ck_assert_uint_lt(k, 10);
        hist[k]++;
    }
    /* each bucket expects 10000 with sd 95 */
    for (int k = 0; k < 10; k++) ck_assert_msg(labs((long)hist[k] - 10000) < 500, "bucket %d: %zu", k, hist[k]);
    for (uint64_t i = 0; i < 1000; i++) {
        ck_assert_uint_eq(gn_rng_below(5, 1, i, 1), 0);
        ck_assert_uint_lt(gn_rng_below(5, 1, i, 7), 7);
        ck_assert_uint_lt(gn_rng_below(5, 1, i, 0xFFFFFFFFu), 0xFFFFFFFFu);
    }
    /* a large n reaches both halves */
    int low = 0, high = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        uint32_t k = gn_rng_below(5, 1, i, 3000000000u);
        low += k < 1500000000u;
        high += k >= 1500000000u;
    }
    ck_assert_int_gt(low, 400);
    ck_assert_int_gt(high, 400);
}
END_TEST

START_TEST(test_thread_count_independent) {
    size_t n = 300001; /* above the parallel threshold, not a multiple of anything */
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    omp_set_num_threads(1);
    gn_rng_fill_uniform(a, n, 77, GN_STREAM_NOISE, 12345, -1, 1);
    omp_set_num_threads(2);
    gn_rng_fill_uniform(b, n, 77, GN_STREAM_NOISE, 12345, -1, 1);
    ck_assert_int_eq(memcmp(a, b, n * sizeof *a), 0);
    omp_set_num_threads(1);
    gn_rng_fill_normal(a, n, 77, GN_STREAM_NOISE, 5, 0, 1);
    omp_set_num_threads(2);
    gn_rng_fill_normal(b, n, 77, GN_STREAM_NOISE, 5, 0, 1);
    ck_assert_int_eq(memcmp(a, b, n * sizeof *a), 0);
    free(a); free(b);

    /* a synthetic data set: 200 items of 16x16x1, item k filled with (k * 7 + j) % 256 */
    gn_dataset ds = {.n = 200, .h = 16, .w = 16, .c = 1};
    size_t D = 256, B = 512; /* B * D above the parallel threshold */
    ds.pixels = malloc(ds.n * D);
    ds.labels = malloc(ds.n);
    for (size_t k = 0; k < ds.n; k++) {
        ds.labels[k] = (uint8_t)(k % 10);
        for (size_t j = 0; j < D; j++) ds.pixels[k * D + j] = (uint8_t)((k * 7 + j) % 256);
    }
    float *x1 = malloc(B * D * sizeof *x1), *x2 = malloc(B * D * sizeof *x2);
    int *l1 = malloc(B * sizeof *l1), *l2 = malloc(B * sizeof *l2);
    omp_set_num_threads(1);
    gn_dataset_sample(&ds, x1, l1, B, 2024, 3, GN_RANGE_PM1);
    omp_set_num_threads(2);
    gn_dataset_sample(&ds, x2, l2, B, 2024, 3, GN_RANGE_PM1);
    ck_assert_int_eq(memcmp(x1, x2, B * D * sizeof *x1), 0);
    ck_assert_int_eq(memcmp(l1, l2, B * sizeof *l1), 0);
    free(x1); free(x2); free(l1); free(l2);
    gn_dataset_free(&ds);
}
END_TEST

/* Builds the suite. */
static Suite *rng_suite(void) {
    Suite *s = suite_create("rng");
    TCase *t = tcase_create("rng");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_philox_known_answers);
    tcase_add_test(t, test_same_inputs_same_values);
    tcase_add_test(t, test_streams_and_seeds_independent);
    tcase_add_test(t, test_normal_moments);
    tcase_add_test(t, test_below_range_and_uniform);
    tcase_add_test(t, test_thread_count_independent);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    return tu_run_suite(rng_suite());
}
