#!/usr/bin/env bash
# The SQL is checked at build time (sqlx::query!) against the offline data in .sqlx/, so a build
# needs no database. After changing a query or a migration, run this to refresh .sqlx/ (and
# commit it); `scripts/sqlx-prepare.sh --check` (run by scripts/test.sh) fails when .sqlx/ no
# longer matches the queries and the migrations, e.g. a migration renamed a column a query uses.
# Both build a scratch database, relance_sqlx, from migrations/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RELANCE_ROOT"

ensure_postgres
ensure_sqlx_cli

psql_admin -c 'DROP DATABASE IF EXISTS relance_sqlx WITH (FORCE)' >/dev/null
psql_admin -c 'CREATE DATABASE relance_sqlx' >/dev/null
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/relance_sqlx SQLX_OFFLINE=false
cargo sqlx migrate run --source migrations >/dev/null
cargo sqlx prepare --workspace "$@" -- --all-targets --locked
