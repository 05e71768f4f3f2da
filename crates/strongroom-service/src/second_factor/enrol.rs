//! A person's own second factors: enrolling an authenticator app or a phone (pending until a
//! first code confirms it), removing one, backup codes; and an administrator's reset of the
//! factors of someone who lost theirs.

use super::{Method, must_enrol, rules, verify};
use crate::{Caller, Error, Operator, Result, Service};
use base64::Engine;
use serde::Serialize;
use strongroom_auth::{codes, totp};
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::{FactorId, UserId};
use strongroom_core::{Action, Resource, authorize};
use strongroom_store::login_history::{self, NewLoginEvent};
use strongroom_store::people::{self, User};
use strongroom_store::second_factors::{self, Factor, NewFactor};
use strongroom_store::{Change, secrets};

/// Factors one person may have at once, pending ones included.
const MAX_FACTORS: usize = 10;
/// Wrong codes a pending factor takes before it is dropped (enrol it again).
const MAX_CONFIRM_ATTEMPTS: i64 = 5;
/// How long a pending factor waits for its first code.
const CONFIRM_MS: i64 = 15 * 60_000;

/// A second factor as its holder and administrators see it (never a seed; a phone masked).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FactorInfo {
    #[schema(value_type = String)]
    pub id: FactorId,
    /// `totp`, `sms` or `passkey`.
    pub kind: String,
    pub label: String,
    /// `sms`: the number, masked (`+44•••••••123`).
    pub phone: Option<String>,
    /// Pending factors wait for their first code and do not count yet.
    pub confirmed: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<&Factor> for FactorInfo {
    fn from(f: &Factor) -> Self {
        FactorInfo {
            id: f.id.clone(),
            kind: f.kind.clone(),
            label: f.label.clone(),
            phone: f.phone.as_deref().map(strongroom_sms::mask_phone),
            confirmed: f.confirmed_at.is_some(),
            created_at: f.created_at,
            last_used_at: f.last_used_at,
        }
    }
}

/// Where a person stands with second factors.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecondFactorStatus {
    pub factors: Vec<FactorInfo>,
    pub backup_codes_left: i64,
    /// The rules require a second factor of this person.
    pub required: bool,
    /// They must enrol one before they can do anything else.
    pub enrolment_required: bool,
    /// The methods they may enrol (`sms` only once an SMS provider is set up, `passkey` only
    /// when `public_url` names a host).
    pub methods: Vec<Method>,
}

/// The secret a TOTP factor's seed is sealed under.
pub(crate) fn seed_name(id: &FactorId) -> String {
    format!("second_factor:totp:{id}")
}

async fn status_of(svc: &Service, user: &User) -> Result<SecondFactorStatus> {
    let rules = rules(svc).await?;
    let groups = strongroom_store::grants::groups_of(&svc.db, &user.id).await?;
    let sms = crate::sms::configured(svc).await?;
    let passkeys = super::passkey::configured(svc);
    Ok(SecondFactorStatus {
        factors: second_factors::list(&svc.db, &user.id)
            .await?
            .iter()
            .map(FactorInfo::from)
            .collect(),
        backup_codes_left: second_factors::backup_codes_left(&svc.db, &user.id).await?,
        required: rules.requires(user.role, &groups),
        enrolment_required: must_enrol(svc, user).await?,
        methods: rules
            .methods
            .iter()
            .copied()
            .filter(|m| (*m != Method::Sms || sms) && (*m != Method::Passkey || passkeys))
            .collect(),
    })
}

/// The caller's own second factors.
pub async fn status(svc: &Service, caller: &Caller) -> Result<SecondFactorStatus> {
    authorize(&caller.actor, Action::ReadOwnAccount, Resource::Instance)?;
    status_of(svc, &people::get_user(&svc.db, &caller.actor.user_id).await?).await
}

/// Someone's second factors, for an administrator of people ranking above them (to see who
/// has not enrolled yet, and before a reset).
pub async fn status_for(svc: &Service, caller: &Caller, id: &UserId) -> Result<SecondFactorStatus> {
    authorize(&caller.actor, Action::ViewPeople, Resource::Instance)?;
    let user = people::get_user(&svc.db, id).await?;
    crate::people::may_manage(caller.into(), user.role, user.modules())?;
    status_of(svc, &user).await
}

/// What enrolling an authenticator app gives: scan the QR code (or type the secret), then
/// confirm with a first code. Shown this once: the seed is never given out again.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TotpEnrolment {
    pub factor: FactorInfo,
    /// `otpauth://totp/…`: what the QR code holds.
    pub uri: String,
    /// The seed in base32, for typing into an app by hand.
    pub secret: String,
    /// The QR code as a PNG image, base64.
    pub qr_png: String,
    /// The QR code as an SVG document.
    pub qr_svg: String,
}

/// Checks what every enrolment needs: the right, a fresh factor, an allowed method, room
/// for one more factor, a label.
pub(crate) async fn may_enrol(svc: &Service, caller: &Caller, method: Method, label: &str) -> Result<()> {
    authorize(&caller.actor, Action::ManageOwnSecondFactors, Resource::Instance)?;
    super::require_fresh(svc, caller, "enrolling a second factor").await?;
    if !rules(svc).await?.methods.contains(&method) {
        return Err(Error::forbidden(format!(
            "the second-factor rules do not allow {}",
            method.as_str()
        )));
    }
    if label.trim().is_empty() || label.chars().count() > 100 || label.chars().any(char::is_control) {
        return Err(Error::invalid(
            "label must be 1 to 100 characters, no control characters",
        ));
    }
    if second_factors::list(&svc.db, &caller.actor.user_id).await?.len() >= MAX_FACTORS {
        return Err(Error::Conflict(format!(
            "at most {MAX_FACTORS} second factors per person: remove one first"
        )));
    }
    Ok(())
}

/// Starts enrolling an authenticator app: a pending factor with a fresh seed (sealed).
pub async fn enrol_totp(svc: &Service, caller: &Caller, label: &str) -> Result<TotpEnrolment> {
    may_enrol(svc, caller, Method::Totp, label).await?;
    let seed = totp::generate_seed();
    let uri = totp::uri(&seed, "Strongroom", &caller.actor.email).map_err(Error::Internal)?;
    let png = totp::qr_png(&uri).map_err(Error::Internal)?;
    let svg = totp::qr_svg(&uri).map_err(Error::Internal)?;
    let mut change = svc.change_by(caller).await?;
    let factor = add(&mut change, caller, "totp", label.trim(), None).await?;
    secrets::put(&mut change, svc.blobs.keys(), &seed_name(&factor.id), &seed).await?;
    commit_added(svc, change, caller, &factor).await?;
    Ok(TotpEnrolment {
        factor: FactorInfo::from(&factor),
        uri,
        secret: totp::seed_base32(&seed),
        qr_png: base64::engine::general_purpose::STANDARD.encode(png),
        qr_svg: svg,
    })
}

/// Starts enrolling a phone: a pending factor, and a first code sent to it.
pub async fn enrol_sms(svc: &Service, caller: &Caller, phone: &str, label: &str) -> Result<(FactorInfo, i64)> {
    let label = if label.trim().is_empty() { "Phone" } else { label };
    may_enrol(svc, caller, Method::Sms, label).await?;
    if !crate::sms::configured(svc).await? {
        return Err(Error::NotConfigured("SMS"));
    }
    let phone = strongroom_sms::normalize_phone(phone).map_err(|e| Error::invalid(e.to_string()))?;
    let mut change = svc.change_by(caller).await?;
    let factor = add(&mut change, caller, "sms", label.trim(), Some(&phone)).await?;
    commit_added(svc, change, caller, &factor).await?;
    let user = people::get_user(&svc.db, &caller.actor.user_id).await?;
    let sent = verify::send_code(svc, &confirm_key(&factor.id), &user, &factor, &caller.origin, "confirm").await?;
    Ok((FactorInfo::from(&factor), sent))
}

/// Sends a pending phone's code again.
pub async fn resend_confirmation(svc: &Service, caller: &Caller, id: &FactorId) -> Result<i64> {
    authorize(&caller.actor, Action::ManageOwnSecondFactors, Resource::Instance)?;
    let factor = second_factors::get(&svc.db, &caller.actor.user_id, id).await?;
    if factor.kind != "sms" || factor.confirmed_at.is_some() {
        return Err(Error::Conflict(
            "only a pending phone is sent a confirmation code".into(),
        ));
    }
    if svc.now() - factor.created_at > CONFIRM_MS {
        return Err(Error::Conflict(
            "this pending phone waited too long for its first code: remove it and enrol again".into(),
        ));
    }
    let user = people::get_user(&svc.db, &caller.actor.user_id).await?;
    verify::send_code(svc, &confirm_key(&factor.id), &user, &factor, &caller.origin, "confirm").await
}

/// The key of the challenge that counts a pending factor's confirmation attempts.
fn confirm_key(id: &FactorId) -> String {
    strongroom_auth::token::hash(&format!("confirm:{id}"))
}

async fn add(change: &mut Change, caller: &Caller, kind: &str, label: &str, phone: Option<&str>) -> Result<Factor> {
    Ok(second_factors::add(
        change,
        NewFactor {
            user_id: &caller.actor.user_id,
            kind,
            label,
            phone,
            credential: None,
            confirmed: false,
        },
    )
    .await?)
}

pub(crate) async fn commit_added(svc: &Service, mut change: Change, caller: &Caller, factor: &Factor) -> Result<()> {
    history(&mut change, caller, "factor_added", &factor.kind).await?;
    change
        .commit(
            &caller
                .event(AuditAction::SecondFactorAdd)
                .target("second_factor", &factor.id)
                .details(serde_json::json!({"kind": factor.kind, "label": factor.label})),
        )
        .await?;
    // A factor planted from a stolen session shows up in the owner's mailbox.
    let user = people::get_user(&svc.db, &caller.actor.user_id).await?;
    crate::mail::notice(
        svc,
        &user,
        "A second factor was added to your Strongroom account",
        format!(
            "A second factor ({kind}, \"{label}\") was added to your Strongroom account {email}, from {ip}.\n\n\
             If it was not you, change your password, end your other sessions and remove it under your \
             account's second factors, and tell your administrator.\n",
            kind = factor.kind,
            label = factor.label,
            email = user.email,
            ip = caller.origin.ip.as_deref().unwrap_or("an unknown address"),
        ),
    )
    .await;
    Ok(())
}

/// A row of the caller's login history about their own factors.
async fn history(change: &mut Change, caller: &Caller, event: &str, kind: &str) -> Result<()> {
    let (browser, platform) = crate::device::describe(caller.origin.user_agent.as_deref());
    login_history::record_in(
        change,
        &NewLoginEvent {
            event,
            reason: Some(kind),
            user_id: Some(&caller.actor.user_id),
            email: Some(&caller.actor.email),
            ip: caller.origin.ip.as_deref(),
            browser: Some(browser),
            platform: Some(platform),
        },
    )
    .await?;
    Ok(())
}

/// A confirmed factor, and the backup codes made with a person's first one (shown once).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Confirmed {
    pub factor: FactorInfo,
    /// The ten backup codes, with the first factor only: keep them somewhere safe.
    pub backup_codes: Option<Vec<String>>,
}

/// Confirms a pending factor with its first code. The first factor of a person comes with
/// ten backup codes; the code counts as a fresh factor for the session.
pub async fn confirm(svc: &Service, caller: &Caller, id: &FactorId, code: &str) -> Result<Confirmed> {
    authorize(&caller.actor, Action::ManageOwnSecondFactors, Resource::Instance)?;
    let factor = second_factors::get(&svc.db, &caller.actor.user_id, id).await?;
    if factor.confirmed_at.is_some() {
        return Err(Error::Conflict("this second factor is confirmed already".into()));
    }
    if svc.now() - factor.created_at > CONFIRM_MS {
        return Err(Error::Conflict(
            "this pending second factor waited too long for its first code: remove it and enrol again".into(),
        ));
    }
    let key = confirm_key(&factor.id);
    let now = svc.now();
    if second_factors::find_challenge(&svc.db, &key, now).await?.is_none() {
        second_factors::create_challenge(
            &svc.db,
            second_factors::NewChallenge {
                id_hash: &key,
                user_id: &caller.actor.user_id,
                purpose: "confirm",
                password_hash: None,
                expires_at: factor.created_at + CONFIRM_MS,
                ip: caller.origin.ip.as_deref(),
                user_agent: caller.origin.user_agent.as_deref(),
            },
            now,
        )
        .await?;
    }
    if !second_factors::count_attempt(&svc.db, &key, MAX_CONFIRM_ATTEMPTS).await? {
        drop_pending(svc, caller, &factor).await?;
        return Err(Error::invalid(
            "too many wrong codes: this pending second factor is dropped, enrol again",
        ));
    }
    let challenge = second_factors::find_challenge(&svc.db, &key, now).await?;
    let pending = verify::check_factor(svc, &factor, code, challenge.as_ref()).await?;
    let Some(pending) = pending else {
        return Err(Error::invalid("the code is wrong or has expired"));
    };
    // Read before the change: on SQLite the change holds the one writing connection.
    let first = second_factors::backup_codes_left(&svc.db, &caller.actor.user_id).await? == 0;
    let mut change = svc.change_by(caller).await?;
    if !verify::spend(&mut change, &pending).await?
        || !second_factors::confirm(&mut change, &caller.actor.user_id, id).await?
    {
        return Err(Error::invalid("the code was used already"));
    }
    second_factors::take_challenge(&mut change, &key).await?;
    let backup_codes = if first {
        Some(new_backup_codes(&mut change, &caller.actor.user_id).await?)
    } else {
        None
    };
    if let Some(s) = &caller.session_hash {
        strongroom_store::sessions::verified(&mut change, s, &factor.kind).await?;
    }
    history(&mut change, caller, "factor_confirmed", &factor.kind).await?;
    change
        .commit(
            &caller
                .event(AuditAction::SecondFactorConfirm)
                .target("second_factor", &factor.id)
                .details(serde_json::json!({"kind": factor.kind, "backup_codes_made": first})),
        )
        .await?;
    let factor = second_factors::get(&svc.db, &caller.actor.user_id, id).await?;
    Ok(Confirmed {
        factor: FactorInfo::from(&factor),
        backup_codes,
    })
}

/// Drops a pending factor that took too many wrong codes (its seed too).
async fn drop_pending(svc: &Service, caller: &Caller, factor: &Factor) -> Result<()> {
    let mut change = svc.change_by(caller).await?;
    second_factors::remove(&mut change, &caller.actor.user_id, &factor.id).await?;
    secrets::delete(&mut change, &seed_name(&factor.id)).await?;
    history(&mut change, caller, "factor_removed", &factor.kind).await?;
    change
        .commit(
            &caller
                .event(AuditAction::SecondFactorRemove)
                .target("second_factor", &factor.id)
                .details(serde_json::json!({"kind": factor.kind, "reason": "too_many_codes"})),
        )
        .await?;
    Ok(())
}

/// Ten fresh backup codes for a person, replacing theirs; gives them (shown once).
pub(crate) async fn new_backup_codes(change: &mut Change, user: &UserId) -> Result<Vec<String>> {
    let codes: Vec<_> = (0..codes::BACKUP_CODES).map(|_| codes::backup_code()).collect();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| codes::backup_code_hash(user.as_str(), c))
        .collect();
    second_factors::replace_backup_codes(change, user, &hashes).await?;
    Ok(codes.iter().map(|c| c.to_string()).collect())
}

/// Replaces the caller's backup codes with ten new ones (a fresh factor needed; only for
/// someone with a confirmed factor).
pub async fn regenerate_backup_codes(svc: &Service, caller: &Caller) -> Result<Vec<String>> {
    authorize(&caller.actor, Action::ManageOwnSecondFactors, Resource::Instance)?;
    super::require_fresh(svc, caller, "making new backup codes").await?;
    let confirmed = second_factors::list(&svc.db, &caller.actor.user_id)
        .await?
        .iter()
        .any(|f| f.confirmed_at.is_some());
    if !confirmed {
        return Err(Error::Conflict(
            "backup codes come with a second factor: enrol one first".into(),
        ));
    }
    let mut change = svc.change_by(caller).await?;
    let codes = new_backup_codes(&mut change, &caller.actor.user_id).await?;
    history(&mut change, caller, "backup_codes_generated", "backup_code").await?;
    change.commit(&caller.event(AuditAction::BackupCodesGenerate)).await?;
    Ok(codes)
}

/// Removes one of the caller's factors (a fresh factor needed). The last one of someone the
/// rules require a factor of is refused: enrol another first. With the last confirmed one
/// the backup codes go too.
pub async fn remove(svc: &Service, caller: &Caller, id: &FactorId) -> Result<()> {
    authorize(&caller.actor, Action::ManageOwnSecondFactors, Resource::Instance)?;
    let factor = second_factors::get(&svc.db, &caller.actor.user_id, id).await?;
    if factor.confirmed_at.is_some() {
        super::require_fresh(svc, caller, "removing a second factor").await?;
    }
    let user = people::get_user(&svc.db, &caller.actor.user_id).await?;
    let others = second_factors::list(&svc.db, &user.id)
        .await?
        .into_iter()
        .filter(|f| f.id != factor.id && f.confirmed_at.is_some())
        .count();
    if factor.confirmed_at.is_some() && others == 0 {
        let rules = rules(svc).await?;
        let groups = strongroom_store::grants::groups_of(&svc.db, &user.id).await?;
        if rules.requires(user.role, &groups) {
            return Err(Error::Conflict(
                "the second-factor rules require a second factor of you: enrol another before removing your last"
                    .into(),
            ));
        }
    }
    let mut change = svc.change_by(caller).await?;
    if !second_factors::remove(&mut change, &user.id, id).await? {
        return Err(Error::NotFound("second factor"));
    }
    secrets::delete(&mut change, &seed_name(id)).await?;
    if others == 0 {
        second_factors::replace_backup_codes(&mut change, &user.id, &[]).await?;
    }
    history(&mut change, caller, "factor_removed", &factor.kind).await?;
    change
        .commit(
            &caller
                .event(AuditAction::SecondFactorRemove)
                .target("second_factor", id)
                .details(serde_json::json!({"kind": factor.kind, "label": factor.label})),
        )
        .await?;
    Ok(())
}

/// Removes every second factor and backup code of a person who lost theirs (an
/// administrator of people ranking above them, or the console; nobody resets their own).
/// They sign in with their password next, and enrol again if the rules require it; they are
/// told by e-mail. Gives how many factors were removed.
pub async fn reset(svc: &Service, by: Operator<'_>, id: &UserId) -> Result<usize> {
    if let Operator::User(c) = by {
        authorize(&c.actor, Action::ManagePeople, Resource::Instance)?;
        if c.actor.user_id == *id {
            return Err(Error::forbidden(
                "nobody resets their own second factors: remove them one by one",
            ));
        }
        super::require_fresh(svc, c, "resetting someone's second factors").await?;
    }
    let user = people::get_user(&svc.db, id).await?;
    crate::people::may_manage(by, user.role, user.modules())?;
    let mut change = svc.change_by_operator(by).await?;
    let removed = second_factors::remove_all(&mut change, &user.id).await?;
    for f in &removed {
        secrets::delete(&mut change, &seed_name(f)).await?;
    }
    let origin = match by {
        Operator::User(c) => c.origin.clone(),
        Operator::Console => Default::default(),
    };
    let by_whom = if matches!(by, Operator::Console) {
        "console"
    } else {
        "admin"
    };
    let row = crate::account::history_row("factor_reset", Some(by_whom), Some(&user), &origin);
    login_history::record_in(&mut change, &row).await?;
    change
        .commit(
            &by.event(AuditAction::SecondFactorReset)
                .target("user", &user.id)
                .details(serde_json::json!({"factors_removed": removed.len()})),
        )
        .await?;
    crate::mail::notice(
        svc,
        &user,
        "Your Strongroom second factors were reset",
        format!(
            "An administrator removed every second factor and backup code of your Strongroom account {}.\n\n\
             Sign in with your password and enrol an authenticator app or phone again. If you did not ask \
             for this, tell your administrator at once.\n",
            user.email
        ),
    )
    .await;
    Ok(removed.len())
}
