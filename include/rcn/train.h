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

typedef struct {
    int n_epochs; /* epochs completed (== hparams.epochs unless diverged) */
    rcn_epoch_stats epochs[RCN_MAX_EPOCHS];
    int diverged;
    int diverged_epoch, diverged_batch; /* 1-based */
    double diverged_loss;               /* the offending batch mean loss */
    int aborted;                        /* poll hook asked to stop */
    double seconds;                     /* whole training incl. evaluation */
} rcn_train_result;

/* Optional hooks (any may be NULL). on_epoch runs after each epoch's
 * evaluation. poll runs between batches, of training and of the per-epoch
 * evaluation (cheap: e.g. an MPI_Iprobe on the coordinator rank); a
 * non-zero return aborts the training at once (res->aborted = 1), e.g. on
 * SIGTERM. */
typedef struct {
    void (*on_epoch)(const rcn_epoch_stats *st, void *ud);
    int (*poll)(void *ud);
    void *ud;
} rcn_train_hooks;

/* Trains `net` (already initialised) on `train`, evaluating on `val` after
 * every epoch when val != NULL && val->n > 0. hp->batch_size must be <=
 * the net's max batch. Divergence is a result (res->diverged), not an error;
 * errors are only bad arguments or allocation failure. Allocates only an
 * index buffer of train->n entries, once, before the first batch. */
int rcn_train(rcn_net *net, const rcn_split *train, const rcn_split *val,
              const rcn_hparams *hp, const rcn_train_hooks *hooks,
              rcn_train_result *res, rcn_error *err);

/* Eval-mode pass over `set`: returns the mean per-sample loss and writes
 * the accuracy in [0,1]. */
double rcn_evaluate(rcn_net *net, const rcn_split *set, double *accuracy);

#endif
