/* search.c - the search's setup on every rank: rank 0 validates the job,
 * output path, data and journal before any MPI work, then the job's fold
 * spec, cells and data are broadcast, and each rank becomes the
 * coordinator (rank 0, coordinator.c) or a worker (worker.c). */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "search_impl.h"

void openblas_set_num_threads(int);

volatile sig_atomic_t rcn_search_signal = 0;

static void on_signal(int sig)
{
    rcn_search_signal = sig;
}

void rcn_search_install_signals(int rank)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = rank == 0 ? on_signal : SIG_IGN;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    if (rank == 0)
        sigaction(SIGINT, &sa, NULL);
}

/* mkdir -p of the directory part of `path`. */
static int make_parent_dirs(const char *path, rcn_error *err)
{
    char buf[RCN_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return rcn_errorf(err, "%s: cannot create directory %s: %s", path, buf,
                              strerror(errno));
        *p = '/';
    }
    return 0;
}

/* The report must be writable: its directory exists (or is created) and
 * takes a new file; the path itself is not a directory. */
static int check_output(const char *path, rcn_error *err)
{
    struct stat st;
    if (make_parent_dirs(path, err))
        return -1;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return rcn_errorf(err, "%s: output is a directory (the report is a file: use --out "
                          "DIR/NAME.json)", path);
    char probe[RCN_PATH_MAX + 32];
    snprintf(probe, sizeof probe, "%s.probe.%ld", path, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return rcn_errorf(err, "%s: cannot write the report there: %s", path, strerror(errno));
    close(fd);
    unlink(probe);
    return 0;
}

static int setup_root(rcn_search_ctx *x, rcn_error *err)
{
    const rcn_search_opts *o = x->opts;
    if (rcn_job_load(o->job_path, &x->job, err)) {
        memset(&x->job, 0, sizeof x->job);
        return -1;
    }
    if (o->out && rcn_job_set_output(&x->job, o->out, err))
        return -1;
    if (check_output(x->job.output, err))
        return -1;
    if (!(x->lock = rcn_journal_lock_take(x->job.journal, err)))
        return -1;
    rcn_fold_spec_from_job(&x->job, &x->spec);

    if (rcn_dataset_load(x->job.train_images, x->job.train_labels, &x->train, err))
        return -1;
    if ((x->job.valid_kind == RCN_VALID_TEST || x->job.refit) &&
        rcn_dataset_load(x->job.test_images, x->job.test_labels, &x->test, err))
        return -1;
    if (rcn_job_check_sizes(&x->job, x->train.n, err))
        return -1;

    x->journal = rcn_journal_open(x->job.journal, x->job.hash, x->job.json, o->resume,
                                  &x->journaled, err);
    return x->journal ? 0 : -1;
}

static void bcast_dataset(rcn_dataset *d, int rank)
{
    int64_t shape[3] = {d->n, d->rows, d->cols};
    rcn_wire_bcast(shape, sizeof shape);
    if (rank != 0) {
        d->n = shape[0];
        d->rows = (int)shape[1];
        d->cols = (int)shape[2];
        size_t px = (size_t)d->n * (size_t)d->rows * (size_t)d->cols;
        d->images = malloc(px ? px : 1);
        d->labels = malloc(d->n ? (size_t)d->n : 1);
        if (!d->images || !d->labels) {
            fprintf(stderr, "rcn search: rank %d: out of memory for the data set\n", rank);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    rcn_wire_bcast(d->images, (size_t)d->n * (size_t)d->rows * (size_t)d->cols);
    rcn_wire_bcast(d->labels, (size_t)d->n);
}

static void gather_hosts(rcn_search_ctx *x)
{
    char name[MPI_MAX_PROCESSOR_NAME] = {0};
    int len = 0;
    MPI_Get_processor_name(name, &len);
    char *all = x->rank == 0 ? calloc((size_t)x->size, MPI_MAX_PROCESSOR_NAME) : NULL;
    MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0,
               MPI_COMM_WORLD);
    if (x->rank != 0)
        return;
    x->hosts = json_array();
    x->rank_hosts = json_array();
    for (int r = 0; all && r < x->size; r++) {
        const char *h = all + (size_t)r * MPI_MAX_PROCESSOR_NAME;
        json_array_append_new(x->rank_hosts, json_string(h));
        int seen = 0;
        for (size_t i = 0; i < json_array_size(x->hosts); i++)
            seen |= !strcmp(json_string_value(json_array_get(x->hosts, i)), h);
        if (!seen)
            json_array_append_new(x->hosts, json_string(h));
    }
    free(all);
}

/* Every rank's plan: rank 0's is its job's; the others expand the same
 * normalised job JSON, sent as text, with the same rcn_plan_from_json. */
static void bcast_plan(rcn_search_ctx *x)
{
    char *text = x->rank == 0 ? json_dumps(x->job.json, JSON_COMPACT) : NULL;
    uint64_t len = text ? strlen(text) + 1 : 0;
    if (x->rank == 0 && !text) {
        fprintf(stderr, "rcn search: rank 0: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    rcn_wire_bcast(&len, sizeof len);
    if (x->rank != 0 && !(text = malloc(len))) {
        fprintf(stderr, "rcn search: rank %d: out of memory\n", x->rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    rcn_wire_bcast(text, len);
    if (x->rank == 0) {
        x->plan = &x->job.plan;
    } else {
        json_error_t je;
        json_t *job = json_loads(text, 0, &je);
        rcn_error e;
        if (!job || rcn_plan_from_json(job, "job", &x->own_plan, &e)) {
            fprintf(stderr, "rcn search: rank %d: %s\n", x->rank,
                    job ? e.msg : "the job sent by rank 0 is not JSON");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        json_decref(job);
        x->plan = &x->own_plan;
    }
    free(text);
    assert(x->plan->n_cells == x->spec.n_cells);
}

static void ctx_free(rcn_search_ctx *x)
{
    rcn_fold_runner_destroy(x->runner);
    if (x->rank == 0) {
        rcn_dataset_free(&x->train);
        rcn_dataset_free(&x->test);
    } else {
        free(x->train.images);
        free(x->train.labels);
        free(x->test.images);
        free(x->test.labels);
    }
    rcn_journal_close(x->journal);
    rcn_journal_lock_release(x->lock); /* after the final report */
    json_decref(x->journaled);
    json_decref(x->hosts);
    json_decref(x->rank_hosts);
    rcn_plan_free(&x->own_plan);
    if (x->job.json)
        rcn_job_free(&x->job);
}

int rcn_search_run(const rcn_search_opts *o, json_t **report, rcn_error *err)
{
    rcn_search_ctx *x = calloc(1, sizeof *x);
    if (report)
        *report = NULL;
    if (!x)
        return rcn_errorf(err, "out of memory");
    x->opts = o;
    x->t0 = rcn_clock();
    rcn_iso_time(x->started, sizeof x->started);
    MPI_Comm_rank(MPI_COMM_WORLD, &x->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &x->size);

    int ok = 1;
    if (x->rank == 0 && setup_root(x, err))
        ok = 0;
    rcn_wire_bcast(&ok, sizeof ok);
    if (!ok) {
        ctx_free(x);
        free(x);
        return RCN_SEARCH_FAILED;
    }

    rcn_wire_bcast(&x->spec, sizeof x->spec);
    bcast_plan(x);
    bcast_dataset(&x->train, x->rank);
    if (x->spec.kind == RCN_VALID_TEST)
        bcast_dataset(&x->test, x->rank);
    gather_hosts(x);

    openblas_set_num_threads(x->spec.threads > 0 ? x->spec.threads : 1);
    x->runner = rcn_fold_runner_create(&x->spec, x->plan->cells, &x->train,
                                       x->test.n > 0 ? &x->test : NULL, &x->err);

    int rc;
    if (x->rank == 0) {
        rc = rcn_search_coordinate(x, report); /* copes with a NULL runner */
        if (rc == RCN_SEARCH_FAILED && err)
            *err = x->err;
    } else {
        rc = rcn_search_work(x);
    }
    /* nobody exits before rank 0 has written everything: mpirun tears the
     * job down as soon as one rank exits with a non-zero status; a rank
     * given up on would never come (the caller ends with MPI_Abort) */
    if (o->abandoned)
        *o->abandoned = x->abandoned;
    if (!x->abandoned)
        rcn_wire_barrier();
    ctx_free(x);
    free(x);
    return rc;
}
