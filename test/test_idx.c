/* IDX reader and writer: the bundled MNIST sample, every kind of bad file,
 * big-endian conversion, and round trips through gn_idx_write_u8. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "gannet/data.h"
#include "util.h"

static char *tmp_dir;

/* Makes a fresh temporary directory for one test. */
static void setup(void) {
    tmp_dir = tu_tmpdir();
    ck_assert_ptr_nonnull(tmp_dir);
}

/* Removes the files a test left in its temporary directory, then the directory. */
static void teardown(void) {
    tu_rm_rf(tmp_dir);
    free(tmp_dir);
    tmp_dir = NULL;
}

/* Returns tmp_dir/name in a static buffer (one at a time per slot 0 or 1). */
static const char *tmp_path(int slot, const char *name) {
    static char buf[2][4200];
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", tmp_dir, name);
    return buf[slot];
}

/* Writes a header: magic 00 00 type rank, then rank big-endian dims; returns its length. */
static size_t make_header(uint8_t *h, int type, int rank, const uint32_t *dims) {
    h[0] = 0; h[1] = 0; h[2] = (uint8_t)type; h[3] = (uint8_t)rank;
    for (int d = 0; d < rank; d++) {
        h[4 + 4 * d] = (uint8_t)(dims[d] >> 24);
        h[5 + 4 * d] = (uint8_t)(dims[d] >> 16);
        h[6 + 4 * d] = (uint8_t)(dims[d] >> 8);
        h[7 + 4 * d] = (uint8_t)dims[d];
    }
    return 4 + 4 * (size_t)rank;
}

/* Writes bytes gzip-compressed to path. */
static void write_gz(const char *path, const void *data, size_t n) {
    gzFile f = gzopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(gzwrite(f, data, (unsigned)n), (int)n);
    ck_assert_int_eq(gzclose(f), Z_OK);
}

/* Reads a whole file into a malloc'd buffer. */
static uint8_t *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* Loads path expecting status `want`; the message must name the file and hold `phrase`. */
static void expect_idx_fail(const char *path, gn_status want, const char *phrase) {
    gn_idx idx;
    gn_status s = gn_idx_load(path, &idx);
    const char *msg = gn_last_error();
    ck_assert_msg(s == want, "%s: status %d (expected %d): %s", path, s, want, msg);
    ck_assert_ptr_null(idx.data);
    ck_assert_msg(strstr(msg, path) != NULL, "message does not name the file: %s", msg);
    ck_assert_msg(strstr(msg, phrase) != NULL, "message lacks '%s': %s", phrase, msg);
    gn_idx_free(&idx);
}

/* Writes raw bytes to tmp_dir/name and expects loading it to fail. */
static void bad_file(const char *name, const void *bytes, size_t n, gn_status want,
                     const char *phrase) {
    const char *p = tmp_path(0, name);
    ck_assert_int_eq(tu_write_file(p, bytes, n), 0);
    expect_idx_fail(p, want, phrase);
}

START_TEST(test_bundled_mnist) {
    char ip[4096], lp[4096];
    gn_default_mnist_paths(ip, sizeof ip, lp, sizeof lp);
    gn_idx img, lab;
    ck_assert_msg(gn_idx_load(ip, &img) == GN_OK, "%s", gn_last_error());
    ck_assert_int_eq(img.type, GN_IDX_U8);
    ck_assert_int_eq(img.rank, 3);
    ck_assert_uint_eq(img.dims[0], 10000);
    ck_assert_uint_eq(img.dims[1], 28);
    ck_assert_uint_eq(img.dims[2], 28);
    ck_assert_uint_eq(img.count, 10000u * 784u);
    ck_assert_uint_eq(img.elem_size, 1);
    ck_assert_msg(gn_idx_load(lp, &lab) == GN_OK, "%s", gn_last_error());
    ck_assert_int_eq(lab.rank, 1);
    ck_assert_uint_eq(lab.dims[0], 10000);
    size_t counts[10] = {0};
    const uint8_t *l = lab.data;
    for (size_t i = 0; i < lab.count; i++) {
        ck_assert_uint_lt(l[i], 10);
        counts[l[i]]++;
    }
    for (int c = 0; c < 10; c++) {
        ck_assert_msg(counts[c] >= 800 && counts[c] <= 1200, "class %d: %zu", c, counts[c]);
    }
    /* real grey levels, not just 0/255, and a mostly dark background */
    size_t hist[256] = {0};
    const uint8_t *p = img.data;
    for (size_t i = 0; i < img.count; i++) hist[p[i]]++;
    ck_assert_uint_gt(hist[0], img.count / 2);
    ck_assert_uint_gt(hist[255] + hist[254] + hist[253], 0);
    size_t levels = 0;
    for (int v = 0; v < 256; v++) levels += hist[v] > 0;
    ck_assert_uint_gt(levels, 200);
    /* the first 100 items (the shuffled order) hold every class */
    int seen[10] = {0};
    for (int i = 0; i < 100; i++) seen[l[i]] = 1;
    for (int c = 0; c < 10; c++) ck_assert_int_eq(seen[c], 1);
    gn_idx_free(&img);
    gn_idx_free(&lab);
    ck_assert_ptr_null(img.data);
}
END_TEST

START_TEST(test_bundled_dataset) {
    char ip[4096], lp[4096];
    gn_default_mnist_paths(ip, sizeof ip, lp, sizeof lp);
    gn_dataset ds;
    ck_assert_msg(gn_dataset_load(ip, lp, &ds) == GN_OK, "%s", gn_last_error());
    ck_assert_uint_eq(ds.n, 10000);
    ck_assert_int_eq(ds.h, 28);
    ck_assert_int_eq(ds.w, 28);
    ck_assert_int_eq(ds.c, 1);
    ck_assert_ptr_nonnull(ds.labels);
    gn_dataset_free(&ds);
    ck_assert_ptr_null(ds.pixels);
    ck_assert_msg(gn_dataset_load(ip, NULL, &ds) == GN_OK, "%s", gn_last_error());
    ck_assert_ptr_null(ds.labels);
    gn_dataset_free(&ds);
}
END_TEST

START_TEST(test_default_paths_env) {
    char ip[256], lp[256];
    const char *old = getenv("GANNET_DATA_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("GANNET_DATA_DIR", "/some/where", 1);
    gn_default_mnist_paths(ip, sizeof ip, lp, sizeof lp);
    if (saved) setenv("GANNET_DATA_DIR", saved, 1);
    else unsetenv("GANNET_DATA_DIR");
    free(saved);
    ck_assert_str_eq(ip, "/some/where/mnist-10k-images-idx3-ubyte.gz");
    ck_assert_str_eq(lp, "/some/where/mnist-10k-labels-idx1-ubyte.gz");
}
END_TEST

START_TEST(test_missing_file) {
    expect_idx_fail(tmp_path(0, "nope.idx"), GN_ERR_IO, "cannot open");
}
END_TEST

START_TEST(test_empty_file) {
    bad_file("empty.idx", "", 0, GN_ERR_FORMAT, "empty");
}
END_TEST

START_TEST(test_bad_magic) {
    uint8_t b[16] = {0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, 9, 9, 9, 9};
    bad_file("magic.idx", b, sizeof b, GN_ERR_FORMAT, "bad magic 0x12345678");
}
END_TEST

START_TEST(test_bad_rank) {
    uint8_t b[64] = {0};
    uint32_t dims[5] = {1, 1, 1, 1, 1};
    size_t n = make_header(b, GN_IDX_U8, 0, dims);
    b[n] = 7;
    bad_file("rank0.idx", b, n + 1, GN_ERR_FORMAT, "rank 0");
    n = make_header(b, GN_IDX_U8, 5, dims);
    b[n] = 7;
    bad_file("rank5.idx", b, n + 1, GN_ERR_FORMAT, "rank 5");
}
END_TEST

START_TEST(test_unknown_type) {
    uint8_t b[16];
    uint32_t dims[1] = {1};
    size_t n = make_header(b, 0x0A, 1, dims);
    b[n] = 7;
    bad_file("type.idx", b, n + 1, GN_ERR_FORMAT, "unknown element type 0x0a");
}
END_TEST

START_TEST(test_truncated_header) {
    uint8_t b[16];
    uint32_t dims[3] = {2, 28, 28};
    make_header(b, GN_IDX_U8, 3, dims);
    bad_file("hdr.idx", b, 10, GN_ERR_FORMAT, "truncated header");
    bad_file("hdr2.idx", b, 3, GN_ERR_FORMAT, "truncated header");
}
END_TEST

START_TEST(test_truncated_body) {
    uint8_t b[16 + 100] = {0};
    uint32_t dims[3] = {2, 28, 28};
    size_t n = make_header(b, GN_IDX_U8, 3, dims);
    bad_file("body.idx", b, n + 100, GN_ERR_FORMAT, "truncated data");
    /* a huge claimed size must fail the same way without a huge allocation */
    uint32_t big[3] = {2000000, 32, 32};
    n = make_header(b, GN_IDX_U8, 3, big);
    bad_file("body2.idx", b, n + 100, GN_ERR_FORMAT, "expected 2048000000 bytes");
}
END_TEST

START_TEST(test_zero_dim) {
    uint8_t b[16];
    uint32_t dims[3] = {5, 0, 28};
    size_t n = make_header(b, GN_IDX_U8, 3, dims);
    bad_file("zero.idx", b, n, GN_ERR_FORMAT, "dim 1 is 0");
}
END_TEST

START_TEST(test_dims_overflow) {
    uint8_t b[32];
    uint32_t dims[4] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    size_t n = make_header(b, GN_IDX_F64, 4, dims);
    bad_file("over.idx", b, n, GN_ERR_FORMAT, "too many elements");
    uint32_t cap[2] = {65536, 32768};  /* exactly 2^31: one past the limit */
    n = make_header(b, GN_IDX_U8, 2, cap);
    bad_file("cap.idx", b, n, GN_ERR_FORMAT, "65536x32768");
}
END_TEST

START_TEST(test_trailing_bytes) {
    uint8_t b[16 + 6] = {0};
    uint32_t dims[2] = {2, 2};
    size_t n = make_header(b, GN_IDX_U8, 2, dims);
    bad_file("trail.idx", b, n + 6, GN_ERR_FORMAT, "2 trailing bytes");
    const char *p = tmp_path(0, "trail.idx.gz");
    write_gz(p, b, n + 6);
    expect_idx_fail(p, GN_ERR_FORMAT, "2 trailing bytes");
}
END_TEST

START_TEST(test_gz_garbage) {
    uint8_t b[64];
    for (int i = 0; i < 64; i++) b[i] = (uint8_t)(i * 37 + 11);
    b[0] = 0x1f; b[1] = 0x8b; b[2] = 0x63; /* not deflate (8) */
    bad_file("junk.gz", b, sizeof b, GN_ERR_FORMAT, "corrupt gzip data");
    /* a valid gzip header, then junk in the deflate stream */
    uint8_t c[64] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    for (int i = 10; i < 64; i++) c[i] = 0xff;
    bad_file("junk2.gz", c, sizeof c, GN_ERR_FORMAT, "corrupt gzip data");
}
END_TEST

START_TEST(test_gz_bad_crc) {
    uint8_t b[8 + 300];
    uint32_t dims[1] = {300};
    size_t n = make_header(b, GN_IDX_U8, 1, dims);
    for (int i = 0; i < 300; i++) b[n + i] = (uint8_t)i;
    const char *p = tmp_path(0, "crc.gz");
    write_gz(p, b, n + 300);
    size_t len;
    uint8_t *z = read_all(p, &len);
    z[len - 8] ^= 0x55; /* the CRC32 in the gzip trailer */
    ck_assert_int_eq(tu_write_file(p, z, len), 0);
    free(z);
    expect_idx_fail(p, GN_ERR_FORMAT, "corrupt gzip data");
}
END_TEST

START_TEST(test_gz_truncated) {
    enum { N = 4000 };
    uint8_t *b = malloc(16 + N);
    uint32_t dims[3] = {10, 20, 20};
    size_t n = make_header(b, GN_IDX_U8, 3, dims);
    for (int i = 0; i < N; i++) b[n + i] = (uint8_t)((i * 2654435761u) >> 13);
    const char *p = tmp_path(0, "cut.idx.gz");
    write_gz(p, b, n + N);
    free(b);
    size_t len;
    uint8_t *z = read_all(p, &len);
    ck_assert_int_eq(tu_write_file(p, z, len / 2), 0);
    expect_idx_fail(p, GN_ERR_FORMAT, "truncated gzip stream");
    ck_assert_int_eq(tu_write_file(p, z, 12), 0); /* cut inside the header */
    expect_idx_fail(p, GN_ERR_FORMAT, "truncated gzip stream");
    free(z);
    write_gz(p, "", 0); /* a valid gzip stream holding nothing */
    expect_idx_fail(p, GN_ERR_FORMAT, "empty gzip stream");
}
END_TEST

START_TEST(test_big_endian_types) {
    uint8_t b[64];
    uint32_t dims[1] = {2};
    size_t n = make_header(b, GN_IDX_I32, 1, dims);
    uint8_t i32[8] = {0x01, 0x02, 0x03, 0x04, 0xFF, 0xFF, 0xFF, 0xFE};
    memcpy(b + n, i32, 8);
    const char *p = tmp_path(0, "i32.idx");
    ck_assert_int_eq(tu_write_file(p, b, n + 8), 0);
    gn_idx idx;
    ck_assert_msg(gn_idx_load(p, &idx) == GN_OK, "%s", gn_last_error());
    ck_assert_uint_eq(idx.elem_size, 4);
    ck_assert_int_eq(((int32_t *)idx.data)[0], 0x01020304);
    ck_assert_int_eq(((int32_t *)idx.data)[1], -2);
    gn_idx_free(&idx);

    n = make_header(b, GN_IDX_F32, 1, dims);
    uint8_t f32[8] = {0x3F, 0xC0, 0, 0, 0xC1, 0x20, 0, 0}; /* 1.5, -10 */
    memcpy(b + n, f32, 8);
    ck_assert_int_eq(tu_write_file(p, b, n + 8), 0);
    ck_assert_msg(gn_idx_load(p, &idx) == GN_OK, "%s", gn_last_error());
    ck_assert_float_eq(((float *)idx.data)[0], 1.5f);
    ck_assert_float_eq(((float *)idx.data)[1], -10.0f);
    gn_idx_free(&idx);

    n = make_header(b, GN_IDX_I16, 1, dims);
    uint8_t i16[4] = {0x12, 0x34, 0x80, 0x00};
    memcpy(b + n, i16, 4);
    ck_assert_int_eq(tu_write_file(p, b, n + 4), 0);
    ck_assert_msg(gn_idx_load(p, &idx) == GN_OK, "%s", gn_last_error());
    ck_assert_int_eq(((int16_t *)idx.data)[0], 0x1234);
    ck_assert_int_eq(((int16_t *)idx.data)[1], -32768);
    gn_idx_free(&idx);

    n = make_header(b, GN_IDX_F64, 1, dims);
    uint8_t f64[16] = {0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18, 0xBF, 0xF0, 0, 0, 0, 0, 0, 0};
    memcpy(b + n, f64, 16);
    ck_assert_int_eq(tu_write_file(p, b, n + 16), 0);
    ck_assert_msg(gn_idx_load(p, &idx) == GN_OK, "%s", gn_last_error());
    ck_assert_double_eq(((double *)idx.data)[0], 3.141592653589793);
    ck_assert_double_eq(((double *)idx.data)[1], -1.0);
    gn_idx_free(&idx);
}
END_TEST

/* Writes random u8 data with gn_idx_write_u8 to name, reads it back and compares. */
static void round_trip(const char *name, int expect_gz) {
    uint32_t dims[4] = {5, 3, 4, 2};
    size_t n = 5 * 3 * 4 * 2;
    uint8_t data[5 * 3 * 4 * 2];
    for (size_t i = 0; i < n; i++) data[i] = (uint8_t)(i * 97 + 13);
    const char *p = tmp_path(0, name);
    ck_assert_msg(gn_idx_write_u8(p, data, 4, dims) == GN_OK, "%s", gn_last_error());
    size_t len;
    uint8_t *raw = read_all(p, &len);
    if (expect_gz) {
        ck_assert(raw[0] == 0x1f && raw[1] == 0x8b);
    } else {
        ck_assert_uint_eq(len, 4 + 16 + n);
        ck_assert(raw[0] == 0 && raw[1] == 0 && raw[2] == 0x08 && raw[3] == 4);
    }
    free(raw);
    gn_idx idx;
    ck_assert_msg(gn_idx_load(p, &idx) == GN_OK, "%s", gn_last_error());
    ck_assert_int_eq(idx.type, GN_IDX_U8);
    ck_assert_int_eq(idx.rank, 4);
    for (int d = 0; d < 4; d++) ck_assert_uint_eq(idx.dims[d], dims[d]);
    ck_assert_uint_eq(idx.count, n);
    ck_assert_int_eq(memcmp(idx.data, data, n), 0);
    gn_idx_free(&idx);
}

START_TEST(test_write_round_trip) {
    round_trip("rt.idx", 0);
    round_trip("rt.idx.gz", 1);
    uint32_t dims[2] = {3, 0};
    uint8_t d[3] = {1, 2, 3};
    ck_assert_int_eq(gn_idx_write_u8(tmp_path(0, "bad.idx"), d, 2, dims), GN_ERR_ARG);
    ck_assert_int_eq(gn_idx_write_u8(tmp_path(0, "bad.idx"), d, 5, dims), GN_ERR_ARG);
    ck_assert_int_eq(gn_idx_write_u8(tmp_path(0, "no/such/dir.idx"), d, 1, dims), GN_ERR_IO);
}
END_TEST

/* Writes a u8 IDX of the given shape (contents i % 251) to tmp_dir/name; returns its path. */
static const char *write_u8(int slot, const char *name, int rank, const uint32_t *dims) {
    size_t n = 1;
    for (int d = 0; d < rank; d++) n *= dims[d];
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++) data[i] = (uint8_t)(i % 251);
    const char *p = tmp_path(slot, name);
    ck_assert_msg(gn_idx_write_u8(p, data, rank, dims) == GN_OK, "%s", gn_last_error());
    free(data);
    return p;
}

/* Expects gn_dataset_load to fail with `want`, the message holding all three phrases. */
static void expect_ds_fail(const char *ip, const char *lp, gn_status want, const char *a,
                           const char *b, const char *c) {
    gn_dataset ds;
    gn_status s = gn_dataset_load(ip, lp, &ds);
    const char *msg = gn_last_error();
    ck_assert_msg(s == want, "status %d (expected %d): %s", s, want, msg);
    ck_assert_ptr_null(ds.pixels);
    ck_assert_ptr_null(ds.labels);
    ck_assert_msg(strstr(msg, a) && strstr(msg, b) && strstr(msg, c),
                  "message lacks '%s', '%s' or '%s': %s", a, b, c, msg);
}

START_TEST(test_label_count_mismatch) {
    uint32_t idims[3] = {3, 4, 4}, ldims[1] = {4};
    const char *ip = write_u8(0, "img3.idx", 3, idims);
    const char *lp = write_u8(1, "lab4.idx", 1, ldims);
    expect_ds_fail(ip, lp, GN_ERR_FORMAT, "img3.idx holds 3 images", "lab4.idx holds 4 labels",
                   "count mismatch");
}
END_TEST

START_TEST(test_labels_rank2) {
    uint32_t idims[3] = {3, 4, 4}, ldims[2] = {3, 1};
    const char *ip = write_u8(0, "img.idx", 3, idims);
    const char *lp = write_u8(1, "lab2.idx", 2, ldims);
    expect_ds_fail(ip, lp, GN_ERR_FORMAT, "lab2.idx", "rank 2", "expected rank 1");
}
END_TEST

START_TEST(test_images_bad_shape_or_type) {
    uint32_t d2[2] = {3, 16};
    const char *ip = write_u8(0, "img2.idx", 2, d2);
    expect_ds_fail(ip, NULL, GN_ERR_FORMAT, "img2.idx", "rank 2", "expected rank 3");
    uint8_t b[32 + 12] = {0};
    uint32_t dims[3] = {3, 1, 1};
    size_t n = make_header(b, GN_IDX_I32, 3, dims);
    const char *p = tmp_path(0, "imgi32.idx");
    ck_assert_int_eq(tu_write_file(p, b, n + 12), 0);
    expect_ds_fail(p, NULL, GN_ERR_FORMAT, "imgi32.idx", "type 0x0c", "expected u8");
    uint32_t d4[4] = {3, 2, 2, 3};
    ip = write_u8(0, "img4.idx", 4, d4);
    gn_dataset ds;
    ck_assert_msg(gn_dataset_load(ip, NULL, &ds) == GN_OK, "%s", gn_last_error());
    ck_assert_int_eq(ds.c, 3);
    gn_dataset_free(&ds);
    /* an unreadable labels file fails the whole load without leaking the images */
    expect_ds_fail(ip, tmp_path(1, "missing.idx"), GN_ERR_IO, "missing.idx", "cannot open", "");
}
END_TEST

/* The fingerprint is the size and CRC-32 of the decoded IDX bytes as they
 * are in the file (big-endian, before the byte-order change): the same for
 * the plain and the gzip'd file, and carried into a dataset. */
START_TEST(test_fingerprint_of_decoded_bytes) {
    uint32_t dims[2] = {3, 5};
    uint8_t b[4 + 8 + 30];
    size_t h = make_header(b, GN_IDX_I16, 2, dims);
    for (size_t i = 0; i < 30; i++) b[h + i] = (uint8_t)(7 * i + 1);
    size_t n = h + 30;
    uint32_t want = (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, (uInt)n);
    ck_assert_int_eq(tu_write_file(tmp_path(0, "fp.idx"), b, n), 0);
    write_gz(tmp_path(1, "fp.idx.gz"), b, n);
    for (int slot = 0; slot < 2; slot++) {
        gn_idx x;
        const char *p = tmp_path(slot, slot ? "fp.idx.gz" : "fp.idx");
        ck_assert_msg(gn_idx_load(p, &x) == GN_OK, "%s", gn_last_error());
        ck_assert_uint_eq(x.fp.size, n);
        ck_assert_msg(x.fp.crc32 == want, "%s: CRC-32 %08x, expected %08x", p, x.fp.crc32, want);
        gn_idx_free(&x);
    }
    /* a dataset carries its images' fingerprint */
    uint32_t d3[3] = {2, 3, 4};
    uint8_t im[4 + 12 + 24];
    h = make_header(im, GN_IDX_U8, 3, d3);
    for (size_t i = 0; i < 24; i++) im[h + i] = (uint8_t)(200 - i);
    write_gz(tmp_path(0, "im.idx.gz"), im, h + 24);
    gn_dataset ds;
    ck_assert_msg(gn_dataset_load(tmp_path(0, "im.idx.gz"), NULL, &ds) == GN_OK, "%s", gn_last_error());
    ck_assert_uint_eq(ds.fp.size, h + 24);
    ck_assert_uint_eq(ds.fp.crc32, (uint32_t)crc32(crc32(0L, Z_NULL, 0), im, (uInt)(h + 24)));
    gn_dataset_free(&ds);
}
END_TEST

/* Builds the suite. */
static Suite *idx_suite(void) {
    Suite *s = suite_create("idx");
    TCase *t = tcase_create("bundled");
    tcase_add_test(t, test_bundled_mnist);
    tcase_add_test(t, test_bundled_dataset);
    tcase_add_test(t, test_default_paths_env);
    suite_add_tcase(s, t);
    t = tcase_create("bad_files");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_missing_file);
    tcase_add_test(t, test_empty_file);
    tcase_add_test(t, test_bad_magic);
    tcase_add_test(t, test_bad_rank);
    tcase_add_test(t, test_unknown_type);
    tcase_add_test(t, test_truncated_header);
    tcase_add_test(t, test_truncated_body);
    tcase_add_test(t, test_zero_dim);
    tcase_add_test(t, test_dims_overflow);
    tcase_add_test(t, test_trailing_bytes);
    tcase_add_test(t, test_gz_garbage);
    tcase_add_test(t, test_gz_bad_crc);
    tcase_add_test(t, test_gz_truncated);
    tcase_add_test(t, test_label_count_mismatch);
    tcase_add_test(t, test_labels_rank2);
    tcase_add_test(t, test_images_bad_shape_or_type);
    suite_add_tcase(s, t);
    t = tcase_create("good_files");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_big_endian_types);
    tcase_add_test(t, test_write_round_trip);
    tcase_add_test(t, test_fingerprint_of_decoded_bytes);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    return tu_run_suite(idx_suite());
}
