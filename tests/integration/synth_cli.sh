#!/usr/bin/env bash
# synth_cli.sh - `rcn synth` writes the four IDX files with the right sizes
# (raw and --gz), deterministically from --seed; bad options exit 2 with a
# message, runtime failures exit 1.
set -u
: "${RCN:?RCN must point at bin/rcn}" "${TMPDIR_TEST:?}"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

size_is() { # FILE BYTES
    local got
    got=$(stat -c %s "$1" 2>/dev/null || echo missing)
    [ "$got" = "$2" ] || bad "$1: size $got, want $2"
}

# Defaults: 2000 training, 500 test items.
d=$TMPDIR_TEST/d
"$RCN" synth --out "$d" || bad "synth --out exited $?"
size_is "$d/train-images-idx3-ubyte" $((16 + 2000 * 784))
size_is "$d/train-labels-idx1-ubyte" $((8 + 2000))
size_is "$d/t10k-images-idx3-ubyte" $((16 + 500 * 784))
size_is "$d/t10k-labels-idx1-ubyte" $((8 + 500))
n=$(ls "$d" | wc -l)
[ "$n" -eq 4 ] || bad "$d holds $n entries, want 4: $(ls "$d")"
# IDX magic numbers.
[ "$(head -c 4 "$d/train-images-idx3-ubyte" | od -An -tx1 | tr -d ' \n')" = 00000803 ] ||
    bad "images magic"
[ "$(head -c 4 "$d/t10k-labels-idx1-ubyte" | od -An -tx1 | tr -d ' \n')" = 00000801 ] ||
    bad "labels magic"

# Deterministic: same seed, same bytes; other seed, other bytes; nested dirs created.
"$RCN" synth --out "$TMPDIR_TEST/a/b" --train 50 --test 20 --seed 7 >/dev/null || bad "seed 7 run 1"
"$RCN" synth --out "$TMPDIR_TEST/c" --train 50 --test 20 --seed 7 >/dev/null || bad "seed 7 run 2"
"$RCN" synth --out "$TMPDIR_TEST/e" --train 50 --test 20 --seed 8 >/dev/null || bad "seed 8"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte; do
    cmp -s "$TMPDIR_TEST/a/b/$f" "$TMPDIR_TEST/c/$f" || bad "$f differs for the same seed"
done
cmp -s "$TMPDIR_TEST/a/b/train-images-idx3-ubyte" "$TMPDIR_TEST/e/train-images-idx3-ubyte" &&
    bad "seeds 7 and 8 give identical images"
size_is "$TMPDIR_TEST/c/train-images-idx3-ubyte" $((16 + 50 * 784))
size_is "$TMPDIR_TEST/c/t10k-labels-idx1-ubyte" $((8 + 20))

# --gz: gzip files whose content is the raw files of the same seed.
"$RCN" synth --out "$TMPDIR_TEST/g" --train 50 --test 20 --seed 7 --gz >/dev/null || bad "--gz"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [ -f "$TMPDIR_TEST/g/$f.gz" ] || { bad "no $f.gz"; continue; }
    gzip -dc "$TMPDIR_TEST/g/$f.gz" | cmp -s - "$TMPDIR_TEST/c/$f" || bad "$f.gz content differs"
done
[ "$(ls "$TMPDIR_TEST/g" | wc -l)" -eq 4 ] || bad "--gz dir: $(ls "$TMPDIR_TEST/g")"

# --help: exit 0, usage on stdout.
"$RCN" synth --help >"$TMPDIR_TEST/help" 2>&1 || bad "--help exited $?"
grep -q "usage: rcn synth" "$TMPDIR_TEST/help" || bad "--help prints no usage"

# Usage errors: exit 2 and a message naming the problem.
usage_err() { # WANT-IN-MESSAGE ARGS...
    local want=$1; shift
    "$RCN" synth "$@" >"$TMPDIR_TEST/out" 2>"$TMPDIR_TEST/err"
    local rc=$?
    [ $rc -eq 2 ] || bad "synth $* exited $rc, want 2"
    grep -q -- "$want" "$TMPDIR_TEST/err" || bad "synth $*: stderr lacks '$want': $(cat "$TMPDIR_TEST/err")"
}
usage_err "--out DIR is required"
usage_err "'abc' is not an item count" --out "$TMPDIR_TEST/x" --train abc
usage_err "'0' is not an item count" --out "$TMPDIR_TEST/x" --train 0
usage_err "'-5' is not an item count" --out "$TMPDIR_TEST/x" --test -5
usage_err "'12x' is not an item count" --out "$TMPDIR_TEST/x" --test 12x
usage_err "'999999999999' is not an item count" --out "$TMPDIR_TEST/x" --train 999999999999
usage_err "--seed: 'x1' is not an integer" --out "$TMPDIR_TEST/x" --seed x1
usage_err "unknown option '--bogus'" --out "$TMPDIR_TEST/x" --bogus
usage_err "needs a value" --out
usage_err "unexpected argument 'extra'" --out "$TMPDIR_TEST/x" extra
[ -e "$TMPDIR_TEST/x" ] && bad "a usage error still created $TMPDIR_TEST/x"

# Runtime error: exit 1, message names the path.
: >"$TMPDIR_TEST/plainfile"
"$RCN" synth --out "$TMPDIR_TEST/plainfile/sub" >/dev/null 2>"$TMPDIR_TEST/err"
rc=$?
[ $rc -eq 1 ] || bad "--out under a regular file exited $rc, want 1"
grep -q "plainfile" "$TMPDIR_TEST/err" || bad "runtime error does not name the path: $(cat "$TMPDIR_TEST/err")"

exit $fail
