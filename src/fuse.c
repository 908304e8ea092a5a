/* The fusions, as one pass over the built layer list. Each sets named flags
 * (GN_FUSE_*) that the kinds concerned read; none changes a result beyond
 * rounding (test_net's fusions_change_nothing), and each applies only where
 * the layer it folds away is the sole reader of what it reads, so another
 * reader never sees a fused value. */
#include "fuse.h"

#include "graph.h"

static int is_dnn(const gn_layer *L) { return L->ops->dnn_spec != NULL; }

/* The layer that reads layer t's output, when only layer t + 1 does. */
static gn_layer *only_next(gn_layer *layers, int n, int t) {
    return gn_graph_feeds_next(layers, n, t) ? &layers[t + 1] : NULL;
}

/* UpSampling2D(2) then a 3x3 'same' convolution is one 4x4 transposed
 * convolution of stride 2 on the small image: the same sums in 4/9 of the
 * work, and no upsampled tensor. */
static void fuse_upconv(gn_layer *layers, int n, int i) {
    gn_layer *L = &layers[i];
    int u = L->src[0];
    const gn_conv_args *a = &L->a.conv;
    if (L->kind != GN_LAYER_CONV2D || a->kernel != 3 || a->stride != 1 || a->pad != GN_PAD_SAME || u < 0)
        return;
    gn_layer *U = &layers[u];
    if (U->kind != GN_LAYER_UPSAMPLE || U->a.upsample.factor != 2 || gn_graph_sole_reader(layers, n, u) != i)
        return;
    L->fuse |= GN_FUSE_UPCONV;
    U->fuse |= GN_FUSE_UP_IN_CONV;
}

/* A batch norm read only by the oneDNN layer after it (past views and
 * fused layers, each read only by the next) keeps no output of its own: its
 * forward writes into one scratch buffer that all such layers share, and the
 * backward remakes that output from the kept input and batch statistics
 * when it reaches the reader, whose weight gradient needs it (as does the
 * fused ReLU's). */
static void fuse_transient_bn(gn_layer *layers, int n, int i) {
    int j = i;
    while (gn_graph_feeds_next(layers, n, j) && gn_graph_is_alias(&layers[j + 1])) j++;
    if (!gn_graph_feeds_next(layers, n, j) || !is_dnn(&layers[j + 1])) return;
    layers[i].fuse |= GN_FUSE_TRANSIENT;
    layers[j + 1].remakes_bn = i;
}

void gn_fuse(gn_layer *layers, int n) {
    for (int i = 0; i < n; i++) {
        gn_layer *L = &layers[i], *next = only_next(layers, n, i);
        int src = L->src[0];
        /* a ReLU right after a BN runs inside it */
        if (L->kind == GN_LAYER_BATCHNORM && next && next->kind == GN_LAYER_RELU) {
            L->fuse |= GN_FUSE_RELU_IN_BN;
            next->fuse |= GN_FUSE_DONE_BY_BN;
        }
        /* the forward of a ReLU right after a oneDNN layer runs inside it (a
         * post-op); its backward still runs on its own */
        if (L->kind == GN_LAYER_RELU && !(L->fuse & GN_FUSE_SKIPPED) && src >= 0 &&
            only_next(layers, n, src) == L && is_dnn(&layers[src])) {
            layers[src].fuse |= GN_FUSE_POST_RELU;
            L->fuse |= GN_FUSE_FWD_IN_OP;
        }
        /* leaky(relu(x)) = relu(x), and the composed backward is ReLU's */
        if (L->kind == GN_LAYER_LEAKY_RELU && src >= 0 && layers[src].kind == GN_LAYER_RELU)
            L->fuse |= GN_FUSE_IDENTITY;
        fuse_upconv(layers, n, i);
    }
    for (int i = 0; i < n; i++)
        if (layers[i].kind == GN_LAYER_BATCHNORM) fuse_transient_bn(layers, n, i);
}
