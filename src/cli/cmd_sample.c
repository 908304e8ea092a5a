/* gannet sample: images from a checkpoint's generator, as a PNG grid, a u8
 * IDX file, or a folder of one PNG per image. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "gannet/checkpoint.h"
#include "gannet/io.h"

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* The file of image i in folder dir. */
static int sample_path(char *buf, size_t len, const char *dir, int i) {
    size_t d = strlen(dir);
    while (d > 1 && dir[d - 1] == '/') d--;
    return snprintf(buf, len, "%.*s/sample_%06d.png", (int)d, dir, i) >= (int)len;
}

/* --out DIR/: one PNG per image at its own size (DIR/sample_000000.png on),
 * for tools that score image files. The folder is made when missing; files
 * of those names that exist are refused (exit 2) unless --overwrite, before
 * anything is written. */
static int write_folder(const char *dir, const uint8_t *u, int n, gn_shape o, int overwrite) {
    char path[4096];
    struct stat st;
    if (mkdir(dir, 0777) && errno != EEXIST) {
        fprintf(stderr, "gannet sample: --out: cannot make folder %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "gannet sample: --out: %s is not a folder\n", dir);
        return 2;
    }
    for (int i = 0; i < n; i++) {
        if (sample_path(path, sizeof path, dir, i)) {
            fprintf(stderr, "gannet sample: --out: folder path too long: %s\n", dir);
            return 2;
        }
        if (!overwrite && lstat(path, &st) == 0) {
            fprintf(stderr, "gannet sample: %s exists: sample into another folder, or pass --overwrite to replace "
                            "the sample files\n", path);
            return 2;
        }
    }
    size_t img = gn_shape_size(o);
    for (int i = 0; i < n; i++) {
        sample_path(path, sizeof path, dir, i);
        if (gn_png_write(path, u + (size_t)i * img, o.w, o.h, o.c)) return gn_cli_fail("sample");
    }
    return 0;
}

int gn_cmd_sample(int argc, char **argv) {
    const char *checkpoint = NULL, *out = NULL;
    int n = 64, overwrite = 0;
    uint64_t seed = 1;
    gn_option opts[] = {
        {"checkpoint", GN_OPT_STR, &checkpoint, "checkpoint file (a run's checkpoint.gnt) or run folder", 0, 0, NULL, 0},
        {"n", GN_OPT_INT, &n, "number of images", 1, 1000000, NULL, 0},
        {"out", GN_OPT_STR, &out,
         "output: NAME.png (a grid), NAME.idx / NAME.idx.gz (u8 N x H x W [x C]), or DIR/ (one PNG per image)", 0, 0,
         NULL, 0},
        {"seed", GN_OPT_U64, &seed, "noise seed", 0, 9e15, NULL, 0},
        {"overwrite", GN_OPT_FLAG, &overwrite, "with --out DIR/: replace sample files that exist there", 0, 0, NULL,
         0},
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
    struct stat st;
    int folder = ends_with(out, "/") || (stat(out, &st) == 0 && S_ISDIR(st.st_mode));
    int png = !folder && ends_with(out, ".png"), idx = ends_with(out, ".idx") || ends_with(out, ".idx.gz");
    if (!png && !idx && !folder) {
        fprintf(stderr, "gannet sample: --out: '%s' must end in .png, .idx or .idx.gz, or be a folder (DIR/)\n", out);
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
    if (!rc && folder) {
        rc = write_folder(out, u, n, o, overwrite);
    } else if (!rc && png) {
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
