/* search.h - `rcn search`: the MPI-distributed grid x folds search of a
 * job, with its journal, periodic and final report, refit and progress.
 *
 * Collective over MPI_COMM_WORLD (the caller initialises and finalises
 * MPI). Rank 0 validates the job, output path, journal and data before any
 * MPI work, broadcasts the data set, then hands out fold jobs most
 * expensive first (dynamic dispatch) and trains itself between answering
 * requests; every other rank asks for fold jobs and trains them. */
#ifndef RCN_SEARCH_H
#define RCN_SEARCH_H

#include <jansson.h>
#include <stdio.h>

#include "rcn/error.h"

typedef struct {
    const char *job_path;
    const char *out;     /* report path replacing the job's "output" (NULL: keep) */
    int resume;          /* --resume: the journal must exist */
    double report_every; /* seconds between rewrites of the partial report */
    const char *html;    /* --html DIR: rewrite DIR/index.html with the report (NULL: no) */
    FILE *progress;      /* rank 0's progress lines (NULL: quiet) */
    int *abandoned;      /* rank 0: set to the number of ranks given up on */
} rcn_search_opts;

/* rcn_search_run's outcomes (exit statuses: 0, 75, 1; 76: complete, but a
 * rank was given up on). */
#define RCN_SEARCH_COMPLETE 0
#define RCN_SEARCH_INTERRUPTED 1
#define RCN_SEARCH_FAILED (-1)

/* SIGTERM / SIGUSR1 / SIGINT: rank 0 stops handing out work, aborts the
 * folds in flight (they rerun on resume), writes the partial report
 * ("interrupted") and stops the workers; other ranks ignore SIGTERM and
 * SIGUSR1 and wait for rank 0's stop message. Call after MPI_Init. */
void rcn_search_install_signals(int rank);

/* Runs the search on every rank. Returns RCN_SEARCH_* (the same on all
 * ranks). On rank 0, *report (if not NULL) receives the final report (new
 * reference; NULL when validation failed) and err the reason of a failure;
 * other ranks report failures through rank 0. A rank that does not answer
 * rank 0's stop at the end (hung) is given up on: rank 0 then returns with
 * *o->abandoned > 0 (set it; the report is final) without the final
 * barrier, and the caller must end the job with MPI_Abort, not
 * MPI_Finalize (which would wait for that rank). */
int rcn_search_run(const rcn_search_opts *o, json_t **report, rcn_error *err);

#endif
