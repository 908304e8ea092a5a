/* Presets are model files shipped in the data folder (data/models/NAME.gnm);
 * this file finds and reads them. seed-mnist is the seed notebook's Keras
 * MNIST DCGAN, dcgan Radford et al.'s DCGAN sized for 28x28 images,
 * resnet-mnist an SNGAN-style ResNet G and D, mnist-quality a small DCGAN with
 * hinge loss, spectral normalisation and an EMA of G, mnist-cond the same
 * made class-conditional (the default of ./run train). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gannet/model.h"
#include "gannet/datadir.h"
#include "gannet/files.h"

const char *const gn_preset_names[] = {"seed-mnist", "dcgan", "resnet-mnist", "mnist-quality", "mnist-cond", NULL};

gn_status gn_model_read_file(const char *path, char **text, size_t *len) {
    *text = NULL;
    FILE *f; /* a FIFO or a folder is refused, never waited on */
    gn_status s = gn_open_regular(path, "model file", &f);
    if (s) return s;
    struct stat st;
    if (fstat(fileno(f), &st)) {
        int e = errno;
        fclose(f);
        return gn_fail(GN_ERR_IO, "%s: cannot read model file: %s", path, strerror(e));
    }
    if (st.st_size > GN_MODEL_MAX_BYTES) {
        fclose(f);
        return gn_fail(GN_ERR_FORMAT, "%s:1:1: expected a model file of at most %d bytes, found %lld bytes",
                       path, GN_MODEL_MAX_BYTES, (long long)st.st_size);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    int err = ferror(f);
    fclose(f);
    if (!buf) return gn_fail(GN_ERR_NOMEM, "out of memory reading %s", path);
    if (err || n != (size_t)st.st_size) {
        free(buf);
        return gn_fail(GN_ERR_IO, "%s: cannot read model file", path);
    }
    buf[n] = 0;
    *text = buf;
    *len = n;
    return GN_OK;
}

void gn_model_name_from_path(const char *path, char *name, size_t len) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot > base ? (size_t)(dot - base) : strlen(base);
    if (!n) base = "model", n = 5;
    snprintf(name, len, "%.*s", (int)n, base);
}

/* The preset's model file, found by gn_data_path; GN_ERR_IO naming the
 * folders tried when it is nowhere (buf then holds the first candidate). */
static gn_status preset_find(const char *preset, char *buf, size_t len) {
    char name[256];
    snprintf(name, sizeof name, "models/%s%s", preset, GN_MODEL_EXT);
    return gn_data_path(name, buf, len);
}

void gn_preset_path(const char *preset, char *buf, size_t len) {
    preset_find(preset, buf, len);
}

gn_status gn_preset_text(const char *preset, char **text, size_t *len) {
    int known = 0;
    for (int i = 0; gn_preset_names[i]; i++) known |= !strcmp(preset, gn_preset_names[i]);
    if (!known) {
        char list[200] = "";
        for (int i = 0; gn_preset_names[i]; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", gn_preset_names[i]);
        return gn_fail(GN_ERR_ARG, "unknown preset '%s' (known: %s)", preset, list);
    }
    char path[1200];
    gn_status s = preset_find(preset, path, sizeof path);
    if (s) return s;
    return gn_model_read_file(path, text, len);
}

/* The shapes a preset takes: its own file's D input, then every
 * NAME-HxWxC file the data folder has (the list gn_preset_text_for names in
 * its message). */
static void preset_shapes(const char *preset, gn_shape own, char *buf, size_t len) {
    static const int sizes[] = {28, 32, 64, 128, 256}, chans[] = {1, 3};
    snprintf(buf, len, "%dx%dx%d", own.h, own.w, own.c);
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (size_t k = 0; k < sizeof chans / sizeof *chans; k++) {
            char name[300], path[1200];
            int s = sizes[i], c = chans[k];
            snprintf(name, sizeof name, "models/%s-%dx%dx%d%s", preset, s, s, c, GN_MODEL_EXT);
            if ((s != own.h || s != own.w || c != own.c) && !gn_data_path(name, path, sizeof path))
                snprintf(buf + strlen(buf), len - strlen(buf), ", %dx%dx%d", s, s, c);
        }
}

gn_status gn_preset_text_for(const char *preset, const char *data, int h, int w, int c, char **text,
                             size_t *len, int *shaped) {
    char name[300], path[1200];
    *shaped = 0;
    snprintf(name, sizeof name, "models/%s-%dx%dx%d%s", preset, h, w, c, GN_MODEL_EXT);
    gn_status s = gn_preset_text(preset, text, len); /* checks the name, and NAME.gnm exists */
    if (s) return s;
    if (!gn_data_path(name, path, sizeof path)) {
        free(*text);
        *shaped = 1;
        return gn_model_read_file(path, text, len);
    }
    gn_model *m;
    gn_preset_path(preset, path, sizeof path);
    if ((s = gn_model_parse(path, *text, *len, &m))) {
        free(*text);
        *text = NULL;
        return s;
    }
    gn_shape want = gn_model_image_shape(m);
    gn_model_free(m);
    if (want.h == h && want.w == w && want.c == c) return GN_OK;
    free(*text);
    *text = NULL;
    char shapes[600];
    preset_shapes(preset, want, shapes, sizeof shapes);
    return gn_fail(GN_ERR_ARG, "%s: images are %dx%dx%d; preset %s takes %s", data, h, w, c, preset, shapes);
}

/* Parses a preset's model file. */
static gn_status preset_model(const char *preset, gn_model **m) {
    char *text, path[1200];
    size_t len;
    gn_status s = gn_preset_text(preset, &text, &len);
    if (s) return s;
    gn_preset_path(preset, path, sizeof path);
    s = gn_model_parse(path, text, len, m);
    free(text);
    return s;
}

gn_status gn_preset_config(const char *preset, gn_gan_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    gn_model *m;
    gn_status s = preset_model(preset, &m);
    if (s) return s;
    gn_model_config(m, preset, cfg);
    gn_model_free(m);
    return GN_OK;
}

gn_status gn_preset_build(const char *preset, uint64_t seed, gn_net **G, gn_net **D) {
    gn_model *m;
    gn_status s = preset_model(preset, &m);
    if (s) return s;
    s = gn_model_build(m, seed, G, D);
    gn_model_free(m);
    return s;
}
