/* Counter-based random numbers: every value is a pure function of
 * (seed, stream, index), so results never depend on how OpenMP splits the
 * work, and a resumed run continues the same sequence. Philox4x32-10. */
#ifndef GANNET_RNG_H
#define GANNET_RNG_H

#include "gannet/export.h"

#include <stddef.h>
#include <stdint.h>

/* Streams keep unrelated consumers apart. */
enum {
    GN_STREAM_DATA = 1,      /* minibatch indices */
    GN_STREAM_NOISE = 2,     /* generator noise */
    GN_STREAM_DROPOUT = 3,   /* dropout keys (one per layer and step) */
    GN_STREAM_INIT = 4,      /* weight initialisation */
    GN_STREAM_FIXED = 5,     /* the fixed noise behind sample grids */
    GN_STREAM_GAUSS = 6,     /* GaussianNoise layers */
    GN_STREAM_SAMPLE = 7,    /* gannet sample */
    GN_STREAM_SHUFFLE = 8,   /* data shuffles and splits */
    GN_STREAM_AUGMENT = 9,   /* differentiable augmentation (augment.h) */
};

/* Four 32-bit words for counter `index` of (seed, stream). */
GN_API void gn_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]);

/* One 32-bit word: word (index % 4) of block (index / 4). */
GN_API uint32_t gn_rng_u32(uint64_t seed, uint64_t stream, uint64_t index);

/* Uniform in [0, 1) with 24 random bits. */
GN_API float gn_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index);

/* Standard normal (Box-Muller on one Philox block). */
GN_API float gn_rng_normal(uint64_t seed, uint64_t stream, uint64_t index);

/* Uniform integer in [0, n), n > 0 (Lemire's multiply; bias below 2^-32 * n). */
GN_API uint32_t gn_rng_below(uint64_t seed, uint64_t stream, uint64_t index, uint32_t n);

/* out[i] = lo + (hi - lo) * uniform(seed, stream, offset + i); OpenMP-parallel. */
GN_API void gn_rng_fill_uniform(float *out, size_t n, uint64_t seed, uint64_t stream, uint64_t offset,
                                float lo, float hi);

/* out[i] = mean + std * normal(seed, stream, offset + i); OpenMP-parallel. */
GN_API void gn_rng_fill_normal(float *out, size_t n, uint64_t seed, uint64_t stream, uint64_t offset,
                               float mean, float std);

#endif
