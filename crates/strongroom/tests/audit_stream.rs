//! `strongroom audit stream`: JSON lines into a file resume where the last run stopped (no
//! event twice, none missing); RFC 5424 syslog over TCP and over TLS reaches a collector that
//! parses every message with an independent parser (`syslog-rfc5424-parser`), each event at
//! least once; a TLS collector the export cannot verify gets nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::{Server, backends};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Receiver {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test collector (`tests/oracle/syslog_receiver.py`), if its parser is installed.
async fn receiver(dir: &Path, name: &str, tls: Option<(&Path, &Path)>) -> Option<Receiver> {
    let have = Command::new("python3")
        .args(["-c", "import syslog_rfc5424_parser"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var("STRONGROOM_REQUIRE_ORACLES").as_deref() != Ok("1"),
            "syslog-rfc5424-parser is missing (pip install syslog-rfc5424-parser) but STRONGROOM_REQUIRE_ORACLES=1"
        );
        eprintln!("SKIP: syslog-rfc5424-parser is not installed");
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/oracle/syslog_receiver.py");
    let port_file = dir.join(format!("{name}.port"));
    let out = dir.join(format!("{name}.jsonl"));
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .arg("--port-file")
        .arg(&port_file)
        .arg("--out")
        .arg(&out);
    if let Some((cert, key)) = tls {
        cmd.arg("--cert").arg(cert).arg("--key").arg(key);
    }
    // Held by a Receiver at once, so that it is killed and waited for however the test ends.
    let mut r = Receiver {
        child: cmd.stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap(),
        port: 0,
        out,
    };
    for _ in 0..200 {
        if let Ok(p) = std::fs::read_to_string(&port_file) {
            r.port = p.trim().parse().unwrap();
            return Some(r);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the syslog receiver did not start");
}

impl Receiver {
    /// The messages received, once at least `n` arrived (or after 10 s).
    async fn messages(&self, n: usize) -> Vec<Value> {
        let mut got = vec![];
        for _ in 0..400 {
            got = std::fs::read_to_string(&self.out)
                .unwrap_or_default()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            if got.len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        got
    }
}

fn seqs_of_lines(text: &str) -> Vec<i64> {
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["seq"].as_i64().unwrap())
        .collect()
}

async fn head(owner: &common::Session) -> i64 {
    owner.json(owner.get("/api/v1/audit/chain").await, StatusCode::OK).await["head_seq"]
        .as_i64()
        .unwrap()
}

/// Checks each syslog message against the trail (RFC 5424 fields, the event's JSON) and that
/// every event up to `head` came.
fn check_syslog(messages: &[Value], head: i64) {
    let mut seen = BTreeSet::new();
    for m in messages {
        assert!(m.get("unparsed").is_none(), "not RFC 5424: {m}");
        let sd = &m["sd"]["strongroom@32473"];
        let seq: i64 = sd["seq"].as_str().unwrap().parse().unwrap();
        let event: Value = serde_json::from_str(m["msg"].as_str().unwrap().trim_start_matches('\u{feff}')).unwrap();
        assert_eq!(event["seq"], seq, "{m}");
        assert_eq!(
            (m["facility"].as_str(), m["appname"].as_str()),
            (Some("audit"), Some("strongroom")),
            "{m}"
        );
        assert_eq!(m["msgid"], event["action"], "{m}");
        assert_eq!(sd["outcome"], event["outcome"], "{m}");
        let severity = if event["outcome"] == "success" {
            "info"
        } else {
            "warning"
        };
        assert_eq!(m["severity"], severity, "{m}");
        seen.insert(seq);
    }
    let missing: Vec<i64> = (1..=head).filter(|s| !seen.contains(s)).collect();
    assert!(
        missing.is_empty(),
        "every event at least once; missing {missing:?} of {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trail_streams_to_a_file_and_to_syslog_collectors() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    owner.room("Alpha").await;
    let dir = tempfile::tempdir().unwrap();

    // A file: each run appends what is new since the last (its own audit.export included).
    let file = dir.path().join("siem.jsonl");
    let f = file.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = srv.cli(args, "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["audit", "stream", "--to", f, "--name", "file"]);
    let first = seqs_of_lines(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(first, (1..=head(&owner).await).collect::<Vec<_>>());
    run(&["audit", "stream", "--to", f, "--name", "file"]);
    owner.room("Beta").await;
    run(&["audit", "stream", "--to", f, "--name", "file"]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        seqs_of_lines(&text),
        (1..=head(&owner).await).collect::<Vec<_>>(),
        "no repeat, no gap"
    );
    let actions: Vec<String> = text
        .lines()
        .skip(first.len())
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(actions, ["audit.export", "room.create", "audit.export"]);

    // RFC 5424 over TCP.
    let Some(tcp) = receiver(dir.path(), "tcp", None).await else {
        return;
    };
    run(&[
        "audit",
        "stream",
        "--to",
        &format!("tcp://127.0.0.1:{}", tcp.port),
        "--name",
        "tcp",
    ]);
    let h = head(&owner).await;
    check_syslog(&tcp.messages(h as usize).await, h);

    // Over TLS, with the collector's CA given; without it the handshake fails and the
    // export's position does not move.
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-days", "1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    let tls = receiver(dir.path(), "tls", Some((&cert, &key))).await.unwrap();
    let to = format!("tls://127.0.0.1:{}", tls.port);
    let out = srv.cli(&["audit", "stream", "--to", &to, "--name", "tls"], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS with 127.0.0.1"), "{err}");
    run(&[
        "audit",
        "stream",
        "--to",
        &to,
        "--name",
        "tls",
        "--ca",
        cert.to_str().unwrap(),
    ]);
    let h = head(&owner).await;
    check_syslog(&tls.messages(h as usize).await, h);

    // Nobody listening: an error naming the address.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = srv.cli(&["audit", "stream", "--to", &format!("tcp://127.0.0.1:{closed}")], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("connecting to 127.0.0.1:{closed}")));
    let out = srv.cli(&["audit", "stream", "--to", "udp://127.0.0.1:514"], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scheme"));
}

/// With --follow the export keeps up with the trail and survives its collector going away:
/// once the collector is back, every event arrives (some perhaps twice), none is lost.
#[tokio::test(flavor = "multi_thread")]
async fn a_following_export_resends_after_the_collector_comes_back() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let dir = tempfile::tempdir().unwrap();
    let Some(first) = receiver(dir.path(), "one", None).await else {
        return;
    };
    let port = first.port;
    let mut export = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["audit", "stream", "--follow", "--interval", "1", "--name", "follow"])
        .args(["--to", &format!("tcp://127.0.0.1:{port}")])
        .arg("--config")
        .arg(&srv.config)
        .arg("--data-dir")
        .arg(srv.dir.path().join("data"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let h = head(&owner).await;
    check_syslog(&first.messages(h as usize).await, h);
    drop(first);
    owner.room("While away").await;
    owner.room("Still away").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // The collector comes back on the same port.
    let back = {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/oracle/syslog_receiver.py");
        let out = dir.path().join("two.jsonl");
        let child = Command::new("python3")
            .args([
                "-c",
                &format!(
                    "import sys, runpy, socket\n\
                 orig = socket.socket.bind\n\
                 socket.socket.bind = lambda s, a: orig(s, ('127.0.0.1', {port}))\n\
                 sys.argv = ['r', '--port-file', sys.argv[1], '--out', sys.argv[2]]\n\
                 runpy.run_path('{script}', run_name='__main__')"
                ),
            ])
            .arg(dir.path().join("two.port"))
            .arg(&out)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Receiver { child, port, out }
    };
    let h = head(&owner).await;
    let mut got = vec![];
    for _ in 0..40 {
        let mut all = std::fs::read_to_string(dir.path().join("one.jsonl")).unwrap_or_default();
        all.push_str(&std::fs::read_to_string(&back.out).unwrap_or_default());
        got = all.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).collect();
        let seqs: BTreeSet<i64> = got
            .iter()
            .map(|m| m["sd"]["strongroom@32473"]["seq"].as_str().unwrap().parse().unwrap())
            .collect();
        if seqs.contains(&h) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _ = export.kill();
    let _ = export.wait();
    check_syslog(&got, h);
}
