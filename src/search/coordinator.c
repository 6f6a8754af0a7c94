/* coordinator.c - rank 0 of a search: hands out fold jobs most expensive
 * first, trains fold jobs itself while answering workers from the
 * training's poll hook, journals every finished fold, keeps the report
 * fresh, stops everyone on SIGTERM/SIGUSR1, and runs the refit.
 *
 * Cost: a finished fold costs rank 0 a journal append (one line, fsync)
 * and a progress line; the report is re-aggregated from all folds only when
 * it is due to be written, or for the progress line's "best" at most once
 * a second and at most 1% of the time (aggregation is linear in the folds,
 * so re-aggregating after every fold would make a big grid quadratic).
 * The time rank 0 spends coordinating is measured and reported (meta
 * coordinator_seconds, coordinator_overhead), with per-rank folds, training
 * seconds and peak memory (meta rank_stats). */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rcn/checkpoint.h"
#include "rcn/fileio.h"
#include "rcn/jsonutil.h"
#include "rcn/netfile.h"
#include "rcn/report.h"
#include "search_impl.h"

/* Per-batch overhead of a training step (SGD update, batch statistics,
 * loop and poll) counted as this many images' worth of compute: makes
 * small batches costlier in the dispatch order. */
#define PER_BATCH_IMAGES 32.0

/* W_IDLE: holds no job and waits for the next rung's (racing only). */
enum { W_NEW, W_BUSY, W_IDLE, W_STOPPED, W_DONE };

typedef struct {
    rcn_search_ctx *x;
    int k, n_slots;         /* n_slots: cells x K, a slot per (cell, fold) */
    int total;              /* fold jobs of the whole search (racing: as planned) */
    int *have;              /* per slot cell*k+fold: epochs of its furthest record, -1 none */
    unsigned char *div;     /* per slot: its record diverged (no more jobs for it) */
    int n_done, n_done_start, n_diverged;
    rcn_fold_job *queue;    /* the pending fold jobs, most expensive first */
    int n_queue, head;
    int racing;             /* the job's schedule is halving */
    rcn_race race;          /* racing: the state after the last rung step */
    int n_rungs_journaled;  /* racing: rung lines in the journal */
    int *wstate;            /* per rank; [0] unused */
    int *held;              /* per rank: fold jobs sent and not yet answered */
    int n_bye;
    int stopping, outcome;
    int failed;             /* x->err holds the first failure */
    json_t *folds;          /* every finished fold object */
    json_t *report;         /* latest aggregation */
    json_t *refit;          /* refit object, or NULL */
    double last_write;
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

/* Answers worker w after its request or result: tops its jobs in hand up
 * to two while the queue holds more than two per rank (the worker then
 * starts its next fold the moment it sends a result, instead of waiting for
 * rank 0's next poll, which comes only between rank 0's own batches), to one
 * near the end (so that the last, cheapest jobs go to whoever is free);
 * STOP once it holds none and none are left, or when stopping. A racing
 * worker with nothing to do before the rung is decided waits (W_IDLE)
 * until the next rung's jobs or the end. */
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
        const rcn_fold_job *j = &c->queue[c->head++];
        int job[3] = {j->cell, j->fold, j->to_epoch};
        announce(c, j);
        MPI_Send(job, (int)sizeof job, MPI_BYTE, w, RCN_TAG_JOB, MPI_COMM_WORLD);
        c->held[w]++;
        c->wstate[w] = W_BUSY;
    }
    if (c->held[w] == 0) {
        if (c->racing && !c->race.finished)
            c->wstate[w] = W_IDLE;
        else
            send_stop(c, w);
    }
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
    }
    return m;
}

enum { REFRESH_LAZY, REFRESH_NOW, REFRESH_FINAL };

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
    }
    return 0;
}

static void record(coord *c, int cell, int fold, const rcn_train_result *res)
{
    rcn_search_ctx *x = c->x;
    if (cell < 0 || cell >= x->plan->n_cells || fold < 0 || fold >= c->k) {
        fail(c, "internal: a result for (cell %d, fold %d), outside the job", cell, fold);
        return;
    }
    int slot = cell * c->k + fold;
    if (c->div[slot] || c->have[slot] >= res->n_epochs)
        return; /* a result already journaled */
    rcn_error e;
    const rcn_plan_cell *pc = rcn_plan_cell_at(x->plan, cell);
    json_t *f = rcn_fold_to_json(pc, fold, res);
    if (!f) {
        fail(c, "out of memory recording (cell %d, fold %d)", cell, fold);
        return;
    }
    if (rcn_journal_append(x->journal, f, &e)) {
        json_decref(f);
        fail(c, "%s", e.msg);
        return;
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

static void handle(coord *c, const MPI_Status *st)
{
    int w = st->MPI_SOURCE, dummy, n;
    char text[RCN_ERROR_MAX];
    switch (st->MPI_TAG) {
    case RCN_TAG_REQUEST:
        MPI_Recv(&dummy, (int)sizeof dummy, MPI_BYTE, w, st->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        reply(c, w);
        break;
    case RCN_TAG_RESULT: {
        int cell = -1, fold = -1;
        MPI_Get_count(st, MPI_BYTE, &n);
        if (n < 0 || (size_t)n > c->msg_cap) {
            drop(st);
            fail(c, "rank %d: a result of %d bytes, more than the longest cell's %zu", w, n,
                 c->msg_cap);
        } else {
            MPI_Recv(c->msg, n, MPI_BYTE, w, st->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (rcn_wire_result_unpack(c->msg, (size_t)n, &cell, &fold, c->in))
                fail(c, "rank %d: a malformed result of %d bytes", w, n);
            else
                record(c, cell, fold, c->in);
            c->rank_train_s[w] += c->in->seconds;
        }
        if (c->held[w] > 0)
            c->held[w]--;
        c->rank_folds[w]++;
        reply(c, w);
        break;
    }
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
    c->coord_seconds += rcn_clock() - t;
    return c->stopping;
}

static int own_poll(void *ud)
{
    return service(ud);
}

/* Says why a checkpoint of the last fold job could not be saved, if so. */
static void warn_ckpt(coord *c)
{
    char msg[RCN_ERROR_MAX];
    if (rcn_fold_runner_take_warning(c->x->runner, msg, sizeof msg) && c->x->opts->progress)
        fprintf(c->x->opts->progress, "rcn search: warning: %s (training goes on; an "
                "interruption restarts the fold from its last saved epoch)\n", msg);
}

static void run_own(coord *c)
{
    const rcn_fold_job j = c->queue[c->head++];
    rcn_train_hooks hooks = {.poll = own_poll, .ud = c};
    rcn_error e;
    announce(c, &j);
    int rc = rcn_fold_run(c->x->runner, j.cell, j.fold, j.to_epoch, &hooks, c->own, &e);
    warn_ckpt(c);
    if (rc) {
        fail(c, "%s", e.msg);
        return;
    }
    if (!c->own->aborted) {
        double t = rcn_clock();
        record(c, j.cell, j.fold, c->own);
        c->rank_folds[0]++;
        c->rank_train_s[0] += c->own->seconds;
        c->coord_seconds += rcn_clock() - t;
    }
}

static int any_busy(const coord *c)
{
    for (int w = 1; w < c->x->size; w++)
        if (c->wstate[w] == W_BUSY)
            return 1;
    return 0;
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
    for (int i = 0; i < n; i++)
        c->queue[i] = q[i].job;
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
static int race_planned_jobs(const rcn_schedule *s, int n_cells, int k, int epochs)
{
    rcn_schedule_plan p;
    rcn_schedule_plan_compute(s, n_cells, k, epochs, NULL, &p);
    int jobs = 0;
    for (int r = 0; r < p.n_rungs; r++) {
        int prev_e = r ? p.rungs[r - 1].epochs : 0, prev_f = r ? p.rungs[r - 1].folds : 0;
        jobs += p.rungs[r].cells * (p.rungs[r].epochs > prev_e ? p.rungs[r].folds
                                                                 : p.rungs[r].folds - prev_f);
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
    c->total = c->racing ? race_planned_jobs(&x->job.schedule, x->plan->n_cells, c->k,
                                             x->job.epochs)
                         : c->n_slots;
    c->have = malloc((size_t)c->n_slots * sizeof *c->have);
    c->div = calloc((size_t)c->n_slots, 1);
    c->queue = malloc((size_t)c->n_slots * sizeof *c->queue);
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
        rcn_schedule_plan p;
        rcn_schedule_plan_compute(&x->job.schedule, x->plan->n_cells, c->k, x->job.epochs, NULL,
                                  &p);
        fprintf(out, "rcn search: %s: %d cells x %d folds raced by successive halving (eta %d, "
                "%d rungs): %d fold jobs, %lld of %lld fold-epochs (%.1f%%) if none diverges; "
                "%d done before (journal %s), %d rank%s\n", x->job.name, x->plan->n_cells, c->k,
                x->job.schedule.eta, x->job.schedule.n_rungs, c->total, p.fold_epochs,
                p.exhaustive, 100.0 * p.fraction, c->n_done, x->job.journal, x->size,
                x->size == 1 ? "" : "s");
    } else {
        fprintf(out, "rcn search: %s: %d cells x %d folds = %d fold jobs, %d done before "
                "(journal %s), %d rank%s\n", x->job.name, x->plan->n_cells, c->k, c->total,
                c->n_done, x->job.journal, x->size, x->size == 1 ? "" : "s");
    }
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
        if (c->head < c->n_queue)
            run_own(c);
        else if (any_busy(c))
            rcn_wire_idle();
        else if (c->racing && !c->race.finished) {
            if (race_step(c))
                break;
            if (c->head >= c->n_queue && !c->race.finished)
                fail(c, "internal: rung %d has no fold job left but is not decided",
                     c->race.current);
        } else
            break;
    }
    begin_stop(c, RCN_SEARCH_COMPLETE);
    while (c->n_bye < c->x->size - 1) {
        service(c);
        if (c->n_bye < c->x->size - 1)
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
