/* What scores a run's samples: the classifier, the reference images of the
 * Frechet distance and the real images of the "real" column, for the bundled
 * digits or Fashion-MNIST (gannet eval and --eval-every both ask here). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/datadir.h"
#include "gannet/eval.h"

/* The fingerprints (gn_fingerprint: size and CRC-32 of the decoded IDX bytes)
 * of the training images a shipped classifier knows. test_eval checks them
 * against the files. */
#define DIGITS_IDX_SIZE 7840016u    /* data/mnist-10k-images-idx3-ubyte.gz: 10000 x 28 x 28 + 16 */
#define DIGITS_IDX_CRC32 0xdc588bddu
#define FASHION_IDX_SIZE 47040016u  /* Fashion-MNIST's train-images-idx3-ubyte: 60000 x 28 x 28 + 16 */
#define FASHION_IDX_CRC32 0xb4f29f28u

/* The bundled digits' images (gannet/data.h's gn_default_mnist_paths). */
#define DIGITS_IMAGES "mnist-10k-images-idx3-ubyte.gz"

/* Fashion-MNIST's labels 0..9, as its authors name them. */
static const char *const fashion_classes[GN_CLS_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

void gn_eval_set_of(gn_eval_kind kind, gn_eval_set *out) {
    memset(out, 0, sizeof *out);
    out->kind = kind;
    if (kind == GN_EVAL_FASHION) {
        out->name = GN_FASHION_MNIST;
        out->noun = "Fashion-MNIST images";
        out->class_names = fashion_classes;
        gn_data_path(GN_FASHION_CLS_FILE, out->classifier, sizeof out->classifier);
        snprintf(out->reference, sizeof out->reference, "%s", GN_FASHION_MNIST_TEST_PATH);
        out->ref_count = GN_CLS_HELDOUT;
        snprintf(out->real, sizeof out->real, "%s", GN_FASHION_MNIST_PATH);
        return;
    }
    out->name = "the bundled digits";
    out->noun = "digits";
    gn_data_path(GN_CLS_FILE, out->classifier, sizeof out->classifier);
    gn_data_path(DIGITS_IMAGES, out->reference, sizeof out->reference);
    out->ref_start = GN_CLS_HELDOUT_START;
    out->ref_count = GN_CLS_HELDOUT;
    snprintf(out->real, sizeof out->real, "%s", out->reference);
    out->real_count = GN_CLS_HELDOUT_START;
}

gn_status gn_eval_set_for_data(const char *data, uint64_t size, uint32_t crc32, gn_eval_set *out) {
    if (!data || !*data || (size == DIGITS_IDX_SIZE && crc32 == DIGITS_IDX_CRC32)) {
        gn_eval_set_of(GN_EVAL_DIGITS, out);
        return GN_OK;
    }
    if (size == FASHION_IDX_SIZE && crc32 == FASHION_IDX_CRC32) {
        gn_eval_set_of(GN_EVAL_FASHION, out);
        return GN_OK;
    }
    memset(out, 0, sizeof *out);
    return gn_fail(GN_ERR_ARG, "%s: no shipped classifier knows these images (%llu bytes of images, CRC-32 "
                   "%08lx): gannet scores samples of the bundled digits and of %s only, each unconverted "
                   "(28x28 grey)", data, (unsigned long long)size, (unsigned long)crc32, GN_FASHION_MNIST);
}

gn_status gn_eval_reference_features(gn_classifier *c, const gn_eval_set *set, float **features, size_t *n) {
    *features = NULL;
    *n = 0;
    gn_dataset ds;
    gn_status s = gn_dataset_load(set->reference, NULL, &ds);
    if (s == GN_ERR_IO && set->kind == GN_EVAL_FASHION && !strcmp(set->reference, GN_FASHION_MNIST_TEST_PATH)) {
        char why[1024]; /* Fashion-MNIST's test images come with its package */
        snprintf(why, sizeof why, "%s", gn_last_error());
        return gn_fail(s, "%s (install Debian's package %s)", why, GN_FASHION_MNIST_PACKAGE);
    }
    if (s) return s;
    if (ds.h != GN_CLS_SIDE || ds.w != GN_CLS_SIDE || ds.c != 1 || ds.n < set->ref_start + 2) {
        s = gn_fail(GN_ERR_SHAPE, "%s: %zu images of %dx%dx%d; the reference needs at least 2 of 28x28x1 "
                    "from item %zu", set->reference, ds.n, ds.h, ds.w, ds.c, set->ref_start);
        gn_dataset_free(&ds);
        return s;
    }
    size_t m = ds.n - set->ref_start < set->ref_count ? ds.n - set->ref_start : set->ref_count;
    const size_t img = (size_t)GN_CLS_SIDE * GN_CLS_SIDE;
    float *x = malloc(m * img * sizeof(float));
    float *f = malloc(m * GN_CLS_FEATURES * sizeof(float));
    s = x && f ? GN_OK : gn_fail(GN_ERR_NOMEM, "out of memory for %zu reference images", m);
    if (!s) {
        gn_dataset_slice(&ds, x, NULL, set->ref_start, m, GN_RANGE_01);
        s = gn_classifier_run(c, x, m, NULL, f);
    }
    free(x);
    gn_dataset_free(&ds);
    if (s) {
        free(f);
        return s;
    }
    *features = f;
    *n = m;
    return GN_OK;
}
