//! The service layer: every use case (create a room, share a folder, change a person, …) is
//! one function here, used alike by the HTTP API, the CLI and every later front-end (web
//! pages, WebDAV, editor callbacks). Each one authorizes (which hands back a permit), makes
//! its change through the store and commits the change together with its audit event, in one
//! database transaction. Front-ends parse their input, call one function, and map the result;
//! no rule is decided in them.
//!
//! This crate knows nothing of HTTP: errors say what went wrong ([`Error`]), and each
//! front-end maps them to its own answers.

pub mod access;
pub mod account;
pub mod audit;
mod caller;
use strongroom_core::device;
pub mod documents;
mod error;
pub mod files;
pub mod folders;
pub mod invitations;
pub mod links;
pub mod mail;
pub mod monitoring;
pub mod people;
pub mod privacy;
pub mod rooms;
pub mod second_factor;
pub mod settings;
pub mod sharing;
pub mod siem;
pub mod sign_in;
pub mod sms;
pub mod uploads;

pub use caller::{Caller, LinkCaller, Operator, Requester};
pub use error::{Error, Result};

use std::sync::Arc;
use strongroom_auth::AuthError;
use strongroom_core::Clock;
use strongroom_core::audit::AuditEvent;
use strongroom_store::sessions::{self, SignIn};
use strongroom_store::{BlobStore, Change, Db};

/// What every use case works with: the database, the blob store and the clock. Cheap to
/// clone. Nothing here is per-process state that matters for correctness, so several server
/// processes can run against one PostgreSQL and one bucket.
#[derive(Clone)]
pub struct Service {
    pub db: Db,
    pub blobs: BlobStore,
    pub clock: Arc<dyn Clock>,
    /// How long a browser session lasts until the sign-in rules are set (`[auth] session_hours`).
    pub session_ms: i64,
    /// Where people reach the instance (`public_url`), for links in mail.
    pub public_url: String,
    /// The uploads going on in this process, for the limit of uploads at once (a limit per
    /// process, so it needs no shared state).
    pub uploads: uploads::UploadSlots,
}

impl Service {
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Starts a change: its writes and its audit event commit together, or not at all.
    pub async fn change(&self) -> Result<Change> {
        Ok(Change::begin(&self.db, self.now()).await?)
    }

    /// Starts a change made by a signed-in person or a link holder. Their sign-in is checked
    /// again inside it: a session ended, a token revoked, a person disabled or a link revoked
    /// while the request was on its way (a long upload, a queued request) makes it
    /// unauthenticated, and nothing is written.
    pub async fn change_by<'a>(&self, who: impl Into<Requester<'a>>) -> Result<Change> {
        let mut change = self.change().await?;
        let how = match who.into() {
            Requester::User(c) => match (&c.session_hash, &c.token_hash) {
                (Some(session), _) => SignIn::Session(session),
                (None, Some(token)) => SignIn::Token(token),
                (None, None) => return Err(AuthError::Unauthenticated.into()),
            },
            Requester::Link(l) => SignIn::LinkSession(&l.session_hash),
        };
        if !sessions::still_signed_in(&mut change, how).await? {
            return Err(AuthError::Unauthenticated.into());
        }
        Ok(change)
    }

    /// Starts a change by an operator: a signed-in person's sign-in is checked again inside
    /// it (see [`Service::change_by`]); the console has none to lose.
    pub async fn change_by_operator(&self, by: Operator<'_>) -> Result<Change> {
        match by {
            Operator::User(c) => self.change_by(c).await,
            Operator::Console => self.change().await,
        }
    }

    /// Records an audit event that changes nothing else (a download, a view, a refusal).
    /// Changes record theirs with [`Change::commit`].
    pub async fn audit(&self, event: AuditEvent) -> Result<()> {
        strongroom_store::audit::record(&self.db, &event, self.now()).await?;
        Ok(())
    }

    /// Deletes the bytes of purged blobs now, in the background (the periodic sweeper would
    /// get to them later anyway).
    pub fn sweep_now(&self) {
        let (db, blobs) = (self.db.clone(), self.blobs.clone());
        tokio::spawn(async move {
            if let Err(e) = strongroom_store::content::sweep_garbage(&db, &blobs, 1000).await {
                tracing::warn!(error = %e, "blob sweep failed; will retry");
            }
        });
    }
}
