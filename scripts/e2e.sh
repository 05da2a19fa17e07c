#!/usr/bin/env bash
# Browser tests of the web app against the real inbox service: builds web/, starts three inbox
# instances (demo data; an empty database with users only, for the empty states; demo data
# behind a real OpenID provider, oidc-provider) on their own databases, and runs web/e2e with
# Debian's Chromium. Screenshots land in web/e2e/artifacts/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RELANCE_ROOT"

ensure_postgres
ensure_nats
ensure_node
ensure_chromium

cargo build --bins --locked -q
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/debug"

log "building the web app"
if [ -z "${RELANCE_WEB_INSTALLED:-}" ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd web && npm run build --silent)

export RELANCE_ENV=development
export RELANCE__AUTH__JWT_SECRET=e2e-jwt-secret-0123456789-0123456789
export RELANCE__INBOX__WEB_DIR="$RELANCE_ROOT/web/dist"
export RELANCE__TELEMETRY__LOG_FORMAT=json
export RELANCE__DIRECTORY__TOKEN=e2e-directory-token-0123456789
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

run_id=$$
namespace() { echo "e2e$1_$run_id"; }

start_inbox() { # database port demo|empty [VAR=value ...]
  local db=$1 port=$2 data=$3
  local extra=("${@:4}")
  psql_admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  psql_admin -c "CREATE DATABASE $db" >/dev/null
  local url="postgres://postgres@127.0.0.1:5432/$db"
  RELANCE__DATABASE__URL=$url "$bin/relance-migrate" >/dev/null
  # A NATS namespace per instance and run: each one's live feed carries its own database's
  # changes, and a rerun's notification ids are not dropped as duplicates of the last run's.
  env RELANCE__DATABASE__URL="$url" RELANCE__INBOX__LISTEN="127.0.0.1:$port" \
    RELANCE__NATS__NAMESPACE="$(namespace "$port")" "${extra[@]}" \
    "$bin/relance-inbox" >"${TMPDIR:-/tmp}/relance-e2e-$port.log" 2>&1 &
  pids+=($!)
  local ready=
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && { ready=1; break; }
    sleep 0.2
  done
  [ -n "$ready" ] || die "inbox on $port not ready; see ${TMPDIR:-/tmp}/relance-e2e-$port.log"
  # The demo goes through the directory API, as a CRM's data would; the empty instance gets
  # the sales team only.
  if [ "$data" = demo ]; then
    load_demo "http://127.0.0.1:$port" "$RELANCE__DIRECTORY__TOKEN" "$bin/relance-migrate" "$url"
    # The demo's interactions are news on the live feed: let the relay publish them before a
    # browser connects, so a test's own changes are the only ones it sees.
    for _ in $(seq 1 50); do
      [ "$(psql -w -h 127.0.0.1 -U postgres -d "$db" -Atqc 'SELECT count(*) FROM interaction_changes')" = 0 ] && break
      sleep 0.2
    done
  else
    for kind in teams users; do
      curl -fsS -X PUT "http://127.0.0.1:$port/api/v1/directory/$kind" \
        -H "Authorization: Bearer $RELANCE__DIRECTORY__TOKEN" -H 'Content-Type: application/json' \
        --data-binary "@$RELANCE_ROOT/scripts/demo/$kind.json" >/dev/null || die "loading the sales team"
    done
  fi
}

start_inbox relance_e2e 18181 demo
start_inbox relance_e2e_empty 18182 empty
# Sign-in with a real OpenID provider (oidc-provider, the npm package): an inbox that trusts it.
node web/e2e/oidc-provider.mjs 18390 http://127.0.0.1:18183 75 >"${TMPDIR:-/tmp}/relance-e2e-oidc.log" 2>&1 &
pids+=($!)
wait_for_port 18390 "oidc-provider"
start_inbox relance_e2e_oidc 18183 demo RELANCE__AUTH__OIDC__ISSUER=http://127.0.0.1:18390 \
  RELANCE__AUTH__OIDC__AUDIENCE=relance-api RELANCE__AUTH__OIDC__CLIENT_ID=relance-web \
  RELANCE__AUTH__DEV_LOGIN=false

log "browser tests (Chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'))"
# The live-feed test runs one reminder pass against the demo instance's database and namespace.
RELANCE_E2E_URL=http://127.0.0.1:18181 RELANCE_E2E_EMPTY_URL=http://127.0.0.1:18182 \
  RELANCE_E2E_REMINDER="$bin/relance-reminder" \
  RELANCE_E2E_REMINDER_DB=postgres://postgres@127.0.0.1:5432/relance_e2e \
  RELANCE_E2E_REMINDER_NAMESPACE=$(namespace 18181) \
  RELANCE_E2E_OIDC_URL=http://127.0.0.1:18183 RELANCE_E2E_OIDC_ISSUER=http://127.0.0.1:18390 \
  node --test --test-reporter=spec "$@" web/e2e/
