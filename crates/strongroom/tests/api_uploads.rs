//! Upload limits over HTTP: uploads at once per person, storage quotas per person and per
//! room (exact when uploads race, on SQLite and PostgreSQL), and what a multipart form may
//! carry before its file part.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;
use common::*;
use futures::SinkExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn code(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (status, v["error"]["code"].as_str().unwrap_or("").to_string())
}

async fn files_in(s: &Session, folder: &str) -> usize {
    s.json(s.get(&format!("/api/v1/folders/{folder}")).await, StatusCode::OK)
        .await["files"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_limits_and_quotas() {
    for backend in backends() {
        let srv = Server::start(&backend);
        let owner = srv.owner().await;
        let ann = srv.user(&owner, "ann@example.org", "user").await;
        let bob = srv.user(&owner, "bob@example.org", "user").await;
        let limits = "/api/v1/settings/security/uploads";
        assert_eq!(
            owner.json(owner.get(limits).await, StatusCode::OK).await,
            json!({"max_concurrent_uploads": 4, "user_quota_mib": 0, "room_quota_mib": 0})
        );
        for bad in [
            json!({"max_concurrent_uploads": 0}),
            json!({"max_concurrent_uploads": 65}),
            json!({"user_quota_mib": 1_073_741_825u64}),
            json!({"room_quota_mib": -1}),
            json!({"quota": 1}),
        ] {
            assert_eq!(
                owner.put(limits, bad.clone()).await.status(),
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
        assert_eq!(ann.get(limits).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            ann.put(limits, json!({"user_quota_mib": 0})).await.status(),
            StatusCode::FORBIDDEN
        );

        // A person's quota: what fits is stored, what would overflow is refused whole (413),
        // stores nothing, and a new version counts the same.
        let set = |v: Value| {
            let owner = owner.clone();
            async move { assert_eq!(owner.put(limits, v).await.status(), StatusCode::OK) }
        };
        set(json!({"user_quota_mib": 1})).await;
        let (room, root) = ann.room("Ann's").await;
        let r = ann.upload(&root, "a.bin", vec![1; 600_000]).await;
        let first = ann.json(r, StatusCode::CREATED).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            code(ann.upload(&root, "b.bin", vec![2; 600_000]).await).await,
            (StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded".into())
        );
        let r = ann
            .request(reqwest::Method::POST, &format!("/api/v1/files/{first}/versions"))
            .body(vec![3; 600_000])
            .send()
            .await
            .unwrap();
        assert_eq!(code(r).await, (StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded".into()));
        assert_eq!(files_in(&ann, &root).await, 1);
        // 600,000 + 448,576 = 1 MiB exactly: it fits; one byte more does not, even empty
        // files once it is full.
        assert_eq!(
            ann.upload(&root, "c.bin", vec![4; 448_576]).await.status(),
            StatusCode::CREATED
        );
        assert_eq!(
            code(ann.upload(&root, "d.bin", Vec::new()).await).await,
            (StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded".into())
        );
        // Another person in the same room has a quota of their own.
        let members = format!("/api/v1/rooms/{room}/members");
        let grant = json!({"kind": "user", "id": bob.user_id, "access": "edit"});
        assert_eq!(owner.put(&members, grant).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            bob.upload(&root, "bob.bin", vec![5; 500_000]).await.status(),
            StatusCode::CREATED
        );

        // A room's quota counts everyone's versions in it.
        set(json!({"room_quota_mib": 2, "user_quota_mib": 1})).await;
        assert_eq!(
            code(bob.upload(&root, "bob2.bin", vec![6; 600_000]).await).await,
            (StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded".into()),
            "the room holds it, bob's own 1 MiB does not"
        );
        set(json!({"room_quota_mib": 2})).await;
        assert_eq!(
            code(bob.upload(&root, "bob2.bin", vec![6; 600_000]).await).await,
            (StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded".into()),
            "1,548,576 stored: the room has 548,576 left"
        );
        assert_eq!(
            bob.upload(&root, "bob2.bin", vec![6; 548_576]).await.status(),
            StatusCode::CREATED
        );
        assert_eq!(files_in(&ann, &root).await, 4);
        // A copy is stored anew and counts like an upload: the room has no room for it.
        let r = ann
            .post(
                &format!("/api/v1/files/{first}/copy"),
                json!({"folder_id": root, "name": "copy.bin"}),
            )
            .await;
        assert_eq!(code(r).await, (StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded".into()));
        assert_eq!(files_in(&ann, &root).await, 4);
        // A move into a full room is refused like an upload (file or folder); out of it, and
        // within a room, moves go.
        let (_, other) = ann.room("Ann's other").await;
        let small = ann
            .json(ann.upload(&other, "small.bin", vec![1; 10]).await, StatusCode::CREATED)
            .await;
        let small = small["id"].as_str().unwrap().to_string();
        let sub = ann
            .json(
                ann.post(&format!("/api/v1/folders/{other}/folders"), json!({"name": "sub"}))
                    .await,
                StatusCode::CREATED,
            )
            .await;
        let sub = sub["id"].as_str().unwrap().to_string();
        assert_eq!(
            ann.upload(&sub, "inner.bin", vec![1; 10]).await.status(),
            StatusCode::CREATED
        );
        let r = ann
            .patch(&format!("/api/v1/files/{small}"), json!({"folder_id": root}))
            .await;
        assert_eq!(code(r).await, (StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded".into()));
        let r = ann
            .patch(&format!("/api/v1/folders/{sub}"), json!({"folder_id": root}))
            .await;
        assert_eq!(code(r).await, (StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded".into()));
        assert_eq!(files_in(&ann, &root).await, 4);
        let r = ann
            .patch(&format!("/api/v1/files/{first}"), json!({"folder_id": other}))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = ann
            .patch(&format!("/api/v1/files/{first}"), json!({"folder_id": root}))
            .await;
        assert_eq!(r.status(), StatusCode::OK, "back into the room it left room in");

        // Racing uploads pass the quota together no more than one by one: 1 MiB holds three
        // of 300,000 bytes, never four.
        set(json!({"user_quota_mib": 1, "max_concurrent_uploads": 8})).await;
        let cy = srv.user(&owner, "cy@example.org", "user").await;
        let (_, cy_root) = cy.room("Cy's").await;
        let tries = (0..8).map(|i| {
            let (cy, root) = (cy.clone(), cy_root.clone());
            async move { cy.upload(&root, &format!("r{i}.bin"), vec![7; 300_000]).await.status() }
        });
        let mut got: Vec<u16> = futures::future::join_all(tries)
            .await
            .iter()
            .map(|s| s.as_u16())
            .collect();
        got.sort();
        assert_eq!(got, [201, 201, 201, 413, 413, 413, 413, 413], "{backend:?}");
        assert_eq!(files_in(&cy, &cy_root).await, 3);

        // Uploads at once: with one allowed, a second waits its turn (429, Retry-After) while
        // the first streams; once it is done the next goes through.
        set(json!({"max_concurrent_uploads": 1})).await;
        let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(0);
        let slow = {
            let (ann, root) = (ann.clone(), root.clone());
            tokio::spawn(async move {
                ann.request(
                    reqwest::Method::POST,
                    &format!("/api/v1/folders/{root}/files?name=slow.bin"),
                )
                .body(reqwest::Body::wrap_stream(rx))
                .send()
                .await
                .unwrap()
                .status()
            })
        };
        // Sent once the body is being read (the channel holds one piece): the server has the
        // request; a moment more and its handler holds the slot.
        tx.send(Ok(vec![8; 1000])).await.unwrap();
        tx.send(Ok(vec![8; 1000])).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mut refused = None;
        for _ in 0..100 {
            assert!(!slow.is_finished(), "the slow upload ended early: {:?}", slow.await);
            let r = ann.upload(&root, "quick.bin", vec![9; 10]).await;
            if r.status() == StatusCode::TOO_MANY_REQUESTS {
                refused = Some(r);
                break;
            }
            // The slow one may not have begun yet: this one went through; try again.
            assert_eq!(r.status(), StatusCode::CREATED);
            let id = ann.json(r, StatusCode::CREATED).await["id"]
                .as_str()
                .unwrap()
                .to_string();
            assert_eq!(
                ann.post(&format!("/api/v1/files/{id}/trash"), json!({})).await.status(),
                StatusCode::OK
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let refused = refused.expect("a second upload at once was refused");
        assert_eq!(refused.headers()["retry-after"], "5");
        assert_eq!(code(refused).await.1, "too_many_uploads");
        // Someone else is not held up by Ann's upload.
        assert_eq!(
            bob.upload(&root, "bob3.bin", vec![1; 10]).await.status(),
            StatusCode::CREATED
        );
        drop(tx);
        assert_eq!(slow.await.unwrap(), StatusCode::CREATED);
        assert_eq!(
            ann.upload(&root, "quick.bin", vec![9; 10]).await.status(),
            StatusCode::CREATED
        );

        let v = owner
            .json(
                owner.get("/api/v1/audit?action=settings.upload_limits.set").await,
                StatusCode::OK,
            )
            .await;
        assert_eq!(
            v[0]["details"]["changed"]["max_concurrent_uploads"],
            json!({"from": 8, "to": 1})
        );
    }
}

#[tokio::test]
async fn a_multipart_form_is_bounded_before_its_file_part() {
    let srv = Server::start(&backends()[0]);
    let owner = srv.owner().await;
    let (_, root) = owner.room("Forms").await;
    let send = |form: reqwest::multipart::Form| {
        let (owner, root) = (owner.clone(), root.clone());
        async move {
            owner
                .request(reqwest::Method::POST, &format!("/api/v1/folders/{root}/files"))
                .multipart(form)
                .send()
                .await
                .unwrap()
        }
    };
    let file = |name: &str| reqwest::multipart::Part::bytes(b"the file".to_vec()).file_name(name.to_string());
    let fields = |n: usize, size: usize| {
        (0..n).fold(reqwest::multipart::Form::new(), |f, i| {
            f.text(format!("f{i}"), "x".repeat(size))
        })
    };
    // 16 fields of 64 KiB, then the file: stored.
    let r = send(fields(16, 64 * 1024).part("file", file("ok.txt"))).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // One field more, or one byte more in a field: refused, nothing stored.
    let r = send(fields(17, 1).part("file", file("many.txt"))).await;
    let (status, body) = (r.status(), r.text().await.unwrap());
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("at most 16 fields"), "{body}");
    let r = send(fields(1, 64 * 1024 + 1).part("file", file("big.txt"))).await;
    let (status, body) = (r.status(), r.text().await.unwrap());
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("at most 64 KiB"), "{body}");
    // A header that never ends is cut off, not held in memory.
    let endless = format!(
        "--b\r\nContent-Disposition: form-data; name=\"f\"\r\nX: {}",
        "y".repeat(3 << 20)
    );
    let r = owner
        .request(reqwest::Method::POST, &format!("/api/v1/folders/{root}/files"))
        .header("content-type", "multipart/form-data; boundary=b")
        .body(endless)
        .send()
        .await
        .unwrap();
    let (status, body) = (r.status(), r.text().await.unwrap());
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("before its file"), "{body}");
    assert_eq!(files_in(&owner, &root).await, 1);
}
