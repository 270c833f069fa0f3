#!/usr/bin/env bash
# A throwaway 3-node MariaDB Galera cluster on loopback, for the Galera tests.
#
#   scripts/galera.sh run COMMAND [ARGS...]   start a cluster, run COMMAND, remove the cluster
#   scripts/galera.sh kill N                  kill -9 node N (1-3) of the running cluster
#   scripts/galera.sh start N                 start node N again; it rejoins (IST, else SST)
#                                             and is synced some time later
#   scripts/galera.sh wait-synced N           wait until node N is synced (at most 120 s)
#
# `run` exports, for COMMAND:
#   TEST_GALERA_URLS  mysql://root@127.0.0.1:P1,mysql://root@127.0.0.1:P2,mysql://root@127.0.0.1:P3
#                     (root, no password, over TCP; no database name)
#   TEST_GALERA_DIR   the cluster's directory, which the control commands read
#   TEST_GALERA_SCRIPT  this script's absolute path, for the tests to call
# and exits with COMMAND's status once it has removed every node and the
# directory. The control commands find the cluster through TEST_GALERA_DIR.
#
# The nodes run Debian's mariadbd with the galera-4 provider, as user mysql
# when run as root (rsync SST refuses root), each on its own client port,
# group-communication port, IST port and SST port; node 1 bootstraps the
# cluster (--wsrep-new-cluster), nodes 2 and 3 join it by rsync SST, one
# after the other. As root, missing packages (mariadb-server, galera-4,
# rsync) are installed from Debian without a prompt.
set -euo pipefail

log() { printf 'galera: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

NODES=3
SCRIPT=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
SEARCH_PATH="$PATH:/usr/sbin:/usr/local/sbin:/sbin"

find_bin() {
    local name
    for name in "$@"; do
        if PATH="$SEARCH_PATH" command -v "$name" >/dev/null 2>&1; then
            PATH="$SEARCH_PATH" command -v "$name"
            return 0
        fi
    done
    return 1
}

find_provider() {
    local lib
    for lib in /usr/lib/galera/libgalera_smm.so /usr/lib/libgalera_smm.so \
        /usr/lib64/galera-4/libgalera_smm.so /usr/lib64/galera/libgalera_smm.so; do
        [ -f "$lib" ] && { echo "$lib"; return 0; }
    done
    return 1
}

is_root=false
[ "$(id -u)" -eq 0 ] && is_root=true

ensure_installed() {
    if find_bin mariadbd >/dev/null && find_provider >/dev/null && find_bin rsync >/dev/null \
        && find_bin mariadb >/dev/null; then
        return
    fi
    $is_root || die "MariaDB Galera is not installed. Install it (e.g. 'sudo apt-get install" \
        "mariadb-server mariadb-client galera-4 rsync') and run again"
    log "installing Debian's mariadb-server, galera-4 and rsync (non-interactive)"
    export DEBIAN_FRONTEND=noninteractive
    # </dev/null: CI has no stdin and nothing here may prompt.
    apt-get update </dev/null >&2
    apt-get install -y --no-install-recommends mariadb-server mariadb-client galera-4 rsync \
        </dev/null >&2
}

# The cluster's layout, from TEST_GALERA_DIR: node N's files live in
# $DIR/nodeN (my.cnf, data/, pid, error.log); $DIR/ports holds each node's
# client port, one a line.
node_dir() { echo "$DIR/node$1"; }
client_port() { sed -n "${1}p" "$DIR/ports"; }

check_node() {
    [[ "$1" =~ ^[1-9]$ ]] && [ "$1" -le "$NODES" ] || die "no node $1 (nodes are 1-$NODES)"
}

# Is node N's server process alive?
node_pid() {
    local pid
    pid=$(cat "$(node_dir "$1")/pid" 2>/dev/null) || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

# start_node N [EXTRA OPTIONS...]: launches node N's server in a session of
# its own (so that killing it takes its SST helpers too), detached from our
# standard streams (a caller reading our output must not wait for it).
start_node() {
    local n=$1 dir
    shift
    dir=$(node_dir "$n")
    if node_pid "$n" >/dev/null; then
        die "node $n is running"
    fi
    # A node killed mid-state-transfer may leave its SST daemon's pid file.
    rm -f "$dir/data/rsync_sst.pid" "$dir/data/rsync_sst.conf"
    setsid "$MYSQLD" --defaults-file="$dir/my.cnf" "$@" </dev/null >>"$dir/server.out" 2>&1 &
    echo $! >"$dir/pid"
    disown
}

# SQL as root on node N's Unix socket (it works before the node is synced).
node_sql() {
    "$CLIENT" --no-defaults --protocol=socket --socket="$(node_dir "$1")/mysqld.sock" -uroot \
        --batch --skip-column-names --connect-timeout=2 -e "$2" </dev/null 2>/dev/null
}

# Waits until node N is synced and accepts TCP logins as root.
wait_synced() {
    local n=$1 limit=${2:-120} deadline state
    deadline=$(( SECONDS + limit ))
    while :; do
        node_pid "$n" >/dev/null || fail_node "$n" "its server exited"
        state=$(node_sql "$n" "SHOW STATUS LIKE 'wsrep_local_state_comment'" | cut -f2) || state=
        if [ "$state" = Synced ] && "$CLIENT" --no-defaults --protocol=tcp -h127.0.0.1 \
            -P"$(client_port "$n")" -uroot --connect-timeout=2 -e 'SELECT 1' \
            </dev/null >/dev/null 2>&1; then
            return 0
        fi
        [ "$SECONDS" -lt "$deadline" ] || fail_node "$n" "not synced after $limit s (state: ${state:-none})"
        sleep 0.2
    done
}

fail_node() {
    log "error: node $1: $2; last lines of its error log:"
    tail -n 40 "$(node_dir "$1")/error.log" >&2 2>/dev/null || true
    tail -n 10 "$(node_dir "$1")/server.out" >&2 2>/dev/null || true
    exit 1
}

# kill -9 node N, its whole session (an SST daemon too), and wait for it.
kill_node() {
    local n=$1 pid
    pid=$(node_pid "$n") || return 0
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

# pick_port VAR: sets VAR to a free TCP port on 127.0.0.1, not one handed
# out before in this run (the kernel may offer a port again once closed).
PICKED=" "
pick_port() {
    local port
    while :; do
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
        case $PICKED in *" $port "*) continue ;; esac
        PICKED+="$port "
        printf -v "$1" '%s' "$port"
        return
    done
}

tools() {
    MYSQLD=$(find_bin mariadbd) || die "mariadbd not found"
    CLIENT=$(find_bin mariadb) || die "the mariadb client not found (install mariadb-client)"
}

# The control commands, for a running cluster.
control() {
    DIR=${TEST_GALERA_DIR:-}
    [ -n "$DIR" ] && [ -f "$DIR/ports" ] || die "TEST_GALERA_DIR does not name a running cluster"
    tools
    local command=$1 n=${2:-}
    check_node "$n"
    case $command in
    kill) kill_node "$n" ;;
    start) start_node "$n" ;;
    wait-synced) wait_synced "$n" ;;
    esac
}

run() {
    [ "$#" -gt 0 ] || die "usage: $0 run COMMAND [ARGS...]"
    command -v python3 >/dev/null || die "python3 is needed to pick free ports"
    ensure_installed
    tools
    INSTALL_DB=$(find_bin mariadb-install-db mysql_install_db) || die "mariadb-install-db not found"
    PROVIDER=$(find_provider) || die "the Galera provider libgalera_smm.so not found (install galera-4)"

    DIR=$(mktemp -d "${TMPDIR:-/tmp}/galera.XXXXXX")
    CMD_STATUS=""
    # shellcheck disable=SC2317  # only invoked via trap
    cleanup() {
        local rc=$? n
        trap - EXIT INT TERM
        for n in $(seq 1 "$NODES"); do kill_node "$n"; done
        rm -rf "$DIR"
        exit "${CMD_STATUS:-$rc}"
    }
    trap cleanup EXIT
    trap 'CMD_STATUS=${CMD_STATUS:-130}; exit 130' INT
    trap 'CMD_STATUS=${CMD_STATUS:-143}; exit 143' TERM

    local user=() n gcomm=""
    declare -a client galera ist sst
    for n in $(seq 1 "$NODES"); do
        pick_port "client[$n]"
        pick_port "galera[$n]"
        pick_port "ist[$n]"
        pick_port "sst[$n]"
        gcomm+="${gcomm:+,}127.0.0.1:${galera[n]}"
        echo "${client[n]}" >>"$DIR/ports"
    done
    $is_root && user=(user=mysql)

    for n in $(seq 1 "$NODES"); do
        local dir
        dir=$(node_dir "$n")
        mkdir -p "$dir/data" "$dir/tmp"
        # --no-defaults is implied by --defaults-file: no /etc/mysql/*.cnf is
        # read, so the system server's settings cannot interfere.
        cat >"$dir/my.cnf" <<EOF
[mysqld]
${user[*]}
datadir=$dir/data
tmpdir=$dir/tmp
socket=$dir/mysqld.sock
pid-file=$dir/mysqld.pid
log-error=$dir/error.log
port=${client[n]}
bind-address=127.0.0.1
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
innodb_buffer_pool_size=64M
innodb_log_file_size=32M
max_connections=300
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=$PROVIDER
wsrep_cluster_name=taskman_test
wsrep_cluster_address=gcomm://$gcomm
wsrep_node_name=node$n
wsrep_node_address=127.0.0.1:${galera[n]}
wsrep_provider_options="base_port=${galera[n]};gmcast.listen_addr=tcp://127.0.0.1:${galera[n]};ist.recv_addr=127.0.0.1:${ist[n]};gcache.size=64M"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:${sst[n]}
EOF
    done
    $is_root && chown -R mysql:mysql "$DIR"
    # The directory itself is mktemp's, mode 700: mysql must get in.
    chmod 755 "$DIR"

    # Only node 1 gets a fresh data directory; the others receive it by SST.
    # --auth-root-authentication-method=normal: root with an empty password
    # (not unix_socket auth), over TCP and the socket alike.
    if ! "$INSTALL_DB" --defaults-file="$(node_dir 1)/my.cnf" \
        --auth-root-authentication-method=normal --skip-test-db \
        >"$DIR/install.log" 2>&1 </dev/null; then
        log "error: $INSTALL_DB failed:"
        tail -n 60 "$DIR/install.log" >&2
        exit 1
    fi

    start_node 1 --wsrep-new-cluster
    wait_synced 1
    node_sql 1 "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
        GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" \
        || fail_node 1 "could not set up root@127.0.0.1"
    # One after the other: a donor serves one state transfer at a time.
    for n in $(seq 2 "$NODES"); do
        start_node "$n"
        wait_synced "$n"
    done
    local size
    size=$(node_sql 1 "SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2)
    [ "$size" = "$NODES" ] || fail_node 1 "cluster size is ${size:-unknown}, not $NODES"

    local urls=""
    for n in $(seq 1 "$NODES"); do
        urls+="${urls:+,}mysql://root@127.0.0.1:${client[n]}"
    done
    export TEST_GALERA_URLS=$urls TEST_GALERA_DIR=$DIR TEST_GALERA_SCRIPT=$SCRIPT
    log "using a throwaway $NODES-node Galera cluster ($("$MYSQLD" --version | sed -E 's/.*Ver ([^ ]+).*/\1/')) at $TEST_GALERA_URLS"

    # Run (not exec) the command so the EXIT trap can clean up; keep its status.
    set +e
    "$@"
    CMD_STATUS=$?
    set -e
    exit "$CMD_STATUS"
}

case ${1:-} in
run) shift; run "$@" ;;
kill | start | wait-synced) control "$@" ;;
*) die "usage: $0 run COMMAND [ARGS...] | kill N | start N | wait-synced N" ;;
esac
