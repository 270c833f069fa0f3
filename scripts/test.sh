#!/usr/bin/env bash
# The whole suite, on SQLite and on a real MySQL-compatible server
# (TEST_MYSQL_URL, or a throwaway MariaDB that test-with-mysql.sh starts).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "test: installing cargo-nextest" >&2
    cargo install cargo-nextest --locked
fi

exec scripts/test-with-mysql.sh cargo nextest run --all-targets --no-fail-fast "$@"
