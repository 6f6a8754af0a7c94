#!/usr/bin/env bash
# search_diverge.sh - cells with a huge learning rate diverge: reported as
# diverged (fold status and record, cell status and n_diverged, marginal
# row "Divergence"), the run completes with exit 0; the report's Table 2
# (marginals.batch_size) equals one recomputed here from the per-fold data.
. "$(dirname "$0")/search_common.bash"
make_data
write_job "$T/job.json" '{"batch_size": [16, 32], "lr": [0.05, 1000, 2000]}' 2
out=$T/div.json

"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" >"$T/stdout" 2>"$T/stderr"
rc=$?
[ $rc = 0 ] || bad "exit $rc: $(tail -3 "$T/stderr")"
cat "$T/stdout"

# lr 1000 and 2000 diverge in every fold: 2 of the 3 cells of each batch row
for key in batch_size=16,lr=1000 batch_size=32,lr=1000 batch_size=16,lr=2000 batch_size=32,lr=2000; do
    c=$(jq -c --arg k $key '.cells[] | select(.key == $k) | [.status, .n_diverged, .mean_val_loss, .rank_val_loss]' "$out")
    [ "$c" = '["diverged",2,null,null]' ] || bad "cell $key: $c"
done
n=$(jq '[.folds[] | select(.status == "diverged" and .diverged.epoch == 1 and .diverged.batch >= 1 and .val_loss == null and .train_loss == null)] | length' "$out")
[ "$n" = 8 ] || bad "$n diverged folds with a full divergence record, want 8"
[ "$(jq -c '[.cells[] | .n_diverged]' "$out")" = '[0,2,2,0,2,2]' ] || bad "cells' n_diverged"
[ "$(jq -r '.marginals.lr | map(.status) | join(",")' "$out")" = ok,Divergence,Divergence ] ||
    bad "lr rows: $(jq -c '.marginals.lr | map(.status)' "$out")"
[ "$(jq -r '.marginals.batch_size | map(.status) | join(",")' "$out")" = Divergence,Divergence ] ||
    bad "Table 2 rows: $(jq -c '.marginals.batch_size | map(.status)' "$out")"
[ "$(jq -c '.marginals.batch_size | map([.n_cells, .n_included, .n_diverged])' "$out")" = '[[3,1,2],[3,1,2]]' ] ||
    bad "Table 2 counts"
grep -q "Divergence" "$T/stdout" || bad "stdout table lacks Divergence"
[ "$(jq -r .best.key "$out")" != null ] && [ "$(jq -r .best.params.lr "$out")" = 0.05 ] ||
    bad "best cell: $(jq -c .best "$out")"
[ "$(jq -r .meta.status "$out")" = complete ] || bad "status"

# Table 2 (and the lr marginal) recomputed from the folds: per cell the mean
# over its folds, per row the mean over the row's non-diverged cells,
# "Divergence" when more than half of them diverged
recompute() { # AXIS
    jq -c --arg ax "$1" '
      [.folds | group_by(.cell)[] |
         {x: .[0].params[$ax], div: (map(select(.status != "ok")) | length > 0),
          t: (map(.train_loss) | add), v: (map(.val_loss) | add), k: length}] |
      map(if .div then . else .t /= .k | .v /= .k end) |
      group_by(.x) | map({value: .[0].x, n_cells: length,
          n_diverged: map(select(.div)) | length, inc: map(select(.div | not))}) |
      map({value, n_cells, n_diverged, n_included: (.inc | length),
           t: (if (.inc | length) > 0 then (.inc | map(.t) | add / length) else null end),
           v: (if (.inc | length) > 0 then (.inc | map(.v) | add / length) else null end),
           status: (if .n_diverged * 2 > .n_cells then "Divergence" else "ok" end)})' "$out"
}
for ax in batch_size lr; do
    recompute $ax >"$T/mine.json"
    jq -c --arg ax $ax '.marginals[$ax]' "$out" >"$T/theirs.json"
    jq -n --slurpfile a "$T/mine.json" --slurpfile b "$T/theirs.json" '
      def close(x; y): (x == null and y == null) or
          (x != null and y != null and ((x - y) | fabs) <= 1e-6 * (1 + (y | fabs)));
      ($a[0] | length) == ($b[0] | length) and
      ([$a[0], $b[0]] | transpose | all(.[0] as $m | .[1] as $r |
          $m.value == $r.value and $m.n_cells == $r.n_cells and $m.n_diverged == $r.n_diverged and
          $m.n_included == $r.n_included and $m.status == $r.status and
          close($m.t; $r.mean_train_loss) and close($m.v; $r.mean_val_loss)))' | grep -qx true ||
        bad "marginals.$ax differs from the recomputation: mine $(cat "$T/mine.json") report $(cat "$T/theirs.json")"
done
finish
