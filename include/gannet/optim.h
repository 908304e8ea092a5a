/* Optimizers as one loop over a parameter slab. */
#ifndef GANNET_OPTIM_H
#define GANNET_OPTIM_H

#include "gannet/export.h"

#include <stddef.h>
#include <stdint.h>

#include "gannet/status.h"

typedef enum gn_opt_kind { GN_OPT_ADAM, GN_OPT_ADAMAX, GN_OPT_SGD } gn_opt_kind;

typedef struct gn_optim {
    gn_opt_kind kind;
    float lr, beta1, beta2, eps; /* SGD: beta1 is the momentum */
    uint64_t t;                  /* steps taken */
    size_t n;
    float *m, *v;                /* moments (v unused by SGD) */
} gn_optim;

/* Keras' defaults: Adam/Adamax beta1 0.9, beta2 0.999, eps 1e-7. */
GN_API gn_status gn_optim_init(gn_optim *o, gn_opt_kind kind, size_t n, float lr, float beta1,
                               float beta2, float eps);
GN_API void gn_optim_free(gn_optim *o);
/* One update of w (n) from g (n):
 *   Adam:   m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *           w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *   Adamax: m as Adam; v = max(b2 v, |g|); w -= lr / (1 - b1^t) * m / (v + eps)
 *   SGD:    m = b1 m - lr g; w += m */
GN_API void gn_optim_step(gn_optim *o, float *w, const float *g);
GN_API const char *gn_opt_name(gn_opt_kind k);

#endif
