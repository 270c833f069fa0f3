#!/usr/bin/env bash
# make bench: taskman's release build under HTTP load (wrk) on SQLite and
# MariaDB, next to the database's own rate for the same statements (sysbench)
# and the stack floor (bench/floor: poem + sqlx, nothing else). Prints a
# markdown table and writes it to target/bench/report.md.
#
# Environment: BENCH_DURATION (default 10, seconds), BENCH_WARMUP (3),
# BENCH_CONNS ("16 64"), BENCH_SIZES ("10000 1000000"), BENCH_BACKENDS
# ("sqlite mysql"), BENCH_OPS ("get post put patch first deep expiry health
# list-sort list-status list-label list-priority list-q": a subset runs only
# those rows, their ceilings and floors), BENCH_QUICK=1 (1 s runs, 10,000
# tasks: checks the script, not the service). The list-* operations (issue
# 18: each order, status, label, priority range and text search, first and
# deep cursor page, against their p99 targets) run at BENCH_LIST_CONNS
# ("16") and BENCH_LIST_SIZES (the largest of BENCH_SIZES) only.
# MariaDB: TEST_MYSQL_URL, else a throwaway server from
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
OPS=${BENCH_OPS:-get post put patch first deep expiry health list-sort list-status list-label list-priority list-q}
LIST_CONNS=${BENCH_LIST_CONNS:-16}
LIST_SIZES=${BENCH_LIST_SIZES:-$(tr ' ' '\n' <<<"$SIZES" | sort -n | tail -n 1)}
MYSQL_SOCKET=${MYSQL_SOCKET:-/run/mysqld/mysqld.sock}
OUT=target/bench
BIN=${TASKMAN_BIN:-target/release/taskman}
FLOOR=${FLOOR_BIN:-target/release/taskman-bench-floor}
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

if [[ $BACKENDS == *mysql* && -z ${TEST_MYSQL_URL:-} ]]; then
    exec scripts/test-with-mysql.sh "$0" "$@"
fi

# wrk and sysbench from Debian, installed when missing and we may.
need_tools wrk sysbench

# BENCH_NO_BUILD=1 with TASKMAN_BIN / FLOOR_BIN: bench binaries built elsewhere.
[[ ${BENCH_NO_BUILD:-0} == 1 ]] ||
    cargo build --release -p taskman -p taskman-bench-floor --bin taskman --bin taskman-bench-floor

mkdir -p "$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/taskman-bench.XXXXXX")
cleanup() {
    stop
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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

# The list table (issue 18): one row per listing and page, against its
# p99 target.
LIST_ROWS=()
list_row() { LIST_ROWS+=("| $* |"); echo "| $* |" >&2; }

# The query parameters of GET /v1/tasks in the running server's spec.
spec_params() {
    curl -fsS "http://127.0.0.1:$PORT/openapi.json" | python3 -c '
import json, sys
spec = json.load(sys.stdin)
get = next((item["get"] for path, item in spec["paths"].items() if path.endswith("/v1/tasks") and "get" in item), {})
print(" ".join(p.get("name", "") for p in get.get("parameters", [])))'
}

# list_variants OP: the listings an operation measures, one a line:
# QUERY|P99 TARGET (ms)|the spec parameters it needs.
list_variants() {
    local home=${SEED_LABELS[0],,} work=${SEED_LABELS[1],,} s o
    case $1 in
        list-sort)
            for s in id expiry_dt update_dt create_dt priority; do
                for o in asc desc; do echo "sort=$s&order=$o|20|sort order"; done
            done ;;
        list-status) echo "status=open|20|status"; echo "status=done|20|status" ;;
        list-label) echo "label=$home|20|label"; echo "label=$home&label=$work|20|label" ;;
        list-priority) echo "priority_min=4|20|priority_min"; echo "priority_min=2&priority_max=3|20|priority_min priority_max" ;;
        list-q) echo "q=$SEED_COMMON|50|q"; echo "q=$SEED_RARE|50|q" ;;
        *) die "unknown operation $1" ;;
    esac
}

# deep_cursor QUERY LIMIT: prints "TOTAL CURSOR": how many tasks the listing
# has (count=true) and the cursor of the page that starts three quarters
# into it, or later where that page would not be full, but at the second
# page at least (the offset before it walked once, here, not under load).
# Without a total (count refused), follows cursors 20 pages.
# CURSOR is empty when the listing has a single page; "error STATUS" when
# the listing is refused.
deep_cursor() {
    python3 - "http://127.0.0.1:$PORT/v1/tasks?$1" "$2" <<'PY'
import json, sys, urllib.error, urllib.request

base, limit = sys.argv[1], int(sys.argv[2])
def page(extra):
    with urllib.request.urlopen(f"{base}&{extra}", timeout=900) as answer:
        return json.load(answer)
total, cursor = None, None
try:
    try:
        total = page("limit=1&count=true").get("total")
    except urllib.error.HTTPError:
        pass
    if total is not None and total > limit:
        start = max(limit, min(total * 3 // 4, total - limit))
        cursor = page(f"limit={limit}&offset={start - limit}").get("next_cursor")
    else:
        at = page(f"limit={limit}")
        for _ in range(20):
            if not at.get("next_cursor"):
                break
            cursor = at["next_cursor"]
            at = page(f"limit={limit}&cursor={cursor}")
except urllib.error.HTTPError as err:
    print("error", err.code)
    sys.exit()
print("?" if total is None else total, cursor or "")
PY
}

# verdict TARGET_MS: the last load's p99 against it.
verdict() {
    if ((ERRS > 0)); then echo "**$ERRS errors**"
    elif awk -v p="$P99" -v t="$1" 'BEGIN { exit !(p <= t) }'; then echo met
    else echo "**missed**"
    fi
}

# list_rows NAME OP CONNS: each listing of OP, first page and deep cursor
# page, or "not in this build" when the server's spec lacks a parameter.
list_rows() {
    local name=$1 op=$2 c=$3 limit=50 query target needs p found total cursor
    while IFS='|' read -r query target needs; do
        local missing=()
        for p in $needs; do [[ " $SPEC_PARAMS " == *" $p "* ]] || missing+=("$p"); done
        if ((${#missing[@]})); then
            local names=
            for p in "${missing[@]}"; do names+="\`$p\`, "; done
            list_row "$name | $TASKS | $op | \`$query\` | first, deep | $c | — | — | — | — | — | — | ≤ $target ms | not in this build (no ${names%, } in the spec)"
            continue
        fi
        found=$(deep_cursor "$query" "$limit")
        read -r total cursor <<<"$found"
        if [[ $total == error ]]; then
            list_row "$name | $TASKS | $op | \`$query\` | first, deep | $c | — | — | — | — | — | — | ≤ $target ms | **refused: HTTP $cursor**"
            continue
        fi
        load list "$c" "/v1/tasks?$query&limit=$limit"
        list_row "$name | $TASKS | $op | \`$query\` | first | $c | $RPS | $P50 | $P99 | $ERRS | $CPU | $total | ≤ $target ms | $(verdict "$target")"
        if [[ -z $cursor ]]; then
            list_row "$name | $TASKS | $op | \`$query\` | deep | $c | — | — | — | — | — | $total | ≤ $target ms | no second page ($total tasks)"
            continue
        fi
        load list "$c" "/v1/tasks?$query&limit=$limit&cursor=$cursor"
        list_row "$name | $TASKS | $op | \`$query\` | deep | $c | $RPS | $P50 | $P99 | $ERRS | $CPU | $total | ≤ $target ms | $(verdict "$target")"
    done < <(list_variants "$op")
}

in_list() { [[ " $2 " == *" $1 "* ]]; }

# bench_backend NAME URL [SOCKET_URL]
bench_backend() {
    local name=$1 url=$2 sock_url=${3:-} c
    # The first start creates the schema; seeding then happens behind the server's back.
    start "$BIN" "$url" cache
    stop
    if [[ $name == sqlite ]]; then seed_sqlite "$SQLITE_DB"; else seed_mysql "$MY_DB"; fi
    start "$BIN" "$url" cache
    SPEC_PARAMS=$(spec_params)
    NOTES+=("- $name, $TASKS tasks (seeded in $((SEED_MS / 1000)).$((SEED_MS % 1000 / 100)) s, with ${SEED_OPTIONAL[*]:-none of status, priority, labels}; $PENDING with a pending expiry): ready ${STARTUP_MS} ms after exec, expiry cache loaded at ${CACHE_MS} ms, RSS $(rss_mb) MB")
    # A cursor near the end of the table, for the deep page.
    local cursor=
    wanted deep && cursor=$(curl -fsS "http://127.0.0.1:$PORT/v1/tasks?limit=50&offset=$((TASKS - 100))" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["next_cursor"] or "")')
    for c in $CONNS; do
        local -A ceil=()
        if [[ $name == mysql ]]; then
            for s in $(statements); do ceil[$s]=$(ceiling "$s" "$c"); done
            if [[ $c == 16 ]]; then CEIL_GET16=${ceil[get]:-}; fi
        fi
        for op in $OPS; do
            if [[ $op == list-* ]]; then
                if in_list "$c" "$LIST_CONNS" && in_list "$TASKS" "$LIST_SIZES"; then
                    list_rows "$name" "$op" "$c"
                fi
                continue
            fi
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
    if ! wanted get && ! wanted post; then
        : # no floor rows to run
    elif [[ -x $FLOOR ]]; then
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
        start "$BIN" "$sock_url" cache
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
            mysql_url "$TEST_MYSQL_URL"
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
    if ((${#ROWS[@]})); then
        echo
        echo "| backend | tasks | operation | c | req/s | p50 ms | p99 ms | non-2xx + errors | server CPU µs/req | RSS MB | database alone q/s | ÷ ceiling | floor req/s | ÷ floor |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    fi
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
    if ((${#LIST_ROWS[@]})); then
        echo
        echo "List filters and orders, limit 50: the first page, and a cursor page three quarters into the listing (\"matching\": count=true before the rows):"
        echo
        echo "| backend | tasks | operation | query | page | c | req/s | p50 ms | p99 ms | non-2xx + errors | server CPU µs/req | matching | target | |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        printf '%s\n' "${LIST_ROWS[@]}"
    fi
    echo
    printf '%s\n' "${NOTES[@]}"
} | tee "$OUT/report.md"
