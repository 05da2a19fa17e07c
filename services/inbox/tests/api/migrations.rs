//! The migration history squashed into one baseline (`shared/src/db.rs`): a database migrated
//! before the squash is adopted without re-running anything; one that stopped part-way is
//! refused with what to do.

use relance_shared::db::{migrate, BASELINE, MIGRATOR, SQUASHED};
use relance_shared::testing::TestContext;

/// The 23 versions the squash replaced, as `_sqlx_migrations` of a database migrated before it
/// lists them.
const SQUASHED_VERSIONS: [i64; 23] = [
    20261124000001,
    20261124000002,
    20261124000003,
    20261124000004,
    20261124000005,
    20261124000006,
    20261124000007,
    20261124000008,
    20261129000009,
    20261129000010,
    20261129000011,
    20261129000012,
    20261129000013,
    20261130000014,
    20261202000015,
    20261202000016,
    20261202000017,
    20261203000018,
    20261203000019,
    20261203000020,
    20261203000021,
    20261203000022,
    20261207000023,
];

/// Makes the test database's history the one of a database that ran the first `n` squashed
/// migrations (its schema is the baseline's: what the 23 made, checked when squashing).
async fn history_before_the_squash(pool: &sqlx::PgPool, n: usize) {
    // What came after the baseline stays (such a database runs it after the adoption).
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version <= $1")
        .bind(BASELINE)
        .execute(pool)
        .await
        .unwrap();
    for version in &SQUASHED_VERSIONS[..n] {
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES ($1, 'squashed', true, '\\x00', 1)",
        )
        .bind(version)
        .execute(pool)
        .await
        .unwrap();
    }
}

async fn history(pool: &sqlx::PgPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_database_migrated_before_the_squash_is_adopted_once_and_keeps_its_rows() {
    let ctx = TestContext::new().await;
    let pool = &ctx.db.pool;
    assert!(SQUASHED_VERSIONS.iter().all(|v| SQUASHED.contains(v)));
    sqlx::query("INSERT INTO organisations (name) VALUES ('Acme SA')")
        .execute(pool)
        .await
        .unwrap();
    history_before_the_squash(pool, SQUASHED_VERSIONS.len()).await;

    migrate(pool).await.unwrap();
    let every: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(
        history(pool).await,
        every,
        "the baseline and what follows it"
    );
    assert!(every.contains(&BASELINE));
    migrate(pool).await.unwrap();
    assert_eq!(history(pool).await, every, "a second start changes nothing");
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM organisations")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(kept, 1, "adoption runs no DDL");
}

#[tokio::test]
async fn a_database_that_stopped_part_way_is_refused_and_left_as_it_was() {
    let ctx = TestContext::new().await;
    let pool = &ctx.db.pool;
    history_before_the_squash(pool, 22).await;
    let error = migrate(pool).await.unwrap_err().to_string();
    assert!(
        error.contains("ran 22 of the 23") && error.contains("release from before"),
        "{error}"
    );
    let later: Vec<i64> = MIGRATOR
        .iter()
        .map(|m| m.version)
        .filter(|v| *v > BASELINE)
        .collect();
    assert_eq!(
        history(pool).await,
        [&SQUASHED_VERSIONS[..22], &later[..]].concat()
    );
}
