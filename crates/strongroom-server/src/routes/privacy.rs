//! The data-subject rights over HTTP: a person's data as one archive, freezing, erasure.

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json, Path};
use crate::state::Shared;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::io::{Seek as _, Write as _};
use strongroom_core::ids::UserId;
use strongroom_service::privacy::{self as service, Erasure, Files};
use strongroom_store::people::User;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(export))
        .routes(routes!(erase))
        .routes(routes!(freeze))
        .routes(routes!(unfreeze))
}

fn spool_err(e: std::io::Error) -> ApiError {
    strongroom_service::Error::Internal(format!("spooling the archive: {e}")).into()
}

/// A person's data as one ZIP archive (GDPR art. 15 and 20): profile, settings, login
/// history, the audit events about them and the files they own that the caller may download,
/// with a README that says what each file is. People export their own; an Administrator of
/// people who ranks above a person exports theirs; both with a fresh second factor. Each file
/// counts as a download (a `file.download` event, checked against its SHA-256); files in
/// rooms that stamp the caller's downloads are left out (`withheld`). Without the audit module
/// the archive holds the person's own events, and the events about them without anyone
/// else's address, browser or e-mail. The archive
/// is built in an unlinked temporary file first, so a failure is an error status, never a
/// cut-short archive. Recorded as `user.export`.
#[utoipa::path(get, path = "/api/v1/users/{id}/export", params(("id" = crate::openapi::Id, Path)),
    responses((status = 200, description = "application/zip"), (status = 403, description = "not allowed, or a fresh second factor is needed (`step_up_required`, `session_required`)"),
        (status = 404), (status = 409, description = "another export is running on this node (`conflict`)")))]
async fn export(State(st): State<Shared>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<Response> {
    let file = tempfile::tempfile().map_err(spool_err)?;
    let mut out = std::io::BufWriter::new(file);
    // The archive is written with blocking file I/O: off the async workers, so a large
    // export does not hold one of them.
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| handle.block_on(service::export(&st, (&caller).into(), &id, &mut out)))?;
    let mut file = out.into_inner().map_err(|e| spool_err(e.into_error()))?;
    file.flush().map_err(spool_err)?;
    file.rewind().map_err(spool_err)?;
    let length = file.metadata().map_err(spool_err)?.len();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file)));
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"strongroom-export-{id}.zip\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// Erases a person (GDPR art. 17): their account, sessions, tokens, second factors, links,
/// invitations, login history and throttles go; their audit events keep their place in the
/// chain with a pseudonym for their identity (`docs/formats/audit-chain-v1.md` §6); their
/// files are handed to `transfer_to` or deleted, as the body says. Needs people and
/// documents administration above the person's rank and a fresh second factor; the Owner
/// cannot be erased. Recorded as `user.erase`, whose details say what was done.
#[utoipa::path(post, path = "/api/v1/users/{id}/erase", params(("id" = crate::openapi::Id, Path)), request_body = Files,
    responses((status = 200, body = Erasure), (status = 400, description = "`transfer_to` names nobody, or the person erased"),
        (status = 403), (status = 404), (status = 409, description = "the person is the Owner (`conflict`)")))]
async fn erase(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<UserId>,
    Json(files): Json<Files>,
) -> ApiResult<Json<Erasure>> {
    Ok(Json(service::erase(&st, (&caller).into(), &id, &files).await?))
}

/// Freezes a person (GDPR art. 18, restriction of processing): they cannot sign in, their
/// sessions end, their tokens and links stop working and nothing is mailed to them; nothing
/// of theirs is changed or deleted. Recorded as `user.freeze`.
#[utoipa::path(post, path = "/api/v1/users/{id}/freeze", params(("id" = crate::openapi::Id, Path)),
    responses((status = 200, body = User), (status = 403), (status = 404), (status = 409, description = "already frozen (`conflict`)")))]
async fn freeze(State(st): State<Shared>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<Json<User>> {
    Ok(Json(service::set_frozen(&st, (&caller).into(), &id, true).await?))
}

/// Lifts a freeze: the person is enabled again (to keep them disabled, disable them after).
/// Recorded as `user.unfreeze`.
#[utoipa::path(post, path = "/api/v1/users/{id}/unfreeze", params(("id" = crate::openapi::Id, Path)),
    responses((status = 200, body = User), (status = 403), (status = 404), (status = 409, description = "not frozen (`conflict`)")))]
async fn unfreeze(State(st): State<Shared>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<Json<User>> {
    Ok(Json(service::set_frozen(&st, (&caller).into(), &id, false).await?))
}
