/* `gannet train`: the training loop with everything a person looks at
 * (losses.csv, losses.png, sample grids, checkpoints, a progress bar). */
#ifndef GANNET_TRAIN_H
#define GANNET_TRAIN_H

#include "gannet/gan.h"

typedef struct gn_train_opts {
    gn_gan_config cfg;
    const char *images;  /* IDX images; NULL: the bundled MNIST */
    const char *out;     /* NULL: runs/<preset>-<timestamp> */
    const char *resume;  /* a run folder to continue, or NULL */
    int resume_iters;    /* with resume: a new total of iterations (0 keeps the old one) */
    int progress;        /* 1 bar, 0 periodic lines, -1 decide from isatty(stderr) */
} gn_train_opts;

/* Fixed-noise vectors behind every sample grid (a 4x4 grid). */
#define GN_GRID 16

/* Runs training. Returns GN_ERR_INTERRUPTED after SIGINT/SIGTERM (once a
 * checkpoint is written); gn_train_signal() then tells which signal. */
gn_status gn_train(const gn_train_opts *opts);
int gn_train_signal(void);
/* The run folder of the last gn_train call. */
const char *gn_train_dir(void);

#endif
