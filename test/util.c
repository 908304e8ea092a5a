#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Temporary folders are removed when the process that made them exits
 * (Check runs each test in a child that ends with exit(), passed or failed),
 * unless GANNET_KEEP_TMP is set; tu_run_suite points TMPDIR at one folder
 * per suite and removes it afterwards, which also catches a test killed on
 * timeout. A test run therefore leaves nothing under /tmp. */
enum { TU_MAX_TMP = 64 };
static struct { char *path; pid_t pid; } tu_tmp[TU_MAX_TMP]; /* pid: the process that made it */
static int tu_ntmp, tu_registered; /* a forked child inherits both, and the atexit call */

static int tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

int tu_rm_rf(const char *path) {
    return nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void tu_tmp_cleanup(void) {
    const char *keep = getenv("GANNET_KEEP_TMP");
    for (int i = 0; i < tu_ntmp; i++) {
        if (tu_tmp[i].pid == getpid() && !(keep && *keep)) tu_rm_rf(tu_tmp[i].path);
        free(tu_tmp[i].path);
    }
    tu_ntmp = 0;
}

char *tu_tmpdir(void) {
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/gannet-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    if (!d) return NULL;
    if (!tu_registered) {
        atexit(tu_tmp_cleanup);
        tu_registered = 1;
    }
    if (tu_ntmp < TU_MAX_TMP) {
        tu_tmp[tu_ntmp].path = strdup(d);
        tu_tmp[tu_ntmp++].pid = getpid();
    }
    return strdup(d);
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
    /* every test's folders (and its gannet runs' temporary files) under one folder */
    char *root = tu_tmpdir();
    const char *old_tmp = getenv("TMPDIR");
    char *saved = old_tmp ? strdup(old_tmp) : NULL;
    if (root) setenv("TMPDIR", root, 1);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (saved) { setenv("TMPDIR", saved, 1); free(saved); } else unsetenv("TMPDIR");
    free(root);  /* removed at exit with the rest of this process's folders */
    return failed ? 1 : 0;
}

void tu_gannet_expect(const char *args, int want, const char *phrase) {
    char cmd[8192], out[16384];
    snprintf(cmd, sizeof cmd, "%s %s", tu_gannet_bin(), args);
    int rc = tu_run(cmd, out, sizeof out);
    ck_assert_msg(rc == want, "'%s' exited %d (expected %d): %s", args, rc, want, out);
    ck_assert_msg(strstr(out, phrase), "'%s' said '%s' (expected '%s')", args, out, phrase);
}

/* ---- reference arrays ---- */

static int read_u32(FILE *f, uint32_t *v) {
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) return -1;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

static int write_u32(FILE *f, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    return fwrite(b, 1, 4, f) == 4 ? 0 : -1;
}

void tu_golden_free(tu_golden *g) {
    for (int i = 0; i < g->count; i++) {
        free(g->names[i]);
        free(g->data[i]);
    }
    free(g->names);
    free(g->sizes);
    free(g->data);
    memset(g, 0, sizeof *g);
}

int tu_golden_add(tu_golden *g, const char *name, const float *data, size_t count) {
    if (g->count == g->cap) {
        int cap = g->cap ? 2 * g->cap : 64;
        char **n = realloc(g->names, cap * sizeof *n);
        if (n) g->names = n;
        size_t *s = realloc(g->sizes, cap * sizeof *s);
        if (s) g->sizes = s;
        float **d = realloc(g->data, cap * sizeof *d);
        if (d) g->data = d;
        if (!n || !s || !d) return -1;
        g->cap = cap;
    }
    g->names[g->count] = strdup(name);
    g->data[g->count] = malloc((count ? count : 1) * sizeof(float));
    if (!g->names[g->count] || !g->data[g->count]) return -1;
    if (count) memcpy(g->data[g->count], data, count * sizeof(float));
    g->sizes[g->count++] = count;
    return 0;
}

int tu_golden_save(const tu_golden *g, const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int bad = fwrite("GNGOLDEN", 1, 8, f) != 8 || write_u32(f, (uint32_t)g->count);
    for (int i = 0; !bad && i < g->count; i++) {
        uint32_t len = (uint32_t)strlen(g->names[i]);
        bad = write_u32(f, len) || fwrite(g->names[i], 1, len, f) != len ||
              write_u32(f, (uint32_t)g->sizes[i]);
        for (size_t j = 0; !bad && j < g->sizes[i]; j++) {
            uint32_t bits;
            memcpy(&bits, &g->data[i][j], sizeof bits);
            bad = write_u32(f, bits);
        }
    }
    return fclose(f) || bad ? -1 : 0;
}

void tu_golden_load(tu_golden *g, const char *file, const char *maker) {
    const char *dir = getenv("GANNET_TEST_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "test/data", file);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (run %s)", path, maker);
    char magic[8];
    uint32_t n;
    ck_assert_msg(fread(magic, 1, 8, f) == 8 && !memcmp(magic, "GNGOLDEN", 8), "%s: bad magic", path);
    ck_assert_msg(!read_u32(f, &n) && n < 10000, "%s: bad header", path);
    memset(g, 0, sizeof *g);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len, cnt;
        char name[256];
        ck_assert_msg(!read_u32(f, &len) && len > 0 && len < sizeof name, "%s: array %u: bad name",
                      path, i);
        ck_assert_msg(fread(name, 1, len, f) == len, "%s: truncated", path);
        name[len] = 0;
        ck_assert_msg(!read_u32(f, &cnt) && cnt < (1u << 24), "%s: %s: bad size", path, name);
        float *d = malloc((cnt ? cnt : 1) * sizeof(float));
        ck_assert(d);
        for (uint32_t j = 0; j < cnt; j++) {
            uint32_t bits;
            ck_assert_msg(!read_u32(f, &bits), "%s: %s: truncated", path, name);
            memcpy(&d[j], &bits, sizeof(float));
        }
        ck_assert(tu_golden_add(g, name, d, cnt) == 0);
        free(d);
    }
    fclose(f);
}

const float *tu_golden_find(const tu_golden *g, const char *name, size_t *count) {
    for (int i = 0; i < g->count; i++)
        if (!strcmp(g->names[i], name)) {
            if (count) *count = g->sizes[i];
            return g->data[i];
        }
    return NULL;
}

const float *tu_golden_get(const tu_golden *g, const char *name, size_t count) {
    size_t have;
    const float *d = tu_golden_find(g, name, &have);
    ck_assert_msg(d != NULL, "the reference file has no array %s", name);
    ck_assert_msg(have == count, "reference %s has %zu elements, expected %zu", name, have, count);
    return d;
}

void tu_train_whole_and_resumed(const char *common, const char *tmp) {
    char cmd[8192], out[16384];
    snprintf(cmd, sizeof cmd, "%s train %s --iters 4 --out %s/a", tu_gannet_bin(), common, tmp);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(cmd, sizeof cmd, "%s train %s --iters 2 --out %s/b", tu_gannet_bin(), common, tmp);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(cmd, sizeof cmd, "%s train --resume %s/b --iters 4 --progress lines", tu_gannet_bin(), tmp);
    ck_assert_msg(tu_run(cmd, out, sizeof out) == 0, "%s", out);
}
