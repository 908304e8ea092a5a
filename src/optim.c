#include <math.h>
#include <string.h>

#include "gannet/optim.h"
#include "gannet/tensor.h"
#include "kernels.h"
#include "layers/layers.h"

gn_status gn_optim_init(gn_optim *o, gn_opt_kind kind, size_t n, float lr, float beta1,
                        float beta2, float eps) {
    memset(o, 0, sizeof *o);
    if (!(lr > 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0))
        return gn_fail(GN_ERR_ARG, "optimizer: lr %g, beta1 %g, beta2 %g, eps %g out of range", lr,
                       beta1, beta2, eps);
    o->kind = kind;
    o->lr = lr;
    o->beta1 = beta1;
    o->beta2 = beta2;
    o->eps = eps;
    o->n = n;
    o->m = gn_alloc((n ? n : 1) * sizeof(float));
    o->v = gn_alloc((n ? n : 1) * sizeof(float));
    if (!o->m || !o->v) {
        gn_optim_free(o);
        return gn_fail(GN_ERR_NOMEM, "optimizer: out of memory for %zu moments", n);
    }
    memset(o->m, 0, (n ? n : 1) * sizeof(float));
    memset(o->v, 0, (n ? n : 1) * sizeof(float));
    return GN_OK;
}

void gn_optim_free(gn_optim *o) {
    gn_free(o->m);
    gn_free(o->v);
    o->m = o->v = NULL;
}

const char *gn_opt_name(gn_opt_kind k) {
    return k == GN_OPT_ADAM ? "adam" : k == GN_OPT_ADAMAX ? "adamax" : "sgd";
}

void gn_optim_step(gn_optim *o, float *w, const float *g) {
    o->t++;
    float b1 = o->beta1, b2 = o->beta2, lr = o->lr, eps = o->eps;
    float *m = o->m, *v = o->v;
    size_t n = o->n;
    if (o->kind == GN_OPT_ADAM) {
        const gn_kernels *K = gn_kern();
        float bc1 = (float)(1 - pow(b1, (double)o->t)), bc2 = (float)(1 - pow(b2, (double)o->t));
        GN_PARALLEL_CHUNKS(n, off, len, K->adam(w + off, m + off, v + off, g + off, len, lr, b1, b2,
                                                eps, bc1, bc2));
    } else if (o->kind == GN_OPT_ADAMAX) {
        float step = lr / (float)(1 - pow(b1, (double)o->t));
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            float a = fabsf(g[i]), bv = b2 * v[i];
            v[i] = bv > a ? bv : a;
            w[i] -= step * m[i] / (v[i] + eps);
        }
    } else {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            m[i] = b1 * m[i] - lr * g[i];
            w[i] += m[i];
        }
    }
}
