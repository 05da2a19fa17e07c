//! Webhook signature checks, on the raw request bytes, before anything is parsed, as each
//! provider specifies. Every comparison is constant-time. A stale timestamp (more than
//! [`TOLERANCE`] away from now, either way) is refused like a bad signature.
//!
//! - Resend signs through Svix: `svix-id`, `svix-timestamp`, `svix-signature` (space-separated
//!   `v1,<base64>` entries, several during a secret rotation); HMAC-SHA256 with the base64 part
//!   of the `whsec_…` secret over `{id}.{timestamp}.{body}`.
//! - SendGrid's signed event webhook: ECDSA P-256 / SHA-256 over `timestamp + body`, signature
//!   (base64 DER) in `X-Twilio-Email-Event-Webhook-Signature`, timestamp in
//!   `X-Twilio-Email-Event-Webhook-Timestamp`, public key as base64 DER (SubjectPublicKeyInfo).
//! - Mailgun: HMAC-SHA256 (hex) with the webhook signing key over `timestamp + token`, both in
//!   the body's `signature` object; a token seen before is refused (see `replay.rs`).
//! - Postmark: HTTP basic auth with the configured `user:password`.

use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use relance_shared::config::ProvidersSettings;

/// How far a signed timestamp may be from now (Svix's default, used for all).
pub const TOLERANCE: Duration = Duration::minutes(5);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("timestamp outside the {} minute tolerance", TOLERANCE.num_minutes())]
    Stale,
    #[error("signature does not match")]
    Mismatch,
    #[error("this request was already received (replay)")]
    Replayed,
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, SignatureError> {
    headers
        .get(name)
        .ok_or(SignatureError::Missing(name))?
        .to_str()
        .map_err(|_| SignatureError::Malformed(name))
}

fn fresh(timestamp: &str, field: &'static str, now: DateTime<Utc>) -> Result<(), SignatureError> {
    let secs: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed(field))?;
    let at = DateTime::from_timestamp(secs, 0).ok_or(SignatureError::Malformed(field))?;
    if (now - at).abs() > TOLERANCE {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Verification material, decoded once at start.
#[derive(Default)]
pub struct ProviderKeys {
    pub resend: Option<Vec<u8>>,
    pub sendgrid: Option<Vec<u8>>,
    pub mailgun: Option<Vec<u8>>,
    pub postmark: Option<String>,
}

/// A configured provider secret that cannot be decoded: the start stops, naming its key.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct BadProviderKey {
    pub key: &'static str,
    pub reason: String,
}

impl ProviderKeys {
    /// Decodes the configured provider secrets.
    pub fn from_settings(providers: &ProvidersSettings) -> Result<Self, BadProviderKey> {
        let bad = |key, reason: String| BadProviderKey { key, reason };
        Ok(Self {
            resend: providers
                .resend
                .signing_secret
                .as_ref()
                .map(|s| svix_key(s.expose_secret()))
                .transpose()
                .map_err(|e| {
                    bad(
                        "providers.resend.signing_secret",
                        format!("{e} (expected whsec_…)"),
                    )
                })?,
            sendgrid: providers
                .sendgrid
                .public_key
                .as_ref()
                .map(|s| sendgrid_key(s.expose_secret()))
                .transpose()
                .map_err(|e| bad("providers.sendgrid.public_key", e.to_string()))?,
            mailgun: providers
                .mailgun
                .signing_key
                .as_ref()
                .map(|s| s.expose_secret().as_bytes().to_vec()),
            postmark: providers
                .postmark
                .basic_auth
                .as_ref()
                .map(|s| s.expose_secret().to_owned())
                .filter(|s| s.contains(':')),
        })
    }
}

/// A Svix `whsec_…` secret's key bytes (the prefix is optional, as in Svix's libraries).
pub fn svix_key(secret: &str) -> Result<Vec<u8>, SignatureError> {
    let encoded = secret
        .trim()
        .strip_prefix("whsec_")
        .unwrap_or(secret.trim());
    STANDARD
        .decode(encoded)
        .map_err(|_| SignatureError::Malformed("signing secret"))
}

/// Verifies a Svix-signed request; returns its `svix-id` (stable across Svix's retries).
pub fn verify_svix(
    key: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<String, SignatureError> {
    let id = header(headers, "svix-id")?;
    let timestamp = header(headers, "svix-timestamp")?;
    let signatures = header(headers, "svix-signature")?;
    fresh(timestamp, "svix-timestamp", now)?;
    let expected = hmac_sha256(
        key,
        &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    );
    let matches = signatures
        .split_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, sig)| STANDARD.decode(sig).ok())
        .any(|sig| bool::from(sig.as_slice().ct_eq(&expected)));
    if matches {
        Ok(id.to_owned())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1, uncompressed point).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The uncompressed point of SendGrid's base64 DER P-256 public key.
pub fn sendgrid_key(public_key: &str) -> Result<Vec<u8>, SignatureError> {
    let compact: String = public_key.split_whitespace().collect();
    let der = STANDARD
        .decode(compact)
        .map_err(|_| SignatureError::Malformed("public key"))?;
    match der.strip_prefix(&P256_SPKI_PREFIX[..]) {
        Some(point) if point.len() == 65 && point[0] == 0x04 => Ok(point.to_vec()),
        _ => Err(SignatureError::Malformed(
            "public key (expected a P-256 SubjectPublicKeyInfo)",
        )),
    }
}

pub fn verify_sendgrid(
    point: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let signature = header(headers, "x-twilio-email-event-webhook-signature")?;
    let timestamp = header(headers, "x-twilio-email-event-webhook-timestamp")?;
    fresh(timestamp, "x-twilio-email-event-webhook-timestamp", now)?;
    verify_sendgrid_signature(point, signature, timestamp, body)
}

/// The signature alone, without the freshness check (SendGrid's published test vector is from
/// 2020).
pub fn verify_sendgrid_signature(
    point: &[u8],
    signature: &str,
    timestamp: &str,
    body: &[u8],
) -> Result<(), SignatureError> {
    let signature = STANDARD
        .decode(signature.trim())
        .map_err(|_| SignatureError::Malformed("x-twilio-email-event-webhook-signature"))?;
    let mut signed = Vec::with_capacity(timestamp.len() + body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.extend_from_slice(body);
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, point)
        .verify(&signed, &signature)
        .map_err(|_| SignatureError::Mismatch)
}

/// Mailgun's `signature` object, checked for freshness and HMAC (not for replay).
pub fn verify_mailgun(
    signing_key: &[u8],
    timestamp: &str,
    token: &str,
    signature_hex: &str,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    fresh(timestamp, "signature.timestamp", now)?;
    let expected = hmac_sha256(signing_key, &[timestamp.as_bytes(), token.as_bytes()]);
    let presented = hex::decode(signature_hex.trim())
        .map_err(|_| SignatureError::Malformed("signature.signature"))?;
    if bool::from(presented.as_slice().ct_eq(&expected)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// `Authorization: Basic base64(user:password)` against the configured `user:password`.
pub fn verify_basic(expected: &str, headers: &HeaderMap) -> Result<(), SignatureError> {
    let value = header(headers, "authorization")?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
        .ok_or(SignatureError::Malformed("authorization"))?;
    let presented = STANDARD
        .decode(encoded.trim())
        .map_err(|_| SignatureError::Malformed("authorization"))?;
    if bool::from(presented.as_slice().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, value.parse().unwrap());
        }
        h
    }

    // Svix's reference vector (svix-webhooks, go/webhook_test.go, TestWebhookSign).
    const SVIX_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SVIX_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SVIX_TS: &str = "1614265330";
    const SVIX_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SVIX_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn svix_at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_614_265_330, 0).unwrap()
    }

    #[test]
    fn svix_reference_vector() {
        let key = svix_key(SVIX_SECRET).unwrap();
        let h = headers(&[
            ("svix-id", SVIX_ID),
            ("svix-timestamp", SVIX_TS),
            ("svix-signature", SVIX_SIG),
        ]);
        assert_eq!(
            verify_svix(&key, &h, SVIX_BODY, svix_at()),
            Ok(SVIX_ID.to_owned())
        );
        // Several signatures (a rotation): one matching is enough.
        let many = format!("v1,Zm9yZ2Vk v2,abc {SVIX_SIG}");
        let h = headers(&[
            ("svix-id", SVIX_ID),
            ("svix-timestamp", SVIX_TS),
            ("svix-signature", &many),
        ]);
        assert!(verify_svix(&key, &h, SVIX_BODY, svix_at()).is_ok());
    }

    #[test]
    fn svix_refusals() {
        let key = svix_key(SVIX_SECRET).unwrap();
        let ok = [
            ("svix-id", SVIX_ID),
            ("svix-timestamp", SVIX_TS),
            ("svix-signature", SVIX_SIG),
        ];
        let cases: Vec<(HeaderMap, &[u8], DateTime<Utc>, SignatureError)> = vec![
            (
                headers(&ok),
                br#"{"test": 2432232315}"#,
                svix_at(),
                SignatureError::Mismatch,
            ),
            (
                headers(&[("svix-id", "msg_other"), ok[1], ok[2]]),
                SVIX_BODY,
                svix_at(),
                SignatureError::Mismatch,
            ),
            (
                headers(&ok),
                SVIX_BODY,
                svix_at() + Duration::minutes(6),
                SignatureError::Stale,
            ),
            (
                headers(&ok),
                SVIX_BODY,
                svix_at() - Duration::minutes(6),
                SignatureError::Stale,
            ),
            (
                headers(&ok[..2]),
                SVIX_BODY,
                svix_at(),
                SignatureError::Missing("svix-signature"),
            ),
            (
                headers(&[
                    ok[0],
                    ok[1],
                    (
                        "svix-signature",
                        "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
                    ),
                ]),
                SVIX_BODY,
                svix_at(),
                SignatureError::Mismatch,
            ),
        ];
        for (h, body, now, expected) in cases {
            assert_eq!(verify_svix(&key, &h, body, now), Err(expected));
        }
        // Within tolerance.
        assert!(verify_svix(
            &key,
            &headers(&ok),
            SVIX_BODY,
            svix_at() + Duration::minutes(4)
        )
        .is_ok());
    }

    // SendGrid's vector (sendgrid-python / sendgrid-nodejs / sendgrid-php eventwebhook tests).
    const SG_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
    const SG_SIG: &str = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
    const SG_TS: &str = "1588788367";
    const SG_BODY: &[u8] =
        br#"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#;

    #[test]
    fn sendgrid_reference_vector() {
        let point = sendgrid_key(SG_KEY).unwrap();
        assert_eq!(
            verify_sendgrid_signature(&point, SG_SIG, SG_TS, SG_BODY),
            Ok(())
        );
        let other = sendgrid_key("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==").unwrap();
        assert_eq!(
            verify_sendgrid_signature(&other, SG_SIG, SG_TS, SG_BODY),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_sendgrid_signature(&point, SG_SIG, SG_TS, b"payload"),
            Err(SignatureError::Mismatch)
        );
        let bad_sig = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=";
        assert_eq!(
            verify_sendgrid_signature(&point, bad_sig, SG_TS, SG_BODY),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_sendgrid_signature(&point, SG_SIG, "1588788368", SG_BODY),
            Err(SignatureError::Mismatch)
        );
        // The vector is from 2020: through the full check it is stale.
        let h = headers(&[
            ("x-twilio-email-event-webhook-signature", SG_SIG),
            ("x-twilio-email-event-webhook-timestamp", SG_TS),
        ]);
        assert_eq!(
            verify_sendgrid(&point, &h, SG_BODY, Utc::now()),
            Err(SignatureError::Stale)
        );
        let at = DateTime::from_timestamp(1_588_788_367, 0).unwrap();
        assert_eq!(verify_sendgrid(&point, &h, SG_BODY, at), Ok(()));
        assert!(sendgrid_key("bm90IGEga2V5").is_err());
    }

    #[test]
    fn mailgun_hmac() {
        // HMAC-SHA256("key", "1529006854" + token), computed independently with
        // `openssl dgst -sha256 -hmac key`.
        let now = DateTime::from_timestamp(1_529_006_854, 0).unwrap();
        let token = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0";
        let sig = "bce54fbcad565970280ea7299c6c602125e2baee67c24378db39a218a4818a71";
        assert_eq!(
            verify_mailgun(b"key", "1529006854", token, sig, now),
            Ok(())
        );
        assert_eq!(
            verify_mailgun(b"other", "1529006854", token, sig, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_mailgun(b"key", "1529006855", token, sig, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_mailgun(
                b"key",
                "1529006854",
                token,
                sig,
                now + Duration::minutes(10)
            ),
            Err(SignatureError::Stale)
        );
        assert!(verify_mailgun(b"key", "1529006854", token, "zz", now).is_err());
    }

    #[test]
    fn postmark_basic_auth() {
        let ok = format!("Basic {}", STANDARD.encode("relance:s3cret"));
        assert_eq!(
            verify_basic("relance:s3cret", &headers(&[("authorization", &ok)])),
            Ok(())
        );
        let bad = format!("Basic {}", STANDARD.encode("relance:guess"));
        assert_eq!(
            verify_basic("relance:s3cret", &headers(&[("authorization", &bad)])),
            Err(SignatureError::Mismatch)
        );
        assert!(verify_basic("relance:s3cret", &HeaderMap::new()).is_err());
        assert!(
            verify_basic("relance:s3cret", &headers(&[("authorization", "Bearer x")])).is_err()
        );
    }
}
