//! The data directory is private to the server's account: 0700 directories, 0600 files,
//! whatever umask the server was started with; an existing directory open to others is
//! warned about at start-up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod common;
use common::*;
use reqwest::StatusCode;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn walk_all(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        out.push(p.clone());
        if p.is_dir() {
            walk_all(&p, out);
        }
    }
}

#[tokio::test]
async fn everything_the_server_writes_is_private() {
    let srv = Server::start(&backends()[0]);
    let owner = srv.owner().await;
    let (_, root) = owner.room("Private").await;
    assert_eq!(
        owner.upload(&root, "a.txt", b"patient record".to_vec()).await.status(),
        StatusCode::CREATED
    );
    let data = srv.dir.path().join("data");
    assert_eq!(mode(&data), 0o700, "data directory");
    let mut all = vec![];
    walk_all(&data, &mut all);
    assert!(all.iter().any(|p| p.ends_with("strongroom.db")), "{all:?}");
    assert!(
        all.iter().filter(|p| p.is_file()).count() >= 2,
        "the database and a blob: {all:?}"
    );
    for p in &all {
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(p), want, "{}", p.display());
    }
}

#[tokio::test]
async fn a_data_directory_open_to_others_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.path().join("strongroom.toml");
    std::fs::write(&config, "").unwrap();
    let srv = Server::start_in_existing(&backends()[0], dir, config);
    assert!(
        srv.log()
            .contains("has mode 755: other accounts on this host can read it"),
        "{}",
        srv.log()
    );
}
