/* worker.c - a search rank other than 0: asks rank 0 for fold jobs, trains
 * them, sends the results back, until rank 0 says stop. Signals are
 * ignored here (rank 0 decides); a STOP arriving mid-fold abandons it, and
 * so does a CANCEL of the fold (another copy of it finished first). Between
 * batches the worker also tells rank 0 it is alive (HEARTBEAT). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search_impl.h"

typedef struct {
    rcn_search_ctx *x;
    int cur[3];             /* the job in training: {cell, fold, epochs} */
    int (*cancels)[3];      /* CANCELs received for jobs not yet dropped */
    int n_cancels, cap_cancels;
    MPI_Request hb;         /* the last HEARTBEAT's send */
    int hb_buf;             /* its payload: outlives the send */
    double last_hb;
} worker;

/* Remembers a CANCEL (aborts the job when out of memory: no way to answer). */
static void keep_cancel(worker *k, const int job[3])
{
    if (k->n_cancels == k->cap_cancels) {
        int cap = k->cap_cancels ? 2 * k->cap_cancels : 8;
        void *p = realloc(k->cancels, (size_t)cap * sizeof *k->cancels);
        if (!p) {
            fprintf(stderr, "rcn search: rank %d: out of memory\n", k->x->rank);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        k->cancels = p;
        k->cap_cancels = cap;
    }
    memcpy(k->cancels[k->n_cancels++], job, sizeof *k->cancels);
}

/* Whether job was cancelled; forgets the cancel if so. */
static int take_cancel(worker *k, const int job[3])
{
    for (int i = 0; i < k->n_cancels; i++)
        if (!memcmp(k->cancels[i], job, sizeof *k->cancels)) {
            memmove(k->cancels[i], k->cancels[i + 1],
                    (size_t)(k->n_cancels - i - 1) * sizeof *k->cancels);
            k->n_cancels--;
            return 1;
        }
    return 0;
}

/* A HEARTBEAT at most every RCN_HEARTBEAT_SECONDS, never two in flight. */
static void heartbeat(worker *k)
{
    double now = rcn_clock();
    if (now - k->last_hb < RCN_HEARTBEAT_SECONDS)
        return;
    int done = 1;
    if (k->hb != MPI_REQUEST_NULL)
        MPI_Test(&k->hb, &done, MPI_STATUS_IGNORE);
    if (!done)
        return;
    k->last_hb = now;
    MPI_Isend(&k->hb_buf, (int)sizeof k->hb_buf, MPI_BYTE, 0, RCN_TAG_HEARTBEAT, MPI_COMM_WORLD,
              &k->hb);
}

/* Receives the CANCELs waiting (they may have overtaken the JOBs they name). */
static void take_cancels(worker *k)
{
    for (;;) {
        int flag = 0, job[3];
        MPI_Iprobe(0, RCN_TAG_CANCEL, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
        if (!flag)
            break;
        MPI_Recv(job, (int)sizeof job, MPI_BYTE, 0, RCN_TAG_CANCEL, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        keep_cancel(k, job);
    }
}

/* The training's poll: non-zero (abandon the fold) on a STOP or a CANCEL
 * of this fold. CANCELs of other jobs are kept for when they come up. */
static int poll_rank0(void *ud)
{
    worker *k = ud;
    heartbeat(k);
    take_cancels(k);
    for (int i = 0; i < k->n_cancels; i++)
        if (!memcmp(k->cancels[i], k->cur, sizeof k->cur))
            return 1;
    int flag = 0;
    MPI_Iprobe(0, RCN_TAG_STOP, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    return flag;
}

/* Trains job in[] into res; returns 1 when res is a result to send. */
static int train(worker *k, const int in[3], rcn_train_result *res)
{
    rcn_search_ctx *x = k->x;
    memcpy(k->cur, in, sizeof k->cur);
    rcn_train_hooks hooks = {.poll = poll_rank0, .ud = k};
    rcn_error err;
    int rc = rcn_fold_run(x->runner, in[0], in[1], in[2], &hooks, res, &err);
    char warning[RCN_ERROR_MAX];
    if (rcn_fold_runner_take_warning(x->runner, warning, sizeof warning))
        fprintf(stderr, "rcn search: rank %d: warning: %s (training goes on)\n", x->rank,
                warning);
    take_cancels(k);
    if ((rc || res->aborted) && take_cancel(k, in)) { /* another copy won */
        rcn_wire_send(0, RCN_TAG_DROPPED, in, 3 * sizeof *in);
        return 0;
    }
    if (rc) {
        rcn_wire_send(0, RCN_TAG_ERROR, err.msg, sizeof err.msg);
        return 0;
    }
    if (res->aborted) /* a STOP is waiting: the next receive takes it */
        return 0;
    take_cancel(k, in); /* a CANCEL too late: the result answers the job */
    return 1;
}

/* Results are sent without waiting for rank 0 to take them (a result is
 * larger than MPI's eager limit, so a blocking send would wait for rank 0's
 * next poll, which comes only between rank 0's own batches): the worker goes
 * on with the job it already holds, and waits for the send only before
 * packing the next result into the one send buffer. MPI keeps one sender's
 * messages in order, so rank 0 still receives every result before this
 * rank's BYE. The result and the send buffer are sized once, for the
 * longest cell. */
int rcn_search_work(rcn_search_ctx *x)
{
    worker k = {.x = x, .hb = MPI_REQUEST_NULL, .last_hb = rcn_clock()};
    MPI_Request pending = MPI_REQUEST_NULL;
    int dummy = 0;
    rcn_train_result *res = NULL;
    void *out = NULL;
    if (x->runner) {
        int cap = rcn_fold_max_epochs(x->runner);
        res = rcn_train_result_create(cap, &x->err);
        out = malloc(rcn_wire_result_bytes(cap));
        if (res && !out)
            snprintf(x->err.msg, sizeof x->err.msg, "out of memory for a result of %d epochs",
                     cap);
    }
    if (res && out)
        rcn_wire_send(0, RCN_TAG_REQUEST, &dummy, sizeof dummy);
    else
        rcn_wire_send(0, RCN_TAG_ERROR, x->err.msg, sizeof x->err.msg);
    for (;;) {
        int in[3];
        MPI_Status st;
        rcn_wire_recv(0, MPI_ANY_TAG, in, sizeof in, &st);
        if (st.MPI_TAG == RCN_TAG_STOP) { /* BYE carries this rank's peak memory, MiB */
            if (pending != MPI_REQUEST_NULL)
                rcn_wire_wait(&pending, NULL);
            if (k.hb != MPI_REQUEST_NULL)
                rcn_wire_wait(&k.hb, NULL);
            double rss = rcn_peak_rss_mib();
            rcn_wire_send(0, RCN_TAG_BYE, &rss, sizeof rss);
            rcn_train_result_free(res);
            free(out);
            free(k.cancels);
            return in[0];
        }
        if (st.MPI_TAG == RCN_TAG_CANCEL) {
            keep_cancel(&k, in);
            continue;
        }
        assert(st.MPI_TAG == RCN_TAG_JOB);
        take_cancels(&k);
        if (take_cancel(&k, in)) { /* cancelled before it started */
            rcn_wire_send(0, RCN_TAG_DROPPED, in, sizeof in);
            continue;
        }
        if (!train(&k, in, res))
            continue;
        if (pending != MPI_REQUEST_NULL)
            rcn_wire_wait(&pending, NULL);
        size_t len = rcn_wire_result_bytes(res->n_epochs);
        rcn_wire_result_pack(out, in[0], in[1], res);
        MPI_Isend(out, (int)len, MPI_BYTE, 0, RCN_TAG_RESULT, MPI_COMM_WORLD, &pending);
    }
}
