//! Instance settings visible to administrators of the settings module.

use crate::error::ApiResult;
use crate::extract::{Caller, Json};
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use strongroom_service::settings::{self, EncryptionState};
use strongroom_store::convert::Progress;
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

impl From<EncryptionState> for EncryptionStatus {
    fn from(s: EncryptionState) -> Self {
        EncryptionStatus {
            enabled: s.current_key_id.is_some(),
            current_key_id: s.current_key_id,
            progress: s.progress,
            keys_in_use: s
                .keys_in_use
                .into_iter()
                .map(|(key_id, objects)| KeyUse { key_id, objects })
                .collect(),
        }
    }
}

/// Encryption at rest: whether it is on, how far the conversion of stored documents is, and
/// which master keys are still needed.
#[utoipa::path(get, path = "/api/v1/admin/encryption", responses((status = 200, body = EncryptionStatus), (status = 403)))]
async fn encryption_status(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<EncryptionStatus>> {
    Ok(Json(settings::encryption_status(&st, &caller).await?.into()))
}

/// Starts converting stored documents to the configured state in the background: encrypting
/// them when encryption is enabled, decrypting them when it is disabled (with the key still
/// configured). Returns at once; follow it with `GET /api/v1/admin/encryption`.
#[utoipa::path(post, path = "/api/v1/admin/encryption/convert", responses((status = 202, body = EncryptionStatus), (status = 403)))]
async fn encryption_convert(
    State(st): State<Shared>,
    caller: Caller,
) -> ApiResult<(StatusCode, Json<EncryptionStatus>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(settings::start_conversion(&st, &caller).await?.into()),
    ))
}
