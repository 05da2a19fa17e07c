//! Teams, roles and scope: the CRM's teams and roles through the directory, then each role
//! against each path that reads or writes interactions. A path that leaks one row, or accepts
//! one write out of scope, fails the matrix.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use relance_shared::testing::Reply;

use crate::helpers::*;

const NOW: &str = "2026-11-24T10:00:00Z";
const CRM_TOKEN: &str = "crm-directory-token-0123456789";

async fn crm(inbox: &TestInbox, path: &str, body: Value) {
    let reply = Reply::read(
        inbox
            .http
            .put(format!("{}{path}", inbox.base))
            .bearer_auth(CRM_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text);
}

/// Who is who: a manager of "Ventes" (whose child "Grands comptes" arrives before it), a rep in
/// each of those teams, a rep in "Export", an admin (Alice, from the fixture).
struct Team {
    manager: i64,
    sales_rep: i64,
    key_accounts_rep: i64,
    export_rep: i64,
}

/// One interaction per assignee, titled after them, and one unassigned.
const TITLES: [&str; 5] = ["manager", "sales", "key accounts", "export", "nobody"];

async fn the_teams(inbox: &TestInbox) -> Team {
    crm(
        inbox,
        "/api/v1/directory/teams",
        json!([
            {"external_id": "t-keys", "name": "Grands comptes", "parent_external_id": "t-sales", "updated_at": NOW},
            {"external_id": "t-sales", "name": "Ventes", "updated_at": NOW},
            {"external_id": "t-export", "name": "Export", "updated_at": NOW}
        ]),
    )
    .await;
    let user = |id: &str, role: &str, team: &str| {
        json!({"external_id": id, "email": format!("{id}@relance.test"), "name": id,
               "role": role, "team_external_ids": [team], "updated_at": NOW})
    };
    crm(
        inbox,
        "/api/v1/directory/users",
        json!([
            user("u-manager", "manager", "t-sales"),
            user("u-sales", "rep", "t-sales"),
            user("u-keys", "rep", "t-keys"),
            user("u-export", "rep", "t-export")
        ]),
    )
    .await;
    let id = |external: &'static str| async move {
        sqlx::query_scalar::<_, i64>("SELECT id FROM users WHERE external_id = $1")
            .bind(external)
            .fetch_one(inbox.pool())
            .await
            .unwrap()
    };
    let team = Team {
        manager: id("u-manager").await,
        sales_rep: id("u-sales").await,
        key_accounts_rep: id("u-keys").await,
        export_rep: id("u-export").await,
    };
    let assignees = [
        Some(team.manager),
        Some(team.sales_rep),
        Some(team.key_accounts_rep),
        Some(team.export_rep),
        None,
    ];
    for (title, assignee) in TITLES.iter().zip(assignees) {
        inbox
            .add(title, "todo", assignee, Some("2026-11-20T09:00:00Z"), NOW)
            .await;
    }
    team
}

fn set(titles: &[&str]) -> BTreeSet<String> {
    titles.iter().map(|t| (*t).to_owned()).collect()
}

async fn id_of(inbox: &TestInbox, title: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM crm_interactions WHERE title = $1")
        .bind(title)
        .fetch_one(inbox.pool())
        .await
        .unwrap()
}

/// Every read path, as `user`: the titles each one shows.
async fn what_each_path_shows(
    inbox: &TestInbox,
    user: i64,
) -> Vec<(&'static str, BTreeSet<String>)> {
    let mut seen = Vec::new();
    let page = inbox
        .get("/api/v1/interactions/inbox?limit=200", Some(user))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    seen.push(("page", titles(&page.body).into_iter().collect()));
    // Totals as many titles as they count (compared with the page's by the caller).
    let count = |reply: &Reply, key: &str| reply.body[key].as_u64().unwrap_or_default() as usize;
    seen.push((
        "total",
        TITLES[..count(&page, "total").min(5)]
            .iter()
            .map(|t| (*t).to_owned())
            .collect(),
    ));
    let stats = inbox
        .get("/api/v1/interactions/inbox/stats", Some(user))
        .await;
    seen.push((
        "stats",
        TITLES[..count(&stats, "todo").min(5)]
            .iter()
            .map(|t| (*t).to_owned())
            .collect(),
    ));
    // Every item is about Jeanne Durand: a search for her finds what the caller may see.
    let search = inbox
        .get("/api/v1/interactions/inbox?q=jeanne&limit=200", Some(user))
        .await;
    seen.push(("search", titles(&search.body).into_iter().collect()));
    let csv = inbox
        .get("/api/v1/interactions/inbox/export", Some(user))
        .await;
    let exported: BTreeSet<String> = TITLES
        .iter()
        .filter(|t| {
            csv.text
                .lines()
                .any(|line| line.split(',').any(|cell| cell == **t))
        })
        .map(|t| (*t).to_owned())
        .collect();
    seen.push(("export", exported));
    let mut one_by_one = BTreeSet::new();
    for title in TITLES {
        let id = id_of(inbox, title).await;
        let reply = inbox
            .get(&format!("/api/v1/interactions/{id}"), Some(user))
            .await;
        match reply.status.as_u16() {
            200 => {
                one_by_one.insert(title.to_owned());
            }
            404 => {}
            other => panic!("GET {title}: {other} {}", reply.text),
        }
    }
    seen.push(("get", one_by_one));
    seen
}

#[tokio::test]
async fn each_role_sees_its_scope_on_every_read_path_and_nothing_else() {
    let inbox = TestInbox::spawn_with(at(NOW), |s| {
        s.directory.token = Some(CRM_TOKEN.to_owned().into());
    })
    .await;
    let team = the_teams(&inbox).await;
    let expected = [
        (ALICE, set(&TITLES)),
        (
            team.manager,
            set(&["manager", "sales", "key accounts", "nobody"]),
        ),
        (team.sales_rep, set(&["sales", "nobody"])),
        (team.key_accounts_rep, set(&["key accounts", "nobody"])),
        (team.export_rep, set(&["export", "nobody"])),
    ];
    for (user, visible) in &expected {
        for (path, shown) in what_each_path_shows(&inbox, *user).await {
            let want: BTreeSet<String> = match path {
                // Counts: as many as the caller sees.
                "total" | "stats" => TITLES[..visible.len()]
                    .iter()
                    .map(|t| (*t).to_owned())
                    .collect(),
                _ => visible.clone(),
            };
            assert_eq!(shown, want, "user {user}, {path}");
        }
    }
    // A word only the export rep's item holds.
    let found = inbox.titles("q=export", team.manager).await;
    assert!(
        found.is_empty(),
        "the export rep's item found by search: {found:?}"
    );
    assert_eq!(inbox.titles("q=export", ALICE).await, ["export"]);
}

/// The titles `user` sees with `query` on the page (walked a page of one at a time, so the
/// cursor is exercised), the total, the stats' open count and the CSV export, which agree.
async fn team_view(inbox: &TestInbox, user: i64, query: &str) -> BTreeSet<String> {
    let mut walked = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut total = None;
    loop {
        let after = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page = inbox
            .get(
                &format!("/api/v1/interactions/inbox?{query}&limit=1{after}"),
                Some(user),
            )
            .await;
        assert_eq!(page.status, 200, "{query}: {}", page.text);
        total.get_or_insert(page.body["total"].as_u64().unwrap());
        walked.extend(titles(&page.body));
        match page.body["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(total, Some(walked.len() as u64), "{query}: total");
    let stats = inbox
        .get(
            &format!("/api/v1/interactions/inbox/stats?{query}"),
            Some(user),
        )
        .await;
    assert_eq!(stats.body["todo"], walked.len(), "{query}: stats");
    let csv = inbox
        .get(
            &format!("/api/v1/interactions/inbox/export?{query}"),
            Some(user),
        )
        .await;
    assert_eq!(
        csv.text.lines().count(),
        walked.len() + 1,
        "{query}: export"
    );
    walked
}

#[tokio::test]
async fn a_team_filter_narrows_every_path_to_its_members() {
    let inbox = TestInbox::spawn_with(at(NOW), |s| {
        s.directory.token = Some(CRM_TOKEN.to_owned().into());
    })
    .await;
    let team = the_teams(&inbox).await;
    // The teams each one may narrow to, with the members they see.
    let teams = |user: i64| {
        let inbox = &inbox;
        async move {
            let reply = inbox.get("/api/v1/teams", Some(user)).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            reply
                .body
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    let members: Vec<i64> = t["members"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|m| m["id"].as_i64().unwrap())
                        .collect();
                    (t["external_id"].as_str().unwrap().to_owned(), members)
                })
                .collect::<Vec<_>>()
        }
    };
    let listed = teams(team.manager).await;
    assert_eq!(
        listed.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["t-keys", "t-sales"],
        "by name: Grands comptes, Ventes"
    );
    assert_eq!(listed[0].1, [team.key_accounts_rep]);
    assert_eq!(
        listed[1].1.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([team.manager, team.sales_rep, team.key_accounts_rep])
    );
    assert_eq!(teams(ALICE).await.len(), 3);
    assert_eq!(
        teams(team.sales_rep).await,
        [("t-sales".to_owned(), vec![team.sales_rep])]
    );

    // The manager: a team, its sub-team, one member; never the unassigned.
    assert_eq!(
        team_view(&inbox, team.manager, "team=t-sales").await,
        set(&["manager", "sales", "key accounts"])
    );
    assert_eq!(
        team_view(&inbox, team.manager, "team=t-keys").await,
        set(&["key accounts"])
    );
    assert_eq!(
        team_view(
            &inbox,
            team.manager,
            &format!("team=t-sales&assignee={}", team.sales_rep)
        )
        .await,
        set(&["sales"])
    );
    assert_eq!(
        inbox.titles("team=t-keys&q=jeanne", team.manager).await,
        ["key accounts"]
    );
    // The admin: any team; a rep: their own, as far as they see it.
    assert_eq!(
        team_view(&inbox, ALICE, "team=t-export").await,
        set(&["export"])
    );
    assert_eq!(
        team_view(&inbox, team.sales_rep, "team=t-sales").await,
        set(&["sales"])
    );
}

#[tokio::test]
async fn another_teams_filter_is_refused_and_a_bulk_by_team_changes_only_its_items() {
    let inbox = TestInbox::spawn_with(at(NOW), |s| {
        s.directory.token = Some(CRM_TOKEN.to_owned().into());
    })
    .await;
    let team = the_teams(&inbox).await;
    // Another manager's team and an unknown one answer alike: 403 naming `team`.
    for (user, query) in [
        (team.manager, "team=t-export"),
        (team.manager, "team=nope"),
        (team.sales_rep, "team=t-keys"),
    ] {
        for path in ["inbox", "inbox/stats", "inbox/export"] {
            let reply = inbox
                .get(&format!("/api/v1/interactions/{path}?{query}"), Some(user))
                .await;
            assert_eq!(reply.status, 403, "{user} {path}?{query}: {}", reply.text);
            assert_eq!(reply.body["errors"][0]["field"], "team");
        }
    }
    // A member of another team, or nobody, with a team: 422 naming `assignee`.
    for assignee in [team.sales_rep.to_string(), "unassigned".to_owned()] {
        let reply = inbox
            .get(
                &format!("/api/v1/interactions/inbox?team=t-keys&assignee={assignee}"),
                Some(team.manager),
            )
            .await;
        assert_eq!(reply.status, 422, "{}", reply.text);
        assert_eq!(reply.body["errors"][0]["field"], "assignee");
    }
    // A cursor is bound to its team.
    let first = inbox
        .get(
            "/api/v1/interactions/inbox?team=t-sales&limit=1",
            Some(team.manager),
        )
        .await;
    let cursor = first.body["cursor"].as_str().unwrap();
    let reply = inbox
        .get(
            &format!("/api/v1/interactions/inbox?team=t-keys&limit=1&cursor={cursor}"),
            Some(team.manager),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.text);

    // Bulk by filter: only the team's items; another team is refused, nothing changed.
    let refused = inbox
        .send(
            "POST",
            "/api/v1/interactions/bulk",
            Some(team.manager),
            json!({"filter": {"team": "t-export"}, "set": {"status": "done"}}),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.body["errors"][0]["field"], "filter.team");
    let done = inbox
        .send(
            "POST",
            "/api/v1/interactions/bulk",
            Some(team.manager),
            json!({"filter": {"team": "t-keys"}, "set": {"status": "in_progress"}}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["matched"], 1);
    let statuses: Vec<(String, String)> = sqlx::query_as(
        "SELECT title, status::text FROM crm_interactions WHERE status <> 'todo' ORDER BY title",
    )
    .fetch_all(inbox.pool())
    .await
    .unwrap();
    assert_eq!(
        statuses,
        [("key accounts".to_owned(), "in_progress".to_owned())]
    );
}

#[tokio::test]
async fn writes_out_of_scope_are_refused_as_absent_and_change_nothing() {
    let inbox = TestInbox::spawn_with(at(NOW), |s| {
        s.directory.token = Some(CRM_TOKEN.to_owned().into());
    })
    .await;
    let team = the_teams(&inbox).await;
    let export = id_of(&inbox, "export").await;
    let sales = id_of(&inbox, "sales").await;
    let status = |id: i64| {
        let inbox = &inbox;
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT status::text FROM crm_interactions WHERE id = $1",
            )
            .bind(id)
            .fetch_one(inbox.pool())
            .await
            .unwrap()
        }
    };
    for (method, path, body) in [
        (
            "PATCH",
            format!("/api/v1/interactions/{export}/status"),
            json!({"status": "done"}),
        ),
        (
            "PATCH",
            format!("/api/v1/interactions/{export}/assignee"),
            json!({"assignee_id": null}),
        ),
        (
            "PATCH",
            format!("/api/v1/interactions/{export}/next-action"),
            json!({"next_action_at": null}),
        ),
        (
            "PATCH",
            format!("/api/v1/interactions/{export}"),
            json!({"title": "mine now"}),
        ),
    ] {
        let reply = inbox.send(method, &path, Some(team.manager), body).await;
        assert_eq!(reply.status, 404, "{path}: {}", reply.text);
    }
    // Bulk by ids: reported as not found, left alone; the one in scope changes.
    let reply = inbox
        .send(
            "POST",
            "/api/v1/interactions/bulk",
            Some(team.manager),
            json!({"ids": [export, sales], "set": {"status": "done"}}),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({"matched": 1, "changed": 1, "not_found": [export]}),
        "{}",
        reply.text
    );
    // Bulk by filter: only inside the scope.
    let reply = inbox
        .send(
            "POST",
            "/api/v1/interactions/bulk",
            Some(team.sales_rep),
            json!({"filter": {}, "set": {"status": "in_progress"}}),
        )
        .await;
    assert_eq!(reply.body["matched"], 1, "{}", reply.text);
    assert_eq!(status(export).await, "todo");
    assert_eq!(status(id_of(&inbox, "nobody").await).await, "in_progress");
    assert_eq!(status(id_of(&inbox, "key accounts").await).await, "todo");
    // Another's inbox by name: 403 naming `assignee`.
    let reply = inbox
        .get(
            &format!("/api/v1/interactions/inbox?assignee={}", team.export_rep),
            Some(team.manager),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert_eq!(reply.body["errors"][0]["field"], "assignee");
    let reply = inbox
        .get(
            &format!(
                "/api/v1/interactions/inbox?assignee={}",
                team.key_accounts_rep
            ),
            Some(team.manager),
        )
        .await;
    assert_eq!(titles(&reply.body), ["key accounts"]);
}

#[tokio::test]
async fn reassignment_follows_the_role_and_users_lists_whom_one_may_assign_to() {
    let inbox = TestInbox::spawn_with(at(NOW), |s| {
        s.directory.token = Some(CRM_TOKEN.to_owned().into());
    })
    .await;
    let team = the_teams(&inbox).await;
    let nobody = id_of(&inbox, "nobody").await;
    let assign = |user: i64, to: Option<i64>| {
        let inbox = &inbox;
        async move {
            inbox
                .send(
                    "PATCH",
                    &format!("/api/v1/interactions/{nobody}/assignee"),
                    Some(user),
                    json!({"assignee_id": to}),
                )
                .await
        }
    };
    // A rep: to themselves or nobody.
    let refused = assign(team.sales_rep, Some(team.key_accounts_rep)).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.body["errors"][0]["field"], "assignee_id");
    assert_eq!(
        assign(team.sales_rep, Some(team.sales_rep)).await.status,
        200
    );
    assert_eq!(assign(team.sales_rep, None).await.status, 200);
    // A manager: the teams they manage, down the tree; not another team.
    assert_eq!(
        assign(team.manager, Some(team.export_rep)).await.status,
        403
    );
    assert_eq!(
        assign(team.manager, Some(team.key_accounts_rep))
            .await
            .status,
        200
    );
    // The sales rep no longer sees it: neither theirs nor unassigned.
    let reply = inbox
        .get(
            &format!("/api/v1/interactions/{nobody}"),
            Some(team.sales_rep),
        )
        .await;
    assert_eq!(reply.status, 404);
    // An admin: anyone active.
    assert_eq!(assign(ALICE, Some(team.export_rep)).await.status, 200);
    let names = |reply: Reply| -> BTreeSet<i64> {
        reply
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        names(inbox.get("/api/v1/users", Some(team.sales_rep)).await),
        BTreeSet::from([team.sales_rep])
    );
    assert_eq!(
        names(inbox.get("/api/v1/users", Some(team.manager)).await),
        BTreeSet::from([team.manager, team.sales_rep, team.key_accounts_rep])
    );
    assert_eq!(
        names(inbox.get("/api/v1/users", Some(ALICE)).await).len(),
        6,
        "every active user"
    );
}

#[tokio::test]
async fn a_deactivated_user_is_refused_from_the_next_request_on() {
    let inbox = TestInbox::spawn_with(at(NOW), |s| {
        s.directory.token = Some(CRM_TOKEN.to_owned().into());
    })
    .await;
    let team = the_teams(&inbox).await;
    assert_eq!(
        inbox
            .get("/api/v1/interactions/inbox", Some(team.sales_rep))
            .await
            .status,
        200
    );
    crm(
        &inbox,
        "/api/v1/directory/users",
        json!({"external_id": "u-sales", "email": "u-sales@relance.test", "name": "u-sales",
               "active": false, "updated_at": "2026-11-24T11:00:00Z"}),
    )
    .await;
    // The cache is emptied by the notification the write sent: wait for it, briefly.
    let mut status = 0;
    for _ in 0..100 {
        status = inbox
            .get("/api/v1/interactions/inbox", Some(team.sales_rep))
            .await
            .status
            .as_u16();
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, 401);
}

#[tokio::test]
async fn hot_leads_and_a_persons_follow_ups_keep_to_the_scope() {
    let inbox = TestInbox::spawn_with(at(NOW), |s| {
        s.directory.token = Some(CRM_TOKEN.to_owned().into());
    })
    .await;
    let team = the_teams(&inbox).await;
    // Marc is the sales rep's, Sophie the export rep's, Paul nobody's; Jeanne stays Alice's.
    sqlx::query(
        "UPDATE people SET owner_id = CASE id WHEN 2 THEN $1 WHEN 3 THEN $2 WHEN 4 THEN NULL \
         ELSE owner_id END",
    )
    .bind(team.sales_rep)
    .bind(team.export_rep)
    .execute(inbox.pool())
    .await
    .unwrap();
    sqlx::query("INSERT INTO lead_scores (person_id, score, last_event_at) SELECT id, 50, now() FROM people")
        .execute(inbox.pool())
        .await
        .unwrap();
    let leads = |user: i64| {
        let inbox = &inbox;
        async move {
            let reply = inbox
                .get("/api/v1/marketing/leads-hot?limit=100", Some(user))
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            let ids: BTreeSet<i64> = reply.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["person_id"].as_i64().unwrap())
                .collect();
            assert_eq!(
                reply.body["total"],
                ids.len(),
                "the total counts the same leads"
            );
            let csv = inbox
                .get("/api/v1/marketing/leads-hot/export", Some(user))
                .await;
            assert_eq!(csv.text.lines().count() - 1, ids.len(), "{}", csv.text);
            ids
        }
    };
    assert_eq!(leads(ALICE).await, BTreeSet::from([1, 2, 3, 4]));
    assert_eq!(leads(team.manager).await, BTreeSet::from([2, 4]));
    assert_eq!(leads(team.sales_rep).await, BTreeSet::from([2, 4]));
    assert_eq!(leads(team.export_rep).await, BTreeSet::from([3, 4]));
    // A person's follow-ups are the inbox filtered on them: scoped like it.
    let follow_ups = inbox
        .get(
            "/api/v1/interactions/inbox?person_id=1&status=todo",
            Some(team.sales_rep),
        )
        .await;
    assert_eq!(
        titles(&follow_ups.body)
            .into_iter()
            .collect::<BTreeSet<_>>(),
        set(&["sales", "nobody"])
    );
}

/// A small deterministic generator (the tests run the same cases every time).
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// What a user should see, computed the slow way: the rules as the design states them.
fn brute_force_scope(
    user: usize,
    roles: &[&str],
    memberships: &[Vec<usize>],
    parents: &[Option<usize>],
) -> Option<BTreeSet<usize>> {
    match roles[user] {
        "admin" => None,
        "rep" => Some(BTreeSet::from([user])),
        _ => {
            let mut managed: BTreeSet<usize> = memberships[user].iter().copied().collect();
            loop {
                let before = managed.len();
                for (team, parent) in parents.iter().enumerate() {
                    if parent.is_some_and(|p| managed.contains(&p)) {
                        managed.insert(team);
                    }
                }
                if managed.len() == before {
                    break;
                }
            }
            let mut users: BTreeSet<usize> = (0..roles.len())
                .filter(|&u| memberships[u].iter().any(|t| managed.contains(t)))
                .collect();
            users.insert(user);
            Some(users)
        }
    }
}

/// Page by page (cursors through the merged walks): the rows of `whole` (one page of them
/// all), in the same order, each page's total their count.
async fn pages_agree(inbox: &TestInbox, user: i64, whole: &Value) {
    let whole: Vec<i64> = whole["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/interactions/inbox?limit=7&cursor={c}"),
            None => "/api/v1/interactions/inbox?limit=7".to_owned(),
        };
        let reply = inbox.get(&path, Some(user)).await;
        assert_eq!(reply.body["total"], whole.len(), "{}", reply.text);
        paged.extend(
            reply.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap()),
        );
        match reply.body["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, whole, "user {user}");
}

/// Round `round`'s teams and users through the directory (users first: memberships and
/// parents arrive before what they name); returns the users' ids.
async fn load_world(
    inbox: &TestInbox,
    round: usize,
    parents: &[Option<usize>],
    roles: &[&str],
    memberships: &[Vec<usize>],
) -> Vec<i64> {
    let team_id = |t: usize| format!("r{round}-t{t}");
    let teams: Vec<Value> = (0..parents.len())
        .map(|t| {
            let mut team =
                json!({"external_id": team_id(t), "name": format!("Team {t}"), "updated_at": NOW});
            if let Some(p) = parents[t] {
                team["parent_external_id"] = json!(team_id(p));
            }
            team
        })
        .collect();
    // Users first, then teams: memberships and parents arrive before what they name.
    let users: Vec<Value> = (0..roles.len())
        .map(|u| {
            json!({"external_id": format!("r{round}-u{u}"), "email": format!("r{round}-u{u}@relance.test"),
                   "name": format!("User {u}"), "role": roles[u],
                   "team_external_ids": memberships[u].iter().map(|&t| team_id(t)).collect::<Vec<_>>(),
                   "updated_at": NOW})
        })
        .collect();
    crm(inbox, "/api/v1/directory/users", json!(users)).await;
    crm(inbox, "/api/v1/directory/teams", json!(teams)).await;
    let mut ids = Vec::new();
    for u in 0..roles.len() {
        ids.push(
            sqlx::query_scalar::<_, i64>("SELECT id FROM users WHERE external_id = $1")
                .bind(format!("r{round}-u{u}"))
                .fetch_one(inbox.pool())
                .await
                .unwrap(),
        );
    }
    ids
}

/// Random team trees (cycles included: the CRM may send one), memberships, roles and
/// reassignments: each user's inbox holds exactly the items the rules above give.
#[tokio::test]
async fn random_teams_and_reassignments_give_each_user_what_the_rules_say() {
    let inbox = TestInbox::spawn_with(at(NOW), |s| {
        s.directory.token = Some(CRM_TOKEN.to_owned().into());
    })
    .await;
    let mut draw = Draw(29);
    for round in 0..6 {
        const TEAMS: usize = 5;
        const USERS: usize = 6;
        let parents: Vec<Option<usize>> = (0..TEAMS)
            .map(|_| (draw.below(3) > 0).then(|| draw.below(TEAMS as u64) as usize))
            .collect();
        let roles: Vec<&str> = (0..USERS)
            .map(|_| ["rep", "rep", "manager", "manager", "admin"][draw.below(5) as usize])
            .collect();
        let memberships: Vec<Vec<usize>> = (0..USERS)
            .map(|_| {
                let mut teams: Vec<usize> = (0..draw.below(3))
                    .map(|_| draw.below(TEAMS as u64) as usize)
                    .collect();
                teams.sort_unstable();
                teams.dedup();
                teams
            })
            .collect();
        let ids = load_world(&inbox, round, &parents, &roles, &memberships).await;
        // Items: each to a random user of the round or to nobody, then reassigned at random
        // by an admin (Alice), as a team's work moves.
        let mut assignee: Vec<Option<usize>> = Vec::new();
        let mut items = Vec::new();
        for n in 0..12 {
            let to = (draw.below(4) > 0).then(|| draw.below(USERS as u64) as usize);
            items.push(
                inbox
                    .add(
                        &format!("r{round} n{n}"),
                        "todo",
                        to.map(|u| ids[u]),
                        None,
                        NOW,
                    )
                    .await,
            );
            assignee.push(to);
        }
        for _ in 0..6 {
            let n = draw.below(items.len() as u64) as usize;
            let to = (draw.below(4) > 0).then(|| draw.below(USERS as u64) as usize);
            let reply = inbox
                .send(
                    "PATCH",
                    &format!("/api/v1/interactions/{}/assignee", items[n]),
                    Some(ALICE),
                    json!({"assignee_id": to.map(|u| ids[u])}),
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            assignee[n] = to;
        }
        let round_items: BTreeSet<i64> = items.iter().copied().collect();
        for u in 0..USERS {
            let sees = brute_force_scope(u, &roles, &memberships, &parents);
            let expected: BTreeSet<i64> = items
                .iter()
                .zip(&assignee)
                .filter(|(_, a)| match (a, &sees) {
                    (None, _) | (_, None) => true,
                    (Some(a), Some(users)) => users.contains(a),
                })
                .map(|(id, _)| *id)
                .collect();
            let page = inbox
                .get("/api/v1/interactions/inbox?limit=200", Some(ids[u]))
                .await;
            assert_eq!(page.status, 200, "{}", page.text);
            let shown: BTreeSet<i64> = page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap())
                .filter(|id| round_items.contains(id))
                .collect();
            assert_eq!(
                shown, expected,
                "round {round}, user {u} ({}), teams {:?}, parents {parents:?}",
                roles[u], memberships[u]
            );
            pages_agree(&inbox, ids[u], &page.body).await;
        }
    }
}
