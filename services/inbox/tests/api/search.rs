//! The seed's advanced filters and search (`type`, `person_id`, `organisation_id`, `from`, `to`,
//! `q`) on the inbox, its stats, its CSV export and bulk-by-filter: each alone and combined,
//! accents and case ignored, bad values named.

use serde_json::json;

use crate::helpers::*;

const NOW: &str = "2026-06-10T12:00:00Z";

/// People 1-4 come from the harness; 5 is Hélène Lefèvre of "Bâtiments Œuvre" (organisation 2).
async fn fixture() -> TestInbox {
    let inbox = TestInbox::spawn(at(NOW)).await;
    sqlx::raw_sql(
        "INSERT INTO organisations (id, name) VALUES (2, 'Bâtiments Œuvre'); \
         INSERT INTO people (id, first_name, last_name, email, organisation_id) VALUES \
         (5, 'Hélène', 'Lefèvre', 'helene@oeuvre-batiments.test', 2);",
    )
    .execute(inbox.pool())
    .await
    .unwrap();
    for (title, kind, person, org, description, next) in [
        (
            "Appeler pour le devis",
            "call",
            Some(1),
            Some(1),
            None,
            Some("2026-06-09T08:00:00Z"),
        ),
        (
            "Envoyer la plaquette",
            "email",
            Some(2),
            Some(1),
            Some("Remise de 50% prévue"),
            Some("2026-06-10T15:00:00Z"),
        ),
        (
            "Réunion de chantier",
            "meeting",
            Some(5),
            Some(2),
            Some("Sur place à Nîmes"),
            Some("2026-06-12T09:00:00Z"),
        ),
        (
            "Note après l'appel",
            "note",
            Some(5),
            Some(2),
            Some("Très intéressée, rappeler"),
            None,
        ),
        (
            "Relancer Hélène",
            "call",
            None,
            None,
            None,
            Some("2026-06-20T09:00:00Z"),
        ),
        (
            "Rappel sans personne",
            "call",
            None,
            None,
            Some("50_50"),
            Some("2026-06-11T09:00:00Z"),
        ),
    ] {
        sqlx::query(
            "INSERT INTO crm_interactions (type, title, status, person_id, organisation_id, \
             description, next_action_at, assignee_id, created_at, updated_at) \
             VALUES ($1::interaction_type, $2, 'todo', $3, $4, $5, $6, 1, $7, $7)",
        )
        .bind(kind)
        .bind(title)
        .bind(person)
        .bind(org)
        .bind(description)
        .bind(next.map(at))
        .bind(at("2026-06-01T00:00:00Z"))
        .execute(inbox.pool())
        .await
        .unwrap();
    }
    inbox
        .add(
            "Terminé Lefèvre",
            "done",
            Some(ALICE),
            Some("2026-06-08T08:00:00Z"),
            NOW,
        )
        .await;
    sqlx::raw_sql("UPDATE crm_interactions SET person_id = 5 WHERE title = 'Terminé Lefèvre'")
        .execute(inbox.pool())
        .await
        .unwrap();
    inbox
}

#[tokio::test]
async fn each_advanced_filter_and_their_combinations_select_exactly_their_rows() {
    let inbox = fixture().await;
    let cases: &[(&str, &[&str])] = &[
        (
            "type=call",
            &[
                "Appeler pour le devis",
                "Rappel sans personne",
                "Relancer Hélène",
            ],
        ),
        (
            "type=note,meeting",
            &["Réunion de chantier", "Note après l'appel"],
        ),
        ("type=email&type_ignored=1", &["Envoyer la plaquette"]),
        (
            "person_id=5",
            &["Réunion de chantier", "Note après l'appel"],
        ),
        ("person_id=5&status=done", &["Terminé Lefèvre"]),
        ("person_id=999", &[]),
        (
            "organisation_id=1",
            &["Appeler pour le devis", "Envoyer la plaquette"],
        ),
        // from <= next_action_at < to; rows without a next action never match.
        (
            "from=2026-06-10T15:00:00Z",
            &[
                "Envoyer la plaquette",
                "Rappel sans personne",
                "Réunion de chantier",
                "Relancer Hélène",
            ],
        ),
        ("to=2026-06-10T15:00:00Z", &["Appeler pour le devis"]),
        (
            "from=2026-06-10T17:00:00%2B02:00&to=2026-06-12T09:00:00Z",
            &["Envoyer la plaquette", "Rappel sans personne"],
        ),
        (
            "from=2026-06-11T00:00:00Z&due=week",
            &["Rappel sans personne", "Réunion de chantier"],
        ),
        // q: case and accents ignored, over title, description, person name and email.
        ("q=lefevre", &["Réunion de chantier", "Note après l'appel"]),
        ("q=LEFÈVRE", &["Réunion de chantier", "Note après l'appel"]),
        (
            "q=helene",
            &[
                "Réunion de chantier",
                "Relancer Hélène",
                "Note après l'appel",
            ],
        ),
        ("q=nimes", &["Réunion de chantier"]),
        (
            "q=oeuvre-batiments",
            &["Réunion de chantier", "Note après l'appel"],
        ),
        ("q=jeanne", &["Appeler pour le devis"]),
        ("q=REMISE", &["Envoyer la plaquette"]),
        // Every word, each anywhere: one in the person, one in the title.
        ("q=lefevre%20chantier", &["Réunion de chantier"]),
        ("q=%20%20chantier%20%20", &["Réunion de chantier"]),
        ("q=lefevre%20devis", &[]),
        // Wildcards are literal.
        ("q=50%25", &["Envoyer la plaquette"]),
        ("q=50_", &["Rappel sans personne"]),
        ("q=%25", &["Envoyer la plaquette"]),
        (
            "q=",
            &[
                "Appeler pour le devis",
                "Envoyer la plaquette",
                "Rappel sans personne",
                "Réunion de chantier",
                "Relancer Hélène",
                "Note après l'appel",
            ],
        ),
        // Combined with each other and with the seed's filters.
        ("q=lefevre&type=meeting", &["Réunion de chantier"]),
        (
            "q=lefevre&organisation_id=2&to=2026-06-30T00:00:00Z",
            &["Réunion de chantier"],
        ),
        ("q=appel&assignee=2", &[]),
        ("type=call&due=overdue", &["Appeler pour le devis"]),
    ];
    for (query, expected) in cases {
        let reply = inbox
            .get(&format!("/api/v1/interactions/inbox?{query}"), Some(ALICE))
            .await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.text);
        assert_eq!(titles(&reply.body), *expected, "{query}");
        assert_eq!(reply.body["total"], expected.len(), "{query}");
    }
}

#[tokio::test]
async fn stats_export_and_bulk_take_the_same_filters() {
    let inbox = fixture().await;
    let stats = inbox
        .get("/api/v1/interactions/inbox/stats?q=lefevre", Some(ALICE))
        .await;
    assert_eq!(
        stats.body,
        json!({"total": 3, "todo": 2, "in_progress": 0, "done": 1, "total_is_lower_bound": false}),
        "{}",
        stats.text
    );
    let stats = inbox
        .get(
            "/api/v1/interactions/inbox/stats?assignee=me&type=call",
            Some(ALICE),
        )
        .await;
    assert_eq!(stats.body["total"], 4, "{}", stats.text);

    let csv = inbox
        .get(
            "/api/v1/interactions/inbox/export?organisation_id=2&q=helene",
            Some(ALICE),
        )
        .await;
    assert_eq!(csv.status, 200);
    let lines: Vec<&str> = csv.text.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 3, "{}", csv.text);
    assert!(lines[1].contains("Réunion de chantier"));
    assert!(lines[2].contains("Note après l'appel"));

    let bulk = inbox
        .send(
            "POST",
            "/api/v1/interactions/bulk",
            Some(ALICE),
            json!({"filter": {"q": "LEFEVRE", "type": "note"}, "set": {"status": "in_progress"}}),
        )
        .await;
    assert_eq!(bulk.status, 200, "{}", bulk.text);
    assert_eq!(
        bulk.body,
        json!({"matched": 1, "changed": 1, "not_found": []})
    );
    assert_eq!(
        inbox.titles("status=in_progress", ALICE).await,
        ["Note après l'appel"]
    );
    let refused = inbox
        .send(
            "POST",
            "/api/v1/interactions/bulk",
            Some(ALICE),
            json!({"filter": {"person_id": -1, "from": "demain", "type": "fax"}, "set": {"status": "done"}}),
        )
        .await;
    let mut fields = bad_fields(&refused);
    fields.sort();
    assert_eq!(fields, ["filter.from", "filter.person_id", "filter.type"]);
    assert_eq!(
        inbox.titles("status=done", ALICE).await,
        ["Terminé Lefèvre"]
    );
}

#[tokio::test]
async fn bad_advanced_filters_are_each_named_and_the_cursor_stays_bound() {
    let inbox = fixture().await;
    let long = "x".repeat(201);
    for (query, fields) in [
        ("type=fax".to_owned(), vec!["type"]),
        ("type=call,".to_owned(), vec!["type"]),
        ("person_id=0".to_owned(), vec!["person_id"]),
        ("organisation_id=acme".to_owned(), vec!["organisation_id"]),
        ("from=2026-06-10".to_owned(), vec!["from"]),
        ("to=2026-06-10T12:00:00".to_owned(), vec!["to"]),
        (
            "from=2026-06-11T00:00:00Z&to=2026-06-10T00:00:00Z".to_owned(),
            vec!["to"],
        ),
        (format!("q={long}"), vec!["q"]),
        ("q=a%00b".to_owned(), vec!["q"]),
        (
            "type=x&person_id=x&due=x".to_owned(),
            vec!["due", "person_id", "type"],
        ),
    ] {
        for path in ["inbox", "inbox/stats", "inbox/export"] {
            let reply = inbox
                .get(&format!("/api/v1/interactions/{path}?{query}"), Some(ALICE))
                .await;
            let mut named = bad_fields(&reply);
            named.sort();
            assert_eq!(named, fields, "{path}?{query}: {}", reply.text);
        }
    }
    let first = inbox
        .get("/api/v1/interactions/inbox?q=lefevre&limit=1", Some(ALICE))
        .await;
    let cursor = first.body["cursor"].as_str().unwrap().to_owned();
    let next = inbox
        .get(
            &format!("/api/v1/interactions/inbox?q=lefevre&limit=1&cursor={cursor}"),
            Some(ALICE),
        )
        .await;
    assert_eq!(titles(&next.body), ["Note après l'appel"]);
    let other = inbox
        .get(
            &format!("/api/v1/interactions/inbox?q=helene&limit=1&cursor={cursor}"),
            Some(ALICE),
        )
        .await;
    assert_eq!(bad_fields(&other), ["cursor"]);
}
