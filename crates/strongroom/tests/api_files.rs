//! Files, folders and versions through the HTTP API, on every backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod common;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn upload_download_ranges_versions_and_trash() {
    for backend in backends() {
        eprintln!("backend: {}", backend.name);
        let srv = Server::start(&backend);
        let owner = srv.owner().await;
        let (room, root) = owner.room("Contracts").await;

        // Nested folders.
        let f = owner
            .json(
                owner
                    .post(&format!("/api/v1/folders/{root}/folders"), json!({"name": "2026"}))
                    .await,
                StatusCode::CREATED,
            )
            .await;
        let sub = f["id"].as_str().unwrap().to_string();
        let dup = owner
            .post(&format!("/api/v1/folders/{root}/folders"), json!({"name": "2026"}))
            .await;
        assert_eq!(dup.status(), StatusCode::CONFLICT);

        // Raw upload, several parts long, and the exact bytes back.
        let body = data(9 * 1024 * 1024 + 17, 1);
        let up = owner
            .json(
                owner.upload(&sub, "Ünïcode contract.pdf", body.clone()).await,
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(up["size"], body.len());
        assert_eq!(up["sha256"], sha256_hex(&body));
        assert_eq!(up["version"], 1);
        assert_eq!(up["content_type"], "application/pdf");
        let id = up["id"].as_str().unwrap().to_string();
        let r = owner.get(&format!("/api/v1/files/{id}/content")).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/pdf");
        assert_eq!(r.headers()["etag"], format!("\"{}\"", sha256_hex(&body)));
        let cd = r.headers()["content-disposition"].to_str().unwrap().to_string();
        assert!(
            cd.starts_with("attachment;") && cd.contains("filename*=UTF-8''%C3%9Cn%C3%AFcode%20contract.pdf"),
            "{cd}"
        );
        assert_eq!(r.bytes().await.unwrap().as_ref(), &body[..]);

        // Ranges.
        let range = |h: &'static str| {
            owner
                .request(reqwest::Method::GET, &format!("/api/v1/files/{id}/content"))
                .header("range", h)
                .send()
        };
        let r = range("bytes=0-0").await.unwrap();
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(r.headers()["content-range"], format!("bytes 0-0/{}", body.len()));
        assert_eq!(r.bytes().await.unwrap().as_ref(), &body[..1]);
        let r = range("bytes=8388600-8388700").await.unwrap();
        assert_eq!(r.bytes().await.unwrap().as_ref(), &body[8388600..=8388700]);
        let r = range("bytes=-5").await.unwrap();
        assert_eq!(r.bytes().await.unwrap().as_ref(), &body[body.len() - 5..]);
        let r = range("bytes=99999999-").await.unwrap();
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(r.headers()["content-range"], format!("bytes */{}", body.len()));
        let r = owner
            .request(reqwest::Method::GET, &format!("/api/v1/files/{id}/content"))
            .header("if-none-match", format!("\"{}\"", sha256_hex(&body)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

        // Empty file, and a multipart upload.
        let e = owner
            .json(owner.upload(&root, "empty.txt", vec![]).await, StatusCode::CREATED)
            .await;
        let r = owner
            .get(&format!("/api/v1/files/{}/content", e["id"].as_str().unwrap()))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.bytes().await.unwrap().is_empty());
        let form = reqwest::multipart::Form::new().text("note", "ignored").part(
            "file",
            reqwest::multipart::Part::bytes(b"hello multipart".to_vec()).file_name("notes.txt"),
        );
        let r = owner
            .request(reqwest::Method::POST, &format!("/api/v1/folders/{root}/files"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let mp = owner.json(r, StatusCode::CREATED).await;
        assert_eq!(mp["name"], "notes.txt");
        assert_eq!(mp["size"], 15);

        // New version; the old one stays downloadable.
        let v2 = data(1000, 2);
        let r = owner
            .request(reqwest::Method::POST, &format!("/api/v1/files/{id}/versions"))
            .body(v2.clone())
            .send()
            .await
            .unwrap();
        let info = owner.json(r, StatusCode::CREATED).await;
        assert_eq!(info["version"], 2);
        assert_eq!(info["size"], 1000);
        let versions = owner
            .json(owner.get(&format!("/api/v1/files/{id}/versions")).await, StatusCode::OK)
            .await;
        assert_eq!(versions.as_array().unwrap().len(), 2);
        assert_eq!(versions[1]["sha256"], sha256_hex(&body));
        let r = owner.get(&format!("/api/v1/files/{id}/content")).await;
        assert_eq!(r.bytes().await.unwrap().as_ref(), &v2[..]);
        let r = owner.get(&format!("/api/v1/files/{id}/versions/1/content")).await;
        assert_eq!(sha256_hex(&r.bytes().await.unwrap()), sha256_hex(&body));
        assert_eq!(
            owner
                .get(&format!("/api/v1/files/{id}/versions/3/content"))
                .await
                .status(),
            StatusCode::NOT_FOUND
        );

        // Rename, move, copy.
        let r = owner
            .json(
                owner
                    .patch(
                        &format!("/api/v1/files/{id}"),
                        json!({"name": "signed.pdf", "folder_id": root}),
                    )
                    .await,
                StatusCode::OK,
            )
            .await;
        assert_eq!(r["name"], "signed.pdf");
        assert_eq!(r["folder_id"], root.as_str());
        let c = owner
            .json(
                owner
                    .post(&format!("/api/v1/files/{id}/copy"), json!({"folder_id": sub}))
                    .await,
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(c["sha256"], sha256_hex(&v2));
        assert_ne!(c["id"], id.as_str());
        let clash = owner
            .post(&format!("/api/v1/files/{id}/copy"), json!({"folder_id": root}))
            .await;
        assert_eq!(clash.status(), StatusCode::CONFLICT);
        let r = owner
            .patch(&format!("/api/v1/folders/{sub}"), json!({"folder_id": sub}))
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "a folder cannot move into itself");

        // Trash, restore, purge.
        let listing = owner
            .json(owner.get(&format!("/api/v1/folders/{root}")).await, StatusCode::OK)
            .await;
        assert_eq!(listing["files"].as_array().unwrap().len(), 3);
        assert_eq!(
            owner.delete(&format!("/api/v1/files/{id}")).await.status(),
            StatusCode::CONFLICT,
            "purge needs the trash first"
        );
        owner
            .json(
                owner.post(&format!("/api/v1/files/{id}/trash"), json!({})).await,
                StatusCode::OK,
            )
            .await;
        let listing = owner
            .json(owner.get(&format!("/api/v1/folders/{root}")).await, StatusCode::OK)
            .await;
        assert_eq!(listing["files"].as_array().unwrap().len(), 2);
        let trash = owner
            .json(owner.get(&format!("/api/v1/rooms/{room}/trash")).await, StatusCode::OK)
            .await;
        assert_eq!(trash["files"][0]["id"], id.as_str());
        owner
            .json(
                owner.post(&format!("/api/v1/files/{id}/restore"), json!({})).await,
                StatusCode::OK,
            )
            .await;
        owner
            .json(
                owner.post(&format!("/api/v1/files/{id}/trash"), json!({})).await,
                StatusCode::OK,
            )
            .await;
        let before = srv.blob_files();
        assert_eq!(
            owner.delete(&format!("/api/v1/files/{id}")).await.status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            owner.get(&format!("/api/v1/files/{id}")).await.status(),
            StatusCode::NOT_FOUND
        );
        if let Some(before) = before {
            // Both versions' blobs are swept.
            let mut after = srv.blob_files().unwrap();
            for _ in 0..50 {
                if after.len() + 2 == before.len() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                after = srv.blob_files().unwrap();
            }
            assert_eq!(after.len() + 2, before.len(), "purged blobs are deleted");
        }

        // A trashed folder hides its contents and comes back with them.
        owner
            .json(
                owner.post(&format!("/api/v1/folders/{sub}/trash"), json!({})).await,
                StatusCode::OK,
            )
            .await;
        let up = owner.upload(&sub, "late.txt", b"x".to_vec()).await;
        assert_eq!(up.status(), StatusCode::CONFLICT, "no uploads into the trash");
        owner
            .json(
                owner.post(&format!("/api/v1/folders/{sub}/restore"), json!({})).await,
                StatusCode::OK,
            )
            .await;
        let listing = owner
            .json(owner.get(&format!("/api/v1/folders/{sub}")).await, StatusCode::OK)
            .await;
        assert_eq!(listing["files"].as_array().unwrap().len(), 1);
        owner
            .json(
                owner.post(&format!("/api/v1/folders/{sub}/trash"), json!({})).await,
                StatusCode::OK,
            )
            .await;
        assert_eq!(
            owner.delete(&format!("/api/v1/folders/{sub}")).await.status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            owner.get(&format!("/api/v1/folders/{sub}")).await.status(),
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test]
async fn failed_uploads_leave_nothing_behind() {
    for backend in backends() {
        eprintln!("backend: {}", backend.name);
        let srv = Server::start(&backend);
        let owner = srv.owner().await;
        let (_, root) = owner.room("Uploads").await;
        owner
            .json(
                owner.upload(&root, "a.txt", b"first".to_vec()).await,
                StatusCode::CREATED,
            )
            .await;
        let blobs_before = srv.blob_files();

        // Name taken: refused before any byte is stored.
        let r = owner.upload(&root, "a.txt", data(3 * 1024 * 1024, 3)).await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "conflict");
        // Bad names.
        for bad in ["", "a/b", "..", "x\u{1}y"] {
            let r = owner.upload(&root, bad, b"x".to_vec()).await;
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "name {bad:?}");
        }

        // A client that promises 40 MiB, sends 20 MiB (some parts stored) and hangs up.
        let Auth::Cookie { cookie, csrf } = owner.auth.clone() else {
            unreachable!()
        };
        let addr = srv.base.trim_start_matches("http://").to_string();
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        use tokio::io::AsyncWriteExt;
        let head = format!(
            "POST /api/v1/folders/{root}/files?name=aborted.bin HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Length: {}\r\n\r\n",
            40 * 1024 * 1024
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&data(20 * 1024 * 1024, 4)).await.unwrap();
        s.flush().await.unwrap();
        drop(s);
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

        let listing = owner
            .json(owner.get(&format!("/api/v1/folders/{root}")).await, StatusCode::OK)
            .await;
        let names: Vec<_> = listing["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, vec!["a.txt"], "no row for failed uploads");
        if let (Some(before), Some(after)) = (blobs_before, srv.blob_files()) {
            assert_eq!(before, after, "no blob (or partial blob) left by failed uploads");
        }
        let audit = owner
            .json(owner.get("/api/v1/audit?action=file.upload").await, StatusCode::OK)
            .await;
        assert_eq!(
            audit.as_array().unwrap().len(),
            1,
            "only the successful upload is audited"
        );
    }
}
