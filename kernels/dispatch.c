/* Picks the kernel table: cpuid (and the OS's saved register state) on x86,
 * NEON always on aarch64; GANNET_ISA=ref|avx2|avx512|neon overrides. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "scalar.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

// the XCR0 register: which register states the OS saves on context switch
static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

// CPU features usable by this process (instruction support and OS state)
gn_cpu_features gn_cpu_detect(void) {
    gn_cpu_features f;
    memset(&f, 0, sizeof f);
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
    unsigned max_leaf = a;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    int os_avx = (xcr0 & 0x6) == 0x6;                 // XMM and YMM state
    int os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
    int os_amx = (xcr0 & 0x60000) == 0x60000;         // XTILECFG, XTILEDATA
    if (max_leaf < 7) return f;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned max_sub7 = a;
    f.avx2 = os_avx && avx && ((b >> 5) & 1);
    f.fma = os_avx && fma;
    f.avx512f = os_avx512 && ((b >> 16) & 1);
    f.avx512bw = os_avx512 && ((b >> 30) & 1);
    f.avx512vl = os_avx512 && ((b >> 31) & 1);
    f.amx_tile = os_amx && ((d >> 24) & 1);
    f.amx_bf16 = os_amx && ((d >> 22) & 1);
    if (max_sub7 >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        f.avx512_bf16 = os_avx512 && ((a >> 5) & 1);
    }
#elif defined(__aarch64__)
    f.neon = 1;
#endif
    return f;
}

// the table for a name when this build and CPU can run it, else NULL
const gn_kernels *gn_kernels_get(const char *isa) {
    if (!isa) return NULL;
    if (!strcmp(isa, "ref")) return &gn_kernels_ref;
    gn_cpu_features f = gn_cpu_detect();
    (void)f;
#ifdef GN_HAVE_AVX2
    if (!strcmp(isa, "avx2")) return (f.avx2 && f.fma) ? &gn_kernels_avx2 : NULL;
#endif
#ifdef GN_HAVE_AVX512
    if (!strcmp(isa, "avx512"))
        return (f.avx512f && f.avx512bw && f.avx512vl && f.avx2 && f.fma) ? &gn_kernels_avx512
                                                                           : NULL;
#endif
#ifdef GN_HAVE_NEON
    if (!strcmp(isa, "neon")) return f.neon ? &gn_kernels_neon : NULL;
#endif
    return NULL;
}

// every runnable table, slowest (ref) first
int gn_kernels_available(const gn_kernels **out, int max) {
    static const char *const names[] = {"ref", "avx2", "avx512", "neon"};
    int n = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const gn_kernels *k = gn_kernels_get(names[i]);
        if (k && n < max) out[n++] = k;
    }
    return n;
}

static _Atomic(const gn_kernels *) current;
static pthread_once_t current_once = PTHREAD_ONCE_INIT;

// the fastest runnable table
static const gn_kernels *best(void) {
    const gn_kernels *all[8];
    int n = gn_kernels_available(all, 8);
    return all[n - 1];
}

// chooses from GANNET_ISA or the CPU; warns once on a bad GANNET_ISA
void gn_kernels_init(void) {
    const char *want = getenv("GANNET_ISA");
    const gn_kernels *k = NULL;
    if (want && *want && strcmp(want, "auto") != 0) {
        k = gn_kernels_get(want);
        if (!k)
            fprintf(stderr, "gannet: GANNET_ISA=%s is unknown or not available on this CPU; "
                            "using %s\n", want, best()->name);
    }
    atomic_store(&current, k ? k : best());
}

// gn_kernels_init run once, for the lazy path
static void init_once(void) {
    if (!atomic_load(&current)) gn_kernels_init();
}

// the table in use, chosen on first call
const gn_kernels *gn_kern(void) {
    const gn_kernels *k = atomic_load_explicit(&current, memory_order_acquire);
    if (k) return k;
    pthread_once(&current_once, init_once);
    return atomic_load(&current);
}
