# The README's commands. `make test` is what CI runs (through .ci/run).
.PHONY: run test lint fmt check-domain

run:
	cargo run --release -- serve

# Every test: domain units, the port contract suite on SQLite and Postgres,
# HTTP end-to-end tests against the real binary.
test:
	cargo test --workspace --all-targets

lint: check-domain
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

# The domain must not depend on any adapter crate.
check-domain:
	@for dep in diesel diesel-async actix-web deadpool-redis jsonwebtoken bcrypt serde; do \
		if cargo tree -p boxoffice-domain -e normal -i $$dep >/dev/null 2>&1; then \
			echo "boxoffice-domain depends on $$dep"; exit 1; \
		fi; \
	done; echo "boxoffice-domain depends on no adapter crate"
