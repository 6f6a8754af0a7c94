#!/usr/bin/env bash
# report_csv.sh - `rcn report --csv` read by pandas (Debian's python3-pandas,
# installed here when missing): results/table2-mini.json gives 40 rows in
# scikit-learn's cv_results_ columns whose numbers are the JSON's exactly
# (a score is the negated loss); --csv --folds one row per fold and epoch.
#
#   RCN=bin/rcn TMPDIR_TEST=$(mktemp -d) bash tests/integration/report_csv.sh
set -euo pipefail
RCN=${RCN:-bin/rcn}
T=${TMPDIR_TEST:-$(mktemp -d)}
PY=/usr/bin/python3 # Debian's python, where python3-pandas lives
REPORT=results/table2-mini.json
fail() { echo "FAIL: $*"; exit 1; }

if ! $PY -c "import pandas" 2>/dev/null; then
    [ "$(id -u)" = 0 ] || fail "python3-pandas is missing (as root: apt-get install python3-pandas)"
    echo "pandas: installing Debian's python3-pandas (apt-get, --no-install-recommends)"
    export DEBIAN_FRONTEND=noninteractive
    inst() { apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
                 python3-pandas >"$T/apt.log" 2>&1; }
    if ! inst; then
        echo "pandas: apt-get update, then installing again"
        apt-get -o DPkg::Lock::Timeout=600 update >>"$T/apt.log" 2>&1 || true
        inst || { tail -20 "$T/apt.log"; fail "cannot install python3-pandas"; }
    fi
fi

"$RCN" report --csv "$REPORT" >"$T/cells.csv"
"$RCN" report --csv --folds "$REPORT" >"$T/folds.csv"
$PY - "$REPORT" "$T/cells.csv" "$T/folds.csv" <<'EOF'
import json, sys
import pandas as pd

report = json.load(open(sys.argv[1]))
df = pd.read_csv(sys.argv[2])
k = report["job"]["validation"]["folds"]
assert len(df) == 40, "%d rows, expected 40" % len(df)
want = (["mean_fit_time", "std_fit_time", "params", "mean_test_score", "std_test_score",
         "rank_test_score", "mean_train_score", "std_train_score"] +
        ["param_" + a for a in ("batch_size", "lr", "momentum", "epochs")] +
        ["split%d_test_score" % i for i in range(k)] +
        ["split%d_train_score" % i for i in range(k)])
missing = [c for c in want if c not in df.columns]
assert not missing, "columns missing: %s" % missing

by_cell = df.set_index("cell")
for c in report["cells"]:
    row = by_cell.loc[c["index"]]
    assert row["params"] == c["key"], (row["params"], c["key"])
    assert row["param_batch_size"] == c["params"]["batch_size"]
    assert row["param_lr"] == c["params"]["lr"]
    assert row["mean_test_score"] == -c["mean_val_loss"], (c["index"], row["mean_test_score"])
    assert row["mean_val_loss"] == c["mean_val_loss"]
    assert row["std_test_score"] == c["std_val_loss"]
    assert row["mean_train_score"] == -c["mean_train_loss"]
    assert row["mean_fit_time"] == c["mean_fit_time"]
    assert row["rank_test_score"] == c["rank_val_loss"]
    for i in range(k):
        assert row["split%d_test_score" % i] == -c["split%d_val_loss" % i], (c["index"], i)
best = df.sort_values("rank_test_score").iloc[0]
assert best["cell"] == report["best"]["cell"], best["cell"]
assert (df["mean_test_score"].idxmax() == df["rank_test_score"].idxmin())

folds = pd.read_csv(sys.argv[3])
n_epochs = sum(len(f["epochs"]) for f in report["folds"])
assert len(folds) == n_epochs, "%d fold rows, expected %d" % (len(folds), n_epochs)
last = folds.sort_values("epoch").groupby(["cell", "fold"]).last()
for f in report["folds"]:
    assert last.loc[(f["cell"], f["fold"]), "val_loss"] == f["val_loss"], (f["cell"], f["fold"])
print("pandas %s: %d cells x %d columns, %d fold-epoch rows; numbers as in the JSON"
      % (pd.__version__, len(df), len(df.columns), len(folds)))
EOF
echo "report_csv: OK"
