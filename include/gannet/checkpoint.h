/* Checkpoints: everything a run needs to continue exactly as if never
 * stopped. Format (little-endian):
 *   "GANNETCK" (8 bytes), u32 format version, u32 section count
 *   per section: 4-byte tag, u64 length, payload, u32 CRC-32 of the payload
 * Sections: CONF (the run's settings as key=value lines, the preset and the
 * parameter counts that identify the model), META (u64 iteration,
 * pre-training steps, G and D optimizer steps), GPAR GSTA DPAR DSTA (G and
 * D parameters and state), GOPM GOPV DOPM DOPV (Adam moments), FIXZ (the fixed
 * noise behind the sample grids), HIST (per iteration: d_loss, g_loss, D(x),
 * D(G(z)), seconds, Inception Score, Frechet distance (NaN where not
 * evaluated); f32), MODL (the model file's text, G and D layer by layer; empty
 * when the GAN was not built from one; older checkpoints have none and
 * name a preset in CONF), GEMA (G's weight average, only when --ema is on;
 * a checkpoint without it starts the average from G). Written by the atomic writer (gannet/atomic.h), so
 * the previous checkpoint survives any crash. Loading refuses NaN or
 * infinite weights, statistics, moments, noise and history, naming the
 * section. */
#ifndef GANNET_CHECKPOINT_H
#define GANNET_CHECKPOINT_H

#include "gannet/export.h"

#include <stddef.h>

#include "gannet/gan.h"
#include "gannet/settings.h" /* gn_config_write, gn_config_json */

#define GN_CKPT_VERSION 1u
#define GN_HIST_COLS 7
#define GN_HIST_SCORES 5 /* the first score column: the scores are NaN where not evaluated */

typedef struct gn_history {
    float *rows;    /* n rows of GN_HIST_COLS */
    size_t n, cap;
} gn_history;

/* Appends one row (GN_ERR_NOMEM when it cannot grow); gn_history_free empties h. */
GN_API gn_status gn_history_push(gn_history *h, const float row[GN_HIST_COLS]);
GN_API void gn_history_free(gn_history *h);

/* Writes the GAN, its fixed noise (nfixed vectors) and history to path. */
GN_API gn_status gn_checkpoint_save(const char *path, const gn_gan *gan, const float *fixed_z, int nfixed,
                                    const gn_history *hist);

/* Reads a checkpoint's settings only (to build the GAN before loading). */
GN_API gn_status gn_checkpoint_read_config(const char *path, gn_gan_config *cfg);

/* Reads a checkpoint's model text (the MODL section) into a NUL-terminated
 * buffer the caller frees; *text stays NULL when the checkpoint has none
 * (older checkpoints: the CONF preset names the model). */
GN_API gn_status gn_checkpoint_read_model(const char *path, char **text);

/* Reads the number of iterations a checkpoint has done. */
GN_API gn_status gn_checkpoint_read_iteration(const char *path, uint64_t *iter);

/* Loads a checkpoint into a GAN built from the same settings; fixed_z
 * (nfixed * zdim, may be NULL) and hist (may be NULL) are filled when given. */
GN_API gn_status gn_checkpoint_load(const char *path, gn_gan *gan, float *fixed_z, int nfixed,
                                    gn_history *hist);

/* Builds the GAN a checkpoint holds and loads it: path is a checkpoint file
 * (*.gnt) or a run folder holding checkpoint.gnt; the noise seed is replaced
 * by `seed`. The file's path goes into resolved (may be NULL). */
GN_API gn_status gn_gan_open_checkpoint(const char *path, uint64_t seed, gn_gan **out, char *resolved,
                                        size_t len);

/* Draws n images from G (inference mode) with the noise of (seed,
 * GN_STREAM_SAMPLE), in chunks of 256, as u8 grey levels (n, H, W, C): what
 * `gannet sample` writes and `gannet eval --checkpoint` scores. */
GN_API gn_status gn_gan_sample_u8(gn_gan *gan, int n, uint8_t *out);

#endif
