/* What data-parallel training (dist.c) sets on a network. A network where
 * none is set runs exactly as in one process. Not part of the public API:
 * the library's own GAN step uses them. */
#ifndef GANNET_NET_HOOKS_H
#define GANNET_NET_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "gannet/net.h"
#include "layers/layers.h"

/* Called after the backward pass of layer `layer` has written its parameter
 * gradients (layers run last to first; only when param_grads is set). */
typedef void (*gn_grads_ready_fn)(void *ctx, int layer);

/* Sets (fn NULL: clears) the "gradients ready" callback. */
void gn_net_on_grads_ready(gn_net *net, gn_grads_ready_fn fn, void *ctx);
/* Batch norm in training sums its statistics over the processes of sync
 * (copied; NULL: local statistics, the default). */
void gn_net_sync_batchnorm(gn_net *net, const gn_sync *sync);
/* Where the next forward's samples stand in the whole batch (random layers
 * key their draws by it); the backward of that forward uses it again. */
void gn_net_set_samples(gn_net *net, gn_samples samples);
/* Layer i's parameters (weights, then bias) as a range of the slab. */
void gn_net_layer_params(const gn_net *net, int i, size_t *off, size_t *len);

#endif
