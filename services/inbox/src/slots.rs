//! What one user may hold at once, so one user cannot take what everyone shares: live streams
//! (each a JetStream consumer, `inbox.max_streams_per_user`) and CSV exports (each reading the
//! database for as long as its client downloads, `inbox.max_exports_per_user`). One more is a
//! 429 with `Retry-After`, counted in `http_requests_refused_total{reason}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

pub struct UserSlots {
    pub max: usize,
    /// The refusal's reason in the metric.
    reason: &'static str,
    by_user: Mutex<HashMap<i64, usize>>,
}

impl UserSlots {
    pub fn new(max: usize, reason: &'static str) -> Self {
        Self {
            max,
            reason,
            by_user: Mutex::new(HashMap::new()),
        }
    }

    /// A slot for one more of `user`'s, freed when dropped; `None` at the limit.
    pub fn take(self: &Arc<Self>, user: i64) -> Option<UserSlot> {
        let mut by_user = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        let held = by_user.entry(user).or_insert(0);
        if *held >= self.max {
            metrics::counter!("http_requests_refused_total", "reason" => self.reason).increment(1);
            return None;
        }
        *held += 1;
        Some(UserSlot {
            slots: self.clone(),
            user,
        })
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
    }
}
