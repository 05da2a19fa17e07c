//! The WHERE clause of a filter, on the interactions aliased `i`: what every query of the inbox
//! shares.

use sqlx::{Postgres, QueryBuilder};

use crate::filters::{AssigneeFilter, InboxFilter, StatusFilter};
use crate::interactions::InteractionStatus;
use crate::search;

/// Appends ` WHERE …` for `filter`; the status condition only when `with_status` (the stats
/// count every status). Status values are written as literals (they come from a closed enum),
/// which lets the planner use the partial indexes on `status <> 'done'`.
pub fn push_where(qb: &mut QueryBuilder<'_, Postgres>, filter: &InboxFilter, with_status: bool) {
    qb.push(" WHERE TRUE");
    filter.visible.push_condition(qb);
    match filter.assignee {
        AssigneeFilter::Everyone => {}
        AssigneeFilter::Unassigned => {
            qb.push(" AND i.assignee_id IS NULL");
        }
        AssigneeFilter::Assigned => {
            qb.push(" AND i.assignee_id IS NOT NULL");
        }
        AssigneeFilter::User(id) => {
            qb.push(" AND i.assignee_id = ").push_bind(id);
        }
    }
    if with_status {
        push_status(qb, filter.status);
    }
    if let Some(from) = filter.window.from {
        qb.push(" AND i.next_action_sort_at >= ").push_bind(from);
    }
    if let Some(until) = filter.window.until {
        qb.push(" AND i.next_action_sort_at < ").push_bind(until);
    }
    push_refinements(qb, filter);
}

/// ` AND` the status condition; an open status also says `<> 'done'` for the partial indexes.
pub fn push_status(qb: &mut QueryBuilder<'_, Postgres>, status: StatusFilter) {
    match status {
        StatusFilter::NotDone => {
            qb.push(" AND i.status <> 'done'");
        }
        StatusFilter::Is(status) => {
            qb.push(format_args!(" AND i.status = '{}'", status.as_str()));
            if status != InteractionStatus::Done {
                qb.push(" AND i.status <> 'done'");
            }
        }
    }
}

/// The advanced filters and search. Types are literals (a closed enum).
fn push_refinements(qb: &mut QueryBuilder<'_, Postgres>, filter: &InboxFilter) {
    let refine = &filter.refine;
    if !refine.types.is_empty() {
        let types: Vec<String> = refine
            .types
            .iter()
            .map(|t| format!("'{}'", t.as_str()))
            .collect();
        qb.push(format_args!(" AND i.type IN ({})", types.join(", ")));
    }
    if let Some(person) = refine.person_id {
        qb.push(" AND i.person_id = ").push_bind(person);
    }
    if let Some(organisation) = refine.organisation_id {
        qb.push(" AND i.organisation_id = ").push_bind(organisation);
    }
    if let Some(from) = refine.from {
        qb.push(" AND i.next_action_sort_at >= ").push_bind(from);
        if refine.to.is_none() {
            // No next action sorts as 'infinity'; `from` alone must not match it.
            qb.push(" AND i.next_action_sort_at < 'infinity'");
        }
    }
    if let Some(to) = refine.to {
        qb.push(" AND i.next_action_sort_at < ").push_bind(to);
    }
    for word in search::matches(filter) {
        search::push_word_condition(qb, &word);
    }
}
