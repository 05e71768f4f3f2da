//! A real SMTP server on loopback for the mail tests: aiosmtpd, delivering each message into
//! a maildir the test reads.
#![allow(dead_code)] // each test binary uses part of it

use crate::common::{Server, Session};
use reqwest::StatusCode;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An SMTP server on a free loopback port, delivering into `DIR/new`.
pub struct Smtp {
    child: std::process::Child,
    pub port: u16,
    maildir: PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn smtp(dir: &Path) -> Option<Smtp> {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        assert!(
            std::env::var("STRONGROOM_REQUIRE_ORACLES").as_deref() != Ok("1"),
            "aiosmtpd is missing (pip install aiosmtpd) but STRONGROOM_REQUIRE_ORACLES=1"
        );
        eprintln!("SKIP: aiosmtpd is not installed");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let maildir = dir.join("mail");
    let mut child = std::process::Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(&maildir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Some(Smtp { child, port, maildir });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("aiosmtpd did not start on port {port}");
}

impl Smtp {
    /// The messages delivered so far, oldest first.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(self.maildir.join("new"))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }

    /// Waits (at most 10 s) until `n` messages were delivered.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{n} messages expected, {} delivered", self.messages().len());
    }
}

/// A mail's body with quoted-printable soft line breaks undone.
pub fn unfolded(mail: &str) -> String {
    mail.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

/// Mail to 127.0.0.1 without TLS (aiosmtpd), as the Owner sets it.
pub async fn mail_on(owner: &Session, mail: &Smtp) {
    let set =
        json!({"host": "127.0.0.1", "port": mail.port, "security": "none", "from": "Strongroom <noreply@example.org>"});
    assert_eq!(owner.put("/api/v1/settings/mail", set).await.status(), StatusCode::OK);
}

/// A POST with a browser's user agent (the new-device notice and alert rules look at it).
pub async fn post(srv: &Server, path: &str, body: serde_json::Value, ua: &str) -> reqwest::Response {
    crate::common::client()
        .post(srv.url(path))
        .header("user-agent", ua)
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
