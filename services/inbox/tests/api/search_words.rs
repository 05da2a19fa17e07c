//! The word index behind `q` (docs/schema.sql), kept by the change relay:
//! whatever the texts (accents, ligatures, punctuation, tokens longer than a piece) and whatever
//! happened to them since (edited titles, renamed or changed people, new statuses), once the
//! relay has caught up after a batch of changes it selects and counts exactly the rows whose
//! folded text contains every word, as the trigram path defines it; and its
//! lexicon keeps no token that nothing holds. Its pages follow the inbox order (docs/schema.sql)
//! through every new next action. A search's totals stop at `inbox.exact_total_limit`.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use relance_inbox::filters::{self, InboxFilter, ScopeParams, SearchParams, StatusParams};
use relance_inbox::search::{self, WordMatch};

use crate::helpers::*;

const NOW: &str = "2026-06-10T12:00:00Z";

/// Pieces of text that fold, or split, in every way the tokenizer must agree with `LIKE` on.
const PIECES: [&str; 16] = [
    "Lefèvre",
    "lefevre",
    "LÉA",
    "devis",
    "Œuvre",
    "Straße",
    "50%",
    "a_b",
    "jean-pierre",
    "contact@acme.test",
    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzend",
    "Ærø",
    "x",
    "n°7",
    "«devis»",
    "éte\u{301}",
];
const SEPARATORS: [&str; 5] = [" ", "-", ".", "  ", "\u{a0}"];
/// Words a user might type: whole pieces, parts of them, across a separator, too long for a
/// piece (33 letters), wildcards.
const WORDS: [&str; 20] = [
    "lef",
    "LEFÈVRE",
    "evre",
    "lea",
    "devis",
    "oeuvre",
    "strasse",
    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    "zzzzzzzzend",
    "jean-pierre",
    "pierre",
    "acme",
    "50%",
    "_",
    "x",
    "aero",
    "n°7",
    "ete",
    "e",
    "absent",
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(PIECES.to_vec()),
            prop::sample::select(SEPARATORS.to_vec()),
        ),
        1..4,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .map(|(piece, separator)| format!("{piece}{separator}"))
            .collect::<String>()
    })
}

#[derive(Debug, Clone)]
struct Row {
    title: String,
    description: Option<String>,
    person: Option<i64>,
    done: bool,
    /// Hours from NOW; few values, so ties are common.
    next: Option<i64>,
}

fn row() -> impl Strategy<Value = Row> {
    (
        text(),
        prop::option::of(text()),
        prop::option::of(1i64..=3),
        prop::bool::weighted(0.3),
        prop::option::weighted(0.7, -2i64..=2),
    )
        .prop_map(|(title, description, person, done, next)| Row {
            title,
            description,
            person,
            done,
            next,
        })
}

/// What happens after the rows are written, each through the tables the CRM and the inbox
/// write.
#[derive(Debug, Clone)]
enum Change {
    Retitle(usize, String),
    Rename(i64, String),
    Reassign(usize, Option<i64>),
    Status(usize, bool),
    /// A new next action (hours from NOW), or none: the inbox order the word index keeps.
    Reschedule(usize, Option<i64>),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0usize..12, text()).prop_map(|(n, t)| Change::Retitle(n, t)),
        (1i64..=3, text()).prop_map(|(p, t)| Change::Rename(p, t)),
        (0usize..12, prop::option::of(1i64..=3)).prop_map(|(n, p)| Change::Reassign(n, p)),
        (0usize..12, any::<bool>()).prop_map(|(n, d)| Change::Status(n, d)),
        (0usize..12, prop::option::of(-2i64..=2)).prop_map(|(n, h)| Change::Reschedule(n, h)),
    ]
}

/// The app's `LIKE` pattern for a word (filters.rs).
fn pattern(word: &str) -> String {
    let escaped = word
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The rows the trigram path's definition selects, straight from the tables, in inbox order.
async fn defined(inbox: &TestInbox, words: &[&str], open_only: bool) -> Vec<i64> {
    let patterns: Vec<String> = words.iter().map(|w| pattern(w)).collect();
    sqlx::query_scalar(
        "SELECT i.id FROM crm_interactions i LEFT JOIN people p ON p.id = i.person_id \
         WHERE (NOT $2 OR i.status <> 'done') AND NOT EXISTS ( \
           SELECT 1 FROM unnest($1::text[]) w \
           WHERE NOT (relance_interaction_text(i.title, i.description) LIKE relance_fold(w) \
                      OR coalesce(relance_person_text(p.first_name, p.last_name, p.email), '') \
                         LIKE relance_fold(w))) \
         ORDER BY i.next_action_sort_at, i.created_at DESC, i.id DESC",
    )
    .bind(&patterns)
    .bind(open_only)
    .fetch_all(inbox.pool())
    .await
    .unwrap()
}

fn ids_of(body: &serde_json::Value) -> Vec<i64> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

fn query_of(words: &[&str]) -> String {
    let q: Vec<String> = words
        .iter()
        .map(|w| w.bytes().map(|b| format!("%{b:02X}")).collect::<String>())
        .collect();
    q.join("%20")
}

#[test]
fn the_word_index_selects_and_counts_exactly_what_the_text_holds() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let now: DateTime<Utc> = at(NOW);
    let inbox = runtime.block_on(TestInbox::spawn(now));
    let mut runner = TestRunner::new(Config {
        cases: 40,
        ..Config::default()
    });
    let words = prop::collection::vec(prop::sample::select(WORDS.to_vec()), 1..=2);
    runner
        .run(
            &(
                prop::collection::vec(row(), 1..12),
                prop::collection::vec(prop::collection::vec(change(), 1..4), 0..3),
                words,
            ),
            |(rows, batches, words)| {
                runtime.block_on(async {
                    let pool = inbox.pool();
                    truncate_interactions(pool).await;
                    let mut ids = Vec::new();
                    for row in &rows {
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO crm_interactions (type, title, description, status, \
                             person_id, next_action_at) VALUES ('note', $1, $2, \
                             CASE WHEN $3 THEN 'done' ELSE 'todo' END::interaction_status, $4, \
                             $5) RETURNING id",
                        )
                        .bind(&row.title)
                        .bind(&row.description)
                        .bind(row.done)
                        .bind(row.person)
                        .bind(row.next.map(|h| now + Duration::hours(h)))
                        .fetch_one(pool)
                        .await
                        .unwrap();
                        ids.push(id);
                    }
                    prop_assert_eq!(searched(&inbox, &words).await, Ok(()), "inserted");
                    for (n, changes) in batches.iter().enumerate() {
                        for change in changes {
                            let at = |n: &usize| ids[n % ids.len()];
                            let query = match change {
                            Change::Retitle(n, title) => {
                                sqlx::query("UPDATE crm_interactions SET title = $2 WHERE id = $1")
                                    .bind(at(n))
                                    .bind(title)
                            }
                            Change::Rename(person, name) => {
                                sqlx::query("UPDATE people SET last_name = $2 WHERE id = $1")
                                    .bind(*person)
                                    .bind(name)
                            }
                            Change::Reassign(n, person) => sqlx::query(
                                "UPDATE crm_interactions SET person_id = $2 WHERE id = $1",
                            )
                            .bind(at(n))
                            .bind(*person),
                            Change::Status(n, done) => sqlx::query(
                                "UPDATE crm_interactions SET status = CASE WHEN $2 THEN 'done' \
                                 ELSE 'in_progress' END::interaction_status WHERE id = $1",
                            )
                            .bind(at(n))
                            .bind(*done),
                            Change::Reschedule(n, hours) => sqlx::query(
                                "UPDATE crm_interactions SET next_action_at = $2 WHERE id = $1",
                            )
                            .bind(at(n))
                            .bind(hours.map(|h| now + Duration::hours(h))),
                        };
                            query.execute(pool).await.unwrap();
                        }
                        prop_assert_eq!(
                            searched(&inbox, &words).await,
                            Ok(()),
                            "after batch {}",
                            n
                        );
                    }
                    Ok(())
                })
            },
        )
        .unwrap();
}

/// What the inbox serves for `words` (page, pages of two, total, stats) against the definition,
/// once the relay has caught up: `Err` says what differs.
async fn searched(inbox: &TestInbox, words: &[&str]) -> Result<(), String> {
    let check = |ok: bool, what: String| if ok { Ok(()) } else { Err(what) };
    let q = query_of(words);
    let reply = inbox
        .get(
            &format!("/api/v1/interactions/inbox?limit=200&q={q}"),
            Some(ALICE),
        )
        .await;
    check(reply.status == 200, reply.text.clone())?;
    let served = ids_of(&reply.body);
    let open = defined(inbox, words, true).await;
    check(
        served == open,
        format!("q={words:?}: served {served:?}, defined {open:?}"),
    )?;
    check(
        reply.body["total"].as_i64() == Some(open.len() as i64),
        format!(
            "q={words:?}: total {}, defined {}",
            reply.body["total"],
            open.len()
        ),
    )?;

    // Pages of two, cursor after cursor: the same rows in the same order.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = inbox
            .get(
                &format!("/api/v1/interactions/inbox?limit=2&q={q}{cursor}"),
                Some(ALICE),
            )
            .await;
        check(page.status == 200, page.text.clone())?;
        paged.extend(ids_of(&page.body));
        match page.body["cursor"].as_str() {
            Some(next) if paged.len() <= open.len() => cursor = format!("&cursor={next}"),
            _ => break,
        }
    }
    check(
        paged == open,
        format!("pages of q={words:?}: {paged:?}, defined {open:?}"),
    )?;

    let stats = inbox
        .get(
            &format!("/api/v1/interactions/inbox/stats?q={q}"),
            Some(ALICE),
        )
        .await;
    check(stats.status == 200, stats.text.clone())?;
    let every = defined(inbox, words, false).await;
    check(
        stats.body["total"].as_i64() == Some(every.len() as i64)
            && stats.body["done"].as_i64() == Some((every.len() - open.len()) as i64),
        format!(
            "stats of q={words:?}: {}, defined {} of which {} open",
            stats.body,
            every.len(),
            open.len()
        ),
    )
}

fn search_filter(q: &str) -> InboxFilter {
    let mut errors = Vec::new();
    filters::resolve(
        &ScopeParams::default(),
        Some(&StatusParams::default()),
        Some(&SearchParams {
            q: Some(q.into()),
            ..Default::default()
        }),
        &relance_inbox::scope::Caller::admin(ALICE),
        chrono_tz::Tz::UTC,
        at(NOW),
        &mut errors,
    )
    .unwrap()
}

#[tokio::test]
async fn words_inside_one_token_go_through_the_word_index_and_the_others_through_trigrams() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    inbox
        .add("Relancer Lefèvre", "todo", Some(ALICE), None, NOW)
        .await;
    inbox.relay_settled().await;
    let mut filter = search_filter("LEFÈV jean-pierre zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz absent e");
    search::resolve_words(inbox.pool(), &mut filter)
        .await
        .unwrap();
    let matches = filter.word_matches.unwrap();
    assert!(
        matches!(&matches[0], WordMatch::Tokens { tokens, .. } if tokens == &["lefevre"]),
        "{matches:?}"
    );
    // A separator, 33 letters: the trigram path.
    assert!(matches!(matches[1], WordMatch::Pattern(_)));
    assert!(matches!(matches[2], WordMatch::Pattern(_)));
    // A word no token holds matches nothing, from the index.
    assert!(matches!(&matches[3], WordMatch::Tokens { tokens, .. } if tokens.is_empty()));
    // One letter: in most tokens; a handful here.
    assert!(
        matches!(&matches[4], WordMatch::Tokens { tokens, .. } if tokens.contains(&"relancer".to_owned()))
    );
}

#[tokio::test]
async fn tokens_nothing_holds_are_swept_and_the_others_stay() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    sqlx::raw_sql(
        "INSERT INTO crm_interactions (type, title, person_id) VALUES ('call', 'Rappeler', 1), \
         ('call', 'Rappeler Gwenaëlle', NULL)",
    )
    .execute(inbox.pool())
    .await
    .unwrap();
    inbox.relay_settled().await;
    sqlx::raw_sql("UPDATE people SET last_name = 'Quérouil' WHERE id = 1")
        .execute(inbox.pool())
        .await
        .unwrap();
    inbox.relay_settled().await;
    let lexicon = || async {
        sqlx::query_scalar::<_, String>("SELECT word FROM search_lexicon ORDER BY word")
            .fetch_all(inbox.pool())
            .await
            .unwrap()
    };
    // Jeanne Durand (person 1) was renamed: `durand` lingers until the sweep.
    assert!(lexicon().await.contains(&"durand".to_owned()));
    assert_eq!(search::index::sweep_lexicon(inbox.pool()).await.unwrap(), 1);
    assert_eq!(
        lexicon().await,
        [
            "acme",
            "gwenaelle",
            "jeanne",
            "querouil",
            "rappeler",
            "test"
        ]
    );
    assert_eq!(inbox.titles("q=querouil", ALICE).await, ["Rappeler"]);
    assert_eq!(search::index::sweep_lexicon(inbox.pool()).await.unwrap(), 0);
}

/// Past `inbox.exact_total_limit` rows a search's total, and each of its stats, stop counting
/// and say so; below it, and without `q`, they are exact.
#[tokio::test]
async fn a_search_counts_up_to_the_limit_and_says_when_there_are_more() {
    let inbox = TestInbox::spawn_with(at(NOW), |s| s.inbox.exact_total_limit = 5).await;
    sqlx::raw_sql(
        "INSERT INTO crm_interactions (type, title, status, assignee_id) \
         SELECT 'call', 'Devis ' || n, CASE WHEN n <= 7 THEN 'todo' ELSE 'done' END::interaction_status, \
                CASE WHEN n % 2 = 0 THEN 1 END \
         FROM generate_series(1, 10) n",
    )
    .execute(inbox.pool())
    .await
    .unwrap();
    let page = |query: &'static str| {
        let inbox = &inbox;
        async move {
            let reply = inbox
                .get(&format!("/api/v1/interactions/inbox?{query}"), Some(ALICE))
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            (
                reply.body["total"].as_i64().unwrap(),
                reply.body["total_is_lower_bound"].as_bool().unwrap(),
                reply.body["items"].as_array().unwrap().len(),
            )
        }
    };
    // Seven open: the word index (everyone) and the rows (an assignee) both stop at five.
    assert_eq!(page("q=devis").await, (5, true, 7));
    assert_eq!(page("q=devis&status=done").await, (3, false, 3));
    assert_eq!(page("q=devis&type=call").await, (5, true, 7));
    assert_eq!(page("q=devis&assignee=1").await, (3, false, 3));
    assert_eq!(page("q=devis%203").await, (1, false, 1));
    // Without `q`, exact whatever the limit.
    assert_eq!(page("").await, (7, false, 7));
    assert_eq!(page("type=call").await, (7, false, 7));

    let stats = inbox
        .get("/api/v1/interactions/inbox/stats?q=devis", Some(ALICE))
        .await;
    assert_eq!(stats.status, 200, "{}", stats.text);
    assert_eq!(
        stats.body,
        serde_json::json!({"total": 8, "todo": 5, "in_progress": 0, "done": 3,
                           "total_is_lower_bound": true})
    );
    let stats = inbox
        .get(
            "/api/v1/interactions/inbox/stats?q=devis&assignee=1",
            Some(ALICE),
        )
        .await;
    assert_eq!(stats.body["total_is_lower_bound"], false, "{}", stats.body);
    assert_eq!(stats.body["total"], 5, "{}", stats.body);
}
