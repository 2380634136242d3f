# Sourced by up.sh, down.sh and env.sh: where the local Slurm cluster keeps everything, and pidfile helpers.
# Everything (configs, munge key and socket, MariaDB data, spool, pidfiles, logs) lives under one directory, so
# a user can inspect or delete the whole cluster at once.
SLURM_STATE_DIR=${ZIYA2LAB_SLURM_DIR:-${ZIYA2LAB_CACHE:-$HOME/.cache/ziya2lab}/slurm}
SLURM_CONF_FILE=$SLURM_STATE_DIR/etc/slurm.conf
SLURM_RUN_DIR=$SLURM_STATE_DIR/run
SLURM_LOG_DIR=$SLURM_STATE_DIR/log
MUNGE_SOCKET=$SLURM_RUN_DIR/munge.socket.2
MARIADB_SOCKET=$SLURM_RUN_DIR/mariadb.sock
MARIADB_PORT=${ZIYA2LAB_SLURM_DB_PORT:-6820}
CLUSTER_NAME=ziya2lab
# Start order; down.sh stops them in reverse. Each name is both the pidfile's stem and the process's comm.
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)

log() {
    printf '%s %s: %s\n' "$(date +%H:%M:%S)" "$(basename "$0" .sh)" "$*"
}

die() {
    log "error: $*" >&2
    exit 1
}

# The pid recorded for daemon $1, if that process is alive and is still that daemon (a pid can be reused).
pid_of() {
    local file=$SLURM_RUN_DIR/$1.pid pid
    [[ -s $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(</proc/$pid/comm) == "$1" ]] || return 1
    echo "$pid"
}

# Wait up to $1 seconds for the command "${@:2}" to succeed.
wait_for() {
    local seconds=$1
    shift
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}
