#!/usr/bin/env bash
# Swagger UI in a real browser: builds taskman, serves it on a fresh SQLite
# database on a free loopback port, and runs e2e/*.test.mjs (node --test) in
# Debian's headless Chromium driven by playwright-core. No browser download:
# Chromium comes from Debian (installed here when missing, as root).
#
# Optional: API_TOKEN (or API_TOKEN_FILE) is passed to the server, and the
# test then authorizes in Swagger UI with it (TASKMAN_API_TOKEN).
# BROWSER_TEST_HEALTH_TIMEOUT: seconds to wait for /v1/health (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { echo "browser-test: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Never let playwright-core (or anything npm runs) fetch a browser build.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

# --- Chromium (Debian's) ---------------------------------------------------
if [[ ! -x "$CHROMIUM_PATH" ]]; then
    if [[ "$CHROMIUM_PATH" != /usr/bin/chromium ]]; then
        die "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable"
    fi
    if [[ "$(id -u)" -ne 0 ]]; then
        die "/usr/bin/chromium is missing and this is not root; install it with: sudo apt-get install chromium"
    fi
    log "installing Debian's chromium"
    apt-get update </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium </dev/null
    [[ -x /usr/bin/chromium ]] || die "apt-get installed chromium but /usr/bin/chromium is still missing"
fi
log "$("$CHROMIUM_PATH" --version 2>/dev/null || echo "chromium at $CHROMIUM_PATH")"

# --- Node and playwright-core ----------------------------------------------
command -v node >/dev/null || die "node (>= 20) is required"
command -v npm >/dev/null || die "npm is required"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "node >= 20 is required (found $(node --version))"
if [[ ! -d e2e/node_modules/playwright-core ]]; then
    log "npm ci in e2e/"
    (cd e2e && npm ci --no-audit --no-fund </dev/null)
fi

# --- The server --------------------------------------------------------------
log "cargo build --bin taskman"
cargo build --bin taskman
bin="${CARGO_TARGET_DIR:-$root/target}/debug/taskman"
[[ -x "$bin" ]] || die "no server binary at $bin"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/taskman-browser-test.XXXXXX")
server_pid=
cleanup() {
    local status=$?
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if ((status != 0)) && [[ -f "$tmp/server.log" ]]; then
        log "server log (last 40 lines):"
        tail -n 40 "$tmp/server.log" >&2 || true
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A copy, so a concurrent rebuild of target/ cannot swap the binary under us.
cp "$bin" "$tmp/taskman"

port=$(node -e '
const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
')
base="http://127.0.0.1:$port"

if [[ -z "${API_TOKEN:-}" && -n "${API_TOKEN_FILE:-}" ]]; then
    TASKMAN_API_TOKEN="${TASKMAN_API_TOKEN:-$(tr -d '\r\n' <"$API_TOKEN_FILE")}"
fi
export TASKMAN_API_TOKEN="${TASKMAN_API_TOKEN:-${API_TOKEN:-}}"

log "starting taskman on $base (database in $tmp)"
DATABASE_URL="sqlite://$tmp/taskman.db?mode=rwc" BIND_ADDR="127.0.0.1:$port" \
    "$tmp/taskman" </dev/null >"$tmp/server.log" 2>&1 &
server_pid=$!

deadline=$((SECONDS + ${BROWSER_TEST_HEALTH_TIMEOUT:-60}))
healthy() {
    node -e '
fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
  .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));
' "$base/v1/health"
}
until healthy; do
    kill -0 "$server_pid" 2>/dev/null || die "taskman exited before it became healthy"
    ((SECONDS < deadline)) || die "taskman was not healthy at $base/v1/health within ${BROWSER_TEST_HEALTH_TIMEOUT:-60}s"
    sleep 0.2
done
log "taskman is healthy"

# --- The browser test --------------------------------------------------------
status=0
TASKMAN_URL="$base" node --test e2e/ </dev/null || status=$?
exit "$status"
