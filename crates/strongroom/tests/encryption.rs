//! Encryption at rest through the real server: round trips, ranges, tampering of every kind,
//! keys at start-up, conversion of an existing instance, the storage check, the Python oracle.
//! Secrets sealed in the database: `secrets.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod at_rest;
mod common;
use at_rest::*;
use common::*;
use reqwest::StatusCode;
use std::path::Path;

#[tokio::test]
async fn encrypted_round_trips_ranges_and_tamper_detection() {
    for backend in backends() {
        eprintln!("backend: {}", backend.name);
        let keys = tempfile::tempdir().unwrap();
        let key = keygen(keys.path(), "master.key");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
        let again = std::process::Command::new(BIN)
            .args(["encryption", "keygen", "-o"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(!again.status.success(), "keygen never overwrites a key");

        let srv = Server::start_with(
            &backend,
            Options {
                extra_toml: enc_toml(&key),
                args: vec![],
            },
        );
        if srv.blob_files().is_none() {
            eprintln!("SKIP: blob files of {} are not visible here", backend.name);
            continue;
        }
        let owner = srv.owner().await;
        let (_, root) = owner.room("Vault").await;

        // Sizes around chunk borders, and one of several upload parts.
        let marker = b"PLAINTEXT-MARKER-".repeat(4000);
        for (i, size) in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5, 9 * 1024 * 1024 + 3]
            .into_iter()
            .enumerate()
        {
            let mut body = data(size, i as u64 + 10);
            if size > marker.len() {
                body[..marker.len()].copy_from_slice(&marker);
            }
            let (id, blob) = upload_blob(&srv, &owner, &root, &format!("f{i}"), &body).await;
            let stored = std::fs::read(&blob).unwrap();
            let records = size.div_ceil(CHUNK).max(1);
            assert_eq!(
                stored.len(),
                HEADER + size + 64 * records,
                "size {size}: ciphertext length"
            );
            assert!(
                !stored.windows(17).any(|w| w == b"PLAINTEXT-MARKER-"),
                "plaintext reached the disk"
            );
            let (status, got) = download(&owner, &id).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(got.unwrap(), body, "size {size}");
            for (a, b) in [(0, 1), (CHUNK - 1, CHUNK + 1), (CHUNK, 2 * CHUNK), (size / 2, size)] {
                if b > size || a >= b {
                    continue;
                }
                let r = owner
                    .request(reqwest::Method::GET, &format!("/api/v1/files/{id}/content"))
                    .header("range", format!("bytes={a}-{}", b - 1))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
                assert_eq!(
                    r.bytes().await.unwrap().as_ref(),
                    &body[a..b],
                    "size {size} range {a}..{b}"
                );
            }
        }

        // The independent decryptor (written from the spec) reads a blob our server wrote.
        let body = data(5 * CHUNK + 7, 99);
        let (_, blob) = upload_blob(&srv, &owner, &root, "oracle.bin", &body).await;
        oracle_decrypts(&key, &blob, &body);

        // Tampering: header, a middle chunk, the last chunk, truncation, extension.
        let body = data(6 * CHUNK + 100, 7);
        let mut damaged = vec![];
        type Damage = Box<dyn Fn(&Path)>;
        let cases: Vec<(&str, Damage)> = vec![
            ("header", Box::new(|p| flip(p, 20))),
            ("first chunk", Box::new(|p| flip(p, HEADER + 40))),
            ("middle chunk", Box::new(|p| flip(p, HEADER + 3 * RECORD + 100))),
            ("last chunk", Box::new(|p| flip(p, HEADER + 6 * RECORD + 50))),
            (
                "truncated",
                Box::new(|p| {
                    let b = std::fs::read(p).unwrap();
                    std::fs::write(p, &b[..HEADER + 6 * RECORD]).unwrap();
                }),
            ),
            (
                "extended",
                Box::new(|p| {
                    let mut b = std::fs::read(p).unwrap();
                    b.extend_from_slice(&[0u8; 100]);
                    std::fs::write(p, b).unwrap();
                }),
            ),
        ];
        for (what, damage) in &cases {
            let (id, blob) = upload_blob(&srv, &owner, &root, &format!("t-{what}"), &body).await;
            damage(&blob);
            let (status, got) = download(&owner, &id).await;
            match got {
                Ok(b) if status == StatusCode::OK => assert!(b != body, "{what}: damage went unnoticed"),
                Ok(b) => {
                    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
                    let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
                    assert_eq!(v["error"]["code"], "integrity", "{what}");
                }
                Err(_) => {} // cut off mid-transfer: the client sees a broken body
            }
            if status == StatusCode::OK {
                // A short, verified prefix at most; never the damaged bytes.
                let (_, again) = download(&owner, &id).await;
                if let Ok(b) = again {
                    assert!(b.len() < body.len() && body.starts_with(&b), "{what}");
                }
            }
            damaged.push(id);
        }

        // Two objects swapped between files: both refuse.
        let (a, blob_a) = upload_blob(&srv, &owner, &root, "swap-a", &data(1000, 1)).await;
        let (b, blob_b) = upload_blob(&srv, &owner, &root, "swap-b", &data(1000, 2)).await;
        let (ba, bb) = (std::fs::read(&blob_a).unwrap(), std::fs::read(&blob_b).unwrap());
        std::fs::write(&blob_a, &bb).unwrap();
        std::fs::write(&blob_b, &ba).unwrap();
        for id in [&a, &b] {
            let (status, _) = download(&owner, id).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
            damaged.push(id.clone());
        }
        // Chunks swapped within one object.
        let (c, blob_c) = upload_blob(&srv, &owner, &root, "reorder", &data(3 * CHUNK, 3)).await;
        let mut bytes = std::fs::read(&blob_c).unwrap();
        let (first, second) = (HEADER..HEADER + RECORD, HEADER + RECORD..HEADER + 2 * RECORD);
        let one = bytes[first.clone()].to_vec();
        let two = bytes[second.clone()].to_vec();
        bytes[first].copy_from_slice(&two);
        bytes[second].copy_from_slice(&one);
        std::fs::write(&blob_c, bytes).unwrap();
        assert_eq!(download(&owner, &c).await.0, StatusCode::INTERNAL_SERVER_ERROR);
        damaged.push(c);

        // A missing object is damage too.
        let (gone, blob_gone) = upload_blob(&srv, &owner, &root, "vanished", &data(5000, 5)).await;
        std::fs::remove_file(&blob_gone).unwrap();
        assert_eq!(download(&owner, &gone).await.0, StatusCode::INTERNAL_SERVER_ERROR);
        damaged.push(gone);

        // Where the room stamps downloads, damage is found while reading the document to
        // stamp it: the same 500 `integrity`, audited, not a generic error.
        let viewer = srv.user(&owner, "viewer@example.org", "user").await;
        let room = owner.json(owner.get("/api/v1/rooms").await, StatusCode::OK).await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let member = serde_json::json!({"kind": "user", "id": viewer.user_id, "access": "view_only"});
        let r = owner.put(&format!("/api/v1/rooms/{room}/members"), member).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let policy = serde_json::json!({"watermark_below": "edit", "watermark_text": "{email}"});
        let r = owner.put(&format!("/api/v1/rooms/{room}/policy"), policy).await;
        assert_eq!(r.status(), StatusCode::OK);
        let mut pdf = b"%PDF-1.4\n".to_vec();
        pdf.extend(data(2 * CHUNK, 8));
        let (stamped, blob) = upload_blob(&srv, &owner, &root, "stamped.pdf", &pdf).await;
        flip(&blob, HEADER + 40);
        let (status, got) = download(&viewer, &stamped).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let v: serde_json::Value = serde_json::from_slice(&got.unwrap()).unwrap();
        assert_eq!(v["error"]["code"], "integrity", "{v}");
        let failures = owner
            .json(
                owner
                    .get("/api/v1/audit?action=file.integrity_failure&limit=1000")
                    .await,
                StatusCode::OK,
            )
            .await;
        assert!(
            failures
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["target_id"] == stamped.as_str()),
            "{failures}"
        );
        let downloads = owner
            .json(
                owner.get("/api/v1/audit?action=file.download&limit=1000").await,
                StatusCode::OK,
            )
            .await;
        assert!(
            !downloads
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["target_id"] == stamped.as_str()),
            "a refused download is not recorded as one"
        );
        damaged.push(stamped);

        // Every failure is in the audit trail and the log.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let audit = owner
            .json(
                owner
                    .get("/api/v1/audit?action=file.integrity_failure&limit=1000")
                    .await,
                StatusCode::OK,
            )
            .await;
        assert!(audit.as_array().unwrap().len() >= 5, "{audit}");
        assert!(srv.log().contains("integrity"));

        // `storage verify` lists every damaged version, and only those, and exits non-zero.
        let out = srv.cli(&["storage", "verify"], "");
        assert!(!out.status.success());
        let report = String::from_utf8_lossy(&out.stdout);
        for id in &damaged {
            assert!(
                report.contains(&format!("DAMAGED file {id} version 1")),
                "{id} missing from:\n{report}"
            );
        }
        assert_eq!(
            report.lines().filter(|l| l.starts_with("DAMAGED")).count(),
            damaged.len(),
            "{report}"
        );

        // Start-up refuses a missing or wrong key.
        let err = srv.serve_must_fail("");
        assert!(
            err.contains("not configure") || err.contains("does not provide"),
            "{err}"
        );
        let other = keygen(keys.path(), "other.key");
        let err = srv.serve_must_fail(&enc_toml(&other));
        assert!(err.contains("master key"), "{err}");
        let err = srv.serve_must_fail("[encryption]\nenabled = true\n");
        assert!(err.contains("no master key"), "{err}");
    }
}

#[tokio::test]
async fn an_existing_instance_is_encrypted_online_and_back() {
    let backend = backends().remove(0);
    let keys = tempfile::tempdir().unwrap();
    let key = keygen(keys.path(), "master.key");
    let mut srv = Server::start(&backend);
    let owner = srv.owner().await;
    let (_, root) = owner.room("Archive").await;
    let mut files = vec![];
    for i in 0..12 {
        let body = data(i * 50_000 + 3, i as u64);
        let f = owner
            .json(
                owner.upload(&root, &format!("doc{i}.bin"), body.clone()).await,
                StatusCode::CREATED,
            )
            .await;
        files.push((f["id"].as_str().unwrap().to_string(), body));
    }
    let plain_blobs = srv.blob_files().unwrap();

    // Turn encryption on: the server converts stored documents in the background.
    srv.restart_with(&enc_toml(&key));
    let owner = srv.login(OWNER_EMAIL, PASSWORD).await;
    let mut status = serde_json::Value::Null;
    for _ in 0..100 {
        status = owner
            .json(owner.get("/api/v1/admin/encryption").await, StatusCode::OK)
            .await;
        if status["progress"]["objects_done"] == status["progress"]["objects_total"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status["enabled"], true);
    assert!(status["progress"].get("eta_seconds").is_some(), "{status}");
    assert_eq!(status["progress"]["objects_total"], 12);
    assert_eq!(status["progress"]["objects_done"], 12, "{status}");
    assert_eq!(
        status["keys_in_use"],
        serde_json::json!([{"key_id": status["current_key_id"], "objects": 12}]),
        "{status}"
    );
    for (id, body) in &files {
        assert_eq!(&download(&owner, id).await.1.unwrap(), body);
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let enc_blobs = srv.blob_files().unwrap();
    assert_eq!(enc_blobs.len(), 12, "old plaintext blobs are deleted");
    assert!(enc_blobs.iter().all(|p| !plain_blobs.contains(p)));
    let out = srv.cli(&["storage", "verify"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("checked 12 versions and 0 secrets, 0 damaged"));
    let out = srv.cli(&["encryption", "status"], "");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("encrypt: 12/12 versions"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // And back, through the API: encryption off in the configuration, the key still there.
    let plain_cfg = format!("[encryption]\nenabled = false\nkey_file = \"{}\"\n", key.display());
    srv.restart_with(&plain_cfg);
    let owner = srv.login(OWNER_EMAIL, PASSWORD).await;
    let started = owner
        .json(
            owner
                .post("/api/v1/admin/encryption/convert", serde_json::json!({}))
                .await,
            StatusCode::ACCEPTED,
        )
        .await;
    assert_eq!(started["progress"]["direction"], "decrypt");
    for _ in 0..100 {
        status = owner
            .json(owner.get("/api/v1/admin/encryption").await, StatusCode::OK)
            .await;
        if status["progress"]["objects_done"] == 12 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status["progress"]["objects_done"], 12, "{status}");
    assert_eq!(
        status["keys_in_use"],
        serde_json::json!([]),
        "no key is needed any more"
    );
    for (id, body) in &files {
        assert_eq!(&download(&owner, id).await.1.unwrap(), body);
    }
    let out = srv.cli(&["encryption", "disable"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("decrypt: 12/12 versions"));
    // With nothing encrypted any more, the key is no longer needed.
    srv.restart_with("");
    let owner = srv.login(OWNER_EMAIL, PASSWORD).await;
    assert_eq!(&download(&owner, &files[5].0).await.1.unwrap(), &files[5].1);
}

#[tokio::test]
async fn master_key_rotation_rewraps_without_rewriting_data() {
    let backend = backends().remove(0);
    let keys = tempfile::tempdir().unwrap();
    let (old, new) = (keygen(keys.path(), "old.key"), keygen(keys.path(), "new.key"));
    let mut srv = Server::start_with(
        &backend,
        Options {
            extra_toml: enc_toml(&old),
            args: vec![],
        },
    );
    let owner = srv.owner().await;
    let (_, root) = owner.room("Keys").await;
    let mut files = vec![];
    for i in 0..4 {
        let body = data(100_000 * i + 1, i as u64);
        let (id, blob) = upload_blob(&srv, &owner, &root, &format!("k{i}"), &body).await;
        files.push((id, blob.clone(), body, std::fs::read(&blob).unwrap()));
    }

    let out = srv.cli(&["admin", "secret", "set", "smtp.password"], "kept across rotation");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // New key current, old key retired: reads work, then rotate.
    let rotated = format!(
        "[encryption]\nenabled = true\nkey_file = \"{}\"\nretired_key_files = [\"{}\"]\n",
        new.display(),
        old.display()
    );
    srv.restart_with(&rotated);
    let out = srv.cli(&["encryption", "rotate-key"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("re-wrapped 4 versions"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (_, blob, _, before) in &files {
        let after = std::fs::read(blob).unwrap();
        assert_eq!(after.len(), before.len());
        assert_ne!(after[..HEADER], before[..HEADER], "the header is re-wrapped");
        assert_eq!(after[HEADER..], before[HEADER..], "document data is not rewritten");
    }
    let status = srv.cli(&["encryption", "status"], "");
    let status = String::from_utf8_lossy(&status.stdout).to_string();
    assert_eq!(
        status.matches("encrypts").count(),
        1,
        "only the new key is in use:\n{status}"
    );
    assert!(
        status.contains("encrypts 5 objects"),
        "4 versions and 1 secret:\n{status}"
    );

    // The old key can go; everything still reads.
    srv.restart_with(&enc_toml(&new));
    let owner = srv.login(OWNER_EMAIL, PASSWORD).await;
    for (id, _, body, _) in &files {
        assert_eq!(&download(&owner, id).await.1.unwrap(), body);
    }
    let out = srv.cli(&["storage", "verify"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("checked 4 versions and 1 secrets, 0 damaged"));
    let listed = srv.cli(&["admin", "secret", "list"], "");
    let new_id = std::fs::read_to_string(&new).unwrap();
    let new_id = new_id.trim().split(':').nth(1).unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains(&format!("smtp.password  sealed with master key {new_id}")),
        "{}",
        String::from_utf8_lossy(&listed.stdout)
    );
}

/// `encryption enable` killed with SIGKILL at several points: every file stays readable, and
/// the next run finishes the job.
#[tokio::test]
async fn conversion_survives_sigkill_and_resumes() {
    let backend = backends().remove(0);
    let keys = tempfile::tempdir().unwrap();
    let key = keygen(keys.path(), "master.key");
    let mut srv = Server::start(&backend);
    let owner = srv.owner().await;
    let (_, root) = owner.room("Big archive").await;
    let mut files = vec![];
    for i in 0..30 {
        let body = data(300_000 + i * 1000, 100 + i as u64);
        let f = owner
            .json(
                owner.upload(&root, &format!("a{i}.bin"), body.clone()).await,
                StatusCode::CREATED,
            )
            .await;
        files.push((f["id"].as_str().unwrap().to_string(), body));
    }
    // The server keeps serving (holding the key, but not converting by itself) while the CLI
    // converts and is killed.
    srv.restart_with(&format!(
        "[encryption]\nenabled = false\nkey_file = \"{}\"\n",
        key.display()
    ));
    let owner = srv.login(OWNER_EMAIL, PASSWORD).await;
    std::fs::write(srv.dir.path().join("enc.toml"), enc_toml(&key)).unwrap();
    let enc_config = srv.dir.path().join("enc.toml");
    for delay_ms in [150u64, 300, 450] {
        let mut child = std::process::Command::new(BIN)
            .args(["encryption", "enable", "--config"])
            .arg(&enc_config)
            .arg("--data-dir")
            .arg(srv.dir.path().join("data"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let status = run_cli(&enc_config, srv.dir.path(), &["encryption", "status"], "");
        eprintln!(
            "killed at {delay_ms} ms: {}",
            String::from_utf8_lossy(&status.stderr).trim()
        );
        for (id, body) in &files {
            let (status, got) = download(&owner, id).await;
            assert_eq!(status, StatusCode::OK, "after a kill at {delay_ms} ms");
            assert_eq!(&got.unwrap(), body, "after a kill at {delay_ms} ms");
        }
    }
    let out = run_cli(&enc_config, srv.dir.path(), &["encryption", "enable"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run_cli(&enc_config, srv.dir.path(), &["encryption", "status"], "");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("encrypt: 30/30 versions"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    srv.restart_with(&enc_toml(&key));
    let owner = srv.login(OWNER_EMAIL, PASSWORD).await;
    for (id, body) in &files {
        assert_eq!(&download(&owner, id).await.1.unwrap(), body);
    }
    let out = srv.cli(&["storage", "verify"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    // A blob recorded nowhere (as a process killed between writing and recording leaves it):
    // listed by `storage verify` once it is an hour old, removed by `storage remove-orphans`.
    let blobs = srv.blob_files().unwrap();
    let orphan = blobs[0].with_file_name("0123456789abcdef0123456789abcdef");
    std::fs::copy(&blobs[0], &orphan).unwrap();
    let out = srv.cli(&["storage", "verify"], "");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("ORPHAN"),
        "a fresh blob may be an upload being recorded"
    );
    let touched = std::process::Command::new("touch")
        .args(["-d", "2 hours ago"])
        .arg(&orphan)
        .status()
        .unwrap();
    assert!(touched.success());
    let out = srv.cli(&["storage", "verify"], "");
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "orphans are not damage");
    assert!(
        report.contains("ORPHAN blob blobs/") && report.contains("1 orphaned blobs"),
        "{report}"
    );
    let out = srv.cli(&["storage", "remove-orphans", "--older-than-hours", "1"], "");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("removed 1 orphaned blobs"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!orphan.exists());
    assert_eq!(srv.blob_files().unwrap().len(), blobs.len());
    for (id, body) in &files {
        assert_eq!(&download(&owner, id).await.1.unwrap(), body);
    }
}

#[tokio::test]
async fn master_key_from_a_passphrase() {
    let backend = backends().remove(0);
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(BIN)
        .args(["encryption", "keygen", "--passphrase-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery staple again\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let params_line = String::from_utf8(out.stdout).unwrap();
    assert!(
        params_line.starts_with("passphrase_params = \"strongroom-passphrase-v1:argon2id:"),
        "{params_line}"
    );
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "correct horse battery staple again\n").unwrap();
    let toml = format!(
        "[encryption]\nenabled = true\n{}passphrase_file = \"{}\"\n",
        params_line,
        pass.display()
    );
    let mut srv = Server::start_with(
        &backend,
        Options {
            extra_toml: toml.clone(),
            args: vec![],
        },
    );
    let owner = srv.owner().await;
    let (_, root) = owner.room("P").await;
    let (id, blob) = upload_blob(&srv, &owner, &root, "p.txt", b"secret by passphrase").await;
    assert!(!std::fs::read(&blob).unwrap().windows(6).any(|w| w == b"secret"));
    std::fs::write(&pass, "a different passphrase entirely\n").unwrap();
    let err = srv.serve_must_fail(&toml);
    assert!(err.contains("master key"), "{err}");
    std::fs::write(&pass, "correct horse battery staple again\n").unwrap();
    srv.restart_with(&toml);
    let owner = srv.login(OWNER_EMAIL, PASSWORD).await;
    assert_eq!(download(&owner, &id).await.1.unwrap(), b"secret by passphrase");
}
