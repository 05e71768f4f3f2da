//! Built-in HTTPS: certificate and key files, or a self-signed certificate generated once and
//! kept in the data directory (key file readable by its owner only).

use crate::config::TlsConfig;
use std::path::{Path, PathBuf};

/// The PEM certificate and key files to serve with.
pub fn cert_files(cfg: &TlsConfig, data_dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    if !cfg.cert.is_empty() {
        if cfg.key.is_empty() {
            return Err("tls.cert is set but tls.key is not".into());
        }
        return Ok((PathBuf::from(&cfg.cert), PathBuf::from(&cfg.key)));
    }
    let dir = data_dir.join("tls");
    let (cert, key) = (dir.join("self-signed-cert.pem"), dir.join("self-signed-key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    let generated =
        rcgen::generate_simple_self_signed(names).map_err(|e| format!("cannot generate a certificate: {e}"))?;
    write_private(&key, generated.signing_key.serialize_pem().as_bytes())?;
    write_atomic(&cert, generated.cert.pem().as_bytes())?;
    tracing::info!(cert = %cert.display(), "generated a self-signed TLS certificate");
    Ok((cert, key))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
