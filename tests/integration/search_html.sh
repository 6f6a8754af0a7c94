#!/usr/bin/env bash
# search_html.sh - `rcn search --html DIR` keeps DIR/index.html current: a
# small search writes the page with every report write, and the last one
# is the complete report's page (no progress banner, no reload, the
# figures beside it); a search stopped by SIGUSR1 leaves the page of its
# partial report (not complete, reloading), which its resumption brings
# to complete. A page that cannot be written (DIR under a regular
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

# stopped by SIGUSR1 once 2 folds are journaled: the page says not complete
# and reloads itself; resumed with --html, it is complete
EPOCHS=5 write_job "$T/slow.json" '{"batch_size": [16, 32], "lr": [0.02, 0.05, 0.1]}' 4
"${MPIRUN[@]}" -np 2 "$RCN" search "$T/slow.json" --out "$T/s.json" --html "$T/spage" \
    >/dev/null 2>"$T/stderr3" &
pid=$!
wait_folds "$T/s.journal.jsonl" 2 $pid && kill -USR1 $pid
wait $pid
rc=$?
if [ $rc = 75 ]; then
    grep -q 'id="progress"' "$T/spage/index.html" || bad "the stopped search's page shows no progress"
    grep -q 'http-equiv="refresh"' "$T/spage/index.html" || bad "the stopped search's page does not reload"
    "${MPIRUN[@]}" -np 2 "$RCN" search "$T/slow.json" --out "$T/s.json" --html "$T/spage" \
        >/dev/null 2>>"$T/stderr3" || bad "resume with --html failed"
    grep -q 'http-equiv="refresh"' "$T/spage/index.html" && bad "the resumed search's page still reloads"
    grep -q 'id="progress"' "$T/spage/index.html" && bad "the resumed search's page shows progress"
else
    bad "SIGUSR1: exit $rc, want 75 (stopped)"
fi

# a page that cannot be written: a warning, the result kept
: >"$T/afile"
"${MPIRUN[@]}" -np 1 "$RCN" search "$T/job.json" --out "$T/r2.json" --html "$T/afile/page" \
    >/dev/null 2>"$T/stderr2" || bad "search with an unwritable --html DIR failed: exit $?"
[ "$(jq -r .meta.status "$T/r2.json")" = complete ] || bad "unwritable --html: report not complete"
grep -q "warning: --html: $T/afile/page" "$T/stderr2" || bad "no warning: $(cat "$T/stderr2")"
finish
