/* A network: an ordered list of layers, one slab each for parameters,
 * gradients and non-trained state (batch-norm running averages), and, for
 * every batch size it has been prepared for, preallocated activations and
 * oneDNN primitives. Activations are NHWC float32.
 *
 * Build one with gn_net_new, the gn_net_add_* calls, then gn_net_build.
 * The add calls never fail on their own: the first error (a shape that does
 * not fit, say) is kept and returned by gn_net_build. */
#ifndef GANNET_NET_H
#define GANNET_NET_H

#include "gannet/export.h"

#include <stdint.h>
#include <stdio.h>

#include "gannet/status.h"
#include "gannet/tensor.h"

typedef enum gn_layer_kind {
    GN_LAYER_DENSE,
    GN_LAYER_CONV2D,
    GN_LAYER_DECONV2D,
    GN_LAYER_BATCHNORM,
    GN_LAYER_RELU,
    GN_LAYER_LEAKY_RELU,
    GN_LAYER_SIGMOID,
    GN_LAYER_TANH,
    GN_LAYER_SOFTMAX,
    GN_LAYER_DROPOUT,
    GN_LAYER_UPSAMPLE,
    GN_LAYER_MAXPOOL,
    GN_LAYER_GAUSSIAN_NOISE,
    GN_LAYER_RESHAPE,
    GN_LAYER_FLATTEN,
    GN_LAYER_ADD,
    GN_LAYER_CONCAT,
} gn_layer_kind;

typedef enum gn_padding { GN_PAD_SAME = 0, GN_PAD_VALID = 1 } gn_padding;

typedef enum gn_init {
    GN_INIT_GLOROT_UNIFORM = 0, /* Keras' default for Dense and Conv kernels */
    GN_INIT_GLOROT_NORMAL = 1,
    GN_INIT_NORMAL_002 = 2,     /* N(0, 0.02), as DCGAN; BN gamma ~ N(1, 0.02) */
} gn_init;

typedef enum gn_mode { GN_INFER = 0, GN_TRAIN = 1 } gn_mode;

typedef struct gn_net gn_net;

/* A new, empty network taking inputs of one shape (per sample); `name`
 * appears in messages. gn_net_free frees it (NULL is fine). */
GN_API gn_net *gn_net_new(const char *name, gn_shape input);
GN_API void gn_net_free(gn_net *net);

/* Layers, appended in order; each takes the output of the one before.
 * Kernels are square; `stride` and `pad` as in Keras. */
GN_API void gn_net_add_dense(gn_net *net, int units);
GN_API void gn_net_add_conv2d(gn_net *net, int filters, int kernel, int stride, gn_padding pad);
GN_API void gn_net_add_deconv2d(gn_net *net, int filters, int kernel, int stride, gn_padding pad);
/* Spectral normalisation of the layer added last (dense, conv2d, deconv2d):
 * it runs with W / sigma(W), sigma by one power iteration per training
 * forward, its u vector and sigma in the state slab; inference uses the
 * stored sigma. Another kind is kept as the network's first error. */
GN_API void gn_net_spectral_norm(gn_net *net);
/* No bias in the layer added last (conv2d, deconv2d): DCGAN's layers before
 * a batch norm have none. Another kind is kept as the network's first error. */
GN_API void gn_net_no_bias(gn_net *net);
/* Per channel over (N, H, W); after a dense layer, per feature over N. */
GN_API void gn_net_add_batchnorm(gn_net *net, float momentum, float eps);
GN_API void gn_net_add_relu(gn_net *net);
GN_API void gn_net_add_leaky_relu(gn_net *net, float alpha);
GN_API void gn_net_add_sigmoid(gn_net *net);
GN_API void gn_net_add_tanh(gn_net *net);
/* Softmax over channels. As the last layer it is folded into the loss:
 * gn_net_logits gives its input and gn_net_backward takes the gradient with
 * respect to those logits. */
GN_API void gn_net_add_softmax(gn_net *net);
GN_API void gn_net_add_dropout(gn_net *net, float rate);
GN_API void gn_net_add_upsample(gn_net *net, int factor);
GN_API void gn_net_add_maxpool(gn_net *net, int size, int stride);
GN_API void gn_net_add_gaussian_noise(gn_net *net, float sigma);
GN_API void gn_net_add_reshape(gn_net *net, gn_shape to);
GN_API void gn_net_add_flatten(gn_net *net);

/* Skip connections. A network is a chain by default: each layer reads the
 * output of the layer added before it. Tensor names (letters, digits and
 * '_', at most 31 bytes; "input" is the network's input) let a layer read an
 * earlier output instead:
 *   gn_net_name_output(net, "h")  names the output of the layer added last;
 *   gn_net_take(net, "h")         makes the next layer read tensor h;
 *   gn_net_add_add(net, "h")      adds a layer: current + h (same shape);
 *   gn_net_add_concat(net, "h")   adds a layer: [current, h] along channels
 *                                 (same height and width).
 * A tensor read by several layers gets the sum of their gradients. Unknown,
 * repeated or malformed names are kept as the network's first error and
 * returned by gn_net_build, naming the tensor. */
GN_API void gn_net_name_output(gn_net *net, const char *name);
GN_API void gn_net_take(gn_net *net, const char *name);
GN_API void gn_net_add_add(gn_net *net, const char *other);
GN_API void gn_net_add_concat(gn_net *net, const char *other);

/* Runs every layer on its own, as listed, instead of fusing (BN + ReLU, a
 * ReLU as a oneDNN post-op, LeakyReLU after ReLU, UpSampling2D(2) + 3x3
 * conv as one transposed convolution). Call before gn_net_build; for
 * checking that the fusions change nothing. */
GN_API void gn_net_disable_fusions(gn_net *net);

/* Allocates the slabs and initialises the parameters (seeded, deterministic). */
GN_API gn_status gn_net_build(gn_net *net, gn_init init, uint64_t seed);

/* What a built network is: its name, shapes (per sample), layers. */
GN_API const char *gn_net_name(const gn_net *net);
GN_API gn_shape gn_net_input_shape(const gn_net *net);
GN_API gn_shape gn_net_output_shape(const gn_net *net);
GN_API int gn_net_layer_count(const gn_net *net);
GN_API gn_layer_kind gn_net_layer_kind(const gn_net *net, int i);
GN_API const char *gn_layer_kind_name(gn_layer_kind k);

/* Parameters (trained), their gradients, and state (running averages). */
GN_API size_t gn_net_param_count(const gn_net *net);
GN_API float *gn_net_params(gn_net *net);
GN_API float *gn_net_grads(gn_net *net);
GN_API size_t gn_net_state_count(const gn_net *net);
GN_API float *gn_net_state(gn_net *net);
/* Layer i's weights and bias (or gamma and beta) inside the slab; NULL when none.
 * Layouts: dense (out, in); conv2d (out, in, kh, kw); deconv2d (out, in, kh, kw)
 * where out is the deconvolution's output channels. */
GN_API float *gn_net_layer_weights(gn_net *net, int i, size_t *count);
GN_API float *gn_net_layer_bias(gn_net *net, int i, size_t *count);
/* Tells the network its parameters changed (the optimizer calls it), so that
 * cached copies in primitive layouts are refreshed. */
GN_API void gn_net_params_changed(gn_net *net);

/* The number format of the oneDNN layers (dense, conv2d, deconv2d); master
 * weights, optimizer state, batch-norm statistics, losses and every other
 * layer stay fp32 (docs/precision.md). */
typedef enum gn_precision {
    GN_PRECISION_FP32 = 0, /* everything in fp32 (the default) */
    GN_PRECISION_BF16 = 1, /* bf16 inputs and weights, fp32 outputs; a pass that runs
                              slower in bf16 here stays fp32 (gn_net_layer_precision) */
    GN_PRECISION_BF16_ALL = 2 /* every such pass in bf16, also the slow ones (for measuring) */
} gn_precision;
/* Sets the precision; the primitives are remade at the next forward or prepare. */
GN_API void gn_net_set_precision(gn_net *net, gn_precision p);
GN_API gn_precision gn_net_precision(const gn_net *net);
/* GN_OK when this CPU runs precision p natively; otherwise GN_ERR_ARG with a
 * message naming the missing feature (bf16 needs AVX512_BF16 or AMX-BF16: oneDNN
 * would emulate it several times slower than fp32). GANNET_CPU_NO_BF16=1 in the
 * environment makes the check act as on a CPU without either (for tests). */
GN_API gn_status gn_precision_check(gn_precision p);

/* Prepares buffers and primitives for batch size n (done once per size;
 * forward and backward call it when needed, so a step allocates nothing
 * after the first). */
GN_API gn_status gn_net_prepare(gn_net *net, int n);

/* Lets network a use network b's gradient workspace: the buffers one
 * backward pass works in, and the parameter-gradient slab, so a pair whose
 * backward passes and updates never interleave, like G and D, keeps one set.
 * The gradient a backward pass returns (dx) lives there until the next
 * backward pass of either network (or forward pass, in bf16: its copies of
 * activations go there); the parameter gradients (gn_net_grads of
 * either) until the next backward pass of either that writes them. */
GN_API gn_status gn_net_share_workspace(gn_net *a, gn_net *b);

/* Forward pass over x (n, input shape). `step` keys dropout and noise masks.
 * *y receives the output tensor (owned by the network, valid until the next
 * forward with the same n). x must stay valid until the backward pass. */
GN_API gn_status gn_net_forward(gn_net *net, const gn_tensor *x, gn_mode mode, uint64_t seed,
                                uint64_t step, const gn_tensor **y);
/* The input of a final softmax (or the output when there is none), after forward. */
GN_API const gn_tensor *gn_net_logits(gn_net *net, int n);

/* Backward pass after a GN_TRAIN forward with the same batch size. dy is the
 * gradient of the output (of the logits, when the last layer is softmax).
 * param_grads: write parameter gradients into the gradient slab (overwriting);
 * 0 for a frozen network. dx: when not NULL, receives the input gradient
 * (owned by the network, valid until the next forward or backward pass); when
 * NULL, the first layer's input gradient is not computed at all. In bf16 a
 * backward pass uses up its forward (it keeps its bf16 copies in activations
 * that are dead by then): another backward needs another forward. */
GN_API gn_status gn_net_backward(gn_net *net, const gn_tensor *dy, int param_grads, const gn_tensor **dx);

/* Per-layer profile: when set, forward and backward add the seconds each
 * layer takes into fwd[i], bwd_data[i] and bwd_weights[i] (nlayers each);
 * NULL turns it off. */
GN_API void gn_net_set_profile(gn_net *net, double *fwd, double *bwd_data, double *bwd_weights);
/* Floating-point operations of layer i for batch n in forward (the same for
 * backward-data and backward-weights of dense and convolution layers). */
GN_API double gn_net_layer_flops(const gn_net *net, int i, int n);
/* A short description of layer i ("Conv2D 5x5/2 same"). */
GN_API void gn_net_layer_desc(const gn_net *net, int i, char *buf, size_t len);
/* The oneDNN implementation behind layer i for batch n: which = 0 forward,
 * 1 backward-data, 2 backward-weights; "" when none (or not built yet). */
GN_API const char *gn_net_layer_impl(gn_net *net, int i, int n, int which);
/* The number format that pass of layer i runs in for batch n: "bf16", "fp32",
 * or "" when the layer has no oneDNN primitive (or it is not built yet). */
GN_API const char *gn_net_layer_precision(gn_net *net, int i, int n, int which);
/* Output shape of layer i, and the shape of the (first) tensor it reads. */
GN_API gn_shape gn_net_layer_output(const gn_net *net, int i);
GN_API gn_shape gn_net_layer_input(const gn_net *net, int i);
/* Prepares batch n (see gn_net_prepare) and gives the bytes it plans for
 * activations (the arena) and for the gradient workspace. */
GN_API gn_status gn_net_memory(gn_net *net, int n, size_t *activations, size_t *gradients);

/* Prints one line per layer: name, output shape, parameter count; and totals. */
GN_API void gn_net_summary(const gn_net *net, FILE *out);

#endif
