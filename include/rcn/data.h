/* data.h - IDX data sets (MNIST and its kin), subsets and k-fold splits.
 *
 * An rcn_dataset owns its arrays (images: n x rows x cols uint8, row-major;
 * labels: n uint8 in 0..9). Loading checks everything a file can get wrong:
 * magic number, element type, number of dimensions, sizes, file length
 * (truncated or trailing bytes), label range, and that the images and labels
 * files agree on the count. Files may be raw or gzip-compressed (.gz, by
 * content, not by name). Every error names the file and says what is wrong
 * and where (byte offset or field). */
#ifndef RCN_DATA_H
#define RCN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "rcn/error.h"

/* Refuse headers claiming more items than this before allocating. */
#define RCN_IDX_MAX_ITEMS 100000000LL

typedef struct {
    int64_t n;
    int rows, cols;
    uint8_t *images; /* n * rows * cols */
    uint8_t *labels; /* n */
} rcn_dataset;

/* Reads an idx3-ubyte image file. On success *pixels is malloc'ed (caller frees). */
int rcn_idx_read_images(const char *path, uint8_t **pixels, int64_t *n,
                        int *rows, int *cols, rcn_error *err);
/* Reads an idx1-ubyte label file; labels must be in 0..9. */
int rcn_idx_read_labels(const char *path, uint8_t **labels, int64_t *n,
                        rcn_error *err);
/* Writes an IDX file (raw, or gzip when path ends in .gz): for tests and tools.
 * dims has ndim entries; type 0x08. */
int rcn_idx_write(const char *path, const uint8_t *data, int ndim,
                  const int32_t *dims, rcn_error *err);

/* Loads images + labels, checks they agree and that images are 28x28. */
int rcn_dataset_load(const char *images_path, const char *labels_path,
                     rcn_dataset *ds, rcn_error *err);
void rcn_dataset_free(rcn_dataset *ds);

/* Finds "<dir>/<split>-images-idx3-ubyte" and "...-labels-idx1-ubyte", raw
 * or with ".gz"; split is "train" or "t10k". Paths written into the buffers
 * (cap bytes each). Error names the directory and what is missing. */
int rcn_dataset_resolve(const char *dir, const char *split, char *images_path,
                        char *labels_path, size_t cap, rcn_error *err);

/* Deterministic subset: writes into idx[0..limit) `limit` distinct indices of
 * 0..n-1 chosen by stream (seed, SUBSET), sorted ascending. limit <= n;
 * limit == n gives 0..n-1. */
void rcn_subset(int64_t n, int64_t limit, uint64_t seed, int32_t *idx);

/* k-fold assignment of n items: fold_of[i] in 0..k-1, from a permutation by
 * stream (seed, FOLDS): item perm[j] goes to fold j % k, so folds are
 * disjoint, cover everything and differ in size by at most one. */
void rcn_folds_assign(int64_t n, int k, uint64_t seed, int32_t *fold_of);

/* Splits positions 0..n-1 (mapped through base[] if base != NULL, so the
 * output holds dataset indices) into training (fold_of != fold) and
 * validation (fold_of == fold) index lists, in ascending order. */
void rcn_folds_split(const int32_t *fold_of, const int32_t *base, int64_t n,
                     int fold, int32_t *train_idx, int64_t *n_train,
                     int32_t *val_idx, int64_t *n_val);

/* Synthetic data (src/data/synth.c): n 28x28 images of 10 procedurally drawn
 * stroke shapes (ring, |, -, \, /, +, X, square, triangle, =), randomly
 * scaled, rotated, shifted by up to +-3 px, with random stroke width,
 * intensity and noise; labels uniformly random. Item i is a pure function
 * of (seed, stream, i), so a larger set extends a smaller one. Training and
 * test sets use different streams. */
#define RCN_SYNTH_STREAM_TRAIN 1
#define RCN_SYNTH_STREAM_TEST 2
int rcn_synth_dataset(int64_t n, uint64_t seed, uint64_t stream, rcn_dataset *ds,
                      rcn_error *err);
/* Creates dir (and parents) and writes train-{images-idx3,labels-idx1}-ubyte
 * (n_train items, stream TRAIN) and t10k-... (n_test items, stream TEST),
 * each with ".gz" (gzip) when gz != 0. */
int rcn_synth_write_dir(const char *dir, int64_t n_train, int64_t n_test, uint64_t seed,
                        int gz, rcn_error *err);

#endif
