/* make_shapes: writes a folder of coloured-shape pictures, a small RGB data set
 * to train on when no photos are at hand (README, "Your own images").
 *
 *   make_shapes DIR [N] [SIZE]     N pictures (default 2000) of SIZExSIZE (default 64)
 *
 * Each picture is a plain background of one colour with one disc, square or
 * triangle of another, at a random place and size: a GAN has learnt the set
 * when its samples show clean single shapes in clear colours. The pictures
 * follow from their index (gannet's counter RNG, seed 1), so every run writes
 * the same set. Existing files are never replaced: DIR must not hold any. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gannet/io.h"
#include "gannet/rng.h"

#define SEED 1
#define DRAWS_PER_PICTURE 16 /* RNG indices each picture owns */
#define SIZE_MAX_PIXELS 1024

enum { DISC, SQUARE, TRIANGLE, KINDS };

typedef struct shape {
    int kind;
    float cx, cy, r;       /* centre and radius (half side), in pixels */
    unsigned char fg[3], bg[3];
} shape;

/* A saturated colour from a hue in [0, 1) (HSV with S = 0.8, V = 0.9). */
static void hue_rgb(float h, unsigned char rgb[3]) {
    float f = h * 6, v = 0.9f, p = v * 0.2f;
    int i = (int)f % 6;
    float t = f - floorf(f), q = v * (1 - 0.8f * t), u = v * (1 - 0.8f * (1 - t));
    float c[6][3] = {{v, u, p}, {q, v, p}, {p, v, u}, {p, q, v}, {u, p, v}, {v, p, q}};
    for (int k = 0; k < 3; k++) rgb[k] = (unsigned char)(255 * c[i][k] + 0.5f);
}

static shape draw_shape(int index, int size) {
    uint64_t base = (uint64_t)index * DRAWS_PER_PICTURE;
    float u[6];
    for (int k = 0; k < 6; k++) u[k] = gn_rng_uniform(SEED, 0, base + (uint64_t)k);
    shape s;
    s.kind = (int)(u[0] * KINDS) % KINDS;
    s.r = size * (0.15f + 0.15f * u[1]);
    s.cx = s.r + u[2] * (size - 2 * s.r);
    s.cy = s.r + u[3] * (size - 2 * s.r);
    hue_rgb(u[4], s.fg);
    hue_rgb(fmodf(u[4] + 0.33f + 0.33f * u[5], 1.0f), s.bg); /* a hue well away from the shape's */
    for (int k = 0; k < 3; k++) s.bg[k] = (unsigned char)(s.bg[k] / 3 + 150); /* pale */
    return s;
}

static int inside(const shape *s, float x, float y) {
    float dx = x - s->cx, dy = y - s->cy;
    switch (s->kind) {
    case DISC: return dx * dx + dy * dy <= s->r * s->r;
    case SQUARE: return fabsf(dx) <= s->r && fabsf(dy) <= s->r;
    default: /* an upright triangle: apex at the top, base at the bottom of the box */
        return dy <= s->r && dy >= -s->r && fabsf(dx) <= (dy + s->r) / 2;
    }
}

/* 4x4 samples per pixel, so that edges are smooth. */
static void render(const shape *s, int size, unsigned char *px) {
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            int hits = 0;
            for (int j = 0; j < 4; j++)
                for (int i = 0; i < 4; i++) hits += inside(s, x + (i + 0.5f) / 4, y + (j + 0.5f) / 4);
            for (int k = 0; k < 3; k++)
                px[((size_t)y * size + x) * 3 + k] =
                    (unsigned char)((s->fg[k] * hits + s->bg[k] * (16 - hits) + 8) / 16);
        }
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: make_shapes DIR [N (2000)] [SIZE (64)]\n");
        return 2;
    }
    const char *dir = argv[1];
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 2000, size = argc > 3 ? strtol(argv[3], NULL, 10) : 64;
    if (n < 1 || n > 1000000 || size < 8 || size > SIZE_MAX_PIXELS) {
        fprintf(stderr, "make_shapes: N must be 1..1000000 and SIZE 8..%d\n", SIZE_MAX_PIXELS);
        return 2;
    }
    if (mkdir(dir, 0777) && errno != EEXIST) {
        fprintf(stderr, "make_shapes: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    unsigned char *px = malloc((size_t)size * size * 3);
    char path[4096];
    if (!px) return 1;
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/shape%06ld.png", dir, i);
        struct stat st;
        if (!lstat(path, &st)) {
            fprintf(stderr, "make_shapes: %s exists: give an empty or new folder\n", path);
            free(px);
            return 1;
        }
        shape s = draw_shape((int)i, (int)size);
        render(&s, (int)size, px);
        if (gn_png_write(path, px, (int)size, (int)size, 3)) {
            fprintf(stderr, "make_shapes: %s\n", gn_last_error());
            free(px);
            return 1;
        }
    }
    free(px);
    printf("make_shapes: %ld pictures of %ldx%ld in %s\n", n, size, size, dir);
    return 0;
}
