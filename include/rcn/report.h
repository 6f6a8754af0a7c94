/* report.h - the search report (JSON) and its journal: the contract between
 * `rcn search` (writer), `rcn status` and `rcn report` (readers).
 *
 * Report: one JSON object, written atomically, top-level keys in this order:
 *  "meta":  {"format": "rcn-report", "format_version": 1, "rcn_version",
 *            "git_revision", "job_hash", "ranks", "hosts": [..], "started",
 *            "finished" (ISO-8601 UTC), "wall_seconds", "fold_jobs_per_second",
 *            "status": "complete" | "incomplete" | "interrupted",
 *            "folds_done", "folds_total", "loss_convention":
 *            "mean per-sample cross-entropy"}
 *  "job":   the normalised job (every field explicit, ranges expanded kept as
 *           given plus "values")
 *  "folds": [{"cell", "key", "params": {"batch_size", "lr", "momentum",
 *            "epochs"}, "fold", "status": "ok" | "diverged",
 *            "epochs": [{"epoch", "train_loss", "train_accuracy", "val_loss",
 *                        "val_accuracy", "seconds", "images_per_second"}],
 *            "train_loss", "train_accuracy", "val_loss", "val_accuracy" (final
 *            epoch; null when diverged), "diverged": null | {"epoch",
 *            "batch", "loss" (null if not finite)}, "seconds"}]
 *           sorted by (cell, fold). For {"kind": "test"} validation there is
 *           one fold (0) per cell and val_* are test-set numbers.
 *  "cells": [{"index", "key", "params", "status": "ok" | "diverged" |
 *            "incomplete", "n_folds", "n_folds_done", "n_diverged",
 *            "mean_train_loss", "std_train_loss", "mean_val_loss",
 *            "std_val_loss", "mean_val_accuracy", "mean_fit_time",
 *            "rank_val_loss" (1 = best; null if diverged/incomplete),
 *            "split0_val_loss", "split1_val_loss", ...}]
 *           A cell with any diverged fold is "diverged": its means are null.
 *  "marginals": {"<axis>": [{"value", "mean_train_loss", "mean_val_loss",
 *            "n_cells", "n_included", "n_diverged", "status": "ok" |
 *            "Divergence" | "incomplete"}]} for every swept axis;
 *           means over the row's non-diverged complete cells; "Divergence"
 *           when more than half of the row's cells diverged (the paper's
 *           Table 2 is marginals.batch_size).
 *  "best":  null | {"cell", "key", "params", "mean_val_loss",
 *            "mean_val_accuracy"} (lowest mean_val_loss among "ok" cells)
 *  "refit": null | {"params", "epochs": [...], "test_loss", "test_accuracy",
 *            "model": path of the .safetensors, "seconds"}
 * JSON has no NaN/Inf: such numbers are written as null, with a status field
 * saying why; every reader accepts null wherever a number may be.
 *
 * Journal ("<report>.journal.jsonl"): append-only, one JSON object per line,
 * each line written with a single write() and fsync'ed:
 *   {"type": "header", "format": "rcn-journal", "job_hash", "job", "created"}
 *   {"type": "fold", ...the fold object above...}
 * A torn last line (no newline / unparsable) is ignored on read. */
#ifndef RCN_REPORT_H
#define RCN_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "rcn/error.h"
#include "rcn/plan.h"
#include "rcn/train.h"

/* The per-epoch array of a training ("epochs" of a fold or of the refit;
 * each entry rcn_epoch_to_json of train_json.h). */
json_t *rcn_epochs_to_json(const rcn_train_result *res);

/* The fold object of the report's "folds" (and of a journal fold line) for
 * a finished (not aborted) training of `cell` on fold `fold`. A training
 * that ended with a non-finite validation loss without tripping the
 * divergence test is reported as diverged at its last epoch (batch null). */
json_t *rcn_fold_to_json(const rcn_plan_cell *cell, int fold, const rcn_train_result *res);

/* Aggregates fold objects (any order; duplicates of a (cell, fold) after the
 * first are ignored) of the job `job` (the normalised job object, as in a
 * journal header) into a whole report: folds sorted, cells, marginals,
 * best, "refit": null (set it afterwards). `meta` (may be NULL) supplies
 * the run's meta fields (rcn_version, git_revision, job_hash, ranks, hosts,
 * started, finished, wall_seconds, fold_jobs_per_second, status); missing
 * ones are null, except rcn_version/git_revision (this binary's) and status
 * ("complete" when every fold is done, else "incomplete"); folds_done and
 * folds_total are computed. A fold naming a cell or fold outside the job,
 * or without a valid "status", is an error naming it ("folds[3].cell"). */
json_t *rcn_report_from_folds(const json_t *job, const json_t *folds, const json_t *meta,
                              rcn_error *err);

/* Prints the marginal tables (Table 2 for batch_size) and the best cell
 * (and refit, if any) of a report, aligned like the paper's tables: what
 * `rcn search` prints at the end. Defined with the view's tables
 * (src/view/tables.c), which print every marginal table. */
void rcn_report_print_summary(FILE *f, const json_t *report);

#endif
