/* Your own GAN through the installed library: a G and a D of your design,
 * built with gn_net_* calls, trained with gannet's GAN step on an IDX file,
 * saved to a checkpoint, reloaded, sampled and scored.
 *
 *   cc custom_gan.c $(pkg-config --cflags --libs gannet) -o custom_gan
 *   ./custom_gan [IMAGES.idx[.gz]] [OUT_FOLDER] [ITERATIONS]
 *
 * IMAGES (missing or "") defaults to the bundled MNIST digits (found as gannet finds them:
 * $GANNET_DATA_DIR, the installed share/gannet, the source tree). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/checkpoint.h"
#include "gannet/datadir.h"
#include "gannet/eval.h"
#include "gannet/gan.h"
#include "gannet/io.h"
#include "gannet/rng.h"

#define ZDIM 32
#define HIDDEN 256
#define GRID 16          /* a 4x4 grid of samples */
#define EVAL_N 256       /* images scored by the classifier */

static int fail(const char *what) {
    fprintf(stderr, "custom_gan: %s: %s\n", what, gn_last_error());
    return 1;
}

/* G: noise (1,1,ZDIM) -> dense -> leaky ReLU -> dense -> tanh -> image (h,w,c) in [-1, 1]. */
static gn_net *make_generator(gn_shape img) {
    gn_net *G = gn_net_new("G", (gn_shape){1, 1, ZDIM});
    gn_net_add_dense(G, HIDDEN);
    gn_net_add_leaky_relu(G, 0.2f);
    gn_net_add_dense(G, img.h * img.w * img.c);
    gn_net_add_tanh(G);
    gn_net_add_reshape(G, img);
    return G;
}

/* D: image -> flatten -> dense -> leaky ReLU -> two logits (class 1 = real). */
static gn_net *make_discriminator(gn_shape img) {
    gn_net *D = gn_net_new("D", img);
    gn_net_add_flatten(D);
    gn_net_add_dense(D, HIDDEN);
    gn_net_add_leaky_relu(D, 0.2f);
    gn_net_add_dense(D, 2);
    return D;
}

/* The settings: seed-mnist's, then ours. */
static gn_status make_config(gn_gan_config *cfg) {
    gn_status s = gn_preset_config("seed-mnist", cfg);
    if (s) return s;
    snprintf(cfg->preset, sizeof cfg->preset, "custom-mlp");
    cfg->zdim = ZDIM;
    cfg->batch = 32;
    cfg->range = GN_RANGE_PM1; /* tanh output */
    cfg->g_lr = cfg->d_lr = 2e-4f;
    cfg->beta1 = 0.5f;
    return GN_OK;
}

/* Builds G and D (initialised from cfg->seed) and the GAN around them. */
static gn_status make_gan(const gn_gan_config *cfg, gn_shape img, gn_gan **gan) {
    gn_net *G = make_generator(img), *D = make_discriminator(img);
    gn_status s = gn_net_build(G, GN_INIT_GLOROT_UNIFORM, cfg->seed);
    if (!s) s = gn_net_build(D, GN_INIT_GLOROT_UNIFORM, cfg->seed + 1);
    if (s) {
        gn_net_free(G);
        gn_net_free(D);
        return s;
    }
    return gn_gan_create_from_nets(gan, cfg, G, D); /* owns G and D from here */
}

/* Scores n generated digits with the shipped MNIST classifier (28x28x1 only). */
static int evaluate(gn_gan *gan, gn_shape img) {
    if (img.h != GN_CLS_SIDE || img.w != GN_CLS_SIDE || img.c != 1) {
        printf("not 28x28 grey images: no MNIST scores\n");
        return 0;
    }
    char path[4096];
    gn_classifier *c;
    if (gn_data_path(GN_CLS_FILE, path, sizeof path) || gn_classifier_load(&c, path)) return fail("classifier");
    size_t D = (size_t)img.h * img.w;
    float *z = malloc((size_t)EVAL_N * ZDIM * sizeof(float)), *x = malloc(EVAL_N * D * sizeof(float));
    gn_eval_scores sc;
    gn_gan_noise(gan, z, EVAL_N, GN_STREAM_SAMPLE, 0);
    gn_status s = gn_gan_generate(gan, z, EVAL_N, x);
    for (size_t i = 0; !s && i < EVAL_N * D; i++) x[i] = (x[i] + 1) / 2; /* [-1,1] -> [0,1] */
    if (!s) s = gn_eval_images(c, x, EVAL_N, NULL, 0, &sc);
    if (!s) printf("Inception Score %.3f, mean confidence %.3f over %d images\n", sc.inception, sc.confidence, EVAL_N);
    free(z);
    free(x);
    gn_classifier_free(c);
    return s ? fail("evaluation") : 0;
}

/* Reloads the checkpoint into freshly built networks; checks G makes the same images. */
static int reload(const gn_gan_config *cfg, gn_shape img, const char *ckpt, const float *z, const float *want) {
    gn_gan *again;
    size_t n = (size_t)GRID * img.h * img.w * img.c;
    float *got = malloc(n * sizeof(float));
    if (make_gan(cfg, img, &again)) return fail("building the networks again");
    gn_status s = gn_checkpoint_load(ckpt, again, NULL, 0, NULL);
    if (!s) s = gn_gan_generate(again, z, GRID, got);
    int same = !s && !memcmp(got, want, n * sizeof(float));
    gn_gan_free(again);
    free(got);
    if (s) return fail(ckpt);
    printf("reloaded %s: %s\n", ckpt, same ? "same samples" : "DIFFERENT samples");
    return !same;
}

static int train(gn_gan *gan, const gn_dataset *ds, int iters) {
    for (int i = 0; i < iters; i++) {
        gn_step_stats st;
        if (gn_gan_iteration(gan, ds, &st)) return fail("training");
        printf("iteration %d: d_loss %.4f g_loss %.4f D(x) %.3f D(G(z)) %.3f\n", i + 1, st.d_loss, st.g_loss,
               st.d_real, st.d_fake);
    }
    return 0;
}

int main(int argc, char **argv) {
    char images[4096], ckpt[4200], png[4200];
    const char *out = argc > 2 ? argv[2] : ".";
    int iters = argc > 3 ? atoi(argv[3]) : 50;
    if (argc > 1 && *argv[1]) snprintf(images, sizeof images, "%s", argv[1]);
    else if (gn_data_path("mnist-10k-images-idx3-ubyte.gz", images, sizeof images)) return fail("data");
    snprintf(ckpt, sizeof ckpt, "%s/custom_gan.gnt", out);
    snprintf(png, sizeof png, "%s/custom_gan.png", out);

    gn_dataset ds;
    gn_gan_config cfg;
    gn_gan *gan;
    if (gn_dataset_load(images, NULL, &ds)) return fail(images);
    gn_shape img = {ds.h, ds.w, ds.c};
    if (make_config(&cfg) || make_gan(&cfg, img, &gan)) return fail("building the GAN");
    int rc = train(gan, &ds, iters);

    float z[GRID * ZDIM], *grid = malloc((size_t)GRID * ds.h * ds.w * ds.c * sizeof(float));
    gn_gan_noise(gan, z, GRID, GN_STREAM_SAMPLE, 0);
    if (!rc && (gn_gan_generate(gan, z, GRID, grid) ||
                gn_png_write_grid(png, grid, GRID, ds.h, ds.w, ds.c, 4, 4, 2, -1, 1)))
        rc = fail(png);
    if (!rc && gn_checkpoint_save(ckpt, gan, z, GRID, NULL)) rc = fail(ckpt);
    if (!rc) printf("wrote %s and %s\n", png, ckpt);
    if (!rc) rc = reload(&cfg, img, ckpt, z, grid);
    if (!rc) rc = evaluate(gan, img);
    free(grid);
    gn_gan_free(gan);
    gn_dataset_free(&ds);
    return rc;
}
