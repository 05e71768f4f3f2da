//! Invitations by e-mail, self-sign-up, and accepting either.

use crate::error::ApiResult;
use crate::extract::{Caller, Json, Origin, Path};
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use strongroom_core::ids::InvitationId;
use strongroom_core::{Module, Role};
use strongroom_service::invitations::{self as service, NewInvite};
use strongroom_store::invitations::Invitation;
use strongroom_store::people::User;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_invitations, create_invitation))
        .routes(routes!(withdraw_invitation))
        .routes(routes!(sign_up))
        .routes(routes!(inspect_invitation))
        .routes(routes!(accept_invitation))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct InviteRequest {
    #[schema(value_type = crate::openapi::Email)]
    email: String,
    /// Empty or omitted: the person chooses it when they accept.
    #[serde(default)]
    #[schema(value_type = crate::openapi::OptionalName)]
    display_name: String,
    /// `admin`, `user` or `guest`, below the inviter's own rank.
    #[schema(value_type = super::people::NewUserRole)]
    role: Role,
    /// Required for `admin`; ignored for other roles.
    #[schema(required = true, value_type = Vec<Module>)]
    admin_modules: Option<Vec<Module>>,
}

/// Invites someone to make an account, by e-mail (administrators of people, for a rank
/// below their own). The link works once, for the `invitation_days` of the sign-up
/// settings; a new invitation to the address replaces the old one.
#[utoipa::path(post, path = "/api/v1/invitations", request_body = InviteRequest,
    responses((status = 201, body = Invitation), (status = 400), (status = 403),
        (status = 409, description = "the address has an account (`conflict`), or mail is not configured (`not_configured`)"),
        (status = 502, description = "the mail server refused or could not be reached (`mail_failed`): nothing was sent, the invitation is withdrawn")))]
async fn create_invitation(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<InviteRequest>,
) -> ApiResult<impl IntoResponse> {
    let new = NewInvite {
        email: &req.email,
        display_name: &req.display_name,
        role: req.role,
        admin_modules: req.admin_modules.as_deref(),
    };
    let invitation = service::invite(&st, (&caller).into(), new).await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

/// The invitations not yet accepted nor expired, newest first (administrators of people).
#[utoipa::path(get, path = "/api/v1/invitations", responses((status = 200, body = Vec<Invitation>), (status = 403)))]
async fn list_invitations(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<Vec<Invitation>>> {
    Ok(Json(service::list(&st, &caller).await?))
}

/// Withdraws an invitation: its link stops working.
#[utoipa::path(delete, path = "/api/v1/invitations/{id}", params(("id" = crate::openapi::Id, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
async fn withdraw_invitation(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<InvitationId>,
) -> ApiResult<StatusCode> {
    service::withdraw(&st, (&caller).into(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignUpRequest {
    email: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SignUpRequested {
    message: &'static str,
}

/// Asks for a link to make one's own account. The answer is the same for every address
/// (whether self-sign-up admits it, it has an account already, or mail is off); the link,
/// when one is sent, works once, for 24 hours.
#[utoipa::path(post, path = "/api/v1/auth/sign-up", request_body = SignUpRequest,
    responses((status = 202, body = SignUpRequested)))]
async fn sign_up(
    State(st): State<Shared>,
    Origin(origin): Origin,
    Json(req): Json<SignUpRequest>,
) -> ApiResult<impl IntoResponse> {
    service::request_sign_up(&st, &req.email, &origin).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SignUpRequested {
            message: "if this address may make an account here, a link to make it is on its way to it",
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct InvitationToken {
    /// The `sri_…` secret from the invitation link.
    token: String,
}

/// What a live invitation link is for: the address, role and name the account will have.
#[utoipa::path(post, path = "/api/v1/auth/invitation", request_body = InvitationToken,
    responses((status = 200, body = Invitation), (status = 400, description = "the link is invalid, used, withdrawn or expired (`invalid_request`)")))]
async fn inspect_invitation(State(st): State<Shared>, Json(req): Json<InvitationToken>) -> ApiResult<Json<Invitation>> {
    Ok(Json(service::inspect(&st, &req.token).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AcceptInvitation {
    /// The `sri_…` secret from the invitation link.
    token: String,
    /// Empty or omitted: the name the invitation gives, else the e-mail address.
    #[serde(default)]
    #[schema(value_type = crate::openapi::OptionalName)]
    display_name: String,
    #[schema(value_type = crate::openapi::NewPassword)]
    password: SecretString,
}

/// Makes the account an invitation link is for and spends the link; then sign in.
#[utoipa::path(post, path = "/api/v1/auth/invitation/accept", request_body = AcceptInvitation,
    responses((status = 201, body = User),
        (status = 400, description = "the link is invalid, used, withdrawn or expired, or no longer valid (`invalid_request`), or the password breaks the policy (`weak_password`)"),
        (status = 409, description = "the address has an account already (`conflict`)"),
        (status = 503, description = "too many password hashes queued (`busy`); retry after `Retry-After` seconds")))]
async fn accept_invitation(
    State(st): State<Shared>,
    Origin(origin): Origin,
    Json(req): Json<AcceptInvitation>,
) -> ApiResult<impl IntoResponse> {
    let user = service::accept(&st, &req.token, &req.display_name, req.password, &origin).await?;
    Ok((StatusCode::CREATED, Json(user)))
}
