//! The inbox serves the built web app: its screens get index.html, assets are cached, and an
//! unknown API path stays a 404.

use crate::helpers::*;

/// An inbox serving a tiny web app build: an index page and one asset.
async fn with_a_web_build() -> TestInbox {
    let dir = std::env::temp_dir().join(format!("relance-web-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><div id=root></div>").unwrap();
    std::fs::write(dir.join("assets/app-abc123.js"), "console.log(1)").unwrap();
    let web_dir = dir.to_string_lossy().into_owned();
    TestInbox::spawn_with(at("2026-06-10T12:00:00Z"), |s| s.inbox.web_dir = web_dir).await
}

#[tokio::test]
async fn serves_the_app_screens_and_assets_but_not_unknown_api_paths() {
    let inbox = with_a_web_build().await;
    for path in [
        "/",
        "/login",
        "/dashboard",
        "/dashboard/inbox?assignee=me",
        "/people/12",
        "/organisations/3",
        "/leads?threshold=20",
        "/settings",
    ] {
        let reply = inbox.get(path, None).await;
        assert_eq!(reply.status, 200, "{path}");
        assert!(reply.content_type.starts_with("text/html"), "{path}");
        assert!(reply.text.contains("id=root"));
    }
    let asset = inbox
        .http
        .get(format!("{}/assets/app-abc123.js", inbox.base))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(inbox.get("/api/v1/nothing-here", None).await.status, 404);
    assert_eq!(
        inbox.get("/api/v1/people/1/nothing", None).await.status,
        404
    );
    assert_eq!(inbox.get("/nowhere", None).await.status, 404);
    assert_eq!(inbox.get("/assets/missing.js", None).await.status, 404);
}

/// Every answer, page, asset, API success, refusal or unknown path, carries the browser
/// security headers; the page's policy forbids inline scripts and framing by other sites.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let inbox = with_a_web_build().await;
    let token = inbox.token(ALICE);
    for (path, bearer) in [
        ("/dashboard", None),
        ("/assets/app-abc123.js", None),
        ("/api/v1/me", Some(&token)),
        ("/api/v1/me", None),
        ("/api/v1/nothing-here", None),
        ("/healthz", None),
        ("/metrics", None),
    ] {
        let mut request = inbox.http.get(format!("{}{path}", inbox.base));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let reply = request.send().await.unwrap();
        let headers = reply.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self';"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'self'"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "SAMEORIGIN", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
}
