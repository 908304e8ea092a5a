/* A network: layers over one parameter slab, one gradient slab and one
 * state slab, with activations in one arena shared by every batch size the
 * network was prepared for (passes never overlap). Layers read named
 * tensors (by default the output of the layer before); each kind's maths
 * lives in its registry entry (layers/), the fusions in fuse.c, the graph's
 * rules in graph.c, the add calls and names in net_layers.c. This file
 * builds, plans buffers and primitives, and runs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "fuse.h"
#include "gannet/net.h"
#include "gannet/rng.h"
#include "graph.h"
#include "kernels.h"
#include "layers/layer.h"
#include "net_impl.h"
#include <omp.h>

const char *gn_layer_kind_name(gn_layer_kind k) {
    const gn_layer_ops *ops = gn_layer_ops_of(k);
    return ops ? ops->title : "?";
}

gn_net *gn_net_new(const char *name, gn_shape input) {
    gn_net *net = calloc(1, sizeof *net);
    if (!net) return NULL;
    snprintf(net->name, sizeof net->name, "%s", name);
    net->input = input;
    net->cur = GN_NET_INPUT;
    if (input.h <= 0 || input.w <= 0 || input.c <= 0)
        net->err = gn_fail(GN_ERR_SHAPE, "%s: input shape %dx%dx%d is not positive", name, input.h,
                           input.w, input.c);
    return net;
}

static void free_plan(gn_net *net, gn_plan *P) {
    for (int i = 0; i < net->nlayers && P->rt; i++) gn_dnn_op_free(P->rt[i].op);
    free(P->rt);
    free(P->grad_off);
    P->rt = NULL;
    P->grad_off = NULL;
}

static void free_plans(gn_net *net) {
    for (int p = 0; p < net->nplans; p++) free_plan(net, &net->plans[p]);
    net->nplans = 0;
}

static void ws_release(gn_workspace *ws) {
    if (ws && --ws->refs == 0) {
        gn_dnn_scratch_free(&ws->dnn);
        gn_free(ws->p);
        gn_free(ws->grads);
        free(ws);
    }
}

/* Grows the workspace to at least `bytes` (its contents are not kept).
 * Nothing in it is used during a forward pass, so the bf16 forward passes
 * keep their copies of x there (dnn_op.h). */
static gn_status ws_reserve(gn_workspace *ws, size_t bytes) {
    if (ws->bytes >= bytes) return GN_OK;
    gn_free(ws->p);
    ws->p = gn_alloc(bytes);
    ws->bytes = ws->p ? bytes : 0;
    ws->dnn.fwd = ws->p;
    ws->dnn.fwd_bytes = ws->bytes;
    return ws->p ? GN_OK : gn_fail(GN_ERR_NOMEM, "out of memory for %zu MB of gradients", bytes >> 20);
}

/* Grows the parameter-gradient slab to at least n (zeroed when it grows). */
static gn_status ws_reserve_grads(gn_workspace *ws, size_t n) {
    if (n < 1) n = 1;
    if (ws->ngrads >= n) return GN_OK;
    gn_free(ws->grads);
    ws->grads = gn_alloc(n * sizeof(float));
    ws->ngrads = ws->grads ? n : 0;
    if (!ws->grads) return gn_fail(GN_ERR_NOMEM, "out of memory for %zu parameter gradients", n);
    memset(ws->grads, 0, n * sizeof(float));
    return GN_OK;
}

gn_status gn_net_share_workspace(gn_net *a, gn_net *b) {
    if (!a->built || !b->built) return gn_fail(GN_ERR_ARG, "%s, %s: not built", a->name, b->name);
    if (a->ws == b->ws) return GN_OK;
    free_plans(a); /* their oneDNN layers use the old workspace's scratch; remade when next needed */
    ws_release(a->ws);
    a->ws = b->ws;
    a->ws->refs++;
    gn_status s = ws_reserve_grads(a->ws, a->nparams);
    for (int p = 0; p < a->nplans && !s; p++) s = ws_reserve(a->ws, a->plans[p].gbytes);
    return s;
}

void gn_net_free(gn_net *net) {
    if (!net) return;
    free_plans(net);
    gn_free(net->params);
    gn_free(net->state);
    gn_free(net->stats);
    gn_free(net->work);
    gn_free(net->arena);
    ws_release(net->ws);
    for (int i = 0; i < net->nlayers; i++) {
        gn_dnn_cache_free(net->layers[i].cache);
        gn_free(net->layers[i].kw4);
        gn_free(net->layers[i].dkw4);
        gn_free(net->layers[i].sn);
    }
    free(net->layers);
    free(net->names);
    free(net->grad_written);
    free(net);
}

/* ---- building: graph checks, fusions, slabs and initialisation ---- */

void gn_net_disable_fusions(gn_net *net) { net->no_fusion = 1; }

/* Every tensor but the output must be read: a layer whose result nothing
 * uses is a mistake in the model (a forgotten add, a `take` too early). */
static gn_status check_graph(const gn_net *net) {
    for (int t = 0; t < net->nlayers - 1; t++)
        if (!gn_graph_readers(net->layers, net->nlayers, t)) {
            const char *nm = gn_net_tensor_name(net, t);
            return gn_fail(GN_ERR_SHAPE, "%s: the output of layer %d (%s%s%s%s) is never read", net->name,
                           t, net->layers[t].ops->name, *nm ? ", tensor '" : "", nm, *nm ? "'" : "");
        }
    return GN_OK;
}

/* Lays out the parameter and state slabs. */
static void layout_slabs(gn_net *net) {
    size_t np = 0, ns = 0;
    for (int i = 0; i < net->nlayers; i++) {
        gn_layer *L = &net->layers[i];
        L->w_len = L->b_len = L->s_len = 0;
        if (L->ops->counts) L->ops->counts(L, &L->w_len, &L->b_len, &L->s_len);
        L->w_off = np;
        L->b_off = np + L->w_len;
        np += L->w_len + L->b_len;
        L->s_off = ns;
        ns += L->s_len;
    }
    net->nparams = np;
    net->nstate = ns;
}

gn_status gn_net_build(gn_net *net, gn_init init, uint64_t seed) {
    if (net->err) return net->err;
    if (net->built) return gn_fail(GN_ERR_ARG, "%s: built twice", net->name);
    if (!net->nlayers) return gn_fail(GN_ERR_SHAPE, "%s: a network needs at least one layer", net->name);
    gn_status s = check_graph(net);
    if (s) return s;
    layout_slabs(net);
    if (!net->no_fusion) gn_fuse(net->layers, net->nlayers);
    net->scratch_bn = GN_NONE;
    size_t np = net->nparams, ns = net->nstate;
    net->ws = calloc(1, sizeof *net->ws);
    net->grad_written = calloc(net->nlayers + 1, 1);
    if (!net->ws || !net->grad_written) return gn_fail(GN_ERR_NOMEM, "out of memory");
    net->ws->refs = 1;
    net->params = gn_alloc((np ? np : 1) * sizeof(float));
    net->state = gn_alloc((ns ? ns : 1) * sizeof(float));
    net->stats = gn_alloc((ns ? ns : 1) * sizeof(float));
    if (!net->params || !net->state || !net->stats || ws_reserve_grads(net->ws, np))
        return gn_fail(GN_ERR_NOMEM, "%s: out of memory for %zu parameters", net->name, np);
    for (int i = 0; i < net->nlayers; i++) {
        gn_layer *L = &net->layers[i];
        if (L->ops->init && L->w_len + L->b_len + L->s_len)
            L->ops->init(L, net->params + L->w_off, net->params + L->b_off, net->state + L->s_off,
                         init, seed, GN_STREAM_INIT | ((uint64_t)i << 16));
    }
    net->built = 1;
    return GN_OK;
}

const char *gn_net_name(const gn_net *net) { return net->name; }
gn_shape gn_net_input_shape(const gn_net *net) { return net->input; }
gn_shape gn_net_output_shape(const gn_net *net) {
    return net->nlayers ? net->layers[net->nlayers - 1].out : net->input;
}
int gn_net_layer_count(const gn_net *net) { return net->nlayers; }
gn_layer_kind gn_net_layer_kind(const gn_net *net, int i) { return net->layers[i].kind; }
size_t gn_net_param_count(const gn_net *net) { return net->nparams; }
float *gn_net_params(gn_net *net) { return net->params; }
float *gn_net_grads(gn_net *net) { return net->ws->grads; }
size_t gn_net_state_count(const gn_net *net) { return net->nstate; }
float *gn_net_state(gn_net *net) { return net->state; }
void gn_net_params_changed(gn_net *net) { net->version++; }

float *gn_net_layer_weights(gn_net *net, int i, size_t *count) {
    gn_layer *L = &net->layers[i];
    if (count) *count = L->w_len;
    return L->w_len ? net->params + L->w_off : NULL;
}

float *gn_net_layer_bias(gn_net *net, int i, size_t *count) {
    gn_layer *L = &net->layers[i];
    if (count) *count = L->b_len;
    return L->b_len ? net->params + L->b_off : NULL;
}

/* ---- plans: buffers and primitives per batch size ---- */


/* The bytes of layer L's output as stored (its dtype), and of its gradient
 * (always f32). */
static size_t out_bytes(const gn_layer *L, int n) {
    return gn_align64((size_t)n * gn_shape_size(L->out) * gn_dtype_size(L->dtype));
}
static size_t grad_out_bytes(const gn_layer *L, int n) {
    return gn_align64((size_t)n * gn_shape_size(L->out) * sizeof(float));
}

/* Elements of layer i's first input gradient as its backward writes it (an
 * up-fused convolution works on the image before the upsampling). */
static size_t grad_in_count(const gn_layer *L, int n) {
    size_t per = L->fuse & GN_FUSE_UPCONV ? (size_t)(L->in.h / 2) * (L->in.w / 2) * L->in.c
                                          : gn_shape_size(L->in);
    return (size_t)n * per;
}

static size_t grad_in_bytes(const gn_layer *L, int n) {
    return gn_align64(grad_in_count(L, n) * sizeof(float));
}

/* Whether the backward of a layer writes its input gradient to a new buffer
 * (the others work in place, or pass the gradient on as it is). */
static int grad_moves(const gn_layer *L) {
    return !(L->ops->traits & GN_OP_GRAD_IN_PLACE) && !(L->fuse & GN_FUSE_SKIPPED);
}

/* Arena offsets of layer i's output and aux buffer, from `*off` on. */
static void place_layer(gn_net *net, gn_plan *P, int i, size_t *off) {
    gn_layer *L = &net->layers[i];
    gn_layer_rt *R = &P->rt[i];
    if (L->fuse & GN_FUSE_TRANSIENT) {
        R->y_off = 0; /* the scratch buffer */
    } else if (gn_graph_is_alias(L) || gn_graph_runs_in_place(net->layers, net->nlayers, i)) {
        R->y_off = L->src[0] == GN_NET_INPUT ? AT_INPUT : P->rt[L->src[0]].y_off;
    } else {
        R->y_off = *off;
        *off += out_bytes(L, P->n);
    }
    size_t aux = L->ops->aux_bytes ? L->ops->aux_bytes(L, P->n) : 0;
    if (aux) {
        R->aux_off = *off;
        *off += gn_align64(aux);
    }
}

/* Whether a layer after layer i rounds its f32 output (choose_storage). */
static int rounded_after(const gn_net *net, int i) {
    for (int j = i + 1; j < net->nlayers; j++)
        if (net->layers[j].rounds_f32_of == i) return 1;
    return 0;
}

/* Whether layer i's output buffer is dead while layer i's backward runs:
 * every layer that reads it comes later, so their backward passes (and the
 * batch-norm remakes that read it) have run by then; but not the buffer of
 * the network's output or of the logits the loss reads, which the caller
 * may still look at. Once a backward pass has written there, the forward's
 * activations are used up: another backward needs another forward. */
static int dead_in_own_backward(const gn_net *net, const gn_plan *P, int i) {
    int last = net->nlayers - 1, logits = last;
    if (net->layers[last].ops->traits & GN_OP_FOLDS_INTO_LOSS) logits = net->layers[last].src[0];
    if (net->layers[i].fuse & GN_FUSE_TRANSIENT || P->rt[i].y_off == AT_INPUT) return 0;
    return P->rt[i].y_off != P->rt[last].y_off && (logits < 0 || P->rt[i].y_off != P->rt[logits].y_off);
}

/* The bytes of the pair region (plan_grads) that layer i's backward leaves
 * free between its dy at one end and its dx at the other, when its dy is
 * there; at least that much when its dx goes elsewhere or is not wanted. */
static size_t pair_room(const gn_net *net, const gn_plan *P, int i) {
    const gn_layer *L = &net->layers[i];
    if (P->grad_off[i + 1] != GN_GRAD_PASSES || !grad_moves(L)) return 0;
    size_t used = grad_out_bytes(L, P->n) + grad_in_bytes(L, P->n);
    return P->pair_bytes > used ? P->pair_bytes - used : 0;
}

/* That free middle while layer i's backward runs: between the blocks of dy
 * and dx that lie in the pair region. */
static void pair_middle(gn_net *net, gn_plan *P, int i, gn_call *c) {
    const gn_layer *L = &net->layers[i];
    unsigned char *ws = net->ws->p, *end = ws + P->pair_bytes, *lo = ws, *hi = end;
    const unsigned char *blk[2] = {(const unsigned char *)c->dy, (const unsigned char *)c->dx[0]};
    size_t len[2] = {grad_out_bytes(L, P->n), grad_in_bytes(L, P->n)};
    c->mid = NULL;
    c->mid_bytes = 0;
    if (!pair_room(net, P, i)) return;
    for (int k = 0; k < 2; k++) {
        if (!blk[k] || blk[k] < ws || blk[k] >= end) continue;
        if (blk[k] == ws) lo = ws + len[k];
        else if (blk[k] < hi) hi = (unsigned char *)blk[k];
    }
    if (hi > lo) {
        c->mid = lo;
        c->mid_bytes = (size_t)(hi - lo);
    }
}

/* The oneDNN primitive and the scratch a layer needs for batch n (the
 * gradient workspace already planned: P->gbytes). */
static gn_status equip_layer(gn_net *net, gn_plan *P, int i) {
    gn_layer *L = &net->layers[i];
    if (L->ops->dnn_spec) {
        gn_dnn_spec spec;
        L->ops->dnn_spec(L, P->n, &spec);
        spec.scratch = &net->ws->dnn;
        if (!net->not_lean) { /* where the bf16 copies may go (dnn_op.h) */
            spec.fwd_room = P->gbytes;
            spec.spare_y = dead_in_own_backward(net, P, i);
            spec.bwd_room = pair_room(net, P, i);
            spec.dx_room = L->src[0] != GN_NET_INPUT ? grad_in_bytes(L, P->n) : 0; /* always made then */
        }
        spec.bf16 = net->precision == GN_PRECISION_BF16_ALL ? GN_DNN_BF16_ALL
                    : net->precision == GN_PRECISION_BF16   ? gn_dnn_bf16_passes(&spec)
                                                            : 0;
        spec.y_bf16 = L->dtype == GN_BF16; /* choose_storage */
        spec.y_keep_f32 = spec.y_bf16 && rounded_after(net, i);
        spec.x_bf16 = L->src[0] != GN_NET_INPUT && net->layers[L->src[0]].dtype == GN_BF16;
        if (!L->cache && !(L->cache = gn_dnn_cache_new())) return gn_fail(GN_ERR_NOMEM, "out of memory");
        gn_status st = gn_dnn_op_create(&P->rt[i].op, &spec, L->cache);
        if (st) return st;
        if (spec.spare_y && spec.bf16) P->uses_up = 1;
    }
    size_t need = L->ops->work_floats ? L->ops->work_floats(L, P->n) : 0;
    if (need > net->work_len) {
        gn_free(net->work);
        net->work = gn_alloc(need * sizeof(float));
        net->work_len = net->work ? need : 0;
        if (!net->work) return gn_fail(GN_ERR_NOMEM, "out of memory");
    }
    return GN_OK;
}

/* The gradient workspace: first a region that holds the gradient of a
 * layer's output at one end and, while the layer's backward writes it, that
 * of its input at the other (the largest such pair, not twice the largest
 * tensor); then the buffers where gradients of tensors with several readers
 * are summed, which a plain chain does not have. */
static gn_status plan_grads(gn_net *net, gn_plan *P) {
    int nl = net->nlayers;
    P->pair_bytes = 0;
    for (int i = 0; i < nl; i++) {
        const gn_layer *L = &net->layers[i];
        size_t pair = grad_out_bytes(L, P->n) + (grad_moves(L) ? grad_in_bytes(L, P->n) : 0);
        if (pair > P->pair_bytes) P->pair_bytes = pair;
    }
    P->grad_off = malloc((nl + 1) * sizeof *P->grad_off);
    if (!P->grad_off) return gn_fail(GN_ERR_NOMEM, "out of memory");
    P->gbytes = gn_graph_plan_grads(net->layers, nl, P->n, P->pair_bytes, P->grad_off, &P->temp_off,
                                    &P->temp_bytes);
    return GN_OK;
}

/* Whether layer k, a oneDNN layer, reads its x in bf16 in the forward and
 * in backward-weights under the network's precision (dnn_op.c's rule). */
static int reads_x_in_bf16(const gn_net *net, const gn_layer *K) {
    if (!K->ops->dnn_spec || K->fuse & GN_FUSE_UPCONV || K->kind == GN_LAYER_DECONV2D) return 0;
    gn_dnn_spec sp;
    K->ops->dnn_spec(K, 1, &sp);
    unsigned b = net->precision == GN_PRECISION_BF16_ALL ? GN_DNN_BF16_ALL : gn_dnn_bf16_passes(&sp);
    return (b & GN_DNN_BF16_FWD) && (b & GN_DNN_BF16_BWD_WEIGHTS);
}

/* Which outputs are stored in bf16 (layer dtype): in bf16, a convolution's
 * whose only reader, past the ReLU it applies itself, fused identities and
 * dropout running over it, is a oneDNN layer that reads its x in bf16 in
 * the forward and in backward-weights. The first dropout of the chain
 * rounds the convolution's f32 output (left where nothing else is during
 * the forward) into the bf16 tensor after dropping, else the convolution
 * rounds it: the values are those the reader's own rounding of an f32
 * tensor gave, bit for bit. The ReLU's backward reads its sign there, the
 * reader takes the tensor as it is: no f32 tensor in the arena and no copy
 * (seed-mnist: D's first convolution, 49 MiB of f32 become 24.5). Gradients
 * stay f32. */
static void choose_storage(gn_net *net) {
    int nl = net->nlayers;
    for (int i = 0; i < nl; i++) {
        net->layers[i].dtype = GN_F32;
        net->layers[i].rounds_f32_of = GN_NONE;
    }
    if (net->precision == GN_PRECISION_FP32 || net->not_lean) return;
    for (int i = 0; i < nl; i++) {
        const gn_layer *L = &net->layers[i];
        if (L->kind != GN_LAYER_CONV2D || L->fuse & GN_FUSE_UPCONV || !L->ops->dnn_spec) continue;
        int t = i, k;
        for (;;) { /* the chain of layers that work on the convolution's buffer */
            k = gn_graph_sole_reader(net->layers, nl, t);
            if (k == GN_NONE || net->layers[k].src[0] != t) {
                k = GN_NONE;
                break;
            }
            const gn_layer *R = &net->layers[k];
            int on_it = (R->kind == GN_LAYER_RELU && R->fuse & GN_FUSE_FWD_IN_OP) || R->fuse & GN_FUSE_IDENTITY ||
                        R->kind == GN_LAYER_DROPOUT;
            if (!on_it) break;
            if (!gn_graph_is_alias(R) && !gn_graph_runs_in_place(net->layers, nl, k)) {
                k = GN_NONE;
                break;
            }
            t = k;
        }
        if (k == GN_NONE || !reads_x_in_bf16(net, &net->layers[k])) continue;
        for (int j = i; j <= t; j++) net->layers[j].dtype = GN_BF16; /* the chain is i..t */
        for (int j = i + 1; j <= t; j++)
            if (net->layers[j].kind == GN_LAYER_DROPOUT) {
                net->layers[j].rounds_f32_of = i;
                break;
            }
    }
}


static gn_status make_plan(gn_net *net, int n, gn_plan *P) {
    choose_storage(net);
    memset(P, 0, sizeof *P);
    P->n = n;
    P->rt = calloc(net->nlayers, sizeof *P->rt);
    if (!P->rt) return gn_fail(GN_ERR_NOMEM, "out of memory");
    /* the transient batch norms' scratch buffer comes first */
    size_t off = 0;
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].fuse & GN_FUSE_TRANSIENT && out_bytes(&net->layers[i], n) > off)
            off = out_bytes(&net->layers[i], n);
    for (int i = 0; i < net->nlayers; i++) place_layer(net, P, i, &off);
    P->bytes = off;
    gn_status s = plan_grads(net, P);
    for (int i = 0; i < net->nlayers && !s; i++) s = equip_layer(net, P, i);
    return s;
}

static gn_plan *find_plan(gn_net *net, int n) {
    for (int p = 0; p < net->nplans; p++)
        if (net->plans[p].n == n) return &net->plans[p];
    return NULL;
}

gn_status gn_net_prepare(gn_net *net, int n) {
    if (!net->built) return gn_fail(GN_ERR_ARG, "%s: not built", net->name);
    if (n <= 0) return gn_fail(GN_ERR_ARG, "%s: batch size %d is not positive", net->name, n);
    if (find_plan(net, n)) return GN_OK;
    if (net->nplans == MAX_PLANS) {
        /* drop every plan: batch sizes changed more often than a trainer does */
        free_plans(net);
    }
    gn_plan *P = &net->plans[net->nplans];
    gn_status s = make_plan(net, n, P);
    if (!s && ws_reserve(net->ws, P->gbytes))
        s = gn_fail(GN_ERR_NOMEM, "%s: out of memory for gradients of batch %d", net->name, n);
    if (!s && P->bytes > net->arena_bytes) {
        gn_free(net->arena);
        net->arena = gn_alloc(P->bytes);
        net->arena_bytes = net->arena ? P->bytes : 0;
        if (!net->arena)
            s = gn_fail(GN_ERR_NOMEM, "%s: out of memory for activations of batch %d (%zu MB)",
                        net->name, n, P->bytes >> 20);
    }
    if (s) {
        free_plan(net, P);
        return s;
    }
    net->nplans++;
    return GN_OK;
}

gn_status gn_net_memory(gn_net *net, int n, size_t *activations, size_t *gradients) {
    gn_status s = gn_net_prepare(net, n);
    if (s) return s;
    gn_plan *P = find_plan(net, n);
    *activations = P->bytes;
    *gradients = P->gbytes;
    return GN_OK;
}

/* ---- running ---- */

/* The buffer of tensor t (the network input outside the arena). */
static float *tensor_of(gn_net *net, gn_plan *P, int t) {
    if (t == GN_NET_INPUT || P->rt[t].y_off == AT_INPUT) return (float *)net->x;
    return (float *)(net->arena + P->rt[t].y_off);
}

static uint64_t layer_key(uint64_t seed, uint64_t step, int i) {
    uint32_t w[4];
    gn_philox(seed, GN_STREAM_DROPOUT, step * 256 + (uint64_t)i, w);
    return (uint64_t)w[0] | ((uint64_t)w[1] << 32);
}

/* What layer i's forward and backward work on, for plan P. */
static gn_call call_for(gn_net *net, gn_plan *P, int i, uint64_t seed, uint64_t step) {
    gn_layer *L = &net->layers[i];
    gn_call c;
    memset(&c, 0, sizeof c);
    c.n = P->n;
    for (int k = 0; k < L->ops->ninputs; k++) c.x[k] = tensor_of(net, P, L->src[k]);
    c.y = tensor_of(net, P, i);
    c.w = net->params + L->w_off;
    c.b = net->params + L->b_off;
    c.state = net->state + L->s_off;
    c.stats = net->stats + L->s_off;
    c.work = net->work;
    c.aux = net->arena + P->rt[i].aux_off;
    c.op = P->rt[i].op;
    c.seed = seed;
    if (L->ops->traits & GN_OP_RANDOM) c.key = layer_key(seed, step, i);
    c.version = net->version;
    c.samples = P->samples;
    c.sync = net->sync.sum || net->sync.slices > 1 ? &net->sync : NULL;
    return c;
}

/* ---- one process standing for several ranks (gn_net_set_slices) ---- */

/* Whether layer L runs each slice as a batch of its own: the oneDNN layers
 * (they sum weight gradients over their batch, and oneDNN picks kernels by
 * batch size) and the random layers (each slice's samples stand elsewhere
 * in the whole batch). The others work per sample or, batch norm, slice by
 * slice themselves. */
static int runs_sliced(const gn_net *net, const gn_layer *L) {
    return net->sync.slices > 1 && (L->ops->dnn_spec || (L->ops->traits & GN_OP_RANDOM));
}

/* The plan of one slice of batch n, prepared (NULL without slices). */
static gn_status slice_plan(gn_net *net, int n, gn_plan **S) {
    int k = net->sync.slices;
    *S = NULL;
    if (k <= 1) return GN_OK;
    if (n % k)
        return gn_fail(GN_ERR_ARG, "%s: batch %d does not cut into %d equal slices", net->name, n, k);
    gn_status s = gn_net_prepare(net, n / k);
    *S = s ? NULL : find_plan(net, n / k);
    return s;
}

/* Layer i's forward (backward when bw) on each slice of c's batch in turn,
 * with the primitives of plan S (a slice's batch size); each slice's
 * parameter gradients go to its own slab. */
static gn_status run_slices(gn_net *net, gn_plan *S, int i, gn_call *c, int bw) {
    gn_layer *L = &net->layers[i];
    size_t in = gn_shape_size(L->in), out = in; /* floats per sample read and written */
    if (L->ops->dnn_spec) {
        gn_dnn_spec sp;
        L->ops->dnn_spec(L, 1, &sp);
        in = (size_t)sp.ih * sp.iw * sp.ic;
        out = (size_t)sp.oh * sp.ow * sp.oc;
    }
    gn_status s = GN_OK;
    for (int k = 0; k < net->sync.slices && !s; k++) {
        gn_call t = *c;
        size_t xi = (size_t)k * S->n * in, yo = (size_t)k * S->n * out, g = (size_t)k * net->nparams;
        t.n = S->n;
        t.op = S->rt[i].op;
        t.x[0] = c->x[0] + xi;
        t.y = c->y + yo;
        t.samples.first += k * c->samples.step;
        t.samples.second += k * c->samples.step;
        if (bw) {
            t.dy = c->dy + yo;
            t.dx[0] = c->dx[0] ? c->dx[0] + xi : NULL;
            t.dw = c->dw ? c->dw + g : NULL;
            t.db = c->db ? c->db + g : NULL;
        }
        s = bw ? L->ops->backward(L, &t) : L->ops->forward(L, &t);
        c->weights_seconds += t.weights_seconds;
    }
    return s;
}

/* The parameter gradients: the slices' (each plus its add slab) summed in
 * slice order and divided by their number, as the ranks' are averaged. */
static void average_slices(gn_net *net) {
    int k = net->sync.slices;
    size_t np = net->nparams;
    const float *g = net->slice_grads, *a = net->slice_add;
    float *out = net->ws->grads, inv = 1.0f / (float)k;
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < np; j++) {
        float v = 0;
        for (int s = 0; s < k; s++) {
            float t = g[(size_t)s * np + j];
            if (a) t += a[(size_t)s * np + j];
            v = s ? v + t : t;
        }
        out[j] = v * inv;
    }
}

gn_status gn_net_set_slices(gn_net *net, int slices, float *grads) {
    for (int i = 0; slices > 1 && i < net->nlayers; i++)
        if (gn_sn_on(&net->layers[i]))
            return gn_fail(GN_ERR_ARG, "%s: slices (--reduce-slices) do not run spectrally "
                           "normalised layers (their power iteration would step once per slice)", net->name);
    if (slices > 1 && net->precision != GN_PRECISION_FP32)
        return gn_fail(GN_ERR_ARG, "%s: slices (--reduce-slices) run in fp32 only", net->name);
    net->sync.slices = slices > 1 ? slices : 0;
    net->sync.grad_stride = net->nparams;
    net->slice_grads = slices > 1 ? grads : NULL;
    net->slice_add = NULL;
    return GN_OK;
}

void gn_net_set_slice_add(gn_net *net, const float *add) { net->slice_add = add; }

gn_status gn_net_forward(gn_net *net, const gn_tensor *xt, gn_mode mode, uint64_t seed,
                         uint64_t step, const gn_tensor **yt) {
    if (xt->dtype != GN_F32)
        return gn_fail(GN_ERR_UNSUPPORTED, "%s: input type %s is not supported (f32 only)", net->name,
                       gn_dtype_name(xt->dtype));
    gn_shape is = net->input;
    if (xt->shape.h != is.h || xt->shape.w != is.w || xt->shape.c != is.c)
        return gn_fail(GN_ERR_SHAPE, "%s: input is %dx%dx%d, expected %dx%dx%d", net->name,
                       xt->shape.h, xt->shape.w, xt->shape.c, is.h, is.w, is.c);
    int n = xt->n, train = mode == GN_TRAIN;
    gn_plan *S = NULL;
    gn_status s = train ? slice_plan(net, n, &S) : GN_OK;
    if (!s) s = gn_net_prepare(net, n);
    if (!s && S && !find_plan(net, S->n)) s = slice_plan(net, n, &S); /* dropped by that prepare */
    if (s) return s;
    gn_plan *P = find_plan(net, n);
    net->x = xt->data;
    net->scratch_bn = GN_NONE;
    P->samples = net->samples;
    for (int i = 0; i < net->nlayers; i++) {
        gn_layer *L = &net->layers[i];
        if (gn_graph_is_alias(L)) continue; /* its output is its input's buffer */
        double t0 = net->prof_fwd ? omp_get_wtime() : 0;
        gn_call c = call_for(net, P, i, seed, step);
        c.train = train;
        if (L->rounds_f32_of != GN_NONE) c.x[0] = gn_dnn_op_output_f32(P->rt[L->rounds_f32_of].op);
        s = train && runs_sliced(net, L) ? run_slices(net, S, i, &c, 0) : L->ops->forward(L, &c);
        if (s) return s;
        if (L->fuse & GN_FUSE_TRANSIENT) net->scratch_bn = train ? i : GN_NONE;
        if (net->prof_fwd) net->prof_fwd[i] += omp_get_wtime() - t0;
    }
    P->trained = train;
    P->seed = seed;
    P->step = step;
    int last = net->nlayers - 1;
    P->out = gn_tensor_f32(tensor_of(net, P, last), n, gn_net_output_shape(net));
    if (net->layers[last].ops->traits & GN_OP_FOLDS_INTO_LOSS)
        P->logits = gn_tensor_f32(tensor_of(net, P, net->layers[last].src[0]), n, net->layers[last].in);
    else
        P->logits = P->out;
    *yt = &P->out;
    return GN_OK;
}

const gn_tensor *gn_net_logits(gn_net *net, int n) {
    gn_plan *P = find_plan(net, n);
    return P ? &P->logits : NULL;
}

/* Where the backward of layer i writes the gradient of each of its inputs.
 * A gradient that passes straight on (the plain chain) stays where dy is
 * when the kind works in place, else goes to the other end of the pair
 * region and becomes the next current gradient *g; a summed one goes to its
 * buffer on the first term, else to a scratch buffer, added after (acc). */
static void route_grads(gn_net *net, gn_plan *P, int i, gn_call *c, float **g, int want_dx, int acc[]) {
    gn_layer *L = &net->layers[i];
    unsigned char *ws = net->ws->p;
    for (int k = 0; k < L->ops->ninputs; k++) {
        int t = L->src[k];
        acc[k] = 0;
        c->dx[k] = NULL;
        if (t == GN_NET_INPUT && !want_dx) continue;
        size_t at = P->grad_off[t + 1];
        if (at == GN_GRAD_PASSES) {
            int in_place = !grad_moves(L) && c->dy == *g;
            float *other = *g == (float *)ws ? (float *)(ws + P->pair_bytes - grad_in_bytes(L, P->n))
                                             : (float *)ws;
            c->dx[k] = in_place ? *g : c->dy == *g ? other : (float *)ws;
            *g = c->dx[k];
        } else if (!net->grad_written[t + 1]) {
            c->dx[k] = (float *)(ws + at);
            net->grad_written[t + 1] = 1;
        } else {
            c->dx[k] = (float *)(ws + P->temp_off + k * P->temp_bytes);
            acc[k] = 1;
        }
    }
}

/* The backward of layer i: dy is the current gradient *g, or the summed
 * gradient of its output. */
static gn_status backward_layer(gn_net *net, gn_plan *P, int i, float **g, int param_grads, int want_dx) {
    gn_layer *L = &net->layers[i];
    double t0 = net->prof_bd ? omp_get_wtime() : 0;
    int b = L->remakes_bn;
    if (b != GN_NONE && net->scratch_bn != b) {
        gn_layer *B = &net->layers[b];
        gn_batchnorm_layer_remake(B, tensor_of(net, P, b), tensor_of(net, P, B->src[0]),
                                  net->params + B->w_off, net->params + B->b_off,
                                  net->stats + B->s_off, P->n, net->work);
        net->scratch_bn = b;
    }
    gn_call c = call_for(net, P, i, P->seed, P->step);
    c.train = 1;
    size_t at = P->grad_off[i + 1];
    c.dy = at == GN_GRAD_PASSES ? *g : (float *)(net->ws->p + at);
    float *grads = net->slice_grads ? net->slice_grads : net->ws->grads; /* slices: slab 0's */
    c.dw = param_grads && L->w_len ? grads + L->w_off : NULL;
    c.db = param_grads && L->w_len ? grads + L->b_off : NULL;
    c.profile = net->prof_bw != NULL;
    int acc[GN_MAX_INPUTS];
    route_grads(net, P, i, &c, g, want_dx, acc);
    pair_middle(net, P, i, &c);
    gn_status s = GN_OK;
    if (L->fuse & GN_FUSE_SKIPPED) /* the identity: a fused layer's gradient passes on */
        gn_pass_gradient(c.dx[0], c.dy, grad_in_count(L, P->n));
    else if (runs_sliced(net, L))
        s = run_slices(net, find_plan(net, P->n / net->sync.slices), i, &c, 1);
    else
        s = L->ops->backward(L, &c);
    for (int k = 0; k < L->ops->ninputs && !s; k++)
        if (acc[k])
            gn_kern()->axpy((float *)(net->ws->p + P->grad_off[L->src[k] + 1]), c.dx[k],
                            (size_t)P->n * gn_shape_size(k ? L->in2 : L->in), 1.0f);
    if (net->prof_bw) net->prof_bw[i] += c.weights_seconds;
    if (net->prof_bd) net->prof_bd[i] += omp_get_wtime() - t0 - c.weights_seconds;
    return s;
}

gn_status gn_net_backward(gn_net *net, const gn_tensor *dyt, int param_grads, const gn_tensor **dxt) {
    int n = dyt->n;
    gn_plan *P = find_plan(net, n);
    if (!P || !P->trained || (net->sync.slices > 1 && !find_plan(net, n / net->sync.slices)))
        return gn_fail(GN_ERR_ARG, "%s: backward needs a training forward with batch %d first%s",
                       net->name, n, P && P->uses_up ? " (in bf16, one backward per forward)" : "");
    if (P->uses_up) P->trained = 0; /* the backward passes write over activations (dead_in_own_backward) */
    int last = net->nlayers - 1;
    if (net->layers[last].ops->traits & GN_OP_FOLDS_INTO_LOSS) last--; /* dy: the logits' gradient */
    gn_shape gs = gn_net_tensor_shape(net, last);
    gn_dtype gt = net->layers[net->nlayers - 1].dtype;
    if (dyt->dtype != gt || gn_tensor_count(dyt) != (size_t)n * gn_shape_size(gs))
        return gn_fail(GN_ERR_SHAPE, "%s: output gradient has %zu elements of %s, expected %zu of %s",
                       net->name, gn_tensor_count(dyt), gn_dtype_name(dyt->dtype),
                       (size_t)n * gn_shape_size(gs), gn_dtype_name(gt));
    memset(net->grad_written, 0, net->nlayers + 1);
    /* The current gradient g starts at the low end of the workspace, or in
     * the sum of the logits' gradients when other layers read them too. dy
     * may itself live in a shared workspace (D's input gradient feeding G). */
    float *g = (float *)net->ws->p;
    size_t seed_at = last >= 0 ? P->grad_off[last + 1] : GN_GRAD_PASSES;
    float *dst = seed_at == GN_GRAD_PASSES ? g : (float *)(net->ws->p + seed_at);
    memmove(dst, dyt->data, gn_tensor_count(dyt) * gn_dtype_size(dyt->dtype));
    if (seed_at != GN_GRAD_PASSES) net->grad_written[last + 1] = 1;
    for (int i = last; i >= 0; i--) {
        gn_status s = backward_layer(net, P, i, &g, param_grads, dxt != NULL);
        if (s) return s;
        if (param_grads && net->grads_ready) net->grads_ready(net->grads_ctx, i);
    }
    if (param_grads && net->slice_grads) average_slices(net);
    if (dxt) {
        size_t at = P->grad_off[0];
        P->dx = gn_tensor_f32(at == GN_GRAD_PASSES ? g : (float *)(net->ws->p + at), n, net->input);
        *dxt = &P->dx;
    }
    return GN_OK;
}

void gn_net_on_grads_ready(gn_net *net, gn_grads_ready_fn fn, void *ctx) {
    net->grads_ready = fn;
    net->grads_ctx = ctx;
}

void gn_net_sync_batchnorm(gn_net *net, const gn_sync *sync) {
    if (sync) net->sync = *sync;
    else memset(&net->sync, 0, sizeof net->sync);
}

void gn_net_set_samples(gn_net *net, gn_samples samples) { net->samples = samples; }

void gn_net_layer_params(const gn_net *net, int i, size_t *off, size_t *len) {
    *off = net->layers[i].w_off;
    *len = net->layers[i].w_len + net->layers[i].b_len;
}

void gn_net_set_profile(gn_net *net, double *fwd, double *bwd_data, double *bwd_weights) {
    net->prof_fwd = fwd;
    net->prof_bd = bwd_data;
    net->prof_bw = bwd_weights;
}

void gn_net_set_precision(gn_net *net, gn_precision p) {
    if (net->precision == p) return;
    net->precision = p;
    free_plans(net); /* remade in the new precision when next needed */
}

gn_precision gn_net_precision(const gn_net *net) { return net->precision; }

void gn_net_set_bf16_lean(gn_net *net, int on) {
    if (net->not_lean == !on) return;
    net->not_lean = !on;
    free_plans(net); /* remade with the other layout when next needed */
}

const char *gn_net_layer_precision(gn_net *net, int i, int n, int which) {
    gn_plan *P = find_plan(net, n);
    if (!P || !P->rt[i].op || !*gn_dnn_op_impl(P->rt[i].op, which)) return "";
    return gn_dnn_op_pass_bf16(P->rt[i].op, which) ? "bf16" : "fp32";
}

gn_status gn_precision_check(gn_precision p) {
    if (p == GN_PRECISION_FP32) return GN_OK;
    gn_cpu_features f = gn_cpu_detect();
    const char *off = getenv("GANNET_CPU_NO_BF16");
    if (off && *off && strcmp(off, "0")) f.avx512_bf16 = f.amx_bf16 = 0;
    if (f.avx512_bf16 || f.amx_bf16) return GN_OK;
    return gn_fail(GN_ERR_ARG, "--precision bf16 needs a CPU with AVX512_BF16 or AMX-BF16, and this one has "
                   "neither (oneDNN would emulate bf16 several times slower than fp32): use --precision fp32");
}

const char *gn_net_layer_impl(gn_net *net, int i, int n, int which) {
    gn_plan *P = find_plan(net, n);
    return P && P->rt[i].op ? gn_dnn_op_impl(P->rt[i].op, which) : "";
}
