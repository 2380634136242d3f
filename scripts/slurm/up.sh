#!/usr/bin/env bash
# Bring up a single-node Slurm cluster on this machine, for development and CI (docs/CLUSTER.md).
#
#     scripts/slurm/up.sh && eval "$(scripts/slurm/env.sh)"      # then sinfo, sbatch, submitit, Hydra work
#
# Debian's Slurm 22.05 from apt, run as root without systemd: munged, MariaDB (bound to 127.0.0.1) and slurmdbd,
# so that `sacct` exists (without it submitit sees every job as UNKNOWN and waits forever on a cancelled one),
# then slurmctld and slurmd. Installs what is missing, writes configs, pidfiles and logs under one directory
# ($ZIYA2LAB_SLURM_DIR, default $ZIYA2LAB_CACHE/slurm), and starts only the daemons not already running from
# that directory, so running it twice is harmless. scripts/slurm/down.sh stops exactly these daemons.
set -euo pipefail
source "$(dirname "$0")/common.sh"

PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server)
COMMANDS=(slurmctld slurmd slurmdbd sbatch sacct sacctmgr scontrol munged mungekey mariadbd mariadb-install-db
    mariadb-admin)

install_packages() {
    local command missing=()
    for command in "${COMMANDS[@]}"; do
        command -v "$command" >/dev/null || missing+=("$command")
    done
    ((${#missing[@]})) || return 0
    log "installing ${PACKAGES[*]} (missing: ${missing[*]})"
    # No package may start its own daemon: this script starts and down.sh stops every daemon of the cluster.
    local policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" \
        >>"$SLURM_LOG_DIR/apt.log" 2>&1 || die "apt-get install failed; see $SLURM_LOG_DIR/apt.log"
}

write_configs() {
    local host node
    host=$(hostname -s)
    # The node as slurmd sees it (CPUs, sockets, cores, memory), so the configuration never exceeds the machine.
    node=$(slurmd -C | head -n 1)
    [[ $node == "NodeName=$host "* ]] || die "slurmd -C reported '$node', not a node named $host"
    cat >"$SLURM_CONF_FILE" <<CONF
# Written by scripts/slurm/up.sh; regenerated on every start.
ClusterName=$CLUSTER_NAME
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire=10: a requeued job may start again after 10 s instead of the default 120 s.
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=10
StateSaveLocation=$SLURM_STATE_DIR/spool/slurmctld
SlurmdSpoolDir=$SLURM_STATE_DIR/spool/slurmd
SlurmctldPidFile=$SLURM_RUN_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_RUN_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_LOG_DIR/slurmctld.log
SlurmdLogFile=$SLURM_LOG_DIR/slurmd.log
# No cgroups: processes are tracked by parentage and tasks are not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
# Cores only: CR_Core_Memory without DefMemPerCPU would give each job the whole node's memory.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# SIGKILL follows SIGTERM after 5 s (time to write a small checkpoint), so teardown is quick.
KillWait=5
InactiveLimit=0
MinJobAge=300
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
# With munge authentication this names the munge socket used towards slurmdbd (sacct, sacctmgr, slurmctld).
AccountingStoragePass=$MUNGE_SOCKET
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
$node State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    # slurmdbd reads slurmdbd.conf beside slurm.conf and insists on mode 600.
    local dbd_conf=$SLURM_STATE_DIR/etc/slurmdbd.conf
    cat >"$dbd_conf" <<CONF
# Written by scripts/slurm/up.sh; regenerated on every start.
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
SlurmUser=root
PidFile=$SLURM_RUN_DIR/slurmdbd.pid
LogFile=$SLURM_LOG_DIR/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MARIADB_PORT
StorageUser=root
StorageLoc=slurm_acct_db
CONF
    chmod 600 "$dbd_conf"
}

start_munged() {
    local key=$SLURM_STATE_DIR/munge/munge.key
    [[ -s $key ]] || mungekey --create --keyfile="$key"
    chmod 400 "$key"
    munged --force --socket="$MUNGE_SOCKET" --key-file="$key" --pid-file="$SLURM_RUN_DIR/munged.pid" \
        --log-file="$SLURM_LOG_DIR/munged.log" --seed-file="$SLURM_STATE_DIR/munge/munged.seed" \
        </dev/null >>"$SLURM_LOG_DIR/munged.out" 2>&1
    wait_for 20 test -S "$MUNGE_SOCKET" || die "munged did not start; see $SLURM_LOG_DIR/munged.log"
}

mariadb_ping() {
    mariadb-admin --no-defaults --socket="$MARIADB_SOCKET" --user=root ping
}

start_mariadbd() {
    local data=$SLURM_STATE_DIR/mariadb
    if [[ ! -d $data/mysql ]]; then
        mariadb-install-db --no-defaults --user=root --datadir="$data" --auth-root-authentication-method=normal \
            --skip-test-db >>"$SLURM_LOG_DIR/mariadb.out" 2>&1 || die "mariadb-install-db failed"
    fi
    # mariadbd does not daemonize itself: setsid detaches it from this shell's session and signals.
    setsid mariadbd --no-defaults --user=root --datadir="$data" --socket="$MARIADB_SOCKET" \
        --pid-file="$SLURM_RUN_DIR/mariadbd.pid" --bind-address=127.0.0.1 --port="$MARIADB_PORT" \
        --log-error="$SLURM_LOG_DIR/mariadb.log" --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 --skip-log-bin \
        </dev/null >>"$SLURM_LOG_DIR/mariadb.out" 2>&1 &
    wait_for 60 mariadb_ping || die "MariaDB did not start; see $SLURM_LOG_DIR/mariadb.log"
}

cluster_registered() {
    [[ $(sacctmgr --noheader --parsable2 list cluster format=cluster) == *"$CLUSTER_NAME"* ]]
}

start_slurmdbd() {
    slurmdbd </dev/null >>"$SLURM_LOG_DIR/slurmdbd.out" 2>&1
    wait_for 60 sacctmgr --noheader list cluster || die "slurmdbd does not answer; see $SLURM_LOG_DIR/slurmdbd.log"
    cluster_registered || sacctmgr --immediate add cluster "$CLUSTER_NAME" >>"$SLURM_LOG_DIR/slurmdbd.out"
}

start_slurmctld() {
    slurmctld </dev/null >>"$SLURM_LOG_DIR/slurmctld.out" 2>&1
    wait_for 60 scontrol ping || die "slurmctld does not answer; see $SLURM_LOG_DIR/slurmctld.log"
}

start_slurmd() {
    slurmd </dev/null >>"$SLURM_LOG_DIR/slurmd.out" 2>&1
}

node_idle() {
    [[ $(sinfo --noheader --Node --format=%T) == idle ]]
}

main() {
    [[ $(id -u) == 0 ]] || die "run as root: the daemons run as root without systemd"
    mkdir -p "$SLURM_STATE_DIR"/{etc,munge,spool/slurmctld,spool/slurmd} "$SLURM_RUN_DIR" "$SLURM_LOG_DIR"
    chmod 700 "$SLURM_STATE_DIR/munge"
    exec > >(tee -a "$SLURM_LOG_DIR/cluster.log") 2>&1
    log "state directory $SLURM_STATE_DIR"
    install_packages
    write_configs
    export SLURM_CONF=$SLURM_CONF_FILE
    local daemon pid
    for daemon in "${DAEMONS[@]}"; do
        if pid=$(pid_of "$daemon"); then
            log "$daemon already running (pid $pid)"
        else
            log "starting $daemon"
            "start_$daemon"
            wait_for 20 pid_of "$daemon" || die "$daemon wrote no pidfile; see $SLURM_LOG_DIR"
        fi
    done
    if ! wait_for 60 node_idle; then
        scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
        wait_for 30 node_idle || die "node not idle: $(sinfo --noheader --Node --format='%T %E')"
    fi
    log "cluster $CLUSTER_NAME is up: $(sinfo --noheader --format='%P %D %c %T')"
    log "point Slurm's commands at it with: eval \"\$(scripts/slurm/env.sh)\""
}

main "$@"
