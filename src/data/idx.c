/* idx.c - IDX files (raw or gzip, by content): checked reading in bounded
 * chunks, atomic writing, loading an images+labels pair into an rcn_dataset,
 * and finding the files of a split in a data directory. See data.h. */
#include "rcn/data.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "rcn/fileio.h"

#define IDX_TYPE_UBYTE 0x08
#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAX_SIDE 4096             /* image rows/cols accepted by the reader */
#define IDX_CHUNK (1u << 20)          /* bytes per gzread call */
#define IDX_TRAILING_COUNT_MAX (1LL << 30) /* stop counting trailing bytes here */

/* One open input file: gzread reads gzip and raw files alike. */
typedef struct {
    const char *path;
    gzFile gz;
    int direct;       /* 1: raw file, 0: gzip stream */
    int64_t raw_size; /* size of a raw regular file, else -1 */
    int64_t pos;      /* (decompressed) bytes consumed so far */
} idx_in;

static const char *size_word(const idx_in *in)
{
    return in->direct ? "file has" : "decompressed file has";
}

/* Turns the gzFile's error state into an rcn_error. */
static int gz_fail(idx_in *in, rcn_error *err)
{
    int e = Z_OK;
    const char *zmsg = gzerror(in->gz, &e);
    if (e == Z_ERRNO)
        return rcn_errorf(err, "%s: read error after %lld bytes: %s", in->path,
                          (long long)in->pos, strerror(errno));
    if (e == Z_BUF_ERROR)
        return rcn_errorf(err,
                          "%s: corrupt gzip file: compressed stream truncated (unexpected end "
                          "of file) after %lld decompressed bytes",
                          in->path, (long long)in->pos);
    if (e == Z_MEM_ERROR)
        return rcn_errorf(err, "%s: out of memory while decompressing", in->path);
    /* zlib prefixes its message with the "path", here "<fd:N>: ": drop it. */
    if (zmsg && !strncmp(zmsg, "<fd:", 4) && strstr(zmsg, ">: "))
        zmsg = strstr(zmsg, ">: ") + 3;
    return rcn_errorf(err, "%s: corrupt gzip file after %lld decompressed bytes (zlib: %s)",
                      in->path, (long long)in->pos, zmsg && *zmsg ? zmsg : "unknown error");
}

static int in_open(idx_in *in, const char *path, rcn_error *err)
{
    memset(in, 0, sizeof *in);
    in->path = path;
    in->raw_size = -1;
    struct stat st;
    int fd = rcn_open_read(path, NULL, &st, err);
    if (fd < 0)
        return -1;
    in->gz = gzdopen(fd, "rb");
    if (!in->gz) {
        close(fd);
        return rcn_errorf(err, "%s: cannot open: out of memory", path);
    }
    gzbuffer(in->gz, 256 * 1024);
    /* gzdirect looks at the first bytes: gzip magic or not. */
    in->direct = gzdirect(in->gz);
    if (in->direct && S_ISREG(st.st_mode))
        in->raw_size = (int64_t)st.st_size;
    int e = Z_OK;
    gzerror(in->gz, &e);
    if (e != Z_OK) {
        gz_fail(in, err);
        gzclose(in->gz);
        in->gz = NULL;
        return -1;
    }
    return 0;
}

static void in_close(idx_in *in)
{
    if (in->gz)
        gzclose(in->gz);
    in->gz = NULL;
}

/* Reads up to len bytes; *got < len only at the end of the data. Errors
 * (I/O, corrupt or truncated gzip) are reported, never silently shortened. */
static int in_read(idx_in *in, void *buf, size_t len, size_t *got, rcn_error *err)
{
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > IDX_CHUNK)
            want = IDX_CHUNK;
        int r = gzread(in->gz, (char *)buf + *got, (unsigned)want);
        if (r < 0)
            return gz_fail(in, err);
        if (r == 0)
            break;
        *got += (size_t)r;
        in->pos += r;
    }
    if (*got < len) {
        int e = Z_OK;
        gzerror(in->gz, &e);
        if (e != Z_OK)
            return gz_fail(in, err);
    }
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads and checks the magic number and the ndim sizes. */
static int read_header(idx_in *in, uint32_t want_magic, const char *what, uint32_t *dims,
                       rcn_error *err)
{
    const int want_ndim = (int)(want_magic & 0xff);
    const int hdr = 4 + 4 * want_ndim;
    uint8_t b[16];
    size_t got;
    if (in_read(in, b, 4, &got, err))
        return -1;
    if (got < 4)
        return rcn_errorf(err, "%s: truncated header: %s only %zu bytes, an IDX header (%s) needs %d",
                          in->path, size_word(in), got, what, hdr);
    uint32_t magic = be32(b);
    if (magic != want_magic) {
        char why[160];
        if (b[0] || b[1])
            snprintf(why, sizeof why, "not an IDX file (bytes 0-1 must be zero)");
        else if (b[2] != IDX_TYPE_UBYTE)
            snprintf(why, sizeof why,
                     "element type 0x%02x at offset 2 is not unsigned byte (0x08)", b[2]);
        else
            snprintf(why, sizeof why, "%d dimension%s at offset 3, need %d%s", b[3],
                     b[3] == 1 ? "" : "s", want_ndim,
                     b[3] == 1   ? " (this looks like a labels file)"
                     : b[3] == 3 ? " (this looks like an images file)"
                                 : "");
        return rcn_errorf(err, "%s: bad magic 0x%08x at offset 0 (expected 0x%08x, %s): %s",
                          in->path, magic, want_magic, what, why);
    }
    if (in_read(in, b, (size_t)(4 * want_ndim), &got, err))
        return -1;
    if (got < (size_t)(4 * want_ndim))
        return rcn_errorf(err,
                          "%s: truncated header: %s only %zu bytes, an idx%d header needs %d",
                          in->path, size_word(in), 4 + got, want_ndim, hdr);
    for (int i = 0; i < want_ndim; i++)
        dims[i] = be32(b + 4 * i);
    if ((int64_t)dims[0] > RCN_IDX_MAX_ITEMS)
        return rcn_errorf(err, "%s: header claims %lld items at offset 4 (limit %lld)", in->path,
                          (long long)dims[0], (long long)RCN_IDX_MAX_ITEMS);
    if (want_ndim == 3 && (dims[1] < 1 || dims[1] > IDX_MAX_SIDE || dims[2] < 1 ||
                           dims[2] > IDX_MAX_SIDE))
        return rcn_errorf(err,
                          "%s: header claims images of %lux%lu at offset 8 (each side must be "
                          "1..%d)",
                          in->path, (unsigned long)dims[1], (unsigned long)dims[2],
                          IDX_MAX_SIDE);
    return 0;
}

/* "60000 images of 28x28" / "60000 labels" */
static void describe(char *buf, size_t cap, int ndim, const uint32_t *dims)
{
    if (ndim == 3)
        snprintf(buf, cap, "%lu images of %lux%lu", (unsigned long)dims[0],
                 (unsigned long)dims[1], (unsigned long)dims[2]);
    else
        snprintf(buf, cap, "%lu labels", (unsigned long)dims[0]);
}

/* Reads the whole file (header checked against want_magic), returns the data. */
static int read_idx(const char *path, uint32_t want_magic, const char *what, uint8_t **out,
                    uint32_t *dims, rcn_error *err)
{
    const int ndim = (int)(want_magic & 0xff);
    const int64_t hdr = 4 + 4 * ndim;
    *out = NULL;
    idx_in in;
    if (in_open(&in, path, err))
        return -1;
    if (read_header(&in, want_magic, what, dims, err)) {
        in_close(&in);
        return -1;
    }
    int64_t need = (int64_t)dims[0];
    for (int i = 1; i < ndim; i++)
        need *= (int64_t)dims[i]; /* <= 1e8 * 4096 * 4096: fits */
    char desc[96];
    describe(desc, sizeof desc, ndim, dims);

    /* A raw file's size is known: judge it before allocating anything. */
    if (in.raw_size >= 0 && in.raw_size != hdr + need) {
        in_close(&in);
        if (in.raw_size < hdr + need)
            return rcn_errorf(err, "%s: truncated: header says %s (%lld bytes) but file has %lld bytes",
                              path, desc, (long long)(hdr + need), (long long)in.raw_size);
        return rcn_errorf(err,
                          "%s: %lld trailing bytes after the data (header says %s, %lld bytes; "
                          "file has %lld)",
                          path, (long long)(in.raw_size - hdr - need), desc,
                          (long long)(hdr + need), (long long)in.raw_size);
    }

    /* Grow the buffer as data actually arrives, so a small (gzip) file whose
     * header claims a lot cannot make us allocate it. */
    size_t cap = (size_t)(in.raw_size >= 0 ? need : (need < 4 * (int64_t)IDX_CHUNK ? need : 4 * (int64_t)IDX_CHUNK));
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf) {
        in_close(&in);
        return rcn_errorf(err, "%s: out of memory for %zu bytes of data", path, cap);
    }
    size_t have = 0;
    while ((int64_t)have < need) {
        if (have == cap) {
            size_t ncap = cap * 2 > (size_t)need ? (size_t)need : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                in_close(&in);
                return rcn_errorf(err, "%s: out of memory for %zu bytes of data", path, ncap);
            }
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - have, got;
        if (want > IDX_CHUNK)
            want = IDX_CHUNK;
        if (in_read(&in, buf + have, want, &got, err)) {
            free(buf);
            in_close(&in);
            return -1;
        }
        have += got;
        if (got < want)
            break;
    }
    if ((int64_t)have < need) {
        free(buf);
        in_close(&in);
        return rcn_errorf(err, "%s: truncated: header says %s (%lld bytes) but %s %lld bytes",
                          path, desc, (long long)(hdr + need), size_word(&in),
                          (long long)(hdr + (int64_t)have));
    }
    /* Anything after the data is an error; count it (up to a bound). */
    uint8_t scratch[65536];
    int64_t extra = 0;
    for (;;) {
        size_t got;
        if (in_read(&in, scratch, sizeof scratch, &got, err)) {
            free(buf);
            in_close(&in);
            return -1;
        }
        extra += (int64_t)got;
        if (got < sizeof scratch || extra >= IDX_TRAILING_COUNT_MAX)
            break;
    }
    if (extra > 0) {
        free(buf);
        int at_least = extra >= IDX_TRAILING_COUNT_MAX;
        rcn_errorf(err, "%s: %s%lld trailing bytes after the data (header says %s, %lld bytes)",
                   path, at_least ? "at least " : "", (long long)extra, desc,
                   (long long)(hdr + need));
        in_close(&in);
        return -1;
    }
    in_close(&in);
    *out = buf;
    return 0;
}

int rcn_idx_read_images(const char *path, uint8_t **pixels, int64_t *n, int *rows, int *cols,
                        rcn_error *err)
{
    uint32_t dims[3];
    uint8_t *data;
    if (read_idx(path, IDX_MAGIC_IMAGES, "idx3 unsigned-byte images", &data, dims, err))
        return -1;
    *pixels = data;
    *n = (int64_t)dims[0];
    *rows = (int)dims[1];
    *cols = (int)dims[2];
    return 0;
}

int rcn_idx_read_labels(const char *path, uint8_t **labels, int64_t *n, rcn_error *err)
{
    uint32_t dims[1];
    uint8_t *data;
    if (read_idx(path, IDX_MAGIC_LABELS, "idx1 unsigned-byte labels", &data, dims, err))
        return -1;
    for (int64_t i = 0; i < (int64_t)dims[0]; i++) {
        if (data[i] > 9) {
            rcn_errorf(err, "%s: label %u out of range 0..9 at item %lld (offset %lld)", path,
                       data[i], (long long)i, (long long)(8 + i));
            free(data);
            return -1;
        }
    }
    *labels = data;
    *n = (int64_t)dims[0];
    return 0;
}

static int ends_with_gz(const char *path)
{
    size_t l = strlen(path);
    return l >= 3 && !strcmp(path + l - 3, ".gz");
}

int rcn_idx_write(const char *path, const uint8_t *data, int ndim, const int32_t *dims,
                  rcn_error *err)
{
    if (ndim < 1 || ndim > 255)
        return rcn_errorf(err, "%s: cannot write IDX with %d dimensions (1..255)", path, ndim);
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0)
            return rcn_errorf(err, "%s: cannot write IDX: dimension %d is negative (%ld)", path,
                              i, (long)dims[i]);
        count *= dims[i];
        if (count > (int64_t)1 << 40)
            return rcn_errorf(err, "%s: cannot write IDX: too large", path);
    }
    size_t hdr = 4 + 4 * (size_t)ndim, len = hdr + (size_t)count;
    uint8_t *buf = malloc(len);
    if (!buf)
        return rcn_errorf(err, "%s: out of memory for %zu bytes", path, len);
    buf[0] = buf[1] = 0;
    buf[2] = IDX_TYPE_UBYTE;
    buf[3] = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++) {
        uint32_t d = (uint32_t)dims[i];
        buf[4 + 4 * i] = (uint8_t)(d >> 24);
        buf[5 + 4 * i] = (uint8_t)(d >> 16);
        buf[6 + 4 * i] = (uint8_t)(d >> 8);
        buf[7 + 4 * i] = (uint8_t)d;
    }
    if (count)
        memcpy(buf + hdr, data, (size_t)count);
    if (!ends_with_gz(path)) {
        int rc = rcn_write_atomic(path, buf, len, err);
        free(buf);
        return rc;
    }
    /* gzip wrapper (windowBits 15 + 16), compressed in memory then written atomically. */
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(buf);
        return rcn_errorf(err, "%s: cannot start gzip compression", path);
    }
    size_t zcap = (size_t)deflateBound(&zs, (uLong)len) + 64;
    uint8_t *z = malloc(zcap);
    if (!z) {
        deflateEnd(&zs);
        free(buf);
        return rcn_errorf(err, "%s: out of memory for %zu bytes", path, zcap);
    }
    zs.next_in = buf;
    zs.avail_in = (uInt)len;
    zs.next_out = z;
    zs.avail_out = (uInt)zcap;
    int zr = deflate(&zs, Z_FINISH);
    size_t zlen = zs.total_out;
    deflateEnd(&zs);
    free(buf);
    if (zr != Z_STREAM_END) {
        free(z);
        return rcn_errorf(err, "%s: gzip compression failed (zlib %d)", path, zr);
    }
    int rc = rcn_write_atomic(path, z, zlen, err);
    free(z);
    return rc;
}

int rcn_dataset_load(const char *images_path, const char *labels_path, rcn_dataset *ds,
                     rcn_error *err)
{
    memset(ds, 0, sizeof *ds);
    uint8_t *px = NULL, *lb = NULL;
    int64_t n = 0, nl = 0;
    int rows = 0, cols = 0;
    if (rcn_idx_read_images(images_path, &px, &n, &rows, &cols, err))
        return -1;
    if (rows != 28 || cols != 28) {
        free(px);
        return rcn_errorf(err, "%s: images are %dx%d, rcn needs 28x28", images_path, rows, cols);
    }
    if (n == 0) {
        free(px);
        return rcn_errorf(err, "%s: holds no images (header says 0 items)", images_path);
    }
    if (rcn_idx_read_labels(labels_path, &lb, &nl, err)) {
        free(px);
        return -1;
    }
    if (nl != n) {
        free(px);
        free(lb);
        return rcn_errorf(err, "labels file %s has %lld items but images file %s has %lld",
                          labels_path, (long long)nl, images_path, (long long)n);
    }
    ds->n = n;
    ds->rows = rows;
    ds->cols = cols;
    ds->images = px;
    ds->labels = lb;
    return 0;
}

void rcn_dataset_free(rcn_dataset *ds)
{
    if (!ds)
        return;
    free(ds->images);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

/* Picks "<dir>/<name>" or else "<dir>/<name>.gz" into out. */
static int resolve_one(const char *dir, const char *split, const char *kind,
                       const char *noun, char *out, size_t cap, rcn_error *err)
{
    char raw[4096], gz[4100];
    int l = snprintf(raw, sizeof raw, "%s/%s-%s-ubyte", dir, split, kind);
    if (l < 0 || (size_t)l >= sizeof raw || (size_t)l + 3 >= cap)
        return rcn_errorf(err, "%s: path of %s-%s-ubyte is too long (%d bytes)", dir, split,
                          kind, l);
    snprintf(gz, sizeof gz, "%s.gz", raw);
    struct stat st;
    if (stat(raw, &st) == 0) {
        snprintf(out, cap, "%s", raw);
        return 0;
    }
    if (stat(gz, &st) == 0) {
        snprintf(out, cap, "%s", gz);
        return 0;
    }
    return rcn_errorf(err,
                      "%s: no %s %s file: neither %s-%s-ubyte nor %s-%s-ubyte.gz is there "
                      "(`make data` fetches MNIST into data/mnist; `rcn synth --out DIR` "
                      "writes a synthetic set)",
                      dir, split, noun, split, kind,
                      split, kind);
}

int rcn_dataset_resolve(const char *dir, const char *split, char *images_path,
                        char *labels_path, size_t cap, rcn_error *err)
{
    if (strcmp(split, "train") && strcmp(split, "t10k"))
        return rcn_errorf(err, "%s: unknown split '%s' (expected train or t10k)", dir, split);
    struct stat st;
    if (stat(dir, &st) != 0)
        return rcn_errorf(err, "%s: cannot open data directory: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return rcn_errorf(err, "%s: is not a directory (expected a data directory holding "
                               "%s-images-idx3-ubyte[.gz] and %s-labels-idx1-ubyte[.gz])",
                          dir, split, split);
    if (resolve_one(dir, split, "images-idx3", "images", images_path, cap, err))
        return -1;
    return resolve_one(dir, split, "labels-idx1", "labels", labels_path, cap, err);
}
