//! Text messages: the SMS provider an administrator sets up (Twilio, Clickatell or SMSC;
//! `strongroom-sms` speaks each one's API), kept whole as one sealed secret, and the limit
//! on how many codes go to one person and one number.

use crate::{Caller, Error, Operator, Result, Service};
use serde::Serialize;
use std::sync::OnceLock;
use strongroom_auth::token;
use strongroom_core::audit::AuditAction;
use strongroom_core::{Action, Resource, Role, authorize};
use strongroom_sms::{Provider, SmsConfig};
use strongroom_store::people::User;
use strongroom_store::secrets;

/// The secret the provider's configuration (credentials included) is sealed under.
pub const SECRET: &str = "sms.provider";

/// The provider set up, as administrators see it: never a credential.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SmsSettings {
    /// `twilio`, `clickatell` or `smsc`; `null`: SMS is off.
    pub provider: Option<String>,
    /// Where requests go; `null`: the provider's public API.
    pub base_url: Option<String>,
    /// Twilio's Account SID or SMSC's login: who the credentials are of.
    pub account: Option<String>,
    /// The sender (number, sender ID or Twilio Messaging Service SID).
    pub sender: Option<String>,
}

fn view(cfg: Option<&SmsConfig>) -> SmsSettings {
    let Some(cfg) = cfg else {
        return SmsSettings {
            provider: None,
            base_url: None,
            account: None,
            sender: None,
        };
    };
    let (account, sender) = match &cfg.provider {
        Provider::Twilio {
            account_sid,
            from,
            messaging_service_sid,
            ..
        } => (
            Some(account_sid.clone()),
            from.clone().or(messaging_service_sid.clone()),
        ),
        Provider::Clickatell { from, .. } => (None, from.clone()),
        Provider::Smsc { login, sender, .. } => (Some(login.clone()), sender.clone()),
    };
    SmsSettings {
        provider: Some(cfg.provider.name().to_ascii_lowercase()),
        base_url: cfg.base_url.clone(),
        account,
        sender,
    }
}

async fn config(svc: &Service) -> Result<Option<SmsConfig>> {
    let Some(bytes) = secrets::get(&svc.db, svc.blobs.keys(), SECRET).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Internal(format!("the stored SMS settings are unreadable: {e}")))
}

/// Whether an SMS provider is set up.
pub async fn configured(svc: &Service) -> Result<bool> {
    Ok(config(svc).await?.is_some())
}

/// The provider set up (administrators of settings).
pub async fn read_settings(svc: &Service, caller: &Caller) -> Result<SmsSettings> {
    authorize(&caller.actor, Action::ManageSettings, Resource::Instance)?;
    Ok(view(config(svc).await?.as_ref()))
}

/// Sets up the SMS provider, or with `None` turns SMS off (the Owner with a fresh second
/// factor, or the console): whoever holds the provider account, or the base URL, reads every
/// code sent.
pub async fn set_settings(svc: &Service, by: Operator<'_>, cfg: Option<SmsConfig>) -> Result<SmsSettings> {
    if let Operator::User(c) = by {
        authorize(&c.actor, Action::ManageSettings, Resource::Instance)?;
        // Whoever holds the provider account reads every code sent through it: only the
        // Owner (or the console) chooses it.
        if c.actor.role != Role::Owner {
            return Err(Error::forbidden(
                "only the Owner (or the console) sets up the SMS provider",
            ));
        }
        crate::second_factor::require_fresh(svc, c, "changing the SMS provider").await?;
    }
    if let Some(cfg) = &cfg {
        cfg.validate().map_err(|e| Error::invalid(e.to_string()))?;
    }
    let before = view(config(svc).await?.as_ref());
    let mut change = svc.change_by_operator(by).await?;
    match &cfg {
        Some(cfg) => {
            let json = zeroize::Zeroizing::new(
                serde_json::to_vec(cfg).map_err(|e| Error::Internal(format!("SMS settings: {e}")))?,
            );
            secrets::put(&mut change, svc.blobs.keys(), SECRET, &json).await?;
        }
        None => {
            secrets::delete(&mut change, SECRET).await?;
        }
    }
    let after = view(cfg.as_ref());
    change
        .commit(&by.event(AuditAction::SmsSettingsSet).details(serde_json::json!({
            "provider": {"from": before.provider, "to": after.provider},
            "base_url": {"from": before.base_url, "to": after.base_url},
            "sender": {"from": before.sender, "to": after.sender},
        })))
        .await?;
    Ok(after)
}

fn client() -> Result<&'static reqwest::Client> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let c = strongroom_sms::client().map_err(|e| Error::Sms(e.to_string()))?;
    Ok(CLIENT.get_or_init(|| c))
}

/// Sends one message now through the provider set up.
pub(crate) async fn send(svc: &Service, to: &str, body: &str) -> Result<()> {
    let cfg = config(svc).await?.ok_or(Error::NotConfigured("SMS"))?;
    match strongroom_sms::send(client()?, &cfg, to, body).await {
        Ok(id) => {
            tracing::info!(provider = cfg.provider.name(), message_id = %id, "SMS sent");
            Ok(())
        }
        Err(e) => {
            let message = e.to_string().replace(to, &strongroom_sms::mask_phone(to));
            tracing::warn!(provider = cfg.provider.name(), error = %message, "SMS not sent");
            Err(Error::Sms(message))
        }
    }
}

/// Sends a test message (administrators of settings), to check the provider set up.
pub async fn send_test(svc: &Service, caller: &Caller, to: &str) -> Result<()> {
    authorize(&caller.actor, Action::ManageSettings, Resource::Instance)?;
    let to = strongroom_sms::normalize_phone(to).map_err(|e| Error::invalid(e.to_string()))?;
    if !crate::mail::counted_client(svc, &caller.origin).await? {
        return Err(Error::TooMany { retry_after: 60 });
    }
    send(
        svc,
        &to,
        "This is a test message from Strongroom: SMS codes will reach this phone.",
    )
    .await?;
    svc.audit(
        caller
            .event(AuditAction::SmsSettingsSet)
            .details(serde_json::json!({"test_sent_to": strongroom_sms::mask_phone(&to)})),
    )
    .await
}

/// Counts a code about to be sent to `phone` for `user`, per person and per number under
/// the brute-force limit of the sign-in rules (a number shared by several accounts is
/// limited all the same, so nobody floods a phone through us). Codes confirming a phone
/// someone is enrolling count apart from sign-in and step-up codes: enrolling another's
/// number does not stop its owner's codes.
pub(crate) async fn counted(svc: &Service, user: &User, phone: &str, enrolling: bool) -> Result<()> {
    let rules = crate::settings::sign_in_rules(svc).await?;
    let now = svc.now();
    let kind = if enrolling { "sms-enrol" } else { "sms" };
    for key in [format!("{kind}-person:{}", user.id), format!("{kind}-number:{phone}")] {
        let key = token::hash(&key);
        if let Err(until) = strongroom_store::throttle::begin_attempt(&svc.db, &key, "any", rules.limits(), now).await?
        {
            return Err(Error::blocked_until(until, now));
        }
    }
    Ok(())
}
