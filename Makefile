# taskman — the commands the README shows.
.PHONY: run test test-galera lint openapi bench soak

## Build and serve on the embedded SQLite default (data/taskman.db).
run:
	cargo run --release --bin taskman

## The whole test suite, on SQLite and MySQL/MariaDB (started if needed).
test:
	scripts/test.sh

## Only the Galera tests, on a throwaway 3-node MariaDB Galera cluster
## (scripts/galera.sh; also a step of `make test`).
test-galera:
	scripts/galera.sh run cargo nextest run -p taskman --test suite --no-fail-fast \
		-E 'test(/^galera::/)'

## Formatting and lints, as CI checks them.
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

## Regenerate openapi/openapi.json from the spec the server serves.
openapi:
	scripts/openapi.sh

## HTTP load against the database's own rate and the stack floor (BENCHMARKS.md),
## the list's filters and orders at 1,000,000 tasks against their p99 targets,
## the expiry cache (criterion) and the server's memory with 1,000,000 pending tasks.
## Two builds' GET and POST side by side: scripts/bench-compare.sh OLD_BIN NEW_BIN.
bench:
	scripts/bench.sh
	cargo bench --bench expiry_cache
	cargo build --release --bin taskman
	scripts/bench-memory.sh

## Ten minutes of mixed load, then a 10x overload burst, against MariaDB (not part of `make test`).
soak:
	scripts/soak.sh
