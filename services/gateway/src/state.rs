//! What the gateway's handlers share.

use secrecy::SecretString;

use crate::admission::Admission;
use crate::publish::Publisher;
use crate::replay::TokenStore;
use crate::signatures::ProviderKeys;

pub struct AppState {
    pub publisher: Publisher,
    pub providers: ProviderKeys,
    pub mailgun_tokens: TokenStore,
    pub ingest_token: Option<SecretString>,
    pub max_body_bytes: usize,
    pub max_batch: usize,
    pub max_webhook_events: usize,
    /// `retention.processed_events_days`: older events are refused.
    pub dedupe_horizon: chrono::Duration,
    /// Rate per credential and requests in flight, checked before publishing.
    pub admission: Admission,
}
