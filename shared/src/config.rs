//! Configuration, in layers (docs/configuration.md): the built-in defaults
//! ([`DEFAULTS_TOML`], `config/default.toml` compiled in), then `config/default.toml` and
//! `config/$RELANCE_ENV.toml` when present, then environment variables `RELANCE__SECTION__KEY`. Every service loads the same [`Settings`] and reads its
//! own section; [`Settings::validate`] runs at start so a bad value stops the process with a
//! message naming the key instead of failing later.
//!
//! Secrets are [`SecretString`]s: their `Debug` output is `[REDACTED]`, so logging the settings
//! never leaks them.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono_tz::Tz;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::scoring::ScoringRules;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid configuration: {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

/// `key` must be at least `min`.
fn at_least<T: PartialOrd + std::fmt::Display>(
    key: &'static str,
    value: T,
    min: T,
) -> Result<(), ConfigError> {
    if value < min {
        let message = if min.to_string() == "0" {
            "must be 0 or more".to_owned()
        } else {
            format!("must be at least {min}")
        };
        return Err(invalid(key, message));
    }
    Ok(())
}

/// `key` must lie in `min..=max`.
fn between<T: PartialOrd + std::fmt::Display>(
    key: &'static str,
    value: T,
    min: T,
    max: T,
) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(invalid(key, format!("must be between {min} and {max}")));
    }
    Ok(())
}

/// A secret, when set, of at least `min` bytes.
fn long_enough(
    key: &'static str,
    secret: Option<&SecretString>,
    min: usize,
    message: &str,
) -> Result<(), ConfigError> {
    match secret {
        Some(secret) if secret.expose_secret().len() < min => Err(invalid(key, message)),
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `RELANCE_ENV` (`production` in the image): not a key, read by [`Settings::load`].
    #[serde(skip)]
    pub environment: String,
    pub database: DatabaseSettings,
    pub nats: NatsSettings,
    pub http: HttpSettings,
    pub gateway: GatewaySettings,
    pub scoring: ScoringSettings,
    pub inbox: InboxSettings,
    pub reminder: ReminderSettings,
    pub retention: RetentionSettings,
    pub assignment: AssignmentSettings,
    pub sla: SlaSettings,
    pub decay: DecaySettings,
    pub auth: AuthSettings,
    pub directory: DirectorySettings,
    pub providers: ProvidersSettings,
    pub telemetry: TelemetrySettings,
    pub mail: MailSettings,
    pub web: WebSettings,
}

impl MailSettings {
    /// The SMTP URL, when the email channel is on (an empty value, as compose passes an unset
    /// variable, is off too).
    pub fn smtp_url(&self) -> Option<&str> {
        self.smtp_url
            .as_ref()
            .map(|url| url.expose_secret().trim())
            .filter(|url| !url.is_empty())
    }
}

/// The email channel of notifications (the reminder sends; docs/api.md, "Notifications by
/// email").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// `smtp://host:port` (plain), `smtp://…?tls=opportunistic` (STARTTLS when offered),
    /// `smtp://…?tls=required` (STARTTLS required) or `smtps://user:password@host:465` (TLS);
    /// unset: the email channel is off.
    /// May carry a password, hence secret.
    pub smtp_url: Option<SecretString>,
    /// The `From` of every email, `Name <address>` or a bare address.
    pub from: String,
    /// Seconds one SMTP exchange may take before it counts as a transient failure.
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// Where people open the web app; links in emails point there.
    pub public_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// May carry a password, hence secret.
    pub url: SecretString,
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
    /// Milliseconds a statement may run before PostgreSQL cancels it (migrations excepted).
    pub statement_timeout_ms: u64,
    /// The same bound on the inbox's connections that serve users' requests (reads, searches,
    /// one-click writes): lower, so one costly search gives its connection back soon.
    pub interactive_statement_timeout_ms: u64,
    /// Of `max_connections`, how many the inbox keeps for its own work (`/readyz`, the change
    /// relay, the directory consumer): users' requests never take them, so busy users cannot
    /// make the pod look unready or stop the live feed.
    pub reserved_connections: u32,
    /// Development convenience: apply migrations when a service starts. Production runs the
    /// `relance-migrate` Job instead, so replicas never race on schema changes.
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSettings {
    /// May carry credentials, hence secret.
    pub url: SecretString,
    /// Prefix for stream names and subjects (empty in production). Tests set a unique one so
    /// they can run in parallel against one server; see [`crate::nats::Names`].
    pub namespace: String,
    /// How long a publisher waits for JetStream's acknowledgement before answering 503.
    pub publish_timeout_ms: u64,
    /// Stream replicas: 1 on a single server, 3 on the production cluster.
    pub replicas: usize,
    /// How long `INTERACTIONS` and `LIVE` keep changes for the live inbox: a browser away
    /// longer gets a `reset` event and refetches.
    pub live_retention_hours: u64,
    /// Bytes `EMAIL_EVENTS` may hold. Full, it refuses new events (the gateway answers 503 and
    /// providers retry) rather than drop any it acknowledged. JetStream reserves this much
    /// disk on every replica when the stream is created.
    pub events_max_bytes: i64,
    /// Bytes each other stream may hold: the CRM's directory and the two dead-letter streams
    /// refuse new messages when full (nothing acknowledged is dropped); the live feeds
    /// (`NOTIFICATIONS`, `INTERACTIONS`, `LIVE`, copies of what PostgreSQL keeps) drop their
    /// oldest. Reserved on disk like `events_max_bytes`.
    pub max_stream_bytes: i64,
}

/// What every HTTP service enforces on its clients (docs/configuration.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// A connection whose request head has not arrived within this many seconds is closed.
    pub header_timeout_secs: u64,
    /// A request not answered (its response head) within this many seconds gets a 503.
    pub request_timeout_secs: u64,
    /// Connections served at once; past it, new ones wait in the kernel's backlog until one
    /// closes (slow or idle clients cannot exhaust the process).
    pub max_connections: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    pub listen: SocketAddr,
    /// Bearer token of the normalized ingest endpoint. Unset: the endpoint is off (404).
    pub ingest_token: Option<SecretString>,
    /// Largest accepted request body; past it the answer is 413.
    pub max_body_bytes: usize,
    /// Largest number of events in one ingest request.
    pub max_batch: usize,
    /// Largest number of events in one provider webhook (a SendGrid batch): past it the
    /// request is refused whole (422) before anything is published.
    pub max_webhook_events: usize,
    /// Events per second each credential (the ingest token, each provider) may send; unset:
    /// no limit. Past it: 429 with `Retry-After`, nothing published.
    pub rate_limit_per_second: Option<u32>,
    /// Requests publishing at once; past it the gateway sheds load: 503 with `Retry-After`.
    pub max_in_flight: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringSettings {
    /// Health and metrics port of the consumer.
    pub listen: SocketAddr,
    /// Messages pulled and applied in one database transaction.
    pub batch_size: usize,
    /// How long a pull waits to fill a batch before applying what it has.
    pub batch_wait_ms: u64,
    /// Batches applied at once (each in its own transaction, acknowledged after its commit).
    pub in_flight: usize,
    /// JetStream redelivers an unacknowledged message after this long.
    pub ack_wait_secs: u64,
    pub rules: ScoringRules,
}

// Here rather than in scoring.rs, so that the rules (a leaf) do not depend on the settings
// that hold them.
impl Default for ScoringRules {
    /// The built-in rules (`config/default.toml`).
    fn default() -> Self {
        Settings::built_in().scoring.rules
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxSettings {
    pub listen: SocketAddr,
    #[serde(deserialize_with = "time_zone")]
    pub default_timezone: Tz,
    /// The built web app (`npm run build` in `web/`), served at `/` and `/dashboard`.
    pub web_dir: String,
    /// Seconds between SSE heartbeats on `/api/v1/stream` (a comment line), so proxies and
    /// load balancers do not close an idle live connection.
    pub live_heartbeat_secs: u64,
    /// Live streams one user may hold open at once (each one is a JetStream consumer); one
    /// more is a 429.
    pub max_streams_per_user: usize,
    /// CSV exports one user may run at once; one more is a 429.
    pub max_exports_per_user: usize,
    /// Searches (`q`: inbox pages, stats, bulk by filter) one user may run at once; more wait
    /// their turn for `search_wait_ms`, then get a 429 with `Retry-After`.
    pub max_searches_per_user: usize,
    /// Milliseconds a search waits for one of its user's turns before the 429.
    pub search_wait_ms: u64,
    /// Seconds an export waits for its client to take the next chunk; past it the export is
    /// cut short, so a client that stops reading holds nothing for long.
    pub export_stall_secs: u64,
    /// A search's (`q`) totals are exact up to this many rows; beyond, the answer says
    /// `total_is_lower_bound` (the web app shows "10 000+"), so no request counts more.
    pub exact_total_limit: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderSettings {
    /// Health and metrics port.
    pub listen: SocketAddr,
    /// Time between two passes.
    pub interval_secs: u64,
    /// Rows claimed (and notifications published) per transaction.
    pub batch_size: usize,
}

/// Who gets a new hot lead nobody's team takes (design, "Speed to lead").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentSettings {
    /// External id of the team whose pool takes the hot leads with no owner, or whose owner
    /// and owner's team have nobody available; empty: those stay unassigned.
    pub default_team: String,
}

impl AssignmentSettings {
    pub fn default_team(&self) -> Option<String> {
        Some(self.default_team.trim())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    }
}

/// The first-touch SLA of hot leads (design, "Speed to lead").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaSettings {
    /// Minutes of the assignee's working time to touch a hot lead.
    pub hot_lead_minutes: u32,
    /// A hot lead due within this many minutes, untouched, is at risk.
    pub at_risk_minutes: u32,
}

/// How long what only grows is kept (design, "Data lifecycle"): the reminder deletes older rows
/// in small batches at each pass (`services/reminder/src/retention.rs`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days an event's key is kept to drop its redeliveries: longer than every stream's age and
    /// every provider's retry window. The gateway refuses events older than this (422), so a
    /// very late retry cannot be applied twice.
    pub processed_events_days: u32,
    /// Days a read notification is kept.
    pub notifications_days: u32,
    /// Days a sent email is kept in the outbox.
    pub mail_outbox_days: u32,
    /// Rows one delete takes: short statements, so no query waits on them for long.
    pub batch_size: u32,
}

/// Lead scores cool down when engagement stops.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecaySettings {
    /// Points a score loses per full week without engagement (0: no decay).
    pub points_per_week: i32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HS256 secret of inbox API tokens (at least 32 bytes). The inbox refuses to start without.
    pub jwt_secret: Option<SecretString>,
    /// `POST /api/v1/auth/dev-login` hands a token to anyone naming a user id: on in
    /// `config/development.toml` only, for the web app and demos.
    pub dev_login: bool,
    /// Lifetime of the tokens dev-login issues.
    pub token_ttl_secs: u64,
    /// The longest an HS256 token may live: one whose `exp` is further away is refused, so a
    /// leaked token (or one the CRM minted carelessly) cannot last for years.
    pub max_token_lifetime_secs: u64,
    pub oidc: OidcSettings,
}

/// Sign-in with the company's OpenID provider (docs/api.md, "Sign-in").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The provider's issuer URL (`<issuer>/.well-known/openid-configuration`). Unset: only
    /// HS256 tokens (`auth.jwt_secret`) are accepted.
    pub issuer: Option<String>,
    /// What the access tokens' `aud` must hold.
    pub audience: Option<String>,
    /// The web app's client id (a public client: code + PKCE).
    pub client_id: Option<String>,
    /// The scopes the web app asks for.
    pub scopes: String,
    /// Least seconds between two refetches of the provider's keys for an unknown `kid`.
    pub jwks_min_refresh_secs: u64,
}

/// The CRM's feed of users, organisations and people (docs/api.md, "Directory").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySettings {
    /// Bearer token of `/api/v1/directory/*` (at least 16 characters). Unset: those routes
    /// answer 404. The NATS feed needs no token: NATS's own credentials guard it.
    pub token: Option<SecretString>,
    /// Versions per request (and per transaction of the NATS consumer).
    pub max_batch: usize,
    /// JetStream redelivers an unacknowledged directory message after this long.
    pub ack_wait_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersSettings {
    pub resend: ResendSettings,
    pub sendgrid: SendgridSettings,
    pub mailgun: MailgunSettings,
    pub postmark: PostmarkSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResendSettings {
    pub signing_secret: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendgridSettings {
    pub public_key: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailgunSettings {
    pub signing_key: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostmarkSettings {
    pub basic_auth: Option<SecretString>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `tracing` filter directives, overridden by `RUST_LOG` when set.
    pub log_level: String,
    pub log_format: LogFormat,
    /// OTLP/HTTP traces endpoint (e.g. `http://otel-collector:4318/v1/traces`); unset: traces
    /// are not exported, though trace context is still propagated.
    pub otlp_endpoint: Option<String>,
}

/// `config/default.toml`, compiled in: the built-in layer, so a binary runs with no file at
/// all, and the one place defaults are written (svix-server's way).
pub const DEFAULTS_TOML: &str = include_str!("../../config/default.toml");

fn time_zone<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
    let name = String::deserialize(deserializer)?;
    name.parse()
        .map_err(|_| serde::de::Error::custom(format!("`{name}` is not an IANA time zone")))
}

impl Default for Settings {
    fn default() -> Self {
        Self::built_in()
    }
}

impl Settings {
    /// The built-in defaults alone ([`DEFAULTS_TOML`]).
    pub fn built_in() -> Self {
        // `the_built_in_defaults_load_and_follow_the_design` proves the constant parses.
        #[allow(clippy::expect_used)]
        config::Config::builder()
            .add_source(config::File::from_str(
                DEFAULTS_TOML,
                config::FileFormat::Toml,
            ))
            .build()
            .and_then(|c| c.try_deserialize())
            .expect("config/default.toml is valid") // ok: a compile-time constant, tested
    }

    /// Loads the layered configuration: the built-in defaults, `config/default.toml` and
    /// `config/$RELANCE_ENV.toml` from `config/` (or `$RELANCE_CONFIG_DIR`) when present, then
    /// `RELANCE__SECTION__KEY` environment variables; then validates it. An unknown key is an
    /// error, so a typo does not silently leave a default in place.
    pub fn load() -> Result<Self, ConfigError> {
        let dir = std::env::var_os("RELANCE_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config"));
        let env = std::env::var("RELANCE_ENV").unwrap_or_else(|_| "local".into());
        let settings: Settings = config::Config::builder()
            .add_source(config::File::from_str(
                DEFAULTS_TOML,
                config::FileFormat::Toml,
            ))
            .add_source(config::File::from(dir.join("default.toml")).required(false))
            .add_source(config::File::from(dir.join(format!("{env}.toml"))).required(false))
            .add_source(
                config::Environment::with_prefix("RELANCE")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .build()?
            .try_deserialize()?;
        let settings = Settings {
            environment: env,
            ..settings
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Checks ranges and relations the types cannot say; names the key at fault.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_connections()?;
        self.validate_credentials()?;
        self.validate_limits()?;
        self.validate_scoring()?;
        self.validate_sign_in()?;
        self.validate_mail()?;
        if self.environment == "production" {
            self.validate_production()?;
        }
        Ok(())
    }

    /// In production (`RELANCE_ENV=production`, which the image sets): no dev-login and no
    /// secret the repository holds (its development, test and example values), since anyone
    /// can read them.
    fn validate_production(&self) -> Result<(), ConfigError> {
        if self.auth.dev_login {
            return Err(invalid(
                "auth.dev_login",
                "must be false in production: it hands out tokens without a password",
            ));
        }
        let secrets: [(&'static str, Option<&SecretString>); 8] = [
            ("database.url", Some(&self.database.url)),
            ("gateway.ingest_token", self.gateway.ingest_token.as_ref()),
            ("auth.jwt_secret", self.auth.jwt_secret.as_ref()),
            ("directory.token", self.directory.token.as_ref()),
            (
                "providers.resend.signing_secret",
                self.providers.resend.signing_secret.as_ref(),
            ),
            (
                "providers.mailgun.signing_key",
                self.providers.mailgun.signing_key.as_ref(),
            ),
            (
                "providers.postmark.basic_auth",
                self.providers.postmark.basic_auth.as_ref(),
            ),
            ("mail.smtp_url", self.mail.smtp_url.as_ref()),
        ];
        for (key, secret) in secrets {
            if secret.is_some_and(|s| is_public_secret(s.expose_secret())) {
                return Err(invalid(
                    key,
                    "is a value the repository holds (development, test or example): \
                     set a secret of your own in production",
                ));
            }
        }
        Ok(())
    }

    /// Where PostgreSQL and NATS are, and how the streams are named.
    fn validate_connections(&self) -> Result<(), ConfigError> {
        let db = self.database.url.expose_secret();
        if !(db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            return Err(invalid("database.url", "must be a postgres:// URL"));
        }
        at_least("database.max_connections", self.database.max_connections, 1)?;
        at_least(
            "database.statement_timeout_ms",
            self.database.statement_timeout_ms,
            100,
        )?;
        at_least(
            "database.interactive_statement_timeout_ms",
            self.database.interactive_statement_timeout_ms,
            100,
        )?;
        // The change relay holds two at once (its batch and the search index's refresh).
        at_least(
            "database.reserved_connections",
            self.database.reserved_connections,
            2,
        )?;
        if self.database.reserved_connections >= self.database.max_connections {
            return Err(invalid(
                "database.reserved_connections",
                "must be below database.max_connections (users' requests need at least one)",
            ));
        }
        at_least("nats.events_max_bytes", self.nats.events_max_bytes, 1 << 20)?;
        at_least("nats.max_stream_bytes", self.nats.max_stream_bytes, 1 << 20)?;
        if self.nats.url.expose_secret().is_empty() {
            return Err(invalid("nats.url", "must not be empty"));
        }
        if !self
            .nats
            .namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(invalid(
                "nats.namespace",
                "only letters, digits, `_` and `-` (it becomes part of stream names)",
            ));
        }
        between("nats.replicas", self.nats.replicas, 1, 5)?;
        at_least(
            "nats.live_retention_hours",
            self.nats.live_retention_hours,
            1,
        )
    }

    /// Shared secrets long enough to resist guessing.
    fn validate_credentials(&self) -> Result<(), ConfigError> {
        long_enough(
            "gateway.ingest_token",
            self.gateway.ingest_token.as_ref(),
            16,
            "must be at least 16 characters (or unset to turn the endpoint off)",
        )?;
        long_enough(
            "directory.token",
            self.directory.token.as_ref(),
            16,
            "must be at least 16 characters (or unset to turn the directory API off)",
        )?;
        long_enough(
            "auth.jwt_secret",
            self.auth.jwt_secret.as_ref(),
            32,
            "must be at least 32 bytes",
        )
    }

    /// What one request, connection or batch may hold or take.
    fn validate_limits(&self) -> Result<(), ConfigError> {
        between("directory.max_batch", self.directory.max_batch, 1, 10_000)?;
        at_least("directory.ack_wait_secs", self.directory.ack_wait_secs, 1)?;
        at_least("http.header_timeout_secs", self.http.header_timeout_secs, 1)?;
        at_least("http.max_connections", self.http.max_connections, 1)?;
        at_least(
            "http.request_timeout_secs",
            self.http.request_timeout_secs,
            1,
        )?;
        at_least("gateway.max_in_flight", self.gateway.max_in_flight, 1)?;
        if self.gateway.rate_limit_per_second == Some(0) {
            return Err(invalid(
                "gateway.rate_limit_per_second",
                "must be at least 1 (or unset for no limit)",
            ));
        }
        at_least("gateway.max_batch", self.gateway.max_batch, 1)?;
        at_least(
            "gateway.max_webhook_events",
            self.gateway.max_webhook_events,
            1,
        )?;
        at_least("gateway.max_body_bytes", self.gateway.max_body_bytes, 1024)?;
        between(
            "inbox.exact_total_limit",
            self.inbox.exact_total_limit,
            1,
            1_000_000,
        )?;
        at_least(
            "inbox.max_streams_per_user",
            self.inbox.max_streams_per_user,
            1,
        )?;
        at_least(
            "inbox.max_exports_per_user",
            self.inbox.max_exports_per_user,
            1,
        )?;
        at_least("inbox.export_stall_secs", self.inbox.export_stall_secs, 1)?;
        at_least(
            "inbox.max_searches_per_user",
            self.inbox.max_searches_per_user,
            1,
        )?;
        at_least(
            "inbox.live_heartbeat_secs",
            self.inbox.live_heartbeat_secs,
            1,
        )?;
        at_least("reminder.interval_secs", self.reminder.interval_secs, 1)?;
        // Bounded above so that `now - days` stays a date (about 2,700 years).
        let retention = &self.retention;
        between(
            "retention.processed_events_days",
            retention.processed_events_days,
            3,
            1_000_000,
        )?;
        between(
            "retention.notifications_days",
            retention.notifications_days,
            1,
            1_000_000,
        )?;
        between(
            "retention.mail_outbox_days",
            retention.mail_outbox_days,
            1,
            1_000_000,
        )?;
        between(
            "retention.batch_size",
            self.retention.batch_size,
            1,
            100_000,
        )?;
        between(
            "sla.hot_lead_minutes",
            self.sla.hot_lead_minutes,
            1,
            100_000,
        )?;
        between(
            "sla.at_risk_minutes",
            self.sla.at_risk_minutes,
            0,
            self.sla.hot_lead_minutes,
        )?;
        between("reminder.batch_size", self.reminder.batch_size, 1, 10_000)
    }

    /// The consumer's batches and the scoring rules.
    fn validate_scoring(&self) -> Result<(), ConfigError> {
        between("scoring.batch_size", self.scoring.batch_size, 1, 10_000)?;
        between("scoring.in_flight", self.scoring.in_flight, 1, 16)?;
        // One connection per batch in flight, and one left for the readiness probe.
        if self.scoring.in_flight as u64 >= u64::from(self.database.max_connections) {
            return Err(invalid(
                "scoring.in_flight",
                "must be below database.max_connections (a connection per batch, one for /readyz)",
            ));
        }
        let rules = &self.scoring.rules;
        at_least("scoring.rules.hot_threshold", rules.hot_threshold, 1)?;
        if rules.heat_hot < rules.hot_threshold || rules.heat_very_hot < rules.heat_hot {
            return Err(invalid(
                "scoring.rules.heat_hot",
                "hot_threshold <= heat_hot <= heat_very_hot",
            ));
        }
        if rules.hot_rearm_below > rules.hot_threshold || rules.hot_rearm_below < 0 {
            return Err(invalid(
                "scoring.rules.hot_rearm_below",
                "must be between 0 and scoring.rules.hot_threshold",
            ));
        }
        at_least("scoring.ack_wait_secs", self.scoring.ack_wait_secs, 1)?;
        at_least("decay.points_per_week", self.decay.points_per_week, 0)
    }

    /// The OpenID provider and the tokens the inbox issues.
    fn validate_sign_in(&self) -> Result<(), ConfigError> {
        if let Some(issuer) = &self.auth.oidc.issuer {
            if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
                return Err(invalid("auth.oidc.issuer", "must be an http(s) URL"));
            }
            if self.auth.oidc.audience.as_deref().unwrap_or("").is_empty() {
                return Err(invalid(
                    "auth.oidc.audience",
                    "must be set with auth.oidc.issuer",
                ));
            }
            if self.auth.oidc.client_id.as_deref().unwrap_or("").is_empty() {
                return Err(invalid(
                    "auth.oidc.client_id",
                    "must be set with auth.oidc.issuer (the web app signs in with it)",
                ));
            }
        }
        at_least("auth.token_ttl_secs", self.auth.token_ttl_secs, 1)?;
        at_least(
            "auth.max_token_lifetime_secs",
            self.auth.max_token_lifetime_secs,
            60,
        )?;
        if self.auth.token_ttl_secs > self.auth.max_token_lifetime_secs {
            return Err(invalid(
                "auth.token_ttl_secs",
                "must not exceed auth.max_token_lifetime_secs (the tokens would be refused)",
            ));
        }
        Ok(())
    }

    /// Email and the links it carries.
    fn validate_mail(&self) -> Result<(), ConfigError> {
        if let Some(url) = self.mail.smtp_url() {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(invalid(
                    "mail.smtp_url",
                    "must be an smtp:// or smtps:// URL (or unset to turn email off)",
                ));
            }
        }
        if !self.mail.from.contains('@') {
            return Err(invalid(
                "mail.from",
                "must be an address, e.g. Relance <relance@example.com>",
            ));
        }
        at_least("mail.timeout_secs", self.mail.timeout_secs, 1)?;
        let public = self.web.public_url.trim_end_matches('/');
        if !(public.starts_with("https://") || public.starts_with("http://")) || public.len() < 10 {
            return Err(invalid("web.public_url", "must be an http(s) URL"));
        }
        Ok(())
    }
}

/// Every secret value written in the repository (scripts, compose, Kubernetes examples, docs,
/// tests), which production refuses; a test scans the repository so a new one cannot be
/// forgotten here. Any value saying `change-me` counts too.
pub const PUBLIC_SECRETS: &[&str] = &[
    "dev-ingest-token-change-me",
    "dev-jwt-secret-change-me-0123456789",
    "dev-directory-token-change-me",
    "relance-dev-password",
    "e2e-jwt-secret-0123456789-0123456789",
    "e2e-directory-token-0123456789",
    "fuzz-jwt-secret-0123456789-0123456789",
    "fuzz-ingest-token-0123456789",
    "fuzz-directory-token-0123456789",
    "relance:fuzz-password",
];

/// Whether `secret` is (or, for a URL, carries) a value the repository holds.
fn is_public_secret(secret: &str) -> bool {
    let secret = secret.trim();
    secret.to_ascii_lowercase().contains("change-me")
        || PUBLIC_SECRETS
            .iter()
            .any(|public| secret == *public || secret.contains(&format!(":{public}@")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_defaults_load_and_follow_the_design() {
        let s = Settings::built_in();
        assert_eq!(s.gateway.listen, ([127, 0, 0, 1], 8080).into());
        assert_eq!(s.inbox.listen, ([127, 0, 0, 1], 8081).into());
        assert_eq!(s.reminder.interval_secs, 300);
        assert_eq!(s.inbox.default_timezone, chrono_tz::Europe::Paris);
        assert_eq!(
            s.database.url.expose_secret(),
            "postgres://postgres@127.0.0.1:5432/relance"
        );
        assert_eq!(s.nats.url.expose_secret(), "nats://127.0.0.1:4222");
        assert_eq!(s.scoring.rules.hot_threshold, 15);
        s.validate().unwrap();
    }

    #[test]
    fn production_refuses_dev_login_and_the_repositorys_secrets() {
        let production = || Settings {
            environment: "production".into(),
            ..Settings::default()
        };
        production().validate().unwrap();
        let mut s = production();
        s.auth.dev_login = true;
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("auth.dev_login"));
        for (key, change) in [
            (
                "auth.jwt_secret",
                (|s: &mut Settings| {
                    s.auth.jwt_secret =
                        Some("dev-jwt-secret-change-me-0123456789".to_owned().into())
                }) as fn(&mut Settings),
            ),
            ("gateway.ingest_token", |s: &mut Settings| {
                s.gateway.ingest_token = Some("my-token-CHANGE-ME-please".to_owned().into())
            }),
            ("directory.token", |s: &mut Settings| {
                s.directory.token = Some("e2e-directory-token-0123456789".to_owned().into())
            }),
            ("database.url", |s: &mut Settings| {
                s.database.url = "postgres://relance:relance-dev-password@db:5432/relance"
                    .to_owned()
                    .into()
            }),
        ] {
            let mut s = production();
            change(&mut s);
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
            // Outside production the same values are fine (development, tests).
            Settings {
                environment: "development".into(),
                ..s
            }
            .validate()
            .unwrap();
        }
        // Tokens issued for longer than any token may live would be refused: not startable.
        let mut s = Settings::default();
        s.auth.token_ttl_secs = s.auth.max_token_lifetime_secs + 1;
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("auth.token_ttl_secs"));
    }

    /// Every secret the repository writes down (`KEY=value`, `KEY: value`, `${VAR:-value}`
    /// for the settings that are secrets) is one production refuses.
    #[test]
    fn every_secret_written_in_the_repository_is_refused_in_production() {
        const SECRET_NAMES: &[&str] = &[
            "JWT_SECRET",
            "INGEST_TOKEN",
            "DIRECTORY__TOKEN",
            "DIRECTORY_TOKEN",
            "SIGNING_SECRET",
            "SIGNING_KEY",
            "BASIC_AUTH",
            "POSTGRES_PASSWORD",
            "jwt-secret",
            "ingest-token",
            "directory-token",
        ];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = vec![root.join("docker-compose.yml"), root.join("README.md")];
        for dir in ["scripts", "k8s", "docs", "config", ".env.example"] {
            let mut stack = vec![root.join(dir)];
            while let Some(path) = stack.pop() {
                if path.is_dir() {
                    stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                } else {
                    files.push(path);
                }
            }
        }
        let mut found = 0;
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            for line in text.lines() {
                let Some(name) = SECRET_NAMES.iter().find(|n| line.contains(*n)) else {
                    continue;
                };
                let after = &line[line.find(name).unwrap() + name.len()..];
                let Some(value) = after
                    .strip_prefix('=')
                    .or_else(|| after.strip_prefix(": "))
                    .or_else(|| after.strip_prefix(":-"))
                else {
                    continue;
                };
                // `${VAR:-default}` keeps its default; a variable alone is no value.
                let value = match value.split_once(":-") {
                    Some((_, default)) => default.split('}').next().unwrap_or_default(),
                    None => value,
                };
                let value = value
                    .trim_end_matches(['}', '"', '\'', ' ', ')'])
                    .trim_matches(['"', '\'']);
                if value.is_empty() || value.starts_with('$') || value.starts_with('<') {
                    continue;
                }
                found += 1;
                assert!(
                    is_public_secret(value),
                    "{}: {line}: add {value:?} to PUBLIC_SECRETS",
                    file.display()
                );
            }
        }
        assert!(found >= 10, "the scan found only {found} secrets");
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let mut s = Settings::default();
        s.gateway.ingest_token = Some(SecretString::from("super-secret-token-123"));
        s.database.url = SecretString::from("postgres://u:hunter2@db/relance");
        let shown = format!("{s:?}");
        assert!(!shown.contains("super-secret-token-123"));
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn validation_names_the_bad_key() {
        // The email channel: an empty URL is off, a URL of another scheme is refused.
        let mut s = Settings::default();
        s.mail.smtp_url = Some(SecretString::from(""));
        s.validate().unwrap();
        assert_eq!(s.mail.smtp_url(), None);
        for (key, change) in [
            (
                "mail.smtp_url",
                (|s: &mut Settings| s.mail.smtp_url = Some(SecretString::from("http://mail:25")))
                    as fn(&mut Settings),
            ),
            ("mail.from", |s: &mut Settings| {
                s.mail.from = "relance".into()
            }),
            ("mail.timeout_secs", |s: &mut Settings| {
                s.mail.timeout_secs = 0
            }),
            ("web.public_url", |s: &mut Settings| {
                s.web.public_url = "relance.example.com".into()
            }),
        ] {
            let mut s = Settings::default();
            change(&mut s);
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }

        let mut s = Settings::default();
        s.scoring.rules.hot_rearm_below = 99;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("scoring.rules.hot_rearm_below"), "{err}");

        let mut s = Settings::default();
        s.gateway.ingest_token = Some(SecretString::from("short"));
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("gateway.ingest_token"), "{err}");

        // A batch in flight per connection, and one connection left for /readyz.
        for (in_flight, max_connections, ok) in [(4, 10, true), (4, 4, false), (0, 10, false)] {
            let mut s = Settings::default();
            s.scoring.in_flight = in_flight;
            s.database.max_connections = max_connections;
            let result = s.validate();
            assert_eq!(
                result.is_ok(),
                ok,
                "{in_flight} in flight, {max_connections} connections"
            );
            if let Err(err) = result {
                assert!(err.to_string().contains("scoring.in_flight"), "{err}");
            }
        }
    }

    /// Every key of the defaults file: its `key = value` lines, and the `# key: …` comments that
    /// document a key without a default (the secrets).
    fn default_keys() -> Vec<String> {
        let mut section = String::new();
        let mut keys = Vec::new();
        for line in DEFAULTS_TOML.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.to_owned();
            } else if let Some((key, _)) = line.split_once(" = ") {
                keys.push(format!("{section}.{key}"));
            } else if let Some((key, _)) = line.strip_prefix("# ").and_then(|l| l.split_once(": "))
            {
                if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    keys.push(format!("{section}.{key}"));
                }
            }
        }
        keys
    }

    #[test]
    fn the_configuration_doc_names_every_key_and_only_those() {
        let doc = include_str!("../../docs/configuration.md");
        let documented: Vec<String> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split_once('`').map(|(key, _)| key.to_owned()))
            .collect();
        let keys = default_keys();
        assert!(keys.len() > 40, "{keys:?}");
        for key in &keys {
            assert!(
                documented.contains(key),
                "docs/configuration.md lacks `{key}`"
            );
        }
        for key in &documented {
            assert!(
                keys.contains(key),
                "docs/configuration.md names `{key}`, not a key"
            );
        }
        // And the environment variable that sets it.
        for key in &keys {
            let env = format!("RELANCE__{}", key.replace('.', "__").to_uppercase());
            assert!(doc.contains(&env), "docs/configuration.md lacks {env}");
        }
    }

    #[test]
    fn environment_overrides_files_and_an_unknown_key_is_refused() {
        // One test touches the process environment, so no other test races on it.
        let dir = std::env::temp_dir().join(format!("relance-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("default.toml"),
            "[gateway]\nlisten = \"0.0.0.0:9000\"\n[reminder]\ninterval_secs = 60\n",
        )
        .unwrap();
        std::env::set_var("RELANCE_CONFIG_DIR", &dir);
        std::env::set_var("RELANCE__REMINDER__INTERVAL_SECS", "42");
        std::env::set_var("RELANCE__GATEWAY__INGEST_TOKEN", "0123456789abcdef0123");
        let s = Settings::load().unwrap();
        std::env::remove_var("RELANCE_CONFIG_DIR");
        std::env::remove_var("RELANCE__REMINDER__INTERVAL_SECS");
        std::env::remove_var("RELANCE__GATEWAY__INGEST_TOKEN");
        assert_eq!(s.gateway.listen, ([0, 0, 0, 0], 9000).into());
        assert_eq!(s.reminder.interval_secs, 42);
        assert_eq!(
            s.gateway.ingest_token.unwrap().expose_secret(),
            "0123456789abcdef0123"
        );

        std::env::set_var("RELANCE__SCORING__RULES__HOT_TRESHOLD", "20");
        let refused = Settings::load();
        std::env::remove_var("RELANCE__SCORING__RULES__HOT_TRESHOLD");
        let error = refused.unwrap_err().to_string();
        assert!(error.contains("hot_treshold"), "{error}");

        // Every secret the defaults file documents without a value is a real key.
        let mut layered = config::Config::builder().add_source(config::File::from_str(
            DEFAULTS_TOML,
            config::FileFormat::Toml,
        ));
        for key in default_keys() {
            if key.starts_with("providers.") || key.ends_with("_token") || key.ends_with("_secret")
            {
                layered = layered
                    .set_override(key, "0123456789abcdef0123456789abcdef")
                    .unwrap();
            }
        }
        layered
            .build()
            .unwrap()
            .try_deserialize::<Settings>()
            .unwrap();
    }
}
