/* IDX files (the MNIST format), plain or gzip-compressed.
 *
 * Layout: a 4-byte magic 0x00 0x00 TYPE RANK, then RANK big-endian u32 dims,
 * then prod(dims) elements, multi-byte ones big-endian. zlib reads both plain
 * and gzip files (it recognises the gzip magic 1f 8b) from one descriptor
 * read once from the start, so a pipe works as well as a file. Writing goes
 * through the atomic writer (gannet/atomic.h).
 *
 * Policy: bytes after the data (inside the decompressed stream, or in a plain
 * file) are an error. Bytes after the end of a complete gzip member that do
 * not start another member are ignored by zlib, like gzip(1) does.
 *
 * The reader takes the fingerprint (size and CRC-32 of the decoded bytes) as
 * the bytes go by: a stream cannot be read a second time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "gannet/atomic.h"
#include "gannet/data.h"
#include "gannet/files.h"

/* At most this many elements in one file (2^31 - 1: every dim fits an int). */
#define IDX_MAX_ELEMS 2147483647ull
/* The body is read in chunks and the buffer grows as data arrives, so a tiny
 * file that claims huge dims cannot make us allocate gigabytes up front. */
#define IDX_CHUNK (1u << 20)

/* Bytes per element of an IDX type, 0 when the type is unknown. */
static size_t idx_elem_size(int type) {
    switch (type) {
    case GN_IDX_U8: case GN_IDX_I8: return 1;
    case GN_IDX_I16: return 2;
    case GN_IDX_I32: case GN_IDX_F32: return 4;
    case GN_IDX_F64: return 8;
    }
    return 0;
}

/* Reads a big-endian u32 from 4 bytes. */
static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Writes a u32 as 4 big-endian bytes. */
static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Turns n big-endian elements of size es into host order, in place. */
static void to_host_order(uint8_t *p, size_t n, size_t es) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    (void)p; (void)n; (void)es;
#else
    if (es == 1) return;
    for (size_t i = 0; i < n; i++, p += es) {
        for (size_t a = 0, b = es - 1; a < b; a++, b--) {
            uint8_t t = p[a]; p[a] = p[b]; p[b] = t;
        }
    }
#endif
}

/* An open IDX file, how many (decompressed) bytes were read from it and their CRC-32. */
typedef struct reader {
    gzFile f;
    const char *path;
    int is_gz;
    int is_pipe; /* a FIFO or pipe rather than a regular file */
    size_t pos;
    uLong crc;
} reader;

/* Reads up to n bytes into buf; *got says how many arrived before end of file.
 * A read error, corrupt gzip data or a gzip stream cut short is a failure;
 * `what` names the part being read for the message. zlib may notice a problem
 * while filling its buffer ahead of us, so errors are looked at only after a
 * short read: the bytes decompressed before the problem are still delivered. */
static gn_status read_some(reader *r, void *buf, size_t n, size_t *got, const char *what) {
    uint8_t *p = buf;
    *got = 0;
    while (*got < n) {
        size_t want = n - *got;
        if (want > (1u << 30)) want = 1u << 30;
        int k = gzread(r->f, p + *got, (unsigned)want);
        if (k <= 0) break;
        r->crc = crc32(r->crc, p + *got, (uInt)k);
        *got += (size_t)k;
    }
    r->pos += *got;
    if (*got == n) return GN_OK;
    int err = Z_OK;
    const char *zmsg = gzerror(r->f, &err);
    if (err == Z_OK) return GN_OK;
    if (err == Z_ERRNO)
        return gn_fail(GN_ERR_IO, "%s: read error in the %s: %s", r->path, what, strerror(errno));
    if (err == Z_MEM_ERROR) return gn_fail(GN_ERR_NOMEM, "%s: out of memory decompressing", r->path);
    if (err == Z_BUF_ERROR && r->is_gz)
        return gn_fail(GN_ERR_FORMAT, "%s: truncated gzip stream: the compressed data ends in the "
                       "%s, after %zu decompressed bytes", r->path, what, r->pos);
    /* zlib's message is "path: what went wrong"; keep only the second part */
    size_t plen = strlen(r->path);
    if (zmsg && strncmp(zmsg, r->path, plen) == 0 && strncmp(zmsg + plen, ": ", 2) == 0)
        zmsg += plen + 2;
    return gn_fail(GN_ERR_FORMAT, "%s: corrupt gzip data in the %s, after %zu decompressed "
                   "bytes (%s)", r->path, what, r->pos, zmsg && *zmsg ? zmsg : "unknown zlib error");
}

/* Parses and checks the header, filling out's type, rank, dims, count and elem_size. */
static gn_status read_header(reader *r, gn_idx *out) {
    uint8_t h[4 + 4 * 4];
    size_t got;
    gn_status s = read_some(r, h, 4, &got, "header");
    if (s != GN_OK) return s;
    if (got == 0 && r->is_pipe && !r->is_gz)
        return gn_fail(GN_ERR_FORMAT, "%s: nothing came through this pipe (a FIFO with no writer "
                       "reads as empty; expected an IDX header)", r->path);
    if (got == 0)
        return gn_fail(GN_ERR_FORMAT, "%s: empty %s (expected an IDX header: 4-byte magic, "
                       "then 4 bytes per dim)", r->path, r->is_gz ? "gzip stream" : "file");
    if (got < 4)
        return gn_fail(GN_ERR_FORMAT, "%s: truncated header: expected at least 4 bytes of magic, "
                       "found %zu", r->path, got);
    uint32_t magic = be32(h);
    if (h[0] != 0 || h[1] != 0)
        return gn_fail(GN_ERR_FORMAT, "%s: bad magic 0x%08x (expected 0x0000TTRR: two zero bytes, "
                       "type, rank)", r->path, magic);
    int type = h[2], rank = h[3];
    size_t es = idx_elem_size(type);
    if (es == 0)
        return gn_fail(GN_ERR_FORMAT, "%s: unknown element type 0x%02x in magic 0x%08x (expected "
                       "0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e)", r->path, type, magic);
    if (rank < 1 || rank > 4)
        return gn_fail(GN_ERR_FORMAT, "%s: rank %d in magic 0x%08x (expected rank 1 to 4)", r->path,
                       rank, magic);
    size_t need = 4 * (size_t)rank;
    s = read_some(r, h + 4, need, &got, "header");
    if (s != GN_OK) return s;
    if (got < need)
        return gn_fail(GN_ERR_FORMAT, "%s: truncated header: expected %zu bytes (magic and %d "
                       "dims), found %zu", r->path, 4 + need, rank, 4 + got);
    uint64_t count = 1;
    int over = 0;
    for (int d = 0; d < rank; d++) {
        out->dims[d] = be32(h + 4 + 4 * d);
        if (out->dims[d] == 0)
            return gn_fail(GN_ERR_FORMAT, "%s: dim %d is 0 (expected every dim > 0)", r->path, d);
        if (!over) {
            count *= out->dims[d]; /* both factors < 2^32 while count <= 2^31: no overflow */
            if (count > IDX_MAX_ELEMS) over = 1;
        }
    }
    if (over) {
        char dims[64];
        int len = 0;
        for (int d = 0; d < rank; d++)
            len += snprintf(dims + len, sizeof dims - (size_t)len, "%s%u", d ? "x" : "", out->dims[d]);
        return gn_fail(GN_ERR_FORMAT, "%s: dims %s give too many elements (expected at most "
                       "2^31 - 1 elements)", r->path, dims);
    }
    out->type = type;
    out->rank = rank;
    out->count = (size_t)count;
    out->elem_size = es;
    return GN_OK;
}

/* Reads exactly `bytes` of body into a buffer that grows as data arrives. */
static gn_status read_body(reader *r, size_t bytes, void **data) {
    uint8_t *buf = NULL;
    size_t have = 0, cap = 0;
    while (have < bytes) {
        if (have == cap) {
            size_t ncap = cap ? cap * 2 : IDX_CHUNK;
            if (ncap > bytes) ncap = bytes;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return gn_fail(GN_ERR_NOMEM, "%s: out of memory for %zu bytes of data", r->path, ncap);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got;
        gn_status s = read_some(r, buf + have, cap - have, &got, "data");
        if (s != GN_OK) { free(buf); return s; }
        have += got;
        if (have < cap) break; /* end of file */
    }
    if (have < bytes) {
        free(buf);
        return gn_fail(GN_ERR_FORMAT, "%s: truncated data: expected %zu bytes after the header, "
                       "found %zu", r->path, bytes, have);
    }
    *data = buf;
    return GN_OK;
}

/* Fails when anything follows the data, counting the extra bytes. */
static gn_status check_trailing(reader *r, size_t bytes) {
    uint8_t tmp[4096];
    size_t extra = 0, got;
    do {
        gn_status s = read_some(r, tmp, sizeof tmp, &got, "bytes after the data");
        if (s != GN_OK) return s;
        extra += got;
    } while (got == sizeof tmp);
    if (extra)
        return gn_fail(GN_ERR_FORMAT, "%s: %zu trailing bytes after the %zu-byte data (expected "
                       "end of file)", r->path, extra, bytes);
    return GN_OK;
}

/* Reads an IDX file (plain or gzip) into out; on failure out is left empty. */
gn_status gn_idx_load(const char *path, gn_idx *out) {
    memset(out, 0, sizeof *out);
    if (!path) return gn_fail(GN_ERR_ARG, "gn_idx_load: path is NULL");
    /* one open, read once from the start: a pipe (<(zcat x.gz), /dev/stdin)
     * works like a file, and zlib itself says whether the bytes are gzip */
    int fd;
    gn_status s = gn_open_stream(path, "images", &fd);
    if (s) return s;
    struct stat st;
    int is_pipe = !fstat(fd, &st) && S_ISFIFO(st.st_mode);
    errno = 0;
    reader r = {gzdopen(fd, "rb"), path, 0, is_pipe, 0, crc32(0L, Z_NULL, 0)};
    if (!r.f) {
        close(fd);
        return gn_fail(GN_ERR_NOMEM, "%s: cannot open: out of memory", path);
    }
    gzbuffer(r.f, 1u << 17);
    r.is_gz = !gzdirect(r.f);
    gn_idx tmp;
    memset(&tmp, 0, sizeof tmp);
    s = read_header(&r, &tmp);
    if (s == GN_OK) s = read_body(&r, tmp.count * tmp.elem_size, &tmp.data);
    if (s == GN_OK) s = check_trailing(&r, tmp.count * tmp.elem_size);
    gzclose(r.f);
    if (s != GN_OK) {
        free(tmp.data);
        return s;
    }
    to_host_order(tmp.data, tmp.count, tmp.elem_size);
    tmp.fp.size = r.pos;
    tmp.fp.crc32 = (uint32_t)r.crc;
    *out = tmp;
    return GN_OK;
}

/* Frees the data and empties the struct; safe on an empty or failed one. */
void gn_idx_free(gn_idx *idx) {
    if (!idx) return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}

/* Says whether s ends with suffix. */
static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Writes a u8 IDX file, gzip-compressed (level 6, no time stamp) when the path ends in .gz. */
gn_status gn_idx_write_u8(const char *path, const uint8_t *data, int rank, const uint32_t *dims) {
    if (!path || !data || !dims) return gn_fail(GN_ERR_ARG, "gn_idx_write_u8: NULL argument");
    if (rank < 1 || rank > 4)
        return gn_fail(GN_ERR_ARG, "%s: rank %d (expected 1 to 4)", path, rank);
    uint8_t h[4 + 4 * 4] = {0, 0, GN_IDX_U8, (uint8_t)rank};
    uint64_t count = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] == 0) return gn_fail(GN_ERR_ARG, "%s: dim %d is 0 (expected > 0)", path, d);
        count *= dims[d];
        if (count > IDX_MAX_ELEMS)
            return gn_fail(GN_ERR_ARG, "%s: more than 2^31 - 1 elements", path);
        put_be32(h + 4 + 4 * d, dims[d]);
    }
    size_t hlen = 4 + 4 * (size_t)rank, n = (size_t)count;
    gn_atomic_file a;
    gn_status s = gn_atomic_begin(&a, path, "IDX file");
    if (s) return s;
    if (!ends_with(path, ".gz")) {
        gn_atomic_put(&a, h, hlen);
        gn_atomic_put(&a, data, n);
        return gn_atomic_commit(&a);
    }
    /* zlib writes the gzip stream through its own descriptor on the same
     * file; the atomic writer then syncs and renames it */
    int fd = dup(fileno(a.f));
    gzFile f = fd < 0 ? NULL : gzdopen(fd, "wb6");
    if (!f) {
        if (fd >= 0) close(fd);
        gn_atomic_set_error(&a, fd < 0 ? errno : ENOMEM);
        return gn_atomic_commit(&a);
    }
    errno = 0;
    int ok = gzwrite(f, h, (unsigned)hlen) == (int)hlen;
    for (size_t off = 0; ok && off < n;) {
        unsigned chunk = n - off > (1u << 30) ? (1u << 30) : (unsigned)(n - off);
        ok = gzwrite(f, data + off, chunk) == (int)chunk;
        off += chunk;
    }
    int e = errno;
    ok = (gzclose(f) == Z_OK) && ok;
    if (!ok) gn_atomic_set_error(&a, e ? e : errno);
    return gn_atomic_commit(&a);
}
