//! What the service's tests share: the databases they run on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use strongroom_store::Db;

/// SQLite, and PostgreSQL when `STRONGROOM_TEST_POSTGRES_URL` is set (a fresh database,
/// dropped at the end); without it under `STRONGROOM_REQUIRE_ORACLES=1`, a failure.
pub async fn databases(dir: &std::path::Path, test: &str) -> Vec<(Db, Option<(Db, String)>)> {
    let mut out = vec![(
        Db::connect(&format!("sqlite://{}", dir.join(format!("{test}.db")).display()))
            .await
            .unwrap(),
        None,
    )];
    match std::env::var("STRONGROOM_TEST_POSTGRES_URL") {
        Ok(url) => {
            let admin = Db::connect(&url).await.unwrap();
            let name = format!("sr_service_{test}_{}", std::process::id());
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
            out.push((
                Db::connect(&format!("{base}/{name}")).await.unwrap(),
                Some((admin, name)),
            ));
        }
        Err(_) if std::env::var("STRONGROOM_REQUIRE_ORACLES").is_ok_and(|v| v == "1") => {
            panic!("STRONGROOM_TEST_POSTGRES_URL is not set but STRONGROOM_REQUIRE_ORACLES=1")
        }
        Err(_) => {}
    }
    out
}

/// Drops a PostgreSQL test database made by [`databases`].
pub async fn drop_database(db: Db, drop: Option<(Db, String)>) {
    db.pool.close().await;
    if let Some((admin, name)) = drop {
        let sql = format!("DROP DATABASE IF EXISTS {name}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&admin.pool)
            .await
            .unwrap();
    }
}
