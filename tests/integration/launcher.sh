#!/usr/bin/env bash
# launcher.sh - the README's workstation command, scripts/mpirun.sh, runs a
# search as root (adding Open MPI's two root variables itself) and as an
# ordinary user (user nobody, through setpriv, without them), with the same
# per-fold results; during the run no rank listens on any socket or talks
# TCP to anything but loopback (shared-memory transport only), and mpirun's
# own control channel listens on loopback.
. "$(dirname "$0")/search_common.bash"
make_data
chmod 755 "$T" "$T/data"
chmod 644 "$T"/data/*
cp scripts/mpirun.sh "$T/mpirun.sh" && chmod 755 "$T/mpirun.sh"
# long enough for the sampler below to see the ranks running a few times
# (RCN_TEST_LAUNCHER_EPOCHS: fewer under the sanitizers, where folds run slower)
EPOCHS=${RCN_TEST_LAUNCHER_EPOCHS:-24} write_job "$T/job.json" '{"lr": [0.01, 0.05, 0.1]}' 3
chmod 644 "$T/job.json"

if ! command -v ss >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "ss: installing Debian's iproute2 (apt-get)"
    apt-get install -y -qq --no-install-recommends iproute2 >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends iproute2 >/dev/null 2>&1; }
fi
command -v ss >/dev/null || { echo "FAIL: ss (iproute2) is needed"; exit 1; }

# Run as root, with the variables the other tests export removed: the
# launcher must add what Open MPI needs. Sample the sockets meanwhile.
env -u OMPI_ALLOW_RUN_AS_ROOT -u OMPI_ALLOW_RUN_AS_ROOT_CONFIRM -u OMPI_MCA_rmaps_base_oversubscribe \
    timeout 120 "$T/mpirun.sh" -np 2 "$RCN" search "$T/job.json" --out "$T/root.json" --quiet \
    >"$T/root.out" 2>&1 &
pid=$!
# our_ranks: the pids of this run's ranks (rcn processes below $pid), as
# ss prints them ("pid=N,"): other searches on the machine are not ours
our_ranks() {
    local p q
    for p in $(pgrep -x rcn); do
        q=$p
        while [ "$q" -gt 1 ] && [ "$q" != "$pid" ]; do
            q=$(awk '{ print $4 }' "/proc/$q/stat" 2>/dev/null) || break
        done
        [ "$q" = "$pid" ] && printf 'pid=%s,\n' "$p"
    done
}
: >"$T/sockets"
seen=0
while kill -0 $pid 2>/dev/null; do
    mine=$(our_ranks)
    if [ -n "$mine" ]; then
        seen=$((seen + 1))
        { echo "--- listen"; ss -H -ltunp | grep -F "$mine" | grep -v 'users:(("mpirun"';
          ss -H -ltunp | grep 'users:(("mpirun"';
          echo "--- tcp"; ss -H -tnp | grep -F "$mine"; ss -H -tnp | grep 'users:(("mpirun"'; } \
            >>"$T/sockets" 2>/dev/null
    fi
    sleep 0.05
done
wait $pid
rc=$?
[ $rc = 0 ] || { bad "as root: exit $rc"; cat "$T/root.out"; }
[ "$(jq -r .meta.status "$T/root.json" 2>/dev/null)" = complete ] || bad "as root: report not complete"
[ "$(jq '.meta.ranks' "$T/root.json" 2>/dev/null)" = 2 ] || bad "as root: not 2 ranks"
[ "$seen" -ge 3 ] || bad "the ranks were seen running only $seen times: sockets not checked"
sed -n '/^--- listen/,/^--- tcp/p' "$T/sockets" | grep 'users:(("rcn"' | sort -u >"$T/rank_listen"
[ -s "$T/rank_listen" ] && bad "a rank listens on a socket: $(head -3 "$T/rank_listen")"
# established TCP connections of ranks: loopback only (no TCP transport)
awk '/^--- tcp/ { t = 1; next } /^---/ { t = 0 } t && /users:\(\("rcn"/ { print $4, $5 }' "$T/sockets" |
    grep -v -E '^(127\.[0-9.]+|\[::1\]|\[::ffff:127\.[0-9.]+\]):[0-9]+ (127\.[0-9.]+|\[::1\]|\[::ffff:127\.[0-9.]+\]):[0-9]+$' |
    sort -u >"$T/remote"
[ -s "$T/remote" ] && bad "a rank has TCP connections off loopback: $(head -3 "$T/remote")"
grep -q '127\.0\.0\.1:[0-9]* .*users:(("mpirun"' "$T/sockets" || bad "mpirun's control channel not on loopback"
echo "listening during the run: $(sed -n '/^--- listen/,/^--- tcp/p' "$T/sockets" | grep -o -E '[^ ]+:[0-9]+ +[^ ]+ +users:\(\("[a-z]+' |
    awk '{ sub(/:[0-9]+$/, "", $1); print $3 " on " $1 }' | sed 's/users:(("//' | sort -u | tr '\n' ';')"

# Run as an ordinary user: nobody, in a folder it owns, without the root
# variables.
if [ "$(id -u)" = 0 ]; then
    as_user=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
    mkdir -p "$T/user" && chown nobody "$T/user"
else
    as_user=(env)
    mkdir -p "$T/user"
fi
env -u OMPI_ALLOW_RUN_AS_ROOT -u OMPI_ALLOW_RUN_AS_ROOT_CONFIRM -u OMPI_MCA_rmaps_base_oversubscribe \
    HOME="$T/user" TMPDIR="$T/user" timeout 120 "${as_user[@]}" "$T/mpirun.sh" -np 2 "$RCN" search \
    "$T/job.json" --out "$T/user/user.json" --quiet >"$T/user.out" 2>&1
rc=$?
[ $rc = 0 ] || { bad "as $("${as_user[@]}" id -un): exit $rc"; cat "$T/user.out"; }
[ "$(jq -r .meta.status "$T/user/user.json" 2>/dev/null)" = complete ] || bad "as a user: report not complete"
# the launcher gives the ranks the root variables only when run as root,
# and single-threaded BLAS always
clean=(env -u OMPI_ALLOW_RUN_AS_ROOT -u OMPI_ALLOW_RUN_AS_ROOT_CONFIRM HOME="$T/user" TMPDIR="$T/user")
"${clean[@]}" "${as_user[@]}" "$T/mpirun.sh" -np 1 env >"$T/user.env" 2>&1 || bad "as a user: mpirun.sh env failed"
grep -q '^OMPI_ALLOW_RUN_AS_ROOT' "$T/user.env" && bad "as a user: the ranks got the root variables"
grep -q '^OPENBLAS_NUM_THREADS=1$' "$T/user.env" || bad "as a user: OPENBLAS_NUM_THREADS not 1"
if [ "$(id -u)" = 0 ]; then
    "${clean[@]}" "$T/mpirun.sh" -np 1 env >"$T/root.env" 2>&1 || bad "as root: mpirun.sh env failed"
    grep -q '^OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1$' "$T/root.env" || bad "as root: no root variables"
fi
# same per-fold numbers either way
if [ -s "$T/root.json" ] && [ -s "$T/user/user.json" ]; then
    folds "$T/root.json" >"$T/root.folds"
    folds "$T/user/user.json" >"$T/user.folds"
    [ "$(wc -l <"$T/root.folds")" = 9 ] || bad "want 9 folds, got $(wc -l <"$T/root.folds")"
    cmp -s "$T/root.folds" "$T/user.folds" || bad "root and user runs differ fold for fold"
fi
finish
