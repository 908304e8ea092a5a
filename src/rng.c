#include <math.h>

#include "gannet/rng.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void gn_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)index, c1 = (uint32_t)(index >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

uint32_t gn_rng_u32(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t w[4];
    gn_philox(seed, stream, index >> 2, w);
    return w[index & 3];
}

float gn_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
    return (float)(gn_rng_u32(seed, stream, index) >> 8) * (1.0f / 16777216.0f);
}

static float normal_from(const uint32_t w[2]) {
    /* u1 in (0, 1], u2 in [0, 1) */
    double u1 = ((double)(w[0] >> 8) + 1.0) * (1.0 / 16777216.0);
    double u2 = (double)(w[1] >> 8) * (1.0 / 16777216.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

float gn_rng_normal(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t w[4];
    gn_philox(seed, stream, index >> 1, w);
    return normal_from(&w[(index & 1) * 2]);
}

uint32_t gn_rng_below(uint64_t seed, uint64_t stream, uint64_t index, uint32_t n) {
    return (uint32_t)(((uint64_t)gn_rng_u32(seed, stream, index) * n) >> 32);
}

void gn_rng_fill_uniform(float *out, size_t n, uint64_t seed, uint64_t stream, uint64_t offset,
                         float lo, float hi) {
    float span = hi - lo;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) out[i] = lo + span * gn_rng_uniform(seed, stream, offset + i);
}

void gn_rng_fill_normal(float *out, size_t n, uint64_t seed, uint64_t stream, uint64_t offset,
                        float mean, float std) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) out[i] = mean + std * gn_rng_normal(seed, stream, offset + i);
}
