//! Passkeys (WebAuthn, through `webauthn-rs`): enrolling one as a second factor, answering
//! a sign-in's or a step-up's second step with one, and — when the rules allow it — signing
//! in with one alone, without a password.
//!
//! The relying party is the service's `public_url`: its host is the RP id, the URL itself
//! the only origin accepted (any port on `localhost`, for development). Every ceremony's
//! state is kept in the database — a registration's and a second step's in the challenge
//! row they belong to (`ceremony`), a passwordless sign-in's in `passkey_ceremonies` — so
//! any node finishes a ceremony another started. A ceremony's challenge is spent by the
//! answer that passes, in the change that acts on it, so an answer works once.

use super::enrol::{self, Confirmed, FactorInfo};
use super::verify::Spend;
use super::{Method, rules};
use crate::account::{self, Login, Refusal};
use crate::{Caller, Error, Result, Service};
use strongroom_auth::{AuthError, token};
use strongroom_core::audit::RequestOrigin;
use strongroom_core::ids::UserId;
use strongroom_core::{Action, Resource, authorize};
use strongroom_store::people::{self, User};
use strongroom_store::second_factors::{self, Challenge, Factor, NewChallenge, NewFactor};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder,
};

/// How long a ceremony waits for the authenticator's answer.
const CEREMONY_MS: i64 = 5 * 60_000;
/// The challenge purpose of a registration under way.
const REGISTER: &str = "passkey_register";

/// The relying party this instance is: its `public_url`. Built per call (cheap), so a
/// changed configuration holds at the next request.
fn webauthn(svc: &Service) -> Result<Webauthn> {
    let origin = Url::parse(&svc.public_url).map_err(|_| Error::NotConfigured("passkeys (public_url is not a URL)"))?;
    let Some(host) = origin.domain().map(str::to_string) else {
        return Err(Error::NotConfigured(
            "passkeys (public_url must name a host, not an address)",
        ));
    };
    WebauthnBuilder::new(&host, &origin)
        .map_err(|e| Error::Internal(format!("the passkey relying party: {e}")))?
        .rp_name("Strongroom")
        .allow_any_port(host == "localhost")
        .build()
        .map_err(|e| Error::Internal(format!("the passkey relying party: {e}")))
}

/// Whether passkeys work here: `public_url` names a host the relying party can be.
pub(crate) fn configured(svc: &Service) -> bool {
    webauthn(svc).is_ok()
}

/// The WebAuthn user handle of a person: derived from their id (stable, and naming nobody
/// to anyone who does not know the id).
fn user_handle(id: &UserId) -> Result<Uuid> {
    let h = token::hash(&format!("passkey-user:{id}"));
    Uuid::try_parse(h.get(..32).unwrap_or_default()).map_err(|e| Error::Internal(format!("a user handle: {e}")))
}

/// A stored factor's passkey.
fn passkey_of(f: &Factor) -> Result<Passkey> {
    let json = f
        .credential
        .as_deref()
        .ok_or_else(|| Error::Internal(format!("the passkey {} has no credential", f.id)))?;
    serde_json::from_str(json).map_err(|e| Error::Internal(format!("the passkey {} does not read: {e}", f.id)))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(format!("a passkey ceremony: {e}")))
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::Internal(format!("a passkey ceremony: {e}")))
}

/// The key of the challenge a person's registration under way is kept in.
fn register_key(user: &UserId) -> String {
    token::hash(&format!("passkey-register:{user}"))
}

/// What a registration under way keeps: the label asked for and the ceremony's state.
#[derive(serde::Serialize, serde::Deserialize)]
struct Registration {
    label: String,
    state: PasskeyRegistration,
}

/// Starts enrolling a passkey (a fresh second factor needed, like any enrolment): the
/// options for `navigator.credentials.create()`, the person's passkeys excluded. A second
/// start replaces the first.
pub async fn start_registration(svc: &Service, caller: &Caller, label: &str) -> Result<serde_json::Value> {
    let label = if label.trim().is_empty() {
        "Passkey"
    } else {
        label.trim()
    };
    enrol::may_enrol(svc, caller, Method::Passkey, label).await?;
    let wa = webauthn(svc)?;
    let user = people::get_user(&svc.db, &caller.actor.user_id).await?;
    let exclude = second_factors::passkeys(&svc.db, Some(&user.id))
        .await?
        .iter()
        .map(|f| passkey_of(f).map(|p| p.cred_id().clone()))
        .collect::<Result<Vec<_>>>()?;
    let (options, state): (CreationChallengeResponse, PasskeyRegistration) = wa
        .start_passkey_registration(user_handle(&user.id)?, &user.email, &user.display_name, Some(exclude))
        .map_err(|e| Error::Internal(format!("starting a passkey registration: {e}")))?;
    let key = register_key(&user.id);
    let now = svc.now();
    second_factors::create_challenge(
        &svc.db,
        NewChallenge {
            id_hash: &key,
            user_id: &user.id,
            purpose: REGISTER,
            password_hash: None,
            expires_at: now + CEREMONY_MS,
            ip: caller.origin.ip.as_deref(),
            user_agent: caller.origin.user_agent.as_deref(),
        },
        now,
    )
    .await?;
    let kept = Registration {
        label: label.to_string(),
        state,
    };
    second_factors::set_ceremony(&svc.db, &key, &to_json(&kept)?).await?;
    to_value(&options)
}

/// Finishes enrolling a passkey with the authenticator's answer: a confirmed factor (with a
/// person's first factor, ten backup codes). A passkey registered already, to anyone, is
/// refused.
pub async fn finish_registration(svc: &Service, caller: &Caller, credential: serde_json::Value) -> Result<Confirmed> {
    authorize(&caller.actor, Action::ManageOwnSecondFactors, Resource::Instance)?;
    super::require_fresh(svc, caller, "enrolling a second factor").await?;
    let user_id = caller.actor.user_id.clone();
    let key = register_key(&user_id);
    let challenge = second_factors::find_challenge(&svc.db, &key, svc.now())
        .await?
        .filter(|c| c.purpose == REGISTER && c.user_id == user_id);
    let Some(kept) = challenge
        .and_then(|c| c.ceremony)
        .and_then(|c| serde_json::from_str::<Registration>(&c).ok())
    else {
        return Err(Error::invalid(
            "no passkey registration is under way (or it expired): start again",
        ));
    };
    // Again at the finish: the rules may have dropped passkeys, or another factor taken the
    // last place, since the start.
    enrol::may_enrol(svc, caller, Method::Passkey, &kept.label).await?;
    let reg: RegisterPublicKeyCredential = serde_json::from_value(credential)
        .map_err(|e| Error::invalid(format!("credential is not a WebAuthn registration: {e}")))?;
    let passkey = match webauthn(svc)?.finish_passkey_registration(&reg, &kept.state) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(error = %e, "a passkey registration was refused");
            return Err(Error::invalid("the authenticator's answer does not pass: start again"));
        }
    };
    let taken = second_factors::passkeys(&svc.db, None)
        .await?
        .iter()
        .any(|f| passkey_of(f).is_ok_and(|p| p.cred_id() == passkey.cred_id()));
    if taken {
        return Err(Error::Conflict("this passkey is registered already".into()));
    }
    // Read before the change: on SQLite the change holds the one writing connection.
    let first = second_factors::backup_codes_left(&svc.db, &user_id).await? == 0;
    let credential = to_json(&passkey)?;
    let mut change = svc.change_by(caller).await?;
    if !second_factors::take_challenge(&mut change, &key).await? {
        return Err(Error::invalid(
            "no passkey registration is under way (or it expired): start again",
        ));
    }
    let factor = second_factors::add(
        &mut change,
        NewFactor {
            user_id: &user_id,
            kind: Method::Passkey.as_str(),
            label: &kept.label,
            phone: None,
            credential: Some(&credential),
            confirmed: true,
        },
    )
    .await?;
    let backup_codes = if first {
        Some(enrol::new_backup_codes(&mut change, &user_id).await?)
    } else {
        None
    };
    enrol::commit_added(svc, change, caller, &factor).await?;
    Ok(Confirmed {
        factor: FactorInfo::from(&factor),
        backup_codes,
    })
}

/// Starts a passkey ceremony for one person under `key`: the options for
/// `navigator.credentials.get()`, their passkeys allowed.
async fn start_for(svc: &Service, user: &User, key: &str) -> Result<serde_json::Value> {
    let keys = second_factors::passkeys(&svc.db, Some(&user.id))
        .await?
        .iter()
        .map(passkey_of)
        .collect::<Result<Vec<_>>>()?;
    if keys.is_empty() {
        return Err(Error::NotFound("passkey"));
    }
    let (options, state): (RequestChallengeResponse, PasskeyAuthentication) = webauthn(svc)?
        .start_passkey_authentication(&keys)
        .map_err(|e| Error::Internal(format!("starting a passkey sign-in: {e}")))?;
    second_factors::set_ceremony(&svc.db, key, &to_json(&state)?).await?;
    to_value(&options)
}

/// The passkey options of a sign-in waiting for its second factor.
pub async fn sign_in_options(svc: &Service, secret: &str, origin: &RequestOrigin) -> Result<serde_json::Value> {
    let hash = token::hash(secret);
    let unknown = || Error::invalid("the sign-in challenge is unknown, used or expired: sign in again");
    let challenge = second_factors::find_challenge(&svc.db, &hash, svc.now())
        .await?
        .filter(|c| c.purpose == "sign_in")
        .ok_or_else(unknown)?;
    let user = people::get_user(&svc.db, &challenge.user_id).await?;
    if !crate::settings::sign_in_rules(svc)
        .await?
        .address_allowed(user.role, origin.ip.as_deref())
    {
        return Err(Error::AddressDenied);
    }
    if !user.active {
        return Err(unknown());
    }
    start_for(svc, &user, &hash).await
}

/// The passkey options of a step-up of the caller's session.
pub async fn step_up_options(svc: &Service, caller: &Caller) -> Result<serde_json::Value> {
    authorize(&caller.actor, Action::ManageOwnSecondFactors, Resource::Instance)?;
    let Some(session) = &caller.session_hash else {
        return Err(AuthError::SessionRequired("a step-up").into());
    };
    let user = people::get_user(&svc.db, &caller.actor.user_id).await?;
    let key = super::verify::step_up_key(session);
    let now = svc.now();
    second_factors::create_challenge(
        &svc.db,
        NewChallenge {
            id_hash: &key,
            user_id: &user.id,
            purpose: "step_up",
            password_hash: None,
            expires_at: now + CEREMONY_MS,
            ip: caller.origin.ip.as_deref(),
            user_agent: caller.origin.user_agent.as_deref(),
        },
        now,
    )
    .await?;
    start_for(svc, &user, &key).await
}

/// Whether `credential` answers the passkey ceremony kept in `challenge`, by one of this
/// person's passkeys: what it spends if so (the challenge, and the passkey's new counter).
pub(crate) async fn check(
    svc: &Service,
    user: &User,
    credential: Option<&serde_json::Value>,
    challenge: Option<&Challenge>,
) -> Result<Option<Spend>> {
    let (Some(credential), Some(challenge)) = (credential, challenge) else {
        return Ok(None);
    };
    let Some(state) = challenge
        .ceremony
        .as_deref()
        .and_then(|c| serde_json::from_str::<PasskeyAuthentication>(c).ok())
    else {
        return Ok(None);
    };
    let Ok(answer) = serde_json::from_value::<PublicKeyCredential>(credential.clone()) else {
        return Ok(None);
    };
    let result = match webauthn(svc)?.finish_passkey_authentication(&answer, &state) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, "a passkey answer was refused");
            return Ok(None);
        }
    };
    for f in second_factors::passkeys(&svc.db, Some(&user.id)).await? {
        let mut passkey = passkey_of(&f)?;
        if passkey.cred_id() == result.cred_id() {
            passkey.update_credential(&result);
            return Ok(Some(Spend::Passkey {
                challenge: challenge.id_hash.clone(),
                factor: f.id.clone(),
                credential: to_json(&passkey)?,
            }));
        }
    }
    Ok(None)
}

/// What starting a passwordless sign-in gives: the options for
/// `navigator.credentials.get()` (discoverable: no person named) and the challenge to send
/// back with the answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PasswordlessOptions {
    /// The `srf_…` secret naming this ceremony; it works once, for five minutes.
    pub challenge: String,
    /// WebAuthn's `RequestChallengeResponse`: `{"publicKey": {…}, "mediation": …}`.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    pub expires_at: i64,
}

/// Refuses unless the rules let passkeys sign in on their own.
async fn passwordless_allowed(svc: &Service) -> Result<()> {
    let rules = rules(svc).await?;
    if !rules.passwordless || !rules.methods.contains(&Method::Passkey) {
        return Err(Error::forbidden(
            "the second-factor rules do not allow signing in with a passkey alone",
        ));
    }
    Ok(())
}

/// Starts a passwordless sign-in (when the rules allow it): a discoverable ceremony, kept
/// under the hash of a fresh secret.
pub async fn start_passwordless(svc: &Service) -> Result<PasswordlessOptions> {
    passwordless_allowed(svc).await?;
    let (options, state): (RequestChallengeResponse, DiscoverableAuthentication) = webauthn(svc)?
        .start_discoverable_authentication()
        .map_err(|e| Error::Internal(format!("starting a passkey sign-in: {e}")))?;
    let (secret, hash) = token::generate(token::Kind::Challenge);
    let now = svc.now();
    let expires_at = now + CEREMONY_MS;
    strongroom_store::passkey_ceremonies::create(&svc.db, &hash, &to_json(&state)?, now, expires_at).await?;
    Ok(PasswordlessOptions {
        challenge: secret,
        options: to_value(&options)?,
        expires_at,
    })
}

/// Finishes a passwordless sign-in: the passkey names its holder (by credential id, and
/// by user handle when the authenticator gives one), its answer is checked, and a session
/// opens with `passkey` as its factor. The ceremony is used once whatever the outcome; the
/// attempt counts under the brute-force limit, the address rules apply, a disabled account
/// is refused, and every outcome goes into the login history and the audit trail.
pub async fn finish_passwordless(
    svc: &Service,
    secret: &str,
    credential: serde_json::Value,
    origin: &RequestOrigin,
) -> Result<Login> {
    passwordless_allowed(svc).await?;
    let hash = token::hash(secret);
    let state = strongroom_store::passkey_ceremonies::take(&svc.db, &hash, svc.now())
        .await?
        .and_then(|s| serde_json::from_str::<DiscoverableAuthentication>(&s).ok())
        .ok_or_else(|| Error::invalid("the passkey challenge is unknown, used or expired: start again"))?;
    let answer: PublicKeyCredential = serde_json::from_value(credential)
        .map_err(|e| Error::invalid(format!("credential is not a WebAuthn answer: {e}")))?;
    // Before anything is looked up: answers naming no known passkey are counted too, per
    // client address (10 a period at most), as sign-ins with unknown e-mail addresses are.
    let mut limits = crate::settings::sign_in_rules(svc).await?.limits();
    limits.per_address = limits.per_address.min(10);
    limits.per_account = i64::MAX / 4;
    let now = svc.now();
    let address = account::address_key(origin.ip.as_deref());
    let key = token::hash("passwordless-sign-in");
    if let Err(until) = strongroom_store::throttle::begin_attempt(&svc.db, &key, &address, limits, now).await? {
        account::refuse(svc, None, Refusal::Locked, origin).await?;
        return Err(Error::blocked_until(until, now));
    }
    let cred_id = answer.get_credential_id().to_vec();
    let mut found = None;
    for f in second_factors::passkeys(&svc.db, None).await? {
        let passkey = passkey_of(&f)?;
        if passkey.cred_id().as_slice() == cred_id.as_slice() {
            found = Some((f, passkey));
            break;
        }
    }
    let Some((factor, mut passkey)) = found else {
        account::refuse(svc, None, Refusal::UnknownUser, origin).await?;
        return Err(AuthError::InvalidCredentials.into());
    };
    let user = people::get_user(&svc.db, &factor.user_id).await?;
    let rules = crate::settings::sign_in_rules(svc).await?;
    if !rules.address_allowed(user.role, origin.ip.as_deref()) {
        account::refuse(svc, Some(&user), Refusal::IpDenied, origin).await?;
        return Err(Error::AddressDenied);
    }
    super::verify::count(svc, &user, origin).await?;
    let handle_matches = match answer.get_user_unique_id() {
        Some(h) => h == user_handle(&user.id)?.as_bytes().as_slice(),
        None => true,
    };
    let result = if handle_matches {
        webauthn(svc)?
            .finish_discoverable_authentication_v2(&answer, state, &passkey)
            .map_err(|e| tracing::info!(error = %e, "a passwordless passkey answer was refused"))
            .ok()
    } else {
        None
    };
    let Some(result) = result else {
        // Answered as an unknown passkey is: no answer tells which passkeys are registered.
        account::refuse(svc, Some(&user), Refusal::BadCode, origin).await?;
        return Err(AuthError::InvalidCredentials.into());
    };
    let Ok(actor) = strongroom_auth::session::actor_of(&user) else {
        account::refuse(svc, Some(&user), Refusal::Disabled, origin).await?;
        return Err(AuthError::InvalidCredentials.into());
    };
    passkey.update_credential(&result);
    let updated = to_json(&passkey)?;
    let mut change = svc.change().await?;
    if !second_factors::used(&mut change, &factor.id, Some(&updated)).await? {
        // Removed (or reset) while the answer was on its way.
        drop(change);
        account::refuse(svc, Some(&user), Refusal::ReplayedCode, origin).await?;
        return Err(AuthError::InvalidCredentials.into());
    }
    // A right answer takes its attempt back, so an office behind one address is not blocked
    // by its own sign-ins.
    strongroom_store::throttle::succeeded(&mut change, &key, &address).await?;
    account::open_session(
        svc,
        change,
        account::Opening {
            user: &user,
            actor: &actor,
            checked: None,
            factors: "passkey",
            method: Some(Method::Passkey.as_str()),
        },
        origin,
    )
    .await
}
