/* `gannet train`: the training loop with everything a person looks at
 * (losses.csv, losses.png, sample grids, checkpoints, a progress bar). */
#ifndef GANNET_TRAIN_H
#define GANNET_TRAIN_H

#include "gannet/export.h"

#include "gannet/gan.h"

typedef struct gn_train_opts {
    gn_gan_config cfg;   /* the settings (cfg.data empty: the bundled MNIST) */
    uint64_t given;      /* bit i: gn_settings[i] was given; with resume only these of cfg
                            count, and only GN_SET_RESUMABLE ones may be given */
    const char *out;     /* NULL: runs/<preset>-<timestamp>; a folder holding a run is refused */
    int overwrite;       /* replace the run in out: its files go, other files stay */
    const char *resume;  /* a run folder to continue, or NULL */
    int progress;        /* 1 bar, 0 periodic lines, -1 decide from isatty(stderr) */
    int strict;          /* a file in a --data folder that is not a usable image stops the start */
    int verify_ranks;    /* under mpirun: check after every iteration that the ranks' weights
                            are bit-identical, and print their hash */
} gn_train_opts;

/* Fixed-noise vectors behind every sample grid (a 4x4 grid). */
#define GN_GRID 16

/* Runs training in a run folder it locks (a second writer is refused).
 * A resumed run trains on the data recorded in its checkpoint (or on
 * cfg.data when given and of the same size and CRC-32); one that already has
 * its iterations returns GN_OK at once and changes nothing. GN_ERR_ARG for
 * a request that cannot be met as asked (a folder holding a run, a setting
 * that cannot change on resume, other data). Returns GN_ERR_INTERRUPTED after SIGINT/SIGTERM (once a
 * checkpoint is written); gn_train_signal() then tells which signal. */
GN_API gn_status gn_train(const gn_train_opts *opts);
GN_API int gn_train_signal(void);
/* The run folder of the last gn_train call. */
GN_API const char *gn_train_dir(void);

#endif
