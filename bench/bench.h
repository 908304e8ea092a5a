/* The bench suite behind `gannet bench`. Each entry returns an exit status. */
#ifndef GANNET_BENCH_H
#define GANNET_BENCH_H

int gn_bench_layers(int argc, char **argv);
int gn_bench_kernels(int argc, char **argv);
int gn_bench_step(int argc, char **argv);

/* This machine's fp32 FMA peak in GFLOP/s, measured with an FMA loop on
 * every OpenMP thread (AVX-512 or AVX2 as the CPU has). */
double gn_bench_peak_gflops(void);
/* Median of n values (sorts them). */
double gn_bench_median(double *v, int n);

#endif
