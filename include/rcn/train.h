/* train.h - the training loop: epochs of shuffled mini-batches, SGD,
 * evaluation after every epoch, divergence detection.
 *
 * A training is a pure function of (net's initial weights, data, hparams):
 * the epoch order comes from stream (seed, SHUFFLE, stream_a, epoch) and the
 * dropout masks from (seed, DROPOUT, stream_a, epoch << 32 | batch). */
#ifndef RCN_TRAIN_H
#define RCN_TRAIN_H

#include <stdint.h>

#include "rcn/error.h"
#include "rcn/net.h"

#define RCN_MAX_EPOCHS 1000

typedef struct {
    int batch_size;
    int epochs;
    double lr, momentum, weight_decay;
    double diverge_threshold; /* a batch loss above this (or non-finite) diverges */
    uint64_t seed;
    uint64_t stream_a;        /* fold coordinate of the random streams */
} rcn_hparams;

/* A set of samples: indices into a dataset's image/label arrays. */
typedef struct {
    const uint8_t *images; /* 784 bytes per sample of the whole dataset */
    const uint8_t *labels;
    const int32_t *idx;
    int64_t n;
} rcn_split;

typedef struct {
    int epoch; /* 1-based */
    double train_loss, train_accuracy; /* mean per sample, as trained */
    double val_loss, val_accuracy;     /* eval mode; NAN when no val set */
    double seconds, images_per_second; /* training part of the epoch */
    /* The paper's Table 1 convention: the SUM over batches of each batch's
     * mean loss (evaluation batches are the training batch size). */
    double train_loss_batch_sum, val_loss_batch_sum;
} rcn_epoch_stats;

/* A training's outcome. epochs points at cap_epochs entries allocated once
 * by the result's owner (rcn_train_result_create), of which the first
 * n_epochs are valid; rcn_train never allocates them. */
typedef struct {
    int n_epochs;             /* epochs completed (== hparams.epochs unless diverged) */
    int cap_epochs;           /* entries at epochs */
    rcn_epoch_stats *epochs;  /* epochs[i]: epoch i + 1 */
    int first_epoch;          /* first epoch trained by this call (> 1: continued) */
    int diverged;
    int diverged_epoch, diverged_batch; /* 1-based */
    double diverged_loss;               /* the offending batch mean loss */
    int aborted;                        /* poll hook asked to stop */
    double seconds;                     /* whole training incl. evaluation */
    double seconds_before;              /* of those, what a continued training's earlier
                                         * runs took (0 when trained from scratch) */
} rcn_train_result;

/* A result with room for cap_epochs epochs (1..RCN_MAX_EPOCHS); NULL with
 * *err on a bad capacity or out of memory. */
rcn_train_result *rcn_train_result_create(int cap_epochs, rcn_error *err);
void rcn_train_result_free(rcn_train_result *res);
/* Empties `res` (no epochs, no outcome), keeping its storage. */
void rcn_train_result_clear(rcn_train_result *res);
/* Copies src's outcome and epochs into dst (dst->cap_epochs >= src->n_epochs). */
void rcn_train_result_copy(rcn_train_result *dst, const rcn_train_result *src);

/* Where a training's process CPU time goes (rcn bench --fold), in CPU
 * seconds (CLOCK_PROCESS_CPUTIME_ID), accumulated over the epochs of the
 * calls it is passed to (the caller zeroes it). Costs a few clock reads
 * per batch; nothing is timed when no profile is asked for. */
typedef struct {
    double total;       /* the whole rcn_train / rcn_train_continue call */
    double shuffle;     /* each epoch's order: copy and shuffle */
    double train_load;  /* training batch assembly (rcn_net_load_batch) */
    double train_step;  /* forward, backward, SGD step */
    double val_load;    /* validation batch assembly */
    double val_forward; /* validation eval-mode forward passes */
    /* total less the above: per-epoch bookkeeping (the order buffer,
     * statistics, the poll / on_epoch / after_epoch hooks) */
    int64_t train_images, val_images; /* summed over the epochs */
    int64_t train_batches, val_batches;
} rcn_train_profile;

/* The part of p->total that none of its named parts covers. */
double rcn_train_profile_rest(const rcn_train_profile *p);

/* Optional hooks (any may be NULL). on_epoch runs after each epoch's
 * evaluation; after_epoch then (with its own user data), with the net and
 * the result so far, e.g. to checkpoint them: a non-zero return (err set)
 * ends the training with that error. poll runs between batches, of training and of the per-epoch
 * evaluation (cheap: e.g. an MPI_Iprobe on the coordinator rank); a
 * non-zero return aborts the training at once (res->aborted = 1), e.g. on
 * SIGTERM. */
typedef struct {
    void (*on_epoch)(const rcn_epoch_stats *st, void *ud);
    int (*poll)(void *ud);
    void *ud;
    int (*after_epoch)(rcn_net *net, const rcn_train_result *res, void *after_ud,
                       rcn_error *err);
    void *after_ud;
    rcn_train_profile *profile; /* where the time goes, when not NULL */
} rcn_train_hooks;

/* Trains `net` (already initialised) on `train`, evaluating on `val` after
 * every epoch when val != NULL && val->n > 0. hp->batch_size must be <=
 * the net's max batch, hp->epochs <= res->cap_epochs. Divergence is a
 * result (res->diverged), not an error; errors are only bad arguments,
 * allocation failure or the after_epoch hook's. Allocates only an index
 * buffer of train->n entries, once, before the first batch. */
int rcn_train(rcn_net *net, const rcn_split *train, const rcn_split *val,
              const rcn_hparams *hp, const rcn_train_hooks *hooks,
              rcn_train_result *res, rcn_error *err);

/* Continues a training of which epochs 1..res->n_epochs ran already: `net`
 * holds the state they left (weights, momentum, running statistics; see
 * checkpoint.h) and res their stats. Trains epochs n_epochs+1..hp->epochs
 * with the same per-epoch streams, so the outcome is bit-identical to one
 * uninterrupted rcn_train (timings apart; res->seconds counts this call
 * plus the seconds res held). res->n_epochs == hp->epochs trains nothing. */
int rcn_train_continue(rcn_net *net, const rcn_split *train, const rcn_split *val,
                       const rcn_hparams *hp, const rcn_train_hooks *hooks,
                       rcn_train_result *res, rcn_error *err);

/* Eval-mode pass over `set`: returns the mean per-sample loss and writes
 * the accuracy in [0,1]. */
double rcn_evaluate(rcn_net *net, const rcn_split *set, double *accuracy);

/* How fast this machine runs `a` at batch size `batch` (src/train/rate.c):
 * images per CPU second of SGD steps and of eval-mode passes, each timed
 * for at least min_seconds on synthetic images. For plans; rcn bench is
 * the benchmark. */
int rcn_measure_rates(const rcn_arch *a, int batch, double min_seconds, double *train_ips,
                      double *eval_ips, rcn_error *err);

#endif
