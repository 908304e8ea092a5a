#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "gannet/settings.h"

static gn_option *find(gn_option *opts, const char *name, size_t len) {
    for (gn_option *o = opts; o->name; o++)
        if (strlen(o->name) == len && !strncmp(o->name, name, len)) return o;
    return NULL;
}

/* Converts one value; returns 0 or writes a message. */
static int convert(const char *cmd, gn_option *o, const char *v, char *err, size_t errlen) {
    char *end;
    errno = 0;
    switch (o->type) {
    case GN_OPT_INT:
    case GN_OPT_U64: {
        if (!*v || (o->type == GN_OPT_U64 && *v == '-')) goto not_int;
        long long x = strtoll(v, &end, 10);
        if (*end || errno) goto not_int;
        if ((double)x < o->min || (double)x > o->max) {
            snprintf(err, errlen, "gannet %s: --%s: %s is out of range [%.0f, %.0f]", cmd, o->name, v,
                     o->min, o->max);
            return 2;
        }
        if (o->type == GN_OPT_INT) *(int *)o->dest = (int)x;
        else *(uint64_t *)o->dest = (uint64_t)x;
        return 0;
    not_int:
        snprintf(err, errlen, "gannet %s: --%s: '%s' is not an integer", cmd, o->name, v);
        return 2;
    }
    case GN_OPT_FLOAT: {
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x)) {
            snprintf(err, errlen, "gannet %s: --%s: '%s' is not a number", cmd, o->name, v);
            return 2;
        }
        if (x < o->min || x > o->max) {
            snprintf(err, errlen, "gannet %s: --%s: %s is out of range [%g, %g]", cmd, o->name, v,
                     o->min, o->max);
            return 2;
        }
        *(float *)o->dest = (float)x;
        return 0;
    }
    case GN_OPT_STR:
        if (!*v) {
            snprintf(err, errlen, "gannet %s: --%s: empty value", cmd, o->name);
            return 2;
        }
        *(const char **)o->dest = v;
        return 0;
    case GN_OPT_CHOICE:
        for (int i = 0; o->choices[i]; i++)
            if (!strcmp(o->choices[i], v)) {
                *(int *)o->dest = i;
                return 0;
            }
        {
            size_t n = (size_t)snprintf(err, errlen, "gannet %s: --%s: '%s' is not one of", cmd, o->name, v);
            for (int i = 0; o->choices[i] && n < errlen; i++)
                n += (size_t)snprintf(err + n, errlen - n, "%s %s", i ? "," : "", o->choices[i]);
        }
        return 2;
    case GN_OPT_FLAG: *(int *)o->dest = 1; return 0;
    case GN_OPT_SETTING: {
        char msg[512];
        const gn_setting_ref *ref = o->dest;
        if (!*v && ref->setting->type == GN_SET_TEXT) {
            snprintf(err, errlen, "gannet %s: --%s: empty value", cmd, o->name);
            return 2;
        }
        if (!gn_setting_parse(ref->setting, v, ref->cfg, msg, sizeof msg)) return 0;
        snprintf(err, errlen, "gannet %s: --%s: %s", cmd, o->name, msg);
        return 2;
    }
    }
    return 2;
}

int gn_args_parse(const char *cmd, gn_option *opts, int argc, char **argv, char *err, size_t errlen) {
    for (gn_option *o = opts; o->name; o++) o->set = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 1;
        if (strncmp(a, "--", 2) || !a[2]) {
            snprintf(err, errlen, "gannet %s: unexpected argument '%s' (options start with --; see gannet %s --help)",
                     cmd, a, cmd);
            return 2;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        gn_option *o = find(opts, name, len);
        if (!o) {
            snprintf(err, errlen, "gannet %s: unknown option '--%.*s' (see gannet %s --help)", cmd,
                     (int)len, name, cmd);
            return 2;
        }
        const char *v;
        if (o->type == GN_OPT_FLAG) {
            if (eq) {
                snprintf(err, errlen, "gannet %s: --%s takes no value", cmd, o->name);
                return 2;
            }
            v = "";
        } else if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            snprintf(err, errlen, "gannet %s: --%s needs a value", cmd, o->name);
            return 2;
        }
        if (o->set) {
            snprintf(err, errlen, "gannet %s: --%s given twice", cmd, o->name);
            return 2;
        }
        int r = convert(cmd, o, v, err, errlen);
        if (r) return r;
        o->set = 1;
    }
    return 0;
}

/* The value placeholder of a setting in the usage. */
static const char *setting_meta(const gn_setting *s) {
    return s->type == GN_SET_INT || s->type == GN_SET_U64 ? " N"
           : s->type == GN_SET_FLOAT                      ? " X"
           : s->choices                                   ? " NAME"
                                                          : " VALUE";
}

/* " (default V)", or the choices and the default, as the other option types print them. */
static void setting_default(const gn_option *o, char *def, size_t len) {
    const gn_setting_ref *ref = o->dest;
    const gn_setting *s = ref->setting;
    char v[256];
    if (s->type == GN_SET_FLOAT)
        snprintf(v, sizeof v, "%g", *(const float *)((const char *)ref->cfg + s->offset));
    else
        gn_setting_format(s, ref->cfg, v, sizeof v);
    if (!s->choices) {
        if (*v) snprintf(def, len, " (default %s)", v);
        return;
    }
    size_t n = (size_t)snprintf(def, len, " (");
    for (int i = 0; s->choices[i] && n < len; i++)
        n += (size_t)snprintf(def + n, len - n, "%s%s", i ? "|" : "", s->choices[i]);
    if (n < len) snprintf(def + n, len - n, "; default %s)", v);
}

void gn_args_usage(const char *cmd, const char *summary, const gn_option *opts) {
    printf("usage: gannet %s [options]\n\n%s\n\noptions:\n", cmd, summary);
    for (const gn_option *o = opts; o->name; o++) {
        char left[64], def[1024] = "";
        const char *meta = o->type == GN_OPT_SETTING ? setting_meta(((const gn_setting_ref *)o->dest)->setting)
                           : o->type == GN_OPT_INT || o->type == GN_OPT_U64 ? " N"
                           : o->type == GN_OPT_FLOAT                      ? " X"
                           : o->type == GN_OPT_FLAG                       ? ""
                           : o->type == GN_OPT_CHOICE                     ? " NAME"
                                                                          : " VALUE";
        snprintf(left, sizeof left, "--%s%s", o->name, meta);
        switch (o->type) {
        case GN_OPT_INT: snprintf(def, sizeof def, " (default %d)", *(int *)o->dest); break;
        case GN_OPT_U64: snprintf(def, sizeof def, " (default %" PRIu64 ")", *(uint64_t *)o->dest); break;
        case GN_OPT_FLOAT: snprintf(def, sizeof def, " (default %g)", *(float *)o->dest); break;
        case GN_OPT_STR:
            if (*(const char **)o->dest) snprintf(def, sizeof def, " (default %s)", *(const char **)o->dest);
            break;
        case GN_OPT_CHOICE: {
            size_t n = (size_t)snprintf(def, sizeof def, " (");
            for (int i = 0; o->choices[i] && n < sizeof def; i++)
                n += (size_t)snprintf(def + n, sizeof def - n, "%s%s", i ? "|" : "", o->choices[i]);
            if (n < sizeof def)
                snprintf(def + n, sizeof def - n, "; default %s)", o->choices[*(int *)o->dest]);
            break;
        }
        case GN_OPT_FLAG: break;
        case GN_OPT_SETTING: setting_default(o, def, sizeof def); break;
        }
        printf("  %-24s %s%s\n", left, o->help, def);
    }
    printf("  %-24s %s\n", "--help", "show this help");
}
