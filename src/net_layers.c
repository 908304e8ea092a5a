/* Building a network's layer list: the gn_net_add_* calls (each checks its
 * arguments through its kind's registry entry), named tensors for skip
 * connections, and the descriptions of layers. */
#include <stdlib.h>
#include <string.h>

#include "net_impl.h"

/* ---- adding layers and naming tensors ---- */

gn_shape gn_net_tensor_shape(const gn_net *net, int t) {
    return t == GN_NET_INPUT ? net->input : net->layers[t].out;
}

/* The tensor called `name`, or GN_NONE. */
static int find_tensor(const gn_net *net, const char *name) {
    if (!strcmp(name, "input")) return GN_NET_INPUT;
    for (int j = 0; j < net->nnames; j++)
        if (!strcmp(net->names[j].name, name)) return net->names[j].tensor;
    return GN_NONE;
}

const char *gn_net_tensor_name(const gn_net *net, int t) {
    if (t == GN_NET_INPUT) return "input";
    for (int j = 0; j < net->nnames; j++)
        if (net->names[j].tensor == t) return net->names[j].name;
    return "";
}

static int name_ok(const char *name) {
    size_t len = strlen(name);
    if (len == 0 || len >= NAME_LEN) return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return 0;
    }
    return 1;
}

/* The tensor `name` refers to; GN_NONE (and the network's error) when there is none. */
static int lookup(gn_net *net, const char *name, const char *what) {
    if (net->err) return GN_NONE;
    int t = name_ok(name) ? find_tensor(net, name) : GN_NONE;
    if (t == GN_NONE)
        net->err = gn_fail(GN_ERR_SHAPE, "%s: %s: no tensor named '%.40s'", net->name, what, name);
    return t;
}

void gn_net_name_output(gn_net *net, const char *name) {
    if (net->err) return;
    if (!name_ok(name)) {
        net->err = gn_fail(GN_ERR_ARG, "%s: tensor name '%.40s' is not 1 to %d letters, digits or '_'",
                           net->name, name, NAME_LEN - 1);
        return;
    }
    if (find_tensor(net, name) != GN_NONE) {
        net->err = gn_fail(GN_ERR_ARG, "%s: tensor name '%s' is used twice", net->name, name);
        return;
    }
    if (!net->nlayers) {
        net->err = gn_fail(GN_ERR_ARG, "%s: no layer to name '%s' the output of", net->name, name);
        return;
    }
    if (net->nnames == net->names_cap) {
        int cap = net->names_cap ? 2 * net->names_cap : 8;
        gn_name *nn = realloc(net->names, cap * sizeof *nn);
        if (!nn) {
            net->err = gn_fail(GN_ERR_NOMEM, "out of memory naming a tensor");
            return;
        }
        net->names = nn;
        net->names_cap = cap;
    }
    snprintf(net->names[net->nnames].name, NAME_LEN, "%s", name);
    net->names[net->nnames++].tensor = net->nlayers - 1;
}

void gn_net_take(gn_net *net, const char *name) {
    int t = lookup(net, name, "take");
    if (t != GN_NONE) net->cur = t;
}

/* Appends a layer reading the current tensor (and `other`, for two-input
 * kinds); NULL after an error. */
static gn_layer *push(gn_net *net, gn_layer_kind kind, int other) {
    if (net->err) return NULL;
    if (net->built) {
        net->err = gn_fail(GN_ERR_ARG, "%s: layers cannot be added after build", net->name);
        return NULL;
    }
    if (net->nlayers == net->cap) {
        int cap = net->cap ? 2 * net->cap : 16;
        gn_layer *l = realloc(net->layers, cap * sizeof *l);
        if (!l) {
            net->err = gn_fail(GN_ERR_NOMEM, "out of memory adding a layer");
            return NULL;
        }
        net->layers = l;
        net->cap = cap;
    }
    gn_layer *L = &net->layers[net->nlayers++];
    memset(L, 0, sizeof *L);
    L->kind = kind;
    L->ops = gn_layer_ops_of(kind);
    L->src[0] = net->cur;
    L->src[1] = other;
    L->in = gn_net_tensor_shape(net, net->cur);
    L->in2 = other == GN_NONE ? L->in : gn_net_tensor_shape(net, other);
    L->out = L->in;
    L->dtype = GN_F32;
    L->remakes_bn = GN_NONE;
    L->rounds_f32_of = GN_NONE;
    net->cur = net->nlayers - 1;
    return L;
}

/* Checks the arguments the caller set in L->a and infers the output shape. */
static void finish(gn_net *net, gn_layer *L) {
    char why[160];
    if (!L || L->ops->shape(L, why, sizeof why) == 0) return;
    const char *other = L->src[1] == GN_NONE ? NULL : gn_net_tensor_name(net, L->src[1]);
    net->err = gn_fail(GN_ERR_SHAPE, "%s: layer %d (%s%s%s%s): %s", net->name, net->nlayers - 1,
                       L->ops->name, other ? " with '" : "", other ? other : "", other ? "'" : "", why);
}

#define ADD_LAYER(kind, field, ...)                                                                \
    do {                                                                                           \
        gn_layer *L = push(net, kind, GN_NONE);                                                    \
        if (L) L->a.field = (__VA_ARGS__);                                                         \
        finish(net, L);                                                                            \
    } while (0)

void gn_net_add_dense(gn_net *net, int units) { ADD_LAYER(GN_LAYER_DENSE, dense, (gn_dense_args){units, 0}); }
void gn_net_add_conv2d(gn_net *net, int filters, int kernel, int stride, gn_padding pad) {
    ADD_LAYER(GN_LAYER_CONV2D, conv, (gn_conv_args){filters, kernel, stride, pad, 0, 0, 0, 0, 0, 0});
}
void gn_net_add_deconv2d(gn_net *net, int filters, int kernel, int stride, gn_padding pad) {
    ADD_LAYER(GN_LAYER_DECONV2D, conv, (gn_conv_args){filters, kernel, stride, pad, 0, 0, 0, 0, 0, 0});
}
void gn_net_no_bias(gn_net *net) {
    if (net->err) return;
    gn_layer *L = net->nlayers ? &net->layers[net->nlayers - 1] : NULL;
    if (L && (L->kind == GN_LAYER_CONV2D || L->kind == GN_LAYER_DECONV2D)) L->a.conv.no_bias = 1;
    else
        net->err = gn_fail(GN_ERR_ARG, "%s: bias=0 applies to conv2d and deconv2d layers, not %s", net->name,
                           L ? L->ops->name : "an empty network");
}
void gn_net_spectral_norm(gn_net *net) {
    if (net->err) return;
    gn_layer *L = net->nlayers ? &net->layers[net->nlayers - 1] : NULL;
    if (L && L->kind == GN_LAYER_DENSE) L->a.dense.sn = 1;
    else if (L && (L->kind == GN_LAYER_CONV2D || L->kind == GN_LAYER_DECONV2D)) L->a.conv.sn = 1;
    else
        net->err = gn_fail(GN_ERR_ARG, "%s: spectral normalisation applies to dense, conv2d and "
                           "deconv2d layers, not %s", net->name, L ? L->ops->name : "an empty network");
}
void gn_net_add_batchnorm(gn_net *net, float momentum, float eps) {
    ADD_LAYER(GN_LAYER_BATCHNORM, bn, (gn_bn_args){momentum, eps});
}
void gn_net_add_relu(gn_net *net) { finish(net, push(net, GN_LAYER_RELU, GN_NONE)); }
void gn_net_add_leaky_relu(gn_net *net, float alpha) {
    ADD_LAYER(GN_LAYER_LEAKY_RELU, leaky, (gn_leaky_args){alpha});
}
void gn_net_add_sigmoid(gn_net *net) { finish(net, push(net, GN_LAYER_SIGMOID, GN_NONE)); }
void gn_net_add_tanh(gn_net *net) { finish(net, push(net, GN_LAYER_TANH, GN_NONE)); }
void gn_net_add_softmax(gn_net *net) { finish(net, push(net, GN_LAYER_SOFTMAX, GN_NONE)); }
void gn_net_add_dropout(gn_net *net, float rate) {
    ADD_LAYER(GN_LAYER_DROPOUT, dropout, (gn_dropout_args){rate});
}
void gn_net_add_gaussian_noise(gn_net *net, float sigma) {
    ADD_LAYER(GN_LAYER_GAUSSIAN_NOISE, noise, (gn_noise_args){sigma});
}
void gn_net_add_upsample(gn_net *net, int factor) {
    ADD_LAYER(GN_LAYER_UPSAMPLE, upsample, (gn_upsample_args){factor});
}
void gn_net_add_maxpool(gn_net *net, int size, int stride) {
    ADD_LAYER(GN_LAYER_MAXPOOL, pool, (gn_pool_args){size, stride});
}
void gn_net_add_reshape(gn_net *net, gn_shape to) {
    ADD_LAYER(GN_LAYER_RESHAPE, reshape, (gn_reshape_args){to});
}
void gn_net_add_flatten(gn_net *net) { finish(net, push(net, GN_LAYER_FLATTEN, GN_NONE)); }

static void add_two_input(gn_net *net, gn_layer_kind kind, const char *other) {
    int t = lookup(net, other, gn_layer_ops_of(kind)->name);
    if (t != GN_NONE) finish(net, push(net, kind, t));
}
void gn_net_add_add(gn_net *net, const char *other) { add_two_input(net, GN_LAYER_ADD, other); }
void gn_net_add_concat(gn_net *net, const char *other) { add_two_input(net, GN_LAYER_CONCAT, other); }

/* ---- describing ---- */

static void shape_str(char *buf, size_t len, gn_shape s) {
    if (s.h == 1 && s.w == 1)
        snprintf(buf, len, "(%d)", s.c);
    else
        snprintf(buf, len, "(%d, %d, %d)", s.h, s.w, s.c);
}

double gn_net_layer_flops(const gn_net *net, int i, int n) {
    const gn_layer *L = &net->layers[i];
    return L->ops->flops ? L->ops->flops(L, n) : 0;
}

gn_shape gn_net_layer_output(const gn_net *net, int i) { return net->layers[i].out; }
gn_shape gn_net_layer_input(const gn_net *net, int i) { return net->layers[i].in; }

void gn_net_layer_desc(const gn_net *net, int i, char *desc, size_t len) {
    const gn_layer *L = &net->layers[i];
    L->ops->describe(L, desc, len);
}

/* How tensor t is called in a summary: its name, else "#layer". */
static void tensor_label(const gn_net *net, int t, char *buf, size_t len) {
    const char *nm = gn_net_tensor_name(net, t);
    if (*nm)
        snprintf(buf, len, "%s", nm);
    else
        snprintf(buf, len, "#%d", t);
}

/* For a summary line: what layer i reads, where that is not just the
 * output of the layer before, and the name of its output; "" on a chain. */
static void graph_note(const gn_net *net, int i, char *buf, size_t len) {
    const gn_layer *L = &net->layers[i];
    char a[40], b[40];
    const char *own = gn_net_tensor_name(net, i);
    buf[0] = 0;
    if (L->src[0] != i - 1 || L->src[1] != GN_NONE) {
        tensor_label(net, L->src[0], a, sizeof a);
        if (L->src[1] != GN_NONE) tensor_label(net, L->src[1], b, sizeof b);
        snprintf(buf, len, "  <- %s%s%s", a, L->src[1] != GN_NONE ? ", " : "", L->src[1] != GN_NONE ? b : "");
    }
    if (*own) snprintf(buf + strlen(buf), len - strlen(buf), "  -> %s", own);
}

void gn_net_summary(const gn_net *net, FILE *out) {
    char sh[64];
    shape_str(sh, sizeof sh, net->input);
    fprintf(out, "%s: input %s\n", net->name, sh);
    fprintf(out, "  %-3s %-22s %-16s %12s\n", "#", "layer", "output shape", "parameters");
    for (int i = 0; i < net->nlayers; i++) {
        const gn_layer *L = &net->layers[i];
        char desc[48], note[96];
        gn_net_layer_desc(net, i, desc, sizeof desc);
        shape_str(sh, sizeof sh, L->out);
        graph_note(net, i, note, sizeof note);
        fprintf(out, "  %-3d %-22s %-16s %12zu%s\n", i, desc, sh, L->w_len + L->b_len, note);
    }
    fprintf(out, "  total parameters: %zu (trainable), %zu (state)\n", net->nparams, net->nstate);
}
