/* Run folders and resume through `gannet train`: a run is never replaced
 * without --overwrite, which removes only gannet's files; a lock refuses a
 * second writer; --resume trains on the data the run recorded (moved data
 * with --data, changed or missing data refused); a run folder path that is
 * too long is refused, never cut; --resume to fewer iterations than done
 * changes nothing; data of the wrong shape leaves no folder behind; a run
 * trained on a stream resumes only with --data of a file holding the same
 * images, plain or gzip'd (the fingerprint is of the decoded bytes); a run
 * folder inside its image folder is refused. And the
 * settings table those rest on: every setting reads back what it writes,
 * with the command line's validation, and checkpoints of the format before
 * the table still read. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "gannet/data.h"
#include "gannet/settings.h"
#include "util.h"

#define TRAIN "train --preset dcgan --batch 4 --threads 1 --plot-every 1 --progress lines"

static char out[65536];

/* Runs `gannet ARGS`; returns the exit status, the output in `out`. */
static int gannet(const char *fmt, const char *a, const char *b, const char *c) {
    char args[8192], cmd[8400];
    snprintf(args, sizeof args, fmt, a, b, c);
    snprintf(cmd, sizeof cmd, "%s %s", tu_gannet_bin(), args);
    return tu_run(cmd, out, sizeof out);
}

static char *path(const char *dir, const char *name) {
    static char p[4][8192];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* The whole file (NUL-terminated); the caller frees it. */
static char *slurp(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    char *b = malloc(1 << 26);
    size_t r = fread(b, 1, (1 << 26) - 1, f);
    fclose(f);
    b[r] = 0;
    if (n) *n = r;
    return b;
}

/* Copies a file to dst. */
static void keep(const char *src, const char *dst) {
    size_t n;
    char *b = slurp(src, &n);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(tu_write_file(dst, b, n), 0);
    free(b);
}

static int same_file(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

/* An IDX file of n images of side x side u8 pixels from a seed. */
static void write_idx(const char *p, int n, int side, unsigned seed) {
    size_t px = (size_t)n * side * side;
    unsigned char *b = malloc(16 + px);
    unsigned char hdr[16] = {0, 0, 8, 3, 0, 0, 0, (unsigned char)n, 0, 0, 0, (unsigned char)side,
                             0, 0, 0, (unsigned char)side};
    memcpy(b, hdr, 16);
    for (size_t i = 0; i < px; i++) {
        seed = seed * 1103515245u + 12345u;
        b[16 + i] = (unsigned char)(seed >> 16);
    }
    ck_assert_int_eq(tu_write_file(p, b, 16 + px), 0);
    free(b);
}

/* losses.csv without the elapsed column. */
static char *losses(const char *dir) {
    char *t = slurp(path(dir, "losses.csv"), NULL), *o = calloc(1, 1 << 20);
    ck_assert_ptr_nonnull(t);
    size_t k = 0;
    int col = 0;
    for (char *c = t; *c; c++) {
        if (*c == '\n') col = 0;
        if (*c == ',') col++;
        if (col == 5 && *c != ',') continue;
        o[k++] = *c;
    }
    free(t);
    return o;
}

START_TEST(a_run_is_not_replaced_without_overwrite) {
    char *t = tu_tmpdir(), *r = strdup(path(t, "r"));
    ck_assert_int_eq(gannet(TRAIN " --iters 2 --out %s", r, 0, 0), 0);
    keep(path(r, "checkpoint.gnt"), path(t, "ck"));
    int rc = gannet(TRAIN " --iters 1 --seed 3 --out %s", r, 0, 0);
    ck_assert_msg(rc == 2 && strstr(out, "holds a run") && strstr(out, "--resume") &&
                      strstr(out, "--overwrite"), "exit %d: %s", rc, out);
    ck_assert_msg(same_file(path(r, "checkpoint.gnt"), path(t, "ck")) &&
                      exists(path(r, "samples/iter_000002.png")), "the run changed");
    /* the files of a start stopped before its first checkpoint: nothing to resume */
    char *k = strdup(path(t, "k"));
    mkdir(k, 0755);
    tu_write_file(path(k, "config.json"), "{}\n", 3);
    rc = gannet(TRAIN " --iters 1 --out %s", k, 0, 0);
    ck_assert_msg(rc == 2 && strstr(out, "has no checkpoint (config.json)") && strstr(out, "--overwrite"),
                  "exit %d: %s", rc, out);
    ck_assert_msg(gannet(TRAIN " --iters 1 --out %s --overwrite", k, 0, 0) == 0, "%s", out);
    free(k);
    /* a folder of the user's files, without a run, is fine */
    char *u = strdup(path(t, "mine"));
    mkdir(u, 0755);
    tu_write_file(path(u, "notes.txt"), "x", 1);
    ck_assert_msg(gannet(TRAIN " --iters 1 --out %s", u, 0, 0) == 0, "%s", out);
    free(u);
    free(r);
    free(t);
}
END_TEST

START_TEST(overwrite_removes_only_gannets_files) {
    char *t = tu_tmpdir(), *r = strdup(path(t, "r"));
    ck_assert_int_eq(gannet(TRAIN " --iters 2 --out %s", r, 0, 0), 0);
    const char *mine[] = {"notes.txt", "config.json.old", "samples/mine.png", "losses.csv.bak"};
    for (int i = 0; i < 4; i++) ck_assert_int_eq(tu_write_file(path(r, mine[i]), "x", 1), 0);
    int rc = gannet(TRAIN " --iters 1 --out %s --overwrite", r, 0, 0);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
    for (int i = 0; i < 4; i++) ck_assert_msg(exists(path(r, mine[i])), "%s was removed", mine[i]);
    ck_assert_msg(!exists(path(r, "samples/iter_000002.png")), "the old run's grid stayed");
    ck_assert(exists(path(r, "samples/iter_000001.png")));
    char *cfg = slurp(path(r, "config.json"), NULL);
    ck_assert_msg(strstr(cfg, "\"iters\": 1,"), "%s", cfg);
    free(cfg);
    rc = gannet("train --resume %s --overwrite", r, 0, 0);
    ck_assert_msg(rc == 2 && strstr(out, "--overwrite cannot be used with --resume"), "%d: %s", rc, out);
    free(r);
    free(t);
}
END_TEST

START_TEST(a_locked_run_folder_is_refused) {
    char *t = tu_tmpdir(), *r = strdup(path(t, "r"));
    ck_assert_int_eq(gannet(TRAIN " --iters 1 --out %s", r, 0, 0), 0);
    /* hold the lock as a running training does */
    int fd = open(path(r, "gannet.lock"), O_RDWR | O_CREAT, 0644);
    ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    keep(path(r, "checkpoint.gnt"), path(t, "ck"));
    int rc = gannet("train --resume %s --iters 3 --progress lines", r, 0, 0);
    ck_assert_msg(rc == 1 && strstr(out, "another gannet"), "resume of a locked run: %d: %s", rc, out);
    rc = gannet(TRAIN " --iters 1 --out %s --overwrite", r, 0, 0);
    ck_assert_msg(rc == 1 && strstr(out, "another gannet"), "overwrite of a locked run: %d: %s", rc, out);
    ck_assert_msg(same_file(path(r, "checkpoint.gnt"), path(t, "ck")), "a locked run changed");
    close(fd);
    rc = gannet("train --resume %s --iters 2 --progress lines", r, 0, 0);
    ck_assert_msg(rc == 0, "after the lock went: %d: %s", rc, out);
    free(r);
    free(t);
}
END_TEST

/* config.json of run folder `dir` records the size and CRC-32 of the IDX
 * bytes of the plain file `idx`. */
static void expect_fingerprint(const char *dir, const char *idx) {
    size_t n = 0;
    char *b = slurp(idx, &n), *cfg = slurp(path(dir, "config.json"), NULL), want[128];
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(cfg);
    snprintf(want, sizeof want, "\"data_size\": %zu,\n  \"data_crc32\": %lu", n,
             crc32(crc32(0L, Z_NULL, 0), (const Bytef *)b, (uInt)n));
    const char *at = strstr(cfg, want);
    /* the whole number: a comma or the end of the object follows */
    ck_assert_msg(at && (at[strlen(want)] == ',' || at[strlen(want)] == '\n'), "expected %s in %s", want, cfg);
    free(b);
    free(cfg);
}

/* Writes a gzip'd copy of the file src to dst. */
static void gzip_copy(const char *src, const char *dst) {
    size_t n = 0;
    char *b = slurp(src, &n);
    ck_assert_ptr_nonnull(b);
    gzFile f = gzopen(dst, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(gzwrite(f, b, (unsigned)n), (int)n);
    ck_assert_int_eq(gzclose(f), Z_OK);
    free(b);
}

START_TEST(resume_trains_on_the_recorded_data) {
    char *t = tu_tmpdir(), *d1 = strdup(path(t, "d1.idx")), *d2 = strdup(path(t, "d2.idx"));
    char *a = strdup(path(t, "a")), *b = strdup(path(t, "b"));
    write_idx(d1, 16, 28, 1);
    ck_assert_int_eq(gannet(TRAIN " --iters 4 --data %s --out %s", d1, a, 0), 0);
    ck_assert_int_eq(gannet(TRAIN " --iters 2 --data %s --out %s", d1, b, 0), 0);
    ck_assert_msg(gannet("train --resume %s --iters 3 --progress lines", b, 0, 0) == 0, "%s", out);
    expect_fingerprint(b, d1);
    /* the data moved: gone, unless --data names it; other data is refused */
    ck_assert_int_eq(rename(d1, d2), 0);
    int rc = gannet("train --resume %s --iters 4", b, 0, 0);
    ck_assert_msg(rc == 1 && strstr(out, "the run's data is gone") && strstr(out, "d1.idx"), "%d: %s", rc, out);
    char *d3 = strdup(path(t, "d3.idx"));
    write_idx(d3, 16, 28, 2);
    rc = gannet("train --resume %s --iters 4 --data %s", b, d3, 0);
    ck_assert_msg(rc == 2 && strstr(out, "is not the data this run was trained on"), "%d: %s", rc, out);
    rc = gannet("train --resume %s --iters 4 --data %s --progress lines", b, d2, 0);
    ck_assert_msg(rc == 0, "moved data: %d: %s", rc, out);
    char *la = losses(a), *lb = losses(b);
    ck_assert_msg(!strcmp(la, lb), "resumed run differs from the uninterrupted one:\n%s\n%s", la, lb);
    char *cfg = slurp(path(b, "config.json"), NULL);
    ck_assert_msg(strstr(cfg, "d2.idx"), "the moved path is not recorded: %s", cfg);
    /* the data changed in place */
    write_idx(d2, 16, 28, 3);
    rc = gannet("train --resume %s --iters 5", b, 0, 0);
    ck_assert_msg(rc == 1 && strstr(out, "changed since it was recorded"), "%d: %s", rc, out);
    free(cfg);
    free(la);
    free(lb);
    free(d1);
    free(d2);
    free(d3);
    free(a);
    free(b);
    free(t);
}
END_TEST

/* A run trained on a stream (`cat FILE | gannet train --data /dev/stdin`)
 * cannot read it again: a bare --resume is refused, asking for --data FILE;
 * a file of the same images, gzip'd or plain, resumes it (and trains as the
 * uninterrupted run did); other images are refused. */
START_TEST(a_stream_trained_run_resumes_with_a_file_of_its_images) {
    char *t = tu_tmpdir(), *d = strdup(path(t, "d.idx")), *gz = strdup(path(t, "d.idx.gz"));
    char *e = strdup(path(t, "e.idx")), *a = strdup(path(t, "a")), *s = strdup(path(t, "s"));
    write_idx(d, 16, 28, 4);
    write_idx(e, 16, 28, 5);
    gzip_copy(d, gz);
    ck_assert_int_eq(gannet(TRAIN " --iters 4 --data %s --out %s", gz, a, 0), 0);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cat '%s' | %s " TRAIN " --iters 2 --data /dev/stdin --out '%s'", gz,
             tu_gannet_bin(), s);
    int rc = tu_run(cmd, out, sizeof out);
    ck_assert_msg(rc == 0, "trained on a pipe: %d: %s", rc, out);
    expect_fingerprint(s, d);
    rc = gannet("train --resume %s --iters 3", s, 0, 0);
    ck_assert_msg(rc == 2 && strstr(out, "/dev/stdin: the run's data was a stream") &&
                      strstr(out, "--data FILE"), "%d: %s", rc, out);
    rc = gannet("train --resume %s --iters 3 --data %s", s, e, 0);
    ck_assert_msg(rc == 2 && strstr(out, "is not the data this run was trained on"), "%d: %s", rc, out);
    rc = gannet("train --resume %s --iters 3 --progress lines --data %s", s, gz, 0);
    ck_assert_msg(rc == 0, "gzip'd file: %d: %s", rc, out);
    rc = gannet("train --resume %s --iters 4 --progress lines --data %s", s, d, 0);
    ck_assert_msg(rc == 0, "plain file: %d: %s", rc, out);
    expect_fingerprint(s, d);
    char *la = losses(a), *ls = losses(s);
    ck_assert_msg(!strcmp(la, ls), "resumed run differs from the uninterrupted one:\n%s\n%s", la, ls);
    free(la);
    free(ls);
    free(d);
    free(gz);
    free(e);
    free(a);
    free(s);
    free(t);
}
END_TEST

START_TEST(a_run_folder_path_too_long_is_refused) {
    char *t = tu_tmpdir(), longdir[6000];
    size_t n = (size_t)snprintf(longdir, sizeof longdir, "%s", t);
    while (n < 4100) n += (size_t)snprintf(longdir + n, sizeof longdir - n, "/%0100d", 0);
    int rc = gannet(TRAIN " --iters 1 --out %s", longdir, 0, 0);
    ck_assert_msg(rc == 2 && strstr(out, "--out: a run folder path of") && strstr(out, "too long"),
                  "%d: %s", rc, out);
    char first[8192];
    snprintf(first, sizeof first, "%s/%0100d", t, 0);
    ck_assert_msg(!exists(first), "a folder was made for a refused path");
    rc = gannet("train --resume %s", longdir, 0, 0);
    ck_assert_msg(rc == 2 && strstr(out, "--resume: a run folder path of"), "%d: %s", rc, out);
    free(t);
}
END_TEST

START_TEST(resume_below_the_iterations_done_changes_nothing) {
    char *t = tu_tmpdir(), *r = strdup(path(t, "r"));
    ck_assert_int_eq(gannet(TRAIN " --iters 2 --out %s", r, 0, 0), 0);
    keep(path(r, "checkpoint.gnt"), path(t, "ck"));
    keep(path(r, "config.json"), path(t, "cfg"));
    struct stat before, after;
    stat(path(r, "config.json"), &before);
    int rc = gannet("train --resume %s --iters 1", r, 0, 0);
    ck_assert_msg(rc == 0 && strstr(out, "already done 2 iterations") && strstr(out, "nothing changed"),
                  "%d: %s", rc, out);
    rc = gannet("train --resume %s", r, 0, 0);
    ck_assert_msg(rc == 0 && strstr(out, "has done its 2 iterations"), "%d: %s", rc, out);
    stat(path(r, "config.json"), &after);
    ck_assert_msg(same_file(path(r, "checkpoint.gnt"), path(t, "ck")) &&
                      same_file(path(r, "config.json"), path(t, "cfg")), "the run changed");
    ck_assert(before.st_mtim.tv_sec == after.st_mtim.tv_sec && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
    free(r);
    free(t);
}
END_TEST

/* n images of side x side x c, rank 4 (N, H, W, C). */
static void write_idx4(const char *p, int n, int side, int c) {
    size_t count = (size_t)n * side * side * c;
    uint8_t *b = malloc(count);
    for (size_t i = 0; i < count; i++) b[i] = (uint8_t)(i * 7 + i / 97);
    uint32_t dims[4] = {(uint32_t)n, (uint32_t)side, (uint32_t)side, (uint32_t)c};
    ck_assert_int_eq(gn_idx_write_u8(p, b, 4, dims), GN_OK);
    free(b);
}

/* The PNG colour type in the IHDR chunk: 0 gray, 2 RGB. */
static int png_colour_type(const char *p) {
    size_t n;
    unsigned char *b = (unsigned char *)slurp(p, &n);
    ck_assert_msg(b && n > 26, "%s: no PNG", p);
    int t = b[25];
    free(b);
    return t;
}

/* dcgan on 32x32 RGB images runs PyTorch's example's model from
 * dcgan-32x32x3.gnm (its eps; the batch given), shows RGB pictures, and
 * resumes from the model text its checkpoint keeps. */
START_TEST(dcgan_follows_rgb_data) {
    char *t = tu_tmpdir(), *d = strdup(path(t, "rgb.idx")), *r = strdup(path(t, "r"));
    write_idx4(d, 8, 32, 3);
    int rc = gannet(TRAIN " --iters 1 --data %s --out %s", d, r, 0);
    ck_assert_msg(rc == 0, "%d: %s", rc, out);
    char *cfg = slurp(path(r, "config.json"), NULL);
    ck_assert_msg(strstr(cfg, "\"batch\": 4,") && strstr(cfg, "\"eps\": 9.99999994e-09"), "%s", cfg);
    free(cfg);
    ck_assert_int_eq(png_colour_type(path(r, "real.png")), 2);
    ck_assert_int_eq(png_colour_type(path(r, "samples/iter_000001.png")), 2);
    rc = gannet("train --resume %s --iters 2 --progress lines", r, 0, 0);
    ck_assert_msg(rc == 0 && strstr(out, "iter 2/2"), "%d: %s", rc, out);
    /* gannet sample --out DIR/: one RGB PNG per image; existing ones only with --overwrite */
    char *s = strdup(path(t, "s/"));
    rc = gannet("sample --checkpoint %s --n 3 --out %s", r, s, 0);
    ck_assert_msg(rc == 0 && exists(path(s, "sample_000002.png")) && !exists(path(s, "sample_000003.png")),
                  "%d: %s", rc, out);
    ck_assert_int_eq(png_colour_type(path(s, "sample_000000.png")), 2);
    rc = gannet("sample --checkpoint %s --n 4 --out %s", r, s, 0);
    ck_assert_msg(rc == 2 && strstr(out, "sample_000000.png exists") && !exists(path(s, "sample_000003.png")),
                  "%d: %s", rc, out);
    rc = gannet("sample --checkpoint %s --n 4 --out %s --overwrite", r, s, 0);
    ck_assert_msg(rc == 0 && exists(path(s, "sample_000003.png")), "%d: %s", rc, out);
    free(s);
    rc = gannet("train --preset seed-mnist --data %s --out %s --overwrite", d, r, 0);
    ck_assert_msg(rc == 2 && strstr(out, "images are 32x32x3; preset seed-mnist takes 28x28x1"), "%d: %s", rc,
                  out);
    free(d);
    free(r);
    free(t);
}
END_TEST

START_TEST(data_of_the_wrong_shape_leaves_no_folder) {
    char *t = tu_tmpdir(), *d = strdup(path(t, "d32.idx")), *r = strdup(path(t, "r"));
    write_idx(d, 4, 20, 1); /* a shape no dcgan file takes */
    int rc = gannet(TRAIN " --iters 1 --data %s --out %s", d, r, 0);
    ck_assert_msg(rc == 2 && strstr(out, "images are 20x20x1; preset dcgan takes 28x28x1, 32x32x1"), "%d: %s",
                  rc, out);
    ck_assert_msg(!exists(r), "an empty run folder was left behind");
    free(d);
    free(r);
    free(t);
}
END_TEST

/* A run folder inside its image folder would read its own sample grids back
 * as images (and its fingerprint would then refuse every resume): refused
 * before anything is loaded or made, however the path reaches it. */
START_TEST(a_run_folder_inside_its_image_folder_is_refused) {
    char *t = tu_tmpdir(), *d = strdup(path(t, "imgs")), *link = strdup(path(t, "link"));
    mkdir(d, 0755);
    ck_assert_int_eq(symlink(d, link), 0);
    const char *outs[] = {"%s/run", "%s/new/../run", "%s"};
    for (int i = 0; i < 3; i++) {
        char o[4096];
        snprintf(o, sizeof o, outs[i], d);
        int rc = gannet(TRAIN " --iters 1 --data %s --out %s", i == 1 ? link : d, o, 0);
        ck_assert_msg(rc == 2 && strstr(out, "is inside the image folder"), "--out %s: %d: %s", o, rc, out);
    }
    ck_assert_msg(!exists(path(d, "run")) && !exists(path(d, "new")), "a refused start made a folder");
    /* beside it, or in a folder whose name only begins like it: not inside */
    char o[4096];
    snprintf(o, sizeof o, "%s-run", d);
    int rc = gannet(TRAIN " --iters 1 --data %s --out %s", d, o, 0);
    ck_assert_msg(!strstr(out, "is inside the image folder"), "%d: %s", rc, out);
    free(d);
    free(link);
    free(t);
}
END_TEST

/* ---- the settings table ---- */

START_TEST(every_setting_reads_back_what_it_writes) {
    gn_gan_config a, b;
    gn_preset_config("dcgan", &a);
    a.label_smoothing = 0.1f;
    a.seed = 8999999999999999ull;
    snprintf(a.data, sizeof a.data, "/x/a \"quoted\" = path.idx");
    a.data_size = 1234;
    a.data_crc32 = 4294967295ull;
    a.loss = GN_LOSS_HINGE;
    a.ema = 12345.5f;
    snprintf(a.augment, sizeof a.augment, "cutout,color");
    a.image_size = 64;
    a.channels = 3;
    a.ranks = 3;
    a.sync_bn = 1;
    a.precision = GN_PRECISION_BF16;
    a.reduce_slices = 4;
    static char text[GN_SETTINGS_TEXT_MAX];
    size_t n = gn_config_write(&a, text, sizeof text);
    ck_assert_uint_eq(n, strlen(text));
    ck_assert_msg(gn_settings_parse("t", text, NULL, &b) == GN_OK, "%s", gn_last_error());
    for (const gn_setting *s = gn_settings; s->name; s++)
        ck_assert_msg(gn_setting_equal(s, &a, &b), "setting %s did not read back", s->key);
    /* a short buffer: the length needed, a cut but terminated text */
    char small[16];
    ck_assert_uint_eq(gn_config_write(&a, small, sizeof small), n);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    n = gn_config_json(&a, text, sizeof text);
    ck_assert_msg(strstr(text, "\"pixel_range\": \"[-1,1]\",") && strstr(text, "\\\"quoted\\\"") &&
                      strstr(text, "\"data_crc32\": 4294967295,") &&
                      strstr(text, "\"ema\": 12345.5,\n  \"augment\": \"cutout,color\"") &&
                      strstr(text, "\"image_size\": 64,\n  \"channels\": 3") &&
                      strstr(text, "\"ranks\": 3,\n  \"sync_bn\": 1") &&
                      strstr(text, "\"precision\": \"bf16\",") && strstr(text, "\"reduce_slices\": 4"),
                  "%s", text);
}
END_TEST

START_TEST(settings_are_validated_as_the_command_line_does) {
    gn_gan_config c;
    static char text[GN_SETTINGS_TEXT_MAX];
    gn_preset_config("dcgan", &c);
    gn_config_write(&c, text, sizeof text);
    char *batch = strstr(text, "batch=128");
    ck_assert_ptr_nonnull(batch);
    memcpy(batch, "batch=0  ", 9); /* "batch=0" and two spaces: not an integer */
    ck_assert_int_eq(gn_settings_parse("t", text, NULL, &c), GN_ERR_FORMAT);
    ck_assert_msg(strstr(gn_last_error(), "t: setting batch: '0  ' is not an integer"), "%s", gn_last_error());
    memcpy(batch, "batch=0\n\n", 9);
    ck_assert_int_eq(gn_settings_parse("t", text, NULL, &c), GN_ERR_FORMAT);
    ck_assert_msg(strstr(gn_last_error(), "setting batch: 0 is out of range [1, 65536]"), "%s", gn_last_error());
    /* the same words as gannet train --batch 0 */
    ck_assert_int_eq(gannet("train --batch 0", 0, 0, 0), 2);
    ck_assert_msg(strstr(out, "--batch: 0 is out of range [1, 65536]"), "%s", out);
    ck_assert_int_eq(gn_settings_parse("t", "preset=dcgan\n", NULL, &c), GN_ERR_FORMAT);
    ck_assert_msg(strstr(gn_last_error(), "setting iters is missing"), "%s", gn_last_error());
    const gn_setting *data = gn_setting_by_key("data");
    char err[256];
    ck_assert_int_eq(gn_setting_parse(data, "a\nb", &c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "control character"), "%s", err);
    ck_assert_int_eq(gn_setting_parse(gn_setting_by_key("g_lr"), "1e-400", &c, err, sizeof err), -1);
    ck_assert_int_eq(gn_setting_parse(gn_setting_by_key("seed"), "-1", &c, err, sizeof err), -1);
    /* decimal numbers only, as model files promise */
    ck_assert_int_eq(gn_setting_parse(gn_setting_by_key("g_lr"), "0x1p-3", &c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "'0x1p-3' is not a number"), "%s", err);
    ck_assert_int_eq(gn_setting_parse(gn_setting_by_key("batch"), "0x10", &c, err, sizeof err), -1);
    ck_assert_int_eq(gn_setting_parse(gn_setting_by_key("batch"), " 5", &c, err, sizeof err), -1);
    ck_assert_int_eq(gn_setting_parse(gn_setting_by_key("batch"), "+5", &c, err, sizeof err), 0);
    /* ranges are printed as exactly as they are given */
    ck_assert_int_eq(gn_setting_parse(gn_setting_by_key("beta2"), "1", &c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "1 is out of range [0, 0.9999999]"), "%s", err);
    /* the pixel range's former names are read from checkpoints only */
    const gn_setting *range = gn_setting_by_key("range");
    ck_assert_str_eq(range->name, "pixel-range");
    ck_assert_int_eq(gn_setting_parse(range, "pm1", &c, err, sizeof err), -1);
    ck_assert_int_eq(gn_setting_parse(range, "[-1,1]", &c, err, sizeof err), 0);
    ck_assert_int_eq(c.range, GN_RANGE_PM1);
    gn_preset_config("dcgan", &c);
    gn_config_write(&c, text, sizeof text);
    ck_assert_msg(strstr(text, "\nrange=[-1,1]\n"), "%s", text);
    char *r = strstr(text, "range=[-1,1]");
    memcpy(r, "range=01\n\n\n\n", 12);
    ck_assert_msg(gn_settings_parse("t", text, NULL, &c) == GN_OK, "%s", gn_last_error());
    ck_assert_int_eq(c.range, GN_RANGE_01);
}
END_TEST

START_TEST(checkpoints_before_the_table_still_read) {
    /* the settings section of a checkpoint written by gannet before the table
     * (no data record, the order of those days, the model's parameter counts) */
    const char *old = "preset=dcgan\nbatch=8\niters=2\nplot_every=100\ng_lr=0.000199999995\n"
                      "d_lr=0.000199999995\nbeta1=0.5\nbeta2=0.999000013\neps=1.00000001e-07\n"
                      "g_loss=nonsaturating\nd_steps=1\nd_pretrain=0\nlabel_smoothing=0\nnoise=normal\n"
                      "zdim=100\nrange=pm1\nseed=1\nthreads=1\neval_every=0\ng_params=1818753\n"
                      "d_params=145090\n";
    const char *const model[] = {"g_params", "d_params", NULL};
    gn_gan_config c, want;
    ck_assert_msg(gn_settings_parse("old", old, model, &c) == GN_OK, "%s", gn_last_error());
    gn_preset_config("dcgan", &want);
    want.batch = 8;
    want.iters = 2;
    want.threads = 1;
    for (const gn_setting *s = gn_settings; s->name; s++)
        ck_assert_msg(gn_setting_equal(s, &c, &want), "setting %s", s->key);
    ck_assert_str_eq(c.data, "");
}
END_TEST

int main(void) {
    Suite *s = suite_create("runs");
    TCase *t = tcase_create("runs");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, a_run_is_not_replaced_without_overwrite);
    tcase_add_test(t, overwrite_removes_only_gannets_files);
    tcase_add_test(t, a_locked_run_folder_is_refused);
    tcase_add_test(t, resume_trains_on_the_recorded_data);
    tcase_add_test(t, a_stream_trained_run_resumes_with_a_file_of_its_images);
    tcase_add_test(t, a_run_folder_path_too_long_is_refused);
    tcase_add_test(t, resume_below_the_iterations_done_changes_nothing);
    tcase_add_test(t, data_of_the_wrong_shape_leaves_no_folder);
    tcase_add_test(t, a_run_folder_inside_its_image_folder_is_refused);
    tcase_add_test(t, dcgan_follows_rgb_data);
    tcase_add_test(t, every_setting_reads_back_what_it_writes);
    tcase_add_test(t, settings_are_validated_as_the_command_line_does);
    tcase_add_test(t, checkpoints_before_the_table_still_read);
    suite_add_tcase(s, t);
    return tu_run_suite(s);
}
