//! Secrets sealed in the database: what the row holds, tampering and swapping, wrong keys,
//! rotation and conversion both ways. On SQLite, and on PostgreSQL when
//! `STRONGROOM_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use sqlx::Row;
use strongroom_core::audit::{AuditAction as Action, AuditEvent};
use strongroom_crypto::MasterKey;
use strongroom_store::encryption::KeyRing;
use strongroom_store::{Change, Db, StoreError, content, secrets};

const S3: &str = "storage.s3.secret_access_key";
const VALUE: &[u8] = b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

async fn row(db: &Db, name: &str) -> (String, Option<String>) {
    let r = sqlx::query("SELECT stored, key_id FROM secrets WHERE name = $1")
        .bind(name.to_string())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    (r.get("stored"), r.get("key_id"))
}

async fn set_stored(db: &Db, name: &str, stored: &str) {
    sqlx::query("UPDATE secrets SET stored = $1 WHERE name = $2")
        .bind(stored.to_string())
        .bind(name.to_string())
        .execute(&db.pool)
        .await
        .unwrap();
}

fn ring(current: Option<&MasterKey>, retired: &[&MasterKey], encrypt_new: bool) -> KeyRing {
    KeyRing::new(
        current.cloned(),
        retired.iter().map(|k| (*k).clone()).collect(),
        encrypt_new,
    )
}

/// Stores a secret as one audited change.
async fn put(db: &Db, ring: &KeyRing, name: &str, value: &[u8], now: i64) -> Result<(), StoreError> {
    let mut c = Change::begin(db, now).await?;
    secrets::put(&mut c, ring, name, value).await?;
    c.commit(&AuditEvent::new(Action::SecretSet)).await
}

async fn delete(db: &Db, name: &str) -> bool {
    let mut c = Change::begin(db, 0).await.unwrap();
    let found = secrets::delete(&mut c, name).await.unwrap();
    c.commit(&AuditEvent::new(Action::SecretDelete)).await.unwrap();
    found
}

#[tokio::test]
async fn secrets_are_sealed_bound_to_their_name_and_follow_the_keys() {
    let k1 = MasterKey::from_bytes([1; 32]);
    let k2 = MasterKey::from_bytes([2; 32]);
    let dir = tempfile::tempdir().unwrap();
    for t in common::databases(dir.path(), "secrets").await {
        let db = t.db.clone();
        let on = ring(Some(&k1), &[], true);
        put(&db, &on, S3, VALUE, 10).await.unwrap();
        put(&db, &on, "smtp.password", b"mail secret", 10).await.unwrap();

        // The row holds a sealed object under k1, never the value.
        let (stored, key_id) = row(&db, S3).await;
        assert_eq!(key_id.as_deref(), Some(k1.id().to_hex().as_str()));
        assert!(!stored.contains(&hex::encode(VALUE)), "the value reached the database");
        assert_eq!(stored.len(), 2 * (160 + VALUE.len() + 64), "hex of header + one record");
        assert_eq!(&secrets::get(&db, &on, S3).await.unwrap().unwrap()[..], VALUE);
        assert!(secrets::get(&db, &on, "no.such").await.unwrap().is_none());
        let listed = secrets::list(&db).await.unwrap();
        assert_eq!(
            listed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["smtp.password", S3]
        );
        assert_eq!(
            content::key_usage(&db).await.unwrap(),
            [(k1.id().to_hex(), 2)],
            "secrets count as uses of their key"
        );

        // One secret's sealed value in another's row, or a flipped bit: integrity errors, and
        // the check names every damaged secret.
        let (smtp_stored, _) = row(&db, "smtp.password").await;
        set_stored(&db, S3, &smtp_stored).await;
        let e = secrets::get(&db, &on, S3).await.unwrap_err();
        assert!(matches!(e, StoreError::Integrity(_)), "{e}");
        assert!(e.to_string().contains(S3), "{e}");
        let mut flipped = hex::decode(&smtp_stored).unwrap();
        flipped[200] ^= 1;
        set_stored(&db, "smtp.password", &hex::encode(flipped)).await;
        let (checked, damaged) = secrets::verify(&db, &on).await.unwrap();
        assert_eq!(checked, 2);
        assert_eq!(
            damaged.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["smtp.password", S3]
        );
        // A failed re-seal leaves damaged secrets as they are and names them.
        let e = secrets::reseal_all(&db, &ring(Some(&k2), &[&k1], true), true, 20)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("smtp.password"), "{e}");
        set_stored(&db, S3, &stored).await;
        set_stored(&db, "smtp.password", &smtp_stored).await;

        // Without the key that seals it: a clear error naming the key.
        let e = secrets::get(&db, &ring(Some(&k2), &[], true), S3).await.unwrap_err();
        assert!(e.to_string().contains(&k1.id().to_hex()), "{e}");

        // Rotation: re-sealed under k2; k1 is no longer needed.
        let rotated = ring(Some(&k2), &[&k1], true);
        assert_eq!(secrets::reseal_all(&db, &rotated, true, 30).await.unwrap(), 2);
        assert_eq!(
            secrets::reseal_all(&db, &rotated, true, 31).await.unwrap(),
            0,
            "idempotent"
        );
        let only_k2 = ring(Some(&k2), &[], true);
        assert_eq!(&secrets::get(&db, &only_k2, S3).await.unwrap().unwrap()[..], VALUE);
        assert_ne!(row(&db, S3).await.0, stored, "a fresh data key");

        // Encryption off: kept in clear, and back on.
        let off = ring(Some(&k2), &[], false);
        assert_eq!(secrets::reseal_all(&db, &off, false, 40).await.unwrap(), 2);
        assert_eq!(row(&db, S3).await, (hex::encode(VALUE), None));
        assert!(content::key_usage(&db).await.unwrap().is_empty());
        assert_eq!(
            &secrets::get(&db, &KeyRing::default(), S3).await.unwrap().unwrap()[..],
            VALUE
        );
        assert_eq!(secrets::reseal_all(&db, &only_k2, true, 50).await.unwrap(), 2);
        assert_eq!(row(&db, S3).await.1, Some(k2.id().to_hex()));

        // Bad input loses nothing.
        assert!(matches!(
            put(&db, &only_k2, "Bad Name", b"x", 60).await,
            Err(StoreError::Invalid(_))
        ));
        let big = vec![0u8; secrets::MAX_VALUE + 1];
        assert!(matches!(
            put(&db, &only_k2, S3, &big, 60).await,
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(&secrets::get(&db, &only_k2, S3).await.unwrap().unwrap()[..], VALUE);
        assert!(delete(&db, S3).await);
        assert!(!delete(&db, S3).await);

        t.close().await;
    }
}
