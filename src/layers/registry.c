/* The layer registry: every kind's descriptor, indexed by gn_layer_kind
 * (kann's kad_op_list idea). A new kind: its file under src/layers/, its
 * enum value in gannet/net.h, one line here. */
#include <string.h>

#include "layers/layer.h"

const gn_layer_ops *const gn_layer_registry[] = {
    [GN_LAYER_DENSE] = &gn_dense_ops,
    [GN_LAYER_CONV2D] = &gn_conv2d_ops,
    [GN_LAYER_DECONV2D] = &gn_deconv2d_ops,
    [GN_LAYER_BATCHNORM] = &gn_batchnorm_ops,
    [GN_LAYER_RELU] = &gn_relu_ops,
    [GN_LAYER_LEAKY_RELU] = &gn_leaky_relu_ops,
    [GN_LAYER_SIGMOID] = &gn_sigmoid_ops,
    [GN_LAYER_TANH] = &gn_tanh_ops,
    [GN_LAYER_SOFTMAX] = &gn_softmax_ops,
    [GN_LAYER_DROPOUT] = &gn_dropout_ops,
    [GN_LAYER_UPSAMPLE] = &gn_upsample_ops,
    [GN_LAYER_MAXPOOL] = &gn_maxpool_ops,
    [GN_LAYER_GAUSSIAN_NOISE] = &gn_gaussian_noise_ops,
    [GN_LAYER_RESHAPE] = &gn_reshape_ops,
    [GN_LAYER_FLATTEN] = &gn_flatten_ops,
    [GN_LAYER_ADD] = &gn_add_ops,
    [GN_LAYER_CONCAT] = &gn_concat_ops,
};

const int gn_layer_registry_size = (int)(sizeof gn_layer_registry / sizeof *gn_layer_registry);

const gn_layer_ops *gn_layer_ops_of(gn_layer_kind kind) {
    return (unsigned)kind < (unsigned)gn_layer_registry_size ? gn_layer_registry[kind] : NULL;
}

const gn_layer_ops *gn_layer_ops_by_name(const char *name) {
    for (int k = 0; k < gn_layer_registry_size; k++)
        if (gn_layer_registry[k] && !strcmp(gn_layer_registry[k]->name, name)) return gn_layer_registry[k];
    return NULL;
}

int gn_shape_same(gn_layer *L, char *why, size_t len) {
    (void)why, (void)len;
    L->out = L->in;
    return 0;
}

int gn_shape_same_if(gn_layer *L, int ok, const char *what, double value, char *why, size_t len) {
    if (!ok) {
        snprintf(why, len, "%s (%g)", what, value);
        return -1;
    }
    L->out = L->in;
    return 0;
}

void gn_describe_title(const gn_layer *L, char *buf, size_t len) { snprintf(buf, len, "%s", L->ops->title); }

void gn_pass_gradient(float *dx, const float *dy, size_t count) {
    if (dx && dx != dy) memcpy(dx, dy, count * sizeof(float));
}
