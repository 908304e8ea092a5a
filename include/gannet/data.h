/* Data: IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed, and
 * minibatch sampling with the counter-based RNG. */
#ifndef GANNET_DATA_H
#define GANNET_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "gannet/status.h"

/* IDX element types (the third byte of the magic). */
enum { GN_IDX_U8 = 0x08, GN_IDX_I8 = 0x09, GN_IDX_I16 = 0x0B, GN_IDX_I32 = 0x0C,
       GN_IDX_F32 = 0x0D, GN_IDX_F64 = 0x0E };

/* A fingerprint of IDX data: the size and CRC-32 (zlib's crc32) of the IDX
 * bytes as decoded (header and data, after gzip decompression), taken while
 * they are read. The same images give the same fingerprint whether they come
 * plain or gzip'd, from a file or through a pipe. */
typedef struct gn_fingerprint {
    uint64_t size;
    uint32_t crc32;
} gn_fingerprint;

typedef struct gn_idx {
    int type;          /* GN_IDX_* */
    int rank;          /* 1..4 */
    uint32_t dims[4];  /* dims[0] is the item count */
    size_t count;      /* product of dims */
    size_t elem_size;  /* bytes per element */
    void *data;        /* count * elem_size bytes, multi-byte types converted to host order */
    gn_fingerprint fp; /* of the decoded IDX bytes, as read (before the byte-order change) */
} gn_idx;

/* Reads an IDX file; gzip is recognised by its magic bytes, not the name.
 * Every malformed input gives GN_ERR_FORMAT (or GN_ERR_IO) and a message that
 * names the file, what was expected and what was found. Never reads out of bounds. */
GN_API gn_status gn_idx_load(const char *path, gn_idx *out);
GN_API void gn_idx_free(gn_idx *idx);

/* Writes a u8 IDX file (gzip when the path ends in .gz). dims[0] = n items. */
GN_API gn_status gn_idx_write_u8(const char *path, const uint8_t *data, int rank, const uint32_t *dims);

/* A set of u8 images (N, H, W, C) and optional u8 labels. */
typedef struct gn_dataset {
    size_t n;
    int h, w, c;
    uint8_t *pixels;   /* n * h * w * c */
    uint8_t *labels;   /* n, or NULL when loaded without labels */
    gn_fingerprint fp; /* of the images' IDX bytes (gn_idx.fp) */
} gn_dataset;

/* Loads images (rank 3: N,H,W, or rank 4: N,H,W,C; type u8) and, when
 * labels_path is not NULL, labels (rank 1, u8, same N, each < 256). */
GN_API gn_status gn_dataset_load(const char *images_path, const char *labels_path, gn_dataset *out);
GN_API void gn_dataset_free(gn_dataset *ds);

/* The bundled MNIST sample: directory from GANNET_DATA_DIR (environment) or the
 * build's data/ folder. Writes the two paths into the buffers. */
GN_API void gn_default_mnist_paths(char *images, size_t images_len, char *labels, size_t labels_len);
/* Loads labels (u8, rank 1, one per image) for the images of ds (named
 * images_path in errors), replacing any it had. */
GN_API gn_status gn_dataset_add_labels(gn_dataset *ds, const char *images_path, const char *labels_path);
/* The labels file of an IDX image file, written to out: the bundled digits'
 * labels for their images, else X-labels-idx1-Y beside X-images-idx3-Y (the
 * MNIST and Fashion-MNIST naming). 1 when such a file exists, else 0. */
GN_API int gn_dataset_labels_path(const char *images_path, char *out, size_t len);

/* Opening training data by name: an image folder, an IDX file, or
 * "fashion-mnist" (Debian's dataset-fashion-mnist). */

/* The name that stands for Debian's Fashion-MNIST training images, and where
 * the package puts them. */
#define GN_FASHION_MNIST "fashion-mnist"
#define GN_FASHION_MNIST_PATH "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
#define GN_FASHION_MNIST_PACKAGE "dataset-fashion-mnist"
/* A folder's images without --image-size / --channels: 64x64 RGB, the size
 * of PyTorch's DCGAN example. */
#define GN_FOLDER_IMAGE_SIZE 64
#define GN_FOLDER_CHANNELS 3
/* The largest --image-size. */
#define GN_IMAGE_SIZE_MAX 1024

/* How many skipped files a gn_data_report names. */
#define GN_DATA_SKIPPED_NAMED 3

/* Called now and then while images load (from one thread): done of total. */
typedef void (*gn_data_progress)(void *ctx, size_t done, size_t total);

typedef struct gn_data_opts {
    int image_size;  /* side S of the square images; 0: a folder's GN_FOLDER_IMAGE_SIZE, an IDX file's own */
    int channels;    /* 1 (gray) or 3 (RGB); 0: a folder's GN_FOLDER_CHANNELS, an IDX file's own */
    int strict;      /* a folder's unusable file fails the load instead of being skipped */
    gn_data_progress progress; /* may be NULL */
    void *progress_ctx;
} gn_data_opts;

typedef struct gn_data_report {
    char path[4096];     /* what was read: `path` as given, or fashion-mnist's file */
    int folder;          /* 1 when it was a folder of images */
    int converted;       /* 1 when the images were cropped, resized or converted */
    size_t found;        /* a folder's files with an image name */
    size_t skipped;      /* of which could not be used (not counted in the set) */
    char skipped_text[1200]; /* the first GN_DATA_SKIPPED_NAMED skipped, "path (reason); ..." */
} gn_data_report;

/* Loads training images into ds (without labels):
 * - a folder: every PNG, JPEG, BMP, TGA and GIF under it (recursive, hidden
 *   names passed over, links followed but never round a loop), in the walk's
 *   byte order, each centre-cropped to a square, resized to S x S (an exact
 *   area average when shrinking, bilinear when enlarging) and converted to
 *   gray (BT.601 luma) or RGB; decoded in parallel into one u8 cache, the
 *   result independent of the thread count. A file that cannot be used is
 *   skipped and counted in *rep (o->strict: GN_ERR_ARG naming it); no usable
 *   image at all is GN_ERR_ARG. The fingerprint is the cache's size and the
 *   CRC-32 of the kept files' relative paths, the cache and "S,C".
 * - an IDX file (plain or gzip), or "fashion-mnist": as gn_dataset_load; when
 *   S or C differ from the file's, converted the same way, and "S,C" goes
 *   into the CRC-32. A missing fashion-mnist says which package to install.
 * The memory the cache needs is checked against gn_mem_available before it
 * is allocated (GN_ERR_NOMEM with both sizes). */
GN_API gn_status gn_dataset_open(const char *path, const gn_data_opts *o, gn_data_report *rep, gn_dataset *ds);

typedef enum gn_pixel_range { GN_RANGE_01 = 0, GN_RANGE_PM1 = 1 } gn_pixel_range;

/* Samples B images with replacement: item i of minibatch `step` is
 * gn_rng_below(seed, GN_STREAM_DATA, step * B + i, n). Writes floats (B, H, W, C)
 * scaled to [0,1] (p / 255) or [-1,1] (p / 127.5 - 1); labels_out (B ints) when
 * not NULL (-1 each when the set has no labels). Does not depend on the thread count. */
GN_API void gn_dataset_sample(const gn_dataset *ds, float *out, int *labels_out, size_t B,
                       uint64_t seed, uint64_t step, gn_pixel_range range);
/* Items [first, first + count) of that minibatch of B (one process's share
 * in data-parallel training): the same images the whole batch has there. */
GN_API void gn_dataset_sample_at(const gn_dataset *ds, float *out, int *labels_out, size_t B, size_t first,
                                 size_t count, uint64_t seed, uint64_t step, gn_pixel_range range);

/* Copies items [start, start+count) in order (for evaluation); items past the
 * end of the set come out as zeros with label -1. */
GN_API void gn_dataset_slice(const gn_dataset *ds, float *out, int *labels_out, size_t start,
                      size_t count, gn_pixel_range range);

#endif
