/* Run folders: paths, the lock, the files of a run, the recorded data. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gannet/settings.h"
#include "runfolder.h"

/* The files a training writes at the top of its folder. */
static const char *const top_files[] = {"checkpoint.gnt", "config.json", "losses.csv", "losses.png",
                                        "scores.png", "real.png", NULL};
#define SAMPLES "samples"

gn_status gn_run_set_dir(char *dst, const char *dir, const char *option) {
    size_t n = strlen(dir);
    if (n > GN_RUN_DIR_MAX)
        return gn_fail(GN_ERR_ARG, "%s: a run folder path of %zu bytes is too long (at most %d)", option,
                       n, GN_RUN_DIR_MAX);
    memcpy(dst, dir, n + 1);
    return GN_OK;
}

/* path made absolute with its links resolved, for a path whose end may not
 * exist yet: the longest part that exists goes through realpath(3), the rest
 * is appended component by component ("." dropped, ".." taking one off).
 * Returns 0, or -1 when no part can be resolved or the result is too long. */
static int resolve_path(const char *path, char *out) {
    char head[PATH_MAX], tail[PATH_MAX] = "";
    if (snprintf(head, sizeof head, "%s", *path ? path : ".") >= (int)sizeof head) return -1;
    while (!realpath(head, out)) {
        if (errno != ENOENT) return -1;
        char *slash = strrchr(head, '/');
        const char *last = slash ? slash + 1 : head;
        char t[PATH_MAX];
        if (snprintf(t, sizeof t, "%s%s%s", last, *tail ? "/" : "", tail) >= (int)sizeof t) return -1;
        memcpy(tail, t, sizeof t);
        if (!slash) snprintf(head, sizeof head, ".");
        else if (slash == head) snprintf(head, sizeof head, "/");
        else *slash = 0;
    }
    for (char *c = strtok(tail, "/"); c; c = strtok(NULL, "/")) {
        size_t n = strlen(out);
        if (!strcmp(c, ".")) continue;
        if (!strcmp(c, "..")) {
            char *up = strrchr(out, '/');
            if (up) up[up == out] = 0; /* "/a" -> "/", "/a/b" -> "/a" */
            continue;
        }
        if (n + 1 + strlen(c) >= PATH_MAX) return -1;
        snprintf(out + n, PATH_MAX - n, "%s%s", out[n - 1] == '/' ? "" : "/", c);
    }
    return 0;
}

gn_status gn_run_check_outside(const char *dir, const char *data) {
    struct stat st;
    char d[PATH_MAX], r[PATH_MAX];
    if (stat(data, &st) || !S_ISDIR(st.st_mode)) return GN_OK;
    if (!realpath(data, d) || resolve_path(dir, r)) return GN_OK; /* the load reports a folder it cannot read */
    size_t n = strlen(d);
    int under = n == 1 || (!strncmp(r, d, n) && (r[n] == 0 || r[n] == '/'));
    if (!under) return GN_OK;
    return gn_fail(GN_ERR_ARG, "run folder %s is inside the image folder %s: its sample grids would be read back "
                   "as training images: train into (--out), or move the run to, a folder outside it", dir, data);
}

static gn_status make_dir(const char *path, int *made) {
    *made = mkdir(path, 0755) == 0;
    if (!*made && errno != EEXIST)
        return gn_fail(GN_ERR_IO, "%s: cannot create folder: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) || !S_ISDIR(st.st_mode))
        return gn_fail(GN_ERR_IO, "%s: exists and is not a folder", path);
    return GN_OK;
}

gn_status gn_run_make_dirs(const char *path, int *made) {
    char p[GN_RUN_PATH_MAX];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        gn_status st = make_dir(p, made);
        *s = '/';
        if (st) return st;
    }
    return make_dir(p, made);
}

gn_status gn_run_lock(const char *dir, int *fd_out) {
    char path[GN_RUN_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, GN_RUN_LOCK_FILE);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return gn_fail(GN_ERR_IO, "%s: cannot create the lock file: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = e == EWOULDBLOCK ? pread(fd, pid, sizeof pid - 1, 0) : -1;
        close(fd);
        if (e != EWOULDBLOCK)
            return gn_fail(GN_ERR_IO, "%s: cannot lock: %s", path, strerror(e));
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        return gn_fail(GN_ERR_IO, "%s: another gannet%s%s%s is training in this run folder; wait for "
                       "it to finish or stop it first", dir, *pid ? " (process " : "", pid, *pid ? ")" : "");
    }
    char text[32];
    int len = snprintf(text, sizeof text, "%d\n", (int)getpid());
    /* the id only helps the message above: a failure to write it is harmless */
    if (ftruncate(fd, 0) == 0 && pwrite(fd, text, (size_t)len, 0) != len) (void)0;
    *fd_out = fd;
    return GN_OK;
}

void gn_run_unlock(int fd) {
    if (fd >= 0) close(fd);
}

static int listed(const char *name, const char *const *list) {
    for (int i = 0; list[i]; i++)
        if (!strcmp(name, list[i])) return 1;
    return 0;
}

/* Whether s is digits, or digits and dots (a temporary name's suffix), and not empty. */
static int digits(const char *s, int dots) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!(*s >= '0' && *s <= '9') && !(dots && *s == '.')) return 0;
    return 1;
}

/* A sample grid: iter_<digits>.png. */
static int is_grid(const char *name) {
    size_t n = strlen(name);
    if (strncmp(name, "iter_", 5) || n < 10 || strcmp(name + n - 4, ".png")) return 0;
    char mid[64];
    if (n - 9 >= sizeof mid) return 0;
    memcpy(mid, name + 5, n - 9);
    mid[n - 9] = 0;
    return digits(mid, 0);
}

/* A writer's temporary file for one of gannet's files: NAME.tmp.<digits and dots>. */
static int is_temp(const char *name, int in_samples) {
    const char *t = strstr(name, ".tmp.");
    if (!t || !digits(t + 5, 1)) return 0;
    char base[256];
    size_t n = (size_t)(t - name);
    if (n >= sizeof base) return 0;
    memcpy(base, name, n);
    base[n] = 0;
    return in_samples ? is_grid(base) : listed(base, top_files);
}

/* Visits the files of a run in dir (a folder's own entries, one level):
 * counts them, removes them when `remove`; the first name goes into first. */
static int visit(const char *dir, int in_samples, int remove, char *first, size_t len, int *failed) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int mine = in_samples ? is_grid(e->d_name) : listed(e->d_name, top_files);
        if (!mine && !(remove && is_temp(e->d_name, in_samples))) continue;
        if (!found && first) snprintf(first, len, "%s%s", in_samples ? SAMPLES "/" : "", e->d_name);
        found++;
        char p[2 * GN_RUN_PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (remove && unlink(p) && errno != ENOENT) *failed = errno;
    }
    closedir(d);
    return found;
}

int gn_run_exists(const char *dir, char *first, size_t len) {
    char p[GN_RUN_PATH_MAX + 32];
    struct stat st;
    for (int i = 0; top_files[i]; i++) { /* the most telling name first */
        snprintf(p, sizeof p, "%s/%s", dir, top_files[i]);
        if (lstat(p, &st) == 0) {
            snprintf(first, len, "%s", top_files[i]);
            return 1;
        }
    }
    snprintf(p, sizeof p, "%s/" SAMPLES, dir);
    int failed = 0;
    return visit(p, 1, 0, first, len, &failed) > 0;
}

gn_status gn_run_clear(const char *dir) {
    char sub[GN_RUN_PATH_MAX];
    snprintf(sub, sizeof sub, "%s/" SAMPLES, dir);
    int failed = 0;
    visit(dir, 0, 1, NULL, 0, &failed);
    visit(sub, 1, 1, NULL, 0, &failed);
    if (failed)
        return gn_fail(GN_ERR_IO, "%s: cannot remove the earlier run's files: %s", dir, strerror(failed));
    rmdir(sub); /* only when empty: a user's files there stay */
    return GN_OK;
}

void gn_run_unmake(const char *dir) {
    char p[GN_RUN_PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, GN_RUN_LOCK_FILE);
    unlink(p);
    snprintf(p, sizeof p, "%s/" SAMPLES, dir);
    rmdir(p);
    rmdir(dir);
}

/* Sets cfg->data to the absolute form of path, validated as a setting. A
 * stream read through a descriptor (/dev/fd/63 of <(zcat x.gz), /dev/stdin on
 * a pipe) resolves to no file: its path is kept as given, made absolute. */
static gn_status set_data_path(gn_gan_config *cfg, const char *path) {
    char abs[PATH_MAX], cwd[PATH_MAX], err[512];
    if (!realpath(path, abs)) {
        if (path[0] != '/' && !getcwd(cwd, sizeof cwd))
            return gn_fail(GN_ERR_IO, "%s: cannot make the path absolute: %s", path, strerror(errno));
        int n = path[0] == '/' ? snprintf(abs, sizeof abs, "%s", path)
                               : snprintf(abs, sizeof abs, "%s/%s", cwd, path);
        if (n < 0 || (size_t)n >= sizeof abs)
            return gn_fail(GN_ERR_ARG, "%s: the absolute path is longer than %d bytes", path, PATH_MAX - 1);
    }
    if (gn_setting_parse(gn_setting_by_key("data"), abs, cfg, err, sizeof err))
        return gn_fail(GN_ERR_ARG, "%s: cannot be recorded as the run's data: %s", abs, err);
    return GN_OK;
}

gn_status gn_run_record_data(gn_gan_config *cfg, const char *path, const gn_fingerprint *fp) {
    gn_status s = set_data_path(cfg, path);
    cfg->data_size = fp->size;
    cfg->data_crc32 = fp->crc32;
    return s;
}

/* Whether path names one of a process's descriptors (bash's <(...) gives
 * /dev/fd/63): what it reads is gone with that process. */
static int names_descriptor(const char *path) {
    static const char *const prefixes[] = {"/dev/fd/", "/dev/stdin", "/proc/self/fd/", NULL};
    for (const char *const *p = prefixes; *p; p++)
        if (!strncmp(path, *p, strlen(*p))) return 1;
    return !strncmp(path, "/proc/", 6) && strstr(path, "/fd/") != NULL;
}

gn_status gn_run_find_data(const gn_gan_config *rec, int data_given) {
    if (!rec->data[0] || data_given) return GN_OK; /* checked once loaded */
    struct stat st;
    int missing = stat(rec->data, &st) != 0, e = errno;
    if (names_descriptor(rec->data) || (!missing && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)))
        return gn_fail(GN_ERR_ARG, "%s: the run's data was a stream (a pipe, FIFO or descriptor), which "
                       "cannot be read again; resume with --data FILE holding the same images (their "
                       "size and CRC-32 are checked)", rec->data);
    if (missing && e == ENOENT && !strcmp(rec->data, GN_FASHION_MNIST_PATH))
        return gn_fail(GN_ERR_IO, "%s: the run's data is gone (%s): reinstall Debian's package %s", rec->data,
                       strerror(ENOENT), GN_FASHION_MNIST_PACKAGE);
    if (missing && e == ENOENT)
        return gn_fail(GN_ERR_IO, "%s: the run's data is gone (%s); if it moved, resume with "
                       "--data NEWPATH", rec->data, strerror(ENOENT));
    return GN_OK;
}

gn_status gn_run_check_data(gn_gan_config *cfg, const gn_gan_config *rec, const gn_fingerprint *fp) {
    if (fp->size != rec->data_size || fp->crc32 != rec->data_crc32) {
        unsigned long long size = fp->size, crc = fp->crc32;
        struct stat st;
        if (stat(cfg->data, &st) == 0 && S_ISDIR(st.st_mode))
            return gn_fail(GN_ERR_ARG, "%s: the images are not those this run was trained on (%s: %llu "
                           "bytes of images, CRC-32 %08llx; now %llu bytes, CRC-32 %08llx): files were "
                           "added, removed, renamed or changed, or --image-size or --channels differ; "
                           "resume with --data holding the original images", cfg->data, rec->data,
                           (unsigned long long)rec->data_size, (unsigned long long)rec->data_crc32, size, crc);
        if (strcmp(cfg->data, rec->data))
            return gn_fail(GN_ERR_ARG, "--data %s: %llu bytes of IDX data, CRC-32 %08llx, is not the "
                           "data this run was trained on (%s: %llu bytes, CRC-32 %08llx)", cfg->data,
                           size, crc, rec->data, (unsigned long long)rec->data_size,
                           (unsigned long long)rec->data_crc32);
        return gn_fail(GN_ERR_FORMAT, "%s: the run's data changed since it was recorded (%llu bytes of "
                       "IDX data, CRC-32 %08llx; now %llu bytes, CRC-32 %08llx); resume with --data "
                       "COPY of the original", rec->data, (unsigned long long)rec->data_size,
                       (unsigned long long)rec->data_crc32, size, crc);
    }
    return set_data_path(cfg, cfg->data);
}
