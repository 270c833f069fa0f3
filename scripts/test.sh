#!/usr/bin/env bash
# The whole suite, as `make test` and CI run it:
#
#   1. the Rust tests (unit, the behavioural suite on SQLite and MySQL, the
#      fault tests, the README's examples, the generated Rust client), and
#      the doc examples;
#   2. the Galera tests (tests/suite/galera/), on a throwaway 3-node MariaDB
#      Galera cluster (scripts/galera.sh), one replica per node;
#   3. the schemathesis contract run on both backends (a fixed seed and a
#      changing one);
#   4. the TypeScript and Python clients generated from the spec;
#   5. Swagger UI in headless Chromium, open and with a token.
#
# All of it but the Galera step runs against one set of throwaway MariaDB
# servers (scripts/test-with-mysql.sh; TEST_MYSQL_URL names an existing one
# instead); the Galera step starts and removes its own cluster.
# Quiet unless something fails: each step's output goes to
# target/test-logs/STEP.log and is shown when the step fails. Every step
# runs even when an earlier one failed, so one run shows every failure.
# Extra arguments go to `cargo nextest run`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${TASKMAN_TEST_SERVERS:-}" ]]; then
    export TASKMAN_TEST_SERVERS=1
    exec scripts/test-with-mysql.sh "$0" "$@"
fi

logs=target/test-logs
mkdir -p "$logs"
failed=()

# step NAME COMMAND...: runs it, its output into $logs/NAME.log.
step() {
    local name=$1 started=$SECONDS
    shift
    printf 'test: %-10s ' "$name"
    if "$@" >"$logs/$name.log" 2>&1 </dev/null; then
        echo "ok ($((SECONDS - started)) s) $(summary "$name")"
    else
        echo "FAILED ($((SECONDS - started)) s); the end of $logs/$name.log:"
        tail -n 150 "$logs/$name.log" | sed 's/^/    /'
        failed+=("$name")
    fi
}

# The one line of a step's log worth showing on success.
summary() {
    case $1 in
    rust | galera) grep -E '^\s+Summary' "$logs/$1.log" | tail -n 1 | sed -E 's/^\s+Summary \[[^]]*\] //' ;;
    *) : ;;
    esac
}

# The nginx test (tests/suite/nginx.rs) runs Debian's nginx in front of the
# service; as root it is installed when missing (elsewhere the test says it
# is skipped).
install_nginx() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends nginx-light </dev/null ||
        { apt-get update </dev/null && apt-get install -y --no-install-recommends nginx-light </dev/null; }
}
if ! PATH="$PATH:/usr/sbin" command -v nginx >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
    step nginx install_nginx
fi

if ! cargo nextest --version >/dev/null 2>&1; then
    step nextest cargo install --quiet cargo-nextest --locked
fi

# The Galera tests need the cluster of their own step.
step rust cargo nextest run --workspace --all-targets --no-fail-fast --cargo-quiet \
    --status-level fail --final-status-level fail -E 'not test(/^galera::/)' "$@"
# Doc examples (the Rust client's) compile and run; nextest does not run them.
step doctest cargo test --doc --workspace --quiet
step galera scripts/galera.sh run cargo nextest run -p taskman --test suite --no-fail-fast \
    --cargo-quiet --final-status-level fail -E 'test(/^galera::/)'
step contract scripts/schemathesis.sh
step clients scripts/clients-test.sh
step browser scripts/browser-test.sh
step browser-token env API_TOKEN=browser-test-token scripts/browser-test.sh
step browser-nginx env BROWSER_TEST_BASE_PATH=/tasks scripts/browser-test.sh

if ((${#failed[@]})); then
    echo "test: FAILED: ${failed[*]} (logs in $logs/)"
    exit 1
fi
echo "test: all passed (logs in $logs/)"
