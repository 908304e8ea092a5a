/* libFuzzer target for the model-file parser: each input is parsed as model
 * text with gn_model_parse (NUL bytes, long lines and all). Besides the
 * sanitizers, it checks the parser's promises: it returns GN_OK,
 * GN_ERR_FORMAT or GN_ERR_NOMEM; a format error reads
 * "fuzz.gnm:LINE:COL: expected ..., found ..." with a line and column that
 * exist in the input; a success gives settings that the settings table's
 * own validation accepts. Networks are not
 * built: the dimensions a model may ask for are far too large to allocate
 * at fuzzing speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/model.h"
#include "gannet/settings.h"

static void require(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fuzz_model: broken promise: %s (%s)\n", what, gn_last_error());
        abort();
    }
}

/* Lines in the input, counted as the parser counts them. */
static long count_lines(const uint8_t *data, size_t size) {
    long n = 1;
    for (size_t i = 0; i < size; i++) n += data[i] == '\n';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* a private copy, not NUL-terminated, so ASan sees any read past the end */
    char *text = malloc(size ? size : 1);
    if (!text) abort();
    memcpy(text, data, size);
    gn_model *m = NULL;
    gn_status s = gn_model_parse("fuzz.gnm", text, size, &m);
    require(s == GN_OK || s == GN_ERR_FORMAT || s == GN_ERR_NOMEM, "returns OK, FORMAT or NOMEM");
    if (s == GN_ERR_FORMAT) {
        const char *e = gn_last_error();
        long line = 0, col = 0;
        int used = 0;
        require(sscanf(e, "fuzz.gnm:%ld:%ld: %n", &line, &col, &used) == 2 && used > 0, "FILE:LINE:COL: prefix");
        require(line >= 1 && line <= count_lines(data, size) + 1, "the line exists");
        require(col >= 1 && col <= GN_MODEL_MAX_LINE + 2, "the column is within a line");
        require(!strncmp(e + used, "expected ", 9) && strstr(e, ", found ") != NULL, "expected X, found Y");
        require(m == NULL, "no model on failure");
    }
    if (s == GN_OK) {
        require(m != NULL, "a model on success");
        gn_gan_config c;
        gn_model_config(m, "fuzz", &c);
        require(c.zdim >= 1 && c.zdim <= 65536, "zdim in range");
        /* each setting reads back through the table's validation: in range, a known choice */
        for (const gn_setting *st = gn_settings; st->name; st++) {
            char v[GN_DATA_PATH_MAX], err[GN_DATA_PATH_MAX + 128];
            gn_gan_config back = c;
            gn_setting_format(st, &c, v, sizeof v);
            require(!gn_setting_parse(st, v, &back, err, sizeof err) && gn_setting_equal(st, &c, &back),
                    "settings in range");
        }
        require(memchr(c.preset, 0, sizeof c.preset) != NULL, "name is NUL-terminated");
    }
    gn_model_free(m);
    free(text);
    return 0;
}
