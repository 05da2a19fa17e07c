//! Notifications by email (`mail.smtp_url`; unset: off).
//!
//! - [`outbox`]: what to send. An `instant` user's overdue notification is enqueued in the
//!   statement that creates it ([`crate::overdue`]); a `daily` user's digest once per local day
//!   ([`digest`]). Rows are claimed one at a time with `FOR UPDATE SKIP LOCKED`, so replicas
//!   and one-shot passes never send the same email, and marked `sent` in that transaction only
//!   once the SMTP server accepted the message.
//! - [`render`]: the French messages, plain text and HTML, with links under `web.public_url`.
//! - [`transport`]: `lettre`'s async SMTP transport, and which failures are worth retrying.
//!
//! Exactly once, and its one limit: a crash after the server accepted a message but before the
//! commit sends it again at the next pass. Every message carries a `Message-ID` derived from
//! its outbox row, so the copy is the same message to any mail client.

pub mod digest;
pub mod outbox;
pub mod render;
pub mod transport;

pub use transport::Mailer;
