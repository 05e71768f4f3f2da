//! `strongroom`: the one binary. `serve` runs the server; `admin` manages accounts directly
//! in the configured database (for first setup, recovery and scripts).
#![forbid(unsafe_code)]

mod admin;
mod audit;
mod encryption;
mod gdpr;
mod output;
mod protect;
mod siem;
mod watermark;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use strongroom_server::config::Config;

#[derive(Parser)]
#[command(name = "strongroom", version, about = "Self-hosted secure document workspace")]
struct Cli {
    /// TOML configuration file (see strongroom.example.toml).
    #[arg(long, global = true, env = "STRONGROOM_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (embedded database, local blobs, generated TLS files).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long, global = true)]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Manage users and groups in the configured database.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// The audit trail: verify its chain, seal it, export it.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Data-subject rights (GDPR, HIPAA): export, freeze or erase a person's data.
    Gdpr {
        #[command(subcommand)]
        command: gdpr::GdprCommand,
    },
    /// Encryption at rest: make a master key, see progress, encrypt or decrypt stored documents.
    Encryption {
        #[command(subcommand)]
        command: encryption::EncryptionCommand,
    },
    /// Stored documents: check the integrity of every one.
    Storage {
        #[command(subcommand)]
        command: encryption::StorageCommand,
    },
    /// Password-protect a document (.docx/.xlsx/.pptx, .pdf, .odt/.ods/.odp).
    Protect(protect::ProtectArgs),
    /// Remove the password protection of a document, given its password.
    Unprotect(protect::UnprotectArgs),
    /// Protect a sheet of an .xlsx workbook.
    Sheet {
        #[command(subcommand)]
        command: protect::SheetCommand,
    },
    /// Protect the structure of an .xlsx workbook.
    Workbook {
        #[command(subcommand)]
        command: protect::WorkbookCommand,
    },
    /// Stamp a text watermark on every page of a PDF.
    Watermark(watermark::WatermarkArgs),
}

fn load_config(cli: &Cli) -> Result<Config, String> {
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Some(d) = &cli.data_dir {
        cfg.data_dir = d.clone();
    }
    if let Some(f) = &cli.log_format {
        cfg.log_format = f.clone();
    }
    if let Command::Serve { listen: Some(l) } = &cli.command {
        cfg.listen = l.clone();
    }
    Ok(cfg)
}

fn init_logs(format: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STRONGROOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        "json" => builder.json().init(),
        "text" => builder.init(),
        other => return Err(format!("--log-format must be text or json, not {other:?}")),
    }
    Ok(())
}

fn main() -> ExitCode {
    // Before anything is created: the data directory holds password and session hashes, sealed
    // secrets, the audit trail and (without encryption at rest) every document in clear, and
    // CLI outputs are protected documents. Nobody else on the host may read them: new
    // directories are 0700 and new files 0600, whatever the caller's umask.
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o077));
    let cli = Cli::parse();
    let run = || -> Result<(), String> {
        let cfg = load_config(&cli)?;
        init_logs(&cfg.log_format)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            match &cli.command {
                Command::Serve { .. } => strongroom_server::serve(cfg).await,
                Command::Admin { command } => admin::run(&cfg, command).await,
                Command::Audit { command } => audit::run(&cfg, command).await,
                Command::Gdpr { command } => gdpr::run(&cfg, command).await,
                Command::Encryption { command } => encryption::run(&cfg, command).await,
                Command::Storage { command } => encryption::storage(&cfg, command).await,
                Command::Protect(args) => protect::protect(args),
                Command::Unprotect(args) => protect::unprotect(args),
                Command::Sheet { command } => protect::sheet(command),
                Command::Workbook { command } => protect::workbook(command),
                Command::Watermark(args) => watermark::watermark(args),
            }
        })
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
