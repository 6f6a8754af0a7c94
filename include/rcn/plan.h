/* plan.h - a search's cells and folds, expanded from its normalised job JSON
 * (rcn_job.json, or the "job" of a report or journal header). The one
 * expansion of the grid: rcn_job_load builds its job's plan with
 * rcn_plan_from_json, and so do the readers of reports and journals, the
 * search's ranks and `rcn train --job`.
 *
 * Cells are the row-major product of the swept axes in rcn_axis_id order
 * (axes.h; the last swept axis varies fastest); a cell's key is
 * "axis=value,..." over the swept axes ("default" when none), values spelled
 * by rcn_num_text (job.h). */
#ifndef RCN_PLAN_H
#define RCN_PLAN_H

#include <jansson.h>

#include "rcn/axes.h"
#include "rcn/error.h"

typedef enum { RCN_VALID_KFOLD = 0, RCN_VALID_TEST = 1 } rcn_valid_kind;

typedef struct {
    int index;                 /* 0..n_cells-1 */
    int batch_size, epochs;
    double lr, momentum;
    int axis_index[RCN_NAXES]; /* position in each swept axis (0 when not swept) */
    char key[160];             /* e.g. "batch_size=256,lr=0.135" (swept axes only) */
    json_t *params;            /* {"batch_size", "lr", "momentum", "epochs"}, owned */
} rcn_plan_cell;

typedef struct {
    int n_cells;
    int n_folds;               /* K for kfold, 1 for test validation */
    rcn_valid_kind kind;
    int refit;
    json_t *axis_values[RCN_NAXES]; /* swept axes: array of values (owned ref); NULL if not swept */
    rcn_plan_cell *cells;
} rcn_plan;

/* Builds the plan from a normalised job object; `where` names it in errors
 * (e.g. "results/x.journal.jsonl: line 1: job"). On error nothing to free. */
int rcn_plan_from_json(const json_t *job, const char *where, rcn_plan *p, rcn_error *err);
void rcn_plan_free(rcn_plan *p);
static inline int rcn_plan_total(const rcn_plan *p) { return p->n_cells * p->n_folds; }

/* Cell c of the plan (0 <= c < n_cells, asserted). */
const rcn_plan_cell *rcn_plan_cell_at(const rcn_plan *p, int c);

/* The cell's value of axis a (batch_size, lr, momentum or epochs), and
 * setting it (integer axes truncate; neither touches key or params). */
double rcn_plan_cell_value(const rcn_plan_cell *cell, int a);
void rcn_plan_cell_set(rcn_plan_cell *cell, int a, double v);

#endif
