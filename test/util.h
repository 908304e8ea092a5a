/* Helpers shared by the Check suites. */
#ifndef GANNET_TEST_UTIL_H
#define GANNET_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

/* Fills x with uniform values in [lo, hi) from a small deterministic generator. */
void tu_fill(float *x, size_t n, uint64_t seed, float lo, float hi);
/* Largest |a-b| / max(|a|, |b|, floor) over n elements. */
double tu_max_rel_err(const float *a, const float *b, size_t n, double floor);
/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp), removed with
 * everything in it when the calling process exits (kept when GANNET_KEEP_TMP
 * is set); the caller frees the string. */
char *tu_tmpdir(void);
/* Removes path and everything under it (no links followed); 0 on success. */
int tu_rm_rf(const char *path);
/* Writes n bytes to path; returns 0 on success. */
int tu_write_file(const char *path, const void *data, size_t n);
/* The gannet executable under test: $GANNET_BIN (meson sets it), else "gannet". */
const char *tu_gannet_bin(void);
/* Runs a shell command, capturing stdout+stderr into out (NUL-terminated,
 * truncated to cap); returns the exit status (or 128 + signal). */
int tu_run(const char *cmd, char *out, size_t cap);
/* Runs `gannet ARGS` and checks that it exits with `want` and says `phrase`. */
void tu_gannet_expect(const char *args, int want, const char *phrase);

/* Reference arrays (the .bin files in test/data, written by the test/gen_ scripts),
 * little-endian: "GNGOLDEN", u32 array count, then per array u32 name
 * length, the name, u32 element count, float32 elements. */
typedef struct tu_golden {
    int count, cap;
    char **names;
    size_t *sizes;
    float **data;
} tu_golden;

/* Reads $GANNET_TEST_DATA/file (test/data/file when unset); a missing or
 * malformed file fails the test with a message naming `maker`, the script
 * that writes it. */
void tu_golden_load(tu_golden *g, const char *file, const char *maker);
/* The array `name`, which must hold `count` elements (else the test fails). */
const float *tu_golden_get(const tu_golden *g, const char *name, size_t count);
/* The array `name` and its size, or NULL when there is none. */
const float *tu_golden_find(const tu_golden *g, const char *name, size_t *count);
/* Appends a copy of data (count floats) as array `name`; 0 on success. */
int tu_golden_add(tu_golden *g, const char *name, const float *data, size_t count);
/* Writes every array to path; 0 on success. */
int tu_golden_save(const tu_golden *g, const char *path);
void tu_golden_free(tu_golden *g);

/* Runs every test of suite s; the process exit status: 0 when all passed, else 1. */
int tu_run_suite(Suite *s);

/* Trains `gannet train COMMON` for 4 iterations into TMP/a, and for 2 into
 * TMP/b resumed to 4 (the test fails if any exits non-zero): two runs that
 * exact resume makes the same. */
void tu_train_whole_and_resumed(const char *common, const char *tmp);
#endif
