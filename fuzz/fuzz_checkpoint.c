/* libFuzzer target for the checkpoint reader: each input is written to a
 * file, then read with gn_checkpoint_read_config and loaded with
 * gn_checkpoint_load into a tiny GAN built once (tiny_gan.h), with and
 * without the fixed noise and history.
 *
 * Every section carries a CRC-32, so random mutations almost never get past
 * the checksum test. The custom mutator below therefore recomputes the CRC
 * of every section it can walk in about half of the mutated inputs, which
 * lets the fuzzer reach the settings parser and the section-size checks;
 * the other half keeps bad checksums coming. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz_util.h"
#include "gannet/checkpoint.h"
#include "tiny_gan.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static gn_gan *gan;
static float fixed_z[TINY_NFIXED * TINY_ZDIM];

static void require(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fuzz_checkpoint: broken promise: %s (%s)\n", what, gn_last_error());
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    gan = tiny_gan_new();
    if (!gan) {
        fprintf(stderr, "fuzz_checkpoint: cannot build the tiny GAN: %s\n", gn_last_error());
        abort();
    }
    return 0;
}

/* Recomputes the CRC of each section whose header and payload lie inside
 * the buffer (header: 8 magic, 4 version, 4 count; sections: 4 tag,
 * 8 length, payload, 4 CRC; little-endian as the writer stores them). */
static void fix_crcs(uint8_t *data, size_t size) {
    size_t pos = 16;
    while (pos + 12 <= size) {
        uint64_t len;
        memcpy(&len, data + pos + 4, 8);
        pos += 12;
        if (len > size - pos || size - pos - len < 4) return;
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), data + pos, (uInt)len);
        memcpy(data + pos + len, &crc, 4);
        pos += len + 4;
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    size = LLVMFuzzerMutate(data, size, max_size);
    if (seed & 1) fix_crcs(data, size);
    return size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_tmp_path("checkpoint.gnt");
    fz_write_file(path, data, size);

    gn_gan_config cfg;
    gn_status s = gn_checkpoint_read_config(path, &cfg);
    if (s == GN_OK) {
        require(cfg.batch > 0 && cfg.zdim > 0 && cfg.d_steps > 0, "settings in range");
        require(memchr(cfg.preset, 0, sizeof cfg.preset) != NULL, "preset is NUL-terminated");
        char text[4096];
        gn_config_write(&cfg, text, sizeof text);
        gn_config_json(&cfg, text, sizeof text);
    } else {
        require(s == GN_ERR_FORMAT || s == GN_ERR_IO || s == GN_ERR_NOMEM, "status is FORMAT, IO or NOMEM");
        require(strstr(gn_last_error(), path) != NULL || s == GN_ERR_NOMEM, "the message names the file");
    }

    gn_history hist = {0};
    s = gn_checkpoint_load(path, gan, fixed_z, TINY_NFIXED, &hist);
    if (s == GN_OK) {
        /* touch every row so that a short buffer shows up under ASan */
        float sum = 0;
        for (size_t i = 0; i < hist.n * GN_HIST_COLS; i++) sum += hist.rows[i];
        (void)sum;
        require(hist.n <= hist.cap || hist.n == 0, "history rows fit");
    }
    gn_history_free(&hist);
    gn_checkpoint_load(path, gan, NULL, 0, NULL);
    return 0;
}
