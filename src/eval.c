/* GAN quality: the MNIST classifier (build, train, save, load, run) and the
 * scores computed from its outputs (Inception Score, Frechet distance,
 * class coverage, confidence). See include/gannet/eval.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "gannet/atomic.h"
#include "gannet/eval.h"
#include "gannet/files.h"
#include "gannet/loss.h"
#include "gannet/optim.h"
#include "gannet/rng.h"
#include "gannet/datadir.h"

#define CONV1 16
#define CONV2 32
#define DROPOUT 0.5f
#define RUN_CHUNK 250
#define MAX_TENSORS 16
#define MAX_FILE_BYTES (256u << 20)

static const char MAGIC[8] = {'G', 'A', 'N', 'N', 'E', 'T', 'C', 'L'};

/* ---- building ---- */

/* The settings that made the shipped classifier. */
gn_classifier_train_config gn_classifier_train_defaults(void) {
    gn_classifier_train_config c = {.iters = 8000, .batch = 64, .lr = 1e-3f, .seed = 1,
                                    .shift = 2, .log_every = 0};
    return c;
}

/* Adds the layers of the two networks (see eval.h) and builds them. */
gn_status gn_classifier_create(gn_classifier **out, uint64_t seed) {
    *out = NULL;
    gn_classifier *c = calloc(1, sizeof *c);
    if (!c) return gn_fail(GN_ERR_NOMEM, "out of memory for the classifier");
    c->features = gn_net_new("classifier", (gn_shape){GN_CLS_SIDE, GN_CLS_SIDE, 1});
    c->head = gn_net_new("classifier-head", (gn_shape){1, 1, GN_CLS_FEATURES});
    if (!c->features || !c->head) {
        gn_classifier_free(c);
        return gn_fail(GN_ERR_NOMEM, "out of memory for the classifier");
    }
    /* (28,28,1) -> (24,24,C1) -> (12,12,C1) -> (8,8,C2) -> (4,4,C2) -> (128) */
    gn_net_add_conv2d(c->features, CONV1, 5, 1, GN_PAD_VALID);
    gn_net_add_relu(c->features);
    gn_net_add_maxpool(c->features, 2, 2);
    gn_net_add_conv2d(c->features, CONV2, 5, 1, GN_PAD_VALID);
    gn_net_add_relu(c->features);
    gn_net_add_maxpool(c->features, 2, 2);
    gn_net_add_flatten(c->features);
    gn_net_add_dense(c->features, GN_CLS_FEATURES);
    gn_net_add_relu(c->features);
    /* (128) -> (10) */
    gn_net_add_dropout(c->head, DROPOUT);
    gn_net_add_dense(c->head, GN_CLS_CLASSES);
    gn_net_add_softmax(c->head);
    gn_status s = gn_net_build(c->features, GN_INIT_GLOROT_UNIFORM, seed);
    if (!s) s = gn_net_build(c->head, GN_INIT_GLOROT_UNIFORM, seed + 1);
    if (s) {
        gn_classifier_free(c);
        return s;
    }
    *out = c;
    return GN_OK;
}

/* Frees both networks and the classifier. */
void gn_classifier_free(gn_classifier *c) {
    if (!c) return;
    gn_net_free(c->features);
    gn_net_free(c->head);
    free(c);
}

/* ---- inference ---- */

/* Inference in chunks: features from the first network, probabilities from the head. */
gn_status gn_classifier_run(gn_classifier *c, const float *x, size_t n, float *probs,
                            float *features) {
    /* x: (n,28,28,1) -> features: (n,128), probs: (n,10) */
    const size_t img = (size_t)GN_CLS_SIDE * GN_CLS_SIDE;
    for (size_t done = 0; done < n; done += RUN_CHUNK) {
        int m = (int)(n - done < RUN_CHUNK ? n - done : RUN_CHUNK);
        gn_tensor xt = gn_tensor_f32((float *)x + done * img, m, gn_net_input_shape(c->features));
        const gn_tensor *f, *p;
        gn_status s = gn_net_forward(c->features, &xt, GN_INFER, 0, 0, &f);
        if (s) return s;
        if (features)
            memcpy(features + done * GN_CLS_FEATURES, f->data,
                   (size_t)m * GN_CLS_FEATURES * sizeof(float));
        if (!probs) continue;
        if ((s = gn_net_forward(c->head, f, GN_INFER, 0, 0, &p))) return s;
        memcpy(probs + done * GN_CLS_CLASSES, p->data, (size_t)m * GN_CLS_CLASSES * sizeof(float));
    }
    return GN_OK;
}

/* Index of the largest of n values. */
static int argmax(const float *p, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (p[i] > p[best]) best = i;
    return best;
}

/* Checks that ds holds 28x28x1 images. */
static gn_status check_images(const gn_dataset *ds, const char *what) {
    if (ds->h != GN_CLS_SIDE || ds->w != GN_CLS_SIDE || ds->c != 1)
        return gn_fail(GN_ERR_SHAPE, "%s: images are %dx%dx%d, the classifier takes 28x28x1", what,
                       ds->h, ds->w, ds->c);
    return GN_OK;
}

/* Checks that items [start, start + count) of ds have labels the classifier knows (0..9). */
static gn_status check_labels(const gn_dataset *ds, size_t start, size_t count, const char *what) {
    if (!ds->labels) return gn_fail(GN_ERR_ARG, "%s: the data set has no labels", what);
    for (size_t i = start; i < start + count && i < ds->n; i++)
        if (ds->labels[i] >= GN_CLS_CLASSES)
            return gn_fail(GN_ERR_ARG, "%s: item %zu has label %d; the classifier knows 0..%d", what, i,
                           ds->labels[i], GN_CLS_CLASSES - 1);
    return GN_OK;
}

/* Fraction of a labelled range that the classifier gets right. */
/* Adds to *right the images of x (m <= RUN_CHUNK) classified as their label; p: scratch (m, classes). */
static gn_status count_agreeing(gn_classifier *c, const float *x, size_t m, const int *labels, float *p,
                                size_t *right) {
    gn_status s = gn_classifier_run(c, x, m, p, NULL);
    for (size_t i = 0; !s && i < m; i++) *right += argmax(p + i * GN_CLS_CLASSES, GN_CLS_CLASSES) == labels[i];
    return s;
}

gn_status gn_classifier_agreement(gn_classifier *c, const float *x, size_t n, const int *labels, double *share) {
    if (!n) return gn_fail(GN_ERR_ARG, "agreement: no images");
    const size_t img = (size_t)GN_CLS_SIDE * GN_CLS_SIDE;
    float *p = malloc(RUN_CHUNK * GN_CLS_CLASSES * sizeof(float));
    gn_status s = p ? GN_OK : gn_fail(GN_ERR_NOMEM, "out of memory");
    size_t right = 0;
    for (size_t done = 0; !s && done < n; done += RUN_CHUNK) {
        size_t m = n - done < RUN_CHUNK ? n - done : RUN_CHUNK;
        s = count_agreeing(c, x + done * img, m, labels + done, p, &right);
    }
    free(p);
    if (!s) *share = (double)right / (double)n;
    return s;
}

gn_status gn_classifier_accuracy(gn_classifier *c, const gn_dataset *ds, size_t start,
                                 size_t count, double *acc) {
    gn_status s = check_images(ds, "accuracy");
    if (s) return s;
    if (start + count > ds->n || !count)
        return gn_fail(GN_ERR_ARG, "accuracy: items [%zu, %zu) are not inside the %zu of the set",
                       start, start + count, ds->n);
    if ((s = check_labels(ds, start, count, "accuracy"))) return s;
    const size_t img = (size_t)GN_CLS_SIDE * GN_CLS_SIDE;
    float *x = malloc(RUN_CHUNK * img * sizeof(float));
    float *p = malloc(RUN_CHUNK * GN_CLS_CLASSES * sizeof(float));
    int *lab = malloc(RUN_CHUNK * sizeof(int));
    if (!x || !p || !lab) s = gn_fail(GN_ERR_NOMEM, "out of memory");
    size_t right = 0;
    for (size_t done = 0; !s && done < count; done += RUN_CHUNK) {
        size_t m = count - done < RUN_CHUNK ? count - done : RUN_CHUNK;
        gn_dataset_slice(ds, x, lab, start + done, m, GN_RANGE_01);
        s = count_agreeing(c, x, m, lab, p, &right);
    }
    free(x);
    free(p);
    free(lab);
    if (!s) *acc = (double)right / (double)count;
    return s;
}

/* ---- training ---- */

/* Moves each image (n, 28, 28) by its own (dy, dx) in [-shift, shift], zero fill. */
static void shift_images(float *dst, const float *src, size_t n, int shift, uint64_t seed,
                         uint64_t step) {
    const int S = GN_CLS_SIDE, span = 2 * shift + 1;
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        uint64_t k = (step * n + i) * 2;
        int dy = (int)gn_rng_below(seed, GN_STREAM_SHUFFLE, k, (uint32_t)span) - shift;
        int dx = (int)gn_rng_below(seed, GN_STREAM_SHUFFLE, k + 1, (uint32_t)span) - shift;
        const float *s = src + i * S * S;
        float *d = dst + i * S * S;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                int sy = y - dy, sx = x - dx;
                d[y * S + x] = sy >= 0 && sy < S && sx >= 0 && sx < S ? s[sy * S + sx] : 0.0f;
            }
    }
}

/* Adam on softmax cross-entropy over shifted minibatches of the training items. */
gn_status gn_classifier_train(gn_classifier *c, const gn_dataset *ds, size_t train_count,
                              const gn_classifier_train_config *cfg) {
    gn_status s = check_images(ds, "classifier training");
    if (s) return s;
    if (!train_count || train_count > ds->n)
        return gn_fail(GN_ERR_ARG, "classifier training: %zu training items, the set holds %zu",
                       train_count, ds->n);
    if ((s = check_labels(ds, 0, train_count, "classifier training"))) return s;
    if (cfg->iters <= 0 || cfg->batch <= 0 || !(cfg->lr > 0) || cfg->shift < 0 || cfg->shift > 8)
        return gn_fail(GN_ERR_ARG, "classifier training: bad settings (iters %d, batch %d, lr %g, shift %d)",
                       cfg->iters, cfg->batch, cfg->lr, cfg->shift);
    gn_dataset train = *ds;
    train.n = train_count;
    const int B = cfg->batch, C = GN_CLS_CLASSES;
    const size_t img = (size_t)GN_CLS_SIDE * GN_CLS_SIDE;
    float *raw = malloc((size_t)B * img * sizeof(float));
    float *x = malloc((size_t)B * img * sizeof(float));
    float *targets = malloc((size_t)B * C * sizeof(float));
    float *dlogits = malloc((size_t)B * C * sizeof(float));
    int *lab = malloc((size_t)B * sizeof(int));
    gn_optim of = {0}, oh = {0};
    if (!raw || !x || !targets || !dlogits || !lab) s = gn_fail(GN_ERR_NOMEM, "out of memory");
    if (!s) s = gn_optim_init(&of, GN_OPT_ADAM, gn_net_param_count(c->features), cfg->lr, 0.9f, 0.999f, 1e-7f);
    if (!s) s = gn_optim_init(&oh, GN_OPT_ADAM, gn_net_param_count(c->head), cfg->lr, 0.9f, 0.999f, 1e-7f);
    double loss_sum = 0;
    size_t right = 0, seen = 0;
    const float lr_min = cfg->lr / 20;
    for (int it = 0; !s && it < cfg->iters; it++) {
        /* cosine decay from lr to lr / 20 */
        float lr = lr_min + 0.5f * (cfg->lr - lr_min) * (float)(1 + cos(M_PI * it / cfg->iters));
        of.lr = oh.lr = lr;
        gn_dataset_sample(&train, raw, lab, B, cfg->seed, (uint64_t)it, GN_RANGE_01);
        if (cfg->shift) shift_images(x, raw, B, cfg->shift, cfg->seed, (uint64_t)it);
        else memcpy(x, raw, (size_t)B * img * sizeof(float));
        memset(targets, 0, (size_t)B * C * sizeof(float));
        for (int i = 0; i < B; i++) targets[i * C + lab[i]] = 1.0f;
        /* x: (B,28,28,1) -> f: (B,128) -> logits: (B,10) */
        gn_tensor xt = gn_tensor_f32(x, B, gn_net_input_shape(c->features));
        const gn_tensor *f, *p, *df;
        if ((s = gn_net_forward(c->features, &xt, GN_TRAIN, cfg->seed, (uint64_t)it, &f))) break;
        if ((s = gn_net_forward(c->head, f, GN_TRAIN, cfg->seed, (uint64_t)it, &p))) break;
        const float *logits = gn_net_logits(c->head, B)->data;
        float loss = gn_softmax_cross_entropy(logits, targets, B, C, dlogits);
        if (!isfinite(loss)) {
            s = gn_fail(GN_ERR_NONFINITE, "classifier training: loss is %g at iteration %d", loss, it);
            break;
        }
        loss_sum += loss;
        for (int i = 0; i < B; i++) right += argmax(logits + i * C, C) == lab[i];
        seen += B;
        gn_tensor dl = gn_tensor_f32(dlogits, B, (gn_shape){1, 1, C});
        if ((s = gn_net_backward(c->head, &dl, 1, &df))) break;
        if ((s = gn_net_backward(c->features, df, 1, NULL))) break;
        gn_optim_step(&of, gn_net_params(c->features), gn_net_grads(c->features));
        gn_optim_step(&oh, gn_net_params(c->head), gn_net_grads(c->head));
        gn_net_params_changed(c->features);
        gn_net_params_changed(c->head);
        if (cfg->log_every && ((it + 1) % cfg->log_every == 0 || it + 1 == cfg->iters)) {
            int k = (it + 1) % cfg->log_every ? (it + 1) % cfg->log_every : cfg->log_every;
            fprintf(stderr, "iter %6d/%d  loss %.4f  train accuracy %.2f%%  lr %.2e\n", it + 1,
                    cfg->iters, loss_sum / k, 100.0 * right / seen, lr);
            loss_sum = 0;
            right = seen = 0;
        }
    }
    gn_optim_free(&of);
    gn_optim_free(&oh);
    free(raw);
    free(x);
    free(targets);
    free(dlogits);
    free(lab);
    if (!s) {
        c->iters = (uint32_t)cfg->iters;
        c->batch = (uint32_t)cfg->batch;
        c->seed = cfg->seed;
    }
    return s;
}

/* ---- the classifier file ---- */

typedef struct tensor_desc {
    float *data;
    size_t count;
    uint32_t rank, dims[4];
} tensor_desc;

/* Lists the parameter tensors of one network with their shapes (weights then bias per layer). */
static int list_net(gn_net *net, tensor_desc *t, int nt) {
    for (int i = 0; i < gn_net_layer_count(net); i++) {
        gn_shape in = gn_net_layer_input(net, i), out = gn_net_layer_output(net, i);
        size_t wn, bn;
        float *w = gn_net_layer_weights(net, i, &wn), *b = gn_net_layer_bias(net, i, &bn);
        gn_layer_kind k = gn_net_layer_kind(net, i);
        if (w && nt < MAX_TENSORS) {
            tensor_desc *d = &t[nt++];
            memset(d, 0, sizeof *d);
            d->data = w;
            d->count = wn;
            if (k == GN_LAYER_DENSE) {
                d->rank = 2;
                d->dims[0] = (uint32_t)out.c;
                d->dims[1] = (uint32_t)gn_shape_size(in);
            } else {
                /* conv2d: (out, in, k, k) */
                uint32_t kk = (uint32_t)lrint(sqrt((double)wn / ((double)out.c * in.c)));
                d->rank = 4;
                d->dims[0] = (uint32_t)out.c;
                d->dims[1] = (uint32_t)in.c;
                d->dims[2] = d->dims[3] = kk;
            }
        }
        if (b && nt < MAX_TENSORS) {
            tensor_desc *d = &t[nt++];
            memset(d, 0, sizeof *d);
            d->data = b;
            d->count = bn;
            d->rank = 1;
            d->dims[0] = (uint32_t)bn;
        }
    }
    return nt;
}

/* All parameter tensors of the classifier, features net first. */
static int list_tensors(const gn_classifier *c, tensor_desc *t) {
    int nt = list_net(c->features, t, 0);
    return list_net(c->head, t, nt);
}

/* A growing little-endian byte buffer. */
typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
    int failed;
} bytes;

/* Appends n bytes, growing the buffer; sets failed when out of memory. */
static void put_bytes(bytes *b, const void *src, size_t n) {
    if (b->failed) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

/* Appends a little-endian u32. */
static void put_u32(bytes *b, uint32_t v) {
    unsigned char e[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put_bytes(b, e, 4);
}

/* Appends a little-endian u64. */
static void put_u64(bytes *b, uint64_t v) {
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

/* Appends a float's bits as a little-endian u32. */
static void put_f32(bytes *b, float f) {
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(b, v);
}

/* Reads a little-endian u32. */
static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads a little-endian u64. */
static uint64_t get_u64(const unsigned char *p) { return get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

/* Reads a float stored as a little-endian u32. */
static float get_f32(const unsigned char *p) {
    uint32_t v = get_u32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

/* CRC-32 of n bytes, fed to zlib in pieces that fit its uInt lengths. */
static uint32_t crc_of(const unsigned char *p, size_t n) {
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < n;) {
        size_t take = n - off > (1u << 30) ? (1u << 30) : n - off;
        crc = (uint32_t)crc32(crc, p + off, (uInt)take);
        off += take;
    }
    return crc;
}

#define HEADER_BYTES 64 /* up to and including the tensor count */

/* Builds the whole file in memory, then writes it with the atomic writer. */
gn_status gn_classifier_save(const gn_classifier *c, const char *path) {
    tensor_desc t[MAX_TENSORS];
    int nt = list_tensors(c, t);
    bytes b = {0};
    put_bytes(&b, MAGIC, 8);
    put_u32(&b, GN_CLS_VERSION);
    put_u32(&b, GN_CLS_SIDE);
    put_u32(&b, GN_CLS_SIDE);
    put_u32(&b, 1);
    put_u32(&b, GN_CLS_CLASSES);
    put_u32(&b, GN_CLS_FEATURES);
    put_u32(&b, GN_CLS_HELDOUT_START);
    put_u32(&b, GN_CLS_HELDOUT);
    put_f32(&b, c->heldout_acc);
    put_u32(&b, c->iters);
    put_u32(&b, c->batch);
    put_u64(&b, c->seed);
    put_u32(&b, (uint32_t)nt);
    for (int i = 0; i < nt; i++) {
        put_u32(&b, t[i].rank);
        for (int k = 0; k < 4; k++) put_u32(&b, t[i].dims[k]);
    }
    for (int i = 0; i < nt; i++)
        for (size_t k = 0; k < t[i].count; k++) put_f32(&b, t[i].data[k]);
    if (!b.failed) put_u32(&b, crc_of(b.p, b.n));
    if (b.failed) {
        free(b.p);
        return gn_fail(GN_ERR_NOMEM, "out of memory writing %s", path);
    }
    gn_status s = gn_atomic_write_file(path, b.p, b.n, "classifier");
    free(b.p);
    return s;
}

/* Reads a whole file into memory (at most MAX_FILE_BYTES). */
static gn_status read_all(const char *path, unsigned char **out, size_t *len) {
    FILE *f;
    gn_status s = gn_open_regular(path, "classifier", &f);
    if (s) return s;
    long size = -1;
    if (!fseek(f, 0, SEEK_END)) size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET)) {
        fclose(f);
        return gn_fail(GN_ERR_IO, "%s: cannot read classifier (not a regular file?)", path);
    }
    if ((unsigned long)size > MAX_FILE_BYTES) {
        fclose(f);
        return gn_fail(GN_ERR_FORMAT, "%s: %ld bytes, too large for a classifier file", path, size);
    }
    unsigned char *p = malloc(size ? (size_t)size : 1);
    if (!p) {
        fclose(f);
        return gn_fail(GN_ERR_NOMEM, "out of memory reading %s", path);
    }
    size_t got = fread(p, 1, (size_t)size, f);
    fclose(f);
    if (got != (size_t)size) {
        free(p);
        return gn_fail(GN_ERR_IO, "%s: cannot read classifier", path);
    }
    *out = p;
    *len = (size_t)size;
    return GN_OK;
}

/* Checks the file's header, size, checksum and shapes, then copies the weights into c. */
static gn_status parse_file(gn_classifier *c, const char *path, const unsigned char *p, size_t len) {
    if (len < HEADER_BYTES + 4)
        return gn_fail(GN_ERR_FORMAT, "%s: truncated (%zu bytes; a classifier file has at least %d)",
                       path, len, HEADER_BYTES + 4);
    if (memcmp(p, MAGIC, 8))
        return gn_fail(GN_ERR_FORMAT, "%s: not a gannet classifier file (bad magic)", path);
    uint32_t version = get_u32(p + 8);
    if (version != GN_CLS_VERSION)
        return gn_fail(GN_ERR_FORMAT, "%s: classifier format version %u, this gannet reads version %u",
                       path, version, GN_CLS_VERSION);
    tensor_desc t[MAX_TENSORS];
    int nt = list_tensors(c, t);
    uint32_t ft = get_u32(p + 60);
    size_t want = HEADER_BYTES + 4;
    if (ft == (uint32_t)nt) {
        want += (size_t)nt * 20;
        for (int i = 0; i < nt; i++) want += t[i].count * 4;
    }
    uint32_t stored = get_u32(p + len - 4), crc = crc_of(p, len - 4);
    if (ft == (uint32_t)nt && len != want)
        return gn_fail(GN_ERR_FORMAT, "%s: %zu bytes, a classifier file with this shape has %zu "
                       "(truncated or padded)", path, len, want);
    if (crc != stored)
        return gn_fail(GN_ERR_FORMAT, "%s: bad checksum (stored %08x, computed %08x): the file is corrupt",
                       path, stored, crc);
    uint32_t h = get_u32(p + 12), w = get_u32(p + 16), ch = get_u32(p + 20);
    uint32_t classes = get_u32(p + 24), feat = get_u32(p + 28);
    if (h != GN_CLS_SIDE || w != GN_CLS_SIDE || ch != 1 || classes != GN_CLS_CLASSES ||
        feat != GN_CLS_FEATURES || ft != (uint32_t)nt)
        return gn_fail(GN_ERR_FORMAT, "%s: classifier for %ux%ux%u images, %u classes, %u features and "
                       "%u tensors; this gannet's has 28x28x1, %d, %d and %d", path, h, w, ch, classes,
                       feat, ft, GN_CLS_CLASSES, GN_CLS_FEATURES, nt);
    const unsigned char *q = p + HEADER_BYTES;
    for (int i = 0; i < nt; i++, q += 20) {
        int same = get_u32(q) == t[i].rank;
        for (int k = 0; k < 4; k++) same &= get_u32(q + 4 + 4 * k) == t[i].dims[k];
        if (!same)
            return gn_fail(GN_ERR_FORMAT, "%s: tensor %d has shape rank %u (%u, %u, %u, %u); this "
                           "gannet's classifier needs rank %u (%u, %u, %u, %u)", path, i, get_u32(q),
                           get_u32(q + 4), get_u32(q + 8), get_u32(q + 12), get_u32(q + 16), t[i].rank,
                           t[i].dims[0], t[i].dims[1], t[i].dims[2], t[i].dims[3]);
    }
    for (int i = 0; i < nt; i++)
        for (size_t k = 0; k < t[i].count; k++, q += 4) {
            float v = get_f32(q);
            if (!isfinite(v))
                return gn_fail(GN_ERR_NONFINITE, "%s: tensor %d holds a non-finite weight", path, i);
            t[i].data[k] = v;
        }
    c->heldout_acc = get_f32(p + 40);
    c->iters = get_u32(p + 44);
    c->batch = get_u32(p + 48);
    c->seed = get_u64(p + 52);
    gn_net_params_changed(c->features);
    gn_net_params_changed(c->head);
    return GN_OK;
}

/* Builds an untrained classifier and fills it from the file. */
gn_status gn_classifier_load(gn_classifier **out, const char *path) {
    *out = NULL;
    unsigned char *p = NULL;
    size_t len = 0;
    gn_status s = read_all(path, &p, &len);
    if (s) return s;
    gn_classifier *c;
    s = gn_classifier_create(&c, 0);
    if (!s) s = parse_file(c, path, p, len);
    free(p);
    if (s) {
        gn_classifier_free(c);
        return s;
    }
    *out = c;
    return GN_OK;
}

/* The shipped classifier, found by gn_data_path (when it is nowhere, the
 * first folder searched: loading it then fails). */
void gn_default_classifier_path(char *buf, size_t len) {
    gn_data_path(GN_CLS_FILE, buf, len);
}

/* ---- scores ---- */

/* exp of the mean KL divergence of each row from the mean row. */
double gn_inception_score(const float *probs, size_t n, int C) {
    /* probs: (n, C) -> exp(mean_i sum_c p_ic (log p_ic - log m_c)) */
    if (!n) return NAN;
    double *m = calloc((size_t)C, sizeof(double));
    if (!m) return NAN;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < C; c++) m[c] += probs[i * C + c];
    for (int c = 0; c < C; c++) m[c] /= (double)n;
    double kl = 0;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < C; c++) {
            double p = probs[i * C + c];
            if (p > 0 && m[c] > 0) kl += p * (log(p) - log(m[c]));
        }
    free(m);
    return exp(kl / (double)n);
}

/* Sample mean and covariance (divided by n - 1), accumulated in double. */
void gn_mean_cov(const float *x, size_t n, int d, double *mu, double *cov) {
    /* x: (n, d) -> mu: (d), cov: (d, d) */
    for (int i = 0; i < d; i++) mu[i] = 0;
    for (size_t r = 0; r < n; r++)
        for (int i = 0; i < d; i++) mu[i] += x[r * d + i];
    for (int i = 0; i < d; i++) mu[i] /= (double)n;
    memset(cov, 0, (size_t)d * d * sizeof(double));
    #pragma omp parallel for schedule(dynamic, 4)
    for (int i = 0; i < d; i++) {
        double *ci = cov + (size_t)i * d;
        for (size_t r = 0; r < n; r++) {
            const float *xr = x + r * d;
            double a = xr[i] - mu[i];
            if (a == 0) continue;
            for (int j = i; j < d; j++) ci[j] += a * (xr[j] - mu[j]);
        }
    }
    double den = n > 1 ? (double)(n - 1) : 1.0;
    for (int i = 0; i < d; i++)
        for (int j = i; j < d; j++) {
            cov[(size_t)i * d + j] /= den;
            cov[(size_t)j * d + i] = cov[(size_t)i * d + j];
        }
}

/* Cyclic Jacobi: sweeps of rotations that zero each off-diagonal element in turn. */
void gn_sym_eig(double *A, int n, double *w, double *V) {
    /* A: (n, n) symmetric -> w: (n), V: (n, n) with A = V diag(w) V^T */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) V[(size_t)i * n + j] = i == j;
    double norm = 0;
    for (size_t i = 0; i < (size_t)n * n; i++) norm += A[i] * A[i];
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) off += A[(size_t)p * n + q] * A[(size_t)p * n + q];
        if (off <= 1e-30 * norm || off == 0) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = A[(size_t)p * n + q];
                if (apq == 0) continue;
                double app = A[(size_t)p * n + p], aqq = A[(size_t)q * n + q];
                /* the rotation that zeroes A[p][q]: t = tan(phi), cot(2 phi) = theta */
                double theta = (aqq - app) / (2 * apq), t;
                if (fabs(theta) > 1e150) t = 0.5 / theta;
                else t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                /* A = J^T A J: columns p and q, then rows p and q */
                for (int k = 0; k < n; k++) {
                    double *row = A + (size_t)k * n;
                    double akp = row[p], akq = row[q];
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                double *rp = A + (size_t)p * n, *rq = A + (size_t)q * n;
                for (int k = 0; k < n; k++) {
                    double apk = rp[k], aqk = rq[k];
                    rp[k] = c * apk - s * aqk;
                    rq[k] = s * apk + c * aqk;
                }
                rp[q] = rq[p] = 0;
                for (int k = 0; k < n; k++) {
                    double *row = V + (size_t)k * n;
                    double vkp = row[p], vkq = row[q];
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < n; i++) w[i] = A[(size_t)i * n + i];
}

/* C = A B for (d, d) matrices. */
static void matmul(double *C, const double *A, const double *B, int d) {
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < d; i++) {
        double *ci = C + (size_t)i * d;
        for (int j = 0; j < d; j++) ci[j] = 0;
        for (int k = 0; k < d; k++) {
            double a = A[(size_t)i * d + k];
            const double *bk = B + (size_t)k * d;
            for (int j = 0; j < d; j++) ci[j] += a * bk[j];
        }
    }
}

/* FD from moments: sqrt(S1) by eigendecomposition, then the eigenvalues of sqrt(S1) S2 sqrt(S1). */
gn_status gn_frechet_gaussians(const double *mu1, const double *S1, const double *mu2,
                               const double *S2, int d, double *fd) {
    size_t dd = (size_t)d * d;
    double *work = malloc((4 * dd + d) * sizeof(double));
    if (!work) return gn_fail(GN_ERR_NOMEM, "out of memory for %dx%d matrices", d, d);
    double *A = work, *V = A + dd, *R = V + dd, *M = R + dd, *w = M + dd;
    double dmu = 0, tr1 = 0, tr2 = 0;
    for (int i = 0; i < d; i++) {
        dmu += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
        tr1 += S1[(size_t)i * d + i];
        tr2 += S2[(size_t)i * d + i];
    }
    if (!isfinite(dmu) || !isfinite(tr1) || !isfinite(tr2)) {
        free(work);
        return gn_fail(GN_ERR_NONFINITE, "Frechet distance: the means or covariances are not finite");
    }
    /* R = sqrt(S1) = V diag(sqrt(max(w, 0))) V^T */
    memcpy(A, S1, dd * sizeof(double));
    gn_sym_eig(A, d, w, V);
    for (int i = 0; i < d; i++) w[i] = sqrt(w[i] > 0 ? w[i] : 0);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double sum = 0;
            for (int k = 0; k < d; k++) sum += V[(size_t)i * d + k] * w[k] * V[(size_t)j * d + k];
            R[(size_t)i * d + j] = sum;
        }
    /* M = R S2 R, made exactly symmetric */
    matmul(A, R, S2, d);
    matmul(M, A, R, d);
    for (int i = 0; i < d; i++)
        for (int j = i + 1; j < d; j++) {
            double m = 0.5 * (M[(size_t)i * d + j] + M[(size_t)j * d + i]);
            M[(size_t)i * d + j] = M[(size_t)j * d + i] = m;
        }
    gn_sym_eig(M, d, w, V);
    double trs = 0;
    for (int i = 0; i < d; i++) trs += sqrt(w[i] > 0 ? w[i] : 0);
    free(work);
    double r = dmu + tr1 + tr2 - 2 * trs;
    *fd = r > 0 ? r : 0; /* rounding can leave a tiny negative for equal sets */
    return GN_OK;
}

/* FD of the Gaussians fitted to two sets of feature rows. */
gn_status gn_frechet_distance(const float *a, size_t na, const float *b, size_t nb, int d,
                              double *fd) {
    if (na < 2 || nb < 2)
        return gn_fail(GN_ERR_ARG, "Frechet distance needs at least 2 items per set (got %zu and %zu)",
                       na, nb);
    size_t dd = (size_t)d * d;
    double *m = malloc((2 * dd + 2 * (size_t)d) * sizeof(double));
    if (!m) return gn_fail(GN_ERR_NOMEM, "out of memory for %dx%d covariances", d, d);
    double *S1 = m, *S2 = S1 + dd, *mu1 = S2 + dd, *mu2 = mu1 + d;
    gn_mean_cov(a, na, d, mu1, S1);
    gn_mean_cov(b, nb, d, mu2, S2);
    gn_status s = gn_frechet_gaussians(mu1, S1, mu2, S2, d, fd);
    free(m);
    return s;
}

/* Runs the classifier once and derives every figure from its outputs. */
gn_status gn_eval_images(gn_classifier *c, const float *x, size_t n, const float *ref_features,
                         size_t nref, gn_eval_scores *out) {
    memset(out, 0, sizeof *out);
    out->frechet = NAN;
    if (!n) return gn_fail(GN_ERR_ARG, "evaluation needs at least one image");
    const int C = GN_CLS_CLASSES, F = GN_CLS_FEATURES;
    float *probs = malloc(n * C * sizeof(float));
    float *feat = malloc(n * F * sizeof(float));
    if (!probs || !feat) {
        free(probs);
        free(feat);
        return gn_fail(GN_ERR_NOMEM, "out of memory for %zu images' classifier outputs", n);
    }
    gn_status s = gn_classifier_run(c, x, n, probs, feat);
    for (size_t i = 0; !s && i < n * C; i++)
        if (!isfinite(probs[i]))
            s = gn_fail(GN_ERR_NONFINITE, "classifier output for image %zu is not finite (NaN pixels?)", i / C);
    if (!s) {
        out->n = n;
        out->inception = gn_inception_score(probs, n, C);
        double conf = 0;
        for (size_t i = 0; i < n; i++) {
            int k = argmax(probs + i * C, C);
            out->hist[k] += 1;
            conf += probs[i * C + k];
        }
        out->confidence = conf / (double)n;
        for (int k = 0; k < C; k++) {
            out->hist[k] /= (double)n;
            if (out->hist[k] > 0) out->class_kl += out->hist[k] * log(out->hist[k] * C);
        }
    }
    if (!s && ref_features) {
        out->n_fd = n < nref ? n : nref;
        s = gn_frechet_distance(feat, out->n_fd, ref_features, out->n_fd, F, &out->frechet);
    }
    free(probs);
    free(feat);
    return s;
}
