/* status.c - `rcn status JOURNAL_OR_REPORT`: progress of a running search
 * (from its journal, aggregated as the report would be) or a finished one
 * (from its report): folds done/total, diverged, elapsed, rate, ETA, best;
 * for a race, the rung in progress, the survivors and the budget used. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "rcn/cli.h"
#include "rcn/journal.h"
#include "rcn/report.h"
#include "rcn/clock.h"

static const char usage_text[] =
    "usage: rcn status JOURNAL_OR_REPORT\n"
    "\n"
    "Shows how far a search is: folds done of total, diverged folds, elapsed time,\n"
    "rate and ETA, and the best cell so far; for a racing search (a halving\n"
    "\"schedule\"), the rung in progress, its surviving cells (or the winner) and\n"
    "the fold-epochs trained against the exhaustive grid. Give the journal\n"
    "(<report>.journal.jsonl) of a running or stopped search, or a report.\n"
    "Exit status: 0 shown; 1 not an rcn journal or report, or unreadable; 2 usage.\n";

static int parse_iso(const char *s, time_t *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    if (!end || *end)
        return -1;
    *t = timegm(&tm);
    return 0;
}

static int count_diverged(const json_t *folds)
{
    int n = 0;
    size_t i;
    const json_t *f;
    json_array_foreach(folds, i, f) {
        const char *st = json_string_value(json_object_get(f, "status"));
        n += st && !strcmp(st, "diverged");
    }
    return n;
}

static void print_best(const json_t *best)
{
    if (json_is_object(best))
        printf("best:     %s: mean val loss %.6f, mean val accuracy %.2f%%\n",
               json_string_value(json_object_get(best, "key")),
               json_number_value(json_object_get(best, "mean_val_loss")),
               100 * json_number_value(json_object_get(best, "mean_val_accuracy")));
    else
        printf("best:     none yet (no cell has finished all its folds without diverging)\n");
}

static void print_counts(const json_t *report)
{
    const json_t *meta = json_object_get(report, "meta");
    long long done = json_integer_value(json_object_get(meta, "folds_done"));
    long long total = json_integer_value(json_object_get(meta, "folds_total"));
    const json_t *job = json_object_get(report, "job");
    printf("job:      %s (job_hash %s)\n", json_string_value(json_object_get(job, "name")),
           json_string_value(json_object_get(meta, "job_hash")));
    printf("folds:    %lld/%lld done (%.1f%%), %d diverged\n", done, total,
           total ? 100.0 * (double)done / (double)total : 100.0,
           count_diverged(json_object_get(report, "folds")));
}

/* A racing search: the rung in progress (or the winner), the survivors
 * and the fold-epochs trained against the exhaustive grid. */
static void print_race(const json_t *report)
{
    const json_t *race = json_object_get(report, "race"), *meta = json_object_get(report, "meta");
    if (!json_is_object(race))
        return;
    const json_t *rungs = json_object_get(json_object_get(json_object_get(report, "job"),
                                                          "schedule"), "rungs");
    const json_t *alive = json_object_get(race, "alive"), *cells = json_object_get(report, "cells");
    long long cur = json_integer_value(json_object_get(race, "current"));
    size_t n_rungs = json_array_size(rungs);
    printf("race:     %s\n", json_string_value(json_object_get(race, "rule")));
    if (json_is_true(json_object_get(race, "finished"))) {
        long long w = json_integer_value(json_object_get(race, "winner"));
        printf("rung:     finished after %zu rungs; winner cell %lld (%s)\n", n_rungs, w,
               json_string_value(json_object_get(json_array_get(cells, (size_t)w), "key")));
    } else {
        const json_t *rg = json_array_get(rungs, (size_t)cur);
        printf("rung:     %lld of 0..%zu in progress (%lld epoch%s, %lld folds), %zu cell%s in "
               "it\n", cur, n_rungs - 1, (long long)json_integer_value(json_object_get(rg, "epochs")),
               json_integer_value(json_object_get(rg, "epochs")) == 1 ? "" : "s",
               (long long)json_integer_value(json_object_get(rg, "folds")),
               json_array_size(alive), json_array_size(alive) == 1 ? "" : "s");
        size_t i;
        const json_t *a;
        json_array_foreach(alive, i, a) {
            if (i == 12) {
                printf("          ... and %zu more\n", json_array_size(alive) - i);
                break;
            }
            long long c = json_integer_value(a);
            printf("%s cell %lld (%s)\n", i ? "         " : "survivors:", c,
                   json_string_value(json_object_get(json_array_get(cells, (size_t)c), "key")));
        }
    }
    printf("budget:   %lld of %lld fold-epochs (%.3g%% of the exhaustive grid)%s\n",
           (long long)json_integer_value(json_object_get(meta, "fold_epochs")),
           (long long)json_integer_value(json_object_get(meta, "exhaustive_fold_epochs")),
           100 * json_number_value(json_object_get(meta, "budget_fraction")),
           json_is_true(json_object_get(race, "finished")) ? "" : " so far");
}

static int status_journal(const char *path)
{
    rcn_error err;
    json_t *header, *folds;
    if (rcn_journal_read(path, &header, &folds, &err)) {
        fprintf(stderr, "rcn status: %s\n", err.msg);
        return RCN_EXIT_ERROR;
    }
    json_t *meta = json_pack("{s:O}", "job_hash", json_object_get(header, "job_hash"));
    json_t *report = rcn_report_from_folds(json_object_get(header, "job"), folds, meta, &err);
    json_decref(meta);
    json_decref(folds);
    if (!report) {
        fprintf(stderr, "rcn status: %s: %s\n", path, err.msg);
        json_decref(header);
        return RCN_EXIT_ERROR;
    }
    const json_t *m = json_object_get(report, "meta");
    long long done = json_integer_value(json_object_get(m, "folds_done"));
    long long total = json_integer_value(json_object_get(m, "folds_total"));
    const char *mst = json_string_value(json_object_get(m, "status"));
    printf("%s: journal of a %s search\n", path,
           mst && !strcmp(mst, "complete") ? "finished" : "running or stopped");
    print_counts(report);
    print_race(report);

    time_t created, now = time(NULL);
    struct stat st;
    const char *cs = json_string_value(json_object_get(header, "created"));
    if (parse_iso(cs, &created) == 0 && stat(path, &st) == 0) {
        char el[32], ago[32], eta[32] = "?";
        double span = difftime(st.st_mtime, created);
        rcn_format_duration(difftime(now, created), el, sizeof el);
        rcn_format_duration(difftime(now, st.st_mtime), ago, sizeof ago);
        printf("elapsed:  %s since the journal was created (%s); last line written %s ago\n", el,
               cs, ago);
        if (done > 0 && span > 0) {
            double rate = (double)done / span; /* folds per second, pauses included */
            int racing = json_is_object(json_object_get(report, "race"));
            if (racing ? mst && !strcmp(mst, "complete") : done >= total)
                snprintf(eta, sizeof eta, "done");
            else if (!racing)
                rcn_format_duration((double)(total - done) / rate, eta, sizeof eta);
            else /* the rungs to come depend on which cells survive */
                snprintf(eta, sizeof eta, "unknown (racing)");
            printf("rate:     %.2f folds/min, ETA %s\n", 60 * rate, eta);
        }
    }
    print_best(json_object_get(report, "best"));
    json_decref(report);
    json_decref(header);
    return RCN_EXIT_OK;
}

/* Reports written since rank accounting exists: rank 0's coordination
 * share of the wall time, each rank's folds, busy share and peak memory,
 * backup copies, and the ranks that went silent. Older reports lack these
 * keys: nothing is printed. */
static void print_ranks(const json_t *meta)
{
    const json_t *ov = json_object_get(meta, "coordinator_overhead");
    if (json_is_number(ov))
        printf("coordinator: %.2f%% of the wall time on rank 0\n", 100 * json_number_value(ov));
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(meta, "rank_stats"), i, r) {
        const json_t *rss = json_object_get(r, "peak_rss_mib");
        char mem[32] = "unknown";
        if (json_is_number(rss))
            snprintf(mem, sizeof mem, "%.0f MiB", json_number_value(rss));
        printf("rank %-4lld %6lld folds, busy %5.1f%%, peak memory %s\n",
               (long long)json_integer_value(json_object_get(r, "rank")),
               (long long)json_integer_value(json_object_get(r, "folds")),
               100 * json_number_value(json_object_get(r, "busy_fraction")), mem);
    }
    const json_t *b = json_object_get(meta, "backups");
    if (json_is_object(b))
        printf("backups:  %lld started, %lld won\n",
               (long long)json_integer_value(json_object_get(b, "started")),
               (long long)json_integer_value(json_object_get(b, "won")));
    json_array_foreach(json_object_get(meta, "silent_ranks"), i, r)
        printf("rank %lld on host %s: silent for %.0f s%s%s\n",
               (long long)json_integer_value(json_object_get(r, "rank")),
               json_string_value(json_object_get(r, "host")),
               json_number_value(json_object_get(r, "silent_seconds")),
               json_is_true(json_object_get(r, "silent_now")) ? ", silent now" : "",
               json_is_true(json_object_get(r, "abandoned")) ? ", given up on" : "");
}

static int status_report(const char *path)
{
    json_error_t jerr;
    json_t *r = json_load_file(path, 0, &jerr);
    if (!r) {
        fprintf(stderr, "rcn status: %s: not an rcn journal or report: %s (line %d, column %d)\n",
                path, jerr.text, jerr.line, jerr.column);
        return RCN_EXIT_ERROR;
    }
    const json_t *meta = json_object_get(r, "meta");
    const char *format = json_string_value(json_object_get(meta, "format"));
    if (!format || strcmp(format, "rcn-report") || !json_is_array(json_object_get(r, "folds"))) {
        fprintf(stderr, "rcn status: %s: not an rcn journal or report (no meta.format "
                "\"rcn-report\")\n", path);
        json_decref(r);
        return RCN_EXIT_ERROR;
    }
    const char *status = json_string_value(json_object_get(meta, "status"));
    printf("%s: report of a%s search\n", path,
           !status ? "" : !strcmp(status, "complete") ? " complete"
                      : !strcmp(status, "interrupted") ? "n interrupted" : "n incomplete");
    print_counts(r);
    char el[32];
    rcn_format_duration(json_number_value(json_object_get(meta, "wall_seconds")), el, sizeof el);
    const char *started = json_string_value(json_object_get(meta, "started"));
    const char *finished = json_string_value(json_object_get(meta, "finished"));
    printf("elapsed:  %s (started %s, finished %s) on %lld ranks\n", el, started ? started : "?",
           finished ? finished : "not yet", (long long)json_integer_value(json_object_get(meta, "ranks")));
    printf("rate:     %.2f folds/min\n",
           60 * json_number_value(json_object_get(meta, "fold_jobs_per_second")));
    print_ranks(meta);
    print_race(r);
    print_best(json_object_get(r, "best"));
    const json_t *refit = json_object_get(r, "refit");
    if (json_is_number(json_object_get(refit, "test_accuracy")))
        printf("refit:    test loss %.6f, test accuracy %.2f%%\n",
               json_number_value(json_object_get(refit, "test_loss")),
               100 * json_number_value(json_object_get(refit, "test_accuracy")));
    json_decref(r);
    return RCN_EXIT_OK;
}

int rcn_cmd_status(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage_text, stdout);
        return RCN_EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "rcn status: expected one journal or report file\n%s", usage_text);
        return RCN_EXIT_USAGE;
    }
    const char *path = argv[1];
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "rcn status: %s: %s\n", path, strerror(errno));
        return RCN_EXIT_ERROR;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "rcn status: %s: not a regular file\n", path);
        return RCN_EXIT_ERROR;
    }
    FILE *f = fopen(path, "rb"); /* unreadable: say so, not "not a journal" */
    if (!f) {
        fprintf(stderr, "rcn status: %s: cannot open: %s\n", path, strerror(errno));
        return RCN_EXIT_ERROR;
    }
    fclose(f);
    return rcn_journal_sniff(path) ? status_journal(path) : status_report(path);
}
