# The README's commands. `make test` is what CI runs (through .ci/run).
.PHONY: run test bench bench-quick fuzz client-scenario coverage services hooks lint fmt check-domain

run:
	cargo run --release -- serve

# Every test: domain units, the port contract suite on SQLite and Postgres,
# HTTP end-to-end tests against the real binary, the load tool's small run
# (its invariant checks, never its speed figures), then the OpenAPI fuzzer and the
# generated TypeScript client's scenario.
test:
	cargo test --workspace --all-targets
	$(MAKE) bench-quick
	$(MAKE) fuzz
	$(MAKE) client-scenario

# The flash-sale load tool on release servers: one table of figures as ratios to
# /health/live and to pgbench's hot row, measured in the same run (docs/performance.md).
bench:
	cargo build --release -p boxoffice-server -p boxoffice-loadtest
	target/release/boxoffice-loadtest

# The same scenarios, small, on debug builds: checks the invariants after each.
bench-quick:
	cargo build -p boxoffice-server -p boxoffice-loadtest
	BENCH_QUICK=1 target/debug/boxoffice-loadtest

# The OpenAPI document validated by openapi-spec-validator, then schemathesis against
# servers on SQLite and Postgres (fixed seed; FUZZ_SEED and FUZZ_EXAMPLES override).
fuzz:
	scripts/fuzz

# A TypeScript client generated from the OpenAPI document (openapi-typescript and
# openapi-fetch from npm) drives a server: register, log in, event, hold, confirm,
# book, cancel.
client-scenario:
	scripts/client-scenario

# Line coverage of every Rust test (cargo-llvm-cov; installed on first use), as a
# summary table; the HTML report lands in target/llvm-cov/html.
coverage:
	@command -v cargo-llvm-cov >/dev/null || cargo install cargo-llvm-cov --locked
	rustup component add llvm-tools-preview
	cargo llvm-cov --workspace --all-targets --html
	cargo llvm-cov report --summary-only

# Starts the local Postgres and Redis the tests use (127.0.0.1:5432 and :6379) when
# they are not running. With Docker: docker compose --profile test-services up -d.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
	@pg_isready -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 -p 6379 ping

# Installs a git pre-commit hook that runs `cargo fmt --all --check` and clippy.
hooks:
	install -m 755 scripts/pre-commit .git/hooks/pre-commit
	@echo "installed .git/hooks/pre-commit"

lint: check-domain
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

# The domain must not depend on any adapter crate. `cargo tree -i` exits 0 with nothing
# to print when the crate is in the lock but not among the domain's normal dependencies,
# so the check reads what it prints.
check-domain:
	@for dep in diesel diesel-async actix-web deadpool-redis jsonwebtoken bcrypt serde; do \
		if cargo tree -p boxoffice-domain -e normal -i $$dep 2>/dev/null | grep -q .; then \
			echo "boxoffice-domain depends on $$dep"; exit 1; \
		fi; \
	done; echo "boxoffice-domain depends on no adapter crate"
