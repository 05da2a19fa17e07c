#!/usr/bin/env bash
# API fuzzing with schemathesis against the inbox's and the gateway's /openapi.json: every
# generated request (valid and invalid) must get no 5xx, a documented status code, the
# documented content type and a body matching the schema. Bounded (20 examples per operation,
# deterministic) so CI stays fast. Each service runs on its own database and NATS namespace.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$RELANCE_ROOT"

ensure_postgres
ensure_nats
venv="${XDG_CACHE_HOME:-$HOME/.cache}/relance/validate/venv"
# cryptography: hooks.py signs SendGrid's webhooks (ECDSA P-256) as SendGrid does.
if ! "$venv/bin/python" -c 'import schemathesis, cryptography' 2>/dev/null; then
  log "installing schemathesis and cryptography in $venv"
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==4.32.5" "cryptography==44.0.0"
fi
cargo build --bins --locked -q
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target_dir/debug"

db=relance_fuzz
psql_admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
psql_admin -c "CREATE DATABASE $db" >/dev/null
export RELANCE__DATABASE__URL=postgres://postgres@127.0.0.1:5432/$db
"$bin/relance-migrate" >/dev/null
export RELANCE_ENV=development
export RELANCE__AUTH__JWT_SECRET=fuzz-jwt-secret-0123456789-0123456789
export RELANCE__GATEWAY__INGEST_TOKEN=fuzz-ingest-token-0123456789
# Generated provider payloads carry any date: the deduplication horizon (30 days, tested in
# services/gateway/tests/ingest.rs) would refuse most of them, so it is set beyond them here.
export RELANCE__RETENTION__PROCESSED_EVENTS_DAYS=1000000
export RELANCE__PROVIDERS__POSTMARK__BASIC_AUTH=relance:fuzz-password
# Every provider is configured, with secrets of this run: hooks.py signs the generated
# webhooks with them (scripts/schemathesis/hooks.py, `sign`), so they reach the handlers.
export FUZZ_RESEND_SECRET="whsec_$(head -c 24 /dev/urandom | base64)"
export FUZZ_MAILGUN_KEY="fuzz-mailgun-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
FUZZ_SENDGRID_PRIVATE_KEY="$(mktemp)"
export FUZZ_SENDGRID_PRIVATE_KEY
RELANCE__PROVIDERS__SENDGRID__PUBLIC_KEY=$("$venv/bin/python" - "$FUZZ_SENDGRID_PRIVATE_KEY" <<'PY'
import base64, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
key = ec.generate_private_key(ec.SECP256R1())
with open(sys.argv[1], "wb") as out:
    out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
print(base64.b64encode(key.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode())
PY
)
export RELANCE__PROVIDERS__SENDGRID__PUBLIC_KEY
export RELANCE__PROVIDERS__RESEND__SIGNING_SECRET=$FUZZ_RESEND_SECRET
export RELANCE__PROVIDERS__MAILGUN__SIGNING_KEY=$FUZZ_MAILGUN_KEY
export RELANCE__DIRECTORY__TOKEN=fuzz-directory-token-0123456789
# A fixed namespace: the streams are reused run after run instead of piling up.
export RELANCE__NATS__NAMESPACE=fuzz
export RELANCE__TELEMETRY__LOG_LEVEL=error
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -f "$FUZZ_SENDGRID_PRIVATE_KEY"
}
trap cleanup EXIT
RELANCE__INBOX__LISTEN=127.0.0.1:18281 "$bin/relance-inbox" >"${TMPDIR:-/tmp}/relance-fuzz-inbox.log" 2>&1 &
pids+=($!)
RELANCE__GATEWAY__LISTEN=127.0.0.1:18280 "$bin/relance-gateway" >"${TMPDIR:-/tmp}/relance-fuzz-gateway.log" 2>&1 &
pids+=($!)
wait_for_port 18281 inbox
wait_for_port 18280 gateway
# The demo data as the CRM feeds it (the fuzzer then runs on a realistic database).
load_demo http://127.0.0.1:18281 "$RELANCE__DIRECTORY__TOKEN" "$bin/relance-migrate" "$RELANCE__DATABASE__URL"
# The demo has no reminders yet: a few of the signed-in user's, so that marking one read finds
# it (hooks.py maps path ids onto FUZZ_NOTIFICATIONS).
FUZZ_NOTIFICATIONS=$(psql -w -h 127.0.0.1 -U postgres -d "$db" -v ON_ERROR_STOP=1 -Atq -c \
  "INSERT INTO notifications (user_id, kind, interaction_id, title, due_at)
   SELECT 1, 'interaction_overdue', id, title, now() FROM crm_interactions ORDER BY id LIMIT 5
   RETURNING id" | paste -sd, -)
export FUZZ_NOTIFICATIONS
# People for erasure and merge to consume (hooks.py's DISPOSABLE): the demo's stay.
python3 -c 'import json; print(json.dumps([{"external_id": f"fuzz-gone-{n}", "first_name": "Jetable",
  "last_name": f"N{n}", "email": f"gone{n}@fuzz.test", "updated_at": "2026-11-01T09:00:00Z"}
  for n in range(1, 41)]))' |
  curl -fsS -X PUT http://127.0.0.1:18281/api/v1/directory/people -H "Authorization: Bearer $RELANCE__DIRECTORY__TOKEN" \
    -H 'Content-Type: application/json' --data-binary @- >/dev/null || die "adding the disposable people failed"
token=$(curl -fsS -X POST http://127.0.0.1:18281/api/v1/auth/dev-login -H 'Content-Type: application/json' \
  -d '{"user_id":1}' | sed 's/.*"token":"\([^"]*\)".*/\1/')

conformance=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
# Both documents state every rule a schema can (the inbox's from the types that check them,
# shared/src/valid.rs; the gateway's in services/gateway/src/openapi.rs `request_schemas`) and hooks.py the rest, so both are also
# held to schemathesis's data-acceptance checks: every valid generated request accepted, every
# invalid one refused.
checks=$conformance
run() { # name config-file url [extra options]
  log "schemathesis: $1"
  "$venv/bin/schemathesis" --config-file "$2" run "$3" --checks "$checks" -n 20 \
    --generation-deterministic --suppress-health-check all --no-color "${@:4}"
}
# The inbox's configuration authenticates each API with its own credential (a user's token, the
# directory token); its headers read these.
export FUZZ_USER_TOKEN=$token FUZZ_DIRECTORY_TOKEN=$RELANCE__DIRECTORY__TOKEN
# /api/v1/stream never ends (Server-Sent Events): a fuzzer would wait on it forever. Its
# refusals (401, 422 on a bad Last-Event-ID) and its events are tested in services/inbox/tests.
checks=$conformance,positive_data_acceptance,negative_data_rejection
run inbox scripts/schemathesis/inbox.toml http://127.0.0.1:18281/openapi.json \
  --exclude-path /api/v1/stream
export FUZZ_INGEST_TOKEN=$RELANCE__GATEWAY__INGEST_TOKEN
FUZZ_POSTMARK_BASIC=$(printf %s "$RELANCE__PROVIDERS__POSTMARK__BASIC_AUTH" | base64)
export FUZZ_POSTMARK_BASIC
checks=$conformance,positive_data_acceptance,negative_data_rejection
FUZZ_STATUS_LOG="$(mktemp)"
export FUZZ_STATUS_LOG
run gateway scripts/schemathesis/gateway.toml http://127.0.0.1:18280/openapi.json
# Every webhook, signed ones included, must have reached its handler: some 2xx for each (an
# unsigned or misconfigured provider answers only 401 or 404, and the checks above would pass).
log "gateway answers by operation and status:"
sort "$FUZZ_STATUS_LOG" | uniq -c | sed 's/^/  /'
for provider in resend sendgrid mailgun postmark; do
  grep -q "/webhooks/$provider 2[0-9][0-9]$" "$FUZZ_STATUS_LOG" ||
    die "schemathesis: no generated $provider webhook was accepted (signing broken?)"
done
grep -q "/email/ingest 2[0-9][0-9]$" "$FUZZ_STATUS_LOG" || die "schemathesis: no ingest accepted"
rm -f "$FUZZ_STATUS_LOG"
