# tests/cluster/common.sh - rcn functions for the cluster tests (sourced from
# the repo root; sources tests/slurm/common.sh and tests/cluster/lib.sh): the
# test job, sbatch on N nodes, and what the ranks talk over.

# shellcheck source=tests/slurm/common.sh
. tests/slurm/common.sh
# shellcheck source=tests/cluster/lib.sh
. tests/cluster/lib.sh

# The cluster job: 24 fold jobs of ~0.25 s, long enough to act on mid-run.
cluster_job() {
    local j="$SLT/jobs/cluster.json"
    [ -f "$j" ] || cat >"$j" <<JOB
{"name": "cluster", "data": {"dir": "$SLT/data"}, "train_limit": 600,
 "model": {"stem": {"kernel": 3, "stride": 1, "channels": 4, "maxpool": false},
           "stages": [{"channels": 4, "blocks": 1}, {"channels": 8, "blocks": 1}], "dropout": 0.5},
 "epochs": 4, "momentum": 0.5, "seed": 5,
 "grid": {"batch_size": [32, 64], "lr": [0.02, 0.05, 0.1]},
 "validation": {"kind": "kfold", "folds": 4}, "output": "$SLT/cluster-default.json"}
JOB
    echo "$j"
}

# submit_nodes N SCRIPT OUTPREFIX [sbatch options...] -- [script args...]:
# one rank per node on N nodes (options after common.sh's override them).
submit_nodes() {
    local n="$1" script="$2" prefix="$3"; shift 3
    submit "$script" "$prefix" --nodes="$n" --ntasks="$n" --ntasks-per-node=1 "$@"
}

# sample_tcp OUT PID: until PID ends, appends every node's TCP connections
# ("nodeK <ss -Htnp line>") to OUT every 0.2 s.
sample_tcp() {
    local out="$1" pid="$2" k
    while kill -0 "$pid" 2>/dev/null; do
        for k in $(seq 1 "$CLUSTER_NODES"); do
            nsenter --net="/run/netns/$(cluster_ns "$k")" ss -Htnp 2>/dev/null | sed "s/^/node$k /"
        done >>"$out"
        sleep 0.2
    done
}

# rank_links SAMPLES: the distinct "node local -> peer" established TCP
# connections of rcn processes between two different node addresses.
rank_links() {
    awk -v pre="$CLUSTER_PREFIX." '$2 == "ESTAB" && /users:\(\("rcn"/ {
            l = $5; p = $6; sub(/:[0-9]+$/, "", l); sub(/:[0-9]+$/, "", p)
            if (index(l, pre) == 1 && index(p, pre) == 1 && l != p) print $1, l, "->", p }' "$1" | sort -u
}

# check_hosts REPORT N: meta.hosts names N distinct nodes.
check_hosts() {
    local h
    h=$(jq -r '.meta.hosts | unique | join(",")' "$1") || return 1
    note "hosts of $(basename "$1"): $h"
    [ "$(jq '.meta.hosts | unique | length' "$1")" = "$2" ]
}

# check_spread REPORT SAMPLES: REPORT complete, from ranks on the three
# nodes, which talked TCP between different nodes' addresses (SAMPLES from
# sample_tcp).
check_spread() {
    local links
    report_complete "$1" || fail "report not complete"
    check_hosts "$1" 3 || fail "meta.hosts is not three nodes"
    links=$(rank_links "$2")
    [ "$(echo "$links" | awk 'NF {print $1}' | sort -u | wc -l)" -ge 2 ] ||
        fail "no TCP between rcn ranks on different nodes; samples in $2"
    note "tcp between ranks: $(echo "$links" | head -n 4 | tr '\n' ';')"
}
