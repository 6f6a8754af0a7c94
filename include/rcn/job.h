/* job.h - a search job: what to train, on what, over which grid, validated
 * how, written where. Parsed from a JSON job file and fully validated before
 * any training (see rcn_job_load).
 *
 * Job file (JSON object; unknown keys are errors):
 *   "name":        string (default: file name without .json)
 *   "description": free text (optional; not part of the job's identity)
 *   "data":        {"train_images", "train_labels", "test_images", "test_labels"}
 *                  paths (IDX raw or .gz), relative to the current directory;
 *                  or {"dir": "data/mnist"} for the four standard names.
 *                  The environment variable RCN_DATA_DIR, when set and not
 *                  empty, replaces "dir" (jobs with four explicit paths
 *                  ignore it).
 *   "train_limit": integer >= 1, deterministic subset of the training set (optional)
 *   "model":       preset name or spec object (see rcn_arch_from_json); default "rcn8"
 *   the axes (axes.h: "batch_size", "lr", "momentum", "epochs"), "weight_decay",
 *   "dropout":     scalar defaults for every cell (axes: the table's; 0; model's)
 *   "diverge_threshold": default 1000
 *   "seed":        integer >= 0, default 1
 *   "threads":     OpenBLAS threads per rank, default 1
 *   "grid":        {AXIS_NAME: AXIS, ...} over the axes of axes.h,
 *                  each AXIS a non-empty list or {"from", "to", "step"} (inclusive,
 *                  decimal-exact: 0.005..0.195 step 0.005 gives 39 values)
 *   "validation":  {"kind": "kfold", "folds": K >= 2} or {"kind": "test"}
 *                  (default {"kind": "kfold", "folds": 10})
 *   "refit":       bool, default false (kfold only)
 *   "schedule":    {"kind": "grid"} (default) or {"kind": "halving", ...}: see
 *                  rcn/race.h; written to the normalised job only when halving
 *   "stragglers":  {"backups": true, "silent_after": 3, "silent_min_seconds": 30}
 *                  (the defaults): backup copies of in-flight folds, and when a
 *                  silent rank is given up on (see rcn_stragglers); not part of
 *                  the job's identity (they do not change results)
 *   "output":      report path (default "results/<name>.json"); the journal is
 *                  "<output without .json>.journal.jsonl"
 */
#ifndef RCN_JOB_H
#define RCN_JOB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rcn/axes.h"
#include "rcn/error.h"
#include "rcn/net.h"
#include "rcn/plan.h"
#include "rcn/race.h"

#define RCN_MAX_AXIS 4096
#define RCN_MAX_CELLS 1000000
#define RCN_PATH_MAX 4096

/* One swept axis; values are kept as doubles plus their shortest decimal
 * spelling (e.g. "0.135"), which is what reports and keys print. */
typedef struct {
    int n; /* 0: axis not swept (the scalar default applies) */
    double *values;
    char (*text)[32];
} rcn_axis;

/* How a search copes with slow and hung ranks (src/search/coordinator.c).
 * A rank holding fold jobs that sends nothing (no heartbeat, no result) for
 * max(silent_min_seconds, silent_after x the expected time of its fold) is
 * silent: reported, its folds are copied to idle ranks first, and after the
 * last fold a silent rank that does not answer the stop is given up on. */
typedef struct {
    int backups;               /* copy in-flight folds to idle ranks (default 1) */
    double silent_after;       /* > 0, a multiple of a fold's expected time (default 3) */
    double silent_min_seconds; /* >= 2 (default 30) */
} rcn_stragglers;

typedef struct {
    char path[RCN_PATH_MAX];     /* the job file */
    char name[128];
    char train_images[RCN_PATH_MAX], train_labels[RCN_PATH_MAX];
    char test_images[RCN_PATH_MAX], test_labels[RCN_PATH_MAX];
    int64_t train_limit;         /* 0: whole training set */
    rcn_arch arch;
    int epochs, batch_size;
    double lr, momentum, weight_decay, diverge_threshold;
    uint64_t seed;
    int threads;
    rcn_axis axes[RCN_NAXES];
    rcn_valid_kind valid_kind;
    int folds;                   /* kfold: K; test: 1 */
    int refit;
    rcn_schedule schedule;       /* grid (default) or halving: rcn/race.h */
    rcn_stragglers stragglers;   /* not in the hash: results do not depend on it */
    char output[RCN_PATH_MAX], journal[RCN_PATH_MAX];
    json_t *json;                /* the job as read (normalised), owned */
    char hash[17];               /* hex FNV-1a of the canonical job JSON: a journal's identity */
    rcn_plan plan;               /* the cells, expanded from json (rcn_plan_from_json), owned */
} rcn_job;

/* Parses and validates the file; on error *err names the file, the JSON path
 * ("grid.lr.step") and the reason, or line:column for syntax errors. Checks
 * that the data files exist and are readable (not their contents). */
int rcn_job_load(const char *path, rcn_job *job, rcn_error *err);
void rcn_job_free(rcn_job *job);
/* Checks that needs the data loaded: batch sizes <= training size per fold. */
int rcn_job_check_sizes(const rcn_job *job, int64_t n_train, rcn_error *err);

/* rcn_job_load on failure leaves *job zeroed (rcn_job_free is harmless);
 * err->msg then holds every error found, one per line (first error first). */

/* Replaces the output path (e.g. `rcn search --out`): sets output, journal
 * and the "output" field of job->json. The hash does not change: it leaves
 * out "output" and "description". The path must end in ".json". */
int rcn_job_set_output(rcn_job *job, const char *output, rcn_error *err);

/* The job-file format, for `rcn search --help` (static text). */
const char *rcn_job_help(void);

/* Decimal spelling of v for keys and reports: %.15g ("0.135", "256",
 * "1e-05"), or %.16g / %.17g when that is needed to read back as v. */
void rcn_num_text(double v, char *buf, size_t cap);

/* Expands the inclusive range from..to by step decimal-exactly (scaled
 * integers over the decimals of the %.15g spellings: 0.005..0.195 step 0.005
 * gives exactly 0.005, 0.01, ..., 0.195). Writes the first max_n values
 * (values may be NULL when max_n is 0) and returns how many the range has;
 * -1 if step <= 0 or from > to; -2 if it cannot be expanded exactly (too many
 * decimal places or values). */
long rcn_range_expand(double from, double to, double step, double *values, long max_n);

#endif
