/* test_race.c - racing (race.h): schedule validation and its messages, the
 * generated rungs, the normalised JSON round trip; rung decisions on
 * hand-made scores (ties by cell index, divergence before and after a
 * rung's epoch, keep counts), the fold jobs a rung still needs, order
 * independence, cost in fold-epochs; the dry-run plan of the paper grid. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rcn/race.h"

static int parse(const char *text, int e, int k, int kfold, int swept, rcn_schedule *s,
                 rcn_error *err)
{
    json_error_t je;
    json_t *j = text ? json_loads(text, 0, &je) : NULL;
    if (text && !j) {
        fprintf(stderr, "bad test JSON: %s: %s\n", text, je.text);
        return -2;
    }
    int rc = rcn_schedule_from_json(j, "job.json", e, k, kfold, swept, s, err);
    json_decref(j);
    return rc;
}

static int rungs_are(const rcn_schedule *s, int n, const int *ef)
{
    if (s->n_rungs != n)
        return 0;
    for (int i = 0; i < n; i++)
        if (s->rungs[i].epochs != ef[2 * i] || s->rungs[i].folds != ef[2 * i + 1])
            return 0;
    return 1;
}

static void test_schedule_good(void)
{
    rcn_schedule s;
    rcn_error err = {{0}};
    CHECK(parse(NULL, 10, 10, 1, 0, &s, &err) == 0, "%s", err.msg);
    CHECK(s.kind == RCN_SCHEDULE_GRID && s.n_rungs == 1 && s.rungs[0].epochs == 10 &&
          s.rungs[0].folds == 10, "default is the grid");
    CHECK(parse("{\"kind\": \"grid\"}", 3, 1, 0, 1, &s, &err) == 0, "%s", err.msg);

    static const int d[] = {1, 2, 2, 4, 2, 10};
    CHECK(parse("{\"kind\": \"halving\"}", 2, 10, 1, 0, &s, &err) == 0, "%s", err.msg);
    CHECK(s.eta == 3 && s.generated && s.growth == 2 && rungs_are(&s, 3, d),
          "defaults: eta 3, (1,2) (2,4) (2,10); got eta %d, %d rungs", s.eta, s.n_rungs);
    static const int p[] = {1, 1, 2, 2, 4, 4, 10, 10};
    CHECK(parse("{\"kind\": \"halving\", \"first\": {\"folds\": 1}}", 10, 10, 1, 0, &s, &err) ==
          0, "%s", err.msg);
    CHECK(rungs_are(&s, 4, p), "first (1,1) x2 on 10x10: (1,1) (2,2) (4,4) (10,10)");

    static const int x[] = {1, 1, 2, 2, 2, 5, 2, 10};
    const char *xs = "{\"kind\": \"halving\", \"eta\": 3.0, \"rungs\": [{\"epochs\": 1, "
                     "\"folds\": 1}, {\"epochs\": 2, \"folds\": 2}, {\"epochs\": 2, \"folds\": 5}]}";
    CHECK(parse(xs, 2, 10, 1, 0, &s, &err) == 0, "%s", err.msg);
    CHECK(!s.generated && s.eta == 3 && rungs_are(&s, 4, x), "explicit rungs, (E, K) added");

    /* normalised JSON reads back as the same schedule */
    const char *cases[] = {"{\"kind\": \"halving\", \"eta\": 4, \"growth\": 3}", xs,
                           "{\"kind\": \"grid\"}"};
    for (int i = 0; i < 3; i++) {
        rcn_schedule a, b;
        CHECK(parse(cases[i], 9, 10, 1, 0, &a, &err) == 0, "%s", err.msg);
        json_t *n = rcn_schedule_to_json(&a);
        CHECK(rcn_schedule_from_json(n, "n", 9, 10, 1, 0, &b, &err) == 0, "%s", err.msg);
        CHECK(!memcmp(&a, &b, sizeof a), "round trip of %s", cases[i]);
        json_decref(n);
    }
    /* halving with one rung: the final one (a 1-epoch, 2-fold job) */
    CHECK(parse("{\"kind\": \"halving\"}", 1, 2, 1, 0, &s, &err) == 0 && s.n_rungs == 1,
          "one rung: %s", err.msg);
}

static void expect_bad(const char *text, int e, int k, int kfold, int swept, const char *want)
{
    rcn_schedule s;
    rcn_error err = {{0}};
    int rc = parse(text, e, k, kfold, swept, &s, &err);
    CHECK(rc == -1 && strstr(err.msg, want) && !strncmp(err.msg, "job.json: ", 10),
          "%s: want \"%s\", got rc %d \"%s\"", text, want, rc, err.msg);
}

static void test_schedule_bad(void)
{
    expect_bad("[1]", 2, 10, 1, 0, "schedule: must be {\"kind\"");
    expect_bad("{\"eta\": 3}", 2, 10, 1, 0, "schedule.kind: must be \"grid\" or \"halving\"");
    expect_bad("{\"kind\": \"asha\"}", 2, 10, 1, 0, "schedule.kind: must be \"grid\" or "
                                                    "\"halving\" (got \"asha\")");
    expect_bad("{\"kind\": \"halving\", \"etta\": 3}", 2, 10, 1, 0,
               "schedule.etta: unknown key (allowed: kind, eta");
    expect_bad("{\"kind\": \"grid\", \"eta\": 3}", 2, 10, 1, 0, "takes no other keys");
    expect_bad("{\"kind\": \"halving\", \"eta\": 1}", 2, 10, 1, 0,
               "schedule.eta: must be between 2 and 1000 (got 1)");
    expect_bad("{\"kind\": \"halving\", \"eta\": 2.5}", 2, 10, 1, 0,
               "schedule.eta: must be an integer (got 2.5)");
    expect_bad("{\"kind\": \"halving\", \"eta\": \"3\"}", 2, 10, 1, 0,
               "schedule.eta: must be an integer (got \"3\")");
    expect_bad("{\"kind\": \"halving\"}", 2, 1, 0, 0, "needs k-fold validation");
    expect_bad("{\"kind\": \"halving\"}", 2, 10, 1, 1, "must not sweep \"epochs\"");
    expect_bad("{\"kind\": \"halving\", \"growth\": 1}", 2, 10, 1, 0,
               "schedule.growth: must be between 2 and 1000 (got 1)");
    expect_bad("{\"kind\": \"halving\", \"first\": {\"epochs\": 3}}", 2, 10, 1, 0,
               "schedule.first.epochs: must be between 1 and 2 (got 3)");
    expect_bad("{\"kind\": \"halving\", \"first\": {\"fold\": 3}}", 2, 10, 1, 0,
               "schedule.first.fold: unknown key (allowed: epochs, folds)");
    expect_bad("{\"kind\": \"halving\", \"rungs\": []}", 2, 10, 1, 0,
               "schedule.rungs: must be a non-empty list");
    expect_bad("{\"kind\": \"halving\", \"rungs\": [{\"epochs\": 1}]}", 2, 10, 1, 0,
               "schedule.rungs[0]: must give both \"epochs\" and \"folds\"");
    expect_bad("{\"kind\": \"halving\", \"rungs\": [{\"epochs\": 1, \"folds\": 11}]}", 2, 10, 1,
               0, "schedule.rungs[0].folds: must be between 1 and 10 (got 11)");
    expect_bad("{\"kind\": \"halving\", \"rungs\": [{\"epochs\": 2, \"folds\": 2}, "
               "{\"epochs\": 1, \"folds\": 4}]}", 2, 10, 1, 0,
               "schedule.rungs[1]: (1 epochs, 4 folds) after (2, 2): rungs must not decrease");
    expect_bad("{\"kind\": \"halving\", \"rungs\": [{\"epochs\": 1, \"folds\": 2}, "
               "{\"epochs\": 1, \"folds\": 2}]}", 2, 10, 1, 0,
               "schedule.rungs[1]: (1 epochs, 2 folds) repeats the rung before it");
    expect_bad("{\"kind\": \"halving\", \"growth\": 2, \"rungs\": [{\"epochs\": 1, "
               "\"folds\": 2}]}", 2, 10, 1, 0, "schedule.rungs: does not match first/growth");
}

/* ---- races on hand-made records -------------------------------------- */

#define MAXR 256
static rcn_fold_record recs[MAXR];
static double losses[MAXR][4];
static int n_recs;

static void add(int cell, int fold, int n_epochs, double l1, double l2, int diverged_at)
{
    rcn_fold_record *r = &recs[n_recs];
    losses[n_recs][0] = l1;
    losses[n_recs][1] = l2;
    *r = (rcn_fold_record){cell, fold, n_epochs, losses[n_recs], diverged_at};
    n_recs++;
}

static const rcn_rung_cell *find(const rcn_rung_result *res, int cell)
{
    for (int i = 0; i < res->n_in; i++)
        if (res->cells[i].cell == cell)
            return &res->cells[i];
    return NULL;
}

/* 8 cells, K = 4, E = 2, eta 3, rungs (1,2) (2,4). Epoch-1 losses: cell c
 * scores 1 + 0.1 * (c % 4) on folds 0 and 1, so cells 0 and 4 tie (cell 0
 * first), 1 and 5 tie; cell 6 diverges in epoch 1 of fold 1 (out at once,
 * folds 2 and 3 never needed); cell 3 diverges in epoch 2 of fold 0 (after
 * rung 0's epoch: it still counts there). Rung 0 scores 7 cells: keeps 3
 * (0, 4, 1). Rung 1: epoch-2 losses make cell 1 best. */
static void make_exhaustive(void)
{
    n_recs = 0;
    for (int c = 0; c < 8; c++)
        for (int f = 0; f < 4; f++) {
            double l1 = f < 2 ? 1 + 0.1 * (c % 4) : 5, l2 = 0.5 - (c == 1) * 0.2 + 0.01 * c;
            if (c == 6 && f == 1)
                add(c, f, 0, 0, 0, 1);
            else if (c == 3 && f == 0)
                add(c, f, 1, l1, 0, 2);
            else
                add(c, f, 2, l1, l2, 0);
        }
}

static void test_decisions(void)
{
    rcn_schedule s;
    rcn_error err = {{0}};
    CHECK(parse("{\"kind\": \"halving\", \"eta\": 3, \"rungs\": [{\"epochs\": 1, \"folds\": 2}]}",
                2, 4, 1, 0, &s, &err) == 0, "%s", err.msg);
    make_exhaustive();
    rcn_race race;
    CHECK(rcn_race_eval(&s, 8, 4, recs, n_recs, &race, &err) == 0, "%s", err.msg);
    CHECK(race.finished && race.n_decided == 2 && race.n_jobs == 0, "finished");
    const rcn_rung_result *r0 = &race.rungs[0], *r1 = &race.rungs[1];
    CHECK(r0->n_in == 8 && r0->n_diverged == 1 && r0->n_kept == 3 && r0->n_eliminated == 4,
          "rung 0: in %d diverged %d kept %d elim %d", r0->n_in, r0->n_diverged, r0->n_kept,
          r0->n_eliminated);
    int order[] = {0, 4, 1, 5, 2, 3, 7, 6};
    for (int i = 0; i < 8; i++)
        CHECK(r0->cells[i].cell == order[i], "rung 0 position %d: cell %d, want %d", i,
              r0->cells[i].cell, order[i]);
    CHECK(find(r0, 6)->diverged && isnan(find(r0, 6)->score), "cell 6 diverged in rung 0");
    CHECK(!find(r0, 3)->diverged, "cell 3 diverges after rung 0's epoch: not out there");
    CHECK_CLOSE(find(r0, 5)->score, 1.1, 1e-12, "cell 5 score");
    CHECK(r1->n_in == 3 && r1->n_kept == 1 && r1->n_eliminated == 2 && race.winner == 1,
          "rung 1 keeps the winner, cell 1: got %d", race.winner);
    CHECK_CLOSE(r1->cells[0].score, 0.31, 1e-12, "winner's score");
    /* cost: rung 0 8 cells x 2 folds x 1 epoch, less cell 6's fold 1 which
     * diverged in epoch 1 (counted whole); rung 1 3 cells x (2x1 + 2x2) */
    CHECK(r0->fold_epochs == 16 && r1->fold_epochs == 18 && race.fold_epochs == 34 &&
          race.exhaustive == 64, "cost %lld + %lld = %lld of %lld", r0->fold_epochs,
          r1->fold_epochs, race.fold_epochs, race.exhaustive);
    CHECK(rcn_schedule_rung_cost(&s, 0) == 2 && rcn_schedule_rung_cost(&s, 1) == 6,
          "per-cell rung cost");
    json_t *j = rcn_race_to_json(&race);
    CHECK(json_integer_value(json_object_get(j, "winner")) == 1 &&
          fabs(json_real_value(json_object_get(j, "fraction")) - 34.0 / 64) < 1e-12,
          "race JSON");
    json_decref(j);

    /* the same records in reverse order, with shorter duplicates: same race */
    rcn_race again;
    rcn_fold_record rev[MAXR];
    int n = 0;
    for (int i = n_recs - 1; i >= 0; i--) {
        rev[n++] = recs[i];
        if (recs[i].n_epochs == 2)
            rev[n++] = (rcn_fold_record){recs[i].cell, recs[i].fold, 1, recs[i].val_loss, 0};
    }
    CHECK(rcn_race_eval(&s, 8, 4, rev, n, &again, &err) == 0, "%s", err.msg);
    CHECK(again.winner == race.winner && again.fold_epochs == race.fold_epochs, "order");
    for (int i = 0; i < 8; i++)
        CHECK(again.rungs[0].cells[i].cell == order[i], "reordered rung 0 position %d", i);
    rcn_race_free(&again);
    rcn_race_free(&race);
}

static void test_jobs(void)
{
    rcn_schedule s;
    rcn_error err = {{0}};
    CHECK(parse("{\"kind\": \"halving\", \"eta\": 3, \"rungs\": [{\"epochs\": 1, \"folds\": 2}]}",
                2, 4, 1, 0, &s, &err) == 0, "%s", err.msg);
    rcn_race race;
    n_recs = 0;
    CHECK(rcn_race_eval(&s, 8, 4, recs, 0, &race, &err) == 0, "%s", err.msg);
    CHECK(!race.finished && race.current == 0 && race.n_alive == 8 && race.n_jobs == 16 &&
          race.jobs[3].cell == 1 && race.jobs[3].fold == 1 && race.jobs[3].from_epoch == 0 &&
          race.jobs[3].to_epoch == 1, "rung 0 needs every cell on folds 0, 1 to epoch 1");
    rcn_race_free(&race);

    /* rung 0 done from 1-epoch records, cell 6 diverged: rung 1 continues
     * folds 0 and 1 of cells 0, 1, 4 from epoch 1 and starts folds 2, 3 */
    make_exhaustive();
    int n = 0;
    for (int i = 0; i < n_recs; i++)
        if (recs[i].fold < 2) {
            recs[n] = recs[i];
            if (recs[n].n_epochs == 2)
                recs[n].n_epochs = 1;
            n++;
        }
    CHECK(rcn_race_eval(&s, 8, 4, recs, n - 1, &race, &err) == 0, "%s", err.msg);
    CHECK(race.current == 0 && race.n_jobs == 1 && race.jobs[0].cell == 7 &&
          race.jobs[0].fold == 1, "one fold short: that job only");
    rcn_race_free(&race);
    CHECK(rcn_race_eval(&s, 8, 4, recs, n, &race, &err) == 0, "%s", err.msg);
    CHECK(race.current == 1 && race.n_decided == 1 && race.n_alive == 3 && race.alive[0] == 0 &&
          race.alive[1] == 1 && race.alive[2] == 4 && race.n_jobs == 12,
          "rung 1: alive %d, jobs %d (cell 3 is not alive)", race.n_alive, race.n_jobs);
    CHECK(race.jobs[0].cell == 0 && race.jobs[0].from_epoch == 1 && race.jobs[0].to_epoch == 2 &&
          race.jobs[2].fold == 2 && race.jobs[2].from_epoch == 0, "continue, then start");
    rcn_race_free(&race);

    /* cell 2 diverged on fold 0: it leaves at the decision, but its fold 1
     * is trained all the same (which folds a rung trains must not depend on
     * when the divergence came in) */
    n_recs = 0;
    add(2, 0, 0, 0, 0, 1);
    CHECK(rcn_race_eval(&s, 3, 4, recs, n_recs, &race, &err) == 0, "%s", err.msg);
    CHECK(race.n_jobs == 5 && race.jobs[4].cell == 2 && race.jobs[4].fold == 1,
          "the diverged cell's other fold is still a job");
    rcn_race_free(&race);

    /* every cell diverges: finished, no winner */
    n_recs = 0;
    add(0, 0, 0, 0, 0, 1);
    add(0, 1, 1, 0.5, 0, 0);
    add(1, 0, 1, 0.5, 0, 0);
    add(1, 1, 1, NAN, 0, 1); /* evaluation not finite */
    CHECK(rcn_race_eval(&s, 2, 4, recs, n_recs, &race, &err) == 0, "%s", err.msg);
    CHECK(race.finished && race.winner == -1 && race.n_decided == 1 &&
          race.rungs[0].n_diverged == 2 && race.rungs[0].n_kept == 0, "all diverged");
    rcn_race_free(&race);

    n_recs = 0;
    add(5, 0, 1, 1, 0, 0);
    CHECK(rcn_race_eval(&s, 3, 4, recs, n_recs, &race, &err) == -1 && strstr(err.msg, "cell 5"),
          "out-of-range record: %s", err.msg);
}

/* keep = max(1, ceil(n / eta)) over the non-diverged cells */
static void test_keep_counts(void)
{
    static const int cells[] = {1, 2, 3, 4, 10, 40};
    static const int want3[] = {1, 1, 1, 2, 4, 14};
    rcn_schedule s;
    rcn_error err = {{0}};
    CHECK(parse("{\"kind\": \"halving\", \"eta\": 3, \"rungs\": [{\"epochs\": 1, \"folds\": 2}]}",
                1, 4, 1, 0, &s, &err) == 0, "%s", err.msg);
    for (int i = 0; i < 6; i++) {
        rcn_schedule_plan p;
        rcn_schedule_plan_compute(&s, cells[i], 4, 1, NULL, &p);
        CHECK(p.rungs[0].kept == want3[i] && p.rungs[1].kept == 1, "%d cells keep %d, want %d",
              cells[i], p.rungs[0].kept, want3[i]);
    }
}

static void test_plan(void)
{
    rcn_schedule s;
    rcn_error err = {{0}};
    CHECK(parse("{\"kind\": \"halving\", \"eta\": 3, \"rungs\": [{\"epochs\": 1, \"folds\": 1}, "
                "{\"epochs\": 2, \"folds\": 2}, {\"epochs\": 4, \"folds\": 4}]}", 10, 10, 1, 0,
                &s, &err) == 0, "%s", err.msg);
    double *rate = malloc(312 * sizeof *rate);
    for (int c = 0; c < 312; c++)
        rate[c] = c < 156 ? 10 : 20; /* mean 15 s per fold-epoch */
    rcn_schedule_plan p;
    rcn_schedule_plan_compute(&s, 312, 10, 10, rate, &p);
    static const int cells[] = {312, 104, 35, 12};
    static const long long fe[] = {312, 312, 420, 1008};
    for (int r = 0; r < 4; r++)
        CHECK(p.rungs[r].cells == cells[r] && p.rungs[r].fold_epochs == fe[r],
              "rung %d: %d cells, %lld fold-epochs", r, p.rungs[r].cells, p.rungs[r].fold_epochs);
    CHECK(p.fold_epochs == 2052 && p.exhaustive == 31200, "2052 of 31200: %lld",
          p.fold_epochs);
    CHECK_CLOSE(p.fraction, 0.0658, 1e-4, "fraction");
    CHECK(p.peak_checkpoints == 312, "peak checkpoints: rung 0's 312 x 1: %lld",
          p.peak_checkpoints);
    CHECK_CLOSE(p.exhaustive_core_hours, 312 * 15.0 * 100 / 3600, 1e-9, "exhaustive core-hours");
    CHECK_CLOSE(p.core_hours, (312 * 15.0 + 15.0 * (312 + 420 + 1008)) / 3600, 1e-9,
                "core-hours");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rcn_schedule_plan_print(f, &s, 312, 10, 10, 1 << 20, rate);
    fclose(f);
    CHECK(strstr(buf, "2052 of 31200 fold-epochs (6.6% of the exhaustive grid)") &&
          strstr(buf, "312 fold states at once (312.0 MiB)"), "printed plan:\n%s", buf);
    free(buf);
    free(rate);
}

static void test_records_json(void)
{
    json_error_t je;
    json_t *folds = json_loads(
        "[{\"cell\": 1, \"fold\": 0, \"epochs\": [{\"epoch\": 1, \"val_loss\": 0.5}, {\"epoch\": 2,"
        " \"val_loss\": null}], \"diverged\": {\"epoch\": 2, \"batch\": null, \"loss\": null}},"
        " {\"cell\": 0, \"fold\": 1, \"epochs\": [], \"diverged\": {\"epoch\": 1}},"
        " {\"cell\": 0, \"fold\": 0, \"status\": \"diverged\", \"diverged\": null,"
        " \"epochs\": [{\"epoch\": 1, \"val_loss\": 0.4}]}]", 0, &je);
    rcn_fold_record *r;
    int n;
    rcn_error err = {{0}};
    CHECK(rcn_fold_records_from_json(folds, "j.jsonl", 2, 2, &r, &n, &err) == 0, "%s", err.msg);
    CHECK(n == 3 && r[2].diverged_at == 1, "a \"diverged\" status alone: diverged at its last");
    CHECK(r[0].cell == 1 && r[0].n_epochs == 2 && r[0].val_loss[0] == 0.5 &&
          isnan(r[0].val_loss[1]) && r[0].diverged_at == 2 && r[1].diverged_at == 1, "records");
    rcn_fold_records_free(r, n);
    CHECK(rcn_fold_records_from_json(folds, "j.jsonl", 2, 1, &r, &n, &err) == -1 &&
          strstr(err.msg, "j.jsonl: folds[1].fold: expected an integer 0..0"), "%s", err.msg);
    json_decref(folds);
}

int main(void)
{
    test_schedule_good();
    test_schedule_bad();
    test_decisions();
    test_jobs();
    test_keep_counts();
    test_plan();
    test_records_json();
    return check_exit("test_race");
}
