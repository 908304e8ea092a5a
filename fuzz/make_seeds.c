/* Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/:
 * a few valid inputs and the edge cases next to them. Built with -Dfuzz=true;
 * run from the source root as build-fuzz/fuzz/make_seeds fuzz/corpus.
 * The files are committed; rerun only when the formats change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include <stb/stb_image_write.h>

#include "gannet/checkpoint.h"
#include "gannet/data.h"
#include "tiny_gan.h"

static const char *root;

static void put_file(const char *target, const char *name, const void *data, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) {
        perror(path);
        exit(1);
    }
}

static uint8_t *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    uint8_t *b = malloc((size_t)len + 1);
    if (!b || fread(b, 1, (size_t)len, f) != (size_t)len) exit(1);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* gzip-compresses n bytes (gzip header, no name or time) into a malloc'd buffer. */
static uint8_t *gzip_bytes(const uint8_t *src, size_t n, size_t *out_n) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(1);
    size_t cap = deflateBound(&z, n) + 64;
    uint8_t *out = malloc(cap);
    z.next_in = (uint8_t *)src;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) exit(1);
    *out_n = z.total_out;
    deflateEnd(&z);
    return out;
}

/* ---- IDX ---- */

static size_t idx_header(uint8_t *h, int type, int rank, const uint32_t *dims) {
    h[0] = 0; h[1] = 0; h[2] = (uint8_t)type; h[3] = (uint8_t)rank;
    for (int d = 0; d < rank; d++) {
        h[4 + 4 * d] = (uint8_t)(dims[d] >> 24);
        h[5 + 4 * d] = (uint8_t)(dims[d] >> 16);
        h[6 + 4 * d] = (uint8_t)(dims[d] >> 8);
        h[7 + 4 * d] = (uint8_t)dims[d];
    }
    return 4 + 4 * (size_t)rank;
}

/* A header and `body` bytes counting up from 1; also its gzip version when gz. */
static void idx_seed(const char *name, int type, int rank, const uint32_t *dims, size_t body, int gz) {
    uint8_t buf[4096];
    size_t n = idx_header(buf, type, rank, dims);
    for (size_t i = 0; i < body; i++) buf[n + i] = (uint8_t)(i + 1);
    n += body;
    put_file("idx", name, buf, n);
    if (gz) {
        char gzname[256];
        snprintf(gzname, sizeof gzname, "%s.gz", name);
        size_t zn;
        uint8_t *z = gzip_bytes(buf, n, &zn);
        put_file("idx", gzname, z, zn);
        free(z);
    }
}

static void idx_seeds(void) {
    idx_seed("u8-images-2x4x4", GN_IDX_U8, 3, (uint32_t[]){2, 4, 4}, 32, 1);
    idx_seed("u8-labels-5", GN_IDX_U8, 1, (uint32_t[]){5}, 5, 1);
    idx_seed("u8-rgb-1x2x2x3", GN_IDX_U8, 4, (uint32_t[]){1, 2, 2, 3}, 12, 0);
    idx_seed("i8-2x3", GN_IDX_I8, 2, (uint32_t[]){2, 3}, 6, 0);
    idx_seed("i16-2x3", GN_IDX_I16, 2, (uint32_t[]){2, 3}, 12, 1);
    idx_seed("i32-3", GN_IDX_I32, 1, (uint32_t[]){3}, 12, 0);
    idx_seed("f32-2x2", GN_IDX_F32, 2, (uint32_t[]){2, 2}, 16, 0);
    idx_seed("f64-2", GN_IDX_F64, 1, (uint32_t[]){2}, 16, 1);
    /* edge cases */
    put_file("idx", "empty", "", 0);
    put_file("idx", "short-magic", "\0\0\x08", 3);
    put_file("idx", "bad-magic", "\x01\x00\x08\x01\0\0\0\x01\x07", 9);
    put_file("idx", "rank-0", "\0\0\x08\0", 4);
    put_file("idx", "rank-5", "\0\0\x08\x05\0\0\0\1\0\0\0\1\0\0\0\1\0\0\0\1\0\0\0\1\x07", 25);
    put_file("idx", "unknown-type", "\0\0\x0a\x01\0\0\0\x01\x07", 9);
    put_file("idx", "dim-zero", "\0\0\x08\x02\0\0\0\x01\0\0\0\0", 12);
    put_file("idx", "short-dims", "\0\0\x08\x03\0\0\0\x01\0\0", 10);
    idx_seed("truncated-data", GN_IDX_U8, 2, (uint32_t[]){3, 3}, 5, 1);
    idx_seed("trailing-bytes", GN_IDX_U8, 1, (uint32_t[]){3}, 7, 1);
    idx_seed("too-many-elements", GN_IDX_U8, 3, (uint32_t[]){65536, 65536, 2}, 4, 0);
    idx_seed("huge-claim", GN_IDX_F64, 1, (uint32_t[]){0x7fffffff}, 8, 1);
    /* a gzip stream cut short, one with a damaged body, and two members back to back */
    uint8_t buf[256];
    size_t n = idx_header(buf, GN_IDX_U8, 2, (uint32_t[]){4, 4});
    for (int i = 0; i < 16; i++) buf[n + i] = (uint8_t)(i * 16);
    n += 16;
    size_t zn;
    uint8_t *z = gzip_bytes(buf, n, &zn);
    put_file("idx", "gz-cut", z, zn - 6);
    uint8_t *z2 = malloc(2 * zn);
    memcpy(z2, z, zn);
    z2[zn / 2] ^= 0x55;
    put_file("idx", "gz-damaged", z2, zn);
    memcpy(z2, z, zn);
    memcpy(z2 + zn, z, zn);
    put_file("idx", "gz-two-members", z2, 2 * zn);
    memcpy(z2, z, zn);
    memcpy(z2 + zn, "garbage", 7);
    put_file("idx", "gz-trailing-garbage", z2, zn + 7);
    free(z);
    free(z2);
}

/* ---- options ---- */

/* An argv given as one string with '|' between arguments; `sel` picks the
 * error buffer size (the first byte of every input). */
static void args_seed(const char *name, unsigned char sel, const char *args) {
    char buf[512];
    size_t n = strlen(args);
    buf[0] = (char)sel;
    for (size_t i = 0; i < n; i++) buf[1 + i] = args[i] == '|' ? 0 : args[i];
    put_file("args", name, buf, n + 1);
}

static void args_seeds(void) {
    args_seed("empty", 0, "");
    args_seed("all-types", 0, "--int|5|--neg=-7|--u64|123|--float|1e-3|--g=0.5|--str|abc|--out-dir=x/y|"
                              "--flag|--colour|blue|--one=only");
    args_seed("help", 0, "--int|3|--help");
    args_seed("int-out-of-range", 0, "--int|0");
    args_seed("int-overflow", 1, "--int|99999999999999999999");
    args_seed("u64-negative", 2, "--u64|-1");
    args_seed("float-nan", 0, "--float|nan");
    args_seed("float-hex", 0, "--float=0x1p-3");
    args_seed("float-tiny", 3, "--float=1e-400");
    args_seed("missing-value", 0, "--str");
    args_seed("empty-value", 0, "--str=");
    args_seed("twice", 0, "--flag|--flag");
    args_seed("flag-with-value", 0, "--flag=1");
    args_seed("unknown", 1, "--nope|1");
    args_seed("positional", 0, "value");
    args_seed("bad-choice", 2, "--colour|purple");
    args_seed("dashes-only", 0, "--");
    args_seed("equals-only", 0, "--=");
}

/* ---- checkpoints ---- */

typedef struct ckbuf {
    uint8_t data[8192];
    size_t n;
} ckbuf;

static void ck_put(ckbuf *b, const void *p, size_t n) {
    if (b->n + n > sizeof b->data) exit(1);
    memcpy(b->data + b->n, p, n);
    b->n += n;
}

static void ck_header(ckbuf *b, const char *magic, uint32_t version, uint32_t nsec) {
    b->n = 0;
    ck_put(b, magic, 8);
    ck_put(b, &version, 4);
    ck_put(b, &nsec, 4);
}

static void ck_section(ckbuf *b, const char *tag, const void *p, size_t n) {
    uint64_t len = n;
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
    ck_put(b, tag, 4);
    ck_put(b, &len, 8);
    ck_put(b, p, n);
    ck_put(b, &crc, 4);
}

/* Parses a valid checkpoint into its sections, to rebuild variants of it. */
typedef struct sec { char tag[5]; const uint8_t *p; size_t n; } sec;

static int split(const uint8_t *d, size_t n, sec *out) {
    size_t pos = 16;
    int k = 0;
    while (pos + 12 <= n && k < 12) {
        memcpy(out[k].tag, d + pos, 4);
        out[k].tag[4] = 0;
        uint64_t len;
        memcpy(&len, d + pos + 4, 8);
        out[k].p = d + pos + 12;
        out[k].n = (size_t)len;
        pos += 12 + len + 4;
        k++;
    }
    return k;
}

/* The valid sections with one of them replaced (tag NULL: none), or dropped (p NULL). */
static void ck_variant(const char *name, const sec *s, int ns, const char *tag, const void *p, size_t n) {
    ckbuf b;
    int count = ns;
    if (tag && !p) count--;
    ck_header(&b, "GANNETCK", 1, (uint32_t)count);
    for (int i = 0; i < ns; i++) {
        if (tag && !strcmp(s[i].tag, tag)) {
            if (p) ck_section(&b, tag, p, n);
        } else {
            ck_section(&b, s[i].tag, s[i].p, s[i].n);
        }
    }
    put_file("checkpoint", name, b.data, b.n);
}

static void checkpoint_seeds(const char *tmp) {
    gn_gan *gan = tiny_gan_new();
    if (!gan) {
        fprintf(stderr, "make_seeds: %s\n", gn_last_error());
        exit(1);
    }
    float z[TINY_NFIXED * TINY_ZDIM];
    for (int i = 0; i < TINY_NFIXED * TINY_ZDIM; i++) z[i] = (float)i / 8 - 0.5f;
    gn_history h = {0};
    for (int i = 0; i < 3; i++) {
        float row[GN_HIST_COLS] = {0.7f - 0.1f * i, 0.6f + 0.1f * i, 0.5f, 0.4f, 0.01f * (i + 1)};
        gn_history_push(&h, row);
    }
    gan->iter = 3;
    gan->og.t = 3;
    gan->od.t = 3;
    char path[1024];
    snprintf(path, sizeof path, "%s/tiny.gnt", tmp);
    if (gn_checkpoint_save(path, gan, z, TINY_NFIXED, &h)) {
        fprintf(stderr, "make_seeds: %s\n", gn_last_error());
        exit(1);
    }
    size_t n;
    uint8_t *d = read_file(path, &n);
    put_file("checkpoint", "valid-3-iterations", d, n);
    remove(path);

    gn_history empty = {0};
    gan->iter = 0;
    gan->og.t = gan->od.t = 0;
    gn_checkpoint_save(path, gan, z, TINY_NFIXED, &empty);
    size_t n0;
    uint8_t *d0 = read_file(path, &n0);
    put_file("checkpoint", "valid-0-iterations", d0, n0);
    remove(path);
    free(d0);

    sec s[12];
    int ns = split(d, n, s);
    /* header damage */
    put_file("checkpoint", "empty", "", 0);
    put_file("checkpoint", "magic-only", d, 8);
    uint8_t x[8192];
    memcpy(x, d, n);
    memcpy(x, "GANNETCX", 8);
    put_file("checkpoint", "bad-magic", x, n);
    memcpy(x, d, n);
    x[8] = 2;
    put_file("checkpoint", "version-2", x, n);
    x[8] = 0;
    put_file("checkpoint", "version-0", x, n);
    memcpy(x, d, n);
    x[12] = 33;
    put_file("checkpoint", "33-sections", x, n);
    memcpy(x, d, n);
    x[12] = 13;
    put_file("checkpoint", "one-section-too-many", x, n);
    /* cut short in the header of a section, in a payload, in a CRC */
    put_file("checkpoint", "cut-in-section-header", d, 16 + 6);
    put_file("checkpoint", "cut-in-payload", d, n / 2);
    put_file("checkpoint", "cut-in-last-crc", d, n - 2);
    memcpy(x, d, n);
    x[16 + 12 + 3] ^= 1;
    put_file("checkpoint", "bad-crc", x, n);
    memcpy(x, d, n);
    uint64_t big = ~0ull;
    memcpy(x + 16 + 4, &big, 8);
    put_file("checkpoint", "huge-length", x, n);
    /* settings */
    const char *conf_bad[][2] = {
        {"conf-no-equals", "preset=dcgan\nbatch\n"},
        {"conf-unknown-key", "preset=dcgan\nbatch=1\nzdim=4\nd_steps=1\ncolour=blue\n"},
        {"conf-incomplete", "preset=dcgan\n"},
        {"conf-negative", "preset=dcgan\nbatch=-1\nzdim=4\nd_steps=1\n"},
        {"conf-minimal", "preset=dcgan\nbatch=1\nzdim=4\nd_steps=1\n"},
        {"conf-other-preset", "preset=seed-mnist\nbatch=1\nzdim=4\nd_steps=1\n"},
        {"conf-bad-loss", "preset=dcgan\nbatch=1\nzdim=4\nd_steps=1\ng_loss=hinge\n"},
        {"conf-overflow", "preset=dcgan\nbatch=99999999999999999999\nzdim=4\nd_steps=1\niters=-5\n"},
        {"conf-long-preset", "preset=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nbatch=1\nzdim=4\nd_steps=1\n"},
        {"conf-no-newline", "preset=dcgan\nbatch=1\nzdim=4\nd_steps=1"},
    };
    for (size_t i = 0; i < sizeof conf_bad / sizeof conf_bad[0]; i++)
        ck_variant(conf_bad[i][0], s, ns, "CONF", conf_bad[i][1], strlen(conf_bad[i][1]));
    char longline[400];
    memset(longline, 'a', sizeof longline);
    ck_variant("conf-long-line", s, ns, "CONF", longline, sizeof longline);
    char nul_conf[] = "preset=dcgan\0batch=1\n";
    ck_variant("conf-nul-byte", s, ns, "CONF", nul_conf, sizeof nul_conf - 1);
    /* sections missing, the wrong size, or left over */
    ck_variant("no-conf", s, ns, "CONF", NULL, 0);
    ck_variant("no-meta", s, ns, "META", NULL, 0);
    ck_variant("no-hist", s, ns, "HIST", NULL, 0);
    ck_variant("gpar-short", s, ns, "GPAR", s[2].p, s[2].n - 4);
    ck_variant("hist-ragged", s, ns, "HIST", s[11].p, s[11].n - 4);
    ck_variant("fixz-empty", s, ns, "FIXZ", "", 0);
    free(d);
    gn_history_free(&h);
    tiny_gan_free(gan);
}

/* ---- image folders: a config byte (fuzz_imagedir.c), then files split on "\n--\n" ---- */

typedef struct membuf {
    uint8_t data[4096];
    size_t n;
} membuf;

static void mem_put(void *ctx, void *p, int n) {
    membuf *b = ctx;
    if (b->n + (size_t)n > sizeof b->data) exit(1);
    memcpy(b->data + b->n, p, (size_t)n);
    b->n += (size_t)n;
}

/* A picture in one of stb_image_write's formats ('p'ng, 'j'peg, 'b'mp, 't'ga). */
static void encode(membuf *b, char fmt, int w, int h, int c) {
    uint8_t px[16 * 16 * 4];
    for (int i = 0; i < w * h * c; i++) px[i] = (uint8_t)(i * 37 + 11);
    b->n = 0;
    int ok = fmt == 'p' ? stbi_write_png_to_func(mem_put, b, w, h, c, px, w * c)
             : fmt == 'j' ? stbi_write_jpg_to_func(mem_put, b, w, h, c, px, 90)
             : fmt == 'b' ? stbi_write_bmp_to_func(mem_put, b, w, h, c, px)
                          : stbi_write_tga_to_func(mem_put, b, w, h, c, px);
    if (!ok) exit(1);
}

static void image_seed(const char *name, uint8_t config, const membuf *parts, int n) {
    static uint8_t out[5 * 4096 + 64];
    size_t k = 0;
    out[k++] = config;
    for (int i = 0; i < n; i++) {
        if (i) memcpy(out + k, "\n--\n", 4), k += 4;
        memcpy(out + k, parts[i].data, parts[i].n);
        k += parts[i].n;
    }
    put_file("imagedir", name, out, k);
}

static void imagedir_seeds(void) {
    /* a 2x2 GIF89a: header, screen, 2-colour table, image, LZW data, trailer */
    static const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a', 2, 0, 2, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255,
                                  0x2c, 0, 0, 0, 0, 2, 0, 2, 0, 0, 2, 3, 0x44, 0x34, 0x05, 0, 0x3b};
    membuf m[5];
    encode(&m[0], 'p', 5, 3, 1);
    image_seed("png-gray-5x3", 0x07, m, 1);
    encode(&m[0], 'p', 4, 4, 4);
    image_seed("png-rgba-4x4-rgb", 0x83, m, 1);
    encode(&m[0], 'j', 8, 8, 3);
    image_seed("jpeg-8x8", 0x85, m, 1);
    encode(&m[0], 'b', 3, 5, 3);
    image_seed("bmp-3x5", 0x02, m, 1);
    encode(&m[0], 't', 4, 2, 2);
    image_seed("tga-gray-alpha", 0x1f, m, 1);
    memcpy(m[0].data, gif, sizeof gif);
    m[0].n = sizeof gif;
    image_seed("gif-2x2", 0x81, m, 1);
    encode(&m[0], 'p', 6, 6, 3);
    encode(&m[1], 'j', 7, 5, 1);
    memcpy(m[2].data, gif, sizeof gif);
    m[2].n = sizeof gif;
    encode(&m[3], 'b', 2, 2, 3);
    encode(&m[4], 't', 3, 3, 3);
    image_seed("five-files", 0x9b, m, 5);
    image_seed("five-files-strict", 0xdb, m, 5);
    m[0].n /= 2;
    image_seed("png-cut", 0x03, m, 1);
    image_seed("empty", 0x00, m, 0);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
        return 2;
    }
    root = argv[1];
    mkdir(root, 0755);
    idx_seeds();
    args_seeds();
    imagedir_seeds();
    const char *tmp = getenv("TMPDIR");
    checkpoint_seeds(tmp && *tmp ? tmp : "/tmp");
    return 0;
}
