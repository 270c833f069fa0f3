#!/usr/bin/env bash
# The whole suite: the Rust tests (including the generated client's) on
# SQLite and on a real MySQL-compatible server (TEST_MYSQL_URL, or a
# throwaway MariaDB that test-with-mysql.sh starts), the schemathesis
# contract run on both backends, then Swagger UI in headless Chromium, open
# and with a token.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "test: installing cargo-nextest" >&2
    cargo install cargo-nextest --locked
fi

scripts/test-with-mysql.sh cargo nextest run --workspace --all-targets --no-fail-fast "$@"
scripts/test-with-mysql.sh scripts/schemathesis.sh
scripts/test-with-mysql.sh scripts/clients-test.sh

scripts/browser-test.sh
API_TOKEN=browser-test-token scripts/browser-test.sh
