//! `/openapi.json`, generated from the handlers' `#[utoipa::path]` annotations and the types'
//! `ToSchema` derives, so the document follows the code. A test checks every route the router
//! serves is in it.

use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use axum::extract::State;
use serde_json::{json, Value};
use utoipa::{Modify, OpenApi};

use relance_shared::http::openapi as shared;
pub use relance_shared::http::openapi::{Problem, ProblemField};
use relance_shared::valid;

use crate::handlers;
use crate::state::AppState;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token of the company's OpenID provider (RS256/ES256), or an HS256 JWT signed with `auth.jwt_secret` (`sub` = user id, `exp` required; see POST /api/v1/auth/dev-login)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "directory",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`directory.token`, the CRM's own"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Relance inbox API", description = "The workflow inbox, one-click actions and hot leads. Errors are application/problem+json."),
    paths(
        handlers::auth::dev_login,
        handlers::auth::config,
        handlers::auth::me,
        handlers::auth::set_preferences,
        handlers::auth::users,
        handlers::auth::teams,
        handlers::interactions::inbox,
        handlers::interactions::stats,
        handlers::interactions::export,
        handlers::interactions::bulk,
        handlers::interactions::create,
        handlers::interactions::get_one,
        handlers::interactions::history,
        handlers::interactions::edit,
        handlers::interactions::set_status,
        handlers::interactions::set_assignee,
        handlers::interactions::set_next_action,
        handlers::leads::hot,
        handlers::leads::export,
        handlers::leads::person_score,
        handlers::people::search,
        handlers::people::person,
        handlers::people::sends,
        handlers::people::organisation,
        handlers::notifications::list,
        handlers::notifications::mark_read,
        handlers::notifications::read_all,
        crate::live::sse::stream,
        handlers::directory::put_users,
        handlers::directory::put_organisations,
        handlers::directory::put_teams,
        handlers::directory::put_people,
        handlers::directory::erase_person,
        handlers::directory::merge_people,
        shared::healthz,
        shared::readyz,
        shared::metrics,
    ),
    components(schemas(
        Problem, ProblemField, crate::filters::Due, valid::Id, valid::TimeZone,
        valid::TimeZoneOrDefault, valid::InstantOrEmpty, valid::SearchText, valid::ExternalId,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "inbox", description = "The workflow inbox"),
        (name = "interactions", description = "One interaction and its one-click actions"),
        (name = "leads", description = "Email-engagement lead scores"),
        (name = "people", description = "People and organisations, read side (the CRM's directory owns them)"),
        (name = "notifications", description = "The caller's reminders"),
        (name = "live", description = "Interaction changes and notifications as Server-Sent Events"),
        (name = "auth", description = "Tokens and users"),
        (name = "directory", description = "The CRM's users, organisations and people (bearer `directory.token`)"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `/openapi.json`: the derived document, `directory.max_batch` the configured one.
pub async fn openapi_json(State(state): State<Arc<AppState>>) -> axum::Json<Value> {
    axum::Json(constrained_document(state.directory.max_batch))
}

/// The document as served. The request rules are the types' own ([`relance_shared::valid`]
/// and the derives); two things are written here because no derive can:
/// - the directory's batch size, which is configuration;
/// - objects' property counts: utoipa-gen 5.5 emits `min_properties` as `maxProperties`
///   (src/component/features.rs:208), so [`PROPERTY_COUNTS`] states them. Each is also the
///   handler's "give at least one" or "exactly one of" check.
///
/// What no schema can say stays in the handlers and in scripts/schemathesis/hooks.py: `to`
/// after `from`, cursors the API returned, records that exist.
pub fn constrained_document(max_batch: usize) -> Value {
    let mut doc = serde_json::to_value(document()).unwrap_or_else(|_| json!({}));
    for (name, min, max) in PROPERTY_COUNTS {
        if let Some(schema) = doc["components"]["schemas"].get_mut(name) {
            schema["minProperties"] = json!(min);
            match max {
                Some(max) => schema["maxProperties"] = json!(max),
                None => {
                    if let Some(object) = schema.as_object_mut() {
                        object.remove("maxProperties");
                    }
                }
            }
        }
    }
    limit_directory_batches(&mut doc, max_batch);
    doc
}

/// (schema, fewest properties, most properties).
const PROPERTY_COUNTS: [(&str, u64, Option<u64>); 4] = [
    // `set` and exactly one of `ids` and `filter`.
    ("BulkRequest", 2, Some(2)),
    // Exactly one change.
    ("BulkSet", 1, Some(1)),
    // At least one field to change.
    ("InteractionEdit", 1, None),
    ("PreferencesChange", 1, None),
];

/// A directory PUT's array holds 1 to `directory.max_batch` versions.
fn limit_directory_batches(doc: &mut Value, max_batch: usize) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, operations) in paths.iter_mut() {
        if !path.starts_with("/api/v1/directory/") {
            continue;
        }
        let Some(operations) = operations.as_object_mut() else {
            continue;
        };
        for operation in operations.values_mut() {
            // `pointer_mut`, not indexing: `value["key"]` would insert a null.
            let body = operation.pointer_mut("/requestBody/content/application~1json/schema");
            if let Some(body) = body.filter(|b| b.get("type") == Some(&json!("array"))) {
                body["minItems"] = json!(1);
                body["maxItems"] = json!(max_batch);
            }
        }
    }
}
