//! The SMTP side: `lettre`'s async transport (a pool of connections, TLS by rustls), built from
//! `mail.smtp_url`, and the one distinction the outbox needs: retry later, or give up.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use relance_shared::config::{MailSettings, WebSettings};

#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    #[error("mail.smtp_url: {0}")]
    Url(String),
    #[error("mail.from: {0}")]
    From(String),
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The server is down, slow, or answered 4xx: the same message may go through later.
    #[error("transient: {0}")]
    Transient(String),
    /// The server refused it for good (5xx), or it cannot be built (a bad recipient address).
    #[error("permanent: {0}")]
    Permanent(String),
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    pub from: Mailbox,
    /// `web.public_url` without its trailing slash.
    pub public_url: String,
}

impl Mailer {
    /// `None` when `mail.smtp_url` is unset (the email channel is off).
    pub fn from_settings(
        mail: &MailSettings,
        web: &WebSettings,
    ) -> Result<Option<Self>, MailConfigError> {
        let Some(url) = mail.smtp_url() else {
            return Ok(None);
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            // The error may quote the URL, password included: say what is wrong, not the URL.
            .map_err(|_| {
                MailConfigError::Url(
                    "not a usable SMTP URL (smtp://host:port, smtps://user:password@host:465)"
                        .into(),
                )
            })?
            .timeout(Some(Duration::from_secs(mail.timeout_secs)))
            .build();
        let from = mail
            .from
            .parse::<Mailbox>()
            .map_err(|e| MailConfigError::From(e.to_string()))?;
        Ok(Some(Self {
            transport,
            from,
            public_url: web.public_url.trim_end_matches('/').to_owned(),
        }))
    }

    /// Hands `message` to the server; `Ok` once it accepted it (250 after DATA).
    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(SendError::Permanent(error.to_string())),
            // 4xx, refused connections, timeouts, TLS and network failures: later.
            Err(error) => Err(SendError::Transient(error.to_string())),
        }
    }
}
