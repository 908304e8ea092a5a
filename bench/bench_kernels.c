/* `gannet bench kernels`: every kernel on every ISA this CPU runs, at the
 * sizes the seed-mnist model uses; median of --iters timed runs after one
 * warm-up run. Single-threaded, like the kernels themselves. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "cli/args.h"
#include "kernels.h"

enum {
    K_RELU_F, K_RELU_B, K_LEAKY_F, K_LEAKY_B, K_SIG_F, K_SIG_B, K_TANH_F, K_TANH_B, K_DROP,
    K_SUMSQ, K_AFFINE, K_BN_SUMS, K_BN_APPLY, K_UP_F, K_UP_B, K_ADAM, K_AXPY, K_FINITE
};

typedef struct bench_case {
    int kernel;
    const char *name;
    size_t n;            /* elements (1-D), or rows (2-D), or images (upsample) */
    size_t C, H, W, f;   /* channels; image height, width and factor for upsample */
    double bytes_per_el; /* bytes read + written per element of n (times C, H*W*C) */
} bench_case;

/* The seed-mnist sizes: the generator's 14x14x256 and 28x28x100 activations
 * for a batch of 128, its batch-norm shapes (NHWC rows x C, and a dense layer
 * of 39200 features), its 9.7M parameters, and its 2x upsample of 14x14x200. */
#define N_A (128u * 14 * 14 * 256)
#define N_B (128u * 28 * 28 * 100)
#define N_ADAM 9700000u
static const bench_case k_cases[] = {
    {K_RELU_F, "relu_forward", N_A, 0, 0, 0, 0, 8},
    {K_RELU_F, "relu_forward", N_B, 0, 0, 0, 0, 8},
    {K_RELU_B, "relu_backward", N_A, 0, 0, 0, 0, 12},
    {K_RELU_B, "relu_backward", N_B, 0, 0, 0, 0, 12},
    {K_LEAKY_F, "leaky_relu_forward", N_A, 0, 0, 0, 0, 8},
    {K_LEAKY_F, "leaky_relu_forward", N_B, 0, 0, 0, 0, 8},
    {K_LEAKY_B, "leaky_relu_backward", N_A, 0, 0, 0, 0, 12},
    {K_LEAKY_B, "leaky_relu_backward", N_B, 0, 0, 0, 0, 12},
    {K_SIG_F, "sigmoid_forward", N_A, 0, 0, 0, 0, 8},
    {K_SIG_F, "sigmoid_forward", N_B, 0, 0, 0, 0, 8},
    {K_SIG_B, "sigmoid_backward", N_A, 0, 0, 0, 0, 12},
    {K_SIG_B, "sigmoid_backward", N_B, 0, 0, 0, 0, 12},
    {K_TANH_F, "tanh_forward", N_A, 0, 0, 0, 0, 8},
    {K_TANH_F, "tanh_forward", N_B, 0, 0, 0, 0, 8},
    {K_TANH_B, "tanh_backward", N_A, 0, 0, 0, 0, 12},
    {K_TANH_B, "tanh_backward", N_B, 0, 0, 0, 0, 12},
    {K_DROP, "dropout", N_A, 0, 0, 0, 0, 8},
    {K_DROP, "dropout", N_B, 0, 0, 0, 0, 8},
    {K_SUMSQ, "channel_sum_sumsq", 128u * 28 * 28, 100, 0, 0, 0, 4},
    {K_SUMSQ, "channel_sum_sumsq", 128u * 14 * 14, 200, 0, 0, 0, 4},
    {K_SUMSQ, "channel_sum_sumsq", 128, 39200, 0, 0, 0, 4},
    {K_AFFINE, "channel_affine", 128u * 28 * 28, 100, 0, 0, 0, 8},
    {K_AFFINE, "channel_affine", 128u * 14 * 14, 200, 0, 0, 0, 8},
    {K_AFFINE, "channel_affine", 128, 39200, 0, 0, 0, 8},
    {K_BN_SUMS, "bn_backward_sums", 128u * 28 * 28, 100, 0, 0, 0, 12},
    {K_BN_SUMS, "bn_backward_sums", 128u * 14 * 14, 200, 0, 0, 0, 12},
    {K_BN_SUMS, "bn_backward_sums", 128, 39200, 0, 0, 0, 12},
    {K_BN_APPLY, "bn_backward_apply", 128u * 28 * 28, 100, 0, 0, 0, 16},
    {K_BN_APPLY, "bn_backward_apply", 128u * 14 * 14, 200, 0, 0, 0, 16},
    {K_BN_APPLY, "bn_backward_apply", 128, 39200, 0, 0, 0, 16},
    {K_UP_F, "upsample_forward", 128, 200, 14, 14, 2, 4 + 4 * 4},
    {K_UP_B, "upsample_backward", 128, 200, 14, 14, 2, 4 + 4 * 4},
    {K_ADAM, "adam", N_ADAM, 0, 0, 0, 0, 28},
    {K_AXPY, "axpy", N_ADAM, 0, 0, 0, 0, 12},
    {K_FINITE, "all_finite", N_ADAM, 0, 0, 0, 0, 4},
};

/* Buffers big enough for every case, shared by all of them. */
typedef struct bench_bufs {
    float *a, *b, *c, *d;
    float *ch[6]; /* per-channel vectors; ch[5] is the batch-norm centre */
} bench_bufs;

// seconds on a monotonic clock
static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// fills x with values in [lo, hi) from a small xorshift generator
static void fill(float *x, size_t n, uint64_t seed, float lo, float hi) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        x[i] = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
    }
}

// elements the case's byte count is per (n, rows*C, or images*H*W*C)
static double case_elements(const bench_case *c) {
    if (c->kernel == K_UP_F || c->kernel == K_UP_B) return (double)c->n * c->H * c->W * c->C;
    if (c->C) return (double)c->n * c->C;
    return (double)c->n;
}

// the case's size as text
static void case_size(const bench_case *c, char *out, size_t cap) {
    if (c->kernel == K_UP_F || c->kernel == K_UP_B)
        snprintf(out, cap, "%zux%zux%zux%zu f=%zu", c->n, c->H, c->W, c->C, c->f);
    else if (c->C)
        snprintf(out, cap, "%zux%zu", c->n, c->C);
    else
        snprintf(out, cap, "%zu", c->n);
}

// one run of a case on table k
static void run_case(const gn_kernels *k, const bench_case *c, bench_bufs *b) {
    size_t n = c->n, C = c->C;
    switch (c->kernel) {
    case K_RELU_F: k->relu_forward(b->b, b->a, n); break;
    case K_RELU_B: k->relu_backward(b->c, b->a, b->b, n); break;
    case K_LEAKY_F: k->leaky_relu_forward(b->b, b->a, n, 0.2f); break;
    case K_LEAKY_B: k->leaky_relu_backward(b->c, b->a, b->b, n, 0.2f); break;
    case K_SIG_F: k->sigmoid_forward(b->b, b->a, n); break;
    case K_SIG_B: k->sigmoid_backward(b->c, b->a, b->b, n); break;
    case K_TANH_F: k->tanh_forward(b->b, b->a, n); break;
    case K_TANH_B: k->tanh_backward(b->c, b->a, b->b, n); break;
    case K_DROP: k->dropout(b->b, b->a, n, 1234, 0, 1u << 31, 2.0f); break;
    case K_SUMSQ:
        memset(b->ch[0], 0, C * sizeof(float));
        memset(b->ch[1], 0, C * sizeof(float));
        k->channel_sum_sumsq(b->ch[0], b->ch[1], b->a, b->ch[5], n, C);
        break;
    case K_AFFINE: k->channel_affine(b->b, b->a, n, C, b->ch[2], b->ch[3], 1); break;
    case K_BN_SUMS:
        memset(b->ch[0], 0, C * sizeof(float));
        memset(b->ch[1], 0, C * sizeof(float));
        k->bn_backward_sums(b->ch[0], b->ch[1], b->a, b->b, b->c, b->ch[5], n, C, 1);
        break;
    case K_BN_APPLY:
        k->bn_backward_apply(b->d, b->a, b->b, b->c, b->ch[5], n, C, b->ch[2], b->ch[3], b->ch[4],
                             1);
        break;
    case K_UP_F: {
        size_t in = c->H * c->W * C, out = in * c->f * c->f;
        for (size_t i = 0; i < n; i++) k->upsample_forward(b->b + i * out, b->a + i * in, c->H, c->W, C, c->f);
        break;
    }
    case K_UP_B: {
        size_t in = c->H * c->W * C, out = in * c->f * c->f;
        for (size_t i = 0; i < n; i++) k->upsample_backward(b->b + i * in, b->a + i * out, c->H, c->W, C, c->f);
        break;
    }
    case K_ADAM: k->adam(b->a, b->b, b->c, b->d, n, 1e-4f, 0.5f, 0.999f, 1e-7f, 0.75f, 0.002f); break;
    case K_AXPY: k->axpy(b->b, b->a, n, 1e-3f); break;
    case K_FINITE:
        if (!k->all_finite(b->a, n)) fprintf(stderr, "bench: unexpected non-finite input\n");
        break;
    }
}

// restores inputs earlier cases overwrote where a case needs their range
static void prepare_case(const bench_case *c, bench_bufs *b) {
    if (c->kernel == K_ADAM) {
        fill(b->a, c->n, 1, -1.0f, 1.0f);  /* w */
        fill(b->b, c->n, 2, -0.1f, 0.1f);  /* m */
        fill(b->c, c->n, 3, 0.0f, 1e-2f);  /* v >= 0 */
    }
    if (c->kernel == K_FINITE) fill(b->a, c->n, 1, -3.0f, 3.0f);
}

// ascending order of doubles, for qsort
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// the median seconds of iters timed runs after one warm-up
static double time_case(const gn_kernels *k, const bench_case *c, bench_bufs *b, int iters) {
    double *t = malloc((size_t)iters * sizeof *t);
    prepare_case(c, b);
    run_case(k, c, b);
    for (int i = 0; i < iters; i++) {
        double t0 = now_s();
        run_case(k, c, b);
        t[i] = now_s() - t0;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_double);
    double med = iters % 2 ? t[iters / 2] : 0.5 * (t[iters / 2 - 1] + t[iters / 2]);
    free(t);
    return med;
}

int gn_bench_kernels(int argc, char **argv) {
    const gn_kernels *isas[8];
    int nisa = gn_kernels_available(isas, 8);
    size_t ncase = sizeof k_cases / sizeof k_cases[0];
    /* --isa and --kernel choose among what exists here, or "all" */
    const char *isa_names[10] = {"all"}, *kernel_names[sizeof k_cases / sizeof k_cases[0] + 2] = {"all"};
    for (int t = 0; t < nisa; t++) isa_names[1 + t] = isas[t]->name;
    int nk = 1;
    for (size_t i = 0; i < ncase; i++)
        if (!i || strcmp(k_cases[i].name, k_cases[i - 1].name)) kernel_names[nk++] = k_cases[i].name;
    kernel_names[nk] = NULL;
    int iters = 5, json = 0, isa_i = 0, kernel_i = 0;
    gn_option opts[] = {
        {"iters", GN_OPT_INT, &iters, "timed runs per kernel and size (the median is shown)", 1, 100000, NULL, 0},
        {"isa", GN_OPT_CHOICE, &isa_i, "only this ISA (ref is always timed, for the speed-up)", 0, 0, isa_names, 0},
        {"kernel", GN_OPT_CHOICE, &kernel_i, "only this kernel", 0, 0, kernel_names, 0},
        {"json", GN_OPT_FLAG, &json, "print JSON instead of a table", 0, 0, NULL, 0},
        {0},
    };
    char err[1024];
    int r = gn_args_parse("bench kernels", opts, argc, argv, err, sizeof err);
    if (r == 1) {
        gn_args_usage("bench kernels",
                      "Times every kernel on every ISA this CPU runs at the seed-mnist sizes "
                      "(single thread).", opts);
        return 0;
    }
    if (r) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    const char *only_isa = isa_i ? isa_names[isa_i] : NULL;
    const char *only_kernel = kernel_i ? kernel_names[kernel_i] : NULL;

    /* a and b also hold upsample's f*f-times larger side; c and d do not */
    size_t maxab = 0, maxcd = 0, maxc = 0;
    for (size_t i = 0; i < ncase; i++) {
        const bench_case *c = &k_cases[i];
        size_t e = (size_t)case_elements(c);
        if (c->kernel == K_UP_F || c->kernel == K_UP_B) e *= c->f * c->f;
        else if (e > maxcd) maxcd = e;
        if (e > maxab) maxab = e;
        if (c->C > maxc) maxc = c->C;
    }
    size_t maxn = maxcd;
    bench_bufs b;
    b.a = malloc(maxab * sizeof(float));
    b.b = malloc(maxab * sizeof(float));
    b.c = malloc(maxcd * sizeof(float));
    b.d = malloc(maxcd * sizeof(float));
    int ch_ok = 1;
    for (int i = 0; i < 6; i++) {
        b.ch[i] = malloc(maxc * sizeof(float));
        if (!b.ch[i]) ch_ok = 0;
    }
    if (!b.a || !b.b || !b.c || !b.d || !ch_ok) {
        fprintf(stderr, "bench: out of memory\n");
        return 1;
    }
    fill(b.a, maxab, 1, -3.0f, 3.0f);
    fill(b.b, maxab, 2, -1.0f, 1.0f);
    fill(b.c, maxn, 3, 0.0f, 1e-2f);
    fill(b.d, maxn, 4, -1.0f, 1.0f);
    for (int i = 0; i < 6; i++) fill(b.ch[i], maxc, 10 + (uint64_t)i, 0.5f, 1.5f);

    if (json) printf("[\n");
    else printf("%-20s %-7s %-22s %11s %9s %9s\n", "kernel", "isa", "size", "median ms", "GB/s",
                "vs ref");
    int first = 1;
    for (size_t i = 0; i < ncase; i++) {
        const bench_case *c = &k_cases[i];
        if (only_kernel && strcmp(only_kernel, c->name) != 0) continue;
        char size[64];
        case_size(c, size, sizeof size);
        double bytes = case_elements(c) * c->bytes_per_el;
        double ref_s = 0;
        for (int t = 0; t < nisa; t++) {
            int is_ref = !strcmp(isas[t]->name, "ref");
            if (only_isa && strcmp(only_isa, isas[t]->name) != 0 && !is_ref) continue;
            double s = time_case(isas[t], c, &b, iters);
            if (is_ref) ref_s = s;
            if (only_isa && strcmp(only_isa, isas[t]->name) != 0) continue;
            double gbps = bytes / s * 1e-9, speedup = ref_s > 0 ? ref_s / s : 0;
            if (json) {
                printf("%s  {\"kernel\": \"%s\", \"isa\": \"%s\", \"size\": \"%s\", \"elements\": %.0f, "
                       "\"ms\": %.4f, \"gbps\": %.3f, \"speedup\": %.3f}",
                       first ? "" : ",\n", c->name, isas[t]->name, size, case_elements(c), s * 1e3,
                       gbps, speedup);
            } else {
                printf("%-20s %-7s %-22s %11.3f %9.2f %8.2fx\n", c->name, isas[t]->name, size,
                       s * 1e3, gbps, speedup);
            }
            first = 0;
            fflush(stdout);
        }
    }
    if (json) printf("\n]\n");

    free(b.a); free(b.b); free(b.c); free(b.d);
    for (int i = 0; i < 6; i++) free(b.ch[i]);
    return 0;
}
