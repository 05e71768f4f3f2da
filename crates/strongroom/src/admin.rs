//! `strongroom admin …`: account management straight on the database.

use clap::Subcommand;
use secrecy::SecretString;
use std::io::Read;
use strongroom_core::audit::AuditEvent;
use strongroom_core::{Clock, Module, ModuleSet, Role, SystemClock};
use strongroom_server::config::Config;
use strongroom_store::encryption::KeyRing;
use strongroom_store::people::{self, NewUser, UserPatch};
use strongroom_store::{Db, secrets};

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Groups.
    Group {
        #[command(subcommand)]
        command: GroupCommand,
    },
    /// Secrets kept in the database, sealed under the master key when encryption at rest is
    /// on (for example `storage.s3.secret_access_key`).
    Secret {
        #[command(subcommand)]
        command: SecretCommand,
    },
}

#[derive(Subcommand)]
pub enum SecretCommand {
    /// Store a secret; its value is read from standard input (one trailing newline dropped).
    Set { name: String },
    /// List stored secrets and the master key sealing each (never their values).
    List,
    /// Delete a secret.
    Delete { name: String },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        /// owner, admin, user or guest.
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "")]
        display_name: String,
        /// For admin: comma-separated modules (documents,people,settings,audit); default all.
        #[arg(long)]
        modules: Option<String>,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Disable a user (ends their sessions).
    Disable { email: String },
    /// Enable a user again.
    Enable { email: String },
    /// Set a user's password from standard input.
    SetPassword { email: String },
    /// Make another user the Owner (the current Owner becomes a full-access Administrator).
    TransferOwnership {
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
pub enum GroupCommand {
    /// Create a group.
    Create { name: String },
    /// List groups with their members.
    List,
    /// Add a user (by e-mail) to a group.
    AddMember { group: String, email: String },
    /// Remove a user (by e-mail) from a group.
    RemoveMember { group: String, email: String },
    /// Delete a group.
    Delete { name: String },
}

fn read_password() -> Result<SecretString, String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let line = s.lines().next().unwrap_or("").to_string();
    if line.is_empty() {
        return Err("no password on standard input".into());
    }
    Ok(SecretString::from(line))
}

fn parse_modules(s: &str) -> Result<ModuleSet, String> {
    let mut set = ModuleSet::NONE;
    for m in s.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        set = set.with(
            Module::parse(m).ok_or_else(|| format!("unknown module {m:?}: use documents, people, settings, audit"))?,
        );
    }
    Ok(set)
}

async fn user_by_email(db: &Db, email: &str) -> Result<people::User, String> {
    people::find_by_email(db, email)
        .await
        .map_err(|e| e.to_string())?
        .map(|(u, _)| u)
        .ok_or_else(|| format!("no user with e-mail {email}"))
}

/// Records an audit event for a CLI action (the actor is the person at the console).
pub(crate) async fn audit(db: &Db, e: AuditEvent) -> Result<(), String> {
    let e = AuditEvent {
        actor_email: Some("cli".into()),
        ..e
    };
    strongroom_store::audit::record(db, &e, SystemClock.now_ms())
        .await
        .map_err(|e| e.to_string())
}

/// A secret's value from standard input, without the newline `echo` adds.
fn read_secret_value() -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
    let mut v = zeroize::Zeroizing::new(Vec::new());
    std::io::stdin()
        .read_to_end(&mut v)
        .map_err(|e| format!("cannot read the secret from standard input: {e}"))?;
    for end in [b"\r\n".as_slice(), b"\n"] {
        if v.ends_with(end) {
            let keep = v.len() - end.len();
            v.truncate(keep);
            break;
        }
    }
    if v.is_empty() {
        return Err("no secret on standard input".into());
    }
    Ok(v)
}

async fn secret(db: &Db, ring: &KeyRing, cmd: &SecretCommand, now: i64) -> Result<(), String> {
    let err = |e: strongroom_store::StoreError| e.to_string();
    let (action, name) = match cmd {
        SecretCommand::List => {
            for s in secrets::list(db).await.map_err(err)? {
                let how = s
                    .key_id
                    .map_or("in clear (encryption at rest is off)".to_string(), |k| {
                        format!("sealed with master key {k}")
                    });
                println!("{}  {how}", s.name);
            }
            return Ok(());
        }
        SecretCommand::Set { name } => {
            secrets::check_name(name).map_err(err)?;
            secrets::put(db, ring, name, &read_secret_value()?, now)
                .await
                .map_err(err)?;
            ("settings.secret.set", name)
        }
        SecretCommand::Delete { name } => {
            if !secrets::delete(db, name).await.map_err(err)? {
                return Err(format!("no secret named {name}"));
            }
            ("settings.secret.delete", name)
        }
    };
    audit(db, AuditEvent::new(action, "settings").target("secret", name)).await?;
    eprintln!("{} {name}", if action.ends_with("set") { "stored" } else { "deleted" });
    Ok(())
}

pub async fn run(cfg: &Config, cmd: &AdminCommand) -> Result<(), String> {
    let (db, ring) = strongroom_server::open_database(cfg).await?;
    let now = SystemClock.now_ms();
    let err = |e: strongroom_store::StoreError| e.to_string();
    match cmd {
        AdminCommand::User { command } => match command {
            UserCommand::Create {
                email,
                role,
                display_name,
                modules,
                password_stdin,
            } => {
                let role = Role::parse(role)
                    .ok_or_else(|| format!("unknown role {role:?}: use owner, admin, user or guest"))?;
                let hash = if *password_stdin {
                    Some(
                        strongroom_auth::password::hash(read_password()?)
                            .await
                            .map_err(|e| e.to_string())?,
                    )
                } else {
                    None
                };
                let modules = modules.as_deref().map_or(Ok(ModuleSet::ALL), parse_modules)?;
                let u = people::create_user(
                    &db,
                    NewUser {
                        email,
                        display_name,
                        role,
                        modules,
                        password_hash: hash,
                    },
                    now,
                )
                .await
                .map_err(err)?;
                audit(&db, AuditEvent::new("user.create", "people").target("user", &u.id)).await?;
                println!("{}", u.id);
            }
            UserCommand::List { json } => {
                let users = people::list_users(&db).await.map_err(err)?;
                if *json {
                    println!("{}", serde_json::to_string_pretty(&users).map_err(|e| e.to_string())?);
                } else {
                    println!("{:<36}  {:<32}  {:<6}  {:<8}  NAME", "ID", "E-MAIL", "ROLE", "STATE");
                    for u in users {
                        let state = if u.active { "active" } else { "disabled" };
                        println!(
                            "{:<36}  {:<32}  {:<6}  {:<8}  {}",
                            u.id, u.email, u.role, state, u.display_name
                        );
                    }
                }
            }
            UserCommand::Disable { email } | UserCommand::Enable { email } => {
                let active = matches!(command, UserCommand::Enable { .. });
                let u = user_by_email(&db, email).await?;
                people::update_user(
                    &db,
                    &u.id,
                    UserPatch {
                        active: Some(active),
                        ..Default::default()
                    },
                    SystemClock.now_ms(),
                )
                .await
                .map_err(err)?;
                audit(
                    &db,
                    AuditEvent::new("user.update", "people")
                        .target("user", &u.id)
                        .details(serde_json::json!({"active": active})),
                )
                .await?;
                println!("{} {}", u.email, if active { "enabled" } else { "disabled" });
            }
            UserCommand::SetPassword { email } => {
                let u = user_by_email(&db, email).await?;
                let h = strongroom_auth::password::hash(read_password()?)
                    .await
                    .map_err(|e| e.to_string())?;
                let ended = people::change_password(&db, &u.id, &h, people::KeepSignIn::default(), now)
                    .await
                    .map_err(err)?;
                audit(&db, AuditEvent::new("user.password", "people").target("user", &u.id)).await?;
                println!(
                    "password set for {}; {ended} session(s) and API token(s) ended",
                    u.email
                );
            }
            UserCommand::TransferOwnership { to } => {
                let owner = people::list_users(&db)
                    .await
                    .map_err(err)?
                    .into_iter()
                    .find(|u| u.role == Role::Owner)
                    .ok_or("the instance has no Owner")?;
                let target = user_by_email(&db, to).await?;
                people::transfer_ownership(&db, &owner.id, &target.id)
                    .await
                    .map_err(err)?;
                audit(
                    &db,
                    AuditEvent::new("user.transfer_ownership", "people").target("user", &target.id),
                )
                .await?;
                println!(
                    "{} is now the Owner; {} is a full-access Administrator",
                    target.email, owner.email
                );
            }
        },
        AdminCommand::Group { command } => match command {
            GroupCommand::Create { name } => {
                let g = people::create_group(&db, name, now).await.map_err(err)?;
                audit(&db, AuditEvent::new("group.create", "people").target("group", &g.id)).await?;
                println!("{}", g.id);
            }
            GroupCommand::List => {
                let users = people::list_users(&db).await.map_err(err)?;
                for g in people::list_groups(&db).await.map_err(err)? {
                    let emails: Vec<&str> = g
                        .members
                        .iter()
                        .filter_map(|m| users.iter().find(|u| &u.id == m).map(|u| u.email.as_str()))
                        .collect();
                    println!("{}\t{}\t{}", g.id, g.name, emails.join(","));
                }
            }
            GroupCommand::AddMember { group, email } | GroupCommand::RemoveMember { group, email } => {
                let g = people::find_group_by_name(&db, group).await.map_err(err)?;
                let u = user_by_email(&db, email).await?;
                let add = matches!(command, GroupCommand::AddMember { .. });
                if add {
                    people::add_group_member(&db, &g.id, &u.id).await.map_err(err)?;
                } else {
                    people::remove_group_member(&db, &g.id, &u.id).await.map_err(err)?;
                }
                let action = if add { "group.member.add" } else { "group.member.remove" };
                audit(
                    &db,
                    AuditEvent::new(action, "people")
                        .target("group", &g.id)
                        .details(serde_json::json!({"user_id": u.id})),
                )
                .await?;
            }
            GroupCommand::Delete { name } => {
                let g = people::find_group_by_name(&db, name).await.map_err(err)?;
                people::delete_group(&db, &g.id).await.map_err(err)?;
                audit(&db, AuditEvent::new("group.delete", "people").target("group", &g.id)).await?;
            }
        },
        AdminCommand::Secret { command } => secret(&db, &ring, command, now).await?,
    }
    Ok(())
}
