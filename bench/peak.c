/* The machine's fp32 FMA peak, measured: independent FMA chains on every
 * thread for a fixed count, the best of a few runs. */
#include <stdlib.h>

#include <omp.h>

#include "bench.h"
#include "kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* 12 independent chains of 16-wide FMAs: 2 * 16 * 12 flops per round. */
__attribute__((target("avx512f,fma"))) static float fma_avx512(long rounds) {
    __m512 a[12], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
    __m512 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}

/* 12 independent chains of 8-wide FMAs. */
__attribute__((target("avx2,fma"))) static float fma_avx2(long rounds) {
    __m256 a[12], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
    __m256 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, a[i]);
    float o[8];
    _mm256_storeu_ps(o, s);
    return o[0] + o[7];
}

/* 12 independent chains of vdpbf16ps: each does 16 lanes x 2 bf16 products,
 * summed into f32, so 64 flops per instruction. */
__attribute__((target("avx512f,avx512bf16"))) static float dpbf16_avx512(long rounds) {
    __m512 a[12];
    __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80), y = (__m512bh)_mm512_set1_epi32(0x33803380);
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < 12; i++) a[i] = _mm512_dpbf16_ps(a[i], x, y);
    __m512 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}
#endif

/* Scalar fallback: 8 chains of a*b+c. */
static float fma_scalar(long rounds) {
    float a[8];
    for (int i = 0; i < 8; i++) a[i] = (float)i;
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < 8; i++) a[i] = a[i] * 0.999999f + 1e-7f;
    return a[0] + a[7];
}

#define PEAK_ROUNDS 20000000L
#define PEAK_REPEATS 3

/* The best of PEAK_REPEATS runs of `loop` on every OpenMP thread, in GFLOP/s,
 * for a loop doing flops_per_round flops per round. */
static double best_rate(float (*loop)(long), double flops_per_round) {
    double best = 0;
    volatile float sink = 0;
    for (int rep = 0; rep < PEAK_REPEATS; rep++) {
        int threads = 1;
        double t0 = omp_get_wtime();
#pragma omp parallel
        {
#pragma omp single
            threads = omp_get_num_threads();
            float r = loop(PEAK_ROUNDS);
#pragma omp atomic
            sink += r;
        }
        double g = flops_per_round * (double)PEAK_ROUNDS * threads / (omp_get_wtime() - t0) / 1e9;
        if (g > best) best = g;
    }
    (void)sink;
    return best;
}

double gn_bench_peak_gflops(void) {
#if defined(__x86_64__)
    gn_cpu_features f = gn_cpu_detect();
    if (f.avx512f && f.fma) return best_rate(fma_avx512, 2.0 * 16 * 12);
    if (f.avx2 && f.fma) return best_rate(fma_avx2, 2.0 * 8 * 12);
#endif
    return best_rate(fma_scalar, 2.0 * 8);
}

double gn_bench_peak_bf16_gflops(void) {
#if defined(__x86_64__)
    if (gn_cpu_detect().avx512_bf16) return best_rate(dpbf16_avx512, 64.0 * 12);
#endif
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double gn_bench_median(double *v, int n) {
    if (n <= 0) return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
