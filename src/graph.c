/* The layer list as a graph: readers, in-place rules, gradient buffers. */
#include "align.h"
#include "graph.h"

int gn_graph_readers(const gn_layer *layers, int n, int t) {
    int count = 0;
    for (int i = t + 1; i < n; i++)
        for (int k = 0; k < layers[i].ops->ninputs; k++) count += layers[i].src[k] == t;
    return count;
}

int gn_graph_sole_reader(const gn_layer *layers, int n, int t) {
    int who = GN_NONE;
    for (int i = t + 1; i < n; i++)
        for (int k = 0; k < layers[i].ops->ninputs; k++)
            if (layers[i].src[k] == t) {
                if (who != GN_NONE) return GN_NONE;
                who = i;
            }
    return who;
}

int gn_graph_feeds_next(const gn_layer *layers, int n, int t) {
    return t + 1 < n && gn_graph_sole_reader(layers, n, t) == t + 1 && layers[t + 1].src[0] == t;
}

int gn_graph_is_alias(const gn_layer *L) {
    return (L->ops->traits & GN_OP_ALIAS) || (L->fuse & GN_FUSE_SKIPPED);
}

/* Layers with GN_OP_IN_PLACE (ReLU, LeakyReLU, dropout) write over their
 * input when nothing else reads it, or any tensor that shares its buffer
 * (a layer must not write over a tensor another layer still reads); when
 * the buffer is not the network input; and when the layer owning it does
 * not need its exact output in backward (sigmoid, tanh, softmax). ReLU and
 * LeakyReLU keep the sign that the backward of an earlier ReLU-like layer
 * or BN + ReLU reads, and dropout zeroes exactly where its own backward
 * zeroes the gradient, so a chain of them may share one buffer. */
int gn_graph_runs_in_place(const gn_layer *layers, int n, int i) {
    if (!(layers[i].ops->traits & GN_OP_IN_PLACE)) return 0;
    for (int t = layers[i].src[0];; t = layers[t].src[0]) {
        if (t == GN_NET_INPUT || gn_graph_readers(layers, n, t) != 1) return 0;
        const gn_layer *P = &layers[t];
        if (P->ops->traits & GN_OP_READS_OUTPUT) return 0;
        if (!gn_graph_is_alias(P) && !(P->ops->traits & GN_OP_IN_PLACE)) return 1; /* P owns it */
    }
}

/* The bytes of tensor t's gradient (f32, whatever the tensor's dtype). */
static size_t tensor_bytes(const gn_layer *layers, int batch, int t) {
    gn_shape s = t == GN_NET_INPUT ? layers[0].in : layers[t].out;
    return gn_align64((size_t)batch * gn_shape_size(s) * sizeof(float));
}

static int last_reader(const gn_layer *layers, int n, int t) {
    int last = t;
    for (int i = t + 1; i < n; i++)
        for (int k = 0; k < layers[i].ops->ninputs; k++)
            if (layers[i].src[k] == t) last = i;
    return last;
}

/* A summed gradient lives from its last reader's backward (the first to
 * write it) to its writer's. Placed first-fit below the buffers whose lives
 * overlap its own, in backward order. */
size_t gn_graph_plan_grads(const gn_layer *layers, int n, int batch, size_t base, size_t *off,
                           size_t *temp, size_t *temp_bytes) {
    size_t end = base, largest = 0;
    for (int t = n - 1; t >= GN_NET_INPUT; t--) {
        off[t + 1] = GN_GRAD_PASSES;
        if (t == n - 1 || gn_graph_feeds_next(layers, n, t)) continue;
        size_t bytes = tensor_bytes(layers, batch, t), at = base;
        int lo = t, hi = last_reader(layers, n, t);
        for (int moved = 1; moved;) { /* first fit among the overlapping live buffers */
            moved = 0;
            for (int u = n - 1; u > t; u--) {
                if (off[u + 1] == GN_GRAD_PASSES || u > hi || last_reader(layers, n, u) < lo) continue;
                size_t ub = tensor_bytes(layers, batch, u);
                if (at < off[u + 1] + ub && off[u + 1] < at + bytes) {
                    at = off[u + 1] + ub;
                    moved = 1;
                }
            }
        }
        off[t + 1] = at;
        if (at + bytes > end) end = at + bytes;
        if (bytes > largest) largest = bytes;
    }
    *temp = end;
    *temp_bytes = largest;
    return end + GN_MAX_INPUTS * largest;
}
