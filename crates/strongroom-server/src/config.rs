//! Configuration: built-in defaults, then a TOML file, then `STRONGROOM_*` environment
//! variables (nested keys with `__`, e.g. `STRONGROOM_DATABASE__URL`), then command-line flags.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A string that must never reach a log: Debug prints a placeholder.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "<redacted>" })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the embedded database, local blobs and generated TLS files live.
    pub data_dir: PathBuf,
    /// Address and port to listen on.
    pub listen: String,
    /// `text` or `json`.
    pub log_format: String,
    /// The externally visible base URL (for the setup link and cookies); derived from
    /// `listen` when empty.
    pub public_url: String,
    pub database: DatabaseConfig,
    pub storage: StorageConfig,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub encryption: EncryptionConfig,
    pub metrics: MetricsConfig,
    pub http: HttpConfig,
    pub audit: AuditConfig,
}

/// Limits on what one client connection may hold (see `limits.rs`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Seconds a client has to send a request's headers, from connecting or from the end of
    /// the previous answer on a kept-alive connection (so also the idle keep-alive time).
    pub header_timeout_secs: u32,
    /// Seconds a request body may send nothing before the request is failed.
    pub body_idle_timeout_secs: u32,
    /// Open connections allowed from one client address (behind a reverse proxy, raise it:
    /// every client then shares the proxy's address).
    pub max_connections_per_address: u32,
    /// The reverse proxies in front of the server (addresses or CIDR ranges): only from these
    /// peers are `Forwarded` / `X-Forwarded-For` read for the client's address (the address
    /// rules, the brute-force limit and the login history work on it). Empty: the headers are
    /// ignored and the direct peer is the client.
    pub trusted_proxies: Vec<String>,
    /// The header those proxies write the client's address in: `x-forwarded-for` (nginx,
    /// HAProxy, Traefik) or `forwarded` (RFC 7239). Only this one is read; the proxy must
    /// append to it (or overwrite it).
    pub forwarded_header: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_timeout_secs: 30,
            body_idle_timeout_secs: 60,
            max_connections_per_address: 128,
            trusted_proxies: Vec::new(),
            forwarded_header: "x-forwarded-for".into(),
        }
    }
}

impl HttpConfig {
    /// The trusted proxies, parsed (a mistake is an error at start, not a silent hole).
    pub fn proxies(&self) -> Result<crate::extract::TrustedProxies, String> {
        use crate::extract::ForwardedHeader;
        let header = match self.forwarded_header.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => ForwardedHeader::XForwardedFor,
            "forwarded" => ForwardedHeader::Forwarded,
            other => {
                return Err(format!(
                    "http.forwarded_header must be \"x-forwarded-for\" or \"forwarded\", not {other:?}"
                ));
            }
        };
        let ranges = self
            .trusted_proxies
            .iter()
            .map(|s| {
                let s = s.trim();
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("http.trusted_proxies: {s:?} is not an IP address or CIDR range"))
            })
            .collect::<Result<_, _>>()?;
        Ok(crate::extract::TrustedProxies { ranges, header })
    }
}

/// The Prometheus endpoint `/metrics`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` to anyone. Off by default: request counts by route and timings tell an
    /// outsider how the instance is used, so a scraper needs an API token of the Owner or an
    /// Administrator of settings (Prometheus: `authorization: credentials_file: …`). Turn it
    /// on only where the port is reachable from the monitoring network alone.
    pub public: bool,
}

/// The audit trail's seals (see `docs/audit.md`, "Tamper evidence").
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// The Ed25519 key that seals the chain: a key file outside the database. Empty:
    /// `<data_dir>/audit-seal.key`, made on first start. Give every node the same file (or
    /// use `seal_with_master_key`), so that one public key verifies every seal.
    pub seal_key_file: String,
    /// Derive the seal key from the master key of encryption at rest instead (no second
    /// secret to keep; needs `[encryption]` with a key).
    pub seal_with_master_key: bool,
    /// Seconds between seals of the chain's head (when it moved): 10 to 86,400. Events after
    /// the last seal are chained but not yet signed.
    pub seal_interval_secs: u32,
    /// Seconds between checks of the alert rules: 1 to 3,600.
    pub alert_interval_secs: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            seal_key_file: String::new(),
            seal_with_master_key: false,
            seal_interval_secs: 300,
            alert_interval_secs: 30,
        }
    }
}

/// Encryption at rest of document bodies (see `docs/encryption.md`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncryptionConfig {
    /// Encrypt every new blob, and convert existing ones in the background.
    pub enabled: bool,
    /// File holding the current master key (`strongroom encryption keygen -o PATH`). Instead,
    /// the key text may come from the `STRONGROOM_ENCRYPTION_KEY` environment variable.
    pub key_file: String,
    /// Older master keys, still needed to read blobs not yet rewrapped after a rotation.
    pub retired_key_files: Vec<String>,
    /// Instead of a key file: derive the master key from a passphrase (Argon2id) held in this
    /// file (first line) or in `STRONGROOM_ENCRYPTION_PASSPHRASE`, with these parameters
    /// (printed by `strongroom encryption keygen --passphrase-stdin`; not secret).
    pub passphrase_file: String,
    pub passphrase_params: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`; empty: `DATA_DIR/strongroom.db`.
    pub url: Secret,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `local` or `s3`.
    pub kind: String,
    /// For `local`: the blob directory; empty: `DATA_DIR/blobs`.
    pub path: String,
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub path_style: bool,
    pub allow_http: bool,
    /// Key prefix inside the bucket (to share a bucket); empty: the bucket root.
    pub prefix: String,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            kind: "local".into(),
            path: String::new(),
            endpoint: String::new(),
            bucket: String::new(),
            region: "us-east-1".into(),
            access_key_id: String::new(),
            secret_access_key: Secret::default(),
            path_style: true,
            allow_http: false,
            prefix: String::new(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain file.
    pub cert: String,
    /// PEM private key file.
    pub key: String,
    /// Generate a self-signed certificate once and keep it in `DATA_DIR/tls/`.
    pub self_signed: bool,
}

impl TlsConfig {
    pub fn enabled(&self) -> bool {
        self.self_signed || !self.cert.is_empty()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// How long a browser session lasts, in hours.
    pub session_hours: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig { session_hours: 12 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./strongroom-data"),
            listen: "127.0.0.1:8080".into(),
            log_format: "text".into(),
            public_url: String::new(),
            database: DatabaseConfig::default(),
            storage: StorageConfig::default(),
            tls: TlsConfig::default(),
            http: HttpConfig::default(),
            auth: AuthConfig::default(),
            encryption: EncryptionConfig::default(),
            metrics: MetricsConfig::default(),
            audit: AuditConfig::default(),
        }
    }
}

/// Environment variables read by tools around the server, not configuration keys.
const NOT_CONFIG: &[&str] = &[
    "REQUIRE_ORACLES",
    "LOG",
    "TEST_DATABASE_URL",
    "TEST_S3",
    "CONFIG",
    "BIN",
    "ENCRYPTION_KEY",
];

impl Config {
    /// Loads defaults ← `file` (if given) ← environment.
    pub fn load(file: Option<&Path>) -> Result<Config, String> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                return Err(format!("configuration file {} does not exist", f.display()));
            }
            fig = fig.merge(Toml::file(f));
        }
        let env = Env::prefixed("STRONGROOM_")
            .filter(|k| {
                !NOT_CONFIG.iter().any(|n| k.as_str().eq_ignore_ascii_case(n))
                    && !k.as_str().to_ascii_uppercase().starts_with("TEST_")
            })
            .split("__");
        fig = fig.merge(env);
        let cfg: Config = fig.extract().map_err(|e| format!("invalid configuration: {e}"))?;
        // Checked here, not when storage opens: commands that touch only the database must
        // refuse a broken configuration too.
        if !matches!(cfg.storage.kind.as_str(), "local" | "s3") {
            return Err(format!(
                "storage.kind must be \"local\" or \"s3\", not {:?}",
                cfg.storage.kind
            ));
        }
        Ok(cfg)
    }

    pub fn database_url(&self) -> String {
        if self.database.url.0.is_empty() {
            format!("sqlite://{}", self.data_dir.join("strongroom.db").display())
        } else {
            self.database.url.0.clone()
        }
    }

    pub fn blob_dir(&self) -> PathBuf {
        if self.storage.path.is_empty() {
            self.data_dir.join("blobs")
        } else {
            PathBuf::from(&self.storage.path)
        }
    }

    pub fn base_url(&self) -> String {
        if !self.public_url.is_empty() {
            return self.public_url.trim_end_matches('/').to_string();
        }
        let scheme = if self.tls.enabled() { "https" } else { "http" };
        format!("{scheme}://{}", self.listen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_env_override() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:9999\"\n[storage]\nkind = \"s3\"\nbucket = \"b\"\nsecret_access_key = \"hush\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&f)).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9999");
        assert_eq!(c.storage.kind, "s3");
        assert!(
            !format!("{c:?}").contains("hush"),
            "secrets must not reach Debug output"
        );
        assert!(Config::load(Some(&dir.path().join("missing.toml"))).is_err());
        std::fs::write(&f, "bogus_key = 1\n").unwrap();
        assert!(Config::load(Some(&f)).unwrap_err().contains("bogus_key"));
    }
}
