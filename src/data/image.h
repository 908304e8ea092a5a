/* One image file into a cache slot: decoding (stb_image) and the fit to
 * S x S x C (centre crop, resize, colour conversion). Internal to the
 * library; the tests and fuzz targets use it directly. */
#ifndef GANNET_DATA_IMAGE_H
#define GANNET_DATA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "gannet/status.h"

/* The largest image decoded, in pixels (67 megapixels, 8192 x 8192):
 * bigger ones are refused from their header, before any pixel is
 * allocated, so that a small file claiming a huge picture (a 19-byte GIF
 * claiming 8192 x 15618, found by fuzz_imagedir) costs at most a quarter
 * of a GiB and a second per thread instead of exhausting the memory. */
#define GN_IMAGE_PIXELS_MAX ((size_t)1 << 26)
/* The largest image file read, in bytes. */
#define GN_IMAGE_FILE_MAX ((size_t)1 << 30)

/* Gray from RGB: ITU-R BT.601 luma, as PIL's convert("L") and OpenCV's
 * COLOR_RGB2GRAY, computed on the unrounded values. */
#define GN_LUMA_R 0.299
#define GN_LUMA_G 0.587
#define GN_LUMA_B 0.114

/* What gn_image_decode returns when *why is stb_image's own terse reason
 * ("outofdata", "bad IHDR len"): messages then say it comes from stb_image. */
#define GN_IMAGE_STB_REASON (-2)

/* Decodes an image held in memory (PNG, JPEG, BMP, TGA, GIF's first frame)
 * into *px (malloc'd, w x h x c bytes, rows top first). c is 1 for a gray
 * source (alpha dropped) and 3 for a colour one (alpha dropped, as
 * torchvision's convert("RGB") does). On failure returns -1 with a short
 * reason in *why (a static string) or GN_IMAGE_STB_REASON, and *px NULL.
 * Thread-safe. */
int gn_image_decode(const uint8_t *bytes, size_t n, uint8_t **px, int *w, int *h, int *c, const char **why);

/* Reads and decodes a file (opened as gn_open_regular does: a FIFO or device
 * is refused, never waited on). Same contract as gn_image_decode. */
int gn_image_read(const char *path, uint8_t **px, int *w, int *h, int *c, const char **why);

/* src: (h, w, c) u8 with c in {1, 3} -> out: (S, S, C) u8 with C in {1, 3}.
 * The largest centred square is cut out (side min(w, h), offsets
 * (w - side) / 2 and (h - side) / 2, rounded down), then resized: when
 * shrinking (or keeping the size) each output pixel is the exact average
 * of the source area it covers (a box filter integrated over the pixel
 * footprint); when enlarging, bilinear with pixel centres at +0.5. Gray
 * from RGB is GN_LUMA_*; RGB from gray repeats the value. Everything is
 * computed in double and rounded once, half up. Returns -1 when out of
 * memory (*why set). */
int gn_image_fit(const uint8_t *src, int w, int h, int c, int S, int C, uint8_t *out, const char **why);

#endif
