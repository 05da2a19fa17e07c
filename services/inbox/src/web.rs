//! The browser app (`web/`, built to `inbox.web_dir`), served by the inbox so the app and the
//! API share one origin (no CORS, the token never crosses origins). The app's screens (`/`,
//! `/login`, `/dashboard`, `/dashboard/...`, `/people/...`, `/organisations/...`, `/leads`,
//! `/settings`) get `index.html`, revalidated on every load; the app's router shows its own
//! not-found page for a screen or id it does not know. `/assets/*` are content-hashed by Vite,
//! so they are cached for a year. Anything else stays a 404, so a mistyped API path is never
//! answered with a page.

use std::path::{Path, PathBuf};

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// The app's routes, or `None` when `dir` holds no build (the API still runs; the log says why).
pub fn routes(dir: &Path) -> Option<Router> {
    let index = match std::fs::read_to_string(dir.join("index.html")) {
        Ok(index) => index,
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "no web app build; run `npm run build` in web/");
            return None;
        }
    };
    let page = move || {
        let index = index.clone();
        async move {
            let mut response: Response = Html(index).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
    };
    let assets: PathBuf = dir.join("assets");
    Some(
        Router::new()
            .route("/", get(page.clone()))
            .route("/login", get(page.clone()))
            // The OpenID provider sends the browser back here (code + PKCE, silent renewal).
            .route("/auth/{*step}", get(page.clone()))
            .route("/dashboard", get(page.clone()))
            .route("/dashboard/{*screen}", get(page.clone()))
            .route("/people/{*id}", get(page.clone()))
            .route("/organisations/{*id}", get(page.clone()))
            .route("/leads", get(page.clone()))
            .route("/settings", get(page))
            .nest_service(
                "/assets",
                tower::ServiceBuilder::new()
                    .layer(SetResponseHeaderLayer::overriding(
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("public, max-age=31536000, immutable"),
                    ))
                    .service(ServeDir::new(assets)),
            ),
    )
}
