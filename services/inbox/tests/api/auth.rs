//! 401 without a valid token on every API route; dev-login only where it is on; OpenAPI.

use std::collections::BTreeSet;

use chrono::Duration;
use secrecy::SecretString;
use serde_json::json;

use relance_inbox::auth::TokenKeys;

use crate::helpers::*;

const NOW: &str = "2026-06-10T12:00:00Z";

const PROTECTED: &[(&str, &str)] = &[
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/users"),
    ("GET", "/api/v1/teams"),
    ("GET", "/api/v1/interactions/inbox"),
    ("GET", "/api/v1/interactions/inbox/stats"),
    ("GET", "/api/v1/interactions/inbox/export"),
    ("POST", "/api/v1/interactions"),
    ("POST", "/api/v1/interactions/bulk"),
    ("GET", "/api/v1/interactions/1"),
    ("GET", "/api/v1/interactions/1/history"),
    ("PATCH", "/api/v1/interactions/1"),
    ("PATCH", "/api/v1/interactions/1/status"),
    ("PATCH", "/api/v1/interactions/1/assignee"),
    ("PATCH", "/api/v1/interactions/1/next-action"),
    ("GET", "/api/v1/marketing/leads-hot"),
    ("GET", "/api/v1/marketing/leads-hot/export"),
    ("GET", "/api/v1/people/1/score"),
    ("GET", "/api/v1/people"),
    ("GET", "/api/v1/people/1"),
    ("GET", "/api/v1/people/1/sends"),
    ("GET", "/api/v1/organisations/1"),
    ("GET", "/api/v1/notifications"),
    ("PATCH", "/api/v1/notifications/1/read"),
    ("POST", "/api/v1/notifications/read-all"),
    ("PATCH", "/api/v1/me/preferences"),
    ("GET", "/api/v1/stream"),
];

#[tokio::test]
async fn every_api_route_wants_a_valid_token() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let keys = TokenKeys::new(SecretString::from(relance_shared::testing::TEST_JWT_SECRET));
    let expired = keys.issue(ALICE, at(NOW) - Duration::hours(2), Duration::hours(1));
    let foreign = TokenKeys::new(SecretString::from("some-other-secret-0123456789-abcdef")).issue(
        ALICE,
        at(NOW),
        Duration::hours(1),
    );
    for (method, path) in PROTECTED {
        for token in [
            None,
            Some("garbage"),
            Some(expired.as_str()),
            Some(foreign.as_str()),
        ] {
            let mut request = inbox.http.request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", inbox.base),
            );
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let reply = request.json(&json!({})).send().await.unwrap();
            assert_eq!(reply.status(), 401, "{method} {path} with {token:?}");
            assert_eq!(reply.headers()["www-authenticate"], "Bearer");
            assert_eq!(reply.headers()["content-type"], "application/problem+json");
        }
    }
    let me = inbox.get("/api/v1/me", Some(ALICE)).await;
    assert_eq!(
        me.body,
        json!({"id": 1, "full_name": "Alice Martin", "email": "alice@relance.test", "role": "admin",
               "preferences": {"notify_email": "instant", "timezone": "Europe/Paris", "digest_hour": 8,
                               "away_until": null, "work_days": [1, 2, 3, 4, 5],
                               "work_start": "09:00", "work_end": "18:00"}})
    );
    let users = inbox.get("/api/v1/users", Some(ALICE)).await;
    assert_eq!(users.body.as_array().unwrap().len(), 2, "active users only");
}

#[tokio::test]
async fn dev_login_is_off_unless_configured() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let reply = inbox
        .send(
            "POST",
            "/api/v1/auth/dev-login",
            None,
            json!({"user_id": ALICE}),
        )
        .await;
    assert_eq!(reply.status, 404);

    let inbox = TestInbox::spawn_with(at(NOW), |s| s.auth.dev_login = true).await;
    let reply = inbox
        .send(
            "POST",
            "/api/v1/auth/dev-login",
            None,
            json!({"user_id": ALICE}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["user"]["full_name"], "Alice Martin");
    assert_eq!(reply.body["expires_at"], "2026-06-11T00:00:00Z");
    let token = reply.body["token"].as_str().unwrap();
    let me = inbox
        .http
        .get(format!("{}/api/v1/me", inbox.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    for user in [
        json!({"user_id": CLAIRE}),
        json!({"user_id": 99}),
        json!({"user": 1}),
    ] {
        let reply = inbox
            .send("POST", "/api/v1/auth/dev-login", None, user.clone())
            .await;
        assert_eq!(reply.status, 422, "{user}");
    }
}

#[tokio::test]
async fn openapi_documents_every_route() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let reply = inbox.get("/openapi.json", None).await;
    assert_eq!(reply.status, 200);
    let doc = reply.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let mut served: BTreeSet<(String, String)> = PROTECTED
        .iter()
        .map(|(m, p)| {
            let p = p.replace("/1/", "/{id}/");
            let p = match p.strip_suffix("/1") {
                Some(collection) => format!("{collection}/{{id}}"),
                None => p,
            };
            (m.to_string(), p)
        })
        .collect();
    for (m, p) in [
        ("POST", "/api/v1/auth/dev-login"),
        ("GET", "/api/v1/auth/config"),
        // The CRM's routes, behind `directory.token` (tests/api/directory.rs).
        ("PUT", "/api/v1/directory/users"),
        ("PUT", "/api/v1/directory/organisations"),
        ("PUT", "/api/v1/directory/teams"),
        ("PUT", "/api/v1/directory/people"),
        ("POST", "/api/v1/directory/people/merge"),
        ("DELETE", "/api/v1/directory/people/{external_id}"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
    ] {
        served.insert((m.into(), p.into()));
    }
    assert_eq!(documented, served);
    let inbox_params: Vec<&str> = doc["paths"]["/api/v1/interactions/inbox"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        inbox_params,
        [
            "assignee",
            "team",
            "due",
            "tz",
            "status",
            "type",
            "person_id",
            "organisation_id",
            "from",
            "to",
            "q",
            "limit",
            "cursor"
        ]
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
