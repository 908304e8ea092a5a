#include <string.h>
#include <omp.h>
#include <dnnl.h>

#include "dnnl/scatter_mm.h"
#include "gannet/tensor.h"

/* Output channels this path is for: RGB-sized outputs. One-channel outputs
 * stay on oneDNN so that the gray presets train bit-identically to before. */
#define SCATTER_MIN_OUT_C 2
#define SCATTER_MAX_OUT_C 15
/* The product's inner dimension must be wide enough to run near peak. */
#define SCATTER_MIN_IN_C 32

int gn_scatter_mm_wanted(int in_c, int out_c) {
    return out_c >= SCATTER_MIN_OUT_C && out_c <= SCATTER_MAX_OUT_C && in_c >= SCATTER_MIN_IN_C;
}

static size_t cols_per_sample(const gn_scatter_mm *m) {
    return (size_t)m->ih * m->iw * m->kh * m->kw * m->oc;
}

gn_status gn_scatter_mm_init(gn_scatter_mm *m) {
    m->threads = omp_get_max_threads();
    m->wt = gn_alloc((size_t)m->ic * m->kh * m->kw * m->oc * sizeof(float));
    m->cols = gn_alloc((size_t)m->threads * cols_per_sample(m) * sizeof(float));
    if (!m->wt || !m->cols) {
        gn_scatter_mm_free(m);
        return gn_fail(GN_ERR_NOMEM, "out of memory for a transposed convolution's products");
    }
    return GN_OK;
}

void gn_scatter_mm_free(gn_scatter_mm *m) {
    gn_free(m->wt);
    gn_free(m->cols);
    m->wt = m->cols = NULL;
}

void gn_scatter_mm_weights(gn_scatter_mm *m, const float *w, int swap) {
    int taps = m->kh * m->kw, O = swap ? m->ic : m->oc, I = swap ? m->oc : m->ic;
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++)
            for (int t = 0; t < taps; t++) {
                float v = w[((size_t)o * I + i) * taps + t];
                int k = swap ? o : i, c = swap ? i : o; /* product row k, output channel c */
                m->wt[((size_t)k * taps + t) * m->oc + c] = v;
            }
}

/* Adds one sample's products cols (IH * IW, KH, KW, OC) into its output y (OH, OW, OC). */
static void scatter(const gn_scatter_mm *m, const float *cols, float *y) {
    int C = m->oc;
    memset(y, 0, (size_t)m->oh * m->ow * C * sizeof(float));
    for (int ih = 0; ih < m->ih; ih++)
        for (int iw = 0; iw < m->iw; iw++) {
            const float *c = cols + ((size_t)ih * m->iw + iw) * m->kh * m->kw * C;
            for (int kh = 0; kh < m->kh; kh++) {
                int oh = ih * m->sh - m->pad_t + kh;
                if (oh < 0 || oh >= m->oh) continue;
                for (int kw = 0; kw < m->kw; kw++) {
                    int ow = iw * m->sw - m->pad_l + kw;
                    if (ow < 0 || ow >= m->ow) continue;
                    float *d = y + ((size_t)oh * m->ow + ow) * C;
                    const float *s = c + ((size_t)kh * m->kw + kw) * C;
                    for (int ch = 0; ch < C; ch++) d[ch] += s[ch];
                }
            }
        }
}

gn_status gn_scatter_mm_run(gn_scatter_mm *m, const float *x, float *y, int relu) {
    dnnl_dim_t rows = (dnnl_dim_t)m->ih * m->iw, cols = (dnnl_dim_t)m->kh * m->kw * m->oc;
    size_t xs = (size_t)rows * m->ic, ys = (size_t)m->oh * m->ow * m->oc;
    int failed = 0;
#pragma omp parallel for schedule(static) num_threads(m->threads) reduction(| : failed)
    for (int n = 0; n < m->n; n++) {
        float *c = m->cols + (size_t)omp_get_thread_num() * cols_per_sample(m);
        /* one sample: (IH * IW, IC) . (IC, KH * KW * OC), single-threaded inside the loop */
        if (dnnl_sgemm('N', 'N', rows, cols, m->ic, 1.0f, x + n * xs, m->ic, m->wt, cols, 0.0f, c, cols))
            failed = 1;
        else
            scatter(m, c, y + n * ys);
        if (relu)
            for (size_t i = 0; i < ys; i++) y[n * ys + i] = y[n * ys + i] > 0 ? y[n * ys + i] : 0;
    }
    return failed ? gn_fail(GN_ERR_DNNL, "oneDNN sgemm failed in a transposed convolution") : GN_OK;
}
