/* A layer kind is one descriptor (gn_layer_ops) defined in one file under
 * src/layers/ and listed in registry.c: its arguments' check and shape
 * inference, parameter and state counts, initialisation, forward, backward,
 * FLOPs and description. The engine (net.c) builds, plans buffers and
 * oneDNN primitives, and runs; fuse.c marks fusions with named flags. */
#ifndef GANNET_LAYER_H
#define GANNET_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "gannet/net.h"
#include "layers/layers.h"

#define GN_MAX_INPUTS 2
/* Tensors are named by the layer that writes them; the network input is -1. */
#define GN_NET_INPUT (-1)
/* No tensor / no layer (an unused input slot, a layer that remakes no BN). */
#define GN_NONE (-2)

/* ---- per-kind arguments; each field means one thing ---- */
typedef struct gn_dense_args {
    int units;
    int sn; /* spectral normalisation of the weights (spectral.c) */
} gn_dense_args;
typedef struct gn_conv_args {
    int filters, kernel, stride;
    gn_padding pad;
    int pad_t, pad_l, pad_b, pad_r; /* derived from the input size */
    int sn;                         /* spectral normalisation of the weights (spectral.c) */
    int no_bias;                    /* no bias: the layer feeds a batch norm (DCGAN) */
} gn_conv_args;
typedef struct gn_bn_args { float momentum, eps; } gn_bn_args;
typedef struct gn_leaky_args { float alpha; } gn_leaky_args;
typedef struct gn_dropout_args { float rate; } gn_dropout_args;
typedef struct gn_noise_args { float sigma; } gn_noise_args;
typedef struct gn_upsample_args { int factor; } gn_upsample_args;
typedef struct gn_pool_args { int size, stride; } gn_pool_args;
typedef struct gn_reshape_args { gn_shape to; } gn_reshape_args;

typedef union gn_layer_args {
    gn_dense_args dense;
    gn_conv_args conv; /* conv2d and deconv2d */
    gn_bn_args bn;
    gn_leaky_args leaky;
    gn_dropout_args dropout;
    gn_noise_args noise;
    gn_upsample_args upsample;
    gn_pool_args pool;
    gn_reshape_args reshape;
} gn_layer_args;

/* ---- fusions (set by gn_fuse, read by the kinds they concern) ---- */
enum {
    GN_FUSE_RELU_IN_BN = 1 << 0,     /* a BN that also applies the ReLU after it */
    GN_FUSE_DONE_BY_BN = 1 << 1,     /* a ReLU the BN before it applies */
    GN_FUSE_POST_RELU = 1 << 2,      /* a oneDNN layer whose forward applies the next ReLU */
    GN_FUSE_FWD_IN_OP = 1 << 3,      /* a ReLU whose forward the layer before runs */
    GN_FUSE_IDENTITY = 1 << 4,       /* a LeakyReLU after a ReLU: leaky(relu(x)) = relu(x) */
    GN_FUSE_UP_IN_CONV = 1 << 5,     /* an UpSampling2D(2) the convolution after it does */
    GN_FUSE_UPCONV = 1 << 6,         /* that 3x3 convolution, run as a 4x4/2 transposed one
                                        on the image before the upsampling */
    GN_FUSE_TRANSIENT = 1 << 7,      /* a BN whose output lives in the shared scratch buffer */
};
/* Layers that run nothing of their own: their output is their input. */
#define GN_FUSE_SKIPPED (GN_FUSE_DONE_BY_BN | GN_FUSE_IDENTITY | GN_FUSE_UP_IN_CONV)

typedef struct gn_layer_ops gn_layer_ops;

typedef struct gn_layer {
    gn_layer_kind kind;
    const gn_layer_ops *ops;
    int src[GN_MAX_INPUTS];  /* tensors read (GN_NONE where unused) */
    gn_shape in, in2, out;   /* in2: the second input's shape (add, concat) */
    gn_dtype dtype;          /* element type of the output */
    gn_layer_args a;
    size_t w_off, w_len, b_off, b_len; /* in the parameter slab */
    size_t s_off, s_len;     /* in the state slab (and the batch-statistics slab) */
    unsigned fuse;           /* GN_FUSE_* */
    int remakes_bn;          /* the transient BN whose output this layer reads, or GN_NONE */
    int rounds_f32_of;       /* a dropout over a bf16-stored tensor that makes it: it reads the
                                f32 output the oneDNN layer rounds_f32_of left (net.c,
                                choose_storage), or GN_NONE */
    gn_dnn_cache *cache;     /* weights in oneDNN layouts, for every batch size */
    float *kw4, *dkw4;       /* an up-fused convolution's 4x4 weights and their gradient */
    uint64_t kw4_ver;        /* version + 1 of the weights in kw4 */
    float *sn;               /* spectral normalisation: W / sigma, v, the u it started from */
    uint64_t sn_ver;         /* bumped whenever sn's W / sigma changes (the weight caches' key) */
    uint64_t sn_src;         /* parameter version + 1 behind an inference W / sigma */
    float sn_sigma;          /* the sigma behind it */
} gn_layer;

/* What one forward or backward call of a layer works on. Buffers belong to
 * the engine; dx[k] may be dy itself only for GN_OP_GRAD_IN_PLACE kinds,
 * and is NULL when that input's gradient is not wanted. */
typedef struct gn_call {
    int n, train;
    const float *x[GN_MAX_INPUTS];
    float *y;
    const float *w, *b;        /* parameters (the slab's) */
    float *state, *stats;      /* running statistics; batch statistics */
    float *work;               /* scratch, work_floats of the kind */
    void *aux;                 /* aux_bytes of the kind, kept from forward to backward */
    gn_dnn_op *op;
    uint64_t seed, key;        /* the random layers' seed and per-layer, per-step key */
    gn_samples samples;        /* where the batch's samples stand in the whole batch */
    const gn_sync *sync;       /* batch norm: sum statistics across processes, or NULL */
    uint64_t version;          /* the parameters' version (see gn_net_params_changed) */
    const float *dy;
    float *dx[GN_MAX_INPUTS];
    float *dw, *db;            /* NULL: no parameter gradients wanted */
    void *mid;                 /* backward: gradient workspace free while it runs, or NULL */
    size_t mid_bytes;
    int profile;               /* measure weights_seconds */
    double weights_seconds;    /* time spent on parameter gradients */
} gn_call;

/* Traits of a kind. */
enum {
    GN_OP_ALIAS = 1 << 0,         /* the output is the input, unchanged (reshape) */
    GN_OP_IN_PLACE = 1 << 1,      /* forward may write over its input */
    GN_OP_GRAD_IN_PLACE = 1 << 2, /* backward may write dx over dy */
    GN_OP_READS_OUTPUT = 1 << 3,  /* backward needs its exact output (sigmoid) */
    GN_OP_RANDOM = 1 << 4,        /* reads c->key (dropout, noise) */
    GN_OP_FOLDS_INTO_LOSS = 1 << 5, /* as the last layer, the loss reads its input (the
                                       logits) and backward starts below it (softmax) */
};

struct gn_layer_ops {
    gn_layer_kind kind;
    const char *name;   /* Keras-like, as model files spell it: "conv2d" */
    const char *title;  /* for summaries: "Conv2D" */
    int ninputs;        /* 1, or 2 (add, concat) */
    unsigned traits;    /* GN_OP_* */
    /* Checks L->a against L->in (and L->in2), sets L->out; 0, or -1 with why. */
    int (*shape)(gn_layer *L, char *why, size_t len);
    /* Parameter (weights, bias) and state counts; NULL: none. */
    void (*counts)(const gn_layer *L, size_t *w, size_t *b, size_t *state);
    /* Fills weights, bias and state; stream keys the layer's random numbers. */
    void (*init)(const gn_layer *L, float *w, float *b, float *state, gn_init init,
                 uint64_t seed, uint64_t stream);
    gn_status (*forward)(gn_layer *L, gn_call *c);
    gn_status (*backward)(gn_layer *L, gn_call *c);
    double (*flops)(const gn_layer *L, int n); /* NULL: 0 */
    void (*describe)(const gn_layer *L, char *buf, size_t len);
    /* oneDNN layers: the primitive for batch n; NULL for the others. */
    void (*dnn_spec)(const gn_layer *L, int n, gn_dnn_spec *s);
    size_t (*work_floats)(const gn_layer *L, int n); /* NULL: 0 */
    size_t (*aux_bytes)(const gn_layer *L, int n);   /* NULL: 0 */
};

/* The registry (registry.c): every kind, indexed by gn_layer_kind. */
extern const gn_layer_ops *const gn_layer_registry[];
extern const int gn_layer_registry_size;
const gn_layer_ops *gn_layer_ops_of(gn_layer_kind kind);
/* NULL when no kind has that name. */
const gn_layer_ops *gn_layer_ops_by_name(const char *name);

/* The descriptors, one per kind, each defined in its kind's file. */
extern const gn_layer_ops gn_dense_ops, gn_conv2d_ops, gn_deconv2d_ops, gn_batchnorm_ops,
    gn_relu_ops, gn_leaky_relu_ops, gn_sigmoid_ops, gn_tanh_ops, gn_softmax_ops, gn_dropout_ops,
    gn_upsample_ops, gn_maxpool_ops, gn_gaussian_noise_ops, gn_reshape_ops, gn_flatten_ops,
    gn_add_ops, gn_concat_ops;

/* Helpers the kinds share. */
/* Elements of a layer's input per sample and rows of (rows, C) for batch n. */
static inline size_t gn_layer_rows(const gn_layer *L, int n) { return (size_t)n * L->in.h * L->in.w; }
static inline size_t gn_layer_count_in(const gn_layer *L, int n) { return (size_t)n * gn_shape_size(L->in); }
/* The output shape is the input's (shape of elementwise kinds). */
int gn_shape_same(gn_layer *L, char *why, size_t len);
/* The same when ok; else -1, and why says `what` and the value. */
int gn_shape_same_if(gn_layer *L, int ok, const char *what, double value, char *why, size_t len);
/* The kind's title ("Sigmoid"). */
void gn_describe_title(const gn_layer *L, char *buf, size_t len);
/* dx = dy, when they are not one buffer (dx NULL: not wanted). */
void gn_pass_gradient(float *dx, const float *dy, size_t count);
/* Glorot (fan_in + fan_out) or N(0, 0.02) weights, zero bias. */
void gn_init_linear(float *w, size_t wn, float *b, size_t bn, double fan_in, double fan_out,
                    gn_init init, uint64_t seed, uint64_t stream);

/* Spectral normalisation (spectral.c) of a dense, conv2d or deconv2d layer
 * with sn set: its weights W viewed as (rows = output units or filters, K);
 * its state holds u (rows) and sigma. */
int gn_sn_on(const gn_layer *L);
size_t gn_sn_state(const gn_layer *L);
/* Random unit u from (seed, stream) and sigma = |W^T u|. */
void gn_sn_init(const gn_layer *L, const float *w, float *state, uint64_t seed, uint64_t stream);
/* The weights to run with, W / sigma, and the version that keys their
 * cached layouts. Training: one power iteration from the stored u first
 * (u and sigma updated); inference: the stored sigma. NULL: out of memory. */
const float *gn_sn_weights(gn_layer *L, const gn_call *c, uint64_t *ver);
/* dw holds dL/d(W / sigma) of the last training forward; makes it dL/dW,
 * differentiating through sigma, v and the new u (the stored u is a constant). */
void gn_sn_backward(const gn_layer *L, const gn_call *c, float *dw);

/* The batch-norm remake (batchnorm.c): writes BN layer B's training output
 * again into y from its input x and the batch statistics of the last
 * training forward. */
void gn_batchnorm_layer_remake(const gn_layer *B, float *y, const float *x, const float *w,
                               const float *b, const float *stats, int n, float *work);

#endif
