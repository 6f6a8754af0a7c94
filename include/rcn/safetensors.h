/* safetensors.h - the safetensors format (8-byte LE header length, JSON
 * header, raw LE float32 data): writing and reading named float32 tensors
 * with their string __metadata__ (rcn dump, tests). Networks are saved and
 * loaded on top of it (include/rcn/netfile.h). */
#ifndef RCN_SAFETENSORS_H
#define RCN_SAFETENSORS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rcn/error.h"

#define RCN_ST_MAX_DIMS 8

typedef struct {
    const char *name;
    int ndim;                    /* 0..RCN_ST_MAX_DIMS */
    int64_t shape[RCN_ST_MAX_DIMS];
    const float *data;           /* numel floats, host order */
} rcn_st_tensor;

/* Writes tensors t[0..n) atomically, in that order, with `metadata` (may
 * be NULL; an object whose non-string values are stored JSON-encoded) as
 * __metadata__. Names must be unique, non-empty and not "__metadata__". */
int rcn_safetensors_write(const char *path, const rcn_st_tensor *t, int n,
                          const json_t *metadata, rcn_error *err);

/* A safetensors file read and checked (F32 tensors only). Owns all its
 * memory; free with rcn_st_file_free. */
typedef struct {
    char *name;
    int ndim;
    int64_t shape[RCN_ST_MAX_DIMS];
    size_t numel;
    float *data;                 /* numel floats, decoded from LE */
} rcn_st_entry;

typedef struct {
    int n;
    rcn_st_entry *t;             /* in the header's order */
    json_t *metadata;            /* the __metadata__ object, or NULL if absent */
} rcn_st_file;

/* Reads and validates the whole file: header length against the file size
 * (before allocating), JSON syntax, every entry's keys, dtype "F32", shape,
 * data_offsets (in range, sized numel*4, contiguous, non-overlapping,
 * covering the data exactly), __metadata__ string values. */
int rcn_safetensors_read(const char *path, rcn_st_file *f, rcn_error *err);
void rcn_st_file_free(rcn_st_file *f);
/* Index of the tensor named `name`, or -1. */
int rcn_st_file_find(const rcn_st_file *f, const char *name);
/* A shape as "[16, 1, 3, 3]" in buf (truncated to cap); returns buf. */
const char *rcn_st_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape);

#endif
