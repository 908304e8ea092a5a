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
/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); the caller frees the string. */
char *tu_tmpdir(void);
/* Writes n bytes to path; returns 0 on success. */
int tu_write_file(const char *path, const void *data, size_t n);
/* The gannet executable under test: $GANNET_BIN (meson sets it), else "gannet". */
const char *tu_gannet_bin(void);
/* Runs a shell command, capturing stdout+stderr into out (NUL-terminated,
 * truncated to cap); returns the exit status (or 128 + signal). */
int tu_run(const char *cmd, char *out, size_t cap);
/* Runs `gannet ARGS` and checks that it exits with `want` and says `phrase`. */
void tu_gannet_expect(const char *args, int want, const char *phrase);

/* Runs every test of suite s; the process exit status: 0 when all passed, else 1. */
int tu_run_suite(Suite *s);

#endif
