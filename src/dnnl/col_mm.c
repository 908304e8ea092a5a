#include <omp.h>
#include <string.h>

#include "dnnl/col_mm.h"
#include "gannet/tensor.h"
#include "kernels.h"

/* The patches of one product at most this large. Products over fewer
 * samples add to what the others wrote, and those sums cost: D's 5x5/2
 * 256->512 convolution took 1.5-2x fp32's time in chunks of 4 MiB of
 * patches, 0.6-0.7x in 16-64 MiB. Products over all samples and a group of
 * taps (disjoint columns of dw, no sums) ran no faster than 16 MiB chunks of
 * samples: oneDNN copies the transposed dy again for every product. The
 * default is GN_COL_MM_BYTES (col_mm.h). */
/* Channels per work item of the bias sum. */
#define BIAS_BLOCK 64

int gn_col_mm_wanted(int sh, int sw) { return sh > 1 || sw > 1; }

static size_t patch_len(const gn_col_mm *m) { return (size_t)m->kh * m->kw * m->ic; }
static size_t rows_per_sample(const gn_col_mm *m) { return (size_t)m->oh * m->ow; }

/* Every tap and the most samples (a divisor of n) whose patches fit
 * max_bytes; else one sample and the most taps (a divisor of KH * KW). */
void gn_col_mm_plan(gn_col_mm *m) {
    size_t per = rows_per_sample(m) * m->ic * sizeof(uint16_t); /* one sample, one tap */
    size_t most = m->max_bytes ? m->max_bytes : GN_COL_MM_BYTES;
    int taps = m->kh * m->kw;
    m->chunk = m->taps = 1;
    for (int c = m->n; c >= 1; c--)
        if (m->n % c == 0 && (size_t)c * taps * per <= most) {
            m->chunk = c;
            m->taps = taps;
            return;
        }
    for (int t = taps; t >= 1; t--)
        if (taps % t == 0 && (size_t)t * per <= most) {
            m->taps = t;
            return;
        }
}

/* A block of columns of dwt (OC, P) (+)= g^T (OC, K) . cols (K, taps * IC):
 * g (K, OC) as stored, read transposed. */
static gn_status make_products(gn_col_mm *m) {
    dnnl_dim_t K = (dnnl_dim_t)m->chunk * rows_per_sample(m), Pc = (dnnl_dim_t)m->taps * m->ic;
    dnnl_dims_t ad = {m->oc, K}, bd = {K, Pc}, cd = {m->oc, Pc}, cs = {(dnnl_dim_t)patch_len(m), 1};
    dnnl_memory_desc_t a, b, c;
    dnnl_memory_desc_init_by_tag(&a, 2, ad, dnnl_bf16, dnnl_ba);
    dnnl_memory_desc_init_by_tag(&b, 2, bd, dnnl_bf16, dnnl_ab);
    dnnl_memory_desc_init_by_strides(&c, 2, cd, dnnl_f32, cs);
    const dnnl_memory_desc_t *md[3] = {&a, &b, &c};
    gn_status s = GN_OK;
    for (int i = 0; i < 3 && !s; i++)
        s = gn_dnn_check(dnnl_memory_create(&m->mem[i], md[i], gn_dnn_engine(), DNNL_MEMORY_NONE),
                         "weight-gradient product memory");
    dnnl_matmul_desc_t d;
    if (!s) s = gn_dnn_check(dnnl_matmul_desc_init(&d, &a, &b, NULL, &c), "weight-gradient product");
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_attr_t attr = NULL;
    if (!s) s = gn_dnn_check(dnnl_post_ops_create(&po), "post-ops");
    if (!s) s = gn_dnn_check(dnnl_post_ops_append_sum(po, 1.0f), "post-ops");
    if (!s) s = gn_dnn_check(dnnl_primitive_attr_create(&attr), "attributes");
    if (!s) s = gn_dnn_check(dnnl_primitive_attr_set_post_ops(attr, po), "attributes");
    dnnl_primitive_desc_t pd[2] = {NULL, NULL};
    if (!s) s = gn_dnn_build(&d, NULL, NULL, &pd[0], &m->mm[0], "weight-gradient product");
    if (!s) s = gn_dnn_build(&d, attr, NULL, &pd[1], &m->mm[1], "weight-gradient product");
    for (int i = 0; i < 2; i++)
        if (pd[i]) dnnl_primitive_desc_destroy(pd[i]);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (po) dnnl_post_ops_destroy(po);
    return s;
}

gn_status gn_col_mm_init(gn_col_mm *m) {
    gn_status s = gn_dnn_init();
    if (s) return s;
    gn_col_mm_plan(m);
    s = make_products(m);
    if (s) gn_col_mm_free(m);
    return s;
}

size_t gn_col_mm_bytes(const gn_col_mm *m, int which) {
    if (which == 0) return (size_t)m->chunk * rows_per_sample(m) * m->taps * m->ic * sizeof(uint16_t);
    return (size_t)m->oc * patch_len(m) * sizeof(float);
}

void gn_col_mm_free(gn_col_mm *m) {
    for (int i = 0; i < 2; i++)
        if (m->mm[i]) dnnl_primitive_destroy(m->mm[i]);
    for (int i = 0; i < 3; i++)
        if (m->mem[i]) dnnl_memory_destroy(m->mem[i]);
    memset(m->mm, 0, sizeof m->mm);
    memset(m->mem, 0, sizeof m->mem);
    m->cols = NULL;
    m->dwt = NULL;
}

/* cols (chunk * OH * OW, taps, IC) = bf16 of taps [t0, t0 + taps) of the
 * patches of samples [n0, n0 + chunk) of x, zero where a patch reaches into
 * the padding. */
static void patches(const gn_col_mm *m, const void *x, int n0, int t0) {
    const gn_kernels *k = gn_kern();
    long rows = (long)m->chunk * (long)rows_per_sample(m);
    size_t C = (size_t)m->ic;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++) {
        int n = n0 + (int)(r / (long)rows_per_sample(m)), p = (int)(r % (long)rows_per_sample(m));
        int oh = p / m->ow, ow = p % m->ow;
        uint16_t *row = m->cols + (size_t)r * m->taps * C;
        for (int t = 0; t < m->taps; t++) {
            int kh = (t0 + t) / m->kw, kw = (t0 + t) % m->kw;
            int ih = oh * m->sh - m->pad_t + kh, iw = ow * m->sw - m->pad_l + kw;
            uint16_t *dst = row + (size_t)t * C;
            size_t at = (((size_t)n * m->ih + ih) * m->iw + iw) * C;
            if (ih < 0 || ih >= m->ih || iw < 0 || iw >= m->iw)
                memset(dst, 0, C * sizeof(uint16_t));
            else if (m->x_bf16)
                memcpy(dst, (const uint16_t *)x + at, C * sizeof(uint16_t));
            else
                k->f32_to_bf16(dst, (const float *)x + at, C);
        }
    }
}

/* dw (OC, IC, KH, KW) from the products' sums it holds as (OC, KH, KW, IC),
 * one row of OC at a time through a copy per thread. */
static gn_status untranspose_in_place(const gn_col_mm *m, float *dw) {
    size_t taps = (size_t)m->kh * m->kw, row = taps * m->ic;
    float *tmp = gn_alloc((size_t)omp_get_max_threads() * row * sizeof(float));
    if (!tmp) return gn_fail(GN_ERR_NOMEM, "out of memory for a row of weight gradients");
#pragma omp parallel for schedule(static)
    for (int o = 0; o < m->oc; o++) {
        float *r = dw + (size_t)o * row, *t = tmp + (size_t)omp_get_thread_num() * row;
        memcpy(t, r, row * sizeof(float));
        for (size_t k = 0; k < taps; k++)
            for (int i = 0; i < m->ic; i++) r[i * taps + k] = t[k * m->ic + i];
    }
    gn_free(tmp);
    return GN_OK;
}

/* dw from dwt (OC, KH, KW, IC): (OC, IC, KH, KW), or (IC, OC, KH, KW) when transposed. */
static void untranspose(const gn_col_mm *m, float *dw) {
    int taps = m->kh * m->kw;
    size_t os = m->transposed ? (size_t)taps : (size_t)m->ic * taps; /* strides of o and i in dw */
    size_t is = m->transposed ? (size_t)m->oc * taps : (size_t)taps;
#pragma omp parallel for schedule(static)
    for (int o = 0; o < m->oc; o++)
        for (int t = 0; t < taps; t++)
            for (int i = 0; i < m->ic; i++)
                dw[o * os + i * is + t] = m->dwt[((size_t)o * taps + t) * m->ic + i];
}

void gn_col_mm_bias(const float *a, size_t rows, int C, float *out) {
    int blocks = (C + BIAS_BLOCK - 1) / BIAS_BLOCK;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < blocks; b++) {
        int c0 = b * BIAS_BLOCK, c1 = c0 + BIAS_BLOCK < C ? c0 + BIAS_BLOCK : C;
        float acc[BIAS_BLOCK] = {0};
        for (size_t r = 0; r < rows; r++)
            for (int c = c0; c < c1; c++) acc[c - c0] += a[r * C + c];
        memcpy(out + c0, acc, (size_t)(c1 - c0) * sizeof(float));
    }
}

gn_status gn_col_mm_run(gn_col_mm *m, const void *x, const uint16_t *g, float *dw) {
    size_t g_chunk = (size_t)m->chunk * rows_per_sample(m) * m->oc;
    float *sums = m->dwt ? m->dwt : dw;
    if (!m->dwt && m->transposed) return gn_fail(GN_ERR_ARG, "a transposed convolution's products need dwt");
    dnnl_memory_set_data_handle(m->mem[1], m->cols);
    for (int n0 = 0; n0 < m->n; n0 += m->chunk)
        for (int t0 = 0; t0 < m->kh * m->kw; t0 += m->taps) {
            patches(m, x, n0, t0);
            dnnl_memory_set_data_handle(m->mem[0], (void *)(g + (size_t)(n0 / m->chunk) * g_chunk));
            dnnl_memory_set_data_handle(m->mem[2], sums + (size_t)t0 * m->ic);
            dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, m->mem[0]}, {DNNL_ARG_WEIGHTS, m->mem[1]},
                                       {DNNL_ARG_DST, m->mem[2]}};
            gn_status s = gn_dnn_exec(m->mm[n0 ? 1 : 0], 3, args, "weight-gradient product");
            if (s) return s;
        }
    if (!m->dwt) return untranspose_in_place(m, dw);
    untranspose(m, dw);
    return GN_OK;
}
