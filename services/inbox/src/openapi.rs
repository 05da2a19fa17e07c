//! `/openapi.json`, generated from the handlers' `#[utoipa::path]` annotations and the types'
//! `ToSchema` derives, so the document follows the code. A test checks every route the router
//! serves is in it.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use relance_shared::http::openapi as shared;
pub use relance_shared::http::openapi::{Problem, ProblemField};

use crate::routes;

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
                        "HS256 JWT, `sub` = user id, `exp` required (see POST /api/v1/auth/dev-login)",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Relance inbox API", description = "The workflow inbox, one-click actions and hot leads. Errors are application/problem+json."),
    paths(
        routes::auth::dev_login,
        routes::auth::me,
        routes::auth::users,
        routes::interactions::inbox,
        routes::interactions::stats,
        routes::interactions::export,
        routes::interactions::bulk,
        routes::interactions::create,
        routes::interactions::get_one,
        routes::interactions::set_status,
        routes::interactions::set_assignee,
        routes::interactions::set_next_action,
        routes::leads::hot,
        routes::leads::export,
        routes::leads::person_score,
        routes::notifications::list,
        routes::notifications::mark_read,
        crate::live::sse::stream,
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
        (name = "notifications", description = "The caller's reminders"),
        (name = "live", description = "Interaction changes and notifications as Server-Sent Events"),
        (name = "auth", description = "Tokens and users"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
