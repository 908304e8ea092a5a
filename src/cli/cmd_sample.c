/* gannet sample: images from a checkpoint's generator, as a PNG grid or a u8 IDX file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "gannet/checkpoint.h"
#include "gannet/io.h"

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

int gn_cmd_sample(int argc, char **argv) {
    const char *checkpoint = NULL, *out = NULL;
    int n = 64;
    uint64_t seed = 1;
    gn_option opts[] = {
        {"checkpoint", GN_OPT_STR, &checkpoint, "checkpoint file (a run's checkpoint.gnt) or run folder", 0, 0, NULL, 0},
        {"n", GN_OPT_INT, &n, "number of images", 1, 1000000, NULL, 0},
        {"out", GN_OPT_STR, &out, "output: NAME.png (a grid) or NAME.idx / NAME.idx.gz (u8 N x H x W)", 0, 0, NULL, 0},
        {"seed", GN_OPT_U64, &seed, "noise seed", 0, 9e15, NULL, 0},
        {0},
    };
    char err[512];
    int r = gn_args_parse("sample", opts, argc, argv, err, sizeof err);
    if (r == 1) {
        gn_args_usage("sample", "Draws images from a trained generator (inference mode).", opts);
        return 0;
    }
    if (r) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    if (!checkpoint || !out) {
        fprintf(stderr, "gannet sample: --%s is required\n", !checkpoint ? "checkpoint" : "out");
        return 2;
    }
    int png = ends_with(out, ".png"), idx = ends_with(out, ".idx") || ends_with(out, ".idx.gz");
    if (!png && !idx) {
        fprintf(stderr, "gannet sample: --out: '%s' must end in .png, .idx or .idx.gz\n", out);
        return 2;
    }
    gn_gan *gan;
    if (gn_gan_open_checkpoint(checkpoint, seed, &gan, NULL, 0)) return gn_cli_fail("sample");
    gn_shape o = gn_net_output_shape(gan->G);
    size_t count = (size_t)n * gn_shape_size(o);
    uint8_t *u = malloc(count);
    float *imgs = png ? malloc(count * sizeof(float)) : NULL;
    int rc = 0;
    if (!u || (png && !imgs)) {
        fprintf(stderr, "gannet sample: out of memory for %d images\n", n);
        rc = 1;
    }
    if (!rc && gn_gan_sample_u8(gan, n, u)) rc = gn_cli_fail("sample");
    if (!rc && png) {
        for (size_t i = 0; i < count; i++) imgs[i] = u[i] / 255.0f;
        int cols = (int)ceil(sqrt((double)n)), rows = (n + cols - 1) / cols;
        if (gn_png_write_grid(out, imgs, n, o.h, o.w, o.c, rows, cols, 2, 0.0f, 1.0f)) rc = gn_cli_fail("sample");
    } else if (!rc) {
        uint32_t dims[4] = {(uint32_t)n, (uint32_t)o.h, (uint32_t)o.w, (uint32_t)o.c};
        if (gn_idx_write_u8(out, u, o.c == 1 ? 3 : 4, dims)) rc = gn_cli_fail("sample");
    }
    if (!rc) printf("wrote %d images to %s\n", n, out);
    free(u);
    free(imgs);
    gn_gan_free(gan);
    return rc;
}
