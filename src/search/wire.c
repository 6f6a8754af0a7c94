/* wire.c - the MPI transport of the search: point-to-point messages and
 * collectives that wait by polling with short sleeps, so that a rank waiting
 * for rank 0 does not burn a core that another rank could train on. */
#include <limits.h>
#include <string.h>
#include <time.h>

#include "search_impl.h"

void rcn_wire_idle(void)
{
    struct timespec ts = {0, 1000000}; /* 1 ms */
    nanosleep(&ts, NULL);
}

void rcn_wire_wait(MPI_Request *rq, MPI_Status *st)
{
    long ns = 20000;
    for (;;) {
        int done = 0;
        MPI_Test(rq, &done, st ? st : MPI_STATUS_IGNORE);
        if (done)
            return;
        struct timespec ts = {0, ns};
        nanosleep(&ts, NULL);
        if (ns < 2000000)
            ns *= 2;
    }
}

void rcn_wire_send(int dest, int tag, const void *buf, size_t len)
{
    MPI_Request rq;
    MPI_Isend(buf, (int)len, MPI_BYTE, dest, tag, MPI_COMM_WORLD, &rq);
    rcn_wire_wait(&rq, NULL);
}

void rcn_wire_recv(int src, int tag, void *buf, size_t cap, MPI_Status *st)
{
    MPI_Request rq;
    MPI_Irecv(buf, (int)cap, MPI_BYTE, src, tag, MPI_COMM_WORLD, &rq);
    rcn_wire_wait(&rq, st);
}

void rcn_wire_bcast(void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        size_t chunk = len > (size_t)1 << 30 ? (size_t)1 << 30 : len;
        MPI_Request rq;
        MPI_Ibcast(p, (int)chunk, MPI_BYTE, 0, MPI_COMM_WORLD, &rq);
        rcn_wire_wait(&rq, NULL);
        p += chunk;
        len -= chunk;
    }
}

void rcn_wire_barrier(void)
{
    MPI_Request rq;
    MPI_Ibarrier(MPI_COMM_WORLD, &rq);
    rcn_wire_wait(&rq, NULL);
}

size_t rcn_wire_result_bytes(int n_epochs)
{
    return sizeof(rcn_wire_result) + (size_t)n_epochs * sizeof(rcn_epoch_stats);
}

void rcn_wire_result_pack(void *buf, int cell, int fold, const rcn_train_result *res)
{
    rcn_wire_result h;
    memset(&h, 0, sizeof h);
    h.cell = cell;
    h.fold = fold;
    h.res = *res;
    h.res.epochs = NULL;
    h.res.cap_epochs = 0;
    memcpy(buf, &h, sizeof h);
    if (res->n_epochs > 0)
        memcpy((char *)buf + sizeof h, res->epochs, (size_t)res->n_epochs * sizeof *res->epochs);
}

int rcn_wire_result_unpack(const void *buf, size_t len, int *cell, int *fold,
                           rcn_train_result *res)
{
    rcn_wire_result h;
    if (len < sizeof h)
        return -1;
    memcpy(&h, buf, sizeof h);
    if (h.res.n_epochs < 0 || h.res.n_epochs > res->cap_epochs ||
        len != rcn_wire_result_bytes(h.res.n_epochs))
        return -1;
    *cell = h.cell;
    *fold = h.fold;
    h.res.epochs = (rcn_epoch_stats *)((char *)buf + sizeof h); /* read only by the copy */
    rcn_train_result_copy(res, &h.res);
    return 0;
}
