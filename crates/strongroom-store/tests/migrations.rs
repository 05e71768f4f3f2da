//! Schema migrations through sqlx's migrator, on SQLite and PostgreSQL: a fresh database gets
//! every step once, with checksums; starting again changes nothing; a step changed after it
//! was applied, or one this binary does not know, stops the start with a clear reason; and
//! binaries from before the migrator are kept from starting on the new schema.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::exec;

use sqlx::Row;
use strongroom_store::Db;

async fn rows(db: &Db, sql: &str) -> Vec<i64> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<i64, _>("v"))
        .collect()
}

#[tokio::test]
async fn every_step_once_with_checksums_and_refusals_that_say_why() {
    let dir = tempfile::tempdir().unwrap();
    for t in common::databases(dir.path(), "migrations").await {
        let db = &t.db;
        let applied = "SELECT version AS v FROM _sqlx_migrations WHERE success ORDER BY version";
        assert_eq!(
            rows(db, applied).await,
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
            "{}",
            t.name
        );
        // What binaries from before the migrator read: a version none of them knows.
        assert_eq!(
            rows(db, "SELECT version AS v FROM schema_migrations").await,
            [1_000_000]
        );

        // Starting again (another node, a restart) applies nothing twice.
        let url = t.url.clone();
        Db::connect(&url).await.unwrap().pool.close().await;
        assert_eq!(
            rows(db, applied).await,
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
            "{}",
            t.name
        );

        // A step from a newer release: refused, saying to upgrade.
        let insert = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                      SELECT 99, 'from the future', success, checksum, execution_time FROM _sqlx_migrations WHERE version = 1";
        exec(db, insert).await;
        let e = Db::connect(&url).await.unwrap_err().to_string();
        assert!(
            e.contains("schema step 99") && e.contains("upgrade strongroom"),
            "{}: {e}",
            t.name
        );
        exec(db, "DELETE FROM _sqlx_migrations WHERE version = 99").await;
        Db::connect(&url).await.unwrap().pool.close().await;

        // A released step whose text changed: refused, naming the step.
        exec(
            db,
            "UPDATE _sqlx_migrations SET checksum = checksum || checksum WHERE version = 3",
        )
        .await;
        let e = Db::connect(&url).await.unwrap_err().to_string();
        assert!(e.contains("schema step 3 differs"), "{}: {e}", t.name);
        t.close().await;
    }
}
