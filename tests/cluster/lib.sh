# tests/cluster/lib.sh - a private multi-node Slurm cluster on one machine for
# the tests (sourced after tests/slurm/lib.sh, whose munge, config, job and
# stop functions it uses). Each node is a network + UTS namespace with its own
# hostname (node1, node2, ...) and address, joined to the others by veth
# pairs on a bridge; every node sees the host's filesystem (as nodes share
# NFS) but has its own Slurm TmpFS and /dev/shm (private mount namespace).
# slurmctld runs in the host's namespace on the bridge's address.
#
#   cluster_start DIR N     network, munged, slurmctld, N slurmds; waits until
#                           every node is idle; exports SLURM_CONF, CLUSTER_DIR,
#                           CLUSTER_NET (the subnet, CIDR), CLUSTER_NODES, and
#                           CLUSTER_AGENT (an rsh agent for mpirun: AGENT HOST CMD
#                           runs CMD on that node)
#   cluster_stop            jobs, daemons, every process left in a node,
#                           namespaces, links (safe to call twice)
#   cluster_lose K          node K lost: its link down, then every process in
#                           it killed (-9), as a power cut would
#   cluster_restore K       link up, slurmd again; waits until the node is idle
#   cluster_addr K          node K's address
#   cluster_ns K            node K's network namespace (under /run/netns)
#
# Names (bridge, namespaces, links) and the subnet are unique per run, so
# several runs can share a machine. Needs root, iproute2, util-linux.

CLUSTER_ID=${CLUSTER_ID:-rc$$}
export CLUSTER_ID

_cl_br() { echo "${CLUSTER_ID}b"; }
cluster_ns() { echo "${CLUSTER_ID}n$1"; }
_cl_vh() { echo "${CLUSTER_ID}h$1"; }
cluster_addr() { echo "${CLUSTER_PREFIX}.$((10 + $1))"; }

# A 10.x.y.0/24 that no route of this machine covers yet.
_cl_pick_subnet() {
    local x y tries=0 routes
    routes=$(ip -4 route show table all 2>/dev/null)
    while [ $tries -lt 100 ]; do
        x=$(( 100 + RANDOM % 150 )); y=$(( RANDOM % 250 ))
        if ! grep -q "^10\.$x\.$y\.\|^10\.$x\.0\.0/16\|^10\.0\.0\.0/8" <<<"$routes"; then
            echo "10.$x.$y"; return 0
        fi
        tries=$((tries + 1))
    done
    return 1
}

_cl_net_up() {
    local br k ns vh
    br=$(_cl_br)
    ip link add "$br" type bridge || return 1
    ip addr add "$CLUSTER_PREFIX.1/24" dev "$br" && ip link set "$br" up || return 1
    for k in $(seq 1 "$CLUSTER_NODES"); do
        ns=$(cluster_ns "$k"); vh=$(_cl_vh "$k")
        ip netns add "$ns" &&
            ip link add "$vh" type veth peer name "${vh}x" &&
            ip link set "$vh" master "$br" up &&
            ip link set "${vh}x" netns "$ns" &&
            ip -n "$ns" link set "${vh}x" name eth0 &&
            ip -n "$ns" addr add "$(cluster_addr "$k")/24" dev eth0 &&
            ip -n "$ns" link set eth0 up &&
            ip -n "$ns" link set lo up || return 1
        _cl_fast_arp "$ns" eth0
    done
    _cl_fast_arp "" "$br"
}

# _cl_fast_arp NS IF: a neighbour that stops answering (a lost node) is given
# up on within ~5 s instead of up to ~50 s (Linux defaults: reachable for
# 15-45 s, 5 s delay, 3 probes 1 s apart), so that Slurm's connects to it fail
# with "no route to host" rather than wait out TCP's retries.
_cl_fast_arp() {
    local in=()
    [ -z "$1" ] || in=(nsenter --net="/run/netns/$1")
    "${in[@]}" sysctl -qw net.ipv4.neigh."$2".base_reachable_time_ms=2000 \
        net.ipv4.neigh."$2".delay_first_probe_time=1 \
        net.ipv4.neigh."$2".ucast_solicit=2 net.ipv4.neigh."$2".mcast_solicit=2 \
        net.ipv4.neigh."$2".retrans_time_ms=500 >/dev/null 2>&1 || true
}

# _cl_enter K CMD: CMD (a shell command line) as node K: its network, its
# hostname, a private mount namespace with its own TmpFS and /dev/shm.
_cl_enter() {
    local k="$1"; shift
    nsenter --net="/run/netns/$(cluster_ns "$k")" unshare --uts --mount --propagation private \
        sh -c "hostname node$k && mount --bind '$CLUSTER_DIR/tmp/node$k' '$CLUSTER_DIR/tmp' &&
               mount -t tmpfs -o size=256m tmpfs /dev/shm && exec $*"
}

_cl_slurmd_start() {
    local k="$1"
    mkdir -p "$CLUSTER_DIR/tmp/node$k" "$CLUSTER_DIR/spool/node$k"
    _cl_enter "$k" "slurmd -D -f '$SLURM_CONF'" >>"$CLUSTER_DIR/log/slurmd.node$k.out" 2>&1 &
}

# _cl_wait_idle SECS NODE...: every NODE idle within SECS.
_cl_wait_idle() {
    local secs="$1" i st; shift
    for i in $(seq 1 $((secs * 10))); do
        st=$(sinfo -h -N -n "$(IFS=,; echo "$*")" -o '%t' 2>/dev/null | sort -u | tr '\n' ' ')
        [ "$st" = "idle " ] && return 0
        sleep 0.1
    done
    slurm_log "nodes $* not idle after ${secs}s: $st"
    return 1
}

_cl_write_conf() {
    local d="$CLUSTER_DIR" ctl_port
    ctl_port=$(_free_port) || return 1
    cat >"$SLURM_CONF" <<CONF
# Written by tests/cluster/lib.sh: a private $CLUSTER_NODES-node cluster on one machine.
ClusterName=rcncluster
SlurmctldHost=$(hostname -s 2>/dev/null || hostname)($CLUSTER_PREFIX.1)
SlurmctldPort=$ctl_port
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
SlurmdSpoolDir=$d/spool/%n
SlurmdPidFile=$d/run/slurmd.%n.pid
SlurmdLogFile=$d/log/slurmd.%n.log
TmpFS=$d/tmp
$(slurm_conf_common "$d")
KillWait=2
MessageTimeout=${CLUSTER_MESSAGE_TIMEOUT:-5}
SlurmdTimeout=${CLUSTER_SLURMD_TIMEOUT:-10}
NodeName=node[1-$CLUSTER_NODES] NodeAddr=$CLUSTER_PREFIX.[11-$((10 + CLUSTER_NODES))] CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=node[1-$CLUSTER_NODES] Default=YES MaxTime=INFINITE State=UP
CONF
}

# The rsh agent for mpirun --mca plm_rsh_agent: "AGENT nodeK CMD..." runs
# CMD on node K as ssh would.
_cl_write_agent() {
    CLUSTER_AGENT="$CLUSTER_DIR/agent"
    cat >"$CLUSTER_AGENT" <<AGENT
#!/bin/sh
# mpirun's rsh agent for this test cluster: \$1 is nodeK, the rest the command.
k=\${1#node}; shift
exec nsenter --net=/run/netns/${CLUSTER_ID}n\$k unshare --uts --mount --propagation private \\
    sh -c "hostname node\$k && mount -t tmpfs -o size=256m tmpfs /dev/shm && exec \$*"
AGENT
    chmod 755 "$CLUSTER_AGENT"
}

cluster_start() {
    CLUSTER_DIR="$1"; CLUSTER_NODES="$2"
    local d="$CLUSTER_DIR" k nodes=()
    SLURM_TEST_DIR="$d"
    mkdir -p "$d/munge" "$d/state" "$d/spool" "$d/log" "$d/run" "$d/tmp"
    chmod 0755 "$d" "$d/munge" "$d/state" "$d/spool" "$d/log" "$d/run" "$d/tmp"
    export SLURM_CONF="$d/slurm.conf" SLURM_TEST_DIR CLUSTER_DIR CLUSTER_NODES
    CLUSTER_PREFIX=$(_cl_pick_subnet) || { slurm_log "no free 10.x.y.0/24"; return 1; }
    CLUSTER_NET="$CLUSTER_PREFIX.0/24"
    export CLUSTER_PREFIX CLUSTER_NET
    _cl_net_up || { slurm_log "cannot build the network"; return 1; }
    slurm_munge_start "$d" || return 1
    _cl_write_conf || { slurm_log "no free port"; return 1; }
    _cl_write_agent
    export CLUSTER_AGENT
    slurmctld -D -f "$SLURM_CONF" >>"$d/log/slurmctld.out" 2>&1 &
    SLURMCTLD_PID=$!
    for k in $(seq 1 "$CLUSTER_NODES"); do
        _cl_slurmd_start "$k"; nodes+=("node$k")
    done
    if ! _cl_wait_idle 30 "${nodes[@]}"; then
        tail -n 20 "$d/log/slurmctld.log" "$d"/log/slurmd.*.log "$d"/log/*.out >&2 2>/dev/null
        return 1
    fi
    slurm_log "cluster up in $d: ${nodes[*]} on $CLUSTER_NET"
}

# _cl_kill_ns K: kills -9 every process in node K's network namespace, until
# none is left (10 s at most).
_cl_kill_ns() {
    local ns pids i
    ns=$(cluster_ns "$1")
    [ -e "/run/netns/$ns" ] || return 0
    for i in $(seq 1 100); do
        pids=$(ip netns pids "$ns" 2>/dev/null)
        [ -z "$pids" ] && return 0
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null
        sleep 0.1
    done
    slurm_log "processes left in $ns: $pids"
    return 1
}

cluster_lose() {
    ip -n "$(cluster_ns "$1")" link set eth0 down
    ip link set "$(_cl_vh "$1")" down
    _cl_kill_ns "$1"
}

cluster_restore() {
    local k="$1"
    ip link set "$(_cl_vh "$k")" up
    ip -n "$(cluster_ns "$k")" link set eth0 up
    _cl_slurmd_start "$k"
    _cl_wait_idle 60 "node$k"
}

cluster_stop() {
    [ -n "${CLUSTER_DIR:-}" ] || return 0
    local i k pid
    slurm_cancel_all 5 R,CG
    for k in $(seq 1 "${CLUSTER_NODES:-0}"); do
        # slurmd runs in the background of whoever (re)started the node
        pid=$(cat "$CLUSTER_DIR/run/slurmd.node$k.pid" 2>/dev/null)
        [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = slurmd ] && _stop_pid "$pid" "slurmd node$k"
        _cl_kill_ns "$k"
        ip netns del "$(cluster_ns "$k")" 2>/dev/null
        ip link del "$(_cl_vh "$k")" 2>/dev/null
    done
    _stop_pid "${SLURMCTLD_PID:-}" slurmctld
    _stop_pid "${MUNGED_PID:-}" munged
    ip link del "$(_cl_br)" 2>/dev/null
    # veths of deleted namespaces go away asynchronously
    for i in $(seq 1 50); do
        ip -o link show 2>/dev/null | grep -q "${CLUSTER_ID}[bh]" || break
        sleep 0.1
    done
    SLURMCTLD_PID=""; MUNGED_PID=""; CLUSTER_DIR=""
}
