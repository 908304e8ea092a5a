/* gannet bench layers | kernels | step */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli/cli.h"

int gn_cmd_bench(int argc, char **argv) {
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        FILE *f = argc < 1 ? stderr : stdout;
        fprintf(f, "usage: gannet bench layers|kernels|step [options]\n\n"
                   "  layers   forward, backward-data and backward-weights time of every layer,\n"
                   "           GFLOP/s and percent of this machine's measured fp32 peak\n"
                   "  kernels  every SIMD kernel on every ISA this CPU has, against the scalar reference\n"
                   "  step     the whole training iteration, broken down by pass\n\n"
                   "'gannet bench WHAT --help' lists its options.\n");
        return argc < 1 ? 2 : 0;
    }
    if (!strcmp(argv[0], "layers")) return gn_bench_layers(argc - 1, argv + 1);
    if (!strcmp(argv[0], "kernels")) return gn_bench_kernels(argc - 1, argv + 1);
    if (!strcmp(argv[0], "step")) return gn_bench_step(argc - 1, argv + 1);
    fprintf(stderr, "gannet bench: unknown benchmark '%s' (layers, kernels or step)\n", argv[0]);
    return 2;
}
