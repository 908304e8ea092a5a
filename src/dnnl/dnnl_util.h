/* The only header that includes dnnl.h: one engine and stream for the
 * process, memory descriptors, primitive creation with error mapping, and
 * "views" that put a plain user buffer in front of whatever layout a
 * primitive prefers, reordering only when the two differ. */
#ifndef GANNET_DNNL_UTIL_H
#define GANNET_DNNL_UTIL_H

#include <dnnl.h>

#include "gannet/status.h"

/* Creates the engine and stream on first use. */
gn_status gn_dnn_init(void);
dnnl_engine_t gn_dnn_engine(void);
dnnl_stream_t gn_dnn_stream(void);

/* Maps a oneDNN status to a gannet status with a message naming `what`. */
gn_status gn_dnn_check(dnnl_status_t st, const char *what);

/* A plain f32 memory descriptor with the given logical dims and tag. */
dnnl_memory_desc_t gn_dnn_md(int ndims, const dnnl_dim_t *dims, dnnl_format_tag_t tag);

/* Builds a primitive descriptor from an op descriptor (optionally hinted by a
 * forward primitive descriptor) and the primitive itself. */
gn_status gn_dnn_build(const void *op_desc, const_dnnl_primitive_attr_t attr,
                       const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd,
                       dnnl_primitive_t *prim, const char *what);

/* Buffers in primitive layouts, shared by every primitive of one layer
 * whatever the batch size: one per distinct layout and direction (inputs
 * and outputs never share), each with the version of the weights it holds. */
#define GN_DNN_CACHE_MAX 8
struct gn_dnn_cache {
    int n;
    struct {
        dnnl_memory_desc_t md;
        int is_output;
        dnnl_memory_t mem;
        uint64_t ver; /* version + 1 of the weights reordered into mem; 0: none */
    } e[GN_DNN_CACHE_MAX];
};

/* A user buffer in a plain layout, seen by a primitive in its own layout. */
typedef struct gn_dnn_view {
    dnnl_memory_t user;        /* plain layout; data handle set per call */
    dnnl_memory_t prim;        /* primitive layout (in the cache), or NULL when equal */
    uint64_t *ver;             /* the cache entry's version, NULL when equal */
    dnnl_primitive_t reorder;  /* user -> prim for inputs, prim -> user for outputs */
    int is_output;
} gn_dnn_view;

/* user_md: the caller's layout; prim_md: the primitive's (queried from its pd);
 * the buffer in the primitive's layout comes from (or goes into) cache. */
gn_status gn_dnn_view_init(gn_dnn_view *v, const dnnl_memory_desc_t *user_md,
                           const dnnl_memory_desc_t *prim_md, int is_output,
                           struct gn_dnn_cache *cache, const char *what);
void gn_dnn_view_free(gn_dnn_view *v);
/* For an input: points the view at ptr and reorders into the primitive's
 * layout when needed; returns the memory to pass to the primitive. */
dnnl_memory_t gn_dnn_view_in(gn_dnn_view *v, const void *ptr);
/* For an output: points the view at ptr; returns the memory to pass. */
dnnl_memory_t gn_dnn_view_out(gn_dnn_view *v, void *ptr);
/* For an output, after the primitive ran: reorders back to the user layout. */
void gn_dnn_view_finish(gn_dnn_view *v);

/* Executes a primitive and waits for it. */
gn_status gn_dnn_exec(dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args,
                      const char *what);

/* Describes the runtime: "oneDNN 2.6.3 (cpu runtime: OpenMP), ISA: avx512_core_amx". */
void gn_dnn_describe(char *buf, size_t len);
/* The implementation a primitive descriptor chose ("brgconv:avx512_core"). */
const char *gn_dnn_impl(const_dnnl_primitive_desc_t pd);

#endif
