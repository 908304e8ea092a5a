/* Whole GAN iterations of small G and D against a reference computed
 * independently in PyTorch (float64), test/gen_golden_iter.py, which writes
 * test/data/golden_iter.bin: the seed notebook's train_for_n as src/gan.c
 * runs it (D on [real; fake] with labels [1; 0], class 1 = real, softmax
 * cross-entropy, Adam on D; then G on fresh noise through a frozen D, Adam
 * on G), two iterations per case. After each iteration every parameter and
 * running statistic of both networks, and the step's losses and D outputs,
 * are compared.
 *
 * Cases: a D without batch norm (one batch of 2B, dropout keyed by the step)
 * and one with it (the real and generated halves as two batches, each
 * weighted 0.5, dropout keyed per half), label smoothing, --d-steps 2,
 * --d-pretrain 1, the three generator losses, and the hinge loss (--loss
 * hinge) for D and G, with either D; and PyTorch's dcgan example in small
 * (radford: bias-free layers, G from a 1x1 noise map by a valid 4x4
 * transposed convolution, D with batch norm ending in one logit, binary
 * cross-entropy from it), with cross-entropy, the minimax G loss and hinge.
 *
 * The random draws are gannet's own: the real-batch indices (the data set's
 * labels are the item numbers, so gn_dataset_sample returns them), the noise
 * vectors (gn_gan_noise) and the dropout masks (a probe network: D's layers
 * up to a dropout layer, weights 0 and biases 1, so that it outputs the mask
 * times 1 / (1 - rate)), each drawn here with the counters that src/gan.c
 * documents: D step k of iteration t reads minibatch t K + k and noise and
 * keys t (K + 1) + k, the G step noise and key t (K + 1) + K, pre-training
 * step p all three from 2^40 + p; D in the D step keys its dropout 4 key
 * (4 key + 1 for a separate generated half), D in the G step 4 key + 2.
 * `test_golden_iter --export-draws FILE` writes them for the reference;
 * golden_iter.bin keeps a checksum of them, so a changed generator or
 * schedule is reported as such, not as wrong maths.
 *
 * Tolerance, per element: |got - want| <= 1e-4 |want| + 1e-6 (relative,
 * with an absolute floor for values near zero). The Adam state starts
 * non-zero (as if 4 steps had been taken), so that an update depends on the
 * size of the gradient and not only on its sign.
 *
 * The same cases run again in bf16 (where the CPU has bf16 dot products),
 * every oneDNN pass in bf16 (GN_PRECISION_BF16_ALL: these layers are
 * narrower than --precision bf16's rule keeps in bf16), at the bf16 tolerance: |got - want| <= 2e-2 |want| + a,
 * a = 2e-4, or 8e-3 for the dcgan and radford pairs. bf16 keeps 8 significant bits
 * (relative rounding error up to 2^-9, 0.2%) on every input and weight of
 * the oneDNN layers: losses and D outputs move by under 1%. In the dcgan and
 * radford pairs (batch norm in D too, batch 4) some weight gradients are smaller than that
 * noise, and a flipped sign turns an Adam step of about +lr into -lr: its
 * absolute term allows two such steps of lr 2e-3 in each of the two
 * iterations. The worst error seen is printed; a G step on stale noise must
 * still fail at these tolerances. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "gannet/gan.h"
#include "gannet/rng.h"
#include "util.h"
#include "util_net.h"

#define REL_TOL_F32 1e-4
#define ABS_TOL_F32 1e-6
#define REL_TOL_BF16 2e-2
#define ABS_TOL_BF16 2e-4
#define ABS_TOL_BF16_DCGAN 8e-3 /* pairs with batch norm in D: dcgan, radford */
/* the tolerance in force: fp32's, or bf16's while a bf16 case runs */
static double REL_TOL = REL_TOL_F32, ABS_TOL = ABS_TOL_F32;
#define BATCH 4
#define ZDIM 4
#define ITERS 2
#define DATA_N 12 /* images of 8x8x1 in the fixed data set */
#define SIDE 8
#define SEED 7
#define PRETRAIN_BASE ((uint64_t)1 << 40) /* as src/gan.c */
#define REF_FILE "golden_iter.bin"
#define REF_MAKER "test/gen_golden_iter.py"

/* ---- the networks, exactly as test/gen_golden_iter.py describes them ---- */

typedef struct layer {
    gn_layer_kind kind;
    int n, k, s;       /* units or filters (upsampling: factor), kernel, stride */
    gn_padding pad;
    float a, b;        /* BN momentum and eps; LeakyReLU slope; dropout rate */
    gn_shape to;       /* reshape */
    int no_bias;       /* conv, deconv: bias=0 */
} layer;

#define DENSE(u) {GN_LAYER_DENSE, u, 0, 0, 0, 0, 0, {0, 0, 0}, 0}
#define CONV(f, k, s, p) {GN_LAYER_CONV2D, f, k, s, p, 0, 0, {0, 0, 0}, 0}
#define DECONV(f, k, s, p) {GN_LAYER_DECONV2D, f, k, s, p, 0, 0, {0, 0, 0}, 0}
#define BN(m, e) {GN_LAYER_BATCHNORM, 0, 0, 0, 0, m, e, {0, 0, 0}, 0}
#define ACT(kind) {kind, 0, 0, 0, 0, 0, 0, {0, 0, 0}, 0}
#define LEAKY(a) {GN_LAYER_LEAKY_RELU, 0, 0, 0, 0, a, 0, {0, 0, 0}, 0}
#define DROPOUT(r) {GN_LAYER_DROPOUT, 0, 0, 0, 0, r, 0, {0, 0, 0}, 0}
#define UPSAMPLE(f) {GN_LAYER_UPSAMPLE, f, 0, 0, 0, 0, 0, {0, 0, 0}, 0}
#define RESHAPE(h, w, c) {GN_LAYER_RESHAPE, 0, 0, 0, 0, 0, 0, {h, w, c}, 0}
#define CONV_NB(f, k, s, p) {GN_LAYER_CONV2D, f, k, s, p, 0, 0, {0, 0, 0}, 1}
#define DECONV_NB(f, k, s, p) {GN_LAYER_DECONV2D, f, k, s, p, 0, 0, {0, 0, 0}, 1}

/* seed: the notebook's shapes in small: G upsamples and convolves, D has
 * dropout and no batch norm (one D batch of 2B). */
static const layer G_SEED[] = {
    DENSE(32), BN(0.99f, 1e-3f), ACT(GN_LAYER_RELU), RESHAPE(4, 4, 2), UPSAMPLE(2),
    CONV(2, 3, 1, GN_PAD_SAME), BN(0.99f, 1e-3f), ACT(GN_LAYER_RELU), CONV(1, 1, 1, GN_PAD_SAME),
    ACT(GN_LAYER_SIGMOID)};
static const layer D_SEED[] = {
    CONV(2, 3, 2, GN_PAD_SAME), ACT(GN_LAYER_RELU), LEAKY(0.2f), DROPOUT(0.25f),
    ACT(GN_LAYER_FLATTEN), DENSE(4), LEAKY(0.2f), DROPOUT(0.25f), DENSE(2), ACT(GN_LAYER_SOFTMAX)};
/* dcgan: transposed convolutions, a D with batch norm (the halves run
 * separately) and one dropout layer, so that both halves' keys are used. */
static const layer G_DCGAN[] = {
    DENSE(32), BN(0.9f, 1e-5f), ACT(GN_LAYER_RELU), RESHAPE(2, 2, 8), DECONV(4, 4, 2, GN_PAD_SAME),
    BN(0.9f, 1e-5f), ACT(GN_LAYER_RELU), DECONV(1, 4, 2, GN_PAD_SAME), ACT(GN_LAYER_TANH)};
static const layer D_DCGAN[] = {
    CONV(4, 4, 2, GN_PAD_SAME), LEAKY(0.2f), CONV(8, 4, 2, GN_PAD_SAME), BN(0.9f, 1e-5f),
    LEAKY(0.2f), ACT(GN_LAYER_FLATTEN), DROPOUT(0.2f), DENSE(2), ACT(GN_LAYER_SOFTMAX)};

/* radford: dcgan-64x64x3.gnm in small (8x8x1 images): no biases, G's
 * first layer a valid 4x4 transposed convolution of the 1x1 noise, D with
 * batch norm (the halves run separately) ending in one logit. */
static const layer G_RADFORD[] = {
    DECONV_NB(8, 4, 1, GN_PAD_VALID), BN(0.9f, 1e-5f), ACT(GN_LAYER_RELU), DECONV_NB(1, 4, 2, GN_PAD_SAME),
    ACT(GN_LAYER_TANH)};
static const layer D_RADFORD[] = {
    CONV_NB(4, 4, 2, GN_PAD_SAME), LEAKY(0.2f), CONV_NB(8, 2, 2, GN_PAD_SAME), BN(0.9f, 1e-5f), LEAKY(0.2f),
    CONV_NB(1, 2, 1, GN_PAD_VALID)};

typedef struct pair {
    const char *name;
    const layer *g, *d;
    int ng, nd;
    gn_noise_kind noise;
    gn_pixel_range range;
    float g_lr, d_lr, beta1;
} pair;

#define COUNT(a) ((int)(sizeof a / sizeof a[0]))
static const pair PAIRS[] = {
    {"seed", G_SEED, D_SEED, COUNT(G_SEED), COUNT(D_SEED), GN_NOISE_UNIFORM, GN_RANGE_01, 2e-3f,
     1e-3f, 0.9f},
    {"dcgan", G_DCGAN, D_DCGAN, COUNT(G_DCGAN), COUNT(D_DCGAN), GN_NOISE_NORMAL, GN_RANGE_PM1,
     2e-3f, 2e-3f, 0.5f},
    {"radford", G_RADFORD, D_RADFORD, COUNT(G_RADFORD), COUNT(D_RADFORD), GN_NOISE_NORMAL, GN_RANGE_PM1,
     2e-3f, 2e-3f, 0.5f},
};

typedef struct iter_case {
    const char *name;
    int pair, d_steps, d_pretrain;
    gn_gen_loss g_loss;
    float smoothing;
    gn_loss_kind loss;
} iter_case;

static const iter_case CASES[] = {
    {"seed", 0, 1, 0, GN_GLOSS_NONSATURATING, 0, GN_LOSS_CROSS_ENTROPY},
    {"dcgan", 1, 1, 0, GN_GLOSS_NONSATURATING, 0, GN_LOSS_CROSS_ENTROPY},
    {"seed_smooth", 0, 1, 0, GN_GLOSS_NONSATURATING, 0.1f, GN_LOSS_CROSS_ENTROPY},
    {"dcgan_smooth", 1, 1, 0, GN_GLOSS_NONSATURATING, 0.2f, GN_LOSS_CROSS_ENTROPY},
    {"seed_dsteps2", 0, 2, 0, GN_GLOSS_NONSATURATING, 0, GN_LOSS_CROSS_ENTROPY},
    {"dcgan_dsteps2", 1, 2, 0, GN_GLOSS_NONSATURATING, 0, GN_LOSS_CROSS_ENTROPY},
    {"seed_pretrain1", 0, 1, 1, GN_GLOSS_NONSATURATING, 0, GN_LOSS_CROSS_ENTROPY},
    {"seed_minimax", 0, 1, 0, GN_GLOSS_MINIMAX, 0, GN_LOSS_CROSS_ENTROPY},
    {"seed_ml", 0, 1, 0, GN_GLOSS_ML, 0, GN_LOSS_CROSS_ENTROPY},
    {"seed_hinge", 0, 1, 0, GN_GLOSS_NONSATURATING, 0, GN_LOSS_HINGE},
    {"dcgan_hinge", 1, 2, 0, GN_GLOSS_NONSATURATING, 0, GN_LOSS_HINGE},
    {"radford", 2, 1, 0, GN_GLOSS_NONSATURATING, 0, GN_LOSS_CROSS_ENTROPY},
    {"radford_smooth_minimax", 2, 1, 0, GN_GLOSS_MINIMAX, 0.1f, GN_LOSS_CROSS_ENTROPY},
    {"radford_hinge", 2, 1, 0, GN_GLOSS_NONSATURATING, 0, GN_LOSS_HINGE},
};
#define NCASES COUNT(CASES)

/* The network of `spec`: layers [0, upto], upto < 0 for all of them. */
static gn_net *build(const char *name, const layer *spec, int n, gn_shape input, int upto) {
    gn_net *net = gn_net_new(name, input);
    ck_assert(net != NULL);
    for (int i = 0; i < n && (upto < 0 || i <= upto); i++) {
        const layer *L = &spec[i];
        switch (L->kind) {
        case GN_LAYER_DENSE: gn_net_add_dense(net, L->n); break;
        case GN_LAYER_CONV2D: gn_net_add_conv2d(net, L->n, L->k, L->s, L->pad); break;
        case GN_LAYER_DECONV2D: gn_net_add_deconv2d(net, L->n, L->k, L->s, L->pad); break;
        case GN_LAYER_BATCHNORM: gn_net_add_batchnorm(net, L->a, L->b); break;
        case GN_LAYER_RELU: gn_net_add_relu(net); break;
        case GN_LAYER_LEAKY_RELU: gn_net_add_leaky_relu(net, L->a); break;
        case GN_LAYER_SIGMOID: gn_net_add_sigmoid(net); break;
        case GN_LAYER_TANH: gn_net_add_tanh(net); break;
        case GN_LAYER_SOFTMAX: gn_net_add_softmax(net); break;
        case GN_LAYER_DROPOUT: gn_net_add_dropout(net, L->a); break;
        case GN_LAYER_UPSAMPLE: gn_net_add_upsample(net, L->n); break;
        case GN_LAYER_RESHAPE: gn_net_add_reshape(net, L->to); break;
        case GN_LAYER_FLATTEN: gn_net_add_flatten(net); break;
        default: ck_abort_msg("layer kind %d is not used here", (int)L->kind);
        }
        if (L->no_bias) gn_net_no_bias(net);
    }
    ck_assert_msg(gn_net_build(net, GN_INIT_GLOROT_UNIFORM, 1) == GN_OK, "%s: %s", name,
                  gn_last_error());
    return net;
}

static gn_net *build_g(const pair *p) {
    return build("G", p->g, p->ng, (gn_shape){1, 1, ZDIM}, -1);
}

static gn_net *build_d(const pair *p) {
    return build("D", p->d, p->nd, (gn_shape){SIDE, SIDE, 1}, -1);
}

static gn_gan_config case_config(const iter_case *c) {
    const pair *p = &PAIRS[c->pair];
    gn_gan_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.preset, sizeof cfg.preset, "%s", c->name);
    cfg.batch = BATCH;
    cfg.iters = ITERS;
    cfg.g_lr = p->g_lr;
    cfg.d_lr = p->d_lr;
    cfg.beta1 = p->beta1;
    cfg.beta2 = 0.999f;
    cfg.eps = 1e-7f;
    cfg.g_loss = c->g_loss;
    cfg.d_steps = c->d_steps;
    cfg.d_pretrain = c->d_pretrain;
    cfg.label_smoothing = c->smoothing;
    cfg.loss = c->loss;
    cfg.noise = p->noise;
    cfg.zdim = ZDIM;
    cfg.range = p->range;
    cfg.seed = SEED;
    return cfg;
}

/* The settings the reference reads: pair, batch, zdim, iterations, d_steps,
 * d_pretrain, g_loss, label smoothing, noise, range, seed, g_lr, d_lr,
 * beta1, beta2, eps, loss (0 cross-entropy, 1 hinge). */
#define NCFG 17
static void config_array(const iter_case *c, float out[NCFG]) {
    gn_gan_config g = case_config(c);
    float v[NCFG] = {(float)c->pair, (float)g.batch, (float)g.zdim, (float)g.iters,
                     (float)g.d_steps, (float)g.d_pretrain, (float)g.g_loss, g.label_smoothing,
                     (float)g.noise, (float)g.range, (float)g.seed, g.g_lr, g.d_lr, g.beta1,
                     g.beta2, g.eps, (float)g.loss};
    memcpy(out, v, sizeof v);
}

/* ---- the random draws ---- */

/* The fixed data set's shape, pixels zero until the reference's are loaded;
 * label i = item i, so that sampling reports the indices it drew. */
static gn_dataset make_dataset(const float *pixels) {
    gn_dataset ds = {.n = DATA_N, .h = SIDE, .w = SIDE, .c = 1, .pixels = malloc(DATA_N * SIDE * SIDE),
                     .labels = malloc(DATA_N)};
    ck_assert(ds.pixels && ds.labels);
    for (int i = 0; i < DATA_N * SIDE * SIDE; i++) ds.pixels[i] = pixels ? (uint8_t)pixels[i] : 0;
    for (int i = 0; i < DATA_N; i++) ds.labels[i] = (uint8_t)i;
    return ds;
}

/* Where one draw goes: into the export file (names "PREFIX.what"), or into
 * a running FNV-1a checksum. */
typedef struct sink {
    tu_golden *out;
    const char *prefix;
    uint64_t fnv;
} sink;

static void put(sink *k, const char *what, const float *x, size_t n) {
    const unsigned char *b = (const unsigned char *)x;
    for (size_t i = 0; i < n * sizeof(float); i++) k->fnv = (k->fnv ^ b[i]) * 0x100000001b3ull;
    if (!k->out) return;
    char name[128];
    snprintf(name, sizeof name, "%s.%s", k->prefix, what);
    ck_assert(tu_golden_add(k->out, name, x, n) == 0);
}

#define MAX_PROBES 16
static gn_net *probes[COUNT(PAIRS)][MAX_PROBES];

/* The probe for D's dropout layer j of pair p: D's layers up to j, weights
 * 0 and biases (BN: beta) 1, so that the input of layer j is all ones and
 * its output the mask times 1 / (1 - rate). Built once, until probes_free. */
static gn_net *probe_net(int p, int j) {
    ck_assert(j < MAX_PROBES);
    if (probes[p][j]) return probes[p][j];
    gn_net *probe = build("probe", PAIRS[p].d, PAIRS[p].nd, (gn_shape){SIDE, SIDE, 1}, j);
    for (int i = 0; i < j; i++) {
        size_t nw, nb;
        float *w = gn_net_layer_weights(probe, i, &nw), *b = gn_net_layer_bias(probe, i, &nb);
        if (!w) continue;
        memset(w, 0, nw * sizeof(float));
        for (size_t e = 0; e < nb; e++) b[e] = 1.0f;
    }
    gn_net_params_changed(probe);
    return probes[p][j] = probe;
}

static void probes_free(void) {
    for (int p = 0; p < COUNT(PAIRS); p++)
        for (int j = 0; j < MAX_PROBES; j++) {
            gn_net_free(probes[p][j]);
            probes[p][j] = NULL;
        }
}

/* The masks (times 1 / (1 - rate)) that D's dropout layers draw for a
 * batch of n keyed by `step`. */
static void put_masks(sink *k, int p, int n, uint64_t step, const char *half) {
    for (int j = 0; j < PAIRS[p].nd; j++) {
        if (PAIRS[p].d[j].kind != GN_LAYER_DROPOUT) continue;
        static float x[2 * BATCH * SIDE * SIDE];
        gn_tensor xt = gn_tensor_f32(x, n, (gn_shape){SIDE, SIDE, 1});
        const gn_tensor *y;
        ck_assert_int_eq(gn_net_forward(probe_net(p, j), &xt, GN_TRAIN, SEED, step, &y), GN_OK);
        char what[64];
        snprintf(what, sizeof what, "mask%d%s", j, half);
        put(k, what, y->data, gn_tensor_count(y));
    }
}

/* The draws of one D step (data, noise and key counters as src/gan.c's). */
static void put_d_step(sink *k, gn_gan *gan, const gn_dataset *ds, int p, int split,
                       uint64_t data_step, uint64_t noise_step, uint64_t key) {
    static float img[BATCH * SIDE * SIDE], z[BATCH * ZDIM];
    int idx[BATCH];
    float fidx[BATCH];
    gn_dataset_sample(ds, img, idx, BATCH, SEED, data_step, PAIRS[p].range);
    for (int i = 0; i < BATCH; i++) fidx[i] = (float)idx[i];
    put(k, "idx", fidx, BATCH);
    gn_gan_noise(gan, z, BATCH, GN_STREAM_NOISE, noise_step * BATCH * ZDIM);
    put(k, "z", z, BATCH * ZDIM);
    if (split) {
        put_masks(k, p, BATCH, 4 * key, "real");
        put_masks(k, p, BATCH, 4 * key + 1, "fake");
    } else {
        put_masks(k, p, 2 * BATCH, 4 * key, "");
    }
}

static void put_g_step(sink *k, gn_gan *gan, int p, uint64_t noise_step, uint64_t key) {
    static float z[BATCH * ZDIM];
    gn_gan_noise(gan, z, BATCH, GN_STREAM_NOISE, noise_step * BATCH * ZDIM);
    put(k, "z", z, BATCH * ZDIM);
    put_masks(k, p, BATCH, 4 * key + 2, "");
}

/* Every draw of a case, in the order of use; returns their checksum. Names:
 * case.NAME.itT.preP.*, case.NAME.itT.dK.*, case.NAME.itT.g.*. */
static uint64_t case_draws(const iter_case *c, gn_gan *gan, tu_golden *out) {
    int p = c->pair;
    gn_dataset ds = make_dataset(NULL);
    int split = 0; /* a D with batch norm runs the halves as two batches */
    for (int j = 0; j < PAIRS[p].nd; j++) split |= PAIRS[p].d[j].kind == GN_LAYER_BATCHNORM;
    uint64_t K = (uint64_t)c->d_steps, fnv = 0xcbf29ce484222325ull;
    char prefix[128];
    sink k = {out, prefix, fnv};
    for (uint64_t t = 0; t < ITERS; t++) {
        for (uint64_t q = 0; t == 0 && q < (uint64_t)c->d_pretrain; q++) {
            snprintf(prefix, sizeof prefix, "case.%s.it%d.pre%d", c->name, (int)t, (int)q);
            uint64_t s = PRETRAIN_BASE + q;
            put_d_step(&k, gan, &ds, p, split, s, s, s);
        }
        for (uint64_t d = 0; d < K; d++) {
            snprintf(prefix, sizeof prefix, "case.%s.it%d.d%d", c->name, (int)t, (int)d);
            put_d_step(&k, gan, &ds, p, split, t * K + d, t * (K + 1) + d, t * (K + 1) + d);
        }
        snprintf(prefix, sizeof prefix, "case.%s.it%d.g", c->name, (int)t);
        put_g_step(&k, gan, p, t * (K + 1) + K, t * (K + 1) + K);
    }
    gn_dataset_free(&ds);
    return k.fnv;
}

/* A 64-bit checksum as four exact 16-bit floats. */
static void fnv_array(uint64_t h, float out[4]) {
    for (int i = 0; i < 4; i++) out[i] = (float)((h >> (16 * i)) & 0xffff);
}

/* ---- loading, running, comparing ---- */

/* Sets net's parameters (and Adam moments, when o is not NULL) and running
 * statistics to the reference's "net.PAIR.NET.*" arrays. */
static void load_net(const tu_golden *g, const char *pname, gn_net *net, gn_optim *o) {
    const char *nm = gn_net_name(net);
    const float *base = gn_net_params(net);
    char name[128];
    for (int i = 0; i < gn_net_layer_count(net); i++) {
        size_t n[2];
        float *t[2] = {gn_net_layer_weights(net, i, &n[0]), gn_net_layer_bias(net, i, &n[1])};
        if (!t[0]) continue;
        for (int j = 0; j < 2; j++) {
            const char *wb = j ? "b" : "w";
            if (!n[j]) { /* a layer without a bias: the reference's b is empty */
                snprintf(name, sizeof name, "net.%s.%s.%d.%s", pname, nm, i, wb);
                tu_golden_get(g, name, 0);
                continue;
            }
            snprintf(name, sizeof name, "net.%s.%s.%d.%s", pname, nm, i, wb);
            memcpy(t[j], tu_golden_get(g, name, n[j]), n[j] * sizeof(float));
            if (!o) continue;
            snprintf(name, sizeof name, "net.%s.%s.%d.%s.m", pname, nm, i, wb);
            memcpy(o->m + (t[j] - base), tu_golden_get(g, name, n[j]), n[j] * sizeof(float));
            snprintf(name, sizeof name, "net.%s.%s.%d.%s.v", pname, nm, i, wb);
            memcpy(o->v + (t[j] - base), tu_golden_get(g, name, n[j]), n[j] * sizeof(float));
        }
    }
    snprintf(name, sizeof name, "net.%s.%s.state", pname, nm);
    size_t ns = gn_net_state_count(net);
    memcpy(gn_net_state(net), tu_golden_get(g, name, ns), ns * sizeof(float));
    gn_net_params_changed(net);
}

/* Elements of got (count) out of tolerance against the reference array
 * `name`; the worst is added to *worst as |got - want| / (|want| + floor). */
static int compare(const tu_golden *g, const char *name, const float *got, size_t count,
                   double *worst, char *worst_at, size_t at_len) {
    const float *want = tu_golden_get(g, name, count);
    int bad = 0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)got[i] - want[i]);
        double rel = d / (fabs(want[i]) + ABS_TOL / REL_TOL);
        if (!(d <= REL_TOL * fabs(want[i]) + ABS_TOL)) bad++; /* NaN counts as bad */
        if (!(rel <= *worst)) {
            *worst = rel;
            snprintf(worst_at, at_len, "%s[%zu] got %.8g want %.8g", name, i, got[i], want[i]);
        }
    }
    return bad;
}

/* Compares a network's parameters and running statistics after iteration
 * `it` with "case.NAME.itT.NET.*". */
static int compare_net(const tu_golden *g, const char *prefix, gn_net *net, double *worst,
                       char *at, size_t at_len) {
    const char *nm = gn_net_name(net);
    char name[160];
    int bad = 0;
    for (int i = 0; i < gn_net_layer_count(net); i++) {
        size_t nw, nb;
        float *w = gn_net_layer_weights(net, i, &nw), *b = gn_net_layer_bias(net, i, &nb);
        if (!w) continue;
        snprintf(name, sizeof name, "%s.%s.%d.w", prefix, nm, i);
        bad += compare(g, name, w, nw, worst, at, at_len);
        snprintf(name, sizeof name, "%s.%s.%d.b", prefix, nm, i);
        bad += compare(g, name, b, nb, worst, at, at_len);
    }
    snprintf(name, sizeof name, "%s.%s.state", prefix, nm);
    bad += compare(g, name, gn_net_state(net), gn_net_state_count(net), worst, at, at_len);
    return bad;
}

/* One iteration: gannet's own, or (reuse_noise) the G step run on the last
 * D step's noise instead of fresh noise, which the test must notice. */
static void iterate(gn_gan *gan, const gn_dataset *ds, int reuse_noise, gn_step_stats *st) {
    if (!reuse_noise) {
        ck_assert_msg(gn_gan_iteration(gan, ds, st) == GN_OK, "%s", gn_last_error());
        return;
    }
    uint64_t K = (uint64_t)gan->cfg.d_steps, t = gan->iter;
    for (uint64_t k = 0; k < K; k++)
        ck_assert_int_eq(gn_gan_d_step(gan, ds, t * K + k, t * (K + 1) + k, t * (K + 1) + k, st),
                         GN_OK);
    ck_assert_int_eq(gn_gan_g_step(gan, t * (K + 1) + K - 1, t * (K + 1) + K, st), GN_OK);
    gan->iter++;
}

/* Runs case c from the reference's starting point; returns the number of
 * elements out of tolerance over all iterations. */
static int run_case(const tu_golden *g, const iter_case *c, int reuse_noise, int verbose,
                    gn_precision precision) {
    const pair *p = &PAIRS[c->pair];
    char name[160];
    float cfga[NCFG];
    config_array(c, cfga);
    snprintf(name, sizeof name, "case.%s.cfg", c->name);
    ck_assert_msg(!memcmp(tu_golden_get(g, name, NCFG), cfga, sizeof cfga),
                  "case %s: settings differ from those %s was made with: run %s", c->name,
                  REF_FILE, REF_MAKER);
    gn_gan_config cfg = case_config(c);
    cfg.precision = precision;
    REL_TOL = precision == GN_PRECISION_FP32 ? REL_TOL_F32 : REL_TOL_BF16;
    ABS_TOL = precision == GN_PRECISION_FP32 ? ABS_TOL_F32
              : strcmp(p->name, "dcgan") && strcmp(p->name, "radford") ? ABS_TOL_BF16
                                                                        : ABS_TOL_BF16_DCGAN;
    gn_gan *gan;
    ck_assert_msg(gn_gan_create_from_nets(&gan, &cfg, build_g(p), build_d(p)) == GN_OK, "%s",
                  gn_last_error());
    /* the draws this gannet makes must be those the reference used */
    float fnv[4];
    fnv_array(case_draws(c, gan, NULL), fnv);
    snprintf(name, sizeof name, "case.%s.draws", c->name);
    ck_assert_msg(!memcmp(tu_golden_get(g, name, 4), fnv, sizeof fnv),
                  "case %s: gannet's random draws (indices, noise, dropout masks) differ from "
                  "those %s was made with: the generator or the counter schedule changed; run %s",
                  c->name, REF_FILE, REF_MAKER);
    load_net(g, p->name, gan->G, &gan->og);
    load_net(g, p->name, gan->D, &gan->od);
    gan->og.t = gan->od.t = (uint64_t)tu_golden_get(g, "adam_t0", 1)[0];
    gn_dataset ds = make_dataset(tu_golden_get(g, "data", DATA_N * SIDE * SIDE));
    int bad = 0;
    for (int t = 0; t < ITERS; t++) {
        gn_step_stats st;
        iterate(gan, &ds, reuse_noise, &st);
        char prefix[128], at[256] = "";
        double worst = 0;
        snprintf(prefix, sizeof prefix, "case.%s.it%d", c->name, t);
        int b = compare_net(g, prefix, gan->G, &worst, at, sizeof at);
        b += compare_net(g, prefix, gan->D, &worst, at, sizeof at);
        float stats[4] = {st.d_loss, st.g_loss, st.d_real, st.d_fake};
        snprintf(name, sizeof name, "%s.stats", prefix);
        b += compare(g, name, stats, 4, &worst, at, sizeof at);
        if (verbose)
            printf("  %-15s iteration %d: %4d elements out of tolerance, worst rel err %.2e (%s)\n",
                   c->name, t + 1, b, worst, at);
        fflush(stdout); /* a failing test's process ends without flushing */
        bad += b;
    }
    gn_dataset_free(&ds);
    gn_gan_free(gan);
    probes_free();
    return bad;
}

START_TEST(test_golden_iteration) {
    tu_golden g;
    tu_golden_load(&g, REF_FILE, REF_MAKER);
    const iter_case *c = &CASES[_i];
    int bad = run_case(&g, c, 0, 1, GN_PRECISION_FP32);
    ck_assert_msg(bad == 0, "case %s: %d elements out of tolerance", c->name, bad);
    tu_golden_free(&g);
}
END_TEST

START_TEST(test_golden_iteration_bf16) {
    if (!tu_have_bf16()) return;
    tu_golden g;
    tu_golden_load(&g, REF_FILE, REF_MAKER);
    const iter_case *c = &CASES[_i];
    int bad = run_case(&g, c, 0, 1, GN_PRECISION_BF16_ALL);
    ck_assert_msg(bad == 0, "case %s in bf16: %d elements out of the bf16 tolerance", c->name, bad);
    tu_golden_free(&g);
}
END_TEST

/* The comparison must see a G step that reuses the last D step's noise, in
 * either precision. */
static void expect_stale_noise_seen(int i, gn_precision precision, const char *what) {
    tu_golden g;
    tu_golden_load(&g, REF_FILE, REF_MAKER);
    int bad = run_case(&g, &CASES[i], 1, 0, precision);
    printf("%s%s with the G step on the D step's noise: %d elements out of tolerance\n", CASES[i].name,
           what, bad);
    ck_assert_msg(bad > 0, "case %s%s: a G step on stale noise went unnoticed", CASES[i].name, what);
    tu_golden_free(&g);
}

START_TEST(test_golden_iteration_bf16_detects_stale_noise) {
    if (tu_have_bf16()) expect_stale_noise_seen(_i, GN_PRECISION_BF16_ALL, " in bf16");
}
END_TEST

START_TEST(test_golden_iteration_detects_stale_noise) {
    expect_stale_noise_seen(_i, GN_PRECISION_FP32, "");
}
END_TEST

START_TEST(test_from_nets_checks_shapes) {
    gn_gan_config cfg = case_config(&CASES[0]);
    gn_gan *gan = NULL;
    cfg.zdim = ZDIM + 1;
    ck_assert_int_eq(gn_gan_create_from_nets(&gan, &cfg, build_g(&PAIRS[0]), build_d(&PAIRS[0])),
                     GN_ERR_SHAPE);
    ck_assert_msg(strstr(gn_last_error(), "zdim 5") != NULL, "%s", gn_last_error());
    cfg.zdim = ZDIM;
    gn_net *D = build("D", D_SEED, COUNT(D_SEED), (gn_shape){SIDE, SIDE, 2}, -1);
    ck_assert_int_eq(gn_gan_create_from_nets(&gan, &cfg, build_g(&PAIRS[0]), D), GN_ERR_SHAPE);
    ck_assert_msg(strstr(gn_last_error(), "D takes 8x8x2") != NULL, "%s", gn_last_error());
    D = build("D", D_SEED, COUNT(D_SEED) - 2, (gn_shape){SIDE, SIDE, 1}, -1);
    ck_assert_int_eq(gn_gan_create_from_nets(&gan, &cfg, build_g(&PAIRS[0]), D), GN_ERR_SHAPE);
    ck_assert_msg(strstr(gn_last_error(), "4 outputs") != NULL, "%s", gn_last_error());
    cfg.batch = 0;
    ck_assert_int_eq(gn_gan_create_from_nets(&gan, &cfg, build_g(&PAIRS[0]), build_d(&PAIRS[0])),
                     GN_ERR_ARG);
    ck_assert(gan == NULL);
}
END_TEST

/* Writes every case's settings and draws for test/gen_golden_iter.py (run
 * as a test: Check's assertions work only inside one). */
static const char *export_path;

START_TEST(test_export_draws) {
    tu_golden out = {0};
    for (int i = 0; i < NCASES; i++) {
        const iter_case *c = &CASES[i];
        const pair *p = &PAIRS[c->pair];
        gn_gan_config cfg = case_config(c);
        gn_gan *gan;
        ck_assert_msg(gn_gan_create_from_nets(&gan, &cfg, build_g(p), build_d(p)) == GN_OK,
                      "case %s: %s", c->name, gn_last_error());
        char name[128];
        float cfga[NCFG], fnv[4];
        config_array(c, cfga);
        snprintf(name, sizeof name, "case.%s.cfg", c->name);
        ck_assert(tu_golden_add(&out, name, cfga, NCFG) == 0);
        fnv_array(case_draws(c, gan, &out), fnv);
        snprintf(name, sizeof name, "case.%s.draws", c->name);
        ck_assert(tu_golden_add(&out, name, fnv, 4) == 0);
        gn_gan_free(gan);
    }
    ck_assert_msg(tu_golden_save(&out, export_path) == 0, "%s: cannot write", export_path);
    printf("wrote the draws of %d cases to %s\n", NCASES, export_path);
    tu_golden_free(&out);
    probes_free();
}
END_TEST

int main(int argc, char **argv) {
    /* The networks are tiny: a second thread only adds barrier waits (the
     * thread-count independence of the layers is tested in the net suite). */
    omp_set_num_threads(1);
    Suite *s = suite_create("golden_iter");
    TCase *tc = tcase_create("golden_iter");
    if (argc == 3 && !strcmp(argv[1], "--export-draws")) {
        export_path = argv[2];
        tcase_add_test(tc, test_export_draws);
    } else {
        tcase_add_loop_test(tc, test_golden_iteration, 0, NCASES);
        tcase_add_loop_test(tc, test_golden_iteration_detects_stale_noise, 0, 2);
        tcase_add_loop_test(tc, test_golden_iteration_bf16, 0, NCASES);
        tcase_add_loop_test(tc, test_golden_iteration_bf16_detects_stale_noise, 0, 2);
        tcase_add_test(tc, test_from_nets_checks_shapes);
    }
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
