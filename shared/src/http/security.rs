//! Browser security headers on every answer of every service: a Content-Security-Policy, no
//! framing (clickjacking), no MIME sniffing, no referrer. The API-only services use
//! [`API_ONLY`] (nothing may load or run); the inbox, which serves the web app, builds its own
//! policy (`relance_inbox::web::content_security_policy`). A handler that set one of these
//! headers itself keeps its value.

use axum::http::{header, HeaderName, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy of a service that serves no page: nothing may be loaded, run or framed.
pub const API_ONLY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Who may frame a service's pages (`X-Frame-Options`, for browsers that predate CSP's
/// `frame-ancestors`, which the policy must say alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Nobody,
    /// The service's own pages only: the web app's silent sign-in renewal loads the app in an
    /// iframe of itself.
    SameOrigin,
}

/// Adds the headers to every answer of `router`, with `policy` as the CSP.
pub fn layer(router: Router, policy: HeaderValue, framing: Framing) -> Router {
    let frame_options = match framing {
        Framing::Nobody => "DENY",
        Framing::SameOrigin => "SAMEORIGIN",
    };
    let headers: [(HeaderName, HeaderValue); 5] = [
        (header::CONTENT_SECURITY_POLICY, policy),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static(frame_options),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(name, value))
    })
}

/// [`layer`] with [`API_ONLY`].
pub fn api_only(router: Router) -> Router {
    layer(router, HeaderValue::from_static(API_ONLY), Framing::Nobody)
}
