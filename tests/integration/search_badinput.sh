#!/usr/bin/env bash
# search_badinput.sh - bad inputs give a clear error and a non-zero exit on
# every rank (no hang), before any training, and leave an existing report
# and journal byte-for-byte unchanged: bad job, missing data, train_limit
# beyond the data, journal of another job, unwritable output, --resume
# without a journal, usage errors; `rcn status` on files that are not rcn's.
. "$(dirname "$0")/search_common.bash"
make_data
write_job "$T/job.json" '{"lr": [0.05, 0.1]}' 2
out=$T/r.json
"${MPIRUN[@]}" -np 2 "$RCN" search "$T/job.json" --out "$out" --quiet >/dev/null ||
    bad "the good run failed"
sum_r=$(checksum "$out")
sum_j=$(checksum "$T/r.journal.jsonl")

# expect_fail NAME WANT_RC MESSAGE_REGEX JOB [ARGS...]: report untouched.
# Runs under mpirun -np $NP when NP is set (all ranks must exit, no hang),
# else as a single process (MPI singleton) to keep the test fast.
expect_fail() {
    local name=$1 want=$2 msg=$3 launch=()
    shift 3
    [ -n "${NP:-}" ] && launch=("${MPIRUN[@]}" -np "$NP")
    timeout 120 "${launch[@]}" "$RCN" search "$@" >"$T/o" 2>"$T/e"
    local rc=$?
    [ $rc = 124 ] && bad "$name: hung (killed by timeout)"
    [ $rc = "$want" ] || bad "$name: exit $rc, want $want"
    grep -Eq "$msg" "$T/e" || bad "$name: stderr lacks /$msg/: $(head -2 "$T/e")"
    [ "$(grep -c '^rcn search:' "$T/e")" -ge 1 ] || bad "$name: no 'rcn search:' message"
    [ "$(checksum "$out")" = "$sum_r" ] || bad "$name: the report changed"
    [ "$(checksum "$T/r.journal.jsonl")" = "$sum_j" ] || bad "$name: the journal changed"
    ls "$T" | grep -q '\.tmp\.' && bad "$name: a temporary file was left behind"
    echo "$name: exit $rc: $(grep '^rcn search:' "$T/e" | head -1)"
}

# a syntax error in the job
printf '{"name": "x",\n "epochs": 1,,\n}\n' >"$T/syntax.json"
expect_fail "syntax error" 1 "syntax.json.*(line 2|2:)" "$T/syntax.json" --out "$out"
# a bad value
sed 's/"seed": 3/"seed": -3/' "$T/job.json" >"$T/badseed.json"
NP=2 expect_fail "bad value" 1 "badseed.json.*seed" "$T/badseed.json" --out "$out"
# missing data
mkdir -p "$T/empty"
RCN_DATA_DIR=$T/empty NP=3 expect_fail "missing data" 1 "empty" "$T/job.json" --out "$out"
# damaged data: an images file cut short
mkdir -p "$T/cut"
cp "$T/data/"* "$T/cut/"
head -c 5000 "$T/data/train-images-idx3-ubyte" >"$T/cut/train-images-idx3-ubyte"
RCN_DATA_DIR=$T/cut expect_fail "truncated data" 1 "train-images.*(truncated|bytes)" "$T/job.json" --out "$out"
# train_limit beyond the data
sed 's/"train_limit": 400/"train_limit": 5000/' "$T/job.json" >"$T/limit.json"
expect_fail "train_limit > data" 1 "train_limit|5000" "$T/limit.json" --out "$out"
# journal of another job (another grid) at the same output
sed 's/\[0.05, 0.1\]/[0.05, 0.2]/' "$T/job.json" >"$T/other.json"
h1=$(jq -r .meta.job_hash "$out")
NP=2 expect_fail "journal of another job" 1 "another job.*$h1|$h1.*another job" "$T/other.json" --out "$out"
grep -q "r.journal.jsonl" "$T/e" || bad "the journal path is not named"
# unwritable output: a path under a regular file, and an output that is a directory
NP=2 expect_fail "output under a file" 1 "r.json" "$T/job.json" --out "$out/sub/x.json"
mkdir -p "$T/dir.json"
expect_fail "output is a directory" 1 "directory" "$T/job.json" --out "$T/dir.json"
if [ "$(id -u)" != 0 ]; then
    mkdir -p "$T/ro" && chmod 555 "$T/ro"
    expect_fail "read-only directory" 1 "ro/x.json" "$T/job.json" --out "$T/ro/x.json"
fi
# --resume without a journal
expect_fail "--resume without journal" 1 "resume" "$T/job.json" --out "$T/new.json" --resume
[ -e "$T/new.json" ] && bad "--resume without journal wrote a report"
# usage errors: exit 2
expect_fail "no job" 2 "expected one job file"
expect_fail "unknown option" 2 "unknown option" "$T/job.json" --frobnicate
expect_fail "bad --report-every" 2 "report-every" "$T/job.json" --report-every soon

# rcn status on files that are not rcn journals or reports
echo '{"hello": 1}' >"$T/x.json"
"$RCN" status "$T/x.json" 2>"$T/e" && bad "status accepted a non-report"
grep -q "not an rcn journal or report" "$T/e" || bad "status message: $(cat "$T/e")"
"$RCN" status "$T/data/train-labels-idx1-ubyte" 2>"$T/e" && bad "status accepted binary"
grep -q "not an rcn" "$T/e" || bad "status binary message: $(cat "$T/e")"
"$RCN" status "$T/nope.json" 2>"$T/e" && bad "status accepted a missing file"
grep -q "No such file" "$T/e" || bad "status missing-file message: $(cat "$T/e")"
"$RCN" status >/dev/null 2>&1
[ $? = 2 ] || bad "status without arguments: want exit 2"
finish
