/* A tiny stand-in for the Check unit-test library, for cross builds whose
 * target has no libcheck (the NEON kernels under qemu). It covers what
 * test_kernels.c uses: START_TEST/END_TEST, ck_assert*, suites, test cases
 * and a runner. Tests run in-process, one after another; a failed assertion
 * ends its test (longjmp) and is reported Check-style. CK_RUN_CASE selects a
 * test case by name, as in Check. Include it from one translation unit. */
#ifndef GANNET_CHECK_SHIM_H
#define GANNET_CHECK_SHIM_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ck_test {
    const char *name;
    void (*fn)(int);
} ck_test;

typedef struct TCase {
    const char *name;
    const ck_test *tests[256];
    int ntests;
    struct TCase *next;
} TCase;

typedef struct Suite {
    const char *name;
    TCase *first, *last;
} Suite;

typedef struct SRunner {
    Suite *suite;
    int run, failed;
} SRunner;

enum print_output { CK_SILENT, CK_MINIMAL, CK_NORMAL, CK_VERBOSE, CK_ENV };

static jmp_buf ck_shim_jump;
static const char *ck_shim_case, *ck_shim_test;

#define START_TEST(name)                                                   \
    static void name##_fn(int _i);                                         \
    static const ck_test name##_ck = {#name, name##_fn};                   \
    static const ck_test *const name = &name##_ck;                         \
    static void name##_fn(int _i __attribute__((unused)))
#define END_TEST

// reports a failed assertion and leaves the running test
__attribute__((format(printf, 3, 4), noreturn)) static inline void
ck_shim_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    printf("%s:%d:F:%s:%s:0: ", file, line, ck_shim_case, ck_shim_test);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    longjmp(ck_shim_jump, 1);
}

#define ck_assert_msg(expr, ...) \
    ((expr) ? (void)0 : ck_shim_fail(__FILE__, __LINE__, __VA_ARGS__))
#define ck_assert(expr) ck_assert_msg(expr, "Assertion '%s' failed", #expr)
#define ck_abort_msg(...) ck_shim_fail(__FILE__, __LINE__, __VA_ARGS__)
#define ck_assert_int_eq(a, b)                                                              \
    do {                                                                                    \
        intmax_t ck_a_ = (a), ck_b_ = (b);                                                  \
        ck_assert_msg(ck_a_ == ck_b_, "Assertion '%s == %s' failed: %jd != %jd", #a, #b,   \
                      ck_a_, ck_b_);                                                        \
    } while (0)
#define ck_assert_uint_eq(a, b)                                                             \
    do {                                                                                    \
        uintmax_t ck_a_ = (a), ck_b_ = (b);                                                 \
        ck_assert_msg(ck_a_ == ck_b_, "Assertion '%s == %s' failed: %ju != %ju", #a, #b,   \
                      ck_a_, ck_b_);                                                        \
    } while (0)

// a new, empty suite
static inline Suite *suite_create(const char *name) {
    Suite *s = calloc(1, sizeof *s);
    s->name = name;
    return s;
}

// a new, empty test case
static inline TCase *tcase_create(const char *name) {
    TCase *tc = calloc(1, sizeof *tc);
    tc->name = name;
    return tc;
}

// timeouts are not enforced in-process
static inline void tcase_set_timeout(TCase *tc, double seconds) { (void)tc; (void)seconds; }

// adds a test to a test case
static inline void tcase_add_test(TCase *tc, const ck_test *t) {
    if (tc->ntests < 256) tc->tests[tc->ntests++] = t;
}

// appends a test case to a suite
static inline void suite_add_tcase(Suite *s, TCase *tc) {
    if (s->last) s->last->next = tc;
    else s->first = tc;
    s->last = tc;
}

// a runner for one suite
static inline SRunner *srunner_create(Suite *s) {
    SRunner *sr = calloc(1, sizeof *sr);
    sr->suite = s;
    return sr;
}

// runs every test (or those of CK_RUN_CASE), printing failures and a summary
static inline void srunner_run_all(SRunner *sr, enum print_output mode) {
    (void)mode;
    const char *only = getenv("CK_RUN_CASE");
    printf("Running suite(s): %s\n", sr->suite->name);
    for (TCase *tc = sr->suite->first; tc; tc = tc->next) {
        if (only && *only && strcmp(only, tc->name) != 0) continue;
        for (int i = 0; i < tc->ntests; i++) {
            ck_shim_case = tc->name;
            ck_shim_test = tc->tests[i]->name;
            sr->run++;
            if (setjmp(ck_shim_jump) == 0) tc->tests[i]->fn(0);
            else sr->failed++;
        }
    }
    printf("%d%%: Checks: %d, Failures: %d, Errors: 0\n",
           sr->run ? 100 * (sr->run - sr->failed) / sr->run : 100, sr->run, sr->failed);
    fflush(stdout);
}

// the number of failed tests of the last run
static inline int srunner_ntests_failed(SRunner *sr) { return sr->failed; }

// frees the runner, its suite and test cases
static inline void srunner_free(SRunner *sr) {
    TCase *tc = sr->suite->first;
    while (tc) {
        TCase *next = tc->next;
        free(tc);
        tc = next;
    }
    free(sr->suite);
    free(sr);
}

#endif
