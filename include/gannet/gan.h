/* A GAN: generator G, discriminator D (two-class logits, class 1 = real),
 * their optimizers, and the training step of the seed notebook's train_for_n:
 * D trains on B real and B generated images, then D is frozen and the stacked
 * G+D trains on B fresh noise vectors labelled real. A class-conditional GAN
 * (cfg.classes = K) gives G the one-hot class after the noise and reads, of
 * D's K logits, each image's class's (docs/models.md). */
#ifndef GANNET_GAN_H
#define GANNET_GAN_H

#include "gannet/export.h"

#include <stdint.h>

#include "gannet/data.h"
#include "gannet/loss.h"
#include "gannet/net.h"
#include "gannet/optim.h"

typedef enum gn_noise_kind { GN_NOISE_UNIFORM = 0, GN_NOISE_NORMAL = 1 } gn_noise_kind;

/* The longest data path a run records, with its terminating NUL (PATH_MAX). */
#define GN_DATA_PATH_MAX 4096

typedef struct gn_gan_config {
    char preset[32];       /* the model's name: a preset, or a model file's base name */
    const char *model;     /* model text (a model file's contents), or NULL for the
                              preset's file, models/<preset>.gnm in the data folder */
    int batch, iters, plot_every;
    float g_lr, d_lr, beta1, beta2, eps;
    gn_gen_loss g_loss;
    int d_steps;           /* D steps per iteration */
    int d_pretrain;        /* D steps before G joins */
    float label_smoothing; /* one-sided: real targets become 1 - s */
    gn_noise_kind noise;   /* uniform [0,1) (the notebook) or N(0,1) */
    int zdim;
    gn_pixel_range range;  /* [0,1] for sigmoid G, [-1,1] for tanh G */
    uint64_t seed;
    int threads;           /* 0: OpenMP's default */
    int eval_every;        /* 0: never */
    /* The training images: an absolute path and a fingerprint (size and
     * CRC-32 of the decoded IDX bytes, gn_fingerprint in data.h), so that
     * --resume trains on the same images or refuses.
     * Empty in checkpoints made before they were recorded. */
    char data[GN_DATA_PATH_MAX];
    uint64_t data_size, data_crc32;
    gn_loss_kind loss;     /* cross-entropy (with g_loss) or hinge, for D and G */
    float ema;             /* half-life in images of G's weight average; 0: none */
    char augment[64];      /* differentiable augmentation: "color,translation,cutout" or a
                              part of it, "" for none (gannet/augment.h) */
    int image_size;        /* side of the training images (0: a folder's 64, an IDX file's own) */
    int channels;          /* 1 gray, 3 RGB (0: a folder's 3, an IDX file's own) */
    int ranks;             /* processes the run trains on (mpirun -np), each on batch / ranks
                              images; recorded, not chosen: the job's size is used */
    int sync_bn;           /* batch norm over the whole batch of every rank, not each rank's share */
    gn_precision precision; /* number format of G's and D's oneDNN layers (gannet/net.h) */
    int reduce_slices;     /* > 1: one process adds every batch-wide sum as that many ranks with
                              sync_bn add theirs (per slice of batch / reduce_slices, then in
                              rank order); 1: the whole batch at once */
    int classes;           /* > 0: a class-conditional GAN of that many classes (labelled data):
                              the last `classes` of G's zdim inputs are the one-hot class of the
                              image to make, and D gives one "real" logit per class, of which
                              the loss reads the image's own; 0: unconditional */
} gn_gan_config;

/* The EMA ramp-up (StyleGAN2-ADA's ema_rampup): the half-life used after
 * seeing n images is at most n times this, so the average does not remember
 * the random initial weights for long. */
#define GN_EMA_RAMPUP 0.05

/* Fills cfg with a preset's settings (from its model file, see model.h);
 * GN_ERR_ARG if unknown. */
GN_API gn_status gn_preset_config(const char *preset, gn_gan_config *cfg);
/* Builds the preset's G and D (initialised from seed). */
GN_API gn_status gn_preset_build(const char *preset, uint64_t seed, gn_net **G, gn_net **D);
/* The names of the presets (model files in the data folder), NULL-terminated. */
GN_API_DATA const char *const gn_preset_names[];

/* Wall-clock seconds spent in each pass of the last iteration. */
typedef struct gn_step_times {
    double data, g_fakes, d_pass, d_update, g_pass, g_update;
} gn_step_times;

typedef struct gn_step_stats {
    float d_loss, g_loss;
    float d_real, d_fake;   /* mean D(x) on the real half, D(G(z)) on the fakes of the D step */
    gn_step_times t;
} gn_step_stats;

typedef struct gn_gan {
    gn_gan_config cfg;
    gn_net *G, *D;
    gn_optim og, od;
    uint64_t iter;          /* iterations done */
    uint64_t d_pretrained;  /* pre-training D steps done */
    float *z, *images, *targets, *dlogits;
    int d_split;            /* D has batch norm: real and fake halves run as two batches */
    float *d_acc;           /* the real half's D gradients while the fake half runs */
    char *model_text;       /* the model file G and D were built from (NULL when built
                               elsewhere); cfg.model points to it */
    unsigned augment;       /* GN_AUG_* bits of cfg.augment */
    float *aug_x, *aug_tmp, *aug_dx; /* augmented images (2B), scratch (2B), G's image gradient (B) */
    gn_net *G_ema;          /* the average of G's weights (cfg.ema > 0), or NULL; its
                               batch-norm statistics are G's, copied */
    int head;               /* D's logits per image: 2 (fake, real; softmax cross-entropy)
                               or 1 (real; sigmoid cross-entropy from the logit), or
                               cfg.classes (one "real" logit per class) */
    int *labels;            /* conditional: the classes of D's 2B images, [real; fake] */
    float *picked, *dpicked; /* conditional: each image's logit of its class (2B), its gradient */
    /* data-parallel training (mpirun): this process trains on images
     * [rank * local, (rank + 1) * local) of every batch of cfg.batch */
    int rank, ranks, local;
    struct gn_reducer *rg, *rd; /* G's and D's gradient averaging; NULL in one process */
    int slices;             /* cfg.reduce_slices in one process, else 1 */
    float *slice_grads;     /* the slices' gradient slabs (slices x the larger net's parameters) */
    float *slice_x;         /* D's [real; fake] batch slice by slice, each slice's real images
                               then its fakes (what each rank's D sees); NULL: not sliced */
} gn_gan;

/* Builds G and D from cfg->model (or the preset's model file) and the GAN
 * around them. Refuses (GN_ERR_NOMEM, with the figures) a batch whose
 * activations would not fit in the memory left (gannet/memory.h). */
GN_API gn_status gn_gan_create(gn_gan **out, const gn_gan_config *cfg);
/* A GAN of the given networks (cfg->preset only names it), without G_ema:
 * with no model text to build a second G from, cfg->ema is not acted on
 * (gn_gan_ema_create refuses). Takes ownership of
 * G and D, also when it fails (it frees them then). G takes cfg->zdim inputs
 * and makes the images D takes; D ends in two-class logits (class 1 = real),
 * or in one logit of "real" (binary cross-entropy from logits); with
 * cfg->classes = K, in K logits of "real", one per class, and G's last K
 * inputs are the class. */
GN_API gn_status gn_gan_create_from_nets(gn_gan **out, const gn_gan_config *cfg, gn_net *G, gn_net *D);
GN_API void gn_gan_free(gn_gan *gan);

/* One D step (k-th of this iteration) on B real images and B fakes. A
 * conditional GAN needs ds's labels (each below cfg.classes; else GN_ERR_ARG). */
GN_API gn_status gn_gan_d_step(gn_gan *gan, const gn_dataset *ds, uint64_t data_step, uint64_t noise_step,
                               uint64_t key, gn_step_stats *st);
/* One G step: D frozen, B fresh noise vectors labelled real. */
GN_API gn_status gn_gan_g_step(gn_gan *gan, uint64_t noise_step, uint64_t key, gn_step_stats *st);
/* One pre-training D step (the next of cfg.d_pretrain), counted in d_pretrained;
 * a caller that wants to stop between steps calls this itself. */
GN_API gn_status gn_gan_pretrain_step(gn_gan *gan, const gn_dataset *ds, gn_step_stats *st);
/* The pre-training D steps still to do, then one whole iteration. */
GN_API gn_status gn_gan_iteration(gn_gan *gan, const gn_dataset *ds, gn_step_stats *st);

/* Noise for `n` samples: z (n, zdim) from (seed, stream, offset). In a
 * conditional GAN the last cfg.classes numbers of each vector are the
 * one-hot of its class, gn_gan_noise_label(gan, offset, i). */
GN_API void gn_gan_noise(const gn_gan *gan, float *z, int n, uint64_t stream, uint64_t offset);
/* The class of vector i of gn_gan_noise(.., offset): the vector's index in
 * its stream (offset / zdim + i) modulo cfg.classes, so that every run of
 * consecutive vectors (a batch, a grid's row, an evaluation's samples) has
 * the classes in turn, equally often; -1 when unconditional. */
GN_API int gn_gan_noise_label(const gn_gan *gan, uint64_t offset, int i);
/* Makes G_ema (a copy of G built from the model text) when cfg.ema > 0;
 * gn_gan_create calls it. GN_ERR_ARG when the GAN has no model text. */
GN_API gn_status gn_gan_ema_create(gn_gan *gan);
/* One EMA update after `images` images seen by G's steps so far (before
 * this step's B): beta = 0.5^(B / min(ema, images * GN_EMA_RAMPUP)),
 * G_ema = G + beta (G_ema - G); G's batch-norm statistics copied. */
GN_API void gn_gan_ema_update(gn_gan *gan, uint64_t images);
/* The generator images are drawn from: G_ema when there is one, else G. */
GN_API gn_net *gn_gan_sampler(gn_gan *gan);
/* The sampler in inference mode: z (n, zdim) -> images (n, H, W, C), copied to out.
 * In a conditional GAN each row of z ends in the one-hot class (gn_gan_noise). */
GN_API gn_status gn_gan_generate(gn_gan *gan, const float *z, int n, float *out);

#endif
