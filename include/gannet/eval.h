/* GAN quality measured with a small MNIST classifier trained by gannet
 * itself: the classifier-based Inception Score, the Frechet distance between
 * classifier features, class coverage and mean confidence.
 *
 * The classifier is LeNet-like, in two networks so that the penultimate
 * layer's output (the features) is at hand:
 *   features: (28,28,1) -> Conv 5x5/1 valid 16 -> ReLU -> MaxPool 2/2
 *             -> Conv 5x5/1 valid 32 -> ReLU -> MaxPool 2/2 -> Flatten
 *             -> Dense 128 -> ReLU                                 (128)
 *   head:     (128) -> Dropout 0.5 -> Dense 10 -> Softmax           (10)
 * Images are grey levels in [0, 1] (byte / 255).
 *
 * Data split: the bundled 10,000 digits (data/mnist-10k-*.gz); items
 * [0, 8000) train the classifier, items [8000, 10000) are held out: they
 * measure its accuracy and are the real images the Frechet distance compares
 * against.
 *
 * Classifier file (.gnc, little-endian):
 *   "GANNETCL" (8 bytes), u32 format version (1),
 *   u32 input h, w, c, u32 classes, u32 feature dim,
 *   u32 held-out start, u32 held-out count, f32 held-out accuracy,
 *   u32 training iterations, u32 batch, u64 seed,
 *   u32 tensor count T, then T records of u32 rank + u32 dims[4],
 *   the T tensors as f32 (features net then head, weights then bias per layer),
 *   u32 CRC-32 of every byte before it. */
#ifndef GANNET_EVAL_H
#define GANNET_EVAL_H

#include "gannet/export.h"

#include <stddef.h>
#include <stdint.h>

#include "gannet/data.h"
#include "gannet/net.h"
#include "gannet/status.h"

#define GN_CLS_VERSION 1u
#define GN_CLS_CLASSES 10
#define GN_CLS_FEATURES 128
#define GN_CLS_SIDE 28
#define GN_CLS_HELDOUT_START 8000
#define GN_CLS_HELDOUT 2000
#define GN_CLS_FILE "mnist-classifier.gnc"

typedef struct gn_classifier {
    gn_net *features;    /* (28,28,1) -> (1,1,128) */
    gn_net *head;        /* (1,1,128) -> (1,1,10), softmax */
    /* what the file says about how it was made (0 when untrained) */
    float heldout_acc;
    uint32_t iters, batch;
    uint64_t seed;
} gn_classifier;

/* Settings of gn_classifier_train. */
typedef struct gn_classifier_train_config {
    int iters;       /* minibatches */
    int batch;
    float lr;        /* Adam; cosine decay to lr / 20 over the iterations */
    uint64_t seed;   /* initialisation, minibatches, shifts, dropout */
    int shift;       /* random translation of each image by up to +-shift pixels */
    int log_every;   /* 0: silent; else a line on stderr every log_every iterations */
} gn_classifier_train_config;

/* The settings behind the shipped classifier. */
GN_API gn_classifier_train_config gn_classifier_train_defaults(void);

/* Builds an untrained classifier initialised from seed. */
GN_API gn_status gn_classifier_create(gn_classifier **out, uint64_t seed);
GN_API void gn_classifier_free(gn_classifier *c);

/* Trains on items [0, train_count) of ds (u8 28x28x1 with labels). */
GN_API gn_status gn_classifier_train(gn_classifier *c, const gn_dataset *ds, size_t train_count,
                                     const gn_classifier_train_config *cfg);

/* Writes the classifier (atomically: temporary file, then rename). */
GN_API gn_status gn_classifier_save(const gn_classifier *c, const char *path);
/* Reads a classifier file; GN_ERR_FORMAT with a message naming the file
 * and the fault for a bad magic, version, shape, size or checksum. */
GN_API gn_status gn_classifier_load(gn_classifier **out, const char *path);
/* The shipped classifier: $GANNET_DATA_DIR/mnist-classifier.gnc, else the build's data/ folder. */
GN_API void gn_default_classifier_path(char *buf, size_t len);

/* Inference: x (n, 28, 28, 1) in [0, 1] -> probs (n, 10) and features
 * (n, 128); either output may be NULL. */
GN_API gn_status gn_classifier_run(gn_classifier *c, const float *x, size_t n, float *probs,
                                   float *features);
/* Fraction of items [start, start + count) of ds whose label is the argmax. */
GN_API gn_status gn_classifier_accuracy(gn_classifier *c, const gn_dataset *ds, size_t start,
                                        size_t count, double *acc);

/* The fraction of the n images x (n, 28, 28, 1) in [0, 1] whose argmax is
 * their label (labels: n class indices): for a class-conditional G's
 * samples, how often they are of the class asked for. */
GN_API gn_status gn_classifier_agreement(gn_classifier *c, const float *x, size_t n, const int *labels,
                                         double *share);

/* ---- scores ---- */

/* exp(mean_i KL(p(y|x_i) || p(y))), p(y) the mean of the rows: probs (n, C).
 * 1 when every row is the same; at most C. */
GN_API double gn_inception_score(const float *probs, size_t n, int C);

/* Mean (d) and covariance (d, d; divided by n - 1) of x (n, d), in double. */
GN_API void gn_mean_cov(const float *x, size_t n, int d, double *mu, double *cov);

/* Symmetric eigendecomposition by cyclic Jacobi rotations: A (n, n),
 * symmetric, is destroyed; w (n) the eigenvalues, V (n, n) the
 * eigenvectors as columns (row-major), so A = V diag(w) V^T. */
GN_API void gn_sym_eig(double *A, int n, double *w, double *V);

/* Frechet distance between N(mu1, S1) and N(mu2, S2), dimension d:
 * |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrt(sqrt(S1) S2 sqrt(S1))). */
GN_API gn_status gn_frechet_gaussians(const double *mu1, const double *S1, const double *mu2,
                                      const double *S2, int d, double *fd);
/* Frechet distance between the Gaussians fitted to a (na, d) and b (nb, d). */
GN_API gn_status gn_frechet_distance(const float *a, size_t na, const float *b, size_t nb, int d,
                                     double *fd);

/* The figures of one set of images. */
typedef struct gn_eval_scores {
    size_t n;                      /* images scored */
    size_t n_fd;                   /* images behind the Frechet distance (each side) */
    double inception;              /* classifier Inception Score, ceiling 10 */
    double frechet;                /* FD to the reference features; NAN when none */
    double class_kl;               /* KL(predicted-digit histogram || uniform) */
    double confidence;             /* mean max p(y|x) */
    double hist[GN_CLS_CLASSES];   /* fraction of images predicted as each digit */
} gn_eval_scores;

/* Scores n images x (n, 28, 28, 1) in [0, 1]. The Frechet distance uses
 * the first n_fd = min(n, nref) images against the first n_fd rows of
 * ref_features (nref, 128); ref_features NULL leaves it NAN. */
GN_API gn_status gn_eval_images(gn_classifier *c, const float *x, size_t n, const float *ref_features,
                                size_t nref, gn_eval_scores *out);

/* ---- what scores a run's images ----
 *
 * gannet eval and --eval-every score samples against real images of the
 * kind the run learnt: a classifier of that kind, the reference of every
 * Frechet distance, and the real images of the "real" column. Two kinds
 * ship with gannet:
 *   digits:  data/mnist-classifier.gnc; reference the held-out items
 *            8000..9999 of the bundled digits; real their items 0..7999.
 *   fashion-mnist (Debian's dataset-fashion-mnist):
 *            data/fashion-classifier.gnc; reference the first 2000 of the
 *            10,000 test images; real the 60,000 training images. */

/* The shipped Fashion-MNIST classifier (gannet classifier train on the
 * training images, default settings, seed 1), and the test images that
 * measure it and are its reference. */
#define GN_FASHION_CLS_FILE "fashion-classifier.gnc"
#define GN_FASHION_MNIST_TEST_PATH "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
/* The longest path a gn_eval_set holds, with its NUL. */
#define GN_EVAL_PATH_MAX 4096

typedef enum gn_eval_kind { GN_EVAL_DIGITS = 0, GN_EVAL_FASHION = 1 } gn_eval_kind;

typedef struct gn_eval_set {
    gn_eval_kind kind;
    const char *name;                     /* "the bundled digits", "fashion-mnist" */
    const char *noun;                     /* what a report calls the images: "digits", "Fashion-MNIST images" */
    const char *const *class_names;       /* GN_CLS_CLASSES names, or NULL: the class numbers are the names */
    char classifier[GN_EVAL_PATH_MAX];    /* classifier file */
    char reference[GN_EVAL_PATH_MAX];     /* IDX file of 28x28x1 images: items [ref_start, ref_start + */
    size_t ref_start, ref_count;          /*   ref_count) are the reference (fewer when it ends first) */
    char real[GN_EVAL_PATH_MAX];          /* IDX file: items [0, real_count) make the "real" column */
    size_t real_count;                    /*   (0: all of them) */
} gn_eval_set;

/* The set of a kind (paths found as gn_data_path finds shipped files; a
 * missing file fails when it is loaded, naming it). */
GN_API void gn_eval_set_of(gn_eval_kind kind, gn_eval_set *out);

/* The set that scores a run's samples, told from the fingerprint of the
 * images it trained on (gn_gan_config's data, data_size, data_crc32): the
 * bundled digits' IDX bytes or Fashion-MNIST's training images, wherever
 * their file lies. An empty data (a checkpoint made before runs recorded
 * their data) is the bundled digits. Other images, and these converted by
 * --image-size or --channels, are GN_ERR_ARG naming data: no shipped
 * classifier knows them. */
GN_API gn_status gn_eval_set_for_data(const char *data, uint64_t size, uint32_t crc32, gn_eval_set *out);

/* The classifier features (*n, 128) of set's reference images into a fresh
 * buffer *features (free() it): GN_ERR_SHAPE when the file's images are not
 * 28x28x1 or it holds fewer than 2 from ref_start. */
GN_API gn_status gn_eval_reference_features(gn_classifier *c, const gn_eval_set *set, float **features,
                                            size_t *n);

#endif
