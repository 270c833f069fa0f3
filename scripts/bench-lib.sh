# shellcheck shell=bash
# shellcheck disable=SC2034 # the globals it sets are for the caller
# What scripts/bench.sh and scripts/bench-compare.sh share: tools, starting
# and stopping a server, one wrk run, and seeding tasks in SQL. Sourced, not
# run. The caller sets TMP (a scratch directory), DURATION and WARMUP, and
# TASKS before seeding or loading.

log() { echo "${LOG_NAME:-bench}: $*" >&2; }
die() { log "$*"; exit 1; }

# need_tools TOOL…: installs the missing ones from Debian when we may.
need_tools() {
    local missing=() tool
    for tool in "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
    ((${#missing[@]})) || return 0
    ((EUID == 0)) || die "install ${missing[*]} (Debian: apt-get install ${missing[*]})"
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null ||
        { DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null; }
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }

PID=
stop() {
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    PID=
}

# start BINARY DATABASE_URL [cache]: serves on $PORT; sets STARTUP_MS and,
# with `cache` (a taskman binary), CACHE_MS (until "expiry cache loaded")
# and PENDING (the count that line gives).
start() {
    local bin=$1 url=$2 cache=${3:-} t0
    PORT=$(free_port)
    : >"$TMP/server.log"
    t0=$(now_ms)
    DATABASE_URL=$url BIND_ADDR=127.0.0.1:$PORT NO_COLOR=1 "$bin" >>"$TMP/server.log" 2>&1 &
    PID=$!
    STARTUP_MS=
    CACHE_MS=
    PENDING=
    local deadline=$((SECONDS + 600)) line
    while :; do
        kill -0 "$PID" 2>/dev/null || { tail -n 20 "$TMP/server.log" >&2; die "$bin exited early"; }
        if [[ -z $STARTUP_MS ]] && curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/v1/tasks/1"; then
            STARTUP_MS=$(($(now_ms) - t0))
        fi
        if [[ -n $cache && -z $CACHE_MS ]] && line=$(grep -m1 'expiry cache loaded' "$TMP/server.log"); then
            CACHE_MS=$(($(now_ms) - t0))
            PENDING=$(sed -n 's/.*count=\([0-9]*\).*/\1/p' <<<"$line")
        fi
        [[ -n $STARTUP_MS && (-z $cache || -n $CACHE_MS) ]] && return
        ((SECONDS < deadline)) || die "$bin not ready within 600 s"
        sleep 0.05
    done
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
rss_mb() { awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }

# load OP CONNS [PATH]: warm-up, then the measured run; sets RPS, P50, P99
# (ms), CPU (server µs per request), ERRS (non-2xx + socket errors), RSS.
load() {
    local op=$1 c=$2 path=${3:-/v1/tasks} url="http://127.0.0.1:$PORT" t0 t1 line
    local requests duration_us p50_us p99_us non2xx sockerr
    OP=$op TASKS=$TASKS REQ_PATH=$path wrk -t2 -c"$c" -d"${WARMUP}s" -s bench/lua/wrk.lua "$url" >/dev/null
    t0=$(cpu_ticks)
    line=$(OP=$op TASKS=$TASKS REQ_PATH=$path wrk -t2 -c"$c" -d"${DURATION}s" --latency -s bench/lua/wrk.lua "$url" | grep '^BENCH')
    t1=$(cpu_ticks)
    eval "${line#BENCH }" # requests duration_us p50_us p99_us non2xx sockerr
    RPS=$(awk -v r="$requests" -v d="$duration_us" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
    P50=$(awk -v v="$p50_us" 'BEGIN { printf "%.2f", v / 1000 }')
    P99=$(awk -v v="$p99_us" 'BEGIN { printf "%.2f", v / 1000 }')
    CPU=$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v r="$requests" 'BEGIN { printf "%.0f", r ? t * 1e6 / hz / r : 0 }')
    ERRS=$((non2xx + sockerr))
    RSS=$(rss_mb)
}

# MariaDB: mysql_url URL sets MY_USER, MY_PASS, MY_HOST, MY_PORT.
mysql_url() {
    [[ $1 =~ ^mysql://([^:@/]+)(:([^@]*))?@([^:/]+)(:([0-9]+))? ]] || die "cannot read the MySQL URL $1"
    MY_USER=${BASH_REMATCH[1]} MY_PASS=${BASH_REMATCH[3]} MY_HOST=${BASH_REMATCH[4]} MY_PORT=${BASH_REMATCH[6]:-3306}
}
mysql_cli() { mariadb -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" ${MY_PASS:+-p"$MY_PASS"} "$@"; }

# --- Seeding -------------------------------------------------------------
#
# Every column of task n is a function of n alone, the same on both
# backends, so that a table seeded by doubling (MariaDB) and one seeded in
# one statement (SQLite) hold the same tasks:
#
# - expiry in 2099, scattered with respect to the ids: never due;
# - created one second apart, ending two days ago; changed up to a day
#   after creation, so at least a day ago: the server's scheduled reconcile
#   (which re-reads the tasks changed in its last minute or so) must not
#   re-read the seed during the measured runs;
# - a third done (n % 3 = 0, spread over the ids), completed when last
#   changed; priorities 1–5, none for about one in seven;
# - one to three of ten labels (SEED_LABELS), as adjacent names: `home`
#   alone is on about 20 % of the tasks, `home` and `work` together on 10 %;
# - the common word (SEED_COMMON) in the title of 20 % and the description
#   of 10 % of the tasks; the rare word (SEED_RARE) in two tasks of every
#   20,000 (0.01 %), one in its title, one in its description.
#
# Columns the schema does not have (status and priority before completion
# and priorities, labels before labels) are left out: the seed runs on any
# version of the schema the binary under test creates. With the labels'
# and the text search's triggers in place, these plain INSERTs keep their
# indexes in step.

SEED_LABELS=(Home Work Urgent Errands Finance Health Travel Garden Family Reading)
SEED_COMMON=invoice
SEED_RARE=zeppelin

# label_case EXPR [lower]: the SQL for label number EXPR (0–9).
label_case() {
    local i sql="CASE $1"
    for i in "${!SEED_LABELS[@]}"; do
        local name=${SEED_LABELS[$i]}
        [[ ${2:-} == lower ]] && name=${name,,}
        sql+=" WHEN $i THEN '$name'"
    done
    echo "$sql END"
}

# sql_cat A B …: string concatenation in SEED_DIALECT's SQL.
sql_cat() {
    if [[ $SEED_DIALECT == sqlite ]]; then
        local out=$1 a
        shift
        for a in "$@"; do out+=" || $a"; done
        echo "($out)"
    else
        local IFS=,
        echo "CONCAT($*)"
    fi
}

# seed_columns DIALECT COLUMN…: sets SEED_INTO (the column list) and
# SEED_SELECT (their values, over a row source `t` with n, w, h, la, lc),
# for the columns given (the table's own), and SEED_OPTIONAL (which of
# status, priority and labels the table has and the seed fills).
seed_columns() {
    local dialect=$1
    SEED_DIALECT=$1
    shift
    local -A has=()
    local col
    for col in "$@"; do has[$col]=1; done
    local expiry create update
    if [[ $dialect == sqlite ]]; then
        expiry="4070908800000000 + (n * 2654435761 % 31536000) * 1000000"
        create="$SEED_BASE_S * 1000000 + n * 1000000"
        update="$SEED_BASE_S * 1000000 + (n + n * 40499 % 86400) * 1000000"
    else
        expiry="TIMESTAMP('2099-01-01') + INTERVAL (n * 2654435761 % 31536000) SECOND"
        create="TIMESTAMP('$SEED_BASE') + INTERVAL n SECOND"
        update="TIMESTAMP('$SEED_BASE') + INTERVAL (n + n * 40499 % 86400) SECOND"
    fi
    local title description
    title=$(sql_cat "'bench task '" n "CASE WHEN w < 200 THEN ' $SEED_COMMON' ELSE '' END" \
        "CASE WHEN n % 20000 = 7777 THEN ' $SEED_RARE' ELSE '' END")
    description="CASE WHEN n % 20000 = 17777 THEN 'ask about the $SEED_RARE'
        WHEN w >= 200 AND w < 300 THEN 'check the $SEED_COMMON before paying'
        WHEN w < 600 THEN 'seeded by make bench' END"
    SEED_INTO="id, title, description, expiry_dt, create_dt, update_dt"
    SEED_OPTIONAL=()
    SEED_SELECT="n, $title, $description, $expiry, $create, $update"
    if [[ -n ${has[status]:-} ]]; then
        SEED_INTO+=", status, completed_dt"
        SEED_OPTIONAL+=(status)
        SEED_SELECT+=", CASE WHEN n % 3 = 0 THEN 'done' ELSE 'open' END, CASE WHEN n % 3 = 0 THEN $update END"
    fi
    if [[ -n ${has[priority]:-} ]]; then
        SEED_INTO+=", priority"
        SEED_OPTIONAL+=(priority)
        SEED_SELECT+=", CASE WHEN h % 7 = 0 THEN NULL ELSE h % 5 + 1 END"
    fi
    if [[ -n ${has[labels]:-} && -n ${has[label_keys]:-} ]]; then
        local json=() form
        for form in "" lower; do
            json+=("$(sql_cat "'[\"'" "$(label_case la $form)" "'\"'" \
                "CASE WHEN lc >= 2 THEN $(sql_cat "',\"'" "$(label_case "(la + 1) % 10" $form)" "'\"'") ELSE '' END" \
                "CASE WHEN lc = 3 THEN $(sql_cat "',\"'" "$(label_case "(la + 2) % 10" $form)" "'\"'") ELSE '' END" \
                "']'")")
        done
        SEED_INTO+=", labels, label_keys"
        SEED_OPTIONAL+=(labels)
        SEED_SELECT+=", ${json[0]}, ${json[1]}"
    fi
}

# The derived values each row's columns are made from, over a source of n.
SEED_DERIVED="n, n * 48271 % 1000 AS w, n * 2654435761 % 4294967296 AS h,
    n * 40503 % 65521 % 10 AS la, 1 + n * 48271 % 65521 % 3 AS lc"

# Base of the creation times: the last task created two days ago.
seed_base() {
    SEED_BASE_S=$(($(date +%s) - 2 * 86400 - TASKS))
    SEED_BASE=$(date -u -d "@$SEED_BASE_S" '+%Y-%m-%d %H:%M:%S')
}

# seed_sqlite FILE: TASKS tasks, in one statement; sets SEED_MS.
seed_sqlite() {
    local db=$1 t0
    seed_base
    # shellcheck disable=SC2046 # one column name a word
    seed_columns sqlite $(sqlite3 "$db" "SELECT name FROM pragma_table_info('task')")
    t0=$(now_ms)
    sqlite3 "$db" "PRAGMA synchronous = OFF; WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $TASKS),
        t AS (SELECT $SEED_DERIVED FROM s)
        INSERT INTO task ($SEED_INTO) SELECT $SEED_SELECT FROM t;"
    SEED_MS=$(($(now_ms) - t0))
}

# seed_mysql DATABASE: TASKS tasks by doubling INSERT … SELECT (about 20
# statements for a million); sets SEED_MS.
seed_mysql() {
    local db=$1 t0 have=1 k
    seed_base
    # shellcheck disable=SC2046 # one column name a word
    seed_columns mysql $(mysql_cli -N -e "SELECT column_name FROM information_schema.columns
        WHERE table_schema = '$db' AND table_name = 'task'")
    t0=$(now_ms)
    mysql_cli "$db" -e "INSERT INTO task ($SEED_INTO) SELECT $SEED_SELECT FROM (SELECT $SEED_DERIVED FROM (SELECT 1 AS n) s) t"
    while ((have < TASKS)); do
        k=$((TASKS - have < have ? TASKS - have : have))
        # Explicit ids: bulk auto-increment may leave gaps, and the load picks ids in 1..TASKS.
        mysql_cli "$db" -e "INSERT INTO task ($SEED_INTO) SELECT $SEED_SELECT FROM
            (SELECT $SEED_DERIVED FROM (SELECT id + $have AS n FROM task ORDER BY id LIMIT $k) s) t"
        have=$((have + k))
    done
    SEED_MS=$(($(now_ms) - t0))
}
