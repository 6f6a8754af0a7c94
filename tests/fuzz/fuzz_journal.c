/* fuzz_journal.c - libFuzzer target: the journal of a search (journal.h,
 * format in report.h), as read by resume (rcn_journal_open), `rcn status`
 * (rcn_report_from_folds) and `rcn report` (rcn_view_load).
 *
 * Input: the whole journal file. Properties beyond "no crash, no leak, no UB":
 *  - rcn_journal_read and rcn_journal_open agree: a journal that reads can
 *    be resumed (opened with its own job_hash), resume hands back exactly
 *    the folds the reader saw (every complete line, not a torn last one),
 *    and after one more append the journal reads with one more fold;
 *  - a journal of another job is refused and left byte-for-byte untouched. */
#include "fuzz_common.h"
#include "rcn/journal.h"
#include "rcn/report.h"
#include "rcn/view.h"

static int same_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int same = 1;
    for (size_t i = 0; i < size && same; i++)
        same = fgetc(f) == data[i];
    same = same && fgetc(f) == EOF;
    fclose(f);
    return same;
}

static void journal_one(const uint8_t *data, size_t size)
{
    rcn_error err;
    fuzz_write("run.journal.jsonl", data, size);

    /* rcn report / rcn status on the journal */
    rcn_view_report *view = NULL;
    if (rcn_view_load("run.journal.jsonl", &view, &err) == 0) {
        (void)fuzz_view_print(view, 0, &err); /* fuzz_report checks the printing */
        rcn_view_free(view);
    } else {
        FUZZ_ASSERT_NAMES(err, "run.journal.jsonl");
    }

    json_t *header = NULL, *folds = NULL;
    if (rcn_journal_read("run.journal.jsonl", &header, &folds, &err) != 0) {
        FUZZ_ASSERT_NAMES(err, "run.journal.jsonl");
        return;
    }
    FUZZ_ASSERT(json_is_object(header) && json_is_array(folds), "read returned no header/folds");
    const json_t *job = json_object_get(header, "job");
    const char *hash = json_string_value(json_object_get(header, "job_hash"));
    FUZZ_ASSERT(json_is_object(job) && hash, "header without job or job_hash");

    json_t *report = rcn_report_from_folds(job, folds, NULL, &err);
    if (report) {
        rcn_view_report *v = NULL;
        if (rcn_view_from_json(report, "aggregated", &v, &err) == 0)
            rcn_view_free(v);
        json_decref(report);
    }

    /* a journal of another job: refused, untouched */
    json_t *done = NULL;
    char other[80];
    snprintf(other, sizeof other, "x%s", hash);
    rcn_journal *j = rcn_journal_open("run.journal.jsonl", other, job, 1, &done, &err);
    FUZZ_ASSERT(j == NULL, "journal of job %s opened as job %s", hash, other);
    FUZZ_ASSERT(same_file("run.journal.jsonl", data, size), "refused journal was modified");

    /* resume: the same folds as the reader's */
    j = rcn_journal_open("run.journal.jsonl", hash, job, 1, &done, &err);
    FUZZ_ASSERT(j != NULL, "a journal that reads cannot be resumed: %s", err.msg);
    FUZZ_ASSERT(json_equal(done, folds), "resume sees %zu folds, the reader %zu",
                json_array_size(done), json_array_size(folds));
    json_t *fold = json_pack("{s:i, s:i, s:s}", "cell", 0, "fold", 0, "status", "ok");
    FUZZ_ASSERT(rcn_journal_append(j, fold, &err) == 0, "append: %s", err.msg);
    rcn_journal_close(j);
    json_t *h2 = NULL, *f2 = NULL;
    FUZZ_ASSERT(rcn_journal_read("run.journal.jsonl", &h2, &f2, &err) == 0,
                "journal unreadable after resume + append: %s", err.msg);
    FUZZ_ASSERT(json_array_size(f2) == json_array_size(folds) + 1,
                "after one append %zu folds, before %zu", json_array_size(f2),
                json_array_size(folds));
    FUZZ_ASSERT(json_equal(h2, header), "header changed by resume");
    json_decref(h2);
    json_decref(f2);
    json_decref(fold);
    json_decref(done);
    json_decref(header);
    json_decref(folds);
}

FUZZ_TARGET("journal", NULL, journal_one)
