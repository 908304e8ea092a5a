/* The training loop: an iteration at a time, with losses appended to
 * losses.csv, a loss plot and a sample grid every plot_every iterations, a
 * checkpoint at every plot and at the end, and a progress bar on stderr. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <omp.h>

#include "gannet/atomic.h"
#include "gannet/checkpoint.h"
#include "gannet/eval.h"
#include "gannet/io.h"
#include "gannet/model.h"
#include "gannet/rng.h"
#include "gannet/settings.h"
#include "gannet/train.h"
#include "dist.h"
#include "kernels.h"
#include "runfolder.h"
#include <zlib.h>

static volatile sig_atomic_t stop_signal;
static char run_dir[GN_RUN_PATH_MAX];

int gn_train_signal(void) { return stop_signal; }
const char *gn_train_dir(void) { return run_dir; }

static void on_signal(int sig) { stop_signal = sig; }

/* Whether to stop after this step: under mpirun a signal may reach some
 * ranks only, or reach them in different steps, so every rank takes the
 * largest signal any rank has seen, and all stop after the same step. */
static int stop_now(int ranks) {
    if (ranks > 1) stop_signal = gn_dist_max(stop_signal);
    return stop_signal != 0;
}

/* A hash of everything training changes: weights, batch-norm statistics and
 * Adam's moments of G and D (bit-identical on every rank of a job). */
static uint64_t gan_hash(gn_gan *gan) {
    gn_net *nets[2] = {gan->G, gan->D};
    const gn_optim *opts[2] = {&gan->og, &gan->od};
    uLong crc[2];
    for (int i = 0; i < 2; i++) {
        size_t n = gn_net_param_count(nets[i]);
        crc[i] = crc32(0L, Z_NULL, 0);
        crc[i] = crc32_z(crc[i], (const Bytef *)gn_net_params(nets[i]), n * sizeof(float));
        crc[i] = crc32_z(crc[i], (const Bytef *)gn_net_state(nets[i]), gn_net_state_count(nets[i]) * sizeof(float));
        if (opts[i]->m) crc[i] = crc32_z(crc[i], (const Bytef *)opts[i]->m, n * sizeof(float));
        if (opts[i]->v) crc[i] = crc32_z(crc[i], (const Bytef *)opts[i]->v, n * sizeof(float));
    }
    return (uint64_t)crc[0] << 32 | crc[1];
}

/* The signals that stop training after the current step, with a checkpoint:
 * Ctrl-C, kill, and a terminal or ssh session that closes. */
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define N_STOP_SIGNALS (int)(sizeof stop_signals / sizeof stop_signals[0])
static struct sigaction saved_actions[N_STOP_SIGNALS];

/* A reader of the progress that goes away (`| head`) must not kill the run:
 * SIGPIPE stays ignored for the rest of the process (the CLI's last messages
 * go to the same closed stream), and a failed write turns progress off. */
static void install_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_signal;
    for (int i = 0; i < N_STOP_SIGNALS; i++) sigaction(stop_signals[i], &sa, &saved_actions[i]);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static void restore_handlers(void) {
    for (int i = 0; i < N_STOP_SIGNALS; i++) sigaction(stop_signals[i], &saved_actions[i], NULL);
}

/* Whether stderr still takes progress. */
static int progress_on;

/* Prints progress to stderr until a write fails (EPIPE from a closed pipe, EIO
 * from a closed terminal): from then on training goes on without printing. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...) {
    if (!progress_on) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (fflush(stderr) || ferror(stderr)) {
        progress_on = 0;
        clearerr(stderr);
    }
}

#define THREADS_PER_CORE_MAX 4 /* more only adds waiting at every barrier */
#define THREADS_MAX 1024

/* Threads past the cores take turns on them and wait for each other at every
 * parallel region's end: a run gets slower, and at thousands never ends. A
 * warning past the cores, a cap at THREADS_PER_CORE_MAX per core. */
static void apply_threads(gn_gan_config *cfg) {
    int cores = omp_get_num_procs();
    int want = cfg->threads > 0 ? cfg->threads : omp_get_max_threads();
    const char *from = cfg->threads > 0 ? "--threads" : "OMP_NUM_THREADS";
    int cap = cores * THREADS_PER_CORE_MAX < THREADS_MAX ? cores * THREADS_PER_CORE_MAX : THREADS_MAX;
    if (want > cap) {
        say("gannet: warning: %s %d capped at %d (%d per core on %d cores; more only slows training)\n",
            from, want, cap, THREADS_PER_CORE_MAX, cores);
        want = cap;
        if (cfg->threads > 0) cfg->threads = cap;
    } else if (want > cores) {
        say("gannet: warning: %s %d is more than the %d cores: training will be slower than with %d\n",
            from, want, cores, cores);
    }
    if (cfg->threads > 0 || want != omp_get_max_threads()) omp_set_num_threads(want);
}

/* Writes a small text file atomically. */
static gn_status write_text(const char *path, const char *text, const char *what) {
    return gn_atomic_write_file(path, text, strlen(text), what);
}

/* Rewrites losses.csv from the history (atomic, so a crash never leaves half a file). */
static gn_status write_csv(const char *dir, const gn_history *h) {
    char path[GN_RUN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/losses.csv", dir);
    gn_atomic_file a;
    gn_status s = gn_atomic_begin(&a, path, "loss table");
    if (s) return s;
    fprintf(a.f, "iteration,d_loss,g_loss,d_real,d_fake,elapsed_s,inception_score,frechet_distance\n");
    for (size_t i = 0; i < h->n; i++) {
        const float *r = h->rows + i * GN_HIST_COLS;
        fprintf(a.f, "%zu,%.6f,%.6f,%.6f,%.6f,%.3f,", i + 1, r[0], r[1], r[2], r[3], r[4]);
        if (isfinite(r[5])) fprintf(a.f, "%.4f,%.4f\n", r[5], r[6]);
        else fprintf(a.f, ",\n");
    }
    return gn_atomic_commit(&a);
}

/* One curve of a history plot: column `col` of the rows, times `scale`. */
typedef struct hist_curve {
    int col;
    float scale;
    const char *name;
    unsigned rgb;
} hist_curve;

/* Plots two history columns against the iteration, over the rows where the
 * first is finite (every row for the losses, the evaluated ones for scores). */
static gn_status plot_history(const char *dir, const char *file, const char *title, const char *ylabel,
                              const gn_history *h, const hist_curve c[2]) {
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++) n += isfinite(h->rows[i * GN_HIST_COLS + c[0].col]);
    if (!n) return GN_OK;
    float *x = malloc(n * sizeof(float)), *y0 = malloc(n * sizeof(float)), *y1 = malloc(n * sizeof(float));
    gn_status s = x && y0 && y1 ? GN_OK : gn_fail(GN_ERR_NOMEM, "out of memory");
    for (size_t i = 0, k = 0; !s && i < h->n; i++) {
        const float *r = h->rows + i * GN_HIST_COLS;
        if (!isfinite(r[c[0].col])) continue;
        x[k] = (float)(i + 1);
        y0[k] = r[c[0].col] * c[0].scale;
        y1[k++] = r[c[1].col] * c[1].scale;
    }
    if (!s) {
        char path[GN_RUN_PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s", dir, file);
        gn_series ser[2] = {{c[0].name, y0, c[0].rgb}, {c[1].name, y1, c[1].rgb}};
        s = gn_plot_lines(path, 800, 500, title, "iteration", ylabel, x, n, ser, 2);
    }
    free(x);
    free(y0);
    free(y1);
    return s;
}

/* losses.png, the notebook's plot_loss. */
static gn_status write_plot(const char *dir, const gn_history *h) {
    const hist_curve c[2] = {{0, 1, "discriminative loss", 0x1f77b4}, {1, 1, "generative loss", 0xff7f0e}};
    return plot_history(dir, "losses.png", "Losses", "loss", h, c);
}

/* scores.png: the Inception Score and the Frechet distance at each evaluation. */
static gn_status write_scores_plot(const char *dir, const gn_history *h) {
    const hist_curve c[2] = {{5, 1, "Inception Score (ceiling 10)", 0x2ca02c},
                             {6, 0.1f, "Frechet distance / 10 (lower is better)", 0xd62728}};
    return plot_history(dir, "scores.png", "Sample quality (gannet eval)", "score", h, c);
}

/* What --eval-every needs: the classifier and the reference images' features. */
typedef struct evaluator {
    gn_classifier *cls;
    float *ref;      /* (nref, GN_CLS_FEATURES) */
    size_t nref;
    float *images;   /* (GN_EVAL_N, 28, 28, 1) in [0, 1] */
    float *z;        /* (batch, zdim) */
} evaluator;

#define GN_EVAL_N 1000
#define IMG (GN_CLS_SIDE * GN_CLS_SIDE) /* one 28x28x1 image */

static void evaluator_free(evaluator *e) {
    gn_classifier_free(e->cls);
    free(e->ref);
    free(e->images);
    free(e->z);
    memset(e, 0, sizeof *e);
}

/* The images that score this run's samples (gannet/eval.h), or GN_ERR_ARG
 * when no shipped classifier can: checked before the run folder is made. */
static gn_status eval_set_for_run(const gn_gan *gan, const gn_gan_config *cfg, gn_eval_set *set) {
    gn_shape o = gn_net_output_shape(gan->G);
    if (o.h != GN_CLS_SIDE || o.w != GN_CLS_SIDE || o.c != 1)
        return gn_fail(GN_ERR_ARG, "--eval-every: the generator makes %dx%dx%d images; the classifiers that "
                       "score samples take 28x28x1 (the bundled digits or %s, unconverted): train without "
                       "--eval-every", o.h, o.w, o.c, GN_FASHION_MNIST);
    if (!gn_eval_set_for_data(cfg->data, cfg->data_size, cfg->data_crc32, set)) return GN_OK;
    char why[1024];
    snprintf(why, sizeof why, "%s", gn_last_error());
    return gn_fail(GN_ERR_ARG, "--eval-every: %s; train without --eval-every (gannet eval --classifier, "
                   "--reference and --real score samples against other images)", why);
}

static gn_status evaluator_init(evaluator *e, const gn_gan_config *cfg, const gn_eval_set *set) {
    memset(e, 0, sizeof *e);
    gn_status s = gn_classifier_load(&e->cls, set->classifier);
    if (!s) s = gn_eval_reference_features(e->cls, set, &e->ref, &e->nref);
    if (s) return s;
    e->images = malloc((size_t)GN_EVAL_N * IMG * sizeof(float));
    e->z = malloc((size_t)cfg->batch * cfg->zdim * sizeof(float));
    if (!e->images || !e->z) return gn_fail(GN_ERR_NOMEM, "out of memory");
    return GN_OK;
}

/* Scores GN_EVAL_N images from G (inference mode, a fixed noise stream). */
static gn_status evaluate(evaluator *e, gn_gan *gan, float *is, float *fd) {
    int B = gan->local; /* the batch size G is prepared for */
    float lo = gan->cfg.range == GN_RANGE_PM1 ? -1.0f : 0.0f;
    gn_status s = GN_OK;
    for (int done = 0; !s && done < GN_EVAL_N; done += B) {
        int m = GN_EVAL_N - done < B ? GN_EVAL_N - done : B;
        gn_gan_noise(gan, e->z, B, GN_STREAM_SAMPLE, (uint64_t)done * gan->cfg.zdim + ((uint64_t)1 << 48));
        s = gn_gan_generate(gan, e->z, B, gan->images); /* the whole batch: one prepared size */
        for (size_t i = 0; !s && i < (size_t)m * IMG; i++)
            e->images[(size_t)done * IMG + i] = (gan->images[i] - lo) / (1.0f - lo);
    }
    gn_eval_scores sc;
    if (!s) s = gn_eval_images(e->cls, e->images, GN_EVAL_N, e->ref, e->nref, &sc);
    if (s) return s;
    *is = (float)sc.inception;
    *fd = (float)sc.frechet;
    return GN_OK;
}

static gn_status write_grid(gn_gan *gan, const char *path, const float *fixed_z, float *buf) {
    gn_status s = gn_gan_generate(gan, fixed_z, GN_GRID, buf);
    if (s) return s;
    gn_shape o = gn_net_output_shape(gan->G);
    float lo = gan->cfg.range == GN_RANGE_PM1 ? -1.0f : 0.0f;
    return gn_png_write_grid(path, buf, GN_GRID, o.h, o.w, o.c, 4, 4, 4, lo, 1.0f);
}

/* Whether everything a checkpoint holds of G and D is finite: a poisoned
 * checkpoint must never replace the last good one. */
static int gan_finite(const gn_gan *gan) {
    const gn_kernels *K = gn_kern();
    gn_net *nets[2] = {gan->G, gan->D};
    const gn_optim *opts[2] = {&gan->og, &gan->od};
    for (int i = 0; i < 2; i++) {
        size_t n = gn_net_param_count(nets[i]);
        if (!K->all_finite(gn_net_params(nets[i]), n) || (opts[i]->m && !K->all_finite(opts[i]->m, n)) ||
            (opts[i]->v && !K->all_finite(opts[i]->v, n)) ||
            !K->all_finite(gn_net_state(nets[i]), gn_net_state_count(nets[i])))
            return 0;
    }
    return 1;
}

/* Everything written at a plot: grid, loss plot, csv, checkpoint. */
static gn_status snapshot(gn_gan *gan, const char *dir, const float *fixed_z, float *buf,
                          const gn_history *h) {
    char path[GN_RUN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/samples/iter_%06llu.png", dir, (unsigned long long)gan->iter);
    gn_status s = write_grid(gan, path, fixed_z, buf);
    if (!s) s = write_plot(dir, h);
    if (!s) s = write_scores_plot(dir, h);
    if (!s) s = write_csv(dir, h);
    if (s) return s;
    if (!gan_finite(gan))
        return gn_fail(GN_ERR_NONFINITE, "iteration %llu: a weight, batch-norm statistic or Adam moment "
                       "is not finite; the last good checkpoint is kept", (unsigned long long)gan->iter);
    snprintf(path, sizeof path, "%s/checkpoint.gnt", dir);
    return gn_checkpoint_save(path, gan, fixed_z, GN_GRID, h);
}

static void fmt_time(char *buf, size_t len, double s) {
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, len, "%02ld:%02ld", t / 60, t % 60);
}

static void progress(int bar, uint64_t it, int total, int batch, double elapsed, double run_start_it,
                     double run_elapsed, const gn_step_stats *st) {
    double done = (double)it - run_start_it;
    double rate = run_elapsed > 0 ? done / run_elapsed : 0;
    char eta[32], el[32];
    fmt_time(eta, sizeof eta, rate > 0 ? (total - (double)it) / rate : 0);
    fmt_time(el, sizeof el, elapsed);
    int pct = total ? (int)(100.0 * it / total) : 100;
    if (bar) {
        char b[26];
        int fill = pct / 4;
        for (int i = 0; i < 25; i++) b[i] = i < fill ? '#' : '.';
        b[25] = 0;
        say("\r%3d%% [%s] %llu/%d [%s<%s, %.2f it/s, %.1f samples/s] d_loss %.4f g_loss %.4f ",
                pct, b, (unsigned long long)it, total, el, eta, rate, rate * batch, st->d_loss, st->g_loss);
    } else {
        say("iter %llu/%d (%d%%) %.2f it/s %.1f samples/s eta %s d_loss %.4f g_loss %.4f D(x) %.3f D(G(z)) %.3f\n",
                (unsigned long long)it, total, pct, rate, rate * batch, eta, st->d_loss, st->g_loss,
                st->d_real, st->d_fake);
    }
}

/* D pre-training (--d-pretrain), one step at a time so that a stop signal is
 * seen within a step: then a checkpoint holds the steps done (iteration 0),
 * and --resume goes on from the next. */
static gn_status pretrain(gn_gan *gan, const gn_dataset *ds, const float *fixed_z, float *grid,
                          const gn_history *h) {
    uint64_t total = (uint64_t)gan->cfg.d_pretrain;
    if (gan->d_pretrained >= total) return GN_OK;
    say("gannet: pre-training D: step %llu of %llu\n", (unsigned long long)gan->d_pretrained + 1,
        (unsigned long long)total);
    while (gan->d_pretrained < total && !stop_now(gan->ranks)) {
        gn_step_stats st;
        gn_status s = gn_gan_pretrain_step(gan, ds, &st);
        if (s == GN_ERR_NONFINITE) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s", gn_last_error());
            return gn_fail(s, "D pre-training step %llu: %s; training stopped, the last good checkpoint is kept",
                           (unsigned long long)gan->d_pretrained + 1, msg);
        }
        if (s) return s;
    }
    if (!stop_signal) return GN_OK;
    gn_status s = gan->rank ? GN_OK : snapshot(gan, run_dir, fixed_z, grid, h);
    if (s) return s;
    return gn_fail(GN_ERR_INTERRUPTED, "stopped by signal %d after iteration %llu (D pre-training step "
                   "%llu of %llu); checkpoint written", (int)stop_signal, (unsigned long long)gan->iter,
                   (unsigned long long)gan->d_pretrained, (unsigned long long)total);
}

/* --verify-ranks: the ranks' weights, statistics and moments are bit-identical. */
static gn_status verify_ranks(gn_gan *gan) {
    uint64_t h = gan_hash(gan);
    gn_status s = gn_dist_same(h, "the weights after a step");
    if (!s && !gan->rank)
        fprintf(stderr, "gannet: verify: iteration %llu: weights hash %016llx on all %d ranks\n",
                (unsigned long long)gan->iter, (unsigned long long)h, gan->ranks);
    return s;
}

/* Whether the setting keyed `key` was given (gn_train_opts.given). */
static int given(const gn_train_opts *o, const char *key) {
    return (int)(o->given >> (gn_setting_by_key(key) - gn_settings) & 1);
}

/* The settings of a resumed run: the checkpoint's, with the resumable ones
 * given again replacing them (*recorded: the checkpoint's, kept to check
 * the data against once loaded). *done is set, and nothing else happens,
 * when the run already has the iterations asked for. */
static gn_status resume_settings(const gn_train_opts *o, const char *ckpt, gn_gan_config *cfg,
                                 gn_gan_config *recorded, char **model, int *done) {
    for (const gn_setting *st = gn_settings; st->name; st++)
        if ((o->given >> (st - gn_settings) & 1) && !(st->flags & GN_SET_RESUMABLE))
            return gn_fail(GN_ERR_ARG, "--%s cannot be changed when resuming (the run's settings are in "
                           "its checkpoint)", st->name);
    gn_status s = gn_checkpoint_read_config(ckpt, cfg);
    if (!s) s = gn_checkpoint_read_model(ckpt, model);
    if (s) return s;
    cfg->model = *model; /* NULL in older checkpoints: the preset's file */
    *recorded = *cfg;
    for (const gn_setting *st = gn_settings; st->name; st++)
        if (o->given >> (st - gn_settings) & 1) gn_setting_copy(st, cfg, &o->cfg);
    uint64_t iter;
    if ((s = gn_checkpoint_read_iteration(ckpt, &iter))) return s;
    if (iter >= (uint64_t)cfg->iters) {
        *done = 1;
        if (given(o, "iters"))
            fprintf(stderr, "gannet: %s has already done %llu iterations, --iters %d asks for no more: "
                    "nothing to train, nothing changed\n", run_dir, (unsigned long long)iter, cfg->iters);
        else
            fprintf(stderr, "gannet: %s has done its %d iterations: nothing to train, nothing changed "
                    "(--iters N trains on to N)\n", run_dir, cfg->iters);
        return GN_OK;
    }
    char ip[1024], lp[1024];
    gn_default_mnist_paths(ip, sizeof ip, lp, sizeof lp);
    if (!recorded->data[0])
        fprintf(stderr, "gannet: note: %s records no data file (an older gannet wrote it): training on %s\n",
                ckpt, cfg->data[0] ? cfg->data : ip);
    return gn_run_find_data(recorded, given(o, "data"));
}

/* A run folder that holds a run is replaced only with --overwrite. */
static gn_status check_free(const char *dir, int overwrite) {
    char first[300];
    if (overwrite || !gn_run_exists(dir, first, sizeof first)) return GN_OK;
    if (strcmp(first, "checkpoint.gnt")) /* stopped before its first checkpoint: nothing to resume */
        return gn_fail(GN_ERR_ARG, "%s holds files of a run that has no checkpoint (%s): start it again "
                       "with --overwrite, or train into another folder", dir, first);
    return gn_fail(GN_ERR_ARG, "%s holds a run (%s): continue it with --resume %s, train into another "
                   "folder, or pass --overwrite to replace it", dir, first, dir);
}

/* The settings and folder of a new run. */
static gn_status new_settings(const gn_train_opts *o, gn_gan_config *cfg) {
    *cfg = o->cfg;
    gn_status s = GN_OK;
    if (o->out) {
        s = gn_run_set_dir(run_dir, o->out, "--out");
    } else {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
        snprintf(run_dir, sizeof run_dir, "runs/%s-%s", cfg->preset, stamp);
        gn_dist_bcast(run_dir, sizeof run_dir); /* rank 0's clock names the folder of every rank */
    }
    return s ? s : check_free(run_dir, o->overwrite);
}

/* A new run of a preset follows its data: the preset's file for the
 * images' shape (gn_preset_text_for: dcgan-64x64x3.gnm), whose settings
 * replace the preset's own where the command line gave none; *text then
 * holds the model text the run is built from (and its checkpoint keeps). */
static gn_status preset_for_data(const gn_train_opts *o, const char *images, const gn_dataset *ds,
                                 gn_gan_config *cfg, char **text) {
    if (o->resume || cfg->model) return GN_OK;
    size_t len;
    int shaped;
    gn_status s = gn_preset_text_for(cfg->preset, images, ds->h, ds->w, ds->c, text, &len, &shaped);
    if (s || !shaped) { /* the preset's own file, as gn_gan_create reads it */
        free(*text);
        *text = NULL;
        return s;
    }
    gn_model *m;
    if ((s = gn_model_parse(cfg->preset, *text, len, &m))) return s;
    gn_gan_config file;
    gn_model_config(m, cfg->preset, &file);
    gn_model_free(m);
    for (const gn_setting *st = gn_settings; st->name; st++)
        if ((st->flags & GN_SET_MODEL) && !(o->given & (uint64_t)1 << (st - gn_settings)))
            gn_setting_copy(st, cfg, &file);
    cfg->zdim = file.zdim;
    cfg->model = *text;
    return GN_OK;
}

/* The images must have the shape D takes: checked before any folder is made. */
static gn_status check_shape(const char *images, const gn_dataset *ds, const gn_gan *gan) {
    gn_shape want = gn_net_input_shape(gan->D);
    if (ds->h == want.h && ds->w == want.w && ds->c == want.c) return GN_OK;
    return gn_fail(GN_ERR_ARG, "%s: images are %dx%dx%d; model %s needs %dx%dx%d", images, ds->h,
                   ds->w, ds->c, gan->cfg.preset, want.h, want.w, want.c);
}

/* A load shows its progress once it has taken this long, in seconds. */
#define LOAD_QUIET_S 1.0

typedef struct load_bar {
    int bar;       /* a bar redrawn in place; else a line at every quarter */
    double t0;
    int shown;     /* percent last shown, -1 none */
} load_bar;

/* gn_data_progress: a bar (or lines) on stderr for a load that takes long. */
static void load_progress(void *ctx, size_t done, size_t total) {
    load_bar *b = ctx;
    double el = omp_get_wtime() - b->t0;
    int pct = total ? (int)(100.0 * done / total) : 100;
    if (el < LOAD_QUIET_S || pct == b->shown || (!b->bar && pct / 25 == b->shown / 25 && b->shown >= 0)) return;
    if (b->bar) {
        char fill[26];
        for (int i = 0; i < 25; i++) fill[i] = i < pct / 4 ? '#' : '.';
        fill[25] = 0;
        say("\rloading images %3d%% [%s] %zu/%zu (%.0f s)%s", pct, fill, done, total, el, done == total ? "\n" : "");
    } else {
        say("loading images: %zu/%zu (%d%%, %.0f s)\n", done, total, pct, el);
    }
    b->shown = pct;
}

/* Loads the training images (gannet/data.h), with a warning that names the
 * first files skipped, and the cache's size when images were fitted. */
static gn_status load_data(const gn_train_opts *o, const gn_gan_config *cfg, const char *images,
                           gn_dataset *ds, gn_data_report *rep) {
    load_bar lb = {o->progress >= 0 ? o->progress : isatty(2), omp_get_wtime(), -1};
    gn_data_opts d = {cfg->image_size, cfg->channels, o->strict, load_progress, &lb};
    gn_status s = gn_dataset_open(images, &d, rep, ds);
    if (s) return s;
    if (rep->skipped)
        say("gannet: warning: %s: skipped %zu file%s that could not be used: %s%s (--strict makes this an error)\n",
            rep->path, rep->skipped, rep->skipped == 1 ? "" : "s", rep->skipped_text,
            rep->skipped > GN_DATA_SKIPPED_NAMED ? "; ..." : "");
    double kib = (double)ds->n * ds->h * ds->w * ds->c / 1024.0;
    if (rep->converted)
        say("gannet: %zu images of %dx%dx%d from %s: a %.1f %s cache\n", ds->n, ds->h, ds->w, ds->c, rep->path,
            kib >= 1024 ? kib / 1024 : kib, kib >= 1024 ? "MiB" : "KiB");
    return GN_OK;
}

/* A conditional model's labels: the training images' (gannet/data.h). */
static gn_status load_labels(const gn_gan_config *cfg, const char *images, gn_dataset *ds) {
    char lp[1024];
    if (!gn_dataset_labels_path(images, lp, sizeof lp))
        return gn_fail(GN_ERR_ARG, "model %s is class-conditional (classes = %d) and needs the labels of %s: "
                       "they are found for the bundled digits, fashion-mnist and an IDX file "
                       "X-images-idx3-ubyte[.gz] beside its X-labels-idx1-ubyte[.gz]; an unconditional model "
                       "(such as dcgan) trains on images alone", cfg->preset, cfg->classes, images);
    gn_status s = gn_dataset_add_labels(ds, images, lp);
    for (size_t i = 0; !s && i < ds->n; i++)
        if (ds->labels[i] >= cfg->classes)
            s = gn_fail(GN_ERR_FORMAT, "%s: image %zu has label %d, not one of model %s's %d classes", lp, i,
                        ds->labels[i], cfg->preset, cfg->classes);
    return s;
}

/* Makes the run folder, locks it, clears an earlier run (--overwrite). */
static gn_status open_folder(const gn_train_opts *o, const char *sub, int *lock, int *made) {
    int made_sub;
    gn_status s = gn_run_make_dirs(run_dir, made);
    if (!s) s = gn_run_lock(run_dir, lock);
    if (!s && !o->resume) s = check_free(run_dir, o->overwrite); /* again, now under the lock */
    if (!s && !o->resume && o->overwrite) s = gn_run_clear(run_dir);
    if (!s) s = gn_run_make_dirs(sub, &made_sub);
    return s;
}

gn_status gn_train(const gn_train_opts *o) {
    gn_gan_config cfg, recorded = {0};
    char ckpt[GN_RUN_PATH_MAX], *model = NULL; /* a resumed run's model text */
    int done = 0, lock = -1, made = 0, wrote = 0;
    stop_signal = 0;
    int rank = gn_dist_rank(); /* under mpirun rank 0 alone writes and reports */
    progress_on = rank == 0;
    run_dir[0] = 0;
    gn_status s;
    if (o->resume) {
        s = gn_run_set_dir(run_dir, o->resume, "--resume");
        snprintf(ckpt, sizeof ckpt, "%s/checkpoint.gnt", run_dir);
        if (!s) s = resume_settings(o, ckpt, &cfg, &recorded, &model, &done);
    } else {
        s = new_settings(o, &cfg);
    }
    if (s || done) {
        free(model);
        return s;
    }
    apply_threads(&cfg);

    gn_dataset ds = {0};
    char ip[1024], lp[1024];
    const char *images = o->resume ? cfg.data : o->cfg.data;
    if (!*images) {
        gn_default_mnist_paths(ip, sizeof ip, lp, sizeof lp);
        images = ip;
    }
    gn_data_report rep;
    s = gn_run_check_outside(run_dir, images);
    if (!s) s = load_data(o, &cfg, images, &ds, &rep);
    if (s) {
        free(model);
        return s;
    }
    gn_gan *gan = NULL;
    float *fixed_z = NULL, *grid = NULL;
    gn_history hist = {0};
    evaluator ev = {0};
    char sub[GN_RUN_PATH_MAX];
    snprintf(sub, sizeof sub, "%s/samples", run_dir);
    /* the fingerprint of what was loaded: recorded by a new run (or one that
     * records no data yet), checked by a resumed one */
    if (!o->resume || !recorded.data[0]) s = gn_run_record_data(&cfg, rep.path, &ds.fp);
    else {
        snprintf(cfg.data, sizeof cfg.data, "%s", rep.path); /* fashion-mnist: its file */
        s = gn_run_check_data(&cfg, &recorded, &ds.fp);
    }
    if (!s) s = preset_for_data(o, images, &ds, &cfg, &model);
    if (!s && cfg.classes) s = load_labels(&cfg, rep.path, &ds);
    if (!s) s = gn_gan_create(&gan, &cfg);
    if (!s) s = check_shape(images, &ds, gan);
    gn_eval_set evset = {0};
    if (!s && cfg.eval_every > 0) s = eval_set_for_run(gan, &cfg, &evset);
    if (!s && !rank) s = open_folder(o, sub, &lock, &made);
    if (!s) {
        fixed_z = gn_alloc((size_t)GN_GRID * cfg.zdim * sizeof(float));
        grid = gn_alloc((size_t)GN_GRID * ds.h * ds.w * ds.c * sizeof(float));
        if (!fixed_z || !grid) s = gn_fail(GN_ERR_NOMEM, "out of memory");
    }
    if (!s) s = gn_net_prepare(gan->G, GN_GRID);
    if (!s && !rank && cfg.eval_every > 0) s = evaluator_init(&ev, &cfg, &evset);
    if (!s && o->resume) {
        s = gn_checkpoint_load(ckpt, gan, fixed_z, GN_GRID, &hist);
        if (!s && hist.n != gan->iter)
            s = gn_fail(GN_ERR_FORMAT, "%s: history has %zu rows for %llu iterations", ckpt, hist.n,
                        (unsigned long long)gan->iter);
    } else if (!s) {
        gn_gan_noise(gan, fixed_z, GN_GRID, GN_STREAM_FIXED, 0);
    }
    if (!s && !o->resume && !rank) {
        char text[GN_SETTINGS_TEXT_MAX], path[GN_RUN_PATH_MAX];
        gn_config_json(&cfg, text, sizeof text);
        snprintf(path, sizeof path, "%s/config.json", run_dir);
        s = write_text(path, text, "settings");
        wrote = !s;
        if (!s) {
            /* real.png: a grid of real images, the target to compare against */
            gn_dataset_sample(&ds, grid, NULL, GN_GRID, cfg.seed, (uint64_t)1 << 50, cfg.range);
            snprintf(path, sizeof path, "%s/real.png", run_dir);
            s = gn_png_write_grid(path, grid, GN_GRID, ds.h, ds.w, ds.c, 4, 4, 4,
                                  cfg.range == GN_RANGE_PM1 ? -1.0f : 0.0f, 1.0f);
        }
    }
    if (!s && gan->ranks > 1) s = gn_dist_same(gan_hash(gan), "the weights they start from");
    if (!s && o->resume && recorded.ranks != gan->ranks)
        say("gannet: note: %s was trained on %d ranks, goes on on %d (batch %d: %d images per rank)\n", ckpt,
            recorded.ranks, gan->ranks, cfg.batch, gan->local);
    if (s || rank) goto train;
    gn_atomic_remove_stale(run_dir);
    gn_atomic_remove_stale(sub);
    if (o->resume) {
        char text[GN_SETTINGS_TEXT_MAX], path[GN_RUN_PATH_MAX];
        gn_config_json(&cfg, text, sizeof text);
        snprintf(path, sizeof path, "%s/config.json", run_dir);
        if ((s = write_text(path, text, "settings"))) goto done;
    }
train:
    if (s) goto done;
    install_handlers();

    int bar = o->progress >= 0 ? o->progress : isatty(2);
    double base_elapsed = hist.n ? hist.rows[(hist.n - 1) * GN_HIST_COLS + 4] : 0;
    double t0 = omp_get_wtime();
    uint64_t start_it = gan->iter;
    int every_line = cfg.iters / 20 > 0 ? cfg.iters / 20 : 1;
    if (gan->ranks > 1)
        say("gannet: training %s for %d iterations (batch %d: %d ranks of %d images, %d threads each) into %s\n",
            cfg.preset, cfg.iters, cfg.batch, gan->ranks, gan->local, omp_get_max_threads(), run_dir);
    else
        say("gannet: training %s for %d iterations (batch %d, %d threads) into %s\n", cfg.preset,
            cfg.iters, cfg.batch, omp_get_max_threads(), run_dir);
    s = pretrain(gan, &ds, fixed_z, grid, &hist);
    while (!s && gan->iter < (uint64_t)cfg.iters) {
        gn_step_stats st;
        s = gn_gan_iteration(gan, &ds, &st);
        if (s) {
            if (s == GN_ERR_NONFINITE) {
                char msg[600];
                snprintf(msg, sizeof msg, "%s", gn_last_error());
                s = gn_fail(s, "iteration %llu: %s; training stopped, the last good checkpoint is kept",
                            (unsigned long long)gan->iter + 1, msg);
            }
            break;
        }
        double el = base_elapsed + omp_get_wtime() - t0;
        float row[GN_HIST_COLS] = {st.d_loss, st.g_loss, st.d_real, st.d_fake, (float)el, NAN, NAN};
        if (o->verify_ranks && (s = verify_ranks(gan))) break;
        if (!rank && cfg.eval_every > 0 &&
            (gan->iter % (uint64_t)cfg.eval_every == 0 || gan->iter == (uint64_t)cfg.iters)) {
            if ((s = evaluate(&ev, gan, &row[5], &row[6]))) break;
            if (!bar)
                say("iter %llu: Inception Score %.3f, Frechet distance %.2f (%d samples)\n",
                    (unsigned long long)gan->iter, row[5], row[6], GN_EVAL_N);
        }
        if (!isfinite(st.d_loss) || !isfinite(st.g_loss)) {
            s = gn_fail(GN_ERR_NONFINITE,
                        "iteration %llu: %s loss is not finite; training stopped, the last good checkpoint is kept",
                        (unsigned long long)gan->iter, isfinite(st.d_loss) ? "G" : "D");
            break;
        }
        if ((s = gn_history_push(&hist, row))) break;
        int last = gan->iter == (uint64_t)cfg.iters;
        int plot = cfg.plot_every > 0 && gan->iter % (uint64_t)cfg.plot_every == 0;
        if (bar || gan->iter % every_line == 0 || last)
            progress(bar, gan->iter, cfg.iters, cfg.batch, el, (double)start_it,
                     omp_get_wtime() - t0, &st);
        int stop = stop_now(gan->ranks);
        if (!rank && (plot || last || stop)) {
            if ((s = snapshot(gan, run_dir, fixed_z, grid, &hist))) break;
        }
        if (stop) {
            s = gn_fail(GN_ERR_INTERRUPTED, "stopped by signal %d after iteration %llu; checkpoint written",
                        (int)stop_signal, (unsigned long long)gan->iter);
            break;
        }
    }
    if (bar) say("\n");
    if (!s)
        say("gannet: done: %s/losses.png, %s/samples/, %s/checkpoint.gnt (peak memory %.0f MiB)\n",
            run_dir, run_dir, run_dir, gn_peak_rss_mib());
    restore_handlers();
done:
    if (s && made && !wrote) gn_run_unmake(run_dir); /* a start that failed leaves no empty folder */
    gn_run_unlock(lock);
    gn_history_free(&hist);
    evaluator_free(&ev);
    gn_free(fixed_z);
    gn_free(grid);
    gn_gan_free(gan);
    gn_dataset_free(&ds);
    free(model);
    return s;
}
