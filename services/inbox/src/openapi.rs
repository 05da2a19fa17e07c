//! `/openapi.json`, generated from the handlers' `#[utoipa::path]` annotations and the types'
//! `ToSchema` derives, so the document follows the code. A test checks every route the router
//! serves is in it.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use relance_shared::http::openapi as shared;
pub use relance_shared::http::openapi::{Problem, ProblemField};

use crate::handlers;

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

pub async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(document())
}
