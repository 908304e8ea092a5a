#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnnl/dnnl_util.h"

static dnnl_engine_t engine;
static dnnl_stream_t stream;

gn_status gn_dnn_check(dnnl_status_t st, const char *what) {
    if (st == dnnl_success) return GN_OK;
    const char *why = st == dnnl_out_of_memory      ? "out of memory"
                      : st == dnnl_invalid_arguments ? "invalid arguments"
                      : st == dnnl_unimplemented     ? "no implementation for this shape"
                                                     : "runtime error";
    return gn_fail(st == dnnl_out_of_memory ? GN_ERR_NOMEM : GN_ERR_DNNL, "oneDNN: %s: %s (status %d)",
                   what, why, (int)st);
}

gn_status gn_dnn_init(void) {
    gn_status s = GN_OK;
#pragma omp critical(gn_dnn_init)
    {
        if (!engine) {
            s = gn_dnn_check(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine");
            if (s == GN_OK)
                s = gn_dnn_check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "stream");
        }
    }
    return s;
}

dnnl_engine_t gn_dnn_engine(void) { return engine; }
dnnl_stream_t gn_dnn_stream(void) { return stream; }

dnnl_memory_desc_t gn_dnn_md(int ndims, const dnnl_dim_t *dims, dnnl_format_tag_t tag) {
    dnnl_memory_desc_t md;
    dnnl_memory_desc_init_by_tag(&md, ndims, dims, dnnl_f32, tag);
    return md;
}

gn_status gn_dnn_build(const void *op_desc, const_dnnl_primitive_attr_t attr,
                       const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd,
                       dnnl_primitive_t *prim, const char *what) {
    gn_status s = gn_dnn_init();
    if (s) return s;
    s = gn_dnn_check(dnnl_primitive_desc_create(pd, op_desc, attr, engine, hint), what);
    if (s) return s;
    s = gn_dnn_check(dnnl_primitive_create(prim, *pd), what);
    if (s) {
        dnnl_primitive_desc_destroy(*pd);
        *pd = NULL;
    }
    return s;
}

/* The cache's buffer for a layout and direction, made on first use. */
static gn_status cache_get(struct gn_dnn_cache *c, const dnnl_memory_desc_t *md, int is_output,
                           dnnl_memory_t *mem, uint64_t **ver, const char *what) {
    for (int i = 0; i < c->n; i++)
        if (c->e[i].is_output == is_output && dnnl_memory_desc_equal(&c->e[i].md, md)) {
            *mem = c->e[i].mem;
            *ver = &c->e[i].ver;
            return GN_OK;
        }
    if (c->n == GN_DNN_CACHE_MAX) return gn_fail(GN_ERR_DNNL, "oneDNN: %s: too many weight layouts", what);
    gn_status s = gn_dnn_check(dnnl_memory_create(&c->e[c->n].mem, md, engine, DNNL_MEMORY_ALLOCATE), what);
    if (s) return s;
    c->e[c->n].md = *md;
    c->e[c->n].is_output = is_output;
    c->e[c->n].ver = 0;
    *mem = c->e[c->n].mem;
    *ver = &c->e[c->n].ver;
    c->n++;
    return GN_OK;
}

struct gn_dnn_cache *gn_dnn_cache_new(void) { return calloc(1, sizeof(struct gn_dnn_cache)); }

void gn_dnn_cache_free(struct gn_dnn_cache *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++) dnnl_memory_destroy(c->e[i].mem);
    free(c);
}

gn_status gn_dnn_view_init(gn_dnn_view *v, const dnnl_memory_desc_t *user_md,
                           const dnnl_memory_desc_t *prim_md, int is_output,
                           struct gn_dnn_cache *cache, const char *what) {
    memset(v, 0, sizeof *v);
    v->is_output = is_output;
    gn_status s = gn_dnn_check(dnnl_memory_create(&v->user, user_md, engine, DNNL_MEMORY_NONE), what);
    if (s) return s;
    if (dnnl_memory_desc_equal(user_md, prim_md)) return GN_OK;
    s = cache_get(cache, prim_md, is_output, &v->prim, &v->ver, what);
    if (s) return s;
    dnnl_primitive_desc_t rpd;
    const dnnl_memory_desc_t *from = is_output ? prim_md : user_md;
    const dnnl_memory_desc_t *to = is_output ? user_md : prim_md;
    s = gn_dnn_check(dnnl_reorder_primitive_desc_create(&rpd, from, engine, to, engine, NULL), what);
    if (s) return s;
    s = gn_dnn_check(dnnl_primitive_create(&v->reorder, rpd), what);
    dnnl_primitive_desc_destroy(rpd);
    return s;
}

void gn_dnn_view_free(gn_dnn_view *v) {
    if (v->reorder) dnnl_primitive_destroy(v->reorder);
    if (v->user) dnnl_memory_destroy(v->user);
    memset(v, 0, sizeof *v);
}

static void run_reorder(gn_dnn_view *v, dnnl_memory_t from, dnnl_memory_t to) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    dnnl_primitive_execute(v->reorder, stream, 2, args);
    dnnl_stream_wait(stream);
}

dnnl_memory_t gn_dnn_view_in(gn_dnn_view *v, const void *ptr) {
    dnnl_memory_set_data_handle(v->user, (void *)ptr);
    if (!v->prim) return v->user;
    run_reorder(v, v->user, v->prim);
    return v->prim;
}

dnnl_memory_t gn_dnn_view_out(gn_dnn_view *v, void *ptr) {
    dnnl_memory_set_data_handle(v->user, ptr);
    return v->prim ? v->prim : v->user;
}

void gn_dnn_view_finish(gn_dnn_view *v) {
    if (v->prim) run_reorder(v, v->prim, v->user);
}

gn_status gn_dnn_exec(dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args,
                      const char *what) {
    gn_status s = gn_dnn_check(dnnl_primitive_execute(prim, stream, nargs, args), what);
    if (s) return s;
    return gn_dnn_check(dnnl_stream_wait(stream), what);
}

static const char *isa_name(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    default: return "default";
    }
}

void gn_dnn_describe(char *buf, size_t len) {
    const dnnl_version_t *v = dnnl_version();
    const char *rt = v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP"
                     : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB"
                     : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential"
                                                          : "other";
    snprintf(buf, len, "oneDNN %d.%d.%d (cpu runtime: %s), ISA: %s", v->major, v->minor, v->patch,
             rt, isa_name(dnnl_get_effective_cpu_isa()));
}

const char *gn_dnn_impl(const_dnnl_primitive_desc_t pd) {
    const char *s = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s) return "?";
    return s;
}
