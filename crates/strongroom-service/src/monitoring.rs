//! Monitoring for the audit module: reports counted over the trail, and alert rules (more than
//! N matching events by one person or from one address within M minutes) that mail the
//! officers named and write an `audit.alert` event.

use crate::{Caller, Error, Operator, Result, Service};
use strongroom_core::audit::{AuditAction, AuditEvent};
use strongroom_core::{Action, Resource, authorize};
use strongroom_store::audit::report::{self, Report, ReportRow};

/// The setting's name in the database.
pub(crate) const ALERT_RULES: &str = "alerts";

/// The longest report.
pub const MAX_REPORT: i64 = 10_000;

/// A report over `from` ≤ time < `to` (ms since the epoch), largest counts first (the audit
/// module).
pub async fn report(
    svc: &Service,
    caller: &Caller,
    which: Report,
    from: i64,
    to: i64,
    limit: i64,
) -> Result<Vec<ReportRow>> {
    authorize(&caller.actor, Action::ReadAudit, Resource::Instance)?;
    if from >= to {
        return Ok(vec![]);
    }
    Ok(report::run(&svc.db, which, from, to, limit.clamp(1, MAX_REPORT)).await?)
}

/// What an alert rule counts per.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// The person (or link) who acted.
    Actor,
    /// The client address.
    Ip,
    /// The person (or item) acted on: refused sign-ins name the account tried as target.
    Target,
}

/// An outcome an alert rule may be limited to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleOutcome {
    Success,
    Failure,
    Denied,
}

/// One alert rule.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// What the alert is called in its mail and event (a name as for rooms: 1 to 255
    /// characters).
    pub name: String,
    /// The audit actions counted (e.g. `file.download`); 1 to 50 of them.
    pub actions: Vec<String>,
    /// Only events with this outcome; any when omitted.
    #[serde(default)]
    pub outcome: Option<RuleOutcome>,
    /// Count per person or per client address.
    pub per: Per,
    /// Fires when more than this many events fall within the window: 1 to 1,000,000.
    pub threshold: u32,
    /// The window, in minutes: 1 to 10,080 (a week). A rule fires at most once a window for
    /// the same person or address.
    pub window_minutes: u32,
    /// Who is mailed when it fires: at most 20 addresses, each of an active person who
    /// reads the audit trail (checked again at each firing, so someone who lost the audit
    /// module, was frozen or erased gets nothing); the event is written either way.
    #[serde(default)]
    pub notify: Vec<String>,
}

impl AlertRule {
    /// What the rule's firings are remembered by: its whole definition, so a changed rule
    /// starts afresh and two rules of one name do not share their windows.
    fn key(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&json))
    }
}

/// Every alert rule (`/api/v1/settings/alerts`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AlertRules {
    /// At most 50.
    pub rules: Vec<AlertRule>,
}

impl AlertRules {
    /// Checks every rule; the first fault found is named. Two rules may share a name: a rule
    /// is known by its whole definition (see [`AlertRule::key`]).
    pub fn validate(&mut self) -> std::result::Result<(), String> {
        if self.rules.len() > 50 {
            return Err("at most 50 alert rules".into());
        }
        for r in &mut self.rules {
            r.name = strongroom_store::people::check_name("an alert rule's", &r.name).map_err(|e| e.to_string())?;
            if r.actions.is_empty() || r.actions.len() > 50 {
                return Err(format!("rule {:?}: name 1 to 50 actions", r.name));
            }
            for a in &r.actions {
                if AuditAction::parse(a).is_none() {
                    return Err(format!(
                        "rule {:?}: {a:?} is no audit action (see docs/audit.md)",
                        r.name
                    ));
                }
            }
            if !(1..=1_000_000).contains(&r.threshold) {
                return Err(format!("rule {:?}: threshold must be 1 to 1000000", r.name));
            }
            if !(1..=10_080).contains(&r.window_minutes) {
                return Err(format!("rule {:?}: window_minutes must be 1 to 10080", r.name));
            }
            if r.notify.len() > 20 {
                return Err(format!("rule {:?}: at most 20 addresses to notify", r.name));
            }
            for m in &mut r.notify {
                *m = strongroom_store::people::normalize_email(m)
                    .map_err(|_| format!("rule {:?}: {m:?} is not an e-mail address", r.name))?;
            }
        }
        Ok(())
    }
}

/// The alert rules in force.
pub async fn alert_rules(svc: &Service) -> Result<AlertRules> {
    Ok(strongroom_store::settings::get(&svc.db, ALERT_RULES)
        .await?
        .unwrap_or_default())
}

fn may_read(caller: &Caller) -> Result<()> {
    authorize(&caller.actor, Action::ReadAudit, Resource::Instance)?;
    Ok(())
}

/// The alert rules without `email` among the addresses they mail, if it was there: for an
/// erasure, which stores them in its own change.
pub(crate) async fn rules_without(svc: &Service, email: &str) -> Result<Option<AlertRules>> {
    let mut rules = alert_rules(svc).await?;
    let mut found = false;
    for r in &mut rules.rules {
        let before = r.notify.len();
        r.notify.retain(|m| !m.eq_ignore_ascii_case(email));
        found |= r.notify.len() != before;
    }
    Ok(found.then_some(rules))
}

/// The alert rules, for the audit module.
pub async fn read_alert_rules(svc: &Service, caller: &Caller) -> Result<AlertRules> {
    may_read(caller)?;
    alert_rules(svc).await
}

/// Whether `email` is an active person of the audit module: the only people an alert
/// mails, since an alert tells what the trail says.
async fn officer(svc: &Service, email: &str) -> Result<bool> {
    let Some((u, _)) = strongroom_store::people::find_by_email(&svc.db, email).await? else {
        return Ok(false);
    };
    Ok(u.active
        && u.frozen_at.is_none()
        && match u.role {
            strongroom_core::Role::Owner => true,
            strongroom_core::Role::Admin => u.modules().contains(strongroom_core::Module::Audit),
            _ => false,
        })
}

/// Replaces the alert rules: administrators of both the audit trail and the settings (a rule
/// mails what the trail says to the addresses it names), or the console.
pub async fn set_alert_rules(svc: &Service, by: Operator<'_>, mut rules: AlertRules) -> Result<AlertRules> {
    if let Operator::User(c) = by {
        may_read(c)?;
    }
    rules.validate().map_err(Error::invalid)?;
    for r in &rules.rules {
        for m in &r.notify {
            if !officer(svc, m).await? {
                return Err(Error::invalid(format!(
                    "rule {:?}: {m} is not an active person of the audit module; alerts are mailed to them only",
                    r.name
                )));
            }
        }
    }
    crate::settings::put(
        svc,
        by,
        ALERT_RULES,
        AuditAction::AlertRulesSet,
        rules,
        AlertRules::default(),
    )
    .await
}

/// Checks every rule once (every node does, every few seconds; a rule fires for the same
/// person or address once a window, whichever node claims it first: the claim and the
/// `audit.alert` event commit together). A rule that cannot be checked is logged and the
/// others still are. Returns how many fired.
pub async fn check_alerts(svc: &Service) -> Result<u32> {
    let rules = alert_rules(svc).await?;
    let now = svc.now();
    let mut fired = 0;
    for rule in &rules.rules {
        match check_rule(svc, rule, now).await {
            Ok(n) => fired += n,
            Err(e) => tracing::warn!(rule = %rule.name, error = %e, "an alert rule could not be checked"),
        }
    }
    Ok(fired)
}

async fn check_rule(svc: &Service, rule: &AlertRule, now: i64) -> Result<u32> {
    let since = now - i64::from(rule.window_minutes) * 60_000;
    let outcome = rule.outcome.map(|o| match o {
        RuleOutcome::Success => "success",
        RuleOutcome::Failure => "failure",
        RuleOutcome::Denied => "denied",
    });
    let key = rule.key();
    let column = match rule.per {
        Per::Actor => report::Counted::Actor,
        Per::Ip => report::Counted::Ip,
        Per::Target => report::Counted::Target,
    };
    let over = report::over_threshold(
        &svc.db,
        &report::Watch {
            rule: &key,
            actions: &rule.actions,
            outcome,
            by: column,
            since,
            threshold: i64::from(rule.threshold),
        },
    )
    .await?;
    let mut fired = 0;
    for (subject, count) in over {
        let who = describe(svc, rule, &subject).await;
        let kind = match rule.per {
            Per::Ip => "address",
            Per::Actor | Per::Target => "user",
        };
        let event = AuditEvent::new(AuditAction::AlertFire)
            .target(kind, &subject)
            .details(serde_json::json!({
                "rule": rule.name, "per": rule.per, "count": count, "threshold": rule.threshold,
                "window_minutes": rule.window_minutes, "actions": rule.actions, "notify": rule.notify.len(),
            }));
        if !report::claim_alert(&svc.db, &key, &subject, since, now, &event).await? {
            continue;
        }
        fired += 1;
        mail(svc, rule, &who, &subject, count).await;
    }
    Ok(fired)
}

/// Who or what an alert is about, for its mail.
async fn describe(svc: &Service, rule: &AlertRule, subject: &str) -> String {
    if rule.per == Per::Ip {
        return format!("address {subject}");
    }
    match strongroom_core::ids::UserId::parse(subject) {
        Ok(id) => match strongroom_store::people::get_user(&svc.db, &id).await {
            Ok(u) => format!("{} <{}>", u.display_name, u.email),
            Err(_) => subject.to_string(),
        },
        Err(_) => subject.to_string(),
    }
}

/// Mails the rule's addresses that are still people of the audit module (after the event:
/// a mail that fails is logged, the alert stands in the trail).
async fn mail(svc: &Service, rule: &AlertRule, who: &str, subject: &str, count: i64) {
    let by = match rule.per {
        Per::Actor => "by",
        Per::Ip => "from",
        Per::Target => "on",
    };
    let filter = match rule.per {
        Per::Actor => "actor",
        Per::Ip => "ip",
        Per::Target => "target",
    };
    let text = format!(
        "Alert rule {:?} fired: {count} events ({}) {by} {who} within {} minutes, more than its threshold of {}.\n\n\
         The events: GET /api/v1/audit?{filter}={subject}&action={}\n",
        rule.name,
        rule.actions.join(", "),
        rule.window_minutes,
        rule.threshold,
        rule.actions.join(","),
    );
    for to in &rule.notify {
        match officer(svc, to).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(rule = %rule.name, "an alert address is no longer an active person of the audit module: not mailed");
                continue;
            }
            Err(e) => {
                tracing::warn!(rule = %rule.name, error = %e, "an alert address could not be checked: not mailed");
                continue;
            }
        }
        if let Err(e) = crate::mail::send(svc, to, &format!("Strongroom alert: {}", rule.name), text.clone()).await {
            tracing::warn!(rule = %rule.name, error = %e, "an alert could not be mailed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> AlertRule {
        AlertRule {
            name: " Bulk downloads ".into(),
            actions: vec!["file.download".into()],
            outcome: None,
            per: Per::Actor,
            threshold: 100,
            window_minutes: 10,
            notify: vec!["Officer@Clinic.Example".into()],
        }
    }

    #[test]
    fn rules_are_checked_and_tidied() {
        let mut ok = AlertRules { rules: vec![rule()] };
        ok.validate().unwrap();
        assert_eq!(ok.rules[0].name, "Bulk downloads");
        assert_eq!(ok.rules[0].notify, ["officer@clinic.example"]);
        type Spoil = fn(&mut AlertRule);
        let bad: Vec<(Spoil, &str)> = vec![
            (|r| r.name = "  ".into(), "must not be empty"),
            (|r| r.actions = vec![], "1 to 50 actions"),
            (|r| r.actions = vec!["file.downloads".into()], "is no audit action"),
            (|r| r.threshold = 0, "threshold must be 1 to 1000000"),
            (|r| r.window_minutes = 10_081, "window_minutes must be 1 to 10080"),
            (|r| r.notify = vec!["not an address".into()], "is not an e-mail address"),
        ];
        for (spoil, want) in bad {
            let mut r = rule();
            spoil(&mut r);
            let err = AlertRules { rules: vec![r] }.validate().unwrap_err();
            assert!(err.contains(want), "{err}");
        }
        let mut other = rule();
        other.threshold = 5;
        assert_ne!(rule().key(), other.key());
        assert_eq!(rule().key(), rule().key());
    }
}
