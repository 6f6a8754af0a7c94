#!/usr/bin/env bash
# race_committed.sh - the committed racing run of table2-mini
# (results/table2-mini-race.*) against the committed exhaustive run
# (results/table2-mini.*), which it reproduces number for number: `rcn
# replay` of the race's schedule on the exhaustive journal eliminates the
# same cells at the same rungs with the same scores and picks the same
# winner; every fold line of the race (a fold trained to a rung's epochs,
# or continued from its checkpoint to the next rung's) holds the same
# per-epoch numbers as the exhaustive training of that fold; the race cost
# at most 35% of the exhaustive fold-epochs.
. "$(dirname "$0")/search_common.bash"
R=results
race=$R/table2-mini-race.journal.jsonl
full=$R/table2-mini.journal.jsonl
for f in "$race" "$full" "$R/table2-mini-race.json"; do
    [ -s "$f" ] || { echo "FAIL: $f missing"; exit 1; }
done

sched=$(head -n 1 "$race" | jq -c '.job.schedule')
[ "$(jq -r .kind <<<"$sched")" = halving ] || bad "the race's job has no halving schedule"
"$RCN" replay --json --schedule "$sched" "$full" >"$T/replay.json" || bad "rcn replay failed"

# the rungs: cells, statuses and scores, bit for bit
grep '^{"type":"rung"' "$race" |
    jq -c '[.rung, .epochs, .folds, [.cells[] | [.cell, .status, .score]]]' >"$T/live.rungs"
jq -c '.rungs | to_entries[] | [.key, .value.epochs, .value.folds,
       [.value.cells[] | [.cell, .status, .score]]]' "$T/replay.json" >"$T/replay.rungs"
[ -s "$T/live.rungs" ] || bad "no rung lines in $race"
cmp -s "$T/live.rungs" "$T/replay.rungs" ||
    bad "the race's rungs differ from the replay: $(diff "$T/live.rungs" "$T/replay.rungs" | head -3)"

# the winner
live=$(jq -r '.best.key' "$R/table2-mini-race.json")
replayed=$(jq -r '.winner.key' "$T/replay.json")
exhaustive=$(jq -r '.best.key' "$R/table2-mini.json")
[ "$live" = "$replayed" ] || bad "winner $live, replay's $replayed"
echo "winner $live (exhaustive best $exhaustive)"

# every race fold line equals the exhaustive fold's first epochs
jq -c 'select(.type == "fold") | {k: "\(.cell)/\(.fold)", e: [.epochs[] | [.train_loss, .val_loss, .val_accuracy]]}' \
    "$race" >"$T/race.folds"
jq -c 'select(.type == "fold") | {k: "\(.cell)/\(.fold)", e: [.epochs[] | [.train_loss, .val_loss, .val_accuracy]]}' \
    "$full" >"$T/full.folds"
python3 - "$T/race.folds" "$T/full.folds" <<'PY' || bad "race fold lines differ from the exhaustive run"
import json, sys
full = {}
for line in open(sys.argv[2]):
    d = json.loads(line)
    full[d["k"]] = d["e"]
n = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    want = full[d["k"]][:len(d["e"])]
    assert d["e"] == want, (d["k"], d["e"], want)
    n += 1
print(f"{n} race fold lines equal the exhaustive trainings' first epochs")
PY

# the budget
frac=$(jq -r '.meta.budget_fraction' "$R/table2-mini-race.json")
awk -v f="$frac" 'BEGIN { exit !(f > 0 && f <= 0.35) }' || bad "budget_fraction $frac, want <= 0.35"
echo "budget: $(jq -r '.meta.fold_epochs' "$R/table2-mini-race.json") of" \
    "$(jq -r '.meta.exhaustive_fold_epochs' "$R/table2-mini-race.json") fold-epochs ($frac)"
finish
