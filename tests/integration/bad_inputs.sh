#!/usr/bin/env bash
# bad_inputs.sh - the table-driven bad-input suite: every case gives its exact
# error (file, byte offset / JSON path / line, reason) and exit status, and
# nothing finished is lost.
#   1. tests/bad/cases.txt: IDX, safetensors, journal, report and resource-limit
#      cases, each a file under tests/bad/ and the exact stderr line expected;
#   2. tests/bad/jobs/*.json (hand-written job cases) through `rcn search`, each
#      with its .expect text;
#   3. cases that need set-up here: directories where files are expected,
#      missing, unreadable and unwritable paths (as user nobody), an output
#      directory that does not exist, a full disk during the report write (a
#      64 KiB tmpfs: the previous report stays intact, nothing is lost), a
#      journal with a torn last line (resume uses every complete line), a
#      journal of another job and one damaged in the middle (refused,
#      untouched), and diverged results (null + status in JSON, read back);
#   4. the fuzzers' regression inputs (tests/fuzz/regress/) through the
#      commands that read them: an error is fine, a crash is not.
# Prints one line per case and the totals; exit 0 only if every case passes.
set -u
: "${RCN:?RCN must point at bin/rcn}" "${TMPDIR_TEST:?}"
T=$TMPDIR_TEST
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
unset RCN_DATA_DIR RCN_MEM_LIMIT
if ! command -v python3 >/dev/null; then # for the JSON checks below
    echo "python3: installing Debian's python3 (apt-get)"
    [ "$(id -u)" = 0 ] && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends python3 >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 \
        >/dev/null 2>&1; }; }
    command -v python3 >/dev/null || { echo "FAIL: python3 is needed (apt-get install python3)"; exit 1; }
fi
B=tests/bad I=$B/idx/good-images L=$B/idx/good-labels M=$B/safetensors/good.safetensors
n_pass=0 n_fail=0 n_skip=0
pass() { n_pass=$((n_pass + 1)); echo "ok   $1"; }
fail() { n_fail=$((n_fail + 1)); echo "FAIL $1: $2"; }
skip() { n_skip=$((n_skip + 1)); echo "skip $1: $2"; }

# has_line FILE EXPECTED: FILE has a line equal to EXPECTED, where `*` in
# EXPECTED matches any text and every other character stands for itself.
has_line() {
    local pat line
    printf -v pat '%q' "$2"
    pat=${pat//\\\*/*}
    while IFS= read -r line; do
        # shellcheck disable=SC2053
        [[ $line == $pat ]] && return 0
    done <"$1"
    return 1
}

# expect NAME WANT_RC EXPECTED_LINE CMD...: CMD (killed after
# $EXPECT_TIMEOUT seconds, default 300) exits WANT_RC and its stderr has
# the line EXPECTED_LINE (as has_line); passes or fails the case NAME.
expect() {
    local name=$1 want=$2 line=$3
    shift 3
    timeout "${EXPECT_TIMEOUT:-300}" "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" != "$want" ]; then
        fail "$name" "exit $rc, want $want; stderr: $(head -2 "$T/err")"
    elif ! has_line "$T/err" "$line"; then
        fail "$name" "stderr lacks the line
      want: $line
      got:  $(head -3 "$T/err")"
    else
        pass "$name"
        return 0
    fi
    return 1
}

# ---- 1. the table ------------------------------------------------------------
while IFS= read -r row; do
    case $row in '#'* | '') continue ;; esac
    IFS='|' read -r name want cmd line <<<"$row"
    name=${name%% } want=${want// /} cmd=${cmd# } cmd=${cmd% } line=${line# }
    eval "args=($cmd)"
    EXPECT_TIMEOUT=120 expect "$name" "$want" "$line" "$RCN" "${args[@]}"
done <"$B/cases.txt"

# ---- 2. the job cases of tests/bad/jobs, through the command line -------------
# (test_job checks the same files at the library level; here the command must
# exit 1 with "rcn search: <file>: ..." holding the .expect text.)
# The sanitizer suite (tests/asan/run.sh) sets RCN_BAD_JOB_COMMAND=train: `rcn
# train --job` validates with the same rcn_job_load, without the MPI start-up
# that leak checking makes take seconds per process (test_job covers the
# same files at the library level under the sanitizers too).
run_job_case() { # JOB.json -> "ok|FAIL name reason"
    local j=$1 e=${1%.json}.expect out rc cmd=${RCN_BAD_JOB_COMMAND:-search}
    if [ "$cmd" = train ]; then
        out=$(timeout 120 "$RCN" train --job "$j" --epochs 1 --quiet 2>&1 >/dev/null)
    else
        out=$(timeout 120 "$RCN" search "$j" 2>&1 >/dev/null)
    fi
    rc=$?
    local want
    want=$(head -n 1 "$e")
    if [ $rc != 1 ]; then
        echo "FAIL jobs/$(basename "$j" .json): exit $rc, want 1"
    elif ! grep -qF -- "rcn $cmd: $j" <<<"$out" || ! grep -qF -- "$want" <<<"$out"; then
        echo "FAIL jobs/$(basename "$j" .json): message lacks the file or '$want': $(head -2 <<<"$out")"
    else
        echo "ok   jobs/$(basename "$j" .json)"
    fi
}
export -f run_job_case
export RCN RCN_BAD_JOB_COMMAND
while IFS= read -r line; do
    case $line in
        ok*) n_pass=$((n_pass + 1)) ;;
        *) n_fail=$((n_fail + 1)) ;;
    esac
    echo "$line"
done < <(ls "$B"/jobs/*.json | xargs -P 4 -I{} bash -c 'run_job_case "$@"' _ {})

# ---- 3. cases with set-up --------------------------------------------------------
chmod 755 "$T"
"$RCN" synth --out "$T/data" --train 120 --test 40 --seed 9 >/dev/null ||
    { echo "FAIL: rcn synth"; exit 1; }
# job FILE LRS FOLDS: a tiny job on $T/data (2 epochs, 2-channel net)
job() {
    cat >"$1" <<JOB
{"name": "$(basename "$1" .json)", "data": {"dir": "$T/data"}, "train_limit": 80,
 "model": {"stem": {"kernel": 3, "stride": 2, "channels": 2, "maxpool": false},
           "stages": [{"channels": 2, "blocks": 1}], "dropout": 0.5},
 "epochs": 2, "batch_size": 16, "grid": {"lr": $2}, "validation": {"kind": "kfold", "folds": $3}}
JOB
}
same() { cmp -s "$1" "$2"; }
no_temp_files() { ! ls -a "$1" | grep -q '\.tmp\.'; }
# folds REPORT: the per-fold results without timings, one line per fold.
folds() {
    python3 -c '
import json, sys
for f in json.load(open(sys.argv[1]))["folds"]:
    f.pop("seconds", None)
    for e in f.get("epochs", []):
        e.pop("seconds", None); e.pop("images_per_second", None)
    print(json.dumps(f, sort_keys=True))' "$1"
}

job "$T/a.json" '[0.05, 0.1]' 2

# directories where files are expected
expect paths/job_is_directory 1 "rcn search: $B: is a directory, not a job file" "$RCN" search "$B"
expect paths/job_missing 1 "rcn search: $T/none.json: cannot open job file: No such file or directory" \
    "$RCN" search "$T/none.json"
mkdir -p "$T/dir.json"
expect paths/output_is_directory 1 \
    "rcn search: $T/dir.json: output is a directory (the report is a file: use --out DIR/NAME.json)" \
    "$RCN" search "$T/a.json" --out "$T/dir.json"
: >"$T/plain"
expect paths/output_under_a_file 1 \
    "rcn search: $T/plain/x.json: cannot write the report there: Not a directory" \
    "$RCN" search "$T/a.json" --out "$T/plain/x.json"
expect paths/train_out_is_directory 1 "rcn train: --out $T/dir.json: is a directory (expected a file name)" \
    "$RCN" train --data "$T/data" --epochs 1 --quiet --out "$T/dir.json"

# an output directory that does not exist: search creates it; train refuses
# before training (it cannot create the directory its result goes in)
if "$RCN" search "$T/a.json" --out "$T/new/deeper/a.json" --quiet >/dev/null 2>"$T/err" &&
    [ -s "$T/new/deeper/a.json" ] && [ -s "$T/new/deeper/a.journal.jsonl" ]; then
    pass paths/search_creates_output_directory
else
    fail paths/search_creates_output_directory "$(head -2 "$T/err")"
fi
expect paths/train_out_directory_missing 1 \
    "rcn train: --out $T/missing/x.json: cannot write there: No such file or directory" \
    "$RCN" train --data "$T/data" --epochs 1 --quiet --out "$T/missing/x.json"
grep -q "epoch" "$T/out" && fail paths/train_out_directory_missing "trained before refusing"
expect paths/train_save_directory_missing 1 \
    "rcn train: --save $T/missing/m.safetensors: cannot write there: No such file or directory" \
    "$RCN" train --data "$T/data" --epochs 1 --quiet --save "$T/missing/m.safetensors"

# unreadable and unwritable paths: permissions do not bind root, so these run
# as user nobody (setpriv), or are skipped when that is impossible
as_nobody=()
if [ "$(id -u)" != 0 ]; then
    as_nobody=(env) # already unprivileged
elif command -v setpriv >/dev/null && id nobody >/dev/null 2>&1 &&
    setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$RCN" --version >/dev/null 2>&1; then
    as_nobody=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
fi
if [ ${#as_nobody[@]} -gt 0 ]; then
    mkdir -p "$T/locked" "$T/ro"
    chmod 755 "$T/locked" "$T/ro" "$T/data"
    cp "$T/a.json" "$T/locked/job.json" && chmod 000 "$T/locked/job.json"
    cp "$M" "$T/locked/model.safetensors" && chmod 000 "$T/locked/model.safetensors"
    cp "$I" "$T/locked/images" && chmod 000 "$T/locked/images"
    cp "$B/journal/header_only.jsonl" "$T/locked/run.journal.jsonl" &&
        chmod 000 "$T/locked/run.journal.jsonl"
    expect paths/job_unreadable 1 \
        "rcn search: $T/locked/job.json: cannot read job file: Permission denied" \
        "${as_nobody[@]}" "$RCN" search "$T/locked/job.json"
    expect paths/model_unreadable 1 \
        "rcn eval: $T/locked/model.safetensors: cannot open: Permission denied" \
        "${as_nobody[@]}" "$RCN" eval "$T/locked/model.safetensors" "$I" "$L"
    expect paths/images_unreadable 1 "rcn eval: $T/locked/images: cannot open: Permission denied" \
        "${as_nobody[@]}" "$RCN" eval "$M" "$T/locked/images" "$L"
    expect paths/journal_unreadable 1 \
        "rcn status: $T/locked/run.journal.jsonl: cannot open: Permission denied" \
        "${as_nobody[@]}" "$RCN" status "$T/locked/run.journal.jsonl"
    cp "$T/a.json" "$T/ro/a.json"
    expect paths/output_unwritable 1 \
        "rcn search: $T/ro/a.json: cannot write the report there: Permission denied" \
        "${as_nobody[@]}" "$RCN" search "$T/ro/a.json" --out "$T/ro/a.json"
    expect paths/train_save_unwritable 1 \
        "rcn train: --save $T/ro/m.safetensors: cannot write there: Permission denied" \
        "${as_nobody[@]}" "$RCN" train --data "$T/data" --epochs 1 --quiet \
        --save "$T/ro/m.safetensors"
else
    for c in job_unreadable model_unreadable images_unreadable journal_unreadable \
        output_unwritable train_save_unwritable; do
        skip "paths/$c" "needs a non-root user (setpriv --reuid=nobody failed)"
    done
fi

# ---- journals: resume after a power cut, another job, damage -------------------
mkdir -p "$T/ref" "$T/torn" "$T/other" "$T/damaged"
"$RCN" search "$T/a.json" --out "$T/ref/a.json" --quiet >/dev/null 2>"$T/err" ||
    { fail journal/reference_run "$(head -2 "$T/err")"; }
J=$T/ref/a.journal.jsonl
nf=$(grep -c '^{"type":"fold"' "$J")
# torn last line: header + 2 folds + half of the third, as a power cut mid-write leaves it
{ head -n 3 "$J"; sed -n 4p "$J" | head -c 100; } >"$T/torn/a.journal.jsonl"
if "$RCN" search "$T/a.json" --out "$T/torn/a.json" >/dev/null 2>"$T/err" &&
    grep -q "= $nf fold jobs, 2 done before" "$T/err" &&
    [ "$(folds "$T/torn/a.json")" = "$(folds "$T/ref/a.json")" ] &&
    [ "$(grep -c '^{"type":"fold"' "$T/torn/a.journal.jsonl")" = "$nf" ] &&
    python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' \
        "$T/torn/a.journal.jsonl" 2>/dev/null; then
    pass journal/resume_torn_last_line
else
    fail journal/resume_torn_last_line "resume did not use the 2 complete fold lines, drop the torn one and end with the reference results: $(grep -m1 'done before' "$T/err")"
fi
# a journal of another job at the output: refused, untouched
job "$T/b.json" '[0.05, 0.2]' 2
cp "$J" "$T/other/a.journal.jsonl"
hash_a=$(head -n 1 "$J" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["job_hash"])')
expect journal/of_another_job 1 \
    "rcn search: $T/other/a.journal.jsonl: journal of another job (journal job_hash $hash_a, this job *); nothing was changed: remove the journal or choose another --out" \
    "$RCN" search "$T/b.json" --out "$T/other/a.json" &&
    { same "$J" "$T/other/a.journal.jsonl" || fail journal/of_another_job "the journal was modified"; }
# damaged in the middle (not a power cut): refused, untouched
{ head -n 2 "$J"; sed -n 3p "$J" | head -c 80; echo; sed -n '4,$p' "$J"; } >"$T/damaged/a.journal.jsonl"
cp "$T/damaged/a.journal.jsonl" "$T/damaged.copy"
expect journal/damaged_in_the_middle 1 \
    "rcn search: $T/damaged/a.journal.jsonl: line 3: invalid JSON (column 80: *): the journal is damaged in the middle" \
    "$RCN" search "$T/a.json" --out "$T/damaged/a.json" &&
    { same "$T/damaged.copy" "$T/damaged/a.journal.jsonl" ||
        fail journal/damaged_in_the_middle "the journal was modified"; }

# ---- a full disk during the report write ----------------------------------------
mnt=$T/full
mkdir -p "$mnt"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=64k tmpfs "$mnt" 2>/dev/null; then
    trap 'umount "$mnt" 2>/dev/null' EXIT
    # an interrupted run: its journal (2 of the folds) and its report; then a
    # filler leaving one page free: the journal lines fit in the journal's
    # last page, the new report (two pages) does not
    head -n 3 "$J" >"$mnt/a.journal.jsonl"
    cp "$T/ref/a.json" "$mnt/a.json"
    cp "$mnt/a.json" "$T/previous.json"
    free=$(df -B1 --output=avail "$mnt" | tail -1)
    keep=$(getconf PAGESIZE)
    [ "$free" -gt "$keep" ] && head -c $((free - keep)) /dev/zero >"$mnt/filler" 2>/dev/null
    "$RCN" search "$T/a.json" --out "$mnt/a.json" >/dev/null 2>"$T/err"
    rc=$?
    if [ $rc != 1 ] || ! grep -q "No space left on device" "$T/err"; then
        fail disk/full_during_report_write "exit $rc, want 1 with 'No space left on device': $(head -3 "$T/err")"
    elif ! same "$mnt/a.json" "$T/previous.json"; then
        fail disk/full_during_report_write "the previous report was changed"
    elif ! no_temp_files "$mnt"; then
        fail disk/full_during_report_write "temporary files left: $(ls -a "$mnt")"
    elif [ "$(grep -c '^{"type":"fold"' "$mnt/a.journal.jsonl")" != "$nf" ]; then
        fail disk/full_during_report_write "finished folds were lost from the journal"
    else
        # space again: the rerun trains nothing and writes the report
        rm -f "$mnt/filler"
        if "$RCN" search "$T/a.json" --out "$mnt/a.json" >/dev/null 2>"$T/err" &&
            grep -q "$nf done before" "$T/err" &&
            [ "$(folds "$mnt/a.json")" = "$(folds "$T/ref/a.json")" ]; then
            pass disk/full_during_report_write
        else
            fail disk/full_during_report_write "the rerun with space did not finish from the journal: $(head -2 "$T/err")"
        fi
    fi
    umount "$mnt"
else
    skip disk/full_during_report_write "cannot mount a tmpfs (needs root)"
fi

# ---- diverged results: null + status, read back ----------------------------------
job "$T/div.json" '[0.05, 1000]' 2
if "$RCN" search "$T/div.json" --out "$T/div/div.json" --quiet >/dev/null 2>"$T/err" &&
    python3 - "$T/div/div.json" "$T/div/div.journal.jsonl" <<'PY'
import json, sys
def strict(s):  # JSON has no NaN/Infinity: rcn must never write them
    return json.loads(s, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
r = strict(open(sys.argv[1]).read())
for line in open(sys.argv[2]):
    strict(line)
div = [f for f in r["folds"] if f["status"] == "diverged"]
ok = [f for f in r["folds"] if f["status"] == "ok"]
assert div and ok, "want both diverged and ok folds"
for f in div:
    assert f["val_loss"] is None and f["train_loss"] is None and f["diverged"] is not None, f
cells = [c for c in r["cells"] if c["status"] == "diverged"]
assert cells and all(c["mean_val_loss"] is None and c["rank_val_loss"] is None for c in cells)
PY
then
    if "$RCN" report "$T/div/div.json" >"$T/out" 2>"$T/err" &&
        "$RCN" status "$T/div/div.json" >/dev/null 2>>"$T/err" &&
        "$RCN" report "$T/div/div.journal.jsonl" >/dev/null 2>>"$T/err" &&
        "$RCN" report "$B/report/good_with_nulls.json" >/dev/null 2>>"$T/err"; then
        pass numbers/diverged_written_as_null_and_read_back
    else
        fail numbers/diverged_written_as_null_and_read_back "a reader refused nulls: $(head -2 "$T/err")"
    fi
else
    fail numbers/diverged_written_as_null_and_read_back "search failed or its JSON is wrong: $(head -3 "$T/err")"
fi

# a model whose weights are NaN/Inf: evaluating it is a result (loss NaN,
# written as null in JSON), not an error and not undefined behaviour
if "$RCN" eval --json "$B/safetensors/st_nan_weights" "$I" "$L" >"$T/out" 2>"$T/err" &&
    python3 -c '
import json, sys
r = json.load(open(sys.argv[1]), parse_constant=lambda c: 1 / 0)
assert r["loss"] is None and r["n"] == 3, r' "$T/out" 2>>"$T/err"; then
    pass numbers/nan_weights_evaluate_to_null
else
    fail numbers/nan_weights_evaluate_to_null "$(head -3 "$T/err") $(head -c 300 "$T/out")"
fi

# ---- 4. the fuzzers' regression inputs through the command line -----------------
# (tests/fuzz/run.sh replays them in the fuzz targets; here they also run in
# the normal and the sanitizer suites: an error exit is fine, a crash is not)
survives() { # NAME CMD...: exit 0 or 1, no signal, no sanitizer report (86)
    local name=$1
    shift
    timeout 120 "$@" >/dev/null 2>"$T/err"
    local rc=$?
    if [ $rc -le 1 ]; then pass "$name"; else fail "$name" "exit $rc: $(tail -3 "$T/err")"; fi
}
R=tests/fuzz/regress
for f in "$R"/journal/* "$R"/report/*; do
    [ -f "$f" ] || continue
    survives "regress/${f#"$R"/}.status" "$RCN" status "$f"
    survives "regress/${f#"$R"/}.report" "$RCN" report "$f"
done
for f in "$R"/safetensors/*; do
    [ -f "$f" ] || continue
    survives "regress/${f#"$R"/}" "$RCN" eval "$f" "$I" "$L"
done
for f in "$R"/idx/*; do # byte 0: fuzz_idx's mode (bits 0-1 kind, bit 2 gzip)
    [ -f "$f" ] || continue
    mode=$(head -c 1 "$f" | od -An -tu1 | tr -d ' ')
    tail -c +2 "$f" >"$T/idx.raw"
    if [ $((mode & 4)) != 0 ]; then gzip -c "$T/idx.raw" >"$T/idx"; else cp "$T/idx.raw" "$T/idx"; fi
    case $((mode & 3)) in
        0) survives "regress/${f#"$R"/}" "$RCN" eval "$M" "$T/idx" "$L" ;;
        1) survives "regress/${f#"$R"/}" "$RCN" eval "$M" "$I" "$T/idx" ;;
        *) survives "regress/${f#"$R"/}" "$RCN" eval "$M" "$T/idx" "$T/idx" ;;
    esac
done

echo "bad inputs: $n_pass passed, $n_fail failed, $n_skip skipped ($((n_pass + n_fail + n_skip)) cases)"
[ $n_fail = 0 ]
