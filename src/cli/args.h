/* A small table-driven option parser for the gannet subcommands:
 * `--name value` or `--name=value`; flags take no value. Every error is one
 * line naming the bad argument, and the caller exits with status 2. */
#ifndef GANNET_ARGS_H
#define GANNET_ARGS_H

#include <stddef.h>
#include <stdint.h>

typedef enum gn_opt_type { GN_OPT_INT, GN_OPT_U64, GN_OPT_FLOAT, GN_OPT_STR, GN_OPT_FLAG,
                           GN_OPT_CHOICE, GN_OPT_SETTING } gn_opt_type;

struct gn_setting;
struct gn_gan_config;

typedef struct gn_option {
    const char *name;     /* without the leading dashes */
    gn_opt_type type;
    void *dest;           /* int*, uint64_t*, float*, const char**, int* (flag or choice index),
                           gn_setting_ref* (setting) */
    const char *help;
    double min, max;      /* for numbers (inclusive) */
    const char *const *choices; /* for GN_OPT_CHOICE, NULL-terminated */
    int set;              /* filled by the parser: given on the command line */
} gn_option;

/* GN_OPT_SETTING's dest: a row of the settings table (gannet/settings.h),
 * which parses and validates the value, and the config it goes into. */
typedef struct gn_setting_ref {
    const struct gn_setting *setting;
    struct gn_gan_config *cfg;
} gn_setting_ref;

/* Parses argv[0..argc) (the arguments after the subcommand). Returns 0 on
 * success, 1 when --help was asked (usage already printed to stdout), 2 on an
 * error (message in err). Positional arguments are an error. */
int gn_args_parse(const char *cmd, gn_option *opts, int argc, char **argv, char *err, size_t errlen);
/* Prints the usage of a subcommand: one line per option with its default. */
void gn_args_usage(const char *cmd, const char *summary, const gn_option *opts);

#endif
