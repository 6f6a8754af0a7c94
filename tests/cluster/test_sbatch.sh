# test_sbatch.sh - slurm/quick.sbatch on 3 nodes (srun --mpi=pmix, one rank
# per node): the ranks run on three hosts (meta.hosts) and talk TCP between
# the nodes' addresses; meanwhile a second search of the same output started
# on another node (its own allocation) is refused at once, naming the holder
# (pid, host); the first finishes with every fold journaled once and a
# report equal fold for fold to a single-node run.
set -u
. tests/cluster/common.sh

test_job "$(cluster_job)" run

# node3's allocation for the second search, made beforehand so that its
# launch is quick (the first run takes seconds).
alloc=$(timeout 60 salloc --no-shell -w node3 -N1 -n1 --time=5 2>&1 | sed -n 's/.*Granted job allocation \([0-9]*\).*/\1/p')
[ -n "$alloc" ] || fail "salloc on node3"

t0=$SECONDS
id=$(submit_nodes 3 slurm/quick.sbatch "$p" -- "$job" "$rep")
[ -n "$id" ] || fail "sbatch"
for i in $(seq 1 600); do # the journal is created under the lock
    [ -e "$jnl" ] && break
    sleep 0.1
done
[ -e "$jnl" ] || { show_job "$id" "$p"; fail "no journal"; }
# The holder, as the lock file names it: rank 0, a process of node1.
holder=$(sed -n 's/^pid \([0-9]*\) on host \([^ ]*\) .*/\1 \2/p' "$jnl.lock")
[ -n "$holder" ] || fail "no holder in $jnl.lock: $(cat "$jnl.lock")"
set -- $holder
[ "$2" = node1 ] || fail "holder on $2, want node1 (rank 0's node)"
[ "$(stat -L -c %i "/proc/$1/ns/net" 2>/dev/null)" = "$(stat -L -c %i "/run/netns/$(cluster_ns 1)")" ] &&
    [ "$(cat "/proc/$1/comm")" = rcn ] || fail "holder pid $1 is not rcn on node1"
: >"$TEST_DIR/tcp"
( while [ "$(job_field "$id" JobState)" = RUNNING ]; do sleep 0.2; done ) &
watcher=$!
sample_tcp "$TEST_DIR/tcp" "$watcher" &
sampler=$!

# The double run: from node3, in an allocation of its own.
ms() { date +%s%3N; }
t1=$(ms)
timeout 60 srun --jobid="$alloc" --mpi=pmix -N1 -n1 bash -c 't=$(date +%s%3N); "$@"; rc=$?
    echo "rcn: exit $rc after $(( $(date +%s%3N) - t )) ms" >&2; exit $rc' _ \
    "$RCN" search "$job" --out "$rep" >"$TEST_DIR/second.out" 2>"$TEST_DIR/second.err"
rc=$? took=$(( $(ms) - t1 ))
rcn_ms=$(sed -n 's/^rcn: exit [0-9]* after \([0-9]*\) ms$/\1/p' "$TEST_DIR/second.err")
scancel "$alloc"
note "measured: second search from node3: exit $rc after ${rcn_ms:-?} ms ($took ms with srun's launch)"
[ -n "$rcn_ms" ] && [ "$rcn_ms" -lt 3000 ] || fail "the second search did not give up at once"
kill -0 "$1" 2>/dev/null || fail "the first run ended before the second gave up"
[ $rc -ne 0 ] || fail "second run: exit 0"
[ ! -s "$TEST_DIR/second.out" ] || fail "the second run printed a summary"
grep -qF "$jnl is in use by pid $1 on host $2 since " "$TEST_DIR/second.err" ||
    fail "second run's error does not name pid $1 on host $2: $(cat "$TEST_DIR/second.err")"
[ ! -e "$rep" ] || [ "$(jq -r .meta.status "$rep")" != interrupted ] || fail "the second run wrote a report"
note "second search refused: $(grep -o 'in use by .*' "$TEST_DIR/second.err")"

st=$(wait_job "$id" "$TERMINAL_STATES" 120)
[ "$st" = COMPLETED ] || { show_job "$id" "$p"; fail "job $id ended $st"; }
note "measured: sbatch --nodes=3 quick.sbatch (cluster job, $total folds): COMPLETED in $((SECONDS - t0))s"
wait "$sampler" "$watcher" 2>/dev/null
grep -q "start: srun, 3 ranks on node\[1-3\]" "$p.out" || { show_job "$id" "$p"; fail "not srun, 3 ranks on node[1-3]"; }
check_spread "$rep" "$TEST_DIR/tcp"
journal_no_duplicates "$jnl" || fail "journal"
[ "$(journal_count "$jnl")" -eq "$total" ] || fail "journal has $(journal_count "$jnl") folds, want $total"
note "journal: $total folds, each once; the second search added none"
reports_equal "$rep" "$SLT/ref/cluster.json" || fail "3-node report differs from the single-node one"
