/* The SIMD kernels: every ISA this CPU runs against the scalar reference, and
 * the reference itself against double-precision maths.
 *
 * Comparisons against ref are bit-exact for every op whose vector code does
 * the same IEEE operations in the same order (all but sigmoid/tanh forward and
 * the Adam weight, which are held to 1e-6 relative as the contract asks even
 * though the code aims at identical bits there too). NaN equals NaN. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "util.h"

/* Relative tolerance for the inexact ops, and the floor under |value|:
 * results below ~1e-37 are near or in the subnormal range where a float has
 * fewer than 24 significant bits, so relative error there says nothing; with
 * this floor a difference of a few subnormal ulps (1.4e-45 each) still counts
 * as ~1e-8, while any normal result keeps the full 1e-6 relative test. */
#define REL_TOL 1e-6
#define TINY_FLOOR 1e-37
/* Adam: w - step with |w| <= 1 can cancel; one float rounding of the inputs'
 * magnitude (6e-8 absolute) is all float can promise there, so the floor is
 * the inputs' scale, 1. */
#define ADAM_FLOOR 1.0

static const gn_kernels *g_ref;
static const gn_kernels *g_isa[8];
static int g_nisa;

static const size_t k_big[] = {1000, 4099, 100003};
static const size_t k_offsets[] = {0, 1, 3}; /* floats past a 64-byte boundary */

// a float buffer of n elements starting off floats past a 64-byte boundary
static float *falloc(size_t n, size_t off) {
    void *p = NULL;
    if (posix_memalign(&p, 64, (n + off + 16) * sizeof(float))) abort();
    return (float *)p + off;
}

// frees a falloc buffer
static void ffree(float *p, size_t off) { free(p - off); }

// copies of n floats into a fresh falloc buffer
static float *fdup(const float *x, size_t n, size_t off) {
    float *y = falloc(n, off);
    memcpy(y, x, n * sizeof *x);
    return y;
}

// the number of test sizes: 1..67 then the big ones
static size_t n_sizes(void) { return 67 + sizeof k_big / sizeof k_big[0]; }

// the i-th test size
static size_t size_at(size_t i) { return i < 67 ? i + 1 : k_big[i - 67]; }

// bitwise equality, with every NaN equal to every NaN
static int same_float(float a, float b) {
    if (isnan(a) && isnan(b)) return 1;
    uint32_t ua, ub;
    memcpy(&ua, &a, 4);
    memcpy(&ub, &b, 4);
    return ua == ub;
}

// the first index where a and b differ bitwise, or n
static size_t first_diff(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!same_float(a[i], b[i])) return i;
    return n;
}

// asserts a == b bitwise (NaN == NaN)
static void expect_exact(const float *got, const float *want, size_t n, const char *what,
                         const char *isa, size_t size, size_t off) {
    size_t i = first_diff(got, want, n);
    ck_assert_msg(i == n, "%s [%s] n=%zu off=%zu: element %zu is %.9g, ref %.9g", what, isa, size,
                  off, i, i < n ? got[i] : 0.0f, i < n ? want[i] : 0.0f);
}

// asserts a and b within tol relative (floor under |value|); non-finite values must match
static void expect_close(const float *got, const float *want, size_t n, double tol,
                         double floor, const char *what, const char *isa, size_t size,
                         size_t off) {
    for (size_t i = 0; i < n; i++) {
        if (isfinite(got[i]) && isfinite(want[i])) continue;
        ck_assert_msg(same_float(got[i], want[i]), "%s [%s] n=%zu off=%zu: element %zu is %g, ref %g",
                      what, isa, size, off, i, got[i], want[i]);
    }
    double e = tu_max_rel_err(got, want, n, floor);
    ck_assert_msg(e <= tol, "%s [%s] n=%zu off=%zu: max relative error %.3g > %.3g", what, isa,
                  size, off, e, tol);
}

// random values in [lo, hi) with zeros, signed zeros, NaN and infinities sprinkled in
static void fill_special(float *x, size_t n, uint64_t seed, float lo, float hi) {
    tu_fill(x, n, seed, lo, hi);
    for (size_t i = 0; i < n; i++) {
        uint64_t h = (i * 0x9E3779B97F4A7C15ull + seed) >> 40;
        switch (h % 23) {
        case 3: x[i] = 0.0f; break;
        case 5: x[i] = -0.0f; break;
        case 7: x[i] = NAN; break;
        case 11: x[i] = INFINITY; break;
        case 13: x[i] = -INFINITY; break;
        case 17: x[i] = 1e-40f; break; /* subnormal */
        default: break;
        }
    }
}

/* ---- element-wise kernels against ref ---- */

enum { E_RELU, E_RELU_B, E_LEAKY, E_LEAKY_B, E_SIG, E_SIG_B, E_TANH, E_TANH_B, E_AXPY, E_COUNT };
static const char *const e_names[E_COUNT] = {"relu_forward", "relu_backward", "leaky_relu_forward",
                                             "leaky_relu_backward", "sigmoid_forward",
                                             "sigmoid_backward", "tanh_forward", "tanh_backward",
                                             "axpy"};

// runs element-wise op `op` of table k: out from a (and b)
static void run_elementwise(const gn_kernels *k, int op, float *out, const float *a,
                            const float *b, size_t n) {
    switch (op) {
    case E_RELU: k->relu_forward(out, a, n); break;
    case E_RELU_B: k->relu_backward(out, a, b, n); break;
    case E_LEAKY: k->leaky_relu_forward(out, a, n, 0.2f); break;
    case E_LEAKY_B: k->leaky_relu_backward(out, a, b, n, 0.2f); break;
    case E_SIG: k->sigmoid_forward(out, a, n); break;
    case E_SIG_B: k->sigmoid_backward(out, a, b, n); break;
    case E_TANH: k->tanh_forward(out, a, n); break;
    case E_TANH_B: k->tanh_backward(out, a, b, n); break;
    case E_AXPY: memcpy(out, b, n * sizeof *out); k->axpy(out, a, n, -0.75f); break;
    }
}

// inputs for op: a in a range that exercises it, b (y-like) in [-1.5, 1.5]
static void fill_elementwise(int op, float *a, float *b, size_t n, uint64_t seed) {
    if (op == E_SIG || op == E_TANH) {
        /* half inside the polynomial branch of tanh, half out to saturation */
        size_t h = n / 2;
        fill_special(a, h, seed, -0.7f, 0.7f);
        fill_special(a + h, n - h, seed + 1, -60.0f, 60.0f);
        static const float edge[] = {0.625f, -0.625f, 88.7f, -88.7f, 89.5f, -104.5f, 1e30f, -1e30f};
        for (size_t i = 0; i < n && i < 8; i++) a[(i * 7919) % n] = edge[i];
    } else {
        fill_special(a, n, seed, -3.0f, 3.0f);
    }
    fill_special(b, n, seed + 2, -1.5f, 1.5f);
}

// one element-wise op on one ISA at one size and offset, against ref
static void check_elementwise(const gn_kernels *k, int op, size_t n, size_t off) {
    float *a = falloc(n, off), *b = falloc(n, off), *got = falloc(n, off), *want = falloc(n, off);
    fill_elementwise(op, a, b, n, 1000 * op + n);
    run_elementwise(g_ref, op, want, a, b, n);
    run_elementwise(k, op, got, a, b, n);
    if (op == E_SIG || op == E_TANH)
        expect_close(got, want, n, REL_TOL, TINY_FLOOR, e_names[op], k->name, n, off);
    else
        expect_exact(got, want, n, e_names[op], k->name, n, off);
    /* in place: forward y == x, backward dx == dy */
    if (op != E_AXPY) {
        float *io = fdup(a, n, off);
        run_elementwise(k, op, io, io, b, n);
        if (op == E_SIG || op == E_TANH)
            expect_close(io, want, n, REL_TOL, TINY_FLOOR, e_names[op], k->name, n, off);
        else
            expect_exact(io, want, n, e_names[op], k->name, n, off);
        ffree(io, off);
    }
    ffree(a, off); ffree(b, off); ffree(got, off); ffree(want, off);
}

START_TEST(test_elementwise_vs_ref) {
    for (int op = 0; op < E_COUNT; op++)
        for (int t = 0; t < g_nisa; t++)
            for (size_t s = 0; s < n_sizes(); s++)
                for (size_t o = 0; o < 3; o++) check_elementwise(g_isa[t], op, size_at(s), k_offsets[o]);
}
END_TEST

/* ---- dropout ---- */

// dropout of table k against ref at one size and offset, out of place and in place
static void check_dropout(const gn_kernels *k, size_t n, size_t off, uint64_t goff, float p) {
    uint64_t key = 0x0123456789abcdefull ^ (n * 31 + off);
    uint32_t thr = p >= 1.0f ? UINT32_MAX : (uint32_t)(p * 4294967296.0);
    float scale = 1.0f / (1.0f - p);
    float *x = falloc(n, off), *yr = falloc(n, off), *yk = falloc(n, off);
    fill_special(x, n, n + 7, -2.0f, 2.0f);
    g_ref->dropout(yr, x, n, key, goff, thr, scale);
    k->dropout(yk, x, n, key, goff, thr, scale);
    expect_exact(yk, yr, n, "dropout", k->name, n, off);
    float *io = fdup(x, n, off);
    k->dropout(io, io, n, key, goff, thr, scale);
    expect_exact(io, yr, n, "dropout in place", k->name, n, off);
    ffree(io, off); ffree(x, off); ffree(yr, off); ffree(yk, off);
}

START_TEST(test_dropout_vs_ref) {
    for (int t = 0; t < g_nisa; t++)
        for (size_t s = 0; s < n_sizes(); s++)
            for (size_t o = 0; o < 3; o++) {
                size_t n = size_at(s);
                check_dropout(g_isa[t], n, k_offsets[o], 0, 0.5f);
                /* a global offset whose low 32 bits wrap inside the slice */
                check_dropout(g_isa[t], n, k_offsets[o], 0x1fffffff0ull + o, 0.3f);
                check_dropout(g_isa[t], n, k_offsets[o], 12345, 0.0f);
            }
}
END_TEST

/* ---- 2-D (rows, C) kernels ---- */

static const size_t k_rows[] = {1, 2, 5, 17};

// channel_sum_sumsq, channel_affine, bn_backward_sums, bn_backward_apply of k against ref,
// the centred kernels once with a random centre and once with NULL
static void check_channels(const gn_kernels *k, size_t rows, size_t C, size_t off) {
    size_t n = rows * C;
    float *x = falloc(n, off), *dy = falloc(n, off), *y = falloc(n, off);
    float *pr = falloc(C, off), *pk = falloc(C, off), *qr = falloc(C, off), *qk = falloc(C, off);
    float *sc = falloc(C, off), *sh = falloc(C, off), *kk = falloc(C, off);
    float *ctr = falloc(C, off);
    float *outr = falloc(n, off), *outk = falloc(n, off);
    tu_fill(x, n, n + C, -2.0f, 3.0f);
    tu_fill(dy, n, n + C + 1, -1.0f, 1.0f);
    fill_special(y, n, n + C + 2, -1.0f, 1.0f);
    tu_fill(sc, C, C, 0.5f, 2.0f);
    tu_fill(sh, C, C + 1, -1.0f, 1.0f);
    tu_fill(kk, C, C + 2, -0.1f, 0.1f);
    tu_fill(ctr, C, C + 3, -1.5f, 2.5f);

    for (int centred = 0; centred <= 1; centred++) {
        const float *centre = centred ? ctr : NULL;
        const char *tag = centred ? " (centred)" : " (NULL centre)";
        char what[96];

        /* accumulation starts from nonzero outputs */
        tu_fill(pr, C, 5, -1.0f, 1.0f);
        tu_fill(qr, C, 6, 0.0f, 1.0f);
        memcpy(pk, pr, C * sizeof *pr);
        memcpy(qk, qr, C * sizeof *qr);
        g_ref->channel_sum_sumsq(pr, qr, x, centre, rows, C);
        k->channel_sum_sumsq(pk, qk, x, centre, rows, C);
        snprintf(what, sizeof what, "channel_sum_sumsq sum%s", tag);
        expect_exact(pk, pr, C, what, k->name, n, off);
        snprintf(what, sizeof what, "channel_sum_sumsq sumsq%s", tag);
        expect_exact(qk, qr, C, what, k->name, n, off);

        for (int relu = 0; relu <= 1; relu++) {
            tu_fill(pr, C, 7, -1.0f, 1.0f);
            tu_fill(qr, C, 8, -1.0f, 1.0f);
            memcpy(pk, pr, C * sizeof *pr);
            memcpy(qk, qr, C * sizeof *qr);
            g_ref->bn_backward_sums(pr, qr, dy, relu ? y : NULL, x, centre, rows, C, relu);
            k->bn_backward_sums(pk, qk, dy, relu ? y : NULL, x, centre, rows, C, relu);
            snprintf(what, sizeof what, "bn_backward_sums sum_g%s relu=%d", tag, relu);
            expect_exact(pk, pr, C, what, k->name, n, off);
            snprintf(what, sizeof what, "bn_backward_sums sum_gx%s relu=%d", tag, relu);
            expect_exact(qk, qr, C, what, k->name, n, off);

            g_ref->bn_backward_apply(outr, dy, relu ? y : NULL, x, centre, rows, C, sc, sh, kk,
                                     relu);
            k->bn_backward_apply(outk, dy, relu ? y : NULL, x, centre, rows, C, sc, sh, kk, relu);
            snprintf(what, sizeof what, "bn_backward_apply%s relu=%d", tag, relu);
            expect_exact(outk, outr, n, what, k->name, n, off);
            memcpy(outk, dy, n * sizeof *dy);
            k->bn_backward_apply(outk, outk, relu ? y : NULL, x, centre, rows, C, sc, sh, kk,
                                 relu);
            snprintf(what, sizeof what, "bn_backward_apply in place%s relu=%d", tag, relu);
            expect_exact(outk, outr, n, what, k->name, n, off);
        }
    }

    for (int relu = 0; relu <= 1; relu++) {
        g_ref->channel_affine(outr, x, rows, C, sc, sh, relu);
        k->channel_affine(outk, x, rows, C, sc, sh, relu);
        expect_exact(outk, outr, n, relu ? "channel_affine relu" : "channel_affine", k->name, n, off);
        memcpy(outk, x, n * sizeof *x);
        k->channel_affine(outk, outk, rows, C, sc, sh, relu);
        expect_exact(outk, outr, n, "channel_affine in place", k->name, n, off);
    }
    ffree(x, off); ffree(dy, off); ffree(y, off); ffree(pr, off); ffree(pk, off);
    ffree(qr, off); ffree(qk, off); ffree(sc, off); ffree(sh, off); ffree(kk, off);
    ffree(ctr, off); ffree(outr, off); ffree(outk, off);
}

START_TEST(test_channels_vs_ref) {
    for (int t = 0; t < g_nisa; t++) {
        for (size_t C = 1; C <= 67; C++)
            for (size_t r = 0; r < sizeof k_rows / sizeof k_rows[0]; r++)
                for (size_t o = 0; o < 3; o++) check_channels(g_isa[t], k_rows[r], C, k_offsets[o]);
        /* large shapes: several row blocks, wide rows, the model's shapes scaled down */
        check_channels(g_isa[t], 1000, 67, 1);
        check_channels(g_isa[t], 700, 100, 0);
        check_channels(g_isa[t], 300, 200, 3);
        check_channels(g_isa[t], 3, 4099, 1);
        check_channels(g_isa[t], 2, 39200, 0);
    }
}
END_TEST

/* ---- upsample ---- */

// upsample forward and backward of k against ref for one image shape
static void check_upsample(const gn_kernels *k, size_t H, size_t W, size_t C, size_t f,
                           size_t off) {
    size_t n = H * W * C, m = n * f * f;
    float *x = falloc(n, off), *dy = falloc(m, off);
    float *yr = falloc(m, off), *yk = falloc(m, off), *dr = falloc(n, off), *dk = falloc(n, off);
    fill_special(x, n, n + f, -2.0f, 2.0f);
    tu_fill(dy, m, m + f, -2.0f, 2.0f);
    g_ref->upsample_forward(yr, x, H, W, C, f);
    k->upsample_forward(yk, x, H, W, C, f);
    expect_exact(yk, yr, m, "upsample_forward", k->name, n, off);
    g_ref->upsample_backward(dr, dy, H, W, C, f);
    k->upsample_backward(dk, dy, H, W, C, f);
    expect_exact(dk, dr, n, "upsample_backward", k->name, n, off);
    ffree(x, off); ffree(dy, off); ffree(yr, off); ffree(yk, off); ffree(dr, off); ffree(dk, off);
}

START_TEST(test_upsample_vs_ref) {
    static const size_t hw[][2] = {{1, 1}, {2, 3}, {5, 4}, {7, 7}};
    for (int t = 0; t < g_nisa; t++) {
        for (size_t s = 0; s < 4; s++)
            for (size_t C = 1; C <= 67; C++)
                for (size_t f = 1; f <= 3; f++)
                    check_upsample(g_isa[t], hw[s][0], hw[s][1], C, f, C % 3);
        check_upsample(g_isa[t], 14, 14, 200, 2, 1);
        check_upsample(g_isa[t], 3, 2, 4099, 2, 0);
    }
}
END_TEST

/* ---- adam ---- */

// one Adam step of k against ref
static void check_adam(const gn_kernels *k, size_t n, size_t off) {
    float *w = falloc(n, off), *m = falloc(n, off), *v = falloc(n, off), *g = falloc(n, off);
    tu_fill(w, n, n, -1.0f, 1.0f);
    tu_fill(m, n, n + 1, -0.1f, 0.1f);
    tu_fill(v, n, n + 2, 0.0f, 0.01f);
    tu_fill(g, n, n + 3, -1.0f, 1.0f);
    float *wr = fdup(w, n, off), *mr = fdup(m, n, off), *vr = fdup(v, n, off);
    float b1 = 0.5f, b2 = 0.999f, t = 7;
    float bc1 = 1.0f - powf(b1, t), bc2 = 1.0f - powf(b2, t);
    g_ref->adam(wr, mr, vr, g, n, 2e-4f, b1, b2, 1e-7f, bc1, bc2);
    k->adam(w, m, v, g, n, 2e-4f, b1, b2, 1e-7f, bc1, bc2);
    expect_exact(m, mr, n, "adam m", k->name, n, off);
    expect_exact(v, vr, n, "adam v", k->name, n, off);
    expect_close(w, wr, n, REL_TOL, ADAM_FLOOR, "adam w", k->name, n, off);
    ffree(w, off); ffree(m, off); ffree(v, off); ffree(g, off);
    ffree(wr, off); ffree(mr, off); ffree(vr, off);
}

START_TEST(test_adam_vs_ref) {
    for (int t = 0; t < g_nisa; t++)
        for (size_t s = 0; s < n_sizes(); s++)
            for (size_t o = 0; o < 3; o++) check_adam(g_isa[t], size_at(s), k_offsets[o]);
}
END_TEST

/* ---- all_finite ---- */

START_TEST(test_all_finite) {
    const gn_kernels *all[8];
    int na = gn_kernels_available(all, 8);
    static const float bad[] = {INFINITY, -INFINITY, NAN};
    for (int t = 0; t < na; t++) {
        for (size_t s = 0; s < n_sizes(); s++) {
            size_t n = size_at(s), off = s % 3;
            float *x = falloc(n, off);
            tu_fill(x, n, n, -1e30f, 1e30f);
            x[n / 2] = 3.4e38f;
            ck_assert_msg(all[t]->all_finite(x, n) == 1, "all_finite [%s] n=%zu", all[t]->name, n);
            size_t step = n > 200 ? n / 37 : 1;
            for (size_t i = 0; i < n; i += step) {
                float keep = x[i];
                x[i] = bad[i % 3];
                ck_assert_msg(all[t]->all_finite(x, n) == 0, "all_finite [%s] n=%zu misses %g at %zu",
                              all[t]->name, n, x[i], i);
                x[i] = keep;
            }
            ffree(x, off);
        }
        ck_assert_int_eq(all[t]->all_finite(NULL, 0), 1);
    }
}
END_TEST

/* ---- bf16 conversions ---- */

// the bits of a float at index i: random patterns (every class: NaN, inf,
// denormal, zero), every fourth a tie (low half exactly 0x8000), some +-0, inf
static uint32_t bf16_case_bits(uint64_t seed, size_t i) {
    uint64_t h = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    uint32_t u = (uint32_t)h;
    switch (i % 8) {
    case 1: return (u & 0xffff0000u) | 0x8000u;               /* a tie */
    case 3: return (u & 0x800fffffu);                          /* a denormal (or zero) */
    case 5: return (u & 0x80000000u) | 0x7f800000u | (u & 7u); /* inf or a NaN */
    case 7: return (u & 0x807f0000u) | 0x7f008000u;            /* near the top, ties */
    default: return u;
    }
}

// the nearest bf16 by double arithmetic, ties to the even one (finite x only)
static uint16_t bf16_nearest_by_double(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    uint32_t lo = u & 0xffff0000u, hi = lo + 0x10000u;
    float flo, fhi;
    memcpy(&flo, &lo, 4);
    memcpy(&fhi, &hi, 4);  /* may be inf: the rounding then overflows */
    double dlo = fabs((double)x - flo);
    double dhi = isinf(fhi) ? fabs((double)x - 0x1p128 * (x < 0 ? -1 : 1)) : fabs((double)x - fhi);
    if (dlo < dhi) return (uint16_t)(lo >> 16);
    if (dhi < dlo) return (uint16_t)(hi >> 16);
    return (uint16_t)(((lo >> 16) & 1) ? hi >> 16 : lo >> 16);
}

START_TEST(test_ref_bf16) {
    static const struct { uint32_t f; uint16_t b; } fixed[] = {
        {0x3f800000u, 0x3f80}, {0x3f808000u, 0x3f80}, {0x3f818000u, 0x3f82},
        {0x3f808001u, 0x3f81}, {0x3f80ffffu, 0x3f81}, {0x7f7fffffu, 0x7f80},
        {0x7f7f7fffu, 0x7f7f}, {0x7f800000u, 0x7f80}, {0xff800000u, 0xff80},
        {0x7f800001u, 0x7fc0}, {0xff800001u, 0xffc0}, {0x7fc00000u, 0x7fc0},
        {0x7fff0000u, 0x7fff}, {0x00008000u, 0x0000}, {0x00018000u, 0x0002},
        {0x00008001u, 0x0001}, {0x007fffffu, 0x0080}, {0x80000000u, 0x8000},
        {0x80008000u, 0x8000}, {0x00000001u, 0x0000},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        float x;
        memcpy(&x, &fixed[i].f, 4);
        uint16_t b;
        g_ref->f32_to_bf16(&b, &x, 1);
        ck_assert_msg(b == fixed[i].b, "bf16(0x%08x) = 0x%04x, want 0x%04x", fixed[i].f, b, fixed[i].b);
    }
    for (size_t i = 0; i < 1000000; i++) {
        uint32_t u = bf16_case_bits(42, i);
        float x, back;
        memcpy(&x, &u, 4);
        uint16_t b;
        g_ref->f32_to_bf16(&b, &x, 1);
        g_ref->bf16_to_f32(&back, &b, 1);
        if (isnan(x)) {
            ck_assert_msg(isnan(back) && signbit(back) == signbit(x), "NaN 0x%08x -> 0x%04x", u, b);
            continue;
        }
        ck_assert_msg(b == bf16_nearest_by_double(x), "bf16(0x%08x) = 0x%04x, nearest 0x%04x", u, b,
                      bf16_nearest_by_double(x));
        uint32_t ub;
        memcpy(&ub, &back, 4);
        ck_assert_msg(ub == (uint32_t)b << 16, "bf16_to_f32(0x%04x) = 0x%08x", b, ub);
    }
}
END_TEST

// one ISA against ref: f32 -> bf16 and bf16 -> f32 bit for bit, n values at offset off
static void check_bf16(const gn_kernels *k, size_t n, size_t off) {
    float *x = falloc(n, off), *back = falloc(n, off), *want_back = falloc(n, off);
    uint16_t *b = malloc((n + off) * 2), *want = malloc((n + off) * 2);
    for (size_t i = 0; i < n; i++) {
        uint32_t u = bf16_case_bits(n * 7 + off, i);
        memcpy(&x[i], &u, 4);
    }
    k->f32_to_bf16(b + off, x, n);
    g_ref->f32_to_bf16(want + off, x, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(b[off + i] == want[off + i], "f32_to_bf16 [%s] n=%zu off=%zu at %zu: 0x%04x, ref 0x%04x",
                      k->name, n, off, i, b[off + i], want[off + i]);
    k->bf16_to_f32(back, want + off, n);
    g_ref->bf16_to_f32(want_back, want + off, n);
    ck_assert_msg(memcmp(back, want_back, n * 4) == 0, "bf16_to_f32 [%s] n=%zu off=%zu differs", k->name,
                  n, off);
    ffree(x, off);
    ffree(back, off);
    ffree(want_back, off);
    free(b);
    free(want);
}

START_TEST(test_bf16_vs_ref) {
    for (int t = 0; t < g_nisa; t++)
        for (size_t s = 0; s < n_sizes(); s++)
            for (size_t o = 0; o < 3; o++) check_bf16(g_isa[t], size_at(s), k_offsets[o]);
}
END_TEST

/* ---- ref against double precision ---- */

// the float just above |x| minus |x|: one ulp
static double ulp_of(float x) {
    float a = fabsf(x);
    return (double)nextafterf(a, INFINITY) - (double)a;
}

START_TEST(test_ref_expf) {
    /* normal results: x in [-87.33, 88.72], every 97th float bit pattern there
     * (about 22 million points) plus a fine uniform sweep */
    double worst = 0;
    float at = 0;
    uint32_t lo_bits = 0, hi_bits = 0;
    float lo = -87.33f, hi = 88.72f;
    memcpy(&hi_bits, &hi, 4);
    for (uint32_t u = 0; u <= hi_bits; u += 97) {
        float x;
        memcpy(&x, &u, 4);
        double e = fabs((double)gn_expf(x) - exp((double)x)) / exp((double)x);
        if (e > worst) { worst = e; at = x; }
    }
    memcpy(&lo_bits, &lo, 4);
    for (uint32_t u = 0x80000000u; u <= lo_bits; u += 97) {
        float x;
        memcpy(&x, &u, 4);
        double e = fabs((double)gn_expf(x) - exp((double)x)) / exp((double)x);
        if (e > worst) { worst = e; at = x; }
    }
    for (int i = 0; i <= 1000000; i++) {
        float x = lo + (hi - lo) * (float)i / 1e6f;
        double e = fabs((double)gn_expf(x) - exp((double)x)) / exp((double)x);
        if (e > worst) { worst = e; at = x; }
    }
    ck_assert_msg(worst <= 2e-7, "gn_expf relative error %.3g at x=%.9g", worst, at);

    /* subnormal results: within one subnormal ulp (1.4e-45) */
    double dworst = 0;
    for (int i = 0; i <= 100000; i++) {
        float x = -103.9f + (-87.34f + 103.9f) * (float)i / 1e5f;
        double d = fabs((double)gn_expf(x) - exp((double)x));
        if (d > dworst) { dworst = d; at = x; }
    }
    ck_assert_msg(dworst <= 1.401298464e-45, "gn_expf(%.9g) off by %g", at, dworst);
    /* overflow, underflow, NaN */
    ck_assert(isinf(gn_expf(88.73f)) && gn_expf(88.73f) > 0);
    ck_assert(isinf(gn_expf(1e30f)) && isinf(gn_expf(INFINITY)));
    ck_assert(isfinite(gn_expf(88.72f)));
    ck_assert(gn_expf(-104.0f) == 0.0f && gn_expf(-1e30f) == 0.0f && gn_expf(-INFINITY) == 0.0f);
    ck_assert(isnan(gn_expf(NAN)));
    ck_assert(gn_expf(0.0f) == 1.0f && gn_expf(-0.0f) == 1.0f);
}
END_TEST

START_TEST(test_ref_sigmoid_tanh) {
    size_t n = 400001;
    float *x = falloc(n, 0), *s = falloc(n, 0), *t = falloc(n, 0);
    for (size_t i = 0; i < n; i++) x[i] = -40.0f + 80.0f * (float)i / (float)(n - 1);
    g_ref->sigmoid_forward(s, x, n);
    g_ref->tanh_forward(t, x, n);
    double ws = 0, wt = 0;
    for (size_t i = 0; i < n; i++) {
        double xs = 1.0 / (1.0 + exp(-(double)x[i])), xt = tanh((double)x[i]);
        double es = fabs(s[i] - xs) / xs;
        double et = xt == 0 ? fabs(t[i]) : fabs(t[i] - xt) / fabs(xt);
        if (es > ws) ws = es;
        if (et > wt) wt = et;
    }
    ck_assert_msg(ws <= 4e-7, "sigmoid relative error %.3g", ws);
    ck_assert_msg(wt <= 4e-7, "tanh relative error %.3g", wt);
    /* small |x|: tanh keeps relative accuracy where 1 - 2/(e+1) would not */
    for (int i = 1; i <= 1000; i++) {
        float v = 1e-6f * (float)i * (float)i;
        g_ref->tanh_forward(t, &v, 1);
        ck_assert_msg(fabs(t[0] - tanh((double)v)) <= 2 * ulp_of(t[0]), "tanh(%g) = %.9g", v, t[0]);
    }
    /* extremes: finite, saturated, odd */
    static const float ext[] = {1e30f, -1e30f, INFINITY, -INFINITY, 89.0f, -89.0f, 104.0f,
                                -104.0f, 1000.0f, -1000.0f, 3.4e38f, -3.4e38f};
    size_t ne = sizeof ext / sizeof ext[0];
    g_ref->sigmoid_forward(s, ext, ne);
    g_ref->tanh_forward(t, ext, ne);
    for (size_t i = 0; i < ne; i++) {
        ck_assert_msg(isfinite(s[i]) && s[i] >= 0 && s[i] <= 1, "sigmoid(%g) = %g", ext[i], s[i]);
        ck_assert_msg(isfinite(t[i]) && fabsf(t[i]) <= 1, "tanh(%g) = %g", ext[i], t[i]);
        ck_assert_msg(s[i] == (ext[i] > 0 ? 1.0f : 0.0f), "sigmoid(%g) = %g", ext[i], s[i]);
        ck_assert_msg(t[i] == (ext[i] > 0 ? 1.0f : -1.0f), "tanh(%g) = %g", ext[i], t[i]);
    }
    float z[2] = {0.0f, -0.0f};
    g_ref->tanh_forward(t, z, 2);
    ck_assert(t[0] == 0 && !signbit(t[0]) && t[1] == 0 && signbit(t[1]));
    g_ref->sigmoid_forward(s, z, 2);
    ck_assert(s[0] == 0.5f && s[1] == 0.5f);
    float nan = NAN;
    g_ref->sigmoid_forward(s, &nan, 1);
    g_ref->tanh_forward(t, &nan, 1);
    ck_assert(isnan(s[0]) && isnan(t[0]));
    ffree(x, 0); ffree(s, 0); ffree(t, 0);
}
END_TEST

START_TEST(test_ref_dropout_fraction) {
    const gn_kernels *all[8];
    int na = gn_kernels_available(all, 8);
    size_t n = 1u << 20;
    float *x = falloc(n, 0), *y = falloc(n, 0), *y2 = falloc(n, 0);
    for (size_t i = 0; i < n; i++) x[i] = 1.0f;
    static const float ps[] = {0.1f, 0.25f, 0.5f, 0.9f};
    for (int t = 0; t < na; t++) {
        for (size_t j = 0; j < 4; j++) {
            float p = ps[j], scale = 1.0f / (1.0f - p);
            uint32_t thr = (uint32_t)(p * 4294967296.0);
            all[t]->dropout(y, x, n, 42 + j, 1000, thr, scale);
            size_t kept = 0, bad = 0;
            for (size_t i = 0; i < n; i++) {
                int keep = gn_dropout_hash(42 + j, 1000 + i) >= thr;
                kept += keep;
                bad += y[i] != (keep ? scale : 0.0f);
            }
            ck_assert_msg(bad == 0, "[%s] p=%g: %zu values off the hash", all[t]->name, p, bad);
            /* binomial std is sqrt(p(1-p)/n) < 5e-4: allow 10 sigma */
            double frac = (double)kept / (double)n;
            ck_assert_msg(fabs(frac - (1.0 - p)) < 5e-3, "[%s] p=%g keeps %.5f", all[t]->name, p,
                          frac);
            /* slicing: two calls with offsets equal one call */
            size_t cut = 12345;
            all[t]->dropout(y2, x, cut, 42 + j, 1000, thr, scale);
            all[t]->dropout(y2 + cut, x + cut, n - cut, 42 + j, 1000 + cut, thr, scale);
            ck_assert(memcmp(y, y2, n * sizeof *y) == 0);
            /* different keys give different masks */
            all[t]->dropout(y2, x, n, 43 + j, 1000, thr, scale);
            ck_assert(memcmp(y, y2, n * sizeof *y) != 0);
        }
        /* threshold 0 keeps everything */
        all[t]->dropout(y, x, n, 7, 0, 0, 1.0f);
        size_t dropped = 0;
        for (size_t i = 0; i < n; i++) dropped += y[i] != 1.0f;
        ck_assert_msg(dropped == 0, "[%s] threshold 0 dropped %zu", all[t]->name, dropped);
    }
    /* the hash is the documented mixer */
    ck_assert_uint_eq(gn_dropout_hash(0, 0), gn_mix32(gn_mix32(0)));
    ck_assert_uint_eq(gn_dropout_hash(0x500000003ull, 0x100000002ull), gn_mix32(gn_mix32(2u ^ 3u) ^ 5u));
    ffree(x, 0); ffree(y, 0); ffree(y2, 0);
}
END_TEST

START_TEST(test_ref_adam_step) {
    /* hand-computed in double from the same float hyper-parameters: step t = 3
     * of Keras-form Adam */
    float w[3] = {0.5f, -0.25f, 1.0f}, m[3] = {0.1f, -0.02f, 0.0f}, v[3] = {0.01f, 0.0004f, 0.0f};
    float g[3] = {0.2f, 0.3f, -1.0f};
    float lrf = 1e-3f, b1f = 0.9f, b2f = 0.999f, epsf = 1e-7f;
    double lr = lrf, b1 = b1f, b2 = b2f, eps = epsf;
    float bc1f = (float)(1 - pow(b1, 3)), bc2f = (float)(1 - pow(b2, 3));
    double bc1 = bc1f, bc2 = bc2f;
    double we[3], me[3], ve[3];
    for (int i = 0; i < 3; i++) {
        me[i] = b1 * m[i] + (1 - b1) * g[i];
        ve[i] = b2 * v[i] + (1 - b2) * (double)g[i] * g[i];
        we[i] = w[i] - lr * (me[i] / bc1) / (sqrt(ve[i] / bc2) + eps);
    }
    g_ref->adam(w, m, v, g, 3, lrf, b1f, b2f, epsf, bc1f, bc2f);
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(fabs(m[i] - me[i]) <= 1e-6 * fmax(fabs(me[i]), 1e-3), "m[%d] %.9g vs %.9g", i, m[i], me[i]);
        ck_assert_msg(fabs(v[i] - ve[i]) <= 1e-6 * fabs(ve[i]), "v[%d] %.9g vs %.9g", i, v[i], ve[i]);
        ck_assert_msg(fabs(w[i] - we[i]) <= 1e-6 * fabs(we[i]), "w[%d] %.9g vs %.9g", i, w[i], we[i]);
    }
    /* the first element by hand: m = 0.11, v = 0.00999 + 0.00004 = 0.01003 */
    ck_assert(fabs(me[0] - 0.11) < 1e-7 && fabs(ve[0] - 0.01003) < 1e-7);
}
END_TEST

START_TEST(test_ref_semantics) {
    const gn_kernels *r = g_ref;
    float x[6] = {-1.0f, 0.0f, -0.0f, 2.0f, NAN, -INFINITY}, y[6], d[6];
    r->relu_forward(y, x, 6);
    ck_assert(y[0] == 0 && !signbit(y[0]) && y[1] == 0 && !signbit(y[2]) && y[3] == 2.0f);
    ck_assert(y[4] == 0 && y[5] == 0);
    r->leaky_relu_forward(y, x, 6, 0.2f);
    ck_assert(y[0] == -0.2f && y[3] == 2.0f && isnan(y[4]) && y[5] == -INFINITY);
    float dy[6] = {1, 2, 3, 4, 5, 6}, yy[6] = {1, 0, -1, 2, NAN, -3};
    r->relu_backward(d, dy, yy, 6);
    ck_assert(d[0] == 1 && d[1] == 0 && d[2] == 0 && d[3] == 4 && d[4] == 0 && d[5] == 0);
    r->leaky_relu_backward(d, dy, yy, 6, 0.5f);
    ck_assert(d[0] == 1 && d[1] == 1 && d[2] == 1.5f && d[3] == 4 && d[5] == 3);
    float sy[2] = {0.25f, 0.5f}, sd[2] = {2, 4};
    r->sigmoid_backward(d, sd, sy, 2);
    ck_assert(d[0] == 0.375f && d[1] == 1.0f);
    r->tanh_backward(d, sd, sy, 2);
    ck_assert(d[0] == 1.875f && d[1] == 3.0f);

    /* channel ops on a 3 x 2 matrix */
    float m[6] = {1, 2, 3, 4, 5, 6}, sum[2] = {10, 0}, sq[2] = {0, 1};
    r->channel_sum_sumsq(sum, sq, m, NULL, 3, 2);
    ck_assert(sum[0] == 19 && sum[1] == 12 && sq[0] == 35 && sq[1] == 57);
    /* centred on (3, 2): d = (-2, 0), (0, 2), (2, 4) */
    float ctr[2] = {3, 2};
    sum[0] = 10; sum[1] = 0; sq[0] = 0; sq[1] = 1;
    r->channel_sum_sumsq(sum, sq, m, ctr, 3, 2);
    ck_assert(sum[0] == 10 && sum[1] == 6 && sq[0] == 8 && sq[1] == 21);
    float sc[2] = {2, -1}, sh[2] = {1, 1}, o[6];
    r->channel_affine(o, m, 3, 2, sc, sh, 1);
    ck_assert(o[0] == 3 && o[1] == 0 && o[2] == 7 && o[3] == 0 && o[4] == 11 && o[5] == 0);
    float g1[2] = {0, 0}, g2[2] = {0, 0}, ybn[6] = {1, -1, 0, 2, 3, 4}, dyb[6] = {1, 1, 1, 1, 1, 1};
    r->bn_backward_sums(g1, g2, dyb, ybn, m, NULL, 3, 2, 1);
    ck_assert(g1[0] == 2 && g1[1] == 2 && g2[0] == 6 && g2[1] == 10);
    /* centred: g is 1 at (0,0), (1,1), (2,0), (2,1); d there is -2, 2, 2, 4 */
    g1[0] = g1[1] = g2[0] = g2[1] = 0;
    r->bn_backward_sums(g1, g2, dyb, ybn, m, ctr, 3, 2, 1);
    ck_assert(g1[0] == 2 && g1[1] == 2 && g2[0] == 0 && g2[1] == 6);
    float a[2] = {1, 2}, b[2] = {0.5f, 0}, k[2] = {0, 1};
    r->bn_backward_apply(o, dyb, ybn, m, NULL, 3, 2, a, b, k, 1);
    ck_assert(o[0] == 1.5f && o[1] == 1 && o[2] == 1.5f && o[3] == 3 && o[4] == 3.5f && o[5] == 3);
    float b2[2] = {0.5f, 1};
    r->bn_backward_apply(o, dyb, ybn, m, ctr, 3, 2, a, b2, k, 1);
    ck_assert(o[0] == 0 && o[1] == 1 && o[2] == 0 && o[3] == 5 && o[4] == 2 && o[5] == 7);

    /* upsample by index */
    size_t H = 2, W = 3, C = 2, f = 3;
    float ux[12], uy[108], ud[12];
    for (int i = 0; i < 12; i++) ux[i] = (float)i;
    r->upsample_forward(uy, ux, H, W, C, f);
    for (size_t h = 0; h < H * f; h++)
        for (size_t w = 0; w < W * f; w++)
            for (size_t c = 0; c < C; c++)
                ck_assert(uy[(h * W * f + w) * C + c] == ux[((h / f) * W + w / f) * C + c]);
    r->upsample_backward(ud, uy, H, W, C, f);
    for (int i = 0; i < 12; i++) ck_assert(ud[i] == 9.0f * ux[i]);

    float ay[3] = {1, 2, 3}, ax[3] = {1, 1, 1};
    r->axpy(ay, ax, 3, 0.5f);
    ck_assert(ay[0] == 1.5f && ay[2] == 3.5f);
}
END_TEST

/* Centring: data with mean 1000 and standard deviation 1. The variance from
 * sums centred on the first row is accurate to 1e-3 relative; from uncentred
 * sums (E[x^2] - mean^2 in float sums) it is not. */
START_TEST(test_ref_centred_variance) {
    const gn_kernels *r = g_ref;
    enum { ROWS = 4096, CH = 5 };
    float *x = falloc(ROWS * CH, 0);
    /* uniform on [1000 - sqrt(3), 1000 + sqrt(3)): standard deviation 1 */
    tu_fill(x, ROWS * CH, 42, 1000.0f - 1.7320508f, 1000.0f + 1.7320508f);
    double worst_c = 0, best_u = INFINITY;
    for (int centred = 0; centred <= 1; centred++) {
        float s1[CH] = {0}, s2[CH] = {0};
        const float *centre = centred ? x : NULL; /* the first row */
        r->channel_sum_sumsq(s1, s2, x, centre, ROWS, CH);
        for (size_t c = 0; c < CH; c++) {
            double mean = 0, var = 0;
            for (size_t i = 0; i < ROWS; i++) mean += x[i * CH + c];
            mean /= ROWS;
            for (size_t i = 0; i < ROWS; i++) {
                double d = x[i * CH + c] - mean;
                var += d * d;
            }
            var /= ROWS;
            double m1 = (double)s1[c] / ROWS;
            double v = (double)s2[c] / ROWS - m1 * m1;
            double mu = (centred ? x[c] : 0.0) + m1;
            double err = fabs(v - var) / var;
            ck_assert_msg(fabs(var - 1.0) < 0.1, "channel %zu: variance %g, expected about 1", c, var);
            if (centred) {
                ck_assert_msg(fabs(mu - mean) <= 1e-6 * mean, "channel %zu: centred mean %.9g, true %.9g",
                              c, mu, mean);
                if (err > worst_c) worst_c = err;
            } else if (err < best_u) {
                best_u = err;
            }
        }
    }
    printf("variance, mean 1000 std 1: centred worst relative error %.3g, uncentred best %.3g\n",
           worst_c, best_u);
    ck_assert_msg(worst_c <= 1e-3, "centred variance relative error %.3g > 1e-3", worst_c);
    ck_assert_msg(best_u > 1e-3, "uncentred variance unexpectedly accurate (%.3g)", best_u);
    ffree(x, 0);
}
END_TEST

/* ---- dispatch ---- */

START_TEST(test_dispatch) {
    const gn_kernels *all[8];
    int na = gn_kernels_available(all, 8);
    ck_assert(na >= 1 && all[0] == g_ref && !strcmp(all[0]->name, "ref"));
    ck_assert(gn_kernels_get("ref") == g_ref);
    ck_assert(gn_kernels_get("bogus") == NULL && gn_kernels_get(NULL) == NULL);
    for (int t = 0; t < na; t++) {
        const gn_kernels *k = all[t];
        ck_assert(gn_kernels_get(k->name) == k);
        ck_assert(k->relu_forward && k->relu_backward && k->leaky_relu_forward &&
                  k->leaky_relu_backward && k->sigmoid_forward && k->sigmoid_backward &&
                  k->tanh_forward && k->tanh_backward && k->dropout &&
                  k->channel_sum_sumsq && k->channel_affine &&
                  k->bn_backward_sums && k->bn_backward_apply && k->upsample_forward &&
                  k->upsample_backward && k->adam && k->axpy && k->all_finite);
    }
    gn_cpu_features f = gn_cpu_detect();
    const gn_kernels *a512 = gn_kernels_get("avx512"), *a2 = gn_kernels_get("avx2");
    if (a512) ck_assert(f.avx512f && f.avx512bw && f.avx512vl && f.avx2 && f.fma);
    if (a2) ck_assert(f.avx2 && f.fma);
    if (gn_kernels_get("neon")) ck_assert(f.neon);
#if defined(__aarch64__)
    ck_assert(gn_kernels_get("neon") != NULL);
#endif
    printf("cpu: avx2=%d fma=%d avx512f=%d bw=%d vl=%d bf16=%d amx_tile=%d amx_bf16=%d neon=%d\n",
           f.avx2, f.fma, f.avx512f, f.avx512bw, f.avx512vl, f.avx512_bf16, f.amx_tile, f.amx_bf16,
           f.neon);

    /* GANNET_ISA: default is the best; each available name is honoured; an
     * unknown one falls back to the best */
    char *saved = getenv("GANNET_ISA") ? strdup(getenv("GANNET_ISA")) : NULL;
    unsetenv("GANNET_ISA");
    gn_kernels_init();
    ck_assert(gn_kern() == all[na - 1]);
    for (int t = 0; t < na; t++) {
        setenv("GANNET_ISA", all[t]->name, 1);
        gn_kernels_init();
        ck_assert(gn_kern() == all[t]);
    }
    setenv("GANNET_ISA", "no-such-isa", 1);
    gn_kernels_init();
    ck_assert(gn_kern() == all[na - 1]);
    if (saved) setenv("GANNET_ISA", saved, 1);
    else unsetenv("GANNET_ISA");
    free(saved);
    gn_kernels_init();
}
END_TEST

// the suite: dispatch, ref against double, every ISA against ref
static Suite *kernels_suite(void) {
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("ref");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_dispatch);
    tcase_add_test(tc, test_ref_semantics);
    tcase_add_test(tc, test_ref_expf);
    tcase_add_test(tc, test_ref_sigmoid_tanh);
    tcase_add_test(tc, test_ref_dropout_fraction);
    tcase_add_test(tc, test_ref_adam_step);
    tcase_add_test(tc, test_ref_centred_variance);
    tcase_add_test(tc, test_all_finite);
    tcase_add_test(tc, test_ref_bf16);
    suite_add_tcase(s, tc);
    TCase *tv = tcase_create("isa_vs_ref");
    tcase_set_timeout(tv, 600);
    tcase_add_test(tv, test_elementwise_vs_ref);
    tcase_add_test(tv, test_dropout_vs_ref);
    tcase_add_test(tv, test_channels_vs_ref);
    tcase_add_test(tv, test_upsample_vs_ref);
    tcase_add_test(tv, test_adam_vs_ref);
    tcase_add_test(tv, test_bf16_vs_ref);
    suite_add_tcase(s, tv);
    return s;
}

int main(void) {
    g_ref = gn_kernels_get("ref");
    const gn_kernels *all[8];
    int na = gn_kernels_available(all, 8);
    printf("kernels: testing");
    for (int t = 0; t < na; t++) {
        printf(" %s", all[t]->name);
        if (all[t] != g_ref) g_isa[g_nisa++] = all[t];
    }
    printf(" (default %s)\n", gn_kern()->name);
    return tu_run_suite(kernels_suite());
}
