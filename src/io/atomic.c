/* The atomic writer (see gannet/atomic.h): temporary file, fsync, rename,
 * fsync of the folder. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gannet/atomic.h"

#define TEMP_TAG ".gannet-tmp." /* between the target's name and the writer's pid */
#define TEMP_TRIES 100          /* names tried before giving up (another file holds each) */

/* Splits path into its folder ("." when none) and base name; the caller frees *dir. */
static char *folder_of(const char *path, const char **base) {
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

gn_status gn_atomic_begin(gn_atomic_file *a, const char *path, const char *what) {
    memset(a, 0, sizeof *a);
    a->what = what;
    if (!path || !*path) return gn_fail(GN_ERR_ARG, "%s: no output path given", what);
    const char *base;
    char *dir = folder_of(path, &base);
    size_t len = strlen(path) + strlen(TEMP_TAG) + 48;
    a->path = strdup(path);
    a->tmp = malloc(len);
    if (!dir || !a->path || !a->tmp) {
        free(dir);
        gn_atomic_abort(a);
        return gn_fail(GN_ERR_NOMEM, "%s: out of memory", path);
    }
    // the pid and a counter keep concurrent writers (processes or threads) apart
    static atomic_uint seq;
    int fd = -1, e = 0;
    for (int i = 0; i < TEMP_TRIES && fd < 0; i++) {
        snprintf(a->tmp, len, "%s/.%s" TEMP_TAG "%ld.%u", dir, base, (long)getpid(),
                 atomic_fetch_add(&seq, 1));
        fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        e = errno;
        if (fd < 0 && e != EEXIST) break;
    }
    free(dir);
    if (fd < 0) {
        free(a->tmp);
        a->tmp = NULL; /* nothing was created: nothing to remove */
        gn_atomic_abort(a);
        return gn_fail(GN_ERR_IO, "%s: cannot create %s: %s", path, what, strerror(e));
    }
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        e = errno;
        close(fd);
        gn_atomic_abort(a);
        return gn_fail(GN_ERR_IO, "%s: cannot create %s: %s", path, what, strerror(e));
    }
    return GN_OK;
}

void gn_atomic_put(gn_atomic_file *a, const void *p, size_t n) {
    if (a->err || !n) return;
    errno = 0;
    if (fwrite(p, 1, n, a->f) != n) a->err = errno ? errno : EIO;
}

void gn_atomic_set_error(gn_atomic_file *a, int err) {
    if (!a->err) a->err = err ? err : EIO;
}

void gn_atomic_abort(gn_atomic_file *a) {
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    const char *what = a->what;
    memset(a, 0, sizeof *a);
    a->what = what;
}

/* Makes a rename in path's folder durable. A folder that cannot be opened or
 * synced (some file systems refuse) changes nothing: the rename is done. */
static void sync_folder(const char *path) {
    const char *base;
    char *dir = folder_of(path, &base);
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

gn_status gn_atomic_commit(gn_atomic_file *a) {
    int e = a->err;
    if (!e && fflush(a->f)) e = errno ? errno : EIO;
    if (!e && ferror(a->f)) e = EIO; /* a caller's own fprintf failed earlier */
    if (!e && fsync(fileno(a->f))) e = errno;
    if (fclose(a->f) && !e) e = errno ? errno : EIO;
    a->f = NULL;
    if (!e && rename(a->tmp, a->path)) e = errno;
    if (e) {
        gn_status s = gn_fail(GN_ERR_IO, "%s: cannot write %s: %s", a->path, a->what, strerror(e));
        gn_atomic_abort(a);
        return s;
    }
    sync_folder(a->path);
    free(a->tmp);
    a->tmp = NULL; /* renamed: nothing to remove */
    gn_atomic_abort(a);
    return GN_OK;
}

gn_status gn_atomic_write_file(const char *path, const void *p, size_t n, const char *what) {
    gn_atomic_file a;
    gn_status s = gn_atomic_begin(&a, path, what);
    if (s) return s;
    gn_atomic_put(&a, p, n);
    return gn_atomic_commit(&a);
}

/* Reads the writer's pid from a temporary name ".NAME.gannet-tmp.PID.SEQ";
 * 0 when the name is not one. */
static long temp_pid(const char *name) {
    if (name[0] != '.') return 0;
    const char *tag = NULL;
    for (const char *p = strstr(name, TEMP_TAG); p; p = strstr(p + 1, TEMP_TAG)) tag = p;
    if (!tag || tag == name) return 0;
    const char *p = tag + strlen(TEMP_TAG);
    char *end;
    long pid = strtol(p, &end, 10);
    if (end == p || *end != '.' || pid <= 0) return 0;
    p = end + 1;
    strtoul(p, &end, 10);
    if (end == p || *end || *p < '0' || *p > '9') return 0;
    return pid;
}

int gn_atomic_is_temp_name(const char *name) { return temp_pid(name) > 0; }

int gn_atomic_remove_stale(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = temp_pid(e->d_name);
        // a writer that still runs (another gannet on the same folder) keeps its file
        if (!pid || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char *p = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (!p) break;
        sprintf(p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (!lstat(p, &st) && S_ISREG(st.st_mode) && !unlink(p)) removed++;
        free(p);
    }
    closedir(d);
    return removed;
}
