/* search.c - `rcn search JOB.json [--out REPORT.json] [--resume]`: the
 * command line of the MPI search (src/search/); prints errors, the Table 2
 * summary, and maps outcomes to exit statuses. */
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcn/checkpoint.h"
#include "rcn/cli.h"
#include "rcn/data.h"
#include "rcn/job.h"
#include "rcn/report.h"
#include "rcn/search.h"
#include "rcn/train.h"

static const char usage_text[] =
    "usage: mpirun -np N rcn search JOB.json [--out REPORT.json] [--resume]\n"
    "                               [--report-every SECONDS] [--html DIR] [--quiet]\n"
    "       rcn search --dry-run JOB.json\n"
    "\n"
    "Trains every cell of the job's grid on every fold (k-fold cross-validation,\n"
    "or the test set for {\"kind\": \"test\"}) over the MPI ranks: rank 0 hands out\n"
    "fold jobs, most expensive first, and trains too; `rcn search` without mpirun\n"
    "runs on one rank. Results do not depend on the number of ranks. A job with\n"
    "a halving \"schedule\" races its cells instead: rung by rung, each on more\n"
    "epochs and folds, keeping the best 1/eta after each (see \"schedule\" below).\n"
    "\n"
    "  --dry-run             print the plan and train nothing: the cells, the rungs\n"
    "                        and fold-epochs per rung against the exhaustive grid,\n"
    "                        the checkpoint disk, and core-hours from this\n"
    "                        machine's speed (measured for a few seconds)\n"
    "  --out PATH            report path (default: the job's \"output\",\n"
    "                        results/<name>.json); the journal is\n"
    "                        <PATH without .json>.journal.jsonl, the refit model\n"
    "                        <PATH without .json>.refit.safetensors\n"
    "  --resume              require the journal to exist and continue it (a\n"
    "                        journal of the same job is resumed anyway; one of\n"
    "                        another job is refused and left untouched)\n"
    "  --report-every SECS   rewrite the partial report at most this often\n"
    "                        (default 30; 0: after every fold)\n"
    "  --html DIR            with every report write, also write DIR/index.html,\n"
    "                        the page of `rcn report --html` (figures drawn by\n"
    "                        gnuplot); it reloads itself until the search is\n"
    "                        complete. A page not written is a warning only\n"
    "  --quiet               no progress lines on stderr\n"
    "  --help                this text\n"
    "\n"
    "Every finished fold is appended to the journal and fsync'ed: a run killed at\n"
    "any moment loses only the folds in flight, and running the same command\n"
    "again resumes with identical per-fold results. `rcn status PATH` shows the\n"
    "progress of a running search from its journal.\n"
    "\n"
    "Signals: SIGTERM, SIGUSR1 (Slurm's warning signal) or SIGINT to rank 0 stop\n"
    "the search cleanly: no new fold jobs, folds in flight are abandoned (they\n"
    "rerun on resume), the partial report is written with meta.status\n"
    "\"interrupted\", and every rank exits with status 75. mpirun forwards SIGUSR1\n"
    "to all ranks (`kill -USR1 <mpirun pid>`, or #SBATCH --signal=B:USR1@300);\n"
    "Open MPI's mpirun kills the ranks on its own SIGTERM, so deliver SIGTERM to\n"
    "the rank processes (as scancel and srun do).\n"
    "\n"
    "Exit status: 0 search complete; 1 error (bad job, data, journal or output\n"
    "path: reported before any training, nothing overwritten); 2 usage error;\n"
    "75 interrupted (partial report written; run again to resume); 76 complete,\n"
    "but a rank was given up on (see Stragglers).\n"
    "\n"
    "Stragglers: once no fold job is left to hand out, idle ranks train backup\n"
    "copies of the folds in flight, the one expected to finish last first; the\n"
    "first copy to finish is journaled, the other is dropped (results are the\n"
    "same). Workers send a heartbeat between batches; a rank silent for its\n"
    "threshold (job key \"stragglers\") is named on stderr and in the report's\n"
    "meta.silent_ranks (shown by rcn status), and its folds are copied first.\n"
    "When every fold is journaled and a rank does not answer the stop within\n"
    "that threshold, rank 0 says it gives up on it, writes the final report and\n"
    "ends the job with MPI_Abort: exit status 76 (75 or 1 when the search was\n"
    "interrupted or failed), instead of waiting for the rank for ever.\n";

/* Rank as the launcher tells it, for printing usage errors before MPI_Init. */
static int launcher_rank(void)
{
    const char *vars[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return atoi(v);
    }
    return 0;
}

/* Images of the data set at `images` (its labels are read too: the plan
 * wants the same checks as a run). */
static int dataset_size(const char *images, const char *labels, int64_t *n, rcn_error *err)
{
    rcn_dataset d;
    if (rcn_dataset_load(images, labels, &d, err))
        return -1;
    *n = d.n;
    rcn_dataset_free(&d);
    return 0;
}

/* Per cell, CPU seconds of one fold-epoch: training on the fold's training
 * part and validating on the rest (or the test set), at the rates this
 * machine shows for the cell's batch size. */
static int fold_epoch_seconds(const rcn_job *job, int64_t n_train, int64_t n_val, double *sec,
                              rcn_error *err)
{
    for (int c = 0; c < job->plan.n_cells; c++) {
        const rcn_plan_cell *pc = rcn_plan_cell_at(&job->plan, c);
        double tr = 0, ev = 0;
        int same = -1;
        for (int d = 0; d < c && same < 0; d++)
            if (rcn_plan_cell_at(&job->plan, d)->batch_size == pc->batch_size)
                same = d;
        if (same >= 0) {
            sec[c] = sec[same];
            continue;
        }
        if (rcn_measure_rates(&job->arch, pc->batch_size, 0.3, &tr, &ev, err))
            return -1;
        printf("speed at batch %d: %.0f training, %.0f evaluation images per CPU second\n",
               pc->batch_size, tr, ev);
        sec[c] = (double)n_train / tr + (double)n_val / ev;
    }
    return 0;
}

/* --dry-run: the plan of the job, with core-hours at this machine's speed. */
static int dry_run(const rcn_search_opts *o)
{
    rcn_job job;
    rcn_error err;
    int64_t n = 0, n_test = 0;
    double *sec = NULL;
    int rc = RCN_EXIT_ERROR;
    if (rcn_job_load(o->job_path, &job, &err))
        goto out;
    if ((o->out && rcn_job_set_output(&job, o->out, &err)) ||
        dataset_size(job.train_images, job.train_labels, &n, &err) ||
        (job.valid_kind == RCN_VALID_TEST &&
         dataset_size(job.test_images, job.test_labels, &n_test, &err)))
        goto out;
    if (job.train_limit > 0 && job.train_limit < n)
        n = job.train_limit;
    if (rcn_job_check_sizes(&job, n, &err))
        goto out;
    int k = job.folds;
    int64_t n_val = job.valid_kind == RCN_VALID_TEST ? n_test : n / k;
    int64_t n_train = job.valid_kind == RCN_VALID_TEST ? n : n - n_val;
    printf("%s: %s, %d cells, %lld training images per fold, %lld validated\n", job.name,
           job.arch.name, job.plan.n_cells, (long long)n_train, (long long)n_val);
    sec = malloc((size_t)job.plan.n_cells * sizeof *sec);
    if (!sec) {
        rcn_errorf(&err, "out of memory");
        goto out;
    }
    if (fold_epoch_seconds(&job, n_train, n_val, sec, &err))
        goto out;
    rcn_schedule_plan_print(stdout, &job.schedule, job.plan.n_cells, k, job.epochs,
                            (double)rcn_ckpt_arch_bytes(&job.arch, job.epochs), sec);
    printf("(core-hours: CPU time at one rank per core; the wall time at -np N is about "
           "core-hours / N)\n");
    rc = RCN_EXIT_OK;
out:
    if (rc != RCN_EXIT_OK)
        fprintf(stderr, "rcn search: %s\n", err.msg);
    free(sec);
    if (job.json)
        rcn_job_free(&job);
    return rc;
}

int rcn_cmd_search(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"resume", no_argument, NULL, 'r'},
        {"report-every", required_argument, NULL, 'e'},
        {"html", required_argument, NULL, 'H'},
        {"quiet", no_argument, NULL, 'q'},
        {"dry-run", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int talk = launcher_rank() == 0, quiet = 0, dry = 0;
    rcn_search_opts o = {.report_every = 30};
    optind = 1;
    opterr = 0;
    for (;;) {
        int ch = getopt_long(argc, argv, ":o:re:H:qdh", longopts, NULL);
        if (ch == -1)
            break;
        char *end;
        switch (ch) {
        case 'o':
            o.out = optarg;
            break;
        case 'r':
            o.resume = 1;
            break;
        case 'e':
            o.report_every = strtod(optarg, &end);
            if (*end || end == optarg || !(o.report_every >= 0)) {
                if (talk)
                    fprintf(stderr, "rcn search: --report-every: expected seconds >= 0, got "
                            "'%s'\n", optarg);
                return RCN_EXIT_USAGE;
            }
            break;
        case 'H':
            o.html = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'd':
            dry = 1;
            break;
        case 'h':
            if (talk)
                printf("%s\n%s", usage_text, rcn_job_help());
            return RCN_EXIT_OK;
        case ':':
            if (talk)
                fprintf(stderr, "rcn search: %s needs a value\n%s", argv[optind - 1], usage_text);
            return RCN_EXIT_USAGE;
        default:
            if (talk)
                fprintf(stderr, "rcn search: unknown option '%s'\n%s", argv[optind - 1],
                        usage_text);
            return RCN_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        if (talk)
            fprintf(stderr, "rcn search: expected one job file, got %d arguments\n%s",
                    argc - optind, usage_text);
        return RCN_EXIT_USAGE;
    }
    o.job_path = argv[optind];
    if (dry)
        return dry_run(&o);

    int provided, rank;
    rcn_search_install_signals(launcher_rank()); /* no window before MPI_Init */
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "rcn search: MPI_Init failed\n");
        return RCN_EXIT_ERROR;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    rcn_search_install_signals(rank);
    o.progress = rank == 0 && !quiet ? stderr : NULL;

    json_t *report = NULL;
    rcn_error err = {{0}};
    int abandoned = 0;
    o.abandoned = &abandoned;
    int rc = rcn_search_run(&o, &report, &err);
    if (rank == 0) {
        if (rc == RCN_SEARCH_FAILED)
            fprintf(stderr, "rcn search: %s\n", err.msg);
        else if (rc == RCN_SEARCH_COMPLETE && report)
            rcn_report_print_summary(stdout, report);
        fflush(stdout);
    }
    json_decref(report);
    int status = rc == RCN_SEARCH_COMPLETE      ? RCN_EXIT_OK
                 : rc == RCN_SEARCH_INTERRUPTED ? RCN_EXIT_INTERRUPTED
                                                : RCN_EXIT_ERROR;
    if (abandoned) { /* MPI_Finalize would wait for the rank given up on */
        if (status == RCN_EXIT_OK)
            status = RCN_EXIT_ABANDONED;
        fprintf(stderr, "rcn search: %d rank%s given up on; the report is final; ending the "
                "job with MPI_Abort (exit status %d)\n", abandoned, abandoned == 1 ? "" : "s",
                status);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, status);
    }
    MPI_Finalize();
    return status;
}
