#!/usr/bin/env bash
# Swagger UI in a real browser: builds taskman, serves it on a fresh SQLite
# database on a free loopback port, and runs e2e/*.test.mjs (node --test) in
# Debian's headless Chromium driven by playwright-core. No browser download:
# Chromium comes from Debian (installed here when missing, as root).
#
# Optional: API_TOKEN (or API_TOKEN_FILE) is passed to the server, and the
# test then authorizes in Swagger UI with it (TASKMAN_API_TOKEN).
# BROWSER_TEST_BASE_PATH=/tasks: the server runs with that BASE_PATH behind
# Debian's nginx (installed here when missing, as root), which serves it
# under the prefix; the browser reaches it only through nginx.
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
nginx_pid=
cleanup() {
    local status=$?
    if [[ -n "$nginx_pid" ]]; then
        kill "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
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
    BASE_PATH="${BROWSER_TEST_BASE_PATH:-}" TRUSTED_PROXIES=127.0.0.1 \
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

# --- Optionally, nginx in front under a sub-path ------------------------------
prefix=${BROWSER_TEST_BASE_PATH:-}
if [[ -n "$prefix" ]]; then
    nginx=$(PATH="$PATH:/usr/sbin" command -v nginx || true)
    if [[ -z "$nginx" ]]; then
        [[ "$(id -u)" -eq 0 ]] || die "nginx is missing and this is not root; install it with: sudo apt-get install nginx-light"
        log "installing Debian's nginx-light"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light </dev/null ||
            { apt-get update </dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light </dev/null; }
        nginx=$(PATH="$PATH:/usr/sbin" command -v nginx)
    fi
    nport=$(node -e '
const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
')
    user=""
    [[ "$(id -u)" -eq 0 ]] && user="user root;"
    cat >"$tmp/nginx.conf" <<CONF
daemon off; worker_processes 1; pid $tmp/nginx.pid; error_log $tmp/nginx-error.log; $user
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $tmp/body; proxy_temp_path $tmp/proxy; fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi; scgi_temp_path $tmp/scgi;
  server {
    listen 127.0.0.1:$nport;
    location $prefix/ {
      proxy_pass http://127.0.0.1:$port/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
CONF
    "$nginx" -c "$tmp/nginx.conf" -p "$tmp" </dev/null >"$tmp/nginx.log" 2>&1 &
    nginx_pid=$!
    base="http://127.0.0.1:$nport$prefix"
    until healthy; do
        kill -0 "$nginx_pid" 2>/dev/null || die "nginx exited: $(cat "$tmp/nginx-error.log" "$tmp/nginx.log" 2>/dev/null)"
        ((SECONDS < deadline)) || die "nginx did not pass $base/v1/health within ${BROWSER_TEST_HEALTH_TIMEOUT:-60}s"
        sleep 0.2
    done
    log "nginx serves taskman at $base"
fi

# --- The browser test --------------------------------------------------------
status=0
TASKMAN_URL="$base" node --test e2e/ </dev/null || status=$?
exit "$status"
