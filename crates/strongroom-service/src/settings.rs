//! Instance settings: the password policy; encryption at rest (its state, and converting
//! what is stored).

use crate::{Caller, Error, Operator, Result, Service};
use secrecy::SecretString;
use strongroom_auth::password::PasswordPolicy;
use strongroom_core::audit::AuditAction;
use strongroom_core::{Action, Resource, authorize};
use strongroom_store::convert::{self, Progress, Target};

/// The setting's name in the database.
const PASSWORD_POLICY: &str = "password_policy";

/// The password policy in force: the default until an administrator sets one. Read from the
/// database at every use, so a change holds on every node at once.
pub async fn password_policy(svc: &Service) -> Result<PasswordPolicy> {
    Ok(strongroom_store::settings::get(&svc.db, PASSWORD_POLICY)
        .await?
        .unwrap_or_default())
}

/// The password policy, for anyone signed in (it is no secret: people need it to choose a
/// password).
pub async fn read_password_policy(svc: &Service, caller: &Caller) -> Result<PasswordPolicy> {
    authorize(&caller.actor, Action::ReadOwnAccount, Resource::Instance)?;
    password_policy(svc).await
}

/// Checks a new account password against the policy in force; `about` are the person's
/// e-mail address and name, which the password must not lean on.
pub async fn check_password(svc: &Service, pw: &SecretString, about: &[&str]) -> Result<()> {
    Ok(password_policy(svc).await?.check(pw, about)?)
}

/// Sets the password policy (administrators of settings, or the console). It binds passwords
/// set from now on; the audit event says what changed, rule by rule.
pub async fn set_password_policy(svc: &Service, by: Operator<'_>, policy: PasswordPolicy) -> Result<PasswordPolicy> {
    if let Operator::User(c) = by {
        authorize(&c.actor, Action::ManageSettings, Resource::Instance)?;
    }
    policy.validate().map_err(Error::Invalid)?;
    if password_policy(svc).await? == policy {
        return Ok(policy);
    }
    let mut change = svc.change_by_operator(by).await?;
    let before: PasswordPolicy = strongroom_store::settings::put(&mut change, PASSWORD_POLICY, &policy)
        .await?
        .unwrap_or_default();
    change
        .commit(
            &by.event(AuditAction::PasswordPolicySet)
                .details(serde_json::json!({"changed": changed(&before, &policy)})),
        )
        .await?;
    Ok(policy)
}

/// Each field of a setting that differs, from → to.
fn changed<T: serde::Serialize>(before: &T, after: &T) -> serde_json::Map<String, serde_json::Value> {
    let as_map = |v: &T| match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let (before, after) = (as_map(before), as_map(after));
    after
        .into_iter()
        .filter(|(k, v)| before.get(k) != Some(v))
        .map(|(k, v)| {
            let from = before.get(&k).cloned().unwrap_or_default();
            (k, serde_json::json!({"from": from, "to": v}))
        })
        .collect()
}

/// Encryption at rest as it is now.
pub struct EncryptionState {
    /// Hex id of the master key new documents are encrypted with (none: encryption is off).
    pub current_key_id: Option<String>,
    /// How far the instance is towards every stored version being in the configured state.
    pub progress: Progress,
    /// Every master key something stored still needs, with how many objects it encrypts.
    pub keys_in_use: Vec<(String, i64)>,
}

impl Service {
    /// What the configured keys make the target state of stored documents.
    fn target(&self) -> (Option<String>, Target) {
        let current = self.blobs.keys().current().map(|k| k.id().to_hex());
        let target = match current {
            Some(_) => Target::Encrypted,
            None => Target::Plaintext,
        };
        (current, target)
    }

    /// Brings every stored blob to `target` in the background (encrypting those stored before
    /// encryption was enabled, or decrypting). Reads and writes go on meanwhile; a restart or
    /// another call resumes where it was. Safe to run on several nodes at once.
    pub fn spawn_conversion(&self, target: Target) {
        let st = self.clone();
        tokio::spawn(async move {
            let Ok(start) = convert::progress(&st.db, &st.blobs, target).await else {
                return;
            };
            let started = st.now();
            let mut last_log = 0i64;
            let report = |p: &convert::Progress| {
                let now = st.now();
                if now - last_log >= 5_000 || p.complete() {
                    last_log = now;
                    tracing::info!(
                        direction = %p.direction,
                        objects_done = p.objects_done,
                        objects_total = p.objects_total,
                        bytes_done = p.bytes_done,
                        bytes_total = p.bytes_total,
                        eta_seconds = p.eta_seconds(&start, started, now),
                        "converting stored documents"
                    );
                }
            };
            match convert::run(&st.db, &st.blobs, target, || st.now(), report).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(converted = n, "every stored document is converted"),
                Err(e) => {
                    tracing::error!(error = %e, "converting stored documents stopped; it resumes at the next start")
                }
            }
        });
    }
}

/// Encryption at rest: whether it is on, how far the conversion is (with an estimate), and
/// which master keys are still needed. For administrators of settings.
pub async fn encryption_status(svc: &Service, caller: &Caller) -> Result<EncryptionState> {
    authorize(&caller.actor, Action::ManageSettings, Resource::Instance)?;
    let (current_key_id, target) = svc.target();
    let progress = convert::progress_with_eta(&svc.db, &svc.blobs, target, svc.now()).await?;
    Ok(EncryptionState {
        current_key_id,
        progress,
        keys_in_use: strongroom_store::content::key_usage(&svc.db).await?,
    })
}

/// Starts converting stored documents to the configured state in the background (audited);
/// returns at once with where it starts from.
pub async fn start_conversion(svc: &Service, caller: &Caller) -> Result<EncryptionState> {
    authorize(&caller.actor, Action::ManageSettings, Resource::Instance)?;
    let (current_key_id, target) = svc.target();
    svc.audit(
        caller
            .event(AuditAction::EncryptionConvert)
            .details(serde_json::json!({"target": format!("{target:?}")})),
    )
    .await?;
    svc.spawn_conversion(target);
    Ok(EncryptionState {
        current_key_id,
        progress: convert::progress(&svc.db, &svc.blobs, target).await?,
        keys_in_use: strongroom_store::content::key_usage(&svc.db).await?,
    })
}
