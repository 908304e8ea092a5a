/* AVX-512 (F, BW, VL) kernels, 16 floats per vector: the vector API of
 * simd_kernels.h on 512-bit registers and opmask registers, and the kernels
 * written over it. Partial vectors are masked loads and stores. */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"
#include "scalar.h"

#define W 16

typedef __m512 vf;
typedef __m512i vu;
typedef __mmask16 vmask;

// the mask of the first k lanes (1 <= k <= 16)
static inline __mmask16 first_lanes(size_t k) {
    return k >= W ? (__mmask16)0xffff : (__mmask16)((1u << k) - 1);
}

static inline vf vf_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
// the first k lanes from p, +0 in the others; the first k lanes of v to p
static inline vf vf_load_n(const float *p, size_t k) {
    return _mm512_maskz_loadu_ps(first_lanes(k), p);
}
static inline void vf_store_n(float *p, vf v, size_t k) {
    _mm512_mask_storeu_ps(p, first_lanes(k), v);
}

static inline vf vf_set1(float a) { return _mm512_set1_ps(a); }
static inline vf vf_zero(void) { return _mm512_setzero_ps(); }
static inline vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline vf vf_sqrt(vf a) { return _mm512_sqrt_ps(a); }
// a * b + c, c - a * b (fused)
static inline vf vf_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline vf vf_fnma(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); }
// max and min return the second operand when either is NaN
static inline vf vf_max(vf a, vf b) { return _mm512_max_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return _mm512_min_ps(a, b); }
static inline vf vf_floor(vf x) {
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
}
static inline vf vf_abs(vf x) { return _mm512_abs_ps(x); }
static inline vf vf_neg(vf x) {
    return _mm512_castsi512_ps(
        _mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u)));
}
// x with the sign bit of s
static inline vf vf_copysign(vf x, vf s) {
    __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(sign, _mm512_castps_si512(x)),
                                               _mm512_and_si512(sign, _mm512_castps_si512(s))));
}

static inline vmask vf_gt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
static inline vmask vf_lt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline vmask vf_le(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
// m ? a : b; m ? x : +0; m ? +0 : x
static inline vf vf_select(vmask m, vf a, vf b) { return _mm512_mask_blend_ps(m, b, a); }
static inline vf vf_keep(vmask m, vf x) { return _mm512_maskz_mov_ps(m, x); }
static inline vf vf_clear(vmask m, vf x) { return _mm512_mask_mov_ps(x, m, _mm512_setzero_ps()); }

static inline vu vf_to_vu(vf x) { return _mm512_cvttps_epi32(x); }
static inline vu vf_as_vu(vf x) { return _mm512_castps_si512(x); }
static inline vf vu_as_vf(vu u) { return _mm512_castsi512_ps(u); }
static inline vu vu_set1(uint32_t a) { return _mm512_set1_epi32((int)a); }
static inline vu vu_iota(void) {
    return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
static inline vu vu_add(vu a, vu b) { return _mm512_add_epi32(a, b); }
static inline vu vu_sub(vu a, vu b) { return _mm512_sub_epi32(a, b); }
static inline vu vu_xor(vu a, vu b) { return _mm512_xor_si512(a, b); }
static inline vu vu_and(vu a, vu b) { return _mm512_and_si512(a, b); }
static inline vu vu_mullo(vu a, vu b) { return _mm512_mullo_epi32(a, b); }
// shifts by a constant count
#define vu_srl(x, n) _mm512_srli_epi32(x, n)
#define vu_sra(x, n) _mm512_srai_epi32(x, n)
#define vu_sll(x, n) _mm512_slli_epi32(x, n)
static inline vmask vu_ge(vu a, vu b) { return _mm512_cmpge_epu32_mask(a, b); }
static inline vmask vu_eq(vu a, vu b) { return _mm512_cmpeq_epi32_mask(a, b); }
static inline vmask vm_or(vmask a, vmask b) { return (vmask)(a | b); }
static inline int vm_any(vmask m) { return m != 0; }
// 16 uint16 <-> the low halves of 16 lanes (vpmovzxwd, vpmovdw)
static inline vu vu_load_u16(const uint16_t *p) {
    return _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
}
static inline void vu_store_u16(uint16_t *p, vu u) {
    _mm256_storeu_si256((__m256i *)p, _mm512_cvtepi32_epi16(u));
}

#include "simd_kernels.h"

GN_SIMD_KERNELS(avx512, "avx512");
