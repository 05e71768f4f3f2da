//! `strongroom encryption …` and `strongroom storage verify`: encryption at rest operations
//! straight on the configured database and blob store (the server may keep running).

use clap::Subcommand;
use std::path::{Path, PathBuf};
use strongroom_core::{Clock, SystemClock};
use strongroom_crypto::MasterKey;
use strongroom_server::config::Config;
use strongroom_store::convert::{self, Progress, Target};

use crate::output::{self, Existing, OutputError};

#[derive(Subcommand)]
pub enum EncryptionCommand {
    /// Write a new random master key to a file (readable by its owner only).
    Keygen {
        /// Where to write the key (`-` for standard output); an existing file is never
        /// overwritten.
        #[arg(short = 'o', long, required_unless_present = "passphrase_stdin")]
        output: Option<PathBuf>,
        /// Instead: derive the key from a passphrase read from standard input, and print the
        /// `passphrase_params` line for the configuration (the passphrase itself is not stored).
        #[arg(long, conflicts_with = "output")]
        passphrase_stdin: bool,
    },
    /// Show whether encryption is on and how many stored versions are encrypted.
    Status,
    /// Encrypt every stored version now (needs `[encryption] enabled = true` and a key).
    /// Resumable: run it again after an interruption.
    Enable,
    /// Decrypt every stored version back to plaintext (needs `enabled = false` and the key).
    Disable,
    /// After setting a new `key_file` (the old one in `retired_key_files`): re-wrap every
    /// version's data key under the new master key. Document data is not rewritten (local
    /// storage); with `--reencrypt`, every version is re-encrypted with a fresh data key.
    RotateKey {
        #[arg(long)]
        reencrypt: bool,
    },
}

#[derive(Subcommand)]
pub enum StorageCommand {
    /// Read every stored version, check its MACs (when encrypted) and its SHA-256, and list
    /// every damaged or missing one (exits non-zero if any), every orphaned blob (stored but
    /// recorded nowhere, older than an hour) and every partial upload (left by a process
    /// killed mid-upload; those written in the last hour may still be in progress).
    Verify,
    /// Delete orphaned blobs (stored but recorded nowhere, left by a process killed between
    /// writing a blob and recording it) and partial uploads (left by a process killed while
    /// writing one; on S3 the multipart upload is aborted).
    RemoveOrphans {
        /// Only blobs and partial uploads last written at least this many hours ago. An
        /// upload still in progress that is removed fails cleanly (the client gets an error).
        #[arg(long, default_value_t = 24)]
        older_than_hours: u32,
    },
}

/// Writes a new key through [`crate::output`] with [`Existing::Keep`]: a new key file is made
/// private (0600) and linked into place, which fails if the name exists, because overwriting a
/// master key loses every document encrypted under it. `-o -` prints the key on standard
/// output (for a secret manager's pipe); a FIFO gets it written through.
fn keygen(output: &Path) -> Result<(), String> {
    let key = MasterKey::generate(&mut rand::rng());
    output::write_bytes(output, Existing::Keep, key.to_key_text().as_bytes()).map_err(|e| match e {
        OutputError::Exists(_) => format!("{} exists; a key file is never overwritten", output.display()),
        e => e.to_string(),
    })?;
    let place = if output::is_stdout(output) {
        "standard output".to_owned()
    } else {
        output.display().to_string()
    };
    eprintln!(
        "wrote master key {} to {place}; keep a copy somewhere safe: without it encrypted documents are lost",
        key.id()
    );
    Ok(())
}

fn passphrase_keygen() -> Result<(), String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the passphrase: {e}"))?;
    let passphrase = zeroize::Zeroizing::new(strongroom_crypto::passphrase_line(&line).to_string());
    if passphrase.chars().count() < 16 {
        return Err("a passphrase for the master key needs at least 16 characters".into());
    }
    let params = strongroom_crypto::PassphraseParams::generate(&mut rand::rng());
    let key = MasterKey::from_passphrase(passphrase.as_bytes(), &params).map_err(|e| e.to_string())?;
    println!("passphrase_params = \"{}\"", params.to_text());
    eprintln!(
        "master key {} derived; put the line above in [encryption] and the passphrase in passphrase_file or STRONGROOM_ENCRYPTION_PASSPHRASE",
        key.id()
    );
    Ok(())
}

fn print_progress(p: &Progress, eta: Option<u64>) {
    let pct = if p.bytes_total > 0 {
        p.bytes_done as f64 * 100.0 / p.bytes_total as f64
    } else {
        100.0
    };
    let eta = eta.map(|s| format!(", about {s} s left")).unwrap_or_default();
    eprintln!(
        "{}: {}/{} versions, {}/{} bytes ({pct:.1}%){eta}",
        p.direction, p.objects_done, p.objects_total, p.bytes_done, p.bytes_total
    );
}

pub async fn run(cfg: &Config, cmd: &EncryptionCommand) -> Result<(), String> {
    if let EncryptionCommand::Keygen {
        output,
        passphrase_stdin,
    } = cmd
    {
        return match output {
            Some(path) => keygen(path),
            None if *passphrase_stdin => passphrase_keygen(),
            None => Err("give -o PATH or --passphrase-stdin".into()),
        };
    }
    let (db, blobs) = strongroom_server::open_storage(cfg).await?;
    let target = match cmd {
        EncryptionCommand::Keygen { .. } => return Ok(()),
        EncryptionCommand::Status => {
            let target = if cfg.encryption.enabled {
                Target::Encrypted
            } else {
                Target::Plaintext
            };
            let p = convert::progress_with_eta(&db, &blobs, target, SystemClock.now_ms())
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "encryption at rest: {}",
                if cfg.encryption.enabled { "enabled" } else { "disabled" }
            );
            if let Some(k) = blobs.keys().current() {
                println!("current master key: {}", k.id());
            }
            for (key, n) in strongroom_store::content::key_usage(&db)
                .await
                .map_err(|e| e.to_string())?
            {
                println!("master key {key} encrypts {n} objects (versions and secrets)");
            }
            print_progress(&p, p.eta_seconds);
            return Ok(());
        }
        EncryptionCommand::RotateKey { reencrypt: false } => {
            let n = convert::rotate(
                &db,
                &blobs,
                || SystemClock.now_ms(),
                |n| {
                    if n % 1000 == 0 {
                        eprintln!("re-wrapped {n} versions");
                    }
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            eprintln!(
                "re-wrapped {n} versions; retired keys no longer in use can be removed (see `strongroom encryption status`)"
            );
            let event = strongroom_core::audit::AuditEvent::new(strongroom_core::audit::AuditAction::EncryptionRotate)
                .details(serde_json::json!({"rewrapped": n}));
            return crate::admin::audit(&db, event).await;
        }
        EncryptionCommand::RotateKey { reencrypt: true } => {
            if !cfg.encryption.enabled {
                return Err("--reencrypt needs [encryption] enabled = true with the new key_file".into());
            }
            Target::CurrentKey
        }
        EncryptionCommand::Enable => {
            if !cfg.encryption.enabled {
                return Err(
                    "set [encryption] enabled = true (and key_file) first, so new documents are encrypted too".into(),
                );
            }
            Target::Encrypted
        }
        EncryptionCommand::Disable => {
            if cfg.encryption.enabled {
                return Err(
                    "set [encryption] enabled = false first (keep key_file), so new documents are not encrypted".into(),
                );
            }
            Target::Plaintext
        }
    };
    let start = convert::progress(&db, &blobs, target)
        .await
        .map_err(|e| e.to_string())?;
    let started = SystemClock.now_ms();
    let mut last = 0i64;
    let report = |p: &Progress| {
        let now = SystemClock.now_ms();
        if now - last >= 1000 || p.complete() {
            last = now;
            print_progress(p, p.eta_seconds(&start, started, now));
        }
    };
    let n = convert::run(&db, &blobs, target, || SystemClock.now_ms(), report)
        .await
        .map_err(|e| e.to_string())?;
    print_progress(
        &convert::progress(&db, &blobs, target)
            .await
            .map_err(|e| e.to_string())?,
        None,
    );
    eprintln!("converted {n} versions");
    let event = strongroom_core::audit::AuditEvent::new(strongroom_core::audit::AuditAction::EncryptionConvert)
        .details(serde_json::json!({"target": format!("{target:?}"), "converted": n}));
    crate::admin::audit(&db, event).await
}

pub async fn storage(cfg: &Config, cmd: &StorageCommand) -> Result<(), String> {
    let (db, blobs) = strongroom_server::open_storage(cfg).await?;
    let now = SystemClock.now_ms();
    if let StorageCommand::RemoveOrphans { older_than_hours } = cmd {
        let cutoff = now - i64::from(*older_than_hours) * 3_600_000;
        let removed = convert::remove_orphans(&db, &blobs, cutoff, now)
            .await
            .map_err(|e| e.to_string())?;
        for o in &removed {
            println!("removed orphaned blob {}", o.blob_key);
        }
        let partial = blobs.remove_partial_uploads(cutoff).await.map_err(|e| e.to_string())?;
        for p in &partial {
            println!("removed partial upload {}{}", p.name, size_note(p.size));
        }
        let event = strongroom_core::audit::AuditEvent::new(strongroom_core::audit::AuditAction::OrphansRemove)
            .details(serde_json::json!({"removed": removed.len(), "partial_uploads_removed": partial.len()}));
        crate::admin::audit(&db, event).await?;
        println!(
            "removed {} orphaned blobs and {} partial uploads",
            removed.len(),
            partial.len()
        );
        return Ok(());
    }
    let (checked, damaged) = convert::verify(&db, &blobs, |n| {
        if n % 1000 == 0 {
            eprintln!("checked {n} versions");
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    let orphans = convert::orphans(&db, &blobs, now - 3_600_000)
        .await
        .map_err(|e| e.to_string())?;
    for o in &orphans {
        println!(
            "ORPHAN blob {} (recorded nowhere; `strongroom storage remove-orphans` deletes it)",
            o.blob_key
        );
    }
    // Every partial upload, however young: one written in the last hour is named as possibly
    // still in progress, not hidden (right after a crash and restart they are all young).
    let partial = blobs.partial_uploads(i64::MAX).await.map_err(|e| e.to_string())?;
    for p in &partial.stale {
        let minutes = (now - p.modified).max(0) / 60_000;
        let state = if now - p.modified < 3_600_000 {
            "may still be in progress"
        } else {
            "unfinished; `strongroom storage remove-orphans` deletes it"
        };
        println!(
            "PARTIAL upload {}{}, last written {minutes} min ago ({state})",
            p.name,
            size_note(p.size)
        );
    }
    for d in &damaged {
        println!(
            "DAMAGED file {} version {} {:?} (blob {}): {}",
            d.file_id, d.version, d.name, d.blob_key, d.problem
        );
    }
    let (secrets_checked, bad_secrets) = strongroom_store::secrets::verify(&db, blobs.keys())
        .await
        .map_err(|e| e.to_string())?;
    for (name, problem) in &bad_secrets {
        println!("DAMAGED secret {name}: {problem}");
    }
    println!(
        "checked {checked} versions and {secrets_checked} secrets, {} damaged, {} orphaned blobs, {} partial uploads",
        damaged.len() + bad_secrets.len(),
        orphans.len(),
        partial.stale.len()
    );
    if damaged.is_empty() && bad_secrets.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} damaged or missing versions, {} damaged secrets",
            damaged.len(),
            bad_secrets.len()
        ))
    }
}

/// ` (56.0 MiB)`, or nothing when the size is unknown (S3 does not list the parts).
fn size_note(size: Option<u64>) -> String {
    size.map(|b| format!(" ({:.1} MiB)", b as f64 / 1_048_576.0))
        .unwrap_or_default()
}
