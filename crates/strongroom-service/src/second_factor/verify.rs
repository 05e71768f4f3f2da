//! Checking a second factor: the second step of signing in (after a right password, a
//! challenge the client holds), and step-up (a fresh factor for a sensitive change).
//!
//! Every attempt is counted twice before its code is checked: against the challenge (five
//! tries, then it is spent) and under the brute-force limit of the sign-in rules, with the
//! account's password attempts (the counts are only cleared by a complete sign-in). A code
//! is spent in the change that opens the session: a TOTP step once per factor (a
//! conditional update, so two nodes cannot both take it), a backup code once, a challenge
//! once.

use super::{Method, sign_in_methods};
use crate::account::{self, Login, Refusal};
use crate::{Caller, Error, Result, Service};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use strongroom_auth::{AuthError, codes, password, token, totp};
use strongroom_core::audit::{AuditAction, Outcome, RequestOrigin};
use strongroom_core::ids::FactorId;
use strongroom_core::{Action, Resource, authorize};
use strongroom_store::people::{self, User};
use strongroom_store::second_factors::{self, Challenge, Factor, NewChallenge};
use strongroom_store::{Change, throttle};

/// How long a sign-in waits for its second factor.
const SIGN_IN_MS: i64 = 5 * 60_000;
/// Codes a challenge takes before it is spent.
const MAX_ATTEMPTS: i64 = 5;
/// How long an SMS code works.
const SMS_CODE_MS: i64 = 5 * 60_000;

/// A sign-in whose password was right, waiting for a second factor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignInChallenge {
    /// Always true: send one of `methods` with `challenge` to `POST /api/v1/auth/second-factor`.
    pub second_factor_required: bool,
    pub methods: Vec<Method>,
    /// The `srf_…` secret that names this sign-in; it works once, for five minutes.
    pub challenge: String,
    pub expires_at: i64,
}

/// Begins the second step for a person whose password was right: a challenge, of which
/// only the hash is kept.
pub(crate) async fn begin_sign_in(
    svc: &Service,
    user: &User,
    methods: Vec<Method>,
    checked: Option<&str>,
    origin: &RequestOrigin,
) -> Result<SignInChallenge> {
    let (secret, hash) = token::generate(token::Kind::Challenge);
    let now = svc.now();
    let expires_at = now + SIGN_IN_MS;
    second_factors::create_challenge(
        &svc.db,
        NewChallenge {
            id_hash: &hash,
            user_id: &user.id,
            purpose: "sign_in",
            password_hash: checked,
            expires_at,
            ip: origin.ip.as_deref(),
            user_agent: origin.user_agent.as_deref(),
        },
        now,
    )
    .await?;
    Ok(SignInChallenge {
        second_factor_required: true,
        methods,
        challenge: secret,
        expires_at,
    })
}

/// What a client sends as its second factor.
pub struct Proof {
    pub method: Method,
    /// The code (TOTP, SMS, backup code) or, for a step-up of someone without any factor,
    /// the password.
    pub code: SecretString,
    /// For a passkey: the authenticator's answer (WebAuthn's `PublicKeyCredential`).
    pub credential: Option<serde_json::Value>,
}

/// What a right code spends, in the change that acts on it.
pub(crate) enum Spend {
    Step {
        factor: FactorId,
        step: u64,
    },
    BackupCode {
        user: strongroom_core::ids::UserId,
        hash: String,
    },
    /// An SMS code: its challenge is spent.
    Challenge(String),
    /// A passkey's answer: the challenge its ceremony was kept in is spent, and the
    /// passkey's new counter stored.
    Passkey {
        challenge: String,
        factor: FactorId,
        credential: String,
    },
}

/// Spends what a right code used: false if another request spent it first (a replay).
pub(crate) async fn spend(change: &mut Change, s: &Spend) -> Result<bool> {
    Ok(match s {
        Spend::Step { factor, step } => second_factors::use_step(change, factor, *step).await?,
        Spend::BackupCode { user, hash } => second_factors::use_backup_code(change, user, hash).await?,
        Spend::Challenge(hash) => second_factors::take_challenge(change, hash).await?,
        Spend::Passkey {
            challenge,
            factor,
            credential,
        } => {
            // The challenge once, and the passkey still there (not removed meanwhile).
            second_factors::take_challenge(change, challenge).await?
                && second_factors::used(change, factor, Some(credential)).await?
        }
    })
}

/// Whether `code` is right for this one factor (the sealed seed of an app; for a phone, the
/// code last sent under `challenge`): what it would spend if so.
pub(crate) async fn check_factor(
    svc: &Service,
    factor: &Factor,
    code: &str,
    challenge: Option<&Challenge>,
) -> Result<Option<Spend>> {
    match factor.kind.as_str() {
        "totp" => {
            let seed = strongroom_store::secrets::get(&svc.db, svc.blobs.keys(), &super::enrol::seed_name(&factor.id))
                .await?
                .ok_or_else(|| Error::Internal(format!("the seed of second factor {} is missing", factor.id)))?;
            Ok(totp::matching_step(&seed, code, svc.now())
                .map_err(Error::Internal)?
                .map(|step| Spend::Step {
                    factor: factor.id.clone(),
                    step,
                }))
        }
        "sms" => {
            let Some(ch) = challenge else { return Ok(None) };
            let live =
                ch.sms_factor_id.as_ref() == Some(&factor.id) && ch.sms_expires_at.is_some_and(|t| t > svc.now());
            let right = ch
                .sms_code_hash
                .as_deref()
                .is_some_and(|h| codes::same_hash(h, &codes::sms_code_hash(&ch.id_hash, code)));
            Ok((live && right).then(|| Spend::Challenge(ch.id_hash.clone())))
        }
        _ => Ok(None),
    }
}

/// Whether `proof` is right for this person, by any of their usable factors of its method.
async fn check(svc: &Service, user: &User, proof: &Proof, challenge: Option<&Challenge>) -> Result<Option<Spend>> {
    let code = proof.code.expose_secret();
    if code.len() > 64 {
        return Ok(None);
    }
    match proof.method {
        Method::BackupCode => Ok(Some(Spend::BackupCode {
            user: user.id.clone(),
            hash: codes::backup_code_hash(user.id.as_str(), code),
        })),
        Method::Totp | Method::Sms => {
            let rules = super::rules(svc).await?;
            for f in super::usable_factors(svc, &rules, user).await? {
                if Method::parse(&f.kind) == Some(proof.method)
                    && let Some(s) = check_factor(svc, &f, code, challenge).await?
                {
                    return Ok(Some(s));
                }
            }
            Ok(None)
        }
        Method::Passkey => super::passkey::check(svc, user, proof.credential.as_ref(), challenge).await,
        Method::Password => Ok(None),
    }
}

/// The second step of signing in: a right code for the challenge opens the session (with
/// the factors used recorded on it). A wrong one counts against the challenge and under the
/// brute-force limit; each outcome goes into the login history and the audit trail.
pub async fn finish_sign_in(svc: &Service, secret: &str, proof: Proof, origin: &RequestOrigin) -> Result<Login> {
    let now = svc.now();
    let hash = token::hash(secret);
    let challenge = second_factors::find_challenge(&svc.db, &hash, now)
        .await?
        .filter(|c| c.purpose == "sign_in")
        .ok_or_else(|| Error::invalid("the sign-in challenge is unknown, used or expired: sign in again"))?;
    let user = people::get_user(&svc.db, &challenge.user_id).await?;
    let rules = crate::settings::sign_in_rules(svc).await?;
    if !rules.address_allowed(user.role, origin.ip.as_deref()) {
        account::refuse(svc, Some(&user), Refusal::IpDenied, origin).await?;
        return Err(Error::AddressDenied);
    }
    count(svc, &user, origin).await?;
    if !second_factors::count_attempt(&svc.db, &hash, MAX_ATTEMPTS).await? {
        account::refuse(svc, Some(&user), Refusal::BadCode, origin).await?;
        return Err(Error::invalid("too many wrong codes for this sign-in: sign in again"));
    }
    let methods = sign_in_methods(svc, &user).await?;
    let pending = if methods.contains(&proof.method) {
        check(svc, &user, &proof, Some(&challenge)).await?
    } else {
        None
    };
    let Some(pending) = pending else {
        account::refuse(svc, Some(&user), Refusal::BadCode, origin).await?;
        return Err(AuthError::InvalidCode.into());
    };
    let Ok(actor) = strongroom_auth::session::actor_of(&user) else {
        account::refuse(svc, Some(&user), Refusal::Disabled, origin).await?;
        return Err(AuthError::InvalidCredentials.into());
    };
    let mut change = svc.change().await?;
    if !spend(&mut change, &pending).await? {
        drop(change);
        account::refuse(svc, Some(&user), Refusal::ReplayedCode, origin).await?;
        return Err(AuthError::InvalidCode.into());
    }
    if !matches!(pending, Spend::Challenge(_) | Spend::Passkey { .. })
        && !second_factors::take_challenge(&mut change, &hash).await?
    {
        drop(change);
        return Err(Error::invalid(
            "the sign-in challenge is unknown, used or expired: sign in again",
        ));
    }
    let method = proof.method.as_str();
    let login = account::open_session(
        svc,
        change,
        account::Opening {
            user: &user,
            actor: &actor,
            checked: challenge.password_hash.as_deref(),
            factors: &format!("password {method}"),
            method: Some(method),
        },
        origin,
    )
    .await?;
    if matches!(pending, Spend::BackupCode { .. }) {
        backup_code_used(svc, &actor, origin).await?;
    }
    Ok(login)
}

/// Records the use of a backup code on its own (the sign-in's event says so too), and tells
/// the person by e-mail: a backup code used by someone else is how a stolen one shows.
async fn backup_code_used(svc: &Service, actor: &strongroom_core::Actor, origin: &RequestOrigin) -> Result<()> {
    let left = second_factors::backup_codes_left(&svc.db, &actor.user_id).await?;
    svc.audit(
        strongroom_core::audit::AuditEvent::new(AuditAction::BackupCodeUse)
            .by(actor)
            .from_origin(origin)
            .details(serde_json::json!({"left": left})),
    )
    .await?;
    let user = people::get_user(&svc.db, &actor.user_id).await?;
    crate::mail::notice(
        svc,
        &user,
        "A backup code of your Strongroom account was used",
        format!(
            "A backup code of your Strongroom account {} was just used, from {}. {left} remain.\n\n\
             If it was not you, change your password and make new backup codes now.\n",
            user.email,
            origin.ip.as_deref().unwrap_or("an unknown address"),
        ),
    )
    .await;
    Ok(())
}

/// Counts a second-factor attempt under the brute-force limit of the sign-in rules, with the
/// account's password attempts.
pub(crate) async fn count(svc: &Service, user: &User, origin: &RequestOrigin) -> Result<()> {
    let rules = crate::settings::sign_in_rules(svc).await?;
    let now = svc.now();
    let key = account::attempt_key(&user.email);
    let address = account::address_key(origin.ip.as_deref());
    if let Err(until) = throttle::begin_attempt(&svc.db, &key, &address, code_limits(rules.limits()), now).await? {
        account::refuse(svc, Some(user), Refusal::Locked, origin).await?;
        return Err(Error::blocked_until(until, now));
    }
    Ok(())
}

/// The brute-force limit for second-factor codes: the sign-in rules', but never looser than
/// 10 attempts per address and 20 per account in 15 minutes, blocked at least 15 minutes,
/// whatever an administrator sets (a six-digit code has only a million values).
fn code_limits(mut l: throttle::Limits) -> throttle::Limits {
    const QUARTER: i64 = 15 * 60_000;
    l.per_address = l.per_address.min(10);
    l.per_account = l.per_account.min(20);
    l.period_ms = l.period_ms.max(QUARTER);
    l.block_ms = l.block_ms.max(QUARTER);
    l
}

/// Sends a code by SMS for a sign-in waiting for its second factor (to the phone named, or
/// the person's first one). Gives until when the code works.
pub async fn send_sign_in_code(
    svc: &Service,
    secret: &str,
    factor: Option<&FactorId>,
    origin: &RequestOrigin,
) -> Result<i64> {
    let hash = token::hash(secret);
    let challenge = second_factors::find_challenge(&svc.db, &hash, svc.now())
        .await?
        .filter(|c| c.purpose == "sign_in")
        .ok_or_else(|| Error::invalid("the sign-in challenge is unknown, used or expired: sign in again"))?;
    let user = people::get_user(&svc.db, &challenge.user_id).await?;
    let rules = crate::settings::sign_in_rules(svc).await?;
    if !rules.address_allowed(user.role, origin.ip.as_deref()) {
        return Err(Error::AddressDenied);
    }
    if !user.active {
        return Err(Error::invalid(
            "the sign-in challenge is unknown, used or expired: sign in again",
        ));
    }
    let phone = pick_phone(svc, &user, factor).await?;
    send_code(svc, &hash, &user, &phone, origin, "sign_in").await
}

/// The person's confirmed phone named (or their first).
async fn pick_phone(svc: &Service, user: &User, factor: Option<&FactorId>) -> Result<Factor> {
    let rules = super::rules(svc).await?;
    super::usable_factors(svc, &rules, user)
        .await?
        .into_iter()
        .find(|f| f.kind == "sms" && factor.is_none_or(|id| *id == f.id))
        .ok_or(Error::NotFound("phone"))
}

/// Sends a fresh code to a phone under challenge `key` (made if missing, for `purpose`),
/// counted per person and per number under the brute-force limit. Gives until when it works.
pub(crate) async fn send_code(
    svc: &Service,
    key: &str,
    user: &User,
    factor: &Factor,
    origin: &RequestOrigin,
    purpose: &str,
) -> Result<i64> {
    let phone = factor
        .phone
        .as_deref()
        .ok_or_else(|| Error::Internal("a phone factor without a number".into()))?;
    let now = svc.now();
    if second_factors::find_challenge(&svc.db, key, now).await?.is_none() {
        second_factors::create_challenge(
            &svc.db,
            NewChallenge {
                id_hash: key,
                user_id: &user.id,
                purpose,
                password_hash: None,
                expires_at: now + SIGN_IN_MS,
                ip: origin.ip.as_deref(),
                user_agent: origin.user_agent.as_deref(),
            },
            now,
        )
        .await?;
    }
    crate::sms::counted(svc, user, phone, purpose == "confirm").await?;
    let code = codes::sms_code();
    let expires_at = now + SMS_CODE_MS;
    second_factors::set_sms_code(&svc.db, key, &factor.id, &codes::sms_code_hash(key, &code), expires_at).await?;
    let body = format!(
        "{} is your Strongroom code. It works for 5 minutes. Nobody from Strongroom will ask you for it.",
        code.as_str()
    );
    // The provider's own words may quote the number: they go to the log, masked, and the
    // client (who may hold no more than a password) is told only that it failed.
    if let Err(e) = crate::sms::send(svc, phone, &body).await {
        return Err(match e {
            Error::Sms(_) => Error::Sms(
                "the SMS provider refused the message or could not be reached (the server log says why)".into(),
            ),
            other => other,
        });
    }
    Ok(expires_at)
}

/// The challenge key of a session's step-up.
pub(crate) fn step_up_key(session_hash: &str) -> String {
    token::hash(&format!("step-up:{session_hash}"))
}

/// Sends an SMS code for a step-up of the caller's session.
pub async fn send_step_up_code(svc: &Service, caller: &Caller, factor: Option<&FactorId>) -> Result<i64> {
    authorize(&caller.actor, Action::ManageOwnSecondFactors, Resource::Instance)?;
    let Some(session) = &caller.session_hash else {
        return Err(AuthError::SessionRequired("a step-up").into());
    };
    let user = people::get_user(&svc.db, &caller.actor.user_id).await?;
    let phone = pick_phone(svc, &user, factor).await?;
    send_code(svc, &step_up_key(session), &user, &phone, &caller.origin, "step_up").await
}

/// Gives a fresh factor for the caller's session (or, for someone without any, their
/// password): sensitive changes are allowed for the next `step_up_minutes`. Gives until when.
pub async fn step_up(svc: &Service, caller: &Caller, proof: Proof) -> Result<i64> {
    authorize(&caller.actor, Action::ManageOwnSecondFactors, Resource::Instance)?;
    let Some(session) = &caller.session_hash else {
        return Err(AuthError::SessionRequired("a step-up").into());
    };
    let user = people::get_user(&svc.db, &caller.actor.user_id).await?;
    count(svc, &user, &caller.origin).await?;
    let methods = sign_in_methods(svc, &user).await?;
    let key = step_up_key(session);
    let now = svc.now();
    let challenge = second_factors::find_challenge(&svc.db, &key, now).await?;
    if challenge.is_some() && !second_factors::count_attempt(&svc.db, &key, MAX_ATTEMPTS).await? {
        return step_up_refused(svc, caller, &user, "too_many_codes").await;
    }
    let pending = match proof.method {
        Method::Password if methods.is_empty() => {
            let (_, hash) = people::find_by_email(&svc.db, &user.email)
                .await?
                .ok_or(AuthError::InvalidCredentials)?;
            if password::verify(hash, proof.code).await? {
                None
            } else {
                return step_up_refused(svc, caller, &user, "bad_password").await;
            }
        }
        m if methods.contains(&m) => match check(svc, &user, &proof, challenge.as_ref()).await? {
            Some(s) => Some(s),
            None => return step_up_refused(svc, caller, &user, "bad_code").await,
        },
        _ => return step_up_refused(svc, caller, &user, "method_not_enrolled").await,
    };
    let mut change = svc.change_by(caller).await?;
    if let Some(s) = &pending
        && !spend(&mut change, s).await?
    {
        drop(change);
        return step_up_refused(svc, caller, &user, "replayed_code").await;
    }
    strongroom_store::sessions::verified(&mut change, session, proof.method.as_str()).await?;
    throttle::succeeded(
        &mut change,
        &account::attempt_key(&user.email),
        &account::address_key(caller.origin.ip.as_deref()),
    )
    .await?;
    change
        .commit(
            &caller
                .event(AuditAction::StepUp)
                .details(serde_json::json!({"method": proof.method.as_str()})),
        )
        .await?;
    if matches!(pending, Some(Spend::BackupCode { .. })) {
        backup_code_used(svc, &caller.actor, &caller.origin).await?;
    }
    Ok(now + super::rules(svc).await?.step_up_ms())
}

async fn step_up_refused<T>(svc: &Service, caller: &Caller, user: &User, reason: &str) -> Result<T> {
    let row = account::history_row("failure", Some(reason), Some(user), &caller.origin);
    strongroom_store::login_history::record(&svc.db, &row, svc.now()).await?;
    svc.audit(
        caller
            .event(AuditAction::StepUp)
            .outcome(Outcome::Failure)
            .details(serde_json::json!({"reason": reason})),
    )
    .await?;
    Err(AuthError::InvalidCode.into())
}
