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
        handlers::interactions::inbox,
        handlers::interactions::stats,
        handlers::interactions::export,
        handlers::interactions::bulk,
        handlers::interactions::create,
        handlers::interactions::get_one,
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
        handlers::directory::put_people,
        handlers::directory::erase_person,
        handlers::directory::merge_people,
        shared::healthz,
        shared::readyz,
        shared::metrics,
    ),
    components(schemas(Problem, ProblemField, crate::filters::Due)),
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

/// `/openapi.json`: the derived document with [`constrain`]'s rules, `directory.max_batch`
/// the configured one.
pub async fn openapi_json(State(state): State<Arc<AppState>>) -> axum::Json<Value> {
    axum::Json(constrained_document(state.directory.max_batch))
}

pub fn constrained_document(max_batch: usize) -> Value {
    let mut doc = serde_json::to_value(document()).unwrap_or_else(|_| json!({}));
    constrain(&mut doc, max_batch);
    doc
}

/// No control character (`char::is_control`: C0, DEL, C1), what every free-text parameter
/// refuses.
const NO_CONTROL: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";
/// An external id: 1 to 200 characters, no control character, no space at either end
/// ([`relance_shared::directory::external_id_problem`]).
const EXTERNAL_ID: &str =
    r"^[^\s\x00-\x1F\x7F-\x9F](?:[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F])?$";
/// Text with something other than spaces and no control character (titles, names).
const REQUIRED_TEXT: &str =
    r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$";
/// A description: line breaks and tabs, but no other control character.
const DESCRIPTION: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";
/// The types filter: comma-separated interaction types, or empty (any type).
const TYPES: &str = r"^((call|email|meeting|note)(,(call|email|meeting|note))*)?$";
/// The assignee filter: `me`, `unassigned`, a user id, or empty (everyone).
const ASSIGNEE: &str = r"^(me|unassigned|[0-9]+)?$";
/// An address as the directory checks it: no white space or control character, something
/// before the first `@`, a dot after it.
const EMAIL: &str =
    r"^[^@\s\x00-\x1F\x7F-\x9F]+@[^\s\x00-\x1F\x7F-\x9F]*\.[^\s\x00-\x1F\x7F-\x9F]*$";

/// What the handlers check and the derives cannot say, written into the document so that
/// generated requests (schemathesis, scripts/fuzz.sh) that fit the schema are accepted and
/// those that do not are refused:
/// - every `tz` is one of the tz database's names (or empty: the default), exactly spelt;
/// - free text (`q`) holds no control character;
/// - the number of properties of a change (utoipa writes `min_properties` as `maxProperties`);
/// - fields that must be present even when `null`, and fields that may be absent but not `null`;
/// - the directory's ids, names, addresses and batch sizes.
///
/// What no schema can say stays in the handlers and in scripts/schemathesis/hooks.py: `to`
/// after `from`, cursors the API returned, records that exist.
fn constrain(doc: &mut Value, max_batch: usize) {
    let zones: Vec<Value> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| Value::from(tz.name()))
        .collect();
    let schemas = &mut doc["components"]["schemas"];
    schemas["TimeZone"] = json!({
        "type": "string",
        "description": "A name of the tz database (IANA), exactly as it spells it.",
        "enum": zones,
    });
    schemas["TimeZoneOrDefault"] = json!({
        "description": "A time zone, or empty for `inbox.default_timezone`.",
        "anyOf": [{"$ref": "#/components/schemas/TimeZone"}, {"type": "string", "enum": [""]}],
    });
    let zone = json!({"$ref": "#/components/schemas/TimeZoneOrDefault"});
    let nullable = |schema: &Value| json!({"oneOf": [{"type": "null"}, schema]});
    let title =
        json!({"type": "string", "minLength": 1, "maxLength": 500, "pattern": REQUIRED_TEXT});

    set(schemas, "PreferencesChange", |s| {
        // A preference always has a value: no `null`, no empty zone.
        remove(s, "maxProperties");
        s["minProperties"] = json!(1);
        s["properties"]["notify_email"] = json!({"$ref": "#/components/schemas/NotifyEmail"});
        s["properties"]["timezone"] = json!({"$ref": "#/components/schemas/TimeZone"});
        s["properties"]["digest_hour"] = json!({"type": "integer", "minimum": 0, "maximum": 23});
    });
    set(schemas, "BulkRequest", |s| {
        s["minProperties"] = json!(2);
        s["maxProperties"] = json!(2);
        s["properties"]["ids"]["type"] = json!("array");
        s["properties"]["filter"] = json!({"$ref": "#/components/schemas/BulkFilter"});
    });
    set(schemas, "BulkSet", |s| {
        s["minProperties"] = json!(1);
        s["maxProperties"] = json!(1);
        // `null` is a value for the assignee (unassign) and the date (none), not for a status.
        s["properties"]["status"] = json!({"$ref": "#/components/schemas/InteractionStatus"});
        s["properties"]["assignee_id"]["minimum"] = json!(1);
    });
    set(schemas, "BulkFilter", |s| {
        s["properties"]["tz"] = nullable(&zone);
        s["properties"]["q"]["pattern"] = json!(NO_CONTROL);
        s["properties"]["type"]["pattern"] = json!(TYPES);
        s["properties"]["assignee"]["pattern"] = json!(ASSIGNEE);
    });
    set(schemas, "InteractionEdit", |s| {
        s["minProperties"] = json!(1);
        s["properties"]["title"] = title.clone();
        s["properties"]["type"] = json!({"$ref": "#/components/schemas/InteractionType"});
        s["properties"]["description"]["pattern"] = json!(DESCRIPTION);
    });
    set(schemas, "NewInteraction", |s| {
        s["properties"]["title"] = title.clone();
        s["properties"]["description"]["pattern"] = json!(DESCRIPTION);
    });
    set(schemas, "NextActionChange", |s| {
        s["required"] = json!(["next_action_at"])
    });
    set(schemas, "AssigneeChange", |s| {
        s["required"] = json!(["assignee_id"]);
        s["properties"]["assignee_id"]["minimum"] = json!(1);
    });
    set(schemas, "DevLogin", |s| {
        s["properties"]["user_id"]["minimum"] = json!(1)
    });
    constrain_directory(schemas);
    constrain_parameters(doc, max_batch);
}

/// The directory's ids, names and addresses (`relance_shared::directory`'s rules).
fn constrain_directory(schemas: &mut Value) {
    let external_id =
        json!({"type": "string", "minLength": 1, "maxLength": 200, "pattern": EXTERNAL_ID});
    let nullable = |schema: &Value| json!({"oneOf": [{"type": "null"}, schema]});
    let text = |max: usize| json!({"type": "string", "maxLength": max, "pattern": REQUIRED_TEXT});
    let optional_text =
        |max: usize| json!({"type": "string", "maxLength": max, "pattern": NO_CONTROL});
    let email = json!({"type": "string", "maxLength": 320, "pattern": EMAIL});
    set(schemas, "UserVersion", |s| {
        s["properties"]["external_id"] = external_id.clone();
        s["properties"]["email"] = email.clone();
        s["properties"]["name"] = text(200);
    });
    set(schemas, "OrganisationVersion", |s| {
        s["properties"]["external_id"] = external_id.clone();
        s["properties"]["name"] = text(300);
    });
    set(schemas, "PersonVersion", |s| {
        s["properties"]["external_id"] = external_id.clone();
        s["properties"]["email"] = nullable(&email);
        for field in ["first_name", "last_name"] {
            s["properties"][field] = nullable(&optional_text(200));
        }
        s["properties"]["phone"] = nullable(&optional_text(50));
        for field in ["organisation_external_id", "owner_external_id"] {
            s["properties"][field] = nullable(&external_id);
        }
    });
    set(schemas, "MergeRequest", |s| {
        for field in ["survivor_external_id", "merged_external_id"] {
            s["properties"][field] = external_id.clone();
        }
    });
}

/// Query and path parameters (zones, free text, filters, external ids) and the directory's
/// batch sizes.
fn constrain_parameters(doc: &mut Value, max_batch: usize) {
    let zone = json!({"$ref": "#/components/schemas/TimeZoneOrDefault"});
    // An empty query parameter is an absent one, as browsers' forms send them.
    let instant_or_empty = json!({"anyOf": [
        {"type": "string", "format": "date-time"}, {"type": "string", "enum": [""]}
    ]});
    let external_id =
        json!({"type": "string", "minLength": 1, "maxLength": 200, "pattern": EXTERNAL_ID});
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, operations) in paths.iter_mut() {
        let Some(operations) = operations.as_object_mut() else {
            continue;
        };
        for operation in operations.values_mut() {
            // `get_mut`/`pointer_mut`, not indexing: `value["key"]` would insert a null.
            if let Some(parameters) = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
            {
                for parameter in parameters {
                    match parameter["name"].as_str() {
                        Some("tz") => parameter["schema"] = zone.clone(),
                        Some("q") => parameter["schema"]["pattern"] = json!(NO_CONTROL),
                        Some("type") => parameter["schema"]["pattern"] = json!(TYPES),
                        Some("assignee") => parameter["schema"]["pattern"] = json!(ASSIGNEE),
                        Some("from" | "to") => parameter["schema"] = instant_or_empty.clone(),
                        Some("external_id") => parameter["schema"] = external_id.clone(),
                        _ => {}
                    }
                }
            }
            if path.starts_with("/api/v1/directory/") && !path.ends_with("/merge") {
                let body = operation.pointer_mut("/requestBody/content/application~1json/schema");
                if let Some(body) = body.filter(|b| b.get("type") == Some(&json!("array"))) {
                    body["minItems"] = json!(1);
                    body["maxItems"] = json!(max_batch);
                }
            }
        }
    }
}

fn set(schemas: &mut Value, name: &str, change: impl FnOnce(&mut Value)) {
    if let Some(schema) = schemas.get_mut(name) {
        change(schema);
    }
}

fn remove(schema: &mut Value, key: &str) {
    if let Some(object) = schema.as_object_mut() {
        object.remove(key);
    }
}
