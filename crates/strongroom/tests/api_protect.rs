//! Protecting and watermarking stored files through the API, checked by our own decryptor and,
//! where installed, by msoffcrypto-tool, qpdf and pdftotext.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod common;
mod fixtures;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn protect_and_watermark_stored_files() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (room, root) = owner.room("Board papers").await;
    let docx = fixtures::docx_with_filler("Quarterly figures", 8000);
    let d = owner
        .json(owner.upload(&root, "q3.docx", docx.clone()).await, StatusCode::CREATED)
        .await;
    let docx_id = d["id"].as_str().unwrap().to_string();
    let pdf = fixtures::pdf(&["Minutes page one", "Minutes page two"]);
    let p = owner
        .json(
            owner.upload(&root, "minutes.pdf", pdf.clone()).await,
            StatusCode::CREATED,
        )
        .await;
    let pdf_id = p["id"].as_str().unwrap().to_string();
    let t = owner
        .json(
            owner.upload(&root, "notes.txt", b"plain text".to_vec()).await,
            StatusCode::CREATED,
        )
        .await;

    // Office: a protected download; the stored file is unchanged.
    let r = owner
        .post(
            &format!("/api/v1/files/{docx_id}/protect"),
            json!({"password": "open sesame 1"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let protected = r.bytes().await.unwrap().to_vec();
    assert_eq!(
        strongroom_docs::detect_format(&protected),
        strongroom_docs::Format::CompoundFile
    );
    assert_eq!(
        strongroom_docs::office::decrypt_bytes(&protected, "open sesame 1").unwrap(),
        docx
    );
    assert!(strongroom_docs::office::decrypt_bytes(&protected, "wrong").is_err());
    let info = owner
        .json(owner.get(&format!("/api/v1/files/{docx_id}")).await, StatusCode::OK)
        .await;
    assert_eq!(info["version"], 1);
    if tool("msoffcrypto-tool") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("enc.docx"), &protected).unwrap();
        let out = std::process::Command::new("msoffcrypto-tool")
            .args(["-p", "open sesame 1"])
            .arg(dir.path().join("enc.docx"))
            .arg(dir.path().join("dec.docx"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read(dir.path().join("dec.docx")).unwrap(), docx);
    }

    // PDF: stored as a new version, with restrictions.
    let r = owner
        .post(&format!("/api/v1/files/{pdf_id}/protect"), json!({"password": "pdf pass 1", "owner_password": "owner pass 1", "allow_print": false, "deliver": "version"}))
        .await;
    let v = owner.json(r, StatusCode::CREATED).await;
    assert_eq!(v["version"], 2);
    let stored = owner
        .get(&format!("/api/v1/files/{pdf_id}/content"))
        .await
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let info = strongroom_docs::pdf::encryption_info(&stored).unwrap().unwrap();
    assert!(!info.permissions.print && info.permissions.copy);
    if tool("qpdf") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.pdf"), &stored).unwrap();
        let out = std::process::Command::new("qpdf")
            .args(["--show-encryption", "--password=pdf pass 1"])
            .arg(dir.path().join("p.pdf"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("R = 6") && text.contains("print high resolution: not allowed"),
            "{text}"
        );
    }
    // Protecting it again is refused clearly.
    let r = owner
        .post(&format!("/api/v1/files/{pdf_id}/protect"), json!({"password": "again"}))
        .await;
    assert!(
        r.status() == StatusCode::CONFLICT || r.status() == StatusCode::BAD_REQUEST,
        "{}",
        r.status()
    );

    // Watermark with the viewer's details, on the original version of another upload.
    let w = owner
        .json(owner.upload(&root, "memo.pdf", pdf.clone()).await, StatusCode::CREATED)
        .await;
    let r = owner
        .post(
            &format!("/api/v1/files/{}/watermark", w["id"].as_str().unwrap()),
            json!({"text": "Copy for {email} in {room}", "rotation": 0}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let stamped = r.bytes().await.unwrap().to_vec();
    if tool("pdftotext") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("w.pdf"), &stamped).unwrap();
        let out = std::process::Command::new("pdftotext")
            .args(["-raw"])
            .arg(dir.path().join("w.pdf"))
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.matches("Copy for owner@example.org in Board papers").count(),
            2,
            "on every page:\n{text}"
        );
    }

    // Not a document format: a clear 415; a viewer cannot store versions.
    let r = owner
        .post(
            &format!("/api/v1/files/{}/protect", t["id"].as_str().unwrap()),
            json!({"password": "x y z"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let viewer = srv.user(&owner, "viewer@example.org", "user").await;
    owner
        .put(
            &format!("/api/v1/rooms/{room}/members"),
            json!({"kind": "user", "id": viewer.user_id, "access": "view_only"}),
        )
        .await;
    let r = viewer
        .post(
            &format!("/api/v1/files/{docx_id}/protect"),
            json!({"password": "p w d", "deliver": "version"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = viewer
        .post(
            &format!("/api/v1/files/{docx_id}/protect"),
            json!({"password": "p w d"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "a viewer may take a protected copy");
    let audit = owner
        .json(owner.get("/api/v1/audit?action=file.protect").await, StatusCode::OK)
        .await;
    assert_eq!(audit.as_array().unwrap().len(), 3);
    assert!(
        !audit.to_string().contains("open sesame") && !srv.log().contains("open sesame"),
        "passwords never logged"
    );
}
