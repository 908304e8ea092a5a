/* Losses, computed from logits (log-sum-exp), stable when a discriminator
 * saturates. Each returns the mean over the batch and writes the gradient of
 * that mean with respect to the logits. */
#ifndef GANNET_LOSS_H
#define GANNET_LOSS_H

#include "gannet/export.h"

#include <stddef.h>

/* Categorical cross-entropy over softmax(logits): logits (n, C), targets
 * (n, C) probabilities (one-hot or smoothed). dlogits may be NULL. */
GN_API float gn_softmax_cross_entropy(const float *logits, const float *targets, size_t n, size_t C,
                                      float *dlogits);

/* Binary cross-entropy over sigmoid(logit): logits (n), targets (n) in [0, 1]. */
GN_API float gn_sigmoid_cross_entropy(const float *logits, const float *targets, size_t n, float *dlogits);

/* The generator losses of the seed note, on the discriminator's two-class
 * logits (n, 2) for generated images (class 1 = real). With z = l1 - l0,
 * D(G(z)) = sigmoid(z):
 *   minimax:        minimise  log(1 - D) = -softplus(z)
 *   non-saturating: minimise -log D      =  softplus(-z)
 *   ml:             minimise -exp(logit D) = -exp(z), z capped at 30 */
typedef enum gn_gen_loss { GN_GLOSS_MINIMAX, GN_GLOSS_NONSATURATING, GN_GLOSS_ML } gn_gen_loss;
GN_API float gn_generator_loss(gn_gen_loss kind, const float *logits, size_t n, float *dlogits);
GN_API const char *gn_gen_loss_name(gn_gen_loss kind);
/* Parses "minimax", "nonsaturating" (or "non-saturating"), "ml"; -1 when unknown. */
GN_API int gn_gen_loss_parse(const char *s);

/* The loss family of D and G: softmax cross-entropy (G's by gn_gen_loss),
 * or the hinge loss on the two-class head's logit difference z = l1 - l0
 * (real minus fake class), so a D made for cross-entropy works unchanged:
 *   D: mean over its batch of relu(1 - z) for real and relu(1 + z) for fake
 *      images (with equal halves: (E_real + E_fake) / 2)
 *   G: mean of -z over the generated images. */
typedef enum gn_loss_kind { GN_LOSS_CROSS_ENTROPY = 0, GN_LOSS_HINGE = 1 } gn_loss_kind;
/* D's hinge loss: logits (n, 2), the first nreal rows real, the rest fake. */
GN_API float gn_hinge_d_loss(const float *logits, size_t n, size_t nreal, float *dlogits);
/* G's hinge loss: logits (n, 2) of generated images. */
GN_API float gn_hinge_g_loss(const float *logits, size_t n, float *dlogits);

/* Mean of softmax(logits)[.,1]: the discriminator's mean belief that the images are real. */
GN_API float gn_mean_real_prob(const float *logits, size_t n);

/* The same losses for a D head of `head` logits per image: 2 as above, or 1,
 * a single logit z of "real" (PyTorch's DCGAN, BCEWithLogitsLoss), for which
 * D's cross-entropy is gn_sigmoid_cross_entropy. With head = 2 each equals
 * the function above. */
GN_API float gn_generator_loss_head(gn_gen_loss kind, const float *logits, size_t n, size_t head,
                                    float *dlogits);
GN_API float gn_hinge_d_loss_head(const float *logits, size_t n, size_t head, size_t nreal, float *dlogits);
GN_API float gn_hinge_g_loss_head(const float *logits, size_t n, size_t head, float *dlogits);
GN_API float gn_mean_real_prob_head(const float *logits, size_t n, size_t head);

#endif
