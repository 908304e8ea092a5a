/* Spectral normalisation (Miyato et al. 2018) of dense and convolution
 * weights: the layer runs with W / sigma, sigma the largest singular value
 * of W viewed as a (rows, K) matrix, estimated by one power iteration per
 * training forward from the u vector kept in the layer's state:
 *   a = W^T u, v = a / |a|, b = W v, sigma = |b|, u' = b / sigma.
 * u' and sigma replace u and sigma in the state; inference divides by the
 * stored sigma. The backward is the exact derivative of that forward with
 * the stored u a constant: through sigma, v and u' (PyTorch treats v and u'
 * as constants; the terms differ by one that vanishes as u converges). */
#include <math.h>
#include <string.h>

#include "gannet/memory.h"
#include "gannet/rng.h"
#include "layers/layer.h"

/* Norms below this count as this (PyTorch's normalize eps): a zero W gives sigma 1e-12. */
#define SN_EPS 1e-12

int gn_sn_on(const gn_layer *L) {
    if (L->kind == GN_LAYER_DENSE) return L->a.dense.sn;
    return (L->kind == GN_LAYER_CONV2D || L->kind == GN_LAYER_DECONV2D) && L->a.conv.sn;
}

static size_t sn_rows(const gn_layer *L) {
    return (size_t)(L->kind == GN_LAYER_DENSE ? L->a.dense.units : L->a.conv.filters);
}

size_t gn_sn_state(const gn_layer *L) { return gn_sn_on(L) ? sn_rows(L) + 1 : 0; }

/* a (K) = W^T u: columns in parallel, each summed in row order (deterministic). */
static void wt_times(const float *w, const float *u, size_t rows, size_t K, double *a) {
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < K; k++) {
        double s = 0;
        for (size_t r = 0; r < rows; r++) s += (double)w[r * K + k] * u[r];
        a[k] = s;
    }
}

static double norm(const double *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i] * x[i];
    s = sqrt(s);
    return s > SN_EPS ? s : SN_EPS;
}

void gn_sn_init(const gn_layer *L, const float *w, float *state, uint64_t seed, uint64_t stream) {
    size_t rows = sn_rows(L), K = L->w_len / rows;
    /* offset past the weights' own draws from this stream */
    gn_rng_fill_normal(state, rows, seed, stream, L->w_len, 0.0f, 1.0f);
    double nu = 0;
    for (size_t r = 0; r < rows; r++) nu += (double)state[r] * state[r];
    nu = sqrt(nu) > SN_EPS ? sqrt(nu) : SN_EPS;
    for (size_t r = 0; r < rows; r++) state[r] = (float)(state[r] / nu);
    double *a = gn_alloc(K * sizeof(double));
    if (!a) {
        state[rows] = 1.0f; /* the build reports no memory errors here; the first step will */
        return;
    }
    wt_times(w, state, rows, K, a);
    state[rows] = (float)norm(a, K);
    gn_free(a);
}

/* The layer's buffer: W / sigma (w_len), v (K), the u the forward started
 * from (rows), |W^T u| (1); then K + rows doubles of scratch. */
static size_t sn_floats(const gn_layer *L) {
    size_t rows = sn_rows(L), n = L->w_len + L->w_len / rows + rows + 1;
    return n + (n & 1); /* the doubles start 8-byte aligned */
}

static float *sn_buffer(gn_layer *L) {
    size_t rows = sn_rows(L), K = L->w_len / rows;
    if (!L->sn) L->sn = gn_alloc(sn_floats(L) * sizeof(float) + (K + rows) * sizeof(double));
    return L->sn;
}

static double *sn_scratch(const gn_layer *L) { return (double *)(L->sn + sn_floats(L)); }

static void scale_weights(gn_layer *L, const float *w, float sigma) {
    float inv = 1.0f / sigma;
    for (size_t i = 0; i < L->w_len; i++) L->sn[i] = w[i] * inv;
    L->sn_ver++;
}

/* One power iteration from state's u; a: scratch of K doubles, b: of rows. */
static void power_iteration(gn_layer *L, const float *w, float *state, double *a, double *b) {
    size_t rows = sn_rows(L), K = L->w_len / rows;
    float *v = L->sn + L->w_len, *u0 = v + K;
    wt_times(w, state, rows, K, a);
    double na = norm(a, K);
    for (size_t k = 0; k < K; k++) v[k] = (float)(a[k] / na);
    memcpy(u0, state, rows * sizeof(float));
    u0[rows] = (float)na;
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        double s = 0;
        for (size_t k = 0; k < K; k++) s += (double)w[r * K + k] * v[k];
        b[r] = s;
    }
    double sigma = norm(b, rows);
    for (size_t r = 0; r < rows; r++) state[r] = (float)(b[r] / sigma);
    state[rows] = (float)sigma;
}

const float *gn_sn_weights(gn_layer *L, const gn_call *c, uint64_t *ver) {
    size_t rows = sn_rows(L), K = L->w_len / rows;
    if (!sn_buffer(L)) return NULL;
    if (c->train) {
        double *a = sn_scratch(L);
        power_iteration(L, c->w, c->state, a, a + K);
        scale_weights(L, c->w, c->state[rows]);
        L->sn_src = 0; /* an inference after this recomputes */
    } else if (L->sn_src != c->version + 1 || L->sn_sigma != c->state[rows]) {
        scale_weights(L, c->w, c->state[rows]);
        L->sn_src = c->version + 1;
        L->sn_sigma = c->state[rows];
    }
    *ver = L->sn_ver;
    return L->sn;
}

/* With G = dL/dWn, Wn = W / sigma and sigma = u'^T W v:
 *   dL/dW = G / sigma - (<G, W> / sigma^2) dsigma/dW,
 *   dsigma/dW = u' v^T + u0 r^T,  r = (I - v v^T) W^T u' / |W^T u0|. */
void gn_sn_backward(const gn_layer *L, const gn_call *c, float *dw) {
    size_t rows = sn_rows(L), K = L->w_len / rows;
    const float *w = c->w, *u = c->state, *v = L->sn + L->w_len, *u0 = v + K;
    double sigma = c->state[rows], na = u0[rows], gw = 0;
    for (size_t i = 0; i < L->w_len; i++) gw += (double)dw[i] * w[i];
    double s = -gw / (sigma * sigma), vt = 0, *r = sn_scratch(L);
    wt_times(w, u, rows, K, r);
    for (size_t k = 0; k < K; k++) vt += r[k] * v[k];
    for (size_t k = 0; k < K; k++) r[k] = (r[k] - vt * v[k]) / na;
#pragma omp parallel for schedule(static)
    for (size_t q = 0; q < rows; q++)
        for (size_t k = 0; k < K; k++) {
            size_t i = q * K + k;
            dw[i] = (float)(dw[i] / sigma + s * ((double)u[q] * v[k] + u0[q] * r[k]));
        }
}
