#!/usr/bin/env bash
# scripts/bench-compare.sh OLD_BIN NEW_BIN: GET by id and POST of two
# taskman builds, interleaved, on SQLite and on MariaDB, so that a small
# difference ("within 5 %") can be read on a noisy machine.
#
# Each build gets a database of its own (a build refuses a schema migrated
# by a later one), created by itself and seeded as `make bench` seeds
# (scripts/bench-lib.sh: the columns its schema has). Then, for each
# round, each build in turn is started, warmed up and measured for every
# operation, and stopped; the order alternates between rounds (old new,
# new old, old new, …) so that a drift of the machine during a round falls
# on both alike. Before each run the tasks the previous run's POSTs created
# are gone (SQLite: a copy of the seeded file; MariaDB: deleted), so every
# run starts from the same table. Reports, per backend and operation, each
# build's median req/s with its range and spread, p99 and server CPU per
# request, the round-by-round ratio new ÷ old of req/s (median and range)
# and of server CPU per request (which other load on the machine moves
# less), and says when one build's runs differ by more than 10 %; writes
# the tables to target/bench/compare.md.
#
# Environment: COMPARE_ROUNDS (default 5), COMPARE_DURATION (10, seconds),
# COMPARE_WARMUP (3), COMPARE_CONNS (16), COMPARE_TASKS (10000),
# COMPARE_BACKENDS ("sqlite mysql"), COMPARE_OPS ("get post"). MariaDB:
# TEST_MYSQL_URL, else a throwaway server from scripts/test-with-mysql.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

LOG_NAME=bench-compare
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

(($# == 2)) || die "usage: $0 OLD_BIN NEW_BIN (release builds of taskman)"
OLD=$(realpath "$1")
NEW=$(realpath "$2")
[[ -x $OLD && -x $NEW ]] || die "$1 and $2 must be executables"
ROUNDS=${COMPARE_ROUNDS:-5}
DURATION=${COMPARE_DURATION:-10}
WARMUP=${COMPARE_WARMUP:-3}
CONNS=${COMPARE_CONNS:-16}
TASKS=${COMPARE_TASKS:-10000}
BACKENDS=${COMPARE_BACKENDS:-sqlite mysql}
OPS=${COMPARE_OPS:-get post}
OUT=target/bench

if [[ $BACKENDS == *mysql* && -z ${TEST_MYSQL_URL:-} ]]; then
    exec scripts/test-with-mysql.sh "$0" "$@"
fi
need_tools wrk

mkdir -p "$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/taskman-bench-compare.XXXXXX")
MY_DBS=()
cleanup() {
    stop
    local db
    for db in "${MY_DBS[@]}"; do mysql_cli -e "DROP DATABASE IF EXISTS $db" || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

declare -A BIN_OF=([old]=$OLD [new]=$NEW) URL_OF=()
# RESULTS[backend op c which] = "rps p99 cpu errs" of each round, one a line.
declare -A RESULTS=()

# prepare BACKEND WHICH: the build's own database, with its schema and the seed.
prepare() {
    local backend=$1 which=$2 bin=${BIN_OF[$2]}
    if [[ $backend == sqlite ]]; then
        local db=$TMP/$which.db
        URL_OF[$backend $which]="sqlite://$db?mode=rwc"
        start "$bin" "${URL_OF[$backend $which]}" cache
        stop
        seed_sqlite "$db"
        cp "$db" "$TMP/$which.seeded.db"
    else
        local db=taskman_compare_$which
        MY_DBS+=("$db")
        mysql_cli -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
        URL_OF[$backend $which]="mysql://$MY_USER${MY_PASS:+:$MY_PASS}@$MY_HOST:$MY_PORT/$db"
        start "$bin" "${URL_OF[$backend $which]}" cache
        stop
        seed_mysql "$db"
    fi
    log "$backend, $which: $TASKS tasks seeded in ${SEED_MS} ms (with ${SEED_OPTIONAL[*]:-none of status, priority, labels})"
}

# reset BACKEND WHICH: back to the seeded tasks.
reset() {
    if [[ $1 == sqlite ]]; then
        rm -f "$TMP/$2.db" "$TMP/$2.db-wal" "$TMP/$2.db-shm"
        cp "$TMP/$2.seeded.db" "$TMP/$2.db"
    else
        mysql_cli "taskman_compare_$2" -e "DELETE FROM task WHERE id > $TASKS"
    fi
}

# run BACKEND WHICH: one round of one build.
run() {
    local backend=$1 which=$2 op c
    reset "$backend" "$which"
    start "${BIN_OF[$which]}" "${URL_OF[$backend $which]}" cache
    for c in $CONNS; do
        for op in $OPS; do
            load "$op" "$c"
            RESULTS[$backend $op $c $which]+="$RPS $P99 $CPU $ERRS"$'\n'
            log "$backend $which $op c=$c: $RPS req/s, p99 $P99 ms, $CPU µs/req, $ERRS errors"
        done
    done
    stop
}

# stats: of numbers on stdin, "median min max".
stats() { sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'; }
# a ratio as a percentage change; a list of them on one line.
pct() { awk '{ printf "%+.1f %%\n", 100 * ($1 - 1) }'; }
pct_list() { pct | paste -sd';' | sed 's/;/, /g'; }
# per_round COLUMN KEY: new ÷ old of a result column, round by round.
per_round() {
    paste <(col "$1" <<<"${RESULTS[$2 new]}") <(col "$1" <<<"${RESULTS[$2 old]}") |
        awk '{ printf "%.3f\n", $2 ? $1 / $2 : 0 }'
}
# column N of a result list.
col() { awk -v n="$1" 'NF { print $n }'; }

NOISY=
UPTIME_BEFORE=$(uptime)
for backend in $BACKENDS; do
    if [[ $backend == mysql ]]; then mysql_url "$TEST_MYSQL_URL"; fi
    prepare "$backend" old
    prepare "$backend" new
    for round in $(seq 1 "$ROUNDS"); do
        if ((round % 2)); then order=(old new); else order=(new old); fi
        log "$backend, round $round of $ROUNDS: ${order[*]}"
        for which in "${order[@]}"; do run "$backend" "$which"; done
    done
done
UPTIME_AFTER=$(uptime)

{
    echo "# bench-compare — $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "old: $OLD  "
    echo "new: $NEW  "
    echo "$TASKS tasks, $ROUNDS rounds (old new, new old, …), wrk -t2, ${WARMUP} s warm-up then ${DURATION} s; $(nproc) cores; load before: ${UPTIME_BEFORE##*load average: }, after: ${UPTIME_AFTER##*load average: }"
    echo
    echo "| backend | operation | c | build | req/s median | req/s min–max | spread | p99 ms median | server CPU µs/req median | non-2xx + errors |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for backend in $BACKENDS; do
        for op in $OPS; do
            for c in $CONNS; do
                for which in old new; do
                    list=${RESULTS[$backend $op $c $which]}
                    read -r med lo hi < <(col 1 <<<"$list" | stats)
                    read -r p99 _ _ < <(col 2 <<<"$list" | stats)
                    read -r cpu _ _ < <(col 3 <<<"$list" | stats)
                    errs=$(col 4 <<<"$list" | awk '{ s += $1 } END { print s }')
                    spread=$(awk -v a="$lo" -v b="$hi" -v m="$med" 'BEGIN { printf "%.1f %%", 100 * (b - a) / m }')
                    if awk -v s="${spread% %}" 'BEGIN { exit !(s > 10) }'; then NOISY+="$backend $op $which, "; fi
                    printf '| %s | %s | %s | %s | %.0f | %.0f–%.0f | %s | %.2f | %.0f | %s |\n' \
                        "$backend" "$op" "$c" "$which" "$med" "$lo" "$hi" "$spread" "$p99" "$cpu" "$errs"
                done
            done
        done
    done
    echo
    echo "new ÷ old, paired by round (each round ran both builds back to back): req/s, and server CPU per request, which other load on the machine moves less:"
    echo
    echo "| backend | operation | c | req/s per round | req/s median | req/s min … max | reading | server CPU µs/req per round (+: more) | CPU median |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for backend in $BACKENDS; do
        for op in $OPS; do
            for c in $CONNS; do
                ratios=$(per_round 1 "$backend $op $c")
                cpus=$(per_round 3 "$backend $op $c")
                read -r med lo hi < <(stats <<<"$ratios")
                read -r cpu_med _ _ < <(stats <<<"$cpus")
                reading=$(awk -v m="$med" -v lo="$lo" -v hi="$hi" 'BEGIN {
                    if (lo >= 0.95) print "within 5 % in every round"
                    else if (hi < 0.95) print "**more than 5 % slower in every round**"
                    else if (m >= 0.95) print "within 5 % by the median, not in every round"
                    else print "**more than 5 % slower by the median**, not in every round" }')
                echo "| $backend | $op | $c | $(pct_list <<<"$ratios") | $(pct <<<"$med") | $(pct <<<"$lo") … $(pct <<<"$hi") | $reading | $(pct_list <<<"$cpus") | $(pct <<<"$cpu_med") |"
            done
        done
    done
    if [[ -n $NOISY ]]; then
        echo
        echo "Runs of one build differ by more than 10 % (${NOISY%, }): the machine was too noisy to read a 5 % difference from req/s alone."
    fi
} | tee "$OUT/compare.md"
