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
 *  "race":  only for a racing job (job.schedule.kind "halving", race.h), after
 *           "refit": rcn_race_to_json's {"rungs": [{"epochs", "folds",
 *           "cells_in", "kept", "eliminated", "diverged", "fold_epochs",
 *           "cells": [{"cell", "score", "status": "kept" | "eliminated" |
 *           "diverged"}], "rule" (e.g. "keep the best 14 of 40 (1/3, rounded
 *           up) by mean val loss over folds 0..1 at epoch 1; ..."),
 *           "marginals": {"<axis>": [{"value", "mean_val_loss" (mean score),
 *           "n_cells" (entered the rung), "n_included", "n_diverged",
 *           "n_kept", "status": "ok" | "Divergence" | "eliminated" (no cell
 *           of the value entered)}]}}] (decided rungs only), "finished",
 *           "winner" (cell index | null), "fold_epochs", "exhaustive_fold_epochs",
 *           "fraction" (these three over the decided rungs)} plus "rule"
 *           ("successive halving, eta 3, rungs (epochs, folds) (1,2) (2,4)
 *           (2,10)"), "current" (the rung in progress; the number of rungs
 *           when finished) and "alive" (the cells in it, ascending; [] when
 *           finished).
 * A racing report also has:
 *   meta:  "schedule": "halving", "budget_fraction" (fold_epochs /
 *          exhaustive_fold_epochs), "fold_epochs" (trained: per (cell, fold)
 *          the epochs of its furthest fold object, summed),
 *          "exhaustive_fold_epochs" (n_cells * K * E); "status" is
 *          "complete" when the race has finished (folds_done < folds_total).
 *   cells: "race": {"status": "complete" (scored in the last rung) |
 *          "eliminated" | "diverged" | "racing", "rung" (the last rung it
 *          entered, 0-based), "folds", "epochs" (the rung its score is from;
 *          null before its first rung is decided), "score"}. A cell
 *          eliminated has status "eliminated" (means over the folds it has,
 *          rank_val_loss null); a racing cell is "incomplete"; only
 *          complete cells can be "ok" and ranked.
 *   marginals: over the complete cells only; rows gain "n_eliminated" and
 *          the status "eliminated" (none of the row's cells complete or
 *          racing).
 *   best:  the race's winner once finished (the complete cell of lowest
 *          mean_val_loss), before that the best complete cell or null.
 * Grid jobs have none of these keys.
 * JSON has no NaN/Inf: such numbers are written as null, with a status field
 * saying why; every reader accepts null wherever a number may be.
 *
 * Journal ("<report>.journal.jsonl"): append-only, one JSON object per line,
 * each line written with a single write() and fsync'ed:
 *   {"type": "header", "format": "rcn-journal", "job_hash", "job", "created"}
 *   {"type": "fold", ...the fold object above...}
 *   {"type": "rung", ...one rung of race.rungs (racing jobs), "rung": r}
 * A racing journal holds a fold line per rung that trained the fold (each
 * with all its epochs from 1); the one with the most epochs counts. Rung
 * lines record each decision when it is made; they are a pure function of
 * the fold lines before them, and a resumed search checks them against
 * those. A torn last line (no newline / unparsable) is ignored on read. */
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

/* Aggregates fold objects (any order; of several objects of one (cell,
 * fold), the one with the most epochs counts, the first of equals: a racing
 * fold continued to a later rung) of the job `job` (the normalised job object, as in a
 * journal header) into a whole report: folds sorted, cells, marginals,
 * best, "refit": null (set it afterwards). `meta` (may be NULL) supplies
 * the run's meta fields (rcn_version, git_revision, job_hash, ranks, hosts,
 * started, finished, wall_seconds, fold_jobs_per_second, status); missing
 * ones are null, except rcn_version/git_revision (this binary's) and status
 * ("complete" when every fold is done, else "incomplete"); folds_done and
 * folds_total are computed. A fold naming a cell or fold outside the job,
 * or without a valid "status", is an error naming it ("folds[3].cell").
 * A racing job's race is computed from all the fold objects (race.h). */
json_t *rcn_report_from_folds(const json_t *job, const json_t *folds, const json_t *meta,
                              rcn_error *err);

/* Prints the marginal tables (Table 2 for batch_size) and the best cell
 * (and refit, if any) of a report, aligned like the paper's tables: what
 * `rcn search` prints at the end. Defined with the view's tables
 * (src/view/tables.c), which print every marginal table. */
void rcn_report_print_summary(FILE *f, const json_t *report);

#endif
