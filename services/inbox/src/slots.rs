//! What one user may hold at once, so one user cannot take what everyone shares: live streams
//! (each a JetStream consumer, `inbox.max_streams_per_user`), CSV exports (each reading the
//! database for as long as its client downloads, `inbox.max_exports_per_user`) and searches
//! (the costliest reads, `inbox.max_searches_per_user`). One more is a 429 with `Retry-After`,
//! counted in `http_requests_refused_total{reason}`; a search first waits its turn a little
//! ([`Searches`]), since the web app asks for a page and its stats at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use relance_shared::http::ApiError;

pub struct UserSlots {
    pub max: usize,
    /// The refusal's reason in the metric.
    reason: &'static str,
    by_user: Mutex<HashMap<i64, usize>>,
    /// Woken when a slot is given back, for those waiting their turn.
    freed: Notify,
}

impl UserSlots {
    pub fn new(max: usize, reason: &'static str) -> Self {
        Self {
            max,
            reason,
            by_user: Mutex::new(HashMap::new()),
            freed: Notify::new(),
        }
    }

    /// A slot for one more of `user`'s, freed when dropped; `None` at the limit.
    pub fn take(self: &Arc<Self>, user: i64) -> Option<UserSlot> {
        let slot = self.try_take(user);
        if slot.is_none() {
            self.refused();
        }
        slot
    }

    /// As [`Self::take`], waiting up to `wait` for one of `user`'s slots to be given back.
    pub async fn take_within(self: &Arc<Self>, user: i64, wait: Duration) -> Option<UserSlot> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before the attempt, so a slot given back in between still wakes us.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(slot) = self.try_take(user) {
                return Some(slot);
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                self.refused();
                return None;
            }
        }
    }

    fn try_take(self: &Arc<Self>, user: i64) -> Option<UserSlot> {
        let mut by_user = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        let held = by_user.entry(user).or_insert(0);
        if *held >= self.max {
            return None;
        }
        *held += 1;
        Some(UserSlot {
            slots: self.clone(),
            user,
        })
    }

    fn refused(&self) {
        metrics::counter!("http_requests_refused_total", "reason" => self.reason).increment(1);
    }
}

/// One user's searches at once (`inbox.max_searches_per_user`): a search waits its turn up to
/// `inbox.search_wait_ms`, then is a 429. A search that waits holds no database connection.
#[derive(Clone)]
pub struct Searches {
    pub slots: Arc<UserSlots>,
    pub wait: Duration,
}

impl Searches {
    pub fn new(max: usize, wait: Duration) -> Self {
        Self {
            slots: Arc::new(UserSlots::new(max, "searches_per_user")),
            wait,
        }
    }

    /// `user`'s turn for a search with `words` (`None`, and no wait, without any).
    pub async fn turn(&self, user: i64, words: &[String]) -> Result<Option<SearchTurn>, ApiError> {
        if words.is_empty() {
            return Ok(None);
        }
        match self.slots.take_within(user, self.wait).await {
            Some(slot) => Ok(Some(SearchTurn {
                slot: Some(slot),
                started: std::time::Instant::now(),
            })),
            None => Err(ApiError::TooManyRequests {
                detail: format!(
                    "at most {} searches at once per user: wait for one to finish",
                    self.slots.max
                ),
                retry_after_secs: 2,
            }),
        }
    }
}

pub struct UserSlot {
    slots: Arc<UserSlots>,
    user: i64,
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut by_user = self
            .slots
            .by_user
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = by_user.get_mut(&self.user) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                by_user.remove(&self.user);
            }
        }
        drop(by_user);
        self.slots.freed.notify_waiters();
    }
}

/// A search's turn. A costly search gives it back only after as long again as it ran (up to
/// [`SearchTurn::MAX_REST`]): one user's searches then use at most half of one core, whatever
/// they ask, while a cheap search (the usual few milliseconds) gives it back at once.
pub struct SearchTurn {
    slot: Option<UserSlot>,
    started: std::time::Instant,
}

impl SearchTurn {
    /// Below this, a search is cheap: its turn is given back at once.
    pub const COSTLY: Duration = Duration::from_millis(50);
    pub const MAX_REST: Duration = Duration::from_secs(5);
}

impl Drop for SearchTurn {
    fn drop(&mut self) {
        let ran = self.started.elapsed();
        let Some(slot) = self.slot.take() else {
            return;
        };
        if ran < Self::COSTLY {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tokio::time::sleep(ran.min(Self::MAX_REST)).await;
                drop(slot);
            });
        }
    }
}
