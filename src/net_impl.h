/* The inside of a network, shared by net.c (building, planning, running)
 * and net_layers.c (adding layers, naming tensors, describing). */
#ifndef GANNET_NET_IMPL_H
#define GANNET_NET_IMPL_H

#include "gannet/net.h"
#include "layers/layer.h"
#include "net_hooks.h"

#define MAX_PLANS 8
#define NAME_LEN 32
/* The byte offset of a tensor that lives outside the arena: the network input. */
#define AT_INPUT ((size_t)-1)

/* Where layer i's buffers live in the arena for one batch size (byte offsets). */
typedef struct gn_layer_rt {
    size_t y_off;   /* output; for in-place and alias layers, the input's */
    size_t aux_off; /* what the kind keeps from forward to backward (maxpool's argmax) */
    gn_dnn_op *op;
} gn_layer_rt;

/* The gradients: the buffers one backward pass works in, and the parameter
 * gradients it writes, which live until the optimizer has used them. Networks
 * whose backward passes and updates never interleave (G and D) share one. */
typedef struct gn_workspace {
    unsigned char *p;
    size_t bytes;
    float *grads;  /* parameter gradients, as many as the largest sharer has parameters */
    size_t ngrads;
    gn_dnn_scratch dnn; /* the bf16 copies the sharers' oneDNN layers share (dnn_op.h) */
    int refs;
} gn_workspace;

typedef struct gn_plan {
    int n;
    gn_layer_rt *rt;
    size_t pair_bytes;       /* the two-ended region where a chain's gradient moves */
    size_t *grad_off;        /* per tensor t, at t + 1: see gn_graph_plan_grads */
    size_t temp_off, temp_bytes;
    size_t gbytes;           /* gradient workspace bytes needed */
    size_t bytes;            /* arena bytes needed */
    gn_tensor out, logits, dx;
    int trained;            /* the last forward was GN_TRAIN */
    int uses_up;            /* a backward uses up the forward's activations (bf16 copies in them) */
    uint64_t seed, step;    /* its dropout key, which the backward draws the masks from again */
    gn_samples samples;     /* and where its samples stood in the whole batch */
} gn_plan;

typedef struct gn_name {
    char name[NAME_LEN];
    int tensor;
} gn_name;

struct gn_net {
    char name[32];
    gn_shape input;
    gn_layer *layers;
    int nlayers, cap;
    gn_name *names;
    int nnames, names_cap;
    int cur;                /* the tensor the next layer reads */
    gn_status err;
    int built;
    int no_fusion;          /* run every layer on its own (for checking the fusions) */
    gn_precision precision; /* of the oneDNN layers' passes */
    int not_lean;           /* the lean bf16 layout turned off (gn_net_set_bf16_lean) */
    float *params, *state;  /* gradients: in ws */
    size_t nparams, nstate;
    uint64_t version;
    float *stats;           /* BN batch mean and rstd, laid out as the state */
    float *work;            /* the kinds' scratch (work_floats) */
    size_t work_len;
    unsigned char *arena;
    size_t arena_bytes;
    gn_workspace *ws;
    unsigned char *grad_written; /* per tensor t, at t + 1: its summed gradient has a first term */
    const float *x;         /* input of the last forward */
    int scratch_bn;         /* the transient BN whose output the scratch buffer holds, or GN_NONE */
    gn_plan plans[MAX_PLANS];
    int nplans;
    double *prof_fwd, *prof_bd, *prof_bw; /* per-layer seconds, when profiling */
    /* data-parallel hooks (net_hooks.h); all unset in one process */
    gn_samples samples;     /* the next forward's place in the whole batch */
    gn_sync sync;           /* batch-norm sums across processes when sync.sum is set */
    gn_grads_ready_fn grads_ready;
    void *grads_ctx;
    /* one process standing for sync.slices ranks (gn_net_set_slices); unset: 0, NULL */
    float *slice_grads;     /* the slices' parameter gradients, nparams apart */
    const float *slice_add; /* added to them before they are summed, or NULL */
};

/* The shape of tensor t (a layer's output, or the network input). */
gn_shape gn_net_tensor_shape(const gn_net *net, int t);
/* The name of tensor t for messages ("" when it has none). */
const char *gn_net_tensor_name(const gn_net *net, int t);

#endif
