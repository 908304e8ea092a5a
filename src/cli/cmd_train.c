/* gannet train: parse the options over a preset's or model file's defaults and run. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "gannet/train.h"

static const char *const gloss_names[] = {"minimax", "nonsaturating", "ml", NULL};
static const char *const noise_names[] = {"uniform", "normal", NULL};
static const char *const progress_names[] = {"auto", "bar", "lines", NULL};

/* Whether option `name` was on the command line. */
static int given(const gn_option *opts, const char *name) {
    for (const gn_option *o = opts; o->name; o++)
        if (!strcmp(o->name, name)) return o->set;
    return 0;
}

int gn_cmd_train(int argc, char **argv) {
    gn_gan_config def;
    gn_preset_config("seed-mnist", &def);
    int preset = 0, iters = def.iters, batch = def.batch, plot_every = def.plot_every,
        d_steps = def.d_steps, d_pretrain = 0, g_loss = def.g_loss, noise = def.noise, threads = 0,
        progress = 0, eval_every = 0;
    float g_lr = def.g_lr, d_lr = def.d_lr, beta1 = def.beta1, smoothing = 0;
    uint64_t seed = def.seed;
    const char *data = NULL, *out = NULL, *resume = NULL, *model = NULL;
    gn_option opts[] = {
        {"preset", GN_OPT_CHOICE, &preset, "model and its defaults", 0, 0, gn_preset_names, 0},
        {"model", GN_OPT_STR, &model, "model file: G, D and default settings (instead of --preset)", 0, 0, NULL, 0},
        {"iters", GN_OPT_INT, &iters, "training iterations", 1, 1e9, NULL, 0},
        {"batch", GN_OPT_INT, &batch, "images per batch (D sees 2x)", 1, 65536, NULL, 0},
        {"plot-every", GN_OPT_INT, &plot_every, "iterations between grids, plots and checkpoints", 1, 1e9, NULL, 0},
        {"g-lr", GN_OPT_FLOAT, &g_lr, "Adam learning rate of G (and the stacked G+D)", 1e-12, 10, NULL, 0},
        {"d-lr", GN_OPT_FLOAT, &d_lr, "Adam learning rate of D", 1e-12, 10, NULL, 0},
        {"beta1", GN_OPT_FLOAT, &beta1, "Adam beta1 of both", 0, 0.9999, NULL, 0},
        {"g-loss", GN_OPT_CHOICE, &g_loss, "generator loss", 0, 0, gloss_names, 0},
        {"d-steps", GN_OPT_INT, &d_steps, "D steps per iteration", 1, 100, NULL, 0},
        {"d-pretrain", GN_OPT_INT, &d_pretrain, "D steps before G joins", 0, 1e6, NULL, 0},
        {"label-smoothing", GN_OPT_FLOAT, &smoothing, "one-sided: real labels become 1 - s", 0, 0.5, NULL, 0},
        {"noise", GN_OPT_CHOICE, &noise, "noise distribution", 0, 0, noise_names, 0},
        {"seed", GN_OPT_U64, &seed, "random seed (weights, batches, noise, dropout)", 0, 9e15, NULL, 0},
        {"threads", GN_OPT_INT, &threads, "OpenMP threads (0: OMP_NUM_THREADS or all cores)", 0, 4096, NULL, 0},
        {"data", GN_OPT_STR, &data, "IDX image file, plain or .gz (default: the bundled MNIST)", 0, 0, NULL, 0},
        {"out", GN_OPT_STR, &out, "run folder (default runs/<preset>-<timestamp>)", 0, 0, NULL, 0},
        {"resume", GN_OPT_STR, &resume, "continue the run in this folder from its checkpoint", 0, 0, NULL, 0},
        {"progress", GN_OPT_CHOICE, &progress, "progress display", 0, 0, progress_names, 0},
        {"eval-every", GN_OPT_INT, &eval_every, "score 1000 samples every K iterations (gannet eval's IS and FD; 0: never)", 0, 1e9, NULL, 0},
        {0},
    };
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
    gn_train_opts o;
    memset(&o, 0, sizeof o);
    gn_cli_model m = {0};
    if (resume) {
        for (gn_option *p = opts; p->name; p++) {
            if (!p->set || !strcmp(p->name, "resume") || !strcmp(p->name, "iters") ||
                !strcmp(p->name, "progress"))
                continue;
            fprintf(stderr, "gannet train: --%s cannot be changed when resuming (the run's settings are in its checkpoint)\n",
                    p->name);
            return 2;
        }
        o.resume = resume;
        o.resume_iters = given(opts, "iters") ? iters : 0;
    } else {
        if (model && given(opts, "preset")) {
            fprintf(stderr, "gannet train: --preset and --model exclude each other\n");
            return 2;
        }
        if (model) {
            if ((r = gn_cli_load_model("train", model, &m))) return r;
            o.cfg = m.cfg;
            o.cfg.model = m.text;
            /* the check's networks: gn_train builds its own */
            gn_net_free(m.G);
            gn_net_free(m.D);
            m.G = m.D = NULL;
        } else if (gn_preset_config(gn_preset_names[preset], &o.cfg)) {
            return gn_cli_fail("train");
        }
        gn_gan_config *c = &o.cfg;
#define TAKE(name, field, value) if (given(opts, name)) c->field = value
        TAKE("iters", iters, iters);
        TAKE("batch", batch, batch);
        TAKE("plot-every", plot_every, plot_every);
        TAKE("g-lr", g_lr, g_lr);
        TAKE("d-lr", d_lr, d_lr);
        TAKE("beta1", beta1, beta1);
        TAKE("g-loss", g_loss, (gn_gen_loss)g_loss);
        TAKE("d-steps", d_steps, d_steps);
        TAKE("d-pretrain", d_pretrain, d_pretrain);
        TAKE("label-smoothing", label_smoothing, smoothing);
        TAKE("noise", noise, (gn_noise_kind)noise);
        TAKE("seed", seed, seed);
        TAKE("threads", threads, threads);
        TAKE("eval-every", eval_every, eval_every);
#undef TAKE
        o.images = data;
        o.out = out;
    }
    o.progress = progress == 0 ? -1 : progress == 1 ? 1 : 0;
    gn_status s = gn_train(&o);
    gn_cli_model_free(&m);
    if (s == GN_ERR_INTERRUPTED) {
        int sig = gn_train_signal();
        fprintf(stderr, "\ngannet train: %s\nresume with: gannet train --resume %s\n", gn_last_error(),
                gn_train_dir());
        return 128 + (sig ? sig : SIGINT);
    }
    if (s) {
        gn_cli_fail("train");
        struct stat st;
        if (resume == NULL && gn_train_dir()[0] && stat(gn_train_dir(), &st) == 0)
            fprintf(stderr, "gannet train: run folder: %s\n", gn_train_dir());
        return 1;
    }
    return 0;
}
