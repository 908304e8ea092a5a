/* One process standing for several ranks (gn_net_set_slices, gannet train
 * --reduce-slices): a network run in 2 slices gives, bit for bit, what 2
 * ranks with synchronised batch norm give. The ranks here are 2 threads of
 * this test, each with its own copy of the network and half the batch,
 * whose batch-norm sums meet through a barrier (as MPI_Allreduce adds 2
 * ranks' values: a + b) and whose gradients are then averaged as
 * gn_reducer_end does; no MPI is needed. */
#include <check.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gannet/net.h"
#include "net_hooks.h"
#include "util.h"

#define RANKS 2
#define BATCH 8      /* the whole batch; each rank (slice) holds BATCH / RANKS */
#define ZDIM 10
#define WIDE 4096    /* a dense layer's batch norm this wide sums over channels (BN_WIDE) */
#define SEED 11
#define STEP 3

/* A small G as seed-mnist's: dense -> BN -> ReLU -> 8x8x64 -> upsample ->
 * conv 3x3 (fused with the upsampling) -> BN -> ReLU -> dropout -> conv 1x1. */
static gn_net *small_g(void) {
    gn_net *n = gn_net_new("G", (gn_shape){1, 1, ZDIM});
    gn_net_add_dense(n, WIDE);
    gn_net_add_batchnorm(n, 0.99f, 1e-3f);
    gn_net_add_relu(n);
    gn_net_add_reshape(n, (gn_shape){8, 8, WIDE / 64});
    gn_net_add_upsample(n, 2);
    gn_net_add_conv2d(n, 8, 3, 1, GN_PAD_SAME);
    gn_net_add_batchnorm(n, 0.99f, 1e-3f);
    gn_net_add_relu(n);
    gn_net_add_dropout(n, 0.25f);
    gn_net_add_conv2d(n, 2, 1, 1, GN_PAD_SAME);
    ck_assert_msg(gn_net_build(n, GN_INIT_GLOROT_UNIFORM, 5) == GN_OK, "%s", gn_last_error());
    return n;
}

/* The ranks' meeting point for batch norm's sums. */
static pthread_barrier_t meet;
static double *shared[RANKS];

static void sum_over_threads(void *ctx, double *buf, size_t n) {
    int r = *(int *)ctx;
    shared[r] = malloc(n * sizeof *buf);
    memcpy(shared[r], buf, n * sizeof *buf);
    pthread_barrier_wait(&meet);
    for (size_t i = 0; i < n; i++) buf[i] = shared[0][i] + shared[1][i];
    pthread_barrier_wait(&meet);
    free(shared[r]);
}

typedef struct rank_job {
    int rank;
    gn_net *net;
    const float *z, *dy; /* the whole batch's */
    size_t out;          /* floats per sample of the output */
    float *y, *dz;       /* this rank's outputs and input gradients, where they stand in the whole batch */
    gn_status s;
} rank_job;

static void *run_rank(void *arg) {
    rank_job *j = arg;
    int b = BATCH / RANKS;
    omp_set_num_threads(1);
    gn_sync sync = {sum_over_threads, &j->rank, j->rank, RANKS, 0, 0};
    gn_net_sync_batchnorm(j->net, &sync);
    gn_net_set_samples(j->net, (gn_samples){0, (uint64_t)(j->rank * b), 0, 0});
    gn_tensor z = gn_tensor_f32((float *)j->z + (size_t)j->rank * b * ZDIM, b, (gn_shape){1, 1, ZDIM});
    const gn_tensor *y, *dz;
    if ((j->s = gn_net_forward(j->net, &z, GN_TRAIN, SEED, STEP, &y))) return NULL;
    memcpy(j->y + (size_t)j->rank * b * j->out, y->data, (size_t)b * j->out * sizeof(float));
    gn_tensor dy = gn_tensor_f32((float *)j->dy + (size_t)j->rank * b * j->out, b, y->shape);
    if ((j->s = gn_net_backward(j->net, &dy, 1, &dz))) return NULL;
    memcpy(j->dz + (size_t)j->rank * b * ZDIM, dz->data, (size_t)b * ZDIM * sizeof(float));
    return NULL;
}

START_TEST(two_slices_add_as_two_ranks) {
    omp_set_num_threads(1);
    gn_net *one = small_g(), *rank[RANKS] = {small_g(), small_g()};
    size_t np = gn_net_param_count(one), out = gn_shape_size(gn_net_output_shape(one));
    float *z = malloc(BATCH * ZDIM * sizeof(float)), *dy = malloc(BATCH * out * sizeof(float));
    float *y = calloc(BATCH * out, sizeof(float)), *dz = calloc(BATCH * ZDIM, sizeof(float));
    float *slabs = malloc(RANKS * np * sizeof(float));
    tu_fill(z, BATCH * ZDIM, 1, 0.0f, 1.0f);
    tu_fill(dy, BATCH * out, 2, -1.0f, 1.0f);

    pthread_barrier_init(&meet, NULL, RANKS);
    pthread_t th[RANKS];
    rank_job job[RANKS];
    for (int r = 0; r < RANKS; r++) {
        job[r] = (rank_job){r, rank[r], z, dy, out, y, dz, GN_OK};
        pthread_create(&th[r], NULL, run_rank, &job[r]);
    }
    for (int r = 0; r < RANKS; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&meet);
    for (int r = 0; r < RANKS; r++) ck_assert_msg(job[r].s == GN_OK, "rank %d: %s", r, gn_last_error());
    float *avg = malloc(np * sizeof(float)), inv = 1.0f / RANKS; /* as gn_reducer_end */
    for (size_t i = 0; i < np; i++) avg[i] = (gn_net_grads(rank[0])[i] + gn_net_grads(rank[1])[i]) * inv;

    ck_assert_int_eq(gn_net_set_slices(one, RANKS, slabs), GN_OK);
    gn_net_set_samples(one, (gn_samples){0, 0, 0, BATCH / RANKS});
    gn_tensor zt = gn_tensor_f32(z, BATCH, (gn_shape){1, 1, ZDIM});
    const gn_tensor *yt, *dzt;
    ck_assert_msg(gn_net_forward(one, &zt, GN_TRAIN, SEED, STEP, &yt) == GN_OK, "%s", gn_last_error());
    ck_assert_msg(!memcmp(yt->data, y, BATCH * out * sizeof(float)), "outputs differ from the ranks'");
    ck_assert_msg(!memcmp(gn_net_state(one), gn_net_state(rank[0]), gn_net_state_count(one) * sizeof(float)),
                  "running statistics differ from the ranks'");
    gn_tensor dyt = gn_tensor_f32(dy, BATCH, yt->shape);
    ck_assert_msg(gn_net_backward(one, &dyt, 1, &dzt) == GN_OK, "%s", gn_last_error());
    ck_assert_msg(!memcmp(dzt->data, dz, BATCH * ZDIM * sizeof(float)), "input gradients differ");
    size_t bad = 0, first = 0;
    for (size_t i = np; i-- > 0;)
        if (memcmp(&gn_net_grads(one)[i], &avg[i], sizeof(float))) bad++, first = i;
    ck_assert_msg(!bad, "%zu of %zu parameter gradients differ from the ranks' average (first at %zu: %g, "
                  "ranks %g)", bad, np, first, (double)gn_net_grads(one)[first], (double)avg[first]);

    /* an inference forward takes any batch, unsliced */
    gn_tensor z3 = gn_tensor_f32(z, 3, (gn_shape){1, 1, ZDIM});
    ck_assert_msg(gn_net_forward(one, &z3, GN_INFER, SEED, STEP, &yt) == GN_OK, "%s", gn_last_error());
    /* a training batch must cut into equal slices */
    ck_assert_int_eq(gn_net_forward(one, &z3, GN_TRAIN, SEED, STEP, &yt), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), "does not cut into 2 equal slices"), "%s", gn_last_error());
    free(avg);
    free(slabs);
    free(z);
    free(dy);
    free(y);
    free(dz);
    gn_net_free(one);
    for (int r = 0; r < RANKS; r++) gn_net_free(rank[r]);
}
END_TEST

START_TEST(slices_refuse_spectral_norm) {
    gn_net *n = gn_net_new("D", (gn_shape){1, 1, ZDIM});
    gn_net_add_dense(n, 4);
    gn_net_spectral_norm(n);
    ck_assert_msg(gn_net_build(n, GN_INIT_GLOROT_UNIFORM, 5) == GN_OK, "%s", gn_last_error());
    float slabs[2 * 64];
    ck_assert_int_eq(gn_net_set_slices(n, 2, slabs), GN_ERR_ARG);
    ck_assert_msg(strstr(gn_last_error(), "spectrally normalised"), "%s", gn_last_error());
    ck_assert_int_eq(gn_net_set_slices(n, 1, NULL), GN_OK);
    gn_net_free(n);
}
END_TEST

int main(void) {
    Suite *s = suite_create("slices");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, two_slices_add_as_two_ranks);
    tcase_add_test(tc, slices_refuse_spectral_norm);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
