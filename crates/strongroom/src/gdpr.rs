//! `strongroom gdpr`: the data-subject rights at the console — export a person's data, freeze
//! them, erase them. The same use cases as the API, done by the console.

use crate::output;
use clap::Subcommand;
use std::path::PathBuf;
use strongroom_core::ids::UserId;
use strongroom_server::config::Config;
use strongroom_service::{Operator, Service, privacy};
use strongroom_store::people as store_people;

#[derive(Subcommand)]
pub enum GdprCommand {
    /// Write one ZIP archive of everything kept about a person (profile, settings, login
    /// history, audit events about them, the files they own), with a README inside.
    Export {
        /// The person: e-mail address or user id.
        #[arg(long)]
        user: String,
        /// Where to write: a file (replaced atomically), `-` for standard output.
        #[arg(short = 'o', long = "output")]
        out: PathBuf,
    },
    /// Restrict processing: no sign-in, sessions ended, tokens and links dead, no mail.
    Freeze {
        #[arg(long)]
        user: String,
    },
    /// Lift a freeze (the person is enabled again).
    Unfreeze {
        #[arg(long)]
        user: String,
    },
    /// Erase a person: account and personal data deleted, audit events pseudonymised, their
    /// files handed to someone (`--transfer-to`) or deleted (`--delete-files`). Cannot be undone.
    Erase {
        #[arg(long)]
        user: String,
        /// Hand their files to this person (e-mail address or user id).
        #[arg(long, conflicts_with = "delete_files", required_unless_present = "delete_files")]
        transfer_to: Option<String>,
        /// Delete their files with every version.
        #[arg(long)]
        delete_files: bool,
        /// Confirm: erasure cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

/// A person by e-mail address or id (an erased person has neither any more).
async fn person(svc: &Service, who: &str) -> Result<store_people::User, String> {
    if who.contains('@') {
        return store_people::find_by_email(&svc.db, who)
            .await
            .map_err(|e| e.to_string())?
            .map(|(u, _)| u)
            .ok_or_else(|| format!("no user with e-mail {who}"));
    }
    let id: UserId = who
        .parse()
        .map_err(|_| format!("{who:?} is neither an e-mail address nor a user id"))?;
    store_people::get_user(&svc.db, &id)
        .await
        .map_err(|_| format!("no user with id {who}"))
}

pub async fn run(cfg: &Config, cmd: &GdprCommand) -> Result<(), String> {
    let svc = strongroom_server::open_service(cfg).await?;
    let err = |e: strongroom_service::Error| e.to_string();
    match cmd {
        GdprCommand::Export { user, out } => {
            output::check(out, output::Existing::Replace).map_err(|e| e.to_string())?;
            let u = person(&svc, user).await?;
            let handle = tokio::runtime::Handle::current();
            let mut summary = None;
            tokio::task::block_in_place(|| {
                output::write(out, |file| {
                    let s = handle.block_on(privacy::export(&svc, Operator::Console, &u.id, &mut *file));
                    summary = Some(s.map_err(err)?);
                    Ok(())
                })
            })?;
            if let Some(s) = summary {
                eprintln!(
                    "exported {}: {} file(s), {} bytes, {} sign-in record(s), {} audit event(s)",
                    u.email, s.files, s.bytes, s.login_history, s.audit_events
                );
            }
            Ok(())
        }
        GdprCommand::Freeze { user } | GdprCommand::Unfreeze { user } => {
            let frozen = matches!(cmd, GdprCommand::Freeze { .. });
            let u = person(&svc, user).await?;
            privacy::set_frozen(&svc, Operator::Console, &u.id, frozen)
                .await
                .map_err(err)?;
            eprintln!("{} {}", if frozen { "froze" } else { "unfroze" }, u.email);
            Ok(())
        }
        GdprCommand::Erase {
            user,
            transfer_to,
            delete_files: _,
            yes,
        } => {
            let u = person(&svc, user).await?;
            let files = match transfer_to {
                Some(t) => privacy::Files::Transfer {
                    transfer_to: person(&svc, t).await?.id,
                },
                None => privacy::Files::Delete,
            };
            if !yes {
                return Err(format!("erasing {} cannot be undone: add --yes to erase them", u.email));
            }
            let done = privacy::erase(&svc, Operator::Console, &u.id, &files)
                .await
                .map_err(err)?;
            println!("{}", serde_json::to_string_pretty(&done).map_err(|e| e.to_string())?);
            Ok(())
        }
    }
}
