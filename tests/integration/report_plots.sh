#!/usr/bin/env bash
# report_plots.sh - `rcn report --plots DIR` draws the figures with gnuplot:
# non-empty PNG and SVG files for every figure, the data (.dat, NaN where
# the report has null) and re-runnable scripts (.gp) beside them; with no
# gnuplot (RCN_GNUPLOT naming a missing program, or gnuplot not on PATH) a
# clear error and exit 1, the data and scripts still written.
set -uo pipefail
: "${RCN:=bin/rcn}" "${TMPDIR_TEST:=$(mktemp -d)}"
RCN=$(cd "$(dirname "$RCN")" && pwd)/$(basename "$RCN") # absolute: PATH is changed below
d=$TMPDIR_TEST
fail=0
bad() { echo "FAIL: $*"; fail=1; }

if ! command -v gnuplot >/dev/null 2>&1; then
    echo "gnuplot missing: installing gnuplot-nox"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null 2>&1 ||
        { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null; }
fi
command -v gnuplot >/dev/null 2>&1 || { echo "FAIL: gnuplot-nox could not be installed"; exit 1; }

# image NAME.EXT: exists, non-empty, and really is a PNG / an SVG
image() {
    local f=$1
    [ -s "$f" ] || { bad "$f missing or empty"; return; }
    case $f in
    *.png) [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || bad "$f is not a PNG" ;;
    *.svg) grep -q '<svg' "$f" || bad "$f is not an SVG" ;;
    esac
}

# the k-fold grid: 6 cells, Figure 20 per batch size, the heatmap
out=$d/grid
unset RCN_GNUPLOT
"$RCN" report --plots "$out" tests/report/grid.json >"$d/msg" 2>&1 || { bad "grid plots: $(cat "$d/msg")"; }
grep -q '9 figures of grid-small drawn into' "$d/msg" || bad "grid: message: $(cat "$d/msg")"
for n in cell_000 cell_001 cell_002 cell_003 cell_004 cell_005 lr_batch_size-32 lr_batch_size-64 heatmap; do
    image "$out/$n.png"; image "$out/$n.svg"
    [ -s "$out/$n.gp" ] || bad "$n.gp missing"
done
for n in cell_000 cell_005 lr_batch_size-32 heatmap; do [ -s "$out/$n.dat" ] || bad "$n.dat missing"; done
grep -q 'load "heatmap.gp"' "$out/plots.gp" || bad "plots.gp does not load heatmap.gp"
# titles and axis labels say what is plotted, with units
grep -q 'set ylabel "mean cross-entropy loss (per sample)"' "$out/cell_000.gp" || bad "loss label"
grep -q 'set ylabel "accuracy (%)"' "$out/cell_000.gp" || bad "accuracy label"
grep -q 'set xlabel "learning rate"' "$out/lr_batch_size-64.gp" || bad "lr label"
grep -q 'grid-small: learning curves of cell 1 (batch_size=32, lr=0.1)' "$out/cell_001.gp" || bad "cell title"
grep -q 'DIVERGED in 1 of 3 folds' "$out/cell_001.gp" || bad "diverged cell not said"
# null numbers: NaN in the data; diverged cells marked (status 1)
awk '$6 == 1 && $5 != "NaN" { exit 1 }' "$out/heatmap.dat" || bad "diverged heatmap cell has a number"
[ "$(awk '!/^#/ && $6 == 1' "$out/heatmap.dat" | wc -l)" = 2 ] || bad "heatmap: want 2 diverged cells"
[ "$(awk '!/^#/ && $5 == 1' "$out/lr_batch_size-32.dat" | wc -l)" = 2 ] || bad "Figure 20 data: want 2 diverged cells"
grep -q '^1 0.721 0.638 74.765 80.86 ' "$out/cell_004.dat" || bad "cell_004.dat: epoch 1 means"
# a script re-runs on its own, from its folder
rm -f "$out/cell_002.png" "$out/cell_002.svg"
(cd "$out" && gnuplot cell_002.gp) || bad "cell_002.gp does not re-run"
image "$out/cell_002.png"; image "$out/cell_002.svg"

# a sensitivity sweep ({"kind": "test"}, one axis): one curve per value
"$RCN" report --plots "$d/sens" tests/report/sens_lr.json >"$d/msg" 2>&1 || bad "sens plots: $(cat "$d/msg")"
image "$d/sens/sweep_lr.png"; image "$d/sens/sweep_lr.svg"; image "$d/sens/lr.png"
grep -q 'lr = 0.3 (diverged in epoch 2)' "$d/sens/sweep_lr.gp" || bad "sweep: diverged value not said"
# Table 1's run: one cell
"$RCN" report --plots "$d/test" tests/report/test.json >"$d/msg" 2>&1 || bad "test plots: $(cat "$d/msg")"
image "$d/test/cell_000.png"
# a running search's journal
"$RCN" report --plots "$d/live" tests/report/running.journal.jsonl >"$d/msg" 2>&1 || bad "journal plots: $(cat "$d/msg")"
image "$d/live/heatmap.png"; image "$d/live/cell_003.png"
[ -e "$d/live/cell_004.png" ] && bad "a cell with no fold done got a figure"

# no gnuplot: RCN_GNUPLOT names a missing program
RCN_GNUPLOT=/nonexistent/gnuplot "$RCN" report --plots "$d/nognu" tests/report/grid.json >"$d/out" 2>"$d/err"
rc=$?
[ "$rc" = 1 ] || bad "missing RCN_GNUPLOT: exit $rc"
grep -q '^rcn report: gnuplot not found (RCN_GNUPLOT=/nonexistent/gnuplot' "$d/err" || bad "message: $(cat "$d/err")"
grep -q 'gnuplot-nox' "$d/err" || bad "message does not say what to install"
[ -s "$d/nognu/heatmap.dat" ] && [ -s "$d/nognu/plots.gp" ] || bad "data and scripts not written without gnuplot"
[ -e "$d/nognu/heatmap.png" ] && bad "a PNG without gnuplot?"
echo "ok: $(cat "$d/err")"
# no gnuplot on PATH
PATH=/nonexistent "$RCN" report --plots "$d/nopath" tests/report/grid.json >"$d/out" 2>"$d/err"
rc=$?
[ "$rc" = 1 ] || bad "gnuplot not on PATH: exit $rc"
grep -q "gnuplot not found ('gnuplot' is not on PATH)" "$d/err" || bad "message: $(cat "$d/err")"
# a gnuplot that fails: its exit status and log are reported
RCN_GNUPLOT=/bin/false "$RCN" report --plots "$d/false" tests/report/grid.json >"$d/out" 2>"$d/err"
rc=$?
[ "$rc" = 1 ] && grep -q 'failed' "$d/err" || bad "failing gnuplot: exit $rc: $(cat "$d/err")"
# a plot folder that cannot be created
: >"$d/afile"
"$RCN" report --plots "$d/afile/sub" tests/report/grid.json >"$d/out" 2>"$d/err"
rc=$?
[ "$rc" = 1 ] && grep -q 'cannot create' "$d/err" || bad "bad plot folder: exit $rc: $(cat "$d/err")"
# a log-scale loss axis (y, or the heatmap's colour box) spanning a decade or
# two carries 1-2-5 labels, not gnuplot's lone powers of ten: the committed
# Experiment 1 (0.039..1.2) and table2-mini (0.24..2.7) reports
"$RCN" report --plots "$d/t1" results/table1.json >"$d/msg" 2>&1 || bad "table1 plots: $(cat "$d/msg")"
grep -q 'set ytics ("0.05" 0.05, "0.1" 0.1, "0.2" 0.2, "0.5" 0.5, "1" 1)' "$d/t1/cell_000.gp" || bad "table1 loss axis tics: $(grep ytics "$d/t1/cell_000.gp")"
"$RCN" report --plots "$d/t2" results/table2-mini.json >"$d/msg" 2>&1 || bad "table2-mini plots: $(cat "$d/msg")"
for f in "$d"/t1/*.gp "$d"/t2/*.gp; do
    for ax in y cb; do
        grep -q "^  set logscale $ax\$" "$f" || continue
        n=$(grep "^  set ${ax}tics (" "$f" | head -1 | grep -o '" [0-9.e+-]*' | wc -l)
        [ "$n" -ge 2 ] || bad "$(basename "$f"): log $ax axis with $n labelled tics"
    done
done
[ "$fail" = 0 ] && echo "all report plots as expected"
exit $fail
