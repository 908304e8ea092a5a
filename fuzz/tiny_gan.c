#include <stdlib.h>

#include "tiny_gan.h"

gn_gan *tiny_gan_new(void) {
    gn_gan *gan = calloc(1, sizeof *gan);
    if (!gan) return NULL;
    gn_preset_config("dcgan", &gan->cfg);
    gan->cfg.batch = 1;
    gan->cfg.zdim = TINY_ZDIM;
    gan->G = gn_net_new("G", (gn_shape){1, 1, TINY_ZDIM});
    gan->D = gn_net_new("D", (gn_shape){1, 1, 3});
    if (!gan->G || !gan->D) {
        tiny_gan_free(gan);
        return NULL;
    }
    gn_net_add_dense(gan->G, 5);
    gn_net_add_batchnorm(gan->G, 0.9f, 1e-5f);
    gn_net_add_relu(gan->G);
    gn_net_add_dense(gan->G, 3);
    gn_net_add_tanh(gan->G);
    gn_net_add_dense(gan->D, 4);
    gn_net_add_batchnorm(gan->D, 0.9f, 1e-5f);
    gn_net_add_leaky_relu(gan->D, 0.2f);
    gn_net_add_dense(gan->D, 2);
    gn_net_add_softmax(gan->D);
    const gn_gan_config *c = &gan->cfg;
    if (gn_net_build(gan->G, GN_INIT_NORMAL_002, 1) || gn_net_build(gan->D, GN_INIT_NORMAL_002, 2) ||
        gn_optim_init(&gan->og, GN_OPT_ADAM, gn_net_param_count(gan->G), c->g_lr, c->beta1, c->beta2, c->eps) ||
        gn_optim_init(&gan->od, GN_OPT_ADAM, gn_net_param_count(gan->D), c->d_lr, c->beta1, c->beta2, c->eps)) {
        tiny_gan_free(gan);
        return NULL;
    }
    return gan;
}

void tiny_gan_free(gn_gan *gan) {
    if (!gan) return;
    gn_net_free(gan->G);
    gn_net_free(gan->D);
    gn_optim_free(&gan->og);
    gn_optim_free(&gan->od);
    free(gan);
}
