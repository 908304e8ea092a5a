/* Image data sets from IDX files, and minibatches drawn with the
 * counter-based RNG (so a batch depends on (seed, step) only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gannet/data.h"
#include "gannet/rng.h"

#include "gannet/datadir.h"

#define MNIST_IMAGES "mnist-10k-images-idx3-ubyte.gz"
#define MNIST_LABELS "mnist-10k-labels-idx1-ubyte.gz"

/* Labels (u8, rank 1) of `count` images from images_path, into lab. */
static gn_status load_labels(const char *labels_path, const char *images_path, uint32_t count, gn_idx *lab) {
    gn_status s = gn_idx_load(labels_path, lab);
    if (s != GN_OK) return s;
    if (lab->type != GN_IDX_U8)
        s = gn_fail(GN_ERR_FORMAT, "%s: labels of type 0x%02x (expected u8, type 0x08)", labels_path, lab->type);
    else if (lab->rank != 1)
        s = gn_fail(GN_ERR_FORMAT, "%s: labels of rank %d (expected rank 1: N)", labels_path, lab->rank);
    else if (lab->dims[0] != count)
        s = gn_fail(GN_ERR_FORMAT, "count mismatch: %s holds %u images but %s holds %u labels", images_path,
                    count, labels_path, lab->dims[0]);
    if (s) gn_idx_free(lab);
    return s;
}

gn_status gn_dataset_add_labels(gn_dataset *ds, const char *images_path, const char *labels_path) {
    gn_idx lab;
    memset(&lab, 0, sizeof lab);
    if (ds->n > UINT32_MAX)
        return gn_fail(GN_ERR_ARG, "%s: %zu images, more than an IDX label file holds", images_path, ds->n);
    gn_status s = load_labels(labels_path, images_path, (uint32_t)ds->n, &lab);
    if (s) return s;
    free(ds->labels);
    ds->labels = lab.data;
    return GN_OK;
}

int gn_dataset_labels_path(const char *images_path, char *out, size_t len) {
    char ip[1024], lp[1024];
    gn_default_mnist_paths(ip, sizeof ip, lp, sizeof lp);
    const char *slash = strrchr(images_path, '/'), *base = slash ? slash + 1 : images_path;
    const char *at = strstr(base, "images-idx3");
    if (!strcmp(images_path, ip)) {
        snprintf(out, len, "%s", lp);
    } else if (at) { /* MNIST's naming: train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz */
        int n = snprintf(out, len, "%.*slabels-idx1%s", (int)(at - images_path), images_path,
                         at + strlen("images-idx3"));
        if (n < 0 || (size_t)n >= len) return 0;
    } else {
        return 0;
    }
    return access(out, R_OK) == 0;
}

/* Loads images (u8, rank 3 or 4) and optional labels (u8, rank 1, same count). */
gn_status gn_dataset_load(const char *images_path, const char *labels_path, gn_dataset *out) {
    memset(out, 0, sizeof *out);
    if (!images_path) return gn_fail(GN_ERR_ARG, "gn_dataset_load: images path is NULL");
    gn_idx img, lab;
    memset(&lab, 0, sizeof lab);
    gn_status s = gn_idx_load(images_path, &img);
    if (s != GN_OK) return s;
    if (img.type != GN_IDX_U8) {
        s = gn_fail(GN_ERR_FORMAT, "%s: images of type 0x%02x (expected u8, type 0x08)",
                    images_path, img.type);
        goto fail;
    }
    if (img.rank != 3 && img.rank != 4) {
        s = gn_fail(GN_ERR_FORMAT, "%s: images of rank %d (expected rank 3: N,H,W or 4: N,H,W,C)",
                    images_path, img.rank);
        goto fail;
    }
    if (labels_path && (s = load_labels(labels_path, images_path, img.dims[0], &lab))) goto fail;
    out->n = img.dims[0];
    out->h = (int)img.dims[1];
    out->w = (int)img.dims[2];
    out->c = img.rank == 4 ? (int)img.dims[3] : 1;
    out->pixels = img.data;
    out->labels = lab.data; /* NULL without labels */
    out->fp = img.fp;
    return GN_OK;
fail:
    gn_idx_free(&img);
    gn_idx_free(&lab);
    return s;
}

/* Frees pixels and labels and empties the struct. */
void gn_dataset_free(gn_dataset *ds) {
    if (!ds) return;
    free(ds->pixels);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

/* Writes the paths of the bundled MNIST sample, found by gn_data_path (when
 * it is nowhere, the first folder searched: opening it then fails). */
void gn_default_mnist_paths(char *images, size_t images_len, char *labels, size_t labels_len) {
    if (images && images_len) gn_data_path(MNIST_IMAGES, images, images_len);
    if (labels && labels_len) gn_data_path(MNIST_LABELS, labels, labels_len);
}

/* Fills the 256-entry table that maps a pixel byte to its float value. */
static void pixel_table(float lut[256], gn_pixel_range range) {
    for (int p = 0; p < 256; p++)
        lut[p] = range == GN_RANGE_PM1 ? (float)p / 127.5f - 1.0f : (float)p / 255.0f;
}

/* Draws B items with replacement for minibatch `step`; see data.h. */
void gn_dataset_sample(const gn_dataset *ds, float *out, int *labels_out, size_t B,
                       uint64_t seed, uint64_t step, gn_pixel_range range) {
    gn_dataset_sample_at(ds, out, labels_out, B, 0, B, seed, step, range);
}

void gn_dataset_sample_at(const gn_dataset *ds, float *out, int *labels_out, size_t B, size_t first,
                          size_t count, uint64_t seed, uint64_t step, gn_pixel_range range) {
    if (!ds || ds->n == 0 || count == 0) return;
    float lut[256];
    pixel_table(lut, range);
    size_t D = (size_t)ds->h * (size_t)ds->w * (size_t)ds->c;
    uint32_t n = (uint32_t)ds->n;
    uint64_t base = step * (uint64_t)B + first;
#pragma omp parallel for schedule(static) if (count * D >= 65536)
    for (size_t i = 0; i < count; i++) {
        uint32_t k = gn_rng_below(seed, GN_STREAM_DATA, base + i, n);
        const uint8_t *src = ds->pixels + (size_t)k * D;
        float *dst = out + i * D;
        for (size_t j = 0; j < D; j++) dst[j] = lut[src[j]];
        if (labels_out) labels_out[i] = ds->labels ? ds->labels[k] : -1;
    }
}

/* Copies items [start, start+count) in order; items past the end come out as zeros, label -1. */
void gn_dataset_slice(const gn_dataset *ds, float *out, int *labels_out, size_t start,
                      size_t count, gn_pixel_range range) {
    if (!ds || count == 0) return;
    float lut[256];
    pixel_table(lut, range);
    size_t D = (size_t)ds->h * (size_t)ds->w * (size_t)ds->c;
#pragma omp parallel for schedule(static) if (count * D >= 65536)
    for (size_t i = 0; i < count; i++) {
        float *dst = out + i * D;
        int inside = start < ds->n && i < ds->n - start;
        if (inside) {
            const uint8_t *src = ds->pixels + (start + i) * D;
            for (size_t j = 0; j < D; j++) dst[j] = lut[src[j]];
        } else {
            memset(dst, 0, D * sizeof *dst);
        }
        if (labels_out) labels_out[i] = inside && ds->labels ? ds->labels[start + i] : -1;
    }
}
