/* coordinator.c - rank 0 of a search: hands out fold jobs most expensive
 * first, trains fold jobs itself while answering workers from the
 * training's poll hook, journals every finished fold, keeps the report
 * fresh, stops everyone on SIGTERM/SIGUSR1, and runs the refit.
 *
 * Stragglers: once no fold job is left to hand out, a rank that would idle
 * trains a backup copy of the job in flight expected to finish last (at
 * most one copy per job; a silent rank's jobs first, and only those when
 * the job's "stragglers" turn backups off). Results are pure functions of
 * the job, so the first copy to finish is journaled and the other is
 * cancelled (CANCEL; rank 0's own training stops at its next poll). A rank
 * holding jobs that sends nothing for its silence threshold
 * (rcn_stragglers) is named on stderr and in meta.silent_ranks; after the
 * last fold, a rank that does not answer the STOP within that threshold is
 * given up on: the final report is written and the caller ends the job
 * with MPI_Abort (x->abandoned).
 *
 * Cost: a finished fold costs rank 0 a journal append (one line, fsync)
 * and a progress line; the report is re-aggregated from all folds only when
 * it is due to be written, or for the progress line's "best" at most once
 * a second and at most 1% of the time (aggregation is linear in the folds,
 * so re-aggregating after every fold would make a big grid quadratic).
 * The time rank 0 spends coordinating is measured and reported (meta
 * coordinator_seconds, coordinator_overhead), with per-rank folds, training
 * seconds and peak memory (meta rank_stats). */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rcn/checkpoint.h"
#include "rcn/fileio.h"
#include "rcn/jsonutil.h"
#include "rcn/netfile.h"
#include "rcn/report.h"
#include "rcn/view.h"
#include "search_impl.h"

/* Per-batch overhead of a training step (SGD update, batch statistics,
 * loop and poll) counted as this many images' worth of compute: makes
 * small batches costlier in the dispatch order. */
#define PER_BATCH_IMAGES 32.0

/* W_IDLE: holds no job and waits for the next rung's, or a backup copy. */
enum { W_NEW, W_BUSY, W_IDLE, W_STOPPED, W_DONE };

/* A fold job a rank holds: sent to it (or in rank 0's training) and not
 * yet answered. A rank's entries are in the order it was given them. */
typedef struct {
    rcn_fold_job job;
    double cost;            /* set_queue's cost model */
    int rank;
    int backup;             /* a copy of a job another rank held */
    int cancelled;          /* a CANCEL was sent */
} flight;

typedef struct {
    rcn_search_ctx *x;
    int k, n_slots;         /* n_slots: cells x K, a slot per (cell, fold) */
    int total;              /* fold jobs of the whole search (racing: as planned) */
    int *have;              /* per slot cell*k+fold: epochs of its furthest record, -1 none */
    unsigned char *div;     /* per slot: its record diverged (no more jobs for it) */
    int n_done, n_done_start, n_diverged;
    rcn_fold_job *queue;    /* the pending fold jobs, most expensive first */
    double *queue_cost;     /* their costs */
    int n_queue, head;
    flight *fl;             /* the jobs ranks hold, at most 2 per rank */
    int n_fl, cap_fl;
    double *busy_since;     /* per rank: when its first held job (about) started */
    double *last_heard;     /* per rank: its last message, or when it was given work */
    unsigned char *silent;  /* per rank: silent now */
    double *silent_s;       /* per rank: longest silence noticed (0: never silent) */
    unsigned char *abandoned; /* per rank: given up on at the end */
    double spc_seconds, spc_cost; /* finished folds: seconds per unit of cost */
    double *rank_spc;       /* per rank: [2r] its folds' seconds, [2r+1] their cost */
    int backups_started, backups_won;
    int wake;               /* something changed that may give idle ranks a copy */
    int racing;             /* the job's schedule is halving */
    rcn_race race;          /* racing: the state after the last rung step */
    rcn_schedule_plan sched_plan; /* racing: the schedule's plan (no divergence) */
    int n_rungs_journaled;  /* racing: rung lines in the journal */
    int *wstate;            /* per rank; [0] unused */
    int *held;              /* per rank: its entries in fl */
    int n_bye;
    int stopping, outcome;
    int failed;             /* x->err holds the first failure */
    json_t *folds;          /* every finished fold object */
    json_t *report;         /* latest aggregation */
    json_t *refit;          /* refit object, or NULL */
    double last_write;
    int html_warned;        /* --html: a failure to write the page was shown */
    double last_aggregate, aggregate_cost; /* when, and how long it took */
    double coord_seconds;   /* rank 0's time spent coordinating */
    int *rank_folds;        /* per rank: folds finished in this run */
    double *rank_train_s;   /* per rank: their training seconds */
    double *rank_rss_mib;   /* per rank: peak resident memory (from BYE) */
    rcn_progress prog;
    void *msg;              /* RESULT receive buffer, msg_cap bytes */
    size_t msg_cap;
    rcn_train_result *in;   /* the last worker result, unpacked */
    rcn_train_result *own;  /* rank 0's own training */
    rcn_fold_job own_job;   /* its job */
} coord;

static void begin_stop(coord *c, int outcome);

static void fail(coord *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(coord *c, const char *fmt, ...)
{
    if (!c->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->x->err.msg, sizeof c->x->err.msg, fmt, ap);
        va_end(ap);
        c->failed = 1;
    }
    begin_stop(c, RCN_SEARCH_FAILED);
}

static void send_stop(coord *c, int w)
{
    int code = c->stopping ? c->outcome : RCN_SEARCH_COMPLETE;
    MPI_Send(&code, (int)sizeof code, MPI_BYTE, w, RCN_TAG_STOP, MPI_COMM_WORLD);
    c->wstate[w] = W_STOPPED;
}

static void begin_stop(coord *c, int outcome)
{
    if (c->stopping)
        return;
    c->stopping = 1;
    c->outcome = outcome;
    for (int w = 1; w < c->x->size; w++)
        if (c->wstate[w] == W_BUSY || c->wstate[w] == W_IDLE)
            send_stop(c, w);
}

/* Says on the progress stream when fold job (cell, fold) will continue
 * from a checkpoint (rank 0 sees the checkpoint directory: it is beside
 * the journal, on storage every rank shares). */
static void announce(coord *c, const rcn_fold_job *j)
{
    const char *dir = c->x->spec.ckpt_dir;
    char path[RCN_PATH_MAX + 64];
    int e;
    if (!c->x->opts->progress || !dir[0])
        return;
    rcn_ckpt_path(dir, j->cell, j->fold, path, sizeof path);
    /* a racing rung's planned continuation (from_epoch) goes unsaid */
    if (rcn_ckpt_peek_epochs(path, &e) == 0 && e > j->from_epoch)
        fprintf(c->x->opts->progress, "rcn search: continuing cell %d fold %d from epoch %d\n",
                j->cell, j->fold, e);
}

/* ---- jobs in flight, backup copies and silent ranks --------------------- */

static int slot_done(const coord *c, const rcn_fold_job *j)
{
    int slot = j->cell * c->k + j->fold;
    return c->div[slot] || c->have[slot] >= j->to_epoch;
}

static int same_job(const rcn_fold_job *a, const rcn_fold_job *b)
{
    return a->cell == b->cell && a->fold == b->fold && a->to_epoch == b->to_epoch;
}

static const char *host_of(const coord *c, int r)
{
    const char *h = json_string_value(json_array_get(c->x->rank_hosts, (size_t)r));
    return h ? h : "?";
}

/* Seconds a job of this cost is expected to take on rank r: at r's own
 * pace once it finished a fold in this run (a slow rank's jobs end late),
 * else at all ranks' (0 before the first fold). */
static double expected_s(const coord *c, int r, double cost)
{
    if (c->rank_spc[2 * r + 1] > 0)
        return cost * c->rank_spc[2 * r] / c->rank_spc[2 * r + 1];
    return c->spc_cost > 0 ? cost * c->spc_seconds / c->spc_cost : 0;
}

static void fl_add(coord *c, int rank, const rcn_fold_job *j, double cost, int backup)
{
    if (c->n_fl == c->cap_fl) { /* not expected: a worker holds at most 2 */
        flight *p = realloc(c->fl, 2 * (size_t)c->cap_fl * sizeof *p);
        if (!p) {
            fprintf(stderr, "rcn search: out of memory\n");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        c->fl = p;
        c->cap_fl *= 2;
    }
    if (c->held[rank] == 0)
        c->busy_since[rank] = c->last_heard[rank] = rcn_clock();
    c->fl[c->n_fl++] = (flight){*j, cost, rank, backup, 0};
    c->held[rank]++;
}

static void fl_remove(coord *c, int i)
{
    int r = c->fl[i].rank;
    assert(i >= 0 && i < c->n_fl && c->held[r] > 0);
    memmove(&c->fl[i], &c->fl[i + 1], (size_t)(c->n_fl - i - 1) * sizeof *c->fl);
    c->n_fl--;
    c->held[r]--;
    c->busy_since[r] = rcn_clock();
    c->wake = 1;
}

/* Rank r's first entry for (cell, fold) (and epochs, when >= 0), or -1. */
static int fl_find(const coord *c, int r, int cell, int fold, int epochs)
{
    for (int i = 0; i < c->n_fl; i++) {
        const flight *e = &c->fl[i];
        if (e->rank == r && e->job.cell == cell && e->job.fold == fold &&
            (epochs < 0 || e->job.to_epoch == epochs))
            return i;
    }
    return -1;
}

/* Whether a job in flight has no result yet. */
static int open_jobs(const coord *c)
{
    for (int i = 0; i < c->n_fl; i++)
        if (!slot_done(c, &c->fl[i].job))
            return 1;
    return 0;
}

/* When entry i is expected to end: its rank trains its entries in turn
 * from busy_since. Before any fold has finished, the costs alone. */
static double expected_end(const coord *c, int i)
{
    int r = c->fl[i].rank;
    double t = c->spc_cost > 0 ? c->busy_since[r] : 0;
    for (int j = 0; j <= i; j++)
        if (c->fl[j].rank == r && !c->fl[j].cancelled)
            t += c->spc_cost > 0 ? expected_s(c, r, c->fl[j].cost) : c->fl[j].cost;
    return t;
}

/* The entry to copy to rank r, or -1: an open job r does not hold, with
 * no copy yet unless every holder is silent; a silent rank's first, then
 * the one expected to end last. Without backups, only silent ranks' jobs. */
static int pick_backup(const coord *c, int r)
{
    int best = -1, best_silent = 0;
    double best_end = 0;
    for (int i = 0; i < c->n_fl; i++) {
        const flight *e = &c->fl[i];
        if (e->cancelled || e->rank == r || slot_done(c, &e->job))
            continue;
        int copies = 0, all_silent = 1, mine = 0;
        for (int j = 0; j < c->n_fl; j++) {
            const flight *o = &c->fl[j];
            if (o->cancelled || !same_job(&o->job, &e->job))
                continue;
            copies++;
            all_silent &= c->silent[o->rank];
            mine |= o->rank == r;
        }
        int sil = c->silent[e->rank];
        if (mine || (copies > 1 && !all_silent) || (!sil && !c->x->job.stragglers.backups))
            continue;
        double end = expected_end(c, i);
        if (best < 0 || sil > best_silent || (sil == best_silent && end > best_end))
            best = i, best_silent = sil, best_end = end;
    }
    return best;
}

/* Cancels every other copy of job j (its result is journaled): workers
 * are told, rank 0's own training sees it at its next poll. */
static void cancel_copies(coord *c, const rcn_fold_job *j)
{
    for (int i = 0; i < c->n_fl; i++) {
        flight *e = &c->fl[i];
        if (e->cancelled || !same_job(&e->job, j))
            continue;
        e->cancelled = 1;
        /* a stopped worker drops its jobs anyway, and one that said BYE
         * receives nothing more */
        if (e->rank != 0 && (c->wstate[e->rank] == W_BUSY || c->wstate[e->rank] == W_IDLE)) {
            int msg[3] = {j->cell, j->fold, j->to_epoch};
            MPI_Send(msg, (int)sizeof msg, MPI_BYTE, e->rank, RCN_TAG_CANCEL, MPI_COMM_WORLD);
        }
    }
}

/* Rank r's silence threshold: rcn_stragglers, for the job it trains. */
static double threshold(const coord *c, int r)
{
    const rcn_stragglers *s = &c->x->job.stragglers;
    double exp = 0;
    for (int i = 0; i < c->n_fl && exp == 0; i++)
        if (c->fl[i].rank == r)
            exp = expected_s(c, r, c->fl[i].cost);
    return fmax(s->silent_min_seconds, s->silent_after * exp);
}

/* Any message from rank r: it is alive. */
static void heard(coord *c, int r)
{
    double now = rcn_clock();
    if (c->silent[r]) {
        c->silent_s[r] = fmax(c->silent_s[r], now - c->last_heard[r]);
        c->silent[r] = 0;
        c->wake = 1;
        fprintf(stderr, "rcn search: rank %d on host %s is heard from again after %.0f s\n",
                r, host_of(c, r), now - c->last_heard[r]);
    }
    c->last_heard[r] = now;
}

/* Names the ranks that hold jobs and went silent (once per silence). */
static void check_silence(coord *c)
{
    double now = rcn_clock();
    for (int w = 1; w < c->x->size; w++) {
        if (c->held[w] == 0 || c->silent[w] || c->abandoned[w])
            continue;
        double quiet = now - c->last_heard[w];
        if (quiet <= threshold(c, w))
            continue;
        c->silent[w] = 1;
        c->silent_s[w] = fmax(c->silent_s[w], quiet);
        c->wake = 1;
        c->last_write = -HUGE_VAL; /* the next refresh writes the report: rcn status shows it */
        fprintf(stderr, "rcn search: rank %d on host %s silent for %.0f s; its folds go to the "
                "others as backups\n", w, host_of(c, w), quiet);
    }
}

/* After the stop: gives up on the ranks that do not answer it within their
 * threshold (counted from the stop or their last message). */
static void give_up(coord *c, double t_stop)
{
    double now = rcn_clock();
    for (int w = 1; w < c->x->size; w++) {
        if (c->wstate[w] == W_DONE || c->abandoned[w])
            continue;
        double quiet = now - fmax(t_stop, c->last_heard[w]);
        if (quiet <= threshold(c, w))
            continue;
        c->abandoned[w] = 1;
        c->x->abandoned++;
        fprintf(stderr, "rcn search: giving up on rank %d on host %s: no answer to the stop "
                "for %.0f s\n", w, host_of(c, w), quiet);
    }
}

/* Sends worker w, which holds nothing, a copy of a job in flight; 0 if
 * there is none to copy. */
static int give_backup(coord *c, int w)
{
    int i = pick_backup(c, w);
    if (i < 0)
        return 0;
    flight e = c->fl[i];
    int job[3] = {e.job.cell, e.job.fold, e.job.to_epoch};
    MPI_Send(job, (int)sizeof job, MPI_BYTE, w, RCN_TAG_JOB, MPI_COMM_WORLD);
    fl_add(c, w, &e.job, e.cost, 1);
    c->backups_started++;
    c->wstate[w] = W_BUSY;
    return 1;
}

/* Answers worker w after its request or result: tops its jobs in hand up
 * to two while the queue holds more than two per rank (the worker then
 * starts its next fold the moment it sends a result, instead of waiting for
 * rank 0's next poll, which comes only between rank 0's own batches), to one
 * near the end (so that the last, cheapest jobs go to whoever is free).
 * With none left it gets a backup copy of a job in flight, or waits
 * (W_IDLE) while jobs are in flight or a race's rung is undecided: for a
 * copy, the next rung's jobs or the end; STOP once nothing is left, or
 * when stopping. */
static void reply(coord *c, int w)
{
    if (c->wstate[w] == W_STOPPED || c->wstate[w] == W_DONE)
        return;
    if (c->stopping) {
        send_stop(c, w);
        return;
    }
    int depth = c->n_queue - c->head > 2 * c->x->size ? 2 : 1;
    while (c->held[w] < depth && c->head < c->n_queue) {
        const rcn_fold_job *j = &c->queue[c->head];
        int job[3] = {j->cell, j->fold, j->to_epoch};
        announce(c, j);
        MPI_Send(job, (int)sizeof job, MPI_BYTE, w, RCN_TAG_JOB, MPI_COMM_WORLD);
        fl_add(c, w, j, c->queue_cost[c->head++], 0);
        c->wstate[w] = W_BUSY;
    }
    if (c->held[w] > 0 || give_backup(c, w))
        return;
    if (open_jobs(c) || (c->racing && !c->race.finished))
        c->wstate[w] = W_IDLE;
    else
        send_stop(c, w);
}

/* meta.rank_stats: per rank, this run's folds, their training seconds and
 * the peak memory (workers report theirs when they finish; null before). */
static json_t *rank_stats(coord *c, double wall)
{
    json_t *a = json_array();
    for (int r = 0; a && r < c->x->size; r++) {
        double rss = r == 0 ? rcn_peak_rss_mib() : c->rank_rss_mib[r];
        json_array_append_new(
            a, json_pack("{s:i, s:i, s:f, s:f, s:o}", "rank", r, "folds", c->rank_folds[r],
                         "train_seconds", c->rank_train_s[r], "busy_fraction",
                         wall > 0 ? c->rank_train_s[r] / wall : 0.0, "peak_rss_mib",
                         rss > 0 ? json_real(rss) : json_null()));
    }
    return a;
}

/* meta.silent_ranks: the ranks that went silent in this run, with their
 * host, longest silence, whether silent now and whether given up on. */
static json_t *silent_ranks(const coord *c)
{
    json_t *a = json_array();
    double now = rcn_clock();
    for (int r = 1; a && r < c->x->size; r++) {
        if (!c->silent[r] && c->silent_s[r] == 0)
            continue;
        double s = c->silent[r] ? fmax(c->silent_s[r], now - c->last_heard[r]) : c->silent_s[r];
        json_array_append_new(a, json_pack("{s:i, s:s, s:f, s:b, s:b}", "rank", r, "host",
                                           host_of(c, r), "silent_seconds", s, "silent_now",
                                           c->silent[r], "abandoned", c->abandoned[r]));
    }
    return a;
}

static json_t *make_meta(coord *c, const char *status, int finished)
{
    rcn_search_ctx *x = c->x;
    double wall = rcn_clock() - x->t0;
    char now[32];
    rcn_iso_time(now, sizeof now);
    json_t *m = json_pack("{s:s, s:i, s:O, s:s, s:o, s:f, s:f}", "job_hash", x->job.hash, "ranks",
                          x->size, "hosts", x->hosts, "started", x->started, "finished",
                          finished ? json_string(now) : json_null(), "wall_seconds", wall,
                          "fold_jobs_per_second",
                          wall > 0 ? (c->n_done - c->n_done_start) / wall : 0.0);
    if (m && status)
        json_object_set_new(m, "status", json_string(status));
    if (m) {
        json_object_set_new(m, "coordinator_seconds", json_real(c->coord_seconds));
        json_object_set_new(m, "coordinator_overhead",
                            json_real(wall > 0 ? c->coord_seconds / wall : 0.0));
        json_object_set_new(m, "rank_stats", rank_stats(c, wall));
        json_object_set_new(m, "backups", json_pack("{s:i, s:i}", "started",
                                                    c->backups_started, "won", c->backups_won));
        json_object_set_new(m, "silent_ranks", silent_ranks(c));
    }
    return m;
}

enum { REFRESH_LAZY, REFRESH_NOW, REFRESH_FINAL };

/* --html DIR: the page of report `r`, as `rcn report --html` writes it,
 * reloading itself as often as the report is rewritten (5 s to 5 min). A
 * failure is a warning (the first, and the final write's), never the
 * search's: the report is already written. */
static void write_page(coord *c, const json_t *r, int final)
{
    const rcn_search_opts *o = c->x->opts;
    rcn_view_html_opts ho = {0, (int)fmax(5, fmin(300, o->report_every)), 6, NULL};
    rcn_view_report *v = NULL;
    rcn_error e = {{0}};
    if ((rcn_view_from_json(r, c->x->job.output, &v, &e) || rcn_view_html(v, o->html, &ho, &e)) &&
        o->progress && (!c->html_warned++ || final))
        fprintf(o->progress, "rcn search: warning: --html: %s (the search goes on)\n", e.msg);
    rcn_view_free(v);
}

/* Re-aggregates the report and writes it when `mode` is REFRESH_FINAL or
 * report_every seconds have passed since the last write. REFRESH_LAZY (after
 * a fold) skips the aggregation unless the write is due or the last one is
 * older than max(1 s, 100 x its cost); REFRESH_NOW always aggregates. */
static int refresh(coord *c, const char *status, int mode)
{
    rcn_search_ctx *x = c->x;
    int final = mode == REFRESH_FINAL;
    double t = rcn_clock();
    int write_due = final || t - c->last_write >= x->opts->report_every;
    if (mode == REFRESH_LAZY && !write_due && c->report &&
        t - c->last_aggregate < fmax(1.0, 100.0 * c->aggregate_cost))
        return 0;
    rcn_error e;
    json_t *meta = make_meta(c, status, final);
    json_t *r = rcn_report_from_folds(x->job.json, c->folds, meta, &e);
    json_decref(meta);
    if (!r) {
        fail(c, "%s: %s", x->job.output, e.msg);
        return -1;
    }
    if (c->refit)
        json_object_set(r, "refit", c->refit);
    json_decref(c->report);
    c->report = r;
    double now = rcn_clock();
    c->last_aggregate = now;
    c->aggregate_cost = now - t;
    if (write_due) {
        c->last_write = now;
        if (rcn_write_json_atomic(x->job.output, r, &e)) {
            fail(c, "%s", e.msg);
            return -1;
        }
        if (x->opts->html)
            write_page(c, r, final);
    }
    return 0;
}

/* Journals a result; 1 when it was (0: one was journaled already, or a
 * failure, which fail() records). */
static int record(coord *c, int cell, int fold, const rcn_train_result *res)
{
    rcn_search_ctx *x = c->x;
    if (cell < 0 || cell >= x->plan->n_cells || fold < 0 || fold >= c->k) {
        fail(c, "internal: a result for (cell %d, fold %d), outside the job", cell, fold);
        return 0;
    }
    int slot = cell * c->k + fold;
    if (c->div[slot] || c->have[slot] >= res->n_epochs)
        return 0; /* a result already journaled */
    rcn_error e;
    const rcn_plan_cell *pc = rcn_plan_cell_at(x->plan, cell);
    json_t *f = rcn_fold_to_json(pc, fold, res);
    if (!f) {
        fail(c, "out of memory recording (cell %d, fold %d)", cell, fold);
        return 0;
    }
    if (rcn_journal_append(x->journal, f, &e)) {
        json_decref(f);
        fail(c, "%s", e.msg);
        return 0;
    }
    int diverged = !strcmp(json_string_value(json_object_get(f, "status")), "diverged");
    /* the fold's last record: its checkpoint is no longer needed (a racing
     * fold short of its epochs keeps it for the next rung) */
    if ((diverged || res->n_epochs >= pc->epochs) && x->spec.ckpt_dir[0] &&
        rcn_ckpt_remove(x->spec.ckpt_dir, cell, fold, &e) && x->opts->progress)
        fprintf(x->opts->progress, "rcn search: warning: %s\n", e.msg); /* only disk left used */
    c->n_diverged += diverged;
    json_array_append_new(c->folds, f);
    c->have[slot] = res->n_epochs;
    c->div[slot] = (unsigned char)diverged;
    c->n_done++;
    if (refresh(c, NULL, REFRESH_LAZY) == 0)
        rcn_progress_update(&c->prog, c->n_done, c->n_diverged, json_object_get(c->report, "best"));
    return 1;
}

/* Entry i's result: journaled if it is the first copy's (the others are
 * cancelled), and the seconds per unit of cost learnt from it. */
static void finished(coord *c, int i, const rcn_train_result *res)
{
    flight e = c->fl[i];
    fl_remove(c, i);
    if (!res->diverged && res->seconds > 0) {
        c->spc_seconds += res->seconds;
        c->spc_cost += e.cost;
        c->rank_spc[2 * e.rank] += res->seconds;
        c->rank_spc[2 * e.rank + 1] += e.cost;
    }
    if (!record(c, e.job.cell, e.job.fold, res))
        return;
    c->rank_folds[e.rank]++;
    c->backups_won += e.backup;
    cancel_copies(c, &e.job);
}

/* Receives the probed message and discards it. */
static void drop(const MPI_Status *st)
{
    int n = 0;
    MPI_Get_count(st, MPI_BYTE, &n);
    char *junk = malloc(n > 0 ? (size_t)n : 1);
    MPI_Recv(junk, n, MPI_BYTE, st->MPI_SOURCE, st->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    free(junk);
}

/* A worker's RESULT: the first of its held jobs of that (cell, fold). */
static void on_result(coord *c, const MPI_Status *st)
{
    int w = st->MPI_SOURCE, n = 0, cell = -1, fold = -1;
    MPI_Get_count(st, MPI_BYTE, &n);
    if (n < 0 || (size_t)n > c->msg_cap) {
        drop(st);
        fail(c, "rank %d: a result of %d bytes, more than the longest cell's %zu", w, n,
             c->msg_cap);
        return;
    }
    MPI_Recv(c->msg, n, MPI_BYTE, w, st->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (rcn_wire_result_unpack(c->msg, (size_t)n, &cell, &fold, c->in)) {
        fail(c, "rank %d: a malformed result of %d bytes", w, n);
        return;
    }
    int i = fl_find(c, w, cell, fold, -1);
    if (i < 0) {
        fail(c, "internal: rank %d sent a result for (cell %d, fold %d), a job it does not "
             "hold", w, cell, fold);
        return;
    }
    c->rank_train_s[w] += c->in->seconds - c->in->seconds_before;
    finished(c, i, c->in);
}

static void handle(coord *c, const MPI_Status *st)
{
    int w = st->MPI_SOURCE, dummy, job[3], i;
    char text[RCN_ERROR_MAX];
    heard(c, w);
    switch (st->MPI_TAG) {
    case RCN_TAG_REQUEST:
        MPI_Recv(&dummy, (int)sizeof dummy, MPI_BYTE, w, st->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        reply(c, w);
        break;
    case RCN_TAG_RESULT:
        on_result(c, st);
        reply(c, w);
        break;
    case RCN_TAG_DROPPED: /* {cell, fold, epochs}: a cancelled copy given up */
        MPI_Recv(job, (int)sizeof job, MPI_BYTE, w, st->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if ((i = fl_find(c, w, job[0], job[1], job[2])) < 0 || !c->fl[i].cancelled)
            fail(c, "internal: rank %d dropped (cell %d, fold %d), a job not cancelled", w,
                 job[0], job[1]);
        else
            fl_remove(c, i);
        reply(c, w);
        break;
    case RCN_TAG_HEARTBEAT:
        MPI_Recv(&dummy, (int)sizeof dummy, MPI_BYTE, w, st->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        break;
    case RCN_TAG_ERROR:
        MPI_Recv(text, (int)sizeof text, MPI_BYTE, w, st->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        text[sizeof text - 1] = 0;
        fail(c, "rank %d: %s", w, text);
        reply(c, w);
        break;
    case RCN_TAG_BYE: /* carries the worker's peak memory, MiB */
        MPI_Recv(&c->rank_rss_mib[w], (int)sizeof(double), MPI_BYTE, w, st->MPI_TAG,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        c->wstate[w] = W_DONE;
        c->n_bye++;
        break;
    default: /* not ours */
        drop(st);
    }
}

/* Answers everything waiting; returns non-zero once the search is stopping.
 * Its time counts as coordination. */
static int service(coord *c)
{
    double t = rcn_clock();
    if (rcn_search_signal && !c->stopping)
        begin_stop(c, RCN_SEARCH_INTERRUPTED);
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (!flag)
            break;
        handle(c, &st);
    }
    check_silence(c);
    if (c->wake && !c->stopping && c->head >= c->n_queue) { /* copies for idle ranks */
        c->wake = 0;
        for (int w = 1; w < c->x->size; w++)
            if (c->wstate[w] == W_IDLE)
                reply(c, w);
    }
    c->coord_seconds += rcn_clock() - t;
    return c->stopping;
}

/* Rank 0's training stops when stopping, or when another copy of its job
 * was journaled first. */
static int own_poll(void *ud)
{
    coord *c = ud;
    return service(c) || slot_done(c, &c->own_job);
}

/* Says why a checkpoint of the last fold job could not be saved, if so. */
static void warn_ckpt(coord *c)
{
    char msg[RCN_ERROR_MAX];
    if (rcn_fold_runner_take_warning(c->x->runner, msg, sizeof msg) && c->x->opts->progress)
        fprintf(c->x->opts->progress, "rcn search: warning: %s (training goes on; an "
                "interruption restarts the fold from its last saved epoch)\n", msg);
}

/* Rank 0 trains job j (a backup copy of a job in flight, or not). */
static void run_own(coord *c, rcn_fold_job j, double cost, int backup)
{
    rcn_train_hooks hooks = {.poll = own_poll, .ud = c};
    rcn_error e;
    fl_add(c, 0, &j, cost, backup);
    c->own_job = j;
    if (!backup) /* a copy continues from the original's checkpoints: not a resume */
        announce(c, &j);
    int rc = rcn_fold_run(c->x->runner, j.cell, j.fold, j.to_epoch, &hooks, c->own, &e);
    warn_ckpt(c);
    int i = fl_find(c, 0, j.cell, j.fold, j.to_epoch);
    assert(i >= 0);
    if (rc) {
        fl_remove(c, i);
        fail(c, "%s", e.msg);
        return;
    }
    if (c->own->aborted) { /* stopping, or another copy was journaled first */
        fl_remove(c, i);
        return;
    }
    double t = rcn_clock();
    c->rank_train_s[0] += c->own->seconds - c->own->seconds_before;
    finished(c, i, c->own);
    c->coord_seconds += rcn_clock() - t;
}

typedef struct {
    double cost;
    rcn_fold_job job;
} costed;

static int by_cost(const void *a, const void *b)
{
    const costed *p = a, *q = b;
    if (p->cost != q->cost)
        return p->cost > q->cost ? -1 : 1;
    if (p->job.cell != q->job.cell)
        return p->job.cell < q->job.cell ? -1 : 1;
    return (p->job.fold > q->job.fold) - (p->job.fold < q->job.fold);
}

/* Makes jobs[0..n) the queue, most expensive first, ties by (cell, fold):
 * the cost of a job is its epochs still to train times its images plus a
 * per-batch overhead. */
static int set_queue(coord *c, const rcn_fold_job *jobs, int n)
{
    rcn_search_ctx *x = c->x;
    costed *q = malloc((size_t)(n > 0 ? n : 1) * sizeof *q);
    if (!q)
        return -1;
    double flops = rcn_arch_forward_flops(&x->spec.arch);
    for (int i = 0; i < n; i++) {
        const rcn_plan_cell *cell = rcn_plan_cell_at(x->plan, jobs[i].cell);
        double imgs = (double)rcn_fold_train_size(x->runner, jobs[i].fold);
        q[i].cost = (jobs[i].to_epoch - jobs[i].from_epoch) * flops *
                    (imgs + ceil(imgs / cell->batch_size) * PER_BATCH_IMAGES);
        q[i].job = jobs[i];
    }
    qsort(q, (size_t)n, sizeof *q, by_cost);
    for (int i = 0; i < n; i++) {
        c->queue[i] = q[i].job;
        c->queue_cost[i] = q[i].cost;
    }
    c->n_queue = n;
    c->head = 0;
    free(q);
    return 0;
}

/* The exhaustive grid's jobs: every (cell, fold) without a record. */
static int grid_queue(coord *c)
{
    rcn_fold_job *jobs = malloc((size_t)c->n_slots * sizeof *jobs);
    if (!jobs)
        return -1;
    int n = 0;
    for (int s = 0; s < c->n_slots; s++)
        if (c->have[s] < 0)
            jobs[n++] = (rcn_fold_job){s / c->k, s % c->k, 0,
                                       rcn_plan_cell_at(c->x->plan, s / c->k)->epochs};
    int rc = set_queue(c, jobs, n);
    free(jobs);
    return rc;
}

static int load_journaled(coord *c)
{
    rcn_search_ctx *x = c->x;
    size_t i;
    json_t *f;
    json_array_foreach(x->journaled, i, f) {
        int cell = (int)json_integer_value(json_object_get(f, "cell"));
        int fold = (int)json_integer_value(json_object_get(f, "fold"));
        const char *st = json_string_value(json_object_get(f, "status"));
        int n_ep = (int)json_array_size(json_object_get(f, "epochs"));
        if (cell < 0 || cell >= x->plan->n_cells || fold < 0 || fold >= c->k || !st) {
            fail(c, "%s: fold line %zu: (cell %d, fold %d) is not a fold of this job",
                 x->job.journal, i + 1, cell, fold);
            return -1;
        }
        int slot = cell * c->k + fold;
        /* the grid keeps a fold's first record; a race, every rung's */
        if (c->div[slot] || (c->racing ? c->have[slot] >= n_ep : c->have[slot] >= 0))
            continue;
        int diverged = !strcmp(st, "diverged");
        if (x->spec.ckpt_dir[0] && (diverged || n_ep >= rcn_plan_cell_at(x->plan, cell)->epochs))
            rcn_ckpt_remove(x->spec.ckpt_dir, cell, fold, NULL); /* a kill after the line */
        c->have[slot] = n_ep;
        c->div[slot] = (unsigned char)diverged;
        c->n_done++;
        c->n_diverged += diverged;
        json_array_append(c->folds, f);
    }
    return 0;
}

/* ---- racing: one step per decided rung --------------------------------- */

/* Journals the rungs decided since the last step (a resumed search first
 * checks the rung lines it finds against the decisions its folds give),
 * drops the checkpoints of the cells that left, and says so. */
static int journal_rungs(coord *c)
{
    rcn_search_ctx *x = c->x;
    const json_t *had = rcn_journal_rungs(x->journal);
    json_t *all = rcn_race_to_json(&c->race), *rungs = json_object_get(all, "rungs");
    rcn_error e;
    for (int r = 0; r < c->race.n_decided && !c->failed; r++) {
        json_t *line = json_array_get(rungs, (size_t)r);
        json_object_set_new(line, "rung", json_integer(r));
        if (r < (int)json_array_size(had)) {
            if (!json_equal(json_object_get(json_array_get(had, (size_t)r), "cells"),
                            json_object_get(line, "cells")))
                fail(c, "%s: rung %d: the journaled decision differs from the one its fold "
                     "lines give; the journal is damaged", x->job.journal, r);
            continue;
        }
        if (rcn_journal_append_rung(x->journal, line, &e)) {
            fail(c, "%s", e.msg);
            break;
        }
        const rcn_rung_result *rr = &c->race.rungs[r];
        for (int i = 0; i < rr->n_in && x->spec.ckpt_dir[0]; i++)
            for (int f = 0; !rr->cells[i].kept && f < c->k; f++)
                rcn_ckpt_remove(x->spec.ckpt_dir, rr->cells[i].cell, f, NULL);
        if (x->opts->progress)
            fprintf(x->opts->progress, "rcn search: rung %d of %d (%d epoch%s, %d folds): %d "
                    "cells in, %d kept, %d eliminated, %d diverged; best %s (val loss %.4f)\n",
                    r + 1, x->job.schedule.n_rungs, rr->epochs, rr->epochs == 1 ? "" : "s",
                    rr->folds, rr->n_in, rr->n_kept, rr->n_eliminated, rr->n_diverged,
                    rcn_plan_cell_at(x->plan, rr->cells[0].cell)->key, rr->cells[0].score);
    }
    json_decref(all);
    return c->failed ? -1 : 0;
}

/* Re-evaluates the race from every fold record (a pure function of them),
 * journals what was decided, and queues the current rung's jobs. */
static int race_step(coord *c)
{
    rcn_search_ctx *x = c->x;
    rcn_fold_record *recs = NULL;
    int n = 0, rc;
    rcn_error e;
    rcn_race_free(&c->race);
    rc = rcn_fold_records_from_json(c->folds, x->job.journal, x->plan->n_cells, c->k, &recs,
                                    &n, &e);
    if (rc == 0) {
        rc = rcn_race_eval(&x->job.schedule, x->plan->n_cells, c->k, recs, n, &c->race, &e);
        rcn_fold_records_free(recs, n);
    }
    if (rc) {
        fail(c, "%s", e.msg);
        return -1;
    }
    if (journal_rungs(c))
        return -1;
    if (set_queue(c, c->race.jobs, c->race.n_jobs)) {
        fail(c, "out of memory for %d fold jobs", c->race.n_jobs);
        return -1;
    }
    for (int w = 1; w < x->size; w++) /* wake the workers waiting for this rung */
        if (c->wstate[w] == W_IDLE)
            reply(c, w);
    return 0;
}

/* Fold jobs a race runs when no cell diverges: per rung, its cells times
 * the folds that train (all of them when the rung adds epochs, else the
 * new ones). */
static int race_planned_jobs(const rcn_schedule_plan *p)
{
    int jobs = 0;
    for (int r = 0; r < p->n_rungs; r++) {
        const rcn_plan_rung *pr = &p->rungs[r];
        int prev_e = r ? p->rungs[r - 1].epochs : 0, prev_f = r ? p->rungs[r - 1].folds : 0;
        jobs += pr->cells * (pr->epochs > prev_e ? pr->folds : pr->folds - prev_f);
    }
    return jobs;
}

static void refit_path(const char *output, char *buf, size_t cap)
{
    size_t n = strlen(output);
    if (n >= 5 && !strcmp(output + n - 5, ".json"))
        n -= 5;
    snprintf(buf, cap, "%.*s.refit.safetensors", (int)n, output);
}

static int refit_poll(void *ud)
{
    (void)ud;
    return rcn_search_signal != 0;
}

/* Trains the best cell on the whole (subset) training set, evaluates on
 * the test set, saves the model; fills c->refit. */
static void do_refit(coord *c)
{
    rcn_search_ctx *x = c->x;
    const json_t *best = json_object_get(c->report, "best");
    if (!json_is_object(best)) {
        if (x->opts->progress)
            fprintf(x->opts->progress, "rcn search: no refit: no cell finished without "
                    "diverging\n");
        return;
    }
    int cell = (int)json_integer_value(json_object_get(best, "cell"));
    const rcn_plan_cell *pc = rcn_plan_cell_at(x->plan, cell);
    if (x->opts->progress)
        fprintf(x->opts->progress, "rcn search: refit of %s on %lld images, tested on %lld\n",
                pc->key, (long long)rcn_fold_train_size(x->runner, c->k), (long long)x->test.n);
    rcn_train_hooks hooks = {.poll = refit_poll};
    rcn_error e;
    announce(c, &(rcn_fold_job){cell, c->k, 0, pc->epochs});
    int rc = rcn_fold_run(x->runner, cell, c->k, pc->epochs, &hooks, c->own, &e);
    warn_ckpt(c);
    if (rc) {
        fail(c, "refit: %s", e.msg);
        return;
    }
    if (c->own->aborted) {
        c->stopping = 1;
        c->outcome = RCN_SEARCH_INTERRUPTED;
        return;
    }
    const rcn_train_result *r = c->own;
    const rcn_epoch_stats *last = r->n_epochs ? &r->epochs[r->n_epochs - 1] : NULL;
    int ok = !r->diverged && last && isfinite(last->val_loss);
    char model[RCN_PATH_MAX + 32];
    refit_path(x->job.output, model, sizeof model);
    if (ok) {
        json_t *extra = json_pack("{s:s, s:s, s:O, s:f, s:f}", "job_hash", x->job.hash, "key",
                                  pc->key, "params", pc->params, "test_loss", last->val_loss,
                                  "test_accuracy", last->val_accuracy);
        int rc = rcn_safetensors_save(model, rcn_fold_runner_last_net(x->runner), extra, &e);
        json_decref(extra);
        if (rc) {
            fail(c, "refit: %s", e.msg);
            return;
        }
    }
    c->refit = json_pack("{s:O, s:o, s:o, s:o, s:o, s:o, s:i, s:s, s:s}", "params", pc->params,
                         "epochs", rcn_epochs_to_json(r), "test_loss",
                         ok ? rcn_json_num(last->val_loss) : json_null(), "test_accuracy",
                         ok ? rcn_json_num(last->val_accuracy) : json_null(), "model",
                         ok ? json_string(model) : json_null(), "seconds",
                         rcn_json_num(r->seconds), "cell", cell, "key", pc->key, "status",
                         ok ? "ok" : "diverged");
}

/* Allocates the coordinator's state (aborts the job when out of memory). */
static void coord_init(coord *c, rcn_search_ctx *x)
{
    memset(c, 0, sizeof *c);
    c->x = x;
    c->k = x->plan->n_folds;
    c->n_slots = x->plan->n_cells * c->k;
    c->racing = x->job.schedule.kind == RCN_SCHEDULE_HALVING;
    if (c->racing)
        rcn_schedule_plan_compute(&x->job.schedule, x->plan->n_cells, c->k, x->job.epochs, NULL,
                                  &c->sched_plan);
    c->total = c->racing ? race_planned_jobs(&c->sched_plan) : c->n_slots;
    c->have = malloc((size_t)c->n_slots * sizeof *c->have);
    c->div = calloc((size_t)c->n_slots, 1);
    c->queue = malloc((size_t)c->n_slots * sizeof *c->queue);
    c->queue_cost = malloc((size_t)c->n_slots * sizeof *c->queue_cost);
    c->cap_fl = 2 * x->size + 1; /* a worker holds at most 2 jobs, rank 0 one */
    c->fl = malloc((size_t)c->cap_fl * sizeof *c->fl);
    c->busy_since = calloc((size_t)x->size, sizeof *c->busy_since);
    c->last_heard = calloc((size_t)x->size, sizeof *c->last_heard);
    c->silent = calloc((size_t)x->size, 1);
    c->silent_s = calloc((size_t)x->size, sizeof *c->silent_s);
    c->abandoned = calloc((size_t)x->size, 1);
    c->rank_spc = calloc(2 * (size_t)x->size, sizeof *c->rank_spc);
    for (int s = 0; c->have && s < c->n_slots; s++)
        c->have[s] = -1;
    c->wstate = calloc((size_t)x->size, sizeof *c->wstate);
    c->held = calloc((size_t)x->size, sizeof *c->held);
    int cap = x->runner ? rcn_fold_max_epochs(x->runner) : 1;
    c->msg_cap = rcn_wire_result_bytes(cap);
    c->msg = malloc(c->msg_cap);
    c->in = rcn_train_result_create(cap, NULL);
    c->own = rcn_train_result_create(cap, NULL);
    c->folds = json_array();
    c->rank_folds = calloc((size_t)x->size, sizeof *c->rank_folds);
    c->rank_train_s = calloc((size_t)x->size, sizeof *c->rank_train_s);
    c->rank_rss_mib = calloc((size_t)x->size, sizeof *c->rank_rss_mib);
    c->last_write = rcn_clock();
    for (int r = 0; c->last_heard && r < x->size; r++)
        c->last_heard[r] = c->last_write;
    if (!c->queue_cost || !c->fl || !c->busy_since || !c->last_heard || !c->silent ||
        !c->silent_s || !c->abandoned || !c->rank_spc)
        c->have = NULL; /* out of memory: caught below */
    if (!c->have || !c->div || !c->queue || !c->wstate || !c->held || !c->msg || !c->in || !c->own || !c->folds ||
        !c->rank_folds || !c->rank_train_s || !c->rank_rss_mib) {
        fprintf(stderr, "rcn search: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

static void coord_free(coord *c)
{
    json_decref(c->report);
    json_decref(c->refit);
    json_decref(c->folds);
    rcn_race_free(&c->race);
    free(c->have);
    free(c->div);
    free(c->wstate);
    free(c->held);
    free(c->msg);
    rcn_train_result_free(c->in);
    rcn_train_result_free(c->own);
    free(c->queue);
    free(c->queue_cost);
    free(c->fl);
    free(c->busy_since);
    free(c->last_heard);
    free(c->silent);
    free(c->silent_s);
    free(c->abandoned);
    free(c->rank_spc);
    free(c->rank_folds);
    free(c->rank_train_s);
    free(c->rank_rss_mib);
}

/* The search's first progress line: its size, and what was done before. */
static void say_start(const coord *c, FILE *out)
{
    const rcn_search_ctx *x = c->x;
    if (!out || c->failed)
        return;
    if (c->racing) {
        const rcn_schedule_plan *p = &c->sched_plan;
        fprintf(out, "rcn search: %s: %d cells x %d folds raced by successive halving (eta %d, "
                "%d rungs): %d fold jobs, %lld of %lld fold-epochs (%.1f%%) if none diverges; "
                "%d done before (journal %s), %d rank%s\n", x->job.name, x->plan->n_cells, c->k,
                x->job.schedule.eta, x->job.schedule.n_rungs, c->total, p->fold_epochs,
                p->exhaustive, 100.0 * p->fraction, c->n_done, x->job.journal, x->size,
                x->size == 1 ? "" : "s");
    } else {
        fprintf(out, "rcn search: %s: %d cells x %d folds = %d fold jobs, %d done before "
                "(journal %s), %d rank%s\n", x->job.name, x->plan->n_cells, c->k, c->total,
                c->n_done, x->job.journal, x->size, x->size == 1 ? "" : "s");
    }
    if (!x->spec.ckpt_dir[0])
        return;
    /* the disk the fold states take: a race keeps those of the cells that
     * go on between rungs; a grid one per fold in flight (two with a backup) */
    double each = (double)rcn_ckpt_arch_bytes(&x->spec.arch, x->job.epochs);
    long long most = 2LL * x->size;
    if (c->racing && c->sched_plan.peak_checkpoints > most)
        most = c->sched_plan.peak_checkpoints;
    fprintf(out, "rcn search: fold checkpoints in %s: %.1f MiB each, at most %lld at once "
            "(%.1f MiB)\n", x->spec.ckpt_dir, each / 1048576.0, most, most * each / 1048576.0);
}

/* Rank 0's loop: answers workers, trains the queue's jobs itself, and (when
 * racing) decides each rung once its last job is in, until no job is left
 * or the search stops. */
static void coordinate(coord *c)
{
    if (!c->failed && c->racing)
        race_step(c);
    while (!c->stopping) {
        if (service(c))
            break;
        int i;
        if (c->head < c->n_queue) {
            c->head++;
            run_own(c, c->queue[c->head - 1], c->queue_cost[c->head - 1], 0);
        } else if (open_jobs(c)) {
            if ((i = pick_backup(c, 0)) >= 0) {
                c->backups_started++;
                run_own(c, c->fl[i].job, c->fl[i].cost, 1);
            } else {
                rcn_wire_idle();
            }
        } else if (c->racing && !c->race.finished) {
            if (race_step(c))
                break;
            if (c->head >= c->n_queue && !c->race.finished)
                fail(c, "internal: rung %d has no fold job left but is not decided",
                     c->race.current);
        } else
            break;
    }
    begin_stop(c, RCN_SEARCH_COMPLETE);
    double t_stop = rcn_clock();
    while (c->n_bye + c->x->abandoned < c->x->size - 1) {
        service(c);
        give_up(c, t_stop);
        if (c->n_bye + c->x->abandoned < c->x->size - 1)
            rcn_wire_idle();
    }
}

int rcn_search_coordinate(rcn_search_ctx *x, json_t **report)
{
    coord c;
    coord_init(&c, x);
    if (!x->runner) { /* x->err says why */
        c.failed = 1;
        begin_stop(&c, RCN_SEARCH_FAILED);
    } else if (load_journaled(&c) == 0 && !c.racing && grid_queue(&c)) {
        fail(&c, "out of memory for %d fold jobs", c.total);
    } else if (!c.failed && x->spec.ckpt_dir[0] && rcn_ckpt_dir_create(x->spec.ckpt_dir, &x->err)) {
        c.failed = 1;
        begin_stop(&c, RCN_SEARCH_FAILED);
    }
    c.n_done_start = c.n_done;
    FILE *out = x->opts->progress;
    say_start(&c, out);
    rcn_progress_start(&c.prog, out, c.total, c.n_done);
    coordinate(&c);
    rcn_progress_end(&c.prog);

    int all_done = c.racing ? c.race.finished : c.n_done == c.total;
    if (c.outcome == RCN_SEARCH_COMPLETE && all_done && x->plan->refit &&
        x->plan->kind == RCN_VALID_KFOLD && refresh(&c, NULL, REFRESH_NOW) == 0)
        do_refit(&c);

    const char *status = c.outcome == RCN_SEARCH_INTERRUPTED ? "interrupted"
                         : all_done && !c.failed            ? "complete"
                                                            : "incomplete";
    if (x->journal) /* no journal: validation failed, nothing may be written */
        refresh(&c, status, REFRESH_FINAL);
    rcn_error e;
    if (!strcmp(status, "complete") && x->spec.ckpt_dir[0] &&
        rcn_ckpt_dir_remove(x->spec.ckpt_dir, &e) && out)
        fprintf(out, "rcn search: warning: %s\n", e.msg);
    if (out && c.outcome == RCN_SEARCH_INTERRUPTED)
        fprintf(out, "rcn search: interrupted: %d/%d %s journaled; partial report %s; run "
                "again to resume\n", c.n_done, c.total, c.racing ? "fold jobs" : "folds",
                x->job.output);

    if (report)
        *report = c.failed ? NULL : json_incref(c.report);
    int rc = c.failed ? RCN_SEARCH_FAILED : c.outcome;
    coord_free(&c);
    return rc;
}
