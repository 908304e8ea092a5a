/* The training settings, in one table: each names its gn_gan_config field,
 * its type, default, range or choices and help. The table drives the
 * `gannet train` options and their --help, a model file's [settings]
 * section, config.json, the checkpoint's settings section (written and read
 * back with the validation the command line applies) and the resume rules
 * (which settings --resume may change).
 *
 * Adding a setting: a field in gn_gan_config (gannet/gan.h), a row in
 * src/settings.c's table, and the code that uses the value; a GN_SET_MODEL
 * setting also gets its row in docs/models.md (test_model checks that row
 * against the table). A setting added after checkpoints exist is
 * GN_SET_OPTIONAL, so that older checkpoints, which lack it, read with its
 * default. */
#ifndef GANNET_SETTINGS_H
#define GANNET_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "gannet/gan.h"

typedef enum gn_setting_type {
    GN_SET_INT,   /* int, decimal within [min, max] */
    GN_SET_U64,   /* uint64_t, decimal within [min, max] */
    GN_SET_FLOAT, /* float, finite, within [min, max] compared as floats */
    GN_SET_ENUM,  /* an enum field: the index of its name in choices */
    GN_SET_TEXT,  /* a char array; one of choices when they are given */
} gn_setting_type;

/* Flags of a setting. */
#define GN_SET_OPTION 1u    /* a `gannet train --name` option */
#define GN_SET_RESUMABLE 2u /* may be given with --resume (replaces the checkpoint's value) */
#define GN_SET_OPTIONAL 4u  /* may be absent from a checkpoint (added later): the default then */
#define GN_SET_MODEL 8u     /* may be given in a model file's [settings] (docs/models.md) */

/* The most rows the table may have: a run's given settings fit one bit mask. */
#define GN_SETTINGS_MAX 64

typedef struct gn_setting {
    const char *name;           /* as on the command line: "plot-every" */
    const char *key;            /* in checkpoints and config.json: "plot_every" */
    gn_setting_type type;
    size_t offset, size;        /* the gn_gan_config field */
    double min, max;            /* numbers: the inclusive range */
    const char *const *choices; /* ENUM (required) and TEXT (optional); NULL-terminated */
    double def;                 /* the default of a number or an ENUM's index */
    const char *def_text;       /* the default of a TEXT */
    unsigned flags;
    const char *help;
    const char *json_key;       /* config.json's key when not `key` */
    const char *const *old_choices; /* an ENUM's former names (same order), read from checkpoints */
} gn_setting;

/* The table, terminated by a row whose name is NULL. */
GN_API_DATA const gn_setting gn_settings[];
/* The number of rows (at most GN_SETTINGS_MAX). */
GN_API int gn_settings_count(void);
/* The row named `name` (command-line spelling) or keyed `key`; NULL when none. */
GN_API const gn_setting *gn_setting_by_name(const char *name);
GN_API const gn_setting *gn_setting_by_key(const char *key);

/* The largest settings text (key=value lines or JSON) any config can give. */
#define GN_SETTINGS_TEXT_MAX 16384

/* Every setting at its default. */
GN_API void gn_settings_defaults(gn_gan_config *cfg);
/* Sets one setting from text, validated; on failure writes a message
 * ("'12abc' is not an integer", "0 is out of range [1, 65536]") to err and
 * returns -1. The caller names the source ("--batch: ", "FILE: setting batch: "). */
GN_API int gn_setting_parse(const gn_setting *s, const char *text, gn_gan_config *cfg, char *err,
                     size_t errlen);
/* Writes the value as text (as gn_setting_parse reads it) into buf. */
GN_API void gn_setting_format(const gn_setting *s, const gn_gan_config *cfg, char *buf, size_t len);
/* Copies one setting's field from src to dst. */
GN_API void gn_setting_copy(const gn_setting *s, gn_gan_config *dst, const gn_gan_config *src);
/* Whether two configs hold the same value of a setting. */
GN_API int gn_setting_equal(const gn_setting *s, const gn_gan_config *a, const gn_gan_config *b);

/* Parses key=value lines (a checkpoint's settings) into cfg: every setting
 * must be there (GN_SET_OPTIONAL ones may be missing) and valid (an ENUM may
 * also have one of its old_choices names); keys listed
 * in `ignored` (NULL-terminated, may be NULL) are skipped; an unknown key is
 * an error. GN_ERR_FORMAT with a message naming `source`. */
GN_API gn_status gn_settings_parse(const char *source, const char *text, const char *const *ignored,
                            gn_gan_config *cfg);
/* Writes every setting as key=value lines; returns the length (as snprintf). */
GN_API size_t gn_config_write(const gn_gan_config *cfg, char *buf, size_t len);
/* Writes every setting as a JSON object; returns the length (as snprintf). */
GN_API size_t gn_config_json(const gn_gan_config *cfg, char *buf, size_t len);

#endif
