"""schemathesis hooks (scripts/fuzz.sh): the inbox's rules that no JSON Schema can state, applied
to generated requests that are meant to be valid (positive mode), so that the
positive_data_acceptance check judges the handlers, not the generator. Invalid (negative) cases
are left alone: the handlers must refuse them, and negative_data_rejection checks they do.

- A reference names a record that exists (else a 422 naming it): ids and CRM ids are mapped
  onto the demo data scripts/fuzz.sh loads (users 1-3, organisations 1-3, people 1-4,
  follow-ups 1-10, the reminders it adds), in bodies and in paths (else a 404, which says
  nothing more).
- `to` comes after `from` (else a 422 naming `to`): swapped, or `to` dropped when equal.
- A working day's `work_end` comes after its `work_start` (else a 422): both set, in order.
- A `cursor` is one the API returned for the same operation and filters (else a 422): none can
  be generated, and the stateful phase's links pass one operation's cursor to another, so
  valid cases go without one. Paging is covered by the Rust property tests.
- A path id taken along a link from a `null` field (`/organisations/None`) names a record.
- Erasure and merge name people scripts/fuzz.sh adds for them to consume (`fuzz-gone-1` to
  `-40`), also when the stateful phase follows a link from a demo person: the demo survives.
- A merge names two different people; a batch of directory versions does not give the same
  address twice (both a 422).
- The gateway refuses an event dated more than 24 hours ahead of its clock or older than its
  deduplication horizon (30 days): a valid event's `occurred_at` outside (or that Python
  cannot read) is set to now.
- A JSON number beyond a 64-bit float's range (valid for JSON Schema, which has no limit) is
  refused with a 400 naming it: the services read numbers as 64-bit floats, the range RFC 8259
  (section 6) says is interoperable. Valid cases carry such a number as 0 instead.
- The signed webhooks are signed as their provider signs them, with the secrets scripts/fuzz.sh
  configured (`before_call`, at each call, so a resent case is not a replay): Resend through
  Svix and SendGrid with ECDSA over the exact body bytes sent, every case (an invalid body
  must then be refused for what it holds, not for its signature); Mailgun inside the body, the
  valid cases only (a signature object the generator made invalid stays so).
- A whole number written as a float (`80298.0`, valid for JSON Schema's `integer`) is sent as
  an integer, as every client does.
"""

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
import zlib
from datetime import datetime, timedelta, timezone

import schemathesis

USERS = [1, 2, 3]
PEOPLE = [1, 2, 3, 4]
ORGANISATIONS = [1, 2, 3]
INTERACTIONS = list(range(1, 11))  # the demo's first follow-ups
# People scripts/fuzz.sh adds for erasure and merge to consume (the demo's are kept).
DISPOSABLE = [f"fuzz-gone-{n}" for n in range(1, 41)]
CRM_USERS = ["crm-u-1", "crm-u-2", "crm-u-3"]
CRM_ORGANISATIONS = ["crm-o-1", "crm-o-2", "crm-o-3"]
# Reminders scripts/fuzz.sh gives the signed-in user (the demo has none).
NOTIFICATIONS = [int(n) for n in os.environ.get("FUZZ_NOTIFICATIONS", "").split(",") if n] or [1]
PATH_IDS = {"/api/v1/people/": PEOPLE, "/api/v1/organisations/": ORGANISATIONS,
            "/api/v1/interactions/": INTERACTIONS, "/api/v1/notifications/": NOTIFICATIONS}
ID_FIELDS = {"assignee_id": USERS, "user_id": USERS, "person_id": PEOPLE, "organisation_id": ORGANISATIONS}
CRM_FIELDS = {"owner_external_id": CRM_USERS, "organisation_external_id": CRM_ORGANISATIONS}


def _positive(case) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode.is_positive


def _known(value, known):
    """The same value when it names a known record, else one that does (deterministically)."""
    if value in known:
        return value
    return known[zlib.crc32(str(value).encode()) % len(known)]


# A little under the largest double (1.797e308): parsers round long integers near it up past it.
DOUBLE_MAX = 10**308


def _integers(value):
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= DOUBLE_MAX:
        return 0
    if isinstance(value, float) and value.is_integer() and abs(value) < DOUBLE_MAX:
        return int(value)
    if isinstance(value, list):
        return [_integers(v) for v in value]
    if isinstance(value, dict):
        return {k: _integers(v) for k, v in value.items()}
    return value


def _references(item: dict) -> None:
    for field, known in ID_FIELDS.items():
        if isinstance(item.get(field), int):
            item[field] = _known(item[field], known)
    for field, known in CRM_FIELDS.items():
        if isinstance(item.get(field), str):
            item[field] = _known(item[field], known)
    if isinstance(item.get("set"), dict):
        _references(item["set"])
    if isinstance(item.get("ids"), list):
        item["ids"] = [_known(i, INTERACTIONS) for i in item["ids"]]


def _instant(value):
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _order_window(window: dict) -> None:
    start, end = _instant(window.get("from")), _instant(window.get("to"))
    if start is None or end is None:
        return
    if end == start:
        del window["to"]
    elif end < start:
        window["from"], window["to"] = window["to"], window["from"]


def _distinct_addresses(items: list) -> None:
    seen = set()
    for index, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("email"), str):
            address = item["email"].lower()
            if address in seen:
                local, _, domain = item["email"].partition("@")
                item["email"] = f"{local}{index}@{domain}"
            seen.add(item["email"].lower())


def _not_ahead(events) -> None:
    horizon = datetime.now(timezone.utc) + timedelta(hours=23)
    # The deduplication horizon (retention.processed_events_days, 30 days): older is refused.
    oldest = datetime.now(timezone.utc) - timedelta(days=29)
    for event in events if isinstance(events, list) else [events]:
        if isinstance(event, dict) and "occurred_at" in event:
            at = _instant(event["occurred_at"])
            if at is None or at > horizon or at < oldest:
                event["occurred_at"] = datetime.now(timezone.utc).isoformat()


def _working_day(body: dict) -> None:
    """A working day ends after it starts (else a 422 naming `work_end`), with the hour kept
    for the one not given: both are set, in order, when either is."""
    start, end = body.get("work_start"), body.get("work_end")
    if not isinstance(start, str) and not isinstance(end, str):
        return
    start = start if isinstance(start, str) else "00:00"
    end = end if isinstance(end, str) else "23:59"
    if start > end:
        start, end = end, start
    if start == end:
        start, end = "00:00", "23:59"
    body["work_start"], body["work_end"] = start, end


@schemathesis.hook
def map_case(context, case):
    if not _positive(case):
        return case
    if case.operation.path.endswith("/email/ingest"):
        _not_ahead(case.body)
    if case.operation.path.endswith("/me/preferences") and isinstance(case.body, dict):
        _working_day(case.body)
    if isinstance(case.query, dict):
        _order_window(case.query)
        case.query.pop("cursor", None)
    path = case.operation.path
    if isinstance(case.path_parameters, dict):
        for name, value in case.path_parameters.items():
            if name == "id":
                known = next((k for prefix, k in PATH_IDS.items() if path.startswith(prefix)), None)
                if known is not None:
                    case.path_parameters[name] = _known(value, known)
                elif value is None or value == "None":
                    case.path_parameters[name] = 1
            elif name == "external_id" and path.startswith("/api/v1/directory/people/"):
                case.path_parameters[name] = _known(str(value), DISPOSABLE)
    body = _integers(case.body) if isinstance(case.body, (dict, list)) else case.body
    destructive = path.endswith("/merge") or "{external_id}" in path
    if isinstance(body, dict):
        if not destructive:
            _references(body)
        if isinstance(body.get("filter"), dict):
            _order_window(body["filter"])
        if destructive:
            for field in ("survivor_external_id", "merged_external_id"):
                if isinstance(body.get(field), str):
                    body[field] = _known(body[field], DISPOSABLE)
        survivor, merged = body.get("survivor_external_id"), body.get("merged_external_id")
        if isinstance(survivor, str) and survivor == merged:
            body["merged_external_id"] = DISPOSABLE[(DISPOSABLE.index(merged) + 1) % len(DISPOSABLE)] \
                if merged in DISPOSABLE else merged + "2"
    elif isinstance(body, list):
        for item in body:
            if isinstance(item, dict):
                _references(item)
        _distinct_addresses(body)
    if isinstance(case.body, (dict, list)):
        case.body = body
    return case


def _body_bytes(body) -> bytes:
    """The bytes the requests transport sends for a JSON body (`requests`' `json=`)."""
    return json.dumps(body, allow_nan=False).encode("utf-8")


def _sign_resend(case) -> None:
    secret = os.environ["FUZZ_RESEND_SECRET"].removeprefix("whsec_")
    msg_id, stamp = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
    signed = f"{msg_id}.{stamp}.".encode() + _body_bytes(case.body)
    digest = hmac.new(base64.b64decode(secret), signed, hashlib.sha256).digest()
    case.headers = {**(case.headers or {}), "svix-id": msg_id, "svix-timestamp": stamp,
                    "svix-signature": "v1," + base64.b64encode(digest).decode()}


def _sign_sendgrid(case) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    with open(os.environ["FUZZ_SENDGRID_PRIVATE_KEY"], "rb") as pem:
        key = serialization.load_pem_private_key(pem.read(), password=None)
    stamp = str(int(time.time()))
    signature = key.sign(stamp.encode() + _body_bytes(case.body), ec.ECDSA(hashes.SHA256()))
    case.headers = {**(case.headers or {}),
                    "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                    "X-Twilio-Email-Event-Webhook-Timestamp": stamp}


def _sign_mailgun(case) -> None:
    stamp, token = str(int(time.time())), uuid.uuid4().hex
    digest = hmac.new(os.environ["FUZZ_MAILGUN_KEY"].encode(), (stamp + token).encode(), hashlib.sha256)
    case.body["signature"] = {"timestamp": stamp, "token": token, "signature": digest.hexdigest()}


@schemathesis.hook
def before_call(context, case, kwargs):
    path = case.operation.path
    try:
        if path.endswith("/webhooks/resend"):
            _sign_resend(case)
        elif path.endswith("/webhooks/sendgrid"):
            _sign_sendgrid(case)
        elif path.endswith("/webhooks/mailgun") and _positive(case) and isinstance(case.body, dict):
            _sign_mailgun(case)
    except (TypeError, ValueError):
        pass  # a body JSON cannot carry (left unsigned: refused with 401, as it should be)


@schemathesis.hook
def after_call(context, case, response):
    """Each answer's status, for scripts/fuzz.sh's account of what reached the handlers."""
    log = os.environ.get("FUZZ_STATUS_LOG")
    if log:
        with open(log, "a") as out:
            out.write(f"{case.operation.path} {response.status_code}\n")
