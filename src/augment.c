/* Differentiable augmentation: see gannet/augment.h. Images are
 * independent, so they run in parallel; each one's sums run in order. */
#include <string.h>

#include "gannet/augment.h"
#include "gannet/rng.h"

/* Draws per image, two Philox blocks of four words each. */
#define DRAW_BLOCKS 2
/* Images per key: the counter of image i of key k is (k << IMAGE_BITS) + i. */
#define IMAGE_BITS 18

gn_status gn_augment_parse(const char *list, unsigned *mask) {
    static const char *const names[] = {"color", "translation", "cutout"};
    *mask = 0;
    /* "none" says it on a command line, where an empty value is refused, and
     * turns off a model file's augmentation */
    if (!strcmp(list, GN_AUG_NONE)) return GN_OK;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        int k = 0;
        while (k < 3 && !(strlen(names[k]) == n && !strncmp(p, names[k], n))) k++;
        if (k == 3)
            return gn_fail(GN_ERR_ARG, "--augment: '%.*s' is not one of color, translation, cutout (or " GN_AUG_NONE " alone)",
                           (int)(n < 40 ? n : 40), p);
        if (*mask & (1u << k)) return gn_fail(GN_ERR_ARG, "--augment: %s is given twice", names[k]);
        *mask |= 1u << k;
        p += n;
        if (*p == ',' && !*++p) return gn_fail(GN_ERR_ARG, "--augment: the list ends in a comma");
    }
    return GN_OK;
}

typedef struct draws {
    float bright, sat, contr; /* added; saturation and contrast factors */
    int th, tw;               /* translation: y[h][w] = x[h + th][w + tw] */
    int ch0, ch1, cw0, cw1;   /* cutout: rows [ch0, ch1] and columns [cw0, cw1] become 0 */
} draws;

static float unit(uint32_t w) { return (float)(w >> 8) * (1.0f / 16777216.0f); }
static int below(uint32_t w, int n) { return (int)(((uint64_t)w * (uint32_t)n) >> 32); }

/* A cutout's first and last row (or column) along a side of `len`. */
static void cut_span(uint32_t w, int len, int *lo, int *hi) {
    int size = (int)(len * GN_AUG_CUTOUT_RATIO + 0.5);
    int centre = below(w, len + (1 - size % 2));
    *lo = centre - size / 2;
    *hi = *lo + size - 1;
    if (*lo < 0) *lo = 0;
    if (*hi > len - 1) *hi = len - 1;
}

static draws draw(uint64_t seed, uint64_t key, int i, gn_shape s) {
    uint32_t w[4 * DRAW_BLOCKS];
    uint64_t at = ((key << IMAGE_BITS) + (uint64_t)i) * DRAW_BLOCKS;
    for (int b = 0; b < DRAW_BLOCKS; b++) gn_philox(seed, GN_STREAM_AUGMENT, at + b, w + 4 * b);
    draws d;
    d.bright = unit(w[0]) - 0.5f;
    d.sat = unit(w[1]) * 2.0f;
    d.contr = unit(w[2]) + 0.5f;
    int sh = (int)(s.h * GN_AUG_TRANSLATION_RATIO + 0.5), sw = (int)(s.w * GN_AUG_TRANSLATION_RATIO + 0.5);
    d.th = below(w[3], 2 * sh + 1) - sh;
    d.tw = below(w[4], 2 * sw + 1) - sw;
    cut_span(w[5], s.h, &d.ch0, &d.ch1);
    cut_span(w[6], s.w, &d.cw0, &d.cw1);
    return d;
}

/* y = a x + (1 - a) mean(x) over groups of `group` consecutive values: the
 * saturation (group C) and the contrast (group H W C) step, and their adjoint. */
static void toward_mean(float *x, size_t count, size_t group, float a) {
    for (size_t g = 0; g < count; g += group) {
        double m = 0;
        for (size_t k = 0; k < group; k++) m += x[g + k];
        float mean = (float)(m / group);
        for (size_t k = 0; k < group; k++) x[g + k] = (x[g + k] - mean) * a + mean;
    }
}

/* y[h][w] = x[h + dh][w + dw], zero outside. */
static void shift(float *y, const float *x, gn_shape s, int dh, int dw) {
    size_t C = (size_t)s.c;
    for (int h = 0; h < s.h; h++)
        for (int w = 0; w < s.w; w++) {
            float *o = y + ((size_t)h * s.w + w) * C;
            int sh = h + dh, sw = w + dw;
            if (sh < 0 || sh >= s.h || sw < 0 || sw >= s.w) memset(o, 0, C * sizeof(float));
            else memcpy(o, x + ((size_t)sh * s.w + sw) * C, C * sizeof(float));
        }
}

static void cut(float *y, gn_shape s, const draws *d) {
    for (int h = d->ch0; h <= d->ch1; h++)
        memset(y + ((size_t)h * s.w + d->cw0) * s.c, 0, (size_t)(d->cw1 - d->cw0 + 1) * s.c * sizeof(float));
}

void gn_augment_forward(unsigned mask, float *y, const float *x, float *tmp, int n, gn_shape s,
                        uint64_t seed, uint64_t key) {
    gn_augment_forward_at(mask, y, x, tmp, n, s, seed, key, 0);
}

void gn_augment_backward(unsigned mask, float *dx, const float *dy, float *tmp, int n, gn_shape s,
                         uint64_t seed, uint64_t key) {
    gn_augment_backward_at(mask, dx, dy, tmp, n, s, seed, key, 0);
}

void gn_augment_forward_at(unsigned mask, float *y, const float *x, float *tmp, int n, gn_shape s,
                           uint64_t seed, uint64_t key, int first) {
    size_t img = gn_shape_size(s);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        draws d = draw(seed, key, first + i, s);
        const float *xi = x + (size_t)i * img;
        float *yi = y + (size_t)i * img, *ti = tmp + (size_t)i * img;
        if (mask & GN_AUG_COLOR) {
            for (size_t k = 0; k < img; k++) ti[k] = xi[k] + d.bright;
            toward_mean(ti, img, (size_t)s.c, d.sat);
            toward_mean(ti, img, img, d.contr);
            xi = ti;
        }
        if (mask & GN_AUG_TRANSLATION) shift(yi, xi, s, d.th, d.tw);
        else memcpy(yi, xi, img * sizeof(float));
        if (mask & GN_AUG_CUTOUT) cut(yi, s, &d);
    }
}

void gn_augment_backward_at(unsigned mask, float *dx, const float *dy, float *tmp, int n, gn_shape s,
                            uint64_t seed, uint64_t key, int first) {
    size_t img = gn_shape_size(s);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        draws d = draw(seed, key, first + i, s);
        const float *gi = dy + (size_t)i * img;
        float *dxi = dx + (size_t)i * img, *ti = tmp + (size_t)i * img;
        if (mask & GN_AUG_CUTOUT) {
            memcpy(ti, gi, img * sizeof(float));
            cut(ti, s, &d);
            gi = ti;
        }
        /* the adjoint of a shift by (th, tw) is the shift by (-th, -tw) */
        if (mask & GN_AUG_TRANSLATION) shift(dxi, gi, s, -d.th, -d.tw);
        else memcpy(dxi, gi, img * sizeof(float));
        if (mask & GN_AUG_COLOR) { /* contrast, then saturation; brightness passes dy on */
            toward_mean(dxi, img, img, d.contr);
            toward_mean(dxi, img, (size_t)s.c, d.sat);
        }
    }
}
