/* The bench suite behind `gannet bench`. Each entry returns an exit status. */
#ifndef GANNET_BENCH_H
#define GANNET_BENCH_H

#include "gannet/gan.h"

/* Forward, backward-data and backward-weights time of every layer of a
 * preset, GFLOP/s and percent of the measured fp32 peak. */
int gn_bench_layers(int argc, char **argv);

/* Times every kernel on every ISA this CPU runs, at the seed-mnist model's
 * sizes, and prints a table (or JSON with --json): kernel, ISA, size, median
 * time, GB/s and speed-up over ref. Options: --iters N (timed runs per case,
 * default 5), --json, --isa NAME and --kernel NAME (run only those), --help.
 * argv[0] may be the subcommand's name and is skipped unless it is an option.
 * Returns 0, or 2 on a bad option. */
int gn_bench_kernels(int argc, char **argv);

/* The whole training iteration, broken down by pass; the last line is
 * "step: <ms> ms/iter, <samples/s> samples/s". */
int gn_bench_step(int argc, char **argv);

/* This machine's fp32 FMA peak in GFLOP/s, measured with an FMA loop on
 * every OpenMP thread (AVX-512 or AVX2 as the CPU has). */
double gn_bench_peak_gflops(void);
/* The settings and model text (cfg->model, caller frees) of a preset for
 * images of size x size x channels (0: the preset's own), as `gannet train`
 * picks them for such data (gn_preset_text_for). Returns an exit status. */
int gn_bench_model(const char *cmd, const char *preset, int size, int channels, gn_gan_config *cfg);
/* Data of the given shape: the bundled MNIST for 28x28x1, else random pixels. */
int gn_bench_data(const char *cmd, const gn_gan_config *cfg, gn_dataset *ds, gn_shape shape);
/* The bf16 dot-product peak in GFLOP/s: a vdpbf16ps loop on every OpenMP
 * thread; 0 when the CPU lacks AVX512_BF16 (AMX is not measured). */
double gn_bench_peak_bf16_gflops(void);
/* Median of n values (sorts them). */
double gn_bench_median(double *v, int n);

#endif
