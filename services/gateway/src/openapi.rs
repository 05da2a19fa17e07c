//! `/openapi.json` of the gateway, generated from the handlers' annotations, then given the
//! request bodies' schemas ([`request_schemas`]): the handlers read their bodies as free JSON
//! (a provider's payload is its own), so the rules they apply are stated here, and fuzzing
//! (scripts/fuzz.sh) holds the handlers to them both ways: what the schema allows is accepted,
//! what it refuses is refused.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use utoipa::OpenApi;

use relance_shared::event::EventKind;

use relance_shared::http::openapi::{self as shared, Problem, ProblemField};
use relance_shared::http::openapi::{BadJson, Invalid, NotJsonMediaType, TooLarge};

/// The normalized ingest endpoint (docs/api.md): one event or an array of up to
/// `gateway.max_batch`, each `{provider, external_id, event, occurred_at, person_id?,
/// organisation_id?, person_external_id?, subject?, recipient?, url?, event_id?}`.
#[utoipa::path(post, path = "/api/v1/marketing/email/ingest", tag = "ingest",
    request_body(content = serde_json::Value, description = "one event object, or an array of them", content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "every event stored by JetStream", body = crate::ingest::IngestAccepted),
        BadJson,
        (status = 401, description = "bad or missing token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no ingest token configured", body = Problem, content_type = "application/problem+json"),
        TooLarge,
        NotJsonMediaType,
        (status = 422, description = "each bad field named", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "past gateway.rate_limit_per_second for this credential: retry after Retry-After; nothing published", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "NATS did not acknowledge, or the gateway shed load (Retry-After): retry", body = Problem, content_type = "application/problem+json"),
    ))]
#[allow(dead_code)]
fn ingest() {}

macro_rules! webhook_doc {
    ($name:ident, $path:literal, $what:literal) => {
        #[doc = $what]
        #[utoipa::path(post, path = $path, tag = "webhooks",
            request_body(content = serde_json::Value, description = "the provider's own payload, signed", content_type = "application/json"),
            responses(
                (status = 200, description = "verified; events published or acknowledged", body = crate::webhooks::WebhookAccepted),
                BadJson,
                (status = 401, description = "bad or missing signature, stale timestamp, replay", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "the provider is not configured", body = Problem, content_type = "application/problem+json"),
                TooLarge,
                Invalid,
                (status = 429, description = "past gateway.rate_limit_per_second for this provider: nothing published, the provider retries", body = Problem, content_type = "application/problem+json"),
                (status = 503, description = "NATS did not acknowledge, or the gateway shed load: the provider retries", body = Problem, content_type = "application/problem+json"),
            ))]
        #[allow(dead_code)]
        fn $name() {}
    };
}
webhook_doc!(
    resend,
    "/api/v1/marketing/email/webhooks/resend",
    "Resend, signed by Svix (`svix-id`, `svix-timestamp`, `svix-signature`)."
);
webhook_doc!(
    sendgrid,
    "/api/v1/marketing/email/webhooks/sendgrid",
    "SendGrid's signed event webhook (ECDSA P-256)."
);
webhook_doc!(
    mailgun,
    "/api/v1/marketing/email/webhooks/mailgun",
    "Mailgun (HMAC in the body's `signature`)."
);
webhook_doc!(
    postmark,
    "/api/v1/marketing/email/webhooks/postmark",
    "Postmark (HTTP basic auth)."
);

#[derive(OpenApi)]
#[openapi(
    info(title = "Relance gateway", description = "Email-provider webhooks in, normalized events out to JetStream. Errors are application/problem+json."),
    paths(ingest, resend, sendgrid, mailgun, postmark, shared::healthz, shared::readyz, shared::metrics),
    components(schemas(Problem, ProblemField)),
    tags(
        (name = "ingest", description = "The normalized webhook"),
        (name = "webhooks", description = "Providers' native webhooks"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

pub async fn openapi_json(State(state): State<Arc<crate::state::AppState>>) -> Json<Value> {
    Json(document(state.max_batch))
}

/// The whole document, with `gateway.max_batch` as configured.
pub fn document(max_batch: usize) -> Value {
    let mut doc = ApiDoc::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        utoipa::openapi::security::SecurityScheme::Http(
            utoipa::openapi::security::HttpBuilder::new()
                .scheme(utoipa::openapi::security::HttpAuthScheme::Bearer)
                .build(),
        ),
    );
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    let (schemas, bodies) = request_schemas(max_batch);
    for (name, schema) in schemas {
        doc["components"]["schemas"][name] = schema;
    }
    for (path, schema) in bodies {
        doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"] =
            json!({ "$ref": format!("#/components/schemas/{schema}") });
    }
    doc
}

/// A string that is not only white space, as Rust's `str::trim` counts it (the Unicode
/// `White_Space` characters, listed because regex engines disagree on `\s`).
const NOT_BLANK: &str = r"[^\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

/// Named schemas, and the body schema (by name) of each operation (by path).
type RequestSchemas = (
    Vec<(&'static str, Value)>,
    Vec<(&'static str, &'static str)>,
);

/// The bodies' schemas (by name) and which operation takes which.
fn request_schemas(max_batch: usize) -> RequestSchemas {
    let kinds: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    let optional_text = |max: usize| json!({ "type": ["string", "null"], "maxLength": max });
    let id = json!({ "type": ["integer", "null"], "minimum": 1, "maximum": i64::MAX });
    // ingest.rs's `validate_event`, rule for rule.
    let event = json!({
        "type": "object",
        "description": "One email event. `occurred_at` may be at most 24 hours ahead of the gateway's clock.",
        "required": ["provider", "external_id", "event", "occurred_at"],
        "properties": {
            "provider": { "type": "string", "pattern": "^[a-z0-9_-]{1,50}$" },
            "external_id": { "type": "string", "minLength": 1, "maxLength": 255,
                "description": "the provider's message id: every event of one email shares it" },
            "event": { "type": "string", "enum": kinds },
            "occurred_at": { "type": "string", "format": "date-time" },
            "person_id": id,
            "organisation_id": id,
            "person_external_id": optional_text(relance_shared::valid::ExternalId::MAX_CHARS),
            "subject": optional_text(500),
            "recipient": { "type": ["string", "null"], "maxLength": 320, "pattern": "@" },
            "url": optional_text(2048),
            "event_id": { "type": ["string", "null"], "maxLength": 200,
                "pattern": r"^[^\x00-\x1F\x7F-\x9F]*$",
                "description": "the caller's stable event id: the idempotency key" },
        },
    });
    let events = json!({
        "oneOf": [
            { "$ref": "#/components/schemas/EmailEventIn" },
            { "type": "array", "minItems": 1, "maxItems": max_batch,
              "items": { "$ref": "#/components/schemas/EmailEventIn" } },
        ],
    });
    (
        vec![
            ("EmailEventIn", event),
            ("EmailEventsIn", events),
            ("PostmarkRecord", postmark_record()),
            ("ResendEvent", resend_event()),
            ("SendgridEvents", sendgrid_events()),
            ("MailgunEvent", mailgun_event()),
        ],
        vec![
            ("/api/v1/marketing/email/ingest", "EmailEventsIn"),
            (
                "/api/v1/marketing/email/webhooks/postmark",
                "PostmarkRecord",
            ),
            ("/api/v1/marketing/email/webhooks/resend", "ResendEvent"),
            (
                "/api/v1/marketing/email/webhooks/sendgrid",
                "SendgridEvents",
            ),
            ("/api/v1/marketing/email/webhooks/mailgun", "MailgunEvent"),
        ],
    )
}

/// Seconds since the epoch as providers/mod.rs's `epoch` reads them.
fn epoch_seconds() -> Value {
    json!({ "type": "number", "minimum": 0,
            "exclusiveMaximum": crate::providers::MAX_EPOCH_SECONDS })
}

/// A string `optional`/`required` read as present: not only white space.
fn present() -> Value {
    json!({ "type": "string", "pattern": NOT_BLANK })
}

/// An object whose `field` names a type the provider's parser does not know: acknowledged and
/// ignored, whatever else it holds.
fn unknown_type(field: &str, known: &[&str]) -> Value {
    json!({ "type": "object", "required": [field], "properties": {
        field: { "type": "string", "pattern": NOT_BLANK, "not": { "enum": known } } } })
}

/// Adds `extra`'s keys to the object `into`.
fn extend(into: &mut Value, extra: Value) {
    if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
        into.extend(extra);
    }
}

/// providers/resend.rs's rules: the types Relance maps need `data.email_id` and a time
/// (`created_at` when that key is there at all, else `data.created_at`); a transient or
/// undetermined bounce and any other type are acknowledged and ignored.
fn resend_event() -> Value {
    let mapped = [
        "email.sent",
        "email.delivered",
        "email.opened",
        "email.clicked",
        "email.complained",
    ];
    let soft = json!(["Transient", "Undetermined"]);
    let time = json!({ "type": "string", "format": "date-time" });
    let with_id_and_time = |record_type: Value, data_extra: Value| {
        let mut data = json!({
            "type": "object", "required": ["email_id"],
            "properties": { "email_id": present() },
        });
        extend(&mut data["properties"], data_extra);
        let mut data_timed = data.clone();
        data_timed["required"] = json!(["email_id", "created_at"]);
        data_timed["properties"]["created_at"] = time.clone();
        json!({ "type": "object", "required": ["type", "data"],
            "properties": { "type": record_type },
            "oneOf": [
                { "required": ["created_at"], "properties": { "created_at": time, "data": data } },
                { "not": { "required": ["created_at"] }, "properties": { "data": data_timed } },
            ] })
    };
    let soft_bounce = json!({ "type": "object", "required": ["type"],
                              "properties": { "type": { "enum": soft } } });
    let mut known = mapped.to_vec();
    known.push("email.bounced");
    json!({
        "description": "One Resend event, signed by Svix (`svix-id`, `svix-timestamp`, `svix-signature`). Relance reads `type`, the time, `data.email_id`, `data.to`, `data.subject`, `data.click.link`, `data.bounce.type` and `data.tags`.",
        "oneOf": [
            with_id_and_time(json!({ "enum": mapped }), json!({})),
            with_id_and_time(json!({ "const": "email.bounced" }),
                json!({ "bounce": { "not": soft_bounce.clone() } })),
            { "type": "object", "required": ["type", "data"],
              "properties": { "type": { "const": "email.bounced" },
                "data": { "type": "object", "required": ["bounce"],
                          "properties": { "bounce": soft_bounce } } } },
            unknown_type("type", &known),
        ],
    })
}

/// providers/sendgrid.rs's rules: an array of events, each naming its `event`; the ones
/// Relance maps need a message id (`sg_message_id` up to its first `.`, else `smtp-id`'s local
/// part) and a `timestamp`; a blocked bounce and any other event are acknowledged and ignored.
fn sendgrid_events() -> Value {
    let mapped = [
        "processed",
        "delivered",
        "open",
        "click",
        "spamreport",
        "unsubscribe",
        "group_unsubscribe",
    ];
    let ids = json!({
        "anyOf": [
            { "required": ["sg_message_id"], "properties": {
                "sg_message_id": { "type": "string", "allOf": [{ "pattern": NOT_BLANK }, { "pattern": "^[^.]" }] } } },
            { "required": ["smtp-id"], "properties": {
                "sg_message_id": { "not": present() },
                "smtp-id": { "type": "string", "allOf": [{ "pattern": NOT_BLANK }, { "pattern": "^[<>]*[^<>@]" }] } } },
        ],
    });
    let event = |name: Value, extra: Value| {
        let mut properties = json!({ "event": name, "timestamp": epoch_seconds() });
        extend(&mut properties, extra);
        json!({ "type": "object", "required": ["event", "timestamp"], "properties": properties,
                "allOf": [ids.clone()] })
    };
    let mut known = mapped.to_vec();
    known.push("bounce");
    json!({
        "type": "array",
        "description": "SendGrid's signed event webhook (ECDSA P-256 over timestamp and body). Relance reads `event`, `timestamp`, `sg_message_id` or `smtp-id`, `email`, `subject`, `url`, `type` and `sg_machine_open`; the batch is all or nothing.",
        "items": { "oneOf": [
            event(json!({ "enum": mapped }), json!({})),
            event(json!({ "const": "bounce" }), json!({ "type": { "not": { "const": "blocked" } } })),
            { "type": "object", "required": ["event", "type"],
              "properties": { "event": { "const": "bounce" }, "type": { "const": "blocked" } } },
            unknown_type("event", &known),
        ] },
    })
}

/// providers/mailgun.rs's rules: the `signature` object (checked first), then `event-data`:
/// the events Relance maps need `id`, `timestamp` and the message id header; a click by a bot,
/// a temporary failure and any other event are acknowledged and ignored.
fn mailgun_event() -> Value {
    let mapped = [
        "accepted",
        "delivered",
        "opened",
        "complained",
        "unsubscribed",
    ];
    let bot = json!({ "type": "object", "required": ["client-info"], "properties": {
        "client-info": { "type": "object", "required": ["bot"], "properties": { "bot": present() } } } });
    let permanent = json!({ "type": "object", "required": ["severity"],
        "properties": { "severity": { "const": "permanent" } } });
    // Not only white space and angle brackets (`<id@host>` as in the header).
    let message_id = json!({ "type": "string", "pattern":
        r"[^\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000<>]" });
    let data = |name: Value, extra: Value| {
        let mut data = json!({
            "type": "object", "required": ["event", "id", "timestamp", "message"],
            "properties": {
                "event": name, "id": present(), "timestamp": epoch_seconds(),
                "message": { "type": "object", "required": ["headers"], "properties": {
                    "headers": { "type": "object", "required": ["message-id"],
                                 "properties": { "message-id": message_id.clone() } } } },
            },
        });
        extend(&mut data, extra);
        data
    };
    let ignored = |event: Value| json!({ "type": "object", "required": ["event"], "properties": { "event": event } });
    let mut clicked_by_bot = ignored(json!({ "const": "clicked" }));
    clicked_by_bot["allOf"] = json!([bot.clone()]);
    let mut failed_temporarily = ignored(json!({ "const": "failed" }));
    failed_temporarily["not"] = permanent.clone();
    let mut known = mapped.to_vec();
    known.extend(["clicked", "failed"]);
    json!({
        "type": "object",
        "description": "One Mailgun event, signed inside the body (`signature`: HMAC-SHA256 of timestamp and token). Relance reads `event-data`'s `event`, `id`, `timestamp`, `recipient`, `severity`, `url`, `client-info.bot`, `user-variables.person_external_id` and `message.headers`.",
        "required": ["signature", "event-data"],
        "properties": {
            "signature": { "type": "object", "required": ["timestamp", "token", "signature"],
                "properties": { "timestamp": present(), "token": present(), "signature": present() } },
            "event-data": { "oneOf": [
                data(json!({ "enum": mapped }), json!({})),
                data(json!({ "const": "clicked" }), json!({ "not": bot })),
                data(json!({ "const": "failed" }), json!({ "allOf": [permanent] })),
                clicked_by_bot,
                failed_temporarily,
                unknown_type("event", &known),
            ] },
        },
    })
}

/// providers/postmark.rs's rules: each record type Relance maps needs its `MessageID` and its
/// own time field; a soft bounce, a suppression Relance did not cause by hand and any other
/// record type are acknowledged and ignored, whatever else they hold.
fn postmark_record() -> Value {
    let record = |record_type: &str, time_field: &str, extra: Value| {
        let mut properties = json!({
            "RecordType": { "const": record_type },
            "MessageID": { "type": "string", "pattern": NOT_BLANK },
            time_field: { "type": "string", "format": "date-time" },
        });
        if let (Some(properties), Value::Object(extra)) = (properties.as_object_mut(), extra) {
            properties.extend(extra);
        }
        let required: Vec<&str> = properties
            .as_object()
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        json!({ "type": "object", "required": required, "properties": properties })
    };
    let hard = json!(["HardBounce", "BadEmailAddress"]);
    let manual = json!({
        "type": "object",
        "required": ["SuppressSending", "SuppressionReason"],
        "properties": {
            "SuppressSending": { "const": true },
            "SuppressionReason": { "const": "ManualSuppression" },
        },
    });
    let mapped = [
        "Delivery",
        "Open",
        "Click",
        "SpamComplaint",
        "Bounce",
        "SubscriptionChange",
    ];
    json!({
        "description": "One Postmark webhook record. Relance reads `RecordType`, `MessageID`, the record's time, `Recipient` (or `Email`), `Subject`, `OriginalLink` and `Metadata.person_external_id`; the rest is Postmark's.",
        "oneOf": [
            record("Delivery", "DeliveredAt", json!({})),
            record("Open", "ReceivedAt", json!({})),
            record("Click", "ReceivedAt", json!({})),
            record("SpamComplaint", "BouncedAt", json!({})),
            record("Bounce", "BouncedAt", json!({ "Type": { "enum": hard } })),
            record("SubscriptionChange", "ChangedAt", json!({
                "SuppressSending": { "const": true },
                "SuppressionReason": { "const": "ManualSuppression" },
            })),
            { "type": "object", "required": ["RecordType"],
              "properties": { "RecordType": { "const": "Bounce" }, "Type": { "not": { "enum": hard } } } },
            { "type": "object", "required": ["RecordType"],
              "properties": { "RecordType": { "const": "SubscriptionChange" } }, "not": manual },
            unknown_type("RecordType", &mapped),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_body_is_documented_with_its_rules() {
        let doc = document(7);
        let schemas = &doc["components"]["schemas"];
        for (path, name) in [
            ("/api/v1/marketing/email/ingest", "EmailEventsIn"),
            (
                "/api/v1/marketing/email/webhooks/postmark",
                "PostmarkRecord",
            ),
            ("/api/v1/marketing/email/webhooks/resend", "ResendEvent"),
            (
                "/api/v1/marketing/email/webhooks/sendgrid",
                "SendgridEvents",
            ),
            ("/api/v1/marketing/email/webhooks/mailgun", "MailgunEvent"),
        ] {
            let body = &doc["paths"][path]["post"]["requestBody"]["content"]["application/json"];
            assert_eq!(
                body["schema"]["$ref"],
                json!(format!("#/components/schemas/{name}"))
            );
            assert!(schemas[name].is_object(), "{name} is defined");
        }
        assert_eq!(schemas["EmailEventsIn"]["oneOf"][1]["maxItems"], json!(7));
        let kinds: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            schemas["EmailEventIn"]["properties"]["event"]["enum"],
            json!(kinds)
        );
        // Every record type postmark.rs maps has a branch requiring its MessageID.
        let branches = schemas["PostmarkRecord"]["oneOf"].as_array().cloned();
        let requiring_id = branches
            .unwrap_or_default()
            .iter()
            .filter(|b| {
                b["required"]
                    .as_array()
                    .is_some_and(|r| r.contains(&json!("MessageID")))
            })
            .count();
        assert_eq!(requiring_id, 6);
    }
}
