# tests/slurm/lib.sh - a private single-node Slurm on localhost for the tests
# (sourced, not run): munged with its own key and socket, slurmctld and
# slurmd, all configuration, state and logs under one temporary directory,
# every daemon started in the foreground by this shell and stopped by pid.
#
#   slurm_install_deps      apt-get the packages when missing (root)
#   slurm_munge_start DIR   munged alone (sets MUNGE_SOCKET, MUNGED_PID)
#   slurm_conf_common DIR   the slurm.conf lines every test cluster shares
#   slurm_start DIR         write DIR/slurm.conf, start the daemons, wait for
#                           the node; exports SLURM_CONF and SLURM_TEST_DIR
#   slurm_cancel_all SECS [STATES]  cancel every job, wait until none is left
#   slurm_stop              cancel our jobs, stop the daemons (safe to call twice)
#   job_field ID FIELD      a field of `scontrol show job` (JobState, ExitCode, ...)
#   wait_job ID STATES SECS poll until the job's state is one of STATES
#   wait_file_lines F PATTERN N SECS   poll until F has >= N lines matching PATTERN
#
# Facts this relies on (Debian 12, Slurm 22.05): every Slurm command needs
# SLURM_CONF exported (else it tries DNS lookups of a remote name server);
# munged wants a root-owned 0600 key and a 0755 socket directory; no
# accounting daemon, so states and exit codes come from `scontrol show job`
# (MinJobAge keeps finished jobs visible) and jobcomp/filetxt.

SLURM_PKGS=(slurm-wlm munge libpmix2 jq)

slurm_log() { echo "[slurm-test $(date +%H:%M:%S)] $*" >&2; }

slurm_install_deps() {
    local missing=() p
    for p in "${SLURM_PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        slurm_log "missing packages ${missing[*]} and not root: cannot install"
        return 1
    fi
    slurm_log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Never let the packages' maintainer scripts start the system daemons:
    # this harness runs its own on private sockets and ports.
    local prc=/usr/sbin/policy-rc.d made_prc=0
    if [ ! -e "$prc" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod 755 "$prc" && made_prc=1
    fi
    local rc=0
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
        slurm_log "apt-get update, then installing ${missing[*]} again"
        apt-get update -qq >/dev/null 2>&1 || true
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=1
    fi
    [ $made_prc -eq 1 ] && rm -f "$prc"
    return $rc
}

# A TCP port on 127.0.0.1 that nothing accepts on right now.
_free_port() {
    local p tries=0
    while [ $tries -lt 200 ]; do
        p=$(( 20000 + (RANDOM % 30000) ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"; return 0
        fi
        tries=$((tries + 1))
    done
    return 1
}

# Stops one pid politely, then firmly.
_stop_pid() {
    local pid="$1" name="$2" i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.1
    done
    slurm_log "$name (pid $pid) ignored SIGTERM; killing"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Pids of processes spawned for our cluster's jobs (slurmstepd and the job's
# tasks): their environment names our slurm.conf. Excludes this shell and its
# ancestors, which export the same SLURM_CONF.
_our_job_pids() {
    local e pid skip=" $$ " p=$$
    while [ "$p" -gt 1 ] 2>/dev/null; do
        p=$(awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null) || break
        [ -n "$p" ] || break
        skip+="$p "
    done
    for e in /proc/[0-9]*/environ; do
        pid=${e#/proc/}; pid=${pid%/environ}
        case "$skip" in *" $pid "*) continue ;; esac
        [ "$pid" = "$BASHPID" ] && continue
        if grep -qzxF "SLURM_CONF=$SLURM_CONF" "$e" 2>/dev/null &&
           grep -qz '^SLURM_JOB_ID=' "$e" 2>/dev/null; then
            echo "$pid"
        fi
    done
}

# slurm_munge_start DIR: munged with a private key, socket, pid, log and seed
# files under DIR/munge, DIR/run and DIR/log; sets MUNGE_SOCKET and MUNGED_PID.
slurm_munge_start() {
    local d="$1" i
    mungekey --create --keyfile="$d/munge/munge.key" >/dev/null
    chown root:root "$d/munge/munge.key" 2>/dev/null || true
    chmod 0600 "$d/munge/munge.key"
    MUNGE_SOCKET="$d/munge/munge.socket"
    munged --foreground --force --key-file="$d/munge/munge.key" --socket="$MUNGE_SOCKET" \
        --pid-file="$d/run/munged.pid" --log-file="$d/log/munged.log" \
        --seed-file="$d/munge/munged.seed" >>"$d/log/munged.out" 2>&1 &
    MUNGED_PID=$!
    for i in $(seq 1 100); do
        [ -S "$MUNGE_SOCKET" ] && break
        kill -0 "$MUNGED_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ ! -S "$MUNGE_SOCKET" ]; then
        slurm_log "munged did not start:"; cat "$d/log/munged.out" "$d/log/munged.log" >&2 2>/dev/null
        return 1
    fi
}

# slurm_conf_common DIR: the slurm.conf lines every test cluster shares
# (munge at $MUNGE_SOCKET, root, no cgroups, no accounting daemon; state and
# controller files under DIR).
slurm_conf_common() {
    cat <<EOF
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$1/state
SlurmctldPidFile=$1/run/slurmctld.pid
SlurmctldLogFile=$1/log/slurmctld.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobCompType=jobcomp/filetxt
JobCompLoc=$1/log/jobcomp.txt
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobRequeue=1
MinJobAge=3600
InactiveLimit=0
SlurmctldTimeout=30
EOF
}

slurm_start() {
    SLURM_TEST_DIR="$1"
    local d="$SLURM_TEST_DIR"
    mkdir -p "$d/munge" "$d/state" "$d/spool" "$d/log" "$d/run"
    chmod 0755 "$d" "$d/munge" "$d/state" "$d/spool" "$d/log" "$d/run"
    export SLURM_CONF="$d/slurm.conf" SLURM_TEST_DIR

    slurm_munge_start "$d" || return 1

    # The node's layout as slurmd sees it; RealMemory a little below it.
    local conf_line key val
    local cpus=1 boards=1 sockets=1 cores=1 threads=1 mem=1024
    conf_line=$(slurmd -C 2>/dev/null | head -n 1)
    for kv in $conf_line; do
        key=${kv%%=*}; val=${kv#*=}
        case "$key" in
            CPUs) cpus=$val ;; Boards) boards=$val ;; SocketsPerBoard) sockets=$val ;;
            CoresPerSocket) cores=$val ;; ThreadsPerCore) threads=$val ;; RealMemory) mem=$val ;;
        esac
    done
    mem=$(( mem * 8 / 10 ))
    SLURM_TEST_CPUS=$cpus
    SLURM_TEST_CORES=$(( boards * sockets * cores ))
    export SLURM_TEST_CPUS SLURM_TEST_CORES

    local ctl_port d_port host
    ctl_port=$(_free_port) && d_port=$(_free_port) || { slurm_log "no free port"; return 1; }
    while [ "$d_port" = "$ctl_port" ]; do d_port=$(_free_port); done
    host=$(hostname -s 2>/dev/null || hostname)
    cat >"$SLURM_CONF" <<EOF
# Written by tests/slurm/lib.sh: a private one-node cluster for the tests.
ClusterName=rcntest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
SlurmdSpoolDir=$d/spool
SlurmdPidFile=$d/run/slurmd.pid
SlurmdLogFile=$d/log/slurmd.log
$(slurm_conf_common "$d")
KillWait=10
SlurmdTimeout=60
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus Boards=$boards SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
    slurmctld -D -f "$SLURM_CONF" >>"$d/log/slurmctld.out" 2>&1 &
    SLURMCTLD_PID=$!
    slurmd -D -N localhost -f "$SLURM_CONF" >>"$d/log/slurmd.out" 2>&1 &
    SLURMD_PID=$!
    export MUNGED_PID SLURMCTLD_PID SLURMD_PID

    local state=""
    for i in $(seq 1 300); do
        state=$(sinfo -h -N -n localhost -o '%t' 2>/dev/null | head -n 1)
        case "$state" in idle|idle*) break ;; esac
        if ! kill -0 "$SLURMCTLD_PID" 2>/dev/null || ! kill -0 "$SLURMD_PID" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    case "$state" in
        idle*) slurm_log "slurm up in $d (ports $ctl_port/$d_port, $cpus cpus, $SLURM_TEST_CORES cores)"; return 0 ;;
    esac
    slurm_log "slurm did not come up (node state '$state'); logs:"
    tail -n 30 "$d/log/slurmctld.log" "$d/log/slurmd.log" "$d/log/slurmctld.out" "$d/log/slurmd.out" >&2 2>/dev/null
    return 1
}

# slurm_cancel_all SECS [STATES]: when our slurmctld runs, cancels every
# job, then waits up to SECS until none is left (none in STATES, e.g. R,CG).
slurm_cancel_all() {
    local secs="$1" only=() ids id i
    [ -z "${2:-}" ] || only=(-t "$2")
    [ -n "${SLURMCTLD_PID:-}" ] && kill -0 "$SLURMCTLD_PID" 2>/dev/null || return 0
    ids=$(squeue -h -o '%i' 2>/dev/null || true)
    for id in $ids; do scancel "$id" 2>/dev/null || true; done
    for i in $(seq 1 $((secs * 10))); do
        [ -z "$(squeue -h "${only[@]}" -o '%i' 2>/dev/null)" ] && break
        sleep 0.1
    done
}

slurm_stop() {
    [ -n "${SLURM_TEST_DIR:-}" ] || return 0
    slurm_cancel_all 15
    _stop_pid "${SLURMD_PID:-}" slurmd
    _stop_pid "${SLURMCTLD_PID:-}" slurmctld
    # Anything of our jobs that outlived slurmd (it should not): by pid.
    local pids pid
    pids=$(_our_job_pids)
    for pid in $pids; do
        slurm_log "left-over job process $pid ($(cat /proc/$pid/comm 2>/dev/null)); killing"
        kill -KILL "$pid" 2>/dev/null || true
    done
    _stop_pid "${MUNGED_PID:-}" munged
    SLURMD_PID=""; SLURMCTLD_PID=""; MUNGED_PID=""
}

# job_field ID FIELD: e.g. job_field 12 JobState -> RUNNING
job_field() {
    scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# wait_job ID "COMPLETED FAILED" SECS: polls; prints the final state.
wait_job() {
    local id="$1" states=" $2 " secs="$3" st="" i
    for i in $(seq 1 $((secs * 5))); do
        st=$(job_field "$id" JobState)
        case "$states" in *" $st "*) echo "$st"; return 0 ;; esac
        sleep 0.2
    done
    echo "$st"
    slurm_log "job $id still '$st' after ${secs}s (wanted:$states)"
    return 1
}

# wait_file_lines FILE PATTERN N SECS
wait_file_lines() {
    local f="$1" pat="$2" n="$3" secs="$4" i c
    for i in $(seq 1 $((secs * 10))); do
        c=$(grep -c -- "$pat" "$f" 2>/dev/null || true)
        [ "${c:-0}" -ge "$n" ] && return 0
        sleep 0.1
    done
    return 1
}

# job_pids ID: "PID GLOBAL_TASK_ID" of the job's step tasks.
job_task_pids() {
    scontrol listpids "$1" 2>/dev/null | awk 'NR > 1 && $3 != "batch" && $3 != "-" && $5 != "-" {print $1, $5}'
}
