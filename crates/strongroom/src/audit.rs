//! `strongroom audit`: verify the chain, seal its head, show the seal key, export events.

use crate::output;
use clap::{Args, Subcommand, ValueEnum};
use futures::StreamExt;
use std::io::Write as _;
use std::path::PathBuf;
use strongroom_core::Clock as _;
use strongroom_core::audit::{AuditAction, AuditEvent, Outcome};
use strongroom_core::clock::SystemClock;
use strongroom_server::config::Config;
use strongroom_service::audit::ExportFormat;
use strongroom_store::audit::AuditFilter;
use strongroom_store::audit::verify::Report;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the whole chain and name every break; exit 1 if there is one.
    Verify {
        /// Trust seals by this Ed25519 public key (hex; repeatable). Default: the key of
        /// this configuration (`[audit]`).
        #[arg(long = "public-key")]
        public_keys: Vec<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Seal the chain's head now (the server does every few minutes).
    Seal,
    /// Print the public key that checks this configuration's seals.
    PublicKey,
    /// Write events (oldest first) as CSV or JSON lines.
    Export(ExportArgs),
    /// Hand the trail to a SIEM from where this export last stopped (JSON lines to stdout or
    /// a file, RFC 5424 syslog over TCP or TLS); with --follow, as it grows.
    Stream(crate::siem::StreamArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

#[derive(Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Where to write: a file (replaced atomically), `-` for standard output.
    #[arg(short = 'o', long = "output", default_value = "-")]
    out: PathBuf,
    /// Only events by this actor (a user id or `link:LINK_ID`).
    #[arg(long)]
    actor: Option<String>,
    /// Only these actions (comma-separated).
    #[arg(long)]
    action: Option<String>,
    /// From this time on (ms since the epoch).
    #[arg(long)]
    from: Option<i64>,
    /// Before this time (ms since the epoch).
    #[arg(long)]
    to: Option<i64>,
}

pub async fn run(cfg: &Config, cmd: &AuditCommand) -> Result<(), String> {
    let (db, ring) = strongroom_server::open_database(cfg).await?;
    match cmd {
        AuditCommand::Verify { public_keys, json } => {
            let keys = if public_keys.is_empty() {
                let key = existing_seal_key(cfg, &ring)?;
                vec![parse_key(&key.public_key_hex())?]
            } else {
                public_keys.iter().map(|k| parse_key(k)).collect::<Result<_, _>>()?
            };
            let report = strongroom_store::audit::verify::verify(&db, &keys)
                .await
                .map_err(|e| e.to_string())?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
            } else {
                print_report(&report);
            }
            let event = AuditEvent::new(AuditAction::AuditVerify)
                .outcome(if report.ok() { Outcome::Success } else { Outcome::Failure })
                .details(serde_json::json!({"events": report.events, "findings": report.findings.len(), "unsealed": report.unsealed}));
            crate::admin::audit(&db, event).await?;
            if report.ok() {
                Ok(())
            } else {
                Err(format!(
                    "the audit chain is broken: {} finding(s)",
                    report.findings.len()
                ))
            }
        }
        AuditCommand::Seal => {
            let key = strongroom_server::keys::seal_key(cfg, &ring)?;
            match strongroom_store::audit::seal::seal(&db, &key, SystemClock.now_ms())
                .await
                .map_err(|e| e.to_string())?
            {
                Some(s) => println!("sealed the chain at place {} ({})", s.seq, s.hash),
                None => println!("nothing to seal: the head is already sealed, or the trail is empty"),
            }
            Ok(())
        }
        AuditCommand::PublicKey => {
            println!("{}", strongroom_server::keys::seal_key(cfg, &ring)?.public_key_hex());
            Ok(())
        }
        AuditCommand::Export(args) => export(&db, args).await,
        AuditCommand::Stream(args) => {
            crate::admin::audit(
                &db,
                AuditEvent::new(AuditAction::AuditExport)
                    .details(serde_json::json!({"format": "siem", "to": args.to_display(), "name": args.name})),
            )
            .await?;
            crate::siem::stream(&db, args).await
        }
    }
}

/// The seal key of this configuration, refusing to make one: a verifier that made a new key
/// would distrust every seal there is.
fn existing_seal_key(
    cfg: &Config,
    ring: &strongroom_store::encryption::KeyRing,
) -> Result<strongroom_crypto::SealKey, String> {
    let path = strongroom_server::keys::seal_key_path(cfg);
    if !cfg.audit.seal_with_master_key && !path.exists() {
        return Err(format!(
            "no audit seal key at {}: give the public key with --public-key",
            path.display()
        ));
    }
    strongroom_server::keys::seal_key(cfg, ring)
}

fn parse_key(hex_key: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(hex_key.trim()).map_err(|_| format!("public key {hex_key:?} is not hex"))?;
    bytes
        .try_into()
        .map_err(|_| format!("public key {hex_key:?} is not 32 bytes"))
}

fn print_report(r: &Report) {
    for f in &r.findings {
        let kind = serde_json::to_value(f.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        println!("{kind}: {}", f.message);
    }
    let range = match (r.first_seq, r.last_seq) {
        (Some(a), Some(b)) => format!(" (places {a} to {b})"),
        _ => String::new(),
    };
    println!(
        "{} events{range}, {} seals checked, last sealed place {}, {} events not yet sealed, {} pseudonymised",
        r.events,
        r.seals,
        r.last_sealed_seq.map_or("none".to_string(), |s| s.to_string()),
        r.unsealed,
        r.pseudonymised
    );
    if r.ok() {
        println!("the audit chain is intact");
    }
}

async fn export(db: &strongroom_store::Db, args: &ExportArgs) -> Result<(), String> {
    let filter = AuditFilter {
        actor: args.actor.clone(),
        actions: args
            .action
            .as_deref()
            .map(|a| {
                a.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        from: args.from,
        to: args.to,
        oldest_first: true,
        ..AuditFilter::default()
    };
    let format = match args.format {
        Format::Csv => ExportFormat::Csv,
        Format::Jsonl => ExportFormat::Jsonl,
    };
    crate::admin::audit(
        db,
        AuditEvent::new(AuditAction::AuditExport)
            .details(serde_json::json!({"format": format.as_str(), "output": args.out.display().to_string()})),
    )
    .await?;
    let handle = tokio::runtime::Handle::current();
    let db = db.clone();
    tokio::task::block_in_place(|| {
        output::write(&args.out, |file| {
            handle.block_on(async {
                let mut pieces = strongroom_service::audit::export_stream(db, filter, format);
                let mut w = std::io::BufWriter::new(file);
                while let Some(piece) = pieces.next().await {
                    let piece = piece.map_err(|e| e.to_string())?;
                    w.write_all(piece.as_bytes()).map_err(|e| e.to_string())?;
                }
                w.flush().map_err(|e| e.to_string())
            })
        })
    })
}
