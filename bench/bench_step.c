/* gannet bench step: the whole training iteration, broken down by pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "bench.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "dist.h"
#include "gannet/gan.h"
#include "gannet/settings.h"

/* The data must have the shape D takes (as gannet train checks). */
static gn_status check_data_shape(const gn_dataset *ds, const gn_gan *gan, const char *path) {
    gn_shape want = gn_net_input_shape(gan->D);
    if (ds->h == want.h && ds->w == want.w && ds->c == want.c) return GN_OK;
    return gn_fail(GN_ERR_SHAPE, "%s: images are %dx%dx%d; model %s needs %dx%dx%d", path, ds->h, ds->w, ds->c,
                   gan->cfg.preset, want.h, want.w, want.c);
}

#define SAMPLE_REPEATS 20

/* The time to draw one real batch from the u8 cache into floats, alone (the
 * step's data row also makes the noise): the median of SAMPLE_REPEATS. */
static double sample_time(const gn_dataset *ds, gn_gan *gan) {
    double t[SAMPLE_REPEATS];
    for (int r = 0; r < SAMPLE_REPEATS; r++) {
        double t0 = omp_get_wtime();
        gn_dataset_sample(ds, gan->images, NULL, (size_t)gan->cfg.batch, gan->cfg.seed, (uint64_t)r, gan->cfg.range);
        t[r] = omp_get_wtime() - t0;
    }
    return gn_bench_median(t, SAMPLE_REPEATS);
}

/* The preset as gannet train picks it for the data, its GAN and the data:
 * --data as train reads it, or else (bench_model.c) the bundled MNIST or
 * random pixels of the --image-size and --channels asked for. */
static int open_bench(const char *preset, const char *data, int size, int channels, int batch,
                      gn_precision precision, int slices, gn_gan_config *cfg, gn_dataset *ds, gn_gan **gan,
                      const char **path) {
    static gn_data_report rep;
    int r;
    if (data) {
        gn_data_opts dopts = {size, channels, 0, NULL, NULL};
        if (gn_dataset_open(data, &dopts, &rep, ds)) return gn_cli_fail("bench step");
        *path = rep.path;
        size = ds->h;
        channels = ds->c;
    }
    if ((r = gn_bench_model("bench step", preset, size, channels, cfg))) {
        if (data) gn_dataset_free(ds);
        return r;
    }
    cfg->batch = batch;
    cfg->precision = precision;
    cfg->reduce_slices = slices;
    gn_status s = gn_gan_create(gan, cfg);
    free((char *)cfg->model);
    cfg->model = NULL;
    if (!s && data) s = check_data_shape(ds, *gan, *path);
    if (s) {
        gn_gan_free(*gan);
        if (data) gn_dataset_free(ds);
        gn_cli_fail("bench step");
        return s == GN_ERR_ARG ? 2 : 1; /* a batch the ranks do not divide */
    }
    if (!data) {
        *path = "random pixels (or the bundled MNIST at 28x28x1)";
        if ((r = gn_bench_data("bench step", cfg, ds, gn_net_input_shape((*gan)->D)))) gn_gan_free(*gan);
    }
    return r;
}

/* Repetitions of the blocking reduction timed for "reduce alone". */
#define REDUCE_ALONE_REPS 5

/* Under mpirun: the gradient averaging per iteration, what of it the
 * backward hid (1 - waited / the same bytes reduced alone). */
typedef struct reduce_report {
    double mb, wait_s, skew_s, alone_s, hidden;
    int buckets_g, buckets_d;
} reduce_report;

static reduce_report measure_reduce(gn_gan *gan, int iters, const gn_reduce_stats *g0, const gn_reduce_stats *d0) {
    reduce_report r = {0};
    gn_reduce_stats g = gn_reducer_stats(gan->rg), d = gn_reducer_stats(gan->rd);
    r.mb = (g.bytes - g0->bytes + d.bytes - d0->bytes) / iters / 1e6;
    r.wait_s = (g.wait_s - g0->wait_s + d.wait_s - d0->wait_s) / iters;
    r.skew_s = (g.skew_s - g0->skew_s + d.skew_s - d0->skew_s) / iters;
    int dsteps = (d.rounds - d0->rounds) / iters;
    r.alone_s = gn_reducer_time_alone(gan->rg, REDUCE_ALONE_REPS) +
                dsteps * gn_reducer_time_alone(gan->rd, REDUCE_ALONE_REPS);
    r.hidden = r.alone_s > 0 ? 1 - r.wait_s / r.alone_s : 0;
    if (r.hidden < 0) r.hidden = 0;
    r.buckets_g = g.buckets;
    r.buckets_d = d.buckets;
    return r;
}

int gn_bench_step(int argc, char **argv) {
    int preset = 0, batch = 128, threads = 0, iters = 5, warmup = 2, json = 0, size = 0, channels = 0, precision = 0;
    int slices = 1;
    const char *data = NULL;
    gn_option opts[] = {
        {"data", GN_OPT_STR, &data, "training images as gannet train --data takes them (default: the bundled MNIST)",
         0, 0, NULL, 0},
        {"image-size", GN_OPT_INT, &size, "as gannet train --image-size; without --data: random pixels of this "
         "size (0: the data's or the preset's own)", 0, GN_IMAGE_SIZE_MAX, NULL, 0},
        {"channels", GN_OPT_INT, &channels, "as gannet train --channels (0: the data's or the preset's own)", 0, 3,
         NULL, 0},
        {"preset", GN_OPT_CHOICE, &preset, "model", 0, 0, gn_preset_names, 0},
        {"batch", GN_OPT_INT, &batch, "images per batch", 1, 65536, NULL, 0},
        {"threads", GN_OPT_INT, &threads, "OpenMP threads (0: default)", 0, 4096, NULL, 0},
        {"iters", GN_OPT_INT, &iters, "timed iterations", 1, 100000, NULL, 0},
        {"warmup", GN_OPT_INT, &warmup, "untimed iterations first", 0, 100000, NULL, 0},
        {"json", GN_OPT_FLAG, &json, "print JSON instead of a table", 0, 0, NULL, 0},
        {"precision", GN_OPT_CHOICE, &precision, "number format of the oneDNN layers (docs/precision.md)",
         0, 0, gn_setting_by_name("precision")->choices, 0},
        {"reduce-slices", GN_OPT_INT, &slices, "as gannet train --reduce-slices: add as N ranks with --sync-bn "
         "do (1: the whole batch at once)", 1, 1 << 16, NULL, 0},
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
    gn_dataset ds;
    gn_gan *gan = NULL;
    const char *path = NULL;
    if ((r = open_bench(gn_preset_names[preset], data, size, channels, batch, (gn_precision)precision, slices,
                        &cfg, &ds, &gan, &path)))
        return r;
    const char *precision_name = gn_setting_by_name("precision")->choices[precision];
    double *total = calloc(iters, sizeof(double));
    gn_step_times sum = {0};
    gn_reduce_stats g0 = {0}, d0 = {0};
    int rc = 0;
    for (int i = 0; i < warmup + iters && !rc; i++) {
        gn_step_stats st;
        if (i == warmup && gan->ranks > 1) {
            gn_reducer_measure(gan->rg, 1);
            gn_reducer_measure(gan->rd, 1);
            g0 = gn_reducer_stats(gan->rg);
            d0 = gn_reducer_stats(gan->rd);
        }
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
    reduce_report red = {0};
    if (!rc && gan->ranks > 1) red = measure_reduce(gan, iters, &g0, &d0);
    if (!rc && gan->rank) rc = -1; /* under mpirun rank 0 reports */
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
        double sample = sample_time(&ds, gan);
        double parts = 0;
        for (int i = 0; i < 6; i++) parts += rows[i].s;
        if (json) {
            printf("{\"preset\": \"%s\", \"precision\": \"%s\", \"batch\": %d, \"threads\": %d, \"iters\": %d, "
                   "\"median_ms\": %.3f, \"samples_per_s\": %.3f, \"peak_rss_mib\": %.0f, \"data\": \"%s\", "
                   "\"image\": \"%dx%dx%d\", \"cache_sample_ms\": %.4f, \"passes_ms\": {",
                   cfg.preset, precision_name, batch, omp_get_max_threads(), iters, med * 1e3, batch / med,
                   gn_peak_rss_mib(), path, ds.h, ds.w, ds.c, sample * 1e3);
            for (int i = 0; i < 6; i++) printf("%s\"%s\": %.3f", i ? ", " : "", rows[i].name, rows[i].s * 1e3);
            printf("}, \"ranks\": %d, \"reduce_slices\": %d", gan->ranks, gan->slices);
            if (gan->ranks > 1)
                printf(", \"reduce_mb\": %.1f, \"reduce_wait_ms\": %.3f, \"reduce_alone_ms\": %.3f, "
                       "\"reduce_hidden\": %.3f, \"rank_skew_ms\": %.3f", red.mb, red.wait_s * 1e3, red.alone_s * 1e3,
                       red.hidden, red.skew_s * 1e3);
            printf("}\n");
        } else {
            printf("preset %s, images %dx%dx%d, %s, batch %d, %d threads%s, %d iterations after %d warm-up%s\n",
                   cfg.preset, ds.h, ds.w, ds.c, precision_name, batch, omp_get_max_threads(),
                   gan->ranks > 1 ? " per rank" : "", iters, warmup, gan->slices > 1 ? ", in slices" : "");
            printf("%-34s %10s %7s\n", "pass", "ms/iter", "share");
            for (int i = 0; i < 6; i++)
                printf("%-34s %10.1f %6.1f%%\n", rows[i].name, rows[i].s * 1e3, 100 * rows[i].s / mean);
            printf("%-34s %10.1f %6.1f%%\n", "other (loss, bookkeeping)", (mean - parts) * 1e3,
                   100 * (mean - parts) / mean);
            printf("%-34s %10.1f\n", "total (mean)", mean * 1e3);
            printf("peak memory (RSS): %.0f MiB\n", gn_peak_rss_mib());
            printf("data: %s, %zu images of %dx%dx%d; a real batch from the u8 cache alone: %.3f ms, %.2f%% of "
                   "the step\n", path, ds.n, ds.h, ds.w, ds.c, sample * 1e3, 100 * sample / mean);
            if (gan->ranks > 1) {
                printf("ranks: %d of %d images each; gradients %.1f MB per iteration in %d (G) and %d (D) buckets\n",
                       gan->ranks, gan->local, red.mb, red.buckets_g, red.buckets_d);
                printf("reduce: %.1f ms alone (%.2f GB/s), %.1f ms waited after the backward: %.0f%% hidden "
                       "(ranks aligned first: %.1f ms waiting for the slowest rank)\n",
                       red.alone_s * 1e3, red.alone_s > 0 ? red.mb / 1e3 / red.alone_s : 0, red.wait_s * 1e3,
                       100 * red.hidden, red.skew_s * 1e3);
            }
        }
        printf("step: %.1f ms/iter, %.1f samples/s\n", med * 1e3, batch / med);
    }
    free(total);
    gn_gan_free(gan);
    gn_dataset_free(&ds);
    return rc < 0 ? 0 : rc;
}
