//! A change: the writes of one use case and its audit event, in one database transaction.
//!
//! Every function of the store that changes something takes a `&mut Change` (and the
//! [`Permit`](strongroom_core::access::Permit) that allows it) instead of the pool, and does
//! all its reads and writes on the change's connection. The change commits only through
//! [`Change::commit`], which writes its audit events last, in the same transaction: if they
//! cannot be written, nothing is. A change dropped without committing (an error, a panic, a client gone) rolls
//! back.
//!
//! On SQLite the change holds the one writer connection until it ends, so nothing slow (a
//! password hash, a blob transfer) may happen between [`Change::begin`] and the commit, and
//! nothing in between may use `Db::pool`.

use crate::audit;
use crate::db::Db;
use crate::error::Result;
use sqlx::{Any, AnyConnection, Transaction};
use strongroom_core::audit::AuditEvent;

pub struct Change {
    tx: Transaction<'static, Any>,
    now: i64,
    /// Events recorded so far; written to the chain at commit, so the chain's head is locked
    /// only for the moment of committing.
    events: Vec<AuditEvent>,
}

impl Change {
    /// Starts a change at `now` (ms since the epoch; every row it writes carries this time).
    pub async fn begin(db: &Db, now: i64) -> Result<Change> {
        Ok(Change {
            tx: db.pool.begin().await?,
            now,
            events: Vec::new(),
        })
    }

    /// The time the change happens at.
    pub fn now(&self) -> i64 {
        self.now
    }

    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Records one more event in the change (a change that is several things at once, such
    /// as a new password and a new role, records each).
    pub async fn record(&mut self, event: &AuditEvent) -> Result<()> {
        self.events.push(event.clone());
        Ok(())
    }

    /// Records the change's audit events and commits them with the change, or nothing.
    pub async fn commit(mut self, event: &AuditEvent) -> Result<()> {
        let mut events: Vec<&AuditEvent> = self.events.iter().collect();
        events.push(event);
        audit::append(&mut self.tx, &events, self.now).await?;
        self.tx.commit().await?;
        for e in events {
            audit::log(e);
        }
        Ok(())
    }
}
