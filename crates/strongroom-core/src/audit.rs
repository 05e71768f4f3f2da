//! The vocabulary of the audit trail. Events are recorded by exactly one function in the store
//! (`strongroom_store::audit::record`); this module only says what an event is.

use serde::Serialize;

/// Whether the audited attempt succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// Where a request came from, as far as the server can tell.
#[derive(Clone, Debug, Default)]
pub struct RequestOrigin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// One entry of the audit trail. `action` is a dotted name such as `file.download`,
/// `auth.login`, `room.member.set`; `module` is the product module it belongs to.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub action: &'static str,
    pub module: &'static str,
    pub outcome: Outcome,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub target_kind: Option<&'static str>,
    pub target_id: Option<String>,
    /// Small JSON object with details (names, sizes, versions) — never secrets or content.
    pub details: serde_json::Value,
    pub origin: RequestOrigin,
}

impl AuditEvent {
    pub fn new(action: &'static str, module: &'static str) -> Self {
        AuditEvent {
            action,
            module,
            outcome: Outcome::Success,
            actor_id: None,
            actor_email: None,
            target_kind: None,
            target_id: None,
            details: serde_json::Value::Null,
            origin: RequestOrigin::default(),
        }
    }
    pub fn target(mut self, kind: &'static str, id: impl ToString) -> Self {
        self.target_kind = Some(kind);
        self.target_id = Some(id.to_string());
        self
    }
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
    pub fn by(mut self, actor: &crate::Actor) -> Self {
        self.actor_id = Some(actor.user_id.to_string());
        self.actor_email = Some(actor.email.clone());
        self
    }
    /// By the holder of an external link: the actor is recorded as `link:<link id>`.
    pub fn by_link(mut self, link_id: &str) -> Self {
        self.actor_id = Some(format!("link:{link_id}"));
        self.actor_email = None;
        self
    }
    pub fn from_origin(mut self, origin: &RequestOrigin) -> Self {
        self.origin = origin.clone();
        self
    }
}
