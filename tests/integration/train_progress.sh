#!/usr/bin/env bash
# train_progress.sh - `rcn train` on a terminal (a pseudo-terminal made by
# script(1)) shows a progress line within the epoch ("\r", images/s, ETA)
# and erases it before each epoch's line; not on a terminal it prints
# exactly the epoch lines, the same as on the terminal once the progress
# lines are taken out, and stderr stays empty.
set -uo pipefail
: "${RCN:=bin/rcn}" "${TMPDIR_TEST:=$(mktemp -d)}"
T=$TMPDIR_TEST
fail=0
bad() { echo "FAIL: $*"; fail=1; }
command -v script >/dev/null || { echo "FAIL: script(1) is needed (Debian's bsdutils)"; exit 1; }

"$RCN" synth --out "$T/data" --train 1500 --test 500 --seed 7 >/dev/null || { echo "FAIL: synth"; exit 1; }
args=(train --data "$T/data" --batch-size 32 --lr 0.05 --epochs 2 --seed 3)

"$RCN" "${args[@]}" >"$T/plain.out" 2>"$T/plain.err" || bad "train not on a terminal: exit $?"
[ -s "$T/plain.err" ] && bad "stderr not empty off a terminal: $(head -c 300 "$T/plain.err")"
grep -q $'\r' "$T/plain.out" && bad "a progress line off a terminal"
[ "$(grep -c '^ *[12]  ' "$T/plain.out")" = 2 ] || bad "not 2 epoch lines: $(cat "$T/plain.out")"

script -qec "$RCN ${args[*]}" /dev/null >"$T/tty.out" 2>&1 || bad "train on a terminal: exit $?"
grep -aq $'\r\033\\[Kepoch 1/2: [0-9]*/1500 images ([0-9]*%), [0-9]* img/s, ETA ' "$T/tty.out" ||
    bad "no progress line on the terminal: $(head -c 400 "$T/tty.out" | od -c | head -5)"
# the epoch lines as they read on the terminal: progress erased, columns as off it
sed 's/.*\x1b\[K//' "$T/tty.out" | tr -d '\r' | grep '^ *[12]  ' | cut -c1-51 >"$T/tty.epochs"
grep '^ *[12]  ' "$T/plain.out" | cut -c1-51 >"$T/plain.epochs"
cmp -s "$T/tty.epochs" "$T/plain.epochs" ||
    bad "epoch lines differ on a terminal: $(diff "$T/plain.epochs" "$T/tty.epochs" | head -5)"
"$RCN" "${args[@]}" --quiet </dev/null >"$T/quiet.out" 2>&1
[ -s "$T/quiet.out" ] && bad "--quiet printed: $(head -c 200 "$T/quiet.out")"

[ $fail = 0 ] && echo "PASS train_progress"
exit $fail
