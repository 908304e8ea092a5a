/* Differentiable augmentation (Zhao et al. 2020, DiffAugment): random
 * colour, translation and cutout applied to every image D sees, real and
 * generated, in the D and the G steps, with the gradient passed back
 * through it to G. Each image's draws come from the counter RNG keyed by
 * (seed, key, image index), so runs are reproducible and resume exactly.
 *
 * Per image, in this order (DiffAugment_pytorch.py's, for pixels around 0):
 *   color:       brightness x + (r - 0.5); saturation (x - m_c) 2r + m_c,
 *                m_c the mean over channels of a pixel; contrast
 *                (x - m) (r + 0.5) + m, m the image's mean; r ~ U[0, 1)
 *   translation: shifted by up to 1/8 of each side (rounded), zeros come in
 *   cutout:      a square of half the side (rounded) set to zero, its centre
 *                anywhere in the image (clipped at the edges) */
#ifndef GANNET_AUGMENT_H
#define GANNET_AUGMENT_H

#include <stdint.h>

#include "gannet/status.h"
#include "gannet/tensor.h"

enum {
    GN_AUG_COLOR = 1 << 0,
    GN_AUG_TRANSLATION = 1 << 1,
    GN_AUG_CUTOUT = 1 << 2,
};

/* The fraction of each side a translation may move by, and a cutout covers. */
#define GN_AUG_TRANSLATION_RATIO 0.125
#define GN_AUG_CUTOUT_RATIO 0.5

/* The list that names no augmentation, as the empty one does. */
#define GN_AUG_NONE "none"

/* Parses a comma-separated list of "color", "translation", "cutout" (empty
 * or GN_AUG_NONE: none) into GN_AUG_* bits; GN_ERR_ARG naming the unknown or repeated word. */
GN_API gn_status gn_augment_parse(const char *list, unsigned *mask);

/* x: (n, H, W, C) -> y: (n, H, W, C); image i's draws keyed by (seed, key, i).
 * tmp: n H W C floats of scratch. y may not be x. */
GN_API void gn_augment_forward(unsigned mask, float *y, const float *x, float *tmp, int n, gn_shape s,
                        uint64_t seed, uint64_t key);
/* The adjoint: dy -> dx for the same (mask, seed, key); dx may not be dy. */
GN_API void gn_augment_backward(unsigned mask, float *dx, const float *dy, float *tmp, int n, gn_shape s,
                         uint64_t seed, uint64_t key);
/* The same for images [first, first + n) of a larger batch (one process's
 * share in data-parallel training): image i draws as image first + i. */
GN_API void gn_augment_forward_at(unsigned mask, float *y, const float *x, float *tmp, int n, gn_shape s,
                                  uint64_t seed, uint64_t key, int first);
GN_API void gn_augment_backward_at(unsigned mask, float *dx, const float *dy, float *tmp, int n, gn_shape s,
                                   uint64_t seed, uint64_t key, int first);

#endif
