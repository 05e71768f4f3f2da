//! End-to-end harness: starts the real `strongroom` binary on a free loopback port with a
//! temporary data directory, on each configured storage backend, and talks HTTP to it.
#![allow(dead_code)]

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_strongroom");
pub const OWNER_EMAIL: &str = "owner@example.org";
pub const PASSWORD: &str = "correct horse battery staple";

fn require_all() -> bool {
    std::env::var("STRONGROOM_REQUIRE_ORACLES").is_ok_and(|v| v == "1")
}

/// A metadata + blob storage combination to run the suite against.
#[derive(Clone, Debug)]
pub struct Backend {
    pub name: &'static str,
    /// Extra TOML for the config file.
    pub toml: String,
    /// Where blob files can be inspected on disk (local dir, or the S3 server's root).
    pub blob_root: Option<PathBuf>,
    /// For PostgreSQL: the database name, dropped at the end.
    pub pg_db: Option<String>,
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid_like())
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    #[allow(clippy::disallowed_methods)]
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "{:x}{:x}{:x}",
        t,
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

/// Every backend this run can reach: SQLite + local directory always; PostgreSQL when
/// `STRONGROOM_TEST_POSTGRES_URL` is set; S3 when `STRONGROOM_TEST_S3_ENDPOINT` is set.
/// With `STRONGROOM_REQUIRE_ORACLES=1` (CI), a missing one is a failure, not a skip.
pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend {
        name: "sqlite+local",
        toml: String::new(),
        blob_root: None,
        pg_db: None,
    }];
    match std::env::var("STRONGROOM_TEST_POSTGRES_URL") {
        Ok(url) => {
            let db = unique("sr_test_");
            create_pg_db(&url, &db);
            let base = url.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(url.clone());
            out.push(Backend {
                name: "postgres+local",
                toml: format!("[database]\nurl = \"{base}/{db}\"\n"),
                blob_root: None,
                pg_db: Some(db),
            });
        }
        Err(_) if require_all() => panic!("STRONGROOM_TEST_POSTGRES_URL is not set but STRONGROOM_REQUIRE_ORACLES=1"),
        Err(_) => eprintln!("SKIP: PostgreSQL backend (set STRONGROOM_TEST_POSTGRES_URL to test it)"),
    }
    match std::env::var("STRONGROOM_TEST_S3_ENDPOINT") {
        Ok(endpoint) => {
            let var = |k: &str| {
                std::env::var(k).unwrap_or_else(|_| panic!("{k} must be set with STRONGROOM_TEST_S3_ENDPOINT"))
            };
            let bucket = var("STRONGROOM_TEST_S3_BUCKET");
            let prefix = unique("t");
            out.push(Backend {
                name: "sqlite+s3",
                toml: format!(
                    "[storage]\nkind = \"s3\"\nendpoint = \"{endpoint}\"\nbucket = \"{bucket}\"\nregion = \"us-east-1\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\npath_style = true\nallow_http = true\nprefix = \"{prefix}\"\n",
                    var("STRONGROOM_TEST_S3_ACCESS_KEY"),
                    var("STRONGROOM_TEST_S3_SECRET_KEY"),
                ),
                blob_root: std::env::var("STRONGROOM_TEST_S3_ROOT").ok().map(|r| PathBuf::from(r).join(&bucket).join(&prefix)),
                pg_db: None,
            });
        }
        Err(_) if require_all() => panic!("STRONGROOM_TEST_S3_ENDPOINT is not set but STRONGROOM_REQUIRE_ORACLES=1"),
        Err(_) => eprintln!("SKIP: S3 backend (set STRONGROOM_TEST_S3_ENDPOINT etc. to test it)"),
    }
    // The scale-out combination: PostgreSQL metadata with S3 bodies.
    let pg = out.iter().find(|b| b.pg_db.is_some()).cloned();
    let s3 = out.iter().find(|b| b.name == "sqlite+s3").cloned();
    if let (Some(_), Some(s3)) = (pg, s3) {
        let db = unique("sr_test_");
        let url = std::env::var("STRONGROOM_TEST_POSTGRES_URL").unwrap();
        create_pg_db(&url, &db);
        let base = url.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(url.clone());
        let prefix = unique("t");
        let old_prefix = s3.toml.lines().find(|l| l.starts_with("prefix")).unwrap().to_string();
        out.push(Backend {
            name: "postgres+s3",
            toml: format!(
                "[database]\nurl = \"{base}/{db}\"\n{}",
                s3.toml.replace(&old_prefix, &format!("prefix = \"{prefix}\""))
            ),
            blob_root: s3.blob_root.as_ref().and_then(|r| r.parent()).map(|p| p.join(&prefix)),
            pg_db: Some(db),
        });
    }
    out
}

fn create_pg_db(url: &str, db: &str) {
    let st = Command::new("psql")
        .arg(url)
        .arg("-qc")
        .arg(format!("CREATE DATABASE {db}"))
        .status()
        .expect("psql runs");
    assert!(st.success(), "could not create PostgreSQL database {db}");
}

/// A running server.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub setup_token: Option<String>,
    pub backend: Backend,
    pub stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failing test shows what the server logged: errors in answers only say "internal".
        if std::thread::panicking() {
            eprintln!("--- server log ---\n{}", self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Options {
    pub extra_toml: String,
    pub args: Vec<String>,
}

impl Server {
    pub fn start(backend: &Backend) -> Server {
        Self::start_with(
            backend,
            Options {
                extra_toml: String::new(),
                args: vec![],
            },
        )
    }

    pub fn start_with(backend: &Backend, opts: Options) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("strongroom.toml");
        let mut f = std::fs::File::create(&config).unwrap();
        write!(f, "{}\n{}\n", opts.extra_toml, backend.toml).unwrap();
        Self::start_in(backend, dir, config, opts.args)
    }

    /// Runs `strongroom ARGS` against this server's config and data dir (after the server
    /// started), with `stdin` as standard input.
    pub fn cli(&self, args: &[&str], stdin: &str) -> std::process::Output {
        run_cli(&self.config, self.dir.path(), args, stdin)
    }

    /// A server on an existing config file and data directory (`DIR/data`).
    pub fn start_in_existing(backend: &Backend, dir: tempfile::TempDir, config: PathBuf) -> Server {
        Self::start_in(backend, dir, config, vec![])
    }

    /// Another server process on this one's configuration and data directory.
    pub fn second_node(&self) -> Server {
        Self::spawn(
            &self.backend,
            tempfile::tempdir().unwrap(),
            self.config.clone(),
            &self.dir.path().join("data"),
            vec![],
        )
    }

    fn start_in(backend: &Backend, dir: tempfile::TempDir, config: PathBuf, args: Vec<String>) -> Server {
        let data = dir.path().join("data");
        Self::spawn(backend, dir, config, &data, args)
    }

    fn spawn(backend: &Backend, dir: tempfile::TempDir, config: PathBuf, data: &Path, args: Vec<String>) -> Server {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(data)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(&args)
            .env("STRONGROOM_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start strongroom");
        let stderr = child.stderr.take().unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let keep = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                keep.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let mut setup_token = None;
        let base = loop {
            let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
                panic!(
                    "server did not start; its output:\n{}",
                    lines.lock().unwrap().join("\n")
                )
            });
            if let Some(t) = line.trim().strip_prefix("setup token: ") {
                setup_token = Some(t.to_string());
            }
            if let Some(url) = line.strip_prefix("strongroom listening on ") {
                break url.trim().to_string();
            }
        };
        Server {
            child,
            base,
            dir,
            config,
            setup_token,
            backend: backend.clone(),
            stderr: lines,
        }
    }

    /// Stops this server, replaces its configuration file and starts it again on the same data.
    pub fn restart_with(&mut self, toml: &str) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::write(&self.config, format!("{toml}\n{}\n", self.backend.toml)).unwrap();
        let mut fresh = Self::spawn(
            &self.backend,
            tempfile::tempdir().unwrap(),
            self.config.clone(),
            &self.dir.path().join("data"),
            vec![],
        );
        // Keep the new process; `fresh` goes away with the old, already stopped one.
        std::mem::swap(&mut self.child, &mut fresh.child);
        self.base = fresh.base.clone();
        self.stderr = fresh.stderr.clone();
    }

    /// `strongroom serve` on this server's data with `toml` as configuration must refuse to
    /// start; returns what it printed.
    pub fn serve_must_fail(&self, toml: &str) -> String {
        let config = self.dir.path().join("other.toml");
        std::fs::write(&config, format!("{toml}\n{}\n", self.backend.toml)).unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..300 {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(!status.success(), "serve should have refused to start");
                let mut err = String::new();
                std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
                return err;
            }
            #[allow(clippy::disallowed_methods)] // a blocking wait for a child process, in a test
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        panic!("serve started although it should have refused");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Blob files on disk, for backends where they can be seen.
    pub fn blob_files(&self) -> Option<Vec<PathBuf>> {
        let root = match &self.backend.blob_root {
            Some(r) => r.clone(),
            None if self.backend.toml.contains("kind = \"s3\"") => return None,
            None => self.dir.path().join("data").join("blobs"),
        };
        let mut out = vec![];
        walk(&root, &mut out);
        Some(out)
    }

    /// Creates the Owner through the setup token and returns a signed-in client.
    pub async fn owner(&self) -> Session {
        let token = self.setup_token.clone().expect("fresh server prints a setup token");
        let c = client();
        let r = c
            .post(self.url("/api/v1/setup"))
            .json(&json!({"token": token, "email": OWNER_EMAIL, "password": PASSWORD, "display_name": "Olivia Owner"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
        self.login(OWNER_EMAIL, PASSWORD).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Session {
        let r = client()
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "login of {email}");
        let cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
        let v: Value = r.json().await.unwrap();
        Session {
            base: self.base.clone(),
            auth: Auth::Cookie {
                cookie: cookie.split(';').next().unwrap().to_string(),
                csrf: v["csrf_token"].as_str().unwrap().to_string(),
            },
            user_id: v["user"]["id"].as_str().unwrap().to_string(),
        }
    }

    /// Creates a user through the API (as `admin`) and returns them signed in.
    pub async fn user(&self, admin: &Session, email: &str, role: &str) -> Session {
        let r = admin
            .post(
                "/api/v1/users",
                json!({"email": email, "role": role, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        self.login(email, PASSWORD).await
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() { walk(&p, out) } else { out.push(p) }
    }
}

pub fn run_cli(config: &Path, dir: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(120))
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap()
}

#[derive(Clone)]
pub enum Auth {
    Cookie { cookie: String, csrf: String },
    Bearer(String),
    None,
}

/// A signed-in client.
#[derive(Clone)]
pub struct Session {
    pub base: String,
    pub auth: Auth,
    pub user_id: String,
}

impl Session {
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut rb = client().request(method.clone(), format!("{}{}", self.base, path));
        match &self.auth {
            Auth::Cookie { cookie, csrf } => {
                rb = rb.header("cookie", cookie);
                if method != Method::GET && method != Method::HEAD {
                    rb = rb.header("x-csrf-token", csrf);
                }
            }
            Auth::Bearer(t) => rb = rb.bearer_auth(t),
            Auth::None => {}
        }
        rb
    }
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.unwrap()
    }
    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.request(Method::POST, path).json(&body).send().await.unwrap()
    }
    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.request(Method::PATCH, path).json(&body).send().await.unwrap()
    }
    pub async fn put(&self, path: &str, body: Value) -> Response {
        self.request(Method::PUT, path).json(&body).send().await.unwrap()
    }
    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path).send().await.unwrap()
    }
    pub async fn json(&self, r: Response, want: StatusCode) -> Value {
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, want, "body: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
    pub async fn upload(&self, folder: &str, name: &str, body: Vec<u8>) -> Response {
        let path = format!("/api/v1/folders/{folder}/files?name={}", urlencode(name));
        self.request(Method::POST, &path).body(body).send().await.unwrap()
    }
    /// Creates a room; returns (room id, root folder id).
    pub async fn room(&self, name: &str) -> (String, String) {
        let v = self
            .json(
                self.post("/api/v1/rooms", json!({"name": name})).await,
                StatusCode::CREATED,
            )
            .await;
        (
            v["id"].as_str().unwrap().to_string(),
            v["root_folder_id"].as_str().unwrap().to_string(),
        )
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Is the command-line oracle `name` installed? A missing one is a loud skip, or a failure
/// under `STRONGROOM_REQUIRE_ORACLES=1` (CI).
pub fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(!require_all(), "{name} is required (STRONGROOM_REQUIRE_ORACLES=1)");
        eprintln!("SKIP: {name} is not installed; that check did not run");
    }
    found
}

/// An error answer's body without its request id (which differs for every request): what
/// two refusals are compared on when they must read alike.
pub fn error_body(text: &str) -> Value {
    let mut v: Value = serde_json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    if let Some(e) = v.get_mut("error").and_then(Value::as_object_mut) {
        assert!(e.remove("request_id").is_some_and(|id| id.is_string()), "{text}");
    }
    v
}

/// Runs one statement directly on a server's database (as someone with the database in hand
/// would); returns the rows it changed.
pub async fn sql(srv: &Server, statement: &str) -> u64 {
    sqlx::any::install_default_drivers();
    let url = match &srv.backend.pg_db {
        Some(db) => {
            let url = std::env::var("STRONGROOM_TEST_POSTGRES_URL").unwrap();
            format!("{}/{db}", url.rsplit_once('/').unwrap().0)
        }
        None => format!(
            "sqlite://{}",
            srv.dir.path().join("data").join("strongroom.db").display()
        ),
    };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let r = sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    pool.close().await;
    r.rows_affected()
}
