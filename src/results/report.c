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

enum { CELL_OK, CELL_DIVERGED, CELL_INCOMPLETE };
static const char *const cell_status_name[] = {"ok", "diverged", "incomplete"};

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

static json_t *marginals_json(const rcn_plan *p, const cell_stats *cs)
{
    json_t *m = json_object();
    for (int a = 0; a < RCN_NAXES; a++) {
        if (!p->axis_values[a])
            continue;
        /* one pass over the cells, each adding to the row of its value */
        size_t nv = json_array_size(p->axis_values[a]);
        typedef struct {
            int n_cells, n_inc, n_div, n_incomplete;
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
            else {
                r->n_inc++;
                r->st += cs[c].mean_train;
                r->sv += cs[c].mean_val;
            }
        }
        json_t *rows = json_array();
        for (size_t v = 0; v < nv; v++) {
            const row_acc *r = &acc[v];
            const char *status = 2 * r->n_div > r->n_cells ? "Divergence"
                                 : r->n_incomplete         ? "incomplete"
                                                           : "ok";
            json_array_append_new(
                rows, json_pack("{s:O, s:o, s:o, s:i, s:i, s:i, s:s}", "value",
                                json_array_get(p->axis_values[a], v), "mean_train_loss",
                                r->n_inc ? rcn_json_num(r->st / r->n_inc) : json_null(),
                                "mean_val_loss", r->n_inc ? rcn_json_num(r->sv / r->n_inc) : json_null(),
                                "n_cells", r->n_cells, "n_included", r->n_inc, "n_diverged",
                                r->n_div, "status", status));
        }
        free(acc);
        json_object_set_new(m, rcn_axis_name(a), rows);
    }
    return m;
}

static json_t *meta_json(const json_t *given, int done, int total)
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
                                     : json_string(done == total ? "complete" : "incomplete"));
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

json_t *rcn_report_from_folds(const json_t *job, const json_t *folds, const json_t *meta,
                              rcn_error *err)
{
    rcn_plan p;
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
    for (size_t i = 0; i < json_array_size(folds); i++) {
        const json_t *f = json_array_get(folds, i);
        int s = fold_slot(&p, f, i, err);
        if (s < 0)
            goto out;
        if (!slot[s]) {
            slot[s] = f;
            done++;
        }
    }

    json_t *sorted = json_array();
    for (int s = 0; s < total; s++) {
        if (!slot[s])
            continue;
        json_t *copy = json_copy((json_t *)slot[s]); /* shallow; drops a journal "type" */
        json_object_del(copy, "type");
        json_array_append_new(sorted, copy);
    }
    for (int c = 0; c < p.n_cells; c++)
        cell_compute(slot + (size_t)c * k, k, &cs[c], buf);

    /* rank = 1 + the number of ok cells with a lower mean val loss, found by
     * binary search in the sorted losses (a job may have 10^6 cells: the
     * pairwise count would take hours, at every partial report) */
    double *ok_val = malloc(((size_t)p.n_cells + 1) * sizeof *ok_val);
    if (!ok_val) {
        json_decref(sorted);
        rcn_errorf(err, "out of memory ranking %d cells", p.n_cells);
        goto out;
    }
    size_t n_ok = 0;
    for (int c = 0; c < p.n_cells; c++)
        if (cs[c].status == CELL_OK)
            ok_val[n_ok++] = cs[c].mean_val;
    qsort(ok_val, n_ok, sizeof *ok_val, cmp_double);
    json_t *cells = json_array();
    int best = -1;
    for (int c = 0; c < p.n_cells; c++) {
        int rank = 0;
        if (cs[c].status == CELL_OK) {
            rank = 1 + (int)count_below(ok_val, n_ok, cs[c].mean_val);
            if (best < 0 || cs[c].mean_val < cs[best].mean_val)
                best = c;
        }
        json_array_append_new(cells, cell_json(&p, c, &cs[c], rank, slot + (size_t)c * k));
    }
    free(ok_val);
    json_t *best_json = json_null();
    if (best >= 0)
        best_json = json_pack("{s:i, s:s, s:O, s:o, s:o}", "cell", best, "key", p.cells[best].key,
                              "params", p.cells[best].params, "mean_val_loss",
                              rcn_json_num(cs[best].mean_val), "mean_val_accuracy",
                              rcn_json_num(cs[best].mean_acc));

    report = json_pack("{s:o, s:O, s:o, s:o, s:o, s:o, s:n}", "meta", meta_json(meta, done, total),
                       "job", job, "folds", sorted, "cells", cells, "marginals",
                       marginals_json(&p, cs), "best", best_json, "refit");
    if (!report)
        rcn_errorf(err, "out of memory building the report");
out:
    free(slot);
    free(cs);
    free(buf);
    rcn_plan_free(&p);
    return report;
}
