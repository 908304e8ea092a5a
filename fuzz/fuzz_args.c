/* libFuzzer target for the option parser. The input is split on NUL bytes
 * into argv; the first byte picks the size of the error buffer (so short
 * buffers and truncated messages are exercised too). The option table has
 * every option type. Besides the sanitizers, it checks the parser's
 * promises: the return value is 0, 1 or 2, an error leaves a NUL-terminated
 * message, and every value stored is inside its option's range. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"

static const char *const colours[] = {"red", "green", "blue", NULL};
static const char *const single[] = {"only", NULL};

static void require(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fuzz_args: broken promise: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0 || size > 4096) return 0;
    static const size_t errlens[] = {512, 64, 16, 1};
    size_t errlen = errlens[data[0] & 3];
    data++;
    size--;

    /* argv: the input, NUL-split, each piece in its own allocation so that
     * ASan sees a read past any one of them; an empty input is an empty
     * command line */
    char *argv[256];
    int argc = 0;
    size_t start = 0;
    for (size_t i = 0; size > 0 && i <= size && argc < 256; i++) {
        if (i < size && data[i]) continue;
        size_t n = i - start;
        argv[argc] = malloc(n + 1);
        if (!argv[argc]) abort();
        memcpy(argv[argc], data + start, n);
        argv[argc][n] = 0;
        argc++;
        start = i + 1;
    }

    int i_val = 7, flag = 0, choice = 1, one = 0, neg = -3;
    uint64_t u_val = 42;
    float f_val = 0.5f, g_val = 0.25f;
    const char *str = NULL, *str2 = "default";
    gn_option opts[] = {
        {"int", GN_OPT_INT, &i_val, "an int", 1, 1e9, NULL, 0},
        {"neg", GN_OPT_INT, &neg, "an int below zero", -1000, -1, NULL, 0},
        {"u64", GN_OPT_U64, &u_val, "a u64", 0, 9e15, NULL, 0},
        {"float", GN_OPT_FLOAT, &f_val, "a float", 1e-12, 10, NULL, 0},
        {"g", GN_OPT_FLOAT, &g_val, "a float from 0", 0, 0.9999, NULL, 0},
        {"str", GN_OPT_STR, &str, "a string", 0, 0, NULL, 0},
        {"out-dir", GN_OPT_STR, &str2, "another string", 0, 0, NULL, 0},
        {"flag", GN_OPT_FLAG, &flag, "a flag", 0, 0, NULL, 0},
        {"colour", GN_OPT_CHOICE, &choice, "a choice", 0, 0, colours, 0},
        {"one", GN_OPT_CHOICE, &one, "a choice of one", 0, 0, single, 0},
        {0},
    };
    char *err = malloc(errlen);
    if (!err) abort();
    memset(err, 'x', errlen);
    int r = gn_args_parse("fuzz", opts, argc, argv, err, errlen);
    require(r == 0 || r == 1 || r == 2, "returns 0, 1 or 2");
    if (r == 2) require(memchr(err, 0, errlen) != NULL, "the message is NUL-terminated");
    if (r == 2 && errlen > 1) require(err[0] != 0, "an error has a message");
    require(i_val >= 1 && i_val <= 1000000000, "--int in range");
    require(neg >= -1000 && neg <= -1, "--neg in range");
    require(u_val <= 9000000000000000ull, "--u64 in range");
    require(isfinite(f_val) && f_val >= 1e-12f && f_val <= 10, "--float in range");
    require(isfinite(g_val) && g_val >= 0 && g_val <= 0.9999f, "--g in range");
    require(flag == 0 || flag == 1, "--flag is 0 or 1");
    require(choice >= 0 && choice <= 2 && one == 0, "choices are valid indices");
    if (str) require(*str != 0, "--str is not empty");
    for (const gn_option *o = opts; o->name; o++) require(o->set == 0 || o->set == 1, "set is 0 or 1");
    if (r == 0 && opts[5].set) {
        /* the value points into argv */
        int inside = 0;
        for (int k = 0; k < argc; k++)
            if (str >= argv[k] && str <= argv[k] + strlen(argv[k])) inside = 1;
        require(inside, "--str points into argv");
    }
    free(err);
    for (int k = 0; k < argc; k++) free(argv[k]);
    return 0;
}
