/* race.h - racing a grid by synchronous successive halving over rungs of
 * (epochs, folds), without MPI: the schedule (a job's "schedule" field),
 * the race state as a pure function of the fold results, its cost in
 * fold-epochs, and a dry-run plan.
 *
 * Schedule JSON (unknown keys are errors):
 *   {"kind": "grid"}        every cell on every fold for the job's epochs
 *                           (the default; one rung (E, K))
 *   {"kind": "halving",
 *    "eta":    integer >= 2, default 3: each rung keeps the best 1/eta,
 *    "first":  {"epochs": default 1, "folds": default 2}: the first rung,
 *    "growth": integer >= 2, default 2: each next rung multiplies the
 *              first's epochs and folds by growth (capped at E and K); a
 *              generated rung is dropped when its budget (epochs x folds) is
 *              over E*K/growth, so the final rung is at least growth times
 *              the one before it,
 *    "rungs":  [{"epochs", "folds"}, ...] explicit rungs instead of
 *              first/growth (with first/growth given too, "rungs" must be
 *              their expansion, as a normalised schedule writes it)}
 *   The last rung is always (E, K) (added to an explicit list that does not
 *   end with it). Rungs are non-decreasing in epochs and in folds and
 *   strictly growing in budget; epochs within 1..E, folds within 1..K.
 *   Halving needs k-fold validation (K >= 2) and a grid that does not sweep
 *   "epochs" (the rungs set the epochs).
 *
 * A rung (epochs e, folds f) trains every cell in it on folds 0..f-1 up to
 * epoch e, continuing a fold from the epoch an earlier rung left it at. Its
 * decision reads only those results: a cell with a fold that diverged by
 * epoch e (or whose val loss at e is not finite) leaves, unscored; the
 * others are scored by the mean val loss over folds 0..f-1 at epoch e
 * (summed in fold order) and the best max(1, ceil(n / eta)) of the n scored
 * go on, ties by cell index. The last rung keeps one cell: the winner. A
 * rung trains all its folds of every cell in it, a diverging one's too, so
 * the fold results, eliminations and winner do not depend on rank count,
 * timing, kill/resume or the order fold results arrive in. */
#ifndef RCN_RACE_H
#define RCN_RACE_H

#include <jansson.h>
#include <stdio.h>

#include "rcn/error.h"

#define RCN_MAX_RUNGS 32

typedef enum { RCN_SCHEDULE_GRID = 0, RCN_SCHEDULE_HALVING = 1 } rcn_schedule_kind;

typedef struct {
    int epochs, folds;
} rcn_rung;

typedef struct {
    rcn_schedule_kind kind;
    int eta;                     /* halving: >= 2; grid: 0 */
    int generated;               /* halving: the rungs come from first/growth */
    rcn_rung first;              /* when generated */
    int growth;                  /* when generated */
    int n_rungs;                 /* >= 1; grid: 1 */
    rcn_rung rungs[RCN_MAX_RUNGS]; /* the last is (job epochs, K) */
} rcn_schedule;

/* Parses and validates a schedule object (NULL or JSON null: the grid
 * default) for a job of job_epochs epochs, K = k folds (kfold != 0 for
 * k-fold validation), epochs_swept != 0 when the grid sweeps "epochs".
 * Errors read "WHERE: schedule.FIELD: reason" (the first error found). */
int rcn_schedule_from_json(const json_t *j, const char *where, int job_epochs, int k, int kfold,
                           int epochs_swept, rcn_schedule *s, rcn_error *err);
/* The normalised schedule (new ref): every field explicit, rungs expanded;
 * rcn_schedule_from_json of it gives the same schedule. */
json_t *rcn_schedule_to_json(const rcn_schedule *s);

/* Fold-epochs one cell trains in rung r, continuing each fold from the
 * epoch the earlier rungs left it at. */
long long rcn_schedule_rung_cost(const rcn_schedule *s, int r);

/* ---- dry-run plan (no divergence assumed) ---------------------------- */

typedef struct {
    int epochs, folds;
    int cells;                   /* cells entering the rung */
    int kept;                    /* going on (the last rung: 1, the winner) */
    long long fold_epochs;       /* trained in the rung, with continuation */
    long long checkpoints;       /* fold states saved for later rungs (0 in the last) */
    double core_hours;           /* NAN when no rates were given */
} rcn_plan_rung;

typedef struct {
    int n_rungs;
    rcn_plan_rung rungs[RCN_MAX_RUNGS];
    long long fold_epochs, exhaustive; /* exhaustive = n_cells * K * E */
    double fraction;
    long long peak_checkpoints;  /* most fold states held at once */
    double core_hours, exhaustive_core_hours; /* NAN without rates */
} rcn_schedule_plan;

/* Plans the schedule for n_cells cells, K = k folds, E = epochs (the
 * schedule's last rung). sec_per_fold_epoch: n_cells per-cell CPU seconds
 * per fold-epoch, or NULL. Rung 0's core-hours sum every cell's rate; later
 * rungs, whose survivors are not known yet, use the mean rate. */
void rcn_schedule_plan_compute(const rcn_schedule *s, int n_cells, int k, int epochs,
                               const double *sec_per_fold_epoch, rcn_schedule_plan *p);
/* Prints the plan as a table: per rung cells, kept, fold-epochs, checkpoints
 * (and core-hours with rates), then the total against the exhaustive grid
 * and the peak checkpoint disk at ckpt_bytes per fold state. */
void rcn_schedule_plan_print(FILE *f, const rcn_schedule *s, int n_cells, int k, int epochs,
                             double ckpt_bytes, const double *sec_per_fold_epoch);

/* ---- fold results ---------------------------------------------------- */

/* One fold's result as the race reads it. */
typedef struct {
    int cell, fold;
    int n_epochs;                /* val_loss[0..n_epochs-1] are epochs 1..n_epochs */
    double *val_loss;            /* NAN where not finite */
    int diverged_at;             /* 0: did not diverge; else the 1-based epoch it did */
} rcn_fold_record;

/* Reads journal or report fold objects ({"cell", "fold", "epochs": [{"epoch",
 * "val_loss"}, ...], "diverged": null | {"epoch"}, "status"}) into *recs
 * (malloc'ed; free with rcn_fold_records_free). A "diverged" status without
 * a "diverged" object counts as diverged at its last epoch. Cells must be
 * < n_cells and folds < k; errors name `where` and the fold's index in the
 * array. A continued fold's object must hold all its epochs from 1 (the
 * earlier rung's epochs followed by the new ones). */
int rcn_fold_records_from_json(const json_t *folds, const char *where, int n_cells, int k,
                               rcn_fold_record **recs, int *n_recs, rcn_error *err);
void rcn_fold_records_free(rcn_fold_record *recs, int n_recs);

/* ---- the race state -------------------------------------------------- */

typedef struct {
    int cell;
    double score;                /* NAN when diverged */
    int diverged;                /* a fold diverged by the rung's epoch */
    int kept;
} rcn_rung_cell;

typedef struct {
    int epochs, folds;
    int n_in;                    /* cells entering the rung */
    rcn_rung_cell *cells;        /* n_in: kept, then eliminated (each by score,
                                    then index), then diverged (by index) */
    int n_kept, n_eliminated, n_diverged;
    long long fold_epochs;       /* trained in the rung (a diverged fold up to
                                    its divergence, the others in full) */
} rcn_rung_result;

/* A fold job the current rung needs: train `cell` on `fold` from epoch
 * from_epoch (0: from scratch; else continue a saved state) to to_epoch. */
typedef struct {
    int cell, fold, from_epoch, to_epoch;
} rcn_fold_job;

typedef struct {
    int n_decided;               /* rungs complete and decided */
    rcn_rung_result *rungs;      /* [n_decided] */
    int current;                 /* the rung in progress; n_rungs when finished */
    int finished;
    int winner;                  /* the last rung's best; -1 if not finished or none */
    int n_alive;                 /* cells entering the current rung, ascending */
    int *alive;
    int n_jobs;                  /* fold jobs the current rung still needs, by */
    rcn_fold_job *jobs;          /* (cell, fold); none for cells already out */
    long long fold_epochs;       /* over the decided rungs */
    long long exhaustive;        /* n_cells * K * E */
} rcn_race;

/* The race state from the fold results so far (a pure function of them; a
 * record is read at each rung's epoch, whatever further it reaches; of two
 * records of one (cell, fold) the one reaching further counts). Errors: a
 * record out of range, no memory. Free with rcn_race_free. */
int rcn_race_eval(const rcn_schedule *s, int n_cells, int k, const rcn_fold_record *recs,
                  int n_recs, rcn_race *race, rcn_error *err);
void rcn_race_free(rcn_race *race);

/* The race as JSON (new ref): {"rungs": [{"epochs", "folds", "cells_in",
 * "kept", "eliminated", "diverged", "fold_epochs", "cells": [{"cell",
 * "score", "status": "kept" | "eliminated" | "diverged"}]}], "finished",
 * "winner", "fold_epochs", "exhaustive_fold_epochs", "fraction"}; "winner"
 * null when there is none. */
json_t *rcn_race_to_json(const rcn_race *race);

#endif
