/* The gannet subcommands. Each returns the process exit status:
 * 0 success, 1 failure, 2 bad arguments, 128 + signal when interrupted. */
#ifndef GANNET_CLI_H
#define GANNET_CLI_H

int gn_cmd_info(int argc, char **argv);
int gn_cmd_train(int argc, char **argv);
int gn_cmd_sample(int argc, char **argv);
int gn_cmd_bench(int argc, char **argv);
int gn_cmd_eval(int argc, char **argv);
int gn_cmd_classifier(int argc, char **argv);

/* Prints "gannet CMD: <last error>" to stderr and returns 1. */
int gn_cli_fail(const char *cmd);

#endif
