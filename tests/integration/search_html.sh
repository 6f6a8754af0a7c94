#!/usr/bin/env bash
# search_html.sh - `rcn search --html DIR` keeps DIR/index.html current: a
# small search writes the page with every report write, and the last one
# is the complete report's page (no progress banner, no reload, the
# figures beside it). A page that cannot be written (DIR under a regular
# file) is a warning: the search completes with its report all the same.
. "$(dirname "$0")/search_common.bash"
make_data

write_job "$T/job.json" '{"batch_size": [32, 64], "lr": [0.05, 0.1]}' 2
"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$T/r.json" --report-every 0 \
    --html "$T/page" >"$T/stdout" 2>"$T/stderr" || bad "search --html failed: $(tail -2 "$T/stderr")"
page=$T/page/index.html
[ -s "$page" ] || bad "no $page"
[ "$(jq -r .meta.status "$T/r.json")" = complete ] || bad "report not complete"
grep -q 'id="progress"' "$page" && bad "the final page still shows progress"
grep -q 'http-equiv="refresh"' "$page" && bad "the final page still reloads itself"
grep -q '<table id="table2"' "$page" || bad "the page has no Table 2"
ls "$T/page/figures/"*.svg >/dev/null 2>&1 || bad "no figures beside the page"
grep -q "warning" "$T/stderr" && bad "warnings: $(grep warning "$T/stderr")"

# a page that cannot be written: a warning, the result kept
: >"$T/afile"
"${MPIRUN[@]}" -np 1 "$RCN" search "$T/job.json" --out "$T/r2.json" --html "$T/afile/page" \
    >/dev/null 2>"$T/stderr2" || bad "search with an unwritable --html DIR failed: exit $?"
[ "$(jq -r .meta.status "$T/r2.json")" = complete ] || bad "unwritable --html: report not complete"
grep -q "warning: --html: $T/afile/page" "$T/stderr2" || bad "no warning: $(cat "$T/stderr2")"
finish
