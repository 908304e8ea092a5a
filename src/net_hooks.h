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
/* One process that adds as `slices` ranks of a data-parallel run with
 * synchronised batch norm would (gannet train --reduce-slices): each
 * training batch is cut into `slices` equal slices, the oneDNN layers and
 * the random layers run each slice as the batch of its own (the primitives
 * of that batch size), batch norm sums each slice's rows as that rank sums
 * its own and adds the slices' sums in slice order, and every slice's
 * parameter gradients go to their own slab of grads (slices x the
 * parameter count, the caller's), which the end of the backward adds up
 * in slice order (plus add's slabs when add is set, as
 * gn_reducer_begin adds them) and divides by `slices`: the average of the
 * ranks' gradients. slices 1: the whole batch at once (the default).
 * GN_ERR_ARG for spectrally normalised layers (their power
 * iteration would run once per slice) and bf16 passes. */
gn_status gn_net_set_slices(gn_net *net, int slices, float *grads);
/* The slabs (slices x the parameter count) the next backward adds to the
 * slices' gradients before summing them; NULL: none. */
void gn_net_set_slice_add(gn_net *net, const float *add);
/* Layer i's parameters (weights, then bias) as a range of the slab. */
void gn_net_layer_params(const gn_net *net, int i, size_t *off, size_t *len);
/* In bf16, whether the lean layout is used (on: the default): the bf16
 * copies in buffers free at the time (dnn_op.h) and the activations that
 * only bf16 passes read stored in bf16 (choose_storage). Off: the copies in
 * the shared slots, every activation f32; the same bits, more memory (tests
 * compare the two). */
void gn_net_set_bf16_lean(gn_net *net, int on);

#endif
