//! The CRM's directory over NATS: the durable consumer `directory` on `CRM_DIRECTORY`
//! (`crm.directory.<users|organisations|people|teams>.<upsert|delete>`, one JSON object per
//! message).
//!
//! The inbox runs it, because the directory's code (validation, set-based upserts, erasure) is
//! the inbox's, shared with the HTTP API; every replica pulls from the same durable consumer.
//! A batch is applied in one transaction (teams, users, organisations, people, then the
//! deletions), references kept for records not received yet, and acknowledged after the
//! commit. A message that can never apply (not JSON, a bad value) goes to `DIRECTORY_DLQ` with
//! the reason, then is terminated; the rest of its batch is applied without it. A transient
//! failure naks the batch with a delay.

use std::time::Duration;

use async_nats::jetstream::{self, AckKind};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use relance_shared::db::is_transient;
use relance_shared::directory::{
    Deletion, Kind, OrganisationVersion, PersonVersion, TeamVersion, UserVersion,
};
use relance_shared::nats::{self, Names};

use super::dead_letters::purge_person;
use super::store::{delete, put_organisations, put_people, put_teams, put_users};
use super::{DirectoryError, References};

pub struct DirectoryConsumer {
    pub pool: PgPool,
    pub js: jetstream::Context,
    pub names: Names,
    pub batch_size: usize,
    pub ack_wait: Duration,
}

/// One message, parsed.
#[derive(Debug, Clone)]
enum Item {
    User(UserVersion),
    Organisation(OrganisationVersion),
    Person(PersonVersion),
    Team(TeamVersion),
    Delete(Kind, Deletion),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Ack,
    DeadLetter(String),
    Retry,
}

impl DirectoryConsumer {
    pub async fn run(self, stop: CancellationToken) {
        let mut backoff = Duration::from_millis(200);
        while !stop.is_cancelled() {
            if let Err(error) = self.consume(&stop).await {
                tracing::warn!(%error, "directory consumer interrupted; reconnecting");
                tokio::select! {
                    () = stop.cancelled() => {}
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }

    async fn consume(&self, stop: &CancellationToken) -> anyhow::Result<()> {
        let consumer = nats::directory_consumer(&self.js, &self.names, self.ack_wait).await?;
        let mut messages = consumer
            .stream()
            .max_messages_per_batch(self.batch_size)
            .heartbeat(Duration::from_secs(5))
            .messages()
            .await?;
        while let Some(batch) = nats::next_batch(
            &mut messages,
            self.batch_size,
            Duration::from_millis(50),
            stop,
        )
        .await?
        {
            let span = tracing::info_span!("directory.batch", size = batch.len());
            self.handle(batch).instrument(span).await;
        }
        Ok(())
    }

    async fn handle(&self, batch: Vec<jetstream::Message>) {
        let mut verdicts: Vec<Option<Verdict>> = vec![None; batch.len()];
        let mut live: Vec<(usize, Item)> = Vec::new();
        for (i, message) in batch.iter().enumerate() {
            match parse(&self.names, message) {
                Ok(item) => live.push((i, item)),
                Err(reason) => verdicts[i] = Some(Verdict::DeadLetter(reason)),
            }
        }
        // An erased person's dead letters go first: if that fails, the batch waits.
        let mut purged = true;
        for (_, item) in &live {
            if let Item::Delete(Kind::People, deletion) = item {
                if let Err(error) =
                    purge_person(&self.pool, &self.js, &self.names, &deletion.external_id).await
                {
                    tracing::warn!(%error, "dead letters not purged; the batch will be retried");
                    purged = false;
                    break;
                }
            }
        }
        if !purged {
            live.clear();
        }
        // Each refusal names its message; the rest is applied again without it. A refusal
        // the database makes for a reason of data is found by applying the messages alone.
        let mut alone = false;
        while !live.is_empty() {
            let chunks: Vec<Vec<(usize, Item)>> = if alone {
                live.iter().map(|one| vec![one.clone()]).collect()
            } else {
                vec![live.clone()]
            };
            let mut retry_all = false;
            for chunk in chunks {
                match apply(&self.pool, &chunk).await {
                    Ok(()) => {
                        for (i, _) in &chunk {
                            verdicts[*i] = Some(Verdict::Ack);
                        }
                    }
                    Err(Refused::Items(refused)) => {
                        for (i, reason) in refused {
                            verdicts[i] = Some(Verdict::DeadLetter(reason));
                        }
                    }
                    Err(Refused::Data(error)) if chunk.len() == 1 => {
                        verdicts[chunk[0].0] =
                            Some(Verdict::DeadLetter(format!("database refused it: {error}")));
                    }
                    Err(Refused::Data(error)) => {
                        tracing::warn!(%error, "directory batch refused; applying its messages one by one");
                        alone = true;
                    }
                    Err(Refused::Transient(error)) => {
                        tracing::warn!(%error, "directory batch not applied; will retry");
                        retry_all = true;
                        break;
                    }
                }
            }
            if retry_all {
                break;
            }
            live.retain(|(i, _)| verdicts[*i].is_none());
        }
        for (message, verdict) in batch.iter().zip(verdicts) {
            self.settle(message, verdict.unwrap_or(Verdict::Retry))
                .await;
        }
    }

    async fn settle(&self, message: &jetstream::Message, verdict: Verdict) {
        let outcome = match &verdict {
            Verdict::Ack => "applied",
            Verdict::DeadLetter(_) => "dead_lettered",
            Verdict::Retry => "retried",
        };
        let retry = || {
            let delivered = message.info().map(|i| i.delivered).unwrap_or(1).clamp(1, 7);
            AckKind::Nak(Some(Duration::from_secs(1 << (delivered - 1))))
        };
        let result = match verdict {
            Verdict::Ack => message.ack().await,
            Verdict::Retry => message.ack_with(retry()).await,
            Verdict::DeadLetter(reason) => match self.dead_letter(message, &reason).await {
                Ok(()) => message.ack_with(AckKind::Term).await,
                Err(error) => {
                    tracing::error!(%error, "cannot write to the directory DLQ; will retry");
                    message.ack_with(retry()).await
                }
            },
        };
        metrics::counter!("inbox_directory_messages_total", "outcome" => outcome).increment(1);
        if let Err(error) = result {
            tracing::warn!(%error, "could not settle a directory message");
        }
    }

    async fn dead_letter(
        &self,
        message: &jetstream::Message,
        reason: &str,
    ) -> Result<(), async_nats::Error> {
        let kind = self
            .names
            .directory_of_subject(&message.subject)
            .map_or("unknown", |(kind, _)| kind.as_str());
        let subject = self.names.directory_dlq_subject(kind);
        relance_shared::nats::dead_letter(&self.js, subject, message, reason).await
    }
}

fn parse(names: &Names, message: &jetstream::Message) -> Result<Item, String> {
    let (kind, operation) = names
        .directory_of_subject(&message.subject)
        .ok_or_else(|| format!("not a directory subject: {}", message.subject))?;
    let payload = &message.payload;
    let bad = |e: serde_json::Error| format!("invalid {} {operation}: {e}", kind.as_str());
    Ok(match (kind, operation) {
        (_, "delete") => Item::Delete(kind, serde_json::from_slice(payload).map_err(bad)?),
        (Kind::Users, "upsert") => Item::User(serde_json::from_slice(payload).map_err(bad)?),
        (Kind::Organisations, "upsert") => {
            Item::Organisation(serde_json::from_slice(payload).map_err(bad)?)
        }
        (Kind::People, "upsert") => Item::Person(serde_json::from_slice(payload).map_err(bad)?),
        (Kind::Teams, "upsert") => Item::Team(serde_json::from_slice(payload).map_err(bad)?),
        (_, other) => return Err(format!("unknown operation {other}")),
    })
}

enum Refused {
    /// These messages (by batch position) can never apply, with the reason.
    Items(Vec<(usize, String)>),
    /// The database refused the batch for a reason of data (SQLSTATE 22, 23...).
    Data(sqlx::Error),
    Transient(sqlx::Error),
}

/// The batch in one transaction. A refusal of values names the messages at fault.
async fn apply(pool: &PgPool, live: &[(usize, Item)]) -> Result<(), Refused> {
    let database = |error: sqlx::Error| {
        if is_transient(&error) {
            Refused::Transient(error)
        } else {
            Refused::Data(error)
        }
    };
    let mut tx = pool.begin().await.map_err(database)?;
    macro_rules! put {
        ($variant:ident, |$versions:ident| $call:expr) => {{
            let (positions, $versions): (Vec<usize>, Vec<_>) = live
                .iter()
                .filter_map(|(i, item)| match item {
                    Item::$variant(v) => Some((*i, v.clone())),
                    _ => None,
                })
                .unzip();
            if !$versions.is_empty() {
                match $call.await {
                    Ok(_) => {}
                    Err(DirectoryError::Invalid(errors) | DirectoryError::Conflict(errors)) => {
                        return Err(Refused::Items(
                            errors
                                .into_iter()
                                .map(|e| {
                                    let at = index_of(&e.field).unwrap_or(0);
                                    let position = positions[at.min(positions.len() - 1)];
                                    (position, format!("{}: {}", e.field, e.message))
                                })
                                .collect(),
                        ))
                    }
                    Err(DirectoryError::Database(error)) => return Err(database(error)),
                    Err(DirectoryError::NotFound(_)) => {}
                }
            }
        }};
    }
    put!(Team, |versions| put_teams(&mut tx, &versions));
    put!(User, |versions| put_users(&mut tx, &versions, true));
    put!(Organisation, |versions| put_organisations(
        &mut tx, &versions
    ));
    put!(Person, |versions| put_people(
        &mut tx,
        &versions,
        true,
        References::MayComeLater
    ));
    for (i, item) in live {
        if let Item::Delete(kind, deletion) = item {
            match delete(&mut tx, *kind, deletion).await {
                Ok(_) => {}
                Err(DirectoryError::Invalid(errors) | DirectoryError::Conflict(errors)) => {
                    let reason = errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    return Err(Refused::Items(vec![(*i, reason)]));
                }
                Err(DirectoryError::Database(error)) => return Err(database(error)),
                Err(DirectoryError::NotFound(_)) => {}
            }
        }
    }
    tx.commit().await.map_err(database)
}

/// The batch position a field error names: `[3].email` → 3.
fn index_of(field: &str) -> Option<usize> {
    field.strip_prefix('[')?.split_once(']')?.0.parse().ok()
}
