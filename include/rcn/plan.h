/* plan.h - a search's cells and folds as seen from its normalised job JSON
 * (the "job" of a report or journal header): what the report aggregation,
 * `rcn status` and `rcn report` need, without the data files or rcn_job.
 *
 * Cells are the row-major product of the swept axes in rcn_axis_id order
 * (the last swept axis varies fastest), as rcn_job_cell numbers them; a
 * cell's key is "axis=value,..." over the swept axes ("default" when none),
 * values spelled by rcn_num_text (job.h). */
#ifndef RCN_PLAN_H
#define RCN_PLAN_H

#include <jansson.h>

#include "rcn/error.h"
#include "rcn/job.h"

typedef struct {
    int index;
    int batch_size, epochs;
    double lr, momentum;
    int axis_index[RCN_NAXES]; /* position in each swept axis (0 when not swept) */
    char key[160];
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

/* "batch_size", "lr", "momentum", "epochs". */
const char *rcn_axis_name(int axis);

/* Builds the plan from a normalised job object; `where` names it in errors
 * (e.g. "results/x.journal.jsonl: line 1: job"). On error nothing to free. */
int rcn_plan_from_json(const json_t *job, const char *where, rcn_plan *p, rcn_error *err);
void rcn_plan_free(rcn_plan *p);
static inline int rcn_plan_total(const rcn_plan *p) { return p->n_cells * p->n_folds; }

#endif
