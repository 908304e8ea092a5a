/* Questions about a built layer list seen as a graph: who reads a tensor,
 * which layers may write over their input, where gradients wait to be
 * summed. Tensors are named by the layer that writes them (GN_NET_INPUT for
 * the network input); a layer reads only tensors written before it, so the
 * list is in topological order. Knows layer kinds only by their traits. */
#ifndef GANNET_GRAPH_H
#define GANNET_GRAPH_H

#include "layers/layer.h"

/* Marks a tensor whose gradient needs no buffer of its own (see gn_graph_plan_grads). */
#define GN_GRAD_PASSES ((size_t)-1)

/* How many inputs of layers read tensor t. */
int gn_graph_readers(const gn_layer *layers, int n, int t);
/* The one layer that reads t (through one input), or GN_NONE. */
int gn_graph_sole_reader(const gn_layer *layers, int n, int t);
/* Whether layer t's output is read only by layer t + 1, as its first input. */
int gn_graph_feeds_next(const gn_layer *layers, int n, int t);
/* A layer whose output is its input's buffer, unchanged. */
int gn_graph_is_alias(const gn_layer *L);
/* Whether layer i writes its output over its input (see graph.c for the rules). */
int gn_graph_runs_in_place(const gn_layer *layers, int n, int i);
/* Plans the gradient buffers for batch n: off[t + 1] for every tensor t is
 * GN_GRAD_PASSES for a tensor whose gradient goes straight from its one
 * reader to its writer (the plain chain, through the two ends of one
 * region), else a byte offset, from `base`, of a buffer that collects the
 * sum of its readers' gradients; buffers whose lives do not overlap share
 * memory. *temp: the offset of GN_MAX_INPUTS scratch buffers of *temp_bytes
 * each, for gradients added into a sum. Returns the end of it all. */
size_t gn_graph_plan_grads(const gn_layer *layers, int n, int batch, size_t base, size_t *off,
                           size_t *temp, size_t *temp_bytes);

#endif
