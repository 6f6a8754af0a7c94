/* replay.c - `rcn replay [--json] --schedule SCHEDULE JOURNAL`: runs a
 * racing schedule (race.h) on the fold results an existing journal already
 * holds instead of training: each rung's cells, kept and eliminated with
 * their scores, the winner (and its rank in the exhaustive grid), and the
 * fold-epochs the race would have trained against the exhaustive grid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcn/cli.h"
#include "rcn/journal.h"
#include "rcn/plan.h"
#include "rcn/race.h"

static const char usage_text[] =
    "usage: rcn replay [--json] --schedule SCHEDULE JOURNAL\n"
    "\n"
    "Replays a racing schedule on the fold results of a search's journal\n"
    "(<report>.journal.jsonl), without training: per rung the epochs, folds,\n"
    "cells in, kept and eliminated with their scores (mean val loss over the\n"
    "rung's folds at its epoch), then the winner, its rank in the exhaustive\n"
    "grid (0 = best) and the fold-epochs against the exhaustive grid.\n"
    "SCHEDULE is a file holding the schedule object or the object itself:\n"
    "  {\"kind\": \"grid\"}  or  {\"kind\": \"halving\", \"eta\": 3 (keep the best 1/eta),\n"
    "   \"first\": {\"epochs\": 1, \"folds\": 2}, \"growth\": 2 (epochs and folds per rung)}\n"
    "  or explicit rungs: {\"kind\": \"halving\", \"rungs\": [{\"epochs\": 1, \"folds\": 2}, ...]};\n"
    "  the last rung is always the job's epochs on all its folds.\n"
    "The journal must hold every fold result the schedule reads (an exhaustive\n"
    "search's journal does).\n"
    "  --json   print one JSON object instead of text\n"
    "Exit status: 0 replayed; 1 bad schedule, unreadable journal or missing\n"
    "fold results; 2 usage.\n";

/* The schedule argument: inline JSON when it starts with '{', else a file. */
static json_t *load_schedule(const char *arg, const char **where, rcn_error *err)
{
    json_error_t jerr;
    const char *p = arg;
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    json_t *j;
    if (*p == '{') {
        *where = "--schedule";
        j = json_loads(arg, JSON_REJECT_DUPLICATES, &jerr);
    } else {
        *where = arg;
        j = json_load_file(arg, JSON_REJECT_DUPLICATES, &jerr);
    }
    if (!j && jerr.line > 0)
        rcn_errorf(err, "%s: %s (line %d, column %d)", *where, jerr.text, jerr.line, jerr.column);
    else if (!j)
        rcn_errorf(err, "%s: %s", *where, jerr.text);
    return j;
}

typedef struct {
    const char *path;
    json_t *header, *folds;
    rcn_plan plan;
    int epochs;
    rcn_fold_record *recs;
    int n_recs;
} journal_t;

static void journal_free(journal_t *jn)
{
    rcn_fold_records_free(jn->recs, jn->n_recs);
    rcn_plan_free(&jn->plan);
    json_decref(jn->header);
    json_decref(jn->folds);
}

static int journal_load(const char *path, journal_t *jn, rcn_error *err)
{
    memset(jn, 0, sizeof *jn);
    jn->path = path;
    if (rcn_journal_read(path, &jn->header, &jn->folds, err))
        return -1;
    char where[512];
    snprintf(where, sizeof where, "%.480s: line 1: job", path);
    const json_t *job = json_object_get(jn->header, "job");
    if (rcn_plan_from_json(job, where, &jn->plan, err))
        return -1;
    if (jn->plan.kind != RCN_VALID_KFOLD)
        return rcn_errorf(err, "%s: the job is validated on the test set (validation.kind "
                          "\"test\"): it has no folds to race", path);
    const json_t *je = json_object_get(job, "epochs");
    if (!json_is_integer(je) || json_integer_value(je) < 1)
        return rcn_errorf(err, "%s: job.epochs: expected a positive integer", where);
    jn->epochs = (int)json_integer_value(je);
    return rcn_fold_records_from_json(jn->folds, path, jn->plan.n_cells, jn->plan.n_folds,
                                      &jn->recs, &jn->n_recs, err);
}

/* The race must be finished: an exhaustive journal holds every fold the
 * rungs read; otherwise say which are missing. */
static int check_finished(const journal_t *jn, const rcn_race *race, rcn_error *err)
{
    if (race->finished)
        return 0;
    const rcn_fold_job *j = &race->jobs[0];
    return rcn_errorf(err, "%s: rung %d needs %d fold result%s the journal lacks, e.g. cell %d "
                      "(%s) fold %d up to epoch %d (the journal has %d epochs of it)", jn->path,
                      race->current, race->n_jobs, race->n_jobs == 1 ? "" : "s", j->cell,
                      jn->plan.cells[j->cell].key, j->fold, j->to_epoch, j->from_epoch);
}

/* The winner's position in the exhaustive grid's ranking (0 = best), -1
 * when the journal cannot rank it. */
static int exhaustive_rank(const journal_t *jn, int winner)
{
    rcn_schedule grid;
    rcn_race full;
    if (winner < 0 || rcn_schedule_from_json(NULL, jn->path, jn->epochs, jn->plan.n_folds, 1, 0,
                                             &grid, NULL) ||
        rcn_race_eval(&grid, jn->plan.n_cells, jn->plan.n_folds, jn->recs, jn->n_recs, &full,
                      NULL))
        return -1;
    int rank = -1;
    if (full.n_decided == 1)
        for (int i = 0; i < full.rungs[0].n_in && rank < 0; i++)
            if (full.rungs[0].cells[i].cell == winner && !full.rungs[0].cells[i].diverged)
                rank = i;
    rcn_race_free(&full);
    return rank;
}

static void print_cells(const journal_t *jn, const rcn_rung_result *res)
{
    for (int i = 0; i < res->n_in; i++) {
        const rcn_rung_cell *c = &res->cells[i];
        const char *st = c->kept ? "kept" : c->diverged ? "diverged" : "eliminated";
        if (c->diverged)
            printf("    %-10s  %10s  %s\n", st, "-", jn->plan.cells[c->cell].key);
        else
            printf("    %-10s  %10.6f  %s\n", st, c->score, jn->plan.cells[c->cell].key);
    }
}

static void print_text(const journal_t *jn, const rcn_schedule *s, const rcn_race *race,
                       int rank)
{
    printf("replay of %s (job %s: %d cells x %d folds x %d epochs)\n", jn->path,
           json_string_value(json_object_get(json_object_get(jn->header, "job"), "name")),
           jn->plan.n_cells, jn->plan.n_folds, jn->epochs);
    printf("schedule: %s", s->kind == RCN_SCHEDULE_HALVING ? "halving" : "grid");
    if (s->kind == RCN_SCHEDULE_HALVING)
        printf(", eta %d", s->eta);
    printf(", rungs (epochs, folds):");
    for (int r = 0; r < s->n_rungs; r++)
        printf(" (%d,%d)", s->rungs[r].epochs, s->rungs[r].folds);
    printf("\n");
    for (int r = 0; r < race->n_decided; r++) {
        const rcn_rung_result *res = &race->rungs[r];
        printf("rung %d: %d epoch%s, %d fold%s: %d cells in, %d kept, %d eliminated, %d "
               "diverged; %lld fold-epochs\n", r, res->epochs, res->epochs == 1 ? "" : "s",
               res->folds, res->folds == 1 ? "" : "s", res->n_in, res->n_kept, res->n_eliminated,
               res->n_diverged, res->fold_epochs);
        print_cells(jn, res);
    }
    if (race->winner >= 0) {
        const rcn_rung_result *last = &race->rungs[race->n_decided - 1];
        char rk[64] = "unknown (the journal is not exhaustive)";
        if (rank >= 0)
            snprintf(rk, sizeof rk, "%d (0 = best)", rank);
        printf("winner: %s (cell %d), mean val loss %.6f over %d folds at epoch %d; exhaustive "
               "rank %s\n", jn->plan.cells[race->winner].key, race->winner,
               last->cells[0].score, last->folds, last->epochs, rk);
    } else {
        printf("winner: none (every cell diverged)\n");
    }
    printf("cost: %lld of %lld fold-epochs, fraction %.4f of the exhaustive grid\n",
           race->fold_epochs, race->exhaustive,
           race->exhaustive ? (double)race->fold_epochs / (double)race->exhaustive : 0.0);
}

/* rcn_race_to_json plus the journal, the schedule, cell keys and the
 * winner's key, score and exhaustive rank. */
static void print_json(const journal_t *jn, const rcn_schedule *s, const rcn_race *race, int rank)
{
    json_t *o = rcn_race_to_json(race);
    size_t r, i;
    json_t *rung, *c;
    json_array_foreach(json_object_get(o, "rungs"), r, rung)
        json_array_foreach(json_object_get(rung, "cells"), i, c)
            json_object_set_new(c, "key", json_string(jn->plan.cells[json_integer_value(
                                              json_object_get(c, "cell"))].key));
    json_object_set_new(o, "journal", json_string(jn->path));
    json_object_set_new(o, "schedule", rcn_schedule_to_json(s));
    if (race->winner >= 0) {
        const rcn_rung_result *last = &race->rungs[race->n_decided - 1];
        json_object_set_new(o, "winner", json_pack("{s:i, s:s, s:f, s:o}", "cell", race->winner,
                                                   "key", jn->plan.cells[race->winner].key,
                                                   "score", last->cells[0].score,
                                                   "exhaustive_rank", rank >= 0 ?
                                                   json_integer(rank) : json_null()));
    }
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    printf("%s\n", text);
    free(text);
    json_decref(o);
}

static int replay(const char *sched_arg, const char *path, int as_json)
{
    rcn_error err;
    journal_t jn;
    rcn_schedule s;
    rcn_race race;
    const char *where;
    int rc = RCN_EXIT_ERROR;
    json_t *sj = load_schedule(sched_arg, &where, &err);
    if (!sj) {
        fprintf(stderr, "rcn replay: %s\n", err.msg);
        return RCN_EXIT_ERROR;
    }
    if (journal_load(path, &jn, &err) ||
        rcn_schedule_from_json(sj, where, jn.epochs, jn.plan.n_folds, 1,
                               jn.plan.axis_values[RCN_AXIS_EPOCHS] != NULL, &s, &err)) {
        fprintf(stderr, "rcn replay: %s\n", err.msg);
        goto out;
    }
    if (rcn_race_eval(&s, jn.plan.n_cells, jn.plan.n_folds, jn.recs, jn.n_recs, &race, &err)) {
        fprintf(stderr, "rcn replay: %s: %s\n", path, err.msg);
        goto out;
    }
    if (check_finished(&jn, &race, &err)) {
        fprintf(stderr, "rcn replay: %s\n", err.msg);
    } else {
        int rank = exhaustive_rank(&jn, race.winner);
        if (as_json)
            print_json(&jn, &s, &race, rank);
        else
            print_text(&jn, &s, &race, rank);
        rc = RCN_EXIT_OK;
    }
    rcn_race_free(&race);
out:
    journal_free(&jn);
    json_decref(sj);
    return rc;
}

int rcn_cmd_replay(int argc, char **argv)
{
    const char *sched = NULL, *path = NULL;
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return RCN_EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            as_json = 1;
        } else if (!strcmp(argv[i], "--schedule") && i + 1 < argc) {
            sched = argv[++i];
        } else if (!strncmp(argv[i], "--schedule=", 11)) {
            sched = argv[i] + 11;
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "rcn replay: unexpected argument '%s'\n%s", argv[i], usage_text);
            return RCN_EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!sched || !path) {
        fprintf(stderr, "rcn replay: expected --schedule SCHEDULE and one journal\n%s",
                usage_text);
        return RCN_EXIT_USAGE;
    }
    return replay(sched, path, as_json);
}
