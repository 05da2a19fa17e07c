//! Keyset pages: every matching row exactly once, in the specified order, with exact totals,
//! whatever the data (ties and rows without a next action included) and whatever combination
//! of filters (the seed's and the advanced ones, search included); rows inserted meanwhile do
//! not shift the pages.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

use crate::helpers::*;

const NOW: &str = "2026-06-10T12:00:00Z";

/// Walks every page of `query` with `limit`; returns ids in the order served, checking that
/// every page reports the same `total` as rows served.
async fn walk(inbox: &TestInbox, query: &str, limit: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut totals = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1_000 {
        let mut path = format!("/api/v1/interactions/inbox?{query}&limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let reply = inbox.get(&path, Some(ALICE)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        let items = reply.body["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        ids.extend(items.iter().map(|i| i["id"].as_i64().unwrap()));
        totals.push(reply.body["total"].as_u64().unwrap() as usize);
        match &reply.body["cursor"] {
            Value::String(next) => {
                assert_eq!(items.len(), limit, "a full page before a cursor");
                cursor = Some(next.clone());
            }
            _ => {
                assert!(
                    totals.iter().all(|t| *t == ids.len()),
                    "{query}: {totals:?}"
                );
                return ids;
            }
        }
    }
    panic!("more than 1000 pages");
}

#[derive(Debug, Clone)]
struct Row {
    status: &'static str,
    assignee: Option<i64>,
    /// Hours from NOW; few values, so ties are common.
    next: Option<i64>,
    created: i64,
    kind: &'static str,
    /// The harness's people 1-4 (Jeanne Durand, Marc Leroy, Sophie Blanc, Paul Noir).
    person: Option<i64>,
    organisation: Option<i64>,
    title: &'static str,
}

const TITLES: [&str; 4] = ["Devis Lefèvre", "Rappel", "Réunion été", "x"];
const PEOPLE: [&str; 4] = [
    "jeanne durand jeanne@acme.test",
    "marc leroy marc@acme.test",
    "sophie blanc sophie@acme.test",
    "paul noir ",
];

fn row() -> impl Strategy<Value = Row> {
    (
        (
            prop::sample::select(vec!["todo", "in_progress", "done"]),
            prop::option::of(1i64..=2),
            prop::option::weighted(0.7, -3i64..=3),
            0i64..4,
        ),
        (
            prop::sample::select(vec!["call", "email", "note"]),
            prop::option::of(1i64..=4),
            prop::option::of(Just(1i64)),
            prop::sample::select(TITLES.to_vec()),
        ),
    )
        .prop_map(
            |((status, assignee, next, created), (kind, person, organisation, title))| Row {
                status,
                assignee,
                next,
                created,
                kind,
                person,
                organisation,
                title,
            },
        )
}

/// A random combination of the seed's filters and the advanced ones.
#[derive(Debug, Clone)]
struct Query {
    /// None: everyone; Some(None): unassigned; Some(Some(id)): that user (1 is `me`).
    assignee: Option<Option<i64>>,
    overdue: bool,
    types: Option<Vec<&'static str>>,
    person: Option<i64>,
    organisation: Option<i64>,
    /// Hours from NOW.
    from: Option<i64>,
    to: Option<i64>,
    q: Option<&'static str>,
}

fn query() -> impl Strategy<Value = Query> {
    (
        prop::option::of(prop::option::of(Just(ALICE))),
        prop::bool::weighted(0.3),
        prop::option::weighted(
            0.4,
            prop::sample::subsequence(vec!["call", "email", "note"], 1..=2),
        ),
        prop::option::weighted(0.3, 1i64..=4),
        prop::option::weighted(0.2, Just(1i64)),
        prop::option::weighted(0.3, -3i64..=2),
        prop::option::weighted(0.3, 1i64..=3),
        prop::option::weighted(
            0.5,
            prop::sample::select(vec![
                "lefevre",
                "RAPPEL",
                "durand",
                "ete",
                "marc devis",
                "acme",
            ]),
        ),
    )
        .prop_map(
            |(assignee, overdue, types, person, organisation, from, span, q)| Query {
                assignee,
                overdue,
                types,
                person,
                organisation,
                to: span.map(|span| from.unwrap_or(-3) + span),
                from,
                q,
            },
        )
}

impl Query {
    fn to_query_string(&self, now: DateTime<Utc>) -> String {
        let mut parts = vec!["x=1".to_owned()];
        match self.assignee {
            None => {}
            Some(None) => parts.push("assignee=unassigned".into()),
            Some(Some(_)) => parts.push("assignee=me".into()),
        }
        if self.overdue {
            parts.push("due=overdue".into());
        }
        if let Some(types) = &self.types {
            parts.push(format!("type={}", types.join(",")));
        }
        if let Some(p) = self.person {
            parts.push(format!("person_id={p}"));
        }
        if let Some(o) = self.organisation {
            parts.push(format!("organisation_id={o}"));
        }
        let stamp = |h: i64| {
            (now + Duration::hours(h))
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        };
        if let Some(from) = self.from {
            parts.push(format!("from={}", stamp(from)));
        }
        if let Some(to) = self.to {
            parts.push(format!("to={}", stamp(to)));
        }
        if let Some(q) = self.q {
            parts.push(format!("q={}", q.replace(' ', "%20")));
        }
        parts.join("&")
    }

    fn matches(&self, row: &Row, now: DateTime<Utc>) -> bool {
        let fold = |s: &str| s.to_lowercase().replace(['é', 'è'], "e");
        let next = row.next.map(|h| now + Duration::hours(h));
        row.status != "done"
            && self.assignee.is_none_or(|a| a == row.assignee)
            && (!self.overdue || next.is_some_and(|n| n < now))
            && self.types.as_ref().is_none_or(|t| t.contains(&row.kind))
            && self.person.is_none_or(|p| row.person == Some(p))
            && self
                .organisation
                .is_none_or(|o| row.organisation == Some(o))
            && self
                .from
                .is_none_or(|h| next.is_some_and(|n| n >= now + Duration::hours(h)))
            && self
                .to
                .is_none_or(|h| next.is_some_and(|n| n < now + Duration::hours(h)))
            && self.q.is_none_or(|q| {
                let title = fold(row.title);
                let person = row.person.map(|p| PEOPLE[(p - 1) as usize]).unwrap_or("");
                fold(q)
                    .split_whitespace()
                    .all(|w| title.contains(w) || person.contains(w))
            })
    }
}

#[test]
fn pages_cover_each_matching_row_once_in_order() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let now: DateTime<Utc> = at(NOW);
    let inbox = runtime.block_on(TestInbox::spawn(now));
    let mut runner = TestRunner::new(Config {
        cases: 48,
        ..Config::default()
    });
    runner
        .run(
            &(prop::collection::vec(row(), 0..40), 1usize..8, query()),
            |(rows, limit, filter)| {
                runtime.block_on(async {
                    truncate_interactions(&inbox.db.pool).await;
                    let mut expected = Vec::new();
                    for row in &rows {
                        let next = row.next.map(|h| now + Duration::hours(h));
                        let created = now - Duration::days(30) + Duration::hours(row.created);
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO crm_interactions (type, title, status, assignee_id, \
                             next_action_at, created_at, updated_at, person_id, organisation_id) \
                             VALUES ($1::interaction_type, $2, $3::interaction_status, $4, $5, \
                             $6, $6, $7, $8) RETURNING id",
                        )
                        .bind(row.kind)
                        .bind(row.title)
                        .bind(row.status)
                        .bind(row.assignee)
                        .bind(next)
                        .bind(created)
                        .bind(row.person)
                        .bind(row.organisation)
                        .fetch_one(&inbox.db.pool)
                        .await
                        .unwrap();
                        if filter.matches(row, now) {
                            expected.push((next, created, id));
                        }
                    }
                    // next_action_at ASC NULLS LAST, created_at DESC, id DESC.
                    expected.sort_by(|a, b| {
                        let next = match (a.0, b.0) {
                            (Some(x), Some(y)) => x.cmp(&y),
                            (Some(_), None) => std::cmp::Ordering::Less,
                            (None, Some(_)) => std::cmp::Ordering::Greater,
                            (None, None) => std::cmp::Ordering::Equal,
                        };
                        next.then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2))
                    });
                    let expected: Vec<i64> = expected.into_iter().map(|e| e.2).collect();
                    let query = filter.to_query_string(now);
                    let served = walk(&inbox, &query, limit).await;
                    prop_assert_eq!(served, expected, "{} limit {}", query, limit);
                    Ok(())
                })
            },
        )
        .unwrap();
}

#[tokio::test]
async fn rows_inserted_while_paging_do_not_shift_the_pages() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let mut all = Vec::new();
    for h in 0..10 {
        let next = (at(NOW) + Duration::hours(h)).to_rfc3339();
        all.push(
            inbox
                .add(&format!("row-{h}"), "todo", None, Some(&next), NOW)
                .await,
        );
    }
    let first = inbox
        .get("/api/v1/interactions/inbox?limit=4", Some(ALICE))
        .await;
    let cursor = first.body["cursor"].as_str().unwrap().to_owned();
    let mut seen: Vec<i64> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    // A row that sorts before the cursor, and one after it.
    inbox
        .add("early", "todo", None, Some("2026-06-01T00:00:00Z"), NOW)
        .await;
    let late = inbox.add("late", "todo", None, None, NOW).await;
    let mut cursor = Some(cursor);
    while let Some(c) = cursor {
        let page = inbox
            .get(
                &format!("/api/v1/interactions/inbox?limit=4&cursor={c}"),
                Some(ALICE),
            )
            .await;
        seen.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap()),
        );
        cursor = page.body["cursor"].as_str().map(str::to_owned);
    }
    all.push(late);
    assert_eq!(
        seen, all,
        "every original row once, in order, then the new late one"
    );
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());
}

#[tokio::test]
async fn a_cursor_only_works_with_its_own_filters() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    for h in 0..3 {
        let next = (at(NOW) + Duration::hours(h)).to_rfc3339();
        inbox.add("r", "todo", Some(ALICE), Some(&next), NOW).await;
    }
    let first = inbox
        .get(
            "/api/v1/interactions/inbox?limit=1&assignee=me",
            Some(ALICE),
        )
        .await;
    let cursor = first.body["cursor"].as_str().unwrap();
    assert_eq!(first.body["total"], 3);
    let other = inbox
        .get(
            &format!("/api/v1/interactions/inbox?limit=1&cursor={cursor}"),
            Some(ALICE),
        )
        .await;
    assert_eq!(bad_fields(&other), ["cursor"]);
}
