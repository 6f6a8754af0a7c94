/* report.c - fold results to JSON, and the aggregation of fold objects into
 * the search report of include/rcn/report.h (cells in scikit-learn
 * cv_results_ style, marginals per swept axis = the paper's Table 2, best
 * cell). A pure function of the folds: used by the
 * running search, `rcn status` and `rcn report`. */
#include "rcn/report.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rcn/jsonutil.h"
#include "rcn/race.h"
#include "rcn/train_json.h"

#ifndef RCN_VERSION
#define RCN_VERSION "unknown"
#endif
#ifndef RCN_GIT_REV
#define RCN_GIT_REV "unknown"
#endif

json_t *rcn_epochs_to_json(const rcn_train_result *res)
{
    json_t *a = json_array();
    for (int e = 0; e < res->n_epochs; e++)
        json_array_append_new(a, rcn_epoch_to_json(&res->epochs[e]));
    return a;
}

json_t *rcn_fold_to_json(const rcn_plan_cell *cell, int fold, const rcn_train_result *res)
{
    const rcn_epoch_stats *last = res->n_epochs > 0 ? &res->epochs[res->n_epochs - 1] : NULL;
    int diverged = res->diverged || !last || !isfinite(last->val_loss) ||
                   !isfinite(last->train_loss);
    json_t *div = json_null();
    if (res->diverged)
        div = json_pack("{s:i, s:i, s:o}", "epoch", res->diverged_epoch, "batch",
                        res->diverged_batch, "loss", rcn_json_num(res->diverged_loss));
    else if (diverged) /* finite batch losses, but the evaluation was not */
        div = json_pack("{s:i, s:n, s:o}", "epoch", res->n_epochs, "batch", "loss",
                        rcn_json_num(last ? last->val_loss : NAN));
#define FINAL(field) (diverged ? json_null() : rcn_json_num(last->field))
    return json_pack("{s:i, s:s, s:O, s:i, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "cell",
                     cell->index, "key", cell->key, "params", cell->params, "fold", fold,
                     "status", diverged ? "diverged" : "ok", "epochs", rcn_epochs_to_json(res),
                     "train_loss", FINAL(train_loss), "train_accuracy", FINAL(train_accuracy),
                     "val_loss", FINAL(val_loss), "val_accuracy", FINAL(val_accuracy), "diverged",
                     div, "seconds", rcn_json_num(res->seconds));
#undef FINAL
}

/* ---- aggregation ----------------------------------------------------- */

enum { CELL_OK, CELL_DIVERGED, CELL_INCOMPLETE, CELL_ELIMINATED };
static const char *const cell_status_name[] = {"ok", "diverged", "incomplete", "eliminated"};

typedef struct {
    int done, diverged, status;
    int has_means; /* mean_* below are valid */
    double mean_train, std_train, mean_val, std_val, mean_acc, mean_fit;
} cell_stats;

static int get_num(const json_t *o, const char *k, double *out)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return isfinite(*out);
}

/* A fold counts as diverged when it says so or has no usable final loss. */
static int fold_diverged(const json_t *f)
{
    double d;
    return strcmp(json_string_value(json_object_get(f, "status")), "ok") ||
           !get_num(f, "val_loss", &d) || !get_num(f, "train_loss", &d);
}

static void mean_std(const double *x, int n, double *mean, double *std)
{
    double s = 0, q = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    *mean = s / n;
    for (int i = 0; i < n; i++)
        q += (x[i] - *mean) * (x[i] - *mean);
    *std = sqrt(q / n); /* population std, as numpy / scikit-learn */
}

static void cell_compute(const json_t *const *slot, int k, cell_stats *cs, double *buf)
{
    memset(cs, 0, sizeof *cs);
    double *tr = buf, *va = buf + k, *acc = buf + 2 * k, *fit = buf + 3 * k;
    int n = 0;
    for (int f = 0; f < k; f++) {
        if (!slot[f])
            continue;
        cs->done++;
        if (fold_diverged(slot[f])) {
            cs->diverged++;
            continue;
        }
        get_num(slot[f], "train_loss", &tr[n]);
        get_num(slot[f], "val_loss", &va[n]);
        if (!get_num(slot[f], "val_accuracy", &acc[n]))
            acc[n] = NAN;
        if (!get_num(slot[f], "seconds", &fit[n]))
            fit[n] = NAN;
        n++;
    }
    cs->status = cs->diverged ? CELL_DIVERGED : cs->done < k ? CELL_INCOMPLETE : CELL_OK;
    if (cs->status == CELL_DIVERGED || n == 0)
        return;
    double unused;
    cs->has_means = 1;
    mean_std(tr, n, &cs->mean_train, &cs->std_train);
    mean_std(va, n, &cs->mean_val, &cs->std_val);
    mean_std(acc, n, &cs->mean_acc, &unused);
    mean_std(fit, n, &cs->mean_fit, &unused);
}

static json_t *mean_or_null(const cell_stats *cs, double x)
{
    return cs->has_means ? rcn_json_num(x) : json_null();
}

static json_t *cell_json(const rcn_plan *p, int c, const cell_stats *cs, int rank,
                         const json_t *const *slot)
{
    const rcn_plan_cell *cell = rcn_plan_cell_at(p, c);
    json_t *o = json_pack(
        "{s:i, s:s, s:O, s:s, s:i, s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "index", c, "key",
        cell->key, "params", cell->params, "status", cell_status_name[cs->status], "n_folds",
        p->n_folds, "n_folds_done", cs->done, "n_diverged", cs->diverged, "mean_train_loss",
        mean_or_null(cs, cs->mean_train), "std_train_loss", mean_or_null(cs, cs->std_train),
        "mean_val_loss", mean_or_null(cs, cs->mean_val), "std_val_loss",
        mean_or_null(cs, cs->std_val), "mean_val_accuracy", mean_or_null(cs, cs->mean_acc),
        "mean_fit_time", mean_or_null(cs, cs->mean_fit));
    json_object_set_new(o, "rank_val_loss", rank > 0 ? json_integer(rank) : json_null());
    for (int f = 0; f < p->n_folds; f++) {
        char k[40];
        double v;
        snprintf(k, sizeof k, "split%d_val_loss", f);
        json_object_set_new(o, k,
                            slot[f] && !fold_diverged(slot[f]) && get_num(slot[f], "val_loss", &v)
                                ? json_real(v)
                                : json_null());
    }
    return o;
}

/* ---- racing (a job with a halving "schedule") -------------------------- */

/* A cell's place in the race. */
enum { RACE_RACING, RACE_COMPLETE, RACE_ELIMINATED, RACE_DIVERGED };
static const char *const race_status_name[] = {"racing", "complete", "eliminated", "diverged"};

typedef struct {
    int status;
    int rung;           /* the last rung it entered */
    int epochs, folds;  /* of the last decided rung it took part in; 0: none */
    double score;       /* its score there; NAN: none or diverged */
} cell_race;

typedef struct {
    int active;         /* the job races (halving); else the rest is unset */
    rcn_schedule s;
    rcn_race race;
    cell_race *cr;      /* [n_cells] */
    long long fold_epochs; /* trained: per (cell, fold) its furthest record */
} race_ctx;

static void race_ctx_free(race_ctx *rc)
{
    if (!rc->active)
        return;
    rcn_race_free(&rc->race);
    free(rc->cr);
    rc->active = 0;
}

/* Each cell's status, rung and score from the decided rungs and the rung
 * in progress. */
static void race_cells(race_ctx *rc, int n_cells)
{
    for (int c = 0; c < n_cells; c++)
        rc->cr[c] = (cell_race){RACE_RACING, 0, 0, 0, NAN};
    for (int r = 0; r < rc->race.n_decided; r++) {
        const rcn_rung_result *res = &rc->race.rungs[r];
        int last = r == rc->s.n_rungs - 1;
        for (int i = 0; i < res->n_in; i++) {
            const rcn_rung_cell *rcl = &res->cells[i];
            assert(rcl->cell >= 0 && rcl->cell < n_cells);
            cell_race *x = &rc->cr[rcl->cell];
            *x = (cell_race){rcl->diverged ? RACE_DIVERGED
                             : last        ? RACE_COMPLETE
                             : rcl->kept   ? RACE_RACING
                                           : RACE_ELIMINATED,
                             r, res->epochs, res->folds, rcl->score};
        }
    }
    for (int i = 0; !rc->race.finished && i < rc->race.n_alive; i++)
        rc->cr[rc->race.alive[i]].rung = rc->race.current;
}

/* Sets up the race of a halving job from all its fold objects (rc->active
 * stays 0 for a grid job). slot[]: the furthest fold object per (cell, fold). */
static int race_setup(const json_t *job, const json_t *folds, const rcn_plan *p,
                      const json_t *const *slot, race_ctx *rc, rcn_error *err)
{
    memset(rc, 0, sizeof *rc);
    const json_t *sj = json_object_get(job, "schedule");
    const char *kind = json_string_value(json_object_get(sj, "kind"));
    if (!kind || strcmp(kind, "halving"))
        return 0;
    const json_t *je = json_object_get(job, "epochs");
    if (!json_is_integer(je) || json_integer_value(je) < 1 || json_integer_value(je) > 1000000)
        return rcn_errorf(err, "job.epochs: expected a positive integer (the job races)");
    if (rcn_schedule_from_json(sj, "job", (int)json_integer_value(je), p->n_folds,
                               p->kind == RCN_VALID_KFOLD, p->axis_values[RCN_AXIS_EPOCHS] != NULL,
                               &rc->s, err))
        return -1;
    rcn_fold_record *recs;
    int n_recs;
    if (rcn_fold_records_from_json(folds, "folds", p->n_cells, p->n_folds, &recs, &n_recs, err))
        return -1;
    int rc_eval = rcn_race_eval(&rc->s, p->n_cells, p->n_folds, recs, n_recs, &rc->race, err);
    rcn_fold_records_free(recs, n_recs);
    if (rc_eval)
        return -1;
    rc->active = 1;
    rc->cr = malloc(((size_t)p->n_cells + 1) * sizeof *rc->cr);
    if (!rc->cr) {
        race_ctx_free(rc);
        return rcn_errorf(err, "out of memory racing %d cells", p->n_cells);
    }
    race_cells(rc, p->n_cells);
    for (int i = 0; i < p->n_cells * p->n_folds; i++)
        if (slot[i])
            rc->fold_epochs += (long long)json_array_size(json_object_get(slot[i], "epochs"));
    return 0;
}

/* A racing cell's report status from its race status: eliminated cells
 * keep the means of the folds they have but are not ranked; only cells
 * through the last rung can be "ok". */
static void race_cell_status(const cell_race *x, cell_stats *cs)
{
    switch (x->status) {
    case RACE_ELIMINATED:
        if (cs->status != CELL_DIVERGED)
            cs->status = CELL_ELIMINATED;
        break;
    case RACE_DIVERGED:
        cs->status = CELL_DIVERGED;
        cs->has_means = 0;
        break;
    case RACE_RACING:
        if (cs->status == CELL_OK)
            cs->status = CELL_INCOMPLETE;
        break;
    default:
        break;
    }
}

static json_t *cell_race_json(const cell_race *x)
{
    int scored = x->epochs > 0;
    return json_pack("{s:s, s:i, s:o, s:o, s:o}", "status", race_status_name[x->status], "rung",
                     x->rung, "folds", scored ? json_integer(x->folds) : json_null(), "epochs",
                     scored ? json_integer(x->epochs) : json_null(), "score",
                     rcn_json_num(x->score));
}

/* The marginal row's status: "Divergence" when more than half its cells
 * diverged; in a race "eliminated" when none of them is complete or still
 * racing. */
static const char *row_status(int n_cells, int n_div, int n_inc, int n_incomplete, int racing)
{
    if (2 * n_div > n_cells)
        return "Divergence";
    if (racing && !n_inc && !n_incomplete)
        return "eliminated";
    return n_incomplete ? "incomplete" : "ok";
}

static json_t *marginals_json(const rcn_plan *p, const cell_stats *cs, int racing)
{
    json_t *m = json_object();
    for (int a = 0; a < RCN_NAXES; a++) {
        if (!p->axis_values[a])
            continue;
        /* one pass over the cells, each adding to the row of its value */
        size_t nv = json_array_size(p->axis_values[a]);
        typedef struct {
            int n_cells, n_inc, n_div, n_incomplete, n_elim;
            double st, sv;
        } row_acc;
        row_acc *acc = calloc(nv ? nv : 1, sizeof *acc);
        if (!acc)
            continue; /* out of memory: the axis is left out */
        for (int c = 0; c < p->n_cells; c++) {
            int v = p->cells[c].axis_index[a];
            assert(v >= 0 && (size_t)v < nv);
            row_acc *r = &acc[v];
            r->n_cells++;
            if (cs[c].status == CELL_DIVERGED)
                r->n_div++;
            else if (cs[c].status == CELL_INCOMPLETE)
                r->n_incomplete++;
            else if (cs[c].status == CELL_ELIMINATED)
                r->n_elim++;
            else {
                r->n_inc++;
                r->st += cs[c].mean_train;
                r->sv += cs[c].mean_val;
            }
        }
        json_t *rows = json_array();
        for (size_t v = 0; v < nv; v++) {
            const row_acc *r = &acc[v];
            const char *status = row_status(r->n_cells, r->n_div, r->n_inc, r->n_incomplete, racing);
            json_t *row = json_pack("{s:O, s:o, s:o, s:i, s:i, s:i, s:s}", "value",
                                json_array_get(p->axis_values[a], v), "mean_train_loss",
                                r->n_inc ? rcn_json_num(r->st / r->n_inc) : json_null(),
                                "mean_val_loss", r->n_inc ? rcn_json_num(r->sv / r->n_inc) : json_null(),
                                "n_cells", r->n_cells, "n_included", r->n_inc, "n_diverged",
                                r->n_div, "status", status);
            if (racing)
                json_object_set_new(row, "n_eliminated", json_integer(r->n_elim));
            json_array_append_new(rows, row);
        }
        free(acc);
        json_object_set_new(m, rcn_axis_name(a), rows);
    }
    return m;
}

/* Rung res's Table 2 per swept axis: per value, the mean score of the
 * cells that entered the rung (diverged ones excluded). */
static json_t *rung_marginals_json(const rcn_plan *p, const rcn_rung_result *res)
{
    json_t *m = json_object();
    for (int a = 0; a < RCN_NAXES; a++) {
        if (!p->axis_values[a])
            continue;
        size_t nv = json_array_size(p->axis_values[a]);
        json_t *rows = json_array();
        for (size_t v = 0; v < nv; v++) {
            int n = 0, n_inc = 0, n_div = 0, n_kept = 0;
            double sum = 0;
            for (int i = 0; i < res->n_in; i++) {
                const rcn_rung_cell *x = &res->cells[i];
                if (p->cells[x->cell].axis_index[a] != (int)v)
                    continue;
                n++;
                n_kept += x->kept;
                if (x->diverged || !isfinite(x->score)) {
                    n_div++;
                    continue;
                }
                n_inc++;
                sum += x->score;
            }
            const char *status = 2 * n_div > n ? "Divergence" : n ? "ok" : "eliminated";
            json_array_append_new(
                rows, json_pack("{s:O, s:o, s:i, s:i, s:i, s:i, s:s}", "value",
                                json_array_get(p->axis_values[a], v), "mean_val_loss",
                                n_inc ? rcn_json_num(sum / n_inc) : json_null(), "n_cells", n,
                                "n_included", n_inc, "n_diverged", n_div, "n_kept", n_kept,
                                "status", status));
        }
        json_object_set_new(m, rcn_axis_name(a), rows);
    }
    return m;
}

/* The top-level "race": rcn_race_to_json, the rule, each decided rung's
 * rule and Table 2, the rung in progress and the cells in it. */
static json_t *race_json(const rcn_plan *p, const race_ctx *rc)
{
    json_t *j = rcn_race_to_json(&rc->race);
    char rule[600];
    int used = snprintf(rule, sizeof rule, "successive halving, eta %d, rungs (epochs, folds)",
                        rc->s.eta);
    for (int r = 0; r < rc->s.n_rungs && used < (int)sizeof rule; r++)
        used += snprintf(rule + used, sizeof rule - (size_t)used, " (%d,%d)",
                         rc->s.rungs[r].epochs, rc->s.rungs[r].folds);
    json_object_set_new(j, "rule", json_string(rule));
    json_t *rungs = json_object_get(j, "rungs");
    for (int r = 0; r < rc->race.n_decided; r++) {
        const rcn_rung_result *res = &rc->race.rungs[r];
        json_t *o = json_array_get(rungs, (size_t)r);
        int scored = res->n_in - res->n_diverged;
        if (r == rc->s.n_rungs - 1)
            snprintf(rule, sizeof rule, "the best of %d by mean val loss over folds 0..%d at "
                     "epoch %d wins", scored, res->folds - 1, res->epochs);
        else
            snprintf(rule, sizeof rule, "keep the best %d of %d (1/%d, rounded up) by mean val "
                     "loss over folds 0..%d at epoch %d; diverged cells leave", res->n_kept, scored,
                     rc->s.eta, res->folds - 1, res->epochs);
        json_object_set_new(o, "rule", json_string(rule));
        json_object_set_new(o, "marginals", rung_marginals_json(p, res));
    }
    json_t *alive = json_array();
    for (int i = 0; !rc->race.finished && i < rc->race.n_alive; i++)
        json_array_append_new(alive, json_integer(rc->race.alive[i]));
    json_object_set_new(j, "current", json_integer(rc->race.current));
    json_object_set_new(j, "alive", alive);
    return j;
}

/* meta's racing fields: the schedule kind and the budget trained so far. */
static void race_meta(json_t *meta, const race_ctx *rc)
{
    long long ex = rc->race.exhaustive;
    json_object_set_new(meta, "schedule", json_string("halving"));
    json_object_set_new(meta, "budget_fraction",
                        json_real(ex ? (double)rc->fold_epochs / (double)ex : 0.0));
    json_object_set_new(meta, "fold_epochs", json_integer((json_int_t)rc->fold_epochs));
    json_object_set_new(meta, "exhaustive_fold_epochs", json_integer((json_int_t)ex));
}

/* complete: the status when the caller gives none ("complete" or
 * "incomplete"). */
static json_t *meta_json(const json_t *given, int done, int total, int complete)
{
    static const char *const passed[] = {"job_hash", "ranks", "hosts", "started", "finished",
                                         "wall_seconds", "fold_jobs_per_second"};
    json_t *m = json_pack("{s:s, s:i}", "format", "rcn-report", "format_version", 1);
    const json_t *v = json_object_get(given, "rcn_version");
    json_object_set_new(m, "rcn_version", v ? json_incref((json_t *)v) : json_string(RCN_VERSION));
    v = json_object_get(given, "git_revision");
    json_object_set_new(m, "git_revision", v ? json_incref((json_t *)v) : json_string(RCN_GIT_REV));
    for (size_t i = 0; i < sizeof passed / sizeof *passed; i++) {
        v = json_object_get(given, passed[i]);
        json_object_set_new(m, passed[i], v ? json_incref((json_t *)v) : json_null());
    }
    v = json_object_get(given, "status");
    json_object_set_new(m, "status", json_is_string(v) ? json_incref((json_t *)v)
                                     : json_string(complete ? "complete" : "incomplete"));
    json_object_set_new(m, "folds_done", json_integer(done));
    json_object_set_new(m, "folds_total", json_integer(total));
    json_object_set_new(m, "loss_convention", json_string("mean per-sample cross-entropy"));
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)given, key, val) /* anything else the caller adds */
        if (!json_object_get(m, key))
            json_object_set(m, key, val);
    return m;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* How many of v[0..n) (sorted ascending) are < x. */
static size_t count_below(const double *v, size_t n, double x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Checks fold object i and returns its slot index cell*K+fold, or -1. */
static int fold_slot(const rcn_plan *p, const json_t *f, size_t i, rcn_error *err)
{
    if (!json_is_object(f))
        return rcn_errorf(err, "folds[%zu]: expected an object", i);
    const json_t *c = json_object_get(f, "cell"), *k = json_object_get(f, "fold");
    if (!json_is_integer(c) || json_integer_value(c) < 0 || json_integer_value(c) >= p->n_cells)
        return rcn_errorf(err, "folds[%zu].cell: expected an integer 0..%d", i, p->n_cells - 1);
    if (!json_is_integer(k) || json_integer_value(k) < 0 || json_integer_value(k) >= p->n_folds)
        return rcn_errorf(err, "folds[%zu].fold: expected an integer 0..%d", i, p->n_folds - 1);
    const char *st = json_string_value(json_object_get(f, "status"));
    if (!st || (strcmp(st, "ok") && strcmp(st, "diverged")))
        return rcn_errorf(err, "folds[%zu].status: expected \"ok\" or \"diverged\"", i);
    return (int)(json_integer_value(c) * p->n_folds + json_integer_value(k));
}

/* Fills slot[cell*K+fold] with the fold object of each (cell, fold) that
 * reaches the most epochs (the first of equals); returns how many are
 * filled, or -1 (err set) for a bad fold object. */
static int fill_slots(const rcn_plan *p, const json_t *folds, const json_t **slot,
                      rcn_error *err)
{
    int done = 0;
    for (size_t i = 0; i < json_array_size(folds); i++) {
        const json_t *f = json_array_get(folds, i);
        int s = fold_slot(p, f, i, err);
        if (s < 0)
            return -1;
        if (!slot[s]) {
            slot[s] = f;
            done++;
        } else if (json_array_size(json_object_get(f, "epochs")) >
                   json_array_size(json_object_get(slot[s], "epochs"))) {
            slot[s] = f; /* a racing fold continued to more epochs */
        }
    }
    return done;
}

/* The cells array with ranks (1 + the number of ok cells with a lower mean
 * val loss, found by binary search in the sorted losses: a job may have
 * 10^6 cells, and the pairwise count would take hours at every partial
 * report); *best gets the ok cell of lowest mean val loss, or -1. */
static json_t *cells_json(const rcn_plan *p, const cell_stats *cs, const race_ctx *rc,
                          const json_t *const *slot, int *best, rcn_error *err)
{
    int k = p->n_folds;
    double *ok_val = malloc(((size_t)p->n_cells + 1) * sizeof *ok_val);
    if (!ok_val) {
        rcn_errorf(err, "out of memory ranking %d cells", p->n_cells);
        return NULL;
    }
    size_t n_ok = 0;
    for (int c = 0; c < p->n_cells; c++)
        if (cs[c].status == CELL_OK)
            ok_val[n_ok++] = cs[c].mean_val;
    qsort(ok_val, n_ok, sizeof *ok_val, cmp_double);
    json_t *cells = json_array();
    *best = -1;
    for (int c = 0; c < p->n_cells; c++) {
        int rank = 0;
        if (cs[c].status == CELL_OK) {
            rank = 1 + (int)count_below(ok_val, n_ok, cs[c].mean_val);
            if (*best < 0 || cs[c].mean_val < cs[*best].mean_val)
                *best = c;
        }
        json_t *o = cell_json(p, c, &cs[c], rank, slot + (size_t)c * k);
        if (rc->active)
            json_object_set_new(o, "race", cell_race_json(&rc->cr[c]));
        json_array_append_new(cells, o);
    }
    free(ok_val);
    return cells;
}

json_t *rcn_report_from_folds(const json_t *job, const json_t *folds, const json_t *meta,
                              rcn_error *err)
{
    rcn_plan p;
    race_ctx rc = {0};
    if (rcn_plan_from_json(job, "job", &p, err))
        return NULL;
    if (!json_is_array(folds)) {
        rcn_plan_free(&p);
        rcn_errorf(err, "folds: expected an array");
        return NULL;
    }
    int k = p.n_folds, total = p.n_cells * k, done = 0;
    const json_t **slot = calloc((size_t)total, sizeof *slot);
    cell_stats *cs = calloc((size_t)p.n_cells, sizeof *cs);
    double *buf = malloc(4 * (size_t)k * sizeof *buf);
    json_t *report = NULL;
    if (!slot || !cs || !buf) {
        rcn_errorf(err, "out of memory aggregating %d folds", total);
        goto out;
    }
    if ((done = fill_slots(&p, folds, slot, err)) < 0 ||
        race_setup(job, folds, &p, slot, &rc, err))
        goto out;

    json_t *sorted = json_array();
    for (int s = 0; s < total; s++) {
        if (!slot[s])
            continue;
        json_t *copy = json_copy((json_t *)slot[s]); /* shallow; drops a journal "type" */
        json_object_del(copy, "type");
        json_array_append_new(sorted, copy);
    }
    for (int c = 0; c < p.n_cells; c++) {
        cell_compute(slot + (size_t)c * k, k, &cs[c], buf);
        if (rc.active)
            race_cell_status(&rc.cr[c], &cs[c]);
    }
    int best;
    json_t *cells = cells_json(&p, cs, &rc, slot, &best, err);
    if (!cells) {
        json_decref(sorted);
        goto out;
    }
    if (rc.active && rc.race.finished) {
        /* the race's winner is the best of the last rung, whose cells are
         * the only complete ones: the lowest mean val loss among them */
        assert(rc.race.winner == best);
        best = rc.race.winner;
    }
    json_t *best_json = json_null();
    if (best >= 0)
        best_json = json_pack("{s:i, s:s, s:O, s:o, s:o}", "cell", best, "key", p.cells[best].key,
                              "params", p.cells[best].params, "mean_val_loss",
                              rcn_json_num(cs[best].mean_val), "mean_val_accuracy",
                              rcn_json_num(cs[best].mean_acc));

    json_t *mj = meta_json(meta, done, total, rc.active ? rc.race.finished : done == total);
    if (rc.active)
        race_meta(mj, &rc);
    report = json_pack("{s:o, s:O, s:o, s:o, s:o, s:o, s:n}", "meta", mj, "job", job, "folds",
                       sorted, "cells", cells, "marginals", marginals_json(&p, cs, rc.active),
                       "best", best_json, "refit");
    if (report && rc.active)
        json_object_set_new(report, "race", race_json(&p, &rc));
    if (!report)
        rcn_errorf(err, "out of memory building the report");
out:
    race_ctx_free(&rc);
    free(slot);
    free(cs);
    free(buf);
    rcn_plan_free(&p);
    return report;
}
