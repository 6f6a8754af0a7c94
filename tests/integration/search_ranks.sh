#!/usr/bin/env bash
# search_ranks.sh - the smoke job (jobs/smoke.json on synthetic data) at
# -np 1, 2, 4 and 5 gives identical per-fold results (timings aside), a
# complete report, the Table 2 summary on stdout; `rcn status` reads both
# the report and the journal.
. "$(dirname "$0")/search_common.bash"
make_data

for np in 1 2 4 5; do
    out=$T/np$np.json
    RCN_DATA_DIR=$T/data timeout 120 "${MPIRUN[@]}" -np $np "$RCN" search jobs/smoke.json \
        --out "$out" >"$T/np$np.stdout" 2>"$T/np$np.stderr"
    rc=$?
    [ $rc = 0 ] || { bad "-np $np: exit $rc"; cat "$T/np$np.stderr"; continue; }
    [ "$(jq -r .meta.status "$out")" = complete ] || bad "-np $np: status $(jq -r .meta.status "$out")"
    [ "$(jq .meta.ranks "$out")" = $np ] || bad "-np $np: meta.ranks $(jq .meta.ranks "$out")"
    [ "$(jq '.folds | length' "$out")" = 12 ] || bad "-np $np: $(jq '.folds | length' "$out") folds"
    [ "$(journal_folds "$T/np$np.journal.jsonl")" = 12 ] || bad "-np $np: journal lines"
    grep -q "^Table 2" "$T/np$np.stdout" || bad "-np $np: no Table 2 on stdout"
    grep -q "^best: batch_size=" "$T/np$np.stdout" || bad "-np $np: no best cell on stdout"
    grep -q "12/12 folds" "$T/np$np.stderr" || bad "-np $np: no final progress line"
    folds "$out" >"$T/np$np.folds"
    # the run's accounting: one rank_stats entry per rank, their folds add up
    # to this run's, every rank reports its peak memory, overhead in [0, 1]
    jq -e --argjson np $np '.meta | (.rank_stats | length) == $np
        and ([.rank_stats[].folds] | add) == 12
        and all(.rank_stats[]; .peak_rss_mib > 1 and .train_seconds >= 0)
        and .coordinator_overhead >= 0 and .coordinator_overhead <= 1
        and .coordinator_seconds >= 0' "$out" >/dev/null ||
        bad "-np $np: meta accounting: $(jq -c '.meta | [.rank_stats, .coordinator_overhead]' "$out")"
done
for np in 2 4 5; do
    cmp -s "$T/np1.folds" "$T/np$np.folds" || {
        bad "-np $np folds differ from -np 1"
        diff "$T/np1.folds" "$T/np$np.folds" | head -5
    }
done
[ "$np" ] && [ "$(jq '[.meta.rank_stats[] | select(.folds > 0)] | length' "$T/np2.json")" = 2 ] ||
    bad "-np 2: not both ranks trained"
# the whole aggregation agrees too (cells, marginals, best)
for np in 2 4 5; do
    a=$(jq -c '[.cells, .marginals, .best] | del(.[0][].mean_fit_time)' "$T/np1.json")
    b=$(jq -c '[.cells, .marginals, .best] | del(.[0][].mean_fit_time)' "$T/np$np.json")
    [ "$a" = "$b" ] || bad "-np $np: cells/marginals/best differ"
done

# a second run of a finished search resumes everything: no training, same folds
RCN_DATA_DIR=$T/data "${MPIRUN[@]}" -np 2 "$RCN" search jobs/smoke.json --out "$T/np2.json" \
    >/dev/null 2>"$T/again.stderr" || bad "rerun of a finished search failed"
grep -q "12 done before" "$T/again.stderr" || bad "rerun did not resume: $(head -1 "$T/again.stderr")"
[ "$(journal_folds "$T/np2.journal.jsonl")" = 12 ] || bad "rerun appended to the journal"
folds "$T/np2.json" | cmp -s - "$T/np1.folds" || bad "rerun changed the folds"

"$RCN" status "$T/np4.json" >"$T/status.txt" || bad "rcn status REPORT failed"
grep -q "12/12 done" "$T/status.txt" || bad "status of the report: $(cat "$T/status.txt")"
"$RCN" status "$T/np4.journal.jsonl" >"$T/status.txt" || bad "rcn status JOURNAL failed"
grep -q "12/12 done" "$T/status.txt" || bad "status of the journal: $(cat "$T/status.txt")"
grep -q "^best: *batch_size=" "$T/status.txt" || bad "status shows no best cell"
cat "$T/status.txt"
finish
