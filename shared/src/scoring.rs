//! The lead-scoring rules: how much one email event moves the recipient's score.
//!
//! The defaults (first open +3, later opens +1, first click +8, later clicks +2, bounce −10,
//! everything else 0) are in `config/default.toml` under `scoring.rules`.
//! The floor at 0 is applied where the score is stored ([`apply_floor`]), since it depends on
//! the current score, not on the event.

use serde::{Deserialize, Serialize};

use crate::event::EventKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// A score reaching this (`>=`) makes the person a hot lead: scoring then creates one
    /// "Lead chaud : <name>" interaction for their owner (see [`HotLeadTracker`]).
    pub hot_threshold: i32,
    /// Hysteresis: after a crossing, the score must fall below this mark before another
    /// crossing counts, so a score jittering around the threshold does not flood the inbox.
    pub hot_rearm_below: i32,
    /// The web app's heat levels: 🔥🔥 from here (🔥 from `hot_threshold`)...
    pub heat_hot: i32,
    /// ... and 🔥🔥🔥 from here.
    pub heat_very_hot: i32,
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

/// The hot-lead state of one person while their score changes: armed until a crossing fires,
/// re-armed once the score is below `hot_rearm_below`. A score that is already low when
/// scoring next sees it (after the reminder's decay, say) re-arms too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotLeadTracker {
    threshold: i32,
    rearm_below: i32,
    armed: bool,
    score: i32,
}

impl HotLeadTracker {
    pub fn new(rules: &ScoringRules, score: i32, armed: bool) -> Self {
        Self {
            threshold: rules.hot_threshold,
            rearm_below: rules.hot_rearm_below,
            armed: armed || score < rules.hot_rearm_below,
            score,
        }
    }

    /// Moves the score to `score`; true when this move crosses up through the threshold while
    /// armed (a new hot lead).
    pub fn move_to(&mut self, score: i32) -> bool {
        let crossed = self.armed && self.score < self.threshold && score >= self.threshold;
        if crossed {
            self.armed = false;
        } else if score < self.rearm_below {
            self.armed = true;
        }
        self.score = score;
        crossed
    }

    pub fn armed(&self) -> bool {
        self.armed
    }
}

/// A score never goes below 0. Saturating, so an absurd configured delta cannot overflow.
pub fn apply_floor(score: i32, delta: i32) -> i32 {
    score.saturating_add(delta).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn crossings(start: i32, armed: bool, path: &[i32]) -> usize {
        let mut tracker = HotLeadTracker::new(&ScoringRules::default(), start, armed);
        path.iter().filter(|&&s| tracker.move_to(s)).count()
    }

    #[test]
    fn hot_lead_crossings_table() {
        // Threshold 15, re-armed below 10.
        let table: [(i32, bool, &[i32], usize); 9] = [
            (0, true, &[3, 11, 19], 1),                   // one crossing
            (14, true, &[15], 1),                         // reaching the threshold counts
            (16, true, &[20, 30], 0),                     // already above: no crossing
            (14, true, &[16, 14, 16, 12, 18, 10, 15], 1), // jitter inside the band
            (14, true, &[16, 9, 16], 2),                  // fell below the mark: re-armed
            (20, false, &[9, 16], 1),                     // decayed below the mark, then up
            (12, false, &[16], 0),                        // disarmed, never below the mark
            (5, false, &[16], 1),                         // starts below the mark: armed
            (0, true, &[15, 0, 15, 0, 15], 3),            // each full swing counts
        ];
        for (start, armed, path, expected) in table {
            assert_eq!(
                crossings(start, armed, path),
                expected,
                "{start} {armed} {path:?}"
            );
        }
    }

    proptest! {
        /// Between two crossings the score always went below the re-arm mark; scores that stay
        /// at or above the mark after a crossing never cross again.
        #[test]
        fn hot_lead_needs_a_fall_below_the_mark(path in proptest::collection::vec(0i32..40, 1..60)) {
            let rules = ScoringRules::default();
            let mut tracker = HotLeadTracker::new(&rules, 0, true);
            let mut fell_below_since_last = true;
            for score in path {
                let crossed = tracker.move_to(score);
                if crossed {
                    prop_assert!(fell_below_since_last);
                    prop_assert!(score >= rules.hot_threshold);
                    fell_below_since_last = false;
                } else if score < rules.hot_rearm_below {
                    fell_below_since_last = true;
                }
            }
        }
    }
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
