#!/usr/bin/env bash
# local_cluster.sh — a throwaway one-node SLURM cluster on localhost, to test the job templates.
#
#   bash scripts/slurm/local_cluster.sh CMD [ARGS...]   start it, run CMD with SLURM_CONF set, stop it
#
# Needs root and Debian's slurm-wlm, slurmctld, slurmd, slurm-client and munge (installed here
# with apt-get when missing). Nothing outside $DDM_SLURM_DIR (default /tmp/ddm-slurm) is touched:
# no /etc/slurm, no systemd, no slurmdbd. The daemons run in the foreground (-D, -F) as
# background jobs of this script, so it owns their exact process ids and stops them, and only
# them, when CMD ends or this script is interrupted. Non-default ports keep clear of a real SLURM.
set -euo pipefail

STATE=${DDM_SLURM_DIR:-/tmp/ddm-slurm}
NODE=$(hostname -s)
T0=$(date +%s.%N)
log() { printf '[local_cluster %5.1fs] %s\n' "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$*" >&2; }

case $STATE in /?*/?*) ;; *) echo "local_cluster.sh: DDM_SLURM_DIR='$STATE' must be an absolute path two levels deep" >&2; exit 2 ;; esac
[[ $# -gt 0 ]] || { echo "usage: local_cluster.sh CMD [ARGS...]" >&2; exit 2; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    log "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm slurmctld slurmd slurm-client munge >/dev/null
fi

# stop_pid PIDFILE NAME: TERM (then KILL) the recorded process if it is still that program
stop_pid() {
    local file=$1 name=$2 pid
    [[ -s $file ]] || return 0
    pid=$(<"$file")
    if [[ -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$name" ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

stop_cluster() {
    if [[ -s $STATE/slurmctld.pid ]] && kill -0 "$(<"$STATE/slurmctld.pid")" 2>/dev/null; then
        # stopping slurmd does not end running jobs: cancel them first, then shut down
        SLURM_CONF=$STATE/slurm.conf timeout 10 scancel --partition=debug >/dev/null 2>&1 || true
        for _ in $(seq 50); do
            [[ -z $(SLURM_CONF=$STATE/slurm.conf timeout 5 squeue -h -o %i 2>/dev/null) ]] && break
            sleep 0.2
        done
        SLURM_CONF=$STATE/slurm.conf timeout 10 scontrol shutdown >/dev/null 2>&1 || true
        for _ in $(seq 100); do
            kill -0 "$(<"$STATE/slurmctld.pid")" 2>/dev/null || break
            sleep 0.1
        done
    fi
    stop_pid "$STATE/slurmd.pid" slurmd
    stop_pid "$STATE/slurmctld.pid" slurmctld
    stop_pid "$STATE/munged.pid" munged
}

stop_cluster # leftovers of an earlier run that was killed
rm -rf "$STATE"
mkdir -p "$STATE"/{munge,ctld,d,log}
chmod 755 "$STATE" "$STATE/munge" # munged refuses group- or world-writable directories

CMD_PID=
on_exit() {
    local rc=$?
    [[ -n $CMD_PID ]] && kill -TERM "$CMD_PID" 2>/dev/null || true
    stop_cluster
    if [[ $rc -ne 0 ]]; then
        echo "---- slurmctld.log (last lines)" >&2
        tail -n 20 "$STATE/log/slurmctld.log" >&2 2>/dev/null || true
        echo "---- slurmd.log (last lines)" >&2
        tail -n 20 "$STATE/log/slurmd.log" >&2 2>/dev/null || true
    fi
    log "stopped (exit status $rc)"
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

mungekey --create --keyfile="$STATE/munge/munge.key" --bits=1024 >/dev/null 2>&1
chmod 600 "$STATE/munge/munge.key"
munged -F --key-file="$STATE/munge/munge.key" --socket="$STATE/munge/munge.socket" \
    --pid-file="$STATE/munge/munged.pidfile" --seed-file="$STATE/munge/seed" \
    >"$STATE/log/munged.log" 2>&1 &
echo $! >"$STATE/munged.pid"
for _ in $(seq 50); do [[ -S $STATE/munge/munge.socket ]] && break; sleep 0.1; done

CPUS=$(nproc)
MEM_MB=$(($(free -m | awk '/^Mem:/{print $2}') * 95 / 100)) # above the real memory, the node drains
# (an unquoted heredoc: no backticks in here, they would run)
cat >"$STATE/slurm.conf" <<EOF
ClusterName=ddmlocal
SlurmctldHost=${NODE}(127.0.0.1)
SlurmctldPort=${DDM_SLURM_CTLD_PORT:-16917}
SlurmdPort=${DDM_SLURM_SLURMD_PORT:-16918}
AuthType=auth/munge
CredType=cred/munge
# cred_expire is also how long a requeued job waits before it may start again (default 120 s)
AuthInfo=socket=${STATE}/munge/munge.socket,cred_expire=5
SlurmUser=root
SlurmdUser=root
StateSaveLocation=${STATE}/ctld
SlurmdSpoolDir=${STATE}/d
SlurmctldPidFile=${STATE}/slurmctld.pidfile
SlurmdPidFile=${STATE}/slurmd.pidfile
SlurmctldLogFile=${STATE}/log/slurmctld.log
SlurmdLogFile=${STATE}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=${STATE}/log/jobcomp.txt
MpiDefault=none
SchedulerType=sched/backfill
# a requeued job becomes eligible after cred_expire; the backfill pass (every bf_interval s)
# is what starts it again
SchedulerParameters=batch_sched_delay=0,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
ReturnToService=2
MinJobAge=5
KillWait=10
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM_MB} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$STATE/slurm.conf

slurmctld -D -i -f "$SLURM_CONF" >>"$STATE/log/slurmctld.stdout" 2>&1 &
echo $! >"$STATE/slurmctld.pid"
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.1; done
slurmd -D -N "$NODE" -f "$SLURM_CONF" >>"$STATE/log/slurmd.stdout" 2>&1 &
echo $! >"$STATE/slurmd.pid"
state=
for _ in $(seq 200); do
    state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
    [[ $state == idle ]] && break
    sleep 0.1
done
[[ $state == idle ]] || { log "node $NODE is '$state', not idle"; exit 1; }
log "cluster up: node $NODE, $CPUS CPUs, ${MEM_MB} MB (SLURM_CONF=$SLURM_CONF)"

"$@" &
CMD_PID=$!
set +e
wait "$CMD_PID"
rc=$?
set -e
CMD_PID=
exit "$rc"
