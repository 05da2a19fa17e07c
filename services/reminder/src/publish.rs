//! Notifications → JetStream `NOTIFICATIONS`, subject `notifications.user.<user_id>`,
//! `Nats-Msg-Id` = the notification id.
//!
//! Unpublished rows (`published_at IS NULL`) are claimed a batch at a time with `FOR UPDATE
//! SKIP LOCKED`, published, and marked in the same transaction once JetStream acknowledged them;
//! if NATS is down the batch stays unpublished and the next pass retries it. A crash between
//! JetStream's ack and the commit republishes the batch: within the stream's duplicate window
//! JetStream drops the copies (same `Nats-Msg-Id`), and every message carries the notification
//! `id` so a consumer can drop older copies itself.

use std::time::Duration;

use async_nats::jetstream::{self, context::PublishAckFuture};
use futures::future::try_join_all;
use sqlx::PgPool;

use relance_shared::messages::Notification;
use relance_shared::nats::Names;
use relance_shared::telemetry::inject_trace_context;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("JetStream did not acknowledge: {0}")]
    NotAcknowledged(String),
}

pub struct Publisher {
    pub js: jetstream::Context,
    pub names: Names,
    pub timeout: Duration,
}

impl Publisher {
    /// Publishes one batch of unpublished notifications; returns how many (0: none left that
    /// another replica is not already publishing).
    pub async fn publish_batch(
        &self,
        pool: &PgPool,
        batch_size: i64,
    ) -> Result<usize, PublishError> {
        let mut tx = pool.begin().await?;
        let batch: Vec<Notification> = sqlx::query!(
            "SELECT id, user_id, kind, interaction_id, title, due_at, created_at \
             FROM notifications WHERE published_at IS NULL \
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
            batch_size
        )
        .map(|row| Notification {
            schema: Notification::SCHEMA,
            id: row.id,
            user_id: row.user_id,
            kind: row.kind,
            interaction_id: row.interaction_id,
            title: row.title,
            due_at: row.due_at,
            created_at: row.created_at,
        })
        .fetch_all(&mut *tx)
        .await?;
        if batch.is_empty() {
            return Ok(0);
        }
        match tokio::time::timeout(self.timeout, self.send(&batch)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error),
            Err(_) => {
                return Err(PublishError::NotAcknowledged(format!(
                    "no ack within {:?}",
                    self.timeout
                )))
            }
        }
        let ids: Vec<i64> = batch.iter().map(|n| n.id).collect();
        sqlx::query!(
            "UPDATE notifications SET published_at = now() WHERE id = ANY($1)",
            &ids
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(batch.len())
    }

    async fn send(&self, batch: &[Notification]) -> Result<(), PublishError> {
        let mut acks: Vec<PublishAckFuture> = Vec::with_capacity(batch.len());
        for notification in batch {
            let payload = serde_json::to_vec(notification)
                .map_err(|e| PublishError::NotAcknowledged(format!("encode: {e}")))?;
            let mut headers = async_nats::HeaderMap::new();
            inject_trace_context(&mut headers);
            headers.insert("Content-Type", "application/json");
            let message = jetstream::message::PublishMessage::build()
                .headers(headers)
                .message_id(notification.id.to_string())
                .payload(payload.into());
            let ack = self
                .js
                .send_publish(
                    self.names.notification_subject(notification.user_id),
                    message,
                )
                .await
                .map_err(|e| PublishError::NotAcknowledged(e.to_string()))?;
            acks.push(ack);
        }
        try_join_all(acks.into_iter().map(std::future::IntoFuture::into_future))
            .await
            .map_err(|e| PublishError::NotAcknowledged(e.to_string()))?;
        Ok(())
    }
}

/// Notifications JetStream has not acknowledged yet (the backlog gauge).
pub async fn unpublished(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "unpublished!" FROM notifications WHERE published_at IS NULL"#
    )
    .fetch_one(pool)
    .await
}
