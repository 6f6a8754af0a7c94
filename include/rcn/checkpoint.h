/* checkpoint.h - a training's full state after an epoch, on disk, so that
 * a fold can be continued later (after an interruption, or to more epochs)
 * on any rank with a bit-identical outcome.
 *
 * A checkpoint holds the network's parameters, SGD momentum and BatchNorm
 * running statistics, the epochs reached and their stats (rcn_train_result),
 * and the identity of the training: job hash, cell, fold, batch size and
 * parameter count, all checked on load. The rest of the state is derived:
 * the random streams are keyed by (seed, fold, epoch[, batch]) (train.h).
 *
 * Format (native byte order; ranks are assumed homogeneous): a header
 * (magic "RCNCKPT1", identity, n_epochs, n_params, n_buffers, seconds,
 * CRC-32 of the body), then the body: n_epochs rcn_epoch_stats, n_params
 * floats of parameters, n_params of momentum, n_buffers of running
 * statistics. Written atomically (fileio.h): a reader sees the previous
 * checkpoint or the new one. */
#ifndef RCN_CHECKPOINT_H
#define RCN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "rcn/error.h"
#include "rcn/net.h"
#include "rcn/train.h"

/* What a checkpoint belongs to. */
typedef struct {
    char job_hash[32]; /* rcn_job.hash */
    int cell, fold, batch_size;
    int64_t n_params;  /* rcn_net_num_params */
} rcn_ckpt_id;

/* rcn_ckpt_load's outcome when there is no file at the path. */
#define RCN_CKPT_NONE 1

/* Bytes of the checkpoint of a net with n_params parameters and n_buffers
 * running-statistic floats after n_epochs epochs. */
size_t rcn_ckpt_bytes(size_t n_params, size_t n_buffers, int n_epochs);
/* The same for a network of architecture `a` (for planners: the disk one
 * fold in flight needs; a grid holds at most one per fold in flight). */
size_t rcn_ckpt_arch_bytes(const rcn_arch *a, int n_epochs);

/* Writes net's state and res's epochs (res->n_epochs >= 1, not diverged)
 * to `path` atomically. */
int rcn_ckpt_save(const char *path, const rcn_ckpt_id *id, rcn_net *net,
                  const rcn_train_result *res, rcn_error *err);

/* Restores a checkpoint into `net` (of the checkpoint's architecture: same
 * parameter and buffer counts) and `res` (cleared, then n_epochs, epochs,
 * seconds). Returns 0, RCN_CKPT_NONE when `path` does not exist (net and
 * res untouched), or -1 when the file is unreadable, damaged, of another
 * training (the error names the file and the field that differs) or holds
 * more epochs than res->cap_epochs. */
int rcn_ckpt_load(const char *path, const rcn_ckpt_id *id, rcn_net *net,
                  rcn_train_result *res, rcn_error *err);

/* The epochs a checkpoint file holds, from its header (no full check):
 * 0 with *n_epochs, or -1 when there is none or it is not a checkpoint. */
int rcn_ckpt_peek_epochs(const char *path, int *n_epochs);

/* A search's checkpoint directory: "<report without .json>.ckpt". */
void rcn_ckpt_dir_for_report(const char *report, char *buf, size_t cap);
/* The checkpoint of (cell, fold) in `dir`: "<dir>/cell<cell>-fold<fold>.ckpt". */
void rcn_ckpt_path(const char *dir, int cell, int fold, char *buf, size_t cap);
/* Creates `dir` if missing. */
int rcn_ckpt_dir_create(const char *dir, rcn_error *err);
/* Removes (cell, fold)'s checkpoint; no file is not an error. */
int rcn_ckpt_remove(const char *dir, int cell, int fold, rcn_error *err);
/* Removes the checkpoints (and temporary files of interrupted writes) in
 * `dir`, then the directory; a missing directory is not an error. */
int rcn_ckpt_dir_remove(const char *dir, rcn_error *err);

#endif
