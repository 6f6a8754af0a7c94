/* netfile.h - save and load a network as a safetensors file (the format of
 * include/rcn/safetensors.h): tensor names and shapes as PyTorch's
 * state_dict of MODEL.md's structure.
 *
 * The header's __metadata__ (string values only, per the format) holds
 * "format": "rcn", "arch": the rcn_arch JSON, "pixel_mean"/"pixel_std",
 * plus whatever string pairs the caller adds. */
#ifndef RCN_NETFILE_H
#define RCN_NETFILE_H

#include <jansson.h>

#include "rcn/error.h"
#include "rcn/net.h"

/* Writes atomically (temp file + rename). `extra` (may be NULL) is an object
 * of extra metadata; non-string values are stored JSON-encoded. */
int rcn_safetensors_save(const char *path, rcn_net *net, const json_t *extra,
                         rcn_error *err);

/* Reads a file written by rcn (or any safetensors file with the right
 * names, shapes and an "arch" metadata entry), builds a net for batches up
 * to max_batch and loads every tensor. *metadata (if not NULL) receives a
 * new reference to the __metadata__ object. Every byte of the header is
 * checked: offsets, sizes, dtypes, shapes, names. */
rcn_net *rcn_safetensors_load(const char *path, int max_batch,
                              json_t **metadata, rcn_error *err);

#endif
