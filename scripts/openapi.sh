#!/usr/bin/env bash
# Regenerates openapi/openapi.json from the spec the server actually serves:
# builds taskman, starts it on a throwaway SQLite database on a free loopback
# port, and saves GET /openapi.json. (Not through the test suite: the
# generated client in the suite is built from this file, so a stale file
# would stop the suite from compiling.)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --bin taskman
tmp=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATABASE_URL="sqlite://$tmp/openapi.db?mode=rwc" BIND_ADDR="127.0.0.1:$port" RUST_LOG=warn \
    target/debug/taskman >"$tmp/server.log" 2>&1 &
server=$!

python3 - "$port" openapi/openapi.json <<'PY'
import json, sys, time, urllib.request
port, target = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + 60
while True:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=5) as response:
            spec = json.load(response)
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("openapi: the server did not answer within 60 s")
        time.sleep(0.2)
with open(target, "w", encoding="utf-8") as out:
    json.dump(spec, out, indent=2, sort_keys=True, ensure_ascii=False)
    out.write("\n")
print(f"openapi: wrote {target}")
PY
