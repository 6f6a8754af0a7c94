/* worker.c - a search rank other than 0: asks rank 0 for fold jobs, trains
 * them, sends the results back, until rank 0 says stop. Signals are
 * ignored here (rank 0 decides); a STOP arriving mid-fold abandons it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search_impl.h"

static int stop_waiting(void *ud)
{
    (void)ud;
    int flag = 0;
    MPI_Iprobe(0, RCN_TAG_STOP, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    return flag;
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
            double rss = rcn_peak_rss_mib();
            rcn_wire_send(0, RCN_TAG_BYE, &rss, sizeof rss);
            rcn_train_result_free(res);
            free(out);
            return in[0];
        }
        rcn_train_hooks hooks = {.poll = stop_waiting};
        rcn_error err;
        int rc = rcn_fold_run(x->runner, in[0], in[1], in[2], &hooks, res, &err);
        char warning[RCN_ERROR_MAX];
        if (rcn_fold_runner_take_warning(x->runner, warning, sizeof warning))
            fprintf(stderr, "rcn search: rank %d: warning: %s (training goes on)\n", x->rank,
                    warning);
        if (rc) {
            rcn_wire_send(0, RCN_TAG_ERROR, err.msg, sizeof err.msg);
            continue;
        }
        if (res->aborted) /* a STOP is waiting: the next receive takes it */
            continue;
        if (pending != MPI_REQUEST_NULL)
            rcn_wire_wait(&pending, NULL);
        size_t len = rcn_wire_result_bytes(res->n_epochs);
        rcn_wire_result_pack(out, in[0], in[1], res);
        MPI_Isend(out, (int)len, MPI_BYTE, 0, RCN_TAG_RESULT, MPI_COMM_WORLD, &pending);
    }
}
