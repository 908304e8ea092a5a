/* Model files -> G and D (the format: docs/models.md). One table maps each
 * layer keyword to its arguments and its gn_net_add_* call; settings are
 * the settings table's (src/settings.c), read with its own validation, plus
 * the model's initialiser. The parser checks syntax, values and tensor
 * names; shapes are checked by building the networks, and a shape error is
 * traced back to the statement that caused it.
 *
 * The format is a few dozen lines of "keyword args" text, simpler than any
 * general configuration language a library would parse for us, and its
 * messages must name a line and column in the user's file. */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/model.h"
#include "gannet/settings.h"

#define MAX_ARGS 6
#define NAME_LEN 32 /* tensor names: at most 31 bytes, as net.h says */
#define MAX_NAMES 256

typedef enum arg_type { ARG_INT, ARG_FLOAT, ARG_CHOICE, ARG_NAME } arg_type;

/* Which ends of a range are open ([lo, hi) and so on). */
enum { RANGE_CLOSED = 0, RANGE_OPEN_LO = 1, RANGE_OPEN_HI = 2 };

typedef struct arg_spec {
    const char *name;
    arg_type type;
    int required;
    double def, lo, hi;
    int open;                   /* RANGE_OPEN_LO | RANGE_OPEN_HI */
    const char *const *choices; /* ARG_CHOICE: the value is the index */
} arg_spec;

/* One statement of a network section. */
typedef struct stmt {
    int kind;             /* index in layer_table */
    int line, col;
    double v[MAX_ARGS];   /* ints and floats (a float is exact as a double) */
    char name[NAME_LEN];  /* ARG_NAME */
    int name_col;
} stmt;

/* What a statement does with its tensor-name argument. */
typedef enum name_use {
    NAME_NONE,    /* no name argument */
    NAME_DEFINES, /* names the output of the layer above (name) */
    NAME_READS,   /* reads a named tensor (from, add, concat) */
} name_use;

typedef struct layer_spec {
    const char *keyword;
    int nargs;
    arg_spec args[MAX_ARGS];
    void (*add)(gn_net *net, const stmt *s);
    int adds_layer; /* 0 for the statements that only name or pick tensors */
    name_use names;
} layer_spec;

/* ---- the layer table: keyword, arguments, the gn_net_add_* call ---- */

static const char *const pad_names[] = {"same", "valid", NULL}; /* GN_PAD_SAME, GN_PAD_VALID */

#define I(x) ((int)s->v[x])
#define F(x) ((float)s->v[x])
/* sn=1: spectral normalisation of the layer's weights */
static void add_dense(gn_net *n, const stmt *s) {
    gn_net_add_dense(n, I(0));
    if (I(1)) gn_net_spectral_norm(n);
}
/* bias=0: no bias (a layer before a batch norm, as DCGAN's) */
static void add_conv2d(gn_net *n, const stmt *s) {
    gn_net_add_conv2d(n, I(0), I(1), I(2), (gn_padding)I(3));
    if (I(4)) gn_net_spectral_norm(n);
    if (!I(5)) gn_net_no_bias(n);
}
static void add_deconv2d(gn_net *n, const stmt *s) {
    gn_net_add_deconv2d(n, I(0), I(1), I(2), (gn_padding)I(3));
    if (I(4)) gn_net_spectral_norm(n);
    if (!I(5)) gn_net_no_bias(n);
}
static void add_batchnorm(gn_net *n, const stmt *s) { gn_net_add_batchnorm(n, F(0), F(1)); }
static void add_relu(gn_net *n, const stmt *s) { (void)s; gn_net_add_relu(n); }
static void add_leaky_relu(gn_net *n, const stmt *s) { gn_net_add_leaky_relu(n, F(0)); }
static void add_sigmoid(gn_net *n, const stmt *s) { (void)s; gn_net_add_sigmoid(n); }
static void add_tanh(gn_net *n, const stmt *s) { (void)s; gn_net_add_tanh(n); }
static void add_softmax(gn_net *n, const stmt *s) { (void)s; gn_net_add_softmax(n); }
static void add_dropout(gn_net *n, const stmt *s) { gn_net_add_dropout(n, F(0)); }
static void add_noise(gn_net *n, const stmt *s) { gn_net_add_gaussian_noise(n, F(0)); }
static void add_upsample(gn_net *n, const stmt *s) { gn_net_add_upsample(n, I(0)); }
/* a stride of 0 stands for "the pool size", Keras' default */
static void add_maxpool(gn_net *n, const stmt *s) { gn_net_add_maxpool(n, I(0), I(1) ? I(1) : I(0)); }
static void add_reshape(gn_net *n, const stmt *s) { gn_net_add_reshape(n, (gn_shape){I(0), I(1), I(2)}); }
static void add_flatten(gn_net *n, const stmt *s) { (void)s; gn_net_add_flatten(n); }
static void add_add(gn_net *n, const stmt *s) { gn_net_add_add(n, s->name); }
static void add_concat(gn_net *n, const stmt *s) { gn_net_add_concat(n, s->name); }
static void name_output(gn_net *n, const stmt *s) { gn_net_name_output(n, s->name); }
static void take(gn_net *n, const stmt *s) { gn_net_take(n, s->name); }
#undef I
#undef F

#define DIM 65536.0   /* the largest filter count, reshape or input dimension */
#define UNITS 16777216.0
#define SMALL 64.0    /* the largest kernel, stride, pool or upsampling factor */
#define INT_ARG(nm, req, d, lo, hi) {nm, ARG_INT, req, d, lo, hi, RANGE_CLOSED, NULL}
#define FLOAT_ARG(nm, req, d, lo, hi, open) {nm, ARG_FLOAT, req, d, lo, hi, open, NULL}
#define PAD_ARG {"padding", ARG_CHOICE, 0, GN_PAD_SAME, 0, 0, RANGE_CLOSED, pad_names}
#define NAME_ARG(nm) {nm, ARG_NAME, 1, 0, 0, 0, RANGE_CLOSED, NULL}
#define CONV_ARGS {INT_ARG("filters", 1, 0, 1, DIM), INT_ARG("kernel", 1, 0, 1, SMALL), \
                   INT_ARG("stride", 0, 1, 1, SMALL), PAD_ARG, INT_ARG("sn", 0, 0, 0, 1), \
                   INT_ARG("bias", 0, 1, 0, 1)}

#define LAYER 1, NAME_NONE
static const layer_spec layer_table[] = {
    {"dense", 2, {INT_ARG("units", 1, 0, 1, UNITS), INT_ARG("sn", 0, 0, 0, 1)}, add_dense, LAYER},
    {"conv2d", 6, CONV_ARGS, add_conv2d, LAYER},
    {"deconv2d", 6, CONV_ARGS, add_deconv2d, LAYER},
    {"batchnorm", 2, {FLOAT_ARG("momentum", 0, 0.99, 0, 1, RANGE_OPEN_HI),
                      FLOAT_ARG("eps", 0, 1e-3, 0, 1, RANGE_OPEN_LO)}, add_batchnorm, LAYER},
    {"relu", 0, {{0}}, add_relu, LAYER},
    {"leaky_relu", 1, {FLOAT_ARG("alpha", 0, 0.3, 0, 1, RANGE_OPEN_HI)}, add_leaky_relu, LAYER},
    {"sigmoid", 0, {{0}}, add_sigmoid, LAYER},
    {"tanh", 0, {{0}}, add_tanh, LAYER},
    {"softmax", 0, {{0}}, add_softmax, LAYER},
    {"dropout", 1, {FLOAT_ARG("rate", 1, 0, 0, 1, RANGE_OPEN_HI)}, add_dropout, LAYER},
    {"gaussian_noise", 1, {FLOAT_ARG("stddev", 1, 0, 0, 1e6, RANGE_CLOSED)}, add_noise, LAYER},
    {"upsample", 1, {INT_ARG("size", 0, 2, 1, SMALL)}, add_upsample, LAYER},
    {"maxpool", 2, {INT_ARG("size", 0, 2, 1, SMALL), INT_ARG("stride", 0, 0, 1, SMALL)}, add_maxpool, LAYER},
    {"reshape", 3, {INT_ARG("height", 1, 0, 1, DIM), INT_ARG("width", 1, 0, 1, DIM),
                    INT_ARG("channels", 1, 0, 1, DIM)}, add_reshape, LAYER},
    {"flatten", 0, {{0}}, add_flatten, LAYER},
    {"add", 1, {NAME_ARG("tensor")}, add_add, 1, NAME_READS},
    {"concat", 1, {NAME_ARG("tensor")}, add_concat, 1, NAME_READS},
    {"name", 1, {NAME_ARG("tensor")}, name_output, 0, NAME_DEFINES},
    {"from", 1, {NAME_ARG("tensor")}, take, 0, NAME_READS},
};
#undef LAYER
#define NKINDS ((int)(sizeof layer_table / sizeof *layer_table))

/* ---- settings: the training settings table's GN_SET_MODEL rows, and init ---- */

/* The initialiser belongs to the networks, not to training: gn_model_build
 * uses it and the checkpoint keeps it in the model text, so it is no row of
 * the settings table (which config.json, checkpoints and --help follow). */
#define INIT_KEY "init"
#define INIT_SLOT GN_SETTINGS_MAX /* set_line's entry for init, after the table's rows */
static const char *const init_names[] = {"glorot-uniform", "glorot-normal", "normal-0.02", NULL};

/* ---- the parsed model ---- */

enum { SEC_NONE = -1, SEC_SETTINGS = 0, SEC_G = 1, SEC_D = 2 };
static const char *const section_names[] = {"[settings]", "[generator]", "[discriminator]"};

typedef struct net_text {
    int line, col;        /* of the section header; 0: no such section */
    int in_line, in_col;  /* of the input statement; 0: none yet */
    gn_shape input;
    stmt *s;
    int n, cap;
    int layers;           /* statements that add a layer */
    char names[MAX_NAMES][NAME_LEN];
    int nnames;
} net_text;

struct gn_model {
    char file[256];
    gn_gan_config cfg;       /* the table's defaults, then what the file sets */
    gn_init init;
    int set_line[GN_SETTINGS_MAX + 1]; /* where each setting (row, INIT_SLOT) was given; 0: not */
    int sec_line[3];
    net_text net[2];         /* G, D */
    int end_line, end_col;   /* just past the text */
};

void gn_model_free(gn_model *m) {
    if (!m) return;
    free(m->net[0].s);
    free(m->net[1].s);
    free(m);
}

/* ---- the parser ---- */

typedef struct token {
    const char *s;
    int n;   /* 0: end of line */
    int col; /* 1-based */
} token;

typedef struct parser {
    gn_model *m;
    const char *text;
    size_t len, pos;
    int line;
    const char *l; /* the current line, comment and trailing blanks removed */
    int n;
    int sec;
} parser;

/* n bytes of s into buf, bytes that are not printable ASCII as \xNN, cut
 * with "..." after `cut` bytes; returns the length written. */
static size_t escape(char *buf, size_t len, const char *s, int n, int cut) {
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < n && o + 8 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == cut) {
            o += (size_t)snprintf(buf + o, len - o, "...");
            break;
        }
        if (c >= 0x20 && c < 0x7f) buf[o++] = (char)c, buf[o] = 0;
        else o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
    }
    return o;
}

/* 'tok' (escaped, long tokens cut), or "end of line". */
static const char *quote(char *buf, size_t len, token t) {
    if (!t.n) return "end of line";
    buf[0] = '\'';
    size_t o = 1 + escape(buf + 1, len - 1, t.s, t.n, 40);
    snprintf(buf + o, len - o, "'");
    return buf;
}

/* "FILE:LINE:COL: expected <fmt...>, found <found>" as GN_ERR_FORMAT. */
__attribute__((format(printf, 4, 5)))
static gn_status fail_at(const parser *p, int col, const char *found, const char *fmt, ...) {
    char exp[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(exp, sizeof exp, fmt, ap);
    va_end(ap);
    return gn_fail(GN_ERR_FORMAT, "%s:%d:%d: expected %s, found %s", p->m->file, p->line, col, exp, found);
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* The next blank-separated token from l[*i]; stops early at `stop` (0: none). */
static token next_token(const parser *p, int *i, char stop) {
    while (*i < p->n && is_blank(p->l[*i])) (*i)++;
    token t = {p->l + *i, 0, *i + 1};
    while (*i < p->n && !is_blank(p->l[*i]) && p->l[*i] != stop) (*i)++;
    t.n = (int)(p->l + *i - t.s);
    return t;
}

static int tok_is(token t, const char *word) { return t.n == (int)strlen(word) && !memcmp(t.s, word, t.n); }

/* Reads the next line into p->l; 1: a line, 0: end of text, -1: error. */
static int next_line(parser *p, gn_status *st) {
    if (p->pos >= p->len) return 0;
    p->line++;
    const char *start = p->text + p->pos, *nl = memchr(start, '\n', p->len - p->pos);
    size_t n = nl ? (size_t)(nl - start) : p->len - p->pos;
    p->pos += n + (nl ? 1 : 0);
    if (n > GN_MODEL_MAX_LINE) {
        char found[64];
        snprintf(found, sizeof found, "a line of %zu bytes", n);
        *st = fail_at(p, GN_MODEL_MAX_LINE + 1, found, "a line of at most %d bytes", GN_MODEL_MAX_LINE);
        return -1;
    }
    const char *nul = memchr(start, 0, n);
    if (nul) {
        *st = fail_at(p, (int)(nul - start) + 1, "a NUL byte", "text");
        return -1;
    }
    if (n && start[n - 1] == '\r') n--;
    const char *hash = memchr(start, '#', n);
    if (hash) n = (size_t)(hash - start);
    while (n && is_blank(start[n - 1])) n--;
    p->l = start;
    p->n = (int)n;
    return 1;
}

static void range_text(char *buf, size_t len, const arg_spec *a) {
    snprintf(buf, len, "%c%.10g, %.10g%c", a->open & RANGE_OPEN_LO ? '(' : '[', a->lo, a->hi,
             a->open & RANGE_OPEN_HI ? ')' : ']');
}

static int valid_name(token t) {
    if (t.n >= NAME_LEN) return 0;
    for (int i = 0; i < t.n; i++) {
        char c = t.s[i];
        int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!letter && !(i > 0 && c >= '0' && c <= '9')) return 0;
    }
    return t.n > 0;
}

/* Parses token t as argument a of `what` into *v (or name). */
static gn_status parse_value(const parser *p, const arg_spec *a, const char *what, token t, double *v,
                             char *name) {
    char q[200], tmp[64], r[80];
    const char *found = quote(q, sizeof q, t);
    range_text(r, sizeof r, a);
    if (a->type == ARG_CHOICE) {
        char list[200] = "";
        for (int i = 0; a->choices[i]; i++) {
            if (tok_is(t, a->choices[i])) return (*v = i), GN_OK;
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? " or " : "", a->choices[i]);
        }
        return fail_at(p, t.col, found, "%s for %s", list, what);
    }
    if (a->type == ARG_NAME) {
        if (!valid_name(t))
            return fail_at(p, t.col, found, "a tensor name (a letter or _, then letters, digits or _; "
                           "at most %d bytes) for %s", NAME_LEN - 1, what);
        memcpy(name, t.s, t.n);
        name[t.n] = 0;
        return GN_OK;
    }
    int ok = t.n > 0 && t.n < (int)sizeof tmp;
    for (int i = 0; ok && i < t.n; i++)
        ok = strchr(a->type == ARG_INT ? "+-0123456789" : "+-0123456789.eE", t.s[i]) != NULL;
    if (ok) memcpy(tmp, t.s, t.n), tmp[t.n] = 0;
    char *end = tmp;
    errno = 0;
    if (ok && a->type == ARG_INT) {
        long x = strtol(tmp, &end, 10);
        ok = !*end && !errno && x >= a->lo && x <= a->hi;
        *v = (double)x;
    } else if (ok) {
        float f = strtof(tmp, &end);
        ok = !*end && !errno && isfinite(f);
        ok = ok && (a->open & RANGE_OPEN_LO ? f > (float)a->lo : f >= (float)a->lo);
        ok = ok && (a->open & RANGE_OPEN_HI ? f < (float)a->hi : f <= (float)a->hi);
        *v = f;
    }
    if (!ok)
        return fail_at(p, t.col, found, "%s in %s for %s", a->type == ARG_INT ? "an integer" : "a number",
                       r, what);
    return GN_OK;
}

/* ---- settings lines: KEY = VALUE ---- */

/* The keys a model file may set: "init, iters, batch, ...". */
static void model_keys(char *buf, size_t len) {
    size_t n = (size_t)snprintf(buf, len, "%s", INIT_KEY);
    for (const gn_setting *s = gn_settings; s->name && n < len; s++)
        if (s->flags & GN_SET_MODEL) n += (size_t)snprintf(buf + n, len - n, ", %s", s->name);
}

/* The slot in set_line of the setting `key` names: a table row's index, or
 * INIT_SLOT. A key that is no setting, or one of the run's own (seed,
 * threads, data...), is an error naming the keys a model file may set. */
static gn_status find_setting(const parser *p, token key, int *slot) {
    char name[64], q[200], keys[400], found[400];
    if (tok_is(key, INIT_KEY)) return (*slot = INIT_SLOT), GN_OK;
    const gn_setting *s = NULL;
    if (key.n < (int)sizeof name) {
        memcpy(name, key.s, (size_t)key.n);
        name[key.n] = 0;
        s = gn_setting_by_name(name);
    }
    if (s && (s->flags & GN_SET_MODEL)) return (*slot = (int)(s - gn_settings)), GN_OK;
    model_keys(keys, sizeof keys);
    quote(q, sizeof q, key); /* key.n > 0: q holds it */
    if (!s) return fail_at(p, key.col, q, "a setting (%s)", keys);
    if (s->flags & GN_SET_OPTION)
        snprintf(found, sizeof found, "%s (a setting of the run, not of the model: gannet train --%s)", q,
                 s->name);
    else
        snprintf(found, sizeof found, "%s (%s: not a model file's setting)", q, s->help);
    return fail_at(p, key.col, found, "a setting (%s)", keys);
}

/* A value of a setting of the table, read and checked by the table's own
 * gn_setting_parse; its message goes after what was found. */
static gn_status parse_table_value(parser *p, const gn_setting *set, token val) {
    char q[200], v[GN_MODEL_MAX_LINE + 1], err[GN_MODEL_MAX_LINE + 128], found[600];
    if (!val.n) return fail_at(p, val.col, "end of line", "a value for setting %s", set->name);
    quote(q, sizeof q, val);
    memcpy(v, val.s, (size_t)val.n);
    v[val.n] = 0;
    if (!gn_setting_parse(set, v, &p->m->cfg, err, sizeof err)) return GN_OK;
    size_t n = (size_t)snprintf(found, sizeof found, "%s (", q);
    n += escape(found + n, sizeof found - n, err, (int)strlen(err), 200);
    snprintf(found + n, sizeof found - n, ")");
    return fail_at(p, val.col, found, "a value for setting %s", set->name);
}

static gn_status parse_init(parser *p, token val) {
    static const arg_spec init = {INIT_KEY, ARG_CHOICE, 0, 0, 0, 0, RANGE_CLOSED, init_names};
    double v;
    gn_status s = parse_value(p, &init, "setting " INIT_KEY, val, &v, NULL);
    if (!s) p->m->init = (gn_init)v;
    return s;
}

static gn_status parse_setting(parser *p) {
    char q[200];
    int i = 0, slot = 0;
    token key = next_token(p, &i, '=');
    if (!key.n) key.n = 1; /* a line that starts with '=' */
    gn_status s = find_setting(p, key, &slot);
    if (s) return s;
    const char *name = slot == INIT_SLOT ? INIT_KEY : gn_settings[slot].name;
    while (i < p->n && is_blank(p->l[i])) i++;
    if (i >= p->n || p->l[i] != '=') {
        token t = next_token(p, &i, 0);
        return fail_at(p, t.col, quote(q, sizeof q, t), "'=' after %s", name);
    }
    i++;
    token val = next_token(p, &i, 0);
    s = slot == INIT_SLOT ? parse_init(p, val) : parse_table_value(p, &gn_settings[slot], val);
    if (s) return s;
    token more = next_token(p, &i, 0);
    if (more.n) return fail_at(p, more.col, quote(q, sizeof q, more), "end of line");
    if (p->m->set_line[slot])
        return fail_at(p, key.col, quote(q, sizeof q, key), "each setting once (%s is set at line %d)", name,
                       p->m->set_line[slot]);
    p->m->set_line[slot] = p->line;
    return GN_OK;
}

/* ---- network sections: input, then one layer (or tensor) statement a line ---- */

static gn_status parse_input(parser *p, net_text *nt, int which, token kw, int i) {
    static const arg_spec dim = INT_ARG("input", 1, 0, 1, DIM);
    char q[200];
    if (nt->in_line)
        return fail_at(p, kw.col, "a second 'input'", "one input statement (the first is at line %d)",
                       nt->in_line);
    double d[4];
    int k = 0;
    for (token t = next_token(p, &i, 0); t.n; t = next_token(p, &i, 0)) {
        if (k == 3 || (which == SEC_G && k == 1))
            return fail_at(p, t.col, quote(q, sizeof q, t), "end of line (%s)",
                           which == SEC_G ? "G's input is one number, the noise size"
                                          : "an input is HEIGHT WIDTH CHANNELS or one size");
        gn_status s = parse_value(p, &dim, "input", t, &d[k++], NULL);
        if (s) return s;
    }
    if (k != 1 && k != 3)
        return fail_at(p, p->n + 1, "end of line", "%s", k ? "HEIGHT WIDTH CHANNELS" : "the input's size");
    nt->input = k == 1 ? (gn_shape){1, 1, (int)d[0]} : (gn_shape){(int)d[0], (int)d[1], (int)d[2]};
    nt->in_line = p->line;
    nt->in_col = kw.col;
    snprintf(nt->names[nt->nnames++], NAME_LEN, "input"); /* net.h's name for the input */
    return GN_OK;
}

/* The arguments after a keyword: positional ones first, then NAME=VALUE. */
static gn_status parse_args(parser *p, const layer_spec *L, stmt *st, int i) {
    char q[200], what[64];
    unsigned given = 0;
    int next_pos = 0, named = 0;
    for (token t = next_token(p, &i, 0); t.n; t = next_token(p, &i, 0)) {
        const char *eq = memchr(t.s, '=', t.n);
        int a = next_pos;
        token v = t;
        if (eq) {
            token key = {t.s, (int)(eq - t.s), t.col};
            for (a = 0; a < L->nargs && !tok_is(key, L->args[a].name); a++) {}
            if (a == L->nargs) {
                char list[160] = "";
                for (int j = 0; j < L->nargs; j++)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "", L->args[j].name);
                return fail_at(p, t.col, quote(q, sizeof q, key), "an argument of %s%s%s%s", L->keyword,
                               L->nargs ? " (" : " (it takes none", list, ")");
            }
            if (given & (1u << a))
                return fail_at(p, t.col, quote(q, sizeof q, key), "each argument once");
            v = (token){eq + 1, t.n - (int)(eq - t.s) - 1, t.col + (int)(eq - t.s) + 1};
            named = 1;
        } else if (named) {
            return fail_at(p, t.col, quote(q, sizeof q, t), "NAME=VALUE after a named argument");
        } else if (a >= L->nargs) {
            return fail_at(p, t.col, quote(q, sizeof q, t), "end of line (%s takes %d argument%s)",
                           L->keyword, L->nargs, L->nargs == 1 ? "" : "s");
        } else {
            next_pos++;
        }
        snprintf(what, sizeof what, "%s's %s", L->keyword, L->args[a].name);
        gn_status s = parse_value(p, &L->args[a], what, v, &st->v[a], st->name);
        if (s) return s;
        if (L->args[a].type == ARG_NAME) st->name_col = v.col;
        given |= 1u << a;
    }
    for (int a = 0; a < L->nargs; a++) {
        if (given & (1u << a)) continue;
        if (L->args[a].required) {
            char r[80];
            range_text(r, sizeof r, &L->args[a]);
            return fail_at(p, p->n + 1, "end of line", "%s's %s (%s)", L->keyword, L->args[a].name,
                           L->args[a].type == ARG_NAME ? "a tensor name" : r);
        }
        st->v[a] = L->args[a].def;
    }
    return GN_OK;
}

static int find_name(const net_text *nt, const char *name) {
    for (int i = 0; i < nt->nnames; i++)
        if (!strcmp(nt->names[i], name)) return i;
    return -1;
}

/* Tensor names: `name` makes a new one after a layer; the others read one. */
static gn_status check_names(parser *p, net_text *nt, const stmt *st) {
    char q[200];
    name_use use = layer_table[st->kind].names;
    if (use == NAME_NONE) return GN_OK;
    token t = {st->name, (int)strlen(st->name), 0};
    quote(q, sizeof q, t);
    if (use == NAME_DEFINES) {
        if (!nt->layers) return fail_at(p, st->col, "'name' before any layer", "a layer whose output to name "
                                        "(the network's input is called 'input')");
        if (find_name(nt, st->name) >= 0) return fail_at(p, st->name_col, q, "a new tensor name");
        if (nt->nnames == MAX_NAMES) return fail_at(p, st->name_col, q, "at most %d tensor names", MAX_NAMES);
        snprintf(nt->names[nt->nnames++], NAME_LEN, "%s", st->name);
        return GN_OK;
    }
    if (find_name(nt, st->name) >= 0) return GN_OK;
    char list[300] = "";
    for (int i = 0; i < nt->nnames && strlen(list) < 200; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", nt->names[i]);
    return fail_at(p, st->name_col, q, "a tensor named above (%s)", list);
}

static gn_status push_stmt(parser *p, net_text *nt, const stmt *st, token kw) {
    if (nt->n == GN_MODEL_MAX_LAYERS)
        return fail_at(p, kw.col, "more", "at most %d statements in %s", GN_MODEL_MAX_LAYERS,
                       section_names[p->sec]);
    if (nt->n == nt->cap) {
        int cap = nt->cap ? 2 * nt->cap : 32;
        stmt *s = realloc(nt->s, (size_t)cap * sizeof *s);
        if (!s) return gn_fail(GN_ERR_NOMEM, "out of memory reading %s", p->m->file);
        nt->s = s;
        nt->cap = cap;
    }
    nt->s[nt->n++] = *st;
    nt->layers += layer_table[st->kind].adds_layer;
    return GN_OK;
}

static gn_status parse_stmt(parser *p) {
    char q[200];
    net_text *nt = &p->m->net[p->sec - SEC_G];
    int i = 0;
    token kw = next_token(p, &i, 0);
    if (tok_is(kw, "input")) return parse_input(p, nt, p->sec, kw, i);
    if (!nt->in_line)
        return fail_at(p, kw.col, quote(q, sizeof q, kw), "'input' as the first statement of %s",
                       section_names[p->sec]);
    stmt st = {0};
    while (st.kind < NKINDS && !tok_is(kw, layer_table[st.kind].keyword)) st.kind++;
    if (st.kind == NKINDS) {
        char list[400] = "";
        for (int k = 0; k < NKINDS; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "", layer_table[k].keyword);
        return fail_at(p, kw.col, quote(q, sizeof q, kw), "a layer (%s)", list);
    }
    st.line = p->line;
    st.col = kw.col;
    gn_status s = parse_args(p, &layer_table[st.kind], &st, i);
    if (!s) s = check_names(p, nt, &st);
    if (!s) s = push_stmt(p, nt, &st, kw);
    return s;
}

static gn_status parse_header(parser *p) {
    char q[200];
    int i = 0;
    token t = next_token(p, &i, 0);
    int sec = SEC_SETTINGS;
    while (sec <= SEC_D && !tok_is(t, section_names[sec])) sec++;
    if (sec > SEC_D) return fail_at(p, t.col, quote(q, sizeof q, t), "[settings], [generator] or [discriminator]");
    token more = next_token(p, &i, 0);
    if (more.n) return fail_at(p, more.col, quote(q, sizeof q, more), "end of line");
    if (p->m->sec_line[sec])
        return fail_at(p, t.col, quote(q, sizeof q, t), "each section once (%s is at line %d)",
                       section_names[sec], p->m->sec_line[sec]);
    p->m->sec_line[sec] = p->line;
    if (sec != SEC_SETTINGS) p->m->net[sec - SEC_G].line = p->line;
    p->sec = sec;
    return GN_OK;
}

static gn_status parse_line(parser *p) {
    if (!p->n) return GN_OK;
    if (p->l[0] == '[' || p->l[0] == ' ' || p->l[0] == '\t') {
        int i = 0;
        token t = next_token(p, &i, 0);
        if (t.s[0] == '[') return parse_header(p);
    }
    if (p->sec == SEC_NONE) {
        char q[200];
        int i = 0;
        token t = next_token(p, &i, 0);
        return fail_at(p, t.col, quote(q, sizeof q, t), "a section header ([settings], [generator] or "
                       "[discriminator])");
    }
    return p->sec == SEC_SETTINGS ? parse_setting(p) : parse_stmt(p);
}

/* Both networks present, each with an input and a layer. */
static gn_status check_complete(parser *p) {
    p->line = p->m->end_line;
    for (int sec = SEC_G; sec <= SEC_D; sec++) {
        const net_text *nt = &p->m->net[sec - SEC_G];
        if (!nt->line) return fail_at(p, p->m->end_col, "end of file", "a %s section", section_names[sec]);
        if (!nt->layers) {
            p->line = nt->line;
            return fail_at(p, 1, "none", "an input statement and at least one layer under %s",
                           section_names[sec]);
        }
    }
    return GN_OK;
}

/* What a file does not set: the settings table's defaults, Keras' initialiser. */
static void set_defaults(gn_model *m) {
    gn_settings_defaults(&m->cfg);
    m->init = GN_INIT_GLOROT_UNIFORM;
}

/* Where the text ends, for "found end of file". */
static void end_position(gn_model *m, const char *text, size_t len, int lines) {
    const char *last = len ? text + len : text;
    size_t col = 0;
    while (last > text && last[-1] != '\n') last--, col++;
    m->end_line = lines + (len && text[len - 1] == '\n') + (len == 0);
    m->end_col = (int)(len && text[len - 1] == '\n' ? 1 : col + 1);
}

gn_status gn_model_parse(const char *file, const char *text, size_t len, gn_model **out) {
    *out = NULL;
    gn_model *m = calloc(1, sizeof *m);
    if (!m) return gn_fail(GN_ERR_NOMEM, "out of memory reading %s", file);
    snprintf(m->file, sizeof m->file, "%s", file);
    set_defaults(m);
    parser p = {m, text, len, 0, 0, NULL, 0, SEC_NONE};
    gn_status s = GN_OK;
    if (len > GN_MODEL_MAX_BYTES) {
        char found[64];
        snprintf(found, sizeof found, "%zu bytes", len);
        p.line = 1;
        s = fail_at(&p, 1, found, "a model file of at most %d bytes", GN_MODEL_MAX_BYTES);
    }
    int r;
    while (!s && (r = next_line(&p, &s)) > 0) s = parse_line(&p);
    if (!s) {
        end_position(m, text, len, p.line);
        s = check_complete(&p);
    }
    if (s) {
        gn_model_free(m);
        return s;
    }
    *out = m;
    return GN_OK;
}

/* ---- building ---- */

void gn_model_config(const gn_model *m, const char *name, gn_gan_config *cfg) {
    *cfg = m->cfg;
    snprintf(cfg->preset, sizeof cfg->preset, "%s", name);
    cfg->zdim = (int)gn_shape_size(m->net[0].input);
    cfg->model = NULL;
}

gn_shape gn_model_image_shape(const gn_model *m) { return m->net[1].input; }

static void shape_text(char *buf, size_t len, gn_shape s) {
    if (s.h == 1 && s.w == 1) snprintf(buf, len, "(%d)", s.c);
    else snprintf(buf, len, "(%d, %d, %d)", s.h, s.w, s.c);
}

/* Network `which` from its first `count` statements, built; NULL on error. */
static gn_status build_prefix(const gn_model *m, int which, int count, uint64_t seed, gn_net **out) {
    const net_text *nt = &m->net[which];
    gn_net *net = gn_net_new(which ? "D" : "G", nt->input);
    if (!net) return gn_fail(GN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < count; i++) layer_table[nt->s[i].kind].add(net, &nt->s[i]);
    gn_status s = gn_net_build(net, m->init, seed);
    if (s) {
        gn_net_free(net);
        return s;
    }
    *out = net;
    return GN_OK;
}

/* Builds a network; when that fails, the shortest prefix that fails ends
 * with the statement at fault (the first error sticks, so longer prefixes
 * fail too), and the message names its line. */
static gn_status build_net(const gn_model *m, int which, uint64_t seed, gn_net **out) {
    const net_text *nt = &m->net[which];
    gn_status s = build_prefix(m, which, nt->n, seed, out);
    if (s == GN_OK || s == GN_ERR_NOMEM) return s;
    char msg[640];
    snprintf(msg, sizeof msg, "%s", gn_last_error());
    int lo = 1, hi = nt->n;
    gn_status shi = s;
    gn_net *t;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        gn_status sm = build_prefix(m, which, mid, seed, &t);
        if (sm) {
            hi = mid;
            shi = sm;
            snprintf(msg, sizeof msg, "%s", gn_last_error());
        } else {
            gn_net_free(t);
            lo = mid + 1;
        }
    }
    gn_shape in = nt->input;
    if (hi > 1 && !build_prefix(m, which, hi - 1, seed, &t)) {
        in = gn_net_output_shape(t);
        gn_net_free(t);
    }
    const stmt *st = &nt->s[hi - 1];
    char sh[64];
    shape_text(sh, sizeof sh, in);
    return gn_fail(shi, "%s:%d:%d: expected a layer that fits its input %s, found '%s' (%s)", m->file,
                   st->line, st->col, sh, layer_table[st->kind].keyword, msg);
}

/* G's output is D's input; D gives two logits (fake, real) or one (real),
 * or with classes = K, K (one per class) and G takes the K-class one-hot too. */
static gn_status check_pair(const gn_model *m, const gn_net *G, const gn_net *D) {
    gn_shape go = gn_net_output_shape(G), di = gn_net_input_shape(D), dout = gn_net_output_shape(D);
    char a[64], b[64];
    if (go.h != di.h || go.w != di.w || go.c != di.c) {
        shape_text(a, sizeof a, go);
        shape_text(b, sizeof b, di);
        return gn_fail(GN_ERR_SHAPE, "%s:%d:%d: expected D's input to be G's output %s, found %s", m->file,
                       m->net[1].in_line, m->net[1].in_col, a, b);
    }
    const stmt *st = &m->net[1].s[m->net[1].n - 1];
    int K = m->cfg.classes;
    if (K && (dout.h != 1 || dout.w != 1 || dout.c != K)) {
        shape_text(b, sizeof b, dout);
        return gn_fail(GN_ERR_SHAPE, "%s:%d:%d: expected D to end with %d logits, one per class (classes = %d), "
                       "found %s", m->file, st->line, st->col, K, K, b);
    }
    if (!K && (dout.h != 1 || dout.w != 1 || (dout.c != 2 && dout.c != 1))) {
        shape_text(b, sizeof b, dout);
        return gn_fail(GN_ERR_SHAPE, "%s:%d:%d: expected D to end with 2 logits (fake, real) or 1 (real), found %s",
                       m->file, st->line, st->col, b);
    }
    if (K && gn_shape_size(gn_net_input_shape(G)) <= (size_t)K)
        return gn_fail(GN_ERR_SHAPE, "%s:%d:%d: expected G to take more inputs than the %d classes (noise, then "
                       "the one-hot class), found %zu", m->file, m->net[0].in_line, m->net[0].in_col, K,
                       gn_shape_size(gn_net_input_shape(G)));
    return GN_OK;
}

gn_status gn_model_build(const gn_model *m, uint64_t seed, gn_net **Gp, gn_net **Dp) {
    gn_net *G = NULL, *D = NULL;
    gn_status s = build_net(m, 0, seed, &G);
    if (!s) s = build_net(m, 1, seed + 1, &D);
    if (!s) s = check_pair(m, G, D);
    if (s) {
        gn_net_free(G);
        gn_net_free(D);
        return s;
    }
    *Gp = G;
    *Dp = D;
    return GN_OK;
}
