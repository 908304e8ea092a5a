#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "util.h"

void tu_fill(float *x, size_t n, uint64_t seed, float lo, float hi) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        x[i] = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
    }
}

double tu_max_rel_err(const float *a, const float *b, size_t n, double floor) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        double m = fmax(fmax(fabs((double)a[i]), fabs((double)b[i])), floor);
        if (isnan(a[i]) != isnan(b[i])) return INFINITY;
        if (d / m > worst) worst = d / m;
    }
    return worst;
}

char *tu_tmpdir(void) {
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/gannet-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

int tu_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

const char *tu_gannet_bin(void) {
    const char *b = getenv("GANNET_BIN");
    return b ? b : "gannet";
}

int tu_run(const char *cmd, char *out, size_t cap) {
    char full[8192];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t len = 0;
    if (cap) out[0] = 0;
    char buf[4096];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, p)) > 0) {
        if (cap && len + 1 < cap) {
            size_t take = r < cap - 1 - len ? r : cap - 1 - len;
            memcpy(out + len, buf, take);
            len += take;
            out[len] = 0;
        }
    }
    int st = pclose(p);
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

int tu_run_suite(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

void tu_gannet_expect(const char *args, int want, const char *phrase) {
    char cmd[8192], out[16384];
    snprintf(cmd, sizeof cmd, "%s %s", tu_gannet_bin(), args);
    int rc = tu_run(cmd, out, sizeof out);
    ck_assert_msg(rc == want, "'%s' exited %d (expected %d): %s", args, rc, want, out);
    ck_assert_msg(strstr(out, phrase), "'%s' said '%s' (expected '%s')", args, out, phrase);
}
