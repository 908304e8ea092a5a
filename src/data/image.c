/* Image files into the u8 cache: decoding with stb_image (Debian's
 * libstb-dev), then a centre crop, an exact area-average resize and the
 * colour conversion, computed in double and rounded once.
 *
 * The resize is separable: each axis has a list of taps (source index,
 * weight) per output index, applied along the rows and then the columns.
 * An exact box-filter average is separable (the overlap area of two
 * squares is the product of the overlaps of their sides), so the two
 * passes give the 2-D integral up to rounding; test_imagedir checks it
 * against the direct 2-D sum. stb_image_resize's box filter gives the same
 * values rounded to u8 (checked there too), but only in u8 or float
 * buffers of the whole picture: the gray conversion would round twice or
 * need a float copy of a photo per thread. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb/stb_image.h>

#include "data/image.h"
#include "gannet/files.h"

#define JPEG_MARK 0xFF
#define JPEG_SOI 0xD8
#define JPEG_EOI 0xD9
#define JPEG_DHT 0xC4
#define JPEG_HUFFMAN_SYMBOLS 256

/* Whether the Huffman tables of the DHT segment whose payload starts at p
 * (L bytes by its length field) hold at most 256 symbols each. Read as
 * stb_image reads them: table after table while L > 0, the 16 counts taken
 * even past the segment's end (bytes past the file read as 0). */
static int dht_ok(const uint8_t *b, size_t n, size_t p, long L) {
    while (L > 0) {
        int count = 0;
        for (size_t i = 1; i <= 16; i++) count += p + i < n ? b[p + i] : 0;
        if (count > JPEG_HUFFMAN_SYMBOLS) return 0;
        p += 17 + (size_t)count;
        L -= 17 + count;
    }
    return 1;
}

/* Debian's stb_image (2.27) builds a JPEG Huffman table of as many symbols
 * as the file claims, past its 256-entry arrays (fixed in 2.28 with a "bad
 * DHT header" check; found by fuzz_imagedir): a JPEG whose DHT segment
 * claims more is refused here, before stb_image reads it (its header scan for
 * stbi_info already builds the tables found before the frame). Walks the marker
 * segments by their lengths and steps over entropy-coded data byte by byte
 * (stuffed 0xFF00 and restart markers carry no length). The fuzzer found
 * the fill bytes stb_image skips before SOI, which this walk first missed. */
static int jpeg_tables_ok(const uint8_t *b, size_t n) {
    /* stb_image takes fill bytes before SOI too (0xFF 0xFF ... 0xD8) */
    size_t i = 1;
    while (i < n && b[i] == JPEG_MARK) i++;
    if (n < 2 || b[0] != JPEG_MARK || i >= n || b[i] != JPEG_SOI) return 1; /* not a JPEG */
    i++;
    while (i + 4 <= n) {
        uint8_t m = b[i + 1];
        if (b[i] != JPEG_MARK || m == JPEG_MARK || m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
            i++;
            continue;
        }
        if (m == JPEG_EOI) break;
        size_t len = (size_t)b[i + 2] << 8 | b[i + 3];
        if (m == JPEG_DHT && !dht_ok(b, n, i + 4, (long)len - 2)) return 0;
        i += 2 + len;
    }
    return 1;
}

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }

#define BMP_INFO_HEADER 40 /* BITMAPINFOHEADER and its successors: 32-bit sizes */
#define BMP_RGB 0          /* uncompressed */
#define BMP_BITFIELDS 3    /* uncompressed, with channel masks */
#define TGA_HEADER 18
#define TGA_RLE_RUN 128 /* pixels one run-length packet (1 byte + 1 pixel) repeats at most */

/* Whether a BMP or TGA holds all the pixels its header claims: stb_image
 * reads the missing ones as zeros, so a file cut short would give a picture
 * with a black part instead of an error. An uncompressed one needs them
 * all; a run-length TGA at least one packet per 128 pixels (without that
 * bound, 38 bytes that claim 50 megapixels decode for seconds into zeros,
 * as fuzz_imagedir found). Other formats fail in stb_image when cut. */
static int raw_size_ok(const uint8_t *b, size_t n, int w, int h) {
    uint64_t need = 0;
    if (n >= 34 && b[0] == 'B' && b[1] == 'M' && le32(b + 14) >= BMP_INFO_HEADER) {
        uint32_t bpp = le16(b + 28), comp = le32(b + 30);
        if (comp != BMP_RGB && comp != BMP_BITFIELDS) return 1;
        need = le32(b + 10) + ((uint64_t)bpp * (uint64_t)w + 31) / 32 * 4 * (uint64_t)h;
    } else if (n >= TGA_HEADER && b[1] <= 1 && ((b[2] >= 1 && b[2] <= 3) || (b[2] >= 9 && b[2] <= 11)) &&
               !(b[0] == 0x89 || b[0] == 0xFF || b[0] == 'G')) {
        /* TGA, uncompressed (types 1, 2, 3) or run-length (9, 10, 11): id,
         * colour map, pixels */
        uint64_t map = b[1] ? (uint64_t)le16(b + 5) * ((b[7] + 7u) / 8) : 0;
        uint64_t px = (uint64_t)w * (uint64_t)h, bytes = (b[16] + 7u) / 8;
        uint64_t data = b[2] <= 3 ? px * bytes : (px + TGA_RLE_RUN - 1) / TGA_RLE_RUN * (1 + bytes);
        need = TGA_HEADER + b[0] + map + data;
    }
    return need <= n;
}

int gn_image_decode(const uint8_t *bytes, size_t n, uint8_t **px, int *w, int *h, int *c, const char **why) {
    *px = NULL;
    int comp = 0;
    if (n > (size_t)0x7fffffff) {
        *why = "file larger than 2 GiB";
        return -1;
    }
    if (!jpeg_tables_ok(bytes, n)) {
        *why = "a JPEG Huffman table of more than 256 symbols";
        return -1;
    }
    if (!stbi_info_from_memory(bytes, (int)n, w, h, &comp)) {
        const char *r = stbi_failure_reason();
        int own = r && *r && strcmp(r, "unknown image type"); /* stb's own words say more */
        *why = own ? r : "not a PNG, JPEG, BMP, TGA or GIF image stb_image can read";
        return own ? GN_IMAGE_STB_REASON : -1;
    }
    if (*w <= 0 || *h <= 0 || (size_t)*w * (size_t)*h > GN_IMAGE_PIXELS_MAX) {
        *why = "picture larger than 8192 x 8192 pixels";
        return -1;
    }
    if (!raw_size_ok(bytes, n, *w, *h)) {
        *why = "file cut short: fewer pixels than its header claims";
        return -1;
    }
    *c = comp <= 2 ? 1 : 3;
    int got, x, y;
    /* stb_image keeps its last reason and not every failure sets one: an
     * empty buffer sets "unknown image type", which no later failure of a
     * picture whose header was read gives, so it marks "no reason" */
    stbi_info_from_memory(bytes, 0, &x, &y, &got);
    *px = stbi_load_from_memory(bytes, (int)n, w, h, &got, *c);
    if (!*px) {
        const char *r = stbi_failure_reason();
        int own = r && *r && strcmp(r, "unknown image type");
        *why = own ? r : "cannot be decoded";
        return own ? GN_IMAGE_STB_REASON : -1;
    }
    return 0;
}

int gn_image_read(const char *path, uint8_t **px, int *w, int *h, int *c, const char **why) {
    *px = NULL;
    FILE *f;
    if (gn_open_regular(path, "image", &f)) {
        *why = "cannot be opened as a regular file";
        return -1;
    }
    struct stat st;
    uint8_t *buf = NULL;
    int r = -1;
    if (fstat(fileno(f), &st) || st.st_size <= 0) *why = "empty file";
    else if ((size_t)st.st_size > GN_IMAGE_FILE_MAX) *why = "file larger than 1 GiB";
    else if (!(buf = malloc((size_t)st.st_size))) *why = "out of memory";
    else if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) *why = "read error or file cut short";
    else r = gn_image_decode(buf, (size_t)st.st_size, px, w, h, c, why);
    free(buf);
    fclose(f);
    return r;
}

/* The taps of one axis, n source pixels -> S output pixels: output o reads
 * count[o] sources from first[o] with weights wt[o * stride ...]. */
typedef struct taps {
    int *first, *count, stride;
    double *wt;
} taps;

static void taps_free(taps *t) {
    free(t->first);
    free(t->count);
    free(t->wt);
}

/* Shrinking (S <= n): output o covers [o n / S, (o+1) n / S) of the source;
 * in units of 1/S source pixel that is [o n, (o+1) n), and source i covers
 * [i S, (i+1) S): the overlaps are integers, the weights overlap / n. */
static void area_taps(taps *t, int n, int S) {
    for (int o = 0; o < S; o++) {
        long lo = (long)o * n, hi = (long)(o + 1) * n;
        int i0 = (int)(lo / S), i1 = (int)((hi - 1) / S);
        t->first[o] = i0;
        t->count[o] = i1 - i0 + 1;
        for (int i = i0; i <= i1; i++) {
            long a = lo > (long)i * S ? lo : (long)i * S, b = hi < (long)(i + 1) * S ? hi : (long)(i + 1) * S;
            t->wt[(size_t)o * t->stride + (i - i0)] = (double)(b - a) / n;
        }
    }
}

/* Enlarging (S > n): bilinear between the two nearest source centres,
 * clamped at the borders. */
static void bilinear_taps(taps *t, int n, int S) {
    for (int o = 0; o < S; o++) {
        double x = ((double)o + 0.5) * n / S - 0.5;
        if (x < 0) x = 0;
        if (x > n - 1) x = n - 1;
        int i0 = (int)floor(x);
        double f = x - i0;
        t->first[o] = i0;
        t->count[o] = i0 + 1 < n ? 2 : 1;
        t->wt[(size_t)o * t->stride] = t->count[o] == 2 ? 1.0 - f : 1.0;
        t->wt[(size_t)o * t->stride + 1] = t->count[o] == 2 ? f : 0.0;
    }
}

static int taps_make(taps *t, int n, int S) {
    t->stride = S <= n ? (n + S - 1) / S + 1 : 2;
    t->first = malloc((size_t)S * sizeof(int));
    t->count = malloc((size_t)S * sizeof(int));
    t->wt = calloc((size_t)S * (size_t)t->stride, sizeof(double));
    if (!t->first || !t->count || !t->wt) return -1;
    if (S <= n) area_taps(t, n, S);
    else bilinear_taps(t, n, S);
    return 0;
}

static uint8_t round_u8(double v) {
    v = floor(v + 0.5);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

int gn_image_fit(const uint8_t *src, int w, int h, int c, int S, int C, uint8_t *out, const char **why) {
    int side = w < h ? w : h, x0 = (w - side) / 2, y0 = (h - side) / 2;
    int k = c == 3 ? 3 : 1; /* channels carried through the resize */
    taps t = {0};
    double *rows = malloc((size_t)side * S * k * sizeof(double));
    if (!rows || taps_make(&t, side, S)) {
        free(rows);
        taps_free(&t);
        *why = "out of memory";
        return -1;
    }
    /* along the rows: rows[y][o][ch] = sum_i wt * src[y0 + y][x0 + i][ch] */
    for (int y = 0; y < side; y++) {
        const uint8_t *row = src + ((size_t)(y0 + y) * w + x0) * c;
        for (int o = 0; o < S; o++) {
            const double *wt = t.wt + (size_t)o * t.stride;
            const uint8_t *p = row + (size_t)t.first[o] * c;
            for (int ch = 0; ch < k; ch++) {
                double v = 0;
                for (int j = 0; j < t.count[o]; j++) v += wt[j] * p[(size_t)j * c + ch];
                rows[((size_t)y * S + o) * k + ch] = v;
            }
        }
    }
    /* down the columns, then the colour conversion and one rounding */
    for (int oy = 0; oy < S; oy++) {
        const double *wt = t.wt + (size_t)oy * t.stride;
        for (int ox = 0; ox < S; ox++) {
            double v[3] = {0, 0, 0};
            for (int j = 0; j < t.count[oy]; j++)
                for (int ch = 0; ch < k; ch++) v[ch] += wt[j] * rows[((size_t)(t.first[oy] + j) * S + ox) * k + ch];
            uint8_t *dst = out + ((size_t)oy * S + ox) * C;
            if (C == 1) dst[0] = round_u8(k == 3 ? GN_LUMA_R * v[0] + GN_LUMA_G * v[1] + GN_LUMA_B * v[2] : v[0]);
            else
                for (int ch = 0; ch < 3; ch++) dst[ch] = round_u8(v[k == 3 ? ch : 0]);
        }
    }
    free(rows);
    taps_free(&t);
    return 0;
}
