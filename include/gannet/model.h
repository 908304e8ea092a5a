/* Model files: a GAN's G and D, layer by layer, and the training settings
 * the model needs, as small line-based text (docs/models.md):
 *
 *   [settings]
 *   noise = normal
 *   g-lr = 2e-4
 *   [generator]
 *   input 100
 *   dense 12544
 *   batchnorm momentum=0.9 eps=1e-5
 *   ...
 *   [discriminator]
 *   input 28 28 1
 *   conv2d 64 kernel=4 stride=2 padding=same
 *   ...
 *
 * Shapes are inferred from each network's input. Every error names the file,
 * line and column, what was expected and what was found. */
#ifndef GANNET_MODEL_H
#define GANNET_MODEL_H

#include <stddef.h>

#include "gannet/gan.h"
#include "gannet/net.h"

/* Model files longer than this are refused (a model is a few dozen lines). */
#define GN_MODEL_MAX_BYTES (1 << 20)
/* Lines longer than this (in bytes, without the newline) are refused. */
#define GN_MODEL_MAX_LINE 1024
/* Statements per network. */
#define GN_MODEL_MAX_LAYERS 4096

typedef struct gn_model gn_model;

/* Parses model text (len bytes; NUL bytes in it are errors). `file` names
 * the text in messages. GN_ERR_FORMAT with "FILE:LINE:COL: expected X,
 * found Y" when the text is malformed. Shapes are not checked here. */
GN_API gn_status gn_model_parse(const char *file, const char *text, size_t len, gn_model **out);
GN_API void gn_model_free(gn_model *m);

/* Fills cfg with the model's settings: what the file sets, the settings
 * table's defaults (src/settings.c) for the rest, zdim from G's input;
 * cfg->preset gets `name` (truncated to fit) and cfg->model stays NULL. */
GN_API void gn_model_config(const gn_model *m, const char *name, gn_gan_config *cfg);
/* The images the model's D takes, as its [discriminator] input says. */
GN_API gn_shape gn_model_image_shape(const gn_model *m);

/* Builds and initialises G (from seed) and D (from seed + 1) with the
 * model's initialiser. A layer whose shape does not fit, G's output that is
 * not D's input, or a D whose output is not two logits is GN_ERR_SHAPE (or
 * the engine's own code) with the statement's FILE:LINE:COL. */
GN_API gn_status gn_model_build(const gn_model *m, uint64_t seed, gn_net **G, gn_net **D);

/* Reads a whole model file (at most GN_MODEL_MAX_BYTES) into a NUL-terminated
 * buffer the caller frees; *len gets its length. */
GN_API gn_status gn_model_read_file(const char *path, char **text, size_t *len);

/* The model's name for a file path: its base name without the extension
 * ("data/models/dcgan.gnm" -> "dcgan"), truncated to len - 1 bytes. */
GN_API void gn_model_name_from_path(const char *path, char *name, size_t len);

/* Presets are model files in the data folder: $GANNET_DATA_DIR/models/NAME.gnm,
 * else the build's data/models/. */
#define GN_MODEL_EXT ".gnm"
GN_API void gn_preset_path(const char *preset, char *buf, size_t len);
/* Reads a preset's model text (caller frees); GN_ERR_ARG naming the known
 * presets when there is no such preset. */
GN_API gn_status gn_preset_text(const char *preset, char **text, size_t *len);
/* The model text of a preset for images of h x w x c: the file
 * NAME-HxWxC.gnm beside NAME.gnm when there is one (dcgan-64x64x3.gnm),
 * else NAME.gnm itself, whose D must then take h x w x c (else GN_ERR_ARG
 * naming the shapes the preset takes). *shaped: 1 when a NAME-HxWxC file
 * was read. `data` names the images in messages. */
GN_API gn_status gn_preset_text_for(const char *preset, const char *data, int h, int w, int c, char **text,
                                    size_t *len, int *shaped);

#endif
