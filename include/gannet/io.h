/* Pictures: PNG sample grids and loss plots. Files go through the atomic
 * writer (gannet/atomic.h), so a reader never sees half a file. */
#ifndef GANNET_IO_H
#define GANNET_IO_H

#include "gannet/export.h"

#include <stddef.h>

#include "gannet/status.h"

/* Writes an 8-bit buffer (height rows of width * c bytes; c = 1 gray, 2 gray+alpha,
 * 3 RGB, 4 RGBA) as a PNG file. */
GN_API gn_status gn_png_write(const char *path, const unsigned char *pixels, int width, int height,
                              int c);

/* Writes n images (n, h, w, c; c = 1 or 3) as a rows x cols grid PNG with a
 * 2-pixel dark gutter, each image scaled up by `zoom` (>= 1); values are mapped
 * from [lo, hi] to 0..255 and clamped. Cells past n stay dark.
 * The gutter also runs around the border, so the picture is
 * cols*(w*zoom + 2) + 2 pixels wide and rows*(h*zoom + 2) + 2 high; NaN maps to 0;
 * n may be 0 (an all-dark grid) but not more than rows*cols; lo < hi. */
GN_API gn_status gn_png_write_grid(const char *path, const float *images, size_t n, int h, int w, int c,
                                   int rows, int cols, int zoom, float lo, float hi);

/* One curve of a line plot. */
typedef struct gn_series {
    const char *name;     /* legend text (ASCII) */
    const float *y;       /* npoints values; non-finite values are skipped */
    unsigned rgb;         /* 0xRRGGBB */
} gn_series;

/* Draws a line plot (width x height pixels, white background) with axes,
 * ticks with numeric labels, axis labels, a title and a legend, and writes it
 * as PNG. x has npoints values (increasing); x may be NULL for 0, 1, 2, ...
 * Ticks follow 1-2-5 steps; a point whose x or y is not finite leaves a gap,
 * and a point with no neighbours is drawn as a dot. Series without a name stay
 * out of the legend; title and labels may be NULL. width >= 160, height >= 120.
 * Text uses a TrueType font (GANNET_FONT, else DejaVu Sans or Liberation Sans
 * from the system) or, when none is found or GANNET_FONT=builtin, a built-in one. */
GN_API gn_status gn_plot_lines(const char *path, int width, int height, const char *title,
                               const char *xlabel, const char *ylabel, const float *x, size_t npoints,
                               const gn_series *series, int nseries);

#endif
