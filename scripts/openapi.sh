#!/usr/bin/env bash
# Regenerates openapi/openapi.json: `taskman openapi` prints the spec exactly
# as the server serves it, with no database and no listener. The test
# spec::the_committed_spec_matches_the_served_one fails when they differ.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --bin taskman -- openapi >openapi/openapi.json.new
mv openapi/openapi.json.new openapi/openapi.json
echo "openapi: wrote openapi/openapi.json" >&2
