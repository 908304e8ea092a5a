/* Opening input files (see gannet/files.h). Files are opened with O_NONBLOCK,
 * which makes open() return at once even on a FIFO with no writer, then
 * checked with fstat (no race with a rename between a stat and the open),
 * then switched back to blocking reads. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gannet/files.h"

const char *gn_file_kind(mode_t mode) {
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISFIFO(mode)) return "a FIFO or pipe";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

/* Opens without blocking and returns the descriptor and its fstat. */
static gn_status open_checked(const char *path, const char *what, int *fd, struct stat *st) {
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (*fd < 0) return gn_fail(GN_ERR_IO, "%s: cannot open %s: %s", path, what, strerror(errno));
    if (fstat(*fd, st)) {
        int e = errno;
        close(*fd);
        return gn_fail(GN_ERR_IO, "%s: cannot open %s: %s", path, what, strerror(e));
    }
    return GN_OK;
}

/* Makes reads on fd block again, as for any ordinary file. */
static void set_blocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

gn_status gn_open_regular(const char *path, const char *what, FILE **out) {
    *out = NULL;
    int fd;
    struct stat st;
    gn_status s = open_checked(path, what, &fd, &st);
    if (s) return s;
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return gn_fail(GN_ERR_IO, "%s: cannot read %s: %s, not a regular file", path, what,
                       gn_file_kind(st.st_mode));
    }
    set_blocking(fd);
    *out = fdopen(fd, "rb");
    if (!*out) {
        int e = errno;
        close(fd);
        return gn_fail(GN_ERR_IO, "%s: cannot open %s: %s", path, what, strerror(e));
    }
    return GN_OK;
}

gn_status gn_open_stream(const char *path, const char *what, int *fd) {
    struct stat st;
    gn_status s = open_checked(path, what, fd, &st);
    if (s) return s;
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
        close(*fd);
        *fd = -1;
        return gn_fail(GN_ERR_IO, "%s: cannot read %s: %s, not a regular file or a pipe", path,
                       what, gn_file_kind(st.st_mode));
    }
    set_blocking(*fd);
    return GN_OK;
}
