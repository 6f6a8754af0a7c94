/* test_report.c - the report aggregation (rcn_report_from_folds): fold
 * objects -> cells, marginals (the paper's Table 2), best, meta; checked
 * against sums recomputed here from the per-fold numbers; plus the plan's
 * cell numbering and keys, NaN handling and bad fold objects; and a racing
 * job's report from the fold objects a race writes (continued folds, the
 * race's statuses, budget, Table 2 over the complete cells, the winner). */
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rcn/job.h"
#include "rcn/plan.h"
#include "rcn/report.h"
#include "rcn/view.h"

#define K 3
#define NB 2
#define NL 3
static const int batches[NB] = {32, 64};
static const double lrs[NL] = {0.05, 0.1, 0.2};

static json_t *make_job(void)
{
    json_error_t e;
    json_t *j = json_loads("{\"name\": \"t\", \"batch_size\": 64, \"lr\": 0.01, \"momentum\": 0.5,"
                           " \"epochs\": 2, \"grid\": {\"batch_size\": {\"values\": [32, 64]},"
                           " \"lr\": {\"from\": 0.05, \"to\": 0.2, \"step\": 0.05,"
                           " \"values\": [0.05, 0.1, 0.2]}},"
                           " \"validation\": {\"kind\": \"kfold\", \"folds\": 3}}",
                           0, &e);
    if (!j)
        fprintf(stderr, "bad test job: %s\n", e.text);
    return j;
}

/* Deterministic per-fold numbers; cells 2 (32, 0.2) and 0 (32, 0.05) diverge
 * in one fold each, cell 5 (64, 0.2) in fold 1: the batch-32 row has 2 of 3
 * cells diverged ("Divergence"), the batch-64 row 1 of 3 ("ok"). */
static int diverges(int cell, int fold)
{
    return (cell == 2 && fold == 0) || (cell == 0 && fold == 2) || (cell == 5 && fold == 1);
}
static double tr_loss(int cell, int fold) { return 0.1 + 0.01 * cell + 0.003 * fold; }
static double va_loss(int cell, int fold) { return 0.5 - 0.04 * cell + 0.007 * fold * fold; }
static double va_acc(int cell, int fold) { return 0.9 + 0.005 * cell - 0.002 * fold; }

static void fill_result(int cell, int fold, rcn_train_result *r)
{
    rcn_train_result_clear(r);
    r->n_epochs = 2;
    for (int e = 0; e < 2; e++) {
        r->epochs[e] = (rcn_epoch_stats){.epoch = e + 1,
                                         .train_loss = tr_loss(cell, fold) * (2 - e),
                                         .train_accuracy = 0.8,
                                         .val_loss = va_loss(cell, fold) * (2 - e),
                                         .val_accuracy = va_acc(cell, fold),
                                         .seconds = 1.5,
                                         .images_per_second = 1000};
    }
    r->seconds = 3.0 + cell;
    if (diverges(cell, fold)) {
        r->n_epochs = 1;
        r->diverged = 1;
        r->diverged_epoch = 2;
        r->diverged_batch = 7;
        r->diverged_loss = INFINITY;
    }
}

static double mean(const double *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s / n;
}

static const json_t *cell_of(const json_t *rep, int c)
{
    return json_array_get(json_object_get(rep, "cells"), (size_t)c);
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void test_plan(const json_t *job)
{
    rcn_plan p;
    rcn_error err;
    CHECK(rcn_plan_from_json(job, "job", &p, &err) == 0, "plan: %s", err.msg);
    CHECK(p.n_cells == NB * NL && p.n_folds == K, "cells %d folds %d", p.n_cells, p.n_folds);
    CHECK(!strcmp(p.cells[0].key, "batch_size=32,lr=0.05"), "key0 %s", p.cells[0].key);
    CHECK(!strcmp(p.cells[4].key, "batch_size=64,lr=0.1"), "key4 %s", p.cells[4].key);
    CHECK(p.cells[4].batch_size == 64 && p.cells[4].lr == 0.1 && p.cells[4].epochs == 2 &&
              p.cells[4].momentum == 0.5, "cell 4 params");
    rcn_plan_free(&p);

    json_t *flat = json_pack("{s:i, s:f, s:f, s:i, s:{s:s}}", "batch_size", 16, "lr", 0.3,
                             "momentum", 0.9, "epochs", 1, "validation", "kind", "test");
    CHECK(rcn_plan_from_json(flat, "job", &p, &err) == 0, "flat plan: %s", err.msg);
    CHECK(p.n_cells == 1 && p.n_folds == 1 && p.kind == RCN_VALID_TEST, "flat shape");
    CHECK(!strcmp(p.cells[0].key, "default"), "flat key %s", p.cells[0].key);
    rcn_plan_free(&p);
    json_object_set_new(flat, "validation", json_pack("{s:s, s:i}", "kind", "kfold", "folds", 1));
    CHECK(rcn_plan_from_json(flat, "j.json: job", &p, &err) != 0 &&
              strstr(err.msg, "j.json: job: validation.folds"), "folds 1 refused: %s", err.msg);
    json_decref(flat);
}

/* Every shipped job: the plan read back from the normalised job JSON (what
 * journals and reports hold) numbers, spells and parameterises the cells
 * exactly as the job's own plan does (e.g. the 39 decimal learning rates of
 * table2.json). Runs from the repository root; data from the bad-job
 * fixtures (loading checks only that the files exist). */
static void test_shipped_jobs(void)
{
    glob_t g;
    if (glob("jobs/*.json", 0, NULL, &g) != 0) {
        fprintf(stderr, "test_report: no jobs/*.json here: shipped-job check skipped\n");
        return;
    }
    setenv("RCN_DATA_DIR", "tests/bad/jobs/data", 1);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        rcn_job job;
        rcn_plan p;
        rcn_error err;
        if (rcn_job_load(g.gl_pathv[i], &job, &err) != 0) {
            CHECK(0, "%s: %s", g.gl_pathv[i], err.msg);
            continue;
        }
        CHECK(rcn_plan_from_json(job.json, g.gl_pathv[i], &p, &err) == 0, "%s", err.msg);
        CHECK(p.n_cells == job.plan.n_cells, "%s: cells", g.gl_pathv[i]);
        CHECK(p.n_folds == job.folds && (int)p.kind == (int)job.valid_kind && p.refit == job.refit,
              "%s: validation", g.gl_pathv[i]);
        for (int c = 0; c < p.n_cells && c < job.plan.n_cells; c++) {
            rcn_plan_cell cell = *rcn_plan_cell_at(&job.plan, c);
            json_t *params = json_incref(cell.params);
            int same = !strcmp(cell.key, p.cells[c].key) && cell.lr == p.cells[c].lr &&
                       cell.momentum == p.cells[c].momentum &&
                       cell.batch_size == p.cells[c].batch_size &&
                       cell.epochs == p.cells[c].epochs && json_equal(params, p.cells[c].params);
            json_decref(params);
            if (!same) {
                CHECK(0, "%s: cell %d: job \"%s\", plan \"%s\"", g.gl_pathv[i], c, cell.key,
                      p.cells[c].key);
                break;
            }
        }
        rcn_plan_free(&p);
        rcn_job_free(&job);
    }
    unsetenv("RCN_DATA_DIR");
    globfree(&g);
}

/* ---- racing ----------------------------------------------------------- */

static const char *str_at(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "(none)";
}

/* The fold objects a race of the test job writes under the schedule
 * (1 epoch, 1 fold) -> (2 epochs, 3 folds), eta 3: rung 0 trains fold 0 of
 * every cell to epoch 1 (cell 2's fold 0 diverges only in epoch 2); the
 * scores 2 * va_loss(c, 0) fall with c, so cells 4 and 5 go on and train
 * folds 0..2 to epoch 2 (fold 0 continued: its object holds both epochs),
 * where cell 5 diverges in fold 1 and cell 4 wins. full: rung 1 too. The
 * continued fold 0 of cell 4 comes before its rung-0 object. */
static json_t *race_folds(const rcn_plan *p, rcn_train_result *res, int full)
{
    json_t *folds = json_array();
    if (full) {
        fill_result(4, 0, res);
        json_array_append_new(folds, rcn_fold_to_json(&p->cells[4], 0, res));
    }
    for (int c = 0; c < NB * NL; c++) {
        fill_result(c, 0, res);
        res->n_epochs = 1;
        res->diverged = 0; /* a divergence in epoch 2 has not happened yet */
        json_array_append_new(folds, rcn_fold_to_json(&p->cells[c], 0, res));
    }
    for (int c = 4; full && c < 6; c++)
        for (int f = c == 4; f < K; f++) {
            fill_result(c, f, res);
            json_array_append_new(folds, rcn_fold_to_json(&p->cells[c], f, res));
        }
    return folds;
}

static json_t *race_job(void)
{
    json_t *job = make_job();
    json_error_t e;
    json_object_set_new(job, "schedule",
                        json_loads("{\"kind\": \"halving\", \"eta\": 3, \"rungs\": [{\"epochs\": "
                                   "1, \"folds\": 1}, {\"epochs\": 2, \"folds\": 3}]}", 0, &e));
    return job;
}

static void test_race_cells(const json_t *rep)
{
    for (int c = 0; c < 4; c++) {
        const json_t *cj = cell_of(rep, c), *r = json_object_get(cj, "race");
        CHECK(!strcmp(str_at(cj, "status"), "eliminated") &&
                  !strcmp(str_at(r, "status"), "eliminated"), "cell %d eliminated", c);
        CHECK(json_integer_value(json_object_get(r, "rung")) == 0 &&
                  json_integer_value(json_object_get(r, "folds")) == 1 &&
                  json_integer_value(json_object_get(r, "epochs")) == 1, "cell %d at rung 0", c);
        CHECK_CLOSE(num(r, "score"), 2 * va_loss(c, 0), 1e-12, "eliminated score");
        CHECK_CLOSE(num(cj, "mean_val_loss"), 2 * va_loss(c, 0), 1e-12, "means over its fold");
        CHECK(json_is_null(json_object_get(cj, "rank_val_loss")), "cell %d unranked", c);
    }
    const json_t *c4 = cell_of(rep, 4), *r4 = json_object_get(c4, "race");
    double v[K] = {va_loss(4, 0), va_loss(4, 1), va_loss(4, 2)};
    CHECK(!strcmp(str_at(c4, "status"), "ok") && !strcmp(str_at(r4, "status"), "complete") &&
              json_integer_value(json_object_get(r4, "rung")) == 1 &&
              json_integer_value(json_object_get(r4, "folds")) == K &&
              json_integer_value(json_object_get(r4, "epochs")) == 2, "cell 4 complete");
    CHECK_CLOSE(num(c4, "mean_val_loss"), mean(v, K), 1e-12, "cell 4: the continued fold 0");
    CHECK_CLOSE(num(r4, "score"), mean(v, K), 1e-12, "cell 4 score");
    CHECK(json_integer_value(json_object_get(c4, "rank_val_loss")) == 1, "cell 4 rank 1");
    const json_t *c5 = cell_of(rep, 5);
    CHECK(!strcmp(str_at(c5, "status"), "diverged") &&
              !strcmp(str_at(json_object_get(c5, "race"), "status"), "diverged") &&
              json_integer_value(json_object_get(json_object_get(c5, "race"), "rung")) == 1,
          "cell 5 diverged in rung 1");
}

static void test_race_tables(const json_t *rep)
{
    const json_t *mb = json_object_get(json_object_get(rep, "marginals"), "batch_size");
    const json_t *r32 = json_array_get(mb, 0), *r64 = json_array_get(mb, 1);
    CHECK(!strcmp(str_at(r32, "status"), "eliminated") &&
              json_integer_value(json_object_get(r32, "n_included")) == 0 &&
              json_integer_value(json_object_get(r32, "n_eliminated")) == 3 &&
              json_is_null(json_object_get(r32, "mean_val_loss")), "batch 32: all eliminated");
    CHECK(!strcmp(str_at(r64, "status"), "ok") &&
              json_integer_value(json_object_get(r64, "n_included")) == 1 &&
              json_integer_value(json_object_get(r64, "n_eliminated")) == 1 &&
              json_integer_value(json_object_get(r64, "n_diverged")) == 1,
          "batch 64: cell 4 complete, 3 eliminated, 5 diverged");
    CHECK_CLOSE(num(r64, "mean_val_loss"), num(cell_of(rep, 4), "mean_val_loss"), 1e-15,
                "Table 2 over the complete cells");
    const json_t *best = json_object_get(rep, "best");
    CHECK(json_integer_value(json_object_get(best, "cell")) == 4, "the race's winner is best");

    const json_t *race = json_object_get(rep, "race"), *rungs = json_object_get(race, "rungs");
    CHECK(json_is_true(json_object_get(race, "finished")) &&
              json_integer_value(json_object_get(race, "winner")) == 4 &&
              json_array_size(rungs) == 2 && json_array_size(json_object_get(race, "alive")) == 0 &&
              json_integer_value(json_object_get(race, "current")) == 2, "race finished, 4 won");
    CHECK(strstr(str_at(race, "rule"), "successive halving, eta 3") != NULL, "rule %s",
          str_at(race, "rule"));
    const json_t *g0 = json_array_get(rungs, 0), *g1 = json_array_get(rungs, 1);
    CHECK(json_integer_value(json_object_get(g0, "kept")) == 2 &&
              json_integer_value(json_object_get(g0, "eliminated")) == 4 &&
              strstr(str_at(g0, "rule"), "keep the best 2 of 6"), "rung 0: %s", str_at(g0, "rule"));
    const json_t *g0b = json_object_get(json_object_get(g0, "marginals"), "batch_size");
    const json_t *g1b = json_object_get(json_object_get(g1, "marginals"), "batch_size");
    CHECK_CLOSE(num(json_array_get(g0b, 0), "mean_val_loss"),
                2 * (va_loss(0, 0) + va_loss(1, 0) + va_loss(2, 0)) / 3, 1e-12,
                "rung 0's Table 2 row 32: mean score");
    CHECK(json_integer_value(json_object_get(json_array_get(g0b, 1), "n_kept")) == 2,
          "rung 0: both kept cells have batch 64");
    CHECK(json_integer_value(json_object_get(json_array_get(g1b, 0), "n_cells")) == 0 &&
              !strcmp(str_at(json_array_get(g1b, 0), "status"), "eliminated"),
          "rung 1 has no batch-32 cell");
}

static void test_race_view(json_t *rep)
{
    rcn_view_report *v;
    rcn_error err;
    CHECK(rcn_view_from_json(rep, "r.json", &v, &err) == 0, "view reads the race: %s", err.msg);
    if (v) {
        CHECK(v->has_race && v->race.n_rungs == 2 && v->race.winner == 4 && v->race.eta == 3 &&
                  v->race.fold_epochs == 15 && v->cells[0].status == RCN_VIEW_ELIMINATED &&
                  v->cells[0].race == RCN_VIEW_RACE_ELIMINATED &&
                  v->marginals[RCN_AXIS_BATCH].rows[0].status == RCN_VIEW_ROW_ELIMINATED,
              "view's race");
        rcn_view_free(v);
    }
    json_t *g0 = json_array_get(json_object_get(json_object_get(rep, "race"), "rungs"), 0);
    json_t *kept = json_incref(json_object_get(g0, "kept"));
    json_object_set_new(g0, "kept", json_string("2"));
    CHECK(rcn_view_from_json(rep, "r.json", &v, &err) != 0 &&
              strstr(err.msg, "r.json: race.rungs[0].kept: expected an integer"),
          "damaged race object: %s", err.msg);
    json_object_set_new(g0, "kept", kept);
    json_t *r0 = json_object_get(cell_of(rep, 0), "race");
    json_object_set_new(r0, "status", json_string("won"));
    CHECK(rcn_view_from_json(rep, "r.json", &v, &err) != 0 &&
              strstr(err.msg, "cells[0].race.status: \"won\""), "bad race status: %s", err.msg);
    json_object_set_new(r0, "status", json_string("eliminated"));
}

static void test_race(const rcn_plan *p, rcn_train_result *res)
{
    rcn_error err;
    json_t *job = race_job(), *folds = race_folds(p, res, 1);
    json_t *rep = rcn_report_from_folds(job, folds, NULL, &err);
    CHECK(rep != NULL, "race report: %s", err.msg);
    if (!rep)
        return;
    const json_t *m = json_object_get(rep, "meta");
    CHECK(!strcmp(str_at(m, "schedule"), "halving") && !strcmp(str_at(m, "status"), "complete"),
          "race meta");
    /* trained: cells 0..3 one epoch of fold 0; cell 4 3 x 2; cell 5 2 + 1 + 2 */
    CHECK(json_integer_value(json_object_get(m, "fold_epochs")) == 15 &&
              json_integer_value(json_object_get(m, "exhaustive_fold_epochs")) == NB * NL * K * 2,
          "fold-epochs");
    CHECK_CLOSE(num(m, "budget_fraction"), 15.0 / 36, 1e-15, "budget_fraction");
    const json_t *f40 = json_array_get(json_object_get(rep, "folds"), 4);
    CHECK(json_array_size(json_object_get(rep, "folds")) == 4 + 2 * K &&
              json_integer_value(json_object_get(f40, "cell")) == 4 &&
              json_array_size(json_object_get(f40, "epochs")) == 2, "the furthest fold 0 counts");
    const char *key, *last = NULL, *before = NULL;
    json_t *val;
    json_object_foreach(rep, key, val) {
        before = last;
        last = key;
    }
    CHECK(last && !strcmp(last, "race") && before && !strcmp(before, "refit"),
          "race is the last key, after refit");
    test_race_cells(rep);
    test_race_tables(rep);
    char *text = NULL;
    size_t tlen = 0;
    FILE *mf = open_memstream(&text, &tlen);
    rcn_report_print_summary(mf, rep);
    fclose(mf);
    CHECK(strstr(text, "chosen by successive halving: eta 3, rungs (1,1) (2,3); 6 -> 2 -> 1 cells; "
                       "15 of 36 fold-epochs (41.7%)") &&
              strstr(text, "over the complete cells") && strstr(text, "(eliminated)") &&
              strstr(text, "best: batch_size=64,lr=0.1 (cell 4)"), "race summary:\n%s", text);
    free(text);
    test_race_view(rep);
    json_decref(rep);
    json_decref(folds);

    /* rung 0 decided, rung 1 not started: 4 and 5 race on */
    folds = race_folds(p, res, 0);
    rep = rcn_report_from_folds(job, folds, NULL, &err);
    CHECK(rep != NULL, "partial race: %s", err.msg);
    const json_t *race = json_object_get(rep, "race");
    CHECK(!json_is_true(json_object_get(race, "finished")) &&
              json_integer_value(json_object_get(race, "current")) == 1 &&
              json_array_size(json_object_get(race, "alive")) == 2, "rung 1 in progress");
    CHECK(!strcmp(str_at(cell_of(rep, 4), "status"), "incomplete") &&
              !strcmp(str_at(json_object_get(cell_of(rep, 5), "race"), "status"), "racing") &&
              json_integer_value(json_object_get(json_object_get(cell_of(rep, 5), "race"),
                                                 "rung")) == 1, "cells 4, 5 racing");
    CHECK(json_is_null(json_object_get(rep, "best")) &&
              !strcmp(str_at(json_object_get(rep, "meta"), "status"), "incomplete"),
          "no best yet");
    CHECK(!strcmp(str_at(json_array_get(json_object_get(json_object_get(rep, "marginals"),
                                                        "batch_size"), 1), "status"),
                  "incomplete"), "batch 64 row still racing");
    json_decref(rep);
    json_decref(folds);
    json_decref(job);
}

int main(void)
{
    test_shipped_jobs();
    json_t *job = make_job();
    CHECK(job != NULL, "job");
    test_plan(job);

    rcn_plan p;
    rcn_error err;
    rcn_plan_from_json(job, "job", &p, &err);
    rcn_train_result *res = rcn_train_result_create(2, NULL);
    /* folds in a scrambled order, plus a duplicate that must be ignored */
    json_t *folds = json_array();
    for (int i = 0; i < NB * NL * K; i++) {
        int s = (i * 7) % (NB * NL * K);
        fill_result(s / K, s % K, res);
        json_array_append_new(folds, rcn_fold_to_json(&p.cells[s / K], s % K, res));
    }
    fill_result(4, 1, res);
    res->epochs[1].val_loss = 99; /* a later duplicate: must not count */
    json_array_append_new(folds, rcn_fold_to_json(&p.cells[4], 1, res));

    json_t *meta = json_pack("{s:s, s:i}", "job_hash", "0123456789abcdef", "ranks", 3);
    json_t *rep = rcn_report_from_folds(job, folds, meta, &err);
    CHECK(rep != NULL, "report: %s", err.msg);
    if (!rep)
        return check_exit("test_report");

    /* key order of the contract */
    static const char *const top[] = {"meta", "job", "folds", "cells", "marginals", "best", "refit"};
    const char *key;
    json_t *val;
    size_t ki = 0;
    json_object_foreach(rep, key, val) {
        CHECK(ki < 7 && !strcmp(key, top[ki]), "top-level key %zu is %s", ki, key);
        ki++;
    }
    const json_t *m = json_object_get(rep, "meta");
    CHECK(!strcmp(json_string_value(json_object_get(m, "format")), "rcn-report"), "format");
    CHECK(json_integer_value(json_object_get(m, "folds_done")) == NB * NL * K, "folds_done");
    CHECK(json_integer_value(json_object_get(m, "folds_total")) == NB * NL * K, "folds_total");
    CHECK(!strcmp(json_string_value(json_object_get(m, "status")), "complete"), "status");
    CHECK(json_integer_value(json_object_get(m, "ranks")) == 3, "ranks passed through");
    CHECK(!json_object_get(m, "schedule") && !json_object_get(m, "budget_fraction") &&
              !json_object_get(cell_of(rep, 0), "race"), "a grid job has no race keys");
    CHECK(!strcmp(json_string_value(json_object_get(m, "job_hash")), "0123456789abcdef"), "hash");

    /* folds sorted by (cell, fold), no duplicate, no journal "type" */
    const json_t *rf = json_object_get(rep, "folds");
    CHECK(json_array_size(rf) == NB * NL * K, "fold count %zu", json_array_size(rf));
    for (size_t i = 0; i < json_array_size(rf); i++) {
        const json_t *f = json_array_get(rf, i);
        CHECK(json_integer_value(json_object_get(f, "cell")) == (json_int_t)(i / K) &&
                  json_integer_value(json_object_get(f, "fold")) == (json_int_t)(i % K),
              "fold %zu out of order", i);
        int dv = diverges((int)i / K, (int)i % K);
        CHECK(!strcmp(json_string_value(json_object_get(f, "status")), dv ? "diverged" : "ok"),
              "fold %zu status", i);
        CHECK(dv ? json_is_null(json_object_get(f, "val_loss"))
                 : num(f, "val_loss") == va_loss((int)i / K, (int)i % K),
              "fold %zu final val_loss", i);
        if (dv) {
            const json_t *d = json_object_get(f, "diverged");
            CHECK(json_integer_value(json_object_get(d, "epoch")) == 2 &&
                      json_integer_value(json_object_get(d, "batch")) == 7 &&
                      json_is_null(json_object_get(d, "loss")), "diverged record (inf -> null)");
        }
    }

    /* cells, recomputed */
    double cmt[NB * NL], cmv[NB * NL];
    int cok[NB * NL];
    for (int c = 0; c < NB * NL; c++) {
        const json_t *cj = cell_of(rep, c);
        double t[K], v[K], a[K], fit[K];
        int n = 0, nd = 0;
        for (int f = 0; f < K; f++) {
            if (diverges(c, f)) {
                nd++;
                continue;
            }
            t[n] = tr_loss(c, f), v[n] = va_loss(c, f), a[n] = va_acc(c, f), fit[n] = 3.0 + c;
            n++;
        }
        cok[c] = nd == 0;
        CHECK(!strcmp(json_string_value(json_object_get(cj, "status")), nd ? "diverged" : "ok"),
              "cell %d status", c);
        CHECK(json_integer_value(json_object_get(cj, "n_diverged")) == nd, "cell %d n_div", c);
        CHECK(json_integer_value(json_object_get(cj, "n_folds_done")) == K, "cell %d done", c);
        if (!cok[c]) {
            CHECK(json_is_null(json_object_get(cj, "mean_val_loss")) &&
                      json_is_null(json_object_get(cj, "rank_val_loss")),
                  "diverged cell %d has null means", c);
            continue;
        }
        cmt[c] = mean(t, n);
        cmv[c] = mean(v, n);
        double sd = 0;
        for (int i = 0; i < n; i++)
            sd += (v[i] - cmv[c]) * (v[i] - cmv[c]);
        sd = sqrt(sd / n);
        CHECK_CLOSE(num(cj, "mean_train_loss"), cmt[c], 1e-12, "mean_train_loss");
        CHECK_CLOSE(num(cj, "mean_val_loss"), cmv[c], 1e-12, "mean_val_loss");
        CHECK_CLOSE(num(cj, "std_val_loss"), sd, 1e-12, "std_val_loss");
        CHECK_CLOSE(num(cj, "mean_val_accuracy"), mean(a, n), 1e-12, "mean_val_accuracy");
        CHECK_CLOSE(num(cj, "mean_fit_time"), mean(fit, n), 1e-12, "mean_fit_time");
        CHECK_CLOSE(num(cj, "split2_val_loss"), va_loss(c, 2), 1e-12, "split2_val_loss");
    }
    /* ok cells: 1, 3, 4; val loss decreases with the cell index: 4 is best */
    CHECK(json_integer_value(json_object_get(cell_of(rep, 4), "rank_val_loss")) == 1, "rank 4");
    CHECK(json_integer_value(json_object_get(cell_of(rep, 3), "rank_val_loss")) == 2, "rank 3");
    CHECK(json_integer_value(json_object_get(cell_of(rep, 1), "rank_val_loss")) == 3, "rank 1");
    const json_t *best = json_object_get(rep, "best");
    CHECK(json_integer_value(json_object_get(best, "cell")) == 4, "best cell");
    CHECK(!strcmp(json_string_value(json_object_get(best, "key")), "batch_size=64,lr=0.1"),
          "best key");
    CHECK_CLOSE(num(best, "mean_val_loss"), cmv[4], 1e-12, "best mean_val_loss");

    /* Table 2: marginals.batch_size, recomputed from the per-fold numbers */
    const json_t *mb = json_object_get(json_object_get(rep, "marginals"), "batch_size");
    CHECK(json_array_size(mb) == NB, "batch rows");
    for (int b = 0; b < NB; b++) {
        const json_t *row = json_array_get(mb, (size_t)b);
        double st = 0, sv = 0;
        int inc = 0, div = 0;
        for (int l = 0; l < NL; l++) {
            int c = b * NL + l;
            if (!cok[c]) {
                div++;
                continue;
            }
            st += cmt[c], sv += cmv[c], inc++;
        }
        CHECK(json_integer_value(json_object_get(row, "value")) == batches[b], "row value");
        CHECK(json_integer_value(json_object_get(row, "n_cells")) == NL, "row n_cells");
        CHECK(json_integer_value(json_object_get(row, "n_included")) == inc, "row n_included");
        CHECK(json_integer_value(json_object_get(row, "n_diverged")) == div, "row n_diverged");
        CHECK(!strcmp(json_string_value(json_object_get(row, "status")),
                      2 * div > NL ? "Divergence" : "ok"), "row %d status", b);
        CHECK_CLOSE(num(row, "mean_train_loss"), st / inc, 1e-12, "row mean_train_loss");
        CHECK_CLOSE(num(row, "mean_val_loss"), sv / inc, 1e-12, "row mean_val_loss");
    }
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(mb, 0), "status")),
                  "Divergence"), "batch 32 is the Divergence row");
    const json_t *ml = json_object_get(json_object_get(rep, "marginals"), "lr");
    CHECK(json_array_size(ml) == NL, "lr rows");
    CHECK(json_real_value(json_object_get(json_array_get(ml, 2), "value")) == lrs[2], "lr value");
    CHECK(!json_object_get(json_object_get(rep, "marginals"), "momentum"), "unswept axis absent");

    /* the text summary: Table 2 with its Divergence row and the best cell */
    char *text = NULL;
    size_t tlen = 0;
    FILE *mf = open_memstream(&text, &tlen);
    rcn_report_print_summary(mf, rep);
    fclose(mf);
    CHECK(strstr(text, "Table 2") && strstr(text, "Divergence") &&
              strstr(text, "best: batch_size=64,lr=0.1"), "summary:\n%s", text);
    free(text);
    /* every number encodable (no NaN/Inf reached jansson) */
    char *dump = json_dumps(rep, 0);
    CHECK(dump != NULL, "report encodes");
    free(dump);
    json_decref(rep);

    /* a partial report: the first 5 folds only */
    json_t *part = json_array();
    for (int s = 0; s < 5; s++) {
        fill_result(s / K, s % K, res);
        json_array_append_new(part, rcn_fold_to_json(&p.cells[s / K], s % K, res));
    }
    rep = rcn_report_from_folds(job, part, NULL, &err);
    m = json_object_get(rep, "meta");
    CHECK(!strcmp(json_string_value(json_object_get(m, "status")), "incomplete"), "partial status");
    CHECK(json_integer_value(json_object_get(m, "folds_done")) == 5, "partial folds_done");
    CHECK(json_is_null(json_object_get(m, "job_hash")), "missing meta is null");
    CHECK(!strcmp(json_string_value(json_object_get(cell_of(rep, 1), "status")), "incomplete"),
          "cell 1 incomplete (2 of 3 folds)");
    CHECK(json_is_null(json_object_get(rep, "best")), "no best among incomplete cells");
    CHECK(!strcmp(json_string_value(json_object_get(
                      json_array_get(json_object_get(json_object_get(rep, "marginals"),
                                                     "batch_size"), 1), "status")),
                  "incomplete"), "batch 64 row incomplete");
    json_decref(rep);
    json_decref(part);

    /* a training whose last evaluation is NaN without tripping divergence */
    fill_result(1, 0, res);
    res->epochs[1].val_loss = NAN;
    json_t *nanfold = rcn_fold_to_json(&p.cells[1], 0, res);
    CHECK(!strcmp(json_string_value(json_object_get(nanfold, "status")), "diverged") &&
              json_is_null(json_object_get(nanfold, "val_loss")) &&
              json_is_null(json_object_get(json_array_get(json_object_get(nanfold, "epochs"), 1),
                                           "val_loss")),
          "NaN evaluation -> diverged, nulls");
    json_decref(nanfold);

    /* bad fold objects name the culprit */
    json_t *bad = json_pack("[{s:i, s:i, s:s}]", "cell", 6, "fold", 0, "status", "ok");
    CHECK(!rcn_report_from_folds(job, bad, NULL, &err) && strstr(err.msg, "folds[0].cell"),
          "cell out of range: %s", err.msg);
    json_decref(bad);
    bad = json_pack("[{s:i, s:i, s:s}]", "cell", 1, "fold", 3, "status", "ok");
    CHECK(!rcn_report_from_folds(job, bad, NULL, &err) && strstr(err.msg, "folds[0].fold"),
          "fold out of range: %s", err.msg);
    json_decref(bad);
    bad = json_pack("[{s:i, s:i, s:s}]", "cell", 1, "fold", 1, "status", "weird");
    CHECK(!rcn_report_from_folds(job, bad, NULL, &err) && strstr(err.msg, "folds[0].status"),
          "bad status: %s", err.msg);
    json_decref(bad);

    test_race(&p, res);

    json_decref(meta);
    json_decref(folds);
    json_decref(job);
    rcn_plan_free(&p);
    rcn_train_result_free(res);
    return check_exit("test_report");
}
