#!/usr/bin/env bash
# Starts the whole stack with demo data: PostgreSQL and NATS (installed and started when
# missing), the schema, gateway (8080), inbox (8081), scoring (8082) and reminder (8083) in the
# background, then the demo data as a CRM feeds it (the directory API, then the follow-ups).
# Logs and pids go to .run/. Stop with scripts/stop.sh.
# RELANCE_PROFILE=release builds optimized binaries (default: dev, faster to build).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RELANCE_ROOT"

ensure_toolchain
command -v curl >/dev/null || apt_install curl
ensure_postgres
ensure_nats
ensure_node

profile=${RELANCE_PROFILE:-dev}
log "building the services ($profile profile)"
cargo build --workspace --bins --profile "$profile"
log "building the web app (served by the inbox at http://127.0.0.1:8081/)"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/$([ "$profile" = dev ] && echo debug || echo "$profile")"

if [ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'relance'")" ]; then
  log "creating database relance"
  psql_admin -c 'CREATE DATABASE relance'
fi

# Development settings (config/development.toml: dev-login on); every key can be overridden
# from the environment (docs/configuration.md).
export RELANCE_ENV=${RELANCE_ENV:-development}
export RELANCE__GATEWAY__INGEST_TOKEN=${RELANCE__GATEWAY__INGEST_TOKEN:-dev-ingest-token-change-me}
export RELANCE__AUTH__JWT_SECRET=${RELANCE__AUTH__JWT_SECRET:-dev-jwt-secret-change-me-0123456789}
export RELANCE__DIRECTORY__TOKEN=${RELANCE__DIRECTORY__TOKEN:-dev-directory-token-change-me}

"$(dirname "$0")/stop.sh" >/dev/null 2>&1 || true
mkdir -p .run
log "applying migrations"
"$bin/relance-migrate"

# A half-started stack is worse than none: if a service does not come up, stop the others.
started=
cleanup_on_failure() {
  if [ -z "$started" ]; then
    printf '\033[1;31merror:\033[0m the stack did not come up; stopping what was started\n' >&2
    "$(dirname "$0")/stop.sh" >&2 || true
  fi
}
trap cleanup_on_failure EXIT

for service in gateway scoring inbox reminder; do
  nohup "$bin/relance-$service" >".run/$service.log" 2>&1 &
  echo $! >".run/$service.pid"
done

for entry in gateway:8080 inbox:8081 scoring:8082 reminder:8083; do
  name=${entry%%:*}; port=${entry##*:}
  for i in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    if ! kill -0 "$(cat ".run/$name.pid")" 2>/dev/null; then
      tail -n 5 ".run/$name.log" >&2 || true
      die "$name exited; see .run/$name.log"
    fi
    sleep 0.2
  done
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || die "$name not ready; see .run/$name.log"
done
log "loading the demo data through the directory API, as a CRM would"
load_demo http://127.0.0.1:8081 "$RELANCE__DIRECTORY__TOKEN" "$bin/relance-migrate" \
  "${RELANCE__DATABASE__URL:-postgres://postgres@127.0.0.1:5432/relance}"
started=1

cat <<TXT

Relance is running (logs in .run/, stop with scripts/stop.sh):
  gateway   http://127.0.0.1:8080   (ingest token: $RELANCE__GATEWAY__INGEST_TOKEN)
  directory http://127.0.0.1:8081/api/v1/directory   (CRM token: $RELANCE__DIRECTORY__TOKEN)
  web app   http://127.0.0.1:8081/dashboard   (sign in as a demo user)
  inbox     http://127.0.0.1:8081   (API: /openapi.json; token: POST /api/v1/auth/dev-login {"user_id":1})
  scoring   http://127.0.0.1:8082/metrics
  reminder  http://127.0.0.1:8083/metrics

Try it:
  curl -X POST http://127.0.0.1:8080/api/v1/marketing/email/ingest \\
    -H "Authorization: Bearer $RELANCE__GATEWAY__INGEST_TOKEN" -H 'Content-Type: application/json' \\
    -d '{"provider":"resend","external_id":"demo-1","event":"opened","occurred_at":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","person_id":2,"subject":"Votre devis"}'
  psql -h 127.0.0.1 -U postgres relance -c 'SELECT person_id, score FROM lead_scores ORDER BY score DESC'
  TOKEN=\$(curl -s -X POST http://127.0.0.1:8081/api/v1/auth/dev-login -H 'Content-Type: application/json' \\
    -d '{"user_id":1}' | sed 's/.*"token":"\\([^"]*\\)".*/\\1/')
  curl -s -H "Authorization: Bearer \$TOKEN" 'http://127.0.0.1:8081/api/v1/interactions/inbox?assignee=me'
TXT
