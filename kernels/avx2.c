/* AVX2 + FMA kernels, 8 floats per vector: the vector API of simd_kernels.h on
 * 256-bit registers, and the kernels written over it. Partial vectors load
 * with vmaskmov but store in 4-, 2- and 1-float pieces (vmaskmov stores are
 * slow on some CPUs). */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"
#include "scalar.h"

#define W 8

typedef __m256 vf;
typedef __m256i vu;
typedef __m256 vmask; /* each lane all ones or all zeros */

static inline vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { _mm256_storeu_ps(p, v); }

// the first k lanes from p (1 <= k <= 8), +0 in the others
static inline vf vf_load_n(const float *p, size_t k) {
    if (k >= W) return _mm256_loadu_ps(p);
    __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), iota));
}

// the first k lanes of v to p (1 <= k <= 8)
static inline void vf_store_n(float *p, vf v, size_t k) {
    if (k >= W) {
        _mm256_storeu_ps(p, v);
        return;
    }
    __m128 h = _mm256_castps256_ps128(v);
    if (k & 4) {
        _mm_storeu_ps(p, h);
        h = _mm256_extractf128_ps(v, 1);
        p += 4;
    }
    if (k & 2) {
        _mm_storel_pi((__m64 *)p, h);
        h = _mm_movehl_ps(h, h);
        p += 2;
    }
    if (k & 1) _mm_store_ss(p, h);
}

static inline vf vf_set1(float a) { return _mm256_set1_ps(a); }
static inline vf vf_zero(void) { return _mm256_setzero_ps(); }
static inline vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm256_div_ps(a, b); }
static inline vf vf_sqrt(vf a) { return _mm256_sqrt_ps(a); }
// a * b + c, c - a * b (fused)
static inline vf vf_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf vf_fnma(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); }
// max and min return the second operand when either is NaN
static inline vf vf_max(vf a, vf b) { return _mm256_max_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return _mm256_min_ps(a, b); }
static inline vf vf_floor(vf x) { return _mm256_floor_ps(x); }
static inline vf vf_abs(vf x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
static inline vf vf_neg(vf x) { return _mm256_xor_ps(x, _mm256_set1_ps(-0.0f)); }
// x with the sign bit of s
static inline vf vf_copysign(vf x, vf s) {
    vf sign = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(sign, x), _mm256_and_ps(sign, s));
}

static inline vmask vf_gt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
static inline vmask vf_lt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline vmask vf_le(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
// m ? a : b; m ? x : +0; m ? +0 : x
static inline vf vf_select(vmask m, vf a, vf b) { return _mm256_blendv_ps(b, a, m); }
static inline vf vf_keep(vmask m, vf x) { return _mm256_and_ps(m, x); }
static inline vf vf_clear(vmask m, vf x) { return _mm256_andnot_ps(m, x); }

static inline vu vf_to_vu(vf x) { return _mm256_cvttps_epi32(x); }
static inline vu vf_as_vu(vf x) { return _mm256_castps_si256(x); }
static inline vf vu_as_vf(vu u) { return _mm256_castsi256_ps(u); }
static inline vu vu_set1(uint32_t a) { return _mm256_set1_epi32((int)a); }
static inline vu vu_iota(void) { return _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7); }
static inline vu vu_add(vu a, vu b) { return _mm256_add_epi32(a, b); }
static inline vu vu_sub(vu a, vu b) { return _mm256_sub_epi32(a, b); }
static inline vu vu_xor(vu a, vu b) { return _mm256_xor_si256(a, b); }
static inline vu vu_and(vu a, vu b) { return _mm256_and_si256(a, b); }
static inline vu vu_mullo(vu a, vu b) { return _mm256_mullo_epi32(a, b); }
// shifts by a constant count
#define vu_srl(x, n) _mm256_srli_epi32(x, n)
#define vu_sra(x, n) _mm256_srai_epi32(x, n)
#define vu_sll(x, n) _mm256_slli_epi32(x, n)
// unsigned a >= b, as max(a, b) == a
static inline vmask vu_ge(vu a, vu b) {
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_max_epu32(a, b), a));
}
static inline vmask vu_eq(vu a, vu b) { return _mm256_castsi256_ps(_mm256_cmpeq_epi32(a, b)); }
static inline vmask vm_or(vmask a, vmask b) { return _mm256_or_ps(a, b); }
static inline int vm_any(vmask m) { return _mm256_movemask_ps(m) != 0; }
// 8 uint16 <-> the low halves of 8 lanes; lanes hold values below 2^16, so the
// saturating pack keeps them, and the permute undoes its per-128-bit order
static inline vu vu_load_u16(const uint16_t *p) {
    return _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
}
static inline void vu_store_u16(uint16_t *p, vu u) {
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(u, u), 0x08);
    _mm_storeu_si128((__m128i *)p, _mm256_castsi256_si128(packed));
}

#include "simd_kernels.h"

GN_SIMD_KERNELS(avx2, "avx2");
