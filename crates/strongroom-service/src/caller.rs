//! Who a use case acts for: a signed-in person or an external link's holder ([`Requester`]),
//! and for administration a signed-in person or the operator at the machine's console
//! ([`Operator`]).

use strongroom_core::audit::{AuditAction, AuditEvent, Initiator, RequestOrigin};
use strongroom_core::{Actor, LinkHolder, Principal};
use strongroom_store::links::Link;

/// A signed-in person, with the sign-in the request came through (checked again inside every
/// change, see [`crate::Service::change_by`]).
pub struct Caller {
    pub actor: Actor,
    pub origin: RequestOrigin,
    /// The stored hash of the browser session, when signed in by session cookie.
    pub session_hash: Option<String>,
    /// The stored hash of the API token, when signed in by bearer token.
    pub token_hash: Option<String>,
    /// When the browser session last had a factor given (its sign-in or a step-up); none for
    /// API tokens, which never count as fresh.
    pub verified_at: Option<i64>,
}

impl Caller {
    /// An audit event by this caller, from where the request came.
    pub fn event(&self, action: AuditAction) -> AuditEvent {
        let via = if self.token_hash.is_some() {
            Initiator::Api
        } else {
            Initiator::Web
        };
        AuditEvent::new(action)
            .by(&self.actor)
            .from_origin(&self.origin)
            .initiated_by(via)
    }
}

/// The holder of an unlocked external link. The link is live: neither expired nor revoked.
pub struct LinkCaller {
    pub link: Link,
    /// The stored hash of the link session the request came with.
    pub session_hash: String,
    pub holder: LinkHolder,
    pub origin: RequestOrigin,
}

/// Who a request acts for, as the audit trail records them and a watermark names them.
#[derive(Clone, Copy)]
pub enum Requester<'a> {
    User(&'a Caller),
    Link(&'a LinkCaller),
}

impl<'a> From<&'a Caller> for Requester<'a> {
    fn from(c: &'a Caller) -> Self {
        Requester::User(c)
    }
}

impl<'a> From<&'a LinkCaller> for Requester<'a> {
    fn from(l: &'a LinkCaller) -> Self {
        Requester::Link(l)
    }
}

impl Requester<'_> {
    /// An audit event by this requester, from where the request came.
    pub fn event(&self, action: AuditAction) -> AuditEvent {
        match self {
            Requester::User(c) => c.event(action),
            Requester::Link(l) => AuditEvent::new(action)
                .by_link(l.link.id.as_str())
                .from_origin(&l.origin),
        }
    }

    /// The principal `authorize` decides for.
    pub fn principal(&self) -> Principal<'_> {
        match self {
            Requester::User(c) => Principal::User(&c.actor),
            Requester::Link(l) => Principal::Link(&l.holder),
        }
    }

    pub fn origin(&self) -> &RequestOrigin {
        match self {
            Requester::User(c) => &c.origin,
            Requester::Link(l) => &l.origin,
        }
    }
}

/// Who administers people and the instance: a signed-in person, bound by their role and
/// rank, or the operator at the machine's console (the CLI), who can run the binary against
/// the instance's configuration and database and so already holds everything.
#[derive(Clone, Copy)]
pub enum Operator<'a> {
    User(&'a Caller),
    Console,
}

impl<'a> From<&'a Caller> for Operator<'a> {
    fn from(c: &'a Caller) -> Self {
        Operator::User(c)
    }
}

impl Operator<'_> {
    /// An audit event by this operator (the console is recorded as `cli`).
    pub fn event(&self, action: AuditAction) -> AuditEvent {
        match self {
            Operator::User(c) => c.event(action),
            Operator::Console => AuditEvent::new(action).by_console(),
        }
    }
}
