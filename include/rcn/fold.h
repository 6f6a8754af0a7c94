/* fold.h - one fold job of a search: train a cell's hyperparameters on the
 * training part of a fold and validate on the rest (or on the test set).
 *
 * A fold's result is a pure function of (job, cell, fold): the training
 * set is the job's deterministic subset (rcn_subset, job seed), split by
 * rcn_folds_assign (job seed); the net is initialised from stream
 * (seed, INIT, fold) and trained with stream_a = fold. Test validation uses
 * fold 0; the refit (train on the whole subset, evaluate on the test set)
 * uses fold K. A runner caches one rcn_net per batch size (created once,
 * re-initialised per fold), so every fold of a given batch size runs on a
 * net of exactly that size, on whichever rank. */
#ifndef RCN_FOLD_H
#define RCN_FOLD_H

#include <stdint.h>

#include "rcn/data.h"
#include "rcn/error.h"
#include "rcn/job.h"
#include "rcn/net.h"
#include "rcn/plan.h"
#include "rcn/train.h"

/* What every rank needs to run any fold job of a search (plain data: sent
 * from rank 0 to the others as bytes; ranks are assumed homogeneous). */
typedef struct {
    rcn_arch arch;
    double weight_decay, diverge_threshold;
    uint64_t seed;
    int threads;
    int kind;            /* rcn_valid_kind */
    int folds;           /* K; 1 for test validation */
    int n_cells;
    int64_t train_limit; /* 0: the whole training set */
    char job_hash[32];   /* identity of the job's checkpoints */
    char ckpt_dir[RCN_PATH_MAX]; /* "": no checkpoints (see checkpoint.h) */
} rcn_fold_spec;

/* Fills a spec from a loaded job; ckpt_dir is the report's (checkpoint.h:
 * rcn_ckpt_dir_for_report), which rank 0 creates. */
void rcn_fold_spec_from_job(const rcn_job *job, rcn_fold_spec *spec);

typedef struct rcn_fold_runner rcn_fold_runner;

/* `cells` (spec->n_cells entries, a plan's: plan.h), `train` and `test` (may be NULL when
 * neither test validation nor refit runs here) stay owned by the caller
 * and must outlive the runner. */
rcn_fold_runner *rcn_fold_runner_create(const rcn_fold_spec *spec, const rcn_plan_cell *cells,
                                        const rcn_dataset *train, const rcn_dataset *test,
                                        rcn_error *err);
void rcn_fold_runner_destroy(rcn_fold_runner *r);

/* Images the fold trains on (for cost estimates). fold == K: the refit. */
int64_t rcn_fold_train_size(const rcn_fold_runner *r, int fold);

/* The most epochs of any cell: the capacity a result of any fold needs. */
int rcn_fold_max_epochs(const rcn_fold_runner *r);

/* Runs fold `fold` (0..K-1; K = the refit on the whole subset, evaluated on
 * the test set; test validation: 0) of `cell` to epoch `epochs` (1..the
 * cell's epochs; fewer: a rung of a racing schedule). With a checkpoint
 * directory, a checkpoint of (cell, fold) at epoch e <= epochs is continued
 * from (res->first_epoch == e + 1), and one is saved after every epoch
 * short of the cell's epochs (so a fold can be continued after an
 * interruption or to more epochs); the caller removes it once the fold's
 * final result is safe. res->aborted when the poll hook stopped it. Errors:
 * allocation failures, bad arguments, or a checkpoint that cannot be read,
 * is of another training or beyond `epochs` (one that cannot be written is
 * not an error: see rcn_fold_runner_take_warning). */
int rcn_fold_run(rcn_fold_runner *r, int cell, int fold, int epochs,
                 const rcn_train_hooks *hooks, rcn_train_result *res, rcn_error *err);

/* The net of the last rcn_fold_run (its trained weights), or NULL. */
rcn_net *rcn_fold_runner_last_net(rcn_fold_runner *r);

/* A checkpoint that could not be written (e.g. a full disk) is not an
 * error: the fold trains on, and only an interruption would cost more.
 * Copies the reason of the last such failure into buf and returns 1 (then
 * forgets it), or returns 0 when every checkpoint was saved. */
int rcn_fold_runner_take_warning(rcn_fold_runner *r, char *buf, size_t cap);

#endif
