//! Instance settings visible to administrators of the settings module.

use crate::error::ApiResult;
use crate::extract::{Caller, Json};
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use strongroom_core::audit::AuditAction;
use strongroom_core::{Action, Resource, authorize};
use strongroom_store::convert::{self, Progress, Target};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(encryption_status))
        .routes(routes!(encryption_convert))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EncryptionStatus {
    /// Whether new documents are encrypted at rest.
    enabled: bool,
    /// Hex id of the master key new documents are encrypted with.
    current_key_id: Option<String>,
    /// How far the instance is towards every stored version being in the configured state.
    progress: Progress,
    /// Every master key something stored still needs, with how many objects (versions and
    /// secrets) it encrypts: a retired key may be removed once it is no longer listed.
    keys_in_use: Vec<KeyUse>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyUse {
    key_id: String,
    objects: i64,
}

async fn status(st: &Shared, current: Option<String>, progress: Progress) -> ApiResult<EncryptionStatus> {
    let keys_in_use = strongroom_store::content::key_usage(&st.db)
        .await?
        .into_iter()
        .map(|(key_id, objects)| KeyUse { key_id, objects })
        .collect();
    Ok(EncryptionStatus {
        enabled: current.is_some(),
        current_key_id: current,
        progress,
        keys_in_use,
    })
}

/// Encryption at rest: whether it is on, how far the conversion of stored documents is, and
/// which master keys are still needed.
#[utoipa::path(get, path = "/api/v1/admin/encryption", responses((status = 200, body = EncryptionStatus), (status = 403)))]
async fn encryption_status(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<EncryptionStatus>> {
    authorize(&caller.actor, Action::ManageSettings, Resource::Instance)?;
    let current = st.blobs.keys().current().map(|k| k.id().to_hex());
    let progress = convert::progress_with_eta(
        &st.db,
        &st.blobs,
        if current.is_some() {
            Target::Encrypted
        } else {
            Target::Plaintext
        },
        st.now(),
    )
    .await?;
    Ok(Json(status(&st, current, progress).await?))
}

/// Starts converting stored documents to the configured state in the background: encrypting
/// them when encryption is enabled, decrypting them when it is disabled (with the key still
/// configured). Returns at once; follow it with `GET /api/v1/admin/encryption`.
#[utoipa::path(post, path = "/api/v1/admin/encryption/convert", responses((status = 202, body = EncryptionStatus), (status = 403)))]
async fn encryption_convert(
    State(st): State<Shared>,
    caller: Caller,
) -> ApiResult<(StatusCode, Json<EncryptionStatus>)> {
    authorize(&caller.actor, Action::ManageSettings, Resource::Instance)?;
    let current = st.blobs.keys().current().map(|k| k.id().to_hex());
    let target = if current.is_some() {
        Target::Encrypted
    } else {
        Target::Plaintext
    };
    st.audit(
        caller
            .event(AuditAction::EncryptionConvert)
            .details(serde_json::json!({"target": format!("{target:?}")})),
    )
    .await?;
    crate::spawn_conversion(st.clone(), target);
    let progress = convert::progress(&st.db, &st.blobs, target).await?;
    Ok((StatusCode::ACCEPTED, Json(status(&st, current, progress).await?)))
}
