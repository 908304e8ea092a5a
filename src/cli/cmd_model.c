/* Model files on the command line: gannet check-model FILE, and the loading
 * and summary that `gannet train --model` and `gannet info --model` share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gannet/model.h"

/* Model errors are bad input (exit 2); running out of memory is not. */
static int model_exit(const char *cmd, gn_status s) {
    gn_cli_fail(cmd);
    return s == GN_ERR_NOMEM ? 1 : 2;
}

int gn_cli_load_model(const char *cmd, const char *path, gn_cli_model *out) {
    memset(out, 0, sizeof *out);
    size_t len;
    gn_model *m = NULL;
    gn_status s = gn_model_read_file(path, &out->text, &len);
    if (!s) s = gn_model_parse(path, out->text, len, &m);
    if (!s) s = gn_model_build(m, 1, &out->G, &out->D);
    if (!s) {
        char name[32];
        gn_model_name_from_path(path, name, sizeof name);
        gn_model_config(m, name, &out->cfg);
    }
    gn_model_free(m);
    if (s) {
        gn_cli_model_free(out);
        return model_exit(cmd, s);
    }
    return 0;
}

void gn_cli_model_free(gn_cli_model *m) {
    free(m->text);
    gn_net_free(m->G);
    gn_net_free(m->D);
    memset(m, 0, sizeof *m);
}

static void shape_text(char *buf, size_t len, gn_shape s) {
    if (s.h == 1 && s.w == 1) snprintf(buf, len, "(%d)", s.c);
    else snprintf(buf, len, "(%d, %d, %d)", s.h, s.w, s.c);
}

/* One line per layer: description, output shape, parameters, forward FLOPs per sample. */
static void summary(gn_net *net, FILE *out) {
    char sh[64], desc[64];
    shape_text(sh, sizeof sh, gn_net_input_shape(net));
    fprintf(out, "%s: input %s\n", gn_net_name(net), sh);
    fprintf(out, "  %-3s %-26s %-16s %12s %14s\n", "#", "layer", "output shape", "parameters", "FLOPs/sample");
    double flops = 0;
    for (int i = 0; i < gn_net_layer_count(net); i++) {
        size_t nw = 0, nb = 0;
        gn_net_layer_weights(net, i, &nw);
        gn_net_layer_bias(net, i, &nb);
        double f = gn_net_layer_flops(net, i, 1);
        flops += f;
        gn_net_layer_desc(net, i, desc, sizeof desc);
        shape_text(sh, sizeof sh, gn_net_layer_output(net, i));
        fprintf(out, "  %-3d %-26s %-16s %12zu %14.0f\n", i, desc, sh, nw + nb, f);
    }
    fprintf(out, "  total: %zu parameters (trained), %zu state, %.0f FLOPs per sample (forward)\n",
            gn_net_param_count(net), gn_net_state_count(net), flops);
}

void gn_cli_model_summary(gn_net *G, gn_net *D, FILE *out) {
    summary(G, out);
    fprintf(out, "\n");
    summary(D, out);
    fprintf(out, "\nG + D: %zu parameters\n", gn_net_param_count(G) + gn_net_param_count(D));
}

int gn_cmd_check_model(int argc, char **argv) {
    if (argc == 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        printf("usage: gannet check-model FILE\n\nReads a model file (docs/models.md), builds its G and D, "
               "and prints OK or the first error\n(FILE:LINE:COL: expected ..., found ...; exit status 2).\n");
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "gannet check-model: expected one model file, found %d arguments "
                "(usage: gannet check-model FILE)\n", argc);
        return 2;
    }
    gn_cli_model m;
    int r = gn_cli_load_model("check-model", argv[0], &m);
    if (r) return r;
    if (m.cfg.classes)
        printf("%s: OK (G %zu parameters, D %zu parameters, noise size %d and %d classes)\n", argv[0],
               gn_net_param_count(m.G), gn_net_param_count(m.D), m.cfg.zdim - m.cfg.classes, m.cfg.classes);
    else
        printf("%s: OK (G %zu parameters, D %zu parameters, noise size %d)\n", argv[0], gn_net_param_count(m.G),
               gn_net_param_count(m.D), m.cfg.zdim);
    gn_cli_model_free(&m);
    return 0;
}
