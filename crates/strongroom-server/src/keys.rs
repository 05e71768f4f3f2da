//! Loading the master keys for encryption at rest, and refusing to start with the wrong ones.

use crate::config::EncryptionConfig;
use strongroom_crypto::{MasterKey, PassphraseParams};
use strongroom_store::encryption::KeyRing;
use strongroom_store::{Db, content};

/// Environment variable that may hold the current master key's text instead of a key file.
pub const KEY_ENV: &str = "STRONGROOM_ENCRYPTION_KEY";

fn load(path: &str) -> Result<MasterKey, String> {
    MasterKey::load_key_file(std::path::Path::new(path)).map_err(|e| format!("cannot load master key file {path}: {e}"))
}

/// Environment variable that may hold the passphrase the master key is derived from.
pub const PASSPHRASE_ENV: &str = "STRONGROOM_ENCRYPTION_PASSPHRASE";

fn from_passphrase(cfg: &EncryptionConfig) -> Result<Option<MasterKey>, String> {
    if cfg.passphrase_params.is_empty() {
        return Ok(None);
    }
    let params = PassphraseParams::from_text(cfg.passphrase_params.trim())
        .map_err(|e| format!("encryption.passphrase_params: {e}"))?;
    let passphrase = if !cfg.passphrase_file.is_empty() {
        let text = std::fs::read_to_string(&cfg.passphrase_file)
            .map_err(|e| format!("cannot read encryption.passphrase_file {}: {e}", cfg.passphrase_file))?;
        zeroize::Zeroizing::new(strongroom_crypto::passphrase_line(&text).to_string())
    } else {
        zeroize::Zeroizing::new(std::env::var(PASSPHRASE_ENV).map_err(|_| {
            format!("encryption.passphrase_params is set: give the passphrase in passphrase_file or {PASSPHRASE_ENV}")
        })?)
    };
    if passphrase.is_empty() {
        return Err("the encryption passphrase is empty".into());
    }
    MasterKey::from_passphrase(passphrase.as_bytes(), &params)
        .map(Some)
        .map_err(|e| format!("passphrase: {e}"))
}

/// The key ring the configuration describes.
pub fn ring(cfg: &EncryptionConfig) -> Result<KeyRing, String> {
    let current = if let Some(k) = from_passphrase(cfg)? {
        if !cfg.key_file.is_empty() {
            return Err("set either encryption.key_file or encryption.passphrase_params, not both".into());
        }
        Some(k)
    } else if !cfg.key_file.is_empty() {
        Some(load(&cfg.key_file)?)
    } else if let Ok(text) = std::env::var(KEY_ENV) {
        Some(
            MasterKey::from_key_text(text.trim())
                .map_err(|e| format!("{KEY_ENV} does not hold a valid master key: {e}"))?,
        )
    } else {
        None
    };
    if cfg.enabled && current.is_none() {
        return Err(format!(
            "[encryption] enabled = true, but no master key: set encryption.key_file or {KEY_ENV} \
             (make a key with `strongroom encryption keygen -o PATH`)"
        ));
    }
    let retired = cfg
        .retired_key_files
        .iter()
        .map(|p| load(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(KeyRing::new(current, retired, cfg.enabled))
}

/// Refuses to run when stored blobs are encrypted under a key this process does not hold:
/// serving would fail on every such file, and a wrong key must be noticed at start-up.
pub async fn check_keys_in_use(db: &Db, ring: &KeyRing) -> Result<(), String> {
    let in_use = content::key_ids_in_use(db).await.map_err(|e| e.to_string())?;
    let missing: Vec<String> = in_use.into_iter().filter(|id| !ring.holds(id)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "stored documents are encrypted with master key(s) {} which this configuration does not provide; \
         set encryption.key_file (or retired_key_files) to the right key file, or {KEY_ENV}",
        missing.join(", ")
    ))
}

/// The key that seals the audit chain (`[audit]`): derived from the master key, or read from
/// its key file — made there on first start when it is missing (a fresh instance, or the
/// first node of a cluster). Never in the database: whoever can rewrite the database must
/// not be able to re-sign what they rewrote.
pub fn seal_key(cfg: &crate::config::Config, ring: &KeyRing) -> Result<strongroom_crypto::SealKey, String> {
    use strongroom_crypto::SealKey;
    if cfg.audit.seal_with_master_key {
        let master = ring.current().ok_or(
            "[audit] seal_with_master_key = true, but there is no master key: configure [encryption] or use seal_key_file",
        )?;
        return Ok(SealKey::from_master(master));
    }
    let path = seal_key_path(cfg);
    match std::fs::read_to_string(&path) {
        Ok(text) => SealKey::from_key_text(&zeroize::Zeroizing::new(text))
            .map_err(|e| format!("audit seal key file {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SealKey::generate();
            write_new(&path, key.to_key_text().as_bytes())
                .map_err(|e| format!("cannot create the audit seal key file {}: {e}", path.display()))?;
            match std::fs::read_to_string(&path) {
                // Another node or process may have made it first: theirs is the one.
                Ok(text) => SealKey::from_key_text(&zeroize::Zeroizing::new(text))
                    .map_err(|e| format!("audit seal key file {}: {e}", path.display())),
                Err(e) => Err(format!("cannot read the audit seal key file {}: {e}", path.display())),
            }
        }
        Err(e) => Err(format!("cannot read the audit seal key file {}: {e}", path.display())),
    }
}

/// Where the seal key file is: `[audit] seal_key_file`, else in the data directory.
pub fn seal_key_path(cfg: &crate::config::Config) -> std::path::PathBuf {
    if cfg.audit.seal_key_file.is_empty() {
        cfg.data_dir.join("audit-seal.key")
    } else {
        std::path::PathBuf::from(&cfg.audit.seal_key_file)
    }
}

/// Writes a new file whole or not at all, never over an existing one: a temporary file in
/// the same directory, flushed, then linked to its name (which fails if the name is taken).
fn write_new(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".audit-seal.key.{}.tmp", uuid::Uuid::new_v4()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    let linked = written.and_then(|()| match std::fs::hard_link(&tmp, path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    });
    let _ = std::fs::remove_file(&tmp);
    linked
}
