#!/usr/bin/env bash
# Resident memory of the real server holding 1,000,000 pending tasks.
#
# Starts target/release/taskman on a throwaway SQLite database (loopback
# only), records its RSS with an empty database, stops it, bulk-inserts the
# tasks straight into the SQLite file (expiries in 2099: nothing falls due),
# starts it again, waits for the expiry cache to be loaded, records the RSS
# again and reports (loaded - baseline) / tasks. Bounded in time; stops the
# server and removes the database on every exit.
#
# Environment: TASKS (default 1000000), TASKMAN_BIN (default
# target/release/taskman), START_TIMEOUT / LOAD_TIMEOUT / STOP_TIMEOUT in
# seconds (defaults 30 / 300 / 30), SETTLE seconds to wait after loading
# before reading the RSS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

TASKS=${TASKS:-1000000}
BIN=${TASKMAN_BIN:-target/release/taskman}
START_TIMEOUT=${START_TIMEOUT:-30}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-300}
STOP_TIMEOUT=${STOP_TIMEOUT:-30}
SETTLE=${SETTLE:-2}
TARGET=150

log() { echo "bench-memory: $*" >&2; }
die() {
    log "$*"
    exit 1
}

[[ -x $BIN ]] || die "$BIN not found: run 'cargo build --release --bin taskman' first"
command -v python3 >/dev/null || die "python3 is needed for the bulk insert"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/taskman-bench-memory.XXXXXX")
SERVER_PID=

cleanup() {
    local status=$?
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 $((STOP_TIMEOUT * 10))); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ $status -ne 0 && -f $TMP/server.log ]]; then
        log "server log (last 20 lines):"
        tail -n 20 "$TMP/server.log" >&2 || true
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free loopback port (the kernel picks; released just before the server binds it).
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DB=$TMP/t.db

start_server() {
    : >"$TMP/server.log"
    DATABASE_URL="sqlite://$DB?mode=rwc" \
        BIND_ADDR="127.0.0.1:$PORT" \
        WARN_BEFORE=1m \
        RUST_LOG=info \
        NO_COLOR=1 \
        "$BIN" >>"$TMP/server.log" 2>&1 &
    SERVER_PID=$!
}

stop_server() {
    kill -TERM "$SERVER_PID"
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        ((SECONDS < deadline)) || die "the server did not stop within ${STOP_TIMEOUT}s of SIGTERM"
        sleep 0.1
    done
    local status=0
    wait "$SERVER_PID" || status=$?
    SERVER_PID=
    ((status == 0)) || die "the server exited with status $status after SIGTERM"
}

# Waits for the "expiry cache loaded" line (and a healthy API); prints its count.
wait_loaded() {
    local timeout=$1 deadline=$((SECONDS + $1)) line
    while :; do
        kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited early"
        line=$(sed 's/\x1b\[[0-9;]*m//g' "$TMP/server.log" | grep -m1 'expiry cache loaded' || true)
        if [[ -n $line ]] && curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/v1/health"; then
            sed -n 's/.*count=\([0-9]*\).*/\1/p' <<<"$line"
            return
        fi
        ((SECONDS < deadline)) || die "no 'expiry cache loaded' within ${timeout}s"
        sleep 0.2
    done
}

# VmRSS or VmHWM of the server, in kB.
status_kb() {
    awk -v key="$1:" '$1 == key { print $2 }' "/proc/$SERVER_PID/status"
}

# 1. Empty database: the server creates the schema; baseline RSS.
log "starting $BIN on 127.0.0.1:$PORT with an empty database"
start_server
count=$(wait_loaded "$START_TIMEOUT")
[[ $count == 0 ]] || die "expected an empty cache, the server loaded $count"
sleep "$SETTLE"
baseline_kb=$(status_kb VmRSS)
stop_server

# 2. Bulk insert, straight into the file while the server is stopped.
log "inserting $TASKS tasks"
insert_started=$SECONDS
python3 - "$DB" "$TASKS" <<'PY'
import sqlite3, sys, time

db, tasks = sys.argv[1], int(sys.argv[2])
now = int(time.time() * 1_000_000)
base = 4_070_908_800 * 1_000_000  # 2099-01-01T00:00:00Z
year = 365 * 24 * 3600
con = sqlite3.connect(db)
con.execute("PRAGMA synchronous = OFF")
with con:
    con.executemany(
        "INSERT INTO task (id, title, description, expiry_dt, create_dt, update_dt)"
        " VALUES (?, ?, NULL, ?, ?, ?)",
        # Expiries spread over 2099, scattered with respect to the ids.
        ((i, f"bench task {i}", base + (i * 2_654_435_761 % year) * 1_000_000, now, now)
         for i in range(1, tasks + 1)),
    )
(n,) = con.execute("SELECT COUNT(*) FROM task WHERE expiry_dt IS NOT NULL").fetchone()
con.close()
if n != tasks:
    sys.exit(f"inserted {n} tasks, expected {tasks}")
PY
log "inserted in $((SECONDS - insert_started))s"

# 3. Start again: the cache is loaded from the database in the background.
log "starting again; waiting up to ${LOAD_TIMEOUT}s for the expiry cache to load"
load_started=$SECONDS
start_server
count=$(wait_loaded "$LOAD_TIMEOUT")
load_secs=$((SECONDS - load_started))
[[ $count == "$TASKS" ]] || die "the server loaded $count pending tasks, expected $TASKS"
sleep "$SETTLE"
loaded_kb=$(status_kb VmRSS)
peak_kb=$(status_kb VmHWM)
stop_server

per_task=$(((loaded_kb - baseline_kb) * 1024 / TASKS))
echo
echo "server RSS, empty database:        $baseline_kb kB"
echo "server RSS, $TASKS pending tasks: $loaded_kb kB (peak $peak_kb kB; loaded in ~${load_secs}s)"
echo "server RSS per pending task:       $per_task bytes (target < $TARGET: $(
    ((per_task < TARGET)) && echo met || echo MISSED
))"
