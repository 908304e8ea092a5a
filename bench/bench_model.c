/* The model a benchmark runs: a preset as `gannet train` picks it for data of
 * a given shape, and data of that shape to run it on. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "cli/cli.h"
#include "gannet/model.h"
#include "gannet/rng.h"

/* Images a benchmark trains on when the shape is not the bundled MNIST's. */
#define BENCH_IMAGES 256

int gn_bench_model(const char *cmd, const char *preset, int size, int channels, gn_gan_config *cfg) {
    char *text;
    size_t len;
    gn_model *m;
    if (gn_preset_text(preset, &text, &len)) return gn_cli_fail(cmd);
    gn_status s = gn_model_parse(preset, text, len, &m);
    free(text);
    if (s) return gn_cli_fail(cmd);
    gn_shape own = gn_model_image_shape(m);
    gn_model_free(m);
    int h = size ? size : own.h, w = size ? size : own.w, c = channels ? channels : own.c, shaped;
    char shape[64];
    snprintf(shape, sizeof shape, "--image-size %d --channels %d", h, c);
    if ((s = gn_preset_text_for(preset, shape, h, w, c, &text, &len, &shaped))) {
        gn_cli_fail(cmd);
        return s == GN_ERR_ARG ? 2 : 1; /* a shape the preset does not take: a bad option */
    }
    if ((s = gn_model_parse(preset, text, len, &m))) {
        free(text);
        return gn_cli_fail(cmd);
    }
    gn_model_config(m, preset, cfg);
    gn_model_free(m);
    cfg->model = text;
    return 0;
}

int gn_bench_data(const char *cmd, const gn_gan_config *cfg, gn_dataset *ds, gn_shape shape) {
    if (shape.h == 28 && shape.w == 28 && shape.c == 1) {
        char ip[1024], lp[1024];
        gn_default_mnist_paths(ip, sizeof ip, lp, sizeof lp);
        return gn_dataset_load(ip, NULL, ds) ? gn_cli_fail(cmd) : 0;
    }
    /* random pixels: what the step costs does not depend on them */
    size_t n = (size_t)BENCH_IMAGES * gn_shape_size(shape);
    float *f = malloc(n * sizeof(float));
    *ds = (gn_dataset){BENCH_IMAGES, shape.h, shape.w, shape.c, malloc(n), NULL, {0, 0}};
    if (!f || !ds->pixels) {
        free(f);
        gn_dataset_free(ds);
        fprintf(stderr, "gannet %s: out of memory\n", cmd);
        return 1;
    }
    gn_rng_fill_uniform(f, n, cfg->seed, 1, 0, 0.0f, 256.0f);
    for (size_t i = 0; i < n; i++) ds->pixels[i] = (uint8_t)(f[i] < 255.0f ? f[i] : 255.0f);
    free(f);
    return 0;
}
