/* gannet bench layers: forward, backward-data and backward-weights time of
 * every layer of a preset's G (batch B) and D (batch 2B, as in the D step;
 * B for a D with batch norm, whose D step runs the real and the generated
 * halves apart), with GFLOP/s and the share of this machine's measured fp32
 * peak. With
 * --precision bf16 every pass is timed in fp32 and in bf16 in the same run
 * (the two interleaved, so that a busy machine slows both alike), with the
 * share of the measured bf16 peak and the precision each pass runs in when
 * training with --precision bf16. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "bench.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "gannet/gan.h"
#include "gannet/model.h"
#include "gannet/rng.h"
#include "gannet/settings.h"

/* One timed net: its per-pass samples (3 * layers * iters) and inputs. */
typedef struct timed_net {
    gn_net *net;
    int n, L;
    double *f, *samples;
    float *x, *dy;
    gn_tensor xt, dyt;
} timed_net;

static int timed_init(timed_net *t, gn_net *net, int n, int iters) {
    memset(t, 0, sizeof *t);
    t->net = net;
    t->n = n;
    t->L = gn_net_layer_count(net);
    gn_shape is = gn_net_input_shape(net), os = gn_net_output_shape(net);
    if (gn_net_layer_kind(net, t->L - 1) == GN_LAYER_SOFTMAX) os = gn_net_layer_output(net, t->L - 2);
    size_t nin = (size_t)n * gn_shape_size(is), nout = (size_t)n * gn_shape_size(os);
    t->f = calloc((size_t)3 * t->L, sizeof(double));
    t->samples = calloc((size_t)3 * t->L * iters, sizeof(double));
    t->x = malloc(nin * sizeof(float));
    t->dy = malloc(nout * sizeof(float));
    if (!t->f || !t->samples || !t->x || !t->dy) return -1;
    gn_rng_fill_uniform(t->x, nin, 7, 1, 0, 0.0f, 1.0f);
    gn_rng_fill_uniform(t->dy, nout, 7, 2, 0, -1e-3f, 1e-3f);
    t->xt = gn_tensor_f32(t->x, n, is);
    t->dyt = gn_tensor_f32(t->dy, n, os);
    return 0;
}

static void timed_free(timed_net *t) {
    free(t->f);
    free(t->samples);
    free(t->x);
    free(t->dy);
}

/* One forward + backward; keeps the per-layer seconds as sample `slot` (< 0: untimed). */
static int timed_pass(timed_net *t, int it, int slot, int iters) {
    int L = t->L;
    memset(t->f, 0, (size_t)3 * L * sizeof(double));
    gn_net_set_profile(t->net, t->f, t->f + L, t->f + 2 * L);
    const gn_tensor *y, *dx;
    int bad = gn_net_forward(t->net, &t->xt, GN_TRAIN, 1, (uint64_t)it, &y) ||
              gn_net_backward(t->net, &t->dyt, 1, &dx);
    gn_net_set_profile(t->net, NULL, NULL, NULL);
    if (bad) return -1;
    if (slot >= 0)
        for (int j = 0; j < 3 * L; j++) t->samples[(size_t)j * iters + slot] = t->f[j];
    return 0;
}

/* The median seconds of pass k of layer i. */
static double timed_median(timed_net *t, int k, int i, int iters) {
    return gn_bench_median(t->samples + ((size_t)k * t->L + i) * iters, iters);
}

static const char *const pass_key[3] = {"fwd", "bwd_data", "bwd_weights"};

/* The fp32 table's row of layer i: ms, GFLOP/s and share of the fp32 peak. */
static void row_fp32(timed_net *a, int i, int iters, double peak, int json, int *first) {
    gn_net *net = a->net;
    double t[3], g[3], fl = gn_net_layer_flops(net, i, a->n);
    for (int k = 0; k < 3; k++) {
        t[k] = timed_median(a, k, i, iters);
        g[k] = fl > 0 && t[k] > 0 ? fl / t[k] / 1e9 : 0;
    }
    char desc[64];
    gn_net_layer_desc(net, i, desc, sizeof desc);
    gn_shape o = gn_net_layer_output(net, i);
    if (json) {
        printf("%s{\"net\": \"%s\", \"batch\": %d, \"layer\": %d, \"desc\": \"%s\", \"out\": [%d, %d, %d], "
               "\"flops\": %.0f", *first ? "" : ",\n  ", gn_net_name(net), a->n, i, desc, o.h, o.w, o.c, fl);
        for (int k = 0; k < 3; k++) printf(", \"%s_ms\": %.4f, \"%s_gflops\": %.1f", pass_key[k], t[k] * 1e3,
                                           pass_key[k], g[k]);
        printf("}");
        *first = 0;
        return;
    }
    char sh[32];
    snprintf(sh, sizeof sh, "%dx%dx%d", o.h, o.w, o.c);
    printf("%-2s %2d %-28s %-11s %8.2f %8.2f %8.2f", gn_net_name(net), i, desc, sh, t[0] * 1e3, t[1] * 1e3,
           t[2] * 1e3);
    if (fl > 0)
        printf("  %6.0f/%4.0f%% %6.0f/%4.0f%% %6.0f/%4.0f%%  %s | %s | %s", g[0], 100 * g[0] / peak, g[1],
               100 * g[1] / peak, g[2], 100 * g[2] / peak, gn_net_layer_impl(net, i, a->n, 0),
               gn_net_layer_impl(net, i, a->n, 1), gn_net_layer_impl(net, i, a->n, 2));
    printf("\n");
}

/* The bf16 table's row of layer i: per pass fp32 ms, bf16 ms, the bf16 share
 * of the bf16 peak and the precision --precision bf16 runs it in; adds the
 * layer's seconds to sum[0] (all fp32), sum[1] (all bf16), sum[2] (as run). */
static void row_bf16(timed_net *a, timed_net *b, gn_net *chosen, int i, int iters, double peak16, int json,
                     int *first, double sum[3]) {
    double fl = gn_net_layer_flops(a->net, i, a->n);
    char desc[64];
    gn_net_layer_desc(a->net, i, desc, sizeof desc);
    gn_shape o = gn_net_layer_output(a->net, i);
    char sh[32];
    snprintf(sh, sizeof sh, "%dx%dx%d", o.h, o.w, o.c);
    if (json)
        printf("%s{\"net\": \"%s\", \"batch\": %d, \"layer\": %d, \"desc\": \"%s\", \"flops\": %.0f",
               *first ? "" : ",\n  ", gn_net_name(a->net), a->n, i, desc, fl);
    else
        printf("%-2s %2d %-28s %-11s", gn_net_name(a->net), i, desc, sh);
    *first = 0;
    for (int k = 0; k < 3; k++) {
        double t32 = timed_median(a, k, i, iters), t16 = timed_median(b, k, i, iters);
        const char *ran = gn_net_layer_precision(chosen, i, a->n, k);
        double share = fl > 0 && t16 > 0 && peak16 > 0 ? 100 * fl / t16 / 1e9 / peak16 : 0;
        sum[0] += t32;
        sum[1] += t16;
        sum[2] += strcmp(ran, "fp32") ? t16 : t32;
        if (json)
            printf(", \"%s_fp32_ms\": %.4f, \"%s_bf16_ms\": %.4f, \"%s_bf16_peak_pct\": %.1f, \"%s_runs_in\": \"%s\"",
                   pass_key[k], t32 * 1e3, pass_key[k], t16 * 1e3, pass_key[k], share, pass_key[k], ran);
        else if (*ran)
            printf(" %7.2f %7.2f %4.0f%% %-4s", t32 * 1e3, t16 * 1e3, share, ran);
        else
            printf(" %7.2f %7.2f %5s %-4s", t32 * 1e3, t16 * 1e3, "", "");
    }
    printf(json ? "}" : "\n");
}

/* fp32: times G (batch B) then D (2B) and prints their rows. */
static int bench_fp32(gn_net *G, gn_net *D, const int batch[2], int iters, int warmup, double peak, int json) {
    gn_net *nets[2] = {G, D};
    int first = 1, rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        timed_net a;
        if (timed_init(&a, nets[k], batch[k], iters)) rc = -1;
        for (int it = 0; it < warmup + iters && !rc; it++)
            if (timed_pass(&a, it, it - warmup, iters)) rc = -1;
        for (int i = 0; i < a.L && !rc; i++) row_fp32(&a, i, iters, peak, json, &first);
        timed_free(&a);
    }
    return rc;
}

/* bf16: each net in fp32 and in bf16 (every pass), interleaved pass by pass;
 * then the bf16 net switched to --precision bf16's choice to say what runs. */
static int bench_bf16(gn_net *const nets32[2], gn_net *const nets16[2], const int batch[2], int iters, int warmup,
                      double peak16, int json) {
    int first = 1, rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        timed_net a, b;
        double sum[3] = {0, 0, 0};
        gn_net_set_precision(nets16[k], GN_PRECISION_BF16_ALL);
        if (timed_init(&a, nets32[k], batch[k], iters) || timed_init(&b, nets16[k], batch[k], iters))
            rc = -1;
        for (int it = 0; it < warmup + iters && !rc; it++)
            if (timed_pass(&a, it, it - warmup, iters) || timed_pass(&b, it, it - warmup, iters)) rc = -1;
        gn_net_set_precision(nets16[k], GN_PRECISION_BF16);
        if (!rc && timed_pass(&b, 0, -1, iters)) rc = -1;
        for (int i = 0; i < a.L && !rc; i++) row_bf16(&a, &b, nets16[k], i, iters, peak16, json, &first, sum);
        if (!rc && !json)
            printf("%s total: fp32 %.1f ms, bf16 everywhere %.1f ms, as --precision bf16 runs %.1f ms\n",
                   gn_net_name(a.net), sum[0] * 1e3, sum[1] * 1e3, sum[2] * 1e3);
        timed_free(&a);
        timed_free(&b);
    }
    return rc;
}

/* G and D of a model text (gn_bench_model's: the preset as train picks it for the shape). */
static gn_status build_nets(const char *name, const char *text, gn_net *nets[2]) {
    gn_model *m;
    gn_status s = gn_model_parse(name, text, strlen(text), &m);
    if (s) return s;
    s = gn_model_build(m, 1, &nets[0], &nets[1]);
    gn_model_free(m);
    return s;
}

int gn_bench_layers(int argc, char **argv) {
    int preset = 0, batch = 128, threads = 0, iters = 5, warmup = 1, json = 0, precision = 0, size = 0, channels = 0;
    gn_option opts[] = {
        {"preset", GN_OPT_CHOICE, &preset, "model", 0, 0, gn_preset_names, 0},
        {"batch", GN_OPT_INT, &batch, "B: G runs on B images, D on 2B", 1, 65536, NULL, 0},
        {"threads", GN_OPT_INT, &threads, "OpenMP threads (0: default)", 0, 4096, NULL, 0},
        {"iters", GN_OPT_INT, &iters, "timed passes (the median is shown)", 1, 100000, NULL, 0},
        {"warmup", GN_OPT_INT, &warmup, "untimed passes first", 0, 100000, NULL, 0},
        {"json", GN_OPT_FLAG, &json, "print JSON instead of a table", 0, 0, NULL, 0},
        {"precision", GN_OPT_CHOICE, &precision, "bf16: time every pass in fp32 and in bf16 (docs/precision.md)",
         0, 0, gn_setting_by_name("precision")->choices, 0},
        {"image-size", GN_OPT_INT, &size, "images of this height and width (0: the preset's own)", 0, 65536,
         NULL, 0},
        {"channels", GN_OPT_INT, &channels, "channels of those images (0: the preset's own)", 0, 4, NULL, 0},
        {0},
    };
    char err[512];
    int r = gn_args_parse("bench layers", opts, argc, argv, err, sizeof err);
    if (r == 1) {
        gn_args_usage("bench layers", "Times each layer's forward, backward-data and backward-weights.", opts);
        return 0;
    }
    if (r) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    if (gn_precision_check((gn_precision)precision)) {
        fprintf(stderr, "gannet bench layers: %s\n", gn_last_error());
        return 2;
    }
    if (threads) omp_set_num_threads(threads);
    double peak = gn_bench_peak_gflops(), peak16 = precision ? gn_bench_peak_bf16_gflops() : 0;
    gn_net *n32[2] = {NULL, NULL}, *n16[2] = {NULL, NULL};
    gn_gan_config cfg;
    if ((r = gn_bench_model("bench layers", gn_preset_names[preset], size, channels, &cfg))) return r;
    gn_status s = build_nets(gn_preset_names[preset], cfg.model, n32);
    if (!s && precision) s = build_nets(gn_preset_names[preset], cfg.model, n16);
    free((char *)cfg.model);
    if (s) {
        for (int k = 0; k < 2; k++) {
            gn_net_free(n32[k]);
            gn_net_free(n16[k]);
        }
        return gn_cli_fail("bench layers");
    }
    int nb[2] = {batch, 2 * batch};
    for (int i = 0; i < gn_net_layer_count(n32[1]); i++)
        if (gn_net_layer_kind(n32[1], i) == GN_LAYER_BATCHNORM) nb[1] = batch;
    gn_shape img = gn_net_input_shape(n32[1]);
    if (json) {
        printf("{\"preset\": \"%s\", \"image\": [%d, %d, %d], \"threads\": %d, \"peak_gflops\": %.1f, ",
               gn_preset_names[preset], img.h, img.w, img.c, omp_get_max_threads(), peak);
        if (precision) printf("\"bf16_peak_gflops\": %.1f, ", peak16);
        printf("\"layers\": [\n  ");
    } else {
        printf("preset %s, images %dx%dx%d, G at batch %d, D at %d, %d threads, measured fp32 FMA peak %.0f GFLOP/s",
               gn_preset_names[preset], img.h, img.w, img.c, nb[0], nb[1], omp_get_max_threads(), peak);
        if (precision) printf(", bf16 dot-product peak %.0f GFLOP/s", peak16);
        printf("; median of %d passes\n", iters);
        if (precision)
            printf("%-2s %2s %-28s %-11s %s\n", "", "#", "layer", "output",
                   "per pass (fwd, bwd-data, bwd-weights): fp32 ms, bf16 ms, bf16 % of bf16 peak, runs in");
        else
            printf("%-2s %2s %-28s %-11s %8s %8s %8s  %s\n", "", "#", "layer", "output", "fwd ms", "bwdD ms",
                   "bwdW ms", "GFLOP/s and % of peak: fwd, bwd-data, bwd-weights; oneDNN implementations");
    }
    int rc = precision ? bench_bf16(n32, n16, nb, iters, warmup, peak16, json)
                       : bench_fp32(n32[0], n32[1], nb, iters, warmup, peak, json);
    if (json) printf("\n]}\n");
    for (int k = 0; k < 2; k++) {
        gn_net_free(n32[k]);
        gn_net_free(n16[k]);
    }
    return rc ? gn_cli_fail("bench layers") : 0;
}
