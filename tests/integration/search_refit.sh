#!/usr/bin/env bash
# search_refit.sh - "refit": true trains the best cell on the whole
# training subset, tests it and saves the model, whose `rcn eval` on the
# test set gives the report's refit numbers; {"kind": "test"} validation
# runs one fold per cell evaluated on the test set, the same on 1 and 3
# ranks (the workers get the test set by broadcast).
. "$(dirname "$0")/search_common.bash"
make_data

write_job "$T/job.json" '{"lr": [0.05, 0.1]}' 2 '"refit": true'
"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$T/r.json" >"$T/stdout" 2>"$T/stderr" ||
    bad "refit run failed: $(tail -2 "$T/stderr")"
r=$T/r.json
[ "$(jq -c .refit.params "$r")" = "$(jq -c .best.params "$r")" ] || bad "refit params are not the best cell's"
[ "$(jq -r .refit.status "$r")" = ok ] || bad "refit status $(jq -r .refit.status "$r")"
[ "$(jq '.refit.epochs | length' "$r")" = 1 ] || bad "refit epochs"
model=$(jq -r .refit.model "$r")
[ "$model" = "$T/r.refit.safetensors" ] || bad "model path $model"
[ -s "$model" ] || bad "no model file"
grep -q "^refit on the whole training set: test loss" "$T/stdout" || bad "stdout lacks the refit line"
"$RCN" eval "$model" "$T/data" --json >"$T/eval.json" || bad "rcn eval of the refit model failed"
jq -n --slurpfile e "$T/eval.json" --slurpfile r "$r" '
    ($e[0].loss - $r[0].refit.test_loss | fabs) < 1e-5 and
    $e[0].accuracy == $r[0].refit.test_accuracy and $e[0].n == 200' | grep -qx true ||
    bad "eval $(jq -c '[.loss, .accuracy]' "$T/eval.json") != refit $(jq -c '.refit | [.test_loss, .test_accuracy]' "$r")"

cat >"$T/test.json" <<JOB
{"name": "t", "data": {"dir": "$T/data"}, "train_limit": 300,
 "model": {"stem": {"kernel": 3, "stride": 1, "channels": 4, "maxpool": false},
           "stages": [{"channels": 4, "blocks": 1}]},
 "epochs": 2, "seed": 5, "grid": {"lr": [0.05, 0.1]}, "validation": {"kind": "test"}}
JOB
for np in 1 3; do
    "${MPIRUN[@]}" -np $np "$RCN" search "$T/test.json" --out "$T/t$np.json" --quiet >/dev/null ||
        bad "test-validation run at -np $np failed"
done
[ "$(jq -c '[.folds[] | [.cell, .fold, (.epochs | length)]]' "$T/t1.json")" = '[[0,0,2],[1,0,2]]' ] ||
    bad "test-validation folds: $(jq -c '[.folds[] | [.cell, .fold]]' "$T/t1.json")"
[ "$(jq -c '[.cells[] | [.n_folds, .status]]' "$T/t1.json")" = '[[1,"ok"],[1,"ok"]]' ] ||
    bad "test-validation cells"
[ "$(jq .refit "$T/t1.json")" = null ] || bad "refit without asking"
folds "$T/t1.json" | cmp -s - <(folds "$T/t3.json") || bad "test validation differs between -np 1 and 3"
finish
