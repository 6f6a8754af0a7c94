/* fuzz_report.c - libFuzzer target: the report reader of `rcn report`
 * (view.h: rcn_view_load, every table printer) on a report file.
 *
 * Input: the whole report file (JSON). Reports come from earlier runs,
 * other versions, or hands; nulls stand for non-finite numbers. Properties
 * beyond "no crash, no leak, no UB": a failed load names the file; a
 * report that loads prints as text and Markdown without error, and one
 * that rcn_view_from_json accepts is accepted by rcn_view_load alike
 * (unless it holds a NUL byte, which only rcn_view_load refuses). */
#include "fuzz_common.h"
#include "rcn/view.h"

static void report_one(const uint8_t *data, size_t size)
{
    rcn_error err;
    fuzz_write("run.json", data, size);
    rcn_view_report *view = NULL;
    int loaded = rcn_view_load("run.json", &view, &err) == 0;
    if (loaded) {
        FUZZ_ASSERT(fuzz_view_print(view, 3, &err) == 0, "print: %s", err.msg);
        rcn_view_free(view);
    } else {
        FUZZ_ASSERT_NAMES(err, "run.json");
    }
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (j) {
        rcn_view_report *v = NULL;
        if (rcn_view_from_json(j, "run.json", &v, &err) == 0) {
            rcn_view_free(v);
            /* rcn_view_load refuses NUL bytes (a damaged file), which
             * jansson's json_loadb skips between tokens */
            FUZZ_ASSERT(loaded || memchr(data, 0, size),
                        "rcn_view_from_json accepts what rcn_view_load refuses");
        }
        json_decref(j);
    }
}

FUZZ_TARGET("report", NULL, report_one)
