//! Outgoing mail over SMTP (STARTTLS, TLS, or plain to a relay on this host), and what
//! Strongroom sends: password-reset links and notices of a sign-in from a new device. The
//! SMTP password is a sealed secret (`strongroom admin secret set mail.smtp.password`), never
//! a setting in clear.

use crate::{Caller, Error, Operator, Result, Service};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use strongroom_auth::token;
use strongroom_core::audit::{AuditAction, RequestOrigin};
use strongroom_core::{Action, Resource, Role, authorize};
use strongroom_store::password_resets;
use strongroom_store::people::{self, User};

/// The setting's name in the database.
const MAIL: &str = "mail";
/// The sealed secret holding the SMTP password.
pub const PASSWORD_SECRET: &str = "mail.smtp.password";
/// How long a reset link works.
pub const RESET_MS: i64 = 30 * 60_000;

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MailSecurity {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only to a relay on this host (`localhost`, `127.0.0.1`, `::1`).
    None,
}

/// Outgoing mail (administrators of settings).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// The SMTP server; empty: mail is off.
    pub host: String,
    /// 0: the usual port for `security` (587, 465, 25).
    pub port: u16,
    pub security: MailSecurity,
    /// Empty: no authentication. The password is the sealed secret `mail.smtp.password`.
    pub username: String,
    /// The sender, e.g. `Strongroom <strongroom@example.org>`.
    pub from: String,
}

impl MailSettings {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.host.is_empty() {
            return Ok(());
        }
        if self.host.len() > 253
            || self
                .host
                .contains(|c: char| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err("host must be a host name or an address".into());
        }
        self.from
            .parse::<Mailbox>()
            .map_err(|e| format!("from must be an address such as \"Strongroom <strongroom@example.org>\": {e}"))?;
        let local = matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "::1" | "[::1]");
        if self.security == MailSecurity::None && !local {
            return Err("security \"none\" sends in clear: it is allowed only to a relay on this host".into());
        }
        Ok(())
    }

    fn port(&self) -> u16 {
        match (self.port, self.security) {
            (0, MailSecurity::Starttls) => 587,
            (0, MailSecurity::Tls) => 465,
            (0, MailSecurity::None) => 25,
            (p, _) => p,
        }
    }
}

/// The mail settings in force (the console reads them with this).
pub async fn settings(svc: &Service) -> Result<MailSettings> {
    Ok(strongroom_store::settings::get(&svc.db, MAIL)
        .await?
        .unwrap_or_default())
}

/// The mail settings, with whether the SMTP password is set (administrators of settings).
pub async fn read_settings(svc: &Service, caller: &Caller) -> Result<(MailSettings, bool)> {
    authorize(&caller.actor, Action::ManageSettings, Resource::Instance)?;
    let password_set = strongroom_store::secrets::get(&svc.db, svc.blobs.keys(), PASSWORD_SECRET)
        .await?
        .is_some();
    Ok((settings(svc).await?, password_set))
}

/// Sets the mail settings (the Owner, or the console), audited. Mail carries password-reset
/// links: whoever picks the server could read them, and take over any account they reach,
/// so no administrator below the Owner chooses it. Moving a configured server elsewhere
/// (another host, port or account) deletes the sealed SMTP password in the same change: it
/// was given for that server, and goes to no other.
pub async fn set_settings(svc: &Service, by: Operator<'_>, s: MailSettings) -> Result<MailSettings> {
    if let Operator::User(c) = by {
        authorize(&c.actor, Action::ManageSettings, Resource::Instance)?;
        if c.actor.role != Role::Owner {
            return Err(Error::Forbidden(
                "only the Owner changes outgoing mail: it carries password-reset links".into(),
            ));
        }
    }
    s.validate().map_err(Error::Invalid)?;
    if settings(svc).await? == s {
        return Ok(s);
    }
    let mut change = svc.change_by_operator(by).await?;
    let before: MailSettings = strongroom_store::settings::put(&mut change, MAIL, &s)
        .await?
        .unwrap_or_default();
    let moved = !before.host.is_empty()
        && (before.host != s.host || before.port() != s.port() || before.username != s.username);
    let password_deleted = moved && strongroom_store::secrets::delete(&mut change, PASSWORD_SECRET).await?;
    change
        .commit(&by.event(AuditAction::MailSettingsSet).details(serde_json::json!({
            "changed": crate::settings::changed(&before, &s),
            "password_deleted": password_deleted,
        })))
        .await?;
    Ok(s)
}

/// Sends one plain-text message now.
pub(crate) async fn send(svc: &Service, to: &str, subject: &str, body: String) -> Result<()> {
    let cfg = settings(svc).await?;
    if cfg.host.is_empty() {
        return Err(Error::NotConfigured("mail"));
    }
    let failed = |e: &dyn std::fmt::Display| Error::Mail(e.to_string());
    let builder = match cfg.security {
        MailSecurity::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host).map_err(|e| failed(&e))?
        }
        MailSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host).map_err(|e| failed(&e))?,
        MailSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
    };
    let mut builder = builder
        .port(cfg.port())
        .timeout(Some(std::time::Duration::from_secs(20)));
    if !cfg.username.is_empty() {
        let password = strongroom_store::secrets::get(&svc.db, svc.blobs.keys(), PASSWORD_SECRET)
            .await?
            .ok_or(Error::NotConfigured(
                "the SMTP password (strongroom admin secret set mail.smtp.password)",
            ))?;
        let password = String::from_utf8(password.to_vec()).map_err(|_| failed(&"the SMTP password is not UTF-8"))?;
        builder = builder.credentials(Credentials::new(cfg.username.clone(), password));
    }
    let message = Message::builder()
        .from(cfg.from.parse().map_err(|e| failed(&e))?)
        .to(to.parse().map_err(|e| failed(&e))?)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| failed(&e))?;
    builder.build().send(message).await.map_err(|e| failed(&e))?;
    Ok(())
}

/// Counts a request that sends mail to `email` (for `purpose`) under the brute-force limit,
/// per mailbox and per (mailbox, client address): false once a limit is reached, and
/// nothing is to be sent.
pub(crate) async fn counted(svc: &Service, purpose: &str, email: &str, origin: &RequestOrigin) -> Result<bool> {
    let rules = crate::settings::sign_in_rules(svc).await?;
    let key = token::hash(&format!("{purpose}:{}", crate::account::typed_email(email)));
    let address = crate::account::address_key(origin.ip.as_deref());
    Ok(
        strongroom_store::throttle::begin_attempt(&svc.db, &key, &address, rules.limits(), svc.now())
            .await?
            .is_ok(),
    )
}

/// Counts a mail about to go out at a client's request, over every mailbox: ten times the
/// sign-in limit a period, so one client cannot mail a million addresses through us. Charged
/// last, only for a mail really sent (requests that send nothing cost nothing, so a few
/// junk requests from behind an office's address do not stop its people's resets).
pub(crate) async fn counted_client(svc: &Service, origin: &RequestOrigin) -> Result<bool> {
    let mut limits = crate::settings::sign_in_rules(svc).await?.limits();
    limits.per_address *= 10;
    limits.per_account = limits.per_address;
    let address = crate::account::address_key(origin.ip.as_deref());
    let client = token::hash(&format!("mail-from:{address}"));
    Ok(
        strongroom_store::throttle::begin_attempt(&svc.db, &client, &address, limits, svc.now())
            .await?
            .is_ok(),
    )
}

/// Requests answered before their work is done that may be worked on at once, for each
/// kind (so a flood of sign-up requests cannot crowd out resets); past that, a request is
/// dropped (and logged), so a flood queues no unbounded work behind the database.
pub(crate) static RESETS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(32);
pub(crate) static SIGN_UPS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(32);
pub(crate) static NOTICES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(32);

/// Runs `work` in the background if one of `places` is free, else drops it with a warning.
pub(crate) fn in_background(
    places: &'static tokio::sync::Semaphore,
    what: &'static str,
    work: impl Future<Output = Result<()>> + Send + 'static,
) {
    let Ok(permit) = places.try_acquire() else {
        tracing::warn!("too many {what} requests at once: one was dropped");
        return;
    };
    tokio::spawn(async move {
        if let Err(e) = work.await {
            tracing::warn!(error = %e, "a {what} request failed");
        }
        drop(permit);
    });
}

/// Asks for a password-reset link by e-mail. Answered at once and alike for every address:
/// whether it is an active account's, whether mail is on (else the log says nothing was
/// sent) and whether the brute-force limit lets one more request through (so a mailbox
/// cannot be flooded) is decided in the background, where no answer or timing tells it.
pub fn request_password_reset(svc: &Service, email: &str, origin: &RequestOrigin) {
    let (svc, email, origin) = (svc.clone(), email.to_string(), origin.clone());
    in_background(&RESETS, "password-reset", async move {
        send_password_reset(&svc, &email, &origin).await
    });
}

async fn send_password_reset(svc: &Service, email: &str, origin: &RequestOrigin) -> Result<()> {
    if settings(svc).await?.host.is_empty() {
        tracing::warn!("a password reset was asked for, but mail is not configured: nothing is sent");
        return Ok(());
    }
    if !counted(svc, "reset", email, origin).await? {
        return Ok(());
    }
    let found = people::find_by_email(&svc.db, email).await?;
    // The Owner recovers at the console (`strongroom admin user set-password`), never by
    // mail: a mailbox is a weaker lock than the instance itself.
    let Some((user, _)) = found.filter(|(u, _)| u.active && u.role != Role::Owner) else {
        return Ok(());
    };
    if !counted_client(svc, origin).await? {
        return Ok(());
    }
    let (secret, hash) = token::generate(token::Kind::Reset);
    let mut change = svc.change().await?;
    let expires_at = change.now() + RESET_MS;
    password_resets::create(&mut change, &hash, &user.id, expires_at).await?;
    change
        .commit(
            &strongroom_core::audit::AuditEvent::new(AuditAction::PasswordResetRequest)
                .target("user", &user.id)
                .from_origin(origin),
        )
        .await?;
    let body = format!(
        "Someone asked to reset the password of your Strongroom account {email}.\n\n\
         To choose a new password, open this link within 30 minutes (it works once):\n\n  {link}\n\n\
         If it was not you, ignore this message: your password stays as it is.\n\
         The request came from {ip}.\n",
        email = user.email,
        link = crate::invitations::link(svc, "reset-password", &secret),
        ip = origin.ip.as_deref().unwrap_or("an unknown address"),
    );
    send(svc, &user.email, "Reset your Strongroom password", body).await
}

/// Sets a new password with a reset link: the link is spent, every session and API token of
/// the person ends, and their sign-in blocks are lifted (they proved their mailbox). A
/// password the policy refuses leaves the link usable.
pub async fn reset_password(svc: &Service, secret: &str, password: SecretString, origin: &RequestOrigin) -> Result<()> {
    let hash = token::hash(secret);
    let invalid = || Error::invalid("the reset link is invalid, used or expired: ask for a new one");
    let user_id = password_resets::peek(&svc.db, &hash, svc.now())
        .await?
        .ok_or_else(invalid)?;
    let user = people::get_user(&svc.db, &user_id).await?;
    if !user.active || user.role == Role::Owner {
        return Err(invalid());
    }
    crate::settings::check_password(svc, &password, &[&user.email, &user.display_name]).await?;
    let new_hash = strongroom_auth::password::hash(password).await?;
    let mut change = svc.change().await?;
    if !password_resets::take(&mut change, &hash, &user.id).await? {
        return Err(invalid());
    }
    let none = people::KeepSignIn {
        session_hash: None,
        token_hash: None,
    };
    let ended = people::change_password(&mut change, &user.id, &new_hash, none).await?;
    strongroom_store::throttle::unlock(&mut change, &crate::account::attempt_key(&user.email)).await?;
    change
        .commit(
            &strongroom_core::audit::AuditEvent::new(AuditAction::PasswordReset)
                .target("user", &user.id)
                .from_origin(origin)
                .details(serde_json::json!({"via": "reset_link", "sign_ins_ended": ended})),
        )
        .await?;
    Ok(())
}

/// Tells a person something about their account by e-mail, in the background, when mail is
/// on (a failure is logged: the change it tells of is done either way).
pub(crate) async fn notice(svc: &Service, user: &User, subject: &'static str, body: String) {
    match settings(svc).await {
        Ok(cfg) if !cfg.host.is_empty() => {
            let (svc, to) = (svc.clone(), user.email.clone());
            in_background(&NOTICES, "account notice", async move {
                send(&svc, &to, subject, body).await
            });
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "an account notice could not be prepared"),
    }
}

/// Tells a person of a sign-in from a browser and platform their account never signed in
/// from before (not at their first sign-in), when mail is on.
pub(crate) async fn notice_new_device(svc: &Service, user: &User, origin: &RequestOrigin) -> Result<()> {
    if settings(svc).await?.host.is_empty() {
        return Ok(());
    }
    let (browser, platform) = crate::device::describe(origin.user_agent.as_deref());
    let seen = strongroom_store::login_history::device_seen(&svc.db, &user.id, browser, platform).await?;
    if !seen.new_device || seen.first_sign_in {
        return Ok(());
    }
    let body = format!(
        "Your Strongroom account {email} was signed in to from a device it was not used from before:\n\n  \
         {browser} on {platform}, from {ip}\n\n\
         If it was you, there is nothing to do. If not, change your password now and end that session \
         under your account's active sessions.\n",
        email = user.email,
        ip = origin.ip.as_deref().unwrap_or("an unknown address"),
    );
    let (svc, to) = (svc.clone(), user.email.clone());
    in_background(&NOTICES, "new-device notice", async move {
        send(&svc, &to, "New sign-in to your Strongroom account", body).await
    });
    Ok(())
}
