//! `GET /api/v1/stream`: the live inbox as Server-Sent Events, for the signed-in user.
//!
//! Events, each with `id:` = its sequence in the `LIVE` stream (interaction changes and
//! notifications, sourced into one stream so one number orders both):
//! - `ready` (first, when the client is in sync): `{"last_event_id": n}`, carrying the id the
//!   client resumes from, so even a client that has seen no event yet has an id to send back;
//! - `interaction`: `{"change", "interaction_id", "interaction"}`, `interaction` being the
//!   interaction's state when the event is sent (the API's `Interaction`), or `null` once
//!   deleted. Only changes of items in the viewer's scope (`crate::scope`, as it is when the
//!   event is sent) are sent;
//! - `removed`: `{"type": "removed", "id"}`, once, when an item in the viewer's scope leaves it
//!   (reassigned to someone they do not see);
//! - `notification`: one of the user's notifications, as the reminder published it; other
//!   users' notifications are not sent;
//! - `reset` (first, instead of `ready`): the `Last-Event-ID` sent is older than the stream
//!   keeps (`nats.live_retention_hours`) or from another stream's life; the client must refetch,
//!   then carry on from the id of this event.
//!
//! A client reconnecting with `Last-Event-ID: n` gets every event after `n`, in order, once.
//! A comment line every `inbox.live_heartbeat_secs` keeps proxies from closing an idle stream.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use async_nats::jetstream::consumer::{push, DeliverPolicy};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{SinkExt, Stream, StreamExt};
use serde_json::json;
use tracing::Instrument;

use relance_shared::http::openapi::{Forbidden, Invalid, TooMany, Unauthorized, Unavailable};
use relance_shared::http::{ApiError, FieldError};

use crate::auth::CurrentUser;
use crate::interactions::Interaction;
use crate::scope::Scope;
use relance_shared::messages::{Change, InteractionChanged};

/// Messages read (and interactions fetched in one query) at most per step.
const CHUNK: usize = 256;

/// Where a connection starts reading, given the client's `Last-Event-ID` and the stream's
/// first and last sequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// In sync: read from `after + 1`.
    Resume { after: u64 },
    /// The gap is gone (aged out) or the id is from elsewhere: refetch, then read from
    /// `after + 1`.
    Reset { after: u64 },
}

pub fn start_for(last_event_id: Option<u64>, first_seq: u64, last_seq: u64) -> Start {
    match last_event_id {
        None => Start::Resume { after: last_seq },
        // Ids ahead of the stream come from a stream since recreated.
        Some(id) if id > last_seq => Start::Reset { after: last_seq },
        // Messages id+1 .. first_seq-1 are gone.
        Some(id) if id.saturating_add(1) < first_seq => Start::Reset { after: last_seq },
        Some(id) => Start::Resume { after: id },
    }
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<u64>().map(Some).map_err(|_| {
        ApiError::Validation(vec![FieldError::new(
            "Last-Event-ID",
            "must be an event id this stream sent (a sequence number)",
        )])
    })
}

#[utoipa::path(get, path = "/api/v1/stream", tag = "live",
    params(("Last-Event-ID" = Option<u64>, Header,
        description = "The id of the last event received; the stream resumes after it")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Server-Sent Events: ready, interaction, notification, reset",
            content_type = "text/event-stream", body = String),
        Unauthorized,
        Forbidden,
        Invalid,
        TooMany,
        Unavailable,
    ))]
pub async fn stream(
    State(live): State<Live>,
    user: CurrentUser,
    headers: HeaderMap,
) -> Result<
    (
        [(&'static str, &'static str); 1],
        Sse<impl Stream<Item = Result<Event, Infallible>>>,
    ),
    ApiError,
> {
    let last_event_id = last_event_id(&headers)?;
    // Each stream is a JetStream consumer: a user (tabs, devices) holds a few, not hundreds.
    let slot = live
        .streams
        .take(user.id)
        .ok_or_else(|| ApiError::TooManyRequests {
            detail: format!(
                "at most {} live streams per user: close one (another tab?)",
                live.streams.max
            ),
            retry_after_secs: 5,
        })?;
    let (start, messages) = open_consumer(&live, last_event_id).await?;
    let after = start.after();
    let first = start.first_event();
    metrics::gauge!("inbox_live_connections").increment(1.0);
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Event, Infallible>>(CHUNK);
    let pool = live.pool.clone();
    let names = live.names.clone();
    let callers = live.callers.clone();
    let user_id = user.id;
    let closing = live.closing.clone();
    let heartbeat = live.heartbeat;
    let span = tracing::info_span!("inbox.live", user_id, after);
    tokio::spawn(
        async move {
            let _connected = ConnectionGauge;
            let _slot = slot;
            if tx.send(Ok(first)).await.is_err() {
                return;
            }
            let mut chunks = messages.ready_chunks(CHUNK);
            // A client that left is only noticed on the next send; when the feed is quiet, check
            // every heartbeat so its consumer does not linger.
            let mut check = tokio::time::interval(heartbeat);
            loop {
                let chunk = tokio::select! {
                    _ = closing.cancelled() => return,
                    _ = check.tick() => {
                        if tx.is_closed() {
                            return;
                        }
                        continue;
                    }
                    chunk = chunks.next() => match chunk {
                        Some(chunk) => chunk,
                        None => return,
                    },
                };
                let mut batch = Vec::with_capacity(chunk.len());
                for message in chunk {
                    match message {
                        Ok(message) => batch.push(message),
                        // The ordered consumer could not recover: end the stream, the client
                        // reconnects with its Last-Event-ID and loses nothing.
                        Err(error) => {
                            tracing::warn!(%error, "live stream interrupted");
                            return;
                        }
                    }
                }
                // The scope as it is now: a reassignment or a team change counts at once, a
                // deactivation ends the stream.
                let caller = match callers.get(&pool, user_id).await {
                    Ok(Some(caller)) => caller,
                    Ok(None) => return,
                    Err(error) => {
                        tracing::warn!(%error, "live viewer not read; closing the stream");
                        return;
                    }
                };
                let events = match to_events(&pool, &names, user_id, &caller.scope, &batch).await {
                    Ok(events) => events,
                    Err(error) => {
                        tracing::warn!(%error, "live events not built; closing the stream");
                        return;
                    }
                };
                for event in events {
                    if tx.send(Ok(event)).await.is_err() {
                        return; // the client left
                    }
                }
            }
        }
        .instrument(span),
    );
    // nginx (the Kubernetes ingress) would otherwise buffer the stream and deliver events late.
    let headers = [("x-accel-buffering", "no")];
    let heartbeat = KeepAlive::new().interval(live.heartbeat).text("heartbeat");
    Ok((headers, Sse::new(rx).keep_alive(heartbeat)))
}

impl Start {
    /// The last event the client has (or will be told it has).
    fn after(self) -> u64 {
        match self {
            Start::Resume { after } | Start::Reset { after } => after,
        }
    }

    /// The stream's first event: `ready` when nothing was missed, `reset` when missed events
    /// are gone (the client then reloads).
    fn first_event(self) -> Event {
        match self {
            Start::Resume { after } => Event::default()
                .event("ready")
                .id(after.to_string())
                .data(json!({ "last_event_id": after }).to_string()),
            Start::Reset { after } => Event::default().event("reset").id(after.to_string()).data(
                json!({ "last_event_id": after, "reason": "missed events are no longer kept" })
                    .to_string(),
            ),
        }
    }
}

/// An ordered consumer of the live stream from where the client left off.
async fn open_consumer(
    live: &Live,
    last_event_id: Option<u64>,
) -> Result<(Start, push::Ordered), ApiError> {
    let unavailable = |_| ApiError::Unavailable("the live stream is not available");
    let stream = live
        .js
        .get_stream(live.names.live_stream())
        .await
        .map_err(unavailable)?;
    let info = stream
        .get_info()
        .await
        .map_err(|_| ApiError::Unavailable("the live stream is not available"))?;
    let start = start_for(
        last_event_id,
        info.state.first_sequence,
        info.state.last_sequence,
    );
    let consumer = stream
        .create_consumer(push::OrderedConfig {
            deliver_subject: live.client.new_inbox(),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: start.after() + 1,
            },
            ..Default::default()
        })
        .await
        .map_err(|_| ApiError::Unavailable("the live stream is not available"))?;
    let messages = consumer
        .messages()
        .await
        .map_err(|_| ApiError::Unavailable("the live stream is not available"))?;
    Ok((start, messages))
}

/// Decrements the connection gauge when the connection's task ends.
struct ConnectionGauge;

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        metrics::gauge!("inbox_live_connections").decrement(1.0);
    }
}

/// One SSE event per message for this user and in `scope`, interactions fetched in one query.
async fn to_events(
    pool: &sqlx::PgPool,
    names: &relance_shared::nats::Names,
    user_id: i64,
    scope: &Scope,
    batch: &[async_nats::jetstream::Message],
) -> Result<Vec<Event>, sqlx::Error> {
    let ids: Vec<i64> = batch
        .iter()
        .filter_map(|m| names.interaction_of_subject(m.subject.as_str()))
        .collect();
    let current: HashMap<i64, Interaction> = if ids.is_empty() {
        HashMap::new()
    } else {
        crate::interactions::get_many(pool, &ids).await?
    };
    let mut events = Vec::with_capacity(batch.len());
    for message in batch {
        let Ok(info) = message.info() else { continue };
        let id = info.stream_sequence.to_string();
        let subject = message.subject.as_str();
        if let Some(interaction_id) = names.interaction_of_subject(subject) {
            let changed = serde_json::from_slice::<InteractionChanged>(&message.payload).ok();
            let change = changed.as_ref().map_or(Change::Updated, |c| c.change);
            let before = changed.as_ref().and_then(|c| c.previous_assignee_id);
            let now = current.get(&interaction_id);
            let seen_before = change != Change::Created && scope.contains(before);
            let seen_now = match now {
                Some(interaction) => scope.contains(interaction.assignee_id),
                None => seen_before,
            };
            if !seen_now {
                if seen_before {
                    let data = json!({"type": "removed", "id": interaction_id});
                    events.push(
                        Event::default()
                            .event("removed")
                            .id(id)
                            .data(data.to_string()),
                    );
                }
                continue;
            }
            let data = json!({
                "change": change,
                "interaction_id": interaction_id,
                "interaction": current.get(&interaction_id),
            });
            events.push(
                Event::default()
                    .event("interaction")
                    .id(id)
                    .data(data.to_string()),
            );
        } else if names.user_of_notification_subject(subject) == Some(user_id) {
            let data = String::from_utf8_lossy(&message.payload).into_owned();
            events.push(Event::default().event("notification").id(id).data(data));
        }
    }
    Ok(events)
}

/// What the SSE route needs: NATS, the stream names, the heartbeat period, and the pool the
/// interactions' current states are read from. Cheap to clone (handles only).
#[derive(Clone)]
pub struct Live {
    pub pool: sqlx::PgPool,
    pub client: async_nats::Client,
    pub js: async_nats::jetstream::Context,
    pub names: relance_shared::nats::Names,
    pub heartbeat: Duration,
    /// The streams each user holds, bounded.
    /// The live streams each user holds open, bounded by `inbox.max_streams_per_user`.
    pub streams: std::sync::Arc<crate::slots::UserSlots>,
    /// Cancelled when the server shuts down: every stream ends (clients reconnect elsewhere
    /// with their Last-Event-ID).
    pub closing: tokio_util::sync::CancellationToken,
    /// The viewers' scopes.
    pub callers: std::sync::Arc<crate::scope::Callers>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_a_connection_starts() {
        // (last event id, first seq, last seq) → start
        let table = [
            (None, 1, 10, Start::Resume { after: 10 }),
            (Some(10), 1, 10, Start::Resume { after: 10 }),
            (Some(4), 1, 10, Start::Resume { after: 4 }),
            (Some(4), 5, 10, Start::Resume { after: 4 }),
            (Some(3), 5, 10, Start::Reset { after: 10 }),
            (Some(11), 1, 10, Start::Reset { after: 10 }),
            (Some(0), 0, 0, Start::Resume { after: 0 }),
            (Some(7), 8, 7, Start::Resume { after: 7 }), // everything aged out, nothing missed
            (Some(6), 8, 7, Start::Reset { after: 7 }),
        ];
        for (id, first, last, expected) in table {
            assert_eq!(
                start_for(id, first, last),
                expected,
                "{id:?} {first} {last}"
            );
        }
    }
}
