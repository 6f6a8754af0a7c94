/* status.c - `rcn status [--json] [--watch [SECONDS]] JOURNAL_OR_REPORT`:
 * progress of a running search (from its journal, aggregated as the report
 * would be) or a finished one (from its report): folds done/total,
 * diverged, elapsed, rate, ETA, best; for a race, the rung in progress, the
 * survivors and the budget used. The facts are gathered once
 * (status_load) and then printed as text or as one JSON object. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rcn/cli.h"
#include "rcn/journal.h"
#include "rcn/report.h"
#include "rcn/clock.h"
#include "rcn/jsonutil.h"

static const char usage_text[] =
    "usage: rcn status [--json] [--watch [SECONDS]] JOURNAL_OR_REPORT\n"
    "\n"
    "Shows how far a search is: folds done of total, diverged folds, elapsed time,\n"
    "rate and ETA, and the best cell so far; for a racing search (a halving\n"
    "\"schedule\"), the rung in progress, its surviving cells (or the winner) and\n"
    "the fold-epochs trained against the exhaustive grid. Give the journal\n"
    "(<report>.journal.jsonl) of a running or stopped search, or a report.\n"
    "\n"
    "  --json             print one JSON object instead (\"format\": \"rcn-status\"):\n"
    "                     folds_done, folds_total, diverged, elapsed_seconds,\n"
    "                     folds_per_minute, eta_seconds, best, the ranks' stats, race\n"
    "  --watch [SECONDS]  show it again every SECONDS (default 5) until the search is\n"
    "                     complete or Ctrl-C; on a terminal the screen is redrawn in\n"
    "                     place, otherwise blocks (with --json: objects) follow each other\n"
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

/* What `rcn status` shows, gathered once from a journal or a report and
 * then printed as text or JSON. Times are seconds; NAN when unknown. */
typedef struct {
    const char *path;
    int journal;         /* 1: from a journal (header set), 0: from a report */
    json_t *header;      /* the journal's header line (journal only) */
    json_t *report;      /* the journal aggregated as a report, or the report */
    long long done, total;
    int diverged, complete, racing;
    const char *created; /* journal: its "created" (NULL when unreadable) */
    double elapsed;      /* journal: since created; report: wall_seconds */
    double since_write;  /* journal: since its last line */
    double rate;         /* folds per second (journal: pauses included) */
    double eta;          /* seconds left when known (0: done) */
    char eta_text[32];   /* "done", "unknown (racing)", a duration; "" none */
} status_facts;

static void facts_free(status_facts *f)
{
    json_decref(f->report);
    json_decref(f->header);
    f->report = f->header = NULL;
}

/* The counts, completion and race of f->report. */
static void facts_counts(status_facts *f)
{
    const json_t *m = json_object_get(f->report, "meta");
    const char *st = json_string_value(json_object_get(m, "status"));
    f->done = json_integer_value(json_object_get(m, "folds_done"));
    f->total = json_integer_value(json_object_get(m, "folds_total"));
    f->diverged = count_diverged(json_object_get(f->report, "folds"));
    f->complete = st && !strcmp(st, "complete");
    f->racing = json_is_object(json_object_get(f->report, "race"));
    f->elapsed = f->since_write = f->rate = f->eta = NAN;
    f->eta_text[0] = '\0';
}

/* Journal: elapsed since created; rate over created..last line; ETA. */
static void facts_journal_times(status_facts *f)
{
    time_t created, now = time(NULL);
    struct stat st;
    f->created = json_string_value(json_object_get(f->header, "created"));
    if (parse_iso(f->created, &created) || stat(f->path, &st)) {
        f->created = NULL;
        return;
    }
    double span = difftime(st.st_mtime, created);
    f->elapsed = difftime(now, created);
    f->since_write = difftime(now, st.st_mtime);
    if (f->done <= 0 || span <= 0)
        return;
    f->rate = (double)f->done / span;
    if (f->racing ? f->complete : f->done >= f->total) {
        f->eta = 0;
        snprintf(f->eta_text, sizeof f->eta_text, "done");
    } else if (!f->racing) {
        f->eta = (double)(f->total - f->done) / f->rate;
        rcn_format_duration(f->eta, f->eta_text, sizeof f->eta_text);
    } else { /* the rungs to come depend on which cells survive */
        snprintf(f->eta_text, sizeof f->eta_text, "unknown (racing)");
    }
}

static int load_journal(status_facts *f)
{
    rcn_error err;
    json_t *folds;
    if (rcn_journal_read(f->path, &f->header, &folds, &err)) {
        fprintf(stderr, "rcn status: %s\n", err.msg);
        return RCN_EXIT_ERROR;
    }
    json_t *meta = json_pack("{s:O}", "job_hash", json_object_get(f->header, "job_hash"));
    f->report = rcn_report_from_folds(json_object_get(f->header, "job"), folds, meta, &err);
    json_decref(meta);
    json_decref(folds);
    if (!f->report) {
        fprintf(stderr, "rcn status: %s: %s\n", f->path, err.msg);
        return RCN_EXIT_ERROR;
    }
    facts_counts(f);
    facts_journal_times(f);
    return RCN_EXIT_OK;
}

static int load_report(status_facts *f)
{
    json_error_t jerr;
    json_t *r = f->report = json_load_file(f->path, 0, &jerr);
    if (!r) {
        fprintf(stderr, "rcn status: %s: not an rcn journal or report: %s (line %d, column %d)\n",
                f->path, jerr.text, jerr.line, jerr.column);
        return RCN_EXIT_ERROR;
    }
    const json_t *meta = json_object_get(r, "meta");
    const char *format = json_string_value(json_object_get(meta, "format"));
    if (!format || strcmp(format, "rcn-report") || !json_is_array(json_object_get(r, "folds"))) {
        fprintf(stderr, "rcn status: %s: not an rcn journal or report (no meta.format "
                "\"rcn-report\")\n", f->path);
        return RCN_EXIT_ERROR;
    }
    facts_counts(f);
    f->elapsed = json_number_value(json_object_get(meta, "wall_seconds"));
    f->rate = json_number_value(json_object_get(meta, "fold_jobs_per_second"));
    if (f->complete) {
        f->eta = 0;
        snprintf(f->eta_text, sizeof f->eta_text, "done");
    }
    return RCN_EXIT_OK;
}

/* Checks `path` is a readable regular file and loads it: an exit code. */
static int status_load(const char *path, status_facts *f)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "rcn status: %s: %s\n", path, strerror(errno));
        return RCN_EXIT_ERROR;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "rcn status: %s: not a regular file\n", path);
        return RCN_EXIT_ERROR;
    }
    FILE *fp = fopen(path, "rb"); /* unreadable: say so, not "not a journal" */
    if (!fp) {
        fprintf(stderr, "rcn status: %s: cannot open: %s\n", path, strerror(errno));
        return RCN_EXIT_ERROR;
    }
    fclose(fp);
    f->journal = rcn_journal_sniff(path);
    return f->journal ? load_journal(f) : load_report(f);
}

static void print_journal(const status_facts *f)
{
    printf("%s: journal of a %s search\n", f->path,
           f->complete ? "finished" : "running or stopped");
    print_counts(f->report);
    print_race(f->report);
    if (f->created) {
        char el[32], ago[32];
        rcn_format_duration(f->elapsed, el, sizeof el);
        rcn_format_duration(f->since_write, ago, sizeof ago);
        printf("elapsed:  %s since the journal was created (%s); last line written %s ago\n", el,
               f->created, ago);
        if (isfinite(f->rate))
            printf("rate:     %.2f folds/min, ETA %s\n", 60 * f->rate, f->eta_text);
    }
    print_best(json_object_get(f->report, "best"));
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

static void print_report(const status_facts *f)
{
    const json_t *r = f->report, *meta = json_object_get(r, "meta");
    const char *status = json_string_value(json_object_get(meta, "status"));
    printf("%s: report of a%s search\n", f->path,
           !status ? "" : !strcmp(status, "complete") ? " complete"
                      : !strcmp(status, "interrupted") ? "n interrupted" : "n incomplete");
    print_counts(r);
    char el[32];
    rcn_format_duration(f->elapsed, el, sizeof el);
    const char *started = json_string_value(json_object_get(meta, "started"));
    const char *finished = json_string_value(json_object_get(meta, "finished"));
    printf("elapsed:  %s (started %s, finished %s) on %lld ranks\n", el, started ? started : "?",
           finished ? finished : "not yet", (long long)json_integer_value(json_object_get(meta, "ranks")));
    printf("rate:     %.2f folds/min\n", 60 * f->rate);
    print_ranks(meta);
    print_race(r);
    print_best(json_object_get(r, "best"));
    const json_t *refit = json_object_get(r, "refit");
    if (json_is_number(json_object_get(refit, "test_accuracy")))
        printf("refit:    test loss %.6f, test accuracy %.2f%%\n",
               json_number_value(json_object_get(refit, "test_loss")),
               100 * json_number_value(json_object_get(refit, "test_accuracy")));
}

/* Copies `key` of `from` into `to` when present. */
static void copy_key(json_t *to, const json_t *from, const char *key)
{
    json_t *v = json_object_get(from, key);
    if (v)
        json_object_set(to, key, v);
}

/* The race part of the JSON: what print_race shows. */
static json_t *race_json(const json_t *report)
{
    const json_t *race = json_object_get(report, "race"), *meta = json_object_get(report, "meta");
    const json_t *cells = json_object_get(report, "cells");
    const json_t *rungs = json_object_get(json_object_get(json_object_get(report, "job"),
                                                          "schedule"), "rungs");
    json_t *o = json_object(), *alive = json_array();
    copy_key(o, race, "rule");
    copy_key(o, race, "finished");
    json_object_set_new(o, "rungs", json_integer((json_int_t)json_array_size(rungs)));
    if (json_is_true(json_object_get(race, "finished"))) {
        long long w = json_integer_value(json_object_get(race, "winner"));
        json_object_set_new(o, "winner", json_pack("{s:I, s:O?}", "cell", (json_int_t)w, "key",
                                                   json_object_get(json_array_get(cells, (size_t)w), "key")));
    } else {
        long long cur = json_integer_value(json_object_get(race, "current"));
        const json_t *rg = json_array_get(rungs, (size_t)cur);
        json_object_set_new(o, "rung", json_pack("{s:I, s:O?, s:O?}", "index", (json_int_t)cur,
                                                 "epochs", json_object_get(rg, "epochs"), "folds",
                                                 json_object_get(rg, "folds")));
    }
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(race, "alive"), i, a)
        json_array_append_new(alive, json_pack("{s:O, s:O?}", "cell", a, "key",
                              json_object_get(json_array_get(cells, (size_t)json_integer_value(a)), "key")));
    json_object_set_new(o, "survivors", alive);
    copy_key(o, meta, "fold_epochs");
    copy_key(o, meta, "exhaustive_fold_epochs");
    copy_key(o, meta, "budget_fraction");
    return o;
}

/* One object with what the text shows; NULL when out of memory. */
static json_t *status_json(const status_facts *f)
{
    const json_t *r = f->report, *meta = json_object_get(r, "meta");
    const json_t *best = json_object_get(r, "best"), *refit = json_object_get(r, "refit");
    json_t *o = json_pack("{s:s, s:s, s:s, s:O?, s:O?, s:O?, s:I, s:I, s:f, s:i, s:b}",
                          "format", "rcn-status", "path", f->path, "source",
                          f->journal ? "journal" : "report", "job",
                          json_object_get(json_object_get(r, "job"), "name"), "job_hash",
                          json_object_get(meta, "job_hash"), "status",
                          json_object_get(meta, "status"), "folds_done", (json_int_t)f->done,
                          "folds_total", (json_int_t)f->total, "fraction_done",
                          f->total ? (double)f->done / (double)f->total : 1.0, "diverged",
                          f->diverged, "complete", f->complete);
    if (!o)
        return NULL;
    json_object_set_new(o, "elapsed_seconds", rcn_json_num(f->elapsed));
    json_object_set_new(o, "folds_per_minute", rcn_json_num(60 * f->rate));
    json_object_set_new(o, "eta_seconds", f->eta_text[0] ? rcn_json_num(f->eta) : json_null());
    json_object_set_new(o, "eta", f->eta_text[0] ? json_string(f->eta_text) : json_null());
    if (f->journal) {
        json_object_set_new(o, "created", f->created ? json_string(f->created) : json_null());
        json_object_set_new(o, "seconds_since_last_write", rcn_json_num(f->since_write));
    } else {
        static const char *keys[] = {"started", "finished", "ranks", "coordinator_overhead",
                                     "rank_stats", "backups", "silent_ranks"};
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
            copy_key(o, meta, keys[i]);
    }
    json_object_set_new(o, "best", json_is_object(best)
                                       ? json_pack("{s:O?, s:O?, s:O?}", "key",
                                                   json_object_get(best, "key"), "mean_val_loss",
                                                   json_object_get(best, "mean_val_loss"),
                                                   "mean_val_accuracy",
                                                   json_object_get(best, "mean_val_accuracy"))
                                       : json_null());
    if (f->racing)
        json_object_set_new(o, "race", race_json(r));
    if (json_is_number(json_object_get(refit, "test_accuracy")))
        json_object_set_new(o, "refit", json_pack("{s:O?, s:O?}", "test_loss",
                                                  json_object_get(refit, "test_loss"),
                                                  "test_accuracy",
                                                  json_object_get(refit, "test_accuracy")));
    return o;
}

/* Loads and prints once (json: one object, compact when `compact`);
 * *complete (if not NULL) tells whether the search is complete. */
static int status_show(const char *path, int json, int compact, int *complete)
{
    status_facts f;
    int rc = status_load(path, &f);
    if (rc == RCN_EXIT_OK && json) {
        json_t *o = status_json(&f);
        if (!o || json_dumpf(o, stdout, (compact ? JSON_COMPACT : JSON_INDENT(2)) | JSON_REAL_PRECISION(15)) ||
            putchar('\n') == EOF) {
            fprintf(stderr, "rcn status: cannot write the JSON of %s\n", path);
            rc = RCN_EXIT_ERROR;
        }
        json_decref(o);
    } else if (rc == RCN_EXIT_OK) {
        (f.journal ? print_journal : print_report)(&f);
    }
    if (complete)
        *complete = rc == RCN_EXIT_OK && f.complete;
    facts_free(&f);
    fflush(stdout);
    return rc;
}

/* --watch: shows every `every` seconds until complete; on a terminal the
 * screen is cleared and redrawn, otherwise blocks follow (text: a blank
 * line between them). An error ends the watch with its exit code. */
static int status_watch(const char *path, int json, double every)
{
    int tty = isatty(STDOUT_FILENO), complete = 0;
    for (int n = 0;; n++) {
        if (tty)
            fputs("\033[H\033[2J", stdout);
        else if (n && !json)
            putchar('\n');
        int rc = status_show(path, json, !tty, &complete);
        if (rc != RCN_EXIT_OK || complete)
            return rc;
        struct timespec ts = {(time_t)every, (long)(1e9 * (every - floor(every)))};
        while (nanosleep(&ts, &ts) && errno == EINTR)
            ;
    }
}

int rcn_cmd_status(int argc, char **argv)
{
    int json = 0, watch = 0;
    double every = 5;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return RCN_EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--watch")) {
            watch = 1;
            char *end;
            if (i + 1 < argc && argv[i + 1][0] != '-' &&
                (every = strtod(argv[i + 1], &end), *end == '\0' && end != argv[i + 1]))
                i++; /* --watch SECONDS; else SECONDS was left out */
            else
                every = 5;
            if (!(every > 0 && every <= 86400)) {
                fprintf(stderr, "rcn status: --watch: expected seconds in (0, 86400], got %s\n",
                        argv[i]);
                return RCN_EXIT_USAGE;
            }
        } else if (a[0] == '-' || path) {
            fprintf(stderr, "rcn status: %s: %s\n%s", a,
                    a[0] == '-' ? "unknown option" : "expected one journal or report file",
                    usage_text);
            return RCN_EXIT_USAGE;
        } else {
            path = a;
        }
    }
    if (!path) {
        fprintf(stderr, "rcn status: expected one journal or report file\n%s", usage_text);
        return RCN_EXIT_USAGE;
    }
    return watch ? status_watch(path, json, every) : status_show(path, json, 0, NULL);
}
