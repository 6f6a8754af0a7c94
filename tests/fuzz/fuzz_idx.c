/* fuzz_idx.c - libFuzzer target: the IDX reader (data.h), raw and gzip.
 *
 * Input: byte 0 chooses the mode, the rest is file content.
 *   bits 0-1: 0 images file, 1 labels file, 2/3 an images + labels pair
 *             (byte 1 = split point, in 1/256ths of the remaining bytes)
 *   bit 2:    gzip-compress the content before writing it, so the
 *             decompressing path sees every header mutation too (content
 *             that is already gzip, as in the .gz seeds, is read as such).
 * Properties beyond "no crash, no leak, no UB": a successful read returns
 * exactly the header's item count and side lengths, labels are 0..9, and a
 * loaded pair agrees on the count and is 28x28. */
#include <zlib.h>

#include "fuzz_common.h"
#include "rcn/data.h"

/* Writes content to path, gzip-compressed when gz. */
static void put(const char *path, const uint8_t *p, size_t n, int gz)
{
    if (!gz) {
        fuzz_write(path, p, n);
        return;
    }
    gzFile f = gzopen(path, "wb1");
    if (!f || (n && gzwrite(f, p, (unsigned)n) != (int)n) || gzclose(f) != Z_OK)
        abort();
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void idx_one(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    const int mode = data[0] & 3, gz = (data[0] >> 2) & 1;
    data++, size--;
    rcn_error err;
    if (mode == 0) {
        put("images", data, size, gz);
        uint8_t *px = NULL;
        int64_t n = -1;
        int rows = -1, cols = -1;
        if (rcn_idx_read_images("images", &px, &n, &rows, &cols, &err) == 0) {
            FUZZ_ASSERT(px != NULL && n >= 0 && rows >= 1 && cols >= 1, "n %lld %dx%d",
                        (long long)n, rows, cols);
            if (!gz && size >= 16 && !(data[0] == 0x1f && data[1] == 0x8b)) /* raw content */
                FUZZ_ASSERT((int64_t)be32(data + 4) == n && (int)be32(data + 8) == rows &&
                                (int)be32(data + 12) == cols &&
                                size == 16 + (size_t)n * (size_t)rows * (size_t)cols,
                            "raw images read does not match its header");
            /* touch every byte: ASan catches a short buffer */
            unsigned sum = 0;
            for (int64_t i = 0; i < n * rows * cols; i++)
                sum += px[i];
            (void)sum;
            free(px);
        } else {
            FUZZ_ASSERT_NAMES(err, "images");
        }
    } else if (mode == 1) {
        put("labels", data, size, gz);
        uint8_t *lb = NULL;
        int64_t n = -1;
        if (rcn_idx_read_labels("labels", &lb, &n, &err) == 0) {
            FUZZ_ASSERT(lb != NULL && n >= 0, "n %lld", (long long)n);
            for (int64_t i = 0; i < n; i++)
                FUZZ_ASSERT(lb[i] <= 9, "label %u at %lld", lb[i], (long long)i);
            free(lb);
        } else {
            FUZZ_ASSERT_NAMES(err, "labels");
        }
    } else {
        if (size < 1)
            return;
        size_t cut = (size_t)data[0] * (size - 1) / 256;
        data++, size--;
        put("pair-images", data, cut, gz);
        put("pair-labels", data + cut, size - cut, gz);
        rcn_dataset ds;
        if (rcn_dataset_load("pair-images", "pair-labels", &ds, &err) == 0) {
            FUZZ_ASSERT(ds.n >= 1 && ds.rows == 28 && ds.cols == 28, "n %lld %dx%d",
                        (long long)ds.n, ds.rows, ds.cols);
            unsigned sum = 0;
            for (int64_t i = 0; i < ds.n; i++) {
                FUZZ_ASSERT(ds.labels[i] <= 9, "label");
                sum += ds.images[i * 784] + ds.images[i * 784 + 783];
            }
            (void)sum;
            rcn_dataset_free(&ds);
        } else {
            FUZZ_ASSERT(ds.images == NULL && ds.labels == NULL && ds.n == 0,
                        "failed load left data behind");
            FUZZ_ASSERT_NAMES(err, "pair-");
        }
    }
}

FUZZ_TARGET("idx", NULL, idx_one)
