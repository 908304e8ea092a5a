/* libFuzzer target for the IDX reader: each input is written to a file and
 * loaded with gn_idx_load, so plain and gzip inputs take the real path.
 * Besides the sanitizers, it checks the reader's promises: a success gives
 * consistent dims and data, a failure leaves the struct empty and says which
 * file was bad. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "gannet/data.h"

static void require(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fuzz_idx: broken promise: %s (%s)\n", what, gn_last_error());
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_tmp_path("input.idx");
    fz_write_file(path, data, size);
    gn_idx idx;
    gn_status s = gn_idx_load(path, &idx);
    if (s == GN_OK) {
        require(idx.rank >= 1 && idx.rank <= 4, "rank in 1..4");
        size_t count = 1;
        for (int d = 0; d < idx.rank; d++) {
            require(idx.dims[d] > 0, "every dim > 0");
            count *= idx.dims[d];
        }
        require(count == idx.count, "count is the product of the dims");
        require(idx.data != NULL, "data present");
        /* touch every byte so that a short buffer shows up under ASan */
        const uint8_t *p = idx.data;
        unsigned sum = 0;
        for (size_t i = 0; i < idx.count * idx.elem_size; i++) sum += p[i];
        (void)sum;
        gn_idx_free(&idx);
        require(idx.data == NULL, "gn_idx_free empties the struct");
    } else {
        require(s == GN_ERR_FORMAT || s == GN_ERR_IO || s == GN_ERR_NOMEM, "status is FORMAT, IO or NOMEM");
        require(idx.data == NULL && idx.count == 0, "a failure leaves the struct empty");
        require(strstr(gn_last_error(), path) != NULL, "the message names the file");
    }
    return 0;
}
