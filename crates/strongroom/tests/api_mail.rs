//! Outgoing mail against a real SMTP server on loopback (aiosmtpd, writing each delivered
//! message to a maildir the test reads): the password-reset link (same answer for unknown
//! addresses, works once, a refused password leaves it usable, ends every session) and the
//! notice of a sign-in from a new device.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An SMTP server on a free loopback port, delivering into `DIR/new`.
struct Smtp {
    child: std::process::Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn smtp(dir: &Path) -> Option<Smtp> {
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
    fn messages(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(self.maildir.join("new"))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }

    /// Waits (at most 10 s) until `n` messages were delivered.
    async fn wait_for(&self, n: usize) -> Vec<String> {
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
fn unfolded(mail: &str) -> String {
    mail.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

async fn post(srv: &Server, path: &str, body: Value, ua: &str) -> reqwest::Response {
    client()
        .post(srv.url(path))
        .header("user-agent", ua)
        .json(&body)
        .send()
        .await
        .unwrap()
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
const EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_and_new_device_mail() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mail) = smtp(dir.path()).await else { return };
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let ann = srv.user(&owner, "ann@example.org", "user").await;

    // Mail is off until set: a reset request is answered as always, nothing is sent, and
    // the log says why.
    let r = post(
        &srv,
        "/api/v1/auth/password-reset",
        json!({"email": "ann@example.org"}),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(srv.log().contains("mail is not configured"), "{}", srv.log());

    // Plain SMTP only to this host.
    let r = owner
        .put(
            "/api/v1/settings/mail",
            json!({"host": "smtp.example.org", "security": "none", "from": "Strongroom <noreply@example.org>"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = owner
        .put(
            "/api/v1/settings/mail",
            json!({"host": "127.0.0.1", "port": mail.port, "security": "none", "from": "not an address"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let set = json!({"host": "127.0.0.1", "port": mail.port, "security": "none", "username": "", "from": "Strongroom <noreply@example.org>"});
    assert_eq!(
        owner
            .json(owner.put("/api/v1/settings/mail", set.clone()).await, StatusCode::OK)
            .await,
        set
    );
    let got = owner
        .json(owner.get("/api/v1/settings/mail").await, StatusCode::OK)
        .await;
    assert_eq!(got["password_set"], false);
    assert_eq!(ann.get("/api/v1/settings/mail").await.status(), StatusCode::FORBIDDEN);
    // An Administrator of settings may not pick the server reset links go through.
    let sa = srv.user(&owner, "sa@example.org", "user").await;
    let r = owner
        .patch(
            &format!("/api/v1/users/{}", sa.user_id),
            json!({"role": "admin", "admin_modules": ["settings"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut theirs = set.clone();
    theirs["port"] = json!(2525);
    assert_eq!(
        sa.put("/api/v1/settings/mail", theirs).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        owner
            .json(owner.get("/api/v1/settings/mail").await, StatusCode::OK)
            .await["port"],
        set["port"]
    );
    // The sealed password was given for one server: moving the server deletes it.
    let out = srv.cli(&["admin", "secret", "set", "mail.smtp.password"], "smtp secret\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = owner
        .json(owner.get("/api/v1/settings/mail").await, StatusCode::OK)
        .await;
    assert_eq!(got["password_set"], true);
    let mut moved = set.clone();
    moved["port"] = json!(2525);
    assert_eq!(owner.put("/api/v1/settings/mail", moved).await.status(), StatusCode::OK);
    let got = owner
        .json(owner.get("/api/v1/settings/mail").await, StatusCode::OK)
        .await;
    assert_eq!(got["password_set"], false);
    let v = owner
        .json(
            owner.get("/api/v1/audit?action=settings.mail.set").await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(v[0]["details"]["password_deleted"], true);
    assert_eq!(
        owner.put("/api/v1/settings/mail", set.clone()).await.status(),
        StatusCode::OK
    );

    // The same answer for an account and for no account; only the account gets a mail.
    let known = post(
        &srv,
        "/api/v1/auth/password-reset",
        json!({"email": "Ann@Example.org"}),
        FIREFOX,
    )
    .await;
    let unknown = post(
        &srv,
        "/api/v1/auth/password-reset",
        json!({"email": "nobody@example.org"}),
        FIREFOX,
    )
    .await;
    assert_eq!(
        (known.status(), unknown.status()),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED)
    );
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    // The Owner is never reset by mail (the console recovers the Owner).
    let r = post(
        &srv,
        "/api/v1/auth/password-reset",
        json!({"email": OWNER_EMAIL}),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let msgs = mail.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        mail.messages().len(),
        1,
        "only the account's mail is sent, none for the Owner"
    );
    let reset = unfolded(&msgs[0]);
    assert!(reset.contains("To: ann@example.org"), "{reset}");
    assert!(reset.contains("Subject: Reset your Strongroom password"), "{reset}");
    let token = reset
        .split("token=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap()
        .to_string();
    assert!(token.starts_with("srr_"), "{token}");

    // A refused password leaves the link usable; then it works once, and ends every session.
    let confirm = |password: &str| json!({"token": token, "password": password});
    let r = post(
        &srv,
        "/api/v1/auth/password-reset/confirm",
        confirm("password1234"),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "weak_password");
    let fresh = "a brand new staple battery horse";
    let r = post(&srv, "/api/v1/auth/password-reset/confirm", confirm(fresh), FIREFOX).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = post(
        &srv,
        "/api/v1/auth/password-reset/confirm",
        confirm("yet another staple battery"),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(ann.get("/api/v1/auth/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        post(
            &srv,
            "/api/v1/auth/login",
            json!({"email": "ann@example.org", "password": PASSWORD}),
            FIREFOX
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );

    // A sign-in from a browser and platform not seen before sends a notice; from one seen
    // before, nothing. (Ann's first sign-ins came from the test client: "Other".)
    let login = |ua: &'static str| {
        let srv = &srv;
        async move {
            post(
                srv,
                "/api/v1/auth/login",
                json!({"email": "ann@example.org", "password": fresh}),
                ua,
            )
            .await
            .status()
        }
    };
    assert_eq!(login(FIREFOX).await, StatusCode::OK);
    let notice = unfolded(&mail.wait_for(2).await[1]);
    assert!(notice.contains("To: ann@example.org"), "{notice}");
    assert!(
        notice.contains("Subject: New sign-in to your Strongroom account"),
        "{notice}"
    );
    assert!(notice.contains("Firefox on Linux, from 127.0.0.1"), "{notice}");
    assert_eq!(login(FIREFOX).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mail.messages().len(), 2);
    assert_eq!(login(EDGE).await, StatusCode::OK);
    let notice = unfolded(&mail.wait_for(3).await[2]);
    assert!(notice.contains("Edge on Windows, from 127.0.0.1"), "{notice}");

    let v = owner
        .json(
            owner.get("/api/v1/audit?action=user.password.reset").await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(v[0]["details"]["via"], "reset_link");
    assert_eq!(v[0]["target_id"], ann.user_id.as_str());
    let v = owner
        .json(
            owner.get("/api/v1/audit?action=user.password.reset_request").await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(v.as_array().unwrap().len(), 1);
}
