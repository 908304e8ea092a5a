#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "gannet/atomic.h"
#include "gannet/checkpoint.h"
#include "gannet/model.h"
#include "gannet/files.h"
#include "gannet/rng.h"
#include "gannet/settings.h"

static const char MAGIC[8] = {'G', 'A', 'N', 'N', 'E', 'T', 'C', 'K'};
#define MAX_SECTIONS 32

gn_status gn_history_push(gn_history *h, const float row[GN_HIST_COLS]) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 256;
        float *r = realloc(h->rows, cap * GN_HIST_COLS * sizeof(float));
        if (!r) return gn_fail(GN_ERR_NOMEM, "out of memory for the loss history");
        h->rows = r;
        h->cap = cap;
    }
    memcpy(h->rows + h->n * GN_HIST_COLS, row, GN_HIST_COLS * sizeof(float));
    h->n++;
    return GN_OK;
}

void gn_history_free(gn_history *h) {
    free(h->rows);
    memset(h, 0, sizeof *h);
}

/* Written after the settings to identify the model; not settings themselves. */
static const char *const model_keys[] = {"g_params", "d_params", NULL};

/* Parses the settings text, validated as `gannet train` validates its
 * options. The model (the MODL section, or the preset's file for
 * checkpoints without one) is checked against them when it is built. */
static gn_status config_parse(const char *path, const char *text, gn_gan_config *c) {
    return gn_settings_parse(path, text, model_keys, c);
}

/* ---- writing ---- */

static void put_section(gn_atomic_file *w, const char tag[4], const void *p, size_t n) {
    uint64_t len = n;
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    /* zlib's crc32 takes uInt lengths: feed large payloads in pieces */
    const unsigned char *b = p;
    for (size_t off = 0; off < n;) {
        size_t take = n - off > (1u << 30) ? (1u << 30) : n - off;
        crc = (uint32_t)crc32(crc, b + off, (uInt)take);
        off += take;
    }
    gn_atomic_put(w, tag, 4);
    gn_atomic_put(w, &len, 8);
    gn_atomic_put(w, p, n);
    gn_atomic_put(w, &crc, 4);
}

gn_status gn_checkpoint_save(const char *path, const gn_gan *gan, const float *fixed_z, int nfixed,
                             const gn_history *hist) {
    struct stat st;
    int had_one = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    gn_atomic_file w;
    gn_status s = gn_atomic_begin(&w, path, "checkpoint");
    if (s) return s;
    gn_net *G = gan->G, *D = gan->D;
    char conf[GN_SETTINGS_TEXT_MAX];
    gn_config_write(&gan->cfg, conf, sizeof conf);
    size_t cl = strlen(conf);
    snprintf(conf + cl, sizeof conf - cl, "g_params=%zu\nd_params=%zu\n", gn_net_param_count(G),
             gn_net_param_count(D));
    uint64_t meta[4] = {gan->iter, gan->d_pretrained, gan->og.t, gan->od.t};
    uint32_t version = GN_CKPT_VERSION, nsec = gan->G_ema ? 14 : 13;
    gn_atomic_put(&w, MAGIC, 8);
    gn_atomic_put(&w, &version, 4);
    gn_atomic_put(&w, &nsec, 4);
    put_section(&w, "CONF", conf, strlen(conf));
    put_section(&w, "META", meta, sizeof meta);
    size_t gp = gn_net_param_count(G), dp = gn_net_param_count(D);
    put_section(&w, "GPAR", gn_net_params(G), gp * 4);
    put_section(&w, "GSTA", gn_net_state(G), gn_net_state_count(G) * 4);
    put_section(&w, "DPAR", gn_net_params(D), dp * 4);
    put_section(&w, "DSTA", gn_net_state(D), gn_net_state_count(D) * 4);
    put_section(&w, "GOPM", gan->og.m, gp * 4);
    put_section(&w, "GOPV", gan->og.v, gp * 4);
    put_section(&w, "DOPM", gan->od.m, dp * 4);
    put_section(&w, "DOPV", gan->od.v, dp * 4);
    put_section(&w, "FIXZ", fixed_z, fixed_z ? (size_t)nfixed * gan->cfg.zdim * 4 : 0);
    put_section(&w, "HIST", hist ? hist->rows : NULL, hist ? hist->n * GN_HIST_COLS * 4 : 0);
    put_section(&w, "MODL", gan->model_text, gan->model_text ? strlen(gan->model_text) : 0);
    if (gan->G_ema) put_section(&w, "GEMA", gn_net_params(gan->G_ema), gp * 4);
    if ((s = gn_atomic_commit(&w)) && had_one) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", gn_last_error());
        return gn_fail(s, "%s (the previous checkpoint is intact)", msg);
    }
    return s;
}

/* ---- reading ---- */

typedef struct section {
    char tag[5];
    uint64_t len;
    long off; /* payload offset in the file */
} section;

typedef struct reader {
    const char *path;
    FILE *f;
    section sec[MAX_SECTIONS];
    int n;
} reader;

/* Opens a checkpoint and checks its header, section table and every CRC. */
static gn_status rd_open(reader *r, const char *path) {
    memset(r, 0, sizeof *r);
    r->path = path;
    gn_status st = gn_open_regular(path, "checkpoint", &r->f);
    if (st) return st;
    if (fseek(r->f, 0, SEEK_END)) return gn_fail(GN_ERR_IO, "%s: cannot seek", path);
    long size = ftell(r->f);
    rewind(r->f);
    char magic[8];
    uint32_t version, nsec;
    if (size < 16 || fread(magic, 1, 8, r->f) != 8 || fread(&version, 4, 1, r->f) != 1 ||
        fread(&nsec, 4, 1, r->f) != 1)
        return gn_fail(GN_ERR_FORMAT, "%s: truncated checkpoint header (%ld bytes)", path, size);
    if (memcmp(magic, MAGIC, 8))
        return gn_fail(GN_ERR_FORMAT, "%s: not a gannet checkpoint (bad magic)", path);
    if (version > GN_CKPT_VERSION)
        return gn_fail(GN_ERR_FORMAT, "%s: checkpoint format version %u is newer than this gannet (%u)",
                       path, version, GN_CKPT_VERSION);
    if (version == 0) return gn_fail(GN_ERR_FORMAT, "%s: checkpoint format version 0 is invalid", path);
    if (nsec > MAX_SECTIONS)
        return gn_fail(GN_ERR_FORMAT, "%s: %u sections (at most %d expected)", path, nsec, MAX_SECTIONS);
    long pos = 16;
    unsigned char buf[1 << 16]; /* CRCs are computed a piece at a time */
    for (uint32_t i = 0; i < nsec; i++) {
        section *s = &r->sec[r->n];
        uint64_t len;
        if (fread(s->tag, 1, 4, r->f) != 4 || fread(&len, 8, 1, r->f) != 1)
            return gn_fail(GN_ERR_FORMAT, "%s: truncated: section %u of %u is missing", path, i + 1, nsec);
        s->tag[4] = 0;
        pos += 12;
        if (len > (uint64_t)(size - pos) || (uint64_t)(size - pos) - len < 4)
            return gn_fail(GN_ERR_FORMAT, "%s: truncated: section %s claims %" PRIu64 " bytes and a "
                           "4-byte CRC, %ld bytes remain", path, s->tag, len, size - pos);
        s->len = len;
        s->off = pos;
        uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0), stored;
        for (uint64_t done = 0; done < len;) {
            size_t take = len - done > sizeof buf ? sizeof buf : (size_t)(len - done);
            if (fread(buf, 1, take, r->f) != take)
                return gn_fail(GN_ERR_FORMAT, "%s: truncated in section %s", path, s->tag);
            crc = (uint32_t)crc32(crc, buf, (uInt)take);
            done += take;
        }
        if (fread(&stored, 4, 1, r->f) != 1)
            return gn_fail(GN_ERR_FORMAT, "%s: truncated in section %s", path, s->tag);
        if (crc != stored)
            return gn_fail(GN_ERR_FORMAT, "%s: bad checksum in section %s (stored %08x, computed %08x)",
                           path, s->tag, stored, crc);
        pos += (long)len + 4;
        r->n++;
    }
    return GN_OK;
}

static void rd_close(reader *r) {
    if (r->f) fclose(r->f);
    r->f = NULL;
}

/* Reads section `tag` into dst, which must hold exactly `len` bytes. */
static gn_status rd_section(reader *r, const char *tag, void *dst, size_t len, const char *what) {
    for (int i = 0; i < r->n; i++) {
        if (strcmp(r->sec[i].tag, tag)) continue;
        if (r->sec[i].len != len)
            return gn_fail(GN_ERR_SHAPE, "%s: %s has %" PRIu64 " bytes, this model needs %zu (another model's checkpoint?)",
                           r->path, what, r->sec[i].len, len);
        if (fseek(r->f, r->sec[i].off, SEEK_SET) || (len && fread(dst, 1, len, r->f) != len))
            return gn_fail(GN_ERR_IO, "%s: cannot read section %s", r->path, tag);
        return GN_OK;
    }
    return gn_fail(GN_ERR_FORMAT, "%s: section %s (%s) is missing", r->path, tag, what);
}

/* Fails when one of n floats is NaN or infinite: such a checkpoint would
 * draw black images, score nonsense or poison a resumed run. */
static gn_status check_finite(const reader *r, const float *x, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return gn_fail(GN_ERR_NONFINITE, "%s: %s: non-finite value %g at index %zu", r->path,
                           what, (double)x[i], i);
    return GN_OK;
}

/* rd_section for float tensors, which must all be finite. */
static gn_status rd_floats(reader *r, const char *tag, float *dst, size_t n, const char *what) {
    gn_status s = rd_section(r, tag, dst, n * sizeof(float), what);
    return s ? s : check_finite(r, dst, n, what);
}

/* History rows: the losses, D's outputs and the seconds are finite; the two
 * scores are NaN where no evaluation ran, finite where one did. */
static gn_status check_history(const reader *r, const gn_history *h) {
    for (size_t i = 0; i < h->n; i++) {
        const float *row = h->rows + i * GN_HIST_COLS;
        for (int k = 0; k < GN_HIST_COLS; k++)
            if (k < GN_HIST_SCORES ? !isfinite(row[k]) : isinf(row[k]))
                return gn_fail(GN_ERR_NONFINITE, "%s: loss history: non-finite value %g in row %zu "
                               "(iteration %zu), column %d", r->path, (double)row[k], i + 1, i + 1, k + 1);
    }
    return GN_OK;
}

static const section *rd_find(const reader *r, const char *tag) {
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->sec[i].tag, tag)) return &r->sec[i];
    return NULL;
}

/* Reads the CONF text (NUL-terminated) into buf. */
static gn_status rd_conf(reader *r, char *buf, size_t cap) {
    const section *s = rd_find(r, "CONF");
    if (!s) return gn_fail(GN_ERR_FORMAT, "%s: section CONF (settings) is missing", r->path);
    if (s->len >= cap) return gn_fail(GN_ERR_FORMAT, "%s: settings section too large", r->path);
    gn_status st = rd_section(r, "CONF", buf, (size_t)s->len, "settings");
    buf[s->len] = 0;
    return st;
}

gn_status gn_checkpoint_read_config(const char *path, gn_gan_config *cfg) {
    reader r;
    gn_status s = rd_open(&r, path);
    char conf[GN_SETTINGS_TEXT_MAX];
    if (!s) s = rd_conf(&r, conf, sizeof conf);
    if (!s) s = config_parse(path, conf, cfg);
    rd_close(&r);
    return s;
}

gn_status gn_checkpoint_read_model(const char *path, char **text) {
    *text = NULL;
    reader r;
    gn_status s = rd_open(&r, path);
    const section *m = s ? NULL : rd_find(&r, "MODL");
    if (m && m->len > GN_MODEL_MAX_BYTES)
        s = gn_fail(GN_ERR_FORMAT, "%s: model section of %" PRIu64 " bytes (at most %d expected)", path,
                    m->len, GN_MODEL_MAX_BYTES);
    else if (m && m->len) {
        char *t = malloc((size_t)m->len + 1);
        if (!t) s = gn_fail(GN_ERR_NOMEM, "out of memory");
        else if ((s = rd_section(&r, "MODL", t, (size_t)m->len, "model"))) free(t);
        else if (memchr(t, 0, (size_t)m->len)) {
            free(t);
            s = gn_fail(GN_ERR_FORMAT, "%s: the model section holds a NUL byte", path);
        } else {
            t[m->len] = 0;
            *text = t;
        }
    }
    rd_close(&r);
    return s;
}

gn_status gn_checkpoint_read_iteration(const char *path, uint64_t *iter) {
    reader r;
    gn_status s = rd_open(&r, path);
    uint64_t meta[4];
    if (!s) s = rd_section(&r, "META", meta, sizeof meta, "iteration counters");
    rd_close(&r);
    if (!s) *iter = meta[0];
    return s;
}

/* G_ema's weights (GEMA), or G's for a checkpoint without them (made before
 * the average existed, or by a run without one); its statistics are G's. */
static gn_status load_ema(reader *r, gn_gan *gan) {
    gn_net *E = gan->G_ema;
    if (!E) return GN_OK;
    size_t n = gn_net_param_count(E);
    gn_status s = GN_OK;
    if (rd_find(r, "GEMA")) s = rd_floats(r, "GEMA", gn_net_params(E), n, "G weight average (EMA)");
    else memcpy(gn_net_params(E), gn_net_params(gan->G), n * sizeof(float));
    memcpy(gn_net_state(E), gn_net_state(gan->G), gn_net_state_count(E) * sizeof(float));
    gn_net_params_changed(E);
    return s;
}

gn_status gn_checkpoint_load(const char *path, gn_gan *gan, float *fixed_z, int nfixed,
                             gn_history *hist) {
    reader r;
    gn_status s = rd_open(&r, path);
    char conf[GN_SETTINGS_TEXT_MAX];
    gn_gan_config c;
    if (!s) s = rd_conf(&r, conf, sizeof conf);
    if (!s) s = config_parse(path, conf, &c);
    if (!s && strcmp(c.preset, gan->cfg.preset))
        s = gn_fail(GN_ERR_SHAPE, "%s: checkpoint holds preset '%s', not '%s'", path, c.preset,
                    gan->cfg.preset);
    gn_net *G = gan->G, *D = gan->D;
    size_t gp = gn_net_param_count(G), dp = gn_net_param_count(D);
    uint64_t meta[4];
    if (!s) s = rd_section(&r, "META", meta, sizeof meta, "iteration counters");
    if (!s) s = rd_floats(&r, "GPAR", gn_net_params(G), gp, "G parameters");
    if (!s) s = rd_floats(&r, "GSTA", gn_net_state(G), gn_net_state_count(G), "G batch-norm statistics");
    if (!s) s = rd_floats(&r, "DPAR", gn_net_params(D), dp, "D parameters");
    if (!s) s = rd_floats(&r, "DSTA", gn_net_state(D), gn_net_state_count(D), "D batch-norm statistics");
    if (!s) s = rd_floats(&r, "GOPM", gan->og.m, gp, "G Adam moments");
    if (!s) s = rd_floats(&r, "GOPV", gan->og.v, gp, "G Adam moments");
    if (!s) s = rd_floats(&r, "DOPM", gan->od.m, dp, "D Adam moments");
    if (!s) s = rd_floats(&r, "DOPV", gan->od.v, dp, "D Adam moments");
    if (!s && fixed_z) s = rd_floats(&r, "FIXZ", fixed_z, (size_t)nfixed * gan->cfg.zdim, "fixed noise");
    if (!s && hist) {
        const section *h = rd_find(&r, "HIST");
        if (!h || h->len % (GN_HIST_COLS * 4))
            s = gn_fail(GN_ERR_FORMAT, "%s: loss history section is missing or malformed", path);
        else {
            size_t rows = (size_t)(h->len / (GN_HIST_COLS * 4));
            gn_history_free(hist);
            hist->rows = malloc((rows ? rows : 1) * GN_HIST_COLS * 4);
            if (!hist->rows) s = gn_fail(GN_ERR_NOMEM, "out of memory");
            else {
                hist->n = hist->cap = rows;
                s = rd_section(&r, "HIST", hist->rows, rows * GN_HIST_COLS * 4, "loss history");
                if (!s) s = check_history(&r, hist);
            }
        }
    }
    if (!s) s = load_ema(&r, gan);
    rd_close(&r);
    if (s) return s;
    gan->iter = meta[0];
    gan->d_pretrained = meta[1];
    gan->og.t = meta[2];
    gan->od.t = meta[3];
    gn_net_params_changed(G);
    gn_net_params_changed(D);
    return GN_OK;
}

gn_status gn_gan_open_checkpoint(const char *path, uint64_t seed, gn_gan **out, char *resolved,
                                 size_t len) {
    /* a folder means its checkpoint.gnt; anything else is the checkpoint
     * itself, whatever its name (and the reader says what is wrong with it) */
    char file[4200];
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(file, sizeof file, "%s/checkpoint.gnt", path);
    else
        snprintf(file, sizeof file, "%s", path);
    if (resolved) snprintf(resolved, len, "%s", file);
    gn_gan_config cfg;
    char *model;
    gn_status s = gn_checkpoint_read_config(file, &cfg);
    if (s || (s = gn_checkpoint_read_model(file, &model))) return s;
    cfg.seed = seed;
    cfg.model = model;
    /* the weights are fp32 whatever the run trained in: drawing and scoring
     * samples runs in fp32, on any CPU */
    cfg.precision = GN_PRECISION_FP32;
    gn_gan *gan;
    s = gn_gan_create(&gan, &cfg);
    free(model);
    if (s) return s;
    if ((s = gn_checkpoint_load(file, gan, NULL, 0, NULL))) {
        gn_gan_free(gan);
        return s;
    }
    *out = gan;
    return GN_OK;
}

gn_status gn_gan_sample_u8(gn_gan *gan, int n, uint8_t *out) {
    const int chunk = 256;
    const gn_gan_config *c = &gan->cfg;
    size_t img = gn_shape_size(gn_net_output_shape(gn_gan_sampler(gan)));
    float *z = malloc((size_t)chunk * c->zdim * sizeof(float));
    float *x = malloc((size_t)chunk * img * sizeof(float));
    gn_status s = z && x ? GN_OK : gn_fail(GN_ERR_NOMEM, "out of memory for %d images", n);
    float lo = c->range == GN_RANGE_PM1 ? -1.0f : 0.0f;
    for (int done = 0; !s && done < n; done += chunk) {
        int m = n - done < chunk ? n - done : chunk;
        gn_gan_noise(gan, z, m, GN_STREAM_SAMPLE, (uint64_t)done * c->zdim);
        if ((s = gn_gan_generate(gan, z, m, x))) break;
        for (size_t i = 0; i < (size_t)m * img; i++) {
            float v = (x[i] - lo) / (1.0f - lo) * 255.0f;
            out[(size_t)done * img + i] = (uint8_t)(!(v > 0) ? 0 : v > 255 ? 255 : lrintf(v));
        }
    }
    free(z);
    free(x);
    return s;
}
