#!/usr/bin/env bash
# Generated clients in TypeScript and Python, end to end, on SQLite and on
# MySQL/MariaDB. From the committed spec (openapi/openapi.json) it generates
#   - TypeScript types with openapi-typescript (clients/typescript/, pinned in
#     its package-lock.json) into clients/typescript/generated/, and builds
#     the test with tsc in strict mode (a type error fails the run);
#   - a Python client with openapi-python-client (clients/python/
#     requirements.txt, installed into .venv-clients/) into
#     clients/python/generated/;
# then, for each backend, starts the server on a fresh database and a free
# loopback port and runs clients/typescript/test/taskman.test.ts and
# readme.test.ts (node --test), and clients/python/test_taskman_client.py and
# test_readme_snippets.py (pytest) against it. The readme tests run the
# snippets of clients/README.md, read from it at test time.
#
# The same two generators also make the previous release's clients, from
# tests/clients-previous/openapi.json (the spec before status, completed_dt,
# priority and complete/reopen), into clients/*/generated-previous/; against
# the same server clients/typescript/test-previous/previous.test.ts and
# clients/python/previous/test_previous_client.py call every operation of
# that spec through them and check that each answer still parses into the
# old types and models (issue 18: old clients keep working).
#
#   TEST_MYSQL_URL=mysql://root@127.0.0.1:3306 scripts/clients-test.sh
#   scripts/test-with-mysql.sh scripts/clients-test.sh   # throwaway MariaDB
#
# TEST_MYSQL_URL is required (a server we may create and drop a database on);
# without it the script fails, it never skips the MySQL run.
#
# Optional:
#   CLIENTS_BACKENDS="sqlite mysql"   which backends to run (default: both)
#   CLIENTS_HEALTH_TIMEOUT=60         seconds to wait for /v1/health
#   CLIENTS_RUN_TIMEOUT=300           seconds one client's test run may take
#   PYTHON=python3                    interpreter for the virtualenv (>= 3.11)
#
# Quiet on success: installs, generation and each run log to target/clients/
# (printed on failure, with the server log's tail). Works as root or not,
# with no TTY and no stdin.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { echo "clients-test: $*" >&2; }
die() { log "error: $*"; exit 1; }

backends=${CLIENTS_BACKENDS:-sqlite mysql}
health_timeout=${CLIENTS_HEALTH_TIMEOUT:-60}
run_timeout=${CLIENTS_RUN_TIMEOUT:-300}
logs=$root/target/clients
ts_dir=$root/clients/typescript
py_dir=$root/clients/python

# --- Preconditions, before anything slow --------------------------------------
for backend in $backends; do
    case $backend in
    sqlite) ;;
    mysql)
        [[ -n "${TEST_MYSQL_URL:-}" ]] || die "TEST_MYSQL_URL is not set. The client tests need a MySQL/MariaDB" \
            "server they may create and drop a database on, e.g." \
            "TEST_MYSQL_URL=mysql://root@127.0.0.1:3306 $0, or let scripts/test-with-mysql.sh start one:" \
            "scripts/test-with-mysql.sh $0 (CLIENTS_BACKENDS=sqlite runs SQLite only, on purpose)"
        ;;
    *) die "unknown backend '$backend' in CLIENTS_BACKENDS (expected sqlite and/or mysql)" ;;
    esac
done
command -v node >/dev/null || die "node (>= 20) is required"
command -v npm >/dev/null || die "npm is required"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "node >= 20 is required (found $(node --version))"
python=${PYTHON:-python3}
command -v "$python" >/dev/null || die "$python not found (Python >= 3.11 is needed)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "$("$python" --version 2>&1) is too old: the generated client needs Python >= 3.11 (set PYTHON=...)"

# Requests to the server under test must not go through a proxy.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost,::1 no_proxy=127.0.0.1,localhost,::1
export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

rm -rf "$logs"
mkdir -p "$logs"

# quietly LOG CMD... -> runs CMD with its output in LOG; on failure prints it.
quietly() {
    local logfile=$1
    shift
    if ! "$@" </dev/null >"$logfile" 2>&1; then
        log "failed: $* (output in ${logfile#"$root"/}):"
        tail -n 80 "$logfile" >&2
        return 1
    fi
}

# --- Node dependencies -----------------------------------------------------------
# Reinstall when the lock file or Node's version changes.
want=$( { cat "$ts_dir/package-lock.json"; node --version; } | sha256sum | cut -d' ' -f1)
stamp=$ts_dir/node_modules/.clients-test.sha256
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
    log "npm ci in clients/typescript/"
    (cd "$ts_dir" && quietly "$logs/npm-ci.log" npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
fi

# --- The Python virtualenv --------------------------------------------------------
venv=$root/.venv-clients
requirements=$py_dir/requirements.txt
want=$( { cat "$requirements"; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
stamp=$venv/.clients-requirements.sha256
if [[ ! -x $venv/bin/python || ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
    log "creating .venv-clients/ from clients/python/requirements.txt"
    if ! "$python" -m venv --clear "$venv" </dev/null >"$logs/venv.log" 2>&1; then
        if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
            log "python's venv module is missing; installing Debian's python3-venv"
            quietly "$logs/apt.log" apt-get update
            quietly "$logs/apt.log" env DEBIAN_FRONTEND=noninteractive \
                apt-get install -y --no-install-recommends python3-venv
            quietly "$logs/venv.log" "$python" -m venv --clear "$venv"
        else
            cat "$logs/venv.log" >&2
            die "'$python -m venv' failed; install python3-venv"
        fi
    fi
    quietly "$logs/pip.log" "$venv/bin/python" -m pip install --requirement "$requirements"
    echo "$want" >"$stamp"
fi
py=$venv/bin/python
harness=$root/contract/harness.py # free-port, wait-health, mysql-create/-drop

# --- Generate the clients from the committed spec --------------------------------
# generate SPEC SUFFIX -> TypeScript types into clients/typescript/generated$SUFFIX/
# (built with tsconfig$SUFFIX.json) and the Python client into
# clients/python/generated$SUFFIX/
generate() {
    local spec=$1 suffix=$2
    rm -rf "$ts_dir/generated$suffix" "$py_dir/generated$suffix"
    (
        cd "$ts_dir"
        quietly "$logs/openapi-typescript$suffix.log" node_modules/.bin/openapi-typescript "$spec" \
            --output "generated$suffix/schema.d.ts"
        # One tsc run both typechecks (strict, see tsconfig.json) and emits the
        # JS that node runs; noEmitOnError: with a type error nothing is run.
        quietly "$logs/tsc$suffix.log" node_modules/.bin/tsc --project "tsconfig$suffix.json"
    )
    # ruff (a dependency of the generator) formats the output; it must be on PATH.
    PATH="$venv/bin:$PATH" quietly "$logs/openapi-python-client$suffix.log" \
        "$venv/bin/openapi-python-client" generate --path "$spec" --output-path "$py_dir/generated$suffix" --overwrite
    # It exits 0 even when it had to leave parts of the spec out; that is a failure.
    if grep -q 'Warning' "$logs/openapi-python-client$suffix.log"; then
        cat "$logs/openapi-python-client$suffix.log" >&2
        die "openapi-python-client warned about ${spec#"$root"/} (above)"
    fi
}
log "generating the TypeScript types and the Python client, building the test (tsc, strict)"
generate "$root/openapi/openapi.json" ""
log "generating the previous release's clients from tests/clients-previous/openapi.json"
generate "$root/tests/clients-previous/openapi.json" -previous

# --- The server binary -------------------------------------------------------------
log "cargo build --bin taskman"
quietly "$logs/cargo-build.log" nice -n 10 cargo build --bin taskman
built="${CARGO_TARGET_DIR:-$root/target}/debug/taskman"
[[ -x $built ]] || die "no server binary at $built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/taskman-clients.XXXXXX")
# A private copy: a concurrent `cargo build` may replace the binary.
cp "$built" "$tmp/taskman"

server_pid=
mysql_db_url=
cleanup() {
    local status=$?
    stop_server || true
    if [[ -n $mysql_db_url ]]; then
        "$py" "$harness" mysql-drop "$TEST_MYSQL_URL" "$mysql_db_url" || true
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

# run_client BACKEND NAME BASE_URL CMD... -> runs one client's tests, logged
run_client() {
    local backend=$1 name=$2 base=$3
    shift 3
    local logfile=$logs/$backend/$name.log status=0
    TASKMAN_URL=$base timeout --kill-after=10 "$run_timeout" "$@" </dev/null >"$logfile" 2>&1 || status=$?
    if ((status != 0)); then
        ((status != 124)) || log "[$backend] $name: no result within $run_timeout s"
        log "[$backend] $name FAILED (exit $status); its output (${logfile#"$root"/}):"
        cat "$logfile" >&2
        return 1
    fi
    log "[$backend] $name: $(summary "$name" "$logfile")"
}

# summary NAME LOG -> the runner's own count of passed and failed tests
summary() {
    case $1 in
    typescript*) awk '/^# pass /{p=$3} /^# fail /{f=$3} END{print p " passed, " f " failed"}' "$2" ;;
    python*) tail -n 1 "$2" | sed -E 's/^=+ //; s/ =+$//' ;;
    esac
}

# run_backend NAME DATABASE_URL -> 0 when both clients passed
run_backend() {
    local name=$1 database_url=$2
    mkdir -p "$logs/$name"
    local port base
    port=$("$py" "$harness" free-port)
    base=http://127.0.0.1:$port

    # A clean environment: no API_TOKEN, no webhook. Warnings come 2 s before
    # an expiry, looked for every 100 ms, so the stream tests get theirs fast.
    env -i PATH="$PATH" HOME="${HOME:-/root}" RUST_LOG=info \
        DATABASE_URL="$database_url" BIND_ADDR="127.0.0.1:$port" \
        WARN_BEFORE=2s TICK_INTERVAL=100ms SHUTDOWN_TIMEOUT=5s \
        "$tmp/taskman" </dev/null >"$logs/$name/server.log" 2>&1 &
    server_pid=$!
    if ! "$py" "$harness" wait-health "$base" "$health_timeout" "$server_pid"; then
        log "[$name] the server did not come up; last lines of its log:"
        stop_server
        tail -n 40 "$logs/$name/server.log" >&2
        return 1
    fi

    local status=0
    # One test file at a time: they share the server, and a test that
    # deletes every task must not run beside one that waits for a warning.
    run_client "$name" typescript "$base" node --test --test-concurrency=1 --test-reporter=tap \
        "$ts_dir/generated/build/test/taskman.test.js" "$ts_dir/generated/build/test/readme.test.js" || status=1
    run_client "$name" python "$base" env PYTHONPATH="$py_dir/generated" \
        "$py" -m pytest -p no:cacheprovider -q --rootdir "$py_dir" \
        "$py_dir/test_taskman_client.py" "$py_dir/test_readme_snippets.py" || status=1
    run_client "$name" typescript-previous "$base" node --test --test-reporter=tap \
        "$ts_dir/generated-previous/build/test-previous/previous.test.js" || status=1
    run_client "$name" python-previous "$base" env PYTHONPATH="$py_dir/generated-previous" \
        "$py" -m pytest -p no:cacheprovider -q --rootdir "$py_dir/previous" \
        "$py_dir/previous/test_previous_client.py" || status=1

    if ! kill -0 "$server_pid" 2>/dev/null; then
        log "[$name] the server died during the run"
        status=1
    fi
    stop_server
    if ((status != 0)); then
        log "[$name] last lines of the server log (${logs#"$root"/}/$name/server.log):"
        tail -n 40 "$logs/$name/server.log" >&2
    fi
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
        mysql_db_url=$("$py" "$harness" mysql-create "$TEST_MYSQL_URL") ||
            die "could not create a database on TEST_MYSQL_URL"
        run_backend mysql "$mysql_db_url" || failed+=(mysql)
        "$py" "$harness" mysql-drop "$TEST_MYSQL_URL" "$mysql_db_url"
        mysql_db_url=
        ;;
    esac
done

if ((${#failed[@]})); then
    die "the client tests FAILED on: ${failed[*]}"
fi
log "TypeScript and Python clients, current and previous, passed on: $backends"
