/* gannet bench step: the whole training iteration, broken down by pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "bench.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "gannet/gan.h"
#include "gannet/settings.h"

int gn_bench_step(int argc, char **argv) {
    int preset = 0, batch = 128, threads = 0, iters = 5, warmup = 2, json = 0, precision = 0;
    gn_option opts[] = {
        {"preset", GN_OPT_CHOICE, &preset, "model", 0, 0, gn_preset_names, 0},
        {"batch", GN_OPT_INT, &batch, "images per batch", 1, 65536, NULL, 0},
        {"threads", GN_OPT_INT, &threads, "OpenMP threads (0: default)", 0, 4096, NULL, 0},
        {"iters", GN_OPT_INT, &iters, "timed iterations", 1, 100000, NULL, 0},
        {"warmup", GN_OPT_INT, &warmup, "untimed iterations first", 0, 100000, NULL, 0},
        {"json", GN_OPT_FLAG, &json, "print JSON instead of a table", 0, 0, NULL, 0},
        {"precision", GN_OPT_CHOICE, &precision, "number format of the oneDNN layers (docs/precision.md)",
         0, 0, gn_setting_by_name("precision")->choices, 0},
        {0},
    };
    char err[512];
    int r = gn_args_parse("bench step", opts, argc, argv, err, sizeof err);
    if (r == 1) {
        gn_args_usage("bench step", "Times whole training iterations (B samples each, as the peer counts).", opts);
        return 0;
    }
    if (r) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    if (gn_precision_check((gn_precision)precision)) {
        fprintf(stderr, "gannet bench step: %s\n", gn_last_error());
        return 2;
    }
    if (threads) omp_set_num_threads(threads);
    gn_gan_config cfg;
    gn_preset_config(gn_preset_names[preset], &cfg);
    cfg.batch = batch;
    cfg.precision = (gn_precision)precision;
    char ip[1024], lp[1024];
    gn_default_mnist_paths(ip, sizeof ip, lp, sizeof lp);
    gn_dataset ds;
    if (gn_dataset_load(ip, NULL, &ds)) return gn_cli_fail("bench step");
    gn_gan *gan;
    if (gn_gan_create(&gan, &cfg)) {
        gn_dataset_free(&ds);
        return gn_cli_fail("bench step");
    }
    double *total = calloc(iters, sizeof(double));
    gn_step_times sum = {0};
    int rc = 0;
    for (int i = 0; i < warmup + iters && !rc; i++) {
        gn_step_stats st;
        double t0 = omp_get_wtime();
        if (gn_gan_iteration(gan, &ds, &st)) rc = gn_cli_fail("bench step");
        double dt = omp_get_wtime() - t0;
        if (i < warmup) continue;
        total[i - warmup] = dt;
        sum.data += st.t.data;
        sum.g_fakes += st.t.g_fakes;
        sum.d_pass += st.t.d_pass;
        sum.d_update += st.t.d_update;
        sum.g_pass += st.t.g_pass;
        sum.g_update += st.t.g_update;
    }
    if (!rc) {
        double mean = 0;
        for (int i = 0; i < iters; i++) mean += total[i];
        mean /= iters;
        double med = gn_bench_median(total, iters);
        struct { const char *name; double s; } rows[] = {
            {"data (real batch + noise)", sum.data / iters},
            {"G forward (fakes for D)", sum.g_fakes / iters},
            {"D forward + backward (2B)", sum.d_pass / iters},
            {"D Adam update", sum.d_update / iters},
            {"G step: G fwd, D fwd+bwd, G bwd", sum.g_pass / iters},
            {"G Adam update", sum.g_update / iters},
        };
        double parts = 0;
        for (int i = 0; i < 6; i++) parts += rows[i].s;
        if (json) {
            printf("{\"preset\": \"%s\", \"precision\": \"%s\", \"batch\": %d, \"threads\": %d, \"iters\": %d, "
                   "\"median_ms\": %.3f, "
                   "\"samples_per_s\": %.3f, \"peak_rss_mib\": %.0f, \"passes_ms\": {",
                   cfg.preset, opts[6].choices[precision], batch, omp_get_max_threads(), iters, med * 1e3,
                   batch / med,
                   gn_peak_rss_mib());
            for (int i = 0; i < 6; i++) printf("%s\"%s\": %.3f", i ? ", " : "", rows[i].name, rows[i].s * 1e3);
            printf("}}\n");
        } else {
            printf("preset %s, %s, batch %d, %d threads, %d iterations after %d warm-up\n", cfg.preset,
                   opts[6].choices[precision], batch, omp_get_max_threads(), iters, warmup);
            printf("%-34s %10s %7s\n", "pass", "ms/iter", "share");
            for (int i = 0; i < 6; i++)
                printf("%-34s %10.1f %6.1f%%\n", rows[i].name, rows[i].s * 1e3, 100 * rows[i].s / mean);
            printf("%-34s %10.1f %6.1f%%\n", "other (loss, bookkeeping)", (mean - parts) * 1e3,
                   100 * (mean - parts) / mean);
            printf("%-34s %10.1f\n", "total (mean)", mean * 1e3);
            printf("peak memory (RSS): %.0f MiB\n", gn_peak_rss_mib());
        }
        printf("step: %.1f ms/iter, %.1f samples/s\n", med * 1e3, batch / med);
    }
    free(total);
    gn_gan_free(gan);
    gn_dataset_free(&ds);
    return rc;
}
