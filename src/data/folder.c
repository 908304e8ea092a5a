/* Walking an image folder (see folder.h): readdir, names sorted per
 * folder, stat to follow links, the folders being walked kept on a stack
 * of (device, inode) so that a link loop is seen and not entered. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/folder.h"
#include "gannet/files.h"

static const char *const image_exts[] = {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".gif", NULL};

int gn_is_image_name(const char *name) {
    size_t n = strlen(name);
    for (int i = 0; image_exts[i]; i++) {
        size_t k = strlen(image_exts[i]);
        if (n > k && !strcasecmp(name + n - k, image_exts[i])) return 1;
    }
    return 0;
}

void gn_skips_add(gn_skips *s, const char *path, const char *why) {
    if (s->n == 0) snprintf(s->first, sizeof s->first, "%.900s (%.100s)", path, why);
    if (s->n < GN_SKIPS_NAMED) {
        size_t at = strlen(s->text);
        snprintf(s->text + at, sizeof s->text - at, "%s%.300s (%.80s)", at ? "; " : "", path, why);
    }
    s->n++;
}

void gn_file_list_free(gn_file_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->paths[i]);
    free(l->paths);
    memset(l, 0, sizeof *l);
}

static int list_push(gn_file_list *l, const char *rel) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        char **p = realloc(l->paths, cap * sizeof *p);
        if (!p) return -1;
        l->paths = p;
        l->cap = cap;
    }
    if (!(l->paths[l->n] = strdup(rel))) return -1;
    l->n++;
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A folder's entry names, sorted, without "." ".." and hidden names. */
static int read_names(const char *dir, char ***names, size_t *n) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return -1;
    size_t cap = 0;
    struct dirent *e;
    int r = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **p = realloc(*names, cap * sizeof *p);
            if (!p) { r = -2; break; }
            *names = p;
        }
        if (!((*names)[*n] = strdup(e->d_name))) { r = -2; break; }
        (*n)++;
    }
    closedir(d);
    if (*n) qsort(*names, *n, sizeof **names, by_name);
    return r;
}

/* The walk's state: the root, the folders entered (for loops), the output. */
typedef struct walk {
    const char *root;
    dev_t dev[GN_FOLDER_DEPTH_MAX + 1];
    ino_t ino[GN_FOLDER_DEPTH_MAX + 1];
    gn_file_list *out;
    gn_skips *skips;
} walk;

static int walk_dir(walk *w, const char *rel, int depth);

/* One entry of a folder: an image goes on the list, a folder is entered. */
static int visit(walk *w, const char *rel, const char *name, int depth) {
    char full[PATH_MAX], sub[PATH_MAX];
    int n1 = snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", name);
    int n2 = snprintf(full, sizeof full, "%s/%s", w->root, sub);
    int image = gn_is_image_name(name);
    if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof full) {
        if (image) gn_skips_add(w->skips, sub, "path too long");
        return 0;
    }
    struct stat st;
    if (stat(full, &st)) {
        if (image) gn_skips_add(w->skips, sub, strerror(errno));
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        for (int i = 0; i <= depth; i++)
            if (w->dev[i] == st.st_dev && w->ino[i] == st.st_ino) {
                gn_skips_add(w->skips, sub, "a link back to a folder above it: not entered");
                return 0;
            }
        if (depth + 1 > GN_FOLDER_DEPTH_MAX) {
            gn_skips_add(w->skips, sub, "folder nested too deep: not entered");
            return 0;
        }
        w->dev[depth + 1] = st.st_dev;
        w->ino[depth + 1] = st.st_ino;
        return walk_dir(w, sub, depth + 1);
    }
    if (!image) return 0;
    if (!S_ISREG(st.st_mode)) {
        gn_skips_add(w->skips, sub, gn_file_kind(st.st_mode));
        return 0;
    }
    return list_push(w->out, sub);
}

static int walk_dir(walk *w, const char *rel, int depth) {
    char full[PATH_MAX];
    snprintf(full, sizeof full, "%s%s%s", w->root, *rel ? "/" : "", rel);
    char **names;
    size_t n;
    int r = read_names(full, &names, &n);
    if (r == -1) gn_skips_add(w->skips, *rel ? rel : ".", strerror(errno));
    for (size_t i = 0; i < n; i++) {
        if (!r) r = visit(w, rel, names[i], depth) ? -2 : 0;
        free(names[i]);
    }
    free(names);
    return r == -2 ? -1 : 0;
}

gn_status gn_folder_list(const char *root, gn_file_list *out, gn_skips *skips) {
    memset(out, 0, sizeof *out);
    memset(skips, 0, sizeof *skips);
    walk w = {.root = root, .out = out, .skips = skips};
    struct stat st;
    DIR *d = opendir(root);
    if (!d || stat(root, &st)) {
        gn_status s = gn_fail(GN_ERR_IO, "%s: cannot read the folder: %s", root, strerror(errno));
        if (d) closedir(d);
        return s;
    }
    closedir(d);
    w.dev[0] = st.st_dev;
    w.ino[0] = st.st_ino;
    if (walk_dir(&w, "", 0)) {
        gn_file_list_free(out);
        return gn_fail(GN_ERR_NOMEM, "%s: out of memory listing the image files", root);
    }
    return GN_OK;
}
