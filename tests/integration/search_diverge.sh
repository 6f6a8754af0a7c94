#!/usr/bin/env bash
# search_diverge.sh - cells with a huge learning rate diverge: reported as
# diverged (fold status and record, cell status and n_diverged, marginal
# row "Divergence"), the run completes with exit 0; the report's Table 2
# (marginals.batch_size) equals one recomputed here from the per-fold data.
. "$(dirname "$0")/search_common.bash"
make_data
write_job "$T/job.json" '{"batch_size": [16, 32], "lr": [0.05, 50, 1000]}' 2
out=$T/div.json

"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" >"$T/stdout" 2>"$T/stderr"
rc=$?
[ $rc = 0 ] || bad "exit $rc: $(tail -3 "$T/stderr")"
cat "$T/stdout"

# lr 1000 diverges in every fold for both batch sizes; lr 50 only at batch 16
for key in batch_size=16,lr=1000 batch_size=32,lr=1000; do
    c=$(jq -c --arg k $key '.cells[] | select(.key == $k) | [.status, .n_diverged, .mean_val_loss, .rank_val_loss]' "$out")
    [ "$c" = '["diverged",2,null,null]' ] || bad "cell $key: $c"
done
[ "$(jq -r '.cells[] | select(.key == "batch_size=16,lr=50") | .status' "$out")" = diverged ] ||
    bad "cell batch_size=16,lr=50 not diverged"
n=$(jq '[.folds[] | select(.status == "diverged")] | length' "$out")
m=$(jq '[.folds[] | select(.status == "diverged" and .diverged.epoch == 1 and .diverged.batch >= 1 and .val_loss == null and .train_loss == null)] | length' "$out")
[ "$n" -ge 4 ] && [ "$n" = "$m" ] || bad "$n diverged folds, $m with a full divergence record"
[ "$(jq '[.cells[] | select(.status == "diverged") | .n_diverged] | add' "$out")" = "$n" ] ||
    bad "cells' n_diverged do not add up to the diverged folds"
[ "$(jq -r '.marginals.lr[2].status' "$out")" = Divergence ] || bad "lr=1000 marginal row not Divergence"
[ "$(jq -r '.marginals.lr[0].status' "$out")" = ok ] || bad "lr=0.05 marginal row not ok"
[ "$(jq -r '.marginals.batch_size | map(.status) | join(",")' "$out")" = Divergence,ok ] ||
    bad "Table 2 rows: $(jq -c '.marginals.batch_size | map(.status)' "$out")"
grep -q "Divergence" "$T/stdout" || bad "stdout table lacks Divergence"
[ "$(jq -r .best.key "$out")" != null ] && [ "$(jq -r .best.params.lr "$out")" = 0.05 ] ||
    bad "best cell: $(jq -c .best "$out")"
[ "$(jq -r .meta.status "$out")" = complete ] || bad "status"

# Table 2 recomputed from the folds: per cell the mean over folds, per row
# the mean over the non-diverged cells, Divergence if more than half diverged
jq -c '
  [.folds | group_by(.cell)[] |
     {b: .[0].params.batch_size, div: (map(select(.status != "ok")) | length > 0),
      t: (map(.train_loss) | add), v: (map(.val_loss) | add), k: length}] |
  map(if .div then . else .t /= .k | .v /= .k end) |
  group_by(.b) | map({value: .[0].b, n_cells: length,
      n_diverged: map(select(.div)) | length,
      inc: map(select(.div | not))}) |
  map({value, n_cells, n_diverged, n_included: (.inc | length),
       t: (if (.inc | length) > 0 then (.inc | map(.t) | add / length) else null end),
       v: (if (.inc | length) > 0 then (.inc | map(.v) | add / length) else null end),
       status: (if .n_diverged * 2 > .n_cells then "Divergence" else "ok" end)})' "$out" >"$T/mine.json"
jq -c '.marginals.batch_size' "$out" >"$T/theirs.json"
jq -n --slurpfile a "$T/mine.json" --slurpfile b "$T/theirs.json" '
  def close(x; y): (x == null and y == null) or
      (x != null and y != null and ((x - y) | fabs) <= 1e-6 * (1 + (y | fabs)));
  [$a[0], $b[0]] | transpose | all(.[0] as $m | .[1] as $r |
      $m.value == $r.value and $m.n_cells == $r.n_cells and $m.n_diverged == $r.n_diverged and
      $m.n_included == $r.n_included and $m.status == $r.status and
      close($m.t; $r.mean_train_loss) and close($m.v; $r.mean_val_loss))' | grep -qx true ||
    bad "Table 2 differs from the recomputation: mine $(cat "$T/mine.json") report $(cat "$T/theirs.json")"
finish
