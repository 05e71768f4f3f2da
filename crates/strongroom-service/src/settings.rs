//! Instance settings: encryption at rest (its state, and converting what is stored).

use crate::{Caller, Result, Service};
use strongroom_core::audit::AuditAction;
use strongroom_core::{Action, Resource, authorize};
use strongroom_store::convert::{self, Progress, Target};

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
