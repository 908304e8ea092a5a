/* Line plots drawn by hand into an RGB buffer and written as PNG: white
 * background, framed axes with 1-2-5 ticks and a light grid, anti-aliased
 * 2-pixel curves, axis labels, a title and a legend placed where it hides the
 * least data.
 *
 * Text uses a TrueType font when one is found (GANNET_FONT, else DejaVu Sans or
 * Liberation Sans in the usual system folders; GANNET_FONT=builtin skips the
 * search) and otherwise the stb_easy_font bitmap font, rasterised with exact
 * area coverage so it scales smoothly. Everything is drawn as coverage masks
 * (0..1 per pixel) that are blended onto the picture in one colour. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_truetype.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

#include "gannet/files.h"
#include "gannet/io.h"

#define PLOT_MIN_W 160
#define PLOT_MIN_H 120
#define PLOT_MAX_SIDE 8192
#define TEXT_MAX 256 /* longest label we draw, in characters */

#define COLOR_BG 0xffffffu
#define COLOR_INK 0x222222u   /* text, frame and tick marks */
#define COLOR_GRID 0xe0e0e0u
#define COLOR_LEGEND_EDGE 0xccccccu

/* ------------------------------------------------------------------------- */
/* canvas                                                                     */

typedef struct canvas {
    int w, h;
    unsigned char *rgb; /* w * h * 3 bytes */
} canvas;

// blends colour rgb over pixel (x, y) with opacity a in [0, 1]; ignores pixels off the canvas
static void blend(canvas *cv, int x, int y, unsigned rgb, float a) {
    if (x < 0 || y < 0 || x >= cv->w || y >= cv->h || !(a > 0)) return;
    if (a > 1) a = 1;
    unsigned char *p = cv->rgb + ((size_t)y * cv->w + x) * 3;
    float c[3] = {(float)((rgb >> 16) & 255), (float)((rgb >> 8) & 255), (float)(rgb & 255)};
    for (int k = 0; k < 3; k++) p[k] = (unsigned char)(p[k] + (c[k] - p[k]) * a + 0.5f);
}

// fills the pixel rectangle [x0, x1) x [y0, y1) with an opaque colour
static void fill_rect(canvas *cv, int x0, int y0, int x1, int y1, unsigned rgb) {
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) blend(cv, x, y, rgb, 1);
}

// blends a w x h coverage mask at (x, y); rotated masks are turned 90 degrees counter-clockwise
static void draw_mask(canvas *cv, const float *m, int w, int h, int x, int y, unsigned rgb,
                      int rotated) {
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            float a = m[(size_t)j * w + i];
            if (a <= 0) continue;
            if (rotated) blend(cv, x + j, y + (w - 1 - i), rgb, a);
            else blend(cv, x + i, y + j, rgb, a);
        }
}

/* ------------------------------------------------------------------------- */
/* fonts                                                                      */

typedef struct font {
    unsigned char *data; /* TrueType file contents; NULL selects the built-in font */
    stbtt_fontinfo info;
} font;

/* A string rasterised into a coverage mask. */
typedef struct text_img {
    int w, h;   /* mask size */
    int ox, by; /* column of the pen origin and row of the baseline inside the mask */
    float adv;  /* advance width of the whole string */
    float *a;   /* w * h coverage values */
} text_img;

/* Vertical measures of a font at a size, in pixels. */
typedef struct font_metrics {
    float ascent, descent, cap; /* above baseline, below baseline, height of capitals */
} font_metrics;

// reads a whole regular file into memory; returns NULL on any failure (a FIFO
// or device is refused at once rather than waited on)
static unsigned char *read_all(const char *path) {
    FILE *f;
    if (gn_open_regular(path, "font", &f)) return NULL;
    unsigned char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n > 0 && n < (64l << 20) && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

// picks the TrueType font to use, or leaves f->data NULL for the built-in one
static void font_open(font *f) {
    static const char *system_fonts[] = {
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/local/share/fonts/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation/LiberationSans-Regular.ttf",
    };
    f->data = NULL;
    const char *env = getenv("GANNET_FONT");
    if (env && strcmp(env, "builtin") == 0) return;
    int n = (int)(sizeof system_fonts / sizeof system_fonts[0]);
    for (int i = -1; i < n && !f->data; i++) {
        const char *path = i < 0 ? env : system_fonts[i];
        if (!path || !*path) continue;
        f->data = read_all(path);
        if (f->data && (stbtt_GetFontOffsetForIndex(f->data, 0) < 0 ||
                        !stbtt_InitFont(&f->info, f->data, stbtt_GetFontOffsetForIndex(f->data, 0)))) {
            free(f->data);
            f->data = NULL;
        }
    }
}

// releases the font data
static void font_close(font *f) {
    free(f->data);
    f->data = NULL;
}

/* The built-in font: stb_easy_font draws capitals 7 units tall on a baseline 7
 * units below the pen, with descenders 2 units deep. It is scaled so that one
 * em (px) is 10 units, about the proportions of a normal sans-serif. */
#define EASY_UNITS_PER_EM 10.0f

// returns the vertical measures of the font at px pixels per em
static font_metrics font_measure(const font *f, float px) {
    font_metrics m;
    if (!f->data) {
        float s = px / EASY_UNITS_PER_EM;
        m.ascent = 8 * s;
        m.descent = 2.5f * s;
        m.cap = 7 * s;
        return m;
    }
    float scale = stbtt_ScaleForMappingEmToPixels(&f->info, px);
    int asc, desc, gap, x0, y0, x1, y1;
    stbtt_GetFontVMetrics(&f->info, &asc, &desc, &gap);
    m.ascent = asc * scale;
    m.descent = -desc * scale;
    m.cap = stbtt_GetCodepointBox(&f->info, 'H', &x0, &y0, &x1, &y1) ? y1 * scale : 0.72f * px;
    return m;
}

// copies text into buf (cap bytes), replacing anything but printable ASCII by '?'
static void sanitize(const char *text, char *buf, size_t cap) {
    size_t i = 0;
    for (; text && text[i] && i + 1 < cap; i++) {
        unsigned char ch = (unsigned char)text[i];
        buf[i] = (ch >= 32 && ch < 127) ? (char)ch : '?';
    }
    buf[i] = 0;
}

// adds the coverage of the axis-aligned box [x0, x1) x [y0, y1) to a mask, clamping at 1
static void mask_box(float *m, int w, int h, float x0, float y0, float x1, float y1) {
    for (int j = (int)floorf(y0); j < (int)ceilf(y1); j++) {
        if (j < 0 || j >= h) continue;
        float cy = fminf(y1, (float)j + 1) - fmaxf(y0, (float)j);
        for (int i = (int)floorf(x0); i < (int)ceilf(x1); i++) {
            if (i < 0 || i >= w) continue;
            float cx = fminf(x1, (float)i + 1) - fmaxf(x0, (float)i);
            float *p = m + (size_t)j * w + i;
            *p = fminf(1, *p + cx * cy);
        }
    }
}

// measures text at px pixels per em and, when out is not NULL, rasterises it; returns the advance
static float text_layout(const font *f, const char *text, float px, text_img *out) {
    char s[TEXT_MAX + 1];
    sanitize(text, s, sizeof s);
    size_t len = strlen(s);
    font_metrics fm = font_measure(f, px);
    float adv = 0;
    float scale = f->data ? stbtt_ScaleForMappingEmToPixels(&f->info, px) : px / EASY_UNITS_PER_EM;
    if (f->data) {
        for (size_t i = 0; i < len; i++) {
            int a, lsb;
            stbtt_GetCodepointHMetrics(&f->info, s[i], &a, &lsb);
            adv += a * scale;
            if (i + 1 < len) adv += scale * stbtt_GetCodepointKernAdvance(&f->info, s[i], s[i + 1]);
        }
    } else {
        stb_easy_font_spacing(-0.5f);
        adv = len ? stb_easy_font_width(s) * scale : 0;
    }
    if (!out) return adv;

    memset(out, 0, sizeof *out);
    int pad = (int)ceilf(px * 0.5f) + 1;
    out->ox = pad;
    out->by = (int)ceilf(fm.ascent) + 1;
    out->w = pad * 2 + (int)ceilf(adv);
    out->h = out->by + (int)ceilf(fm.descent) + 2;
    out->adv = adv;
    out->a = calloc((size_t)out->w * out->h, sizeof(float));
    if (!out->a || !len) return adv;

    if (f->data) {
        float pen = 0;
        for (size_t i = 0; i < len; i++) {
            int ch = s[i], a, lsb, x0, y0, x1, y1;
            float shift = pen - floorf(pen);
            stbtt_GetCodepointBitmapBoxSubpixel(&f->info, ch, scale, scale, shift, 0, &x0, &y0, &x1,
                                                &y1);
            int gw = x1 - x0, gh = y1 - y0;
            if (gw > 0 && gh > 0) {
                unsigned char *g = malloc((size_t)gw * gh);
                if (g) {
                    stbtt_MakeCodepointBitmapSubpixel(&f->info, g, gw, gh, gw, scale, scale, shift, 0,
                                                      ch);
                    int gx = out->ox + (int)floorf(pen) + x0, gy = out->by + y0;
                    for (int y = 0; y < gh; y++)
                        for (int x = 0; x < gw; x++) {
                            int mx = gx + x, my = gy + y;
                            if (mx < 0 || my < 0 || mx >= out->w || my >= out->h) continue;
                            float *p = out->a + (size_t)my * out->w + mx;
                            *p = fminf(1, *p + g[(size_t)y * gw + x] / 255.0f);
                        }
                    free(g);
                }
            }
            stbtt_GetCodepointHMetrics(&f->info, ch, &a, &lsb);
            pen += a * scale;
            if (i + 1 < len) pen += scale * stbtt_GetCodepointKernAdvance(&f->info, ch, s[i + 1]);
        }
    } else {
        size_t cap = (len + 1) * 64 * 32;
        char *quads = malloc(cap);
        if (quads) {
            int nq = stb_easy_font_print(0, 0, s, NULL, quads, (int)cap);
            // the pen starts at the cell top; shift so that the baseline (7 units) lands on by
            float ox = (float)out->ox, oy = (float)out->by - 7 * scale;
            for (int q = 0; q < nq; q++) {
                const float *v = (const float *)(quads + (size_t)q * 64);
                float x0 = fminf(v[0], v[8]), x1 = fmaxf(v[0], v[8]);
                float y0 = fminf(v[1], v[9]), y1 = fmaxf(v[1], v[9]);
                mask_box(out->a, out->w, out->h, ox + x0 * scale, oy + y0 * scale, ox + x1 * scale,
                         oy + y1 * scale);
            }
            free(quads);
        }
    }
    return adv;
}

/* Horizontal anchor: the x given is the text's left end, centre or right end. */
enum { ALIGN_LEFT, ALIGN_CENTER, ALIGN_RIGHT };

// draws text with its baseline at y and its anchor at x; rotated text reads bottom to top, its baseline at x
static void draw_text(canvas *cv, const font *f, const char *text, float px, float x, float y,
                      int align, unsigned rgb, int rotated) {
    if (!text || !*text) return;
    text_img t;
    text_layout(f, text, px, &t);
    if (!t.a) return;
    float shift = align == ALIGN_CENTER ? t.adv * 0.5f : align == ALIGN_RIGHT ? t.adv : 0;
    if (!rotated) {
        int left = (int)lroundf(x - shift) - t.ox, top = (int)lroundf(y) - t.by;
        draw_mask(cv, t.a, t.w, t.h, left, top, rgb, 0);
    } else {
        // after turning, mask column i lands on row top + w - 1 - i and mask row j on column left + j
        int left = (int)lroundf(x) - t.by;
        int top = (int)lroundf(y + shift) - (t.w - 1 - t.ox);
        draw_mask(cv, t.a, t.w, t.h, left, top, rgb, 1);
    }
    free(t.a);
}

/* ------------------------------------------------------------------------- */
/* axes                                                                       */

/* A linear axis: the value range shown and its ticks. */
typedef struct axis {
    double lo, hi;  /* values at the two ends of the axis */
    double step;    /* tick spacing */
    int nticks;
    double ticks[64];
    char labels[64][32];
} axis;

// smallest step from the 1-2-5 sequence that splits range into at most maxbins parts
static double nice_step(double range, int maxbins) {
    double raw = range / maxbins;
    double mag = pow(10, floor(log10(raw)));
    static const double mult[] = {1, 2, 5, 10};
    for (int i = 0; i < 4; i++)
        if (mult[i] * mag >= raw * (1 - 1e-9)) return mult[i] * mag;
    return 10 * mag;
}

// the step after `step` in the 1-2-5 sequence
static double next_step(double step) {
    double mag = pow(10, floor(log10(step) + 1e-9));
    double m = step / mag;
    return m < 1.5 ? 2 * mag : m < 3.5 ? 5 * mag : 10 * mag;
}

// the step before `step` in the 1-2-5 sequence
static double prev_step(double step) {
    double mag = pow(10, floor(log10(step) + 1e-9));
    double m = step / mag;
    return m < 1.5 ? 0.5 * mag : m < 3.5 ? mag : 2 * mag;
}

// rewrites "1.5e+06" as "1.5e6" and "2e-05" as "2e-5"
static void compact_exponent(char *s) {
    char *e = strchr(s, 'e');
    if (!e) return;
    int ex = atoi(e + 1);
    snprintf(e, 8, "e%d", ex);
}

// fills the ticks of an axis for the current range and step, with their labels
static void axis_ticks(axis *a) {
    double k0 = ceil(a->lo / a->step - 1e-9), k1 = floor(a->hi / a->step + 1e-9);
    a->nticks = 0;
    double maxabs = 0;
    for (double k = k0; k <= k1 && a->nticks < 64; k++) {
        double v = k * a->step;
        if (fabs(v) < a->step * 1e-9) v = 0;
        a->ticks[a->nticks++] = v;
        maxabs = fmax(maxabs, fabs(v));
    }
    int decimals = (int)ceil(-log10(a->step) - 1e-9);
    if (decimals < 0) decimals = 0;
    int scientific = maxabs >= 1e6 || decimals > 5;
    for (int i = 0; i < a->nticks; i++) {
        double v = a->ticks[i];
        char *out = a->labels[i];
        if (!scientific) {
            snprintf(out, 32, "%.*f", decimals, v);
        } else if (v == 0) {
            snprintf(out, 32, "0");
        } else {
            // the shortest mantissa that still tells this tick from its neighbours
            for (int d = 0; d <= 12; d++) {
                snprintf(out, 32, "%.*e", d, v);
                if (fabs(strtod(out, NULL) - v) <= a->step * 1e-6) break;
            }
            compact_exponent(out);
        }
    }
}

// sets an axis range around the data range [lo, hi] with 5% margins; widens empty or tiny ranges
static void axis_range(axis *a, double lo, double hi) {
    if (!(lo <= hi)) lo = 0, hi = 1;
    double mag = fmax(fabs(lo), fabs(hi));
    double minspan = mag > 0 ? mag * 1e-5 : 1;
    if (hi - lo < minspan) {
        double mid = 0.5 * (lo + hi);
        double half = hi - lo > 0 || mag == 0 ? 0.5 * minspan : fmax(0.1 * mag, 0.5 * minspan);
        lo = mid - half;
        hi = mid + half;
    }
    double margin = 0.05 * (hi - lo);
    a->lo = lo - margin;
    a->hi = hi + margin;
    if (!isfinite(a->lo) || !isfinite(a->hi)) {
        a->lo = lo;
        a->hi = hi;
    }
}

// picks ticks for an axis spanning len pixels: at least min_gap pixels apart and not crowding labels
static void axis_choose(axis *a, const font *f, float px, float len, float min_gap, int horizontal) {
    int maxbins = (int)(len / min_gap);
    if (maxbins < 2) maxbins = 2;
    if (maxbins > 10) maxbins = 10;
    a->step = nice_step(a->hi - a->lo, maxbins);
    axis_ticks(a);
    for (int tries = 0; horizontal && a->nticks >= 2 && tries < 8; tries++) {
        float widest = 0;
        for (int i = 0; i < a->nticks; i++)
            widest = fmaxf(widest, text_layout(f, a->labels[i], px, NULL));
        float gap = (float)(a->step / (a->hi - a->lo) * len);
        if (gap >= widest + px) break;
        a->step = next_step(a->step);
        axis_ticks(a);
    }
    // a scale needs two ticks to be read, even when they crowd a small plot
    while (a->nticks < 2) {
        a->step = prev_step(a->step);
        axis_ticks(a);
    }
}

/* ------------------------------------------------------------------------- */
/* curves                                                                     */

// adds a round-capped stroke of half-width r from (ax, ay) to (bx, by) to a mask, keeping the max
static void mask_segment(float *m, int w, int h, double ax, double ay, double bx, double by,
                         double r) {
    double ext = r + 1.5;
    int x0 = (int)floor(fmin(ax, bx) - ext), x1 = (int)ceil(fmax(ax, bx) + ext);
    int y0 = (int)floor(fmin(ay, by) - ext), y1 = (int)ceil(fmax(ay, by) + ext);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > w) x1 = w;
    if (y1 > h) y1 = h;
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    for (int y = y0; y < y1; y++) {
        double py = y + 0.5;
        for (int x = x0; x < x1; x++) {
            double pxc = x + 0.5;
            double t = len2 > 0 ? ((pxc - ax) * dx + (py - ay) * dy) / len2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double ex = ax + t * dx - pxc, ey = ay + t * dy - py;
            float cov = (float)(r + 0.5 - sqrt(ex * ex + ey * ey));
            if (cov <= 0) continue;
            float *p = m + (size_t)y * w + x;
            if (cov > *p) *p = cov > 1 ? 1 : cov;
        }
    }
}

/* ------------------------------------------------------------------------- */
/* legend                                                                     */

// signed distance from (x, y) to a rounded rectangle [x0, x1] x [y0, y1] with corner radius r
static float rounded_rect_distance(float x, float y, float x0, float y0, float x1, float y1,
                                   float r) {
    float cx = 0.5f * (x0 + x1), cy = 0.5f * (y0 + y1);
    float qx = fabsf(x - cx) - (0.5f * (x1 - x0) - r), qy = fabsf(y - cy) - (0.5f * (y1 - y0) - r);
    float ox = fmaxf(qx, 0), oy = fmaxf(qy, 0);
    return sqrtf(ox * ox + oy * oy) + fminf(fmaxf(qx, qy), 0) - r;
}

// draws the legend box: translucent white fill, a thin grey rounded edge
static void draw_legend_box(canvas *cv, float x0, float y0, float x1, float y1, float r) {
    for (int y = (int)floorf(y0) - 1; y <= (int)ceilf(y1); y++)
        for (int x = (int)floorf(x0) - 1; x <= (int)ceilf(x1); x++) {
            float d = rounded_rect_distance(x + 0.5f, y + 0.5f, x0, y0, x1, y1, r);
            float outer = fminf(fmaxf(0.5f - d, 0), 1);
            float inner = fminf(fmaxf(0.5f - (d + 1), 0), 1);
            if (outer <= 0) continue;
            blend(cv, x, y, COLOR_BG, 0.85f * inner);
            blend(cv, x, y, COLOR_LEGEND_EDGE, outer - inner);
        }
}

// draws the legend of the named series where the curves (ink, over the data area) leave most room
static void draw_legend(canvas *cv, const font *f, float em, const gn_series *series, int nseries,
                        const float *ink, int px0, int py0, int pw, int ph) {
    font_metrics fm = font_measure(f, em);
    int nnamed = 0;
    float namew = 0;
    for (int s = 0; s < nseries; s++)
        if (series[s].name && *series[s].name) {
            nnamed++;
            namew = fmaxf(namew, text_layout(f, series[s].name, em, NULL));
        }
    if (nnamed == 0) return;
    float bp = 0.5f * em, handle = 2.0f * em, hpad = 0.8f * em;
    float rowh = fm.ascent + fm.descent, rowgap = 0.4f * em;
    float bw = 2 * bp + handle + hpad + namew, bh = 2 * bp + nnamed * rowh + (nnamed - 1) * rowgap;
    float inset = 0.6f * em;
    // candidate spots as fractions of the free room: upper right first, like matplotlib's "best"
    static const float spots[9][2] = {{1, 0}, {0, 0}, {0, 1}, {1, 1}, {1, 0.5f},
                                      {0, 0.5f}, {0.5f, 1}, {0.5f, 0}, {0.5f, 0.5f}};
    float roomx = pw - bw - 2 * inset, roomy = ph - bh - 2 * inset;
    float bx = inset + fmaxf(roomx, 0), by = inset, best = INFINITY;
    for (int k = 0; k < 9; k++) {
        float cx = inset + spots[k][0] * fmaxf(roomx, 0), cy = inset + spots[k][1] * fmaxf(roomy, 0);
        float sum = 0;
        for (int j = (int)cy; j < (int)(cy + bh) && j < ph; j++)
            for (int i = (int)cx; i < (int)(cx + bw) && i < pw; i++) sum += ink[(size_t)j * pw + i];
        if (sum < best - 1e-3f) best = sum, bx = cx, by = cy;
    }
    float lx = px0 + roundf(bx), ly = py0 + roundf(by);
    draw_legend_box(cv, lx, ly, lx + bw, ly + bh, 0.3f * em);
    float rowy = ly + bp;
    int sw = (int)ceilf(handle) + 4, sh = 5;
    float *swatch = calloc((size_t)sw * sh, sizeof(float));
    for (int s = 0; s < nseries; s++) {
        if (!series[s].name || !*series[s].name) continue;
        float mid = rowy + 0.5f * rowh;
        if (swatch) {
            // the sample line: 2 pixels wide, centred on the row
            memset(swatch, 0, (size_t)sw * sh * sizeof(float));
            mask_segment(swatch, sw, sh, 2.0, 2.0, 2.0 + handle, 2.0, 1.0);
            draw_mask(cv, swatch, sw, sh, (int)lroundf(lx + bp) - 2, (int)floorf(mid) - 2,
                      series[s].rgb & 0xffffffu, 0);
        }
        draw_text(cv, f, series[s].name, em, lx + bp + handle + hpad,
                  roundf(mid + 0.5f * fm.cap), ALIGN_LEFT, COLOR_INK, 0);
        rowy += rowh + rowgap;
    }
    free(swatch);
}

/* ------------------------------------------------------------------------- */
/* the plot                                                                   */

// checks the arguments of gn_plot_lines
static gn_status plot_check(const char *path, int width, int height, size_t npoints,
                            const gn_series *series, int nseries) {
    if (!path || !*path) return gn_fail(GN_ERR_ARG, "plot: no output path given");
    if (width < PLOT_MIN_W || height < PLOT_MIN_H || width > PLOT_MAX_SIDE ||
        height > PLOT_MAX_SIDE)
        return gn_fail(GN_ERR_ARG, "%s: bad plot size %dx%d (from %dx%d to %dx%d)", path, width,
                       height, PLOT_MIN_W, PLOT_MIN_H, PLOT_MAX_SIDE, PLOT_MAX_SIDE);
    if (nseries < 0) return gn_fail(GN_ERR_ARG, "%s: bad series count %d", path, nseries);
    if (nseries > 0 && !series) return gn_fail(GN_ERR_ARG, "%s: no series given", path);
    for (int s = 0; s < nseries; s++)
        if (npoints > 0 && !series[s].y)
            return gn_fail(GN_ERR_ARG, "%s: series %d has no values", path, s);
    return GN_OK;
}

// x of point i: x[i], or i itself when no x values are given
static double x_at(const float *x, size_t i) { return x ? (double)x[i] : (double)i; }

// draws a line plot into an RGB buffer and writes it as PNG
gn_status gn_plot_lines(const char *path, int width, int height, const char *title,
                        const char *xlabel, const char *ylabel, const float *x, size_t npoints,
                        const gn_series *series, int nseries) {
    gn_status st = plot_check(path, width, height, npoints, series, nseries);
    if (st != GN_OK) return st;
    if (nseries == 0) npoints = 0;

    // data ranges over points whose x and y are both finite
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int s = 0; s < nseries; s++)
        for (size_t i = 0; i < npoints; i++) {
            double xv = x_at(x, i), yv = series[s].y[i];
            if (!isfinite(xv) || !isfinite(yv)) continue;
            xmin = fmin(xmin, xv), xmax = fmax(xmax, xv);
            ymin = fmin(ymin, yv), ymax = fmax(ymax, yv);
        }
    if (!(xmin <= xmax)) {
        // no finite point: still show the x values if there are any
        for (size_t i = 0; i < npoints; i++)
            if (isfinite(x_at(x, i))) xmin = fmin(xmin, x_at(x, i)), xmax = fmax(xmax, x_at(x, i));
    }
    axis ax, ay;
    axis_range(&ax, xmin, xmax);
    axis_range(&ay, ymin, ymax);

    canvas cv = {width, height, malloc((size_t)width * height * 3)};
    if (!cv.rgb) return gn_fail(GN_ERR_NOMEM, "%s: out of memory for a %dx%d plot", path, width, height);
    memset(cv.rgb, 255, (size_t)width * height * 3);
    font fnt;
    font_open(&fnt);

    // sizes follow the picture, like a figure at 100 dpi with 10-point text
    float em = fminf(fmaxf(fminf((float)width, (float)height) / 36.0f, 9.0f), 22.0f);
    float title_px = em * 1.2f;
    font_metrics fm = font_measure(&fnt, em), tm = font_measure(&fnt, title_px);
    int tick_len = (int)lroundf(0.35f * em), tick_pad = (int)lroundf(0.3f * em);
    int pad = (int)lroundf(0.6f * em);
    int has_title = title && *title, has_xlabel = xlabel && *xlabel, has_ylabel = ylabel && *ylabel;

    // margins: top and bottom first, then the y ticks, then left and right
    int top = pad + (has_title ? (int)ceilf(tm.ascent + tm.descent + 0.4f * em) : (int)ceilf(0.4f * em));
    int bottom = tick_len + tick_pad + (int)ceilf(fm.cap + fm.descent) + pad +
                 (has_xlabel ? (int)ceilf(0.4f * em + fm.ascent + fm.descent) : 0);
    int ph = height - top - bottom;
    axis_choose(&ay, &fnt, em, (float)ph, 2.8f * em, 0);
    float ywidest = 0;
    for (int i = 0; i < ay.nticks; i++)
        ywidest = fmaxf(ywidest, text_layout(&fnt, ay.labels[i], em, NULL));
    int left = pad + (has_ylabel ? (int)ceilf(fm.ascent + fm.descent + 0.4f * em) : 0) +
               (int)ceilf(ywidest) + tick_pad + tick_len;
    int right = (int)ceilf(1.5f * em);
    int pw = width - left - right;
    for (int pass = 0; pass < 2; pass++) {
        axis_choose(&ax, &fnt, em, (float)pw, 3.5f * em, 1);
        // keep the last x label inside the picture
        if (ax.nticks == 0) break;
        double t = ax.ticks[ax.nticks - 1];
        float over = (float)((t - ax.lo) / (ax.hi - ax.lo) * pw) +
                     0.5f * text_layout(&fnt, ax.labels[ax.nticks - 1], em, NULL) - (float)pw;
        int need = (int)ceilf(over) + pad / 2;
        if (need <= right) break;
        right = need;
        pw = width - left - right;
    }
    if (pw < 16 || ph < 16) {
        font_close(&fnt);
        free(cv.rgb);
        return gn_fail(GN_ERR_ARG, "%s: plot size %dx%d leaves no room for the axes", path, width,
                       height);
    }
    int px0 = left, py0 = top, px1 = left + pw, py1 = top + ph; /* data area [px0,px1) x [py0,py1) */

    // grid lines at the ticks
    int xcol[64], yrow[64];
    for (int i = 0; i < ax.nticks; i++) {
        xcol[i] = px0 + (int)floor((ax.ticks[i] - ax.lo) / (ax.hi - ax.lo) * pw);
        if (xcol[i] >= px1) xcol[i] = px1 - 1;
        fill_rect(&cv, xcol[i], py0, xcol[i] + 1, py1, COLOR_GRID);
    }
    for (int i = 0; i < ay.nticks; i++) {
        yrow[i] = py0 + (int)floor((ay.hi - ay.ticks[i]) / (ay.hi - ay.lo) * ph);
        if (yrow[i] >= py1) yrow[i] = py1 - 1;
        fill_rect(&cv, px0, yrow[i], px1, yrow[i] + 1, COLOR_GRID);
    }

    // curves, one coverage mask per series, clipped to the data area
    float *mask = malloc((size_t)pw * ph * sizeof(float));
    float *ink = calloc((size_t)pw * ph, sizeof(float));
    if (!mask || !ink) {
        free(mask);
        free(ink);
        font_close(&fnt);
        free(cv.rgb);
        return gn_fail(GN_ERR_NOMEM, "%s: out of memory for a %dx%d plot", path, width, height);
    }
    double sx = pw / (ax.hi - ax.lo), sy = ph / (ay.hi - ay.lo);
    for (int s = 0; s < nseries; s++) {
        memset(mask, 0, (size_t)pw * ph * sizeof(float));
        const float *y = series[s].y;
        int have_prev = 0;
        double qx = 0, qy = 0;
        for (size_t i = 0; i < npoints; i++) {
            double xv = x_at(x, i), yv = y[i];
            if (!isfinite(xv) || !isfinite(yv)) {
                have_prev = 0;
                continue;
            }
            double cx = (xv - ax.lo) * sx, cy = (ay.hi - yv) * sy;
            if (have_prev) {
                mask_segment(mask, pw, ph, qx, qy, cx, cy, 1.0);
            } else {
                // a point with no finite neighbour on either side gets a dot of its own
                int next_ok = i + 1 < npoints && isfinite(x_at(x, i + 1)) && isfinite(y[i + 1]);
                if (!next_ok) mask_segment(mask, pw, ph, cx, cy, cx, cy, 2.5);
            }
            qx = cx, qy = cy, have_prev = 1;
        }
        for (size_t k = 0; k < (size_t)pw * ph; k++) ink[k] += mask[k];
        draw_mask(&cv, mask, pw, ph, px0, py0, series[s].rgb & 0xffffffu, 0);
    }
    free(mask);

    // frame, tick marks and tick labels
    fill_rect(&cv, px0 - 1, py0 - 1, px1 + 1, py0, COLOR_INK);
    fill_rect(&cv, px0 - 1, py1, px1 + 1, py1 + 1, COLOR_INK);
    fill_rect(&cv, px0 - 1, py0 - 1, px0, py1 + 1, COLOR_INK);
    fill_rect(&cv, px1, py0 - 1, px1 + 1, py1 + 1, COLOR_INK);
    for (int i = 0; i < ax.nticks; i++) {
        fill_rect(&cv, xcol[i], py1 + 1, xcol[i] + 1, py1 + 1 + tick_len, COLOR_INK);
        draw_text(&cv, &fnt, ax.labels[i], em, xcol[i] + 0.5f,
                  (float)(py1 + 1 + tick_len + tick_pad) + fm.cap, ALIGN_CENTER, COLOR_INK, 0);
    }
    for (int i = 0; i < ay.nticks; i++) {
        fill_rect(&cv, px0 - 1 - tick_len, yrow[i], px0 - 1, yrow[i] + 1, COLOR_INK);
        draw_text(&cv, &fnt, ay.labels[i], em, (float)(px0 - 1 - tick_len - tick_pad),
                  yrow[i] + 0.5f + 0.5f * fm.cap, ALIGN_RIGHT, COLOR_INK, 0);
    }

    // axis labels and title
    if (has_xlabel)
        draw_text(&cv, &fnt, xlabel, em, px0 + 0.5f * pw, (float)(height - pad) - fm.descent,
                  ALIGN_CENTER, COLOR_INK, 0);
    if (has_ylabel)
        draw_text(&cv, &fnt, ylabel, em, (float)pad + fm.ascent, py0 + 0.5f * ph, ALIGN_CENTER,
                  COLOR_INK, 1);
    if (has_title)
        draw_text(&cv, &fnt, title, title_px, px0 + 0.5f * pw, (float)pad + tm.ascent,
                  ALIGN_CENTER, COLOR_INK, 0);

    draw_legend(&cv, &fnt, em, series, nseries, ink, px0, py0, pw, ph);
    free(ink);
    font_close(&fnt);

    st = gn_png_write(path, cv.rgb, width, height, 3);
    free(cv.rgb);
    return st;
}
