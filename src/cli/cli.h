/* The gannet subcommands. Each returns the process exit status:
 * 0 success, 1 failure, 2 bad arguments, 128 + signal when interrupted. */
#ifndef GANNET_CLI_H
#define GANNET_CLI_H

#include <stdio.h>

#include "gannet/data.h"

#include "gannet/gan.h"

int gn_cmd_info(int argc, char **argv);
int gn_cmd_train(int argc, char **argv);
int gn_cmd_sample(int argc, char **argv);
int gn_cmd_bench(int argc, char **argv);
int gn_cmd_eval(int argc, char **argv);
int gn_cmd_classifier(int argc, char **argv);
int gn_cmd_check_model(int argc, char **argv);

/* A model file read, parsed and built (G and D initialised from seed 1),
 * with its settings. */
typedef struct gn_cli_model {
    char *text;
    gn_net *G, *D;
    gn_gan_config cfg; /* cfg.model is NULL: text holds the model */
} gn_cli_model;

/* Loads a model file for `gannet CMD`; on error prints it and returns the
 * exit status (2 for a bad file), else 0. */
int gn_cli_load_model(const char *cmd, const char *path, gn_cli_model *m);
void gn_cli_model_free(gn_cli_model *m);
/* Prints G's and D's layers: output shape, parameters, forward FLOPs per sample; totals. */
void gn_cli_model_summary(gn_net *G, gn_net *D, FILE *out);

/* Writes the manual page gannet(1) to stdout: the --help of each named
 * command (and of its subcommands), run through `run` (argv[0] "gannet"). */
int gn_cli_man(int (*run)(int, char **), const char *const *names);

/* Prints "gannet CMD: <last error>" to stderr and returns 1. */
int gn_cli_fail(const char *cmd);

/* Loads the bundled MNIST digits with their labels and checks that the
 * classifier's held-out split fits; 0, or the exit status (ds freed). */
int gn_cli_load_bundled(const char *cmd, gn_dataset *ds);

#endif
