//! The outbox relay: publishes the interaction changes PostgreSQL captured (docs/schema.sql's
//! triggers write `interaction_changes` in the same transaction as the change) to JetStream as
//! `interactions.changed.<id>`, then deletes them. A change is deleted only after JetStream has
//! acknowledged it, so a crash anywhere republishes instead of losing; the republish carries
//! the same `Nats-Msg-Id` (row id and capture time), which JetStream drops inside its duplicate
//! window.
//!
//! Once a batch is published, and before it is deleted, it refreshes the search index's words
//! of those interactions (`search::index`), which keeps that index off the writers'
//! transactions.
//!
//! After each wake-up it also tells assignees what others changed of their items
//! ([`assignee_notices`]), off the writers' transactions too.
//!
//! Every inbox replica runs the relay; a transaction-scoped advisory lock lets one of them work
//! at a time, which keeps the stream in capture order.

use std::time::Duration;

use async_nats::jetstream;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use relance_shared::messages::{Change, InteractionChanged};
use relance_shared::nats::Names;
use relance_shared::telemetry::inject_trace_context;

use super::assignee_notices;

/// `pg_advisory_xact_lock` key of the relay ("relay" in ASCII).
const RELAY_LOCK: i64 = 0x72_65_6c_61_79;
/// Changes published per transaction.
const BATCH: i64 = 500;
/// The channel the capture trigger notifies at commit.
const CHANNEL: &str = "interaction_changes";

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("publish: {0}")]
    Publish(#[from] jetstream::context::PublishError),
    #[error("encode: {0}")]
    Encode(#[from] serde_json::Error),
}

struct ChangeRow {
    id: i64,
    interaction_id: i64,
    change: String,
    changed_at: DateTime<Utc>,
    previous_assignee_id: Option<i64>,
}

/// Publishes one batch of captured changes; returns how many (0 when another replica holds the
/// relay lock or nothing is waiting).
pub async fn relay_batch(
    pool: &PgPool,
    js: &jetstream::Context,
    names: &Names,
) -> Result<usize, RelayError> {
    let mut tx = pool.begin().await?;
    let locked = sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_xact_lock($1) AS "locked!""#,
        RELAY_LOCK
    )
    .fetch_one(&mut *tx)
    .await?;
    if !locked {
        return Ok(0);
    }
    let rows = sqlx::query_as!(
        ChangeRow,
        "SELECT id, interaction_id, change, changed_at, previous_assignee_id FROM interaction_changes \
         ORDER BY id LIMIT $1",
        BATCH
    )
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let span = tracing::info_span!("inbox.relay", changes = rows.len());
    async {
        let mut acks = Vec::with_capacity(rows.len());
        for row in &rows {
            let message = InteractionChanged {
                schema: InteractionChanged::SCHEMA,
                change_id: row.id,
                interaction_id: row.interaction_id,
                change: match row.change.as_str() {
                    "created" => Change::Created,
                    "deleted" => Change::Deleted,
                    _ => Change::Updated,
                },
                changed_at: row.changed_at,
                previous_assignee_id: row.previous_assignee_id,
            };
            let mut headers = async_nats::HeaderMap::new();
            // The row id alone would collide with another database's rows (a restored or
            // recreated one) inside the duplicate window and be dropped: the capture time
            // makes it unique, and stays the same when this row is republished.
            headers.insert("Nats-Msg-Id", message.message_id().as_str());
            inject_trace_context(&mut headers);
            acks.push(
                js.publish_with_headers(
                    names.interaction_changed_subject(row.interaction_id),
                    headers,
                    serde_json::to_vec(&message)?.into(),
                )
                .await?,
            );
        }
        for ack in acks {
            ack.await?;
        }
        Ok::<_, RelayError>(())
    }
    .instrument(span)
    .await?;
    // Then the search index (its own short transaction), before the changes are deleted: it
    // reads the tables as committed, so a change relayed twice only refreshes twice. After
    // the publish, so the live stream does not wait for it.
    let mut changed: Vec<i64> = rows.iter().map(|r| r.interaction_id).collect();
    changed.sort_unstable();
    changed.dedup();
    crate::search::index::refresh_now(pool, &changed)
        .instrument(tracing::info_span!(
            "inbox.search_index",
            interactions = changed.len()
        ))
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    sqlx::query!("DELETE FROM interaction_changes WHERE id = ANY($1)", &ids)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    metrics::counter!("inbox_interaction_changes_relayed_total").increment(ids.len() as u64);
    Ok(ids.len())
}

/// Relays until `stop`: woken by the trigger's NOTIFY at each commit (heard on a connection of
/// `listeners`), and every second anyway (a missed notification, another replica's lock, or a
/// failure only delays).
pub async fn relay_forever(
    (pool, listeners): (PgPool, PgPool),
    js: jetstream::Context,
    names: Names,
    stop: CancellationToken,
) {
    let mut listener: Option<PgListener> = None;
    loop {
        if stop.is_cancelled() {
            return;
        }
        let relayed = match relay_batch(&pool, &js, &names).await {
            Ok(n) if n as i64 == BATCH => false,
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(%error, "interaction changes not relayed yet; retrying");
                true
            }
        };
        // The same commit that wakes the relay marks the assignees to tell.
        let told = match assignee_notices::tell_assignees(&pool)
            .instrument(tracing::info_span!("inbox.assignee_notices"))
            .await
        {
            Ok(n) if n as i64 == assignee_notices::BATCH => false,
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(%error, "assignees not told yet; retrying");
                true
            }
        };
        let waiting = relayed && told;
        if !waiting {
            continue;
        }
        if listener.is_none() {
            listener = match PgListener::connect_with(&listeners).await {
                Ok(mut l) => match l.listen(CHANNEL).await {
                    Ok(()) => Some(l),
                    Err(_) => None,
                },
                Err(_) => None,
            };
        }
        let wake = async {
            match listener.as_mut() {
                Some(l) => {
                    if l.recv().await.is_err() {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                None => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::timeout(Duration::from_secs(1), wake) => {}
        }
    }
}
