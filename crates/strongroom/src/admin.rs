//! `strongroom admin …`: account management straight on the database.

use clap::Subcommand;
use secrecy::SecretString;
use std::io::Read;
use strongroom_core::audit::{AuditAction, AuditEvent};
use strongroom_core::{Clock, Module, ModuleSet, Role, SystemClock};
use strongroom_server::config::Config;
use strongroom_store::encryption::KeyRing;
use strongroom_store::people::{self, NewUser, UserPatch};
use strongroom_store::{Change, Db, secrets};

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

/// An audit event for a CLI action: the actor is the person at the console.
fn at_console(e: AuditEvent) -> AuditEvent {
    AuditEvent {
        actor_email: Some("cli".into()),
        ..e
    }
}

/// Records an audit event that changes nothing else (a job started or finished).
pub(crate) async fn audit(db: &Db, e: AuditEvent) -> Result<(), String> {
    strongroom_store::audit::record(db, &at_console(e), SystemClock.now_ms())
        .await
        .map_err(|e| e.to_string())
}

/// Starts a change made at the console.
async fn change(db: &Db) -> Result<Change, String> {
    Change::begin(db, SystemClock.now_ms()).await.map_err(|e| e.to_string())
}

/// Commits a console change together with its audit event.
async fn commit(c: Change, e: AuditEvent) -> Result<(), String> {
    c.commit(&at_console(e)).await.map_err(|e| e.to_string())
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

async fn secret(db: &Db, ring: &KeyRing, cmd: &SecretCommand) -> Result<(), String> {
    let err = |e: strongroom_store::StoreError| e.to_string();
    let (c, action, name) = match cmd {
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
            let value = read_secret_value()?;
            let mut c = change(db).await?;
            secrets::put(&mut c, ring, name, &value).await.map_err(err)?;
            (c, AuditAction::SecretSet, name)
        }
        SecretCommand::Delete { name } => {
            let mut c = change(db).await?;
            if !secrets::delete(&mut c, name).await.map_err(err)? {
                return Err(format!("no secret named {name}"));
            }
            (c, AuditAction::SecretDelete, name)
        }
    };
    commit(c, AuditEvent::new(action).target("secret", name)).await?;
    eprintln!(
        "{} {name}",
        if action == AuditAction::SecretSet {
            "stored"
        } else {
            "deleted"
        }
    );
    Ok(())
}

pub async fn run(cfg: &Config, cmd: &AdminCommand) -> Result<(), String> {
    let (db, ring) = strongroom_server::open_database(cfg).await?;
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
                let mut c = change(&db).await?;
                let u = people::create_user(
                    &mut c,
                    NewUser {
                        email,
                        display_name,
                        role,
                        modules,
                        password_hash: hash,
                    },
                )
                .await
                .map_err(err)?;
                let details = serde_json::json!({"email": u.email, "role": u.role, "admin_modules": u.admin_modules});
                commit(
                    c,
                    AuditEvent::new(AuditAction::UserCreate)
                        .target("user", &u.id)
                        .details(details),
                )
                .await?;
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
                let mut c = change(&db).await?;
                people::update_user(
                    &mut c,
                    &u.id,
                    UserPatch {
                        active: Some(active),
                        ..Default::default()
                    },
                )
                .await
                .map_err(err)?;
                let details = serde_json::json!({"changed": {"active": {"from": u.active, "to": active}}});
                commit(
                    c,
                    AuditEvent::new(AuditAction::UserUpdate)
                        .target("user", &u.id)
                        .details(details),
                )
                .await?;
                println!("{} {}", u.email, if active { "enabled" } else { "disabled" });
            }
            UserCommand::SetPassword { email } => {
                let u = user_by_email(&db, email).await?;
                let h = strongroom_auth::password::hash(read_password()?)
                    .await
                    .map_err(|e| e.to_string())?;
                let mut c = change(&db).await?;
                let ended = people::change_password(&mut c, &u.id, &h, people::KeepSignIn::default())
                    .await
                    .map_err(err)?;
                let details = serde_json::json!({"sign_ins_ended": ended});
                commit(
                    c,
                    AuditEvent::new(AuditAction::PasswordReset)
                        .target("user", &u.id)
                        .details(details),
                )
                .await?;
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
                let mut c = change(&db).await?;
                people::transfer_ownership(&mut c, &owner.id, &target.id)
                    .await
                    .map_err(err)?;
                let details = serde_json::json!({"from": owner.id});
                commit(
                    c,
                    AuditEvent::new(AuditAction::TransferOwnership)
                        .target("user", &target.id)
                        .details(details),
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
                let mut c = change(&db).await?;
                let g = people::create_group(&mut c, name).await.map_err(err)?;
                let details = serde_json::json!({"name": g.name});
                commit(
                    c,
                    AuditEvent::new(AuditAction::GroupCreate)
                        .target("group", &g.id)
                        .details(details),
                )
                .await?;
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
                let mut c = change(&db).await?;
                let action = if add {
                    people::add_group_member(&mut c, &g.id, &u.id).await.map_err(err)?;
                    AuditAction::GroupMemberAdd
                } else {
                    people::remove_group_member(&mut c, &g.id, &u.id).await.map_err(err)?;
                    AuditAction::GroupMemberRemove
                };
                let details = serde_json::json!({"user_id": u.id});
                commit(c, AuditEvent::new(action).target("group", &g.id).details(details)).await?;
            }
            GroupCommand::Delete { name } => {
                let g = people::find_group_by_name(&db, name).await.map_err(err)?;
                let mut c = change(&db).await?;
                people::delete_group(&mut c, &g.id).await.map_err(err)?;
                let details = serde_json::json!({"name": g.name});
                commit(
                    c,
                    AuditEvent::new(AuditAction::GroupDelete)
                        .target("group", &g.id)
                        .details(details),
                )
                .await?;
            }
        },
        AdminCommand::Secret { command } => secret(&db, &ring, command).await?,
    }
    Ok(())
}
