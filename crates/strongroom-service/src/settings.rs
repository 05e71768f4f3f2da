//! Instance settings: the password policy, the sign-in rules; encryption at rest (its state, and converting
//! what is stored).

use crate::{Caller, Error, Operator, Result, Service};
use secrecy::SecretString;
use strongroom_auth::password::PasswordPolicy;
use strongroom_core::audit::AuditAction;
use strongroom_core::{Action, Resource, Role, authorize};
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
    policy.validate().map_err(Error::Invalid)?;
    put(
        svc,
        by,
        PASSWORD_POLICY,
        AuditAction::PasswordPolicySet,
        policy,
        PasswordPolicy::default(),
    )
    .await
}

/// Stores setting `name` (administrators of settings, or the console), audited with what
/// changed, field by field; an unchanged value writes nothing.
pub(crate) async fn put<T>(
    svc: &Service,
    by: Operator<'_>,
    name: &str,
    action: AuditAction,
    value: T,
    default: T,
) -> Result<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq,
{
    if let Operator::User(c) = by {
        authorize(&c.actor, Action::ManageSettings, Resource::Instance)?;
    }
    let current: Option<T> = strongroom_store::settings::get(&svc.db, name).await?;
    if current.as_ref().unwrap_or(&default) == &value {
        return Ok(value);
    }
    let mut change = svc.change_by_operator(by).await?;
    let before = strongroom_store::settings::put(&mut change, name, &value)
        .await?
        .unwrap_or(default);
    change
        .commit(
            &by.event(action)
                .details(serde_json::json!({"changed": changed(&before, &value)})),
        )
        .await?;
    Ok(value)
}

/// The setting's name in the database.
const SIGN_IN_RULES: &str = "sign_in_rules";

/// The rules of signing in an administrator sets (`/api/v1/settings/security/sign-in`,
/// `strongroom admin settings sign-in`): the brute-force limit, how long sessions last, how
/// long the login history is kept. Every field has a default, unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SignInRules {
    /// Wrong attempts one account may take from one address in a period (1 to 100).
    pub max_attempts: u32,
    /// Wrong attempts one account may take from all addresses together in a period (at
    /// least `max_attempts`, at most 10,000): a guesser spread over many addresses.
    pub max_attempts_per_account: u32,
    /// The period the attempts are counted in, in minutes (1 to 1440).
    pub attempt_period_minutes: u32,
    /// How long an address (or, past its own limit, the account) is then blocked, in
    /// minutes (1 to 10,080).
    pub block_minutes: u32,
    /// How long a session lasts from sign-in, in hours (1 to 720). Shortening it ends
    /// sessions older than the new lifetime.
    pub session_hours: u32,
    /// A session unused this many minutes ends (0: never; at most 10,080).
    pub idle_minutes: u32,
    /// Days the login history is kept (1 to 3,650).
    pub login_history_days: u32,
    /// The addresses and ranges (IPv4 or IPv6, `192.0.2.0/24`, `2001:db8::/32`, or one
    /// address) everyone must sign in and work from; empty: any. Checked at sign-in and on
    /// every request.
    pub allowed_addresses: Vec<String>,
    /// The addresses administrators (the Owner and Administrators) must also come from;
    /// empty: no more than `allowed_addresses`.
    pub admin_allowed_addresses: Vec<String>,
}

impl Default for SignInRules {
    fn default() -> Self {
        SignInRules {
            max_attempts: 5,
            max_attempts_per_account: 50,
            attempt_period_minutes: 15,
            block_minutes: 15,
            session_hours: 12,
            idle_minutes: 60,
            login_history_days: 365,
            allowed_addresses: Vec::new(),
            admin_allowed_addresses: Vec::new(),
        }
    }
}

impl SignInRules {
    pub fn validate(&self) -> std::result::Result<(), String> {
        let within = |v: u32, lo: u32, hi: u32, name: &str| {
            if v < lo || v > hi {
                Err(format!("{name} must be between {lo} and {hi}"))
            } else {
                Ok(())
            }
        };
        within(self.max_attempts, 1, 100, "max_attempts")?;
        // The account's limit well above one address's: else guesses from one address would
        // lock its holder out everywhere.
        within(
            self.max_attempts_per_account,
            self.max_attempts.saturating_mul(2),
            10_000,
            "max_attempts_per_account (at least twice max_attempts)",
        )?;
        within(self.attempt_period_minutes, 1, 1440, "attempt_period_minutes")?;
        // A block shorter than the period would let a fresh budget in before the period ends.
        within(
            self.block_minutes,
            self.attempt_period_minutes,
            10_080,
            "block_minutes (at least attempt_period_minutes)",
        )?;
        within(self.session_hours, 1, 720, "session_hours")?;
        within(self.idle_minutes, 0, 10_080, "idle_minutes")?;
        within(self.login_history_days, 1, 3650, "login_history_days")?;
        for (name, list) in [
            ("allowed_addresses", &self.allowed_addresses),
            ("admin_allowed_addresses", &self.admin_allowed_addresses),
        ] {
            if list.len() > 1000 {
                return Err(format!("{name} holds at most 1000 ranges"));
            }
            for r in list {
                range(r).map_err(|e| format!("{name}: {e}"))?;
            }
        }
        Ok(())
    }

    /// The rules with each address range in its canonical form (`10.1.2.3/8` is
    /// `10.0.0.0/8`), as stored.
    pub fn canonical(mut self) -> std::result::Result<Self, String> {
        for list in [&mut self.allowed_addresses, &mut self.admin_allowed_addresses] {
            for r in list.iter_mut() {
                *r = range(r)?.to_string();
            }
        }
        Ok(self)
    }

    /// Whether a person of `role` may sign in and work from `ip` (none: unknown, which no
    /// list allows).
    pub fn address_allowed(&self, role: Role, ip: Option<&str>) -> bool {
        let ip = ip
            .and_then(|s| s.parse::<std::net::IpAddr>().ok())
            .map(|a| a.to_canonical());
        let within = |list: &[String]| {
            list.is_empty() || ip.is_some_and(|a| list.iter().filter_map(|r| range(r).ok()).any(|net| net.contains(&a)))
        };
        within(&self.allowed_addresses)
            && (!matches!(role, Role::Owner | Role::Admin) || within(&self.admin_allowed_addresses))
    }

    pub fn limits(&self) -> strongroom_store::throttle::Limits {
        strongroom_store::throttle::Limits {
            per_address: i64::from(self.max_attempts),
            per_account: i64::from(self.max_attempts_per_account),
            period_ms: i64::from(self.attempt_period_minutes) * 60_000,
            block_ms: i64::from(self.block_minutes) * 60_000,
        }
    }

    pub fn lifetime_ms(&self) -> i64 {
        i64::from(self.session_hours) * 3_600_000
    }

    /// The idle timeout (none: off).
    pub fn idle_ms(&self) -> Option<i64> {
        (self.idle_minutes > 0).then(|| i64::from(self.idle_minutes) * 60_000)
    }
}

/// An address range as an administrator writes it: CIDR, or one address.
fn range(s: &str) -> std::result::Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map(|n| n.trunc())
        .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))
}

impl Service {
    /// The sign-in rules until an administrator sets them: the defaults, with the session
    /// lifetime of the configuration (`[auth] session_hours`).
    fn default_sign_in_rules(&self) -> SignInRules {
        SignInRules {
            session_hours: u32::try_from(self.session_ms / 3_600_000).unwrap_or(12).clamp(1, 720),
            ..SignInRules::default()
        }
    }
}

/// The sign-in rules in force, read from the database at every use (every node applies a
/// change at once).
pub async fn sign_in_rules(svc: &Service) -> Result<SignInRules> {
    Ok(strongroom_store::settings::get(&svc.db, SIGN_IN_RULES)
        .await?
        .unwrap_or_else(|| svc.default_sign_in_rules()))
}

/// The sign-in rules, for administrators of settings.
pub async fn read_sign_in_rules(svc: &Service, caller: &Caller) -> Result<SignInRules> {
    authorize(&caller.actor, Action::ManageSettings, Resource::Instance)?;
    sign_in_rules(svc).await
}

/// Sets the sign-in rules (administrators of settings, or the console), audited rule by rule.
///
/// A signed-in administrator cannot lock themselves out: the address they send the change
/// from must be allowed by it (the console can always change the rules).
pub async fn set_sign_in_rules(svc: &Service, by: Operator<'_>, rules: SignInRules) -> Result<SignInRules> {
    rules.validate().map_err(Error::Invalid)?;
    let rules = rules.canonical().map_err(Error::Invalid)?;
    if let Operator::User(c) = by {
        authorize(&c.actor, Action::ManageSettings, Resource::Instance)?;
        // The brute-force limit guards passwords and second-factor codes: a fresh factor.
        crate::second_factor::require_fresh(svc, c, "changing the sign-in rules").await?;
        // The address rules bind the Owner too: only the Owner (or the console) changes them.
        let current = sign_in_rules(svc).await?;
        let addresses_changed = current.allowed_addresses != rules.allowed_addresses
            || current.admin_allowed_addresses != rules.admin_allowed_addresses;
        if addresses_changed && c.actor.role != Role::Owner {
            authorize(&c.actor, Action::ManageSettings, Resource::Instance)?;
            return Err(Error::Forbidden("only the Owner changes the address rules".into()));
        }
    }
    if let Operator::User(c) = by
        && !rules.address_allowed(c.actor.role, c.origin.ip.as_deref())
    {
        return Err(Error::invalid(format!(
            "these address rules would refuse your own address ({}): add it first",
            c.origin.ip.as_deref().unwrap_or("unknown")
        )));
    }
    let default = svc.default_sign_in_rules();
    put(svc, by, SIGN_IN_RULES, AuditAction::SignInRulesSet, rules, default).await
}

/// Each field of a setting that differs, from → to.
pub(crate) fn changed<T: serde::Serialize>(before: &T, after: &T) -> serde_json::Map<String, serde_json::Value> {
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
    crate::second_factor::require_fresh(svc, caller, "converting what is stored").await?;
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
