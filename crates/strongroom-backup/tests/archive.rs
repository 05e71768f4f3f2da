//! The backup archive: what is written comes back member for member, opens with the
//! standard tools alone (`age -d | zstd -d | tar`), and anything cut short, altered, forged
//! or opened with the wrong key is refused with a message naming what is wrong.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::process::{Command, Stdio};
use strongroom_backup::{Error, Key, Unlock, Writer, read};

/// Name, content: an empty file, non-ASCII names, a member of many zstd blocks.
fn members() -> Vec<(String, Vec<u8>)> {
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    vec![
        ("strongroom-backup/header.json".into(), br#"{"format": 1}"#.to_vec()),
        (
            "strongroom-backup/db/users.jsonl".into(),
            "{\"display_name\": \"Zoë Ångström 日本\"}\n".as_bytes().to_vec(),
        ),
        ("strongroom-backup/blobs/empty".into(), Vec::new()),
        (
            "strongroom-backup/blobs/Ärzte befund.pdf".into(),
            b"%PDF-1.7 ...".to_vec(),
        ),
        ("strongroom-backup/blobs/big".into(), big),
    ]
}

fn identity() -> (String, String) {
    let id = age::x25519::Identity::generate();
    let secret = age::secrecy::ExposeSecret::expose_secret(&id.to_string()).to_string();
    (secret, id.to_public().to_string())
}

fn write(key: &Key, members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), key).unwrap();
    for (name, data) in members {
        w.add(name, data.len() as u64, &data[..]).unwrap();
    }
    w.finish().unwrap()
}

fn read_all(archive: &[u8], unlock: &Unlock) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let mut got = Vec::new();
    read(archive, unlock, |name, size, data| {
        let mut buf = Vec::new();
        data.read_to_end(&mut buf)?;
        assert_eq!(buf.len() as u64, size);
        got.push((name.to_string(), buf));
        Ok(())
    })?;
    Ok(got)
}

#[test]
fn what_is_written_comes_back_with_a_recipient_or_a_passphrase() {
    let (secret, public) = identity();
    let archive = write(&Key::Recipients(vec![public]), &members());
    assert_eq!(read_all(&archive, &Unlock::Identities(secret)).unwrap(), members());
    // Compressed: the 3 MB member is pseudo-random bytes, the rest tiny; nothing grows much.
    assert!(archive.len() < 3_100_000, "{}", archive.len());

    let phrase = "correct horse battery staple".to_string();
    let archive = write(&Key::Passphrase(phrase.clone()), &members()[..2]);
    assert_eq!(read_all(&archive, &Unlock::Passphrase(phrase)).unwrap(), members()[..2]);
    let wrong = read_all(&archive, &Unlock::Passphrase("another horse entirely".into())).unwrap_err();
    assert!(matches!(wrong, Error::Key(_)), "{wrong}");
}

#[test]
fn the_standard_tools_open_it() {
    let have = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("age") || !have("zstd") {
        assert!(
            std::env::var("STRONGROOM_REQUIRE_ORACLES").as_deref() != Ok("1"),
            "age and zstd are needed (apt-get install age zstd)"
        );
        eprintln!("SKIP: age or zstd is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (secret, public) = identity();
    let id_file = dir.path().join("backup-key.txt");
    std::fs::write(&id_file, format!("{secret}\n")).unwrap();
    let archive = dir.path().join("b.srbk");
    std::fs::write(&archive, write(&Key::Recipients(vec![public]), &members())).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let script = format!(
        "age -d -i '{}' '{}' | zstd -d | tar -x -C '{}'",
        id_file.display(),
        archive.display(),
        out.display()
    );
    let status = Command::new("sh")
        .args(["-c", &script])
        .stderr(Stdio::inherit())
        .status()
        .unwrap();
    assert!(status.success(), "{script}");
    for (name, data) in members() {
        assert_eq!(std::fs::read(out.join(&name)).unwrap(), data, "{name}");
    }
    assert_eq!(
        std::fs::read(out.join("strongroom-backup/FORMAT")).unwrap(),
        b"strongroom-backup 1\n"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("strongroom-backup/MANIFEST.json")).unwrap()).unwrap();
    let listed: Vec<&str> = manifest["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    let mut want = vec!["strongroom-backup/FORMAT".to_string()];
    want.extend(members().into_iter().map(|(n, _)| n));
    assert_eq!(listed, want);
    // The manifest's hashes are the files' SHA-256, as `sha256sum` computes them.
    let big = &manifest["members"][5];
    let sum = Command::new("sha256sum")
        .arg(out.join("strongroom-backup/blobs/big"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&sum.stdout).starts_with(big["sha256"].as_str().unwrap()));
}

#[test]
fn cut_short_altered_or_forged_archives_are_refused() {
    let (secret, public) = identity();
    let unlock = Unlock::Identities(secret.clone());
    let archive = write(&Key::Recipients(vec![public.clone()]), &members());
    // Cut short anywhere, or one bit flipped anywhere: refused (age authenticates each chunk
    // and flags the last).
    for cut in [archive.len() - 1, archive.len() - 200, archive.len() / 2, 300] {
        let e = read_all(&archive[..cut], &unlock).unwrap_err();
        assert!(!e.to_string().is_empty(), "{cut}");
    }
    for at in [archive.len() / 3, archive.len() - 20] {
        let mut bad = archive.clone();
        bad[at] ^= 0x10;
        let e = read_all(&bad, &unlock).unwrap_err();
        assert!(matches!(e, Error::Mismatch(_) | Error::Key(_)), "{at}: {e}");
    }

    // Forged with the public key alone (age does not say who wrote it): the manifest must
    // still agree with every member.
    let forged = |entries: &[(&str, &[u8])]| {
        let mut out = Vec::new();
        let recipient: age::x25519::Recipient = public.parse().unwrap();
        let enc = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient)).unwrap();
        let sealed = enc.wrap_output(&mut out).unwrap();
        let mut tar = tar::Builder::new(zstd::stream::write::Encoder::new(sealed, 3).unwrap());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o600);
            h.set_entry_type(tar::EntryType::Regular);
            // The tar crate itself refuses `..`: write the name into the header by hand.
            h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            tar.append(&h, *data).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap().finish().unwrap();
        out
    };
    let format: &[u8] = b"strongroom-backup 1\n";
    let sha = |d: &[u8]| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(d));
    let manifest = |list: &[(&str, &[u8])]| {
        let members: Vec<serde_json::Value> = list
            .iter()
            .map(|(n, d)| serde_json::json!({"name": n, "size": d.len(), "sha256": sha(d)}))
            .collect();
        serde_json::to_vec(&serde_json::json!({ "members": members })).unwrap()
    };
    let a: &[u8] = b"rows";
    let listed = manifest(&[
        ("strongroom-backup/FORMAT", format),
        ("strongroom-backup/db/a.jsonl", a),
    ]);
    type Entries<'a> = Vec<(&'a str, &'a [u8])>;
    let cases: Vec<(Entries, &str)> = vec![
        // A member swapped for another of the same name.
        (
            vec![
                ("strongroom-backup/FORMAT", format),
                ("strongroom-backup/db/a.jsonl", b"ROWS"),
                ("strongroom-backup/MANIFEST.json", &listed),
            ],
            "strongroom-backup/db/a.jsonl: 4 bytes with SHA-256",
        ),
        // A member added that the manifest does not list.
        (
            vec![
                ("strongroom-backup/FORMAT", format),
                ("strongroom-backup/db/a.jsonl", a),
                ("strongroom-backup/db/b.jsonl", a),
                ("strongroom-backup/MANIFEST.json", &listed),
            ],
            "strongroom-backup/db/b.jsonl is not in the manifest",
        ),
        // A member the manifest lists, left out.
        (
            vec![
                ("strongroom-backup/FORMAT", format),
                ("strongroom-backup/MANIFEST.json", &listed),
            ],
            "strongroom-backup/db/a.jsonl is missing",
        ),
        // No manifest: cut short before it.
        (
            vec![
                ("strongroom-backup/FORMAT", format),
                ("strongroom-backup/db/a.jsonl", a),
            ],
            "no manifest after 2 members (the last: strongroom-backup/db/a.jsonl)",
        ),
        // A path out of the archive's directory.
        (
            vec![
                ("strongroom-backup/FORMAT", format),
                ("strongroom-backup/../../etc/cron.d/x", a),
            ],
            "is not a member a backup holds",
        ),
        // Something else entirely, or a newer format.
        (vec![("notes.txt", a)], "is not a member a backup holds"),
        (
            vec![("strongroom-backup/FORMAT", b"strongroom-backup 2\n")],
            "this release reads",
        ),
        // Members after the manifest.
        (
            vec![
                ("strongroom-backup/FORMAT", format),
                ("strongroom-backup/db/a.jsonl", a),
                ("strongroom-backup/MANIFEST.json", &listed),
                ("strongroom-backup/db/late.jsonl", a),
            ],
            "strongroom-backup/db/late.jsonl comes after the manifest",
        ),
    ];
    for (entries, want) in cases {
        let e = read_all(&forged(&entries), &unlock).unwrap_err().to_string();
        assert!(e.contains(want), "{want:?} not in {e:?}");
    }
    // The same members with a true manifest are accepted: the refusals above are the forgeries'.
    let good = forged(&[
        ("strongroom-backup/FORMAT", format),
        ("strongroom-backup/db/a.jsonl", a),
        ("strongroom-backup/MANIFEST.json", &listed),
    ]);
    assert_eq!(
        read_all(&good, &unlock).unwrap(),
        vec![("strongroom-backup/db/a.jsonl".to_string(), a.to_vec())]
    );
}

#[test]
fn a_writer_refuses_what_would_make_a_bad_archive() {
    let (_, public) = identity();
    let key = Key::Recipients(vec![public]);
    let mut w = Writer::new(std::io::sink(), &key).unwrap();
    let short = w.add("strongroom-backup/db/a.jsonl", 10, &b"four"[..]).unwrap_err();
    assert!(short.to_string().contains("4 bytes given for 10"), "{short}");
    let mut w = Writer::new(std::io::sink(), &key).unwrap();
    let long = w.add("strongroom-backup/db/a.jsonl", 2, &b"four"[..]).unwrap_err();
    assert!(long.to_string().contains("longer than the 2 bytes"), "{long}");
    for bad in [
        "db/a.jsonl",
        "strongroom-backup/../x",
        "strongroom-backup/MANIFEST.json",
        "strongroom-backup/",
    ] {
        let mut w = Writer::new(std::io::sink(), &key).unwrap();
        assert!(w.add(bad, 0, &b""[..]).is_err(), "{bad}");
    }
    assert!(Writer::new(std::io::sink(), &Key::Passphrase("short".into())).is_err());
    assert!(Writer::new(std::io::sink(), &Key::Recipients(vec!["age1nonsense".into()])).is_err());
    assert!(Writer::new(std::io::sink(), &Key::Recipients(vec![])).is_err());
}
