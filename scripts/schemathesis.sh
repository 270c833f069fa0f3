#!/usr/bin/env bash
# Contract fuzzing: schemathesis (pinned in contract/requirements.txt, installed
# into .venv-contract/) against the real server, once on SQLite and once on
# MySQL/MariaDB, each on a fresh database and a free loopback port. All
# checks, positive and negative data, a fixed seed and a changing one, bounded examples; settings in
# contract/schemathesis.toml. Exits non-zero if either run reports a failure.
#
#   TEST_MYSQL_URL=mysql://root@127.0.0.1:3306 scripts/schemathesis.sh
#   scripts/test-with-mysql.sh scripts/schemathesis.sh   # throwaway MariaDB
#
# TEST_MYSQL_URL is required (a server we may create and drop a database on);
# without it the script fails, it never skips the MySQL run.
#
# Optional:
#   CONTRACT_BACKENDS="sqlite mysql"   which runs to do (default: both)
#   CONTRACT_HEALTH_TIMEOUT=60         seconds to wait for /v1/health
#   CONTRACT_RUN_TIMEOUT=900           seconds one schemathesis run may take
#   PYTHON=python3                     interpreter for the virtualenv (>= 3.11)
#   CONTRACT_SEED=N                    the second run's seed (default: a new one each run)
#   CONTRACT_EXAMPLES=60               examples per operation in the second run
#
# Reports (schemathesis output, JUnit XML, HAR of every request, server log)
# are kept in target/contract/<backend>/.
#
# Works as root or not, with no TTY and no stdin.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { echo "schemathesis.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

backends=${CONTRACT_BACKENDS:-sqlite mysql}
health_timeout=${CONTRACT_HEALTH_TIMEOUT:-60}
run_timeout=${CONTRACT_RUN_TIMEOUT:-900}
# Besides the fixed seed, a seed that changes with each run, so that runs
# over time explore more than one fixed set of cases; printed, and
# reproducible with CONTRACT_SEED.
changing_seed=${CONTRACT_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
changing_examples=${CONTRACT_EXAMPLES:-60}
[[ $changing_seed =~ ^[0-9]+$ ]] || die "CONTRACT_SEED must be a number, not '$changing_seed'"

# --- Preconditions, before anything slow --------------------------------------
for backend in $backends; do
    case $backend in
    sqlite) ;;
    mysql)
        [[ -n "${TEST_MYSQL_URL:-}" ]] || die "TEST_MYSQL_URL is not set. The contract run needs a MySQL/MariaDB" \
            "server it may create and drop a database on, e.g." \
            "TEST_MYSQL_URL=mysql://root@127.0.0.1:3306 $0, or let scripts/test-with-mysql.sh start one:" \
            "scripts/test-with-mysql.sh $0 (CONTRACT_BACKENDS=sqlite runs SQLite only, on purpose)"
        ;;
    *) die "unknown backend '$backend' in CONTRACT_BACKENDS (expected sqlite and/or mysql)" ;;
    esac
done

# Requests to the server under test must not go through a proxy.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost,::1 no_proxy=127.0.0.1,localhost,::1
export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

# --- The virtualenv ------------------------------------------------------------
venv=$root/.venv-contract
requirements=$root/contract/requirements.txt
python=${PYTHON:-python3}
command -v "$python" >/dev/null || die "$python not found (Python >= 3.11 is needed for schemathesis 4)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "$("$python" --version 2>&1) is too old: schemathesis 4 needs Python >= 3.11 (set PYTHON=...)"

# Reinstall when the requirements or the interpreter change.
want=$( { cat "$requirements"; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
stamp=$venv/.contract-requirements.sha256
if [[ ! -x $venv/bin/python || ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
    log "creating $venv from contract/requirements.txt"
    if ! "$python" -m venv --clear "$venv" </dev/null; then
        if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
            log "python's venv module is missing; installing Debian's python3-venv"
            apt-get update </dev/null >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv </dev/null >&2
            "$python" -m venv --clear "$venv" </dev/null
        else
            die "'$python -m venv' failed; install python3-venv"
        fi
    fi
    "$venv/bin/python" -m pip install --quiet --requirement "$requirements" </dev/null
    echo "$want" >"$stamp"
fi
st=$venv/bin/schemathesis
py=$venv/bin/python
log "$("$st" --version); fixed seed from contract/schemathesis.toml, changing seed $changing_seed"

# --- The server binary -----------------------------------------------------------
log "cargo build --bin taskman"
nice -n 10 cargo build --bin taskman </dev/null
built="${CARGO_TARGET_DIR:-$root/target}/debug/taskman"
[[ -x $built ]] || die "no server binary at $built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/taskman-contract.XXXXXX")
# A private copy: a concurrent `cargo build` may replace target/debug/taskman.
cp "$built" "$tmp/taskman"

server_pid=
feeder_pid=
mysql_db_url=
cleanup() {
    local status=$?
    stop_feeder || true
    stop_server || true
    if [[ -n $mysql_db_url ]]; then
        "$py" "$root/contract/harness.py" mysql-drop "$TEST_MYSQL_URL" "$mysql_db_url" || true
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop_server() {
    [[ -n $server_pid ]] || return 0
    local pid=$server_pid
    server_pid=
    kill -TERM "$pid" 2>/dev/null || return 0
    # SHUTDOWN_TIMEOUT below is 5 s; give it a little more, then kill.
    for _ in $(seq 1 80); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

stop_feeder() {
    [[ -n $feeder_pid ]] || return 0
    kill -TERM "$feeder_pid" 2>/dev/null || true
    wait "$feeder_pid" 2>/dev/null || true
    feeder_pid=
}

# run_seed NAME BASE OUT LABEL [schemathesis options] -> 0 when it found nothing
run_seed() {
    local name=$1 base=$2 out=$3 label=$4
    shift 4
    local started=$SECONDS status statuses
    mkdir -p "$out/report/$label" "$tmp/$name/$label"
    log "[$name] schemathesis, seed $label"
    set +e
    (
        # cwd: the run's scratch directory, so nothing (.hypothesis/, ...) lands in the repo.
        cd "$tmp/$name/$label"
        TASKMAN_BASE_URL=$base SCHEMATHESIS_HOOKS=$root/contract/hooks.py NO_COLOR=1 \
            timeout --kill-after=10 "$run_timeout" \
            "$st" --config-file "$root/contract/schemathesis.toml" --no-color \
            run "$base/openapi.json" \
            --report junit,har \
            --report-junit-path "$out/report/$label/junit.xml" \
            --report-har-path "$out/report/$label/requests.har" \
            "$@" \
            </dev/null
    ) >"$out/schemathesis-$label.log" 2>&1
    statuses=("${PIPESTATUS[@]}")
    set -e
    status=${statuses[0]}
    log "[$name] seed $label: schemathesis exited $status after $((SECONDS - started)) s"
    if [[ -f $out/report/$label/requests.har ]]; then
        "$py" "$root/contract/harness.py" audit-har "$out/report/$label/requests.har" "$base" >&2 || status=1
    else
        log "[$name] seed $label: no HAR report was written"
        status=1
    fi
    if [[ $status -ne 0 ]]; then
        log "[$name] seed $label FAILED; what schemathesis reported:"
        sed -n '/FAILURES/,$p' "$out/schemathesis-$label.log" >&2
        [[ $label == fixed ]] || log "[$name] reproduce with: CONTRACT_SEED=$label CONTRACT_BACKENDS=$name $0"
    fi
    return "$status"
}

# run_backend NAME DATABASE_URL -> 0 when schemathesis found nothing
run_backend() {
    local name=$1 database_url=$2
    local out=$root/target/contract/$name
    rm -rf "$out"
    mkdir -p "$out/report" "$tmp/$name"

    local port base
    port=$("$py" "$root/contract/harness.py" free-port)
    base=http://127.0.0.1:$port

    # A clean environment: no API_TOKEN (open mode), no webhook, nothing
    # inherited that could make the server talk to anything but its database.
    env -i PATH="$PATH" HOME="${HOME:-/root}" RUST_LOG=info \
        DATABASE_URL="$database_url" BIND_ADDR="127.0.0.1:$port" \
        WARN_BEFORE=2s TICK_INTERVAL=100ms SHUTDOWN_TIMEOUT=5s \
        "$tmp/taskman" </dev/null >"$out/server.log" 2>&1 &
    server_pid=$!
    "$py" "$root/contract/harness.py" wait-health "$base" "$health_timeout" "$server_pid" || {
        log "[$name] the server did not come up; last lines of its log:"
        stop_server
        tail -n 40 "$out/server.log" >&2
        return 1
    }
    log "[$name] server pid $server_pid on $base"

    # Expired tasks at a steady pace, so the event stream always has events
    # for schemathesis to validate (see feed_events in contract/harness.py).
    "$py" "$root/contract/harness.py" feed-events "$base" </dev/null >/dev/null 2>&1 &
    feeder_pid=$!

    local status=0
    # The fixed seed of schemathesis.toml (the same cases every run), then
    # the changing one, with fewer examples.
    run_seed "$name" "$base" "$out" fixed || status=1
    # The coverage and examples phases enumerate the same cases whatever
    # the seed; only fuzzing and the stateful sequences are drawn from it.
    run_seed "$name" "$base" "$out" "$changing_seed" --seed "$changing_seed" \
        --max-examples "$changing_examples" --phases fuzzing,stateful || status=1
    stop_feeder

    if ! kill -0 "$server_pid" 2>/dev/null; then
        log "[$name] the server died during the run"
        status=1
    fi
    stop_server

    if [[ $status -ne 0 ]]; then
        log "[$name] FAILED; last lines of the server log ($out/server.log):"
        tail -n 40 "$out/server.log" >&2
        # (WARN lines are mostly the expiry warnings the service logs by design.)
        if grep -qE ' ERROR |panicked' "$out/server.log"; then
            log "[$name] last errors in the server log:"
            grep -E ' ERROR |panicked' "$out/server.log" | tail -n 20 >&2
        fi
    fi
    log "[$name] reports in ${out#"$root"/}/"
    return "$status"
}

failed=()
for backend in $backends; do
    case $backend in
    sqlite)
        mkdir -p "$tmp/sqlite-db"
        run_backend sqlite "sqlite://$tmp/sqlite-db/taskman.db?mode=rwc" || failed+=(sqlite)
        ;;
    mysql)
        mysql_db_url=$("$py" "$root/contract/harness.py" mysql-create "$TEST_MYSQL_URL") ||
            die "could not create a database on TEST_MYSQL_URL"
        log "[mysql] database ${mysql_db_url##*/}"
        run_backend mysql "$mysql_db_url" || failed+=(mysql)
        "$py" "$root/contract/harness.py" mysql-drop "$TEST_MYSQL_URL" "$mysql_db_url"
        mysql_db_url=
        ;;
    esac
done

if ((${#failed[@]})); then
    log "contract run FAILED on: ${failed[*]}"
    exit 1
fi
log "contract run passed on: $backends"
