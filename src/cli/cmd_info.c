/* gannet info: what this machine and build offer, or a preset's layers. */
#include <stdio.h>

#include <omp.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "dist.h"
#include "dnnl/dnn_op.h"
#include "gannet/gan.h"
#include "gannet_config.h"
#include "kernels.h"

int gn_cmd_info(int argc, char **argv) {
    int preset = -1;
    const char *model = NULL;
    gn_option opts[] = {
        {"preset", GN_OPT_CHOICE, &preset, "print the layers of a preset's G and D", 0, 0,
         gn_preset_names, 0},
        {"model", GN_OPT_STR, &model, "print the layers of a model file's G and D", 0, 0, NULL, 0},
        {0},
    };
    char err[512];
    preset = 0;
    int r = gn_args_parse("info", opts, argc, argv, err, sizeof err);
    if (r == 1) {
        gn_args_usage("info", "Shows the version, CPU features, the kernel ISA chosen, oneDNN and OpenMP threads,\n"
                              "whether MPI is built in and, under mpirun, every rank's threads and cpus;\n"
                              "with --preset or --model, each layer of G and D with its output shape,\n"
                              "parameters and forward FLOPs per sample.",
                      opts);
        return 0;
    }
    if (r) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    if (opts[0].set && opts[1].set) {
        fprintf(stderr, "gannet info: --preset and --model exclude each other\n");
        return 2;
    }
    if (opts[0].set) {
        gn_net *G, *D;
        if (gn_preset_build(gn_preset_names[preset], 1, &G, &D)) return gn_cli_fail("info");
        printf("preset %s\n\n", gn_preset_names[preset]);
        gn_cli_model_summary(G, D, stdout);
        gn_net_free(G);
        gn_net_free(D);
        return 0;
    }
    if (model) {
        gn_cli_model m;
        if ((r = gn_cli_load_model("info", model, &m))) return r;
        printf("model %s\n\n", model);
        gn_cli_model_summary(m.G, m.D, stdout);
        gn_cli_model_free(&m);
        return 0;
    }
    if (gn_dist_rank()) { /* under mpirun rank 0 prints; the others only say where they run */
        char line[512];
        gn_dist_describe(line, sizeof line);
        gn_dist_print_lines(line, stdout);
        return 0;
    }
    gn_kernels_init();
    gn_cpu_features f = gn_cpu_detect();
    char dnn[256];
    gn_dnn_runtime(dnn, sizeof dnn);
    printf("gannet %s\n", GANNET_VERSION);
    printf("cpu features: avx2 %s, fma %s, avx512f %s, avx512bw %s, avx512vl %s, avx512_bf16 %s, "
           "amx_tile %s, amx_bf16 %s, neon %s\n",
           f.avx2 ? "yes" : "no", f.fma ? "yes" : "no", f.avx512f ? "yes" : "no",
           f.avx512bw ? "yes" : "no", f.avx512vl ? "yes" : "no", f.avx512_bf16 ? "yes" : "no",
           f.amx_tile ? "yes" : "no", f.amx_bf16 ? "yes" : "no", f.neon ? "yes" : "no");
    const gn_kernels *all[8];
    int n = gn_kernels_available(all, 8);
    printf("kernels: %s (available:", gn_kern()->name);
    for (int i = 0; i < n; i++) printf(" %s", all[i]->name);
    printf("; GANNET_ISA overrides)\n");
    printf("%s\n", dnn);
    /* --precision: which this CPU runs natively (gn_precision_check's rule) */
    int bf16 = gn_precision_check(GN_PRECISION_BF16) == GN_OK;
    printf("precisions: fp32 native, bf16 %s\n",
           bf16 ? (f.amx_bf16 ? "native (AMX-BF16)" : "native (AVX512_BF16)")
                : "not native (needs AVX512_BF16 or AMX-BF16; --precision bf16 is refused)");
    printf("openmp threads: %d (OMP_NUM_THREADS or --threads override)\n", omp_get_max_threads());
    if (!gn_dist_built()) {
        printf("mpi: not built in (meson feature mpi needs Open MPI: apt-get install libopenmpi-dev)\n");
        return 0;
    }
    printf("mpi: built in; %d rank%s (start with mpirun -np N gannet ...)\n", gn_dist_ranks(),
           gn_dist_ranks() > 1 ? "s" : "");
    char line[512];
    gn_dist_describe(line, sizeof line);
    fflush(stdout);
    gn_dist_print_lines(line, stdout); /* rank 0 prints every rank's place */
    return 0;
}
