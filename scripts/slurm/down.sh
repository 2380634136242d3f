#!/usr/bin/env bash
# Stop the local Slurm cluster that scripts/slurm/up.sh started; harmless when it is not running.
#
#     scripts/slurm/down.sh
#
# In order: cancel every job and wait for the queue to drain (so no slurmstepd or srun is orphaned), then stop
# slurmd, slurmctld, slurmdbd, MariaDB and munged by the pids in their pidfiles (never by process name), each
# with SIGTERM and, after 30 s, SIGKILL. State and logs stay in the state directory for inspection.
set -euo pipefail
source "$(dirname "$0")/common.sh"

queue_empty() {
    [[ -z $(squeue --noheader --format=%i) ]]
}

drain_queue() {
    local jobs
    jobs=$(squeue --noheader --format=%i 2>/dev/null) || return 0
    if [[ -n $jobs ]]; then
        log "cancelling jobs: $(echo $jobs)"
        # shellcheck disable=SC2086  # one argument per job id
        scancel $jobs || true
    fi
    wait_for 60 queue_empty || log "warning: jobs still listed after 60 s: $(squeue --noheader --format='%i %T')"
}

stop_daemon() {
    local name=$1 pid
    if ! pid=$(pid_of "$name"); then
        rm -f "$SLURM_RUN_DIR/$name.pid"
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill -TERM "$pid"
    if ! wait_for 30 test ! -d "/proc/$pid"; then
        log "warning: $name (pid $pid) ignored SIGTERM for 30 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_for 10 test ! -d "/proc/$pid" || die "$name (pid $pid) survived SIGKILL"
    fi
    rm -f "$SLURM_RUN_DIR/$name.pid"
}

main() {
    [[ -d $SLURM_STATE_DIR ]] || { echo "no local cluster at $SLURM_STATE_DIR: nothing to stop"; return 0; }
    mkdir -p "$SLURM_LOG_DIR"
    exec > >(tee -a "$SLURM_LOG_DIR/cluster.log") 2>&1
    export SLURM_CONF=$SLURM_CONF_FILE
    pid_of slurmctld >/dev/null && drain_queue
    local index
    for ((index = ${#DAEMONS[@]} - 1; index >= 0; index--)); do
        stop_daemon "${DAEMONS[index]}"
    done
    log "cluster $CLUSTER_NAME is down (state and logs kept in $SLURM_STATE_DIR)"
}

main "$@"
