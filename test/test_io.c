/* Tests for PNG sample grids and line plots: files are read back with stb_image
 * and checked pixel by pixel where the layout is known, and by coarse
 * properties (size, white background, ink, series colours) for plots. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stb/stb_image.h>

#include "gannet/atomic.h"
#include "gannet/data.h"
#include "gannet/io.h"
#include "util.h"

#define GUTTER 2

/* ------------------------------------------------------------------------- */
/* helpers                                                                    */

// joins a directory and a file name into a fresh string
static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

// counts the entries of a directory, other than . and ..
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

// true when a file exists at path
static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* A decoded picture. */
typedef struct pic {
    int w, h, c;
    unsigned char *p;
} pic;

// decodes a PNG keeping its channel count; fails the test when it cannot
static pic load(const char *path) {
    pic q;
    q.p = stbi_load(path, &q.w, &q.h, &q.c, 0);
    ck_assert_msg(q.p != NULL, "%s: cannot decode: %s", path, stbi_failure_reason());
    return q;
}

// channel k of pixel (x, y); checks the bounds without a Check assertion, which is slow per pixel
static int px(const pic *q, int x, int y, int k) {
    if (x < 0 || y < 0 || x >= q->w || y >= q->h || k >= q->c)
        ck_abort_msg("pixel (%d, %d, %d) outside a %dx%dx%d picture", x, y, k, q->w, q->h, q->c);
    return q->p[((size_t)y * q->w + x) * q->c + k];
}

// top-left pixel of grid cell k
static void cell_origin(int k, int cols, int h, int w, int zoom, int *x0, int *y0) {
    *x0 = GUTTER + (k % cols) * (w * zoom + GUTTER);
    *y0 = GUTTER + (k / cols) * (h * zoom + GUTTER);
}

/* ------------------------------------------------------------------------- */
/* grids                                                                      */

START_TEST(grid_size_and_values) {
    // 5 gray 3x4 images in a 2x3 grid at zoom 2; image k pixel (y, x) has a known value
    enum { N = 5, H = 3, W = 4, ROWS = 2, COLS = 3, ZOOM = 2 };
    const float lo = -1, hi = 1;
    float img[N * H * W];
    for (int k = 0; k < N; k++)
        for (int i = 0; i < H * W; i++) {
            float v = k == 0 ? lo : k == 1 ? hi : k == 2 ? 0.0f : lo + (hi - lo) * i / (H * W - 1);
            if (k == 4 && i == 0) v = hi; // a marker in the corner of the last image
            img[k * H * W + i] = v;
        }
    char *dir = tu_tmpdir(), *path = join(dir, "grid.png");
    ck_assert_int_eq(gn_png_write_grid(path, img, N, H, W, 1, ROWS, COLS, ZOOM, lo, hi), GN_OK);
    pic q = load(path);
    ck_assert_int_eq(q.c, 1);
    ck_assert_int_eq(q.w, COLS * (W * ZOOM) + (COLS + 1) * GUTTER);
    ck_assert_int_eq(q.h, ROWS * (H * ZOOM) + (ROWS + 1) * GUTTER);
    for (int k = 0; k < ROWS * COLS; k++) {
        int x0, y0;
        cell_origin(k, COLS, H, W, ZOOM, &x0, &y0);
        for (int y = 0; y < H * ZOOM; y++)
            for (int x = 0; x < W * ZOOM; x++) {
                int got = px(&q, x0 + x, y0 + y, 0);
                if (k >= N) {
                    ck_assert_msg(got < 64, "empty cell %d is not dark: %d", k, got);
                    continue;
                }
                float v = img[k * H * W + (y / ZOOM) * W + x / ZOOM];
                int want = (int)lroundf((v - lo) / (hi - lo) * 255);
                if (k == 0) ck_assert_int_eq(got, 0);
                if (k == 1) ck_assert_int_eq(got, 255);
                if (k == 2) ck_assert_int_eq(got, 128);
                ck_assert_msg(abs(got - want) <= 1, "cell %d (%d,%d): %d, want %d", k, x, y, got,
                              want);
            }
    }
    // the marker sits at the top-left of cell 4, zoomed to 2x2
    int x0, y0;
    cell_origin(4, COLS, H, W, ZOOM, &x0, &y0);
    ck_assert_int_eq(px(&q, x0 + 1, y0 + 1, 0), 255);
    ck_assert_int_eq(px(&q, x0 + 2, y0, 0), (int)lroundf(1.0f / (H * W - 1) * 255));
    // gutters: outer border and the lines between cells are dark
    for (int x = 0; x < q.w; x++) {
        ck_assert_int_lt(px(&q, x, 0, 0), 64);
        ck_assert_int_lt(px(&q, x, q.h - 1, 0), 64);
        ck_assert_int_lt(px(&q, x, GUTTER + H * ZOOM, 0), 64);
    }
    for (int y = 0; y < q.h; y++) {
        ck_assert_int_lt(px(&q, 1, y, 0), 64);
        ck_assert_int_lt(px(&q, GUTTER + W * ZOOM + 1, y, 0), 64);
    }
    ck_assert_int_eq(count_entries(dir), 1); // no temporary file left over
    stbi_image_free(q.p);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(grid_clamps_and_nan) {
    float img[8] = {-5, 5, NAN, INFINITY, -INFINITY, 0.25f, 1, 0};
    char *dir = tu_tmpdir(), *path = join(dir, "clamp.png");
    ck_assert_int_eq(gn_png_write_grid(path, img, 1, 2, 4, 1, 1, 1, 1, 0, 1), GN_OK);
    pic q = load(path);
    ck_assert_int_eq(q.w, 4 + 2 * GUTTER);
    ck_assert_int_eq(q.h, 2 + 2 * GUTTER);
    int want[8] = {0, 255, 0, 255, 0, 64, 255, 0};
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(px(&q, GUTTER + i % 4, GUTTER + i / 4, 0), want[i]);
    stbi_image_free(q.p);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(grid_rgb_channels) {
    // two 2x2 RGB images, channels last; image 1 is pure red, green, blue, white
    float img[2 * 2 * 2 * 3] = {0};
    float colors[4][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 3; k++) {
            img[i * 3 + k] = 0.5f;
            img[12 + i * 3 + k] = colors[i][k];
        }
    char *dir = tu_tmpdir(), *path = join(dir, "rgb.png");
    ck_assert_int_eq(gn_png_write_grid(path, img, 2, 2, 2, 3, 1, 2, 3, 0, 1), GN_OK);
    pic q = load(path);
    ck_assert_int_eq(q.c, 3);
    ck_assert_int_eq(q.w, 2 * 6 + 3 * GUTTER);
    ck_assert_int_eq(q.h, 6 + 2 * GUTTER);
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 6; x++)
            for (int k = 0; k < 3; k++) {
                ck_assert_int_eq(px(&q, GUTTER + x, GUTTER + y, k), 128);
                int i = (y / 3) * 2 + x / 3;
                ck_assert_int_eq(px(&q, 2 * GUTTER + 6 + x, GUTTER + y, k), colors[i][k] ? 255 : 0);
            }
    stbi_image_free(q.p);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(grid_empty_is_dark) {
    char *dir = tu_tmpdir(), *path = join(dir, "empty.png");
    ck_assert_int_eq(gn_png_write_grid(path, NULL, 0, 5, 5, 1, 2, 2, 1, 0, 1), GN_OK);
    pic q = load(path);
    ck_assert_int_eq(q.w, 2 * 5 + 3 * GUTTER);
    for (int y = 0; y < q.h; y++)
        for (int x = 0; x < q.w; x++) ck_assert_int_lt(px(&q, x, y, 0), 64);
    stbi_image_free(q.p);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(grid_overwrites_in_place) {
    float a[4] = {0, 0, 0, 0}, b[4] = {1, 1, 1, 1};
    char *dir = tu_tmpdir(), *path = join(dir, "again.png");
    ck_assert_int_eq(gn_png_write_grid(path, a, 1, 2, 2, 1, 1, 1, 1, 0, 1), GN_OK);
    ck_assert_int_eq(gn_png_write_grid(path, b, 1, 2, 2, 1, 1, 1, 1, 0, 1), GN_OK);
    pic q = load(path);
    ck_assert_int_eq(px(&q, GUTTER, GUTTER, 0), 255);
    ck_assert_int_eq(count_entries(dir), 1);
    stbi_image_free(q.p);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(grid_io_errors) {
    float img[4] = {0};
    char *dir = tu_tmpdir();
    // a folder that does not exist
    char *path = join(dir, "missing/grid.png");
    ck_assert_int_eq(gn_png_write_grid(path, img, 1, 2, 2, 1, 1, 1, 1, 0, 1), GN_ERR_IO);
    ck_assert_msg(strstr(gn_last_error(), path) != NULL, "message lacks the path: %s",
                  gn_last_error());
    ck_assert_msg(strstr(gn_last_error(), "No such file") != NULL, "message lacks the reason: %s",
                  gn_last_error());
    ck_assert_int_eq(count_entries(dir), 0);
    free(path);
    // a target that is a directory: the rename fails after the temporary file was written
    path = join(dir, "taken");
    ck_assert_int_eq(mkdir(path, 0755), 0);
    ck_assert_int_eq(gn_png_write_grid(path, img, 1, 2, 2, 1, 1, 1, 1, 0, 1), GN_ERR_IO);
    ck_assert_msg(strstr(gn_last_error(), path) != NULL, "message lacks the path: %s",
                  gn_last_error());
    ck_assert_int_eq(count_entries(dir), 1); // only the directory itself
    ck_assert_int_eq(count_entries(path), 0);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(grid_bad_arguments) {
    float img[2 * 4 * 4 * 3] = {0};
    char *dir = tu_tmpdir(), *path = join(dir, "bad.png");
    ck_assert_int_eq(gn_png_write_grid(NULL, img, 1, 4, 4, 1, 1, 1, 1, 0, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write_grid("", img, 1, 4, 4, 1, 1, 1, 1, 0, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write_grid(path, NULL, 1, 4, 4, 1, 1, 1, 1, 0, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write_grid(path, img, 1, 0, 4, 1, 1, 1, 1, 0, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write_grid(path, img, 1, 4, 0, 1, 1, 1, 1, 0, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write_grid(path, img, 1, 4, 4, 2, 1, 1, 1, 0, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write_grid(path, img, 1, 4, 4, 4, 1, 1, 1, 0, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write_grid(path, img, 1, 4, 4, 1, 0, 1, 1, 0, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write_grid(path, img, 1, 4, 4, 1, 1, 0, 1, 0, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write_grid(path, img, 1, 4, 4, 1, 1, 1, 0, 0, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write_grid(path, img, 2, 4, 4, 1, 1, 1, 1, 0, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write_grid(path, img, 1, 4, 4, 1, 1, 1, 1, 1, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write_grid(path, img, 1, 4, 4, 1, 1, 1, 1, 1, 0), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write_grid(path, img, 1, 4, 4, 1, 1, 1, 1, NAN, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write_grid(path, img, 1, 4, 4, 1, 1, 1, 100000, 0, 1), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), path) != NULL, "message lacks the path: %s",
                  gn_last_error());
    ck_assert(!exists(path));
    ck_assert_int_eq(count_entries(dir), 0);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(png_write_round_trip) {
    unsigned char rgba[3 * 2 * 4];
    for (int i = 0; i < 3 * 2 * 4; i++) rgba[i] = (unsigned char)(i * 10);
    char *dir = tu_tmpdir(), *path = join(dir, "raw.png");
    ck_assert_int_eq(gn_png_write(path, rgba, 3, 2, 4), GN_OK);
    pic q = load(path);
    ck_assert_int_eq(q.w, 3);
    ck_assert_int_eq(q.h, 2);
    ck_assert_int_eq(q.c, 4);
    ck_assert_mem_eq(q.p, rgba, sizeof rgba);
    ck_assert_int_eq(gn_png_write(path, rgba, 0, 2, 4), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write(path, rgba, 3, 2, 5), GN_ERR_ARG);
    ck_assert_int_eq(gn_png_write(path, NULL, 3, 2, 4), GN_ERR_ARG);
    stbi_image_free(q.p);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------------------- */
/* plots                                                                      */

/* Coarse facts about a decoded plot. */
typedef struct plot_stats {
    double white;       /* share of pure white pixels */
    int dark_title;     /* dark pixels in the top tenth */
    int dark_left;      /* dark pixels in the left tenth (y tick labels, y label) */
    int dark_bottom;    /* dark pixels in the bottom tenth (x tick labels, x label) */
} plot_stats;

// counts white and dark pixels of an RGB plot by region
static plot_stats stats_of(const pic *q) {
    plot_stats s = {0, 0, 0, 0};
    long white = 0;
    for (int y = 0; y < q->h; y++)
        for (int x = 0; x < q->w; x++) {
            int r = px(q, x, y, 0), g = px(q, x, y, 1), b = px(q, x, y, 2);
            if (r == 255 && g == 255 && b == 255) white++;
            if (r < 100 && g < 100 && b < 100) {
                if (y < q->h / 10) s.dark_title++;
                if (x < q->w / 10) s.dark_left++;
                if (y >= q->h - q->h / 10) s.dark_bottom++;
            }
        }
    s.white = (double)white / ((double)q->w * q->h);
    return s;
}

// number of pixels that have exactly colour rgb
static long count_color(const pic *q, unsigned rgb) {
    long n = 0;
    for (int y = 0; y < q->h; y++)
        for (int x = 0; x < q->w; x++)
            if ((unsigned)px(q, x, y, 0) == ((rgb >> 16) & 255) &&
                (unsigned)px(q, x, y, 1) == ((rgb >> 8) & 255) && (unsigned)px(q, x, y, 2) == (rgb & 255))
                n++;
    return n;
}

// two noisy decaying loss curves over 250 iterations
static void loss_curves(float *x, float *d, float *g, int n) {
    float noise[2 * 250];
    tu_fill(noise, 2 * 250, 7, -1, 1);
    for (int i = 0; i < n; i++) {
        x[i] = (float)i;
        d[i] = 0.6f + 0.8f * expf(-i / 40.0f) + 0.08f * noise[i % 250];
        g[i] = 0.9f + 1.6f * expf(-i / 60.0f) + 0.15f * noise[250 + i % 250];
    }
}

// draws the two loss curves at width x height and checks the picture's coarse facts
static void check_loss_plot(int width, int height) {
    enum { N = 250 };
    float x[N], d[N], g[N];
    loss_curves(x, d, g, N);
    gn_series s[2] = {{"D loss", d, 0x1f77b4}, {"G loss", g, 0xff7f0e}};
    char *dir = tu_tmpdir(), *path = join(dir, "losses.png");
    gn_status st = gn_plot_lines(path, width, height, "Training losses", "iteration", "loss", x, N,
                                 s, 2);
    ck_assert_msg(st == GN_OK, "plot failed: %s", gn_last_error());
    ck_assert_int_eq(count_entries(dir), 1);
    pic q = load(path);
    ck_assert_int_eq(q.w, width);
    ck_assert_int_eq(q.h, height);
    ck_assert_int_eq(q.c, 3);
    plot_stats ps = stats_of(&q);
    ck_assert_msg(ps.white > 0.6, "only %.2f of the plot is white", ps.white);
    ck_assert_int_gt(ps.dark_title, 20);
    ck_assert_int_gt(ps.dark_left, 20);
    ck_assert_int_gt(ps.dark_bottom, 20);
    ck_assert_int_gt(count_color(&q, 0x1f77b4), 200);
    ck_assert_int_gt(count_color(&q, 0xff7f0e), 200);
    stbi_image_free(q.p);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}

START_TEST(plot_loss_curves) { check_loss_plot(640, 480); }
END_TEST

START_TEST(plot_sizes) {
    check_loss_plot(800, 500);
    check_loss_plot(300, 200);
    check_loss_plot(1600, 1000);
}
END_TEST

START_TEST(plot_builtin_font) {
    setenv("GANNET_FONT", "builtin", 1);
    check_loss_plot(640, 480);
    setenv("GANNET_FONT", "/nonexistent/font.ttf", 1); // falls back to a system or built-in font
    check_loss_plot(640, 480);
    unsetenv("GANNET_FONT");
}
END_TEST

// draws one series and checks that the file decodes at the right size; returns its pixels
static pic plot_one(const char *dir, const float *x, const float *y, size_t n, const char *name,
                    unsigned rgb) {
    char *path = join(dir, "one.png");
    gn_series s = {name, y, rgb};
    gn_status st = gn_plot_lines(path, 400, 300, "t", "x", "y", x, n, &s, 1);
    ck_assert_msg(st == GN_OK, "plot failed: %s", gn_last_error());
    pic q = load(path);
    ck_assert_int_eq(q.w, 400);
    ck_assert_int_eq(q.h, 300);
    unlink(path);
    free(path);
    return q;
}

START_TEST(plot_odd_data) {
    char *dir = tu_tmpdir();
    const unsigned c = 0x2ca02c;
    float x[64], y[64];
    // a single point shows as a dot
    x[0] = 5, y[0] = 2;
    pic q = plot_one(dir, x, y, 1, NULL, c);
    ck_assert_int_gt(count_color(&q, c), 4);
    stbi_image_free(q.p);
    // a constant series, negative
    for (int i = 0; i < 64; i++) x[i] = (float)i, y[i] = -3;
    q = plot_one(dir, x, y, 64, NULL, c);
    ck_assert_int_gt(count_color(&q, c), 100);
    stbi_image_free(q.p);
    // zero everywhere, x defaulting to 0, 1, 2, ...
    for (int i = 0; i < 64; i++) y[i] = 0;
    q = plot_one(dir, NULL, y, 64, "zero", c);
    ck_assert_int_gt(count_color(&q, c), 100);
    stbi_image_free(q.p);
    // huge and tiny magnitudes
    for (int i = 0; i < 64; i++) y[i] = (i % 2 ? 3e38f : -3e38f) * (float)i / 64;
    q = plot_one(dir, x, y, 64, "huge", c);
    ck_assert_int_gt(count_color(&q, c), 100);
    stbi_image_free(q.p);
    for (int i = 0; i < 64; i++) x[i] = 1e-30f * (float)i, y[i] = 1e-30f * sinf((float)i);
    q = plot_one(dir, x, y, 64, "tiny", c);
    ck_assert_int_gt(count_color(&q, c), 100);
    stbi_image_free(q.p);
    // nothing finite: axes only, no curve
    for (int i = 0; i < 64; i++) x[i] = (float)i, y[i] = i % 2 ? NAN : INFINITY;
    q = plot_one(dir, x, y, 64, NULL, c);
    ck_assert_int_eq(count_color(&q, c), 0);
    plot_stats ps = stats_of(&q);
    ck_assert(ps.white > 0.8);
    ck_assert_int_gt(ps.dark_bottom, 10);
    stbi_image_free(q.p);
    // no points and no series at all
    char *path = join(dir, "empty.png");
    ck_assert_int_eq(gn_plot_lines(path, 160, 120, NULL, NULL, NULL, NULL, 0, NULL, 0), GN_OK);
    q = load(path);
    ck_assert_int_eq(q.w, 160);
    ck_assert_int_eq(q.h, 120);
    stbi_image_free(q.p);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(plot_gaps) {
    // y = 1 on x in [0, 9] and [20, 29], NaN between: the curve must break
    enum { N = 30 };
    float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = (float)i, y[i] = (i >= 10 && i < 20) ? NAN : 1.0f;
    y[25] = INFINITY; // a second, one-point gap
    char *dir = tu_tmpdir();
    const unsigned c = 0xd62728;
    pic q = plot_one(dir, x, y, N, NULL, c);
    int first = q.w, last = -1;
    char *hit = calloc((size_t)q.w, 1);
    for (int yy = 0; yy < q.h; yy++)
        for (int xx = 0; xx < q.w; xx++)
            if (px(&q, xx, yy, 0) == 0xd6 && px(&q, xx, yy, 1) == 0x27 && px(&q, xx, yy, 2) == 0x28) {
                hit[xx] = 1;
                if (xx < first) first = xx;
                if (xx > last) last = xx;
            }
    ck_assert_int_lt(first, last);
    // columns of x = 0 and x = 29 are about first and last; x in [11, 18] must be empty
    double span = last - first;
    for (int xx = first + (int)ceil(span * 11 / 29); xx <= first + (int)floor(span * 18 / 29); xx++)
        ck_assert_msg(!hit[xx], "curve drawn across the gap at column %d", xx);
    for (int xx = first + (int)ceil(span * 24.3 / 29); xx <= first + (int)floor(span * 25.7 / 29); xx++)
        ck_assert_msg(!hit[xx], "curve drawn across the infinity at column %d", xx);
    ck_assert(hit[first + (int)(span * 5 / 29)]);
    ck_assert(hit[first + (int)(span * 22 / 29)]);
    free(hit);
    stbi_image_free(q.p);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(plot_bad_arguments) {
    float x[3] = {0, 1, 2}, y[3] = {1, 2, 3};
    gn_series s = {"a", y, 0x000000}, none = {"b", NULL, 0};
    char *dir = tu_tmpdir(), *path = join(dir, "bad.png");
    ck_assert_int_eq(gn_plot_lines(NULL, 400, 300, "t", "x", "y", x, 3, &s, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_plot_lines("", 400, 300, "t", "x", "y", x, 3, &s, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_plot_lines(path, 100, 300, "t", "x", "y", x, 3, &s, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_plot_lines(path, 400, 50, "t", "x", "y", x, 3, &s, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_plot_lines(path, 100000, 300, "t", "x", "y", x, 3, &s, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_plot_lines(path, 400, 300, "t", "x", "y", x, 3, &s, -1), GN_ERR_ARG);
    ck_assert_int_eq(gn_plot_lines(path, 400, 300, "t", "x", "y", x, 3, NULL, 1), GN_ERR_ARG);
    ck_assert_int_eq(gn_plot_lines(path, 400, 300, "t", "x", "y", x, 3, &none, 1), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), path) != NULL, "message lacks the path: %s",
                  gn_last_error());
    ck_assert_int_eq(count_entries(dir), 0);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(plot_io_errors) {
    float y[3] = {1, 2, 3};
    gn_series s = {"a", y, 0x000000};
    char *dir = tu_tmpdir(), *path = join(dir, "missing/plot.png");
    ck_assert_int_eq(gn_plot_lines(path, 400, 300, "t", "x", "y", NULL, 3, &s, 1), GN_ERR_IO);
    ck_assert_msg(strstr(gn_last_error(), path) != NULL, "message lacks the path: %s",
                  gn_last_error());
    ck_assert_msg(strstr(gn_last_error(), "cannot create") != NULL, "unexpected message: %s",
                  gn_last_error());
    ck_assert_int_eq(count_entries(dir), 0);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

/* ------------------------------------------------------------------------- */
/* the atomic writer                                                          */

#define FULL_DISK_BYTES 4096 /* RLIMIT_FSIZE standing in for a full disk */

// makes writes past FULL_DISK_BYTES fail with EFBIG, as a full disk fails them
static void fill_the_disk(void) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit r;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &r), 0);
    r.rlim_cur = FULL_DISK_BYTES;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &r), 0);
}

// reads a whole small file into buf; returns its length
static size_t slurp(const char *path, unsigned char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

START_TEST(atomic_replaces_whole_file) {
    char *dir = tu_tmpdir(), *path = join(dir, "a.txt");
    ck_assert_int_eq(gn_atomic_write_file(path, "old", 3, "text"), GN_OK);
    ck_assert_int_eq(gn_atomic_write_file(path, "new text", 8, "text"), GN_OK);
    unsigned char buf[64];
    ck_assert_uint_eq(slurp(path, buf, sizeof buf), 8);
    ck_assert_int_eq(memcmp(buf, "new text", 8), 0);
    ck_assert_int_eq(count_entries(dir), 1); /* no temporary file left */
    free(path);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

// a failed write of every kind of output leaves the existing file as it was
START_TEST(atomic_full_disk_keeps_target) {
    char *dir = tu_tmpdir();
    const char *names[] = {"x.bin", "x.idx", "x.idx.gz", "x.png"};
    size_t big = 64 * FULL_DISK_BYTES;
    unsigned char *data = malloc(big);
    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < big; i++) data[i] = (unsigned char)(i * 2654435761u >> 13); /* incompressible */
    for (int k = 0; k < 4; k++) {
        char *path = join(dir, names[k]);
        ck_assert_int_eq(tu_write_file(path, "precious", 8), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) { /* the limit stays in the child */
            fill_the_disk();
            uint32_t dims[3] = {(uint32_t)(big / 1024), 32, 32};
            gn_status s = k == 0 ? gn_atomic_write_file(path, data, big, "data")
                          : k < 3 ? gn_idx_write_u8(path, data, 3, dims)
                                  : gn_png_write(path, data, 256, (int)(big / 256), 1);
            _exit(s == GN_ERR_IO && strstr(gn_last_error(), path) ? 0 : 1);
        }
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: the write did not fail cleanly", names[k]);
        unsigned char buf[64];
        ck_assert_uint_eq(slurp(path, buf, sizeof buf), 8);
        ck_assert_msg(!memcmp(buf, "precious", 8), "%s: the existing file was changed", names[k]);
        free(path);
    }
    ck_assert_int_eq(count_entries(dir), 4); /* the four targets, no temporary file */
    free(data);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(atomic_temp_names) {
    ck_assert(gn_atomic_is_temp_name(".checkpoint.gnt.gannet-tmp.123.0"));
    ck_assert(gn_atomic_is_temp_name(".a.gannet-tmp.b.gannet-tmp.7.12"));
    ck_assert(!gn_atomic_is_temp_name("thesis.tmp.tex"));
    ck_assert(!gn_atomic_is_temp_name("checkpoint.gnt.tmp.123"));
    ck_assert(!gn_atomic_is_temp_name("x.gannet-tmp.123.0"));        /* not hidden */
    ck_assert(!gn_atomic_is_temp_name(".x.gannet-tmp.123"));         /* no sequence */
    ck_assert(!gn_atomic_is_temp_name(".x.gannet-tmp.123.0.png"));   /* more after it */
    ck_assert(!gn_atomic_is_temp_name(".gannet-tmp.123.0"));         /* no target name */
}
END_TEST

// start-up clean-up: only temporary files of writers that are gone
START_TEST(atomic_removes_only_stale_temps) {
    char *dir = tu_tmpdir();
    pid_t dead = fork();
    ck_assert_int_ge(dead, 0);
    if (dead == 0) _exit(0);
    ck_assert_int_eq(waitpid(dead, NULL, 0), dead);
    char stale[64], live[64];
    snprintf(stale, sizeof stale, ".losses.csv.gannet-tmp.%ld.0", (long)dead);
    snprintf(live, sizeof live, ".losses.csv.gannet-tmp.%ld.3", (long)getppid()); /* a running process */
    const char *keep[] = {"thesis.tmp.tex", "notes.tmp.1", live, "losses.csv"};
    for (int i = 0; i < 4; i++) {
        char *p = join(dir, keep[i]);
        ck_assert_int_eq(tu_write_file(p, "x", 1), 0);
        free(p);
    }
    char *sp = join(dir, stale);
    ck_assert_int_eq(tu_write_file(sp, "x", 1), 0);
    ck_assert_int_eq(gn_atomic_remove_stale(dir), 1);
    ck_assert_int_ne(access(sp, F_OK), 0);
    ck_assert_int_eq(count_entries(dir), 4);
    free(sp);
    tu_rm_rf(dir);
    free(dir);
}
END_TEST

// the io suite
static Suite *io_suite(void) {
    Suite *s = suite_create("io");
    TCase *grid = tcase_create("grid");
    tcase_add_test(grid, grid_size_and_values);
    tcase_add_test(grid, grid_clamps_and_nan);
    tcase_add_test(grid, grid_rgb_channels);
    tcase_add_test(grid, grid_empty_is_dark);
    tcase_add_test(grid, grid_overwrites_in_place);
    tcase_add_test(grid, grid_io_errors);
    tcase_add_test(grid, grid_bad_arguments);
    tcase_add_test(grid, png_write_round_trip);
    suite_add_tcase(s, grid);
    TCase *plot = tcase_create("plot");
    tcase_set_timeout(plot, 120);
    tcase_add_test(plot, plot_loss_curves);
    tcase_add_test(plot, plot_sizes);
    tcase_add_test(plot, plot_builtin_font);
    tcase_add_test(plot, plot_odd_data);
    tcase_add_test(plot, plot_gaps);
    tcase_add_test(plot, plot_bad_arguments);
    tcase_add_test(plot, plot_io_errors);
    suite_add_tcase(s, plot);
    TCase *atomic = tcase_create("atomic");
    tcase_add_test(atomic, atomic_replaces_whole_file);
    tcase_add_test(atomic, atomic_full_disk_keeps_target);
    tcase_add_test(atomic, atomic_temp_names);
    tcase_add_test(atomic, atomic_removes_only_stale_temps);
    suite_add_tcase(s, atomic);
    return s;
}

int main(void) {
    return tu_run_suite(io_suite());
}
