#!/usr/bin/env bash
# mpirun.sh - the workstation launcher (one machine, no Slurm): runs a command
# under Open MPI's mpirun with settings that work as root and as a user:
#   --mca pml ob1 --mca btl self,vader   shared memory only; no TCP/UCX transport
#   --mca oob_tcp_if_include lo          mpirun's own control channel on loopback only
#   --bind-to core                       one rank per core, unless oversubscribed
#   --oversubscribe (--bind-to none)     when -np exceeds the cores of this machine
#   OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM)=1   exported only when running as root
#   OPENBLAS/OMP_NUM_THREADS=1           single-threaded BLAS per rank
#
# Usage: scripts/mpirun.sh [-np N] [--dry-run] [--] COMMAND [ARGS...]
#   N defaults to $NP, else the number of cores. Extra mpirun options can be
#   given in $RCN_MPIRUN_ARGS (split on spaces). --dry-run prints the command.
# Example: scripts/mpirun.sh -np 2 bin/rcn search jobs/quick.json
#
# Several hosts (no Slurm): scripts/mpirun.sh --hostfile FILE [--net NET] [-np N] ...
#   FILE lists the hosts, "node1 slots=32" per line (slots: its cores); mpirun
#   starts its daemons there with ssh (same paths on every host: a shared
#   filesystem). Then instead of the settings above:
#   --hostfile FILE                      passed through; N defaults to all slots
#   --mca pml ob1 --mca btl self,vader,tcp   shared memory within a host, TCP between
#   --mca btl_tcp_if_include NET         with --net: the ranks' network, a CIDR
#   --mca oob_tcp_if_include NET         (10.1.0.0/16) or an interface (eth1)
#   --bind-to core                       one rank per core on each host
# Example: scripts/mpirun.sh --hostfile hosts --net 10.1.0.0/16 bin/rcn search jobs/table2.json
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# Physical cores this process may use: distinct (core, socket) pairs of the
# online CPUs in our affinity mask; falls back to nproc.
count_cores() {
    local n=""
    if command -v lscpu >/dev/null 2>&1; then
        local allowed
        allowed=$(taskset -cp $$ 2>/dev/null | sed 's/.*: //' || true)
        n=$(lscpu -p=cpu,core,socket 2>/dev/null | grep -v '^#' | awk -F, -v allowed="$allowed" '
            function in_mask(c,   i, parts, r, lo, hi) {
                if (allowed == "") return 1
                split(allowed, parts, ",")
                for (i in parts) {
                    if (split(parts[i], r, "-") == 2) { lo = r[1]; hi = r[2] } else { lo = hi = parts[i] }
                    if (c + 0 >= lo + 0 && c + 0 <= hi + 0) return 1
                }
                return 0
            }
            in_mask($1) { seen[$2 "," $3] = 1 }
            END { n = 0; for (k in seen) n++; print n }')
    fi
    if [ -z "$n" ] || [ "$n" -lt 1 ]; then n=$(nproc); fi
    echo "$n"
}

np="${NP:-}"
dry=0
hostfile=""
net=""
while [ $# -gt 0 ]; do
    case "$1" in
        -np|-n|--np) [ $# -ge 2 ] || usage; np="$2"; shift 2 ;;
        --hostfile) [ $# -ge 2 ] || usage; hostfile="$2"; shift 2 ;;
        --net) [ $# -ge 2 ] || usage; net="$2"; shift 2 ;;
        --dry-run) dry=1; shift ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) echo "mpirun.sh: unknown option '$1' (put mpirun options in RCN_MPIRUN_ARGS)" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || usage
[ -z "$net" ] || [ -n "$hostfile" ] || { echo "mpirun.sh: --net goes with --hostfile" >&2; exit 2; }
case "$np" in *[!0-9]*|0) echo "mpirun.sh: -np must be a positive integer, got '$np'" >&2; exit 2 ;; esac

if [ -n "$hostfile" ]; then
    [ -r "$hostfile" ] || { echo "mpirun.sh: cannot read the hostfile '$hostfile'" >&2; exit 2; }
    args=(--hostfile "$hostfile")
    [ -z "$np" ] || args+=(-np "$np")
    args+=(--mca pml ob1 --mca btl self,vader,tcp)
    [ -z "$net" ] || args+=(--mca btl_tcp_if_include "$net" --mca oob_tcp_if_include "$net")
    args+=(--bind-to core)
else
    cores=$(count_cores)
    [ -n "$np" ] || np="$cores"
    args=(-np "$np" --mca pml ob1 --mca btl self,vader --mca oob_tcp_if_include lo)
    if [ "$np" -gt "$cores" ]; then
        args+=(--oversubscribe --bind-to none)
    else
        args+=(--bind-to core)
    fi
fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
args+=(-x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS)
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# shellcheck disable=SC2206
extra=(${RCN_MPIRUN_ARGS:-})

if [ "$dry" -eq 1 ]; then
    echo mpirun "${args[@]}" "${extra[@]}" "$@"
    exit 0
fi
exec mpirun "${args[@]}" "${extra[@]}" "$@"
