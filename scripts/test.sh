#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy, and all tests (unit, integration against the
# real PostgreSQL and NATS, property tests). Starts (or installs) PostgreSQL and NATS first.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RELANCE_ROOT"

ensure_toolchain
ensure_postgres
ensure_nats

# Each test creates its own database; drop those a previous run left behind.
for db in $(psql_admin -c "SELECT datname FROM pg_database WHERE datname LIKE 'relance_test_%'"); do
  psql_admin -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
done

log "cargo fmt --check"
cargo fmt --all --check
log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "cargo test"
export RELANCE_TEST_DATABASE_URL=${RELANCE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export RELANCE_TEST_NATS_URL=${RELANCE_TEST_NATS_URL:-nats://127.0.0.1:4222}
cargo test --workspace --all-targets --locked 2>&1 | tee "${TMPDIR:-/tmp}/relance-test.log"
# One closing line for CI to read: the totals of every test binary.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "\ntotal: %d passed, %d failed, %d skipped\n", p, f, i }' \
  "${TMPDIR:-/tmp}/relance-test.log"
