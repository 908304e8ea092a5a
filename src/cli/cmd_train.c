/* gannet train: parse the options over a preset's or model file's defaults and run. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "dist.h"
#include "gannet/settings.h"
#include "gannet/train.h"

static const char *const progress_names[] = {"auto", "bar", "lines", NULL};

/* The options: one per setting of the table that is an option, then the
 * run's own (model file, folder, resume, overwrite, progress display). */
#define RUN_OPTIONS 8

int gn_cmd_train(int argc, char **argv) {
    gn_gan_config cl; /* the command line's values, over seed-mnist's (what --help shows) */
    gn_preset_config("seed-mnist", &cl);
    int progress = 0, overwrite = 0, strict = 0, sync_bn = 0, verify_ranks = 0;
    const char *out = NULL, *resume = NULL, *model = NULL;
    gn_option opts[GN_SETTINGS_MAX + RUN_OPTIONS + 1];
    gn_setting_ref refs[GN_SETTINGS_MAX];
    int n = 0;
    for (const gn_setting *st = gn_settings; st->name; st++)
        if (st->flags & GN_SET_OPTION) {
            refs[n] = (gn_setting_ref){st, &cl};
            opts[n] = (gn_option){st->name, GN_OPT_SETTING, &refs[n], st->help, 0, 0, NULL, 0};
            n++;
        }
    opts[n++] = (gn_option){"model", GN_OPT_STR, &model,
                            "model file: G, D and default settings (instead of --preset)", 0, 0, NULL, 0};
    opts[n++] = (gn_option){"out", GN_OPT_STR, &out,
                            "run folder (default runs/<preset>-<timestamp>); one holding a run is refused", 0, 0,
                            NULL, 0};
    opts[n++] = (gn_option){"overwrite", GN_OPT_FLAG, &overwrite,
                            "replace the run in --out (only gannet's files of it are removed)", 0, 0, NULL, 0};
    opts[n++] = (gn_option){"resume", GN_OPT_STR, &resume,
                            "continue the run in this folder from its checkpoint, on its data", 0, 0, NULL, 0};
    opts[n++] = (gn_option){"strict", GN_OPT_FLAG, &strict,
                            "a file in the --data folder that is not a usable image stops the start (else: "
                            "skipped, counted, named in a warning)", 0, 0, NULL, 0};
    opts[n++] = (gn_option){"progress", GN_OPT_CHOICE, &progress, "progress display", 0, 0, progress_names, 0};
    opts[n++] = (gn_option){"sync-bn", GN_OPT_FLAG, &sync_bn,
                            "under mpirun: batch norm over the whole batch of every rank (as one process "
                            "computes it), not each rank's share", 0, 0, NULL, 0};
    opts[n++] = (gn_option){"verify-ranks", GN_OPT_FLAG, &verify_ranks,
                            "under mpirun: after every iteration check that all ranks hold bit-identical "
                            "weights and print their hash (slower; for tests)", 0, 0, NULL, 0};
    opts[n] = (gn_option){0};
    char err[512];
    int r = gn_args_parse("train", opts, argc, argv, err, sizeof err);
    if (r == 1) {
        gn_args_usage("train",
                      "Trains a GAN as the seed notebook's train_for_n does: D on B real and B generated\n"
                      "images, then G through a frozen D. Defaults shown are seed-mnist's; other presets\n"
                      "and model files (--model FILE, docs/models.md) bring their own. Writes losses.csv,\n"
                      "losses.png, samples/, checkpoint.gnt and config.json into the run folder.",
                      opts);
        return 0;
    }
    if (r) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    for (gn_option *p = opts; resume && p->name; p++)
        if (p->set && (!strcmp(p->name, "out") || !strcmp(p->name, "overwrite") || !strcmp(p->name, "model"))) {
            fprintf(stderr, "gannet train: --%s cannot be used with --resume (the run stays in %s)\n",
                    p->name, resume);
            return 2;
        }
    gn_train_opts o;
    memset(&o, 0, sizeof o);
    gn_cli_model m = {0};
    int preset_given = 0;
    for (gn_option *p = opts; p->name; p++) preset_given |= p->set && !strcmp(p->name, "preset");
    if (model && preset_given) {
        fprintf(stderr, "gannet train: --preset and --model exclude each other\n");
        return 2;
    }
    /* a new run starts from its model's values; given options replace them */
    if (model) {
        if ((r = gn_cli_load_model("train", model, &m))) return r;
        o.cfg = m.cfg;
        o.cfg.model = m.text;
        /* the check's networks: gn_train builds its own */
        gn_net_free(m.G);
        gn_net_free(m.D);
        m.G = m.D = NULL;
    } else if (!resume && gn_preset_config(cl.preset, &o.cfg)) {
        fprintf(stderr, "gannet train: --preset: %s\n", gn_last_error());
        return 2;
    }
    for (gn_option *p = opts; p->type == GN_OPT_SETTING; p++) {
        const gn_setting *st = ((const gn_setting_ref *)p->dest)->setting;
        if (!p->set) continue;
        o.given |= (uint64_t)1 << (st - gn_settings);
        gn_setting_copy(st, &o.cfg, &cl);
    }
    if (sync_bn) {
        o.cfg.sync_bn = 1;
        o.given |= (uint64_t)1 << (gn_setting_by_key("sync_bn") - gn_settings);
    }
    o.verify_ranks = verify_ranks;
    o.out = out;
    o.overwrite = overwrite;
    o.strict = strict;
    o.resume = resume;
    o.progress = progress == 0 ? -1 : progress == 1 ? 1 : 0;
    gn_status s = gn_train(&o);
    gn_cli_model_free(&m);
    if (s == GN_ERR_INTERRUPTED) {
        int sig = gn_train_signal();
        if (gn_dist_rank()) return 128 + (sig ? sig : SIGINT); /* rank 0 says it for the job */
        fprintf(stderr, "\ngannet train: %s\nresume with: gannet train --resume %s\n", gn_last_error(),
                gn_train_dir());
        return 128 + (sig ? sig : SIGINT);
    }
    if (s) {
        gn_cli_fail("train");
        if (s == GN_ERR_ARG) return 2;
        struct stat st;
        if (resume == NULL && gn_train_dir()[0] && stat(gn_train_dir(), &st) == 0)
            fprintf(stderr, "gannet train: run folder: %s\n", gn_train_dir());
        return 1;
    }
    return 0;
}
