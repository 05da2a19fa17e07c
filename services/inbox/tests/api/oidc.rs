//! Sign-in with an OpenID provider, against a provider of the test's own: its discovery document
//! and key set served on a local port, keys it can rotate, and tokens signed with them (RS256
//! and ES256, by `jsonwebtoken` as a provider would).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use crate::helpers::*;

const AUDIENCE: &str = "relance-api";
const RSA_PEM: &[u8] = include_bytes!("fixtures/oidc-test-rsa.pem");
const RSA_N: &str = include_str!("fixtures/oidc-test-rsa.n");

/// The test's OpenID provider.
struct Provider {
    issuer: String,
    /// The published key set (JWKs); tests replace it to rotate keys.
    keys: Arc<Mutex<Vec<Value>>>,
    /// How many times the key set was fetched.
    fetches: Arc<AtomicUsize>,
}

async fn provider() -> Provider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let keys = Arc::new(Mutex::new(Vec::new()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let discovery = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")});
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route(
            "/jwks",
            get({
                let (keys, fetches) = (keys.clone(), fetches.clone());
                move || async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    Json(json!({"keys": keys.lock().unwrap().clone()}))
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Provider {
        issuer,
        keys,
        fetches,
    }
}

/// A P-256 key: its PKCS#8 (to sign) and its public JWK.
fn ec_key(kid: &str) -> (Vec<u8>, Value) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref(); // 0x04 || x || y
    let jwk = json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                     "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])});
    (pkcs8.as_ref().to_vec(), jwk)
}

fn rsa_jwk() -> Value {
    json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "rsa-1", "n": RSA_N.trim(), "e": "AQAB"})
}

fn claims(provider: &Provider, sub: &str, email: Option<&str>) -> Value {
    let now = Utc::now().timestamp();
    let mut claims = json!({"iss": provider.issuer, "aud": [AUDIENCE, "other-api"], "sub": sub,
                            "iat": now, "exp": now + 600});
    if let Some(email) = email {
        claims["email"] = json!(email);
        claims["email_verified"] = json!(true);
    }
    claims
}

fn es256(pkcs8: &[u8], kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.into());
    encode(&header, claims, &EncodingKey::from_ec_der(pkcs8)).unwrap()
}

fn rs256(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa-1".into());
    encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(RSA_PEM).unwrap(),
    )
    .unwrap()
}

async fn inbox_with(provider: &Provider, min_refresh: u64) -> TestInbox {
    let issuer = provider.issuer.clone();
    TestInbox::spawn_with(Utc::now(), move |s| {
        s.auth.oidc.issuer = Some(issuer);
        s.auth.oidc.audience = Some(AUDIENCE.into());
        s.auth.oidc.client_id = Some("relance-web".into());
        s.auth.oidc.jwks_min_refresh_secs = min_refresh;
    })
    .await
}

/// `GET /api/v1/me` with this bearer token: (status, user id).
async fn me(inbox: &TestInbox, token: &str) -> (u16, Value) {
    let response = inbox
        .http
        .get(format!("{}/api/v1/me", inbox.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["id"].clone())
}

#[tokio::test]
async fn a_provider_token_signs_in_the_user_by_verified_email_then_by_subject() {
    let provider = provider().await;
    let (pkcs8, jwk) = ec_key("ec-1");
    *provider.keys.lock().unwrap() = vec![jwk, rsa_jwk()];
    let inbox = inbox_with(&provider, 10).await;

    let first = es256(
        &pkcs8,
        "ec-1",
        &claims(&provider, "sub-alice", Some("Alice@Relance.test")),
    );
    assert_eq!(me(&inbox, &first).await, (200, json!(ALICE)));
    let linked: Option<String> = sqlx::query_scalar("SELECT oidc_subject FROM users WHERE id = $1")
        .bind(ALICE)
        .fetch_one(inbox.pool())
        .await
        .unwrap();
    assert_eq!(linked.as_deref(), Some("sub-alice"));
    // Linked: the subject alone is enough, whatever the email claim says now.
    let later = es256(&pkcs8, "ec-1", &claims(&provider, "sub-alice", None));
    assert_eq!(me(&inbox, &later).await, (200, json!(ALICE)));
    // RS256 works too.
    let bruno = rs256(&claims(&provider, "sub-bruno", Some("bruno@relance.test")));
    assert_eq!(me(&inbox, &bruno).await, (200, json!(BRUNO)));
    // The HS256 tokens of auth.jwt_secret stay accepted.
    assert_eq!(me(&inbox, &inbox.token(ALICE)).await.0, 200);
    assert_eq!(provider.fetches.load(Ordering::SeqCst), 1, "keys cached");
}

#[tokio::test]
async fn forged_expired_or_misdirected_tokens_are_refused() {
    let provider = provider().await;
    let (pkcs8, jwk) = ec_key("ec-1");
    *provider.keys.lock().unwrap() = vec![jwk, rsa_jwk()];
    let inbox = inbox_with(&provider, 10).await;
    let good = claims(&provider, "sub-alice", Some("alice@relance.test"));

    let mut wrong_issuer = good.clone();
    wrong_issuer["iss"] = json!("https://evil.example");
    let mut wrong_audience = good.clone();
    wrong_audience["aud"] = json!("someone-else");
    let mut expired = good.clone();
    expired["exp"] = json!(Utc::now().timestamp() - 3600);
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let (other_pkcs8, _) = ec_key("ec-1"); // a key the provider never published, same kid
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"ec-1"}"#),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    // HS256 signed with the provider's public key as the secret (an algorithm switch).
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some("rsa-1".into());
    let hs_with_public_key = encode(
        &hs_header,
        &good,
        &EncodingKey::from_secret(RSA_N.as_bytes()),
    )
    .unwrap();
    let valid = es256(&pkcs8, "ec-1", &good);
    let (head, rest) = valid.split_once('.').unwrap();
    let signature = rest.split_once('.').unwrap().1;
    let mut tampered_claims = good.clone();
    tampered_claims["sub"] = json!("sub-bruno");
    let tampered = format!(
        "{head}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(tampered_claims.to_string())
    );
    for (what, token) in [
        ("wrong issuer", es256(&pkcs8, "ec-1", &wrong_issuer)),
        ("wrong audience", es256(&pkcs8, "ec-1", &wrong_audience)),
        ("expired", es256(&pkcs8, "ec-1", &expired)),
        ("no exp", es256(&pkcs8, "ec-1", &no_exp)),
        ("signed by another key", es256(&other_pkcs8, "ec-1", &good)),
        (
            "an RSA key's kid on an ES256 token",
            es256(&pkcs8, "rsa-1", &good),
        ),
        ("alg none", none),
        ("HS256 with the public key", hs_with_public_key),
        ("tampered", tampered),
        ("unknown kid", es256(&pkcs8, "ec-404", &good)),
    ] {
        assert_eq!(me(&inbox, &token).await.0, 401, "{what}");
    }
    assert_eq!(me(&inbox, &valid).await.0, 200, "the good one still works");
}

#[tokio::test]
async fn a_valid_token_for_nobody_or_a_deactivated_user_is_forbidden() {
    let provider = provider().await;
    let (pkcs8, jwk) = ec_key("ec-1");
    *provider.keys.lock().unwrap() = vec![jwk];
    let inbox = inbox_with(&provider, 10).await;
    let token =
        |sub: &str, email: Option<&str>| es256(&pkcs8, "ec-1", &claims(&provider, sub, email));
    assert_eq!(
        me(&inbox, &token("sub-x", Some("stranger@relance.test")))
            .await
            .0,
        403
    );
    assert_eq!(me(&inbox, &token("sub-x", None)).await.0, 403);
    // Claire is deactivated.
    assert_eq!(
        me(&inbox, &token("sub-claire", Some("claire@relance.test")))
            .await
            .0,
        403
    );
    // An unverified address links nobody.
    let mut unverified = claims(&provider, "sub-bruno", Some("bruno@relance.test"));
    unverified["email_verified"] = json!(false);
    assert_eq!(me(&inbox, &es256(&pkcs8, "ec-1", &unverified)).await.0, 403);
    let response = inbox
        .http
        .get(format!("{}/api/v1/me", inbox.base))
        .bearer_auth(token("sub-x", None))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    // A user deactivated after linking is refused too.
    assert_eq!(
        me(&inbox, &token("sub-alice", Some("alice@relance.test")))
            .await
            .0,
        200
    );
    sqlx::query("UPDATE users SET is_active = false WHERE id = $1")
        .bind(ALICE)
        .execute(inbox.pool())
        .await
        .unwrap();
    assert_eq!(me(&inbox, &token("sub-alice", None)).await.0, 403);
}

#[tokio::test]
async fn the_providers_key_rotation_needs_no_restart_and_unknown_kids_do_not_hammer_it() {
    let provider = provider().await;
    let (old_pkcs8, old_jwk) = ec_key("2026-11");
    *provider.keys.lock().unwrap() = vec![old_jwk];
    let inbox = inbox_with(&provider, 0).await;
    let good = claims(&provider, "sub-alice", Some("alice@relance.test"));
    assert_eq!(
        me(&inbox, &es256(&old_pkcs8, "2026-11", &good)).await.0,
        200
    );
    // The provider rotates: a new key, the old one retired.
    let (new_pkcs8, new_jwk) = ec_key("2026-12");
    *provider.keys.lock().unwrap() = vec![new_jwk];
    assert_eq!(
        me(&inbox, &es256(&new_pkcs8, "2026-12", &good)).await.0,
        200
    );
    assert_eq!(
        provider.fetches.load(Ordering::SeqCst),
        2,
        "one refetch for the new kid"
    );

    // With the refetch rate-limited, tokens naming unknown kids cost no request to the provider.
    let limited = provider_with_one_key().await;
    let inbox = inbox_with(&limited.0, 60).await;
    assert_eq!(
        me(
            &inbox,
            &es256(
                &limited.1,
                "k",
                &claims(&limited.0, "sub-alice", Some("alice@relance.test"))
            )
        )
        .await
        .0,
        200
    );
    for n in 0..5 {
        let forged = es256(
            &limited.1,
            &format!("forged-{n}"),
            &claims(&limited.0, "sub-alice", None),
        );
        assert_eq!(me(&inbox, &forged).await.0, 401);
    }
    assert_eq!(limited.0.fetches.load(Ordering::SeqCst), 1);
}

async fn provider_with_one_key() -> (Provider, Vec<u8>) {
    let provider = provider().await;
    let (pkcs8, jwk) = ec_key("k");
    *provider.keys.lock().unwrap() = vec![jwk];
    (provider, pkcs8)
}

#[tokio::test]
async fn the_web_app_learns_how_to_sign_in() {
    let provider = provider().await;
    let inbox = inbox_with(&provider, 10).await;
    let reply = inbox.get("/api/v1/auth/config", None).await;
    assert_eq!(
        reply.body,
        json!({"dev_login": false, "oidc": {"issuer": provider.issuer, "client_id": "relance-web",
                                            "scopes": "openid profile email"}})
    );
    let plain =
        TestInbox::spawn_with(at("2026-06-10T12:00:00Z"), |s| s.auth.dev_login = true).await;
    let reply = plain.get("/api/v1/auth/config", None).await;
    assert_eq!(reply.body, json!({"dev_login": true, "oidc": null}));
}
