/* fuzz_job.c - libFuzzer target: the job-file parser and validator (job.h)
 * and the plan readers of reports and journals build from its normalised
 * JSON (plan.h).
 *
 * Input: the whole job file. The scratch directory holds tiny IDX sets at
 * data/mnist and tests/bad/jobs/data, the directories the seed jobs name.
 * Properties beyond "no crash, no leak, no UB":
 *  - a failed load says why, naming the file, and leaves the job zeroed;
 *  - a job that loads has 1..RCN_MAX_CELLS cells, and the plan built from
 *    its normalised JSON (what reports and journals carry) numbers and
 *    spells the cells exactly as the job's own plan does (both come
 *    from rcn_plan_from_json: a report read back sees the search's cells). */
#include "fuzz_common.h"
#include "rcn/data.h"
#include "rcn/job.h"
#include "rcn/plan.h"

/* The data directories the seed jobs name, in the scratch directory. */
static void job_init(void)
{
    rcn_error err;
    if (mkdir("data", 0755) || mkdir("tests", 0755) || mkdir("tests/bad", 0755) ||
        mkdir("tests/bad/jobs", 0755) ||
        rcn_synth_write_dir("data/mnist", 40, 10, 1, 0, &err) ||
        rcn_synth_write_dir("tests/bad/jobs/data", 40, 10, 1, 0, &err)) {
        fprintf(stderr, "fuzz_job: cannot create the data directories\n");
        abort();
    }
    unsetenv("RCN_DATA_DIR");
}

/* Cells compared between the job and its plan (the rest only counted). */
#define CHECK_CELLS 4096

static void job_one(const uint8_t *data, size_t size)
{
    fuzz_write("job.json", data, size);
    rcn_error err;
    rcn_job job;
    if (rcn_job_load("job.json", &job, &err) != 0) {
        FUZZ_ASSERT_NAMES(err, "job.json");
        FUZZ_ASSERT(job.json == NULL, "failed load left a job behind");
        rcn_job_free(&job);
        return;
    }
    int n = job.plan.n_cells;
    FUZZ_ASSERT(n >= 1 && n <= RCN_MAX_CELLS, "%d cells", n);
    FUZZ_ASSERT(strlen(job.hash) == 16, "hash '%s'", job.hash);

    rcn_plan plan;
    int rc = rcn_plan_from_json(job.json, "job.json: job", &plan, &err);
    FUZZ_ASSERT(rc == 0, "the normalised job does not plan: %s", err.msg);
    FUZZ_ASSERT(plan.n_cells == n, "job %d cells, plan %d", n, plan.n_cells);
    FUZZ_ASSERT(plan.n_folds == (job.valid_kind == RCN_VALID_KFOLD ? job.folds : 1),
                "plan folds %d", plan.n_folds);
    for (int c = 0; c < n; c++) {
        if (c >= CHECK_CELLS && c != n - 1)
            continue;
        rcn_plan_cell a = *rcn_plan_cell_at(&job.plan, c);
        const rcn_plan_cell *b = &plan.cells[c];
        FUZZ_ASSERT(a.index == c && a.batch_size == b->batch_size && a.epochs == b->epochs &&
                        a.lr == b->lr && a.momentum == b->momentum && !strcmp(a.key, b->key),
                    "cell %d is \"%s\" in the job but \"%s\" in its JSON", c, a.key, b->key);
        FUZZ_ASSERT(a.batch_size >= 1 && a.epochs >= 1, "cell %d: batch %d epochs %d", c,
                    a.batch_size, a.epochs);
        if (c < 8) {
            json_t *p = json_incref(a.params);
            FUZZ_ASSERT(p && json_equal(p, b->params), "cell %d params differ", c);
            json_decref(p);
        }
    }
    rcn_plan_free(&plan);

    rcn_job_check_sizes(&job, 40, &err);
    rcn_job_check_sizes(&job, 1, &err);
    FUZZ_ASSERT(rcn_job_set_output(&job, "elsewhere/out.json", &err) == 0, "set_output: %s",
                err.msg);
    FUZZ_ASSERT(!strcmp(job.journal, "elsewhere/out.journal.jsonl"), "journal %s", job.journal);
    rcn_job_free(&job);
}

FUZZ_TARGET("job", job_init, job_one)
