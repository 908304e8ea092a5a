/* The GAN step, in the order of the seed notebook's train_for_n:
 *   1. sample B real images and B noise vectors; G makes B fakes
 *   2. D forward + backward on [real; fake] labelled [1; 0], Adam on D
 *      (no gradient for D's input image: it is never used)
 *   3. G forward on B fresh noise vectors, D forward, D backward for the input
 *      gradient only (D is frozen), G backward, Adam on G
 * G always normalises with batch statistics while training (the peer does the
 * same); images for looking at come from G in inference mode.
 *
 * When D has batch normalisation, step 2 runs the real and the generated
 * halves as two batches of B (as DCGAN does) and adds their gradients:
 * statistics over a mixed batch would let D tell the halves apart by
 * statistics that the G step, which shows D fakes alone, never has. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/augment.h"
#include "gannet/gan.h"
#include "gannet/model.h"
#include "gannet/rng.h"
#include "gannet/memory.h"
#include "dist.h"
#include "kernels.h"
#include "net_hooks.h"
#include <omp.h>

static double now(void) { return omp_get_wtime(); }

/* Floats of activations one sample needs in a network: every layer's output. */
static size_t activation_floats(const gn_net *net) {
    size_t n = 0;
    for (int i = 0; i < gn_net_layer_count(net); i++) n += gn_shape_size(gn_net_layer_output(net, i));
    return n;
}

/* Refuses a batch whose buffers cannot fit in the memory this process has
 * left, before allocating them: the kernel would hand out the address space
 * and its out-of-memory killer would end the run at the first touch. The
 * figure counts one output per layer of G and D at the batch size, the
 * images and the noise; buffers shared between layers make the real need
 * a little smaller, workspaces a little larger. */
static gn_status check_memory(const gn_gan *gan) {
    const gn_gan_config *c = &gan->cfg;
    double B = gan->local, img = (double)gn_shape_size(gn_net_output_shape(gan->G));
    double floats = B * (double)(activation_floats(gan->G) + activation_floats(gan->D)) +
                    2 * B * img + B * c->zdim;
    double need = floats * sizeof(float), gib = 1024.0 * 1024.0 * 1024.0;
    char source[96];
    size_t avail = gn_mem_available(source, sizeof source);
    if (avail == (size_t)-1 || need <= (double)avail) return GN_OK;
    return gn_fail(GN_ERR_NOMEM, "batch %d needs about %.1f GiB of activations, more than the %.1f GiB "
                   "this process may still use (%s); use a smaller --batch", gan->local, need / gib,
                   (double)avail / gib, source);
}

static gn_status check_config(const gn_gan_config *cfg) {
    unsigned aug;
    gn_status s = gn_augment_parse(cfg->augment, &aug);
    if (s) return s;
    if (cfg->batch <= 0) return gn_fail(GN_ERR_ARG, "batch size %d is not positive", cfg->batch);
    if (cfg->d_steps <= 0) return gn_fail(GN_ERR_ARG, "--d-steps %d is not positive", cfg->d_steps);
    if (cfg->loss == GN_LOSS_HINGE && cfg->label_smoothing != 0)
        return gn_fail(GN_ERR_ARG, "--label-smoothing smooths cross-entropy targets; --loss hinge has none");
    if (!(cfg->ema >= 0)) return gn_fail(GN_ERR_ARG, "--ema %g is not a half-life of 0 or more images",
                                         (double)cfg->ema);
    if (cfg->classes < 0 || cfg->classes == 1)
        return gn_fail(GN_ERR_ARG, "classes %d: a conditional model needs 2 or more (0: unconditional)",
                       cfg->classes);
    if (cfg->classes && cfg->reduce_slices > 1)
        return gn_fail(GN_ERR_ARG, "--reduce-slices runs unconditional models only (this one has %d classes)",
                       cfg->classes);
    return gn_precision_check(cfg->precision);
}

static void sum_over_ranks(void *ctx, double *buf, size_t n) {
    (void)ctx;
    gn_dist_sum_double(buf, n);
}

/* One process that adds as cfg.reduce_slices ranks with --sync-bn would
 * (net_hooks.h: gn_net_set_slices); the losses are the slices' averaged. */
static gn_status setup_slices(gn_gan *gan) {
    int k = gan->cfg.reduce_slices;
    if (gan->ranks > 1)
        return gn_fail(GN_ERR_ARG, "--reduce-slices %d makes one process add as %d ranks do; under "
                       "mpirun (%d ranks) leave it at 1", k, k, gan->ranks);
    if (gan->cfg.batch % k)
        return gn_fail(GN_ERR_ARG, "--batch %d is not divisible by --reduce-slices %d", gan->cfg.batch, k);
    if (gan->cfg.precision != GN_PRECISION_FP32)
        return gn_fail(GN_ERR_ARG, "--reduce-slices %d runs in --precision fp32 only", k);
    size_t np = gn_net_param_count(gan->G), nd = gn_net_param_count(gan->D);
    gan->slice_grads = gn_alloc((size_t)k * (np > nd ? np : nd) * sizeof(float));
    if (!gan->slice_grads) return gn_fail(GN_ERR_NOMEM, "out of memory for %d slices' gradients", k);
    gan->slices = k;
    gn_status s = gn_net_set_slices(gan->G, k, gan->slice_grads);
    return s ? s : gn_net_set_slices(gan->D, k, gan->slice_grads);
}

/* This process's share of each batch; under mpirun, the gradient averaging
 * and (--sync-bn) batch norm over every rank. */
static gn_status setup_ranks(gn_gan *gan) {
    const gn_gan_config *c = &gan->cfg;
    gan->rank = gn_dist_rank();
    gan->ranks = gn_dist_ranks();
    gan->cfg.ranks = gan->ranks;
    if (c->batch % gan->ranks)
        return gn_fail(GN_ERR_ARG, "--batch %d is not divisible by the %d ranks of this job (mpirun -np): "
                       "each rank trains on an equal share of the batch", c->batch, gan->ranks);
    gan->local = c->batch / gan->ranks;
    gan->slices = 1;
    if (c->reduce_slices > 1) return setup_slices(gan);
    if (gan->ranks == 1) return GN_OK;
    if (c->sync_bn) {
        gn_sync sync = {sum_over_ranks, NULL, gan->rank, gan->ranks, 0, 0};
        gn_net_sync_batchnorm(gan->G, &sync);
        gn_net_sync_batchnorm(gan->D, &sync);
    }
    gn_status s = gn_reducer_new(&gan->rg, gan->G);
    return s ? s : gn_reducer_new(&gan->rd, gan->D);
}

/* Where samples of this process's batch stand in the whole batch: local
 * sample i < split is first + i, the others second + (i - split); the
 * identity in one process. */
static void place_samples(gn_gan *gan, gn_net *net, uint64_t first, int split, uint64_t second) {
    gn_samples at = {0};
    if (gan->ranks > 1) at = (gn_samples){first, second, split, 0};
    else if (gan->slices > 1) /* slice s: the samples of rank s */
        at = (gn_samples){first, second, split / gan->slices, (uint64_t)(gan->local / gan->slices)};
    gn_net_set_samples(net, at);
}

gn_status gn_gan_create_from_nets(gn_gan **out, const gn_gan_config *cfg, gn_net *G, gn_net *D) {
    gn_status s = check_config(cfg);
    gn_gan *gan = s ? NULL : calloc(1, sizeof *gan);
    if (!s && !gan) s = gn_fail(GN_ERR_NOMEM, "out of memory");
    if (s) {
        gn_net_free(G);
        gn_net_free(D);
        return s;
    }
    gan->cfg = *cfg;
    gan->cfg.model = NULL;
    gan->G = G;
    gan->D = D;
    gan->head = (int)gn_shape_size(gn_net_output_shape(D));
    gn_shape gout = gn_net_output_shape(G), din = gn_net_input_shape(D);
    if (gn_shape_size(gn_net_input_shape(G)) != (size_t)cfg->zdim)
        s = gn_fail(GN_ERR_SHAPE, "zdim %d does not fit model %s (its G takes %zu)", cfg->zdim,
                    cfg->preset, gn_shape_size(gn_net_input_shape(G)));
    else if (gout.h != din.h || gout.w != din.w || gout.c != din.c)
        s = gn_fail(GN_ERR_SHAPE, "G makes %dx%dx%d images, D takes %dx%dx%d", gout.h, gout.w,
                    gout.c, din.h, din.w, din.c);
    else if (cfg->classes && gan->head != cfg->classes)
        s = gn_fail(GN_ERR_SHAPE, "D gives %d outputs, not one logit for each of the %d classes", gan->head,
                    cfg->classes);
    else if (cfg->classes && cfg->zdim <= cfg->classes)
        s = gn_fail(GN_ERR_SHAPE, "G takes %d inputs: not enough for noise and the one-hot of %d classes",
                    cfg->zdim, cfg->classes);
    else if (!cfg->classes && gan->head != 2 && gan->head != 1)
        s = gn_fail(GN_ERR_SHAPE, "D gives %d outputs, not two logits (fake, real) nor one (real)", gan->head);
    if (!s) s = gn_optim_init(&gan->og, GN_OPT_ADAM, gn_net_param_count(gan->G), cfg->g_lr, cfg->beta1,
                              cfg->beta2, cfg->eps);
    if (!s) s = gn_optim_init(&gan->od, GN_OPT_ADAM, gn_net_param_count(gan->D), cfg->d_lr, cfg->beta1,
                              cfg->beta2, cfg->eps);
    if (!s) s = setup_ranks(gan);
    if (!s) s = check_memory(gan);
    if (s) {
        gn_gan_free(gan);
        return s;
    }
    size_t B = gan->local, img = gn_shape_size(gn_net_output_shape(gan->G));
    gan->z = gn_alloc(B * cfg->zdim * sizeof(float));
    gan->images = gn_alloc(2 * B * img * sizeof(float));
    gan->targets = gn_alloc(2 * B * 2 * sizeof(float));
    gan->dlogits = gn_alloc(2 * B * (gan->head > 2 ? gan->head : 2) * sizeof(float));
    if (cfg->classes) {
        gan->labels = gn_alloc(2 * B * sizeof(int));
        gan->picked = gn_alloc(2 * B * sizeof(float));
        gan->dpicked = gn_alloc(2 * B * sizeof(float));
    }
    if (!gan->z || !gan->images || !gan->targets || !gan->dlogits ||
        (cfg->classes && (!gan->labels || !gan->picked || !gan->dpicked))) {
        gn_gan_free(gan);
        return gn_fail(GN_ERR_NOMEM, "out of memory for batch %zu", B);
    }
    for (int i = 0; i < gn_net_layer_count(gan->D); i++)
        if (gn_net_layer_kind(gan->D, i) == GN_LAYER_BATCHNORM) gan->d_split = 1;
    gn_augment_parse(cfg->augment, &gan->augment); /* checked by check_config */
    if (gan->augment) {
        gan->aug_x = gn_alloc(2 * B * img * sizeof(float));
        gan->aug_tmp = gn_alloc(2 * B * img * sizeof(float));
        gan->aug_dx = gn_alloc(B * img * sizeof(float));
        if (!gan->aug_x || !gan->aug_tmp || !gan->aug_dx) {
            gn_gan_free(gan);
            return gn_fail(GN_ERR_NOMEM, "out of memory for augmented images");
        }
    }
    if (gan->slices > 1 && !gan->d_split) gan->slice_x = gn_alloc(2 * B * img * sizeof(float));
    if (gan->d_split) /* the slices': one slab each */
        gan->d_acc = gn_alloc((size_t)gan->slices * gn_net_param_count(gan->D) * sizeof(float));
    if ((gan->d_split && !gan->d_acc) || (gan->slices > 1 && !gan->d_split && !gan->slice_x)) {
        gn_gan_free(gan);
        return gn_fail(GN_ERR_NOMEM, "out of memory");
    }
    gn_net_set_precision(gan->G, cfg->precision);
    gn_net_set_precision(gan->D, cfg->precision);
    /* G and D take turns: one set of gradient buffers and gradients serves both */
    s = gn_net_share_workspace(gan->G, gan->D);
    /* Build every primitive now so that no step allocates. */
    if (!s) s = gn_net_prepare(gan->G, (int)B);
    if (!s && !gan->d_split) s = gn_net_prepare(gan->D, (int)(2 * B));
    if (!s) s = gn_net_prepare(gan->D, (int)B);
    size_t b = B / gan->slices; /* slices: their primitives too */
    if (!s && gan->slices > 1) s = gn_net_prepare(gan->G, (int)b);
    if (!s && gan->slices > 1 && !gan->d_split) s = gn_net_prepare(gan->D, (int)(2 * b));
    if (!s && gan->slices > 1) s = gn_net_prepare(gan->D, (int)b);
    if (s) {
        gn_gan_free(gan);
        return s;
    }
    *out = gan;
    return GN_OK;
}

/* Parses and builds the model (cfg->model, or the preset's file). */
static gn_status build_model(const gn_gan_config *cfg, char **text, gn_net **G, gn_net **D) {
    size_t len;
    gn_status s;
    if (cfg->model) {
        len = strlen(cfg->model);
        *text = malloc(len + 1);
        if (!*text) return gn_fail(GN_ERR_NOMEM, "out of memory");
        memcpy(*text, cfg->model, len + 1);
    } else if ((s = gn_preset_text(cfg->preset, text, &len))) {
        return s;
    }
    char label[64];
    snprintf(label, sizeof label, "model %s", cfg->preset);
    gn_model *m;
    s = gn_model_parse(label, *text, len, &m);
    if (!s) s = gn_model_build(m, cfg->seed, G, D);
    gn_model_free(m);
    if (s) {
        free(*text);
        *text = NULL;
    }
    return s;
}

gn_status gn_gan_create(gn_gan **out, const gn_gan_config *cfg) {
    char *text = NULL;
    gn_net *G, *D;
    gn_status s = check_config(cfg);
    if (!s) s = build_model(cfg, &text, &G, &D);
    if (!s) s = gn_gan_create_from_nets(out, cfg, G, D);
    if (s) {
        free(text);
        return s;
    }
    (*out)->model_text = text;
    (*out)->cfg.model = text;
    if (cfg->ema > 0 && (s = gn_gan_ema_create(*out))) {
        gn_gan_free(*out);
        *out = NULL;
    }
    return s;
}

gn_status gn_gan_ema_create(gn_gan *gan) {
    if (!(gan->cfg.ema > 0) || gan->G_ema) return GN_OK;
    if (!gan->model_text)
        return gn_fail(GN_ERR_ARG, "--ema needs a GAN built from a model file (it builds G twice)");
    char *text;
    gn_net *G, *D;
    gn_status s = build_model(&gan->cfg, &text, &G, &D);
    if (s) return s;
    free(text);
    gn_net_free(D);
    gan->G_ema = G;
    memcpy(gn_net_params(G), gn_net_params(gan->G), gn_net_param_count(G) * sizeof(float));
    memcpy(gn_net_state(G), gn_net_state(gan->G), gn_net_state_count(G) * sizeof(float));
    gn_net_params_changed(G);
    return GN_OK;
}

void gn_gan_ema_update(gn_gan *gan, uint64_t images) {
    gn_net *E = gan->G_ema;
    if (!E) return;
    double half = gan->cfg.ema, ramp = (double)images * GN_EMA_RAMPUP;
    if (ramp < half) half = ramp;
    float beta = (float)pow(0.5, gan->cfg.batch / (half > 1e-8 ? half : 1e-8));
    float *pe = gn_net_params(E);
    const float *p = gn_net_params(gan->G);
    size_t n = gn_net_param_count(E);
    for (size_t i = 0; i < n; i++) pe[i] = p[i] + (pe[i] - p[i]) * beta; /* lerp(p, pe, beta) */
    /* running statistics belong to the weights that made them: G's, not averaged */
    memcpy(gn_net_state(E), gn_net_state(gan->G), gn_net_state_count(E) * sizeof(float));
    gn_net_params_changed(E);
}

gn_net *gn_gan_sampler(gn_gan *gan) { return gan->G_ema ? gan->G_ema : gan->G; }

void gn_gan_free(gn_gan *gan) {
    if (!gan) return;
    gn_net_free(gan->G);
    gn_net_free(gan->D);
    gn_net_free(gan->G_ema);
    gn_optim_free(&gan->og);
    gn_optim_free(&gan->od);
    gn_free(gan->z);
    gn_free(gan->images);
    gn_free(gan->targets);
    gn_free(gan->dlogits);
    gn_free(gan->labels);
    gn_free(gan->picked);
    gn_free(gan->dpicked);
    gn_free(gan->d_acc);
    gn_free(gan->slice_grads);
    gn_free(gan->slice_x);
    gn_free(gan->aug_x);
    gn_free(gan->aug_tmp);
    gn_free(gan->aug_dx);
    gn_reducer_free(gan->rg);
    gn_reducer_free(gan->rd);
    free(gan->model_text);
    free(gan);
}

int gn_gan_noise_label(const gn_gan *gan, uint64_t offset, int i) {
    if (!gan->cfg.classes) return -1;
    return (int)((offset / (uint64_t)gan->cfg.zdim + (uint64_t)i) % (uint64_t)gan->cfg.classes);
}

void gn_gan_noise(const gn_gan *gan, float *z, int n, uint64_t stream, uint64_t offset) {
    int zd = gan->cfg.zdim, K = gan->cfg.classes;
    size_t count = (size_t)n * zd;
    if (gan->cfg.noise == GN_NOISE_NORMAL)
        gn_rng_fill_normal(z, count, gan->cfg.seed, stream, offset, 0.0f, 1.0f);
    else
        gn_rng_fill_uniform(z, count, gan->cfg.seed, stream, offset, 0.0f, 1.0f);
    for (int i = 0; K && i < n; i++) { /* the class: one-hot in the last K */
        float *c = z + (size_t)i * zd + (zd - K);
        memset(c, 0, (size_t)K * sizeof(float));
        c[gn_gan_noise_label(gan, offset, i)] = 1.0f;
    }
}

/* A conditional D's loss reads, of each image's K logits, its class's: the
 * logits the loss sees, one per image (head 1). */
static const float *pick_class(gn_gan *gan, const float *logits, const int *labels, int n) {
    int K = gan->head;
    for (int i = 0; i < n; i++) gan->picked[i] = logits[(size_t)i * K + labels[i]];
    return gan->picked;
}

/* ... and their gradient, spread back to the K logits (zero but the class's). */
static void spread_class(gn_gan *gan, const int *labels, int n) {
    int K = gan->head;
    memset(gan->dlogits, 0, (size_t)n * K * sizeof(float));
    for (int i = 0; i < n; i++) gan->dlogits[(size_t)i * K + labels[i]] = gan->dpicked[i];
}

/* The logits per image that the loss reads: 1 in a conditional GAN. */
static int loss_head(const gn_gan *gan) { return gan->cfg.classes ? 1 : gan->head; }

static gn_tensor noise_tensor(gn_gan *gan, int n) {
    return gn_tensor_f32(gan->z, n, (gn_shape){1, 1, gan->cfg.zdim});
}

/* Dropout and noise keys: per step `key`, D in the D step uses 4 key (and
 * 4 key + 1 for a separate fake half), D in the G step 4 key + 2, G 4 key
 * and 4 key + 3. Augmentation keys: 4 key for D's 2B images in the D step,
 * 4 key + 2 for the B fakes of the G step. */

/* The images D reads: the 2B batch, or its augmented copy. */
static float *d_images(gn_gan *gan) { return gan->augment ? gan->aug_x : gan->images; }

/* The 2B images x, [real; fake], as the slices' batches one after the
 * other, each its real images then its fakes: what each rank's D reads. */
static float *rank_major(gn_gan *gan, const float *x, size_t img) {
    size_t part = (size_t)(gan->local / gan->slices) * img, half = (size_t)gan->local * img;
    for (int s = 0; s < gan->slices; s++) {
        memcpy(gan->slice_x + 2 * s * part, x + s * part, part * sizeof(float));
        memcpy(gan->slice_x + (2 * s + 1) * part, x + half + s * part, part * sizeof(float));
    }
    return gan->slice_x;
}

/* D's loss over n logits (nreal real images first), their gradient into
 * dlogits and the mean D(x), D(G(z)): per slice, as each rank computes
 * them, then the slices' averaged as the ranks' are (one slice: the batch's). */
static void d_loss_slices(gn_gan *gan, const float *logits, const float *targets, int n, int nreal,
                          float *loss, float *real_p, float *fake_p) {
    int k = gan->slices, m = n / k, mreal = nreal / k, H = loss_head(gan);
    float l = 0, rp = 0, fp = 0, *dlogits = gan->cfg.classes ? gan->dpicked : gan->dlogits;
    for (int s = 0; s < k; s++) {
        const float *lg = logits + (size_t)s * m * H;
        float *dl = dlogits + (size_t)s * m * H, ls, r = 0, f = 0;
        if (gan->cfg.loss == GN_LOSS_HINGE)
            ls = gn_hinge_d_loss_head(lg, m, H, mreal, dl);
        else if (H == 1)
            ls = gn_sigmoid_cross_entropy(lg, targets + (size_t)s * m, m, dl);
        else
            ls = gn_softmax_cross_entropy(lg, targets + (size_t)2 * s * m, m, 2, dl);
        if (mreal) r = gn_mean_real_prob_head(lg, mreal, H);
        if (m > mreal) f = gn_mean_real_prob_head(lg + (size_t)H * mreal, m - mreal, H);
        l = s ? l + ls : ls;
        rp = s ? rp + r : r;
        fp = s ? fp + f : f;
    }
    *loss = k > 1 ? l / k : l;
    if (nreal) *real_p = k > 1 ? rp / k : rp;
    if (n > nreal) *fake_p = k > 1 ? fp / k : fp;
}

/* D forward and backward on images [first, first + n) of the 2B batch; the
 * logits' gradient is scaled by `scale`. Loss and D(x), D(G(z)) go into st. */
static gn_status d_pass_range(gn_gan *gan, gn_shape ishape, int first, int n, float scale,
                              uint64_t key, float *loss, float *real_p, float *fake_p) {
    int B = gan->local;
    uint64_t r0 = (uint64_t)gan->rank * B; /* this rank's first image of each half */
    size_t img = gn_shape_size(ishape);
    float *images = gan->slice_x && n > B ? rank_major(gan, d_images(gan), img) /* [real; fake], sliced */
                                          : d_images(gan) + (size_t)first * img;
    gn_tensor x = gn_tensor_f32(images, n, ishape);
    const gn_tensor *probs;
    if (n > B) place_samples(gan, gan->D, r0, B, (uint64_t)gan->cfg.batch + r0); /* [real; fake] */
    else place_samples(gan, gan->D, 0, 0, r0); /* one half, a batch of its own */
    gn_status s = gn_net_forward(gan->D, &x, GN_TRAIN, gan->cfg.seed, 4 * key + (first ? 1 : 0), &probs);
    if (s) return s;
    const float *logits = gn_net_logits(gan->D, n)->data;
    int nreal = first < B ? (B - first < n ? B - first : n) : 0, H = gan->head;
    const float *targets = gan->targets + (size_t)(loss_head(gan) == 1 ? 1 : 2) * first;
    if (gan->cfg.classes) logits = pick_class(gan, logits, gan->labels + first, n);
    d_loss_slices(gan, logits, targets, n, nreal, loss, real_p, fake_p);
    if (gan->cfg.classes) spread_class(gan, gan->labels + first, n);
    for (int i = 0; i < H * n; i++) gan->dlogits[i] *= scale;
    gn_tensor dl = gn_tensor_f32(gan->dlogits, n, (gn_shape){1, 1, H});
    return gn_net_backward(gan->D, &dl, 1, NULL); /* D's input gradient is never needed here */
}

/* D on the whole [real; fake] batch of 2B. */
static gn_status d_pass(gn_gan *gan, gn_shape ishape, uint64_t key, gn_step_stats *st) {
    if (gan->rd) gn_reducer_begin(gan->rd, NULL);
    return d_pass_range(gan, ishape, 0, 2 * gan->local, 1.0f, key, &st->d_loss, &st->d_real,
                        &st->d_fake);
}

/* D on the real and the generated halves as two batches; the gradient of
 * the mean loss over all 2B images is the mean of the two halves'. */
static gn_status d_pass_split(gn_gan *gan, gn_shape ishape, uint64_t key, gn_step_stats *st) {
    int B = gan->local;
    size_t np = gn_net_param_count(gan->D);
    float lr, lf;
    gn_status s = d_pass_range(gan, ishape, 0, B, 0.5f, key, &lr, &st->d_real, &st->d_fake);
    if (s) return s;
    int k = gan->slices; /* slices: each slice's share, added to its slab before they are summed */
    memcpy(gan->d_acc, k > 1 ? gan->slice_grads : gn_net_grads(gan->D), k * np * sizeof(float));
    if (gan->rd) gn_reducer_begin(gan->rd, gan->d_acc); /* each bucket adds the real half's share */
    if (k > 1) gn_net_set_slice_add(gan->D, gan->d_acc);
    s = d_pass_range(gan, ishape, B, B, 0.5f, key, &lf, &st->d_real, &st->d_fake);
    gn_net_set_slice_add(gan->D, NULL);
    if (s) return s;
    if (!gan->rd && k == 1) gn_kern()->axpy(gn_net_grads(gan->D), gan->d_acc, np, 1.0f);
    st->d_loss = 0.5f * (lr + lf);
    return GN_OK;
}

gn_status gn_gan_d_step(gn_gan *gan, const gn_dataset *ds, uint64_t data_step, uint64_t noise_step,
                        uint64_t key, gn_step_stats *st) {
    const gn_gan_config *c = &gan->cfg;
    int B = gan->local;      /* this rank's share of the batch of c->batch */
    uint64_t r0 = (uint64_t)gan->rank * B, all = (uint64_t)c->batch;
    gn_shape ishape = gn_net_output_shape(gan->G);
    size_t img = gn_shape_size(ishape);
    double t0 = now();
    /* 1. real images into the first half, noise for the fakes */
    uint64_t zoff = noise_step * all * c->zdim + r0 * c->zdim;
    gn_dataset_sample_at(ds, gan->images, gan->labels, all, r0, B, c->seed, data_step, c->range);
    gn_gan_noise(gan, gan->z, B, GN_STREAM_NOISE, zoff);
    for (int i = 0; gan->labels && i < B; i++) { /* conditional: the classes of [real; fake] */
        if (gan->labels[i] < 0 || gan->labels[i] >= c->classes)
            return gn_fail(GN_ERR_ARG, "a training image has label %d, not one of the model's %d classes",
                           gan->labels[i], c->classes);
        gan->labels[B + i] = gn_gan_noise_label(gan, zoff, i);
    }
    double t1 = now();
    gn_tensor z = noise_tensor(gan, B);
    const gn_tensor *fake;
    place_samples(gan, gan->G, 0, 0, r0);
    gn_status s = gn_net_forward(gan->G, &z, GN_TRAIN, c->seed, 4 * key, &fake);
    if (s) return s;
    memcpy(gan->images + (size_t)B * img, fake->data, (size_t)B * img * sizeof(float));
    double t2 = now();
    /* 2. D on [real; fake] with labels [1; 0] (class 1 = real; one target
     * per image for a one-logit D) */
    int per = gan->slice_x ? 2 * B / gan->slices : 2 * B; /* the images of a slice (of all) */
    for (int i = 0; i < 2 * B; i++) {
        int real = i % per < per / 2;
        float smooth = real ? c->label_smoothing : 0.0f;
        if (loss_head(gan) == 1) {
            gan->targets[i] = real ? 1.0f - smooth : 0.0f;
            continue;
        }
        gan->targets[2 * i + 1] = real ? 1.0f - smooth : 0.0f;
        gan->targets[2 * i] = real ? smooth : 1.0f;
    }
    if (gan->augment) { /* the real half, then the fakes, each where it stands in the whole 2B */
        size_t half = (size_t)B * img;
        gn_augment_forward_at(gan->augment, gan->aug_x, gan->images, gan->aug_tmp, B, ishape, c->seed,
                              4 * key, (int)r0);
        gn_augment_forward_at(gan->augment, gan->aug_x + half, gan->images + half, gan->aug_tmp + half, B,
                              ishape, c->seed, 4 * key, (int)(all + r0));
    }
    s = gan->d_split ? d_pass_split(gan, ishape, key, st) : d_pass(gan, ishape, key, st);
    if (gan->rd) gn_reducer_end(gan->rd); /* every rank waits, also when this one failed */
    if (s) return s;
    if (!gn_kern()->all_finite(gn_net_grads(gan->D), gn_net_param_count(gan->D)))
        return gn_fail(GN_ERR_NONFINITE, "a D gradient is not finite");
    double t3 = now();
    gn_optim_step(&gan->od, gn_net_params(gan->D), gn_net_grads(gan->D));
    gn_net_params_changed(gan->D);
    double t4 = now();
    st->t.data += t1 - t0;
    st->t.g_fakes += t2 - t1;
    st->t.d_pass += t3 - t2;
    st->t.d_update += t4 - t3;
    return GN_OK;
}

/* G's loss over n logits and its gradient into dlogits: per slice, as each
 * rank computes it, then the slices' averaged as the ranks' are. */
static float g_loss_slices(gn_gan *gan, const float *logits, int n) {
    int k = gan->slices, m = n / k, H = loss_head(gan);
    float l = 0, *dlogits = gan->cfg.classes ? gan->dpicked : gan->dlogits;
    for (int s = 0; s < k; s++) {
        const float *lg = logits + (size_t)s * m * H;
        float *dl = dlogits + (size_t)s * m * H;
        float ls = gan->cfg.loss == GN_LOSS_HINGE ? gn_hinge_g_loss_head(lg, m, H, dl)
                                                 : gn_generator_loss_head(gan->cfg.g_loss, lg, m, H, dl);
        l = s ? l + ls : ls;
    }
    return k > 1 ? l / k : l;
}

gn_status gn_gan_g_step(gn_gan *gan, uint64_t noise_step, uint64_t key, gn_step_stats *st) {
    const gn_gan_config *c = &gan->cfg;
    int B = gan->local;      /* this rank's share of the batch of c->batch */
    uint64_t r0 = (uint64_t)gan->rank * B, zoff = noise_step * (uint64_t)c->batch * c->zdim + r0 * c->zdim;
    double t0 = now();
    gn_gan_noise(gan, gan->z, B, GN_STREAM_NOISE, zoff);
    gn_tensor z = noise_tensor(gan, B);
    const gn_tensor *fake, *probs, *dimg;
    place_samples(gan, gan->G, 0, 0, r0);
    gn_status s = gn_net_forward(gan->G, &z, GN_TRAIN, c->seed, 4 * key + 3, &fake);
    if (s) return s;
    gn_tensor seen = *fake; /* what D sees: the fakes, or their augmented copy */
    if (gan->augment) {
        gn_augment_forward_at(gan->augment, gan->aug_x, fake->data, gan->aug_tmp, B, fake->shape, c->seed,
                              4 * key + 2, (int)r0);
        seen.data = gan->aug_x;
    }
    place_samples(gan, gan->D, 0, 0, r0);
    if ((s = gn_net_forward(gan->D, &seen, GN_TRAIN, c->seed, 4 * key + 2, &probs))) return s;
    const float *logits = gn_net_logits(gan->D, B)->data;
    if (gan->cfg.classes) { /* the fakes' classes, from their noise */
        for (int i = 0; i < B; i++) gan->labels[i] = gn_gan_noise_label(gan, zoff, i);
        logits = pick_class(gan, logits, gan->labels, B);
    }
    st->g_loss = g_loss_slices(gan, logits, B);
    if (gan->cfg.classes) spread_class(gan, gan->labels, B);
    gn_tensor dl = gn_tensor_f32(gan->dlogits, B, (gn_shape){1, 1, gan->head});
    if ((s = gn_net_backward(gan->D, &dl, 0, &dimg))) return s; /* D frozen: input gradient only */
    gn_tensor dfake = *dimg;
    if (gan->augment) {
        gn_augment_backward_at(gan->augment, gan->aug_dx, dimg->data, gan->aug_tmp, B, dimg->shape, c->seed,
                               4 * key + 2, (int)r0);
        dfake.data = gan->aug_dx;
    }
    if (gan->rg) gn_reducer_begin(gan->rg, NULL);
    s = gn_net_backward(gan->G, &dfake, 1, NULL);
    if (gan->rg) gn_reducer_end(gan->rg);
    if (s) return s;
    if (!gn_kern()->all_finite(gn_net_grads(gan->G), gn_net_param_count(gan->G)))
        return gn_fail(GN_ERR_NONFINITE, "a G gradient is not finite");
    double t1 = now();
    gn_optim_step(&gan->og, gn_net_params(gan->G), gn_net_grads(gan->G));
    gn_net_params_changed(gan->G);
    double t2 = now();
    st->t.g_pass += t1 - t0;
    st->t.g_update += t2 - t1;
    return GN_OK;
}

/* Pre-training steps use their own counters, past any iteration's. */
#define PRETRAIN_BASE ((uint64_t)1 << 40)

gn_status gn_gan_pretrain_step(gn_gan *gan, const gn_dataset *ds, gn_step_stats *st) {
    uint64_t p = PRETRAIN_BASE + gan->d_pretrained;
    gn_status s = gn_gan_d_step(gan, ds, p, p, p, st);
    if (!s) gan->d_pretrained++;
    return s;
}

gn_status gn_gan_iteration(gn_gan *gan, const gn_dataset *ds, gn_step_stats *st) {
    const gn_gan_config *c = &gan->cfg;
    memset(st, 0, sizeof *st);
    gn_status s;
    while (gan->d_pretrained < (uint64_t)c->d_pretrain)
        if ((s = gn_gan_pretrain_step(gan, ds, st))) return s;
    memset(st, 0, sizeof *st);
    uint64_t K = c->d_steps, t = gan->iter;
    gn_step_stats d = {0};
    for (uint64_t k = 0; k < K; k++) {
        if ((s = gn_gan_d_step(gan, ds, t * K + k, t * (K + 1) + k, t * (K + 1) + k, &d))) return s;
    }
    st->d_loss = d.d_loss;
    st->d_real = d.d_real;
    st->d_fake = d.d_fake;
    st->t = d.t;
    if ((s = gn_gan_g_step(gan, t * (K + 1) + K, t * (K + 1) + K, st))) return s;
    if (gan->ranks > 1) { /* the losses and means of the whole batch: the mean of the ranks' */
        float v[4] = {st->d_loss, st->g_loss, st->d_real, st->d_fake};
        gn_dist_sum(v, 4);
        st->d_loss = v[0] / gan->ranks;
        st->g_loss = v[1] / gan->ranks;
        st->d_real = v[2] / gan->ranks;
        st->d_fake = v[3] / gan->ranks;
    }
    gn_gan_ema_update(gan, t * (uint64_t)c->batch);
    gan->iter++;
    return GN_OK;
}

gn_status gn_gan_generate(gn_gan *gan, const float *zdata, int n, float *out) {
    gn_tensor z = gn_tensor_f32((float *)zdata, n, (gn_shape){1, 1, gan->cfg.zdim});
    const gn_tensor *y;
    gn_status s = gn_net_forward(gn_gan_sampler(gan), &z, GN_INFER, gan->cfg.seed, 0, &y);
    if (s) return s;
    memcpy(out, y->data, gn_tensor_count(y) * sizeof(float));
    return GN_OK;
}
