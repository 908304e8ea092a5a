/* gn_dataset_open (gannet/data.h): training images from a folder, an IDX
 * file or Debian's Fashion-MNIST, fitted to S x S x C in one u8 cache. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <omp.h>

#include "data/folder.h"
#include "data/image.h"
#include "gannet/data.h"
#include "gannet/memory.h"

#define MIB (1024.0 * 1024.0)
/* What decoding takes beside the cache, per thread, in the memory check: a
 * 12-megapixel RGB photo decoded (36 MB), its file and its row pass. */
#define DECODE_BYTES_PER_THREAD ((size_t)64 << 20)

static gn_status check_opts(const gn_data_opts *o) {
    if (o->image_size < 0 || o->image_size > GN_IMAGE_SIZE_MAX)
        return gn_fail(GN_ERR_ARG, "--image-size %d: not in [1, %d]", o->image_size, GN_IMAGE_SIZE_MAX);
    if (o->channels != 0 && o->channels != 1 && o->channels != 3)
        return gn_fail(GN_ERR_ARG, "--channels %d: images have 1 channel (gray) or 3 (RGB)", o->channels);
    return GN_OK;
}

/* Refuses a cache of `need` bytes (and what decoding beside it takes) that
 * the memory cannot hold, before allocating it. */
static gn_status check_memory(const char *path, size_t n, int S, int C, size_t extra) {
    size_t per = (size_t)S * S * C;
    if (n > SIZE_MAX / per / 2) return gn_fail(GN_ERR_NOMEM, "%s: %zu images of %dx%dx%d overflow the address space", path, n, S, S, C);
    char source[128];
    size_t need = n * per + extra, avail = gn_mem_available(source, sizeof source);
    if (need <= avail) return GN_OK;
    return gn_fail(GN_ERR_NOMEM, "%s: %zu images of %dx%dx%d need %.1f MiB in memory (the cache and "
                   "decoding), more than the %.1f MiB available (%s); use a smaller --image-size, "
                   "--channels 1 or fewer images", path, n, S, S, C, need / MIB, avail / MIB, source);
}

/* Calls the progress callback from thread 0 as items complete. */
static void tick(const gn_data_opts *o, size_t *done, size_t total) {
    size_t d;
#pragma omp atomic capture
    d = ++*done;
    if (o->progress && omp_get_thread_num() == 0) o->progress(o->progress_ctx, d, total);
}

/* Decodes list[i] into cache slot i (per bytes); why[i] says why not. */
static void decode_all(const char *root, const gn_file_list *l, int S, int C, const gn_data_opts *o,
                       uint8_t *cache, const char **why, uint8_t *from_stb) {
    size_t per = (size_t)S * S * C, done = 0;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t i = 0; i < l->n; i++) {
        char path[8192];
        uint8_t *px = NULL;
        int w, h, c;
        snprintf(path, sizeof path, "%s/%s", root, l->paths[i]);
        int r = gn_image_read(path, &px, &w, &h, &c, &why[i]);
        if (!r) gn_image_fit(px, w, h, c, S, C, cache + i * per, &why[i]);
        from_stb[i] = r == GN_IMAGE_STB_REASON;
        free(px);
        tick(o, &done, l->n);
    }
    if (o->progress) o->progress(o->progress_ctx, l->n, l->n);
}

/* The folder's fingerprint: CRC-32 of the kept relative paths (each with
 * its NUL), the cache, and "S,C". */
static gn_fingerprint folder_fingerprint(const gn_file_list *l, const char **why, const uint8_t *px,
                                         size_t bytes, int S, int C) {
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t i = 0; i < l->n; i++)
        if (!why[i]) crc = crc32(crc, (const Bytef *)l->paths[i], (uInt)strlen(l->paths[i]) + 1);
    for (size_t at = 0; at < bytes; at += 1u << 30) {
        size_t k = bytes - at < (1u << 30) ? bytes - at : (1u << 30);
        crc = crc32(crc, px + at, (uInt)k);
    }
    char sc[32];
    int n = snprintf(sc, sizeof sc, "%d,%d", S, C);
    crc = crc32(crc, (const Bytef *)sc, (uInt)n);
    return (gn_fingerprint){bytes, (uint32_t)crc};
}

/* Moves the decoded images to the front in order, records the skipped. */
static size_t compact(const gn_file_list *l, const char **why, const uint8_t *from_stb, uint8_t *cache,
                      size_t per, gn_skips *sk) {
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (why[i]) {
            char r[128];
            snprintf(r, sizeof r, "%s%s", from_stb[i] ? "stb_image: " : "", why[i]);
            gn_skips_add(sk, l->paths[i], r);
            continue;
        }
        if (kept != i) memmove(cache + kept * per, cache + i * per, per);
        kept++;
    }
    return kept;
}

static gn_status folder_result(const char *root, const gn_file_list *l, const gn_skips *sk, size_t kept,
                               const gn_data_opts *o, gn_data_report *rep) {
    rep->found = l->n;
    rep->skipped = sk->n;
    snprintf(rep->skipped_text, sizeof rep->skipped_text, "%s", sk->text);
    if (o->strict && sk->n)
        return gn_fail(GN_ERR_ARG, "%s/%s; --strict refuses a folder with a file it cannot use", root, sk->first);
    if (!kept && !l->n && !sk->n)
        return gn_fail(GN_ERR_ARG, "%s: no PNG, JPEG, BMP, TGA or GIF file in this folder or below", root);
    if (!kept)
        return gn_fail(GN_ERR_ARG, "%s: none of the %zu image files could be used: %s%s", root, sk->n,
                       sk->text, sk->n > GN_SKIPS_NAMED ? "; ..." : "");
    return GN_OK;
}

static gn_status load_folder(const char *root, const gn_data_opts *o, gn_data_report *rep, gn_dataset *ds) {
    int S = o->image_size ? o->image_size : GN_FOLDER_IMAGE_SIZE;
    int C = o->channels ? o->channels : GN_FOLDER_CHANNELS;
    gn_file_list l;
    gn_skips sk;
    gn_status s = gn_folder_list(root, &l, &sk);
    if (s) return s;
    rep->folder = rep->converted = 1;
    size_t per = (size_t)S * S * C;
    size_t extra = (size_t)omp_get_max_threads() * DECODE_BYTES_PER_THREAD;
    uint8_t *cache = NULL, *from_stb = NULL;
    const char **why = NULL;
    if (!l.n || (o->strict && sk.n)) {
        s = folder_result(root, &l, &sk, 0, o, rep);
        goto done;
    }
    if ((s = check_memory(root, l.n, S, C, extra))) goto done;
    cache = malloc(l.n * per);
    why = calloc(l.n, sizeof *why);
    from_stb = calloc(l.n, 1);
    if (!cache || !why || !from_stb) {
        s = gn_fail(GN_ERR_NOMEM, "%s: out of memory for %zu images of %dx%dx%d", root, l.n, S, S, C);
        goto done;
    }
    decode_all(root, &l, S, C, o, cache, why, from_stb);
    size_t kept = compact(&l, why, from_stb, cache, per, &sk);
    if ((s = folder_result(root, &l, &sk, kept, o, rep))) goto done;
    uint8_t *fit = realloc(cache, kept * per);
    if (fit) cache = fit;
    ds->fp = folder_fingerprint(&l, why, cache, kept * per, S, C);
    ds->n = kept;
    ds->h = ds->w = S;
    ds->c = C;
    ds->pixels = cache;
    cache = NULL;
done:
    free(cache);
    free(why);
    free(from_stb);
    gn_file_list_free(&l);
    return s;
}

/* An IDX set whose size or channels differ from S, C: each item fitted. */
static gn_status convert_idx(const char *path, const gn_data_opts *o, gn_data_report *rep, gn_dataset *ds) {
    int S = o->image_size ? o->image_size : (ds->h == ds->w ? ds->h : (ds->h < ds->w ? ds->h : ds->w));
    int C = o->channels ? o->channels : ds->c;
    if (S == ds->h && S == ds->w && C == ds->c) return GN_OK;
    if (ds->c != 1 && ds->c != 3)
        return gn_fail(GN_ERR_ARG, "%s: images of %d channels cannot be converted (1 or 3 can)", path, ds->c);
    gn_status s = check_memory(path, ds->n, S, C, 0);
    if (s) return s;
    size_t per = (size_t)S * S * C, in = (size_t)ds->h * ds->w * ds->c, done = 0;
    uint8_t *px = malloc(ds->n * per);
    if (!px) return gn_fail(GN_ERR_NOMEM, "%s: out of memory for %zu images of %dx%dx%d", path, ds->n, S, S, C);
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 64) reduction(| : failed)
    for (size_t i = 0; i < ds->n; i++) {
        const char *why;
        failed |= gn_image_fit(ds->pixels + i * in, ds->w, ds->h, ds->c, S, C, px + i * per, &why) != 0;
        tick(o, &done, ds->n);
    }
    if (o->progress) o->progress(o->progress_ctx, ds->n, ds->n);
    if (failed) {
        free(px);
        return gn_fail(GN_ERR_NOMEM, "%s: out of memory while resizing", path);
    }
    char sc[32];
    int n = snprintf(sc, sizeof sc, "%d,%d", S, C);
    ds->fp.crc32 = (uint32_t)crc32(ds->fp.crc32, (const Bytef *)sc, (uInt)n);
    free(ds->pixels);
    ds->pixels = px;
    ds->h = ds->w = S;
    ds->c = C;
    rep->converted = 1;
    return GN_OK;
}

gn_status gn_dataset_open(const char *path, const gn_data_opts *o, gn_data_report *rep, gn_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    memset(rep, 0, sizeof *rep);
    if (!path || !o) return gn_fail(GN_ERR_ARG, "gn_dataset_open: path or options are NULL");
    gn_status s = check_opts(o);
    if (s) return s;
    if (!strcmp(path, GN_FASHION_MNIST)) {
        if (access(GN_FASHION_MNIST_PATH, R_OK))
            return gn_fail(GN_ERR_ARG, "--data %s: %s is missing (%s): install Debian's package %s "
                           "(sudo apt-get install %s; ./run train does it)", path, GN_FASHION_MNIST_PATH,
                           strerror(errno), GN_FASHION_MNIST_PACKAGE, GN_FASHION_MNIST_PACKAGE);
        path = GN_FASHION_MNIST_PATH;
    }
    snprintf(rep->path, sizeof rep->path, "%s", path);
    struct stat st;
    int exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) return load_folder(path, o, rep, ds);
    if (exists && S_ISREG(st.st_mode) && gn_is_image_name(path))
        return gn_fail(GN_ERR_ARG, "%s: --data takes a folder of images, an IDX file or %s, not one picture: "
                       "put it in a folder", path, GN_FASHION_MNIST);
    if ((s = gn_dataset_load(path, NULL, ds))) return s;
    if ((s = convert_idx(path, o, rep, ds))) gn_dataset_free(ds);
    return s;
}
