/* libFuzzer target for image folders: the decoder and the fit on the raw
 * input, then the same bytes as the files of a small folder (nested, with
 * a link loop and a FIFO) loaded with gn_dataset_open.
 *
 * The first byte picks the fit: S = 1 + (b & 31), C = 3 when b & 0x80 else
 * 1, strict when b & 0x40. The rest is split on "\n--\n" into up to five
 * files with different image names and depths (missing parts are empty
 * files). Besides the sanitizers, it checks the loader's promises: a
 * success gives 1 to 5 images of S x S x C, a fingerprint of that size and
 * every byte readable; a failure is GN_ERR_ARG (nothing usable, --strict)
 * or GN_ERR_NOMEM, leaves the data set empty and names the folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/image.h"
#include "fuzz_util.h"
#include "gannet/data.h"

#define N_FILES 5
static const char *const names[N_FILES] = {"a.png", "sub/b.jpg", "sub/deep/c.gif", "d.BMP", "sub/e.tga"};

static void require(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fuzz_imagedir: broken promise: %s (%s)\n", what, gn_last_error());
        abort();
    }
}

static char *made;

/* Removes the folder (registered after fz_tmp_path's clean-up, so it runs first). */
static void remove_tree(void) {
    static const char *const extra[] = {"sub/up", "f.png", NULL};
    char p[4096];
    for (int i = 0; i < N_FILES; i++) {
        snprintf(p, sizeof p, "%s/%s", made, names[i]);
        unlink(p);
    }
    for (int i = 0; extra[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", made, extra[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/sub/deep", made);
    rmdir(p);
    snprintf(p, sizeof p, "%s/sub", made);
    rmdir(p);
    rmdir(made);
}

/* The folder, made once: sub/deep/, a link sub/up -> .., a FIFO f.png. */
static const char *root(void) {
    static const char *dir;
    if (dir) return dir;
    char *d = strdup(fz_tmp_path("images"));
    char p[4096];
    mkdir(d, 0755);
    snprintf(p, sizeof p, "%s/sub", d);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sub/deep", d);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sub/up", d);
    if (symlink("..", p)) (void)0;
    snprintf(p, sizeof p, "%s/f.png", d);
    if (mkfifo(p, 0644)) (void)0;
    made = d;
    atexit(remove_tree);
    return dir = d;
}

static volatile unsigned sink;

/* Reads every byte, so that a short buffer shows up under ASan. */
static void touch_all(const uint8_t *p, size_t n) {
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) sum += p[i];
    sink = sum;
}

/* The decoder and the fit on the bytes themselves. */
static void decode_direct(const uint8_t *data, size_t size, int S, int C) {
    uint8_t *px;
    int w, h, c;
    const char *why;
    if (gn_image_decode(data, size, &px, &w, &h, &c, &why)) {
        require(px == NULL && why && *why, "a failure gives a reason and no pixels");
        return;
    }
    require(w > 0 && h > 0 && (c == 1 || c == 3), "a decoded picture has a size and 1 or 3 channels");
    touch_all(px, (size_t)w * h * c);
    uint8_t *out = malloc((size_t)S * S * C);
    require(gn_image_fit(px, w, h, c, S, C, out, &why) == 0, "the fit succeeds");
    touch_all(out, (size_t)S * S * C);
    free(out);
    free(px);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int S = 1 + (data[0] & 31), C = data[0] & 0x80 ? 3 : 1, strict = !!(data[0] & 0x40);
    data++;
    size--;
    decode_direct(data, size, S, C);
    const char *dir = root();
    const uint8_t *p = data, *end = data + size;
    for (int i = 0; i < N_FILES; i++) {
        const uint8_t *sep = p < end ? memmem(p, (size_t)(end - p), "\n--\n", 4) : NULL;
        const uint8_t *stop = sep ? sep : end;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        fz_write_file(path, p < end ? p : data, p < end ? (size_t)(stop - p) : 0);
        p = sep ? sep + 4 : end;
    }
    gn_data_opts o = {S, C, strict, NULL, NULL};
    gn_data_report rep;
    gn_dataset ds;
    gn_status s = gn_dataset_open(dir, &o, &rep, &ds);
    if (s == GN_OK) {
        require(ds.n >= 1 && ds.n <= N_FILES, "1 to 5 images");
        require(ds.h == S && ds.w == S && ds.c == C, "images of S x S x C");
        require(ds.fp.size == ds.n * (size_t)S * S * C, "the fingerprint's size is the cache's");
        require(rep.skipped >= 2, "the FIFO and the loop are skipped");
        touch_all(ds.pixels, ds.fp.size);
        gn_dataset_free(&ds);
    } else {
        require(s == GN_ERR_ARG || s == GN_ERR_NOMEM, "status is ARG or NOMEM");
        require(ds.pixels == NULL && ds.n == 0, "a failure leaves the set empty");
        require(strstr(gn_last_error(), dir) != NULL, "the message names the folder");
    }
    return 0;
}
