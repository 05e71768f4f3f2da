//! The OpenAPI document against the real server: schemathesis (`st`, installed by
//! `.ci/install.d/50-openapi.sh`) generates requests from `/api/v1/openapi.json`, valid and
//! invalid, and checks every answer: no 5xx, only documented status codes and content types,
//! bodies matching their schemas, and schema-valid requests not refused with 400/415/422.
//! What is excluded, and why: docs/architecture.md, "OpenAPI conformance".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod common;
use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::process::Command;

/// Seconds schemathesis may spend (its phases repeat until the budget is spent).
const BUDGET_SECONDS: u32 = 120;

#[tokio::test]
async fn openapi_document_matches_the_server() {
    if !tool("st") {
        return;
    }
    // The document is the same on every backend; SQLite + local blobs is enough.
    let backend = Backend {
        name: "sqlite+local",
        toml: String::new(),
        blob_root: None,
        pg_db: None,
    };
    let srv = Server::start(&backend);
    let owner = srv.owner().await;
    // Schemathesis acts as the Owner, by API token (a token cannot mint tokens, so the
    // session stays with this test).
    let token = owner
        .json(
            owner.post("/api/v1/tokens", json!({"name": "schemathesis"})).await,
            StatusCode::CREATED,
        )
        .await["token"]
        .as_str()
        .unwrap()
        .to_string();

    // Content for the operations that need an existing id, so they get past 404: a room with
    // a folder and a file, a person and a group; and separate ones for the destructive
    // operations, so that deleting them does not starve the rest of the run.
    let (room, root) = owner.room("Schemathesis").await;
    let (doomed_room, doomed_root) = owner.room("Doomed").await;
    let sub = owner
        .json(
            owner
                .post(&format!("/api/v1/folders/{root}/folders"), json!({"name": "Sub"}))
                .await,
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let doomed_folder = owner
        .json(
            owner
                .post(
                    &format!("/api/v1/folders/{doomed_root}/folders"),
                    json!({"name": "Old"}),
                )
                .await,
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let upload = |folder: String, name: &'static str| {
        let owner = owner.clone();
        async move {
            owner
                .json(
                    owner.upload(&folder, name, b"hello".to_vec()).await,
                    StatusCode::CREATED,
                )
                .await["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let file = upload(root.clone(), "notes.txt").await;
    let doomed_file = upload(doomed_root.clone(), "old.txt").await;
    // Purge needs the item in the trash.
    for path in [
        format!("/api/v1/files/{doomed_file}/trash"),
        format!("/api/v1/folders/{doomed_folder}/trash"),
    ] {
        owner.json(owner.post(&path, json!({})).await, StatusCode::OK).await;
    }
    let person = owner
        .json(
            owner
                .post(
                    "/api/v1/users",
                    json!({"email": "pat@example.org", "role": "user", "password": PASSWORD}),
                )
                .await,
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let group = owner
        .json(
            owner.post("/api/v1/groups", json!({"name": "Team"})).await,
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("schemathesis.toml");
    let list = |ids: &[&str]| ids.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>().join(", ");
    std::fs::write(
        &config,
        format!(
            r#"
# Known ids, used in most generated requests (the rest stay random or malformed).
[dictionaries.rooms]
values = [{rooms}]
[dictionaries.doomed_rooms]
values = [{doomed_rooms}]
[dictionaries.folders]
values = [{folders}]
[dictionaries.doomed_folders]
values = [{doomed_folders}]
[dictionaries.files]
values = [{files}]
[dictionaries.doomed_files]
values = [{doomed_files}]
[dictionaries.users]
values = [{users}]
[dictionaries.groups]
values = [{groups}]

[[operations]]
include-path-regex = "^/api/v1/rooms/\\{{id\\}}"
exclude-method = "DELETE"
parameters = {{ "path.id" = {{ dictionary = "rooms", probability = 0.8 }}, "path.subject" = {{ dictionary = "users", probability = 0.5 }} }}
[[operations]]
include-path-regex = "^/api/v1/rooms/\\{{id\\}}"
include-method = "DELETE"
parameters = {{ "path.id" = {{ dictionary = "doomed_rooms", probability = 0.8 }}, "path.subject" = {{ dictionary = "users", probability = 0.5 }} }}
[[operations]]
include-path-regex = "^/api/v1/folders/\\{{id\\}}"
exclude-method = "DELETE"
parameters = {{ "path.id" = {{ dictionary = "folders", probability = 0.8 }} }}
[[operations]]
include-path-regex = "^/api/v1/folders/\\{{id\\}}"
include-method = "DELETE"
parameters = {{ "path.id" = {{ dictionary = "doomed_folders", probability = 0.8 }} }}
[[operations]]
include-path-regex = "^/api/v1/files/\\{{id\\}}"
exclude-method = "DELETE"
parameters = {{ "path.id" = {{ dictionary = "files", probability = 0.8 }} }}
[[operations]]
include-path-regex = "^/api/v1/files/\\{{id\\}}"
include-method = "DELETE"
parameters = {{ "path.id" = {{ dictionary = "doomed_files", probability = 0.8 }} }}
# A new password meets the password policy in force, set at run time (its strength check,
# zxcvbn, is beyond what a schema says): a schema-valid one may get 400 `weak_password`.
[[operations]]
include-path-regex = "^/api/v1/users/\\{{id\\}}"
parameters = {{ "path.id" = {{ dictionary = "users", probability = 0.8 }} }}
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
[[operations]]
include-path-regex = "^/api/v1/(users|setup)$"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
# The policy's own rule that max_length is at least min_length spans two fields; the sign-in
# rules' per-account limit is at least the per-address one, and address rules must keep the
# caller's own address.
[[operations]]
include-path-regex = "^/api/v1/settings/security/(password-policy|sign-in)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403"]
# Trusted domains must be mail domains, and `trusted_domains` mode needs one: rules beyond
# the schema.
[[operations]]
include-path-regex = "^/api/v1/settings/security/sign-up$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403"]
# An invitation's address must be one a mail server takes (one `@`, no quoted part), and an
# Administrator needs modules; a made-up invitation link is refused 400.
[[operations]]
include-path-regex = "^/api/v1/(invitations|auth/invitation)"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
# A reset link made up by the generator is refused 400.
[[operations]]
include-path-regex = "^/api/v1/auth/password-reset"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400"]
# `security = "none"` only to this host, and `from` a mailbox: rules beyond the schema.
[[operations]]
include-path-regex = "^/api/v1/settings/mail$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403"]
# Second factors: challenges and codes the generator makes up are refused (400, 401), a
# factor id it makes up is 404, SMS is not set up (409), and an API token is never fresh
# enough for a sensitive change (403 `session_required`). Passkeys: `public_url` names no
# host here (409 `not_configured`), passwordless sign-in is off (403).
[[operations]]
include-path-regex = "^/api/v1/auth/(second-factor|step-up|backup-codes|passkey)"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
[[operations]]
include-path-regex = "^/api/v1/settings/(sms|security/second-factor)"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
# Alert rules mail active people of the audit module only, and a rule's name follows the
# naming rules (no invisible or look-alike characters): rules beyond the schema.
[[operations]]
include-path-regex = "^/api/v1/settings/alerts$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403"]
# `from` before `to` spans two parameters.
[[operations]]
include-path-regex = "^/api/v1/(auth/)?login-history$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403"]
[[operations]]
include-path-regex = "^/api/v1/groups/\\{{id\\}}"
parameters = {{ "path.id" = {{ dictionary = "groups", probability = 0.8 }}, "path.user_id" = {{ dictionary = "users", probability = 0.8 }} }}

# Protect and watermark answer about the stored document, not the request: 415 for a format
# they do not handle, 400 for a rule only the format brings (PDF passwords: SASLprep, 127
# bytes; a watermark needs a text or an image; a text the font cannot draw).
[[operations]]
include-path-regex = "^/api/v1/files/\\{{id\\}}/(protect|watermark)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "415"]
"#,
            rooms = list(&[&room]),
            doomed_rooms = list(&[&doomed_room]),
            folders = list(&[&root, &sub]),
            doomed_folders = list(&[&doomed_folder]),
            files = list(&[&file]),
            doomed_files = list(&[&doomed_file]),
            users = list(&[&person, &owner.user_id]),
            groups = list(&[&group]),
        ),
    )
    .unwrap();

    let started = std::time::Instant::now();
    let out = Command::new("st")
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(srv.url("/api/v1/openapi.json"))
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,positive_data_acceptance",
        ])
        // Excluded, because they would end the run's own sign-in: revoking an API token (the
        // token schemathesis uses is listed by GET /api/v1/tokens, so it finds and revokes
        // it), and transferring ownership (the run's Owner becomes an Administrator and every
        // later answer changes). Both are covered by api_auth.rs and api_ranks.rs.
        .args(["--exclude-path", "/api/v1/tokens/{id}"])
        .args(["--exclude-path", "/api/v1/users/{id}/transfer-ownership"])
        // Sign-in: its wrong attempts run into the brute-force limit (429, whatever rules the
        // run set through the sign-in settings), and it has no other answer to give than 401
        // to generated credentials. Covered by api_auth.rs and api_sign_in.rs.
        .args(["--exclude-path", "/api/v1/auth/login"])
        // Upload limits: a quota or a limit of one upload at once the run sets would answer its
        // later uploads 413 or 429 at random. Covered by api_uploads.rs.
        .args(["--exclude-path", "/api/v1/settings/security/uploads"])
        .args(["--seed", "1", "--max-examples", "25"])
        .args(["--max-time", &BUDGET_SECONDS.to_string(), "--request-timeout", "20"])
        .args(["--no-color", "--generation-database", "none"])
        .current_dir(dir.path())
        .output()
        .expect("st runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "schemathesis finished in {:.0} s with {}",
        started.elapsed().as_secs_f64(),
        out.status
    );
    // Its warnings (operations that saw only 404s, …) and summary, for the log.
    let tail = stdout
        .find("= WARNINGS =")
        .or_else(|| stdout.find("= SUMMARY ="))
        .unwrap_or(0);
    eprintln!("{}", stdout.get(tail..).unwrap_or_default());
    assert!(
        out.status.success(),
        "schemathesis found the OpenAPI document and the server disagree:\n{stdout}\n{stderr}\nserver log (tail):\n{}",
        srv.log()
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // It really ran: the summary names the operations tested.
    assert!(
        stdout.contains("Tested:"),
        "no summary from schemathesis:\n{stdout}\n{stderr}"
    );
}
