/* gannet eval: scores generated digits with the MNIST classifier (Inception
 * Score, Frechet distance of classifier features to the held-out digits,
 * class coverage, confidence) next to the same figures for real digits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "gannet/checkpoint.h"
#include "gannet/eval.h"
#include "gannet/rng.h"

#define IMG ((size_t)GN_CLS_SIDE * GN_CLS_SIDE)

/* Reads the first n images of a u8 IDX file into x (n, 28, 28, 1) in [0, 1];
 * n_set: --n was given (then the file must hold n images). */
static int samples_from_idx(const char *path, int *n, int n_set, float **x) {
    gn_dataset ds;
    if (gn_dataset_load(path, NULL, &ds)) return gn_cli_fail("eval");
    if (ds.h != GN_CLS_SIDE || ds.w != GN_CLS_SIDE || ds.c != 1) {
        fprintf(stderr, "gannet eval: %s: images are %dx%dx%d, the classifier takes 28x28x1\n", path,
                ds.h, ds.w, ds.c);
        gn_dataset_free(&ds);
        return 1;
    }
    if ((size_t)*n > ds.n) {
        if (n_set) {
            fprintf(stderr, "gannet eval: --n %d: %s holds only %zu images\n", *n, path, ds.n);
            gn_dataset_free(&ds);
            return 2;
        }
        *n = (int)ds.n;
    }
    *x = malloc((size_t)*n * IMG * sizeof(float));
    if (!*x) {
        gn_dataset_free(&ds);
        fprintf(stderr, "gannet eval: out of memory for %d images\n", *n);
        return 1;
    }
    gn_dataset_slice(&ds, *x, NULL, 0, (size_t)*n, GN_RANGE_01);
    gn_dataset_free(&ds);
    return 0;
}

/* Generates n images from a checkpoint's G (inference mode) into x in [0, 1],
 * with the noise of `gannet sample --seed seed` and its rounding to bytes, so
 * that both routes score the same images. Writes a description to what. */
static int samples_from_checkpoint(const char *checkpoint, int n, uint64_t seed, float **x,
                                   char *what, size_t whatlen) {
    char path[4200];
    gn_gan *gan;
    if (gn_gan_open_checkpoint(checkpoint, seed, &gan, path, sizeof path)) return gn_cli_fail("eval");
    gn_shape o = gn_net_output_shape(gan->G);
    if (o.h != GN_CLS_SIDE || o.w != GN_CLS_SIDE || o.c != 1) {
        fprintf(stderr, "gannet eval: %s: the generator makes %dx%dx%d images, the classifier takes 28x28x1\n",
                path, o.h, o.w, o.c);
        gn_gan_free(gan);
        return 1;
    }
    snprintf(what, whatlen, "%s (preset %s, iteration %llu, noise seed %llu)", path, gan->cfg.preset,
             (unsigned long long)gan->iter, (unsigned long long)seed);
    uint8_t *u = malloc((size_t)n * IMG);
    *x = malloc((size_t)n * IMG * sizeof(float));
    int rc = 0;
    if (!u || !*x) {
        fprintf(stderr, "gannet eval: out of memory for %d images\n", n);
        rc = 1;
    }
    if (!rc && gn_gan_sample_u8(gan, n, u)) rc = gn_cli_fail("eval");
    for (size_t i = 0; !rc && i < (size_t)n * IMG; i++) (*x)[i] = u[i] / 255.0f;
    free(u);
    gn_gan_free(gan);
    if (rc) {
        free(*x);
        *x = NULL;
    }
    return rc;
}

/* Prints the two columns of figures and the notes on how they were made. */
static void print_report(const gn_eval_scores *s, const gn_eval_scores *r, int n, size_t nref) {
    printf("\n%-34s %10s %10s\n", "", "samples", "real");
    printf("%-34s %10.3f %10.3f\n", "inception score (ceiling 10)", s->inception, r->inception);
    char fdname[64];
    snprintf(fdname, sizeof fdname, "frechet distance (N = %zu)", s->n_fd);
    printf("%-34s %10.3f %10.3f\n", fdname, s->frechet, r->frechet);
    printf("%-34s %10.4f %10.4f\n", "class KL to uniform (0 = even)", s->class_kl, r->class_kl);
    printf("%-34s %10.4f %10.4f\n", "mean confidence", s->confidence, r->confidence);
    printf("predicted digits (%%)\n");
    for (int k = 0; k < GN_CLS_CLASSES; k++) {
        char name[16];
        snprintf(name, sizeof name, "  %d", k);
        printf("%-34s %10.2f %10.2f\n", name, 100 * s->hist[k], 100 * r->hist[k]);
    }
    printf("\nreal: what a perfect generator would score at N = %d (real digits against the\n"
           "held-out ones); the samples' figures approach it as the generator improves.\n", n);
    if ((size_t)n > s->n_fd)
        printf("note: the held-out split holds %zu real digits, so the Frechet distance compares the\n"
               "first %zu images of each side with them; the other figures use all %d.\n",
               nref, s->n_fd, n);
}

/* The real images of the report: the reference of every Frechet distance
 * (the held-out digits, or the first 2000 of --reference) and the "real"
 * column (the training split's digits, or --real's images). */
typedef struct real_sets {
    gn_dataset mnist, ref_file, real_file; /* each loaded only when needed */
    const gn_dataset *ref, *real;
    size_t ref_start, nref, real_count;
    char ref_what[4300], real_name[4200];
} real_sets;

/* Loads one unlabelled IDX file of 28x28x1 images; 0, or the exit status. */
static int load_images(const char *path, const char *option, gn_dataset *ds) {
    if (gn_dataset_load(path, NULL, ds)) return gn_cli_fail("eval");
    if (ds->h != GN_CLS_SIDE || ds->w != GN_CLS_SIDE || ds->c != 1 || ds->n < 2) {
        fprintf(stderr, "gannet eval: %s %s: %zu images of %dx%dx%d; the classifier takes at least 2 of 28x28x1\n",
                option, path, ds->n, ds->h, ds->w, ds->c);
        gn_dataset_free(ds);
        return 2;
    }
    return 0;
}

static void free_real_sets(real_sets *r) {
    gn_dataset_free(&r->mnist);
    gn_dataset_free(&r->ref_file);
    gn_dataset_free(&r->real_file);
}

/* Fills r from --reference and --real (NULL: the bundled digits' split); 0, or the exit status. */
static int load_real_sets(const char *reference, const char *realpath, real_sets *r) {
    memset(r, 0, sizeof *r);
    int rc = !reference || !realpath ? gn_cli_load_bundled("eval", &r->mnist) : 0;
    if (!rc && reference) rc = load_images(reference, "--reference", &r->ref_file);
    if (!rc && realpath) rc = load_images(realpath, "--real", &r->real_file);
    if (rc) {
        free_real_sets(r);
        return rc;
    }
    r->ref = reference ? &r->ref_file : &r->mnist;
    r->ref_start = reference ? 0 : GN_CLS_HELDOUT_START;
    r->nref = r->ref->n - r->ref_start < GN_CLS_HELDOUT ? r->ref->n - r->ref_start : GN_CLS_HELDOUT;
    if (reference)
        snprintf(r->ref_what, sizeof r->ref_what, "the first %zu images of %s", r->nref, reference);
    else
        snprintf(r->ref_what, sizeof r->ref_what, "the %d held-out digits (items %d..%d of the bundled set)",
                 GN_CLS_HELDOUT, GN_CLS_HELDOUT_START, GN_CLS_HELDOUT_START + GN_CLS_HELDOUT - 1);
    r->real = realpath ? &r->real_file : &r->mnist;
    r->real_count = realpath ? r->real_file.n : GN_CLS_HELDOUT_START;
    snprintf(r->real_name, sizeof r->real_name, "%s", realpath ? realpath : "the training split");
    return 0;
}

/* The real column's images: the first n of r->real; past its count, all of
 * them and the rest drawn from them with replacement. Describes them in what. */
static void real_images(const real_sets *r, int n, float *real, char *what, size_t len) {
    gn_dataset train = *r->real;
    train.n = r->real_count;
    size_t first = (size_t)n < train.n ? (size_t)n : train.n;
    gn_dataset_slice(&train, real, NULL, 0, first, GN_RANGE_01);
    int bundled = r->real == &r->mnist;
    if ((size_t)n > first) {
        gn_dataset_sample(&train, real + first * IMG, NULL, (size_t)n - first, 0, 0, GN_RANGE_01);
        if (bundled)
            snprintf(what, len, "the training split's %zu digits and %zu more drawn from them with replacement",
                     train.n, (size_t)n - first);
        else
            snprintf(what, len, "the %zu images of %s and %zu more drawn from them with replacement",
                     train.n, r->real_name, (size_t)n - first);
    } else if (bundled) {
        snprintf(what, len, "the first %d digits of the training split", n);
    } else {
        snprintf(what, len, "the first %d images of %s", n, r->real_name);
    }
}

/* Scores the n images x and the real column's, and prints the report; 0 or 1. */
static int score_and_print(gn_classifier *c, const float *x, int n, const real_sets *rs_data,
                           const char *what, const char *cls_path) {
    /* reference features: (nref, 128), the reference of every Frechet distance */
    const size_t nref = rs_data->nref;
    int rc = 0;
    float *held = malloc(nref * IMG * sizeof(float));
    float *ref = malloc(nref * GN_CLS_FEATURES * sizeof(float));
    float *real = malloc((size_t)n * IMG * sizeof(float));
    if (!held || !ref || !real) {
        fprintf(stderr, "gannet eval: out of memory\n");
        rc = 1;
    }
    if (!rc) {
        gn_dataset_slice(rs_data->ref, held, NULL, rs_data->ref_start, nref, GN_RANGE_01);
        if (gn_classifier_run(c, held, nref, NULL, ref)) rc = gn_cli_fail("eval");
    }
    char real_what[4400];
    if (!rc) real_images(rs_data, n, real, real_what, sizeof real_what);
    gn_eval_scores s, rs;
    if (!rc && (gn_eval_images(c, x, (size_t)n, ref, nref, &s) ||
                gn_eval_images(c, real, (size_t)n, ref, nref, &rs)))
        rc = gn_cli_fail("eval");
    if (!rc) {
        printf("classifier  %s (held-out accuracy %.2f%%)\n", cls_path, 100 * c->heldout_acc);
        printf("samples     %d images from %s\n", n, what);
        printf("real        %s\n", real_what);
        printf("reference   %s\n", rs_data->ref_what);
        print_report(&s, &rs, n, nref);
    }
    free(real);
    free(ref);
    free(held);
    return rc;
}

/* gannet eval: loads the classifier and the real images, scores samples and real images, prints both. */
int gn_cmd_eval(int argc, char **argv) {
    const char *samples = NULL, *checkpoint = NULL, *cls_path = NULL, *reference = NULL, *realpath = NULL;
    int n = 10000;
    uint64_t seed = 1;
    gn_option opts[] = {
        {"samples", GN_OPT_STR, &samples, "u8 IDX file of N x 28 x 28 images (as gannet sample --out x.idx writes)", 0, 0, NULL, 0},
        {"checkpoint", GN_OPT_STR, &checkpoint, "checkpoint file or run folder: generate the images (inference mode)", 0, 0, NULL, 0},
        {"n", GN_OPT_INT, &n, "number of images (from --samples: at most the file's)", 2, 1000000, NULL, 0},
        {"seed", GN_OPT_U64, &seed, "noise seed for --checkpoint (as gannet sample --seed)", 0, 9e15, NULL, 0},
        {"classifier", GN_OPT_STR, &cls_path, "classifier file (default: the shipped data/" GN_CLS_FILE ")", 0, 0, NULL, 0},
        {"reference", GN_OPT_STR, &reference, "IDX file whose first 2000 images are the Frechet distance's reference (default: the held-out digits)", 0, 0, NULL, 0},
        {"real", GN_OPT_STR, &realpath, "IDX file of real images for the real column (default: the training split's digits)", 0, 0, NULL, 0},
        {0},
    };
    char err[512];
    int r = gn_args_parse("eval", opts, argc, argv, err, sizeof err);
    if (r == 1) {
        gn_args_usage("eval", "Scores generated digits with the MNIST classifier: Inception Score,\n"
                              "Frechet distance to held-out digits, class coverage, confidence; and\n"
                              "the same figures for real digits (the floor a perfect generator reaches).\n"
                              "--classifier, --reference and --real score other 28x28 images (Fashion-MNIST).",
                      opts);
        return 0;
    }
    if (r) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    if (!samples == !checkpoint) {
        fprintf(stderr, "gannet eval: give one of --samples and --checkpoint\n");
        return 2;
    }
    char def[4200];
    gn_default_classifier_path(def, sizeof def);
    if (!cls_path) cls_path = def;

    gn_classifier *c;
    if (gn_classifier_load(&c, cls_path)) return gn_cli_fail("eval");
    real_sets rs_data;
    int rc = load_real_sets(reference, realpath, &rs_data);
    if (rc) {
        gn_classifier_free(c);
        return rc;
    }

    /* the images to score */
    float *x = NULL;
    char what[4400];
    if (samples) {
        rc = samples_from_idx(samples, &n, opts[2].set, &x);
        snprintf(what, sizeof what, "%s", samples);
    } else {
        rc = samples_from_checkpoint(checkpoint, n, seed, &x, what, sizeof what);
    }
    if (!rc) rc = score_and_print(c, x, n, &rs_data, what, cls_path);
    free(x);
    free_real_sets(&rs_data);
    gn_classifier_free(c);
    return rc;
}
