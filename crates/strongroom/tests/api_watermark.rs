//! Watermarks through the API beyond Latin-1 text: non-Latin text in the embedded font, an
//! image watermark taken from another stored file (read with the caller's own rights), and the
//! errors around both. pdftotext and pdfimages (poppler) check the output where installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod common;
mod fixtures;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

/// A `w`×`h` opaque RGBA PNG of one colour, written by hand (zlib with stored blocks).
fn png(w: u32, h: u32, rgba: [u8; 4]) -> Vec<u8> {
    // Each row: filter type 0 (none), then the pixels.
    let row: Vec<u8> = std::iter::once(0).chain(rgba.repeat(w as usize)).collect();
    let raw = row.repeat(h as usize);
    let len = raw.len() as u16;
    let mut z = vec![0x78, 0x01, 1];
    z.extend_from_slice(&len.to_le_bytes());
    z.extend_from_slice(&(!len).to_le_bytes());
    z.extend_from_slice(&raw);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunks: [(&[u8], &[u8]); 3] = [(b"IHDR", &ihdr), (b"IDAT", &z), (b"IEND", &[])];
    for (kind, data) in chunks {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let typed = [kind, data].concat();
        out.extend_from_slice(&typed);
        out.extend_from_slice(&fixtures::crc32(&typed).to_be_bytes());
    }
    out
}

fn run(pdf: &[u8], tool: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("w.pdf");
    std::fs::write(&f, pdf).unwrap();
    let out = std::process::Command::new(tool)
        .args(args)
        .arg(&f)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn image_and_non_latin_watermarks_on_stored_files() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (room, root) = owner.room("Совет").await;
    let upload = |name: &'static str, body: Vec<u8>| {
        let owner = &owner;
        let root = root.clone();
        async move {
            let v = owner
                .json(owner.upload(&root, name, body).await, StatusCode::CREATED)
                .await;
            v["id"].as_str().unwrap().to_string()
        }
    };
    let pdf_id = upload("minutes.pdf", fixtures::pdf(&["Minutes page one", "Minutes page two"])).await;
    let logo_id = upload("logo.png", png(40, 20, [0, 0, 255, 255])).await;
    let txt_id = upload("notes.txt", b"plain text".to_vec()).await;

    // Cyrillic text with the room's (Cyrillic) name, and the stored logo, in one request.
    let r = owner
        .post(
            &format!("/api/v1/files/{pdf_id}/watermark"),
            json!({"text": "Копия для {email} — {room}", "image_file_id": logo_id, "image_scale": 0.3,
                   "opacity": 1, "rotation": 0}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let stamped = r.bytes().await.unwrap().to_vec();
    assert!(stamped.starts_with(b"%PDF-"));
    if tool("pdftotext") {
        let text = run(&stamped, "pdftotext", &[]);
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            flat.matches("Копия для owner@example.org — Совет").count(),
            2,
            "on every page:\n{text}"
        );
    }
    if tool("pdfimages") {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("w.pdf");
        std::fs::write(&f, &stamped).unwrap();
        let out = std::process::Command::new("pdfimages")
            .arg("-list")
            .arg(&f)
            .output()
            .unwrap();
        let list = String::from_utf8_lossy(&out.stdout);
        for page in ["1", "2"] {
            assert!(
                list.lines()
                    .map(|l| l.split_whitespace().collect::<Vec<_>>())
                    .any(|t| t.len() > 4 && t[0] == page && t[2..5] == ["image", "40", "20"]),
                "page {page}: {list}"
            );
        }
    }
    // Reading the image is audited against the image file.
    let audit = owner
        .json(
            owner.get("/api/v1/audit?action=file.watermark_image").await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
    assert!(audit.to_string().contains(&logo_id), "{audit}");

    // An image alone is enough.
    let r = owner
        .post(
            &format!("/api/v1/files/{pdf_id}/watermark"),
            json!({"image_file_id": logo_id}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // Pictures and Word documents are stamped too: a stored PNG gets the text in its pixels,
    // a stored .docx a header watermark (text only; Word draws any script).
    let photo = png(120, 60, [255, 255, 255, 255]);
    let photo_id = upload("photo.png", photo.clone()).await;
    let r = owner
        .post(
            &format!("/api/v1/files/{photo_id}/watermark"),
            json!({"text": "Копия {room}", "opacity": 1}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    let stamped_photo = r.bytes().await.unwrap().to_vec();
    assert!(stamped_photo.starts_with(b"\x89PNG\r\n\x1a\n") && stamped_photo != photo);
    let memo_id = upload("memo.docx", fixtures::docx("Board memo")).await;
    let r = owner
        .post(
            &format!("/api/v1/files/{memo_id}/watermark"),
            json!({"text": "DRAFT {email} 機密"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let memo = r.bytes().await.unwrap().to_vec();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("memo.docx");
    std::fs::write(&f, &memo).unwrap();
    let headers = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(''.join(z.read(n).decode() for n in z.namelist() if n.startswith('word/header')))")
        .arg(&f)
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&headers.stdout);
    assert!(headers.contains("DRAFT owner@example.org 機密"), "{headers}");
    let r = owner
        .post(
            &format!("/api/v1/files/{memo_id}/watermark"),
            json!({"image_file_id": logo_id}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("text watermark only"));

    // A kind of file watermarks are not stamped on: 415, naming what is.
    let r = owner
        .post(&format!("/api/v1/files/{txt_id}/watermark"), json!({"text": "x"}))
        .await;
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(r.text().await.unwrap().contains("PNG or JPEG image"));

    // Clear 400s: a character the font lacks (named), nothing to stamp, an image that is not
    // an image, a malformed id.
    let errors = [
        (json!({"text": "Копия 機密"}), "U+6A5F"),
        (json!({"tiled": true}), "image_file_id"),
        (json!({"image_file_id": txt_id}), "PNG or JPEG"),
        (json!({"image_file_id": "../../etc/passwd"}), ""),
    ];
    for (body, needle) in errors {
        let r = owner
            .post(&format!("/api/v1/files/{pdf_id}/watermark"), body.clone())
            .await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(
            status.is_client_error() && status != StatusCode::NOT_FOUND,
            "{body}: {status} {text}"
        );
        assert!(text.contains(needle), "{body}: {text}");
    }

    // The image is read with the caller's rights: a member of this room who cannot see the
    // other room's logo cannot borrow it.
    let (_, other_root) = owner.room("Private").await;
    let secret = owner
        .json(
            owner
                .upload(&other_root, "secret.png", png(8, 8, [255, 0, 0, 255]))
                .await,
            StatusCode::CREATED,
        )
        .await;
    let secret_id = secret["id"].as_str().unwrap();
    let viewer = srv.user(&owner, "viewer@example.org", "user").await;
    owner
        .put(
            &format!("/api/v1/rooms/{room}/members"),
            json!({"kind": "user", "id": viewer.user_id, "access": "view_only"}),
        )
        .await;
    let r = viewer
        .post(&format!("/api/v1/files/{pdf_id}/watermark"), json!({"text": "Копия"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK, "a viewer may take a watermarked copy");
    let r = viewer
        .post(
            &format!("/api/v1/files/{pdf_id}/watermark"),
            json!({"image_file_id": secret_id}),
        )
        .await;
    assert!(
        r.status() == StatusCode::FORBIDDEN || r.status() == StatusCode::NOT_FOUND,
        "{}",
        r.status()
    );
    let r = viewer
        .post(
            &format!("/api/v1/files/{pdf_id}/watermark"),
            json!({"image_file_id": logo_id}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "an image in a room the viewer can read is fine"
    );
}
