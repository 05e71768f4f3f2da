//! `strongroom audit stream`: the audit trail handed to a SIEM as it grows — JSON lines to
//! standard output or a file, or RFC 5424 syslog over TCP or TLS — from a resume position kept
//! in the database under the export's name.
//!
//! At least once: a batch is written and flushed (a file also synced to disk) before the
//! position moves past it, so a crash or a broken connection delivers it again rather than
//! never. Over the network a flush only hands the bytes to the kernel, which does not prove
//! the collector has them; so there the position stays one batch behind what was sent until
//! the next batch goes through (or the connection is closed cleanly), and a reconnection
//! resends that batch. Collectors see each event at least once; `seq` and `id` tell repeats.

use clap::{Args, ValueEnum};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use strongroom_core::Clock as _;
use strongroom_core::clock::SystemClock;
use strongroom_service::siem;
use strongroom_store::Db;
use strongroom_store::audit::{AuditEntry, AuditFilter};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StreamFormat {
    Jsonl,
    Syslog,
}

#[derive(Args)]
pub struct StreamArgs {
    /// Where to: `-` (standard output), a file (appended to), `tcp://HOST:PORT` or
    /// `tls://HOST:PORT` (RFC 5424 syslog, octet-counted frames).
    #[arg(long)]
    to: String,
    /// The export's name: its position is kept in the database under it, so each SIEM has
    /// its own.
    #[arg(long, default_value = "default")]
    pub name: String,
    /// For standard output and files: `jsonl` (default) or `syslog` (one message a line).
    #[arg(long, value_enum, default_value = "jsonl")]
    format: StreamFormat,
    /// Keep running: wait for new events, and reconnect after a broken connection.
    #[arg(long)]
    follow: bool,
    /// Seconds between looks for new events with --follow (1 to 3600).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=3600))]
    interval: u64,
    /// For tls://: trust the CA certificates in this PEM file instead of the public web roots.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Start after this place instead of the saved position (0: the whole trail again).
    #[arg(long)]
    from_seq: Option<i64>,
}

impl StreamArgs {
    /// The destination as the audit trail records it.
    pub fn to_display(&self) -> &str {
        &self.to
    }
}

const BATCH: i64 = 500;

/// A connection to a collector, plain or TLS.
trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

enum Sink {
    Stdout(std::io::Stdout),
    /// A file, and whether it is a regular one (synced to disk after each batch).
    File(std::fs::File, bool),
    Net(Box<dyn Connection>),
}

impl Sink {
    fn is_net(&self) -> bool {
        matches!(self, Sink::Net(_))
    }

    /// Whether the collector closed the connection (a syslog collector sends nothing, so
    /// anything but "nothing to read yet" means it is gone).
    async fn closed(&mut self) -> bool {
        let Sink::Net(s) = self else { return false };
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(5), s.read(&mut buf)).await {
            Err(_) => false,
            Ok(Ok(n)) => n == 0,
            Ok(Err(_)) => true,
        }
    }

    async fn deliver(&mut self, text: &str) -> Result<(), String> {
        let failed = |e: std::io::Error| format!("delivering events: {e}");
        match self {
            Sink::Stdout(o) => {
                let mut o = o.lock();
                o.write_all(text.as_bytes()).and_then(|()| o.flush()).map_err(failed)
            }
            Sink::File(f, regular) => f
                .write_all(text.as_bytes())
                .and_then(|()| if *regular { f.sync_data() } else { Ok(()) })
                .map_err(failed),
            Sink::Net(s) => {
                s.write_all(text.as_bytes()).await.map_err(failed)?;
                s.flush().await.map_err(failed)
            }
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Opens the destination (a network one connected, TLS verified).
async fn open(args: &StreamArgs) -> Result<Sink, String> {
    let (scheme, rest) = args.to.split_once("://").unwrap_or(("", &args.to));
    match scheme {
        "" if args.to == "-" => Ok(Sink::Stdout(std::io::stdout())),
        "" => {
            use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
            let path = PathBuf::from(&args.to);
            // Never through a symbolic link (O_NOFOLLOW: no window between a check and the
            // open), and into a device or FIFO only if it is ours (or root's, /dev/null).
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                .open(&path)
                .map_err(|e| match e.raw_os_error() {
                    Some(c) if c == rustix::io::Errno::LOOP.raw_os_error() => {
                        format!("{}: is a symbolic link; give the file itself", path.display())
                    }
                    _ => format!("{}: {e}", path.display()),
                })?;
            let meta = file.metadata().map_err(|e| format!("{}: {e}", path.display()))?;
            if meta.is_dir() {
                return Err(format!("{}: is a directory", path.display()));
            }
            if !meta.is_file() && !crate::output::may_write_through(meta.uid(), rustix::process::getuid().as_raw()) {
                return Err(format!(
                    "{}: is a device or FIFO of another user (uid {}); refusing to write into it",
                    path.display(),
                    meta.uid()
                ));
            }
            Ok(Sink::File(file, meta.is_file()))
        }
        "tcp" | "tls" => {
            let tcp = tokio::time::timeout(Duration::from_secs(20), tokio::net::TcpStream::connect(rest))
                .await
                .map_err(|_| format!("connecting to {rest}: timed out"))?
                .map_err(|e| format!("connecting to {rest}: {e}"))?;
            let _ = tcp.set_nodelay(true);
            if scheme == "tcp" {
                return Ok(Sink::Net(Box::new(tcp)));
            }
            let host = rest.rsplit_once(':').map_or(rest, |(h, _)| h);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let name = rustls_pki_types::ServerName::try_from(host.to_string())
                .map_err(|_| format!("{host:?} is not a host name or address"))?;
            let connector = tokio_rustls::TlsConnector::from(Arc::new(tls_config(args)?));
            let tls = tokio::time::timeout(Duration::from_secs(20), connector.connect(name, tcp))
                .await
                .map_err(|_| format!("TLS with {rest}: timed out"))?
                .map_err(|e| format!("TLS with {rest}: {e}"))?;
            Ok(Sink::Net(Box::new(tls)))
        }
        other => Err(format!(
            "--to: unknown scheme {other:?}: use -, a file, tcp://HOST:PORT or tls://HOST:PORT"
        )),
    }
}

fn tls_config(args: &StreamArgs) -> Result<rustls::ClientConfig, String> {
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    match &args.ca {
        Some(path) => {
            for cert in rustls_pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("--ca {}: {e}", path.display()))?
            {
                let cert = cert.map_err(|e| format!("--ca {}: {e}", path.display()))?;
                roots.add(cert).map_err(|e| format!("--ca {}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!("--ca {}: no certificate in it", path.display()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn render(args: &StreamArgs, net: bool, host: &str, events: &[AuditEntry]) -> String {
    let mut out = String::new();
    for e in events {
        if net {
            out.push_str(&siem::octet_counted(&siem::syslog_message(e, host)));
        } else if args.format == StreamFormat::Syslog {
            out.push_str(&siem::syslog_message(e, host));
            out.push('\n');
        } else {
            out.push_str(&strongroom_store::audit::query::json_line(e));
        }
    }
    out
}

pub async fn stream(db: &Db, args: &StreamArgs) -> Result<(), String> {
    if args.name.trim().is_empty() || args.name.len() > 100 {
        return Err("--name must be 1 to 100 characters".into());
    }
    let host = hostname();
    let store = |e: strongroom_store::StoreError| e.to_string();
    let mut saved = match args.from_seq {
        Some(s) => s.max(0),
        None => strongroom_store::audit::siem::position(db, &args.name)
            .await
            .map_err(store)?,
    };
    let mut backoff = 1;
    loop {
        let mut sink = match open(args).await {
            Ok(s) => s,
            Err(e) if args.follow => {
                eprintln!("{e}; retrying in {backoff} s");
                tokio::time::sleep(Duration::from_secs(backoff)).await;
                backoff = (backoff * 2).min(30);
                continue;
            }
            Err(e) => return Err(e),
        };
        // What was sent over the network but not yet confirmed by a later batch.
        let mut sent = saved;
        let outcome: Result<(), String> = async {
            loop {
                let filter = AuditFilter {
                    oldest_first: true,
                    cursor: Some(sent),
                    ..AuditFilter::default()
                };
                let events = strongroom_store::audit::search(db, &filter, BATCH)
                    .await
                    .map_err(store)?
                    .events;
                if let Some(last) = events.last() {
                    sink.deliver(&render(args, sink.is_net(), &host, &events)).await?;
                    // On a file or standard output, flushed is delivered; on the network,
                    // this batch going through confirms the one before it.
                    let confirmed = if sink.is_net() { sent } else { last.seq };
                    sent = last.seq;
                    if confirmed > saved {
                        strongroom_store::audit::siem::advance(db, &args.name, confirmed, SystemClock.now_ms())
                            .await
                            .map_err(store)?;
                        saved = confirmed;
                    }
                    eprintln!("delivered {} event(s), up to place {}", events.len(), last.seq);
                    backoff = 1;
                    if events.len() as i64 == BATCH {
                        continue;
                    }
                }
                if !args.follow {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_secs(args.interval)).await;
                if sink.closed().await {
                    return Err("the collector closed the connection".to_string());
                }
            }
        }
        .await;
        match outcome {
            Ok(()) => {
                // A clean close: the collector has read everything once our end is shut
                // down without error.
                if let Sink::Net(s) = &mut sink {
                    s.shutdown().await.map_err(|e| format!("closing the connection: {e}"))?;
                }
                if sent > saved {
                    strongroom_store::audit::siem::advance(db, &args.name, sent, SystemClock.now_ms())
                        .await
                        .map_err(store)?;
                }
                return Ok(());
            }
            Err(e) if args.follow => {
                eprintln!("{e}; resending from place {saved} in {backoff} s");
                tokio::time::sleep(Duration::from_secs(backoff)).await;
                backoff = (backoff * 2).min(30);
            }
            Err(e) => return Err(e),
        }
    }
}
