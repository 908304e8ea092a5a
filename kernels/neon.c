/* NEON (AArch64 Advanced SIMD) kernels, 4 floats per vector: the vector API of
 * simd_kernels.h on 128-bit registers, and the kernels written over it.
 * Partial vectors load and store one lane at a time. */
#include <arm_neon.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"
#include "scalar.h"

#define W 4

typedef float32x4_t vf;
typedef uint32x4_t vu;
typedef uint32x4_t vmask; /* each lane all ones or all zeros */

static inline vf vf_load(const float *p) { return vld1q_f32(p); }
static inline void vf_store(float *p, vf v) { vst1q_f32(p, v); }

// the first k lanes from p (1 <= k <= 4), +0 in the others
static inline vf vf_load_n(const float *p, size_t k) {
    if (k >= W) return vld1q_f32(p);
    vf v = vld1q_lane_f32(p, vdupq_n_f32(0.0f), 0);
    if (k > 1) v = vld1q_lane_f32(p + 1, v, 1);
    if (k > 2) v = vld1q_lane_f32(p + 2, v, 2);
    return v;
}

// the first k lanes of v to p (1 <= k <= 4)
static inline void vf_store_n(float *p, vf v, size_t k) {
    if (k >= W) {
        vst1q_f32(p, v);
        return;
    }
    vst1q_lane_f32(p, v, 0);
    if (k > 1) vst1q_lane_f32(p + 1, v, 1);
    if (k > 2) vst1q_lane_f32(p + 2, v, 2);
}

static inline vf vf_set1(float a) { return vdupq_n_f32(a); }
static inline vf vf_zero(void) { return vdupq_n_f32(0.0f); }
static inline vf vf_add(vf a, vf b) { return vaddq_f32(a, b); }
static inline vf vf_sub(vf a, vf b) { return vsubq_f32(a, b); }
static inline vf vf_mul(vf a, vf b) { return vmulq_f32(a, b); }
static inline vf vf_div(vf a, vf b) { return vdivq_f32(a, b); }
static inline vf vf_sqrt(vf a) { return vsqrtq_f32(a); }
// a * b + c, c - a * b (fused)
static inline vf vf_fma(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
static inline vf vf_fnma(vf a, vf b, vf c) { return vfmsq_f32(c, a, b); }
// max and min (FMAX/FMIN return NaN when an input is NaN)
static inline vf vf_max(vf a, vf b) { return vmaxq_f32(a, b); }
static inline vf vf_min(vf a, vf b) { return vminq_f32(a, b); }
static inline vf vf_floor(vf x) { return vrndmq_f32(x); }
static inline vf vf_abs(vf x) { return vabsq_f32(x); }
static inline vf vf_neg(vf x) { return vnegq_f32(x); }
// x with the sign bit of s
static inline vf vf_copysign(vf x, vf s) { return vbslq_f32(vdupq_n_u32(0x80000000u), s, x); }

static inline vmask vf_gt(vf a, vf b) { return vcgtq_f32(a, b); }
static inline vmask vf_lt(vf a, vf b) { return vcltq_f32(a, b); }
static inline vmask vf_le(vf a, vf b) { return vcleq_f32(a, b); }
// m ? a : b; m ? x : +0; m ? +0 : x
static inline vf vf_select(vmask m, vf a, vf b) { return vbslq_f32(m, a, b); }
static inline vf vf_keep(vmask m, vf x) {
    return vreinterpretq_f32_u32(vandq_u32(m, vreinterpretq_u32_f32(x)));
}
static inline vf vf_clear(vmask m, vf x) {
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(x), m));
}

static inline vu vf_to_vu(vf x) { return vreinterpretq_u32_s32(vcvtq_s32_f32(x)); }
static inline vu vf_as_vu(vf x) { return vreinterpretq_u32_f32(x); }
static inline vf vu_as_vf(vu u) { return vreinterpretq_f32_u32(u); }
static inline vu vu_set1(uint32_t a) { return vdupq_n_u32(a); }
static inline vu vu_iota(void) {
    static const uint32_t iota[4] = {0, 1, 2, 3};
    return vld1q_u32(iota);
}
static inline vu vu_add(vu a, vu b) { return vaddq_u32(a, b); }
static inline vu vu_sub(vu a, vu b) { return vsubq_u32(a, b); }
static inline vu vu_xor(vu a, vu b) { return veorq_u32(a, b); }
static inline vu vu_and(vu a, vu b) { return vandq_u32(a, b); }
static inline vu vu_mullo(vu a, vu b) { return vmulq_u32(a, b); }
// shifts by a constant count (an immediate operand, hence macros)
#define vu_srl(x, n) vshrq_n_u32(x, n)
#define vu_sra(x, n) vreinterpretq_u32_s32(vshrq_n_s32(vreinterpretq_s32_u32(x), n))
#define vu_sll(x, n) vshlq_n_u32(x, n)
static inline vmask vu_ge(vu a, vu b) { return vcgeq_u32(a, b); }
static inline vmask vu_eq(vu a, vu b) { return vceqq_u32(a, b); }
static inline vmask vm_or(vmask a, vmask b) { return vorrq_u32(a, b); }
static inline int vm_any(vmask m) { return vmaxvq_u32(m) != 0; }
// 4 uint16 <-> the low halves of 4 lanes
static inline vu vu_load_u16(const uint16_t *p) { return vmovl_u16(vld1_u16(p)); }
static inline void vu_store_u16(uint16_t *p, vu u) { vst1_u16(p, vmovn_u32(u)); }

#include "simd_kernels.h"

GN_SIMD_KERNELS(neon, "neon");
