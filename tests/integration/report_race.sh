#!/usr/bin/env bash
# report_race.sh - `rcn report`, `rcn report --plots` and `rcn status` on a
# racing journal: the one a live successive-halving race (eta 3, rungs
# (1,2) (2,4) (2,10)) over the committed table2-mini grid would have
# written, cut from its exhaustive journal with the cells `rcn replay
# --json` promotes: rung 0's folds to epoch 1, then the promoted cells'
# folds to epoch 2 (folds 0 and 1 continued: a second, longer line). The
# report names the winner, the budget (224 of 800 fold-epochs), the rungs
# and their Table 2s; the heatmap marks eliminated cells by rung; status
# shows the finished race, and mid-race the rung in progress.
set -uo pipefail
: "${RCN:=bin/rcn}" "${TMPDIR_TEST:=$(mktemp -d)}"
d=$TMPDIR_TEST
j=results/table2-mini.journal.jsonl
fail=0
bad() { echo "FAIL: $*"; fail=1; }

sched='{"kind": "halving", "eta": 3, "rungs": [{"epochs": 1, "folds": 2}, {"epochs": 2, "folds": 4}, {"epochs": 2, "folds": 10}]}'
"$RCN" replay --json --schedule "$sched" "$j" >"$d/replay.json" || { echo "FAIL: replay"; exit 1; }
python3 - "$j" "$d/replay.json" "$d/race.journal.jsonl" "$d/mid.journal.jsonl" <<'PY' || { echo "FAIL: making the journal"; exit 1; }
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rep = json.load(open(sys.argv[2]))
header, full = lines[0], {(f["cell"], f["fold"]): f for f in lines[1:]}
header["job"]["schedule"] = rep["schedule"]  # normalised, as the job writes it

def upto(f, e):
    """The fold line of a training stopped after epoch e."""
    f = dict(f, epochs=f["epochs"][:e])
    for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        f[k] = f["epochs"][-1][k]
    return f

out, mid, reached = [header], None, {}
for r, rung in enumerate(rep["rungs"]):
    if r == 1:
        mid = list(out)  # rung 0 decided, rung 1 not started
    for c in sorted(x["cell"] for x in rung["cells"]):
        for k in range(rung["folds"]):
            if reached.get((c, k)) != rung["epochs"]:
                out.append(upto(full[(c, k)], rung["epochs"]))
                reached[(c, k)] = rung["epochs"]
for path, ls in ((sys.argv[3], out), (sys.argv[4], mid)):
    with open(path, "w") as o:
        o.writelines(json.dumps(l, separators=(",", ":")) + "\n" for l in ls)
PY
# 40 x 2 rung-0 lines, 14 x 4 rung-1 lines, 5 x 6 new rung-2 lines
n=$(($(wc -l <"$d/race.journal.jsonl") - 1))
[ "$n" = 166 ] || bad "the racing journal has $n fold lines, not 166"

# rcn report: how the winner was chosen, the rungs, Table 2 over complete cells
"$RCN" report "$d/race.journal.jsonl" >"$d/out" 2>"$d/err" || bad "report: exit $?: $(cat "$d/err")"
grep -qF 'chosen by successive halving: eta 3, rungs (1,2) (2,4) (2,10); 40 -> 14 -> 5 -> 1 cells; 224 of 800 fold-epochs (28%)' "$d/out" ||
    bad "report: no headline: $(grep -i halving "$d/out")"
grep -q '^Table 2. Mean loss per batch size over the complete cells' "$d/out" || bad "report: Table 2 title"
grep -qE '^ +32 +- +- +5 +0  eliminated: none of the 5 cells complete' "$d/out" || bad "report: batch 32 row"
grep -qE '^ +0 +1 +2 +40 +14 +26 +0 +80$' "$d/out" || bad "report: rung 0 row"
grep -qE '^ +1 +2 +4 +14 +5 +9 +0 +84$' "$d/out" || bad "report: rung 1 row"
grep -qE '^ +2 +2 +10 +5 +1 +4 +0 +60$' "$d/out" || bad "report: rung 2 row"
grep -q '^Rung 2 (2 epochs, 10 folds): Table 2, mean score per batch size over the 5 cells' "$d/out" ||
    bad "report: rung 2's Table 2"
grep -q '^cell 13 (batch_size=96, lr=0.1475)' "$d/out" || bad "report: best is not cell 13"
grep -q "chosen by successive halving: the best of the last rung's 5 cells" "$d/out" || bad "report: best's rule"
[ "$(grep -c 'eliminated at rung 0' <("$RCN" report --top 0 "$d/race.journal.jsonl"))" = 26 ] ||
    bad "report: 26 cells should be eliminated at rung 0"
"$RCN" report --markdown "$d/race.journal.jsonl" >"$d/md" || bad "report --markdown"
grep -qF -- '- chosen by successive halving: eta 3' "$d/md" && grep -q '^### Rungs of the race' "$d/md" &&
    grep -qE '^\| +0 \| +1 \| +2 \| +40 \| +14 \| +26 \|' "$d/md" || bad "report --markdown: race tables"

# the winner is the lowest mean val loss, and the replay's
python3 - "$d/replay.json" "$d/out" <<'PY' || bad "winner disagrees with replay"
import json, sys
w = json.load(open(sys.argv[1]))["winner"]
assert w["key"] == "batch_size=96,lr=0.1475" and w["cell"] == 13, w
assert "   1    13          96         0.1475" in open(sys.argv[2]).read()
PY

# rcn report --plots: eliminated cells pale with their rung; cell 13 framed
if command -v gnuplot >/dev/null 2>&1; then
    "$RCN" report --plots "$d/plots" "$d/race.journal.jsonl" >/dev/null 2>"$d/err" || bad "plots: $(cat "$d/err")"
    [ -s "$d/plots/heatmap.png" ] || bad "plots: no heatmap.png"
    grep -q '^1 2 0.0525 96 [0-9.]* 0 11 2$' "$d/plots/heatmap.dat" || bad "plots: cell 11 not complete at rung 2"
    [ "$(awk '$6 == 3 && $8 == 0' "$d/plots/heatmap.dat" | wc -l)" = 26 ] || bad "plots: 26 cells out at rung 0"
    [ "$(awk '$6 == 3 && $8 == 1' "$d/plots/heatmap.dat" | wc -l)" = 9 ] || bad "plots: 9 cells out at rung 1"
    grep -q 'sprintf("r%d", $8)' "$d/plots/heatmap.gp" || bad "plots: no rung labels"
else
    echo "gnuplot missing: --plots not checked"
fi

# rcn status: the finished race, and mid-race the rung in progress
"$RCN" status "$d/race.journal.jsonl" >"$d/st" || bad "status: exit $?"
grep -q 'journal of a finished search' "$d/st" &&
    grep -q '^rung:     finished after 3 rungs; winner cell 13 (batch_size=96,lr=0.1475)' "$d/st" &&
    grep -q '^budget:   224 of 800 fold-epochs (28% of the exhaustive grid)$' "$d/st" ||
    bad "status of the finished race: $(cat "$d/st")"
"$RCN" status "$d/mid.journal.jsonl" >"$d/st" || bad "status mid-race: exit $?"
grep -q '^rung:     1 of 0..2 in progress (2 epochs, 4 folds), 14 cells in it' "$d/st" &&
    grep -q '^survivors: cell 1 (batch_size=32,lr=0.0525)' "$d/st" &&
    grep -q '^budget:   80 of 800 fold-epochs (10% of the exhaustive grid) so far' "$d/st" &&
    grep -q 'ETA unknown (racing)' "$d/st" || bad "status mid-race: $(cat "$d/st")"
"$RCN" report "$d/mid.journal.jsonl" >"$d/out" || bad "report mid-race"
grep -qF 'racing by successive halving: eta 3, rungs (1,2) (2,4) (2,10); 40 -> 14 cells in rung 1 of 0..2 (in progress); 80 of 800 fold-epochs (10%) so far' "$d/out" ||
    bad "report mid-race headline: $(grep -i halving "$d/out")"
[ $fail = 0 ] && echo "report_race: ok"
exit $fail
