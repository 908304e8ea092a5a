/* Helpers shared by the fuzz targets: a private temporary folder and a way
 * to hand an input to readers that take a path. */
#ifndef GANNET_FUZZ_UTIL_H
#define GANNET_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Creates (once) a private folder under /dev/shm or $TMPDIR, removed at exit,
 * and returns its path followed by "/name". */
const char *fz_tmp_path(const char *name);

/* Writes data to path (replacing it); aborts on failure, which is a problem
 * of the machine rather than a finding. */
void fz_write_file(const char *path, const uint8_t *data, size_t size);

#endif
