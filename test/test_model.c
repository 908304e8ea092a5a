/* Model files: good files (every keyword, comments, blank lines, settings),
 * settings read through the settings table and documented as it defines
 * them, bad files with their FILE:LINE:COL messages, shape errors traced to their
 * statement, the presets against the C code they replaced, checkpoints that
 * carry the model text, the CLI commands, and the ResNet model's parameter
 * counts against its PyTorch twin (test/resnet_twin.py). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/checkpoint.h"
#include "gannet/model.h"
#include "gannet/settings.h"
#include "util.h"

#define G_TINY "[generator]\ninput 4\ndense 3\n"
#define D_TINY "[discriminator]\ninput 1 1 3\ndense 2\nsoftmax\n"

static gn_model *parse_ok(const char *text) {
    gn_model *m = NULL;
    gn_status s = gn_model_parse("t.gnm", text, strlen(text), &m);
    ck_assert_msg(s == GN_OK, "parse failed: %s\n--\n%s", gn_last_error(), text);
    return m;
}

/* Parses text of len bytes and checks the status and the message's start
 * ("t.gnm:LINE:COL: expected ...") and a phrase in it. */
static void parse_bad(const char *text, size_t len, const char *start, const char *phrase) {
    gn_model *m = (gn_model *)1;
    gn_status s = gn_model_parse("t.gnm", text, len, &m);
    const char *e = gn_last_error();
    ck_assert_msg(s == GN_ERR_FORMAT, "status %d for '%s': %s", s, start, e);
    ck_assert_ptr_null(m);
    ck_assert_msg(!strncmp(e, start, strlen(start)), "message '%s' does not start with '%s'", e, start);
    ck_assert_msg(strstr(e, phrase) && strstr(e, ", found "), "message '%s' lacks '%s'", e, phrase);
}
#define BAD(text, start, phrase) parse_bad(text, strlen(text), start, phrase)

START_TEST(every_layer_keyword_builds) {
    const char *text =
        "# a comment line, then a blank one\n\n"
        "[generator]\n"
        "  input 16            # indented, with a comment\n"
        "dense 64\n"
        "batchnorm\n"
        "relu\n"
        "reshape 4 4 4\n"
        "upsample size=2\n"
        "conv2d 8 3 1 same\n"
        "deconv2d filters=4 kernel=3 stride=1 padding=valid\n"
        "leaky_relu alpha=0.1\n"
        "gaussian_noise 0.1\n"
        "dropout rate=0.5\n"
        "maxpool 2\n"
        "\tconv2d 1 kernel=1\r\n"
        "sigmoid\n"
        "[discriminator]\n"
        "input 5 5 1\n"
        "conv2d 2 kernel=3 padding=valid\n"
        "tanh\n"
        "flatten\n"
        "batchnorm 0.9 1e-5\n"
        "dense 2\n"
        "softmax";
    gn_model *m = parse_ok(text);
    gn_net *G, *D;
    gn_status s = gn_model_build(m, 1, &G, &D);
    ck_assert_msg(s == GN_OK, "%s", gn_last_error());
    ck_assert_int_eq(gn_net_layer_count(G), 13);
    ck_assert_int_eq(gn_net_layer_kind(G, 5), GN_LAYER_CONV2D);
    ck_assert_int_eq(gn_net_layer_kind(G, 10), GN_LAYER_MAXPOOL);
    gn_shape o = gn_net_layer_output(G, 6); /* deconv 3x3/1 valid on 8x8: 10x10 */
    ck_assert(o.h == 10 && o.w == 10 && o.c == 4);
    o = gn_net_output_shape(G); /* maxpool 2 (stride 2) on 10x10 */
    ck_assert(o.h == 5 && o.w == 5 && o.c == 1);
    /* dense 16*64+64, BN 2*64, conv 3*3*4*8+8, deconv 3*3*8*4+4, conv 1*4... 4+1 */
    ck_assert_uint_eq(gn_net_param_count(G), 1088 + 128 + 296 + 292 + 5);
    ck_assert_uint_eq(gn_net_param_count(D), 20 + 36 + 38);
    gn_net_free(G);
    gn_net_free(D);
    gn_model_free(m);
}
END_TEST

START_TEST(skip_statements_parse) {
    gn_model *m = parse_ok(G_TINY "[discriminator]\ninput 4 4 1\nconv2d 2 kernel=3\nname h\n"
                           "conv2d 2 kernel=1\nadd h\nconcat input\nfrom h\nflatten\ndense 2\n");
    gn_model_free(m);
}
END_TEST

START_TEST(settings_and_defaults) {
    gn_model *m = parse_ok("[settings]\n"
                           "noise = uniform\n"
                           "pixel-range=[0,1]\n"
                           "init = normal-0.02   # comment\n"
                           "g-lr = 1e-3\n"
                           "\n"
                           "d-lr=1e-4\n"
                           "beta1 = 0.9\nbeta2 = 0.99\neps = 1e-8\niters = 5\nplot-every = 1\n"
                           "batch = 8\ng-loss = minimax\nd-steps = 2\nd-pretrain = 3\nlabel-smoothing = 0.1\n"
                           G_TINY D_TINY);
    gn_gan_config c;
    gn_model_config(m, "mine", &c);
    ck_assert_str_eq(c.preset, "mine");
    ck_assert(c.noise == GN_NOISE_UNIFORM && c.range == GN_RANGE_01 && c.g_loss == GN_GLOSS_MINIMAX);
    ck_assert(c.g_lr == 1e-3f && c.d_lr == 1e-4f && c.beta1 == 0.9f && c.beta2 == 0.99f && c.eps == 1e-8f);
    ck_assert(c.iters == 5 && c.plot_every == 1 && c.batch == 8 && c.d_steps == 2 && c.d_pretrain == 3);
    ck_assert(c.label_smoothing == 0.1f && c.zdim == 4 && c.seed == 1 && c.model == NULL);
    gn_model_free(m);
    m = parse_ok("[settings]\npixel-range = [-1,1]\n" G_TINY D_TINY);
    gn_model_config(m, "d", &c);
    ck_assert(c.range == GN_RANGE_PM1);
    gn_model_free(m);
    /* what a file does not set is the settings table's default */
    gn_gan_config def;
    gn_settings_defaults(&def);
    m = parse_ok(G_TINY D_TINY);
    gn_model_config(m, "d", &c);
    for (const gn_setting *s = gn_settings; s->name; s++)
        if (strcmp(s->name, "preset") && strcmp(s->name, "zdim"))
            ck_assert_msg(gn_setting_equal(s, &c, &def), "%s is not the table's default", s->name);
    gn_model_free(m);
}
END_TEST

/* Each setting the table marks GN_SET_MODEL is read from a model file by
 * its command-line name, with the table's parser; the others are refused. */
START_TEST(the_table_decides_what_a_model_file_sets) {
    char text[512], v[256];
    gn_gan_config want;
    gn_settings_defaults(&want);
    for (const gn_setting *s = gn_settings; s->name; s++) {
        /* a value that is not the default and fits every model setting's range */
        void *f = (char *)&want + s->offset;
        int n = 0;
        while (s->choices && s->choices[n]) n++;
        if (s->type == GN_SET_FLOAT) *(float *)f = 0.25f;
        if (s->type == GN_SET_INT) *(int *)f = 7;
        if (s->type == GN_SET_ENUM) *(int *)f = ((int)s->def + 1) % n;
        if (s->type == GN_SET_TEXT && (s->flags & GN_SET_MODEL)) {
            ck_assert_str_eq(s->name, "augment"); /* the one text a model file sets: a valid value */
            snprintf(f, s->size, "%s", "translation,cutout");
        }
        gn_setting_format(s, &want, v, sizeof v);
        snprintf(text, sizeof text, "[settings]\n%s = %s\n" G_TINY D_TINY, s->name, v);
        gn_model *m = NULL;
        gn_status st = gn_model_parse("t.gnm", text, strlen(text), &m);
        if (!(s->flags & GN_SET_MODEL)) {
            ck_assert_msg(st == GN_ERR_FORMAT, "%s accepted in a model file", s->name);
            ck_assert_msg(strstr(gn_last_error(), "t.gnm:2:1: expected a setting (init, iters, batch,"),
                          "%s", gn_last_error());
            continue;
        }
        ck_assert_msg(st == GN_OK, "%s = %s: %s", s->name, v, gn_last_error());
        gn_gan_config c;
        gn_model_config(m, "t", &c);
        ck_assert_msg(gn_setting_equal(s, &c, &want), "%s = %s did not read", s->name, v);
        gn_model_free(m);
    }
}
END_TEST

/* docs/models.md's settings table shows each GN_SET_MODEL setting as the
 * table defines it (the row below, which a failure prints) and no other. */
static void doc_number(char *buf, size_t len, double x) {
    char t[64];
    snprintf(t, sizeof t, "%.10g", x);
    char *e = strchr(t, 'e'), *d = e ? e + 1 : NULL;
    if (!e) {
        snprintf(buf, len, "%s", t);
        return;
    }
    int neg = *d == '-';
    if (*d == '-' || *d == '+') d++;
    while (*d == '0' && d[1]) d++;
    snprintf(buf, len, "%.*s%s%s", (int)(e - t + 1), t, neg ? "-" : "", d); /* 1e-07 -> 1e-7 */
}

static void doc_row(const gn_setting *s, char *row, size_t len) {
    char value[256] = "", def[64], lo[32], hi[32];
    gn_gan_config c;
    gn_settings_defaults(&c);
    if (s->type == GN_SET_TEXT) {
        snprintf(value, sizeof value, "text");
        snprintf(def, sizeof def, "%s", *s->def_text ? s->def_text : "(empty)");
    } else if (s->type == GN_SET_ENUM) {
        int n = 0;
        while (s->choices[n]) n++;
        for (int i = 0; i < n; i++)
            snprintf(value + strlen(value), sizeof value - strlen(value), "%s`%s`",
                     i == 0 ? "" : i == n - 1 ? " or " : ", ", s->choices[i]);
        snprintf(def, sizeof def, "`%s`", s->choices[(int)s->def]);
    } else {
        doc_number(lo, sizeof lo, s->min);
        doc_number(hi, sizeof hi, s->max);
        snprintf(value, sizeof value, "%s in [%s, %s]", s->type == GN_SET_FLOAT ? "number" : "integer", lo, hi);
        doc_number(def, sizeof def, s->def);
    }
    snprintf(row, len, "| `%s` | %s | %s | %s |\n", s->name, value, def, s->help);
}

START_TEST(the_docs_show_the_tables_model_settings) {
    char path[4200], row[1024];
    snprintf(path, sizeof path, "%s/models.md", getenv("GANNET_DOCS"));
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char doc[1 << 16];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = 0;
    for (const gn_setting *s = gn_settings; s->name; s++) {
        if (!(s->flags & GN_SET_MODEL)) continue;
        doc_row(s, row, sizeof row);
        ck_assert_msg(strstr(doc, row), "docs/models.md lacks the settings row\n%s", row);
    }
    /* every row of the settings section is init or such a setting */
    char *sec = strstr(doc, "\n## Settings\n"), *end = sec ? strstr(sec + 1, "\n## ") : NULL;
    ck_assert(sec && end);
    *end = 0;
    int rows = 0;
    for (char *l = strstr(sec, "\n| `"); l; l = strstr(l + 1, "\n| `")) {
        char key[64];
        ck_assert(sscanf(l, "\n| `%63[^`]`", key) == 1);
        const gn_setting *s = gn_setting_by_name(key);
        ck_assert_msg(!strcmp(key, "init") || (s && (s->flags & GN_SET_MODEL)),
                      "docs/models.md documents '%s', which a model file cannot set", key);
        rows++;
    }
    int want = 1;
    for (const gn_setting *s = gn_settings; s->name; s++) want += !!(s->flags & GN_SET_MODEL);
    ck_assert_int_eq(rows, want);
}
END_TEST

START_TEST(bad_files) {
    BAD(G_TINY "[discriminator]\ninput 1 1 3\nden 2\n", "t.gnm:6:1: expected a layer (dense, conv2d",
        "found 'den'");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\ndense 2x\n", "t.gnm:6:7: expected an integer in [1, 16777216] "
        "for dense's units", "found '2x'");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\ndense 0\n", "t.gnm:6:7: expected an integer", "found '0'");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\ndropout 1\n", "t.gnm:6:9: expected a number in [0, 1) for "
        "dropout's rate", "found '1'");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\nbatchnorm eps=0\n", "t.gnm:6:15: expected a number in (0, 1]",
        "found '0'");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\ndropout\n", "t.gnm:6:8: expected dropout's rate", "found end of line");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\nconv2d 4 stride=2\n", "t.gnm:6:18: expected conv2d's kernel",
        "found end of line");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\ndense 2\nname h\ndense 2\nname h\n",
        "t.gnm:9:6: expected a new tensor name", "found 'h'");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\ndense 2\nadd nothere\n",
        "t.gnm:7:5: expected a tensor named above (input)", "found 'nothere'");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\nname h\n", "t.gnm:6:1: expected a layer whose output to name",
        "found 'name' before any layer");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\nfrom 9x\n", "t.gnm:6:6: expected a tensor name", "found '9x'");
    BAD(G_TINY "[discrimin", "t.gnm:4:1: expected [settings], [generator] or [discriminator]",
        "found '[discrimin'");
    BAD(G_TINY, "t.gnm:4:1: expected a [discriminator] section", "found end of file");
    BAD(G_TINY "[discriminator]\ninput 1 1 3", "t.gnm:4:1: expected an input statement and at least one layer",
        "found none");
    BAD("", "t.gnm:1:1: expected a [generator] section", "found end of file");
    BAD("\n\n# only a comment", "t.gnm:3:17: expected a [generator] section", "found end of file");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\nconv2d 2 kernel=3 padding=full\n",
        "t.gnm:6:27: expected same or valid for conv2d's padding", "found 'full'");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\nconv2d kernel=3 4\n", "t.gnm:6:17: expected NAME=VALUE after a "
        "named argument", "found '4'");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\ndense units=2 units=3\n", "t.gnm:6:15: expected each argument once",
        "found 'units'");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\ndense 2 1 3\n", "t.gnm:6:11: expected end of line (dense takes 2 "
        "arguments)", "found '3'");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\ndense 2 3\n", "t.gnm:6:9: expected an integer in [0, 1] for dense's sn",
        "found '3'");
    BAD(G_TINY "[discriminator]\ninput 1 1 3\nrelu kernel=3\n", "t.gnm:6:6: expected an argument of relu",
        "found 'kernel'");
    BAD("[settings]\ncolour = blue\n", "t.gnm:2:1: expected a setting (init, iters, batch, plot-every,",
        "pixel-range, loss, ema, augment, classes), found 'colour'");
    BAD("[settings]\nseed = 3\n", "t.gnm:2:1: expected a setting (init,",
        "found 'seed' (a setting of the run, not of the model: gannet train --seed)");
    BAD("[settings]\nzdim = 3\n", "t.gnm:2:1: expected a setting (init,", "found 'zdim' (noise vector length");
    BAD("[settings]\nbatch = 0\n", "t.gnm:2:9: expected a value for setting batch",
        "found '0' (0 is out of range [1, 65536])");
    BAD("[settings]\nbeta2 = 1\n", "t.gnm:2:9: expected a value for setting beta2",
        "found '1' (1 is out of range [0, 0.9999999])");
    BAD("[settings]\ng-lr = 0x1p-3\n", "t.gnm:2:8: expected a value for setting g-lr",
        "found '0x1p-3' ('0x1p-3' is not a number)");
    BAD("[settings]\npixel-range = pm1\n", "t.gnm:2:15: expected a value for setting pixel-range",
        "found 'pm1' ('pm1' is not one of [0,1], [-1,1])");
    BAD("[settings]\nnoise = gau\x01ss\n", "t.gnm:2:9: expected a value for setting noise",
        "found 'gau\\x01ss' ('gau\\x01ss' is not one of uniform, normal)");
    BAD("[settings]\nbatch =\n", "t.gnm:2:8: expected a value for setting batch", "found end of line");
    BAD("[settings]\ninit = he\n", "t.gnm:2:8: expected glorot-uniform or glorot-normal or normal-0.02 for "
        "setting init", "found 'he'");
    BAD("[settings]\ninit = normal-0.02\ninit = normal-0.02\n", "t.gnm:3:1: expected each setting once (init "
        "is set at line 2)", "found 'init'");
    BAD("[settings]\nnoise = uniform\nnoise = normal\n", "t.gnm:3:1: expected each setting once (noise is set "
        "at line 2)", "found 'noise'");
    BAD("[settings]\ng-lr 0.1\n", "t.gnm:2:6: expected '=' after g-lr", "found '0.1'");
    BAD("[settings]\ng-lr = nan\n", "t.gnm:2:8: expected a value for setting g-lr",
        "found 'nan' ('nan' is not a number)");
    BAD("[settings]\nnoise = normal extra\n", "t.gnm:2:16: expected end of line", "found 'extra'");
    BAD("dense 3\n", "t.gnm:1:1: expected a section header", "found 'dense'");
    BAD(G_TINY D_TINY "[generator]\n", "t.gnm:8:1: expected each section once ([generator] is at line 1)",
        "found '[generator]'");
    BAD("[generator]\ndense 4\n", "t.gnm:2:1: expected 'input' as the first statement of [generator]",
        "found 'dense'");
    BAD("[generator]\ninput 4\ninput 4\n", "t.gnm:3:1: expected one input statement (the first is at line 2)",
        "found a second 'input'");
    BAD("[generator]\ninput 28 28 1\n", "t.gnm:2:10: expected end of line (G's input is one number",
        "found '28'");
    BAD("[discriminator]\ninput 28 28\n", "t.gnm:2:12: expected HEIGHT WIDTH CHANNELS", "found end of line");
    /* a NUL byte, a very long line, non-printing bytes */
    const char nul[] = G_TINY "[discriminator]\ninput 1 1 3\nden\0se 2\n";
    parse_bad(nul, sizeof nul - 1, "t.gnm:6:4: expected text", "found a NUL byte");
    char *long_line = malloc(5000);
    snprintf(long_line, 5000, "[generator]\ninput 4\ndense 3 %04000d\n", 0);
    BAD(long_line, "t.gnm:3:1025: expected a line of at most 1024 bytes", "found a line of 4008 bytes");
    free(long_line);
    BAD("[generator]\ninput 4\nd\x01nse\n", "t.gnm:3:1: expected a layer", "found 'd\\x01nse'");
}
END_TEST

/* Builds text and checks the message of the error. */
static void build_bad(const char *text, gn_status want, const char *start, const char *phrase) {
    gn_model *m = parse_ok(text);
    gn_net *G = NULL, *D = NULL;
    gn_status s = gn_model_build(m, 1, &G, &D);
    const char *e = gn_last_error();
    ck_assert_msg(s == want, "status %d (expected %d): %s", s, want, e);
    ck_assert_msg(!strncmp(e, start, strlen(start)), "message '%s' does not start with '%s'", e, start);
    ck_assert_msg(strstr(e, phrase), "message '%s' lacks '%s'", e, phrase);
    gn_model_free(m);
}

START_TEST(shape_errors_name_their_line) {
    build_bad("[generator]\ninput 100\ndense 49\nreshape 7 7 1\nrelu\nconv2d 8 kernel=9 padding=valid\n" D_TINY,
              GN_ERR_SHAPE, "t.gnm:6:1: expected a layer that fits its input (7, 7, 1), found 'conv2d'",
              "too small");
    build_bad("[generator]\ninput 100\ndense 48\nreshape 7 7 1\n" D_TINY, GN_ERR_SHAPE,
              "t.gnm:4:1: expected a layer that fits its input (48), found 'reshape'", "element count");
    build_bad(G_TINY "[discriminator]\ninput 28 28 1\nflatten\ndense 2\n", GN_ERR_SHAPE,
              "t.gnm:5:1: expected D's input to be G's output (3), found (28, 28, 1)", "");
    build_bad(G_TINY "[discriminator]\ninput 1 1 3\ndense 10\nrelu\n", GN_ERR_SHAPE,
              "t.gnm:7:1: expected D to end with 2 logits (fake, real) or 1 (real), found (10)", "");
}
END_TEST

/* The C code the two presets were before they became model files: the
 * files must give the same layers and, from the same seed, the same weights. */
static void old_seed_mnist(gn_net *G, gn_net *D) {
    gn_net_add_dense(G, 200 * 14 * 14);
    gn_net_add_batchnorm(G, 0.99f, 1e-3f);
    gn_net_add_relu(G);
    gn_net_add_reshape(G, (gn_shape){14, 14, 200});
    gn_net_add_upsample(G, 2);
    gn_net_add_conv2d(G, 100, 3, 1, GN_PAD_SAME);
    gn_net_add_batchnorm(G, 0.99f, 1e-3f);
    gn_net_add_relu(G);
    gn_net_add_conv2d(G, 50, 3, 1, GN_PAD_SAME);
    gn_net_add_batchnorm(G, 0.99f, 1e-3f);
    gn_net_add_relu(G);
    gn_net_add_conv2d(G, 1, 1, 1, GN_PAD_SAME);
    gn_net_add_sigmoid(G);
    for (int i = 0; i < 2; i++) {
        gn_net_add_conv2d(D, i ? 512 : 256, 5, 2, GN_PAD_SAME);
        gn_net_add_relu(D);
        gn_net_add_leaky_relu(D, 0.2f);
        gn_net_add_dropout(D, 0.25f);
    }
    gn_net_add_flatten(D);
    gn_net_add_dense(D, 256);
    gn_net_add_leaky_relu(D, 0.2f);
    gn_net_add_dropout(D, 0.25f);
    gn_net_add_dense(D, 2);
    gn_net_add_softmax(D);
}

static void old_dcgan(gn_net *G, gn_net *D) {
    gn_net_add_dense(G, 7 * 7 * 256);
    gn_net_add_batchnorm(G, 0.9f, 1e-5f);
    gn_net_add_relu(G);
    gn_net_add_reshape(G, (gn_shape){7, 7, 256});
    gn_net_add_deconv2d(G, 128, 4, 2, GN_PAD_SAME);
    gn_net_add_batchnorm(G, 0.9f, 1e-5f);
    gn_net_add_relu(G);
    gn_net_add_deconv2d(G, 1, 4, 2, GN_PAD_SAME);
    gn_net_add_tanh(G);
    gn_net_add_conv2d(D, 64, 4, 2, GN_PAD_SAME);
    gn_net_add_leaky_relu(D, 0.2f);
    gn_net_add_conv2d(D, 128, 4, 2, GN_PAD_SAME);
    gn_net_add_batchnorm(D, 0.9f, 1e-5f);
    gn_net_add_leaky_relu(D, 0.2f);
    gn_net_add_flatten(D);
    gn_net_add_dense(D, 2);
    gn_net_add_softmax(D);
}

static void same_net(gn_net *a, gn_net *b) {
    ck_assert_int_eq(gn_net_layer_count(a), gn_net_layer_count(b));
    for (int i = 0; i < gn_net_layer_count(a); i++) {
        char da[64], db[64];
        gn_net_layer_desc(a, i, da, sizeof da);
        gn_net_layer_desc(b, i, db, sizeof db);
        ck_assert_str_eq(da, db);
    }
    ck_assert_uint_eq(gn_net_param_count(a), gn_net_param_count(b));
    ck_assert_uint_eq(gn_net_state_count(a), gn_net_state_count(b));
    ck_assert(!memcmp(gn_net_params(a), gn_net_params(b), gn_net_param_count(a) * sizeof(float)));
}

START_TEST(presets_match_the_code_they_replaced) {
    for (int p = 0; p < 2; p++) {
        const char *name = p ? "dcgan" : "seed-mnist";
        gn_net *G, *D;
        ck_assert_msg(gn_preset_build(name, 7, &G, &D) == GN_OK, "%s", gn_last_error());
        gn_net *g = gn_net_new("G", (gn_shape){1, 1, 100}), *d = gn_net_new("D", (gn_shape){28, 28, 1});
        (p ? old_dcgan : old_seed_mnist)(g, d);
        gn_init init = p ? GN_INIT_NORMAL_002 : GN_INIT_GLOROT_UNIFORM;
        ck_assert_int_eq(gn_net_build(g, init, 7), GN_OK);
        ck_assert_int_eq(gn_net_build(d, init, 8), GN_OK);
        same_net(G, g);
        same_net(D, d);
        gn_net_free(G);
        gn_net_free(D);
        gn_net_free(g);
        gn_net_free(d);
    }
    gn_gan_config c;
    ck_assert_int_eq(gn_preset_config("seed-mnist", &c), GN_OK);
    ck_assert(c.iters == 250 && c.plot_every == 25 && c.g_lr == 1e-3f && c.d_lr == 1e-4f && c.beta1 == 0.9f);
    ck_assert(c.noise == GN_NOISE_UNIFORM && c.range == GN_RANGE_01 && c.zdim == 100 && c.batch == 128);
    ck_assert(c.beta2 == 0.999f && c.eps == 1e-7f && c.d_steps == 1 && c.g_loss == GN_GLOSS_NONSATURATING);
    ck_assert_int_eq(gn_preset_config("dcgan", &c), GN_OK);
    ck_assert(c.iters == 1000 && c.plot_every == 100 && c.g_lr == 2e-4f && c.d_lr == 2e-4f && c.beta1 == 0.5f);
    ck_assert(c.noise == GN_NOISE_NORMAL && c.range == GN_RANGE_PM1 && c.zdim == 100);
    ck_assert_int_eq(gn_preset_config("nope", &c), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), "known: seed-mnist, dcgan"), "%s", gn_last_error());
}
END_TEST

START_TEST(names_from_paths) {
    char n[32];
    gn_model_name_from_path("data/models/dcgan.gnm", n, sizeof n);
    ck_assert_str_eq(n, "dcgan");
    gn_model_name_from_path("mine", n, sizeof n);
    ck_assert_str_eq(n, "mine");
    gn_model_name_from_path("a.b/.hidden", n, sizeof n);
    ck_assert_str_eq(n, ".hidden");
    gn_model_name_from_path("dir/", n, sizeof n);
    ck_assert_str_eq(n, "model");
    gn_model_name_from_path("a-very-long-model-name-that-does-not-fit.gnm", n, sizeof n);
    ck_assert_uint_eq(strlen(n), 31);
}
END_TEST

/* A checkpoint carries the model text: a model that is no preset reopens
 * from the checkpoint alone; a checkpoint without it falls back to the
 * preset its settings name. */
START_TEST(checkpoints_carry_the_model) {
    const char *text = "[settings]\nbatch = 2\n" G_TINY D_TINY;
    gn_model *m = parse_ok(text);
    gn_gan_config c;
    gn_model_config(m, "tiny", &c);
    gn_model_free(m);
    c.model = text;
    gn_gan *gan;
    ck_assert_msg(gn_gan_create(&gan, &c) == GN_OK, "%s", gn_last_error());
    ck_assert_str_eq(gan->model_text, text);
    char *dir = tu_tmpdir(), path[4200];
    snprintf(path, sizeof path, "%s/tiny.gnt", dir);
    ck_assert_int_eq(gn_checkpoint_save(path, gan, NULL, 0, NULL), GN_OK);
    char *back;
    ck_assert_int_eq(gn_checkpoint_read_model(path, &back), GN_OK);
    ck_assert_str_eq(back, text);
    free(back);
    gn_gan *again;
    ck_assert_msg(gn_gan_open_checkpoint(path, 1, &again, NULL, 0) == GN_OK, "%s", gn_last_error());
    ck_assert(!memcmp(gn_net_params(again->G), gn_net_params(gan->G), gn_net_param_count(gan->G) * 4));
    gn_gan_free(again);
    /* without the model text, "tiny" would have to be a preset */
    free(gan->model_text);
    gan->model_text = NULL;
    ck_assert_int_eq(gn_checkpoint_save(path, gan, NULL, 0, NULL), GN_OK);
    ck_assert_int_eq(gn_checkpoint_read_model(path, &back), GN_OK);
    ck_assert_ptr_null(back);
    ck_assert_int_eq(gn_gan_open_checkpoint(path, 1, &again, NULL, 0), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), "unknown preset 'tiny'"), "%s", gn_last_error());
    gn_gan_free(gan);
    free(dir);
}
END_TEST

START_TEST(cli_commands) {
    char *dir = tu_tmpdir(), good[4200], bad[4200], args[9000], models[4200];
    snprintf(good, sizeof good, "%s/good.gnm", dir);
    snprintf(bad, sizeof bad, "%s/bad.gnm", dir);
    /* small, but with G making the bundled MNIST's 28x28 images */
    const char *text = "[settings]\niters = 2\nbatch = 4\n[generator]\ninput 4\ndense 784\nreshape 28 28 1\n"
                       "tanh\n[discriminator]\ninput 28 28 1\nflatten\ndense 2\nsoftmax\n";
    const char *btext = G_TINY "[discriminator]\ninput 1 1 3\ndense two\n";
    tu_write_file(good, text, strlen(text));
    tu_write_file(bad, btext, strlen(btext));
    snprintf(models, sizeof models, "%s/models", getenv("GANNET_DATA_DIR"));
    snprintf(args, sizeof args, "check-model %s", good);
    tu_gannet_expect(args, 0, "OK (G 3920 parameters, D 1570 parameters, noise size 4)");
    snprintf(args, sizeof args, "check-model %s", bad);
    tu_gannet_expect(args, 2, "bad.gnm:6:7: expected an integer in [1, 16777216] for dense's units, found 'two'");
    tu_gannet_expect("check-model /nonexistent.gnm", 2, "cannot open model file");
    tu_gannet_expect("check-model", 2, "expected one model file");
    snprintf(args, sizeof args, "check-model %s/dcgan.gnm", models);
    tu_gannet_expect(args, 0, "OK (G 1818753 parameters, D 145090 parameters, noise size 100)");
    snprintf(args, sizeof args, "info --model %s/dcgan.gnm", models);
    tu_gannet_expect(args, 0, "51380224");
    tu_gannet_expect(args, 0, "G + D: 1963843 parameters");
    snprintf(args, sizeof args, "info --model %s", bad);
    tu_gannet_expect(args, 2, "bad.gnm:6:7");
    snprintf(args, sizeof args, "train --model %s --preset dcgan", good);
    tu_gannet_expect(args, 2, "--preset and --model exclude each other");
    snprintf(args, sizeof args, "train --model %s --out %s/run", bad, dir);
    tu_gannet_expect(args, 2, "bad.gnm:6:7: expected");
    /* settings from the file, the command line over them */
    snprintf(args, sizeof args, "train --model %s --out %s/run --iters 3 --progress lines --threads 1", good, dir);
    tu_gannet_expect(args, 0, "training good for 3 iterations (batch 4,");
    snprintf(args, sizeof args, "sample --checkpoint %s/run --n 4 --out %s/s.png", dir, dir);
    tu_gannet_expect(args, 0, "wrote 4 images");
    snprintf(args, sizeof args, "train --resume %s/run --iters 4 --progress lines", dir);
    tu_gannet_expect(args, 0, "training good for 4 iterations");
    free(dir);
}
END_TEST

/* SNGAN-style G and D (data/models/resnet-mnist.gnm); the counts are
 * test/resnet_twin.py's, from the same network in PyTorch. */
#define RESNET_G_PARAMS 392161
#define RESNET_D_PARAMS 69986

START_TEST(resnet_matches_its_pytorch_twin) {
    char path[1200];
    gn_preset_path("resnet-mnist", path, sizeof path);
    char *text;
    size_t len;
    ck_assert_int_eq(gn_model_read_file(path, &text, &len), GN_OK);
    gn_model *m;
    ck_assert_msg(gn_model_parse(path, text, len, &m) == GN_OK, "%s", gn_last_error());
    gn_net *G, *D;
    ck_assert_msg(gn_model_build(m, 1, &G, &D) == GN_OK, "%s", gn_last_error());
    ck_assert_uint_eq(gn_net_param_count(G), RESNET_G_PARAMS);
    ck_assert_uint_eq(gn_net_param_count(D), RESNET_D_PARAMS);
    gn_net_free(G);
    gn_net_free(D);
    gn_model_free(m);
    free(text);
}
END_TEST

/* data/models/dcgan-SxSxC.gnm: PyTorch's dcgan example at three sizes and
 * two channel counts; the counts are test/dcgan_twin.py's. */
static const struct {
    int size, channels;
    size_t g, d;
} dcgan_twins[] = {
    {32, 1, 3444480, 2633216},   {32, 3, 3448576, 2637312},   {64, 1, 3574656, 2763520},
    {64, 3, 3576704, 2765568},   {128, 1, 12784512, 11162368}, {128, 3, 12786560, 11164416},
};

START_TEST(dcgan_files_match_their_pytorch_twins) {
    for (size_t i = 0; i < sizeof dcgan_twins / sizeof *dcgan_twins; i++) {
        int S = dcgan_twins[i].size, C = dcgan_twins[i].channels, shaped;
        char *text;
        size_t len;
        ck_assert_msg(gn_preset_text_for("dcgan", "d", S, S, C, &text, &len, &shaped) == GN_OK, "%s",
                      gn_last_error());
        ck_assert_msg(shaped, "dcgan at %dx%dx%d read its 28x28 file", S, S, C);
        gn_model *m = parse_ok(text);
        gn_net *G, *D;
        ck_assert_msg(gn_model_build(m, 1, &G, &D) == GN_OK, "%s", gn_last_error());
        gn_shape img = gn_net_output_shape(G), out = gn_net_output_shape(D);
        ck_assert(img.h == S && img.w == S && img.c == C && gn_shape_size(out) == 1);
        ck_assert_msg(gn_net_param_count(G) == dcgan_twins[i].g && gn_net_param_count(D) == dcgan_twins[i].d,
                      "%dx%dx%d: G %zu, D %zu parameters", S, S, C, gn_net_param_count(G),
                      gn_net_param_count(D));
        for (int l = 0; l < gn_net_layer_count(D); l++) /* bias-free, as the example's */
            ck_assert_ptr_null(gn_net_layer_kind(D, l) == GN_LAYER_CONV2D ? gn_net_layer_bias(D, l, NULL) : NULL);
        gn_net_free(G);
        gn_net_free(D);
        gn_model_free(m);
        free(text);
    }
}
END_TEST

/* A preset picks its file by the data's shape; one without a file for it says which shapes it takes. */
START_TEST(presets_follow_the_data_shape) {
    char *text;
    size_t len;
    int shaped;
    ck_assert_int_eq(gn_preset_text_for("dcgan", "d", 28, 28, 1, &text, &len, &shaped), GN_OK);
    ck_assert(!shaped && strstr(text, "input 28 28 1"));
    free(text);
    ck_assert_int_eq(gn_preset_text_for("dcgan", "d", 64, 64, 3, &text, &len, &shaped), GN_OK);
    ck_assert(shaped && strstr(text, "input 64 64 3"));
    free(text);
    ck_assert_int_eq(gn_preset_text_for("seed-mnist", "d.idx", 64, 64, 3, &text, &len, &shaped), GN_ERR_ARG);
    ck_assert_ptr_null(text);
    ck_assert_str_eq(gn_last_error(), "d.idx: images are 64x64x3; preset seed-mnist takes 28x28x1");
    ck_assert_int_eq(gn_preset_text_for("dcgan", "d.idx", 20, 20, 1, &text, &len, &shaped), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), "preset dcgan takes 28x28x1, 32x32x1, 32x32x3, 64x64x1, 64x64x3"),
                  "%s", gn_last_error());
    ck_assert_int_eq(gn_preset_text_for("nope", "d", 28, 28, 1, &text, &len, &shaped), GN_ERR_ARG);
}
END_TEST

/* bias=0 takes a convolution's bias away (and only a convolution's). */
START_TEST(bias_zero_removes_the_bias) {
    const char *fmt = "[generator]\ninput 4\nreshape 1 1 4\ndeconv2d 3 kernel=2 padding=valid%s\n"
                      "[discriminator]\ninput 2 2 3\nconv2d 1 kernel=2 padding=valid%s\n";
    char text[400];
    size_t counts[2][2];
    for (int nb = 0; nb < 2; nb++) {
        snprintf(text, sizeof text, fmt, nb ? " bias=0" : "", nb ? " bias=0" : "");
        gn_model *m = parse_ok(text);
        gn_net *G, *D;
        ck_assert_msg(gn_model_build(m, 1, &G, &D) == GN_OK, "%s", gn_last_error());
        counts[nb][0] = gn_net_param_count(G);
        counts[nb][1] = gn_net_param_count(D);
        gn_net_free(G);
        gn_net_free(D);
        gn_model_free(m);
    }
    ck_assert_uint_eq(counts[0][0] - counts[1][0], 3); /* 4 * 3 * 2 * 2 weights, 3 biases */
    ck_assert_uint_eq(counts[0][1] - counts[1][1], 1);
    BAD(G_TINY "[discriminator]\ninput 1 1 3\ndense 2 bias=0\nsoftmax\n", "t.gnm:6:9:", "argument");
    gn_net *n = gn_net_new("N", (gn_shape){1, 1, 4});
    gn_net_add_dense(n, 2);
    gn_net_no_bias(n);
    ck_assert_int_eq(gn_net_build(n, GN_INIT_NORMAL_002, 1), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), "bias=0 applies to conv2d and deconv2d"), "%s", gn_last_error());
    gn_net_free(n);
}
END_TEST

int main(void) {
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, every_layer_keyword_builds);
    tcase_add_test(tc, dcgan_files_match_their_pytorch_twins);
    tcase_add_test(tc, presets_follow_the_data_shape);
    tcase_add_test(tc, bias_zero_removes_the_bias);
    tcase_add_test(tc, skip_statements_parse);
    tcase_add_test(tc, settings_and_defaults);
    tcase_add_test(tc, the_table_decides_what_a_model_file_sets);
    tcase_add_test(tc, the_docs_show_the_tables_model_settings);
    tcase_add_test(tc, bad_files);
    tcase_add_test(tc, shape_errors_name_their_line);
    tcase_add_test(tc, presets_match_the_code_they_replaced);
    tcase_add_test(tc, names_from_paths);
    tcase_add_test(tc, checkpoints_carry_the_model);
    tcase_add_test(tc, cli_commands);
    tcase_add_test(tc, resnet_matches_its_pytorch_twin);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
