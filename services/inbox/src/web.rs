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

/// The Content-Security-Policy of every inbox answer: the app's own scripts, styles and API
/// only (no inline script, no eval, no other site framing it); the OpenID provider, when
/// configured, for oidc-client-ts's discovery and token requests (`connect-src`) and its silent
/// renewal, an iframe that goes to the provider and comes back to the app (`frame-src` both,
/// `frame-ancestors 'self'`). Styles set from script (React's `style`, uPlot) are not inline
/// styles to CSP; images may be `data:` URLs (icons).
pub fn content_security_policy(oidc_issuer: Option<&str>) -> HeaderValue {
    let (connect, frames) = match oidc_issuer.and_then(origin_of) {
        Some(provider) => (format!("'self' {provider}"), format!("'self' {provider}")),
        None => ("'self'".to_owned(), "'self'".to_owned()),
    };
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; connect-src {connect}; frame-src {frames}; \
         frame-ancestors 'self'; base-uri 'none'; form-action 'self'; object-src 'none'"
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static(relance_shared::http::security::API_ONLY))
}

/// `https://host[:port]` of a URL, `None` when it is not an http(s) URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    valid.then(|| format!("{scheme}://{host}"))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_lets_the_app_reach_its_openid_provider_and_nothing_else() {
        let without = content_security_policy(None);
        let without = without.to_str().unwrap();
        assert!(without.contains("script-src 'self';"));
        assert!(without.contains("connect-src 'self';"));
        assert!(without.contains("frame-src 'self';"));
        assert!(without.contains("frame-ancestors 'self'"));
        let with = content_security_policy(Some("https://login.example.com:8443/realms/acme"));
        let with = with.to_str().unwrap();
        assert!(with.contains("connect-src 'self' https://login.example.com:8443;"));
        assert!(with.contains("frame-src 'self' https://login.example.com:8443;"));
        // A value that could smuggle a directive is not taken.
        for bad in [
            "https://a.example; script-src *",
            "javascript:alert(1)",
            "https://",
        ] {
            let policy = content_security_policy(Some(bad));
            assert!(
                policy.to_str().unwrap().contains("connect-src 'self';"),
                "{bad}"
            );
        }
    }
}
