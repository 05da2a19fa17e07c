//! Hot leads: order, threshold, limit, total, joined name and email; CSV; a person's score
//! explained by its history.

use serde_json::json;

use crate::helpers::*;

const NOW: &str = "2026-06-10T12:00:00Z";

async fn scores(inbox: &TestInbox) {
    // Jeanne 30, Marc 15 (at the default threshold), Sophie 30 but older activity, Paul 3.
    sqlx::raw_sql(
        "INSERT INTO lead_scores (person_id, score, last_event_at) VALUES \
         (1, 30, '2026-06-09T10:00:00Z'), (2, 15, '2026-06-01T10:00:00Z'), \
         (3, 30, '2026-06-02T10:00:00Z'), (4, 3, '2026-06-09T10:00:00Z')",
    )
    .execute(&inbox.db.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn hot_leads_order_threshold_limit_and_names() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    scores(&inbox).await;
    let reply = inbox.get("/api/v1/marketing/leads-hot", Some(ALICE)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({
            "items": [
                {"person_id": 1, "score": 30, "last_event_at": "2026-06-09T10:00:00Z",
                 "person_name": "Jeanne Durand", "person_email": "jeanne@acme.test"},
                {"person_id": 3, "score": 30, "last_event_at": "2026-06-02T10:00:00Z",
                 "person_name": "Sophie Blanc", "person_email": "sophie@acme.test"},
                {"person_id": 2, "score": 15, "last_event_at": "2026-06-01T10:00:00Z",
                 "person_name": "Marc Leroy", "person_email": "marc@acme.test"},
            ],
            "threshold": 15,
            "total": 3,
            "heat": {"warm": 15, "hot": 20, "very_hot": 30}
        })
    );
    let reply = inbox
        .get(
            "/api/v1/marketing/leads-hot?limit=1&threshold=3",
            Some(ALICE),
        )
        .await;
    assert_eq!(reply.body["total"], 4);
    assert_eq!(reply.body["threshold"], 3);
    assert_eq!(reply.body["items"].as_array().unwrap().len(), 1);
    let reply = inbox
        .get("/api/v1/marketing/leads-hot?threshold=31", Some(ALICE))
        .await;
    assert_eq!(reply.body["items"], json!([]));
    assert_eq!(reply.body["total"], 0);
    let reply = inbox
        .get(
            "/api/v1/marketing/leads-hot?threshold=0&limit=100",
            Some(ALICE),
        )
        .await;
    let last = &reply.body["items"][3];
    assert_eq!(last["person_name"], "Paul Noir");
    assert!(last["person_email"].is_null());
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("threshold=-1", "threshold"),
        ("threshold=high", "threshold"),
    ] {
        let reply = inbox
            .get(&format!("/api/v1/marketing/leads-hot?{query}"), Some(ALICE))
            .await;
        assert_eq!(bad_fields(&reply), [field], "{query}");
    }
}

#[tokio::test]
async fn the_threshold_and_heat_levels_come_from_the_configuration() {
    let inbox = TestInbox::spawn_with(at(NOW), |s| {
        s.scoring.rules.hot_threshold = 20;
        s.scoring.rules.heat_hot = 25;
        s.scoring.rules.heat_very_hot = 40;
    })
    .await;
    scores(&inbox).await;
    let reply = inbox.get("/api/v1/marketing/leads-hot", Some(ALICE)).await;
    assert_eq!(reply.body["threshold"], 20, "{}", reply.text);
    assert_eq!(reply.body["total"], 2, "Marc's 15 is below 20");
    assert_eq!(
        reply.body["heat"],
        json!({"warm": 20, "hot": 25, "very_hot": 40})
    );
    let csv = inbox
        .get("/api/v1/marketing/leads-hot/export", Some(ALICE))
        .await;
    assert_eq!(
        csv.text.lines().count(),
        3,
        "header and two leads: {}",
        csv.text
    );
}

#[tokio::test]
async fn hot_leads_export_as_csv_hottest_first() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    scores(&inbox).await;
    let reply = inbox
        .get("/api/v1/marketing/leads-hot/export?tz=UTC", Some(ALICE))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.text,
        "\u{feff}person_id,person_name,person_email,score,last_event_at\r\n\
         1,Jeanne Durand,jeanne@acme.test,30,2026-06-09T10:00:00Z\r\n\
         3,Sophie Blanc,sophie@acme.test,30,2026-06-02T10:00:00Z\r\n\
         2,Marc Leroy,marc@acme.test,15,2026-06-01T10:00:00Z\r\n"
    );
}

#[tokio::test]
async fn a_score_is_explained_by_its_history() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    sqlx::raw_sql(
        "INSERT INTO lead_scores (person_id, score, last_event_at) VALUES (1, 4, '2026-06-03T00:00:00Z'); \
         INSERT INTO lead_score_history (person_id, delta, score_after, reason, event_key, occurred_at) VALUES \
         (1, 3, 3, 'first_open', 'resend-a', '2026-06-01T00:00:00Z'), \
         (1, -10, 0, 'bounce', 'resend-b', '2026-06-02T00:00:00Z'), \
         (1, 3, 3, 'first_open', 'resend-c', '2026-06-03T00:00:00Z'), \
         (1, 1, 4, 'later_open', 'resend-d', '2026-06-03T00:00:00Z');",
    )
    .execute(&inbox.db.pool)
    .await
    .unwrap();
    let reply = inbox.get("/api/v1/people/1/score", Some(ALICE)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["score"], 4);
    assert_eq!(reply.body["person_name"], "Jeanne Durand");
    let history = reply.body["history"].as_array().unwrap();
    let folded = history.iter().fold(0i64, |score, change| {
        let next = (score + change["delta"].as_i64().unwrap()).max(0);
        assert_eq!(change["score_after"], next);
        next
    });
    assert_eq!(folded, 4);
    assert_eq!(history[1]["reason"], "bounce");

    let unscored = inbox.get("/api/v1/people/2/score", Some(ALICE)).await;
    assert_eq!(unscored.body["score"], 0);
    assert_eq!(unscored.body["history"], json!([]));
    assert_eq!(
        inbox
            .get("/api/v1/people/99/score", Some(ALICE))
            .await
            .status,
        404
    );
}
