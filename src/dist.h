/* Data-parallel training over MPI: the ranks of an `mpirun` job, gradient
 * slabs averaged in buckets while the backward pass still runs, and the
 * sums of synchronised batch norm. dist.c is the only file that includes
 * mpi.h. Without MPI built in, or in a process not started by mpirun, there
 * is one rank and every call does nothing (or the one-process thing). */
#ifndef GANNET_DIST_H
#define GANNET_DIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gannet/net.h"
#include "gannet/status.h"

/* Gradient buckets, as PyTorch DDP: a small first bucket (the last layers,
 * whose gradients are ready first) so that the network starts early, then
 * larger ones so that each message is long enough to run at full speed. */
#define GN_DIST_FIRST_BUCKET_BYTES ((size_t)1 << 20)
#define GN_DIST_BUCKET_BYTES ((size_t)8 << 20)

/* Whether this gannet was built with MPI. */
int gn_dist_built(void);
/* Joins the MPI job when mpirun started this process (else nothing: one
 * rank); threads per rank then default to the cores the rank is bound to
 * unless OMP_NUM_THREADS says otherwise. */
gn_status gn_dist_start(int *argc, char ***argv);
/* Seconds a failing rank waits for the others to end too (the same error on
 * every rank: a bad option, an agreed stop) before it ends the job. */
#define GN_DIST_EXIT_WAIT_S 3.0

/* Leaves the job with the command's exit code: MPI_Finalize when rc is 0 or
 * every rank ends within GN_DIST_EXIT_WAIT_S, else MPI_Abort(rc), which ends
 * the other ranks rather than leave them waiting in a collective. */
void gn_dist_stop(int rc);
int gn_dist_rank(void);
int gn_dist_ranks(void);

/* Collectives over every rank (one rank: the identity). */
void gn_dist_sum(float *buf, size_t n);         /* in place */
void gn_dist_sum_double(double *buf, size_t n); /* in place */
int gn_dist_max(int value);                     /* the largest of the ranks' values */
void gn_dist_bcast(void *buf, size_t bytes);    /* rank 0's bytes to all */
/* GN_ERR_UNSUPPORTED naming `what` when the ranks' values differ (ranks that
 * compute differently: other builds, kernels or CPUs). */
gn_status gn_dist_same(uint64_t value, const char *what);
/* Rank 0 prints every rank's line (rank order) to out; the others print nothing. */
void gn_dist_print_lines(const char *line, FILE *out);
/* Where this rank runs: "rank R of N on HOST: T threads, cpus LIST". */
void gn_dist_describe(char *buf, size_t len);

/* The averaging of one network's gradient slab. */
typedef struct gn_reducer gn_reducer;
typedef struct gn_reduce_stats {
    double wait_s;   /* time spent waiting for reductions after the backward */
    double skew_s;   /* of it, waiting for the slowest rank's backward (when measured) */
    double bytes;    /* bytes reduced */
    int rounds;      /* gradients reduced */
    int buckets;     /* buckets per round */
} gn_reduce_stats;

gn_status gn_reducer_new(gn_reducer **out, gn_net *net);
void gn_reducer_free(gn_reducer *r);
/* Arms the network's next backward: each bucket's reduction starts as soon
 * as its layers have their gradients (after adding add's share to them when
 * add is not NULL: a gradient summed over two passes). */
void gn_reducer_begin(gn_reducer *r, const float *add);
/* Waits for every bucket and divides by the number of ranks: the slab is
 * then the gradient of the mean loss over the whole batch, on every rank. */
void gn_reducer_end(gn_reducer *r);
gn_reduce_stats gn_reducer_stats(const gn_reducer *r);
/* Benchmarks: each end first waits for every rank (a barrier, timed as
 * skew_s), so that wait_s is the reduction left after the slowest backward. */
void gn_reducer_measure(gn_reducer *r, int on);
/* Seconds the reduction of the whole slab takes with nothing else running
 * (the same buckets, all started at once; the best of reps, slowest rank):
 * the bench's "reduce alone". Sums the slab's contents into garbage. */
double gn_reducer_time_alone(gn_reducer *r, int reps);

#endif
