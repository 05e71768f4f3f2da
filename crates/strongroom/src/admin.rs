//! `strongroom admin …`: people administration at the console, through the same use cases as
//! the API (as the console operator, bound by no rank), and the secrets kept in the database.

use clap::Subcommand;
use secrecy::SecretString;
use std::io::Read;
use strongroom_core::audit::{AuditAction, AuditEvent};
use strongroom_core::{Clock, Module, Role, SystemClock};
use strongroom_server::config::Config;
use strongroom_service::people::{self, NewPerson, PersonUpdate};
use strongroom_service::settings as service_settings;
use strongroom_service::sign_in;
use strongroom_service::{Operator, Service};
use strongroom_store::encryption::KeyRing;
use strongroom_store::people as store_people;
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
    /// Instance settings (the same ones as `/api/v1/settings/…`).
    Settings {
        #[command(subcommand)]
        command: SettingsCommand,
    },
    /// Secrets kept in the database, sealed under the master key when encryption at rest is
    /// on (for example `storage.s3.secret_access_key`).
    Secret {
        #[command(subcommand)]
        command: SecretCommand,
    },
}

#[derive(Subcommand)]
pub enum SettingsCommand {
    /// Print the password policy as JSON, or change the rules given (the others stay).
    PasswordPolicy {
        /// Fewest characters (10 to 1024).
        #[arg(long)]
        min_length: Option<usize>,
        /// Most characters (min-length to 1024).
        #[arg(long)]
        max_length: Option<usize>,
        #[arg(long)]
        require_uppercase: Option<bool>,
        #[arg(long)]
        require_lowercase: Option<bool>,
        #[arg(long)]
        require_digit: Option<bool>,
        /// A character that is neither a letter nor a digit (a space counts).
        #[arg(long)]
        require_special: Option<bool>,
        /// zxcvbn score 0 (off) to 4.
        #[arg(long)]
        min_strength: Option<u8>,
    },
    /// Print the outgoing mail settings as JSON, or change the fields given (the others stay).
    /// The SMTP password is the sealed secret `mail.smtp.password` (`admin secret set`).
    Mail {
        /// The SMTP server ("" turns mail off).
        #[arg(long)]
        host: Option<String>,
        /// 0: 587 for starttls, 465 for tls, 25 for none.
        #[arg(long)]
        port: Option<u16>,
        /// starttls, tls, or none (only to a relay on this host).
        #[arg(long)]
        security: Option<String>,
        #[arg(long)]
        username: Option<String>,
        /// The sender, e.g. "Strongroom <strongroom@example.org>".
        #[arg(long)]
        from: Option<String>,
    },
    /// Print the sign-in rules as JSON, or change the rules given (the others stay).
    SignIn {
        /// Wrong attempts one account may take from one address in a period (1 to 100).
        #[arg(long)]
        max_attempts: Option<u32>,
        /// Wrong attempts one account may take from all addresses in a period.
        #[arg(long)]
        max_attempts_per_account: Option<u32>,
        #[arg(long)]
        attempt_period_minutes: Option<u32>,
        #[arg(long)]
        block_minutes: Option<u32>,
        #[arg(long)]
        session_hours: Option<u32>,
        /// 0: sessions never end for being unused.
        #[arg(long)]
        idle_minutes: Option<u32>,
        #[arg(long)]
        login_history_days: Option<u32>,
        /// Comma-separated addresses or CIDR ranges everyone must come from ("" for any).
        #[arg(long)]
        allowed_addresses: Option<String>,
        /// Comma-separated addresses or CIDR ranges administrators must also come from.
        #[arg(long)]
        admin_allowed_addresses: Option<String>,
    },
    /// Print the upload limits as JSON, or change those given.
    Uploads {
        /// Uploads one person (or link) may have going at once, per server process (1 to 64).
        #[arg(long)]
        max_concurrent_uploads: Option<u32>,
        /// MiB the versions a person uploaded may take in all (0: no quota).
        #[arg(long)]
        user_quota_mib: Option<u64>,
        /// MiB the versions in one room may take in all (0: no quota).
        #[arg(long)]
        room_quota_mib: Option<u64>,
    },
    /// Print the self-sign-up and invitation settings as JSON, or change those given.
    SignUp {
        /// off, trusted_domains or any.
        #[arg(long)]
        self_sign_up: Option<String>,
        /// Comma-separated mail domains whose people may sign up themselves ("" for none).
        #[arg(long)]
        trusted_domains: Option<String>,
        /// The role a self-signed-up account gets: guest or user.
        #[arg(long)]
        role: Option<String>,
        /// Days an invitation works (1 to 30).
        #[arg(long)]
        invitation_days: Option<u32>,
    },
    /// Print the second-factor rules as JSON, or change those given.
    SecondFactor {
        /// Who must have a second factor: none, administrators (the Owner and
        /// Administrators) or everyone; or a comma-separated list of roles.
        #[arg(long)]
        require: Option<String>,
        /// Comma-separated names of groups whose members must have one ("" for none).
        #[arg(long)]
        require_groups: Option<String>,
        /// Comma-separated methods people may enrol: totp, sms, passkey.
        #[arg(long)]
        methods: Option<String>,
        /// Minutes a factor given lets a session make sensitive changes (1 to 60).
        #[arg(long)]
        step_up_minutes: Option<u32>,
        /// Whether passkeys may sign people in without a password (true or false).
        #[arg(long)]
        passwordless: Option<bool>,
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
        /// For admin (required): comma-separated modules (documents,people,settings,audit), or
        /// all for a full Administrator.
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
    /// Lift the block on a user's sign-in after too many failed attempts.
    Unlock { email: String },
    /// End every browser session of a user.
    SignOut { email: String },
    /// Remove every second factor and backup code of a user who lost theirs (they are told
    /// by e-mail, and enrol again at their next sign-in if the rules require it).
    ResetSecondFactors { email: String },
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

/// `--modules`: a comma-separated list, or `all`.
fn parse_modules(s: &str) -> Result<Vec<Module>, String> {
    if s.trim() == "all" {
        return Ok(Module::ALL.to_vec());
    }
    let modules: Vec<Module> = s
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| {
            Module::parse(m)
                .ok_or_else(|| format!("unknown module {m:?}: use documents, people, settings, audit (or all)"))
        })
        .collect::<Result<_, _>>()?;
    if modules.is_empty() {
        return Err("--modules names no module: give documents, people, settings, audit (or all)".into());
    }
    Ok(modules)
}

async fn user_by_email(db: &Db, email: &str) -> Result<store_people::User, String> {
    store_people::find_by_email(db, email)
        .await
        .map_err(|e| e.to_string())?
        .map(|(u, _)| u)
        .ok_or_else(|| format!("no user with e-mail {email}"))
}

/// Records an audit event that changes nothing else (a job started or finished).
pub(crate) async fn audit(db: &Db, e: AuditEvent) -> Result<(), String> {
    strongroom_store::audit::record(db, &e.by_console(), SystemClock.now_ms())
        .await
        .map_err(|e| e.to_string())
}

/// Starts a change made at the console.
async fn change(db: &Db) -> Result<Change, String> {
    Change::begin(db, SystemClock.now_ms()).await.map_err(|e| e.to_string())
}

/// Commits a console change together with its audit event.
async fn commit(c: Change, e: AuditEvent) -> Result<(), String> {
    c.commit(&e.by_console()).await.map_err(|e| e.to_string())
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
    match cmd {
        AdminCommand::User { command } => user(&strongroom_server::open_service(cfg).await?, command).await,
        AdminCommand::Group { command } => group(&strongroom_server::open_service(cfg).await?, command).await,
        AdminCommand::Settings { command } => settings(&strongroom_server::open_service(cfg).await?, command).await,
        AdminCommand::Secret { command } => {
            let (db, ring) = strongroom_server::open_database(cfg).await?;
            secret(&db, &ring, command).await
        }
    }
}

/// A use case's refusal as the console says it.
fn err(e: strongroom_service::Error) -> String {
    e.to_string()
}

async fn user(svc: &Service, command: &UserCommand) -> Result<(), String> {
    match command {
        UserCommand::Create {
            email,
            role,
            display_name,
            modules,
            password_stdin,
        } => {
            let role =
                Role::parse(role).ok_or_else(|| format!("unknown role {role:?}: use owner, admin, user or guest"))?;
            let modules = modules.as_deref().map(parse_modules).transpose()?;
            if role == Role::Admin && modules.is_none() {
                return Err(
                    "an Administrator needs --modules: the modules they administer (documents,people,settings,audit), \
                     or all for a full Administrator"
                        .into(),
                );
            }
            let password = if *password_stdin { Some(read_password()?) } else { None };
            let new = NewPerson {
                email,
                display_name,
                role,
                admin_modules: modules.as_deref(),
                password,
            };
            let u = people::create_user(svc, Operator::Console, new).await.map_err(err)?;
            println!("{}", u.id);
        }
        UserCommand::List { json } => {
            let users = store_people::list_users(&svc.db).await.map_err(|e| e.to_string())?;
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
            let u = user_by_email(&svc.db, email).await?;
            let update = PersonUpdate {
                active: Some(active),
                ..Default::default()
            };
            people::update_user(svc, Operator::Console, &u.id, update)
                .await
                .map_err(err)?;
            println!("{} {}", u.email, if active { "enabled" } else { "disabled" });
        }
        UserCommand::SetPassword { email } => {
            let u = user_by_email(&svc.db, email).await?;
            let update = PersonUpdate {
                password: Some(read_password()?),
                ..Default::default()
            };
            people::update_user(svc, Operator::Console, &u.id, update)
                .await
                .map_err(err)?;
            println!(
                "password set for {}; every session and API token of theirs ended",
                u.email
            );
        }
        UserCommand::Unlock { email } => {
            let u = user_by_email(&svc.db, email).await?;
            sign_in::unlock(svc, Operator::Console, &u.id).await.map_err(err)?;
            println!("{} may sign in again", u.email);
        }
        UserCommand::ResetSecondFactors { email } => {
            let u = user_by_email(&svc.db, email).await?;
            let n = strongroom_service::second_factor::enrol::reset(svc, Operator::Console, &u.id)
                .await
                .map_err(err)?;
            println!("{n} second factors of {} removed, and their backup codes", u.email);
        }
        UserCommand::SignOut { email } => {
            let u = user_by_email(&svc.db, email).await?;
            let ended = sign_in::end_sessions(svc, Operator::Console, &u.id, None)
                .await
                .map_err(err)?;
            println!("{} sessions of {} ended", ended.len(), u.email);
        }
        UserCommand::TransferOwnership { to } => {
            let target = user_by_email(&svc.db, to).await?;
            people::transfer_ownership(svc, Operator::Console, &target.id)
                .await
                .map_err(err)?;
            println!(
                "{} is now the Owner; the former Owner is a full-access Administrator",
                target.email
            );
        }
    }
    Ok(())
}

async fn settings(svc: &Service, command: &SettingsCommand) -> Result<(), String> {
    match command {
        SettingsCommand::PasswordPolicy {
            min_length,
            max_length,
            require_uppercase,
            require_lowercase,
            require_digit,
            require_special,
            min_strength,
        } => {
            let mut policy = service_settings::password_policy(svc).await.map_err(err)?;
            let before = policy.clone();
            policy.min_length = min_length.unwrap_or(policy.min_length);
            policy.max_length = max_length.unwrap_or(policy.max_length);
            policy.require_uppercase = require_uppercase.unwrap_or(policy.require_uppercase);
            policy.require_lowercase = require_lowercase.unwrap_or(policy.require_lowercase);
            policy.require_digit = require_digit.unwrap_or(policy.require_digit);
            policy.require_special = require_special.unwrap_or(policy.require_special);
            policy.min_strength = min_strength.unwrap_or(policy.min_strength);
            if policy != before {
                policy = service_settings::set_password_policy(svc, Operator::Console, policy)
                    .await
                    .map_err(err)?;
            }
            println!("{}", serde_json::to_string_pretty(&policy).map_err(|e| e.to_string())?);
        }
        SettingsCommand::Mail {
            host,
            port,
            security,
            username,
            from,
        } => {
            let mut s = strongroom_service::mail::settings(svc).await.map_err(err)?;
            let before = s.clone();
            s.host = host.clone().unwrap_or(s.host);
            s.port = port.unwrap_or(s.port);
            if let Some(sec) = security {
                s.security = serde_json::from_value(serde_json::Value::String(sec.clone()))
                    .map_err(|_| format!("--security must be starttls, tls or none, not {sec:?}"))?;
            }
            s.username = username.clone().unwrap_or(s.username);
            s.from = from.clone().unwrap_or(s.from);
            if s != before {
                s = strongroom_service::mail::set_settings(svc, Operator::Console, s)
                    .await
                    .map_err(err)?;
            }
            println!("{}", serde_json::to_string_pretty(&s).map_err(|e| e.to_string())?);
        }
        SettingsCommand::SignIn {
            max_attempts,
            max_attempts_per_account,
            attempt_period_minutes,
            block_minutes,
            session_hours,
            idle_minutes,
            login_history_days,
            allowed_addresses,
            admin_allowed_addresses,
        } => {
            let list = |s: &str| -> Vec<String> {
                s.split(',')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(String::from)
                    .collect()
            };
            let mut rules = service_settings::sign_in_rules(svc).await.map_err(err)?;
            let before = rules.clone();
            rules.max_attempts = max_attempts.unwrap_or(rules.max_attempts);
            rules.max_attempts_per_account = max_attempts_per_account.unwrap_or(rules.max_attempts_per_account);
            rules.attempt_period_minutes = attempt_period_minutes.unwrap_or(rules.attempt_period_minutes);
            rules.block_minutes = block_minutes.unwrap_or(rules.block_minutes);
            rules.session_hours = session_hours.unwrap_or(rules.session_hours);
            rules.idle_minutes = idle_minutes.unwrap_or(rules.idle_minutes);
            rules.login_history_days = login_history_days.unwrap_or(rules.login_history_days);
            if let Some(a) = allowed_addresses {
                rules.allowed_addresses = list(a);
            }
            if let Some(a) = admin_allowed_addresses {
                rules.admin_allowed_addresses = list(a);
            }
            if rules != before {
                rules = service_settings::set_sign_in_rules(svc, Operator::Console, rules)
                    .await
                    .map_err(err)?;
            }
            println!("{}", serde_json::to_string_pretty(&rules).map_err(|e| e.to_string())?);
        }
        SettingsCommand::Uploads {
            max_concurrent_uploads,
            user_quota_mib,
            room_quota_mib,
        } => {
            use strongroom_service::uploads;
            let mut l = uploads::limits(svc).await.map_err(err)?;
            let before = l.clone();
            l.max_concurrent_uploads = max_concurrent_uploads.unwrap_or(l.max_concurrent_uploads);
            l.user_quota_mib = user_quota_mib.unwrap_or(l.user_quota_mib);
            l.room_quota_mib = room_quota_mib.unwrap_or(l.room_quota_mib);
            if l != before {
                l = uploads::set_limits(svc, Operator::Console, l).await.map_err(err)?;
            }
            println!("{}", serde_json::to_string_pretty(&l).map_err(|e| e.to_string())?);
        }
        SettingsCommand::SignUp {
            self_sign_up,
            trusted_domains,
            role,
            invitation_days,
        } => {
            use strongroom_service::invitations;
            let mut s = invitations::settings(svc).await.map_err(err)?;
            let before = s.clone();
            if let Some(m) = self_sign_up {
                s.self_sign_up = serde_json::from_value(serde_json::Value::String(m.clone()))
                    .map_err(|_| format!("--self-sign-up must be off, trusted_domains or any, not {m:?}"))?;
            }
            if let Some(d) = trusted_domains {
                s.trusted_domains = d
                    .split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(String::from)
                    .collect();
            }
            if let Some(r) = role {
                s.role = Role::parse(r).ok_or_else(|| format!("--role must be guest or user, not {r:?}"))?;
            }
            s.invitation_days = invitation_days.unwrap_or(s.invitation_days);
            if s != before {
                s = invitations::set_settings(svc, Operator::Console, s)
                    .await
                    .map_err(err)?;
            }
            println!("{}", serde_json::to_string_pretty(&s).map_err(|e| e.to_string())?);
        }
        SettingsCommand::SecondFactor {
            require,
            require_groups,
            methods,
            step_up_minutes,
            passwordless,
        } => {
            use strongroom_service::second_factor;
            let mut r = second_factor::rules(svc).await.map_err(err)?;
            let before = r.clone();
            let list = |v: &str| -> Vec<String> {
                v.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(String::from)
                    .collect()
            };
            if let Some(req) = require {
                r.required_roles = match req.as_str() {
                    "none" => vec![],
                    "administrators" => vec![Role::Owner, Role::Admin],
                    "everyone" => vec![Role::Owner, Role::Admin, Role::User, Role::Guest],
                    other => list(other)
                        .iter()
                        .map(|x| Role::parse(x).ok_or_else(|| format!("--require: {x:?} is not a role")))
                        .collect::<Result<_, _>>()?,
                };
            }
            if let Some(g) = require_groups {
                let mut ids = Vec::new();
                for name in list(g) {
                    ids.push(
                        strongroom_store::people::find_group_by_name(&svc.db, &name)
                            .await
                            .map_err(|e| format!("--require-groups: {name:?}: {e}"))?
                            .id,
                    );
                }
                r.required_groups = ids;
            }
            if let Some(m) = methods {
                r.methods = list(m)
                    .iter()
                    .map(|x| {
                        serde_json::from_value(serde_json::Value::String(x.clone()))
                            .map_err(|_| format!("--methods: {x:?} is not totp, sms or passkey"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            r.step_up_minutes = step_up_minutes.unwrap_or(r.step_up_minutes);
            r.passwordless = passwordless.unwrap_or(r.passwordless);
            if r != before {
                r = second_factor::set_rules(svc, Operator::Console, r).await.map_err(err)?;
            }
            println!("{}", serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?);
        }
    }
    Ok(())
}

async fn group(svc: &Service, command: &GroupCommand) -> Result<(), String> {
    let find = |name: &str| {
        let db = svc.db.clone();
        let name = name.to_string();
        async move {
            store_people::find_group_by_name(&db, &name)
                .await
                .map_err(|e| e.to_string())
        }
    };
    match command {
        GroupCommand::Create { name } => {
            let g = people::create_group(svc, Operator::Console, name).await.map_err(err)?;
            println!("{}", g.id);
        }
        GroupCommand::List => {
            let users = store_people::list_users(&svc.db).await.map_err(|e| e.to_string())?;
            for g in store_people::list_groups(&svc.db).await.map_err(|e| e.to_string())? {
                let emails: Vec<&str> = g
                    .members
                    .iter()
                    .filter_map(|m| users.iter().find(|u| &u.id == m).map(|u| u.email.as_str()))
                    .collect();
                println!("{}\t{}\t{}", g.id, g.name, emails.join(","));
            }
        }
        GroupCommand::AddMember { group, email } | GroupCommand::RemoveMember { group, email } => {
            let g = find(group).await?;
            let u = user_by_email(&svc.db, email).await?;
            let add = matches!(command, GroupCommand::AddMember { .. });
            people::set_group_member(svc, Operator::Console, &g.id, &u.id, add)
                .await
                .map_err(err)?;
        }
        GroupCommand::Delete { name } => {
            let g = find(name).await?;
            people::delete_group(svc, Operator::Console, &g.id).await.map_err(err)?;
        }
    }
    Ok(())
}
