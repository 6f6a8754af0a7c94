/* view.h - reading a search report (or the journal of a running search)
 * into typed, validated records, and showing it: the paper's tables as
 * aligned text or Markdown, its figures as gnuplot scripts + data + images.
 * Used by `rcn report`; the report format is the contract in report.h.
 *
 * Null numbers (JSON null: diverged, incomplete, not finite) are NAN in
 * these records; every printer and plotter handles NAN. Accuracies are
 * fractions in [0,1] as in the report; they are shown as percentages.
 *
 * Ownership: rcn_view_load / rcn_view_from_json return a report owned by the
 * caller, released with rcn_view_free. Nothing else allocates for the caller. */
#ifndef RCN_VIEW_H
#define RCN_VIEW_H

#include <jansson.h>
#include <stdio.h>

#include "rcn/axes.h"
#include "rcn/error.h"

/* Axes (batch_size, lr, momentum, epochs) are indexed by rcn_axis_id (axes.h). */
typedef struct {
    double v[RCN_NAXES]; /* indexed by rcn_axis_id */
} rcn_view_params;

typedef struct {
    int epoch; /* 1-based */
    double train_loss, train_acc, val_loss, val_acc, seconds, images_per_second;
} rcn_view_epoch;

typedef struct {
    int cell, fold;
    char key[160];
    rcn_view_params params;
    int diverged;                 /* 0/1 */
    int div_epoch, div_batch;     /* when diverged */
    double div_loss;              /* NAN: not finite */
    int n_epochs;
    rcn_view_epoch *epochs;       /* owned by the report */
    double train_loss, train_acc, val_loss, val_acc, seconds;
} rcn_view_fold;

typedef enum {
    RCN_VIEW_OK = 0,
    RCN_VIEW_DIVERGED,
    RCN_VIEW_INCOMPLETE,
    RCN_VIEW_ELIMINATED           /* a racing search left it out at a rung */
} rcn_view_cell_status;

/* A cell's place in a race (report "cells[].race"); NONE: not racing. */
typedef enum {
    RCN_VIEW_RACE_NONE = 0,
    RCN_VIEW_RACE_RACING,
    RCN_VIEW_RACE_COMPLETE,
    RCN_VIEW_RACE_ELIMINATED,
    RCN_VIEW_RACE_DIVERGED
} rcn_view_race_status;

typedef struct {
    int index;
    char key[160];
    rcn_view_params params;
    rcn_view_cell_status status;
    int n_folds, n_folds_done, n_diverged;
    double mean_train_loss, std_train_loss, mean_val_loss, std_val_loss;
    double mean_val_acc, mean_fit_time;
    int rank;                     /* rank_val_loss; 0 when null */
    int first_fold, n_fold_recs;  /* its folds: report->folds[first_fold ..] */
    rcn_view_race_status race;    /* racing reports only */
    int race_rung;                /* the last rung it entered */
    int race_epochs, race_folds;  /* its score's rung; 0: not scored yet */
    double race_score;
} rcn_view_cell;

typedef enum {
    RCN_VIEW_ROW_OK = 0,
    RCN_VIEW_ROW_DIVERGENCE,
    RCN_VIEW_ROW_INCOMPLETE,
    RCN_VIEW_ROW_ELIMINATED       /* a race: none of the row's cells is left */
} rcn_view_row_status;

typedef struct {
    double value;
    double mean_train_loss, mean_val_loss; /* a rung's table: mean score, train NAN */
    int n_cells, n_included, n_diverged;
    int n_eliminated, n_kept;     /* races: Table 2 / a rung's table; else 0 */
    rcn_view_row_status status;
} rcn_view_mrow;

typedef struct {
    int n_rows;                   /* 0: no marginal for this axis */
    rcn_view_mrow *rows;
} rcn_view_marginal;

#define RCN_VIEW_MAX_RUNGS 32

/* A decided rung of a race (report "race.rungs[]"). */
typedef struct {
    int epochs, folds, cells_in, kept, eliminated, diverged;
    long long fold_epochs;
    char rule[256];
    rcn_view_marginal marginals[RCN_NAXES]; /* Table 2 of the rung's scores */
} rcn_view_rung;

/* A racing search (job.schedule kind "halving"; report "race"). */
typedef struct {
    int eta;
    int n_planned;                /* the schedule's rungs */
    int planned_epochs[RCN_VIEW_MAX_RUNGS], planned_folds[RCN_VIEW_MAX_RUNGS];
    int n_rungs;                  /* decided */
    rcn_view_rung *rungs;
    int finished, current, n_alive;
    int winner;                   /* cell index, -1: none */
    long long fold_epochs, exhaustive; /* trained so far (meta) */
    double budget_fraction;
    char rule[600];
} rcn_view_race;

typedef struct {
    char source[4096];            /* the file read */
    int from_journal;             /* 1: aggregated from a journal (partial) */
    char name[128];               /* job name */
    char status[16];              /* "complete" | "incomplete" | "interrupted" */
    int folds_done, folds_total, ranks;
    double wall_seconds;          /* NAN when unknown */
    char loss_convention[80];
    int kind_test;                /* 1: {"kind": "test"}, val_* are test numbers */
    int k;                        /* folds per cell */
    int n_values[RCN_NAXES]; /* swept axes: number of values, 0: not swept */
    double *values[RCN_NAXES];
    int n_folds;
    rcn_view_fold *folds;         /* sorted by (cell, fold) */
    int n_cells;
    rcn_view_cell *cells;         /* sorted by index */
    rcn_view_marginal marginals[RCN_NAXES];
    int best;                     /* index into cells[], -1: none */
    int has_refit;
    rcn_view_params refit_params;
    int refit_n_epochs;
    rcn_view_epoch *refit_epochs;
    double test_loss, test_acc, refit_seconds;
    char refit_model[4096];
    int has_race;                 /* 1: a racing search; `race` is set */
    rcn_view_race race;
} rcn_view_report;

/* Reads `path`: a report (JSON object with meta.format "rcn-report",
 * format_version 1) or a journal ("rcn-journal" JSON lines, possibly of a
 * search still running: a torn last line is ignored). When `path` does not
 * exist but "<path without .json>.journal.jsonl" does, reads that. A
 * journal is aggregated by rcn_report_from_folds (report.h). Errors
 * name the file and the JSON path / line and the reason. */
int rcn_view_load(const char *path, rcn_view_report **out, rcn_error *err);

/* Validates a report object; `where` (a file name) prefixes errors. */
int rcn_view_from_json(const json_t *report, const char *where, rcn_view_report **out,
                       rcn_error *err);

void rcn_view_free(rcn_view_report *r);

/* Shortest decimal spelling of an axis value ("0.135", "256"). */
void rcn_view_fmt_value(double v, char *buf, size_t n);
/* "batch_size=32,lr=0.1" spelled from the swept axes, or "defaults". */
void rcn_view_cell_label(const rcn_view_report *r, const rcn_view_cell *c, char *buf, size_t n);

/* ---- tables ---------------------------------------------------------- */

typedef struct {
    int markdown; /* 0: aligned text, 1: GitHub Markdown */
    int top;      /* cells shown in the cell table; 0: all */
} rcn_view_table_opts;

/* Prints the summary, Table 2 (marginals; batch size first), the cell
 * table by rank, the best cell and the refit; for {"kind": "test"}, Table 1
 * (per epoch) of each cell. A racing report's summary says how the winner
 * was chosen (schedule, cells per rung, fold-epochs against the exhaustive
 * grid), its Table 2 is over the complete cells, and the rung table and
 * each rung's Table 2 (mean score per value) follow the marginals. */
int rcn_view_print(FILE *f, const rcn_view_report *r, const rcn_view_table_opts *o,
                   rcn_error *err);

/* A table of strings rendered as aligned text or Markdown (texttable.c). */
typedef struct rcn_texttable rcn_texttable;
/* `align`: one char per column, 'l' or 'r'. */
rcn_texttable *rcn_texttable_create(int ncols, const char *const *headers, const char *align);
void rcn_texttable_add(rcn_texttable *t, const char *const *cells); /* ncols strings, copied */
int rcn_texttable_rows(const rcn_texttable *t);
void rcn_texttable_print(FILE *f, const rcn_texttable *t, int markdown);
void rcn_texttable_destroy(rcn_texttable *t);

/* The cells in display order: ranked ones by rank, then the rest by
 * status and index. A malloc'd array the caller frees; NULL: no memory. */
const rcn_view_cell **rcn_view_cells_by_rank(const rcn_view_report *r);

/* ---- plots ----------------------------------------------------------- */

/* Writes into `dir` (created if missing) the data (.dat), one gnuplot
 * script per figure (.gp, re-runnable with `gnuplot NAME.gp` in dir) and
 * plots.gp loading them all, then runs `gnuplot plots.gp` in dir, which
 * draws NAME.png (pngcairo) and NAME.svg for every figure:
 *   cell_NNN        learning curves of each cell (loss; accuracy below)
 *   sweep_AXIS      one curve per value, when exactly one axis is swept
 *   lr_GROUP        mean train/val loss against learning rate per batch
 *                   size (Figure 20), diverged cells marked
 *   heatmap[_GROUP] mean val loss over batch size x learning rate (a
 *                   race's eliminated cells pale, labelled "rN": out at rung N)
 * `gnuplot` is the program to run (NULL: $RCN_GNUPLOT, else "gnuplot" on
 * PATH). When it is missing, the data and scripts are still written and
 * the error says so. *n_figures (if not NULL) gets the number of figures. */
int rcn_view_plot(const rcn_view_report *r, const char *dir, const char *gnuplot,
                  int *n_figures, rcn_error *err);

/* Runs `gnuplot script` with `dir` as working directory; stderr goes to
 * dir/gnuplot.log, whose first lines the error quotes on failure. */
int rcn_view_run_gnuplot(const char *gnuplot, const char *dir, const char *script,
                         rcn_error *err);

/* ---- CSV ------------------------------------------------------------ */

/* Writes the report as CSV. per_fold 0: one row per cell in scikit-learn's
 * cv_results_ columns (mean_fit_time, std_fit_time, param_<axis> for every
 * axis, params (the cell key), split<i>_test_score, mean_test_score,
 * std_test_score, rank_test_score, split<i>_train_score, mean_train_score,
 * std_train_score; a score is the negated loss, as scoring="neg_log_loss"),
 * then rcn's own columns (cell, status, n_folds_done, n_diverged, the mean
 * and std losses, mean_val_accuracy). per_fold 1: one row per fold and
 * epoch (cell, fold, epoch, param_*, params, train/val loss and accuracy,
 * epoch_seconds, images_per_second, fold_diverged, fold_fit_time). Null
 * numbers are empty fields; numbers are spelled shortest-exact. */
int rcn_view_csv(FILE *f, const rcn_view_report *r, int per_fold, rcn_error *err);

/* ---- web page ------------------------------------------------------- */

typedef struct {
    int top;             /* cells in the cell table; 0: all */
    int refresh_seconds; /* a report not complete reloads this often; 0: never */
    int best_curves;     /* learning curves shown of the best cells */
    const char *gnuplot; /* as rcn_view_plot's; NULL: default */
} rcn_view_html_opts;

/* Writes dir/index.html (dir created if missing): one self-contained page
 * with the summary, progress (a report not complete says so and reloads
 * itself), a race's rungs when the report has a top-level "race", the
 * marginal tables (Table 2: <table id="table2">), the cells by rank with
 * their per-fold spread, the best cell and refit, and the figures of
 * rcn_view_plot drawn into dir/figures/ (heatmaps, Figure 20 per group,
 * the best cells' learning curves) as <img> of their SVG. When figures
 * cannot be drawn the page is still written, says so, and -1 is returned
 * with the reason. `o` NULL: all cells, 30 s, 6 curves, default gnuplot. */
int rcn_view_html(const rcn_view_report *r, const char *dir, const rcn_view_html_opts *o,
                  rcn_error *err);

#endif
