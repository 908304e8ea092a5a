/* gannet eval: scores generated images with a classifier of their kind (the
 * bundled digits' or Fashion-MNIST's, chosen as gannet/eval.h's gn_eval_set
 * says: from the checkpoint's data, --data, or the options that replace its
 * parts): Inception Score, Frechet distance of classifier features to the
 * reference images, class coverage, confidence; next to the same figures for
 * real images. */
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

/* Generates n images from an opened checkpoint's G (inference mode) into x
 * in [0, 1], with the noise of `gannet sample --seed` and its rounding to
 * bytes, so that both routes score the same images. */
static int samples_from_checkpoint(gn_gan *gan, const char *path, int n, float **x) {
    gn_shape o = gn_net_output_shape(gan->G);
    if (o.h != GN_CLS_SIDE || o.w != GN_CLS_SIDE || o.c != 1) {
        fprintf(stderr, "gannet eval: %s: the generator makes %dx%dx%d images, the classifier takes 28x28x1\n",
                path, o.h, o.w, o.c);
        return 1;
    }
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
    if (rc) {
        free(*x);
        *x = NULL;
    }
    return rc;
}

/* What the samples are scored against (a gn_eval_set after --classifier,
 * --reference and --real) and the words the report uses for it. */
typedef struct scoring {
    gn_eval_set set;
    int known;                       /* set is a shipped kind (else all three options gave it) */
    int digits_ref, digits_real;     /* the reference / real column is the bundled digits' split */
    const char *classes;             /* what the classifier predicts: "digits" or "classes" */
    const char *const *class_names;  /* NULL: the class numbers alone */
    char ref_label[4300], real_label[4300]; /* "Fashion-MNIST test images (PATH)", "images of PATH" */
} scoring;

/* The set of --data: fashion-mnist by name, else the images of a file or
 * folder told by their fingerprint (as gannet train --data reads them). */
static gn_status set_for_data_option(const char *data, gn_eval_set *set) {
    if (!strcmp(data, GN_FASHION_MNIST)) {
        gn_eval_set_of(GN_EVAL_FASHION, set);
        return GN_OK;
    }
    gn_data_opts o = {0};
    gn_data_report rep;
    gn_dataset ds;
    gn_status s = gn_dataset_open(data, &o, &rep, &ds);
    if (s) return s;
    s = gn_eval_set_for_data(rep.path, ds.fp.size, ds.fp.crc32, set);
    gn_dataset_free(&ds);
    return s;
}

/* Chooses what scores the samples: --data, else the checkpoint's recorded
 * data, else the bundled digits; then the options that replace its parts.
 * 0, or the exit status. */
static int choose_scoring(const char *data, const gn_gan *gan, const char *cls, const char *ref,
                          const char *real, scoring *sc) {
    memset(sc, 0, sizeof *sc);
    gn_status st = GN_OK;
    if (data) st = set_for_data_option(data, &sc->set);
    else if (gan) st = gn_eval_set_for_data(gan->cfg.data, gan->cfg.data_size, gan->cfg.data_crc32, &sc->set);
    else gn_eval_set_of(GN_EVAL_DIGITS, &sc->set);
    if (st && (st != GN_ERR_ARG || !cls || !ref || !real)) {
        fprintf(stderr, "gannet eval: %s%s\n", gn_last_error(),
                st == GN_ERR_ARG ? "; --classifier, --reference and --real score samples against other images" : "");
        return st == GN_ERR_ARG ? 2 : 1;
    }
    sc->known = !st;
    if (cls) snprintf(sc->set.classifier, sizeof sc->set.classifier, "%s", cls);
    if (ref) {
        snprintf(sc->set.reference, sizeof sc->set.reference, "%s", ref);
        sc->set.ref_start = 0;
        sc->set.ref_count = GN_CLS_HELDOUT;
    }
    if (real) {
        snprintf(sc->set.real, sizeof sc->set.real, "%s", real);
        sc->set.real_count = 0;
    }
    int digits = sc->known && sc->set.kind == GN_EVAL_DIGITS, fashion = sc->known && sc->set.kind == GN_EVAL_FASHION;
    sc->digits_ref = digits && !ref;
    sc->digits_real = digits && !real;
    sc->classes = digits && !cls ? "digits" : "classes";
    sc->class_names = sc->known && !cls ? sc->set.class_names : NULL;
    if (fashion && !ref) snprintf(sc->ref_label, sizeof sc->ref_label, "Fashion-MNIST test images (%s)", sc->set.reference);
    else snprintf(sc->ref_label, sizeof sc->ref_label, "images of %s", sc->set.reference);
    if (fashion && !real) snprintf(sc->real_label, sizeof sc->real_label, "Fashion-MNIST training images (%s)", sc->set.real);
    else snprintf(sc->real_label, sizeof sc->real_label, "images of %s", sc->set.real);
    return 0;
}

/* Of n images drawn by a conditional G (the classes in turn,
 * gn_gan_noise_label), the fraction the classifier puts in the class asked
 * for; -1 when G is not conditional on the classifier's classes. */
static double asked_class_share(gn_classifier *c, const gn_gan *gan, const float *x, int n) {
    if (!gan || gan->cfg.classes != GN_CLS_CLASSES) return -1;
    int *asked = malloc((size_t)n * sizeof(int));
    double share = -1;
    for (int i = 0; asked && i < n; i++) asked[i] = gn_gan_noise_label(gan, 0, i); /* as gn_gan_sample_u8 drew them */
    if (!asked || gn_classifier_agreement(c, x, (size_t)n, asked, &share)) share = -1;
    free(asked);
    return share;
}

/* Prints the two columns of figures and the notes on how they were made;
 * asked >= 0: a conditional G's share of samples in the class asked for. */
static void print_report(const scoring *sc, const gn_eval_scores *s, const gn_eval_scores *r, int n, size_t nref,
                         double asked) {
    printf("\n%-34s %10s %10s\n", "", "samples", "real");
    printf("%-34s %10.3f %10.3f\n", "inception score (ceiling 10)", s->inception, r->inception);
    char fdname[64];
    snprintf(fdname, sizeof fdname, "frechet distance (N = %zu)", s->n_fd);
    printf("%-34s %10.3f %10.3f\n", fdname, s->frechet, r->frechet);
    printf("%-34s %10.4f %10.4f\n", "class KL to uniform (0 = even)", s->class_kl, r->class_kl);
    printf("%-34s %10.4f %10.4f\n", "mean confidence", s->confidence, r->confidence);
    if (asked >= 0) printf("%-34s %10.2f %10s\n", "in the class asked for (%)", 100 * asked, "-");
    printf("predicted %s (%%)\n", sc->classes);
    for (int k = 0; k < GN_CLS_CLASSES; k++) {
        char name[48];
        snprintf(name, sizeof name, "  %d %s", k, sc->class_names ? sc->class_names[k] : "");
        printf("%-34s %10.2f %10.2f\n", name, 100 * s->hist[k], 100 * r->hist[k]);
    }
    if (sc->digits_ref && sc->digits_real)
        printf("\nreal: what a perfect generator would score at N = %d (real digits against the\n"
               "held-out ones); the samples' figures approach it as the generator improves.\n", n);
    else
        printf("\nreal: what a perfect generator would score at N = %d (real %s\n"
               "against the reference); the samples' figures approach it as the generator improves.\n", n,
               sc->known && !sc->digits_real && sc->set.kind == GN_EVAL_FASHION ? sc->set.noun : "images");
    if ((size_t)n > s->n_fd && sc->digits_ref)
        printf("note: the held-out split holds %zu real digits, so the Frechet distance compares the\n"
               "first %zu images of each side with them; the other figures use all %d.\n",
               nref, s->n_fd, n);
    else if ((size_t)n > s->n_fd)
        printf("note: the reference holds %zu real images, so the Frechet distance compares the\n"
               "first %zu images of each side with them; the other figures use all %d.\n",
               nref, s->n_fd, n);
}

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

/* The real column's images: the first n of the set's real images; past
 * their count, all of them and the rest drawn from them with replacement.
 * Describes them in what. */
static void real_images(const scoring *sc, const gn_dataset *ds, int n, float *real, char *what, size_t len) {
    gn_dataset train = *ds;
    if (sc->set.real_count && sc->set.real_count < train.n) train.n = sc->set.real_count;
    size_t first = (size_t)n < train.n ? (size_t)n : train.n;
    gn_dataset_slice(&train, real, NULL, 0, first, GN_RANGE_01);
    if ((size_t)n > first) {
        gn_dataset_sample(&train, real + first * IMG, NULL, (size_t)n - first, 0, 0, GN_RANGE_01);
        if (sc->digits_real)
            snprintf(what, len, "the training split's %zu digits and %zu more drawn from them with replacement",
                     train.n, (size_t)n - first);
        else
            snprintf(what, len, "the %zu %s and %zu more drawn from them with replacement", train.n,
                     sc->real_label, (size_t)n - first);
    } else if (sc->digits_real) {
        snprintf(what, len, "the first %d digits of the training split", n);
    } else {
        snprintf(what, len, "the first %d %s", n, sc->real_label);
    }
}

/* The reference features (*nref, 128); 0, or the exit status (2 for a
 * --reference file the classifier cannot take). */
static int reference_features(gn_classifier *c, const scoring *sc, int given, float **ref, size_t *nref) {
    gn_status st = gn_eval_reference_features(c, &sc->set, ref, nref);
    if (!st) return 0;
    if (given && st == GN_ERR_SHAPE) {
        fprintf(stderr, "gannet eval: --reference %s\n", gn_last_error());
        return 2;
    }
    return gn_cli_fail("eval");
}

/* What scores the samples, loaded before they are drawn or read. */
typedef struct scorer {
    gn_classifier *c;
    float *ref;          /* (nref, 128): the reference features */
    size_t nref;
    gn_dataset real_ds;  /* the real column's images */
} scorer;

static void scorer_free(scorer *k) {
    gn_classifier_free(k->c);
    free(k->ref);
    gn_dataset_free(&k->real_ds);
    memset(k, 0, sizeof *k);
}

/* Loads the classifier, the reference features and the real images; 0, or the exit status. */
static int scorer_load(const scoring *sc, int ref_given, scorer *k) {
    memset(k, 0, sizeof *k);
    if (gn_classifier_load(&k->c, sc->set.classifier)) return gn_cli_fail("eval");
    int rc = reference_features(k->c, sc, ref_given, &k->ref, &k->nref);
    if (!rc) rc = load_images(sc->set.real, sc->digits_real ? "the training split" : "--real", &k->real_ds);
    if (rc) scorer_free(k);
    return rc;
}

/* Scores the n images x and the real column's, and prints the report; 0, or the exit status. */
static int score_and_print(const scoring *sc, scorer *k, const float *x, int n, const char *what,
                           const gn_gan *gan) {
    float *real = malloc((size_t)n * IMG * sizeof(float));
    if (!real) {
        fprintf(stderr, "gannet eval: out of memory\n");
        return 1;
    }
    char real_what[4400];
    real_images(sc, &k->real_ds, n, real, real_what, sizeof real_what);
    gn_eval_scores s, rs;
    int rc = 0;
    if (gn_eval_images(k->c, x, (size_t)n, k->ref, k->nref, &s) ||
        gn_eval_images(k->c, real, (size_t)n, k->ref, k->nref, &rs))
        rc = gn_cli_fail("eval");
    if (!rc) {
        printf("classifier  %s (held-out accuracy %.2f%%)\n", sc->set.classifier, 100 * k->c->heldout_acc);
        printf("samples     %d images from %s\n", n, what);
        printf("real        %s\n", real_what);
        if (sc->digits_ref)
            printf("reference   the %zu held-out digits (items %zu..%zu of the bundled set)\n", k->nref,
                   sc->set.ref_start, sc->set.ref_start + k->nref - 1);
        else
            printf("reference   the first %zu %s\n", k->nref, sc->ref_label);
        print_report(sc, &s, &rs, n, k->nref, asked_class_share(k->c, gan, x, n));
    }
    free(real);
    return rc;
}

/* gannet eval: chooses what scores the images, draws or reads them, scores them and real images, prints both. */
int gn_cmd_eval(int argc, char **argv) {
    const char *samples = NULL, *checkpoint = NULL, *cls_path = NULL, *reference = NULL, *realpath = NULL,
               *data = NULL;
    int n = 10000;
    uint64_t seed = 1;
    gn_option opts[] = {
        {"samples", GN_OPT_STR, &samples, "u8 IDX file of N x 28 x 28 images (as gannet sample --out x.idx writes)", 0, 0, NULL, 0},
        {"checkpoint", GN_OPT_STR, &checkpoint, "checkpoint file or run folder: generate the images (inference mode)", 0, 0, NULL, 0},
        {"n", GN_OPT_INT, &n, "number of images (from --samples: at most the file's)", 2, 1000000, NULL, 0},
        {"seed", GN_OPT_U64, &seed, "noise seed for --checkpoint (as gannet sample --seed)", 0, 9e15, NULL, 0},
        {"data", GN_OPT_STR, &data, "what the images imitate: fashion-mnist, or the file gannet train --data read "
         "(default: the checkpoint's recorded data, else the bundled digits); chooses the classifier, reference and real images", 0, 0, NULL, 0},
        {"classifier", GN_OPT_STR, &cls_path, "classifier file (default: the shipped one for the data, data/" GN_CLS_FILE " or data/" GN_FASHION_CLS_FILE ")", 0, 0, NULL, 0},
        {"reference", GN_OPT_STR, &reference, "IDX file whose first 2000 images are the Frechet distance's reference (default: the held-out digits, or Fashion-MNIST's test images)", 0, 0, NULL, 0},
        {"real", GN_OPT_STR, &realpath, "IDX file of real images for the real column (default: the training split's digits, or Fashion-MNIST's training images)", 0, 0, NULL, 0},
        {0},
    };
    char err[512];
    int r = gn_args_parse("eval", opts, argc, argv, err, sizeof err);
    if (r == 1) {
        gn_args_usage("eval", "Scores generated images with a classifier of their kind: Inception Score,\n"
                              "Frechet distance to real reference images, class coverage, confidence; and\n"
                              "the same figures for real images (the floor a perfect generator reaches).\n"
                              "The bundled digits and fashion-mnist have shipped classifiers (chosen from\n"
                              "the checkpoint's data or --data); --classifier, --reference and --real\n"
                              "score other 28x28 images.",
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
    gn_gan *gan = NULL;
    char path[4200];
    if (checkpoint && gn_gan_open_checkpoint(checkpoint, seed, &gan, path, sizeof path)) return gn_cli_fail("eval");
    scoring sc;
    scorer k = {0};
    int rc = choose_scoring(data, gan, cls_path, reference, realpath, &sc);
    if (!rc) rc = scorer_load(&sc, reference != NULL, &k);

    /* the images to score */
    float *x = NULL;
    char what[4400];
    if (!rc && samples) {
        rc = samples_from_idx(samples, &n, opts[2].set, &x);
        snprintf(what, sizeof what, "%s", samples);
    } else if (!rc) {
        rc = samples_from_checkpoint(gan, path, n, &x);
        snprintf(what, sizeof what, "%s (preset %s, iteration %llu, noise seed %llu)", path, gan->cfg.preset,
                 (unsigned long long)gan->iter, (unsigned long long)seed);
    }
    if (!rc) rc = score_and_print(&sc, &k, x, n, what, samples ? NULL : gan);
    scorer_free(&k);
    free(x);
    gn_gan_free(gan);
    return rc;
}
