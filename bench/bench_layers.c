/* gannet bench layers: forward, backward-data and backward-weights time of
 * every layer of a preset's G (batch B) and D (batch 2B, as in the D step;
 * B for a D with batch norm, whose D step runs the real and the generated
 * halves apart), with GFLOP/s and the share of this machine's measured fp32
 * peak. */
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

/* Times every layer of one network over `iters` training passes. */
static int bench_net(gn_net *net, int n, int iters, int warmup, double peak, int json, int *first) {
    int L = gn_net_layer_count(net);
    double *f = calloc((size_t)3 * L, sizeof(double)), *samples = calloc((size_t)3 * L * iters, sizeof(double));
    gn_shape is = gn_net_input_shape(net), os = gn_net_output_shape(net);
    int last = L - 1;
    if (gn_net_layer_kind(net, last) == GN_LAYER_SOFTMAX) os = gn_net_layer_output(net, last - 1);
    size_t nin = (size_t)n * gn_shape_size(is), nout = (size_t)n * gn_shape_size(os);
    float *x = malloc(nin * sizeof(float)), *dy = malloc(nout * sizeof(float));
    if (!f || !samples || !x || !dy) {
        fprintf(stderr, "gannet bench layers: out of memory\n");
        return 1;
    }
    gn_rng_fill_uniform(x, nin, 7, 1, 0, 0.0f, 1.0f);
    gn_rng_fill_uniform(dy, nout, 7, 2, 0, -1e-3f, 1e-3f);
    gn_tensor xt = gn_tensor_f32(x, n, is), dyt = gn_tensor_f32(dy, n, os);
    for (int it = 0; it < warmup + iters; it++) {
        memset(f, 0, (size_t)3 * L * sizeof(double));
        gn_net_set_profile(net, f, f + L, f + 2 * L);
        const gn_tensor *y, *dx;
        if (gn_net_forward(net, &xt, GN_TRAIN, 1, it, &y) || gn_net_backward(net, &dyt, 1, &dx))
            return gn_cli_fail("bench layers");
        gn_net_set_profile(net, NULL, NULL, NULL);
        if (it >= warmup)
            for (int j = 0; j < 3 * L; j++) samples[(size_t)j * iters + it - warmup] = f[j];
    }
    for (int i = 0; i < L; i++) {
        double t[3];
        for (int k = 0; k < 3; k++) t[k] = gn_bench_median(samples + ((size_t)k * L + i) * iters, iters);
        double fl = gn_net_layer_flops(net, i, n);
        char desc[64];
        gn_net_layer_desc(net, i, desc, sizeof desc);
        gn_shape o = gn_net_layer_output(net, i);
        double g[3];
        for (int k = 0; k < 3; k++) g[k] = fl > 0 && t[k] > 0 ? fl / t[k] / 1e9 : 0;
        if (json) {
            printf("%s{\"net\": \"%s\", \"batch\": %d, \"layer\": %d, \"desc\": \"%s\", \"out\": [%d, %d, %d], "
                   "\"flops\": %.0f, \"fwd_ms\": %.4f, \"bwd_data_ms\": %.4f, \"bwd_weights_ms\": %.4f, "
                   "\"fwd_gflops\": %.1f, \"bwd_data_gflops\": %.1f, \"bwd_weights_gflops\": %.1f}",
                   *first ? "" : ",\n  ", gn_net_name(net), n, i, desc, o.h, o.w, o.c, fl, t[0] * 1e3,
                   t[1] * 1e3, t[2] * 1e3, g[0], g[1], g[2]);
            *first = 0;
        } else {
            char sh[32];
            snprintf(sh, sizeof sh, "%dx%dx%d", o.h, o.w, o.c);
            printf("%-2s %2d %-28s %-11s %8.2f %8.2f %8.2f", gn_net_name(net), i, desc, sh, t[0] * 1e3,
                   t[1] * 1e3, t[2] * 1e3);
            if (fl > 0)
                printf("  %6.0f/%4.0f%% %6.0f/%4.0f%% %6.0f/%4.0f%%  %s | %s | %s", g[0], 100 * g[0] / peak,
                       g[1], 100 * g[1] / peak, g[2], 100 * g[2] / peak, gn_net_layer_impl(net, i, n, 0),
                       gn_net_layer_impl(net, i, n, 1), gn_net_layer_impl(net, i, n, 2));
            printf("\n");
        }
    }
    free(f);
    free(samples);
    free(x);
    free(dy);
    return 0;
}

int gn_bench_layers(int argc, char **argv) {
    int preset = 0, batch = 128, threads = 0, iters = 5, warmup = 1, json = 0, size = 0, channels = 0;
    gn_option opts[] = {
        {"preset", GN_OPT_CHOICE, &preset, "model", 0, 0, gn_preset_names, 0},
        {"batch", GN_OPT_INT, &batch, "B: G runs on B images, D on 2B", 1, 65536, NULL, 0},
        {"threads", GN_OPT_INT, &threads, "OpenMP threads (0: default)", 0, 4096, NULL, 0},
        {"iters", GN_OPT_INT, &iters, "timed passes (the median is shown)", 1, 100000, NULL, 0},
        {"warmup", GN_OPT_INT, &warmup, "untimed passes first", 0, 100000, NULL, 0},
        {"json", GN_OPT_FLAG, &json, "print JSON instead of a table", 0, 0, NULL, 0},
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
    if (threads) omp_set_num_threads(threads);
    double peak = gn_bench_peak_gflops();
    gn_gan_config cfg;
    if ((r = gn_bench_model("bench layers", gn_preset_names[preset], size, channels, &cfg))) return r;
    gn_net *G = NULL, *D = NULL;
    gn_model *m;
    gn_status s = gn_model_parse(gn_preset_names[preset], cfg.model, strlen(cfg.model), &m);
    free((char *)cfg.model);
    if (!s) {
        s = gn_model_build(m, 1, &G, &D);
        gn_model_free(m);
    }
    if (s) return gn_cli_fail("bench layers");
    int dbatch = 2 * batch, first = 1;
    for (int i = 0; i < gn_net_layer_count(D); i++)
        if (gn_net_layer_kind(D, i) == GN_LAYER_BATCHNORM) dbatch = batch;
    gn_shape img = gn_net_input_shape(D);
    if (json) {
        printf("{\"preset\": \"%s\", \"image\": [%d, %d, %d], \"threads\": %d, \"peak_gflops\": %.1f, "
               "\"layers\": [\n  ", gn_preset_names[preset], img.h, img.w, img.c, omp_get_max_threads(), peak);
    } else {
        printf("preset %s, images %dx%dx%d, G at batch %d, D at %d, %d threads, measured fp32 FMA peak %.0f "
               "GFLOP/s; median of %d passes\n",
               gn_preset_names[preset], img.h, img.w, img.c, batch, dbatch, omp_get_max_threads(), peak, iters);
        printf("%-2s %2s %-28s %-11s %8s %8s %8s  %s\n", "", "#", "layer", "output", "fwd ms", "bwdD ms",
               "bwdW ms", "GFLOP/s and % of peak: fwd, bwd-data, bwd-weights; oneDNN implementations");
    }
    int rc = bench_net(G, batch, iters, warmup, peak, json, &first);
    if (!rc) rc = bench_net(D, dbatch, iters, warmup, peak, json, &first);
    if (json) printf("\n]}\n");
    gn_net_free(G);
    gn_net_free(D);
    return rc;
}
