//! NATS: the connection, and the one place where stream, subject and consumer names and stream
//! settings are declared. Every service calls [`ensure_streams`] at start; declaring is
//! idempotent, so replicas starting together agree.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream};
use secrecy::ExposeSecret;

use crate::config::NatsSettings;
use crate::directory::Kind;
use crate::event::EventKind;

pub const EMAIL_EVENTS: &str = "EMAIL_EVENTS";
pub const EMAIL_DLQ: &str = "EMAIL_DLQ";
pub const NOTIFICATIONS: &str = "NOTIFICATIONS";
/// `interactions.changed.<id>`: one small event per change to an interaction.
pub const INTERACTIONS: &str = "INTERACTIONS";
/// What the live inbox reads: `INTERACTIONS` and `NOTIFICATIONS` sourced into one stream, so
/// one sequence orders both and an SSE client resumes from a single `Last-Event-ID`.
pub const LIVE: &str = "LIVE";
pub const SCORING_CONSUMER: &str = "scoring";
/// `crm.directory.<users|organisations|people>.<upsert|delete>`: the CRM's directory.
pub const CRM_DIRECTORY: &str = "CRM_DIRECTORY";
/// Directory messages the inbox could never apply, with the reason.
pub const DIRECTORY_DLQ: &str = "DIRECTORY_DLQ";
pub const DIRECTORY_CONSUMER: &str = "directory";

/// How long JetStream remembers a `Nats-Msg-Id` to drop a re-post. Scoring's processed-events
/// table covers anything older.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(2 * 60);

/// Stream and subject names, optionally prefixed by `nats.namespace` so that tests (or two
/// environments sharing one NATS account) never see each other's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    stream_prefix: String,
    subject_prefix: String,
}

impl Names {
    pub fn new(namespace: &str) -> Self {
        if namespace.is_empty() {
            Self {
                stream_prefix: String::new(),
                subject_prefix: String::new(),
            }
        } else {
            Self {
                stream_prefix: format!("{namespace}_"),
                subject_prefix: format!("{namespace}."),
            }
        }
    }

    pub fn email_events_stream(&self) -> String {
        format!("{}{EMAIL_EVENTS}", self.stream_prefix)
    }
    pub fn email_dlq_stream(&self) -> String {
        format!("{}{EMAIL_DLQ}", self.stream_prefix)
    }
    pub fn notifications_stream(&self) -> String {
        format!("{}{NOTIFICATIONS}", self.stream_prefix)
    }
    /// `email.events.<provider>.<event>`
    pub fn email_event_subject(&self, provider: &str, event: EventKind) -> String {
        format!("{}email.events.{provider}.{event}", self.subject_prefix)
    }
    pub fn email_events_wildcard(&self) -> String {
        format!("{}email.events.>", self.subject_prefix)
    }
    /// `email.dlq.<provider>`
    pub fn email_dlq_subject(&self, provider: &str) -> String {
        format!("{}email.dlq.{provider}", self.subject_prefix)
    }
    pub fn email_dlq_wildcard(&self) -> String {
        format!("{}email.dlq.>", self.subject_prefix)
    }
    /// `notifications.user.<user_id>`
    pub fn notification_subject(&self, user_id: i64) -> String {
        format!("{}notifications.user.{user_id}", self.subject_prefix)
    }
    pub fn notifications_wildcard(&self) -> String {
        format!("{}notifications.>", self.subject_prefix)
    }
    pub fn interactions_stream(&self) -> String {
        format!("{}{INTERACTIONS}", self.stream_prefix)
    }
    pub fn live_stream(&self) -> String {
        format!("{}{LIVE}", self.stream_prefix)
    }
    /// `interactions.changed.<interaction_id>`
    pub fn interaction_changed_subject(&self, interaction_id: i64) -> String {
        format!(
            "{}interactions.changed.{interaction_id}",
            self.subject_prefix
        )
    }
    pub fn interactions_changed_wildcard(&self) -> String {
        format!("{}interactions.changed.>", self.subject_prefix)
    }
    /// The interaction id of an `interactions.changed.<id>` subject.
    pub fn interaction_of_subject(&self, subject: &str) -> Option<i64> {
        subject
            .strip_prefix(&self.subject_prefix)?
            .strip_prefix("interactions.changed.")?
            .parse()
            .ok()
    }
    /// The user id of a `notifications.user.<id>` subject.
    pub fn user_of_notification_subject(&self, subject: &str) -> Option<i64> {
        subject
            .strip_prefix(&self.subject_prefix)?
            .strip_prefix("notifications.user.")?
            .parse()
            .ok()
    }
    pub fn crm_directory_stream(&self) -> String {
        format!("{}{CRM_DIRECTORY}", self.stream_prefix)
    }
    /// `crm.directory.<kind>.<upsert|delete>`
    pub fn crm_directory_subject(&self, kind: Kind, operation: &str) -> String {
        format!(
            "{}crm.directory.{}.{operation}",
            self.subject_prefix,
            kind.as_str()
        )
    }
    pub fn crm_directory_wildcard(&self) -> String {
        format!("{}crm.directory.>", self.subject_prefix)
    }
    /// The kind and operation of a `crm.directory.<kind>.<operation>` subject.
    pub fn directory_of_subject<'a>(&self, subject: &'a str) -> Option<(Kind, &'a str)> {
        let rest = subject
            .strip_prefix(self.subject_prefix.as_str())?
            .strip_prefix("crm.directory.")?;
        let (kind, operation) = rest.split_once('.')?;
        Some((Kind::parse(kind)?, operation))
    }
    pub fn directory_dlq_stream(&self) -> String {
        format!("{}{DIRECTORY_DLQ}", self.stream_prefix)
    }
    /// `directory.dlq.<kind>`
    pub fn directory_dlq_subject(&self, kind: &str) -> String {
        format!("{}directory.dlq.{kind}", self.subject_prefix)
    }
    pub fn directory_dlq_wildcard(&self) -> String {
        format!("{}directory.dlq.>", self.subject_prefix)
    }
    /// Every stream of this namespace, sourcing streams first (for tools that clean up).
    pub fn all_streams(&self) -> [String; 8] {
        [
            self.live_stream(),
            self.email_events_stream(),
            self.email_dlq_stream(),
            self.notifications_stream(),
            self.interactions_stream(),
            self.mailgun_tokens_stream(),
            self.crm_directory_stream(),
            self.directory_dlq_stream(),
        ]
    }
    /// Mailgun webhook tokens already received (replay protection), one subject per token.
    pub fn mailgun_tokens_stream(&self) -> String {
        format!("{}MAILGUN_TOKENS", self.stream_prefix)
    }
    pub fn mailgun_tokens_subject_prefix(&self) -> String {
        format!("{}mailgun.tokens.", self.subject_prefix)
    }
}

/// Connects to NATS. The first connection is retried in the background, so a service starts
/// (and answers 503 on `/readyz`) while NATS is down, then reconnects forever on its own.
pub async fn connect(
    settings: &NatsSettings,
    client_name: &str,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    async_nats::ConnectOptions::new()
        .name(client_name)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(2))
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("connected to NATS"),
                async_nats::Event::Disconnected => tracing::warn!("disconnected from NATS"),
                other => tracing::info!(event = %other, "NATS event"),
            }
        })
        .connect(settings.url.expose_secret())
        .await
}

/// A JetStream context whose API calls and publish acks time out after
/// `nats.publish_timeout_ms`, so a caller can answer 503 instead of hanging.
pub fn jetstream(client: async_nats::Client, settings: &NatsSettings) -> jetstream::Context {
    jetstream::ContextBuilder::new()
        .timeout(Duration::from_millis(settings.publish_timeout_ms))
        .build(client)
}

pub fn is_connected(client: &async_nats::Client) -> bool {
    client.connection_state() == async_nats::connection::State::Connected
}

/// The stream settings, in one place. File storage; production runs a 3-replica cluster
/// (`nats.replicas`) whose servers fsync before acknowledging. Each stream is bounded in age
/// and in bytes: the streams whose messages are the only copy (events, the directory, dead
/// letters) refuse new ones when full, the feeds drop their oldest.
pub fn stream_configs(names: &Names, settings: &NatsSettings) -> Vec<stream::Config> {
    let replicas = settings.replicas;
    let day = Duration::from_secs(24 * 3600);
    let live_age = Duration::from_secs(settings.live_retention_hours * 3600);
    // Every stream has a size bound (design, "Data lifecycle"); see `nats.max_stream_bytes`.
    let other = settings.max_stream_bytes;
    vec![
        stream::Config {
            name: names.email_events_stream(),
            subjects: vec![names.email_events_wildcard()],
            description: Some("Normalized email-provider events, written by the gateway".into()),
            // A week of history lets operators replay; scoring is idempotent, so replay is safe.
            // Full, it refuses new events (the gateway's 503; providers retry) rather than
            // drop acknowledged ones that scoring may not have applied yet.
            duplicate_window: DUPLICATE_WINDOW,
            ..bounded(
                7 * day,
                settings.events_max_bytes,
                stream::DiscardPolicy::New,
                replicas,
            )
        },
        stream::Config {
            name: names.email_dlq_stream(),
            subjects: vec![names.email_dlq_wildcard()],
            description: Some("Email events scoring could never apply, with the reason".into()),
            ..bounded(30 * day, other, stream::DiscardPolicy::New, replicas)
        },
        stream::Config {
            name: names.notifications_stream(),
            subjects: vec![names.notifications_wildcard()],
            description: Some("Per-user notifications, written by the reminder".into()),
            // A feed of what PostgreSQL keeps: full, it drops its oldest.
            duplicate_window: DUPLICATE_WINDOW,
            ..bounded(7 * day, other, stream::DiscardPolicy::Old, replicas)
        },
        stream::Config {
            name: names.interactions_stream(),
            subjects: vec![names.interactions_changed_wildcard()],
            description: Some(
                "One event per change to an interaction, relayed from PostgreSQL by the inbox"
                    .into(),
            ),
            duplicate_window: DUPLICATE_WINDOW,
            ..bounded(live_age, other, stream::DiscardPolicy::Old, replicas)
        },
        stream::Config {
            name: names.crm_directory_stream(),
            subjects: vec![names.crm_directory_wildcard()],
            description: Some(
                "The CRM's users, organisations and people, as it publishes them".into(),
            ),
            // Full, the CRM's publishes are refused (it retries) rather than any dropped.
            duplicate_window: DUPLICATE_WINDOW,
            ..bounded(7 * day, other, stream::DiscardPolicy::New, replicas)
        },
        stream::Config {
            name: names.directory_dlq_stream(),
            subjects: vec![names.directory_dlq_wildcard()],
            description: Some(
                "Directory messages the inbox could never apply, with the reason".into(),
            ),
            ..bounded(30 * day, other, stream::DiscardPolicy::New, replicas)
        },
        // No subjects of its own: it sources the two streams above, so the live feed has one
        // sequence (the SSE event id) across interaction changes and notifications.
        stream::Config {
            name: names.live_stream(),
            description: Some("Interaction changes and notifications, for the live inbox".into()),
            sources: Some(vec![
                stream::Source {
                    name: names.interactions_stream(),
                    ..Default::default()
                },
                stream::Source {
                    name: names.notifications_stream(),
                    ..Default::default()
                },
            ]),
            ..bounded(live_age, other, stream::DiscardPolicy::Old, replicas)
        },
    ]
}

/// What every stream shares: file storage, limits, a bound in age and in bytes, and what to do
/// when full.
fn bounded(
    max_age: Duration,
    max_bytes: i64,
    discard: stream::DiscardPolicy,
    num_replicas: usize,
) -> stream::Config {
    stream::Config {
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        max_age,
        max_bytes,
        discard,
        num_replicas,
        ..Default::default()
    }
}

/// Creates the streams, or brings an existing one's settings up to date.
pub async fn ensure_streams(
    js: &jetstream::Context,
    names: &Names,
    settings: &NatsSettings,
) -> Result<(), jetstream::context::CreateStreamError> {
    for config in stream_configs(names, settings) {
        js.create_or_update_stream(config).await?;
    }
    Ok(())
}

/// Declares the streams now if NATS answers, else keeps trying in the background so the service
/// can start (and report not-ready) while NATS is down.
pub async fn ensure_streams_eventually(
    js: jetstream::Context,
    names: Names,
    settings: NatsSettings,
) {
    match ensure_streams(&js, &names, &settings).await {
        Ok(()) => {}
        Err(error) => {
            tracing::warn!(%error, "cannot declare streams yet; retrying in the background");
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    match ensure_streams(&js, &names, &settings).await {
                        Ok(()) => {
                            tracing::info!("streams declared");
                            break;
                        }
                        Err(error) => tracing::debug!(%error, "streams still not declared"),
                    }
                }
            });
        }
    }
}

/// A durable pull consumer several replicas share: explicit acks, redelivered after
/// `ack_wait`, never given up on (poison messages are moved to a DLQ by the service itself, so a
/// message is only ever dropped after it is safely elsewhere).
pub fn durable_consumer_config(name: &str, description: &str, ack_wait: Duration) -> pull::Config {
    pull::Config {
        durable_name: Some(name.into()),
        description: Some(description.into()),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        deliver_policy: jetstream::consumer::DeliverPolicy::All,
        ack_wait,
        max_deliver: -1,
        max_ack_pending: 20_000,
        ..Default::default()
    }
}

/// Scoring's consumer of `EMAIL_EVENTS`.
pub fn scoring_consumer_config(ack_wait: Duration) -> pull::Config {
    durable_consumer_config(
        SCORING_CONSUMER,
        "Applies email events to sends, interactions and lead scores",
        ack_wait,
    )
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumerSetupError {
    #[error("stream not available: {0}")]
    Stream(#[from] jetstream::context::GetStreamError),
    #[error("consumer not available: {0}")]
    Consumer(#[from] jetstream::stream::ConsumerError),
}

async fn durable_consumer(
    js: &jetstream::Context,
    stream: String,
    config: pull::Config,
) -> Result<jetstream::consumer::Consumer<pull::Config>, ConsumerSetupError> {
    let name = config.durable_name.clone().unwrap_or_default();
    Ok(js
        .get_stream(stream)
        .await?
        .get_or_create_consumer(&name, config)
        .await?)
}

pub async fn scoring_consumer(
    js: &jetstream::Context,
    names: &Names,
    ack_wait: Duration,
) -> Result<jetstream::consumer::Consumer<pull::Config>, ConsumerSetupError> {
    durable_consumer(
        js,
        names.email_events_stream(),
        scoring_consumer_config(ack_wait),
    )
    .await
}

/// The inbox's consumer of `CRM_DIRECTORY`.
pub async fn directory_consumer(
    js: &jetstream::Context,
    names: &Names,
    ack_wait: Duration,
) -> Result<jetstream::consumer::Consumer<pull::Config>, ConsumerSetupError> {
    let config = durable_consumer_config(
        DIRECTORY_CONSUMER,
        "Applies the CRM's directory versions",
        ack_wait,
    );
    durable_consumer(js, names.crm_directory_stream(), config).await
}

/// The next batch of a pull subscription: waits for a first message (`Ok(None)` once `stop` is
/// cancelled), then takes what is already waiting, up to `max`, for at most `wait`. An error
/// means the subscription must be established again.
pub async fn next_batch(
    messages: &mut pull::Stream,
    max: usize,
    wait: Duration,
    stop: &tokio_util::sync::CancellationToken,
) -> Result<Option<Vec<jetstream::Message>>, NextBatchError> {
    loop {
        let first = tokio::select! {
            () = stop.cancelled() => return Ok(None),
            next = futures::StreamExt::next(messages) => next,
        };
        let mut batch = match first {
            None => return Err(NextBatchError::Ended),
            Some(Err(error)) => {
                tracing::warn!(%error, "pull error");
                continue;
            }
            Some(Ok(message)) => vec![message],
        };
        let deadline = tokio::time::Instant::now() + wait;
        while batch.len() < max {
            match tokio::time::timeout_at(deadline, futures::StreamExt::next(messages)).await {
                Ok(Some(Ok(message))) => batch.push(message),
                Ok(Some(Err(error))) => {
                    tracing::warn!(%error, "pull error");
                    break;
                }
                Ok(None) | Err(_) => break,
            }
        }
        return Ok(Some(batch));
    }
}

/// Copies a message that can never succeed to its dead-letter subject, with why and where it
/// came from in headers, before the caller terminates it: the message id (`dlq-<stream>-<seq>`)
/// makes a retried copy a duplicate JetStream drops, so a DLQ holds each message once.
pub async fn dead_letter(
    js: &jetstream::Context,
    dlq_subject: String,
    message: &jetstream::Message,
    reason: &str,
) -> Result<(), async_nats::Error> {
    let info = message.info()?;
    tracing::warn!(
        reason,
        subject = %message.subject,
        stream_sequence = info.stream_sequence,
        "dead-lettering message"
    );
    let mut headers = message.headers.clone().unwrap_or_default();
    headers.insert(
        "Relance-Dlq-Reason",
        reason.replace(['\r', '\n'], " ").as_str(),
    );
    headers.insert("Relance-Original-Subject", message.subject.as_str());
    headers.insert(
        "Relance-Stream-Sequence",
        info.stream_sequence.to_string().as_str(),
    );
    let dlq_message = jetstream::message::PublishMessage::build()
        .headers(headers)
        .message_id(format!("dlq-{}-{}", info.stream, info.stream_sequence))
        .payload(message.payload.clone());
    js.send_publish(dlq_subject, dlq_message).await?.await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum NextBatchError {
    #[error("the message stream ended")]
    Ended,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_names_follow_the_design() {
        let n = Names::new("");
        assert_eq!(n.email_events_stream(), "EMAIL_EVENTS");
        assert_eq!(
            n.email_event_subject("resend", EventKind::Opened),
            "email.events.resend.opened"
        );
        assert_eq!(n.email_dlq_subject("sendgrid"), "email.dlq.sendgrid");
        assert_eq!(n.notification_subject(42), "notifications.user.42");
        assert_eq!(n.crm_directory_stream(), "CRM_DIRECTORY");
        assert_eq!(
            n.crm_directory_subject(Kind::People, "upsert"),
            "crm.directory.people.upsert"
        );
        assert_eq!(
            n.directory_of_subject("crm.directory.organisations.delete"),
            Some((Kind::Organisations, "delete"))
        );
        assert_eq!(n.directory_of_subject("crm.directory.pets.upsert"), None);
    }

    #[test]
    fn a_namespace_prefixes_streams_and_subjects() {
        let n = Names::new("t1");
        assert_eq!(n.email_events_stream(), "t1_EMAIL_EVENTS");
        assert_eq!(n.email_events_wildcard(), "t1.email.events.>");
        assert_eq!(n.notifications_stream(), "t1_NOTIFICATIONS");
    }
}
