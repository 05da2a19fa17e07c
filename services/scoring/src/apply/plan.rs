//! The batch's arithmetic, with no database: what each event decides once its person is
//! resolved, one upsert per send folding all of the batch's events of that send, the score
//! changes once the sends' counters are known, and the per-person fold of those changes.
//! [`super::sql`] runs the statements these feed.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use relance_shared::event::{EmailEvent, EventKind};
use relance_shared::scoring::{apply_floor, HotLeadTracker, ScoreReason, ScoringRules};

/// A person as scoring needs them: their id and organisation.
pub type Person = (i64, Option<i64>);

/// What the database says about one event's references (see [`super::sql::claim_and_resolve`]).
#[derive(Debug, Clone)]
pub struct Resolution {
    pub person: Option<Person>,
    pub organisation_known: bool,
    pub send_erased: bool,
    /// The recipient's address was erased (only looked at when no person was found).
    pub address_erased: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Can never apply: the key is released and the event goes to the DLQ.
    Poison(String),
    /// An erased person's send takes no more events, and an event for an erased address
    /// that names nobody identifies nobody: acknowledged, nothing written.
    Erased,
    Live(Option<Person>),
}

/// The checks in the order they have always run: an unknown person id first, then erasure,
/// then an unknown organisation.
pub fn decide(event: &EmailEvent, resolution: &Resolution) -> Decision {
    if let (Some(id), None) = (event.person_id, resolution.person) {
        return Decision::Poison(format!("unknown person_id {id}"));
    }
    if resolution.send_erased || (resolution.person.is_none() && resolution.address_erased) {
        return Decision::Erased;
    }
    if let (Some(org), false) = (event.organisation_id, resolution.organisation_known) {
        return Decision::Poison(format!("unknown organisation_id {org}"));
    }
    Decision::Live(resolution.person)
}

/// An open by a human (machine opens are counted apart and never scored).
pub fn human_open(event: &EmailEvent) -> bool {
    event.event == EventKind::Opened && !event.machine_open
}

/// The status an event proves; events that prove none give the lowest, which changes nothing.
pub fn status_of(event: &EmailEvent) -> &'static str {
    match event.event {
        EventKind::Delivered => "delivered",
        EventKind::Opened if !event.machine_open => "opened",
        EventKind::Clicked => "clicked",
        EventKind::Bounced => "bounced",
        _ => "sent",
    }
}

fn status_rank(status: &str) -> u8 {
    match status {
        "delivered" => 1,
        "opened" => 2,
        "clicked" => 3,
        "bounced" => 4,
        _ => 0,
    }
}

/// Whether events of this kind can move a score under these rules (first or later): the
/// people of sends with such events have their score rows locked before the fold.
pub fn may_score(event: &EmailEvent, rules: &ScoringRules) -> bool {
    if event.event == EventKind::Opened && event.machine_open {
        return false;
    }
    rules.change_for(event.event, true).delta != 0
        || rules.change_for(event.event, false).delta != 0
}

/// One live event of the batch with what it resolved to.
#[derive(Debug, Clone, Copy)]
pub struct LiveEvent<'a> {
    pub event: &'a EmailEvent,
    pub person: Option<Person>,
}

/// A send's events of one batch, in (occurred_at, event_key) order: the order their first
/// open, first click and score changes are decided in.
#[derive(Debug)]
pub struct SendGroup<'a> {
    pub provider: &'a str,
    pub external_id: &'a str,
    pub events: Vec<LiveEvent<'a>>,
}

/// Groups the live events by send, the sends in (provider, external_id) order: the order
/// their rows are locked in, the same in every replica.
pub fn group_by_send<'a>(live: Vec<LiveEvent<'a>>) -> Vec<SendGroup<'a>> {
    let mut groups: BTreeMap<(&'a str, &'a str), Vec<LiveEvent<'a>>> = BTreeMap::new();
    for item in live {
        groups
            .entry((
                item.event.provider.as_str(),
                item.event.external_id.as_str(),
            ))
            .or_default()
            .push(item);
    }
    groups
        .into_iter()
        .map(|((provider, external_id), mut events)| {
            events.sort_by(|a, b| {
                (a.event.occurred_at, &a.event.event_key)
                    .cmp(&(b.event.occurred_at, &b.event.event_key))
            });
            SendGroup {
                provider,
                external_id,
                events,
            }
        })
        .collect()
}

/// The batch's sends as the columns of one `INSERT … ON CONFLICT DO UPDATE` (see
/// [`super::sql::upsert_sends_and_lock_scores`]): per send, the fold of its events.
#[derive(Debug, Default)]
pub struct SendUpserts {
    pub provider: Vec<String>,
    pub external_id: Vec<String>,
    pub person_id: Vec<Option<i64>>,
    pub organisation_id: Vec<Option<i64>>,
    pub subject: Vec<Option<String>>,
    pub recipient: Vec<Option<String>>,
    pub status: Vec<&'static str>,
    pub sent_at: Vec<Option<DateTime<Utc>>>,
    pub delivered_at: Vec<Option<DateTime<Utc>>>,
    pub open_count: Vec<i32>,
    pub click_count: Vec<i32>,
    pub machine_open_count: Vec<i32>,
    pub first_open_at: Vec<Option<DateTime<Utc>>>,
    pub last_open_at: Vec<Option<DateTime<Utc>>>,
    pub last_click_at: Vec<Option<DateTime<Utc>>>,
    pub bounced_at: Vec<Option<DateTime<Utc>>>,
    pub complained_at: Vec<Option<DateTime<Utc>>>,
    pub unsubscribed_at: Vec<Option<DateTime<Utc>>>,
    /// Whether the send's events may move its person's score (lock the score row).
    pub may_score: Vec<bool>,
}

fn earliest(a: Option<DateTime<Utc>>, b: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(a.map_or(b, |a| a.min(b)))
}

fn latest(a: Option<DateTime<Utc>>, b: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(a.map_or(b, |a| a.max(b)))
}

impl SendUpserts {
    /// Folds each group the way applying its events one by one would: identities from the
    /// first event that has them, the greatest status, summed counters, earliest "first"
    /// timestamps and latest "last" ones.
    pub fn fold(groups: &[SendGroup<'_>], rules: &ScoringRules) -> Self {
        let mut rows = Self::default();
        for group in groups {
            let (mut person, mut organisation, mut subject, mut recipient) =
                (None, None, None, None);
            let mut status = "sent";
            let (mut sent, mut delivered, mut first_open, mut last_open) = (None, None, None, None);
            let (mut last_click, mut bounced, mut complained, mut unsubscribed) =
                (None, None, None, None);
            let (mut opens, mut clicks, mut machine_opens) = (0, 0, 0);
            let mut scores = false;
            for LiveEvent { event, person: who } in &group.events {
                let at = event.occurred_at;
                person = person.or(who.map(|(id, _)| id));
                organisation = organisation.or(event.organisation_id.or(who.and_then(|p| p.1)));
                subject = subject.or(event.subject.as_ref());
                recipient = recipient.or(event.recipient.as_ref());
                if status_rank(status_of(event)) > status_rank(status) {
                    status = status_of(event);
                }
                scores |= may_score(event, rules);
                match event.event {
                    EventKind::Sent => sent = earliest(sent, at),
                    EventKind::Delivered => delivered = earliest(delivered, at),
                    EventKind::Opened if event.machine_open => machine_opens += 1,
                    EventKind::Opened => {
                        opens += 1;
                        first_open = earliest(first_open, at);
                        last_open = latest(last_open, at);
                    }
                    EventKind::Clicked => {
                        clicks += 1;
                        last_click = latest(last_click, at);
                    }
                    EventKind::Bounced => bounced = earliest(bounced, at),
                    EventKind::Complained => complained = earliest(complained, at),
                    EventKind::Unsubscribed => unsubscribed = earliest(unsubscribed, at),
                }
            }
            rows.provider.push(group.provider.to_owned());
            rows.external_id.push(group.external_id.to_owned());
            rows.person_id.push(person);
            rows.organisation_id.push(organisation);
            rows.subject.push(subject.cloned());
            rows.recipient.push(recipient.cloned());
            rows.status.push(status);
            rows.sent_at.push(sent);
            rows.delivered_at.push(delivered);
            rows.open_count.push(opens);
            rows.click_count.push(clicks);
            rows.machine_open_count.push(machine_opens);
            rows.first_open_at.push(first_open);
            rows.last_open_at.push(last_open);
            rows.last_click_at.push(last_click);
            rows.bounced_at.push(bounced);
            rows.complained_at.push(complained);
            rows.unsubscribed_at.push(unsubscribed);
            rows.may_score.push(scores);
        }
        rows
    }
}

/// A send's row after the batch's upsert, and its person's score row when it was locked.
#[derive(Debug, Clone)]
pub struct UpsertedSend {
    pub id: i64,
    pub person_id: Option<i64>,
    pub open_count: i32,
    pub click_count: i32,
    pub interaction_id: Option<i64>,
    pub score: Option<(i32, bool)>,
}

/// One score change waiting for its person's fold.
#[derive(Debug, Clone)]
pub struct ScoreItem {
    pub person_id: i64,
    pub delta: i32,
    pub reason: ScoreReason,
    pub event_key: String,
    pub send_id: i64,
    pub occurred_at: DateTime<Utc>,
}

/// A send whose first human open is in this batch: it gets its inbox interaction.
#[derive(Debug, Clone)]
pub struct FirstOpen {
    pub send_id: i64,
    pub description: String,
}

impl FirstOpen {
    pub fn new(event: &EmailEvent, send_id: i64) -> Self {
        Self {
            send_id,
            description: format!(
                "Première ouverture le {} ({} · {})",
                event.occurred_at.format("%d/%m/%Y à %H:%M UTC"),
                event.provider,
                event.external_id
            ),
        }
    }
}

/// The score changes of one send's events, given its row after the upsert. The counters
/// before the batch are the row's minus the batch's, so the send's first open (first click)
/// is the batch's earliest one exactly when the send had none before: n opens always score
/// `first_open + (n-1)·later_open`, whatever the batches and their order.
///
/// Every event of the group scores the send's person as it stands after the batch.
pub fn score_changes(
    group: &SendGroup<'_>,
    send: &UpsertedSend,
    rules: &ScoringRules,
    items: &mut Vec<ScoreItem>,
) -> Option<FirstOpen> {
    let opens = group.events.iter().filter(|e| human_open(e.event)).count() as i32;
    let clicks = group
        .events
        .iter()
        .filter(|e| e.event.event == EventKind::Clicked)
        .count() as i32;
    let (opens_before, clicks_before) = (send.open_count - opens, send.click_count - clicks);
    let (mut open_rank, mut click_rank) = (0, 0);
    let mut first_open = None;
    for LiveEvent { event, .. } in &group.events {
        let first_of_kind = match event.event {
            EventKind::Opened if event.machine_open => continue,
            EventKind::Opened => {
                open_rank += 1;
                let first = opens_before == 0 && open_rank == 1;
                if first && send.interaction_id.is_none() {
                    first_open = Some(FirstOpen::new(event, send.id));
                }
                first
            }
            EventKind::Clicked => {
                click_rank += 1;
                clicks_before == 0 && click_rank == 1
            }
            _ => true,
        };
        let change = rules.change_for(event.event, first_of_kind);
        if let (Some(person_id), true) = (send.person_id, change.delta != 0) {
            items.push(ScoreItem {
                person_id,
                delta: change.delta,
                reason: change.reason,
                event_key: event.event_key.clone(),
                send_id: send.id,
                occurred_at: event.occurred_at,
            });
        }
    }
    first_open
}

/// Everything the batch writes after the sends, as the columns of one statement (see
/// [`super::sql::write_effects`]).
#[derive(Debug, Default)]
pub struct Effects {
    /// Keys of poison events, released so they can be re-driven once their data exists.
    pub released_keys: Vec<String>,
    pub scores: ScoreRows,
    pub history: HistoryRows,
    pub first_opens: Vec<FirstOpen>,
    pub hot_leads: HotLeads,
}

#[derive(Debug, Default)]
pub struct ScoreRows {
    pub person_id: Vec<i64>,
    pub score: Vec<i32>,
    pub last_event_at: Vec<Option<DateTime<Utc>>>,
    pub armed: Vec<bool>,
}

#[derive(Debug, Default)]
pub struct HistoryRows {
    pub person_id: Vec<i64>,
    pub delta: Vec<i32>,
    pub score_after: Vec<i32>,
    pub reason: Vec<&'static str>,
    pub event_key: Vec<String>,
    pub send_id: Vec<i64>,
    pub occurred_at: Vec<DateTime<Utc>>,
}

/// One "Lead chaud" call per crossing of the threshold, with the score it crossed at.
#[derive(Debug, Default)]
pub struct HotLeads {
    pub person_id: Vec<i64>,
    pub score: Vec<i32>,
}

/// The error for a score change whose person's row was not locked: a bug in [`may_score`],
/// never data; the batch is refused rather than written unlocked.
#[derive(Debug, thiserror::Error)]
#[error("score row of person {0} was not locked before its fold")]
pub struct UnlockedScore(pub i64);

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.released_keys.is_empty()
            && self.scores.person_id.is_empty()
            && self.first_opens.is_empty()
    }

    /// Per person in id order: folds the changes, in (occurred_at, event_key) order, onto the
    /// locked score with the floor at 0, one history row per change (in fold order, so the
    /// history's id order refolds to the score), one hot lead per crossing.
    pub fn fold_scores(
        &mut self,
        items: Vec<ScoreItem>,
        current: &HashMap<i64, (i32, bool)>,
        rules: &ScoringRules,
    ) -> Result<(), UnlockedScore> {
        let mut by_person: BTreeMap<i64, Vec<ScoreItem>> = BTreeMap::new();
        for item in items {
            by_person.entry(item.person_id).or_default().push(item);
        }
        for (person_id, mut items) in by_person {
            let &(mut score, armed) = current.get(&person_id).ok_or(UnlockedScore(person_id))?;
            items.sort_by(|a, b| (a.occurred_at, &a.event_key).cmp(&(b.occurred_at, &b.event_key)));
            let mut tracker = HotLeadTracker::new(rules, score, armed);
            let mut last_event_at = None;
            for item in items {
                score = apply_floor(score, item.delta);
                if tracker.move_to(score) {
                    self.hot_leads.person_id.push(person_id);
                    self.hot_leads.score.push(score);
                }
                last_event_at = last_event_at.max(Some(item.occurred_at));
                let history = &mut self.history;
                history.person_id.push(person_id);
                history.delta.push(item.delta);
                history.score_after.push(score);
                history.reason.push(item.reason.as_str());
                history.event_key.push(item.event_key);
                history.send_id.push(item.send_id);
                history.occurred_at.push(item.occurred_at);
            }
            self.scores.person_id.push(person_id);
            self.scores.score.push(score);
            self.scores.last_event_at.push(last_event_at);
            self.scores.armed.push(tracker.armed());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use relance_shared::event::SCHEMA_VERSION;

    fn event(id: &str, kind: EventKind, minute: u32) -> EmailEvent {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 20, 9, minute, 0)
            .single()
            .unwrap_or_default();
        EmailEvent {
            schema: SCHEMA_VERSION,
            event_key: format!("{id}-{kind}-{minute}"),
            provider: "test".into(),
            external_id: id.into(),
            event: kind,
            occurred_at: at,
            received_at: at,
            person_id: None,
            organisation_id: None,
            person_external_id: None,
            recipient: None,
            subject: None,
            url: None,
            machine_open: false,
        }
    }

    #[test]
    fn a_send_folds_to_the_greatest_status_and_summed_counters() {
        let events = [
            event("a", EventKind::Clicked, 9),
            event("a", EventKind::Opened, 5),
            event("a", EventKind::Opened, 7),
            event("a", EventKind::Delivered, 1),
            event("b", EventKind::Sent, 2),
        ];
        let live = events
            .iter()
            .map(|event| LiveEvent {
                event,
                person: Some((7, None)),
            })
            .collect();
        let groups = group_by_send(live);
        let rows = SendUpserts::fold(&groups, &ScoringRules::default());
        assert_eq!(rows.external_id, ["a", "b"]);
        assert_eq!(rows.status, ["clicked", "sent"]);
        assert_eq!(rows.open_count, [2, 0]);
        assert_eq!(rows.click_count, [1, 0]);
        assert_eq!(rows.first_open_at[0], Some(events[1].occurred_at));
        assert_eq!(rows.last_open_at[0], Some(events[2].occurred_at));
        assert_eq!(rows.may_score, [true, false]);
    }

    #[test]
    fn the_first_open_is_the_batchs_earliest_only_when_the_send_had_none() {
        let events = [
            event("a", EventKind::Opened, 8),
            event("a", EventKind::Opened, 3),
        ];
        let live = events
            .iter()
            .map(|event| LiveEvent {
                event,
                person: None,
            })
            .collect();
        let groups = group_by_send(live);
        let rules = ScoringRules::default();
        let mut send = UpsertedSend {
            id: 1,
            person_id: Some(7),
            open_count: 2,
            click_count: 0,
            interaction_id: None,
            score: Some((0, true)),
        };
        let mut items = Vec::new();
        let first = score_changes(&groups[0], &send, &rules, &mut items);
        assert_eq!(first.map(|f| f.send_id), Some(1));
        assert_eq!(items[0].reason, ScoreReason::FirstOpen);
        assert_eq!(items[0].occurred_at, events[1].occurred_at);
        assert_eq!(items[1].reason, ScoreReason::LaterOpen);

        send.open_count = 3; // one open came in an earlier batch
        items.clear();
        assert!(score_changes(&groups[0], &send, &rules, &mut items).is_none());
        assert!(items.iter().all(|i| i.reason == ScoreReason::LaterOpen));
    }
}
