//! The CRM's directory: versions over HTTP and NATS, last writer wins in any order, a person's
//! erasure checked in a dump of the whole database, and the merge of two people.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use relance_inbox::directory::store::{put_organisations, put_people, put_users};
use relance_inbox::directory::References;
use relance_shared::directory::{OrganisationVersion, PersonVersion, UserVersion};
use relance_shared::event::{digest_event_key, EmailEvent, EventKind, SCHEMA_VERSION};
use relance_shared::scoring::ScoringRules;
use relance_shared::testing::{self, Reply, TestContext};

use crate::helpers::*;

const NOW: &str = "2026-11-24T10:00:00Z";
const CRM_TOKEN: &str = "crm-directory-token-0123456789";

async fn inbox() -> TestInbox {
    TestInbox::spawn_with(at(NOW), |s| {
        s.directory.token = Some(CRM_TOKEN.to_owned().into());
    })
    .await
}

/// A request as the CRM makes it.
async fn crm(inbox: &TestInbox, method: &str, path: &str, body: Value) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let request = inbox
        .http
        .request(method, format!("{}{path}", inbox.base))
        .bearer_auth(CRM_TOKEN)
        .json(&body);
    Reply::read(request.send().await.unwrap()).await
}

async fn scalar(inbox: &TestInbox, sql: &str) -> Value {
    let row: (Option<Value>,) = sqlx::query_as(&format!("SELECT to_jsonb(({sql}))"))
        .fetch_one(inbox.pool())
        .await
        .unwrap();
    row.0.unwrap_or(Value::Null)
}

async fn the_sales_team(inbox: &TestInbox) {
    crm(
        inbox,
        "PUT",
        "/api/v1/directory/users",
        json!([
            {"external_id": "u-1", "email": "camille@crm.test", "name": "Camille Martin", "updated_at": "2026-11-20T09:00:00+01:00"},
            {"external_id": "u-2", "email": "hugo@crm.test", "name": "Hugo Bernard", "active": false, "updated_at": "2026-11-20T09:00:00Z"}
        ]),
    )
    .await
    .expect(reqwest::StatusCode::OK);
    crm(
        inbox,
        "PUT",
        "/api/v1/directory/organisations",
        json!({"external_id": "o-1", "name": "Boulangeries Dupain", "updated_at": "2026-11-20T09:00:00Z"}),
    )
    .await
    .expect(reqwest::StatusCode::OK);
}

#[tokio::test]
async fn the_crm_puts_its_directory_and_the_newest_version_wins() {
    let inbox = inbox().await;
    the_sales_team(&inbox).await;
    let people = json!([
        {"external_id": "p-1", "first_name": "Sophie", "last_name": "Durand", "email": "sophie@dupain.test",
         "phone": "+33 1 02 03 04 05", "organisation_external_id": "o-1", "owner_external_id": "u-1",
         "updated_at": "2026-11-21T10:00:00Z"},
        {"external_id": "p-2", "first_name": "Marc", "updated_at": "2026-11-21T10:00:00Z"}
    ]);
    let reply = crm(&inbox, "PUT", "/api/v1/directory/people", people.clone()).await;
    assert_eq!(
        reply.body,
        json!({"created": 2, "updated": 0, "stale": 0}),
        "{}",
        reply.text
    );
    // The same versions again change nothing.
    let reply = crm(&inbox, "PUT", "/api/v1/directory/people", people).await;
    assert_eq!(reply.body, json!({"created": 0, "updated": 0, "stale": 2}));
    // An older version is stale; a newer one wins; in one request, the newest of an id counts.
    let reply = crm(
        &inbox,
        "PUT",
        "/api/v1/directory/people",
        json!([
            {"external_id": "p-1", "first_name": "Old", "updated_at": "2026-11-21T09:00:00Z"},
            {"external_id": "p-2", "first_name": "Marc", "last_name": "Lefèvre", "updated_at": "2026-11-22T10:00:00Z"},
            {"external_id": "p-2", "first_name": "Marcus", "updated_at": "2026-11-21T11:00:00Z"}
        ]),
    )
    .await;
    assert_eq!(reply.body, json!({"created": 0, "updated": 1, "stale": 2}));
    assert_eq!(
        scalar(
            &inbox,
            "SELECT first_name || ' ' || last_name FROM people WHERE external_id = 'p-2'"
        )
        .await,
        "Marc Lefèvre"
    );
    let sophie = scalar(
        &inbox,
        "SELECT jsonb_build_object('first', p.first_name, 'org', o.name, 'owner', u.full_name,
                'phone', p.phone)
         FROM people p JOIN organisations o ON o.id = p.organisation_id
         JOIN users u ON u.id = p.owner_id WHERE p.external_id = 'p-1'",
    )
    .await;
    assert_eq!(
        sophie,
        json!({"first": "Sophie", "org": "Boulangeries Dupain", "owner": "Camille Martin", "phone": "+33 1 02 03 04 05"})
    );
    assert_eq!(
        scalar(
            &inbox,
            "SELECT is_active FROM users WHERE external_id = 'u-2'"
        )
        .await,
        false
    );
}

#[tokio::test]
async fn control_characters_are_refused_and_a_taken_address_is_a_conflict() {
    let inbox = inbox().await;
    the_sales_team(&inbox).await;
    // A NUL cannot even be stored by PostgreSQL: a 422 naming the field, not a 500.
    for (path, body, field) in [
        (
            "/api/v1/directory/organisations",
            json!([{"external_id": "o-2", "name": "Cabinet\u{0}Horizon", "updated_at": NOW}]),
            "[0].name",
        ),
        (
            "/api/v1/directory/people",
            json!({"external_id": "p-1", "last_name": "Roux\u{7}", "updated_at": NOW}),
            "last_name",
        ),
        (
            "/api/v1/directory/people",
            json!({"external_id": "p\n1", "updated_at": NOW}),
            "external_id",
        ),
    ] {
        let reply = crm(&inbox, "PUT", path, body).await;
        assert_eq!(reply.status, 422, "{path}: {}", reply.text);
        assert_eq!(reply.bad_fields(), [field], "{path}");
    }
    // Well formed, but another user holds the address: 409 naming it, nothing written.
    let reply = crm(
        &inbox,
        "PUT",
        "/api/v1/directory/users",
        json!({"external_id": "u-3", "email": "Camille@crm.test", "name": "Camille Bis", "updated_at": NOW}),
    )
    .await;
    assert_eq!(reply.status, 409, "{}", reply.text);
    assert_eq!(reply.body["errors"][0]["field"], "email");
    assert_eq!(
        scalar(
            &inbox,
            "SELECT count(*) FROM users WHERE external_id = 'u-3'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_bad_request_is_refused_whole_naming_each_field() {
    let inbox = inbox().await;
    the_sales_team(&inbox).await;
    let reply = crm(
        &inbox,
        "PUT",
        "/api/v1/directory/people",
        json!([
            {"external_id": "p-1", "email": "not-an-address", "updated_at": "2026-11-21T10:00:00Z"},
            {"external_id": "p-2", "owner_external_id": "u-404", "organisation_external_id": "o-404", "updated_at": "2026-11-21T10:00:00Z"},
            {"external_id": "p-3"},
            {"external_id": "p-4", "updated_at": "2026-11-21T10:00:00"},
            {"external_id": "p-5", "nickname": "x", "updated_at": "2026-11-21T10:00:00Z"}
        ]),
    )
    .await;
    let mut fields = reply.bad_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "[0].email",
            "[2].updated_at",
            "[3].updated_at",
            "[4].nickname"
        ],
        "each value as it is read, before any reference: {}",
        reply.text
    );
    let reply = crm(
        &inbox,
        "PUT",
        "/api/v1/directory/people",
        json!([
            {"external_id": "p-1", "email": "not-an-address", "updated_at": "2026-11-21T10:00:00Z"},
            {"external_id": "p-2", "updated_at": "2026-11-21T10:00:00Z"},
            {"external_id": "p-3", "owner_external_id": "u-404", "organisation_external_id": "o-404", "updated_at": "2026-11-21T10:00:00Z"}
        ]),
    )
    .await;
    assert_eq!(reply.bad_fields(), ["[0].email"]);
    let reply = crm(
        &inbox,
        "PUT",
        "/api/v1/directory/people",
        json!([
            {"external_id": "p-2", "updated_at": "2026-11-21T10:00:00Z"},
            {"external_id": "p-3", "owner_external_id": "u-404", "organisation_external_id": "o-404", "updated_at": "2026-11-21T10:00:00Z"}
        ]),
    )
    .await;
    let mut fields = reply.bad_fields();
    fields.sort();
    assert_eq!(
        fields,
        ["[1].organisation_external_id", "[1].owner_external_id"]
    );
    assert_eq!(
        scalar(
            &inbox,
            "SELECT count(*) FROM people WHERE external_id IS NOT NULL"
        )
        .await,
        0,
        "nothing written"
    );
    // Transport refusals, as everywhere.
    let too_many: Vec<Value> = (0..1001)
        .map(|i| json!({"external_id": format!("o-{i}"), "name": "x", "updated_at": NOW}))
        .collect();
    let reply = crm(
        &inbox,
        "PUT",
        "/api/v1/directory/organisations",
        json!(too_many),
    )
    .await;
    assert_eq!(reply.bad_fields(), ["(body)"]);
    let wrong_token = inbox
        .http
        .put(format!("{}/api/v1/directory/users", inbox.base))
        .bearer_auth("not-the-token-at-all")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status(), 401);
    let text = inbox
        .http
        .put(format!("{}/api/v1/directory/users", inbox.base))
        .bearer_auth(CRM_TOKEN)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
    let off = TestInbox::spawn(at(NOW)).await;
    let reply = crm(&off, "PUT", "/api/v1/directory/users", json!({})).await;
    assert_eq!(reply.status, 404, "no directory.token: the API is off");
}

/// One version of the small world the property plays with.
#[derive(Debug, Clone)]
enum Version {
    User(UserVersion),
    Organisation(OrganisationVersion),
    Person(PersonVersion),
}

impl Version {
    fn at(&self) -> DateTime<Utc> {
        let at = match self {
            Version::User(v) => v.updated_at,
            Version::Organisation(v) => v.updated_at,
            Version::Person(v) => v.updated_at,
        };
        at.with_timezone(&Utc)
    }
}

fn versions(seed: u64) -> Vec<Version> {
    // A small deterministic generator: the property needs variety, not cryptography.
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move |n: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
        (state >> 33) % n
    };
    // The generated values are valid by construction.
    fn valid<T: std::str::FromStr>(raw: String) -> T
    where
        T::Err: std::fmt::Debug,
    {
        raw.parse().unwrap()
    }
    let mut out = Vec::new();
    for step in 0..24u64 {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T09:00:00+00:00").unwrap()
            + chrono::Duration::minutes(i64::try_from(next(40) * 10 + step).unwrap());
        out.push(match next(3) {
            0 => {
                let n = next(2);
                Version::User(UserVersion {
                    external_id: valid(format!("u-{n}")),
                    email: valid(format!("user{n}-{}@crm.test", next(3))),
                    name: valid(format!("User {}", next(5))),
                    active: Some(next(2) == 0),
                    role: None,
                    team_external_ids: Vec::new(),
                    updated_at: at,
                })
            }
            1 => Version::Organisation(OrganisationVersion {
                external_id: valid(format!("o-{}", next(2))),
                name: valid(format!("Org {}", next(5))),
                updated_at: at,
            }),
            _ => {
                let n = next(3);
                Version::Person(PersonVersion {
                    external_id: valid(format!("p-{n}")),
                    first_name: Some(valid(format!("First {}", next(5)))),
                    last_name: None,
                    email: Some(valid(format!("person{n}-{}@crm.test", next(3)))),
                    phone: None,
                    organisation_external_id: (next(3) > 0)
                        .then(|| valid(format!("o-{}", next(2)))),
                    owner_external_id: (next(3) > 0).then(|| valid(format!("u-{}", next(2)))),
                    updated_at: at,
                })
            }
        });
    }
    out
}

/// Applies versions in chunks, each chunk one transaction with the NATS consumer's rules.
async fn apply_in_chunks(ctx: &TestContext, versions: &[Version], chunk: usize) {
    for part in versions.chunks(chunk) {
        let mut tx = ctx.pool().begin().await.unwrap();
        let users: Vec<UserVersion> = part
            .iter()
            .filter_map(|v| match v {
                Version::User(u) => Some(u.clone()),
                _ => None,
            })
            .collect();
        let orgs: Vec<OrganisationVersion> = part
            .iter()
            .filter_map(|v| match v {
                Version::Organisation(o) => Some(o.clone()),
                _ => None,
            })
            .collect();
        let people: Vec<PersonVersion> = part
            .iter()
            .filter_map(|v| match v {
                Version::Person(p) => Some(p.clone()),
                _ => None,
            })
            .collect();
        if !users.is_empty() {
            put_users(&mut tx, &users, true).await.unwrap();
        }
        if !orgs.is_empty() {
            put_organisations(&mut tx, &orgs).await.unwrap();
        }
        if !people.is_empty() {
            put_people(&mut tx, &people, true, References::MayComeLater)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
}

async fn snapshot(ctx: &TestContext) -> Value {
    let row: (Value,) = sqlx::query_as(
        "SELECT jsonb_build_object(
           'users', (SELECT jsonb_agg(jsonb_build_array(external_id, email, full_name, is_active) ORDER BY external_id) FROM users WHERE external_id IS NOT NULL),
           'orgs', (SELECT jsonb_agg(jsonb_build_array(external_id, name) ORDER BY external_id) FROM organisations WHERE external_id IS NOT NULL),
           'people', (SELECT jsonb_agg(jsonb_build_array(p.external_id, p.first_name, p.email, o.external_id, u.external_id) ORDER BY p.external_id)
                      FROM people p LEFT JOIN organisations o ON o.id = p.organisation_id LEFT JOIN users u ON u.id = p.owner_id
                      WHERE p.external_id IS NOT NULL))",
    )
    .fetch_one(ctx.pool())
    .await
    .unwrap();
    row.0
}

/// Any order, any repetition, any chunking of the same versions: the state of time order.
#[tokio::test]
async fn versions_in_any_order_and_repeated_end_in_the_state_of_time_order() {
    for seed in 0..8u64 {
        let versions = versions(seed);
        let in_order = {
            let mut sorted = versions.clone();
            sorted.sort_by_key(Version::at);
            sorted
        };
        let expected_ctx = TestContext::new().await;
        apply_in_chunks(&expected_ctx, &in_order, 1).await;
        let expected = snapshot(&expected_ctx).await;
        let shuffled_ctx = TestContext::new().await;
        let mut shuffled: Vec<Version> = versions.iter().rev().cloned().collect();
        shuffled.extend(versions.iter().step_by(3).cloned());
        apply_in_chunks(&shuffled_ctx, &shuffled, 1 + (seed as usize % 5)).await;
        assert_eq!(snapshot(&shuffled_ctx).await, expected, "seed {seed}");
    }
}

fn event(send: &str, kind: EventKind, minute: i64, recipient: &str, subject: &str) -> EmailEvent {
    let occurred_at = at("2026-11-24T09:00:00Z") + chrono::Duration::minutes(minute);
    EmailEvent {
        schema: SCHEMA_VERSION,
        event_key: digest_event_key("resend", send, kind, occurred_at),
        provider: "resend".into(),
        external_id: send.into(),
        event: kind,
        occurred_at,
        received_at: occurred_at,
        person_id: None,
        organisation_id: None,
        person_external_id: None,
        recipient: Some(recipient.into()),
        subject: Some(subject.into()),
        url: None,
        machine_open: false,
    }
}

async fn apply(inbox: &TestInbox, events: &[EmailEvent]) {
    relance_scoring::apply::apply_batch(
        inbox.pool(),
        events,
        None,
        &ScoringRules::default(),
        &Default::default(),
    )
    .await
    .unwrap();
}

/// The whole database as `pg_dump` writes it.
fn dump(inbox: &TestInbox) -> String {
    let output = std::process::Command::new("pg_dump")
        .args(["--data-only", "--no-owner", &inbox.db.url])
        .output()
        .expect("pg_dump (postgresql-client) for the erasure test");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Gwenaëlle Quérouil in the directory, engaged: opens and clicks (an "Email ouvert"
/// interaction, a hot lead naming her), a reminder about it, and a dead letter naming her
/// address.
async fn gwenaelle_engaged(inbox: &TestInbox, address: &str) {
    crm(
        inbox,
        "PUT",
        "/api/v1/directory/people",
        json!({"external_id": "p-9", "first_name": "Gwenaëlle", "last_name": "Quérouil",
               "email": "gwenaelle.querouil@dupain.test", "phone": "+33 6 98 76 54 32",
               "organisation_external_id": "o-1", "owner_external_id": "u-1",
               "updated_at": "2026-11-21T10:00:00Z"}),
    )
    .await
    .expect(reqwest::StatusCode::OK);
    apply(
        inbox,
        &[
            event("m-1", EventKind::Opened, 1, address, "Devis pour Gwenaëlle"),
            event(
                "m-1",
                EventKind::Clicked,
                2,
                address,
                "Devis pour Gwenaëlle",
            ),
            event("m-2", EventKind::Opened, 3, address, "Relance"),
            event("m-2", EventKind::Clicked, 4, address, "Relance"),
        ],
    )
    .await;
    sqlx::raw_sql(
        "INSERT INTO notifications (user_id, kind, interaction_id, title, due_at)
         SELECT assignee_id, 'interaction_overdue', id, title, now() FROM crm_interactions
         WHERE person_id = (SELECT id FROM people WHERE external_id = 'p-9') AND assignee_id IS NOT NULL",
    )
    .execute(inbox.pool())
    .await
    .unwrap();
    let names = inbox.names();
    let js = inbox.jetstream().await;
    js.publish(
        names.email_dlq_subject("resend"),
        serde_json::to_vec(&event("m-3", EventKind::Opened, 5, address, "x"))
            .unwrap()
            .into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
}

#[tokio::test]
async fn an_erased_person_leaves_no_trace_in_a_dump_of_the_database() {
    let inbox = inbox().await;
    the_sales_team(&inbox).await;
    let address = "Gwenaelle.Querouil@dupain.test";
    gwenaelle_engaged(&inbox, address).await;
    let names = inbox.names();
    let js = inbox.jetstream().await;
    let before = dump(&inbox);
    for trace in ["Gwenaëlle", "Quérouil", "gwenaelle.querouil", "98 76 54 32"] {
        assert!(
            before.to_lowercase().contains(&trace.to_lowercase()),
            "{trace} before"
        );
    }

    let reply = crm(
        &inbox,
        "DELETE",
        "/api/v1/directory/people/p-9",
        Value::Null,
    )
    .await;
    assert_eq!(reply.status, 204, "{}", reply.text);

    let after = dump(&inbox).to_lowercase();
    for trace in [
        "gwenaëlle",
        "gwenaelle",
        "quérouil",
        "querouil",
        "98 76 54 32",
    ] {
        assert!(!after.contains(trace), "{trace} is still in the dump");
    }
    // The sends keep their counters.
    assert_eq!(
        scalar(
            &inbox,
            "SELECT sum(open_count + click_count) FROM email_sends"
        )
        .await,
        4
    );
    let mut dlq = js.get_stream(names.email_dlq_stream()).await.unwrap();
    assert_eq!(
        dlq.info().await.unwrap().state.messages,
        0,
        "dead letters purged"
    );
    // Later events for that address, or for her sends, identify nobody and create nothing.
    let (sends, interactions) = (
        scalar(&inbox, "SELECT count(*) FROM email_sends").await,
        scalar(&inbox, "SELECT count(*) FROM crm_interactions").await,
    );
    apply(
        &inbox,
        &[
            event("m-1", EventKind::Opened, 10, address, "x"),
            event("m-4", EventKind::Opened, 11, address, "Nouvelle offre"),
        ],
    )
    .await;
    assert_eq!(
        scalar(&inbox, "SELECT count(*) FROM email_sends").await,
        sends
    );
    assert_eq!(
        scalar(&inbox, "SELECT count(*) FROM crm_interactions").await,
        interactions
    );
    // An older version arriving late does not bring her back; unknown ids are a 404.
    let reply = crm(
        &inbox,
        "PUT",
        "/api/v1/directory/people",
        json!({"external_id": "p-9", "first_name": "Gwenaëlle", "updated_at": "2026-11-21T11:00:00Z"}),
    )
    .await;
    assert_eq!(reply.body["stale"], 1);
    let reply = crm(
        &inbox,
        "DELETE",
        "/api/v1/directory/people/p-9",
        Value::Null,
    )
    .await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn a_merge_moves_everything_to_the_survivor_and_recomputes_the_score() {
    let inbox = inbox().await;
    the_sales_team(&inbox).await;
    crm(
        &inbox,
        "PUT",
        "/api/v1/directory/people",
        json!([
            {"external_id": "p-1", "first_name": "Sophie", "email": "sophie@dupain.test", "updated_at": NOW},
            {"external_id": "p-2", "first_name": "Sophie D.", "email": "s.durand@perso.test", "updated_at": NOW}
        ]),
    )
    .await
    .expect(reqwest::StatusCode::OK);
    // Survivor: a bounce at minute 1 (0), then an open at 5 (+3). Merged: an open and a click
    // at 2 and 3 (+3, +8). Alone: 3 and 11. In time order merged: 0-10→0, +3, +8, +3 = 14.
    apply(
        &inbox,
        &[
            event("a", EventKind::Bounced, 1, "sophie@dupain.test", "x"),
            event("b", EventKind::Opened, 5, "sophie@dupain.test", "x"),
            event("c", EventKind::Opened, 2, "s.durand@perso.test", "y"),
            event("c", EventKind::Clicked, 3, "s.durand@perso.test", "y"),
        ],
    )
    .await;
    let reply = crm(
        &inbox,
        "POST",
        "/api/v1/directory/people/merge",
        json!({"survivor_external_id": "p-1", "merged_external_id": "p-2"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["score"], 14);
    let survivor = reply.body["person_id"].as_i64().unwrap();
    let history: Vec<(i32, i32)> = sqlx::query_as(
        "SELECT delta, score_after FROM lead_score_history WHERE person_id = $1 ORDER BY occurred_at, id",
    )
    .bind(survivor)
    .fetch_all(inbox.pool())
    .await
    .unwrap();
    assert_eq!(history, [(-10, 0), (3, 3), (8, 11), (3, 14)]);
    assert_eq!(
        scalar(
            &inbox,
            &format!("SELECT score FROM lead_scores WHERE person_id = {survivor}")
        )
        .await,
        14
    );
    assert_eq!(
        scalar(
            &inbox,
            &format!("SELECT count(*) FROM email_sends WHERE person_id = {survivor}")
        )
        .await,
        3
    );
    assert_eq!(
        scalar(
            &inbox,
            "SELECT count(*) FROM people WHERE external_id = 'p-2'"
        )
        .await,
        0,
        "the merged person is gone"
    );
    let reply = crm(
        &inbox,
        "POST",
        "/api/v1/directory/people/merge",
        json!({"survivor_external_id": "p-1", "merged_external_id": "p-2"}),
    )
    .await;
    assert_eq!(reply.status, 404);
    let reply = crm(
        &inbox,
        "POST",
        "/api/v1/directory/people/merge",
        json!({"survivor_external_id": "p-1", "merged_external_id": "p-1"}),
    )
    .await;
    assert_eq!(reply.bad_fields(), ["merged_external_id"]);
}

#[tokio::test]
async fn over_nats_a_person_arriving_before_its_organisation_and_owner_ends_linked() {
    let inbox = inbox().await;
    let names = inbox.names();
    let js = inbox.jetstream().await;
    let publish = |kind: relance_shared::directory::Kind, op: &'static str, body: Value| {
        let js = js.clone();
        let subject = names.crm_directory_subject(kind, op);
        async move {
            js.publish(subject, body.to_string().into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    };
    use relance_shared::directory::Kind;
    publish(
        Kind::People,
        "upsert",
        json!({"external_id": "p-1", "first_name": "Nadia", "organisation_external_id": "o-1",
               "owner_external_id": "u-1", "updated_at": "2026-11-21T10:00:00Z"}),
    )
    .await;
    publish(Kind::People, "upsert", json!({"external_id": "p-2"})).await; // poison: no updated_at
    publish(
        Kind::Organisations,
        "upsert",
        json!({"external_id": "o-1", "name": "Transports Rapides", "updated_at": "2026-11-20T10:00:00Z"}),
    )
    .await;
    publish(
        Kind::Users,
        "upsert",
        json!({"external_id": "u-1", "email": "lea@crm.test", "name": "Léa Petit", "updated_at": "2026-11-20T10:00:00Z"}),
    )
    .await;
    let linked = testing::wait_for(Duration::from_secs(20), "the person linked", || async {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT o.name, u.full_name FROM people p JOIN organisations o ON o.id = p.organisation_id
             JOIN users u ON u.id = p.owner_id WHERE p.external_id = 'p-1'",
        )
        .fetch_optional(inbox.pool())
        .await
        .unwrap();
        row
    })
    .await;
    assert_eq!(linked, ("Transports Rapides".into(), "Léa Petit".into()));
    testing::wait_for(Duration::from_secs(10), "the poison dead-lettered", || {
        let (js, stream) = (js.clone(), names.directory_dlq_stream());
        async move {
            let mut dlq = js.get_stream(stream).await.ok()?;
            (dlq.info().await.ok()?.state.messages == 1).then_some(())
        }
    })
    .await;
    publish(
        Kind::People,
        "delete",
        json!({"external_id": "p-1", "updated_at": "2026-11-22T10:00:00Z"}),
    )
    .await;
    testing::wait_for(Duration::from_secs(20), "the person erased", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM people WHERE external_id = 'p-1'")
            .fetch_one(inbox.pool())
            .await
            .unwrap();
        (n == 0).then_some(())
    })
    .await;
}

/// An erasure while the relay is behind: an interaction that left the person a moment ago
/// still carries their name in the search index (its change waits for the relay, paused here
/// by holding its lock); the erasure's own refresh clears it before the commit.
#[tokio::test]
async fn an_erasure_clears_the_name_from_the_index_even_while_the_relay_is_behind() {
    let inbox = inbox().await;
    the_sales_team(&inbox).await;
    crm(
        &inbox,
        "PUT",
        "/api/v1/directory/people",
        json!({"external_id": "p-9", "first_name": "Gwenaëlle", "last_name": "Quérouil",
               "updated_at": "2026-11-21T10:00:00Z"}),
    )
    .await
    .expect(reqwest::StatusCode::OK);
    let pool = inbox.pool();
    let moved: i64 = sqlx::query_scalar(
        "INSERT INTO crm_interactions (type, title, person_id) \
         SELECT 'call', 'Rappeler', id FROM people WHERE external_id = 'p-9' RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    inbox.relay_settled().await;
    let held = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM interaction_search_words \
             WHERE word IN ('gwenaelle', 'querouil')",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    };
    assert_eq!(held().await, 2, "indexed under her name");

    // The relay paused ("relay" in ASCII, live/relay.rs), then the interaction moves to
    // another person: its words still name her until the relay takes the change in.
    let mut paused = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(x'72656c6179'::bigint)")
        .execute(&mut *paused)
        .await
        .unwrap();
    sqlx::query("UPDATE crm_interactions SET person_id = 2 WHERE id = $1")
        .bind(moved)
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(held().await, 2, "stale while the relay is paused");

    let reply = crm(
        &inbox,
        "DELETE",
        "/api/v1/directory/people/p-9",
        Value::Null,
    )
    .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert_eq!(held().await, 0, "her name left the index with the erasure");
    let lexicon: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM search_lexicon WHERE word IN ('gwenaelle', 'querouil')",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(lexicon, 0);
    paused.rollback().await.unwrap();
}
