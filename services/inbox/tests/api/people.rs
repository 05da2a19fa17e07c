//! The directory's read side for the web app: a person, the people search and its pages, a
//! person's sends, an organisation; and the interaction edit (`PATCH /api/v1/interactions/{id}`).

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const NOW: &str = "2026-06-10T12:00:00Z";

async fn fill(inbox: &TestInbox) {
    sqlx::raw_sql(
        "UPDATE people SET external_id = 'crm-1', phone = '+33 1 02 03 04 05' WHERE id = 1; \
         INSERT INTO people (id, first_name, last_name, email, organisation_id) VALUES \
         (5, 'Anne', 'Lefèvre', 'anne@oeuvre.test', 1), (6, 'Éric', 'Lefevre', 'eric@x.test', NULL); \
         INSERT INTO lead_scores (person_id, score, last_event_at) VALUES \
         (1, 32, '2026-06-09T10:00:00Z'), (2, 4, '2026-06-01T10:00:00Z'); \
         INSERT INTO email_sends (id, person_id, provider, external_id, subject, recipient, status, \
           sent_at, open_count, click_count, first_open_at) VALUES \
         (1, 1, 'resend', 'm-1', 'Offre', 'jeanne@acme.test', 'opened', '2026-06-01T09:00:00Z', 2, 0, '2026-06-01T10:00:00Z'), \
         (2, 1, 'resend', 'm-2', 'Relance', 'jeanne@acme.test', 'clicked', '2026-06-05T09:00:00Z', 1, 1, '2026-06-05T10:00:00Z'), \
         (3, 2, 'resend', 'm-3', 'Offre', 'marc@acme.test', 'sent', '2026-06-02T09:00:00Z', 0, 0, NULL);",
    )
    .execute(inbox.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn a_person_comes_with_organisation_owner_and_score() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    fill(&inbox).await;
    let reply = inbox
        .get("/api/v1/people/1", Some(ALICE))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        reply.body,
        json!({
            "id": 1, "external_id": "crm-1", "first_name": "Jeanne", "last_name": "Durand",
            "email": "jeanne@acme.test", "phone": "+33 1 02 03 04 05",
            "organisation": {"id": 1, "name": "Acme SA"},
            "owner": {"id": 1, "name": "Alice Martin"},
            "score": 32, "hot": true, "last_event_at": "2026-06-09T10:00:00Z",
            "heat": {"warm": 15, "hot": 20, "very_hot": 30}
        })
    );
    // Never scored, no organisation or owner.
    let reply = inbox
        .get("/api/v1/people/4", Some(ALICE))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (
            &reply.body["score"],
            &reply.body["hot"],
            &reply.body["organisation"],
            &reply.body["owner"]
        ),
        (&json!(0), &json!(false), &Value::Null, &Value::Null)
    );
    assert_eq!(
        inbox.get("/api/v1/people/2", Some(ALICE)).await.body["hot"],
        false
    );
    inbox
        .get("/api/v1/people/999", Some(ALICE))
        .await
        .expect(StatusCode::NOT_FOUND);
    for bad in ["0", "-1", "abc", "1.5"] {
        let reply = inbox
            .get(&format!("/api/v1/people/{bad}"), Some(ALICE))
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply.bad_fields(), ["id"], "{bad}");
    }
    inbox
        .get("/api/v1/people/1", None)
        .await
        .expect(StatusCode::UNAUTHORIZED);
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn people_search_by_name_or_email_accents_ignored_in_name_order() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    fill(&inbox).await;
    // By last name, then first name, accents and case folded: Blanc, Durand, Lefèvre Anne,
    // Lefevre Éric, Leroy, Noir.
    let all = inbox
        .get("/api/v1/people", Some(ALICE))
        .await
        .expect(StatusCode::OK);
    assert_eq!(ids(&all.body), [3, 1, 5, 6, 2, 4]);
    assert_eq!(all.body["cursor"], Value::Null);
    assert_eq!(
        all.body["items"][1],
        json!({"id": 1, "name": "Jeanne Durand", "email": "jeanne@acme.test",
               "organisation_id": 1, "organisation_name": "Acme SA", "score": 32})
    );
    for (q, expected) in [
        ("lefevre", vec![5, 6]),
        ("LEFÈVRE", vec![5, 6]),
        ("eric", vec![6]),
        ("oeuvre", vec![5]),
        ("acme.test", vec![3, 1, 2]),
        ("jeanne durand", vec![1]),
        ("durand marc", vec![]),
        ("%", vec![]),
        ("_", vec![]),
    ] {
        let query = url_encode(q);
        let reply = inbox
            .get(&format!("/api/v1/people?q={query}"), Some(ALICE))
            .await
            .expect(StatusCode::OK);
        assert_eq!(ids(&reply.body), expected, "q={q}");
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn people_pages_walk_everyone_once_and_bad_parameters_are_named() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    // 53 more people, several sharing a name, so ties are broken by id.
    sqlx::raw_sql(
        "INSERT INTO people (first_name, last_name) \
         SELECT 'P' || (g % 7), 'Nom' || (g % 5) FROM generate_series(1, 53) g",
    )
    .execute(inbox.pool())
    .await
    .unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/people?limit=10&cursor={c}"),
            None => "/api/v1/people?limit=10".into(),
        };
        let page = inbox.get(&path, Some(ALICE)).await.expect(StatusCode::OK);
        assert!(page.body["items"].as_array().unwrap().len() <= 10);
        seen.extend(ids(&page.body));
        match page.body["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 57);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 57);
    let whole = inbox.get("/api/v1/people?limit=100", Some(ALICE)).await;
    assert_eq!(ids(&whole.body), seen, "pages follow the one order");

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("cursor=garbage", "cursor"),
        ("q=a%00b", "q"),
    ] {
        let reply = inbox
            .get(&format!("/api/v1/people?{query}"), Some(ALICE))
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply.bad_fields(), [field], "{query}");
    }
    let long = "a".repeat(201);
    let reply = inbox
        .get(&format!("/api/v1/people?q={long}"), Some(ALICE))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.bad_fields(), ["q"]);
    inbox
        .get("/api/v1/people", None)
        .await
        .expect(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_persons_sends_latest_first_and_an_organisation_with_its_people() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    fill(&inbox).await;
    let reply = inbox
        .get("/api/v1/people/1/sends", Some(ALICE))
        .await
        .expect(StatusCode::OK);
    assert_eq!(reply.body["total"], 2);
    assert_eq!(
        reply.body["items"][0],
        json!({"id": 2, "provider": "resend", "subject": "Relance", "status": "clicked",
               "sent_at": "2026-06-05T09:00:00Z", "delivered_at": null, "open_count": 1,
               "click_count": 1, "first_open_at": "2026-06-05T10:00:00Z",
               "last_open_at": null, "last_click_at": null, "bounced_at": null})
    );
    assert_eq!(reply.body["items"][1]["id"], 1);
    let one = inbox
        .get("/api/v1/people/1/sends?limit=1", Some(ALICE))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (
            one.body["items"].as_array().unwrap().len(),
            &one.body["total"]
        ),
        (1, &json!(2))
    );
    let none = inbox
        .get("/api/v1/people/4/sends", Some(ALICE))
        .await
        .expect(StatusCode::OK);
    assert_eq!(none.body, json!({"items": [], "total": 0}));
    inbox
        .get("/api/v1/people/999/sends", Some(ALICE))
        .await
        .expect(StatusCode::NOT_FOUND);
    let reply = inbox
        .get("/api/v1/people/x/sends?limit=0", Some(ALICE))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.bad_fields(), ["id", "limit"]);

    let org = inbox
        .get("/api/v1/organisations/1", Some(ALICE))
        .await
        .expect(StatusCode::OK);
    // Highest score first, then by name.
    assert_eq!(
        org.body,
        json!({
            "id": 1, "external_id": null, "name": "Acme SA",
            "people": [
                {"id": 1, "name": "Jeanne Durand", "email": "jeanne@acme.test", "score": 32},
                {"id": 2, "name": "Marc Leroy", "email": "marc@acme.test", "score": 4},
                {"id": 5, "name": "Anne Lefèvre", "email": "anne@oeuvre.test", "score": 0}
            ],
            "people_total": 3,
            "heat": {"warm": 15, "hot": 20, "very_hot": 30}
        })
    );
    inbox
        .get("/api/v1/organisations/999", Some(ALICE))
        .await
        .expect(StatusCode::NOT_FOUND);
    let reply = inbox
        .get("/api/v1/organisations/abc", Some(ALICE))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.bad_fields(), ["id"]);
}

#[tokio::test]
async fn an_interaction_edit_changes_the_fields_given_and_refuses_bad_ones_whole() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let id = inbox
        .add(
            "Appeler Jeanne",
            "todo",
            Some(ALICE),
            None,
            "2026-06-01T09:00:00Z",
        )
        .await;
    let path = format!("/api/v1/interactions/{id}");
    let reply = inbox
        .send("PATCH", &path, Some(ALICE), json!({"title": "  Rappeler Jeanne  ", "description": "Devis\nà revoir", "type": "meeting"}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (
            &reply.body["title"],
            &reply.body["description"],
            &reply.body["type"]
        ),
        (
            &json!("Rappeler Jeanne"),
            &json!("Devis\nà revoir"),
            &json!("meeting")
        )
    );
    // Only what is given changes; null removes the description.
    let reply = inbox
        .send("PATCH", &path, Some(ALICE), json!({"description": null}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (
            &reply.body["title"],
            &reply.body["description"],
            &reply.body["type"]
        ),
        (&json!("Rappeler Jeanne"), &Value::Null, &json!("meeting"))
    );
    let reply = inbox
        .send("PATCH", &path, Some(ALICE), json!({"type": "note"}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(reply.body["type"], "note");

    let before = inbox.get(&path, Some(ALICE)).await.body;
    for (body, fields) in [
        (json!({}), vec!["(body)"]),
        // serde reads a struct from an array field by field: the body must be an object.
        (json!([null, null]), vec!["(body)"]),
        (json!({"type": null}), vec!["type"]),
        (json!({"title": null}), vec!["title"]),
        (json!({"title": "   "}), vec!["title"]),
        (json!({"title": "x".repeat(501)}), vec!["title"]),
        (json!({"title": "a\u{0}b"}), vec!["title"]),
        (
            json!({"title": "ok", "description": "d".repeat(10_001)}),
            vec!["description"],
        ),
        (json!({"description": "a\u{0}b"}), vec!["description"]),
        (
            json!({"title": "", "description": "\u{7}"}),
            vec!["description", "title"],
        ),
    ] {
        let reply = inbox
            .send("PATCH", &path, Some(ALICE), body.clone())
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply.bad_fields(), fields, "{body}");
    }
    inbox
        .send("PATCH", &path, Some(ALICE), json!({"type": "fax"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    inbox
        .send(
            "PATCH",
            &path,
            Some(ALICE),
            json!({"title": "x", "status": "done"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let after = inbox.get(&path, Some(ALICE)).await.body;
    assert_eq!(before, after, "a refused edit changes nothing");
    inbox
        .send(
            "PATCH",
            "/api/v1/interactions/99999",
            Some(ALICE),
            json!({"title": "x"}),
        )
        .await
        .expect(StatusCode::NOT_FOUND);
    inbox
        .send("PATCH", &path, None, json!({"title": "x"}))
        .await
        .expect(StatusCode::UNAUTHORIZED);
}
