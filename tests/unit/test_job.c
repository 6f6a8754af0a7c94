/* test_job.c - job files: the shipped jobs parse into the right grids and
 * cells; decimal-exact ranges; defaults; hash identity (key order and output
 * do not matter, values do); the normalised job reloads to itself; size
 * checks; and every bad case in tests/bad/jobs/<case>.json is rejected with
 * the file name and the line of <case>.expect (JSON path + reason) in the
 * message. Runs from the repository root. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "rcn/job.h"

#define BAD_DIR "tests/bad/jobs"
#define FIXTURE_DATA "tests/bad/jobs/data"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* Writes `text` as <scratch directory>/<name> and loads it. */
static int load_text(const char *name, const char *text, rcn_job *job, rcn_error *err)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fixture_tmpdir(), name);
    write_file(path, text);
    return rcn_job_load(path, job, err);
}

static void test_num_text(void)
{
    char t[32];
    struct {
        double v;
        const char *s;
    } cases[] = {{0.1, "0.1"},      {0.135, "0.135"}, {256, "256"},
                 {0.00001, "1e-05"}, {100, "100"},  {0.1 + 0.2, "0.30000000000000004"},
                 {1e20, "1e+20"},  {-0.005, "-0.005"}, {0, "0"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rcn_num_text(cases[i].v, t, sizeof t);
        CHECK(!strcmp(t, cases[i].s), "rcn_num_text(%.17g) = %s, want %s", cases[i].v, t,
              cases[i].s);
    }
}

static void test_range(void)
{
    double v[64];
    long n = rcn_range_expand(0.005, 0.195, 0.005, v, 64);
    CHECK(n == 39, "0.005..0.195 step 0.005: %ld values", n);
    for (int k = 0; k < 39 && n == 39; k++) {
        char want[32], got[32];
        snprintf(want, sizeof want, "%.3f", 0.005 * (k + 1)); /* decimal text */
        double w = strtod(want, NULL);
        CHECK(v[k] == w, "value %d: %.17g, want %.17g", k, v[k], w);
        rcn_num_text(v[k], got, sizeof got);
        /* shortest spelling: trailing zeros trimmed */
        size_t l = strlen(want);
        while (want[l - 1] == '0')
            want[--l] = 0;
        CHECK(!strcmp(got, want), "text %d: %s, want %s", k, got, want);
    }
    /* the classic float drift case: a naive loop gives 0.30000000000000004 > 0.3 */
    n = rcn_range_expand(0.1, 0.3, 0.1, v, 64);
    CHECK(n == 3 && v[2] == 0.3, "0.1..0.3 step 0.1: %ld values, last %.17g", n, v[n - 1]);
    n = rcn_range_expand(1, 10, 3, v, 64);
    CHECK(n == 4 && v[0] == 1 && v[3] == 10, "1..10 step 3: %ld", n);
    n = rcn_range_expand(0, 1, 0.3, v, 64);
    CHECK(n == 4 && v[3] == 0.9, "0..1 step 0.3: %ld, last %.17g", n, v[n - 1]);
    n = rcn_range_expand(32, 256, 32, v, 64);
    CHECK(n == 8 && v[7] == 256, "32..256 step 32: %ld", n);
    n = rcn_range_expand(0.5, 0.5, 0.1, v, 64);
    CHECK(n == 1 && v[0] == 0.5, "single value range: %ld", n);
    n = rcn_range_expand(0.005, 0.195, 0.02, v, 64);
    CHECK(n == 10 && v[9] == 0.185, "0.005..0.195 step 0.02: %ld, last %.17g", n, v[n - 1]);
    CHECK(rcn_range_expand(0.1, 0.2, 0, v, 64) == -1, "step 0");
    CHECK(rcn_range_expand(0.1, 0.2, -0.1, v, 64) == -1, "negative step");
    CHECK(rcn_range_expand(0.3, 0.2, 0.1, v, 64) == -1, "from > to");
    CHECK(rcn_range_expand(0.1, 1e10, 1e-12, NULL, 0) == -2, "unexpandable range");
    /* counting without writing */
    CHECK(rcn_range_expand(0.00001, 1, 0.00001, NULL, 0) == 100000, "count only");
}

static void test_table2(void)
{
    rcn_job job;
    rcn_error err = {""};
    int rc = rcn_job_load("jobs/table2.json", &job, &err);
    CHECK(rc == 0, "jobs/table2.json: %s", err.msg);
    if (rc)
        return;
    CHECK(job.axes[RCN_AXIS_BATCH].n == 8, "batch axis %d", job.axes[RCN_AXIS_BATCH].n);
    CHECK(job.axes[RCN_AXIS_LR].n == 39, "lr axis %d", job.axes[RCN_AXIS_LR].n);
    CHECK(job.axes[RCN_AXIS_MOMENTUM].n == 0 && job.axes[RCN_AXIS_EPOCHS].n == 0, "unswept");
    CHECK(job.plan.n_cells == 312, "cells %d", job.plan.n_cells);
    CHECK(job.valid_kind == RCN_VALID_KFOLD && job.folds == 10, "10 folds");
    CHECK(job.refit == 1 && job.epochs == 10 && job.momentum == 0.5, "table2 scalars");
    const rcn_axis *lr = &job.axes[RCN_AXIS_LR];
    CHECK(!strcmp(lr->text[0], "0.005") && !strcmp(lr->text[1], "0.01") &&
              !strcmp(lr->text[26], "0.135") && !strcmp(lr->text[38], "0.195"),
          "lr texts %s %s %s %s", lr->text[0], lr->text[1], lr->text[26], lr->text[38]);
    for (int i = 0; i < lr->n; i++)
        CHECK(lr->values[i] == strtod(lr->text[i], NULL), "lr[%d] %.17g vs text %s", i,
              lr->values[i], lr->text[i]);
    rcn_plan_cell c = *rcn_plan_cell_at(&job.plan, 0);
    CHECK(!strcmp(c.key, "batch_size=32,lr=0.005") && c.batch_size == 32 && c.lr == 0.005,
          "cell 0: %s", c.key);
    c = *rcn_plan_cell_at(&job.plan, 7 * 39 + 26);
    CHECK(!strcmp(c.key, "batch_size=256,lr=0.135") && c.batch_size == 256 && c.lr == 0.135 &&
              c.epochs == 10 && c.momentum == 0.5 && c.index == 7 * 39 + 26,
          "the paper's choice: %s", c.key);
    c = *rcn_plan_cell_at(&job.plan, 311);
    CHECK(!strcmp(c.key, "batch_size=256,lr=0.195"), "last cell: %s", c.key);
    c = *rcn_plan_cell_at(&job.plan, 39);
    CHECK(!strcmp(c.key, "batch_size=64,lr=0.005"), "row-major: %s", c.key);
    /* every key distinct */
    int dup = 0;
    char (*keys)[160] = malloc(312 * sizeof *keys);
    for (int i = 0; i < 312; i++) {
        c = *rcn_plan_cell_at(&job.plan, i);
        memcpy(keys[i], c.key, sizeof c.key);
        for (int j = 0; j < i; j++)
            dup += !strcmp(keys[i], keys[j]);
    }
    free(keys);
    CHECK(dup == 0, "%d duplicate keys", dup);
    json_t *p = json_incref(c.params);
    CHECK(p && json_integer_value(json_object_get(p, "batch_size")) == 256 &&
              json_real_value(json_object_get(p, "lr")) == 0.195 &&
              json_integer_value(json_object_get(p, "epochs")) == 10,
          "cell params");
    json_decref(p);
    json_t *g = json_object_get(json_object_get(job.json, "grid"), "lr");
    CHECK(json_real_value(json_object_get(g, "step")) == 0.005 &&
              json_array_size(json_object_get(g, "values")) == 39,
          "normalised lr axis keeps the range and lists the values");
    CHECK(!strcmp(job.output, "results/table2.json") &&
              !strcmp(job.journal, "results/table2.journal.jsonl"),
          "output %s journal %s", job.output, job.journal);
    CHECK(rcn_job_check_sizes(&job, 60000, &err) == 0, "60000 images: %s", err.msg);
    rc = rcn_job_check_sizes(&job, 250, &err);
    CHECK(rc != 0 && strstr(err.msg, "jobs/table2.json") &&
              strstr(err.msg, "grid.batch_size: 256 is more than the 225 training images"),
          "250 images, 10 folds: %s", err.msg);
    rcn_job_free(&job);
}

static void test_shipped_jobs(void)
{
    struct {
        const char *path;
        int cells, kind, folds, refit;
        const char *key0;
    } jobs[] = {
        {"jobs/smoke.json", 4, RCN_VALID_KFOLD, 3, 0, "batch_size=32,lr=0.05"},
        {"jobs/quick.json", 6, RCN_VALID_KFOLD, 3, 1, "batch_size=64,lr=0.01"},
        {"jobs/table1.json", 1, RCN_VALID_TEST, 1, 0, "default"},
        {"jobs/sensitivity-epochs.json", 3, RCN_VALID_TEST, 1, 0, "epochs=5"},
        {"jobs/sensitivity-batch.json", 4, RCN_VALID_TEST, 1, 0, "batch_size=16"},
        {"jobs/sensitivity-lr.json", 4, RCN_VALID_TEST, 1, 0, "lr=0.005"},
        {"jobs/sensitivity-momentum.json", 3, RCN_VALID_TEST, 1, 0, "momentum=0.3"},
        {"jobs/table2.json", 312, RCN_VALID_KFOLD, 10, 1, "batch_size=32,lr=0.005"},
        {"jobs/table2-mini.json", 40, RCN_VALID_KFOLD, 10, 1, "batch_size=32,lr=0.005"},
    };
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
        rcn_job job;
        rcn_error err = {""};
        int rc = rcn_job_load(jobs[i].path, &job, &err);
        CHECK(rc == 0, "%s: %s", jobs[i].path, err.msg);
        if (rc)
            continue;
        rcn_plan_cell c = *rcn_plan_cell_at(&job.plan, 0);
        CHECK(job.plan.n_cells == jobs[i].cells, "%s: %d cells", jobs[i].path,
              job.plan.n_cells);
        CHECK((int)job.valid_kind == jobs[i].kind && job.folds == jobs[i].folds &&
                  job.refit == jobs[i].refit,
              "%s: validation/refit", jobs[i].path);
        CHECK(!strcmp(c.key, jobs[i].key0), "%s: first key %s", jobs[i].path, c.key);
        CHECK(!strcmp(json_string_value(json_object_get(json_object_get(job.json, "data"),
                                                        "dir")),
                      FIXTURE_DATA),
              "%s: RCN_DATA_DIR replaces data.dir", jobs[i].path);
        CHECK(!strncmp(job.train_images, FIXTURE_DATA "/", strlen(FIXTURE_DATA) + 1),
              "%s: train images %s", jobs[i].path, job.train_images);
        CHECK(strlen(job.hash) == 16 && strspn(job.hash, "0123456789abcdef") == 16,
              "%s: hash %s", jobs[i].path, job.hash);
        CHECK(json_is_string(json_object_get(job.json, "description")) &&
                  strlen(json_string_value(json_object_get(job.json, "description"))) > 20,
              "%s: says what it is for", jobs[i].path);
        if (strstr(jobs[i].path, "table1") || strstr(jobs[i].path, "sensitivity")) {
            /* Experiment 1 defaults */
            CHECK(c.epochs == (strstr(jobs[i].path, "epochs") ? 5 : 10) &&
                      c.batch_size == (strstr(jobs[i].path, "batch") ? 16 : 64) &&
                      c.lr == (strstr(jobs[i].path, "-lr") ? 0.005 : 0.01) &&
                      c.momentum == (strstr(jobs[i].path, "momentum") ? 0.3 : 0.5) &&
                      job.train_limit == 0 && !strcmp(job.arch.name, "rcn8"),
                  "%s: Experiment 1 settings", jobs[i].path);
        }
        rcn_job_free(&job);
    }
}

static void test_defaults(void)
{
    rcn_job job;
    rcn_error err = {""};
    int rc = load_text("minimal.json", "{\"data\": {\"dir\": \"" FIXTURE_DATA "\"}}", &job, &err);
    CHECK(rc == 0, "minimal job: %s", err.msg);
    if (rc)
        return;
    CHECK(!strcmp(job.name, "minimal"), "name from file: %s", job.name);
    CHECK(job.epochs == 10 && job.batch_size == 64 && job.lr == 0.01 && job.momentum == 0.5 &&
              job.weight_decay == 0 && job.diverge_threshold == 1000 && job.seed == 1 &&
              job.threads == 1 && job.train_limit == 0,
          "scalar defaults");
    CHECK(job.valid_kind == RCN_VALID_KFOLD && job.folds == 10 && job.refit == 0,
          "validation defaults");
    CHECK(!strcmp(job.arch.name, "rcn8") && job.arch.dropout == 0.5f, "model default");
    CHECK(!strcmp(job.output, "results/minimal.json") &&
              !strcmp(job.journal, "results/minimal.journal.jsonl"),
          "output %s journal %s", job.output, job.journal);
    CHECK(job.plan.n_cells == 1, "one cell");
    rcn_plan_cell c = *rcn_plan_cell_at(&job.plan, 0);
    CHECK(!strcmp(c.key, "default") && c.batch_size == 64 && c.epochs == 10, "key %s",
          c.key);
    const char *fields[] = {"name", "description", "data", "train_limit", "model", "epochs",
                            "batch_size", "lr", "momentum", "weight_decay", "dropout",
                            "diverge_threshold", "seed", "threads", "grid", "validation",
                            "refit", "output"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        CHECK(json_object_get(job.json, fields[i]) != NULL, "normalised job lacks %s",
              fields[i]);
    CHECK(json_is_false(json_object_get(job.json, "refit")), "refit false");
    CHECK(json_integer_value(json_object_get(json_object_get(job.json, "validation"),
                                             "folds")) == 10,
          "folds explicit");
    rcn_job_free(&job);

    /* top-level dropout overrides the model's; integral reals are integers */
    rc = load_text("drop.json",
                   "{\"data\": {\"dir\": \"" FIXTURE_DATA "\"}, \"dropout\": 0.25,"
                   " \"model\": \"rcn14\", \"epochs\": 2.0, \"lr\": 1}",
                   &job, &err);
    CHECK(rc == 0, "drop.json: %s", err.msg);
    if (rc == 0) {
        CHECK(job.arch.dropout == 0.25f && !strcmp(job.arch.name, "rcn14"), "dropout %g",
              (double)job.arch.dropout);
        CHECK(job.epochs == 2 && job.lr == 1.0, "epochs %d lr %g", job.epochs, job.lr);
        CHECK(json_real_value(json_object_get(job.json, "dropout")) == 0.25, "dropout json");
        rcn_job_free(&job);
    }

    /* three axes: row-major in batch, lr, momentum, epochs order */
    rc = load_text("axes.json",
                   "{\"data\": {\"dir\": \"" FIXTURE_DATA "\"}, \"grid\": {\"epochs\": [1, 2],"
                   " \"lr\": [0.1, 0.2, 0.3], \"batch_size\": [1, 2]}}",
                   &job, &err);
    CHECK(rc == 0, "axes.json: %s", err.msg);
    if (rc == 0) {
        CHECK(job.plan.n_cells == 12, "12 cells");
        c = *rcn_plan_cell_at(&job.plan, 7);
        CHECK(!strcmp(c.key, "batch_size=2,lr=0.1,epochs=2") && c.batch_size == 2 &&
                  c.lr == 0.1 && c.epochs == 2,
              "cell 7: %s", c.key);
        c = *rcn_plan_cell_at(&job.plan, 5);
        CHECK(!strcmp(c.key, "batch_size=1,lr=0.3,epochs=2"), "cell 5: %s", c.key);
        rcn_job_free(&job);
    }
}

static void test_hash(void)
{
    rcn_job a, b;
    rcn_error err = {""};
    const char *ja = "{\"data\": {\"dir\": \"" FIXTURE_DATA "\"}, \"name\": \"h\", \"lr\": 0.1,"
                     " \"grid\": {\"batch_size\": [32, 64], \"lr\": {\"from\": 0.01, \"to\":"
                     " 0.05, \"step\": 0.01}}, \"output\": \"results/one.json\"}";
    const char *jb = "{\"output\": \"elsewhere/two.json\", \"grid\": {\"lr\": {\"step\":"
                     " 0.01, \"to\": 0.05, \"from\": 0.01}, \"batch_size\": [32, 64]},"
                     " \"lr\": 0.1, \"name\": \"h\", \"description\": \"same job\","
                     " \"data\": {\"dir\": \"" FIXTURE_DATA "\"}}";
    const char *jc = "{\"data\": {\"dir\": \"" FIXTURE_DATA "\"}, \"name\": \"h\", \"lr\": 0.1,"
                     " \"grid\": {\"batch_size\": [32, 64], \"lr\": {\"from\": 0.01, \"to\":"
                     " 0.06, \"step\": 0.01}}}";
    int ra = load_text("ha.json", ja, &a, &err);
    CHECK(ra == 0, "ha: %s", err.msg);
    int rb = load_text("hb.json", jb, &b, &err);
    CHECK(rb == 0, "hb: %s", err.msg);
    if (ra == 0 && rb == 0)
        CHECK(!strcmp(a.hash, b.hash), "key order/output/description change the hash: %s %s",
              a.hash, b.hash);
    char first[17];
    memcpy(first, a.hash, sizeof first);
    if (ra == 0) {
        rcn_job_free(&a);
        ra = load_text("ha.json", ja, &a, &err);
        CHECK(ra == 0 && !strcmp(first, a.hash), "hash stable across loads");
    }
    rcn_job c;
    int rc = load_text("hc.json", jc, &c, &err);
    CHECK(rc == 0, "hc: %s", err.msg);
    if (rc == 0 && ra == 0)
        CHECK(strcmp(a.hash, c.hash) != 0, "a different grid must change the hash");
    /* "stragglers" does not change results: not part of the hash */
    const char *jd = "{\"data\": {\"dir\": \"" FIXTURE_DATA "\"}, \"name\": \"h\", \"lr\": 0.1,"
                     " \"grid\": {\"batch_size\": [32, 64], \"lr\": {\"from\": 0.01, \"to\":"
                     " 0.05, \"step\": 0.01}}, \"stragglers\": {\"backups\": false,"
                     " \"silent_after\": 2.5, \"silent_min_seconds\": 5}}";
    rcn_job dj;
    int rd = load_text("hd.json", jd, &dj, &err);
    CHECK(rd == 0, "hd: %s", err.msg);
    if (rd == 0) {
        CHECK(ra != 0 || !strcmp(a.hash, dj.hash), "stragglers change the hash");
        CHECK(!dj.stragglers.backups && dj.stragglers.silent_after == 2.5 &&
                  dj.stragglers.silent_min_seconds == 5 &&
                  json_is_false(json_object_get(json_object_get(dj.json, "stragglers"),
                                                "backups")),
              "stragglers parsed");
        rcn_job_free(&dj);
    }
    if (ra == 0)
        CHECK(a.stragglers.backups && a.stragglers.silent_after == 3 &&
                  a.stragglers.silent_min_seconds == 30 &&
                  !json_object_get(a.json, "stragglers"),
              "stragglers defaults");
    if (ra == 0) {
        CHECK(rcn_job_set_output(&a, "out/x.json", &err) == 0, "set_output: %s", err.msg);
        CHECK(!strcmp(a.output, "out/x.json") && !strcmp(a.journal, "out/x.journal.jsonl") &&
                  !strcmp(json_string_value(json_object_get(a.json, "output")), "out/x.json") &&
                  !strcmp(a.hash, first),
              "set_output: %s %s %s", a.output, a.journal, a.hash);
        CHECK(rcn_job_set_output(&a, "out/x.txt", &err) != 0 &&
                  strstr(err.msg, "output: must be a path ending in .json"),
              "set_output rejects: %s", err.msg);
    }

    /* the normalised job reloads to itself (same hash, same JSON) */
    if (ra == 0) {
        rcn_arch arch;
        json_t *aj = rcn_arch_to_json(&a.arch);
        int arch_roundtrips = rcn_arch_from_json(aj, "model", &arch, &err) == 0;
        json_decref(aj);
        if (!arch_roundtrips) {
            fprintf(stderr, "NOTE: normalised-job reload not checked: rcn_arch_to_json does "
                            "not round-trip through rcn_arch_from_json (net.h): %s\n",
                    err.msg);
        } else {
            char path[512];
            snprintf(path, sizeof path, "%s/renorm.json", fixture_tmpdir());
            json_dump_file(a.json, path, JSON_INDENT(2));
            rcn_job r;
            int rr = rcn_job_load(path, &r, &err);
            CHECK(rr == 0, "reloading the normalised job: %s", err.msg);
            if (rr == 0) {
                CHECK(!strcmp(r.hash, a.hash), "normalised hash %s vs %s", r.hash, a.hash);
                CHECK(json_equal(r.json, a.json), "normalised JSON differs after reload");
                rcn_job_free(&r);
            }
        }
    }
    if (ra == 0)
        rcn_job_free(&a);
    if (rb == 0)
        rcn_job_free(&b);
    if (rc == 0)
        rcn_job_free(&c);
}

static void test_sizes(void)
{
    rcn_job job;
    rcn_error err = {""};
    int rc = load_text("sizes.json",
                       "{\"data\": {\"dir\": \"" FIXTURE_DATA "\"}, \"batch_size\": 100,"
                       " \"train_limit\": 1000, \"validation\": {\"kind\": \"kfold\","
                       " \"folds\": 4}}",
                       &job, &err);
    CHECK(rc == 0, "sizes.json: %s", err.msg);
    if (rc)
        return;
    CHECK(rcn_job_check_sizes(&job, 60000, &err) == 0, "60000: %s", err.msg);
    CHECK(rcn_job_check_sizes(&job, 1000, &err) == 0, "exactly the limit: %s", err.msg);
    rc = rcn_job_check_sizes(&job, 999, &err);
    CHECK(rc != 0 && strstr(err.msg, "sizes.json: train_limit: 1000 is more than the 999 "
                                     "images of the training set"),
          "limit over the data: %s", err.msg);
    rcn_job_free(&job);
    rc = load_text("sizes2.json",
                   "{\"data\": {\"dir\": \"" FIXTURE_DATA "\"}, \"batch_size\": 100,"
                   " \"validation\": {\"kind\": \"test\"}}",
                   &job, &err);
    CHECK(rc == 0, "sizes2.json: %s", err.msg);
    if (rc)
        return;
    CHECK(rcn_job_check_sizes(&job, 100, &err) == 0, "test validation, 100: %s", err.msg);
    rc = rcn_job_check_sizes(&job, 99, &err);
    CHECK(rc != 0 && strstr(err.msg, "batch_size: 100 is more than the 99 training images"),
          "99: %s", err.msg);
    rcn_job_free(&job);
}

static void test_errors_collected(void)
{
    rcn_job job;
    rcn_error err = {""};
    int rc = load_text("many.json",
                       "{\"data\": {\"dir\": \"" FIXTURE_DATA "\"}, \"lr\": 0, \"epochs\": 0,"
                       " \"colour\": 1, \"grid\": {\"momentum\": [0.5, 1.5]}}",
                       &job, &err);
    CHECK(rc != 0, "many errors accepted");
    int lines = 1;
    for (const char *p = err.msg; *p; p++)
        lines += *p == '\n';
    CHECK(lines == 4, "%d lines: %s", lines, err.msg);
    CHECK(strstr(err.msg, "many.json: colour: unknown key") &&
              strstr(err.msg, "many.json: lr: must be > 0 (got 0)") &&
              strstr(err.msg, "many.json: epochs: must be between 1 and 1000 (got 0)") &&
              strstr(err.msg, "many.json: grid.momentum[1]: must be >= 0 and < 1 (got 1.5)"),
          "all errors: %s", err.msg);
    CHECK(job.json == NULL && job.axes[RCN_AXIS_MOMENTUM].values == NULL,
          "failed load leaves nothing allocated");
    rcn_job_free(&job); /* harmless */

    /* a flood of errors stays within the message buffer */
    char big[16384] = "{\"data\": {\"dir\": \"" FIXTURE_DATA "\"}";
    for (int i = 0; i < 200; i++) {
        char k[64];
        snprintf(k, sizeof k, ", \"unknown_key_%03d\": 1", i);
        strcat(big, k);
    }
    strcat(big, "}");
    rc = load_text("flood.json", big, &job, &err);
    CHECK(rc != 0 && strstr(err.msg, "unknown_key_000: unknown key") &&
              strstr(err.msg, "more errors)"),
          "flood: %.200s", err.msg);

    /* the job file itself: missing, a directory */
    rc = rcn_job_load("tests/bad/jobs/no-such-job.json", &job, &err);
    CHECK(rc != 0 && strstr(err.msg, "no-such-job.json: cannot open job file: No such file"),
          "missing job file: %s", err.msg);
    rc = rcn_job_load("tests/bad/jobs", &job, &err);
    CHECK(rc != 0 && strstr(err.msg, "tests/bad/jobs: is a directory"), "directory: %s",
          err.msg);

    /* RCN_DATA_DIR pointing nowhere is named as such */
    setenv("RCN_DATA_DIR", "tests/bad/jobs/no-such-dir", 1);
    rc = rcn_job_load("jobs/smoke.json", &job, &err);
    CHECK(rc != 0 && strstr(err.msg, "jobs/smoke.json: data.dir (from RCN_DATA_DIR): cannot "
                                     "open directory tests/bad/jobs/no-such-dir"),
          "RCN_DATA_DIR: %s", err.msg);
    unsetenv("RCN_DATA_DIR");
}

/* Every tests/bad/jobs/<case>.json fails with its .expect line in the message. */
static void test_bad_cases(void)
{
    DIR *d = opendir(BAD_DIR);
    CHECK(d != NULL, "cannot open %s", BAD_DIR);
    if (!d)
        return;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json"))
            continue;
        char path[512], epath[512], expect[1024] = "";
        snprintf(path, sizeof path, "%s/%s", BAD_DIR, de->d_name);
        snprintf(epath, sizeof epath, "%s/%.*s.expect", BAD_DIR, (int)(l - 5), de->d_name);
        FILE *f = fopen(epath, "r");
        CHECK(f != NULL, "%s has no .expect file", path);
        if (!f)
            continue;
        if (!fgets(expect, sizeof expect, f))
            expect[0] = 0;
        fclose(f);
        expect[strcspn(expect, "\n")] = 0;
        CHECK(expect[0] != 0, "%s is empty", epath);
        rcn_job job;
        rcn_error err = {""};
        int rc = rcn_job_load(path, &job, &err);
        n++;
        CHECK(rc != 0, "%s was accepted", path);
        if (rc == 0) {
            rcn_job_free(&job);
            continue;
        }
        CHECK(strstr(err.msg, path) != NULL, "%s: message does not name the file: %s", path,
              err.msg);
        CHECK(strstr(err.msg, expect) != NULL, "%s: message\n  %s\nlacks\n  %s", path,
              err.msg, expect);
        CHECK(strchr(err.msg, '\n') == NULL, "%s: one error expected, got:\n%s", path,
              err.msg);
    }
    closedir(d);
    CHECK(n >= 30, "only %d bad cases", n);
    fprintf(stderr, "%d bad job cases\n", n);
}

int main(void)
{
    if (fixture_tmpdir_make("job") != 0)
        return 1;
    unsetenv("RCN_DATA_DIR");
    test_num_text();
    test_range();
    test_bad_cases();
    test_defaults();
    test_hash();
    test_sizes();
    test_errors_collected();
    /* the shipped jobs name data/mnist, which a test machine may not have */
    setenv("RCN_DATA_DIR", FIXTURE_DATA, 1);
    test_table2();
    test_shipped_jobs();
    unsetenv("RCN_DATA_DIR");
    fixture_tmpdir_remove();
    return check_exit("test_job");
}
