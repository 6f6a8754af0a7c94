/* search.c - `rcn search JOB.json [--out REPORT.json] [--resume]`: the
 * command line of the MPI search (src/search/); prints errors, the Table 2
 * summary, and maps outcomes to exit statuses. */
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcn/cli.h"
#include "rcn/job.h"
#include "rcn/report.h"
#include "rcn/search.h"

static const char usage_text[] =
    "usage: mpirun -np N rcn search JOB.json [--out REPORT.json] [--resume]\n"
    "                               [--report-every SECONDS] [--quiet]\n"
    "\n"
    "Trains every cell of the job's grid on every fold (k-fold cross-validation,\n"
    "or the test set for {\"kind\": \"test\"}) over the MPI ranks: rank 0 hands out\n"
    "fold jobs, most expensive first, and trains too; `rcn search` without mpirun\n"
    "runs on one rank. Results do not depend on the number of ranks.\n"
    "\n"
    "  --out PATH            report path (default: the job's \"output\",\n"
    "                        results/<name>.json); the journal is\n"
    "                        <PATH without .json>.journal.jsonl, the refit model\n"
    "                        <PATH without .json>.refit.safetensors\n"
    "  --resume              require the journal to exist and continue it (a\n"
    "                        journal of the same job is resumed anyway; one of\n"
    "                        another job is refused and left untouched)\n"
    "  --report-every SECS   rewrite the partial report at most this often\n"
    "                        (default 30; 0: after every fold)\n"
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
    "75 interrupted (partial report written; run again to resume).\n";

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

int rcn_cmd_search(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"resume", no_argument, NULL, 'r'},
        {"report-every", required_argument, NULL, 'e'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int talk = launcher_rank() == 0, quiet = 0;
    rcn_search_opts o = {.report_every = 30};
    optind = 1;
    opterr = 0;
    for (;;) {
        int ch = getopt_long(argc, argv, ":o:re:qh", longopts, NULL);
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
        case 'q':
            quiet = 1;
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
    int rc = rcn_search_run(&o, &report, &err);
    if (rank == 0) {
        if (rc == RCN_SEARCH_FAILED)
            fprintf(stderr, "rcn search: %s\n", err.msg);
        else if (rc == RCN_SEARCH_COMPLETE && report)
            rcn_report_print_summary(stdout, report);
        fflush(stdout);
    }
    json_decref(report);
    MPI_Finalize();
    return rc == RCN_SEARCH_COMPLETE      ? RCN_EXIT_OK
           : rc == RCN_SEARCH_INTERRUPTED ? RCN_EXIT_INTERRUPTED
                                          : RCN_EXIT_ERROR;
}
