//! Issue 8, item 6: `POST /files/{pdf}/protect {"password":"emoji-🔒-pass-1"}` answered 500
//! `internal`, and a tab, NUL, U+202E or CR/LF in a password did the same, in the CLI too.
//! Now an emoji password protects (and qpdf opens the PDF with it), and what may not be a
//! password gets a 400 / a one-line CLI error naming the problem, in every format.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod common;
mod fixtures;
use std::io::Write as _;
use std::process::{Command, Stdio};

use common::*;
use reqwest::StatusCode;
use serde_json::json;

const EMOJI: &str = "emoji-🔒-pass-1";

#[tokio::test]
async fn api_accepts_emoji_and_names_unusable_passwords() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (_room, root) = owner.room("Passwords").await;
    let pdf = fixtures::pdf(&["Emoji minutes"]);
    let pdf_id = owner
        .json(owner.upload(&root, "m.pdf", pdf).await, StatusCode::CREATED)
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let docx = fixtures::docx_with_filler("Emoji letter", 8000);
    let docx_id = owner
        .json(owner.upload(&root, "l.docx", docx.clone()).await, StatusCode::CREATED)
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The request: 200 and a PDF the emoji password opens (ours and qpdf).
    let r = owner
        .post(&format!("/api/v1/files/{pdf_id}/protect"), json!({"password": EMOJI}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let protected = r.bytes().await.unwrap().to_vec();
    assert_eq!(
        strongroom_docs::pdf::encryption_info(&protected)
            .unwrap()
            .unwrap()
            .revision,
        6
    );
    let plain = strongroom_docs::pdf::decrypt(&protected, EMOJI).unwrap();
    assert!(String::from_utf8_lossy(&plain).contains("Emoji minutes"));
    if tool("qpdf") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.pdf"), &protected).unwrap();
        let out = Command::new("qpdf")
            .arg(format!("--password={EMOJI}"))
            .args(["--decrypt", "--stream-data=uncompress"])
            .arg(dir.path().join("p.pdf"))
            .arg(dir.path().join("d.pdf"))
            .output()
            .unwrap();
        assert!(out.status.success(), "qpdf: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&std::fs::read(dir.path().join("d.pdf")).unwrap()).contains("Emoji minutes"));
    }
    // And for Office.
    let r = owner
        .post(
            &format!("/api/v1/files/{docx_id}/protect"),
            json!({"password": EMOJI, "deliver": "download"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let enc = r.bytes().await.unwrap().to_vec();
    assert_eq!(strongroom_docs::office::decrypt_bytes(&enc, EMOJI).unwrap(), docx);

    // Unusable passwords: 400 `invalid_password` naming the problem, never the password.
    let cases = [
        (
            &pdf_id,
            json!({"password": "tab\tzq7-1"}),
            "password contains a control character (U+0009)",
        ),
        (
            &pdf_id,
            json!({"password": "nul\u{0}zq7"}),
            "password contains a control character (U+0000)",
        ),
        (
            &pdf_id,
            json!({"password": "crlf\r\nzq7"}),
            "password contains a control character (U+000D)",
        ),
        (
            &pdf_id,
            json!({"password": "zq7\u{202E}fed"}),
            "password contains a bidirectional control character (U+202E)",
        ),
        (
            &pdf_id,
            json!({"password": "fine pass 1", "owner_password": "zq7\ter"}),
            "owner password contains a control character (U+0009)",
        ),
        (
            &pdf_id,
            json!({"password": "zq7\u{E000}use"}),
            "password contains a private-use character (U+E000), which a PDF password may not contain",
        ),
        (
            &pdf_id,
            json!({"password": format!("zq7{}", "a".repeat(125))}),
            "password is longer than 127 bytes in UTF-8 after SASLprep",
        ),
        (
            &docx_id,
            json!({"password": "tab\tzq7-1"}),
            "password contains a control character (U+0009)",
        ),
        (
            &docx_id,
            json!({"password": "zq7\u{202E}fed", "deliver": "version"}),
            "password contains a bidirectional control character (U+202E)",
        ),
    ];
    for (id, body, message) in cases {
        let sent = body.to_string();
        let r = owner.post(&format!("/api/v1/files/{id}/protect"), body).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{sent}");
        let err: serde_json::Value = r.json().await.unwrap();
        assert_eq!(err["error"]["code"], "invalid_password", "{sent}: {err}");
        let got = err["error"]["message"].as_str().unwrap();
        assert!(got.starts_with(message), "{sent}: {got}");
        // Every refused password holds "zq7": the message must not echo it.
        assert!(!got.contains("zq7"), "the message echoes the password: {got}");
    }
    // Nothing was stored by the refused requests.
    for id in [&pdf_id, &docx_id] {
        let info = owner
            .json(owner.get(&format!("/api/v1/files/{id}")).await, StatusCode::OK)
            .await;
        assert_eq!(info["version"], 1);
    }
}

struct Outcome {
    ok: bool,
    stderr: String,
}

fn strongroom(args: &[&str], stdin: &str) -> Outcome {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("STRONGROOM_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    Outcome {
        ok: out.status.success(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn cli_accepts_emoji_and_names_unusable_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pdf = d.join("in.pdf");
    std::fs::write(&pdf, fixtures::pdf(&["CLI emoji"])).unwrap();
    let docx = d.join("in.docx");
    std::fs::write(&docx, fixtures::docx_with_filler("CLI letter", 100)).unwrap();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_owned();

    // Emoji: protect, then unprotect with the same password; qpdf agrees.
    let enc = d.join("enc.pdf");
    let o = strongroom(
        &["protect", &s(&pdf), "--password-stdin", "-o", &s(&enc)],
        &format!("{EMOJI}\n"),
    );
    assert!(o.ok, "{}", o.stderr);
    let dec = d.join("dec.pdf");
    let o = strongroom(
        &["unprotect", &s(&enc), "--password-stdin", "-o", &s(&dec)],
        &format!("{EMOJI}\n"),
    );
    assert!(o.ok, "{}", o.stderr);
    assert!(String::from_utf8_lossy(&std::fs::read(&dec).unwrap()).contains("CLI emoji"));
    if tool("qpdf") {
        let out = Command::new("qpdf")
            .arg(format!("--password={EMOJI}"))
            .args(["--requires-password"])
            .arg(&enc)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "qpdf: the emoji password must be the right one"
        );
    }

    // Unusable: non-zero exit, one line naming the problem, no output file.
    let out = d.join("never.out");
    for (file, stdin, message) in [
        (&pdf, "tab\tzq7\n", "password contains a control character (U+0009)"),
        (&pdf, "cr\rzq7\n", "password contains a control character (U+000D)"),
        (&pdf, "nul\0zq7\n", "password contains a control character (U+0000)"),
        (
            &pdf,
            "zq7\u{202E}fed\n",
            "password contains a bidirectional control character (U+202E)",
        ),
        (
            &pdf,
            "fine pass\nzq7\u{202E}er\n",
            "owner password contains a bidirectional control character (U+202E)",
        ),
        (&docx, "tab\tzq7\n", "password contains a control character (U+0009)"),
    ] {
        let mut args = vec!["protect".to_owned(), s(file), "--password-stdin".to_owned()];
        if stdin.lines().count() == 2 {
            args.push("--owner-password-stdin-line2".to_owned());
        }
        args.extend(["-o".to_owned(), s(&out)]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = strongroom(&args, stdin);
        assert!(!o.ok, "{stdin:?} must be refused");
        assert!(o.stderr.contains(message), "{stdin:?}: {}", o.stderr);
        assert_eq!(o.stderr.trim_end().lines().count(), 1, "one line: {}", o.stderr);
        assert!(
            !o.stderr.contains("zq7"),
            "the message echoes the password: {}",
            o.stderr
        );
        assert!(!out.exists());
    }
}
