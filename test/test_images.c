/* Image folders (gn_dataset_open): the crop/resize/convert against a direct
 * 2-D scalar reference and against stb_image_resize's box filter; folders
 * built here with stb_image_write (PNG and JPEG, gray, gray+alpha, RGB,
 * RGBA, non-square, nested, corrupt, truncated, not images, a FIFO, a link
 * loop); order, skips, --strict, thread-count independence, the
 * fingerprint, IDX conversion, the memory refusal, and training end to end. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb/stb_image_resize.h>
#include <stb/stb_image_write.h>

#include "data/image.h"
#include "gannet/data.h"
#include "util.h"

/* A deterministic picture: smooth ramps plus a little pattern per channel. */
static uint8_t *picture(int w, int h, int c, int seed) {
    uint8_t *p = malloc((size_t)w * h * c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                p[((size_t)y * w + x) * c + k] = (uint8_t)((x * 7 + y * 3 + k * 50 + seed * 31 + (x * y) % 13) & 255);
    return p;
}

/* The source value an output sees: channel ch, or luma when C = 1 from RGB. */
static double src_value(const uint8_t *s, int w, int c, int x, int y, int C, int ch) {
    const uint8_t *p = s + ((size_t)y * w + x) * c;
    if (c == 1 || c == 2) return p[0];
    if (C == 1) return GN_LUMA_R * p[0] + GN_LUMA_G * p[1] + GN_LUMA_B * p[2];
    return p[ch];
}

/* The exact value of output (ox, oy, ch): a 2-D box integral when
 * shrinking, 2-D bilinear when enlarging, over the centred square crop. */
static double reference(const uint8_t *s, int w, int h, int c, int S, int C, int ox, int oy, int ch) {
    int n = w < h ? w : h, x0 = (w - n) / 2, y0 = (h - n) / 2;
    double sum = 0;
    if (S <= n) {
        double r = (double)n / S, ax = ox * r, ay = oy * r;
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++) {
                double wx = fmin(x + 1, ax + r) - fmax(x, ax), wy = fmin(y + 1, ay + r) - fmax(y, ay);
                if (wx > 0 && wy > 0) sum += wx * wy * src_value(s, w, c, x0 + x, y0 + y, C, ch);
            }
        return sum / (r * r);
    }
    double fx = fmin(fmax((ox + 0.5) * n / S - 0.5, 0), n - 1), fy = fmin(fmax((oy + 0.5) * n / S - 0.5, 0), n - 1);
    int ix = (int)fx, iy = (int)fy, jx = ix + 1 < n ? ix + 1 : ix, jy = iy + 1 < n ? iy + 1 : iy;
    double ax = fx - ix, ay = fy - iy;
    return (1 - ay) * ((1 - ax) * src_value(s, w, c, x0 + ix, y0 + iy, C, ch) + ax * src_value(s, w, c, x0 + jx, y0 + iy, C, ch)) +
           ay * ((1 - ax) * src_value(s, w, c, x0 + ix, y0 + jy, C, ch) + ax * src_value(s, w, c, x0 + jx, y0 + jy, C, ch));
}

/* Every output within half a level of the exact value (one rounding). */
static void check_fit(int w, int h, int c, int S, int C) {
    uint8_t *s = picture(w, h, c, w + h), *out = malloc((size_t)S * S * C);
    const char *why = NULL;
    ck_assert_int_eq(gn_image_fit(s, w, h, c, S, C, out, &why), 0);
    for (int oy = 0; oy < S; oy++)
        for (int ox = 0; ox < S; ox++)
            for (int ch = 0; ch < C; ch++) {
                double want = reference(s, w, h, c, S, C, ox, oy, ch);
                int got = out[((size_t)oy * S + ox) * C + ch];
                ck_assert_msg(fabs(got - want) <= 0.5 + 1e-9, "%dx%dx%d -> %dx%dx%d at (%d,%d,%d): %d, exact %.6f",
                              w, h, c, S, S, C, ox, oy, ch, got, want);
            }
    free(s);
    free(out);
}

START_TEST(test_fit_against_reference) {
    static const int cases[][5] = {
        {28, 28, 1, 28, 1}, {30, 28, 3, 28, 1}, {97, 64, 3, 28, 3}, {64, 100, 1, 32, 3}, {100, 100, 3, 64, 3},
        {7, 9, 3, 3, 1},    {65, 64, 3, 64, 3}, {300, 200, 3, 17, 1}, {28, 28, 1, 32, 1}, {20, 31, 3, 64, 3},
        {1, 1, 3, 4, 1},    {5, 3, 1, 1, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_fit(cases[i][0], cases[i][1], cases[i][2], cases[i][3], cases[i][4]);
}
END_TEST

/* Shrinking RGB agrees with stb_image_resize's box filter on the crop (both
 * round an exact area average; they may differ by one level at a tie). */
START_TEST(test_fit_matches_stb_box) {
    static const int cases[][3] = {{100, 80, 64}, {97, 97, 28}, {300, 301, 64}, {33, 40, 32}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int w = cases[i][0], h = cases[i][1], S = cases[i][2], n = w < h ? w : h;
        uint8_t *s = picture(w, h, 3, (int)i), *a = malloc((size_t)S * S * 3), *b = malloc((size_t)S * S * 3);
        const char *why;
        ck_assert_int_eq(gn_image_fit(s, w, h, 3, S, 3, a, &why), 0);
        const uint8_t *crop = s + ((size_t)((h - n) / 2) * w + (w - n) / 2) * 3;
        ck_assert(stbir_resize_uint8_generic(crop, n, n, w * 3, b, S, S, S * 3, 3, STBIR_ALPHA_CHANNEL_NONE, 0,
                                             STBIR_EDGE_CLAMP, STBIR_FILTER_BOX, STBIR_COLORSPACE_LINEAR, NULL));
        for (int k = 0; k < S * S * 3; k++) ck_assert_msg(abs(a[k] - b[k]) <= 1, "%d: %d vs stb %d", k, a[k], b[k]);
        free(s);
        free(a);
        free(b);
    }
}
END_TEST

typedef struct membuf {
    uint8_t b[65536];
    size_t n;
} membuf;

static void mem_sink(void *ctx, void *p, int n) {
    membuf *m = ctx;
    ck_assert(m->n + (size_t)n <= sizeof m->b);
    memcpy(m->b + m->n, p, (size_t)n);
    m->n += (size_t)n;
}

/* A JPEG whose Huffman table claims 4080 symbols (stb_image 2.27 writes
 * past its 256-entry arrays on it) is refused before stb_image reads it. */
START_TEST(test_jpeg_huffman_overflow_refused) {
    uint8_t *px = picture(16, 16, 3, 1);
    membuf *m = calloc(1, sizeof *m);
    ck_assert(stbi_write_jpg_to_func(mem_sink, m, 16, 16, 3, px, 90));
    const uint8_t *buf = m->b;
    size_t n = m->n, dht = 0;
    for (size_t i = 2; i + 1 < n && !dht; i++)
        if (buf[i] == 0xFF && buf[i + 1] == 0xC4) dht = i;
    ck_assert(dht);
    uint8_t *out, *bad = malloc(n);
    int w, h, c;
    const char *why;
    ck_assert_int_eq(gn_image_decode(buf, n, &out, &w, &h, &c, &why), 0); /* the file as written decodes */
    free(out);
    memcpy(bad, buf, n);
    memset(bad + dht + 5, 255, 16); /* the first table's 16 counts */
    ck_assert_int_eq(gn_image_decode(bad, n, &out, &w, &h, &c, &why), -1);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(why, "a JPEG Huffman table of more than 256 symbols");
    /* a segment length shorter than the table: stb_image reads the counts anyway */
    bad[dht + 2] = 0;
    bad[dht + 3] = 3;
    ck_assert_int_eq(gn_image_decode(bad, n, &out, &w, &h, &c, &why), -1);
    ck_assert_str_eq(why, "a JPEG Huffman table of more than 256 symbols");
    /* fill bytes before SOI: stb_image reads the file as a JPEG still */
    uint8_t *filled = malloc(n + 3);
    memset(filled, 0xFF, 3);
    memcpy(filled + 3, buf, n);
    ck_assert_int_eq(gn_image_decode(filled, n + 3, &out, &w, &h, &c, &why), 0);
    free(out);
    memcpy(filled + 3, bad, n);
    ck_assert_int_eq(gn_image_decode(filled, n + 3, &out, &w, &h, &c, &why), -1);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(why, "a JPEG Huffman table of more than 256 symbols");
    free(filled);
    free(px);
    free(m);
    free(bad);
}
END_TEST

/* A run-length TGA needs at least one packet (1 byte and 1 pixel) per 128
 * pixels: fewer bytes are refused as cut short, where stb_image would fill
 * the picture with zeros (for a header that claims millions of pixels, for
 * seconds). */
START_TEST(test_tga_rle_cut_short_refused) {
    uint8_t *px = picture(16, 16, 3, 2);
    membuf *m = calloc(1, sizeof *m);
    int rle = stbi_write_tga_with_rle;
    stbi_write_tga_with_rle = 1;
    ck_assert(stbi_write_tga_to_func(mem_sink, m, 16, 16, 3, px));
    stbi_write_tga_with_rle = rle;
    ck_assert_int_eq(m->b[2], 10); /* run-length true colour */
    uint8_t *out;
    int w, h, c;
    const char *why;
    ck_assert_int_eq(gn_image_decode(m->b, m->n, &out, &w, &h, &c, &why), 0);
    ck_assert_int_eq(w, 16);
    free(out);
    /* 18 + 2 packets of 4 bytes is the least 256 pixels can take */
    ck_assert_int_eq(gn_image_decode(m->b, 18 + 7, &out, &w, &h, &c, &why), -1);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(why, "file cut short: fewer pixels than its header claims");
    /* the whole file, its header claiming 4000 x 4000 pixels */
    m->b[12] = 4000 & 255, m->b[13] = 4000 >> 8, m->b[14] = 4000 & 255, m->b[15] = 4000 >> 8;
    ck_assert_int_eq(gn_image_decode(m->b, m->n, &out, &w, &h, &c, &why), -1);
    ck_assert_str_eq(why, "file cut short: fewer pixels than its header claims");
    free(px);
    free(m);
}
END_TEST

static char *dir;

static void put(const char *rel, const void *data, size_t n) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    ck_assert_int_eq(tu_write_file(p, data, n), 0);
}

static void put_png(const char *rel, int w, int h, int c, int seed) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    uint8_t *px = picture(w, h, c, seed);
    ck_assert(stbi_write_png(p, w, h, c, px, w * c));
    free(px);
}

static void mkdir_in(const char *rel) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    ck_assert_int_eq(mkdir(p, 0755), 0);
}

static uint8_t *slurp(const char *rel, size_t *n) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "rb");
    ck_assert(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = malloc(*n);
    ck_assert_int_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

/* Good files: b.png (RGB 40x30), a/c.png (gray 28x28), a/deep/d.png (RGBA
 * 20x50), e.jpg (RGB 64x64, quality 95), f.PNG (gray+alpha 33x29). Bad:
 * corrupt.png (a header then garbage), cut.png and cut.jpg (cut in half),
 * cut.bmp and cut.tga (uncompressed, 100 bytes short),
 * notes.txt (not an image: ignored), fake.gif (text), pipe.png (a FIFO),
 * a/loop (a link to the root), .hidden.png (hidden: passed over). */
static void build_folder(void) {
    dir = tu_tmpdir();
    mkdir_in("a");
    mkdir_in("a/deep");
    put_png("b.png", 40, 30, 3, 1);
    put_png("a/c.png", 28, 28, 1, 2);
    put_png("a/deep/d.png", 20, 50, 4, 3);
    put_png("f.PNG", 33, 29, 2, 5);
    put_png(".hidden.png", 8, 8, 3, 6);
    char p[4096];
    snprintf(p, sizeof p, "%s/e.jpg", dir);
    uint8_t *px = picture(64, 64, 3, 4);
    ck_assert(stbi_write_jpg(p, 64, 64, 3, px, 95));
    free(px);
    size_t nj;
    uint8_t *jpg = slurp("e.jpg", &nj);
    put("cut.jpg", jpg, nj / 2);
    free(jpg);
    /* uncompressed BMP and TGA cut short: stb_image would fill the rest with zeros */
    px = picture(20, 20, 3, 8);
    snprintf(p, sizeof p, "%s/cut.bmp", dir);
    ck_assert(stbi_write_bmp(p, 20, 20, 3, px));
    stbi_write_tga_with_rle = 0;
    snprintf(p, sizeof p, "%s/cut.tga", dir);
    ck_assert(stbi_write_tga(p, 20, 20, 3, px));
    free(px);
    uint8_t *raw = slurp("cut.bmp", &nj);
    put("cut.bmp", raw, nj - 100);
    free(raw);
    raw = slurp("cut.tga", &nj);
    put("cut.tga", raw, nj - 100);
    free(raw);
    put_png("cut.png", 50, 50, 3, 7);
    size_t n;
    uint8_t *whole = slurp("cut.png", &n);
    put("cut.png", whole, n / 2);
    memcpy(whole + 16, "garbage garbage garbage", 23);
    put("corrupt.png", whole, n);
    free(whole);
    put("notes.txt", "not an image\n", 13);
    put("fake.gif", "GIF? no, text\n", 14);
    snprintf(p, sizeof p, "%s/pipe.png", dir);
    ck_assert_int_eq(mkfifo(p, 0644), 0);
    snprintf(p, sizeof p, "%s/a/loop", dir);
    ck_assert_int_eq(symlink("..", p), 0);
}

static gn_status open_dir(int S, int C, int strict, gn_data_report *rep, gn_dataset *ds) {
    gn_data_opts o = {S, C, strict, NULL, NULL};
    return gn_dataset_open(dir, &o, rep, ds);
}

/* The fit of a lossless file's source pixels, as the cache must hold it. */
static void expect_slot(const gn_dataset *ds, size_t slot, int w, int h, int c, int seed) {
    uint8_t *src = picture(w, h, c, seed), *want = malloc((size_t)ds->h * ds->w * ds->c);
    /* the decoder drops alpha: gray+alpha -> gray, RGBA -> RGB */
    int k = c <= 2 ? 1 : 3;
    uint8_t *plain = malloc((size_t)w * h * k);
    for (int i = 0; i < w * h; i++)
        for (int j = 0; j < k; j++) plain[(size_t)i * k + j] = src[(size_t)i * c + j];
    const char *why;
    ck_assert_int_eq(gn_image_fit(plain, w, h, k, ds->h, ds->c, want, &why), 0);
    size_t D = (size_t)ds->h * ds->w * ds->c;
    ck_assert_msg(!memcmp(ds->pixels + slot * D, want, D), "slot %zu differs from its source", slot);
    free(src);
    free(plain);
    free(want);
}

START_TEST(test_folder_order_skips_values) {
    build_folder();
    gn_data_report rep;
    gn_dataset ds;
    ck_assert_msg(open_dir(24, 3, 0, &rep, &ds) == GN_OK, "%s", gn_last_error());
    /* walk order: a/c.png, a/deep/d.png (a/loop skipped), b.png, e.jpg, f.PNG */
    ck_assert_int_eq(ds.n, 5);
    ck_assert_int_eq(ds.h, 24);
    ck_assert_int_eq(ds.w, 24);
    ck_assert_int_eq(ds.c, 3);
    ck_assert(rep.folder && rep.converted);
    ck_assert_int_eq(rep.skipped, 8); /* loop, pipe, corrupt, cut.bmp, cut.jpg, cut.png, cut.tga, fake.gif */
    /* the walk's skips first, then the files that did not decode, each in walk order */
    ck_assert_str_eq(rep.skipped_text, "a/loop (a link back to a folder above it: not entered); pipe.png (a FIFO "
                     "or pipe); corrupt.png (not a PNG, JPEG, BMP, TGA or GIF image stb_image can read)");
    expect_slot(&ds, 0, 28, 28, 1, 2);
    expect_slot(&ds, 1, 20, 50, 4, 3);
    expect_slot(&ds, 2, 40, 30, 3, 1);
    expect_slot(&ds, 4, 33, 29, 2, 5);
    /* the JPEG is lossy: close to its source on average */
    uint8_t *src = picture(64, 64, 3, 4), want[24 * 24 * 3];
    const char *why;
    ck_assert_int_eq(gn_image_fit(src, 64, 64, 3, 24, 3, want, &why), 0);
    double err = 0;
    for (int i = 0; i < 24 * 24 * 3; i++) err += abs(ds.pixels[3 * 24 * 24 * 3 + i] - want[i]);
    ck_assert_msg(err / (24 * 24 * 3) < 4, "JPEG mean error %.2f", err / (24 * 24 * 3));
    free(src);
    ck_assert_int_eq(ds.fp.size, 5 * 24 * 24 * 3);
    gn_dataset_free(&ds);
}
END_TEST

START_TEST(test_folder_threads_and_fingerprint) {
    build_folder();
    gn_data_report rep;
    gn_dataset a, b, c;
    omp_set_num_threads(1);
    ck_assert(open_dir(16, 1, 0, &rep, &a) == GN_OK);
    omp_set_num_threads(3);
    ck_assert(open_dir(16, 1, 0, &rep, &b) == GN_OK);
    ck_assert_int_eq(a.n, b.n);
    ck_assert(!memcmp(a.pixels, b.pixels, a.n * 16 * 16));
    ck_assert_uint_eq(a.fp.crc32, b.fp.crc32);
    /* another size, or a file renamed, is other data */
    ck_assert(open_dir(17, 1, 0, &rep, &c) == GN_OK);
    ck_assert_uint_ne(a.fp.crc32, c.fp.crc32);
    gn_dataset_free(&c);
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/b.png", dir);
    snprintf(to, sizeof to, "%s/b2.png", dir);
    ck_assert_int_eq(rename(from, to), 0);
    ck_assert(open_dir(16, 1, 0, &rep, &c) == GN_OK);
    ck_assert(!memcmp(a.pixels, c.pixels, a.n * 16 * 16)); /* same pixels, same order */
    ck_assert_uint_ne(a.fp.crc32, c.fp.crc32);
    gn_dataset_free(&a);
    gn_dataset_free(&b);
    gn_dataset_free(&c);
}
END_TEST

START_TEST(test_folder_strict_and_empty) {
    build_folder();
    gn_data_report rep;
    gn_dataset ds;
    ck_assert_int_eq(open_dir(16, 3, 1, &rep, &ds), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), "--strict") && strstr(gn_last_error(), dir), "%s", gn_last_error());
    ck_assert_ptr_null(ds.pixels);
    /* only bad files; then nothing at all */
    free(dir);
    dir = tu_tmpdir();
    put("x.png", "\x89PNG\r\n\x1a\n", 8);
    put("y.jpg", "", 0);
    ck_assert_int_eq(open_dir(0, 0, 0, &rep, &ds), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), "none of the 2 image files"), "%s", gn_last_error());
    free(dir);
    dir = tu_tmpdir();
    put("readme.txt", "x", 1);
    ck_assert_int_eq(open_dir(0, 0, 0, &rep, &ds), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), "no PNG, JPEG"), "%s", gn_last_error());
    ck_assert_int_eq(open_dir(0, 2, 0, &rep, &ds), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), "--channels 2"), "%s", gn_last_error());
}
END_TEST

START_TEST(test_folder_defaults) {
    build_folder();
    gn_data_report rep;
    gn_dataset ds;
    ck_assert(open_dir(0, 0, 0, &rep, &ds) == GN_OK);
    ck_assert_int_eq(ds.h, GN_FOLDER_IMAGE_SIZE);
    ck_assert_int_eq(ds.c, GN_FOLDER_CHANNELS);
    gn_dataset_free(&ds);
}
END_TEST

/* A cache larger than the memory allows is refused before it is allocated. */
START_TEST(test_folder_memory_refused) {
#if defined(__SANITIZE_ADDRESS__)
    return; /* AddressSanitizer's shadow memory fits under no data-size limit */
#endif
    build_folder();
    struct rlimit r;
    getrlimit(RLIMIT_DATA, &r);
    r.rlim_cur = 128u << 20; /* 48 images of 1024x1024x3 need 144 MiB */
    ck_assert_int_eq(setrlimit(RLIMIT_DATA, &r), 0);
    gn_data_report rep;
    gn_dataset ds;
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof name, "many%02d.png", i);
        put_png(name, 8, 8, 3, i);
    }
    ck_assert_int_eq(open_dir(1024, 3, 0, &rep, &ds), GN_ERR_NOMEM);
    ck_assert_msg(strstr(gn_last_error(), "MiB in memory") && strstr(gn_last_error(), "data-size limit"), "%s",
                  gn_last_error());
}
END_TEST

/* IDX data at another size or channel count goes through the same fit;
 * at its own size it is exactly gn_dataset_load's, fingerprint included. */
START_TEST(test_idx_convert) {
    char ip[4096];
    gn_default_mnist_paths(ip, sizeof ip, NULL, 0);
    gn_dataset plain, same, big;
    gn_data_report rep;
    ck_assert(gn_dataset_load(ip, NULL, &plain) == GN_OK);
    gn_data_opts o = {28, 1, 0, NULL, NULL};
    ck_assert(gn_dataset_open(ip, &o, &rep, &same) == GN_OK);
    ck_assert(!rep.converted && !rep.folder);
    ck_assert(same.n == plain.n && !memcmp(same.pixels, plain.pixels, plain.n * 784));
    ck_assert_uint_eq(same.fp.crc32, plain.fp.crc32);
    o = (gn_data_opts){32, 3, 0, NULL, NULL};
    ck_assert(gn_dataset_open(ip, &o, &rep, &big) == GN_OK);
    ck_assert(rep.converted);
    ck_assert(big.n == plain.n && big.h == 32 && big.c == 3);
    ck_assert_uint_ne(big.fp.crc32, plain.fp.crc32);
    uint8_t want[32 * 32 * 3];
    const char *why;
    for (size_t i = 0; i < plain.n; i += 997) {
        ck_assert_int_eq(gn_image_fit(plain.pixels + i * 784, 28, 28, 1, 32, 3, want, &why), 0);
        ck_assert(!memcmp(big.pixels + i * sizeof want, want, sizeof want));
    }
    gn_dataset_free(&plain);
    gn_dataset_free(&same);
    gn_dataset_free(&big);
}
END_TEST

START_TEST(test_fashion_mnist) {
    if (access(GN_FASHION_MNIST_PATH, R_OK)) return; /* dataset-fashion-mnist not installed here */
    gn_dataset ds;
    gn_data_report rep;
    gn_data_opts o = {0};
    ck_assert_msg(gn_dataset_open(GN_FASHION_MNIST, &o, &rep, &ds) == GN_OK, "%s", gn_last_error());
    ck_assert_int_eq(ds.n, 60000);
    ck_assert(ds.h == 28 && ds.w == 28 && ds.c == 1);
    ck_assert_str_eq(rep.path, GN_FASHION_MNIST_PATH);
    gn_dataset_free(&ds);
}
END_TEST

/* Training on a folder of 28x28 PNGs works end to end and resumes; a folder
 * loaded at 64x64x3 reaches the model's shape check; a changed folder is
 * refused on resume. */
START_TEST(test_train_on_folder) {
    dir = tu_tmpdir();
    for (int i = 0; i < 12; i++) {
        char name[32];
        snprintf(name, sizeof name, "img%02d.png", i);
        put_png(name, 28, 28, 3, i);
    }
    char args[8192], *runs = tu_tmpdir(); /* not inside the data: a run writes PNGs */
    snprintf(args, sizeof args, "train --data %s --image-size 28 --channels 1 --iters 2 --batch 8 --out %s/run "
             "--progress lines", dir, runs);
    tu_gannet_expect(args, 0, "12 images of 28x28x1");
    snprintf(args, sizeof args, "train --resume %s/run --iters 3 --progress lines", runs);
    tu_gannet_expect(args, 0, "done");
    put_png("img99.png", 28, 28, 3, 99);
    snprintf(args, sizeof args, "train --resume %s/run --iters 4 --progress lines", runs);
    tu_gannet_expect(args, 2, "not those this run was trained on");
    snprintf(args, sizeof args, "train --data %s --image-size 64 --channels 3 --iters 1 --out %s/run2", dir, runs);
    tu_gannet_expect(args, 2, "images are 64x64x3; preset seed-mnist takes 28x28x1");
    snprintf(args, sizeof args, "bench step --data %s --image-size 28 --channels 1 --batch 8 --iters 1 --warmup 0", dir);
    tu_gannet_expect(args, 0, "a real batch from the u8 cache alone");
    snprintf(args, sizeof args, "bench step --data %s --batch 8 --iters 1 --warmup 0", dir);
    tu_gannet_expect(args, 2, "preset seed-mnist takes 28x28x1");
    snprintf(args, sizeof args, "train --data %s/nope --iters 1 --out %s/run3", dir, runs);
    tu_gannet_expect(args, 1, "nope");
    free(runs);
}
END_TEST

int main(void) {
    Suite *s = suite_create("images");
    TCase *t = tcase_create("images");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, test_fit_against_reference);
    tcase_add_test(t, test_fit_matches_stb_box);
    tcase_add_test(t, test_jpeg_huffman_overflow_refused);
    tcase_add_test(t, test_tga_rle_cut_short_refused);
    tcase_add_test(t, test_folder_order_skips_values);
    tcase_add_test(t, test_folder_threads_and_fingerprint);
    tcase_add_test(t, test_folder_strict_and_empty);
    tcase_add_test(t, test_folder_defaults);
    tcase_add_test(t, test_folder_memory_refused);
    tcase_add_test(t, test_idx_convert);
    tcase_add_test(t, test_fashion_mnist);
    tcase_add_test(t, test_train_on_folder);
    suite_add_tcase(s, t);
    return tu_run_suite(s);
}
