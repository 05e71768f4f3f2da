//! What a slow or greedy client may hold, over real sockets: silent and trickling
//! connections and bodies that never come are closed; one address holds a bounded number of
//! connections; a refused request with an unread body announces the close; behind an HTTPS
//! `public_url` the session cookie is `Secure` and `__Host-` prefixed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::disallowed_methods)] // test code: waits on real sockets

mod common;
use common::*;
use reqwest::StatusCode;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const LIMITS: &str = "public_url = \"https://docs.example.org\"\n[http]\nheader_timeout_secs = 2\nbody_idle_timeout_secs = 2\nmax_connections_per_address = 6\n";

fn start() -> Server {
    Server::start_with(
        &backends()[0],
        Options {
            extra_toml: LIMITS.to_string(),
            args: vec![],
        },
    )
}

fn connect(srv: &Server) -> TcpStream {
    let addr = srv.base.trim_start_matches("http://");
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s
}

/// Reads until the server closes the connection; returns what came and how long it took.
/// A read timeout (15 s) means the server kept the connection open: a failure.
fn until_closed(s: &mut TcpStream) -> (String, Duration) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server kept the connection open ({e}) after {:?}", start.elapsed()),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
}

#[tokio::test]
async fn slow_clients_are_dropped() {
    let srv = start();
    // A silent connection.
    let mut silent = connect(&srv);
    let (_, took) = until_closed(&mut silent);
    assert!(
        took < Duration::from_secs(12),
        "silent connection closed after {took:?}"
    );
    // A header trickled a byte at a time, never finished.
    let mut trickle = connect(&srv);
    let trickler = std::thread::spawn({
        let mut w = trickle.try_clone().unwrap();
        move || {
            for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
                if w.write_all(&[*b]).is_err() {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
            false
        }
    });
    let (_, took) = until_closed(&mut trickle);
    assert!(took < Duration::from_secs(12), "trickling header closed after {took:?}");
    let _ = trickler.join();
    // A body that never comes, on a route that reads it (an authenticated upload).
    let owner = srv.owner().await;
    let (_, root) = owner.room("Slow").await;
    let Auth::Cookie { cookie, csrf } = &owner.auth else {
        panic!("cookie session")
    };
    let mut body = connect(&srv);
    write!(
        body,
        "POST /api/v1/folders/{root}/files?name=slow.bin HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Length: 100000\r\n\r\nonly the start"
    )
    .unwrap();
    let (answer, took) = until_closed(&mut body);
    assert!(took < Duration::from_secs(12), "stalled body closed after {took:?}");
    assert!(
        !answer.starts_with("HTTP/1.1 201"),
        "a stalled upload must not be stored: {answer}"
    );
    let listing = owner
        .json(owner.get(&format!("/api/v1/folders/{root}")).await, StatusCode::OK)
        .await;
    assert_eq!(listing["files"], serde_json::json!([]), "nothing left behind");
    // The server still answers.
    assert_eq!(
        client().get(srv.url("/healthz")).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn one_address_holds_a_bounded_number_of_connections() {
    let srv = start();
    let held: Vec<TcpStream> = (0..6).map(|_| connect(&srv)).collect();
    // Let the server accept them all.
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = connect(&srv);
    extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").ok();
    let (answer, took) = until_closed(&mut extra);
    assert!(answer.is_empty(), "the 7th connection is closed unanswered: {answer}");
    assert!(took < Duration::from_secs(1), "and at once: {took:?}");
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    let mut again = connect(&srv);
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (answer, _) = until_closed(&mut again);
    assert!(answer.starts_with("HTTP/1.1 200"), "slots come back: {answer}");
}

#[tokio::test]
async fn a_refused_request_with_an_unread_body_announces_the_close() {
    let srv = start();
    let mut s = connect(&srv);
    s.write_all(
        b"POST /api/v1/rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(
        head.contains("\r\nconnection: close\r\n"),
        "the close is announced: {head}"
    );
}

#[tokio::test]
async fn the_session_cookie_is_secure_behind_an_https_proxy() {
    let srv = start();
    let token = srv.setup_token.clone().unwrap();
    let r = client()
        .post(srv.url("/api/v1/setup"))
        .json(&serde_json::json!({"token": token, "email": OWNER_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = client()
        .post(srv.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"email": OWNER_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-strongroom_session="), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"),
        "{cookie}"
    );
    // The prefixed cookie is the one recognised.
    let pair = cookie.split(';').next().unwrap().to_string();
    let me = client()
        .get(srv.url("/api/v1/auth/me"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let unprefixed = pair.trim_start_matches("__Host-").to_string();
    let me = client()
        .get(srv.url("/api/v1/auth/me"))
        .header("cookie", unprefixed)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}
