//! `/openapi.json` of the gateway, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;

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

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
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
    Json(doc)
}
