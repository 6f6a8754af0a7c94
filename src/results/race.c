/* race.c - synchronous successive halving over (epochs, folds) rungs: the
 * schedule's JSON, its dry-run plan, and the race state as a pure function
 * of the fold results. See include/rcn/race.h. */
#include "rcn/race.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rcn/job.h"

#define DEFAULT_ETA 3
#define DEFAULT_GROWTH 2
#define MAX_ETA 1000

/* ---- schedule JSON --------------------------------------------------- */

/* A short spelling of a value for messages. */
static void show(const json_t *v, char *buf, size_t cap)
{
    if (json_is_number(v))
        rcn_num_text(json_number_value(v), buf, cap);
    else if (json_is_string(v))
        snprintf(buf, cap, "\"%.40s\"", json_string_value(v));
    else
        snprintf(buf, cap, "%s", json_is_object(v) ? "an object" : json_is_array(v) ? "a list"
                                 : json_is_boolean(v) ? "a boolean" : "null");
}

/* An integer field in lo..hi (hi INT_MAX: no upper bound); integral reals
 * are accepted as job.c does. */
static int get_int(const json_t *v, const char *where, const char *field, int lo, int hi,
                   int *out, rcn_error *err)
{
    char got[64];
    show(v, got, sizeof got);
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    if (!json_is_number(v) || d != floor(d))
        return rcn_errorf(err, "%s: schedule.%s: must be an integer (got %s)", where, field, got);
    if (d < lo || d > hi) {
        if (hi == INT_MAX)
            return rcn_errorf(err, "%s: schedule.%s: must be >= %d (got %s)", where, field, lo,
                              got);
        return rcn_errorf(err, "%s: schedule.%s: must be between %d and %d (got %s)", where,
                          field, lo, hi, got);
    }
    *out = (int)d;
    return 0;
}

static int check_keys(const json_t *o, const char *where, const char *field,
                      const char *const *allowed, const char *list, rcn_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        int ok = 0;
        for (int i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(key, allowed[i]);
        if (!ok)
            return rcn_errorf(err, "%s: %s%s%s: unknown key (allowed: %s)", where, field,
                              *field ? "." : "", key, list);
    }
    return 0;
}

/* {"epochs", "folds"} at `field` (e.g. "rungs[1]"); missing keys take
 * *r's values when defaults != 0. */
static int get_rung(const json_t *o, const char *where, const char *field, int defaults,
                    int job_epochs, int k, rcn_rung *r, rcn_error *err)
{
    static const char *const keys[] = {"epochs", "folds", NULL};
    char path[96], got[64];
    show(o, got, sizeof got);
    if (!json_is_object(o))
        return rcn_errorf(err, "%s: schedule.%s: must be {\"epochs\", \"folds\"} (got %s)",
                          where, field, got);
    snprintf(path, sizeof path, "schedule.%s", field);
    if (check_keys(o, where, path, keys, "epochs, folds", err))
        return -1;
    const json_t *je = json_object_get(o, "epochs"), *jf = json_object_get(o, "folds");
    if ((!je || !jf) && !defaults)
        return rcn_errorf(err, "%s: schedule.%s: must give both \"epochs\" and \"folds\"",
                          where, field);
    snprintf(path, sizeof path, "%s.epochs", field);
    if (je && get_int(je, where, path, 1, job_epochs, &r->epochs, err))
        return -1;
    snprintf(path, sizeof path, "%s.folds", field);
    if (jf && get_int(jf, where, path, 1, k, &r->folds, err))
        return -1;
    return 0;
}

/* The rungs first, first*growth, ... capped at (E, K), each with a budget
 * of at most E*K/growth, then (E, K). */
static void generate_rungs(rcn_schedule *s, int job_epochs, int k)
{
    long long e = s->first.epochs, f = s->first.folds;
    s->n_rungs = 0;
    while (s->n_rungs < RCN_MAX_RUNGS - 1 && e * f * s->growth <= (long long)job_epochs * k) {
        rcn_rung r = {(int)e, (int)f};
        if (s->n_rungs == 0 || r.epochs != s->rungs[s->n_rungs - 1].epochs ||
            r.folds != s->rungs[s->n_rungs - 1].folds)
            s->rungs[s->n_rungs++] = r;
        if (e == job_epochs && f == k)
            break;
        e = e * s->growth < job_epochs ? e * s->growth : job_epochs;
        f = f * s->growth < k ? f * s->growth : k;
    }
    s->rungs[s->n_rungs++] = (rcn_rung){job_epochs, k};
}

/* Rungs non-decreasing in epochs and folds, strictly growing in budget. */
static int check_rungs(const rcn_schedule *s, const char *where, rcn_error *err)
{
    for (int i = 1; i < s->n_rungs; i++) {
        const rcn_rung *a = &s->rungs[i - 1], *b = &s->rungs[i];
        if (b->epochs < a->epochs || b->folds < a->folds)
            return rcn_errorf(err, "%s: schedule.rungs[%d]: (%d epochs, %d folds) after (%d, %d):"
                              " rungs must not decrease in epochs or folds", where, i, b->epochs,
                              b->folds, a->epochs, a->folds);
        if (b->epochs == a->epochs && b->folds == a->folds)
            return rcn_errorf(err, "%s: schedule.rungs[%d]: (%d epochs, %d folds) repeats the rung"
                              " before it (the last rung is always the job's epochs on all "
                              "folds)", where, i, b->epochs, b->folds);
    }
    return 0;
}

/* Explicit "rungs": read, (E, K) appended when missing. */
static int get_rung_list(const json_t *list, const char *where, int job_epochs, int k,
                         rcn_schedule *s, rcn_error *err)
{
    char got[64];
    show(list, got, sizeof got);
    if (!json_is_array(list) || json_array_size(list) == 0)
        return rcn_errorf(err, "%s: schedule.rungs: must be a non-empty list of {\"epochs\", "
                          "\"folds\"} (got %s)", where, got);
    if (json_array_size(list) > RCN_MAX_RUNGS - 1)
        return rcn_errorf(err, "%s: schedule.rungs: %zu rungs, at most %d", where,
                          json_array_size(list), RCN_MAX_RUNGS - 1);
    s->n_rungs = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        char field[32];
        snprintf(field, sizeof field, "rungs[%zu]", i);
        if (get_rung(json_array_get(list, i), where, field, 0, job_epochs, k,
                     &s->rungs[s->n_rungs++], err))
            return -1;
    }
    const rcn_rung *last = &s->rungs[s->n_rungs - 1];
    if (last->epochs != job_epochs || last->folds != k)
        s->rungs[s->n_rungs++] = (rcn_rung){job_epochs, k};
    return 0;
}

/* The halving fields of an object already known to be a halving schedule. */
static int parse_halving(const json_t *j, const char *where, int job_epochs, int k,
                         rcn_schedule *s, rcn_error *err)
{
    const json_t *jeta = json_object_get(j, "eta"), *jfirst = json_object_get(j, "first");
    const json_t *jgrowth = json_object_get(j, "growth"), *jrungs = json_object_get(j, "rungs");
    s->eta = DEFAULT_ETA;
    if (jeta && get_int(jeta, where, "eta", 2, MAX_ETA, &s->eta, err))
        return -1;
    if (jrungs && get_rung_list(jrungs, where, job_epochs, k, s, err))
        return -1;
    if (jrungs && !jfirst && !jgrowth)
        return check_rungs(s, where, err);
    rcn_schedule gen = *s;
    gen.generated = 1;
    gen.first = (rcn_rung){1, 2 <= k ? 2 : k};
    gen.growth = DEFAULT_GROWTH;
    if (jfirst && get_rung(jfirst, where, "first", 1, job_epochs, k, &gen.first, err))
        return -1;
    if (jgrowth && get_int(jgrowth, where, "growth", 2, 1000, &gen.growth, err))
        return -1;
    generate_rungs(&gen, job_epochs, k);
    if (jrungs) { /* a normalised schedule: "rungs" must be the expansion */
        int same = gen.n_rungs == s->n_rungs;
        for (int i = 0; same && i < gen.n_rungs; i++)
            same = gen.rungs[i].epochs == s->rungs[i].epochs &&
                   gen.rungs[i].folds == s->rungs[i].folds;
        if (!same)
            return rcn_errorf(err, "%s: schedule.rungs: does not match first/growth (they give %d "
                              "rungs); give either \"rungs\" or \"first\"/\"growth\"", where,
                              gen.n_rungs);
    }
    *s = gen;
    return check_rungs(s, where, err);
}

int rcn_schedule_from_json(const json_t *j, const char *where, int job_epochs, int k, int kfold,
                           int epochs_swept, rcn_schedule *s, rcn_error *err)
{
    static const char *const keys[] = {"kind", "eta", "first", "growth", "rungs", NULL};
    assert(job_epochs >= 1 && k >= 1);
    memset(s, 0, sizeof *s);
    s->kind = RCN_SCHEDULE_GRID;
    s->n_rungs = 1;
    s->rungs[0] = (rcn_rung){job_epochs, k};
    if (!j || json_is_null(j))
        return 0;
    char got[64];
    show(j, got, sizeof got);
    if (!json_is_object(j))
        return rcn_errorf(err, "%s: schedule: must be {\"kind\": \"grid\" | \"halving\", ...} "
                          "(got %s)", where, got);
    if (check_keys(j, where, "schedule", keys, "kind, eta, first, growth, rungs", err))
        return -1;
    const json_t *jkind = json_object_get(j, "kind");
    const char *kind = json_string_value(jkind);
    show(jkind, got, sizeof got);
    if (!kind || (strcmp(kind, "grid") && strcmp(kind, "halving")))
        return rcn_errorf(err, "%s: schedule.kind: must be \"grid\" or \"halving\" (got %s)",
                          where, jkind ? got : "nothing");
    if (!strcmp(kind, "grid")) {
        if (json_object_size(j) > 1)
            return rcn_errorf(err, "%s: schedule: a \"grid\" schedule takes no other keys "
                              "(eta, first, growth and rungs are for \"halving\")", where);
        return 0;
    }
    if (!kfold || k < 2)
        return rcn_errorf(err, "%s: schedule: halving races cells over folds and needs k-fold "
                          "validation ({\"kind\": \"kfold\", \"folds\": K >= 2}), not a test-set "
                          "validation", where);
    if (epochs_swept)
        return rcn_errorf(err, "%s: schedule: halving sets each rung's epochs, so the grid must "
                          "not sweep \"epochs\" (drop grid.epochs or use {\"kind\": \"grid\"})",
                          where);
    s->kind = RCN_SCHEDULE_HALVING;
    if (parse_halving(j, where, job_epochs, k, s, err)) {
        memset(s, 0, sizeof *s);
        return -1;
    }
    return 0;
}

static json_t *rung_json(const rcn_rung *r)
{
    return json_pack("{s:i, s:i}", "epochs", r->epochs, "folds", r->folds);
}

json_t *rcn_schedule_to_json(const rcn_schedule *s)
{
    if (s->kind == RCN_SCHEDULE_GRID)
        return json_pack("{s:s}", "kind", "grid");
    json_t *o = json_pack("{s:s, s:i}", "kind", "halving", "eta", s->eta);
    if (s->generated) {
        json_object_set_new(o, "first", rung_json(&s->first));
        json_object_set_new(o, "growth", json_integer(s->growth));
    }
    json_t *rungs = json_array();
    for (int i = 0; i < s->n_rungs; i++)
        json_array_append_new(rungs, rung_json(&s->rungs[i]));
    json_object_set_new(o, "rungs", rungs);
    return o;
}

/* ---- cost and plan --------------------------------------------------- */

/* The epoch rungs before r left fold f at (0: never trained). */
static int trained_before(const rcn_schedule *s, int r, int f)
{
    int e = 0;
    for (int i = 0; i < r; i++)
        if (f < s->rungs[i].folds && s->rungs[i].epochs > e)
            e = s->rungs[i].epochs;
    return e;
}

long long rcn_schedule_rung_cost(const rcn_schedule *s, int r)
{
    assert(r >= 0 && r < s->n_rungs);
    long long c = 0;
    for (int f = 0; f < s->rungs[r].folds; f++)
        c += s->rungs[r].epochs - trained_before(s, r, f);
    return c;
}

static int keep_count(const rcn_schedule *s, int r, int n_scored)
{
    if (n_scored == 0)
        return 0;
    if (r == s->n_rungs - 1)
        return 1;
    int keep = (n_scored + s->eta - 1) / s->eta; /* grid: one rung, never here */
    return keep < 1 ? 1 : keep;
}

void rcn_schedule_plan_compute(const rcn_schedule *s, int n_cells, int k, int epochs,
                               const double *sec_per_fold_epoch, rcn_schedule_plan *p)
{
    assert(s->n_rungs >= 1 && s->rungs[s->n_rungs - 1].epochs == epochs &&
           s->rungs[s->n_rungs - 1].folds == k);
    memset(p, 0, sizeof *p);
    double sum_rate = 0;
    for (int c = 0; sec_per_fold_epoch && c < n_cells; c++)
        sum_rate += sec_per_fold_epoch[c];
    double mean_rate = n_cells ? sum_rate / n_cells : 0;
    p->n_rungs = s->n_rungs;
    p->exhaustive = (long long)n_cells * k * epochs;
    p->core_hours = p->exhaustive_core_hours = NAN;
    if (sec_per_fold_epoch) {
        p->core_hours = 0;
        p->exhaustive_core_hours = sum_rate * k * epochs / 3600;
    }
    int cells = n_cells;
    for (int r = 0; r < s->n_rungs; r++) {
        rcn_plan_rung *pr = &p->rungs[r];
        pr->epochs = s->rungs[r].epochs;
        pr->folds = s->rungs[r].folds;
        pr->cells = cells;
        pr->kept = keep_count(s, r, cells);
        long long per_cell = rcn_schedule_rung_cost(s, r);
        pr->fold_epochs = per_cell * cells;
        pr->checkpoints = r < s->n_rungs - 1 ? (long long)cells * pr->folds : 0;
        if (pr->checkpoints > p->peak_checkpoints)
            p->peak_checkpoints = pr->checkpoints;
        pr->core_hours = NAN;
        if (sec_per_fold_epoch) {
            pr->core_hours = (r == 0 ? sum_rate : mean_rate * cells) * (double)per_cell / 3600;
            p->core_hours += pr->core_hours;
        }
        p->fold_epochs += pr->fold_epochs;
        cells = pr->kept;
    }
    p->fraction = p->exhaustive ? (double)p->fold_epochs / (double)p->exhaustive : 0;
}

static void bytes_text(double b, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4)
        b /= 1024, u++;
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

void rcn_schedule_plan_print(FILE *f, const rcn_schedule *s, int n_cells, int k, int epochs,
                             double ckpt_bytes, const double *sec_per_fold_epoch)
{
    rcn_schedule_plan p;
    rcn_schedule_plan_compute(s, n_cells, k, epochs, sec_per_fold_epoch, &p);
    int rates = sec_per_fold_epoch != NULL;
    if (s->kind == RCN_SCHEDULE_HALVING)
        fprintf(f, "halving, eta %d: %d cells x %d folds x %d epochs\n", s->eta, n_cells, k,
                epochs);
    else
        fprintf(f, "grid: %d cells x %d folds x %d epochs\n", n_cells, k, epochs);
    fprintf(f, "rung  epochs  folds   cells    kept  fold-epochs  checkpoints%s\n",
            rates ? "  core-hours" : "");
    for (int r = 0; r < p.n_rungs; r++) {
        const rcn_plan_rung *pr = &p.rungs[r];
        fprintf(f, "%4d  %6d  %5d  %6d  %6d  %11lld  %11lld", r, pr->epochs, pr->folds,
                pr->cells, pr->kept, pr->fold_epochs, pr->checkpoints);
        if (rates)
            fprintf(f, "  %10.2f", pr->core_hours);
        fputc('\n', f);
    }
    fprintf(f, "total: %lld of %lld fold-epochs (%.1f%% of the exhaustive grid)\n", p.fold_epochs,
            p.exhaustive, 100 * p.fraction);
    if (rates)
        fprintf(f, "core-hours: %.2f of %.2f\n", p.core_hours, p.exhaustive_core_hours);
    char disk[32];
    bytes_text((double)p.peak_checkpoints * ckpt_bytes, disk, sizeof disk);
    fprintf(f, "checkpoints: at most %lld fold states at once (%s)\n", p.peak_checkpoints, disk);
}

/* ---- fold records ---------------------------------------------------- */

void rcn_fold_records_free(rcn_fold_record *recs, int n_recs)
{
    for (int i = 0; recs && i < n_recs; i++)
        free(recs[i].val_loss);
    free(recs);
}

/* One fold object into *r (val_loss malloc'ed). */
static int record_from_json(const json_t *fo, const char *where, size_t i, int n_cells, int k,
                            rcn_fold_record *r, rcn_error *err)
{
    const json_t *jc = json_object_get(fo, "cell"), *jf = json_object_get(fo, "fold");
    const json_t *ep = json_object_get(fo, "epochs"), *dv = json_object_get(fo, "diverged");
    if (!json_is_integer(jc) || json_integer_value(jc) < 0 || json_integer_value(jc) >= n_cells)
        return rcn_errorf(err, "%s: folds[%zu].cell: expected an integer 0..%d", where, i,
                          n_cells - 1);
    if (!json_is_integer(jf) || json_integer_value(jf) < 0 || json_integer_value(jf) >= k)
        return rcn_errorf(err, "%s: folds[%zu].fold: expected an integer 0..%d", where, i, k - 1);
    if (!json_is_array(ep))
        return rcn_errorf(err, "%s: folds[%zu].epochs: expected a list", where, i);
    if (dv && !json_is_null(dv) && !json_is_integer(json_object_get(dv, "epoch")))
        return rcn_errorf(err, "%s: folds[%zu].diverged: expected null or {\"epoch\", ...}",
                          where, i);
    r->cell = (int)json_integer_value(jc);
    r->fold = (int)json_integer_value(jf);
    r->n_epochs = (int)json_array_size(ep);
    r->diverged_at = dv && !json_is_null(dv) ? (int)json_integer_value(json_object_get(dv, "epoch"))
                                             : 0;
    const char *st = json_string_value(json_object_get(fo, "status"));
    if (!r->diverged_at && st && !strcmp(st, "diverged")) /* as the report reads it: unusable */
        r->diverged_at = r->n_epochs > 0 ? r->n_epochs : 1;
    /* diverged in training: the epochs before it; in evaluation: all of them */
    if (r->diverged_at && r->diverged_at != r->n_epochs && r->diverged_at != r->n_epochs + 1)
        return rcn_errorf(err, "%s: folds[%zu].diverged.epoch: %d, but the fold has %d epochs",
                          where, i, r->diverged_at, r->n_epochs);
    r->val_loss = malloc(sizeof *r->val_loss * (size_t)(r->n_epochs ? r->n_epochs : 1));
    if (!r->val_loss)
        return rcn_errorf(err, "%s: out of memory", where);
    for (int e = 0; e < r->n_epochs; e++) {
        const json_t *st = json_array_get(ep, (size_t)e);
        if (json_integer_value(json_object_get(st, "epoch")) != e + 1) {
            free(r->val_loss);
            return rcn_errorf(err, "%s: folds[%zu].epochs[%d].epoch: expected %d", where, i, e,
                              e + 1);
        }
        const json_t *v = json_object_get(st, "val_loss");
        double x = json_is_number(v) ? json_number_value(v) : NAN;
        r->val_loss[e] = isfinite(x) ? x : NAN;
    }
    return 0;
}

int rcn_fold_records_from_json(const json_t *folds, const char *where, int n_cells, int k,
                               rcn_fold_record **recs, int *n_recs, rcn_error *err)
{
    *recs = NULL;
    *n_recs = 0;
    if (!json_is_array(folds))
        return rcn_errorf(err, "%s: folds: expected a list", where);
    size_t n = json_array_size(folds);
    if (n > INT_MAX)
        return rcn_errorf(err, "%s: folds: too many (%zu)", where, n);
    rcn_fold_record *r = calloc(n ? n : 1, sizeof *r);
    if (!r)
        return rcn_errorf(err, "%s: out of memory for %zu folds", where, n);
    for (size_t i = 0; i < n; i++)
        if (record_from_json(json_array_get(folds, i), where, i, n_cells, k, &r[i], err)) {
            rcn_fold_records_free(r, (int)i);
            return -1;
        }
    *recs = r;
    *n_recs = (int)n;
    return 0;
}

/* ---- the race -------------------------------------------------------- */

void rcn_race_free(rcn_race *race)
{
    if (!race)
        return;
    for (int r = 0; r < race->n_decided; r++)
        free(race->rungs[r].cells);
    free(race->rungs);
    free(race->alive);
    free(race->jobs);
    memset(race, 0, sizeof *race);
}

/* How far a record reaches: its epochs, or past them when it diverged. */
static int reach(const rcn_fold_record *r)
{
    return r->diverged_at ? INT_MAX : r->n_epochs;
}

/* slot[cell * k + fold]: the record reaching furthest (the first of equals). */
static const rcn_fold_record **index_records(int n_cells, int k, const rcn_fold_record *recs,
                                             int n_recs, rcn_error *err)
{
    const rcn_fold_record **slot = calloc((size_t)n_cells * (size_t)k, sizeof *slot);
    if (!slot) {
        rcn_errorf(err, "out of memory for %d cells x %d folds", n_cells, k);
        return NULL;
    }
    for (int i = 0; i < n_recs; i++) {
        const rcn_fold_record *r = &recs[i];
        if (r->cell < 0 || r->cell >= n_cells || r->fold < 0 || r->fold >= k) {
            free(slot);
            rcn_errorf(err, "fold record %d: cell %d fold %d is outside %d cells x %d folds", i,
                       r->cell, r->fold, n_cells, k);
            return NULL;
        }
        const rcn_fold_record **s = &slot[(size_t)r->cell * (size_t)k + (size_t)r->fold];
        if (!*s || reach(r) > reach(*s))
            *s = r;
    }
    return slot;
}

enum { AT_MISSING, AT_OK, AT_DIVERGED };

/* A fold's state at epoch e: its val loss there, diverged by then, or not
 * reached yet. */
static int fold_at(const rcn_fold_record *r, int e, double *loss)
{
    if (!r)
        return AT_MISSING;
    if (r->diverged_at && r->diverged_at <= e)
        return AT_DIVERGED;
    if (r->n_epochs < e)
        return r->diverged_at ? AT_DIVERGED : AT_MISSING;
    *loss = r->val_loss[e - 1];
    return isfinite(*loss) ? AT_OK : AT_DIVERGED;
}

static int cmp_rung_cell(const void *pa, const void *pb)
{
    const rcn_rung_cell *a = pa, *b = pb;
    if (a->diverged != b->diverged)
        return a->diverged - b->diverged;
    if (!a->diverged && a->score != b->score)
        return a->score < b->score ? -1 : 1;
    return (a->cell > b->cell) - (a->cell < b->cell);
}

/* Scores the rung's cells, or lists the fold jobs it still needs (*n_jobs
 * > 0; jobs has room for every fold of every cell in). */
static void rung_scan(const rcn_schedule *s, int r, int k, const rcn_fold_record **slot,
                      const int *in, int n_in, rcn_rung_result *res, rcn_fold_job *jobs,
                      int *n_jobs)
{
    const rcn_rung *rung = &s->rungs[r];
    *n_jobs = 0;
    res->fold_epochs = 0;
    for (int i = 0; i < n_in; i++) {
        rcn_rung_cell *rc = &res->cells[i];
        rc->cell = in[i];
        rc->score = NAN;
        rc->diverged = rc->kept = 0;
        double sum = 0;
        int missing = 0;
        for (int f = 0; f < rung->folds; f++) {
            const rcn_fold_record *rec = slot[(size_t)in[i] * (size_t)k + (size_t)f];
            int prev = trained_before(s, r, f), to = rung->epochs;
            double loss = 0;
            int st = fold_at(rec, rung->epochs, &loss);
            if (st == AT_DIVERGED) {
                rc->diverged = 1;
                if (rec->diverged_at && rec->diverged_at < to)
                    to = rec->diverged_at;
            } else if (st == AT_MISSING) {
                missing = 1;
                jobs[(*n_jobs)++] = (rcn_fold_job){in[i], f, rec ? rec->n_epochs : 0,
                                                   rung->epochs};
            } else {
                sum += loss;
            }
            res->fold_epochs += to > prev ? to - prev : 0;
        }
        /* a cell with a diverged fold leaves at the decision, but the
         * rung's other folds of it are trained all the same: which folds a
         * rung trains must not depend on when a divergence was journaled
         * (at another -np, or before a kill, the other folds may already be
         * done), or the fold lines would not be a pure function of the job */
        if (!rc->diverged && !missing)
            rc->score = sum / rung->folds;
    }
}

/* Ranks a scanned rung and marks the kept cells. */
static void rung_decide(const rcn_schedule *s, int r, rcn_rung_result *res)
{
    qsort(res->cells, (size_t)res->n_in, sizeof *res->cells, cmp_rung_cell);
    res->n_diverged = 0;
    for (int i = 0; i < res->n_in; i++)
        res->n_diverged += res->cells[i].diverged;
    res->n_kept = keep_count(s, r, res->n_in - res->n_diverged);
    res->n_eliminated = res->n_in - res->n_diverged - res->n_kept;
    for (int i = 0; i < res->n_kept; i++)
        res->cells[i].kept = 1;
}

static int cmp_int(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    return (a > b) - (a < b);
}

/* Runs the rungs over the indexed records until one needs fold jobs. */
static int race_run(const rcn_schedule *s, int n_cells, int k, const rcn_fold_record **slot,
                    rcn_race *race, rcn_error *err)
{
    race->rungs = calloc((size_t)s->n_rungs, sizeof *race->rungs);
    race->alive = malloc(sizeof *race->alive * (size_t)n_cells);
    race->jobs = malloc(sizeof *race->jobs * (size_t)n_cells * (size_t)k);
    if (!race->rungs || !race->alive || !race->jobs)
        return rcn_errorf(err, "out of memory for the race of %d cells", n_cells);
    race->n_alive = n_cells;
    for (int c = 0; c < n_cells; c++)
        race->alive[c] = c;
    for (int r = 0; r < s->n_rungs; r++) {
        rcn_rung_result *res = &race->rungs[r];
        res->epochs = s->rungs[r].epochs;
        res->folds = s->rungs[r].folds;
        res->n_in = race->n_alive;
        res->cells = malloc(sizeof *res->cells * (size_t)(res->n_in ? res->n_in : 1));
        if (!res->cells)
            return rcn_errorf(err, "out of memory for the race of %d cells", n_cells);
        race->current = r;
        rung_scan(s, r, k, slot, race->alive, race->n_alive, res, race->jobs, &race->n_jobs);
        if (race->n_jobs > 0) {
            free(res->cells);
            memset(res, 0, sizeof *res);
            return 0;
        }
        rung_decide(s, r, res);
        race->n_decided = r + 1;
        race->fold_epochs += res->fold_epochs;
        race->n_alive = res->n_kept;
        for (int i = 0; i < res->n_kept; i++)
            race->alive[i] = res->cells[i].cell;
        qsort(race->alive, (size_t)race->n_alive, sizeof *race->alive, cmp_int);
        if (race->n_alive == 0)
            break; /* every cell diverged: no winner */
    }
    race->finished = 1;
    race->current = s->n_rungs;
    const rcn_rung_result *last = &race->rungs[race->n_decided - 1];
    race->winner = race->n_decided == s->n_rungs && last->n_kept ? last->cells[0].cell : -1;
    race->n_alive = 0;
    return 0;
}

int rcn_race_eval(const rcn_schedule *s, int n_cells, int k, const rcn_fold_record *recs,
                  int n_recs, rcn_race *race, rcn_error *err)
{
    assert(s->n_rungs >= 1 && s->rungs[s->n_rungs - 1].folds == k && n_cells >= 1);
    memset(race, 0, sizeof *race);
    race->winner = -1;
    race->exhaustive = (long long)n_cells * k * s->rungs[s->n_rungs - 1].epochs;
    const rcn_fold_record **slot = index_records(n_cells, k, recs, n_recs, err);
    if (!slot)
        return -1;
    int rc = race_run(s, n_cells, k, slot, race, err);
    free(slot);
    if (rc)
        rcn_race_free(race);
    return rc;
}

json_t *rcn_race_to_json(const rcn_race *race)
{
    json_t *rungs = json_array();
    for (int r = 0; r < race->n_decided; r++) {
        const rcn_rung_result *res = &race->rungs[r];
        json_t *cells = json_array();
        for (int i = 0; i < res->n_in; i++) {
            const rcn_rung_cell *c = &res->cells[i];
            json_array_append_new(cells, json_pack("{s:i, s:o, s:s}", "cell", c->cell, "score",
                                                   isfinite(c->score) ? json_real(c->score)
                                                                      : json_null(),
                                                   "status", c->kept ? "kept" : c->diverged
                                                   ? "diverged" : "eliminated"));
        }
        json_array_append_new(rungs, json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:o}",
                                               "epochs", res->epochs, "folds", res->folds,
                                               "cells_in", res->n_in, "kept", res->n_kept,
                                               "eliminated", res->n_eliminated, "diverged",
                                               res->n_diverged, "fold_epochs",
                                               (json_int_t)res->fold_epochs, "cells", cells));
    }
    return json_pack("{s:o, s:b, s:o, s:I, s:I, s:f}", "rungs", rungs, "finished", race->finished,
                     "winner", race->winner >= 0 ? json_integer(race->winner) : json_null(),
                     "fold_epochs", (json_int_t)race->fold_epochs, "exhaustive_fold_epochs",
                     (json_int_t)race->exhaustive, "fraction",
                     race->exhaustive ? (double)race->fold_epochs / (double)race->exhaustive : 0.0);
}
