#include <math.h>
#include <string.h>

#include "gannet/loss.h"

/* log(1 + exp(x)) without overflow. */
static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static double sigmoid(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }

/* logits: (n, C), targets: (n, C) -> mean of -sum_c t_c log softmax_c. */
float gn_softmax_cross_entropy(const float *logits, const float *targets, size_t n, size_t C,
                               float *dlogits) {
    double total = 0;
    for (size_t r = 0; r < n; r++) {
        const float *l = logits + r * C, *t = targets + r * C;
        double mx = l[0];
        for (size_t c = 1; c < C; c++) mx = l[c] > mx ? l[c] : mx;
        double se = 0;
        for (size_t c = 0; c < C; c++) se += exp(l[c] - mx);
        double lse = mx + log(se), tsum = 0;
        for (size_t c = 0; c < C; c++) {
            total -= t[c] * (l[c] - lse);
            tsum += t[c];
        }
        if (dlogits)
            for (size_t c = 0; c < C; c++)
                dlogits[r * C + c] = (float)((exp(l[c] - lse) * tsum - t[c]) / n);
    }
    return (float)(total / n);
}

/* logits: (n), targets: (n) -> mean of -t log s(l) - (1-t) log(1 - s(l)). */
float gn_sigmoid_cross_entropy(const float *logits, const float *targets, size_t n, float *dlogits) {
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        double l = logits[i], t = targets[i];
        total += t * softplus(-l) + (1 - t) * softplus(l);
        if (dlogits) dlogits[i] = (float)((sigmoid(l) - t) / n);
    }
    return (float)(total / n);
}

/* The logit of "real" for image i of a head of `head` logits: l1 - l0 of
 * the two-class head, the single logit of a one-logit head. */
static double real_logit(const float *logits, size_t head, size_t i) {
    return head == 1 ? (double)logits[i] : (double)logits[2 * i + 1] - logits[2 * i];
}

/* Writes the gradient dz of the loss with respect to image i's real logit
 * into its head: dz/dl1 = 1, dz/dl0 = -1 for two logits. */
static void put_dz(float *dlogits, size_t head, size_t i, double dz) {
    if (head == 1) {
        dlogits[i] = (float)dz;
        return;
    }
    dlogits[2 * i + 1] = (float)dz;
    dlogits[2 * i] = (float)-dz;
}

float gn_generator_loss_head(gn_gen_loss kind, const float *logits, size_t n, size_t head, float *dlogits) {
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        double z = real_logit(logits, head, i), dz;
        switch (kind) {
        case GN_GLOSS_MINIMAX:
            total += -softplus(z);
            dz = -sigmoid(z);
            break;
        case GN_GLOSS_ML: {
            double e = exp(z < 30 ? z : 30);
            total += -e;
            dz = z < 30 ? -e : 0;
            break;
        }
        default:
            total += softplus(-z);
            dz = sigmoid(z) - 1;
            break;
        }
        if (dlogits) put_dz(dlogits, head, i, dz / n);
    }
    return (float)(total / n);
}

float gn_generator_loss(gn_gen_loss kind, const float *logits, size_t n, float *dlogits) {
    return gn_generator_loss_head(kind, logits, n, 2, dlogits);
}

const char *gn_gen_loss_name(gn_gen_loss kind) {
    return kind == GN_GLOSS_MINIMAX ? "minimax" : kind == GN_GLOSS_ML ? "ml" : "nonsaturating";
}

int gn_gen_loss_parse(const char *s) {
    if (!strcmp(s, "minimax")) return GN_GLOSS_MINIMAX;
    if (!strcmp(s, "nonsaturating") || !strcmp(s, "non-saturating")) return GN_GLOSS_NONSATURATING;
    if (!strcmp(s, "ml")) return GN_GLOSS_ML;
    return -1;
}

float gn_hinge_d_loss_head(const float *logits, size_t n, size_t head, size_t nreal, float *dlogits) {
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        double z = real_logit(logits, head, i), sign = i < nreal ? 1.0 : -1.0;
        double margin = 1 - sign * z; /* relu(1 - z) for real, relu(1 + z) for fake */
        total += margin > 0 ? margin : 0;
        if (dlogits) put_dz(dlogits, head, i, margin > 0 ? -sign / n : 0.0);
    }
    return n ? (float)(total / n) : 0.0f;
}

float gn_hinge_d_loss(const float *logits, size_t n, size_t nreal, float *dlogits) {
    return gn_hinge_d_loss_head(logits, n, 2, nreal, dlogits);
}

float gn_hinge_g_loss_head(const float *logits, size_t n, size_t head, float *dlogits) {
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        total -= real_logit(logits, head, i);
        if (dlogits) put_dz(dlogits, head, i, -1.0 / n);
    }
    return n ? (float)(total / n) : 0.0f;
}

float gn_hinge_g_loss(const float *logits, size_t n, float *dlogits) {
    return gn_hinge_g_loss_head(logits, n, 2, dlogits);
}

float gn_mean_real_prob_head(const float *logits, size_t n, size_t head) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += sigmoid(real_logit(logits, head, i));
    return n ? (float)(s / n) : 0.0f;
}

float gn_mean_real_prob(const float *logits, size_t n) { return gn_mean_real_prob_head(logits, n, 2); }
