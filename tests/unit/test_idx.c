/* test_idx.c - IDX reading/writing (raw and gzip), dataset load/resolve, and
 * that every kind of bad file gives its own precise error message; the real
 * MNIST files are checked too when data/mnist exists. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "fixtures.h"
#include "rcn/data.h"

#define P(name) fixture_path(name)

static void put_gz(const char *path, const void *data, size_t len)
{
    gzFile g = gzopen(path, "wb");
    if (!g || (len && gzwrite(g, data, (unsigned)len) != (int)len)) {
        perror(path);
        exit(2);
    }
    gzclose(g);
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An idx3 image file image in memory: header for (n, r, c) + data_n images. */
static uint8_t *mk_images(uint32_t magic, uint32_t n, uint32_t r, uint32_t c, size_t data_n,
                          size_t extra, size_t *len)
{
    *len = 16 + data_n * r * c + extra;
    uint8_t *b = calloc(*len, 1);
    be32(b, magic);
    be32(b + 4, n);
    be32(b + 8, r);
    be32(b + 12, c);
    for (size_t i = 16; i < *len; i++)
        b[i] = (uint8_t)(i * 7);
    return b;
}

static uint8_t *mk_labels(uint32_t n, size_t data_n, size_t extra, size_t *len)
{
    *len = 8 + data_n + extra;
    uint8_t *b = calloc(*len, 1);
    be32(b, 0x801);
    be32(b + 4, n);
    for (size_t i = 8; i < *len; i++)
        b[i] = (uint8_t)(i % 10);
    return b;
}

static int contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* Reads path as images; expects failure with a message containing want. */
#define EXPECT_IMG_ERR(path, want)                                                         \
    do {                                                                                   \
        rcn_error e_ = {{0}};                                                              \
        uint8_t *px_ = NULL;                                                               \
        int64_t n_ = -1;                                                                   \
        int r_ = 0, c_ = 0;                                                                \
        int rc_ = rcn_idx_read_images((path), &px_, &n_, &r_, &c_, &e_);                  \
        CHECK(rc_ == -1, "reading %s should fail with '%s'", (path), (want));              \
        CHECK(contains(e_.msg, (want)), "message '%s' lacks '%s'", e_.msg, (want));        \
        CHECK(contains(e_.msg, (path)), "message '%s' does not name %s", e_.msg, (path));  \
        printf("error: %s\n", e_.msg);                                                    \
        if (rc_ == 0)                                                                      \
            free(px_);                                                                     \
    } while (0)

#define EXPECT_LBL_ERR(path, want)                                                         \
    do {                                                                                   \
        rcn_error e_ = {{0}};                                                              \
        uint8_t *lb_ = NULL;                                                               \
        int64_t n_ = -1;                                                                   \
        int rc_ = rcn_idx_read_labels((path), &lb_, &n_, &e_);                            \
        CHECK(rc_ == -1, "reading %s should fail with '%s'", (path), (want));              \
        CHECK(contains(e_.msg, (want)), "message '%s' lacks '%s'", e_.msg, (want));        \
        CHECK(contains(e_.msg, (path)), "message '%s' does not name %s", e_.msg, (path));  \
        printf("error: %s\n", e_.msg);                                                    \
        if (rc_ == 0)                                                                      \
            free(lb_);                                                                     \
    } while (0)

static void test_roundtrip(const char *suffix)
{
    enum { N = 7 };
    uint8_t px[N * 28 * 28], lb[N];
    for (int i = 0; i < N * 28 * 28; i++)
        px[i] = (uint8_t)(i * 31 + 3);
    for (int i = 0; i < N; i++)
        lb[i] = (uint8_t)((i * 3) % 10);
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s/rt-images%s", fixture_tmpdir(), suffix);
    snprintf(lp, sizeof lp, "%s/rt-labels%s", fixture_tmpdir(), suffix);
    rcn_error err = {{0}};
    int32_t dims[3] = {N, 28, 28};
    CHECK(rcn_idx_write(ip, px, 3, dims, &err) == 0, "write %s: %s", ip, err.msg);
    CHECK(rcn_idx_write(lp, lb, 1, dims, &err) == 0, "write %s: %s", lp, err.msg);

    /* .gz paths really are gzip, the others raw. */
    FILE *f = fopen(ip, "rb");
    int b0 = f ? fgetc(f) : -1, b1 = f ? fgetc(f) : -1;
    if (f)
        fclose(f);
    if (suffix[0])
        CHECK(b0 == 0x1f && b1 == 0x8b, "%s should start with the gzip magic", ip);
    else
        CHECK(b0 == 0 && b1 == 0, "%s should be a raw IDX file", ip);

    uint8_t *rp = NULL, *rl = NULL;
    int64_t n = 0, nl = 0;
    int rows = 0, cols = 0;
    CHECK(rcn_idx_read_images(ip, &rp, &n, &rows, &cols, &err) == 0, "read: %s", err.msg);
    CHECK(n == N && rows == 28 && cols == 28, "got %lld x %d x %d", (long long)n, rows, cols);
    CHECK(rp && !memcmp(rp, px, sizeof px), "image bytes differ after round trip (%s)", suffix);
    CHECK(rcn_idx_read_labels(lp, &rl, &nl, &err) == 0, "read labels: %s", err.msg);
    CHECK(nl == N && rl && !memcmp(rl, lb, N), "label bytes differ after round trip");
    free(rp);
    free(rl);

    rcn_dataset ds;
    CHECK(rcn_dataset_load(ip, lp, &ds, &err) == 0, "load: %s", err.msg);
    CHECK(ds.n == N && ds.rows == 28 && ds.cols == 28, "dataset shape");
    CHECK(ds.images && ds.images[5] == px[5] && ds.labels[N - 1] == lb[N - 1], "dataset data");
    rcn_dataset_free(&ds);
    CHECK(ds.images == NULL && ds.labels == NULL && ds.n == 0, "free clears the struct");
}

static void test_resolve(void)
{
    char d[512], ip[1024], lp[1024];
    rcn_error err = {{0}};
    snprintf(d, sizeof d, "%s/res", fixture_tmpdir());
    mkdir(d, 0755);
    /* Nothing there: the message names the dir and both candidates. */
    CHECK(rcn_dataset_resolve(d, "train", ip, lp, sizeof ip, &err) == -1, "empty dir resolves");
    CHECK(contains(err.msg, d) && contains(err.msg, "train-images-idx3-ubyte ") &&
              contains(err.msg, "train-images-idx3-ubyte.gz"),
          "resolve message: %s", err.msg);
    CHECK(rcn_dataset_resolve(d, "valid", ip, lp, sizeof ip, &err) == -1 &&
              contains(err.msg, "unknown split 'valid'"),
          "bad split: %s", err.msg);
    CHECK(rcn_dataset_resolve(P("nope"), "train", ip, lp, sizeof ip, &err) == -1 &&
              contains(err.msg, "No such file or directory"),
          "missing dir: %s", err.msg);

    /* Only .gz: picks .gz; labels missing: says labels. */
    size_t len;
    uint8_t *img = mk_images(0x803, 2, 28, 28, 2, 0, &len);
    char p[1024];
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", d);
    put_gz(p, img, len);
    CHECK(rcn_dataset_resolve(d, "t10k", ip, lp, sizeof ip, &err) == -1 &&
              contains(err.msg, "no t10k labels file") &&
              contains(err.msg, "t10k-labels-idx1-ubyte.gz"),
          "labels missing: %s", err.msg);
    uint8_t *lab = mk_labels(2, 2, 0, &len);
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte.gz", d);
    put_gz(p, lab, len);
    CHECK(rcn_dataset_resolve(d, "t10k", ip, lp, sizeof ip, &err) == 0, "resolve: %s", err.msg);
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", d);
    CHECK(!strcmp(ip, p), "resolved %s, want %s", ip, p);
    /* Raw present too: raw wins. */
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", d);
    fixture_put_bytes(p, img, 16 + 2 * 784);
    CHECK(rcn_dataset_resolve(d, "t10k", ip, lp, sizeof ip, &err) == 0 && !strcmp(ip, p),
          "raw should win: got %s", ip);
    rcn_dataset ds;
    CHECK(rcn_dataset_load(ip, lp, &ds, &err) == 0 && ds.n == 2, "load resolved: %s", err.msg);
    rcn_dataset_free(&ds);
    /* Too small a buffer is an error, not an overflow. */
    char small[8];
    CHECK(rcn_dataset_resolve(d, "t10k", small, small, sizeof small, &err) == -1 &&
              contains(err.msg, "too long"),
          "small cap: %s", err.msg);
    free(img);
    free(lab);
}

static void test_bad_files(void)
{
    size_t len;
    uint8_t *b;
    char want[1024];

    /* Truncated header: 2 bytes; magic ok but sizes cut; empty file. */
    b = mk_images(0x803, 3, 28, 28, 0, 0, &len);
    fixture_put_bytes(P("hdr2"), b, 2);
    EXPECT_IMG_ERR(P("hdr2"), "truncated header: file has only 2 bytes");
    fixture_put_bytes(P("hdr10"), b, 10);
    EXPECT_IMG_ERR(P("hdr10"), "truncated header: file has only 10 bytes, an idx3 header needs 16");
    fixture_put_bytes(P("empty"), b, 0);
    EXPECT_IMG_ERR(P("empty"), "truncated header");
    put_gz(P("hdr10.gz"), b, 10);
    EXPECT_IMG_ERR(P("hdr10.gz"), "truncated header: decompressed file has only 10 bytes");
    free(b);

    /* Truncated data, raw and gzip: the exact message. */
    b = mk_images(0x803, 3, 28, 28, 2, 0, &len);
    fixture_put_bytes(P("trunc"), b, len);
    snprintf(want, sizeof want,
             "%s: truncated: header says 3 images of 28x28 (2368 bytes) but file has 1584 bytes",
             P("trunc"));
    EXPECT_IMG_ERR(P("trunc"), want);
    put_gz(P("trunc.gz"), b, len);
    EXPECT_IMG_ERR(P("trunc.gz"), "but decompressed file has 1584 bytes");
    free(b);

    /* Trailing bytes, raw and gzip. */
    b = mk_images(0x803, 2, 28, 28, 2, 12, &len);
    fixture_put_bytes(P("trail"), b, len);
    snprintf(want, sizeof want, "%s: 12 trailing bytes after the data", P("trail"));
    EXPECT_IMG_ERR(P("trail"), want);
    put_gz(P("trail.gz"), b, len);
    EXPECT_IMG_ERR(P("trail.gz"), ": 12 trailing bytes after the data");
    free(b);
    b = mk_labels(5, 5, 3, &len);
    fixture_put_bytes(P("ltrail"), b, len);
    EXPECT_LBL_ERR(P("ltrail"), "3 trailing bytes after the data");
    free(b);

    /* Wrong magic: a labels file given as images, and vice versa; garbage. */
    b = mk_labels(4, 4, 0, &len);
    fixture_put_bytes(P("lbl"), b, len);
    snprintf(want, sizeof want,
             "%s: bad magic 0x00000801 at offset 0 (expected 0x00000803, idx3 unsigned-byte "
             "images)",
             P("lbl"));
    EXPECT_IMG_ERR(P("lbl"), want);
    EXPECT_IMG_ERR(P("lbl"), "looks like a labels file");
    free(b);
    b = mk_images(0x803, 1, 28, 28, 1, 0, &len);
    fixture_put_bytes(P("img"), b, len);
    EXPECT_LBL_ERR(P("img"), "bad magic 0x00000803 at offset 0 (expected 0x00000801");
    free(b);
    b = mk_images(0x89504e47, 1, 28, 28, 1, 0, &len); /* a PNG, say */
    fixture_put_bytes(P("png"), b, len);
    EXPECT_IMG_ERR(P("png"), "not an IDX file");
    free(b);

    /* Wrong type byte (0x0D = float) and wrong ndim (2). */
    b = mk_images(0x0D03, 1, 28, 28, 1, 0, &len);
    fixture_put_bytes(P("float"), b, len);
    EXPECT_IMG_ERR(P("float"), "element type 0x0d at offset 2 is not unsigned byte");
    free(b);
    b = mk_images(0x0802, 1, 28, 28, 1, 0, &len);
    fixture_put_bytes(P("ndim2"), b, len);
    EXPECT_IMG_ERR(P("ndim2"), "2 dimensions at offset 3, need 3");
    free(b);

    /* Label out of range. */
    uint8_t lb[14] = {0, 0, 8, 1, 0, 0, 0, 6, 1, 2, 3, 4, 5, 11};
    fixture_put_bytes(P("lrange"), lb, sizeof lb);
    snprintf(want, sizeof want, "%s: label 11 out of range 0..9 at item 5 (offset 13)",
             P("lrange"));
    EXPECT_LBL_ERR(P("lrange"), want);

    /* Huge count claims: refused before allocating (raw), and a tiny gzip
     * file claiming 1e8 images (78 GB) ends as "truncated", not as a 78 GB
     * malloc. */
    b = mk_images(0x803, 4000000000u, 28, 28, 0, 0, &len);
    fixture_put_bytes(P("huge"), b, len);
    snprintf(want, sizeof want, "%s: header claims 4000000000 items at offset 4 (limit 100000000)",
             P("huge"));
    EXPECT_IMG_ERR(P("huge"), want);
    free(b);
    b = mk_labels(4000000000u, 0, 0, &len);
    put_gz(P("hugel.gz"), b, len);
    EXPECT_LBL_ERR(P("hugel.gz"), "header claims 4000000000 items at offset 4 (limit 100000000)");
    free(b);
    b = mk_images(0x803, 100000000u, 28, 28, 3, 0, &len);
    put_gz(P("big.gz"), b, len);
    EXPECT_IMG_ERR(P("big.gz"), "truncated: header says 100000000 images of 28x28 "
                                "(78400000016 bytes) but decompressed file has 2368 bytes");
    free(b);
    b = mk_images(0x803, 1, 0, 28, 0, 0, &len);
    fixture_put_bytes(P("zero"), b, len);
    EXPECT_IMG_ERR(P("zero"), "images of 0x28");
    free(b);

    /* Directory, missing file. */
    EXPECT_IMG_ERR(fixture_tmpdir(), "is a directory");
    EXPECT_LBL_ERR(fixture_tmpdir(), "is a directory");
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", P("missing"));
    EXPECT_IMG_ERR(P("missing"), want);

    /* Corrupt gzip: flipped bytes in the deflate data; cut-off stream. */
    enum { NB = 50 };
    b = mk_images(0x803, NB, 28, 28, NB, 0, &len);
    put_gz(P("good.gz"), b, len);
    free(b);
    FILE *f = fopen(P("good.gz"), "rb");
    uint8_t zb[1 << 16];
    size_t zl = fread(zb, 1, sizeof zb, f);
    fclose(f);
    CHECK(zl > 100 && zl < sizeof zb, "compressed test file size %zu", zl);
    uint8_t bad[1 << 16];
    memcpy(bad, zb, zl);
    for (size_t i = 20; i < 60 && i < zl; i++)
        bad[i] ^= 0x5a;
    fixture_put_bytes(P("corrupt.gz"), bad, zl);
    EXPECT_IMG_ERR(P("corrupt.gz"), "corrupt gzip file");
    fixture_put_bytes(P("cut.gz"), zb, zl / 2);
    EXPECT_IMG_ERR(P("cut.gz"), "corrupt gzip file: compressed stream truncated");
    memcpy(bad, zb, zl);
    bad[zl - 6] ^= 0xff; /* CRC-32 in the trailer */
    fixture_put_bytes(P("crc.gz"), bad, zl);
    EXPECT_IMG_ERR(P("crc.gz"), "corrupt gzip file");
}

static void test_dataset_errors(void)
{
    size_t li, ll;
    rcn_error err = {{0}};
    rcn_dataset ds;
    uint8_t *img = mk_images(0x803, 1000, 28, 28, 1000, 0, &li);
    uint8_t *lab = mk_labels(999, 999, 0, &ll);
    fixture_put_bytes(P("m-img"), img, li);
    fixture_put_bytes(P("m-lab"), lab, ll);
    char want[1024];
    snprintf(want, sizeof want, "labels file %s has 999 items but images file %s has 1000",
             P("m-lab"), P("m-img"));
    CHECK(rcn_dataset_load(P("m-img"), P("m-lab"), &ds, &err) == -1, "count mismatch loads");
    CHECK(contains(err.msg, want), "message '%s' lacks '%s'", err.msg, want);
    CHECK(ds.images == NULL && ds.labels == NULL, "failed load leaves no arrays");
    free(img);
    free(lab);

    img = mk_images(0x803, 3, 32, 32, 3, 0, &li);
    lab = mk_labels(3, 3, 0, &ll);
    fixture_put_bytes(P("i32"), img, li);
    fixture_put_bytes(P("l3"), lab, ll);
    snprintf(want, sizeof want, "%s: images are 32x32, rcn needs 28x28", P("i32"));
    CHECK(rcn_dataset_load(P("i32"), P("l3"), &ds, &err) == -1 && contains(err.msg, want),
          "32x32: '%s'", err.msg);
    /* ...but the plain reader accepts 32x32. */
    uint8_t *px;
    int64_t n;
    int r, c;
    CHECK(rcn_idx_read_images(P("i32"), &px, &n, &r, &c, &err) == 0 && n == 3 && r == 32 &&
              c == 32,
          "reader on 32x32: %s", err.msg);
    if (r == 32)
        free(px);
    free(img);
    free(lab);

    /* Errors from the labels file come through load. */
    uint8_t lb[10] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 10};
    fixture_put_bytes(P("l-bad"), lb, sizeof lb);
    img = mk_images(0x803, 2, 28, 28, 2, 0, &li);
    fixture_put_bytes(P("i2"), img, li);
    CHECK(rcn_dataset_load(P("i2"), P("l-bad"), &ds, &err) == -1 &&
              contains(err.msg, "label 10 out of range 0..9 at item 1 (offset 9)"),
          "bad label via load: '%s'", err.msg);
    free(img);
}

static void test_real_mnist(void)
{
    const char *dir = "data/mnist";
    struct stat st;
    if (stat(dir, &st) != 0) {
        printf("real MNIST: skipped (no %s; run scripts/fetch-mnist.sh %s)\n", dir, dir);
        return;
    }
    char ip[1024], lp[1024];
    rcn_error err = {{0}};
    rcn_dataset tr, te;
    CHECK(rcn_dataset_resolve(dir, "train", ip, lp, sizeof ip, &err) == 0, "%s", err.msg);
    CHECK(rcn_dataset_load(ip, lp, &tr, &err) == 0, "%s", err.msg);
    CHECK(tr.n == 60000, "train n = %lld", (long long)tr.n);
    CHECK(tr.n > 0 && tr.labels[0] == 5, "first training label %d, want 5",
          tr.n > 0 ? tr.labels[0] : -1);
    rcn_dataset_free(&tr);
    CHECK(rcn_dataset_resolve(dir, "t10k", ip, lp, sizeof ip, &err) == 0, "%s", err.msg);
    CHECK(rcn_dataset_load(ip, lp, &te, &err) == 0, "%s", err.msg);
    CHECK(te.n == 10000, "test n = %lld", (long long)te.n);
    CHECK(te.n > 0 && te.labels[0] == 7, "first test label %d, want 7",
          te.n > 0 ? te.labels[0] : -1);
    rcn_dataset_free(&te);
    printf("real MNIST: checked\n");
}

int main(void)
{
    if (fixture_tmpdir_make("idx") != 0)
        return 2;
    test_roundtrip("");
    test_roundtrip(".gz");
    test_resolve();
    test_bad_files();
    test_dataset_errors();
    test_real_mnist();
    fixture_tmpdir_remove();
    return check_exit("test_idx");
}
