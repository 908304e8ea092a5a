/* Data-parallel training over MPI (see dist.h). Every rank holds the whole
 * model and trains on its share of each batch; gradients are averaged with
 * MPI_Iallreduce in buckets that start from the backward pass's "gradients
 * ready" callback (net_hooks.h), last layers first, so the reduction of one
 * bucket runs while the backward computes the layers below it. All MPI calls
 * come from the main thread (MPI_THREAD_FUNNELED): OpenMP threads only
 * compute. Batch-norm sums and the small collectives use a communicator of
 * their own, so they never queue behind a bucket. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <omp.h>

#include "dist.h"
#include "gannet_config.h"
#include "kernels.h"
#include "net_hooks.h"

#if GANNET_HAVE_MPI
#include <mpi.h>
#endif

/* The CPUs this process may run on, as "0-3,8" (and their number). */
static int cpu_list(char *buf, size_t len) {
    cpu_set_t set;
    buf[0] = 0;
    if (sched_getaffinity(0, sizeof set, &set)) return omp_get_num_procs();
    size_t at = 0;
    for (int c = 0; c < CPU_SETSIZE && at < len; c++) {
        if (!CPU_ISSET(c, &set) || (c > 0 && CPU_ISSET(c - 1, &set))) continue;
        int e = c;
        while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, &set)) e++;
        at += (size_t)snprintf(buf + at, len - at, e > c ? "%s%d-%d" : "%s%d", at ? "," : "", c, e);
    }
    return CPU_COUNT(&set);
}

#if !GANNET_HAVE_MPI

int gn_dist_built(void) { return 0; }
gn_status gn_dist_start(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return GN_OK;
}
void gn_dist_stop(int rc) { (void)rc; }
int gn_dist_rank(void) { return 0; }
int gn_dist_ranks(void) { return 1; }
void gn_dist_sum(float *buf, size_t n) {
    (void)buf;
    (void)n;
}
int gn_dist_max(int value) { return value; }
void gn_dist_sum_double(double *buf, size_t n) {
    (void)buf;
    (void)n;
}
void gn_dist_bcast(void *buf, size_t bytes) {
    (void)buf;
    (void)bytes;
}
gn_status gn_dist_same(uint64_t value, const char *what) {
    (void)value;
    (void)what;
    return GN_OK;
}
void gn_dist_print_lines(const char *line, FILE *out) { fprintf(out, "%s\n", line); }
double gn_reducer_time_alone(gn_reducer *r, int reps) {
    (void)r;
    (void)reps;
    return 0;
}
gn_status gn_reducer_new(gn_reducer **out, gn_net *net) {
    (void)net;
    *out = NULL;
    return gn_fail(GN_ERR_UNSUPPORTED, "this gannet was built without MPI");
}
void gn_reducer_free(gn_reducer *r) { (void)r; }
void gn_reducer_begin(gn_reducer *r, const float *add) {
    (void)r;
    (void)add;
}
void gn_reducer_end(gn_reducer *r) { (void)r; }
void gn_reducer_measure(gn_reducer *r, int on) {
    (void)r;
    (void)on;
}
gn_reduce_stats gn_reducer_stats(const gn_reducer *r) {
    (void)r;
    return (gn_reduce_stats){0};
}

#else

static int active, world_rank, world_size = 1;
static MPI_Comm small_comm, grad_comm, exit_comm; /* the step's collectives; gradient buckets; the end */

int gn_dist_built(void) { return 1; }

/* Whether a launcher started this process as part of a job. */
static int launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

gn_status gn_dist_start(int *argc, char ***argv) {
    if (active || !launched()) return GN_OK;
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return gn_fail(GN_ERR_UNSUPPORTED, "MPI_Init_thread failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    MPI_Comm_dup(MPI_COMM_WORLD, &small_comm);
    MPI_Comm_dup(MPI_COMM_WORLD, &grad_comm);
    MPI_Comm_dup(MPI_COMM_WORLD, &exit_comm);
    active = 1;
    char cpus[256];
    if (!getenv("OMP_NUM_THREADS")) omp_set_num_threads(cpu_list(cpus, sizeof cpus));
    return GN_OK;
}

/* Whether every rank reaches the end within GN_DIST_EXIT_WAIT_S seconds (a
 * barrier of their own, so that it never pairs with a collective of the
 * step that another rank still waits in). */
static int all_ending(void) {
    MPI_Request req;
    int done = 0;
    MPI_Ibarrier(exit_comm, &req);
    double t0 = MPI_Wtime();
    while (!done && MPI_Wtime() - t0 < GN_DIST_EXIT_WAIT_S) {
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (!done) usleep(1000);
    }
    return done;
}

void gn_dist_stop(int rc) {
    if (!active) return;
    if (rc && world_size > 1 && !all_ending()) MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Comm_free(&small_comm);
    MPI_Comm_free(&grad_comm);
    MPI_Comm_free(&exit_comm);
    MPI_Finalize();
    active = 0;
}

int gn_dist_rank(void) { return world_rank; }
int gn_dist_ranks(void) { return world_size; }

void gn_dist_sum(float *buf, size_t n) {
    if (world_size > 1) MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, small_comm);
}

void gn_dist_sum_double(double *buf, size_t n) {
    if (world_size > 1) MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, small_comm);
}

int gn_dist_max(int value) {
    if (world_size > 1) MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_MAX, small_comm);
    return value;
}

void gn_dist_bcast(void *buf, size_t bytes) {
    if (world_size > 1) MPI_Bcast(buf, (int)bytes, MPI_BYTE, 0, small_comm);
}

gn_status gn_dist_same(uint64_t value, const char *what) {
    if (world_size < 2) return GN_OK;
    uint64_t lo = value, hi = value;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, small_comm);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, small_comm);
    if (lo == hi) return GN_OK;
    return gn_fail(GN_ERR_UNSUPPORTED, "the %d ranks disagree on %s (rank %d has %016llx, others differ): "
                   "every rank must run the same gannet on the same kind of CPU", world_size, what,
                   world_rank, (unsigned long long)value);
}

#define LINE_MAX_BYTES 512

void gn_dist_print_lines(const char *line, FILE *out) {
    if (world_size < 2) {
        fprintf(out, "%s\n", line);
        return;
    }
    char mine[LINE_MAX_BYTES] = {0}, *all = NULL;
    snprintf(mine, sizeof mine, "%s", line);
    if (world_rank == 0) all = malloc((size_t)world_size * LINE_MAX_BYTES);
    MPI_Gather(mine, LINE_MAX_BYTES, MPI_CHAR, all, LINE_MAX_BYTES, MPI_CHAR, 0, small_comm);
    for (int r = 0; all && r < world_size; r++) fprintf(out, "%s\n", all + (size_t)r * LINE_MAX_BYTES);
    free(all);
}

/* ---- gradient buckets ---- */

typedef struct bucket {
    size_t off, len;   /* the slab's range */
    int lowest;        /* the first layer of the bucket: the last whose backward runs */
} bucket;

struct gn_reducer {
    gn_net *net;
    bucket *b;
    MPI_Request *req;
    int nb, started, measure;
    const float *add;
    gn_reduce_stats st;
};

/* Buckets from the last layer with parameters down to the first, each
 * closed before the layer that would take it past its size; the slab holds
 * layers in order, so a bucket of consecutive layers is one range. */
static gn_status make_buckets(gn_reducer *r) {
    gn_net *net = r->net;
    int nl = gn_net_layer_count(net);
    r->b = calloc((size_t)nl + 1, sizeof *r->b);
    r->req = calloc((size_t)nl + 1, sizeof *r->req);
    if (!r->b || !r->req) return gn_fail(GN_ERR_NOMEM, "out of memory");
    size_t limit = GN_DIST_FIRST_BUCKET_BYTES;
    for (int i = nl - 1; i >= 0; i--) {
        size_t off, len;
        gn_net_layer_params(net, i, &off, &len);
        if (!len) continue;
        bucket *cur = r->nb ? &r->b[r->nb - 1] : NULL;
        if (!cur || (cur->len + len) * sizeof(float) > limit) { /* a layer larger than a bucket is one */
            if (cur) limit = GN_DIST_BUCKET_BYTES;
            cur = &r->b[r->nb++];
            cur->off = off + len;
        }
        cur->len += cur->off - off;
        cur->off = off;
        cur->lowest = i;
    }
    return GN_OK;
}

static void start_bucket(gn_reducer *r) {
    bucket *b = &r->b[r->started];
    float *g = gn_net_grads(r->net) + b->off;
    if (r->add) gn_kern()->axpy(g, r->add + b->off, b->len, 1.0f);
    MPI_Iallreduce(MPI_IN_PLACE, g, (int)b->len, MPI_FLOAT, MPI_SUM, grad_comm, &r->req[r->started]);
    r->started++;
}

/* The backward pass has finished layer `layer`: start the buckets it
 * completes, and let MPI move the ones in flight (Open MPI progresses a
 * non-blocking collective only inside MPI calls). */
static void grads_ready(void *ctx, int layer) {
    gn_reducer *r = ctx;
    while (r->started < r->nb && r->b[r->started].lowest >= layer) start_bucket(r);
    int done;
    if (r->started) MPI_Testall(r->started, r->req, &done, MPI_STATUSES_IGNORE);
}

gn_status gn_reducer_new(gn_reducer **out, gn_net *net) {
    gn_reducer *r = calloc(1, sizeof *r);
    if (!r) return gn_fail(GN_ERR_NOMEM, "out of memory");
    r->net = net;
    gn_status s = make_buckets(r);
    if (s) {
        gn_reducer_free(r);
        return s;
    }
    r->st.buckets = r->nb;
    *out = r;
    return GN_OK;
}

void gn_reducer_free(gn_reducer *r) {
    if (!r) return;
    free(r->b);
    free(r->req);
    free(r);
}

void gn_reducer_begin(gn_reducer *r, const float *add) {
    r->started = 0;
    r->add = add;
    gn_net_on_grads_ready(r->net, grads_ready, r);
}

void gn_reducer_end(gn_reducer *r) {
    gn_net_on_grads_ready(r->net, NULL, NULL);
    while (r->started < r->nb) start_bucket(r); /* a backward that stopped early: reduce the rest */
    double t0 = MPI_Wtime();
    if (r->measure) { /* wait for the slowest rank first, so that wait_s is the reduction alone */
        MPI_Barrier(small_comm);
        r->st.skew_s += MPI_Wtime() - t0;
        t0 = MPI_Wtime();
    }
    MPI_Waitall(r->nb, r->req, MPI_STATUSES_IGNORE);
    r->st.wait_s += MPI_Wtime() - t0;
    float *g = gn_net_grads(r->net), inv = 1.0f / (float)world_size;
    size_t n = gn_net_param_count(r->net);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) g[i] *= inv;
    r->st.bytes += (double)n * sizeof(float);
    r->st.rounds++;
}

gn_reduce_stats gn_reducer_stats(const gn_reducer *r) { return r->st; }

void gn_reducer_measure(gn_reducer *r, int on) { r->measure = on; }

double gn_reducer_time_alone(gn_reducer *r, int reps) {
    double best = 1e30;
    for (int i = 0; i < reps; i++) {
        MPI_Barrier(grad_comm);
        double t0 = MPI_Wtime();
        r->add = NULL;
        for (r->started = 0; r->started < r->nb;) start_bucket(r);
        MPI_Waitall(r->nb, r->req, MPI_STATUSES_IGNORE);
        double t = MPI_Wtime() - t0;
        MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, grad_comm);
        if (t < best) best = t;
    }
    return reps > 0 ? best : 0;
}

#endif

void gn_dist_describe(char *buf, size_t len) {
    char cpus[256], host[128] = "?";
    int n = cpu_list(cpus, sizeof cpus);
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    snprintf(buf, len, "rank %d of %d on %s: %d threads, bound to %d cpus (%s)", gn_dist_rank(),
             gn_dist_ranks(), host, omp_get_max_threads(), n, cpus);
}
