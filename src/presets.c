/* Named models. seed-mnist is the seed notebook's Keras MNIST DCGAN;
 * dcgan is Radford et al.'s canonical DCGAN sized for 28x28 images. */
#include <string.h>

#include "gannet/gan.h"
#include "gannet/settings.h"

const char *const gn_preset_names[] = {"seed-mnist", "dcgan", NULL};

gn_status gn_preset_config(const char *preset, gn_gan_config *c) {
    gn_settings_defaults(c);
    snprintf(c->preset, sizeof c->preset, "%s", preset);
    if (!strcmp(preset, "seed-mnist")) {
        c->iters = 250;
        c->plot_every = 25;
        c->g_lr = 1e-3f;
        c->d_lr = 1e-4f;
        c->beta1 = 0.9f;
        c->noise = GN_NOISE_UNIFORM;
        c->range = GN_RANGE_01;
        return GN_OK;
    }
    if (!strcmp(preset, "dcgan")) {
        c->iters = 1000;
        c->plot_every = 100;
        c->g_lr = 2e-4f;
        c->d_lr = 2e-4f;
        c->beta1 = 0.5f;
        c->noise = GN_NOISE_NORMAL;
        c->range = GN_RANGE_PM1;
        return GN_OK;
    }
    return gn_fail(GN_ERR_ARG, "unknown preset '%s' (known: seed-mnist, dcgan)", preset);
}

/* G: z (100) -> Dense 200*14*14 -> BN -> ReLU -> (14,14,200) -> UpSampling2D 2
 *    -> Conv 3x3 100 -> BN -> ReLU -> Conv 3x3 50 -> BN -> ReLU -> Conv 1x1 1 -> sigmoid
 * D: (28,28,1) -> Conv 5x5/2 256 -> ReLU -> LeakyReLU 0.2 -> Dropout 0.25
 *    -> Conv 5x5/2 512 -> ReLU -> LeakyReLU 0.2 -> Dropout 0.25 -> Flatten
 *    -> Dense 256 -> LeakyReLU 0.2 -> Dropout 0.25 -> Dense 2 -> softmax */
static void seed_mnist(gn_net *G, gn_net *D) {
    const int nch = 200;
    const float mom = 0.99f, eps = 1e-3f; /* Keras BatchNormalization defaults */
    gn_net_add_dense(G, nch * 14 * 14);
    gn_net_add_batchnorm(G, mom, eps);
    gn_net_add_relu(G);
    gn_net_add_reshape(G, (gn_shape){14, 14, nch});
    gn_net_add_upsample(G, 2);
    gn_net_add_conv2d(G, nch / 2, 3, 1, GN_PAD_SAME);
    gn_net_add_batchnorm(G, mom, eps);
    gn_net_add_relu(G);
    gn_net_add_conv2d(G, nch / 4, 3, 1, GN_PAD_SAME);
    gn_net_add_batchnorm(G, mom, eps);
    gn_net_add_relu(G);
    gn_net_add_conv2d(G, 1, 1, 1, GN_PAD_SAME);
    gn_net_add_sigmoid(G);

    gn_net_add_conv2d(D, 256, 5, 2, GN_PAD_SAME);
    gn_net_add_relu(D);
    gn_net_add_leaky_relu(D, 0.2f);
    gn_net_add_dropout(D, 0.25f);
    gn_net_add_conv2d(D, 512, 5, 2, GN_PAD_SAME);
    gn_net_add_relu(D);
    gn_net_add_leaky_relu(D, 0.2f);
    gn_net_add_dropout(D, 0.25f);
    gn_net_add_flatten(D);
    gn_net_add_dense(D, 256);
    gn_net_add_leaky_relu(D, 0.2f);
    gn_net_add_dropout(D, 0.25f);
    gn_net_add_dense(D, 2);
    gn_net_add_softmax(D);
}

/* G: z (100) -> Dense 7*7*256 -> BN -> ReLU -> (7,7,256) -> Deconv 4x4/2 128 -> BN -> ReLU
 *    -> Deconv 4x4/2 1 -> tanh
 * D: (28,28,1) -> Conv 4x4/2 64 -> LeakyReLU 0.2 -> Conv 4x4/2 128 -> BN -> LeakyReLU 0.2
 *    -> Flatten -> Dense 2 -> softmax */
static void dcgan(gn_net *G, gn_net *D) {
    const float mom = 0.9f, eps = 1e-5f;
    gn_net_add_dense(G, 7 * 7 * 256);
    gn_net_add_batchnorm(G, mom, eps);
    gn_net_add_relu(G);
    gn_net_add_reshape(G, (gn_shape){7, 7, 256});
    gn_net_add_deconv2d(G, 128, 4, 2, GN_PAD_SAME);
    gn_net_add_batchnorm(G, mom, eps);
    gn_net_add_relu(G);
    gn_net_add_deconv2d(G, 1, 4, 2, GN_PAD_SAME);
    gn_net_add_tanh(G);

    gn_net_add_conv2d(D, 64, 4, 2, GN_PAD_SAME);
    gn_net_add_leaky_relu(D, 0.2f);
    gn_net_add_conv2d(D, 128, 4, 2, GN_PAD_SAME);
    gn_net_add_batchnorm(D, mom, eps);
    gn_net_add_leaky_relu(D, 0.2f);
    gn_net_add_flatten(D);
    gn_net_add_dense(D, 2);
    gn_net_add_softmax(D);
}

gn_status gn_preset_build(const char *preset, uint64_t seed, gn_net **Gp, gn_net **Dp) {
    int which = !strcmp(preset, "seed-mnist") ? 0 : !strcmp(preset, "dcgan") ? 1 : -1;
    if (which < 0) return gn_fail(GN_ERR_ARG, "unknown preset '%s' (known: seed-mnist, dcgan)", preset);
    gn_net *G = gn_net_new("G", (gn_shape){1, 1, 100});
    gn_net *D = gn_net_new("D", (gn_shape){28, 28, 1});
    if (!G || !D) {
        gn_net_free(G);
        gn_net_free(D);
        return gn_fail(GN_ERR_NOMEM, "out of memory");
    }
    if (which == 0)
        seed_mnist(G, D);
    else
        dcgan(G, D);
    gn_init init = which == 0 ? GN_INIT_GLOROT_UNIFORM : GN_INIT_NORMAL_002;
    gn_status s = gn_net_build(G, init, seed);
    if (!s) s = gn_net_build(D, init, seed + 1);
    if (s) {
        gn_net_free(G);
        gn_net_free(D);
        return s;
    }
    *Gp = G;
    *Dp = D;
    return GN_OK;
}
