//! Secrets sealed in the database under the master key (`strongroom admin secret …`), read
//! back by the independent decryptor, and the S3 secret key kept there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod at_rest;
mod common;
use at_rest::*;
use common::*;
use reqwest::StatusCode;

/// The `stored` column of secret `name`, read straight from the server's SQLite database.
async fn stored_secret(srv: &Server, name: &str) -> String {
    use sqlx::Row;
    let db = strongroom_store::Db::connect(&format!(
        "sqlite://{}",
        srv.dir.path().join("data/strongroom.db").display()
    ))
    .await
    .unwrap();
    let r = sqlx::query("SELECT stored FROM secrets WHERE name = $1")
        .bind(name.to_string())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let stored = r.get("stored");
    db.pool.close().await;
    stored
}

#[tokio::test]
async fn secrets_are_sealed_in_the_database_and_checked() {
    let backend = backends().remove(0);
    let keys = tempfile::tempdir().unwrap();
    let key = keygen(keys.path(), "master.key");
    let srv = Server::start_with(
        &backend,
        Options {
            extra_toml: enc_toml(&key),
            args: vec![],
        },
    );
    for (name, value) in [("smtp.password", "mail pass\n"), ("sms.api_key", "sms-key-123")] {
        let out = srv.cli(&["admin", "secret", "set", name], value);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = srv.cli(&["admin", "secret", "set", "Bad Name"], "x");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be 1 to 200 characters"));
    let out = srv.cli(&["admin", "secret", "list"], "");
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(listed.contains("smtp.password  sealed with master key "), "{listed}");
    assert!(!listed.contains("mail pass"), "values are never listed");

    // The independent decryptor opens the sealed row, deriving the object id from the name
    // alone, and refuses it under another name.
    let stored = stored_secret(&srv, "smtp.password").await;
    assert!(!stored.contains(&hex::encode("mail pass")));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), hex::decode(&stored).unwrap()).unwrap();
    if let Some(got) = oracle_decrypt(&key, file.path(), &["--secret-name", "smtp.password"]).unwrap() {
        assert_eq!(got, b"mail pass", "one trailing newline is dropped");
        let e = oracle_decrypt(&key, file.path(), &["--secret-name", "sms.api_key"]).unwrap_err();
        assert!(e.contains("rejected"), "{e}");
    }

    // A sealed value copied into another secret's row: `storage verify` names it and fails.
    let db_path = srv.dir.path().join("data/strongroom.db");
    let db = strongroom_store::Db::connect(&format!("sqlite://{}", db_path.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE secrets SET stored = $1 WHERE name = 'sms.api_key'")
        .bind(stored)
        .execute(&db.pool)
        .await
        .unwrap();
    db.pool.close().await;
    let out = srv.cli(&["storage", "verify"], "");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{report}");
    assert!(report.contains("DAMAGED secret sms.api_key"), "{report}");
    assert!(report.contains("0 versions and 2 secrets, 1 damaged"), "{report}");
    let out = srv.cli(&["admin", "secret", "delete", "sms.api_key"], "");
    assert!(out.status.success());
    assert!(srv.cli(&["storage", "verify"], "").status.success());
}

#[tokio::test]
async fn the_s3_secret_key_can_be_kept_sealed_in_the_database() {
    let Some(s3) = backends().into_iter().find(|b| b.name == "sqlite+s3") else {
        eprintln!("SKIP: no S3 backend");
        return;
    };
    let secret_line = s3
        .toml
        .lines()
        .find(|l| l.starts_with("secret_access_key"))
        .unwrap()
        .to_string();
    let secret = secret_line.split('"').nth(1).unwrap().to_string();
    let without = Backend {
        toml: s3.toml.replace(&secret_line, ""),
        ..s3.clone()
    };
    let keys = tempfile::tempdir().unwrap();
    let key = keygen(keys.path(), "master.key");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strongroom.toml");
    std::fs::write(&config, format!("{}\n{}\n", enc_toml(&key), without.toml)).unwrap();

    // Without the key anywhere, the server says where to put it.
    let out = run_cli(&config, dir.path(), &["storage", "verify"], "");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("strongroom admin secret set storage.s3.secret_access_key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_cli(
        &config,
        dir.path(),
        &["admin", "secret", "set", "storage.s3.secret_access_key"],
        &secret,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let srv = Server::start_in_existing(&without, dir, config);
    let owner = srv.owner().await;
    let (_, root) = owner.room("S3").await;
    let body = data(200_000, 7);
    let f = owner
        .json(owner.upload(&root, "s3.bin", body.clone()).await, StatusCode::CREATED)
        .await;
    assert_eq!(download(&owner, f["id"].as_str().unwrap()).await.1.unwrap(), body);
}
