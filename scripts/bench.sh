#!/usr/bin/env bash
# make bench: taskman's release build under HTTP load (wrk) on SQLite and
# MariaDB, next to the database's own rate for the same statements (sysbench)
# and the stack floor (bench/floor: poem + sqlx, nothing else). Prints a
# markdown table and writes it to target/bench/report.md.
#
# Environment: BENCH_DURATION (default 10, seconds), BENCH_WARMUP (3),
# BENCH_CONNS ("16 64"), BENCH_SIZES ("10000 1000000"), BENCH_BACKENDS
# ("sqlite mysql"), BENCH_OPS ("get post put patch first deep expiry health":
# a subset runs only those rows, their ceilings and floors), BENCH_QUICK=1 (1 s runs, 10,000 tasks: checks the script,
# not the service). MariaDB: TEST_MYSQL_URL, else a throwaway server from
# scripts/test-with-mysql.sh; MYSQL_SOCKET (default /run/mysqld/mysqld.sock)
# for the Unix-socket row.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${BENCH_QUICK:-0} == 1 ]]; then
    : "${BENCH_DURATION:=1}" "${BENCH_WARMUP:=1}" "${BENCH_SIZES:=10000}"
fi
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-3}
CONNS=${BENCH_CONNS:-16 64}
SIZES=${BENCH_SIZES:-10000 1000000}
BACKENDS=${BENCH_BACKENDS:-sqlite mysql}
OPS=${BENCH_OPS:-get post put patch first deep expiry health}
MYSQL_SOCKET=${MYSQL_SOCKET:-/run/mysqld/mysqld.sock}
OUT=target/bench
BIN=${TASKMAN_BIN:-target/release/taskman}
FLOOR=${FLOOR_BIN:-target/release/taskman-bench-floor}
HZ=$(getconf CLK_TCK)

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

if [[ $BACKENDS == *mysql* && -z ${TEST_MYSQL_URL:-} ]]; then
    exec scripts/test-with-mysql.sh "$0" "$@"
fi

# wrk and sysbench from Debian, installed when missing and we may.
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v sysbench >/dev/null || missing+=(sysbench)
if ((${#missing[@]})); then
    ((EUID == 0)) || die "install ${missing[*]} (Debian: apt-get install ${missing[*]})"
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null ||
        { DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null; }
fi

# BENCH_NO_BUILD=1 with TASKMAN_BIN / FLOOR_BIN: bench binaries built elsewhere.
[[ ${BENCH_NO_BUILD:-0} == 1 ]] ||
    cargo build --release -p taskman -p taskman-bench-floor --bin taskman --bin taskman-bench-floor

mkdir -p "$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/taskman-bench.XXXXXX")
PID=
cleanup() {
    stop
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }

stop() {
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    PID=
}

# start BINARY DATABASE_URL: serves on $PORT; sets STARTUP_MS and, for
# taskman, CACHE_MS (until "expiry cache loaded").
start() {
    local bin=$1 url=$2 t0
    PORT=$(free_port)
    : >"$TMP/server.log"
    t0=$(now_ms)
    DATABASE_URL=$url BIND_ADDR=127.0.0.1:$PORT NO_COLOR=1 "$bin" >>"$TMP/server.log" 2>&1 &
    PID=$!
    STARTUP_MS=
    CACHE_MS=
    local deadline=$((SECONDS + 600))
    while :; do
        kill -0 "$PID" 2>/dev/null || { tail -n 20 "$TMP/server.log" >&2; die "$bin exited early"; }
        if [[ -z $STARTUP_MS ]] && curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/v1/tasks/1"; then
            STARTUP_MS=$(($(now_ms) - t0))
        fi
        if [[ $bin == "$BIN" && -z $CACHE_MS ]] && grep -q 'expiry cache loaded' "$TMP/server.log"; then
            CACHE_MS=$(($(now_ms) - t0))
        fi
        [[ -n $STARTUP_MS && ($bin != "$BIN" || -n $CACHE_MS) ]] && return
        ((SECONDS < deadline)) || die "$bin not ready within 600 s"
        sleep 0.05
    done
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
rss_mb() { awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }

# load OP CONNS [PATH]: warm-up, then the measured run; sets R (fields below).
load() {
    local op=$1 c=$2 path=${3:-/v1/tasks} url="http://127.0.0.1:$PORT" t0 t1 line
    OP=$op TASKS=$TASKS REQ_PATH=$path wrk -t2 -c"$c" -d"${WARMUP}s" -s bench/lua/wrk.lua "$url" >/dev/null
    t0=$(cpu_ticks)
    line=$(OP=$op TASKS=$TASKS REQ_PATH=$path wrk -t2 -c"$c" -d"${DURATION}s" --latency -s bench/lua/wrk.lua "$url" | grep '^BENCH')
    t1=$(cpu_ticks)
    eval "${line#BENCH }" # requests duration_us p50_us p99_us non2xx sockerr
    RPS=$(awk -v r="$requests" -v d="$duration_us" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
    P50=$(awk -v v="$p50_us" 'BEGIN { printf "%.2f", v / 1000 }')
    P99=$(awk -v v="$p99_us" 'BEGIN { printf "%.2f", v / 1000 }')
    CPU=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v r="$requests" 'BEGIN { printf "%.0f", r ? t * 1e6 / hz / r : 0 }')
    ERRS=$((non2xx + sockerr))
    RSS=$(rss_mb)
}

# ceiling STMT CONNS: MariaDB's own statements per second (sysbench).
ceiling() {
    local args=(--db-driver=mysql --mysql-host="$MY_HOST" --mysql-port="$MY_PORT" --mysql-user="$MY_USER"
        --mysql-db="$MY_DB" --threads="$2" --tasks="$TASKS" --stmt="$1" bench/lua/sysbench.lua)
    [[ -n $MY_PASS ]] && args=(--mysql-password="$MY_PASS" "${args[@]}")
    sysbench --time="$WARMUP" "${args[@]}" run >/dev/null
    sysbench --time="$DURATION" "${args[@]}" run | awk '/transactions:/ { gsub(/\(/, "", $3); printf "%.0f", $3 }'
}

wanted() { [[ " $OPS " == *" $1 "* ]]; }

# The database statements behind the operations run (sysbench --stmt).
statements() {
    local op
    for op in $OPS; do
        case $op in
            get | first | deep) echo "$op" ;;
            post) echo insert ;;
            put | patch) echo update ;;
        esac
    done | sort -u
}

ratio() { [[ -n ${2:-} && $2 != 0 && $2 != — ]] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * a / b }' || echo —; }

ROWS=()
row() { ROWS+=("| $* |"); echo "| $* |" >&2; }

seed_sqlite() {
    # Expiries in 2099, scattered with respect to the ids: all pending, none due.
    # Changed a day ago: the server's scheduled reconcile (which re-reads the
    # tasks changed in its last minute or so) must not re-read the whole
    # seed during the measured runs.
    local now
    now=$(($(date +%s%6N) - 86400000000))
    sqlite3 "$1" "PRAGMA synchronous = OFF; WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $TASKS)
        INSERT INTO task (id, title, description, expiry_dt, create_dt, update_dt)
        SELECT n, 'bench task ' || n, NULL, 4070908800000000 + (n * 2654435761 % 31536000) * 1000000,
               $now, $now FROM s;"
}

mysql_cli() { mariadb -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" ${MY_PASS:+-p"$MY_PASS"} "$@"; }

seed_mysql() {
    # Doubling INSERT ... SELECT: about 20 statements for a million rows.
    mysql_cli "$MY_DB" -e "INSERT INTO task (id, title, expiry_dt, create_dt, update_dt)
        VALUES (1, 'bench task', '2099-01-01', UTC_TIMESTAMP(6) - INTERVAL 1 DAY, UTC_TIMESTAMP(6) - INTERVAL 1 DAY)"
    local have=1 k
    while ((have < TASKS)); do
        k=$((TASKS - have < have ? TASKS - have : have))
        # Explicit ids: bulk auto-increment may leave gaps, and the load picks ids in 1..TASKS.
        mysql_cli "$MY_DB" -e "INSERT INTO task (id, title, expiry_dt, create_dt, update_dt)
            SELECT id + $have, title, TIMESTAMP('2099-01-01') + INTERVAL ((id + $have) * 2654435761 % 31536000) SECOND,
                   create_dt, update_dt FROM task ORDER BY id LIMIT $k"
        have=$((have + k))
    done
}

# bench_backend NAME URL [SOCKET_URL]
bench_backend() {
    local name=$1 url=$2 sock_url=${3:-} c
    # The first start creates the schema; seeding then happens behind the server's back.
    start "$BIN" "$url"
    stop
    if [[ $name == sqlite ]]; then seed_sqlite "$SQLITE_DB"; else seed_mysql; fi
    start "$BIN" "$url"
    NOTES+=("- $name, $TASKS tasks (all with a pending expiry): ready ${STARTUP_MS} ms after exec, expiry cache loaded at ${CACHE_MS} ms, RSS $(rss_mb) MB")
    # A cursor near the end of the table, for the deep page.
    local cursor
    cursor=$(curl -fsS "http://127.0.0.1:$PORT/v1/tasks?limit=50&offset=$((TASKS - 100))" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["next_cursor"] or "")')
    local -A floor=()
    for c in $CONNS; do
        local -A ceil=()
        if [[ $name == mysql ]]; then
            for s in $(statements); do ceil[$s]=$(ceiling "$s" "$c"); done
            if [[ $c == 16 ]]; then CEIL_GET16=${ceil[get]:-}; fi
        fi
        for op in $OPS; do
            case $op in
                first) load list "$c" "/v1/tasks?limit=50" ;;
                deep) load list "$c" "/v1/tasks?limit=50&cursor=$cursor" ;;
                expiry) load list "$c" "/v1/tasks?limit=50&expires_after=2099-06-01T00:00:00Z&expires_before=2099-07-01T00:00:00Z" ;;
                health) load list "$c" "/v1/health" ;;
                *) load "$op" "$c" ;;
            esac
            local st=${op/post/insert}
            st=${st/put/update}
            st=${st/patch/update}
            local ce=${ceil[$st]:-—}
            row "$name | $TASKS | $op | $c | $RPS | $P50 | $P99 | $ERRS | $CPU | $RSS | $ce | $(ratio "$RPS" "$ce") | @FLOOR_${name}_${TASKS}_${op}_$c@"
        done
    done
    stop
    # The stack floor, same database, same ids.
    if [[ -x $FLOOR ]]; then
        start "$FLOOR" "$url"
        for c in $CONNS; do
            for op in get post; do
                wanted "$op" || continue
                load "$op" "$c"
                FLOORS["${name}_${TASKS}_${op}_$c"]=$RPS
                row "$name floor | $TASKS | $op | $c | $RPS | $P50 | $P99 | $ERRS | $CPU | $RSS | | | | "
            done
        done
        stop
    else
        NOTES+=("- no stack floor: $FLOOR missing")
    fi
    if [[ -n $sock_url ]] && wanted get; then
        start "$BIN" "$sock_url"
        load get 16
        row "$name socket | $TASKS | get | 16 | $RPS | $P50 | $P99 | $ERRS | $CPU | $RSS | ${CEIL_GET16:-—} | $(ratio "$RPS" "${CEIL_GET16:-}") | |"
        stop
    fi
}

declare -A FLOORS=()
NOTES=()
CEIL_GET16=
UPTIME_BEFORE=$(uptime)
for TASKS in $SIZES; do
    for b in $BACKENDS; do
        log "$b with $TASKS tasks"
        if [[ $b == sqlite ]]; then
            SQLITE_DB=$TMP/bench-$TASKS.db
            rm -f "$SQLITE_DB"*
            bench_backend sqlite "sqlite://$SQLITE_DB?mode=rwc"
        else
            [[ $TEST_MYSQL_URL =~ ^mysql://([^:@/]+)(:([^@]*))?@([^:/]+)(:([0-9]+))? ]] || die "cannot read TEST_MYSQL_URL"
            MY_USER=${BASH_REMATCH[1]} MY_PASS=${BASH_REMATCH[3]} MY_HOST=${BASH_REMATCH[4]} MY_PORT=${BASH_REMATCH[6]:-3306}
            MY_DB=taskman_bench
            mysql_cli -e "DROP DATABASE IF EXISTS $MY_DB; CREATE DATABASE $MY_DB"
            base="mysql://$MY_USER${MY_PASS:+:$MY_PASS}@$MY_HOST:$MY_PORT/$MY_DB"
            sock=
            # The socket row only when the socket leads to the same server.
            if [[ -S $MYSQL_SOCKET ]] && [[ $(mysql_cli -N -e 'SELECT @@port' --socket="$MYSQL_SOCKET" -h localhost 2>/dev/null) == "$MY_PORT" ]]; then
                sock="mysql://$MY_USER${MY_PASS:+:$MY_PASS}@localhost/$MY_DB?socket=$MYSQL_SOCKET"
            else
                NOTES+=("- no Unix-socket row: $MYSQL_SOCKET is not the server at port $MY_PORT (set MYSQL_SOCKET)")
            fi
            # A table larger than the buffer pool reads from disk: say so.
            NOTES+=("- MariaDB $(mysql_cli -N -e 'SELECT VERSION()'), innodb_buffer_pool_size $(mysql_cli -N -e 'SELECT @@innodb_buffer_pool_size DIV 1048576') MB")
            bench_backend mysql "$base" "$sock"
            mysql_cli -e "DROP DATABASE IF EXISTS $MY_DB"
        fi
    done
done
UPTIME_AFTER=$(uptime)

{
    echo "# make bench — $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "wrk -t2, ${WARMUP} s warm-up then ${DURATION} s; $(nproc) cores; load before: ${UPTIME_BEFORE##*load average: }, after: ${UPTIME_AFTER##*load average: }"
    echo
    echo "| backend | tasks | operation | c | req/s | p50 ms | p99 ms | non-2xx + errors | server CPU µs/req | RSS MB | database alone q/s | ÷ ceiling | floor req/s | ÷ floor |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for r in "${ROWS[@]}"; do
        if [[ $r =~ @FLOOR_([a-z]+_[0-9]+_[a-z]+_[0-9]+)@ ]]; then
            key=${BASH_REMATCH[1]} f=${FLOORS[${BASH_REMATCH[1]}]:-}
            rps=$(awk -F'|' '{ gsub(/ /, "", $6); print $6 }' <<<"$r")
            if [[ -n $f ]]; then
                r=${r/@FLOOR_${key}@/$f | $(ratio "$rps" "$f")}
            else
                r=${r/@FLOOR_${key}@/— | —}
            fi
        fi
        echo "$r"
    done
    echo
    printf '%s\n' "${NOTES[@]}"
} | tee "$OUT/report.md"
