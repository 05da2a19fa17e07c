//! Native provider webhooks through HTTP against the real NATS server: requests signed here
//! with real keys (an HMAC secret, a freshly generated P-256 key pair) are accepted and mapped;
//! forgeries, replays and stale timestamps are refused with nothing published; end to end, the
//! scores move as the rules say.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use async_nats::jetstream;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures::StreamExt;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use secrecy::SecretString;
use serde_json::{json, Value};
use sha2::Sha256;

use relance_shared::event::EmailEvent;
use relance_shared::testing::{self, GatewayClient, TestContext};

const RESEND_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MAILGUN_KEY: &str = "mailgun-signing-key-0123456789";
const POSTMARK_AUTH: &str = "relance:hook-password";
const SPKI_P256_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

struct SendgridKey {
    pair: EcdsaKeyPair,
    public_b64: String,
}

fn sendgrid_key() -> SendgridKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let mut spki = SPKI_P256_PREFIX.to_vec();
    spki.extend_from_slice(pair.public_key().as_ref());
    SendgridKey {
        public_b64: STANDARD.encode(spki),
        pair,
    }
}

struct Gateway {
    ctx: TestContext,
    gateway: GatewayClient,
    sendgrid: SendgridKey,
}

impl Gateway {
    /// A gateway with every provider configured (or none).
    async fn spawn_with(configure: bool) -> Self {
        let sendgrid = sendgrid_key();
        let public_key = sendgrid.public_b64.clone();
        let ctx = TestContext::with(|settings| {
            if configure {
                settings.providers.resend.signing_secret = Some(SecretString::from(RESEND_SECRET));
                settings.providers.sendgrid.public_key = Some(SecretString::from(public_key));
                settings.providers.mailgun.signing_key = Some(SecretString::from(MAILGUN_KEY));
                settings.providers.postmark.basic_auth = Some(SecretString::from(POSTMARK_AUTH));
            }
        })
        .await;
        let gateway = ctx.spawn_gateway::<relance_gateway::Application>().await;
        Self {
            ctx,
            gateway,
            sendgrid,
        }
    }

    async fn spawn() -> Self {
        Self::spawn_with(true).await
    }

    async fn post(
        &self,
        provider: &str,
        headers: &[(&str, String)],
        body: &str,
    ) -> (StatusCode, Value) {
        let reply = self
            .gateway
            .webhook(provider, headers, body.to_owned())
            .await;
        (reply.status, reply.body)
    }

    fn svix_headers(
        &self,
        id: &str,
        at: i64,
        body: &str,
        secret: &str,
    ) -> Vec<(&'static str, String)> {
        let key = STANDARD
            .decode(secret.trim_start_matches("whsec_"))
            .unwrap();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        mac.update(format!("{id}.{at}.{body}").as_bytes());
        let sig = STANDARD.encode(mac.finalize().into_bytes());
        vec![
            ("svix-id", id.to_owned()),
            ("svix-timestamp", at.to_string()),
            ("svix-signature", format!("v1,{sig}")),
        ]
    }

    async fn resend(&self, id: &str, body: &Value) -> (StatusCode, Value) {
        let body = body.to_string();
        let headers = self.svix_headers(id, chrono::Utc::now().timestamp(), &body, RESEND_SECRET);
        self.post("resend", &headers, &body).await
    }

    fn sendgrid_headers(
        &self,
        key: &EcdsaKeyPair,
        at: i64,
        body: &str,
    ) -> Vec<(&'static str, String)> {
        let signed = format!("{at}{body}");
        let sig = key.sign(&SystemRandom::new(), signed.as_bytes()).unwrap();
        vec![
            (
                "x-twilio-email-event-webhook-signature",
                STANDARD.encode(sig.as_ref()),
            ),
            ("x-twilio-email-event-webhook-timestamp", at.to_string()),
        ]
    }

    async fn sendgrid(&self, body: &Value) -> (StatusCode, Value) {
        // SendGrid ends its body with CRLF; it is part of what is signed.
        let body = format!("{body}\r\n");
        let headers =
            self.sendgrid_headers(&self.sendgrid.pair, chrono::Utc::now().timestamp(), &body);
        self.post("sendgrid", &headers, &body).await
    }

    fn mailgun_body(event_data: Value, token: &str, at: i64, key: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(format!("{at}{token}").as_bytes());
        json!({
            "signature": {"timestamp": at.to_string(), "token": token,
                          "signature": hex::encode(mac.finalize().into_bytes())},
            "event-data": event_data,
        })
        .to_string()
    }

    async fn mailgun(&self, event_data: Value, token: &str) -> (StatusCode, Value) {
        let body = Self::mailgun_body(
            event_data,
            token,
            chrono::Utc::now().timestamp(),
            MAILGUN_KEY,
        );
        self.post("mailgun", &[], &body).await
    }

    async fn postmark(&self, body: &Value, auth: &str) -> (StatusCode, Value) {
        let headers = [("authorization", format!("Basic {}", STANDARD.encode(auth)))];
        self.post("postmark", &headers, &body.to_string()).await
    }

    /// The kinds of the events published, in order, checking they all come from `provider`.
    async fn published_kinds(&self, provider: &str) -> (Vec<EmailEvent>, Vec<String>) {
        let events = self.published().await;
        assert!(events.iter().all(|e| e.provider == provider), "{events:?}");
        let kinds = events.iter().map(|e| e.event.as_str().to_owned()).collect();
        (events, kinds)
    }

    /// Every event in this test's EMAIL_EVENTS stream, in order.
    async fn published(&self) -> Vec<EmailEvent> {
        let js = self.ctx.jetstream().await;
        let names = self.ctx.names();
        let Ok(mut stream) = js.get_stream(names.email_events_stream()).await else {
            return Vec::new();
        };
        let count = stream.info().await.unwrap().state.messages as usize;
        let mut out = Vec::new();
        if count == 0 {
            return out;
        }
        let consumer = stream
            .create_consumer(jetstream::consumer::pull::Config {
                ack_policy: jetstream::consumer::AckPolicy::None,
                ..Default::default()
            })
            .await
            .unwrap();
        while out.len() < count {
            let mut batch = consumer
                .fetch()
                .max_messages(count)
                .messages()
                .await
                .unwrap();
            while let Some(message) = batch.next().await {
                out.push(serde_json::from_slice(&message.unwrap().payload).unwrap());
            }
        }
        out
    }
}

/// What is wrong with a request, its headers, its body.
type Case = (&'static str, Vec<(&'static str, String)>, String);

fn summary(events: &[EmailEvent]) -> Vec<(String, String, Option<String>, bool)> {
    events
        .iter()
        .map(|e| {
            (
                e.event.as_str().to_owned(),
                e.external_id.clone(),
                e.recipient.clone(),
                e.machine_open,
            )
        })
        .collect()
}

fn resend_event(kind: &str, extra: Value) -> Value {
    let mut data = json!({
        "created_at": "2026-11-20T09:59:59.894719+00:00",
        "email_id": "56761188-7520-42d8-8898-ff6fc54ce618",
        "from": "Relance <ventes@relance.test>",
        "to": ["jeanne@acme.test"],
        "subject": "Votre devis",
    });
    for (k, v) in extra.as_object().unwrap() {
        data[k] = v.clone();
    }
    json!({"type": kind, "created_at": "2026-11-20T10:00:00.126Z", "data": data})
}

#[tokio::test]
async fn resend_events_are_verified_and_mapped() {
    let gw = Gateway::spawn().await;
    let cases = [
        ("msg_1", resend_event("email.sent", json!({})), 1, 0),
        ("msg_2", resend_event("email.delivered", json!({})), 1, 0),
        (
            "msg_3",
            resend_event("email.delivery_delayed", json!({})),
            0,
            1,
        ),
        ("msg_4", resend_event("email.opened", json!({})), 1, 0),
        (
            "msg_5",
            resend_event(
                "email.clicked",
                json!({"click": {"link": "https://relance.test/offre", "timestamp": "2026-11-20T10:00:00Z"}}),
            ),
            1,
            0,
        ),
        (
            "msg_6",
            resend_event(
                "email.bounced",
                json!({"bounce": {"type": "Permanent", "subType": "General", "message": "550"}}),
            ),
            1,
            0,
        ),
        (
            "msg_7",
            resend_event(
                "email.bounced",
                json!({"bounce": {"type": "Transient", "subType": "MailboxFull"}}),
            ),
            0,
            1,
        ),
        ("msg_8", resend_event("email.complained", json!({})), 1, 0),
        ("msg_9", resend_event("contact.created", json!({})), 0, 1),
    ];
    for (id, body, accepted, ignored) in &cases {
        let (status, reply) = gw.resend(id, body).await;
        assert_eq!(status, StatusCode::OK, "{id}: {reply}");
        assert_eq!(
            (
                reply["accepted"].as_u64().unwrap(),
                reply["ignored"].as_u64().unwrap()
            ),
            (*accepted, *ignored),
            "{id}"
        );
    }
    let (events, kinds) = gw.published_kinds("resend").await;
    assert_eq!(
        kinds,
        [
            "sent",
            "delivered",
            "opened",
            "clicked",
            "bounced",
            "complained"
        ]
    );
    for e in &events {
        assert_eq!(e.external_id, "56761188-7520-42d8-8898-ff6fc54ce618");
        assert_eq!(e.recipient.as_deref(), Some("jeanne@acme.test"));
        assert_eq!(e.subject.as_deref(), Some("Votre devis"));
        assert_eq!(
            e.occurred_at,
            "2026-11-20T10:00:00.126Z"
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
        );
    }
    assert_eq!(events[0].event_key, "resend-msg_1");
    assert_eq!(events[3].url.as_deref(), Some("https://relance.test/offre"));
    // Svix retries with the same svix-id: JetStream recognises it.
    let (_, reply) = gw.resend("msg_4", &cases[3].1).await;
    assert_eq!(reply["duplicates"], 1);
}

#[tokio::test]
async fn forged_or_stale_resend_requests_are_refused_and_publish_nothing() {
    let gw = Gateway::spawn().await;
    let body = resend_event("email.opened", json!({})).to_string();
    let now = chrono::Utc::now().timestamp();
    let other_secret = "whsec_c2VjcmV0LW9mLWFub3RoZXItZW5kcG9pbnQ=";
    let mut tampered = gw.svix_headers("msg_a", now, &body, RESEND_SECRET);
    tampered[0].1 = "msg_b".into();
    let resend_cases: Vec<Case> = vec![
        (
            "other secret",
            gw.svix_headers("msg_a", now, &body, other_secret),
            body.clone(),
        ),
        (
            "stale",
            gw.svix_headers("msg_a", now - 600, &body, RESEND_SECRET),
            body.clone(),
        ),
        (
            "future",
            gw.svix_headers("msg_a", now + 600, &body, RESEND_SECRET),
            body.clone(),
        ),
        (
            "body changed",
            gw.svix_headers("msg_a", now, &body, RESEND_SECRET),
            body.replace("opened", "clicked"),
        ),
        ("id changed", tampered, body.clone()),
        ("no headers", vec![], body.clone()),
    ];
    for (what, headers, body) in resend_cases {
        let (status, reply) = gw.post("resend", &headers, &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "resend {what}: {reply}");
    }
    assert!(gw.published().await.is_empty());
}

#[tokio::test]
async fn forged_or_stale_sendgrid_requests_are_refused_and_publish_nothing() {
    let gw = Gateway::spawn().await;
    let now = chrono::Utc::now().timestamp();
    let batch = json!([{"email": "a@acme.test", "timestamp": now, "event": "open", "sg_message_id": "m1.filter"}]);
    let sg_body = format!("{batch}\r\n");
    let stranger = sendgrid_key();
    let sendgrid_cases: Vec<Case> = vec![
        (
            "other key",
            gw.sendgrid_headers(&stranger.pair, now, &sg_body),
            sg_body.clone(),
        ),
        (
            "stale",
            gw.sendgrid_headers(&gw.sendgrid.pair, now - 600, &sg_body),
            sg_body.clone(),
        ),
        (
            "body changed",
            gw.sendgrid_headers(&gw.sendgrid.pair, now, &sg_body),
            sg_body.replace("open", "click"),
        ),
        ("no headers", vec![], sg_body.clone()),
    ];
    for (what, headers, body) in sendgrid_cases {
        let (status, reply) = gw.post("sendgrid", &headers, &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "sendgrid {what}: {reply}");
    }
    assert!(gw.published().await.is_empty());
}

#[tokio::test]
async fn forged_stale_or_replayed_mailgun_requests_are_refused_and_publish_nothing() {
    let gw = Gateway::spawn().await;
    let now = chrono::Utc::now().timestamp();
    let data = json!({"id": "ev-1", "event": "opened", "timestamp": now as f64 + 0.25, "recipient": "a@acme.test",
                      "message": {"headers": {"message-id": "m1@relance.test"}}});
    let wrong_key = Gateway::mailgun_body(
        data.clone(),
        "token-wrong-key-000000000000000000000000000",
        now,
        "not-the-key",
    );
    let stale = Gateway::mailgun_body(
        data.clone(),
        "token-stale-0000000000000000000000000000000",
        now - 600,
        MAILGUN_KEY,
    );
    let mut forged: Value = serde_json::from_str(&Gateway::mailgun_body(
        data.clone(),
        "token-forged-000000000000000000000000000000",
        now,
        MAILGUN_KEY,
    ))
    .unwrap();
    forged["signature"]["token"] = json!("token-other-0000000000000000000000000000000");
    for (what, body) in [
        ("wrong key", wrong_key),
        ("stale", stale),
        ("token swapped", forged.to_string()),
        ("unsigned", json!({"event-data": data}).to_string()),
    ] {
        let (status, reply) = gw.post("mailgun", &[], &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "mailgun {what}: {reply}");
    }
    // A genuine request, then its replay.
    let (status, _) = gw
        .mailgun(data.clone(), "token-once-00000000000000000000000000000000")
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = gw
        .mailgun(data, "token-once-00000000000000000000000000000000")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "replay");
    assert_eq!(
        gw.published().await.len(),
        1,
        "only the genuine Mailgun event"
    );
    // One valid signature sent 8 times at once with 8 different bodies (Mailgun signs the
    // token, not the body): exactly one gets in.
    let now = chrono::Utc::now().timestamp();
    let token = "token-raced-000000000000000000000000000000";
    let bodies: Vec<String> = (0..8)
        .map(|n| {
            let data = json!({"id": format!("ev-race-{n}"), "event": "opened",
                              "timestamp": now as f64, "recipient": "a@acme.test",
                              "message": {"headers": {"message-id": format!("race-{n}@relance.test")}}});
            Gateway::mailgun_body(data, token, now, MAILGUN_KEY)
        })
        .collect();
    let replies =
        futures::future::join_all(bodies.iter().map(|b| gw.post("mailgun", &[], b))).await;
    let accepted = replies.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(accepted, 1, "{replies:?}");
    assert!(replies
        .iter()
        .all(|(s, _)| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED));
    assert_eq!(
        gw.published().await.len(),
        2,
        "the genuine event and one of the race"
    );
}

#[tokio::test]
async fn postmark_requests_without_the_right_credentials_are_refused() {
    let gw = Gateway::spawn().await;
    let record = json!({"RecordType": "Open", "MessageID": "pm-1", "Recipient": "a@acme.test", "ReceivedAt": "2026-11-20T10:00:00Z"});
    for auth in ["relance:wrong", "someone:hook-password", ""] {
        let (status, _) = gw.postmark(&record, auth).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "postmark {auth}");
    }
    let (status, _) = gw.post("postmark", &[], &record.to_string()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(gw.published().await.is_empty());
}

#[tokio::test]
async fn providers_without_a_secret_are_off() {
    let gw = Gateway::spawn_with(false).await;
    for provider in ["resend", "sendgrid", "mailgun", "postmark"] {
        let (status, _) = gw.post(provider, &[], "{}").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{provider}");
    }
}

/// Past the bound a signed batch is refused whole (nothing stored, not half of it and a 503),
/// and a signed body naming a key twice is a 400.
#[tokio::test]
async fn an_oversized_batch_or_a_repeated_key_is_refused_whole() {
    let gw = Gateway::spawn().await;
    let t = chrono::Utc::now().timestamp() - 60;
    let batch: Vec<Value> = (0..5001)
        .map(|n| {
            json!({"email": "jeanne@acme.test", "timestamp": t, "event": "open",
                   "sg_event_id": format!("sg-big-{n}"), "sg_message_id": format!("big-{n}.filter")})
        })
        .collect();
    let (status, reply) = gw.sendgrid(&Value::Array(batch)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    assert!(
        reply["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 5000"),
        "{reply}"
    );
    let twice = r#"{"RecordType": "Open", "RecordType": "Delivery", "MessageID": "m-twice",
                    "Recipient": "a@acme.test", "ReceivedAt": "2026-11-20T10:00:00Z"}"#;
    let headers = [(
        "authorization",
        format!("Basic {}", STANDARD.encode(POSTMARK_AUTH)),
    )];
    let (status, reply) = gw.post("postmark", &headers, twice).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    assert!(gw.published().await.is_empty());
}

#[tokio::test]
async fn sendgrid_batches_map_every_event_type() {
    let gw = Gateway::spawn().await;
    let t = chrono::Utc::now().timestamp() - 60;
    let id = "LRzXl_NHStOGhQ4kofSm_A";
    let mid = format!("{id}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0");
    let base = |event: &str, extra: Value| {
        let mut e = json!({"email": "jeanne@acme.test", "timestamp": t, "event": event,
                           "sg_event_id": format!("sg-{event}"), "sg_message_id": mid,
                           "smtp-id": format!("<{id}@ismtpd0039p1iad1.sendgrid.net>"), "category": ["relance"]});
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        e
    };
    let batch = json!([
        base("processed", json!({})),
        base(
            "deferred",
            json!({"response": "400 try again later", "attempt": "5"})
        ),
        base("delivered", json!({"response": "250 OK"})),
        base(
            "open",
            json!({"sg_machine_open": false, "useragent": "Mozilla/5.0"})
        ),
        base("open", json!({"sg_machine_open": true, "timestamp": t + 1})),
        base(
            "click",
            json!({"url": "https://relance.test/offre", "url_offset": {"index": 0, "type": "html"}})
        ),
        base(
            "bounce",
            json!({"type": "blocked", "reason": "temporarily deferred"})
        ),
        base(
            "bounce",
            json!({"type": "bounce", "reason": "550 5.1.1 unknown user", "status": "5.1.1"})
        ),
        base("dropped", json!({"reason": "Bounced Address"})),
        base("spamreport", json!({})),
        base("unsubscribe", json!({})),
        base(
            "group_unsubscribe",
            json!({"asm_group_id": 10, "timestamp": t + 2})
        ),
        base("group_resubscribe", json!({"asm_group_id": 10})),
    ]);
    let (status, reply) = gw.sendgrid(&batch).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(
        (reply["accepted"].as_u64(), reply["ignored"].as_u64()),
        (Some(9), Some(4))
    );
    let events = gw.published().await;
    let s = |k: &str, m: bool| {
        (
            k.to_owned(),
            id.to_owned(),
            Some("jeanne@acme.test".to_owned()),
            m,
        )
    };
    assert_eq!(
        summary(&events),
        [
            s("sent", false),
            s("delivered", false),
            s("opened", false),
            s("opened", true),
            s("clicked", false),
            s("bounced", false),
            s("complained", false),
            s("unsubscribed", false),
            s("unsubscribed", false)
        ]
    );
    assert!(events
        .iter()
        .all(|e| e.event_key.starts_with("sendgrid-") && !e.event_key.contains("sg-")));
    // SendGrid retries a batch with new sg_event_ids: same keys, recognised as duplicates.
    let retried: Vec<Value> = batch
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e["sg_event_id"] = json!("retry");
            e
        })
        .collect();
    let (_, reply) = gw.sendgrid(&Value::Array(retried)).await;
    assert_eq!(reply["duplicates"], 9);
    // One malformed event refuses the batch: nothing more is published.
    let (status, reply) = gw
        .sendgrid(&json!([base("open", json!({})), {"event": "open", "timestamp": t}]))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    assert_eq!(reply["errors"][0]["field"], "[1].sg_message_id");
    assert_eq!(gw.published().await.len(), 9);
}

#[tokio::test]
async fn mailgun_events_are_mapped() {
    let gw = Gateway::spawn().await;
    let now = chrono::Utc::now().timestamp() as f64;
    let mg = |n: usize, event: &str, extra: Value| {
        let mut e = json!({"id": format!("mg-{n}"), "event": event, "timestamp": now - 30.0 + n as f64 + 0.329574,
                           "recipient": "marc@acme.test", "log-level": "info",
                           "message": {"headers": {"message-id": "20261120.1.ABC@mg.relance.test", "subject": "Relance devis", "to": "marc@acme.test"}}});
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        e
    };
    let mailgun = [
        (mg(1, "accepted", json!({})), 1),
        (
            mg(2, "delivered", json!({"delivery-status": {"code": 250}})),
            1,
        ),
        (
            mg(
                3,
                "opened",
                json!({"client-info": {"client-type": "browser"}}),
            ),
            1,
        ),
        (
            mg(4, "clicked", json!({"url": "https://relance.test/offre"})),
            1,
        ),
        (
            mg(
                5,
                "failed",
                json!({"severity": "temporary", "reason": "generic"}),
            ),
            0,
        ),
        (
            mg(
                6,
                "failed",
                json!({"severity": "permanent", "reason": "bounce"}),
            ),
            1,
        ),
        (mg(7, "complained", json!({})), 1),
        (mg(8, "unsubscribed", json!({})), 1),
        (mg(9, "stored", json!({})), 0),
    ];
    for (n, (data, accepted)) in mailgun.iter().enumerate() {
        let (status, reply) = gw.mailgun(data.clone(), &format!("token-{n:0>46}")).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["accepted"].as_u64(), Some(*accepted), "{data}");
    }
    let (events, kinds) = gw.published_kinds("mailgun").await;
    assert_eq!(
        kinds,
        [
            "sent",
            "delivered",
            "opened",
            "clicked",
            "bounced",
            "complained",
            "unsubscribed"
        ]
    );
    assert_eq!(events[0].event_key, "mailgun-mg-1");
    assert_eq!(events[0].external_id, "20261120.1.ABC@mg.relance.test");
    assert_eq!(events[0].subject.as_deref(), Some("Relance devis"));

    // Refused, each naming its field, nothing published: a message id of brackets and spaces
    // only (it named no message, and went out empty), a time before 1970 or past 9999.
    let mut no_id = mg(20, "delivered", json!({}));
    no_id["message"]["headers"]["message-id"] = json!(" <> ");
    let mut future = mg(21, "delivered", json!({}));
    future["timestamp"] = json!(253_402_300_800.0);
    let mut past = mg(22, "delivered", json!({}));
    past["timestamp"] = json!(-1);
    for (n, (data, field)) in [
        (no_id, "event-data.message.headers.message-id"),
        (future, "event-data.timestamp"),
        (past, "event-data.timestamp"),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, reply) = gw.mailgun(data, &format!("refused-{n:0>42}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
        assert_eq!(reply["errors"][0]["field"], field, "{reply}");
    }
    assert_eq!(gw.published_kinds("mailgun").await.0.len(), events.len());
}

#[tokio::test]
async fn postmark_events_are_mapped() {
    let gw = Gateway::spawn().await;
    let pm = [
        (
            json!({"RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
                "Recipient": "sophie@acme.test", "Tag": "welcome", "DeliveredAt": "2026-11-20T16:33:54.9070259Z", "Details": "Test delivery webhook details"}),
            1,
        ),
        (
            json!({"RecordType": "Open", "MessageStream": "outbound", "FirstOpen": true, "Client": {"Name": "Chrome 35.0.1916.153"},
                "OS": {"Name": "OS X 10.7 Lion"}, "Platform": "WebMail", "UserAgent": "Mozilla/5.0", "ReadSeconds": 5, "Geo": {},
                "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "ReceivedAt": "2026-11-20T16:40:00.000-05:00", "Tag": "welcome", "Recipient": "sophie@acme.test"}),
            1,
        ),
        (
            json!({"RecordType": "Click", "MessageStream": "outbound", "ClickLocation": "HTML", "Client": {}, "OS": {}, "Platform": "Desktop",
                "UserAgent": "Mozilla/5.0", "OriginalLink": "https://relance.test/offre", "Geo": {}, "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
                "ReceivedAt": "2026-11-20T16:41:00Z", "Tag": "welcome", "Recipient": "sophie@acme.test"}),
            1,
        ),
        (
            json!({"RecordType": "Bounce", "ID": 4323372036854775807i64, "Type": "SoftBounce", "TypeCode": 4096, "Name": "Soft bounce",
                "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Email": "sophie@acme.test", "BouncedAt": "2026-11-20T16:42:00Z"}),
            0,
        ),
        (
            json!({"RecordType": "Bounce", "ID": 4323372036854775808i64, "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce",
                "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Email": "sophie@acme.test", "From": "ventes@relance.test",
                "BouncedAt": "2026-11-20T16:43:00Z", "Subject": "Votre devis", "Inactive": true, "CanActivate": true}),
            1,
        ),
        (
            json!({"RecordType": "SpamComplaint", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Type": "SpamComplaint", "TypeCode": 512,
                "Email": "sophie@acme.test", "BouncedAt": "2026-11-20T16:44:00Z"}),
            1,
        ),
        (
            json!({"RecordType": "SubscriptionChange", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "ChangedAt": "2026-11-20T16:45:00Z",
                "Recipient": "sophie@acme.test", "Origin": "Recipient", "SuppressSending": true, "SuppressionReason": "ManualSuppression"}),
            1,
        ),
        (
            json!({"RecordType": "SubscriptionChange", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "ChangedAt": "2026-11-20T16:46:00Z",
                "Recipient": "sophie@acme.test", "SuppressSending": true, "SuppressionReason": "HardBounce"}),
            0,
        ),
    ];
    for (record, accepted) in &pm {
        let (status, reply) = gw.postmark(record, POSTMARK_AUTH).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["accepted"].as_u64(), Some(*accepted), "{record}");
    }
    let (events, kinds) = gw.published_kinds("postmark").await;
    assert_eq!(
        kinds,
        [
            "delivered",
            "opened",
            "clicked",
            "bounced",
            "complained",
            "unsubscribed"
        ]
    );
    assert_eq!(
        events[1].occurred_at,
        "2026-11-20T21:40:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    assert_eq!(events[3].subject.as_deref(), Some("Votre devis"));
    assert!(events
        .iter()
        .all(|e| e.external_id == "883953f4-6105-42a2-a16a-77a8eac79483"
            && e.recipient.as_deref() == Some("sophie@acme.test")));
}

/// The sender passes the CRM's person id through each provider (a Resend tag, a SendGrid
/// custom arg, a Mailgun user variable, Postmark metadata): it reaches the event.
#[tokio::test]
async fn the_crms_person_id_passed_through_each_provider_reaches_the_event() {
    let gw = Gateway::spawn().await;
    let now = chrono::Utc::now().timestamp();
    gw.resend(
        "msg_tagged",
        &resend_event(
            "email.opened",
            json!({"tags": {"person_external_id": "crm-p-1"}}),
        ),
    )
    .await;
    gw.resend(
        "msg_tagged_list",
        &resend_event(
            "email.clicked",
            json!({"tags": [{"name": "person_external_id", "value": "crm-p-2"}]}),
        ),
    )
    .await;
    let (status, _) = gw
        .sendgrid(
            &json!([{"email": "a@acme.test", "timestamp": now, "event": "open",
                            "sg_message_id": "sg2.f", "person_external_id": "crm-p-3"}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let data = json!({"id": "mg-tagged", "event": "opened", "timestamp": now as f64,
                      "recipient": "a@acme.test", "user-variables": {"person_external_id": "crm-p-4"},
                      "message": {"headers": {"message-id": "m9@relance.test"}}});
    let (status, _) = gw
        .mailgun(data, "token-tagged-00000000000000000000000000000")
        .await;
    assert_eq!(status, StatusCode::OK);
    let record = json!({"RecordType": "Open", "MessageID": "pm-9", "Recipient": "a@acme.test",
                        "ReceivedAt": "2026-11-20T10:00:00Z", "Metadata": {"person_external_id": "crm-p-5"}});
    let (status, _) = gw.postmark(&record, POSTMARK_AUTH).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<Option<String>> = gw
        .published()
        .await
        .into_iter()
        .map(|e| e.person_external_id)
        .collect();
    assert_eq!(
        ids,
        ["crm-p-1", "crm-p-2", "crm-p-3", "crm-p-4", "crm-p-5"].map(|id| Some(id.to_owned()))
    );
}

#[tokio::test]
async fn provider_webhooks_move_scores_end_to_end() {
    let gw = Gateway::spawn().await;
    let db = &gw.ctx.db;
    sqlx::raw_sql(
        "INSERT INTO users (id, email, full_name) VALUES (1, 'a@relance.test', 'Alice'); \
         INSERT INTO people (id, first_name, last_name, email, owner_id) VALUES \
         (1, 'Jeanne', 'Durand', 'Jeanne@Acme.test', 1), (2, 'Marc', 'Leroy', 'marc@acme.test', 1);",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let _scoring = gw.ctx.spawn_scoring::<relance_scoring::Application>().await;
    // Resend: Jeanne opens (first +3) and clicks (first +8) = 11.
    gw.resend(
        "msg_e2e_1",
        &resend_event("email.opened", json!({"to": ["jeanne@acme.test"]})),
    )
    .await;
    gw.resend(
        "msg_e2e_2",
        &resend_event(
            "email.clicked",
            json!({"to": ["jeanne@acme.test"], "click": {"link": "https://x.test"}}),
        ),
    )
    .await;
    // SendGrid: Marc's machine open scores nothing, his real open +3, a hard bounce -10 → 0.
    let t = chrono::Utc::now().timestamp() - 60;
    let (status, _) = gw
        .sendgrid(&json!([
            {"email": "marc@acme.test", "timestamp": t, "event": "open", "sg_machine_open": true, "sg_message_id": "sg1.f"},
            {"email": "marc@acme.test", "timestamp": t + 1, "event": "open", "sg_machine_open": false, "sg_message_id": "sg1.f"},
            {"email": "marc@acme.test", "timestamp": t + 2, "event": "bounce", "type": "bounce", "sg_message_id": "sg1.f"},
        ]))
        .await;
    assert_eq!(status, StatusCode::OK);
    let scores = testing::wait_for(Duration::from_secs(20), "both scores", || async {
        let rows: Vec<(i64, i32)> =
            sqlx::query_as("SELECT person_id, score FROM lead_scores ORDER BY person_id")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        (done == 5).then_some(rows)
    })
    .await;
    assert_eq!(scores, [(1, 11), (2, 0)]);
    let (machine_opens, status): (i32, String) = sqlx::query_as(
        "SELECT machine_open_count, status::text FROM email_sends WHERE provider = 'sendgrid'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((machine_opens, status.as_str()), (1, "bounced"));
}
