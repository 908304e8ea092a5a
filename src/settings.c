/* The one table of training settings and the code that reads and writes
 * them as text: the command line, model files, checkpoints and config.json
 * all go through gn_setting_parse and gn_setting_format. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/settings.h"

/* An ENUM field is stored through an int; the enums must have its size. */
_Static_assert(sizeof(gn_gen_loss) == sizeof(int), "gn_gen_loss is int-sized");
_Static_assert(sizeof(gn_noise_kind) == sizeof(int), "gn_noise_kind is int-sized");
_Static_assert(sizeof(gn_pixel_range) == sizeof(int), "gn_pixel_range is int-sized");
_Static_assert(sizeof(gn_loss_kind) == sizeof(int), "gn_loss_kind is int-sized");
_Static_assert(sizeof(gn_precision) == sizeof(int), "gn_precision is int-sized");

/* Choice names, in the order of their enum values. */
static const char *const gloss_names[] = {"minimax", "nonsaturating", "ml", NULL};
static const char *const noise_names[] = {"uniform", "normal", NULL};
static const char *const range_names[] = {"[0,1]", "[-1,1]", NULL};
static const char *const range_old[] = {"01", "pm1", NULL}; /* checkpoints before model files */
static const char *const loss_names[] = {"crossentropy", "hinge", NULL};
static const char *const precision_names[] = {"fp32", "bf16", NULL}; /* GN_PRECISION_BF16_ALL: bench only */

#define FIELD(f) offsetof(gn_gan_config, f), sizeof(((gn_gan_config *)0)->f)
#define OPT GN_SET_OPTION
#define MODEL GN_SET_MODEL
#define BIG 1e9   /* iteration counts */
#define EXACT_MAX 9e15 /* u64 ranges are compared as doubles: exact up to here */

/* Defaults are seed-mnist's; a preset replaces some of them. */
const gn_setting gn_settings[] = {
    {"preset", "preset", GN_SET_TEXT, FIELD(preset), 0, 0, NULL, 0, "seed-mnist", OPT,
     "model and its defaults: a model file shipped in data/models (gannet info --help lists them); "
     "in a checkpoint, the model's name", NULL, NULL},
    {"iters", "iters", GN_SET_INT, FIELD(iters), 1, BIG, NULL, 250, NULL, OPT | MODEL | GN_SET_RESUMABLE,
     "training iterations (with --resume: a new total)", NULL, NULL},
    {"batch", "batch", GN_SET_INT, FIELD(batch), 1, 65536, NULL, 128, NULL, OPT | MODEL,
     "images per batch (D sees 2x)", NULL, NULL},
    {"plot-every", "plot_every", GN_SET_INT, FIELD(plot_every), 1, BIG, NULL, 25, NULL, OPT | MODEL,
     "iterations between grids, plots and checkpoints", NULL, NULL},
    {"g-lr", "g_lr", GN_SET_FLOAT, FIELD(g_lr), 1e-12, 10, NULL, 1e-3, NULL, OPT | MODEL,
     "Adam learning rate of G (and the stacked G+D)", NULL, NULL},
    {"d-lr", "d_lr", GN_SET_FLOAT, FIELD(d_lr), 1e-12, 10, NULL, 1e-4, NULL, OPT | MODEL,
     "Adam learning rate of D", NULL, NULL},
    {"beta1", "beta1", GN_SET_FLOAT, FIELD(beta1), 0, 0.9999, NULL, 0.9, NULL, OPT | MODEL,
     "Adam beta1 of both", NULL, NULL},
    {"beta2", "beta2", GN_SET_FLOAT, FIELD(beta2), 0, 0.9999999, NULL, 0.999, NULL, MODEL,
     "Adam beta2 of both", NULL, NULL},
    {"eps", "eps", GN_SET_FLOAT, FIELD(eps), 1e-30, 1, NULL, 1e-7, NULL, MODEL,
     "Adam epsilon of both", NULL, NULL},
    {"g-loss", "g_loss", GN_SET_ENUM, FIELD(g_loss), 0, 0, gloss_names, GN_GLOSS_NONSATURATING, NULL,
     OPT | MODEL, "generator loss", NULL, NULL},
    {"d-steps", "d_steps", GN_SET_INT, FIELD(d_steps), 1, 100, NULL, 1, NULL, OPT | MODEL,
     "D steps per iteration", NULL, NULL},
    {"d-pretrain", "d_pretrain", GN_SET_INT, FIELD(d_pretrain), 0, 1e6, NULL, 0, NULL, OPT | MODEL,
     "D steps before G joins", NULL, NULL},
    {"label-smoothing", "label_smoothing", GN_SET_FLOAT, FIELD(label_smoothing), 0, 0.5, NULL, 0,
     NULL, OPT | MODEL, "one-sided: real labels become 1 - s", NULL, NULL},
    {"noise", "noise", GN_SET_ENUM, FIELD(noise), 0, 0, noise_names, GN_NOISE_UNIFORM, NULL, OPT | MODEL,
     "noise distribution: z ~ U[0, 1) or N(0, 1)", NULL, NULL},
    {"zdim", "zdim", GN_SET_INT, FIELD(zdim), 1, 65536, NULL, 100, NULL, 0,
     "noise vector length (the model's input)", NULL, NULL},
    {"pixel-range", "range", GN_SET_ENUM, FIELD(range), 0, 0, range_names, GN_RANGE_01, NULL, MODEL,
     "how real images are scaled: [0,1] for a sigmoid G, [-1,1] for a tanh G", "pixel_range", range_old},
    {"seed", "seed", GN_SET_U64, FIELD(seed), 0, EXACT_MAX, NULL, 1, NULL, OPT,
     "random seed (weights, batches, noise, dropout)", NULL, NULL},
    {"threads", "threads", GN_SET_INT, FIELD(threads), 0, 4096, NULL, 0, NULL, OPT,
     "OpenMP threads (0: OMP_NUM_THREADS or all cores)", NULL, NULL},
    {"eval-every", "eval_every", GN_SET_INT, FIELD(eval_every), 0, BIG, NULL, 0, NULL, OPT,
     "score 1000 samples every K iterations (gannet eval's IS and FD, with the classifier of the data: the "
     "bundled digits or fashion-mnist; other data is refused; 0: never)", NULL, NULL},
    {"data", "data", GN_SET_TEXT, FIELD(data), 0, 0, NULL, 0, "", OPT | GN_SET_RESUMABLE | GN_SET_OPTIONAL,
     "a folder of PNG, JPEG, BMP, TGA and GIF images (searched recursively), an IDX image file, plain or .gz, "
     "or fashion-mnist (Debian's dataset-fashion-mnist) (default: the bundled MNIST; with --resume: the run's "
     "data, moved)",
     NULL, NULL},
    {"data-size", "data_size", GN_SET_U64, FIELD(data_size), 0, EXACT_MAX, NULL, 0, NULL, GN_SET_OPTIONAL,
     "the size in bytes of the data's IDX bytes as decoded (after gzip decompression); of a folder: its image cache", NULL, NULL},
    {"data-crc32", "data_crc32", GN_SET_U64, FIELD(data_crc32), 0, 4294967295.0, NULL, 0, NULL,
     GN_SET_OPTIONAL, "the CRC-32 of the data's IDX bytes as decoded (after gzip decompression); of a folder: of its relative "
     "paths, image cache, image size and channels", NULL, NULL},
    {"loss", "loss", GN_SET_ENUM, FIELD(loss), 0, 0, loss_names, GN_LOSS_CROSS_ENTROPY, NULL,
     OPT | GN_SET_MODEL | GN_SET_OPTIONAL, "loss of D and G: crossentropy (G's by --g-loss) or hinge (on the "
     "logit difference real - fake)", NULL, NULL},
    {"ema", "ema", GN_SET_FLOAT, FIELD(ema), 0, 1e12, NULL, 0, NULL, OPT | GN_SET_MODEL | GN_SET_OPTIONAL,
     "half-life in images of an average of G's weights that draws the samples (0: none)", NULL, NULL},
    {"augment", "augment", GN_SET_TEXT, FIELD(augment), 0, 0, NULL, 0, "", OPT | MODEL | GN_SET_OPTIONAL,
     "differentiable augmentation of every image D sees: a comma-separated list of color, "
     "translation, cutout, or none", NULL, NULL},
    {"image-size", "image_size", GN_SET_INT, FIELD(image_size), 0, GN_IMAGE_SIZE_MAX, NULL, 0, NULL,
     OPT | GN_SET_RESUMABLE | GN_SET_OPTIONAL, "side S of the training images: each is centre-cropped to a "
     "square and resized to SxS (area average when shrinking; 0: 64 for a folder, an IDX file's own)", NULL, NULL},
    {"channels", "channels", GN_SET_INT, FIELD(channels), 0, 3, NULL, 0, NULL,
     OPT | GN_SET_RESUMABLE | GN_SET_OPTIONAL, "1 (gray, BT.601 luma) or 3 (RGB) channels of the training "
     "images (0: 3 for a folder, an IDX file's own)", NULL, NULL},
    {"ranks", "ranks", GN_SET_INT, FIELD(ranks), 1, 1 << 24, NULL, 1, NULL, GN_SET_OPTIONAL,
     "processes (mpirun -np) the run last trained on, each on batch / ranks images; recorded only: "
     "a run resumes on any number that divides the batch", NULL, NULL},
    {"sync-bn", "sync_bn", GN_SET_INT, FIELD(sync_bn), 0, 1, NULL, 0, NULL,
     GN_SET_OPTIONAL | GN_SET_RESUMABLE, "1: batch norm over the whole batch of every rank under mpirun "
     "(gannet train --sync-bn); 0: over each rank's share", NULL, NULL},
    {"precision", "precision", GN_SET_ENUM, FIELD(precision), 0, 0, precision_names, GN_PRECISION_FP32, NULL,
     OPT | GN_SET_RESUMABLE | GN_SET_OPTIONAL,
     "number format of the convolutions and dense layers: fp32, or bf16 (mixed precision: fp32 master "
     "weights, Adam, statistics and losses; needs AVX512_BF16 or AMX)", NULL, NULL},
    {"reduce-slices", "reduce_slices", GN_SET_INT, FIELD(reduce_slices), 1, 1 << 16, NULL, 1, NULL,
     OPT | GN_SET_RESUMABLE | GN_SET_OPTIONAL, "N > 1: one process adds as N ranks with --sync-bn do "
     "(mpirun -np N): gradients, batch-norm sums and losses per slice of batch / N, then added in rank "
     "order, to check an N-rank run against one process (docs/scaling.md); 1: the whole batch at once",
     NULL, NULL},
    {"classes", "classes", GN_SET_INT, FIELD(classes), 0, 256, NULL, 0, NULL, MODEL | GN_SET_OPTIONAL,
     "K > 0: a class-conditional model of K classes, trained on labelled data: G's last K inputs are "
     "the one-hot class, D ends in K logits, one per class (docs/quality.md); 0: unconditional", NULL, NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, NULL, NULL, NULL},
};

_Static_assert(sizeof gn_settings / sizeof gn_settings[0] - 1 <= GN_SETTINGS_MAX, "too many settings");

int gn_settings_count(void) { return (int)(sizeof gn_settings / sizeof gn_settings[0]) - 1; }

const gn_setting *gn_setting_by_name(const char *name) {
    for (const gn_setting *s = gn_settings; s->name; s++)
        if (!strcmp(s->name, name)) return s;
    return NULL;
}

const gn_setting *gn_setting_by_key(const char *key) {
    for (const gn_setting *s = gn_settings; s->name; s++)
        if (!strcmp(s->key, key)) return s;
    return NULL;
}

static void *field(const gn_setting *s, gn_gan_config *c) { return (char *)c + s->offset; }
static const void *cfield(const gn_setting *s, const gn_gan_config *c) {
    return (const char *)c + s->offset;
}

void gn_settings_defaults(gn_gan_config *c) {
    memset(c, 0, sizeof *c);
    for (const gn_setting *s = gn_settings; s->name; s++) {
        void *f = field(s, c);
        switch (s->type) {
        case GN_SET_INT:
        case GN_SET_ENUM: *(int *)f = (int)s->def; break;
        case GN_SET_U64: *(uint64_t *)f = (uint64_t)s->def; break;
        case GN_SET_FLOAT: *(float *)f = (float)s->def; break;
        case GN_SET_TEXT: snprintf(f, s->size, "%s", s->def_text); break;
        }
    }
}

/* Lists the choices after "is not one of". */
static void not_one_of(const gn_setting *s, const char *v, char *err, size_t errlen) {
    size_t n = (size_t)snprintf(err, errlen, "'%s' is not one of", v);
    for (int i = 0; s->choices[i] && n < errlen; i++)
        n += (size_t)snprintf(err + n, errlen - n, "%s %s", i ? "," : "", s->choices[i]);
}

/* Decimal numbers only: strtod and strtoll would also take blanks before
 * the number, hex, "inf" and "nan". */
static int decimal(const char *v, int is_float) {
    return v[strspn(v, is_float ? "+-0123456789.eE" : "+-0123456789")] == 0;
}

static int parse_number(const gn_setting *s, const char *v, void *f, char *err, size_t errlen) {
    char *end;
    errno = 0;
    if (s->type == GN_SET_FLOAT) {
        double x = *v && decimal(v, 1) ? strtod(v, &end) : NAN;
        if (!isfinite(x) || *end || errno) {
            snprintf(err, errlen, "'%s' is not a number", v);
            return -1;
        }
        /* compared as floats: a stored value read back is always accepted */
        float y = (float)x;
        if (!(y >= (float)s->min && y <= (float)s->max)) {
            snprintf(err, errlen, "%s is out of range [%.10g, %.10g]", v, s->min, s->max);
            return -1;
        }
        *(float *)f = y;
        return 0;
    }
    if (!*v || !decimal(v, 0) || (s->type == GN_SET_U64 && *v == '-')) goto not_int;
    long long x = 0;
    unsigned long long u = 0;
    if (s->type == GN_SET_U64) u = strtoull(v, &end, 10);
    else x = strtoll(v, &end, 10);
    if (*end || errno) goto not_int;
    double d = s->type == GN_SET_U64 ? (double)u : (double)x;
    if (d < s->min || d > s->max) {
        snprintf(err, errlen, "%s is out of range [%.0f, %.0f]", v, s->min, s->max);
        return -1;
    }
    if (s->type == GN_SET_U64) *(uint64_t *)f = u;
    else *(int *)f = (int)x;
    return 0;
not_int:
    snprintf(err, errlen, "'%s' is not an integer", v);
    return -1;
}

int gn_setting_parse(const gn_setting *s, const char *v, gn_gan_config *c, char *err, size_t errlen) {
    void *f = field(s, c);
    switch (s->type) {
    case GN_SET_INT:
    case GN_SET_U64:
    case GN_SET_FLOAT: return parse_number(s, v, f, err, errlen);
    case GN_SET_ENUM:
        for (int i = 0; s->choices[i]; i++)
            if (!strcmp(s->choices[i], v)) {
                *(int *)f = i;
                return 0;
            }
        not_one_of(s, v, err, errlen);
        return -1;
    case GN_SET_TEXT:
        if (s->choices) {
            for (int i = 0; s->choices[i]; i++)
                if (!strcmp(s->choices[i], v)) {
                    snprintf(f, s->size, "%s", v);
                    return 0;
                }
            not_one_of(s, v, err, errlen);
            return -1;
        }
        if (strlen(v) >= s->size) {
            snprintf(err, errlen, "a value of %zu bytes is too long (at most %zu)", strlen(v), s->size - 1);
            return -1;
        }
        /* settings are lines of text: a line break or control byte would break them */
        for (const unsigned char *p = (const unsigned char *)v; *p; p++)
            if (*p < 0x20 || *p == 0x7f) {
                snprintf(err, errlen, "the value holds a control character (byte 0x%02x)", *p);
                return -1;
            }
        snprintf(f, s->size, "%s", v);
        return 0;
    }
    return -1;
}

void gn_setting_format(const gn_setting *s, const gn_gan_config *c, char *buf, size_t len) {
    const void *f = cfield(s, c);
    switch (s->type) {
    case GN_SET_INT: snprintf(buf, len, "%d", *(const int *)f); break;
    case GN_SET_U64: snprintf(buf, len, "%" PRIu64, *(const uint64_t *)f); break;
    case GN_SET_FLOAT: snprintf(buf, len, "%.9g", *(const float *)f); break;
    case GN_SET_ENUM: {
        int i = *(const int *)f, n = 0;
        while (s->choices[n]) n++;
        snprintf(buf, len, "%s", i >= 0 && i < n ? s->choices[i] : "?");
        break;
    }
    case GN_SET_TEXT: snprintf(buf, len, "%s", (const char *)f); break;
    }
}

void gn_setting_copy(const gn_setting *s, gn_gan_config *dst, const gn_gan_config *src) {
    memcpy(field(s, dst), cfield(s, src), s->size);
}

int gn_setting_equal(const gn_setting *s, const gn_gan_config *a, const gn_gan_config *b) {
    if (s->type == GN_SET_TEXT) return !strcmp(cfield(s, a), cfield(s, b));
    return !memcmp(cfield(s, a), cfield(s, b), s->size);
}

static int listed(const char *key, const char *const *list) {
    for (int i = 0; list && list[i]; i++)
        if (!strcmp(list[i], key)) return 1;
    return 0;
}

/* An ENUM's value as it is named now, when v is one of its former names. */
static const char *current_name(const gn_setting *s, const char *v) {
    for (int i = 0; s->old_choices && s->old_choices[i]; i++)
        if (!strcmp(s->old_choices[i], v)) return s->choices[i];
    return v;
}

gn_status gn_settings_parse(const char *src, const char *text, const char *const *ignored,
                            gn_gan_config *c) {
    gn_settings_defaults(c);
    uint64_t seen = 0;
    char line[GN_DATA_PATH_MAX + 64], err[GN_DATA_PATH_MAX + 128];
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n >= sizeof line) return gn_fail(GN_ERR_FORMAT, "%s: settings line too long", src);
        memcpy(line, p, n);
        line[n] = 0;
        p += n + (eol ? 1 : 0);
        if (!n) continue;
        char *eq = strchr(line, '=');
        if (!eq) return gn_fail(GN_ERR_FORMAT, "%s: settings line '%s' has no '='", src, line);
        *eq = 0;
        if (listed(line, ignored)) continue;
        const gn_setting *s = gn_setting_by_key(line);
        if (!s) return gn_fail(GN_ERR_FORMAT, "%s: unknown setting '%s'", src, line);
        uint64_t bit = (uint64_t)1 << (s - gn_settings);
        if (seen & bit) return gn_fail(GN_ERR_FORMAT, "%s: setting %s given twice", src, line);
        seen |= bit;
        if (gn_setting_parse(s, current_name(s, eq + 1), c, err, sizeof err))
            return gn_fail(GN_ERR_FORMAT, "%s: setting %s: %s", src, line, err);
    }
    for (const gn_setting *s = gn_settings; s->name; s++)
        if (!(s->flags & GN_SET_OPTIONAL) && !(seen & ((uint64_t)1 << (s - gn_settings))))
            return gn_fail(GN_ERR_FORMAT, "%s: setting %s is missing", src, s->key);
    return GN_OK;
}

/* Appends with snprintf's contract: *n counts what the whole text needs. */
__attribute__((format(printf, 4, 5)))
static void append(char *buf, size_t len, size_t *n, const char *fmt, ...) {
    size_t at = *n < len ? *n : len;
    va_list ap;
    va_start(ap, fmt);
    *n += (size_t)vsnprintf(buf + at, len - at, fmt, ap);
    va_end(ap);
}

size_t gn_config_write(const gn_gan_config *c, char *buf, size_t len) {
    size_t n = 0;
    char v[GN_DATA_PATH_MAX];
    if (len) buf[0] = 0;
    for (const gn_setting *s = gn_settings; s->name; s++) {
        gn_setting_format(s, c, v, sizeof v);
        append(buf, len, &n, "%s=%s\n", s->key, v);
    }
    return n;
}

/* One value as JSON: a number, or a string with quotes and backslashes
 * escaped (settings hold no control bytes). */
static void json_value(const gn_setting *s, const gn_gan_config *c, char *out, size_t len) {
    char v[GN_DATA_PATH_MAX];
    gn_setting_format(s, c, v, sizeof v);
    if (s->type != GN_SET_ENUM && s->type != GN_SET_TEXT) {
        snprintf(out, len, "%s", v);
        return;
    }
    size_t o = 0;
    out[o++] = '"';
    for (const char *p = v; *p && o + 3 < len; p++) {
        if (*p == '"' || *p == '\\') out[o++] = '\\';
        out[o++] = *p;
    }
    out[o++] = '"';
    out[o] = 0;
}

size_t gn_config_json(const gn_gan_config *c, char *buf, size_t len) {
    size_t n = 0;
    char v[2 * GN_DATA_PATH_MAX + 4];
    if (len) buf[0] = 0;
    append(buf, len, &n, "{\n");
    for (const gn_setting *s = gn_settings; s->name; s++) {
        json_value(s, c, v, sizeof v);
        append(buf, len, &n, "  \"%s\": %s%s\n", s->json_key ? s->json_key : s->key, v,
               s[1].name ? "," : "");
    }
    append(buf, len, &n, "}\n");
    return n;
}
