//! The lead-scoring rules: how much one email event moves the recipient's score.
//!
//! The defaults are the design's (first open +3, later opens +1, first click +8, later clicks
//! +2, bounce −10, everything else 0) and can be changed under `scoring.rules` in the config.
//! The floor at 0 is applied where the score is stored ([`apply_floor`]), since it depends on
//! the current score, not on the event.

use serde::{Deserialize, Serialize};

use crate::event::EventKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScoringRules {
    pub first_open: i32,
    pub later_open: i32,
    pub first_click: i32,
    pub later_click: i32,
    pub bounce: i32,
    pub sent: i32,
    pub delivered: i32,
    pub complained: i32,
    pub unsubscribed: i32,
}

impl Default for ScoringRules {
    fn default() -> Self {
        Self {
            first_open: 3,
            later_open: 1,
            first_click: 8,
            later_click: 2,
            bounce: -10,
            sent: 0,
            delivered: 0,
            complained: 0,
            unsubscribed: 0,
        }
    }
}

/// Why a score moved; stored in the score history so every score can be explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreReason {
    FirstOpen,
    LaterOpen,
    FirstClick,
    LaterClick,
    Bounce,
    Sent,
    Delivered,
    Complained,
    Unsubscribed,
}

impl ScoreReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreReason::FirstOpen => "first_open",
            ScoreReason::LaterOpen => "later_open",
            ScoreReason::FirstClick => "first_click",
            ScoreReason::LaterClick => "later_click",
            ScoreReason::Bounce => "bounce",
            ScoreReason::Sent => "sent",
            ScoreReason::Delivered => "delivered",
            ScoreReason::Complained => "complained",
            ScoreReason::Unsubscribed => "unsubscribed",
        }
    }
}

/// What one event does to the score, before the floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreChange {
    pub delta: i32,
    pub reason: ScoreReason,
}

impl ScoringRules {
    /// The change for `kind`, where `first_of_kind` says whether this is the send's first event
    /// of that kind (its first open, its first click). Order-independent by construction: a
    /// send with n opens always totals `first_open + (n-1) * later_open`.
    pub fn change_for(&self, kind: EventKind, first_of_kind: bool) -> ScoreChange {
        let (delta, reason) = match (kind, first_of_kind) {
            (EventKind::Opened, true) => (self.first_open, ScoreReason::FirstOpen),
            (EventKind::Opened, false) => (self.later_open, ScoreReason::LaterOpen),
            (EventKind::Clicked, true) => (self.first_click, ScoreReason::FirstClick),
            (EventKind::Clicked, false) => (self.later_click, ScoreReason::LaterClick),
            (EventKind::Bounced, _) => (self.bounce, ScoreReason::Bounce),
            (EventKind::Sent, _) => (self.sent, ScoreReason::Sent),
            (EventKind::Delivered, _) => (self.delivered, ScoreReason::Delivered),
            (EventKind::Complained, _) => (self.complained, ScoreReason::Complained),
            (EventKind::Unsubscribed, _) => (self.unsubscribed, ScoreReason::Unsubscribed),
        };
        ScoreChange { delta, reason }
    }
}

/// A score never goes below 0. Saturating, so an absurd configured delta cannot overflow.
pub fn apply_floor(score: i32, delta: i32) -> i32 {
    score.saturating_add(delta).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventKind::*;

    #[test]
    fn default_rules_table() {
        let rules = ScoringRules::default();
        let table = [
            (Opened, true, 3, ScoreReason::FirstOpen),
            (Opened, false, 1, ScoreReason::LaterOpen),
            (Clicked, true, 8, ScoreReason::FirstClick),
            (Clicked, false, 2, ScoreReason::LaterClick),
            (Bounced, true, -10, ScoreReason::Bounce),
            (Bounced, false, -10, ScoreReason::Bounce),
            (Sent, true, 0, ScoreReason::Sent),
            (Delivered, true, 0, ScoreReason::Delivered),
            (Complained, true, 0, ScoreReason::Complained),
            (Unsubscribed, true, 0, ScoreReason::Unsubscribed),
        ];
        for (kind, first, delta, reason) in table {
            assert_eq!(
                rules.change_for(kind, first),
                ScoreChange { delta, reason },
                "{kind:?} first={first}"
            );
        }
    }

    #[test]
    fn floor_table() {
        for (score, delta, expected) in [
            (0, -10, 0),
            (5, -10, 0),
            (10, -10, 0),
            (11, -10, 1),
            (0, 3, 3),
            (7, 8, 15),
            (i32::MAX, 5, i32::MAX),
            (0, i32::MIN, 0),
        ] {
            assert_eq!(apply_floor(score, delta), expected, "{score} + {delta}");
        }
    }

    #[test]
    fn configured_rules_are_used() {
        let rules = ScoringRules {
            first_open: 5,
            bounce: -1,
            ..ScoringRules::default()
        };
        assert_eq!(rules.change_for(Opened, true).delta, 5);
        assert_eq!(rules.change_for(Bounced, false).delta, -1);
    }
}
