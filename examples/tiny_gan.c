/* A GAN trained through the public API alone: the dcgan preset on the
 * bundled MNIST for a few iterations, then a 4x4 grid of samples.
 *   build/examples/tiny_gan [iterations] [out.png] */
#include <stdio.h>
#include <stdlib.h>

#include "gannet/gan.h"
#include "gannet/io.h"
#include "gannet/rng.h"

int main(int argc, char **argv) {
    int iters = argc > 1 ? atoi(argv[1]) : 20;
    const char *out = argc > 2 ? argv[2] : "tiny_gan.png";
    char images[1024], labels[1024];
    gn_default_mnist_paths(images, sizeof images, labels, sizeof labels);
    gn_dataset ds;
    if (gn_dataset_load(images, NULL, &ds)) {
        fprintf(stderr, "tiny_gan: %s\n", gn_last_error());
        return 1;
    }
    gn_gan_config cfg;
    gn_preset_config("dcgan", &cfg);
    cfg.batch = 32;
    gn_gan *gan;
    if (gn_gan_create(&gan, &cfg)) {
        fprintf(stderr, "tiny_gan: %s\n", gn_last_error());
        return 1;
    }
    for (int i = 0; i < iters; i++) {
        gn_step_stats st;
        if (gn_gan_iteration(gan, &ds, &st)) {
            fprintf(stderr, "tiny_gan: %s\n", gn_last_error());
            return 1;
        }
        printf("iteration %d: d_loss %.4f g_loss %.4f D(x) %.3f D(G(z)) %.3f\n", i + 1, st.d_loss,
               st.g_loss, st.d_real, st.d_fake);
    }
    float z[16 * 100], img[16 * 28 * 28];
    gn_gan_noise(gan, z, 16, GN_STREAM_SAMPLE, 0);
    if (gn_gan_generate(gan, z, 16, img) || gn_png_write_grid(out, img, 16, 28, 28, 1, 4, 4, 4, -1, 1)) {
        fprintf(stderr, "tiny_gan: %s\n", gn_last_error());
        return 1;
    }
    printf("wrote %s\n", out);
    gn_gan_free(gan);
    gn_dataset_free(&ds);
    return 0;
}
