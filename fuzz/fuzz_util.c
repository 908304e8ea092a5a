#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"

static char dir[512];
static char files[8][600];
static int nfiles;

static void cleanup(void) {
    for (int i = 0; i < nfiles; i++) unlink(files[i]);
    if (dir[0]) rmdir(dir);
}

const char *fz_tmp_path(const char *name) {
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/gannet-fuzz-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(cleanup);
    }
    for (int i = 0; i < nfiles; i++) {
        const char *slash = strrchr(files[i], '/');
        if (!strcmp(slash + 1, name)) return files[i];
    }
    if (nfiles == 8) abort();
    snprintf(files[nfiles], sizeof files[nfiles], "%s/%s", dir, name);
    return files[nfiles++];
}

void fz_write_file(const char *path, const uint8_t *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
        perror(path);
        abort();
    }
}
