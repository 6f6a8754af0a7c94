/* search_impl.h - what the parts of the search runtime share (private to
 * src/search): the per-rank context, the MPI wire protocol, progress. */
#ifndef RCN_SEARCH_IMPL_H
#define RCN_SEARCH_IMPL_H

#include <jansson.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>

#include "rcn/clock.h"
#include "rcn/data.h"
#include "rcn/fold.h"
#include "rcn/job.h"
#include "rcn/journal.h"
#include "rcn/plan.h"
#include "rcn/search.h"
#include "rcn/train.h"

/* Set by rank 0's SIGTERM / SIGUSR1 / SIGINT handler. */
extern volatile sig_atomic_t rcn_search_signal;

typedef struct {
    int rank, size;
    const rcn_search_opts *opts;
    rcn_fold_spec spec;
    const rcn_plan *plan;    /* the job's cells: rank 0's job.plan, else &own_plan */
    rcn_plan own_plan;       /* ranks != 0: expanded from the job JSON rank 0 sends */
    rcn_dataset train, test; /* test: n == 0 when not held */
    rcn_fold_runner *runner; /* NULL if it could not be created (err says why) */
    rcn_error err;
    /* rank 0 only */
    rcn_job job;
    rcn_journal_lock *lock;  /* the journal's, from before the data is read to the end */
    rcn_journal *journal;
    json_t *journaled;       /* folds finished before this run (from the journal) */
    json_t *hosts;           /* distinct processor names, in rank order */
    json_t *rank_hosts;      /* per rank, its processor name */
    int abandoned;           /* ranks given up on at the end (no final barrier then) */
    char started[32];
    double t0;               /* rcn_clock() at start */
} rcn_search_ctx;

int rcn_search_coordinate(rcn_search_ctx *x, json_t **report);
int rcn_search_work(rcn_search_ctx *x);

/* ---- wire protocol (wire.c) ------------------------------------------
 * worker -> 0: REQUEST (first ask), RESULT (a finished fold, packed by
 * rcn_wire_result_pack, of a size the receiver probes; asks for the next),
 * DROPPED {cell, fold, epochs} (a cancelled job given up; asks for the
 * next), HEARTBEAT {0} (from the training's poll, at most every
 * RCN_HEARTBEAT_SECONDS: the rank is alive), ERROR (message; asks for the
 * reply STOP), BYE {peak resident memory, MiB, a double} (after a STOP).
 * 0 -> worker: JOB {cell, fold, epochs} (int[3]: train that fold to that
 * epoch), CANCEL {cell, fold, epochs} (another copy of that job was
 * journaled first: drop it), STOP {RCN_SEARCH_* outcome}; rank 0 sends
 * exactly one STOP per worker and keeps receiving from it until its BYE, so
 * no message is left unreceived (unless it gives the rank up: then the
 * search ends with MPI_Abort). A worker polls for STOP and CANCEL between
 * batches and abandons its fold when one concerns it; a worker answers
 * every JOB with exactly one RESULT or DROPPED (until a STOP), and jobs
 * are answered in the order they were sent. A CANCEL may be received
 * before the JOB it names (the poll probes by tag), or after its RESULT
 * was sent (then it is stale and ignored: a job {cell, fold, epochs} is
 * handed out again only as a copy, never after its result). */
enum { RCN_TAG_REQUEST = 101, RCN_TAG_RESULT, RCN_TAG_ERROR, RCN_TAG_BYE, RCN_TAG_JOB,
       RCN_TAG_STOP, RCN_TAG_CANCEL, RCN_TAG_DROPPED, RCN_TAG_HEARTBEAT };

#define RCN_HEARTBEAT_SECONDS 1.0

/* A RESULT message: this header, then res.n_epochs rcn_epoch_stats (the
 * header's res.epochs and res.cap_epochs mean nothing on the wire). */
typedef struct {
    int cell, fold;
    rcn_train_result res;
} rcn_wire_result;

/* Bytes of a RESULT message of n_epochs epochs. */
size_t rcn_wire_result_bytes(int n_epochs);
/* Packs (cell, fold, res) into buf (rcn_wire_result_bytes(res->n_epochs)). */
void rcn_wire_result_pack(void *buf, int cell, int fold, const rcn_train_result *res);
/* Unpacks a RESULT message of len bytes into res (its storage kept); -1
 * when len is not that of a whole message of at most res->cap_epochs. */
int rcn_wire_result_unpack(const void *buf, size_t len, int *cell, int *fold,
                           rcn_train_result *res);

/* Waits for a request, sleeping between tests (no core burnt spinning). */
void rcn_wire_wait(MPI_Request *rq, MPI_Status *st);
void rcn_wire_send(int dest, int tag, const void *buf, size_t len);
void rcn_wire_recv(int src, int tag, void *buf, size_t cap, MPI_Status *st);
/* Broadcast of len bytes from rank 0 (chunked below INT_MAX). */
void rcn_wire_bcast(void *buf, size_t len);
void rcn_wire_barrier(void);
void rcn_wire_idle(void); /* a short sleep while waiting for messages */

/* ---- progress (progress.c) ------------------------------------------- */

typedef struct {
    FILE *f;
    int tty;
    int total, done_at_start;
    double t0;
    int line_open; /* a "\r" line is on the terminal */
} rcn_progress;

void rcn_progress_start(rcn_progress *p, FILE *f, int total, int done);
/* After a fold: done/total, rate, ETA, diverged, best so far (report's best). */
void rcn_progress_update(rcn_progress *p, int done, int diverged, const json_t *best);
void rcn_progress_end(rcn_progress *p);

#endif
