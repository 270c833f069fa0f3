#!/usr/bin/env bash
# Run a command (typically the test suite) with a MySQL-compatible server available.
#
#   scripts/test-with-mysql.sh cargo nextest run
#
# - If TEST_MYSQL_URL is already set, it is used as is and the command is exec'd.
# - Otherwise a throwaway MariaDB server is started in a fresh temp directory on a
#   free 127.0.0.1 port, TEST_MYSQL_URL=mysql://root@127.0.0.1:PORT is exported,
#   the command is run, and the server and its directory are removed on exit.
#   The exit code is the command's exit code.
#
# Works as root (CI: no TTY, no stdin) and as a normal user. As root, a missing
# MariaDB server is installed from Debian's packages.
set -euo pipefail

log() { printf 'test-with-mysql: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$#" -gt 0 ] || die "usage: $0 COMMAND [ARGS...]"

# 1. An externally provided server wins.
if [ -n "${TEST_MYSQL_URL:-}" ]; then
    # Print only scheme://host:port/db, never credentials.
    log "using TEST_MYSQL_URL from the environment ($(printf '%s' "$TEST_MYSQL_URL" | sed -E 's#//[^@/]*@#//#'))"
    exec "$@"
fi

# 2. Start our own throwaway MariaDB.

# The server binaries usually live in /usr/sbin, which is often not on a normal
# user's PATH, so look there too.
SEARCH_PATH="$PATH:/usr/sbin:/usr/local/sbin:/sbin:/usr/local/mysql/bin"

# find_bin NAME... -> prints the first NAME found on SEARCH_PATH
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

is_root=false
[ "$(id -u)" -eq 0 ] && is_root=true

if ! find_bin mariadbd mysqld >/dev/null; then
    if $is_root; then
        log "no MariaDB server found; installing Debian's mariadb-server (non-interactive)"
        export DEBIAN_FRONTEND=noninteractive
        # </dev/null: CI has no stdin and nothing here may prompt.
        apt-get update </dev/null >&2
        apt-get install -y --no-install-recommends mariadb-server mariadb-client </dev/null >&2
        # The package may start the system service on 3306; we do not use it.
    else
        die "no MariaDB/MySQL server binary (mariadbd/mysqld) found. Either install one" \
            "(e.g. 'sudo apt-get install mariadb-server mariadb-client') or point the tests" \
            "at an existing server: TEST_MYSQL_URL=mysql://user:pass@host:port $0 $*"
    fi
fi

MYSQLD=$(find_bin mariadbd mysqld) || die "mariadbd/mysqld still not found after install"
INSTALL_DB=$(find_bin mariadb-install-db mysql_install_db) || die "mariadb-install-db/mysql_install_db not found"
CLIENT=$(find_bin mariadb mysql) || die "mariadb/mysql client not found (install mariadb-client)"
ADMIN=$(find_bin mariadb-admin mysqladmin) || die "mariadb-admin/mysqladmin not found (install mariadb-client)"

# Pick a free TCP port on 127.0.0.1 by letting the kernel choose one. There is a
# small window in which another process could grab it; acceptable for tests.
pick_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    # Fallback without python3: random high ports until one refuses connections.
    local p _
    for _ in $(seq 1 50); do
        p=$(( 20000 + RANDOM % 40000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    return 1
}
PORT=$(pick_port) || die "could not find a free TCP port"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/test-mysql.XXXXXX")
DATADIR="$TMP/data"
SOCKET="$TMP/mysqld.sock"   # short path: unix socket paths are limited to ~107 bytes
PIDFILE="$TMP/mysqld.pid"
ERRLOG="$TMP/error.log"
mkdir -p "$DATADIR" "$TMP/tmp"

# mariadbd refuses to run as root unless explicitly told to.
user_opt=()
$is_root && user_opt=(--user=root)

SERVER_PID=""
CMD_STATUS=""

# shellcheck disable=SC2317  # only invoked via trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        "$ADMIN" --no-defaults --protocol=socket --socket="$SOCKET" -uroot \
            --connect-timeout=5 shutdown >/dev/null 2>&1 || true
        # Give it a few seconds to stop cleanly, then kill it.
        local _
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            kill -TERM "$SERVER_PID" 2>/dev/null || true
            sleep 2
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
    # Preserve the command's exit status if it ran, else the current one.
    exit "${CMD_STATUS:-$rc}"
}
trap cleanup EXIT
# On a signal, exit with the conventional 128+N status; the EXIT trap cleans up.
trap 'CMD_STATUS=${CMD_STATUS:-130}; exit 130' INT
trap 'CMD_STATUS=${CMD_STATUS:-143}; exit 143' TERM

# Options shared by install-db and the server. --no-defaults must come first:
# no /etc/mysql/*.cnf or ~/.my.cnf is read, so the system server's config
# (port 3306, /run/mysqld socket, ...) cannot interfere.
common_opts=(
    --no-defaults
    ${user_opt[@]+"${user_opt[@]}"}  # empty-array-safe under set -u on old bash
    --datadir="$DATADIR"
)

# --auth-root-authentication-method=normal: root gets an empty password (not
# unix_socket auth), so root can log in over TCP and via the socket whatever
# OS user we are. --skip-test-db: not needed; faster.
if ! "$INSTALL_DB" "${common_opts[@]}" \
        --auth-root-authentication-method=normal \
        --skip-test-db \
        --skip-name-resolve \
        >"$TMP/install.log" 2>&1 </dev/null; then
    log "error: $INSTALL_DB failed:"
    tail -n 60 "$TMP/install.log" >&2
    exit 1
fi

# --character-set-server/--collation-server mirror Debian's default
# 50-server.cnf, which --no-defaults skips (the compiled-in default is latin1).
# --skip-name-resolve: 127.0.0.1 matches 'root'@'127.0.0.1' without DNS.
"$MYSQLD" "${common_opts[@]}" \
    --socket="$SOCKET" \
    --pid-file="$PIDFILE" \
    --port="$PORT" \
    --bind-address=127.0.0.1 \
    --skip-name-resolve \
    --tmpdir="$TMP/tmp" \
    --log-error="$ERRLOG" \
    --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_unicode_ci \
    </dev/null >>"$TMP/server.out" 2>&1 &
SERVER_PID=$!

fail_start() {
    log "error: MariaDB did not become ready: $*"
    log "last lines of $ERRLOG:"
    tail -n 40 "$ERRLOG" >&2 2>/dev/null || true
    tail -n 10 "$TMP/server.out" >&2 2>/dev/null || true
    exit 1
}

# Wait (up to ~60 s, polling every 0.2 s) until the server answers on its socket.
deadline=$(( SECONDS + 60 ))
until "$ADMIN" --no-defaults --protocol=socket --socket="$SOCKET" -uroot \
        --connect-timeout=2 ping >/dev/null 2>&1; do
    kill -0 "$SERVER_PID" 2>/dev/null || { SERVER_PID=""; fail_start "server process exited"; }
    [ "$SECONDS" -lt "$deadline" ] || fail_start "timed out after 60 s"
    sleep 0.2
done

# Make sure 'root'@'127.0.0.1' exists with an empty password and all privileges
# (install-db normally creates it already; this is a no-op then).
"$CLIENT" --no-defaults --protocol=socket --socket="$SOCKET" -uroot --batch -e "
    CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
    FLUSH PRIVILEGES;" </dev/null >/dev/null 2>"$TMP/setup.err" \
    || { cat "$TMP/setup.err" >&2; fail_start "could not set up root@127.0.0.1"; }

# Final check: exactly what the tests will do, a TCP login as root with no password.
"$CLIENT" --no-defaults --protocol=tcp -h127.0.0.1 -P"$PORT" -uroot --batch \
    -e 'SELECT 1' </dev/null >/dev/null 2>"$TMP/setup.err" \
    || { cat "$TMP/setup.err" >&2; fail_start "TCP login as root@127.0.0.1 failed"; }

export TEST_MYSQL_URL="mysql://root@127.0.0.1:$PORT"
log "using throwaway MariaDB $("$MYSQLD" --version | sed -E 's/.*Ver ([^ ]+).*/\1/') at $TEST_MYSQL_URL (pid $SERVER_PID)"

# Run (not exec) the command so the EXIT trap can clean up; keep its status.
set +e
"$@"
CMD_STATUS=$?
set -e
exit "$CMD_STATUS"
