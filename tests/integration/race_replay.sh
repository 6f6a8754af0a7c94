#!/usr/bin/env bash
# race_replay.sh - `rcn replay` on the committed table2-mini journal (40
# cells x 10 folds x 2 epochs): synchronous halving picks the cells and
# costs the fold-epochs of the replay table in the racing notes; the same
# answer from a schedule file, inline JSON and --json; clear errors (named
# file, exit 1) for a bad schedule, missing fold results, a test-validation
# journal; usage errors exit 2.
set -uo pipefail
: "${RCN:=bin/rcn}" "${TMPDIR_TEST:=$(mktemp -d)}"
d=$TMPDIR_TEST
j=results/table2-mini.journal.jsonl
fail=0
bad() { echo "FAIL: $*"; fail=1; }

rung() { printf '{"epochs": %d, "folds": %d}' "$1" "$2"; }

# expect NAME SCHEDULE WINNER_KEY FRACTION RANK
expect() {
    local name=$1 sched=$2 key=$3 frac=$4 rank=$5
    printf '%s\n' "$sched" >"$d/s.json"
    "$RCN" replay --schedule "$d/s.json" "$j" >"$d/out" 2>"$d/err" || {
        bad "$name: exit $?: $(cat "$d/err")"; return; }
    grep -q "^winner: $key (cell [0-9]*), .*exhaustive rank $rank (0 = best)" "$d/out" ||
        bad "$name: winner is not $key (rank $rank): $(grep '^winner' "$d/out")"
    grep -q "fraction $frac" "$d/out" || bad "$name: fraction not $frac: $(grep '^cost' "$d/out")"
    "$RCN" replay --json --schedule "$sched" "$j" >"$d/out.json" || bad "$name: --json failed"
    python3 - "$d/out.json" "$key" "$frac" "$rank" <<'EOF' || bad "$name: --json disagrees"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["winner"]["key"] == sys.argv[2], o["winner"]
assert abs(o["fraction"] - float(sys.argv[3])) < 1e-9, o["fraction"]
assert o["winner"]["exhaustive_rank"] == int(sys.argv[4])
assert o["exhaustive_fold_epochs"] == 800 and o["finished"]
r0 = o["rungs"][0]
assert r0["cells_in"] == 40 and r0["kept"] + r0["eliminated"] + r0["diverged"] == 40
scores = [c["score"] for c in r0["cells"] if c["status"] != "diverged"]
assert scores == sorted(scores)
EOF
    echo "ok: $name: $(grep -E '^(winner|cost)' "$d/out" | tr '\n' ' ')"
}

expect "eta 3 (1,2) (2,4) (2,10)" \
    "{\"kind\": \"halving\", \"eta\": 3, \"rungs\": [$(rung 1 2), $(rung 2 4), $(rung 2 10)]}" \
    "batch_size=96,lr=0.1475" 0.2800 0
expect "eta 3 (1,1) (2,2) (2,5) (2,10)" \
    "{\"kind\": \"halving\", \"eta\": 3, \"rungs\": [$(rung 1 1), $(rung 2 2), $(rung 2 5)]}" \
    "batch_size=96,lr=0.1" 0.1650 1
expect "eta 3 (1,2) (2,3) (2,6) (2,10)" \
    "{\"kind\": \"halving\", \"eta\": 3, \"rungs\": [$(rung 1 2), $(rung 2 3), $(rung 2 6)]}" \
    "batch_size=96,lr=0.1475" 0.2275 0
expect "eta 4 (1,2) (2,4) (2,10)" \
    "{\"kind\": \"halving\", \"eta\": 4, \"rungs\": [$(rung 1 2), $(rung 2 4)]}" \
    "batch_size=64,lr=0.0525" 0.2200 9
expect "defaults" '{"kind": "halving"}' "batch_size=96,lr=0.1475" 0.2800 0
expect "grid" '{"kind": "grid"}' "batch_size=96,lr=0.1475" 1.0000 0
# the rungs of the first table row, per rung
"$RCN" replay --schedule '{"kind": "halving"}' "$j" | grep '^rung' >"$d/rungs"
diff - "$d/rungs" <<'EOF' || bad "rungs of the default schedule"
rung 0: 1 epoch, 2 folds: 40 cells in, 14 kept, 26 eliminated, 0 diverged; 80 fold-epochs
rung 1: 2 epochs, 4 folds: 14 cells in, 5 kept, 9 eliminated, 0 diverged; 84 fold-epochs
rung 2: 2 epochs, 10 folds: 5 cells in, 1 kept, 4 eliminated, 0 diverged; 60 fold-epochs
EOF

# expect_err NAME WANT_RC PATTERN ARGS...
expect_err() {
    local name=$1 want=$2 pat=$3 rc
    shift 3
    "$RCN" replay "$@" >"$d/out" 2>"$d/err"
    rc=$?
    [ "$rc" = "$want" ] || { bad "$name: exit $rc, want $want: $(cat "$d/err")"; return; }
    grep -qE "$pat" "$d/err" || { bad "$name: stderr lacks /$pat/: $(cat "$d/err")"; return; }
    [ "$want" = 2 ] || [ ! -s "$d/out" ] || bad "$name: printed a replay anyway"
    echo "ok: $name: $(head -1 "$d/err")"
}
echo '{"kind": "halving", "eta": 1}' >"$d/eta.json"
expect_err "bad eta" 1 "^rcn replay: $d/eta.json: schedule.eta: must be between 2" \
    --schedule "$d/eta.json" "$j"
echo '[3]' >"$d/list.json"
expect_err "schedule not an object" 1 "^rcn replay: $d/list.json: schedule: must be \\{\"kind\"" \
    --schedule "$d/list.json" "$j"
printf '{"kind": "halving",\n' >"$d/s.json"
expect_err "schedule syntax" 1 "^rcn replay: $d/s.json: .*line 2" --schedule "$d/s.json" "$j"
expect_err "missing schedule file" 1 "^rcn replay: $d/none.json: .*No such file" \
    --schedule "$d/none.json" "$j"
expect_err "missing journal" 1 "^rcn replay: $d/nope.jsonl: " \
    --schedule '{"kind": "halving"}' "$d/nope.jsonl"
expect_err "inline rungs decreasing" 1 "^rcn replay: --schedule: schedule.rungs\[1\]: .*must not decrease" \
    --schedule "{\"kind\": \"halving\", \"rungs\": [$(rung 2 2), $(rung 1 4)]}" "$j"
head -n 150 "$j" >"$d/part.journal.jsonl"
expect_err "missing fold results" 1 "^rcn replay: $d/part.journal.jsonl: rung 0 needs 50 fold results the journal lacks" \
    --schedule '{"kind": "halving"}' "$d/part.journal.jsonl"
sed '1s/"validation":{"kind":"kfold","folds":10}/"validation":{"kind":"test"}/' "$j" \
    >"$d/test.journal.jsonl"
cmp -s "$j" "$d/test.journal.jsonl" && bad "the test-validation edit changed nothing"
expect_err "test-validation journal" 1 "^rcn replay: $d/test.journal.jsonl: .*validated on the test set" \
    --schedule '{"kind": "halving"}' "$d/test.journal.jsonl"
expect_err "no schedule" 2 "expected --schedule" "$j"
expect_err "unknown option" 2 "unexpected argument '--fast'" --fast --schedule x "$j"
"$RCN" replay --help | grep -q '^usage: rcn replay' || bad "--help"
"$RCN" --help | grep -q '^  replay ' || bad "rcn --help lacks replay"

[ $fail = 0 ] && echo "race_replay: all ok"
exit $fail
