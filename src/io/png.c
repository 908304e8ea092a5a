/* PNG output: an atomic writer for 8-bit pixel buffers and the sample-grid
 * picture. Encoding is done by stb_image_write; the bytes go through the
 * atomic writer (gannet/atomic.h). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image_write.h>

#include "gannet/atomic.h"
#include "gannet/io.h"

#define GRID_GUTTER 2      /* pixels between cells and around the border */
#define GRID_DARK 40       /* grey level of the gutter and of empty cells */
#define PNG_MAX_SIDE 32768 /* largest width or height we agree to write */

// stb_image_write callback: appends a chunk of encoded bytes to the file
static void sink_write(void *context, void *data, int size) {
    if (size > 0) gn_atomic_put(context, data, (size_t)size);
}

// writes an 8-bit gray (c=1), gray+alpha (2), RGB (3) or RGBA (4) buffer as PNG, atomically
gn_status gn_png_write(const char *path, const unsigned char *pixels, int width, int height,
                       int c) {
    if (!path || !*path) return gn_fail(GN_ERR_ARG, "png: no output path given");
    if (!pixels) return gn_fail(GN_ERR_ARG, "%s: no pixels given", path);
    if (width < 1 || height < 1 || width > PNG_MAX_SIDE || height > PNG_MAX_SIDE)
        return gn_fail(GN_ERR_ARG, "%s: bad picture size %dx%d (1..%d per side)", path, width,
                       height, PNG_MAX_SIDE);
    if (c < 1 || c > 4) return gn_fail(GN_ERR_ARG, "%s: bad channel count %d (1..4)", path, c);
    gn_atomic_file a;
    gn_status s = gn_atomic_begin(&a, path, "picture");
    if (s) return s;
    if (!stbi_write_png_to_func(sink_write, &a, width, height, c, pixels, width * c))
        gn_atomic_set_error(&a, ENOMEM); /* the encoder's only failure is an allocation */
    return gn_atomic_commit(&a);
}

// maps a value from [lo, hi] to 0..255 with clamping; NaN becomes 0
static unsigned char to_byte(float v, float lo, float hi) {
    if (isnan(v)) return 0;
    double t = ((double)v - lo) / ((double)hi - lo) * 255.0;
    if (!(t > 0)) return 0;
    if (t >= 255) return 255;
    return (unsigned char)floor(t + 0.5);
}

// writes n images (n, h, w, c) as a rows x cols grid with gutters, scaled by zoom
gn_status gn_png_write_grid(const char *path, const float *images, size_t n, int h, int w, int c,
                            int rows, int cols, int zoom, float lo, float hi) {
    if (!path || !*path) return gn_fail(GN_ERR_ARG, "png grid: no output path given");
    if (n > 0 && !images) return gn_fail(GN_ERR_ARG, "%s: no images given", path);
    if (h < 1 || w < 1) return gn_fail(GN_ERR_ARG, "%s: bad image size %dx%d", path, h, w);
    if (c != 1 && c != 3)
        return gn_fail(GN_ERR_ARG, "%s: bad channel count %d (1 or 3)", path, c);
    if (rows < 1 || cols < 1)
        return gn_fail(GN_ERR_ARG, "%s: bad grid %dx%d (at least 1x1)", path, rows, cols);
    if (zoom < 1) return gn_fail(GN_ERR_ARG, "%s: bad zoom %d (at least 1)", path, zoom);
    if (n > (size_t)rows * (size_t)cols)
        return gn_fail(GN_ERR_ARG, "%s: %zu images do not fit a %dx%d grid", path, n, rows, cols);
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
        return gn_fail(GN_ERR_ARG, "%s: bad value range [%g, %g]", path, lo, hi);

    int64_t cw = (int64_t)w * zoom, ch = (int64_t)h * zoom;
    int64_t W = cols * (cw + GRID_GUTTER) + GRID_GUTTER;
    int64_t H = rows * (ch + GRID_GUTTER) + GRID_GUTTER;
    if (W > PNG_MAX_SIDE || H > PNG_MAX_SIDE)
        return gn_fail(GN_ERR_ARG, "%s: grid picture %lldx%lld is too large (at most %d per side)",
                       path, (long long)W, (long long)H, PNG_MAX_SIDE);

    size_t stride = (size_t)W * c;
    unsigned char *pix = malloc(stride * (size_t)H);
    if (!pix) return gn_fail(GN_ERR_NOMEM, "%s: out of memory for a %lldx%lld picture", path,
                             (long long)W, (long long)H);
    memset(pix, GRID_DARK, stride * (size_t)H);

    size_t img_size = (size_t)h * w * c;
    for (size_t k = 0; k < n; k++) {
        const float *img = images + k * img_size;
        size_t x0 = GRID_GUTTER + (size_t)(k % cols) * (size_t)(cw + GRID_GUTTER);
        size_t y0 = GRID_GUTTER + (size_t)(k / cols) * (size_t)(ch + GRID_GUTTER);
        for (int y = 0; y < h; y++) {
            // build one zoomed output row, then repeat it zoom times
            unsigned char *row = pix + (y0 + (size_t)y * zoom) * stride + x0 * c;
            for (int x = 0; x < w; x++)
                for (int ch_i = 0; ch_i < c; ch_i++) {
                    unsigned char b = to_byte(img[((size_t)y * w + x) * c + ch_i], lo, hi);
                    for (int z = 0; z < zoom; z++) row[((size_t)x * zoom + z) * c + ch_i] = b;
                }
            for (int z = 1; z < zoom; z++) memcpy(row + z * stride, row, (size_t)cw * c);
        }
    }
    gn_status s = gn_png_write(path, pix, (int)W, (int)H, c);
    free(pix);
    return s;
}
