/* gannet: train GANs on CPU servers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dist.h"
#include "gannet/eval.h"
#include "gannet/status.h"
#include "gannet_config.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"train", gn_cmd_train, "train a GAN (seed-mnist by default) and write losses, grids and checkpoints"},
    {"sample", gn_cmd_sample, "draw images from a checkpoint into a PNG grid or an IDX file"},
    {"info", gn_cmd_info, "show the version, CPU features, kernels, oneDNN and threads; or a model's layers"},
    {"check-model", gn_cmd_check_model, "read a model file, build its G and D, print OK or the error"},
    {"bench", gn_cmd_bench, "measure layers, kernels or the whole training step"},
    {"eval", gn_cmd_eval, "score generated images: Inception Score, Frechet distance, class coverage"},
    {"classifier", gn_cmd_classifier, "train or test a classifier behind gannet eval (digits, Fashion-MNIST)"},
    {NULL, NULL, NULL},
};

int gn_cli_fail(const char *cmd) {
    fprintf(stderr, "gannet %s: %s\n", cmd, gn_last_error());
    return 1;
}

int gn_cli_load_bundled(const char *cmd, gn_dataset *ds) {
    char ip[4096], lp[4096];
    gn_default_mnist_paths(ip, sizeof ip, lp, sizeof lp);
    if (gn_dataset_load(ip, lp, ds)) return gn_cli_fail(cmd);
    if (ds->n < GN_CLS_HELDOUT_START + GN_CLS_HELDOUT) {
        fprintf(stderr, "gannet %s: %s holds %zu digits; the held-out split needs %d\n", cmd, ip, ds->n,
                GN_CLS_HELDOUT_START + GN_CLS_HELDOUT);
        gn_dataset_free(ds);
        return 1;
    }
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: gannet COMMAND [options]\n\ncommands:\n");
    for (const command *c = commands; c->name; c++) fprintf(f, "  %-12s %s\n", c->name, c->help);
    fprintf(f, "\n'gannet COMMAND --help' lists a command's options.\n");
}

/* Descriptors 0-2 closed by the caller (`>&-`) are reopened on /dev/null for
 * reading only: a file gannet opens later cannot take their number and
 * receive printf's output, and writes to them still fail (EBADF), so that
 * stdout_status sees the failure. */
static void guard_std_fds(void) {
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        int n = open("/dev/null", O_RDONLY | O_NOCTTY);
        if (n >= 0 && n != fd) {
            dup2(n, fd);
            close(n);
        }
    }
}

/* A command's results are its output: when stdout cannot take them (a full
 * disk, /dev/full, a closed descriptor) the command failed. */
static int stdout_status(const char *cmd, int rc) {
    int e = fflush(stdout) ? errno : ferror(stdout) ? EIO : 0;
    if (!e) return rc;
    fprintf(stderr, "gannet%s%s: cannot write to standard output: %s\n", cmd ? " " : "", cmd ? cmd : "",
            strerror(e));
    return rc ? rc : 1;
}

static int run(int argc, char **argv);

/* gannet help-man (not listed: the build runs it to make gannet(1)). */
static int help_man(void) {
    const char *names[sizeof commands / sizeof commands[0]];
    size_t n = 0;
    for (const command *c = commands; c->name; c++) names[n++] = c->name;
    names[n] = NULL;
    return gn_cli_man(run, names);
}

static int run(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return stdout_status(NULL, 0);
    }
    if (!strcmp(argv[1], "--version")) {
        printf("gannet %s\n", GANNET_VERSION);
        return stdout_status(NULL, 0);
    }
    if (!strcmp(argv[1], "help-man")) return stdout_status(NULL, help_man());
    for (const command *c = commands; c->name; c++)
        if (!strcmp(argv[1], c->name)) return stdout_status(c->name, c->run(argc - 2, argv + 2));
    fprintf(stderr, "gannet: unknown command '%s' (see gannet --help)\n", argv[1]);
    return 2;
}

int main(int argc, char **argv) {
    guard_std_fds();
    if (gn_dist_start(&argc, &argv)) return gn_cli_fail("mpi");
    int rc = run(argc, argv);
    /* a rank that fails alone must not leave the others waiting in a collective */
    gn_dist_stop(rc);
    return rc;
}
