//! The databases a store test runs on: SQLite always, PostgreSQL when
//! `STRONGROOM_TEST_POSTGRES_URL` is set (a failure without it under
//! `STRONGROOM_REQUIRE_ORACLES=1`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use strongroom_store::Db;

/// One database to test on, and how to clean it up.
pub struct TestDb {
    pub db: Db,
    pub name: &'static str,
    /// How to connect to it again.
    pub url: String,
    /// For PostgreSQL: the server connection and the database to drop at the end.
    drop: Option<(Db, String)>,
}

impl TestDb {
    pub async fn close(self) {
        self.db.pool.close().await;
        if let Some((admin, name)) = self.drop {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
                .execute(&admin.pool)
                .await
                .unwrap();
        }
    }
}

/// A fresh database on every backend; `tag` keeps test binaries apart on PostgreSQL.
pub async fn databases(dir: &std::path::Path, tag: &str) -> Vec<TestDb> {
    let url = format!("sqlite://{}", dir.join(format!("{tag}.db")).display());
    let mut out = vec![TestDb {
        db: Db::connect(&url).await.unwrap(),
        name: "sqlite",
        url,
        drop: None,
    }];
    if let Ok(url) = std::env::var("STRONGROOM_TEST_POSTGRES_URL") {
        let admin = Db::connect(&url).await.unwrap();
        let name = format!("sr_{tag}_{}", std::process::id());
        for sql in [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&admin.pool)
                .await
                .unwrap();
        }
        let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        out.push(TestDb {
            db: Db::connect(&url).await.unwrap(),
            name: "postgres",
            url,
            drop: Some((admin, name)),
        });
    } else if std::env::var("STRONGROOM_REQUIRE_ORACLES").is_ok_and(|v| v == "1") {
        panic!("STRONGROOM_TEST_POSTGRES_URL is not set but STRONGROOM_REQUIRE_ORACLES=1");
    }
    out
}

/// Runs one statement on the writer, panicking with the statement if it fails.
pub async fn exec(db: &Db, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
