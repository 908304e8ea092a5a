/* Batch normalisation per channel over rows (N*H*W, or N after a dense
 * layer), with an optional fused ReLU. Reductions run over fixed blocks of
 * rows whose partial sums are combined in order, so results do not depend on
 * the thread count; very wide inputs (a dense layer's features) are split
 * over channels instead. */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "gannet/rng.h"
#include "layers/layer.h"

#define BN_BLOCK_ROWS 256
#define BN_WIDE 4096 /* at least this many channels: split over channels */

static size_t nblocks(size_t rows) { return (rows + BN_BLOCK_ROWS - 1) / BN_BLOCK_ROWS; }

/* Per-block partial sums (2C per block), then the two totals and the three
 * backward coefficients (5C), then (synchronised batch norm) 2C doubles,
 * and 2C more where slices' sums add up. */
static size_t sync_at(size_t rows, size_t C) {
    size_t at = 2 * C * nblocks(rows) + 5 * C;
    return at + (at & 1); /* doubles on 8 bytes */
}
size_t gn_batchnorm_work_size(size_t rows, size_t C) { return sync_at(rows, C) + 8 * C; }

/* s1[c] = sum_r f1, s2[c] = sum_r f2 where, with d = x - centre[c],
 * (f1, f2) = (d, d^2), or the backward pair (g, g*d) when dy != NULL; the
 * blocks' partial sums are added in double, in block order. A centre near the
 * channel mean keeps the sums free of cancellation when the mean is large
 * compared with the spread. centre (C floats) is read only, never from work.
 * dsum (2C, or NULL): the same sums before their rounding to float, which a
 * synchronised batch norm adds across processes. */
static void channel_sums(float *s1, float *s2, const float *x, const float *centre,
                         const float *dy, const float *y, size_t rows, size_t C, int relu,
                         float *work, double *dsum) {
    const gn_kernels *K = gn_kern();
    if (C >= BN_WIDE) {
        size_t nch = (C + 1023) / 1024;
#pragma omp parallel for schedule(static)
        for (size_t j = 0; j < nch; j++) {
            size_t c0 = j * 1024, cn = C - c0 < 1024 ? C - c0 : 1024;
            const float *cc = centre ? centre + c0 : NULL;
            memset(s1 + c0, 0, cn * sizeof(float));
            memset(s2 + c0, 0, cn * sizeof(float));
            for (size_t r = 0; r < rows; r++) {
                size_t o = r * C + c0;
                if (dy)
                    K->bn_backward_sums(s1 + c0, s2 + c0, dy + o, y ? y + o : NULL, x + o, cc, 1,
                                        cn, relu);
                else
                    K->channel_sum_sumsq(s1 + c0, s2 + c0, x + o, cc, 1, cn);
            }
        }
        for (size_t c = 0; dsum && c < C; c++) {
            dsum[c] = s1[c];
            dsum[C + c] = s2[c];
        }
        return;
    }
    size_t nb = nblocks(rows);
    memset(work, 0, 2 * C * nb * sizeof(float));
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nb; b++) {
        size_t r0 = b * BN_BLOCK_ROWS, rn = rows - r0 < BN_BLOCK_ROWS ? rows - r0 : BN_BLOCK_ROWS;
        float *p1 = work + 2 * C * b, *p2 = p1 + C;
        size_t o = r0 * C;
        if (dy)
            K->bn_backward_sums(p1, p2, dy + o, y ? y + o : NULL, x + o, centre, rn, C, relu);
        else
            K->channel_sum_sumsq(p1, p2, x + o, centre, rn, C);
    }
    for (size_t c = 0; c < C; c++) {
        double a = 0, q = 0;
        for (size_t b = 0; b < nb; b++) {
            a += work[2 * C * b + c];
            q += work[2 * C * b + C + c];
        }
        s1[c] = (float)a;
        s2[c] = (float)q;
        if (dsum) {
            dsum[c] = a;
            dsum[C + c] = q;
        }
    }
}

/* Synchronised batch norm: the sums of every process (in double, so that the
 * result rounds as one process's would but for the order of the additions). */
static void sum_over_ranks(const gn_sync *sync, const double *dsum, float *s1, float *s2, size_t C) {
    double *d = (double *)dsum;
    sync->sum(sync->ctx, d, 2 * C);
    for (size_t c = 0; c < C; c++) {
        s1[c] = (float)d[c];
        s2[c] = (float)d[C + c];
    }
}

/* The backward's parameter gradients from one share's sums (s1 = sum g,
 * s2 = sum g (x - mean)): this process's, or one slice's. */
static void share_grads(float *dgamma, float *dbeta, const float *s1, const float *s2,
                        const float *rstd, size_t C) {
    for (size_t c = 0; c < C; c++) { /* averaged with the other gradients */
        if (dbeta) dbeta[c] = s1[c];
        if (dgamma) dgamma[c] = (float)((double)rstd[c] * s2[c]);
    }
}

/* channel_sums over the whole batch. Without sync: this process's rows.
 * Synchronised over processes: this process's rows, then every process's
 * double sums added. Over slices (one process standing for sync->slices
 * ranks): each slice's rows as that rank sums them, the double sums added
 * in slice order (for 2 slices a + b, as 2 ranks add). With dgamma or dbeta
 * (backward): each share's gradients before the sums add up, a slice's in
 * its own gradient slab. dsum: 4C doubles when synchronised, else NULL. */
static void batch_sums(float *s1, float *s2, const float *x, const float *centre, const float *dy,
                       const float *y, size_t rows, size_t C, int relu, float *work, double *dsum,
                       const gn_sync *sync, const float *rstd, float *dgamma, float *dbeta) {
    size_t k = sync && sync->slices > 1 ? (size_t)sync->slices : 1, r = rows / k;
    double *acc = dsum ? dsum + 2 * C : NULL;
    for (size_t s = 0; s < k; s++) {
        size_t o = s * r * C, g = s * (k > 1 ? sync->grad_stride : 0);
        channel_sums(s1, s2, x + o, centre, dy ? dy + o : NULL, y ? y + o : NULL, r, C, relu, work, dsum);
        share_grads(dgamma ? dgamma + g : NULL, dbeta ? dbeta + g : NULL, s1, s2, rstd, C);
        for (size_t c = 0; k > 1 && c < 2 * C; c++) acc[c] = s ? acc[c] + dsum[c] : dsum[c];
    }
    if (k > 1)
        for (size_t c = 0; c < C; c++) {
            s1[c] = (float)acc[c];
            s2[c] = (float)acc[C + c];
        }
    else if (sync && sync->sum)
        sum_over_ranks(sync, dsum, s1, s2, C);
}

/* x: (rows, C) -> y: (rows, C) = x * scale[c] + shift[c] (+ ReLU), over row
 * blocks in parallel; y may be x. */
void gn_channel_affine(float *y, const float *x, size_t rows, size_t C, const float *scale,
                       const float *shift, int relu) {
    const gn_kernels *K = gn_kern();
    size_t block = C >= BN_WIDE ? 1 : BN_BLOCK_ROWS, nb = (rows + block - 1) / block;
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nb; b++) {
        size_t r0 = b * block, rn = rows - r0 < block ? rows - r0 : block;
        K->channel_affine(y + r0 * C, x + r0 * C, rn, C, scale, shift, relu);
    }
}

/* The training forward's per-channel scale and shift: y = x * scale + shift. */
static void train_coeffs(float *scale, float *shift, const float *gamma, const float *beta,
                         const float *mean, const float *rstd, size_t C) {
    for (size_t c = 0; c < C; c++) {
        scale[c] = gamma[c] * rstd[c];
        shift[c] = beta[c] - mean[c] * scale[c];
    }
}

/* x: (rows, C) -> y: (rows, C); gamma, beta: (C); writes mean, rstd (C); updates running (C).
 * Two passes: the mean from sums about the first row of x (a cheap estimate
 * of the mean), then the variance from sums about that mean, so that neither
 * loses precision when a channel's mean is large against its spread. */
void gn_batchnorm_forward_train(float *y, float *mean, float *rstd, float *running_mean,
                                float *running_var, const float *x, const float *gamma,
                                const float *beta, size_t rows, size_t C, float momentum,
                                float eps, int relu, float *work, const gn_sync *sync) {
    float *sum = work + 2 * C * nblocks(rows), *sumsq = sum + C;
    const float *first = rows ? x : NULL; /* x is not written before the end */
    double total = (double)rows, *dsum = sync ? (double *)(work + sync_at(rows, C)) : NULL;
    if (sync && sync->sum) { /* every process centres on the first row of the whole batch: rank 0's */
        float *c0 = sumsq + C;
        for (size_t c = 0; c < C; c++) dsum[c] = sync->rank == 0 && rows ? x[c] : 0.0f;
        sync->sum(sync->ctx, dsum, C);
        for (size_t c = 0; c < C; c++) c0[c] = (float)dsum[c];
        first = c0;
        total *= sync->ranks;
    }
    batch_sums(sum, sumsq, x, first, NULL, NULL, rows, C, 0, work, dsum, sync, NULL, NULL, NULL);
    for (size_t c = 0; c < C; c++) mean[c] = (float)((first ? (double)first[c] : 0.0) + (double)sum[c] / total);
    batch_sums(sum, sumsq, x, mean, NULL, NULL, rows, C, 0, work, dsum, sync, NULL, NULL, NULL);
    for (size_t c = 0; c < C; c++) {
        double d = (double)sum[c] / total;
        double var = (double)sumsq[c] / total - d * d;
        if (var < 0) var = 0;
        rstd[c] = (float)(1.0 / sqrt(var + eps));
        running_mean[c] = momentum * running_mean[c] + (1 - momentum) * mean[c];
        running_var[c] = momentum * running_var[c] + (1 - momentum) * (float)var;
    }
    /* scale and shift reuse the sum buffers once mean and rstd are known */
    train_coeffs(sum, sumsq, gamma, beta, mean, rstd, C);
    gn_channel_affine(y, x, rows, C, sum, sumsq, relu);
}

/* x: (rows, C) -> y: (rows, C), the training forward's output again. */
void gn_batchnorm_remake(float *y, const float *x, const float *gamma, const float *beta,
                         const float *mean, const float *rstd, size_t rows, size_t C, int relu,
                         float *work) {
    train_coeffs(work, work + C, gamma, beta, mean, rstd, C);
    gn_channel_affine(y, x, rows, C, work, work + C, relu);
}

/* x: (rows, C) -> y: (rows, C) with running statistics. */
void gn_batchnorm_forward_infer(float *y, const float *x, const float *gamma, const float *beta,
                                const float *running_mean, const float *running_var, size_t rows,
                                size_t C, float eps, int relu, float *work) {
    float *scale = work, *shift = work + C;
    for (size_t c = 0; c < C; c++) {
        scale[c] = gamma[c] / sqrtf(running_var[c] + eps);
        shift[c] = beta[c] - running_mean[c] * scale[c];
    }
    gn_channel_affine(y, x, rows, C, scale, shift, relu);
}

/* dy: (rows, C) -> dx: (rows, C), dgamma, dbeta: (C).
 * With xhat = (x - mean) * rstd and g = dy (masked by the fused ReLU), the
 * sums are taken about the batch mean so nothing cancels:
 * dbeta = sum g, dgamma = sum g * xhat = rstd * sum g*(x - mean),
 * dx = gamma * rstd * (g - dbeta / M - xhat * dgamma / M) = a g + b (x - mean) + k
 * with a = gamma rstd, b = -gamma rstd^2 dgamma / M, k = -gamma rstd dbeta / M. */
void gn_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *y, const float *x, const float *gamma, const float *mean,
                           const float *rstd, size_t rows, size_t C, int relu, float *work,
                           const gn_sync *sync) {
    float *sg = work + 2 * C * nblocks(rows), *sgx = sg + C;
    double *dsum = sync ? (double *)(work + sync_at(rows, C)) : NULL;
    /* dx depends on the sums over the whole batch; dgamma, dbeta are each share's */
    batch_sums(sg, sgx, x, mean, dy, relu ? y : NULL, rows, C, relu, work, dsum, sync, rstd, dgamma, dbeta);
    double M = (double)rows;
    if (sync && sync->sum) M *= sync->ranks;
    float *a = sgx + C, *b = a + C, *k = b + C;
    for (size_t c = 0; c < C; c++) {
        double db = sg[c];
        double dg = (double)rstd[c] * sgx[c];
        double gr = (double)gamma[c] * rstd[c];
        a[c] = (float)gr;
        b[c] = (float)(-gr * rstd[c] * dg / M);
        k[c] = (float)(-gr * db / M);
    }
    if (!dx) return;
    const gn_kernels *K = gn_kern();
    size_t block = C >= BN_WIDE ? 1 : BN_BLOCK_ROWS, nb = (rows + block - 1) / block;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < nb; i++) {
        size_t r0 = i * block, rn = rows - r0 < block ? rows - r0 : block;
        size_t o = r0 * C;
        K->bn_backward_apply(dx + o, dy + o, relu ? y + o : NULL, x + o, mean, rn, C, a, b, k,
                             relu);
    }
}

/* ---- registry entry: batchnorm (x: (N, H, W, C) -> y: (N, H, W, C)) ---- */

static int bn_shape(gn_layer *L, char *why, size_t len) {
    const gn_bn_args *a = &L->a.bn;
    if (gn_shape_same_if(L, a->momentum >= 0 && a->momentum < 1, "momentum must be in [0, 1)",
                         a->momentum, why, len))
        return -1;
    return gn_shape_same_if(L, a->eps > 0, "epsilon must be positive", a->eps, why, len);
}

/* gamma and beta per channel; the running mean then variance as state */
static void bn_counts(const gn_layer *L, size_t *w, size_t *b, size_t *state) {
    *w = *b = L->in.c;
    *state = 2 * (size_t)L->in.c;
}

/* gamma 1 (or N(1, 0.02)), beta 0; running mean 0, variance 1 */
static void bn_init(const gn_layer *L, float *w, float *b, float *state, gn_init init,
                    uint64_t seed, uint64_t stream) {
    size_t C = L->w_len;
    if (init == GN_INIT_NORMAL_002)
        gn_rng_fill_normal(w, C, seed, stream, 0, 1.0f, 0.02f);
    else
        for (size_t j = 0; j < C; j++) w[j] = 1.0f;
    memset(b, 0, C * sizeof(float));
    for (size_t j = 0; j < C; j++) {
        state[j] = 0.0f;
        state[C + j] = 1.0f;
    }
}

static gn_status bn_fwd(gn_layer *L, gn_call *c) {
    size_t rows = gn_layer_rows(L, c->n), C = L->in.c;
    int relu = (L->fuse & GN_FUSE_RELU_IN_BN) != 0;
    if (c->train)
        gn_batchnorm_forward_train(c->y, c->stats, c->stats + C, c->state, c->state + C, c->x[0],
                                   c->w, c->b, rows, C, L->a.bn.momentum, L->a.bn.eps, relu, c->work, c->sync);
    else
        gn_batchnorm_forward_infer(c->y, c->x[0], c->w, c->b, c->state, c->state + C, rows, C,
                                   L->a.bn.eps, relu, c->work);
    return GN_OK;
}

static gn_status bn_bwd(gn_layer *L, gn_call *c) {
    size_t rows = gn_layer_rows(L, c->n), C = L->in.c;
    gn_batchnorm_backward(c->dx[0], c->dw, c->db, c->dy, c->y, c->x[0], c->w, c->stats,
                          c->stats + C, rows, C, (L->fuse & GN_FUSE_RELU_IN_BN) != 0, c->work, c->sync);
    return GN_OK;
}

void gn_batchnorm_layer_remake(const gn_layer *B, float *y, const float *x, const float *w,
                               const float *b, const float *stats, int n, float *work) {
    size_t C = B->in.c;
    gn_batchnorm_remake(y, x, w, b, stats, stats + C, gn_layer_rows(B, n), C,
                        (B->fuse & GN_FUSE_RELU_IN_BN) != 0, work);
}

static size_t bn_work(const gn_layer *L, int n) {
    return gn_batchnorm_work_size(gn_layer_rows(L, n), L->in.c);
}

static void bn_describe(const gn_layer *L, char *buf, size_t len) {
    (void)L;
    snprintf(buf, len, "BatchNorm");
}

const gn_layer_ops gn_batchnorm_ops = {
    .kind = GN_LAYER_BATCHNORM, .name = "batchnorm", .title = "BatchNorm", .ninputs = 1,
    .traits = GN_OP_GRAD_IN_PLACE, .shape = bn_shape, .counts = bn_counts, .init = bn_init,
    .forward = bn_fwd, .backward = bn_bwd, .describe = bn_describe, .work_floats = bn_work,
};
