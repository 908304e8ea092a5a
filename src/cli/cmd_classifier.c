/* gannet classifier: trains the MNIST classifier behind gannet eval on the
 * bundled digits' training split, or measures a classifier file's accuracy
 * on the held-out split. */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "gannet/eval.h"

/* Loads the bundled MNIST digits with labels and checks that the split fits. */
static int load_mnist(gn_dataset *ds) {
    char ip[4096], lp[4096];
    gn_default_mnist_paths(ip, sizeof ip, lp, sizeof lp);
    if (gn_dataset_load(ip, lp, ds)) return gn_cli_fail("classifier");
    if (ds->n < GN_CLS_HELDOUT_START + GN_CLS_HELDOUT) {
        fprintf(stderr, "gannet classifier: %s holds %zu digits; the split needs %d\n", ip, ds->n,
                GN_CLS_HELDOUT_START + GN_CLS_HELDOUT);
        gn_dataset_free(ds);
        return 1;
    }
    return 0;
}

/* gannet classifier train: trains on items [0, 8000) and writes the weights. */
static int cmd_train(int argc, char **argv) {
    gn_classifier_train_config cfg = gn_classifier_train_defaults();
    const char *out = GN_CLS_FILE;
    cfg.log_every = 250;
    gn_option opts[] = {
        {"iters", GN_OPT_INT, &cfg.iters, "minibatches", 1, 1e8, NULL, 0},
        {"batch", GN_OPT_INT, &cfg.batch, "images per minibatch", 1, 4096, NULL, 0},
        {"lr", GN_OPT_FLOAT, &cfg.lr, "Adam learning rate (cosine decay to lr/20)", 1e-6, 1, NULL, 0},
        {"shift", GN_OPT_INT, &cfg.shift, "random shift of each image, in pixels (augmentation)", 0, 8, NULL, 0},
        {"seed", GN_OPT_U64, &cfg.seed, "seed of initialisation, minibatches, shifts and dropout", 0, 9e15, NULL, 0},
        {"log-every", GN_OPT_INT, &cfg.log_every, "progress line every N iterations (0: none)", 0, 1e8, NULL, 0},
        {"out", GN_OPT_STR, &out, "output file (.gnc)", 0, 0, NULL, 0},
        {0},
    };
    char err[512];
    int r = gn_args_parse("classifier train", opts, argc, argv, err, sizeof err);
    if (r == 1) {
        gn_args_usage("classifier train",
                      "Trains the MNIST classifier of gannet eval on the bundled digits 0..7999\n"
                      "(8000..9999 are held out) and writes its weights.", opts);
        return 0;
    }
    if (r) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    gn_dataset ds;
    if (load_mnist(&ds)) return 1;
    gn_classifier *c;
    if (gn_classifier_create(&c, cfg.seed)) {
        gn_dataset_free(&ds);
        return gn_cli_fail("classifier");
    }
    fprintf(stderr, "training on digits [0, %d), %d iterations of %d, %d threads\n",
            GN_CLS_HELDOUT_START, cfg.iters, cfg.batch, omp_get_max_threads());
    double t0 = omp_get_wtime(), acc = 0;
    int rc = 0;
    if (gn_classifier_train(c, &ds, GN_CLS_HELDOUT_START, &cfg) ||
        gn_classifier_accuracy(c, &ds, GN_CLS_HELDOUT_START, GN_CLS_HELDOUT, &acc))
        rc = gn_cli_fail("classifier");
    if (!rc) {
        c->heldout_acc = (float)acc;
        if (gn_classifier_save(c, out)) rc = gn_cli_fail("classifier");
    }
    if (!rc)
        printf("held-out accuracy %.2f%% (%d digits, items %d..%d); %.0f s; wrote %s\n", 100 * acc,
               GN_CLS_HELDOUT, GN_CLS_HELDOUT_START, GN_CLS_HELDOUT_START + GN_CLS_HELDOUT - 1,
               omp_get_wtime() - t0, out);
    gn_classifier_free(c);
    gn_dataset_free(&ds);
    return rc;
}

/* gannet classifier test: a classifier file's accuracy on both splits. */
static int cmd_test(int argc, char **argv) {
    char def[4200];
    gn_default_classifier_path(def, sizeof def);
    const char *path = def;
    gn_option opts[] = {
        {"classifier", GN_OPT_STR, &path, "classifier file (default: the shipped data/" GN_CLS_FILE ")", 0, 0, NULL, 0},
        {0},
    };
    char err[512];
    int r = gn_args_parse("classifier test", opts, argc, argv, err, sizeof err);
    if (r == 1) {
        gn_args_usage("classifier test", "Measures a classifier's accuracy on the bundled digits.", opts);
        return 0;
    }
    if (r) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    gn_classifier *c;
    if (gn_classifier_load(&c, path)) return gn_cli_fail("classifier");
    gn_dataset ds;
    if (load_mnist(&ds)) {
        gn_classifier_free(c);
        return 1;
    }
    double train_acc = 0, held_acc = 0;
    int rc = 0;
    if (gn_classifier_accuracy(c, &ds, 0, GN_CLS_HELDOUT_START, &train_acc) ||
        gn_classifier_accuracy(c, &ds, GN_CLS_HELDOUT_START, GN_CLS_HELDOUT, &held_acc))
        rc = gn_cli_fail("classifier");
    if (!rc) {
        printf("%s: trained %u iterations of %u (seed %llu)\n", path, c->iters, c->batch,
               (unsigned long long)c->seed);
        printf("  training split (items 0..%d):    %.2f%%\n", GN_CLS_HELDOUT_START - 1, 100 * train_acc);
        printf("  held-out split (items %d..%d): %.2f%%\n", GN_CLS_HELDOUT_START,
               GN_CLS_HELDOUT_START + GN_CLS_HELDOUT - 1, 100 * held_acc);
    }
    gn_classifier_free(c);
    gn_dataset_free(&ds);
    return rc;
}

/* gannet classifier: dispatches to train or test. */
int gn_cmd_classifier(int argc, char **argv) {
    if (argc >= 1 && !strcmp(argv[0], "train")) return cmd_train(argc - 1, argv + 1);
    if (argc >= 1 && !strcmp(argv[0], "test")) return cmd_test(argc - 1, argv + 1);
    FILE *f = argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) ? stdout : stderr;
    fprintf(f, "usage: gannet classifier train [options]   train the MNIST classifier of gannet eval\n"
               "       gannet classifier test [options]    its accuracy on the training and held-out splits\n"
               "'gannet classifier train --help' lists the options.\n");
    if (f == stdout) return 0;
    if (argc >= 1) fprintf(stderr, "gannet classifier: unknown subcommand '%s'\n", argv[0]);
    return 2;
}
