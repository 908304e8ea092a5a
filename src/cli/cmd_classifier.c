/* gannet classifier: trains the MNIST classifier behind gannet eval on the
 * bundled digits' training split, or measures a classifier file's accuracy
 * on the held-out split. --data/--labels and --test-data/--test-labels give
 * other 28x28 grey images with labels 0..9 instead (Fashion-MNIST's IDX
 * files): the classifier then learns from all of --data and is measured on
 * all of --test-data. */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "gannet/eval.h"

/* The labelled images a classifier learns from and is measured on: the
 * bundled split (test aliases train), or two files of images with labels. */
typedef struct labelled_sets {
    gn_dataset train, test;
    size_t train_n, test_start, test_n;
    int separate; /* test is its own data set */
    char test_what[4200];
} labelled_sets;

/* Loads one IDX image file with its labels; 0, or the exit status. */
static int load_labelled(const char *images, const char *labels, gn_dataset *ds) {
    if (!images != !labels) {
        fprintf(stderr, "gannet classifier: %s needs its labels file too\n", images ? images : labels);
        return 2;
    }
    if (gn_dataset_load(images, labels, ds)) return gn_cli_fail("classifier");
    return 0;
}

/* Fills s from the options (NULL when not given); 0, or the exit status. */
static int load_sets(const char *data, const char *labels, const char *tdata, const char *tlabels,
                     labelled_sets *s) {
    memset(s, 0, sizeof *s);
    if (!data && !labels && !tdata && !tlabels) {
        if (gn_cli_load_bundled("classifier", &s->train)) return 1;
        s->test = s->train;
        s->train_n = s->test_start = GN_CLS_HELDOUT_START;
        s->test_n = GN_CLS_HELDOUT;
        snprintf(s->test_what, sizeof s->test_what, "%d digits, items %d..%d", GN_CLS_HELDOUT,
                 GN_CLS_HELDOUT_START, GN_CLS_HELDOUT_START + GN_CLS_HELDOUT - 1);
        return 0;
    }
    int rc = 0;
    if (data || labels) rc = load_labelled(data, labels, &s->train);
    if (!rc && !tdata && !tlabels) {
        fprintf(stderr, "gannet classifier: --data needs --test-data and --test-labels (the images "
                        "that measure the classifier)\n");
        rc = 2;
    }
    if (!rc) rc = load_labelled(tdata, tlabels, &s->test);
    if (rc) {
        gn_dataset_free(&s->train);
        return rc;
    }
    s->separate = 1;
    s->train_n = s->train.n;
    s->test_n = s->test.n;
    snprintf(s->test_what, sizeof s->test_what, "%zu images of %s", s->test.n, tdata);
    return 0;
}

static void free_sets(labelled_sets *s) {
    gn_dataset_free(&s->train);
    if (s->separate) gn_dataset_free(&s->test);
}

/* A library error in bad input (wrong image shape, labels out of range) exits 2. */
static int fail_status(gn_status st) {
    int rc = gn_cli_fail("classifier");
    return st == GN_ERR_SHAPE || st == GN_ERR_ARG ? 2 : rc;
}

/* gannet classifier train: trains on items [0, 8000) (or all of --data) and writes the weights. */
static int cmd_train(int argc, char **argv) {
    gn_classifier_train_config cfg = gn_classifier_train_defaults();
    const char *out = GN_CLS_FILE, *data = NULL, *labels = NULL, *tdata = NULL, *tlabels = NULL;
    cfg.log_every = 250;
    gn_option opts[] = {
        {"iters", GN_OPT_INT, &cfg.iters, "minibatches", 1, 1e8, NULL, 0},
        {"batch", GN_OPT_INT, &cfg.batch, "images per minibatch", 1, 4096, NULL, 0},
        {"lr", GN_OPT_FLOAT, &cfg.lr, "Adam learning rate (cosine decay to lr/20)", 1e-6, 1, NULL, 0},
        {"shift", GN_OPT_INT, &cfg.shift, "random shift of each image, in pixels (augmentation)", 0, 8, NULL, 0},
        {"seed", GN_OPT_U64, &cfg.seed, "seed of initialisation, minibatches, shifts and dropout", 0, 9e15, NULL, 0},
        {"log-every", GN_OPT_INT, &cfg.log_every, "progress line every N iterations (0: none)", 0, 1e8, NULL, 0},
        {"out", GN_OPT_STR, &out, "output file (.gnc)", 0, 0, NULL, 0},
        {"data", GN_OPT_STR, &data, "IDX file of 28x28 training images (default: the bundled digits 0..7999)", 0, 0, NULL, 0},
        {"labels", GN_OPT_STR, &labels, "IDX file of --data's labels, 0..9", 0, 0, NULL, 0},
        {"test-data", GN_OPT_STR, &tdata, "IDX file of the images that measure it (with --data)", 0, 0, NULL, 0},
        {"test-labels", GN_OPT_STR, &tlabels, "IDX file of --test-data's labels", 0, 0, NULL, 0},
        {0},
    };
    char err[512];
    int r = gn_args_parse("classifier train", opts, argc, argv, err, sizeof err);
    if (r == 1) {
        gn_args_usage("classifier train",
                      "Trains a classifier for gannet eval and writes its weights: by default the\n"
                      "digit classifier, on the bundled digits 0..7999 (8000..9999 are held out);\n"
                      "with --data, on other labelled 28x28 images (Fashion-MNIST), measured on\n"
                      "--test-data.", opts);
        return 0;
    }
    if (r) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    labelled_sets sets;
    if ((r = load_sets(data, labels, tdata, tlabels, &sets))) return r;
    gn_classifier *c;
    gn_status st = gn_classifier_create(&c, cfg.seed);
    if (st) {
        free_sets(&sets);
        return gn_cli_fail("classifier");
    }
    fprintf(stderr, "training on %zu images (%s), %d iterations of %d, %d threads\n", sets.train_n,
            data ? data : "the bundled digits", cfg.iters, cfg.batch, omp_get_max_threads());
    double t0 = omp_get_wtime(), acc = 0;
    int rc = 0;
    if ((st = gn_classifier_train(c, &sets.train, sets.train_n, &cfg)) ||
        (st = gn_classifier_accuracy(c, &sets.test, sets.test_start, sets.test_n, &acc)))
        rc = fail_status(st);
    if (!rc) {
        c->heldout_acc = (float)acc;
        if (gn_classifier_save(c, out)) rc = gn_cli_fail("classifier");
    }
    if (!rc)
        printf("held-out accuracy %.2f%% (%s); %.0f s; wrote %s\n", 100 * acc, sets.test_what,
               omp_get_wtime() - t0, out);
    gn_classifier_free(c);
    free_sets(&sets);
    return rc;
}

/* gannet classifier test: a classifier file's accuracy on both splits (or on --data). */
static int cmd_test(int argc, char **argv) {
    char def[4200];
    gn_default_classifier_path(def, sizeof def);
    const char *path = def, *tdata = NULL, *tlabels = NULL;
    gn_option opts[] = {
        {"classifier", GN_OPT_STR, &path, "classifier file (default: the shipped data/" GN_CLS_FILE ")", 0, 0, NULL, 0},
        {"data", GN_OPT_STR, &tdata, "IDX file of 28x28 test images (default: the bundled digits)", 0, 0, NULL, 0},
        {"labels", GN_OPT_STR, &tlabels, "IDX file of --data's labels, 0..9", 0, 0, NULL, 0},
        {0},
    };
    char err[512];
    int r = gn_args_parse("classifier test", opts, argc, argv, err, sizeof err);
    if (r == 1) {
        gn_args_usage("classifier test", "Measures a classifier's accuracy on the bundled digits (or on --data).", opts);
        return 0;
    }
    if (r) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    gn_classifier *c;
    if (gn_classifier_load(&c, path)) return gn_cli_fail("classifier");
    labelled_sets sets;
    if ((r = load_sets(NULL, NULL, tdata, tlabels, &sets))) {
        gn_classifier_free(c);
        return r;
    }
    double train_acc = 0, held_acc = 0;
    gn_status st = GN_OK;
    if (!sets.separate) st = gn_classifier_accuracy(c, &sets.train, 0, sets.train_n, &train_acc);
    if (!st) st = gn_classifier_accuracy(c, &sets.test, sets.test_start, sets.test_n, &held_acc);
    int rc = st ? fail_status(st) : 0;
    if (!rc) {
        printf("%s: trained %u iterations of %u (seed %llu)\n", path, c->iters, c->batch,
               (unsigned long long)c->seed);
        if (!sets.separate)
            printf("  training split (items 0..%d):    %.2f%%\n", GN_CLS_HELDOUT_START - 1, 100 * train_acc);
        printf("  %s: %.2f%%\n", sets.separate ? sets.test_what : "held-out split (items 8000..9999)",
               100 * held_acc);
    }
    gn_classifier_free(c);
    free_sets(&sets);
    return rc;
}

/* gannet classifier: dispatches to train or test. */
int gn_cmd_classifier(int argc, char **argv) {
    if (argc >= 1 && !strcmp(argv[0], "train")) return cmd_train(argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "test")) return cmd_test(argc - 1, argv + 1);
    FILE *f = argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) ? stdout : stderr;
    fprintf(f, "usage: gannet classifier train [options]   train a classifier gannet eval scores with\n"
               "                                           (the bundled digits, or --data such as Fashion-MNIST)\n"
               "       gannet classifier test [options]    its accuracy on the training and held-out splits\n"
               "'gannet classifier train --help' lists the options.\n");
    if (f == stdout) return 0;
    if (argc >= 1) fprintf(stderr, "gannet classifier: unknown subcommand '%s'\n", argv[0]);
    return 2;
}
