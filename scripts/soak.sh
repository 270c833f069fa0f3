#!/usr/bin/env bash
# `make soak`: the release server under ten minutes of mixed load on MariaDB,
# then an overload burst (tests/soak.rs says what is asserted).
#
#   SOAK_DURATION=10m   how long the mixed load runs (at least 90s)
#   SOAK_BURST=20s      how long the 10x overload burst runs; 0s skips it
#   TEST_MYSQL_URL=...  a MariaDB/MySQL server to use; without it a throwaway
#                       one is started (scripts/test-with-mysql.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/test-with-mysql.sh \
    cargo test --release --test soak -- --ignored --nocapture --test-threads 1
