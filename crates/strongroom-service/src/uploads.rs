//! What one person may upload: how many uploads at once, and how much the files they made
//! and the files of one room may take in all (storage quotas, off by default).
//!
//! A quota is checked twice: before the bytes move (a full quota refuses at once, and the
//! body is cut off where it would overflow), and again in the change that records the
//! version, with the room and the person locked, so uploads racing each other cannot
//! together pass it. Every stored version counts (older versions and the trash too) until
//! it is purged.

use crate::{Error, Operator, Requester, Result, Service};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::{RoomId, UserId};
use strongroom_core::{Action, Resource, authorize};
use strongroom_store::Change;
use strongroom_store::usage as store;

/// The setting's name in the database.
const UPLOAD_LIMITS: &str = "upload_limits";
const MIB: u64 = 1 << 20;

/// Upload limits (administrators of settings): `/api/v1/settings/security/uploads`,
/// `strongroom admin settings uploads`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct UploadLimits {
    /// Uploads one person (or one link) may have going at once, on each server process (1 to
    /// 64; default 4).
    #[schema(minimum = 1, maximum = 64)]
    pub max_concurrent_uploads: u32,
    /// MiB the versions a person uploaded may take in all (0: no quota; at most 2^30).
    #[schema(minimum = 0, maximum = 1_073_741_824)]
    pub user_quota_mib: u64,
    /// MiB the versions in one room may take in all (0: no quota; at most 2^30).
    #[schema(minimum = 0, maximum = 1_073_741_824)]
    pub room_quota_mib: u64,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            max_concurrent_uploads: 4,
            user_quota_mib: 0,
            room_quota_mib: 0,
        }
    }
}

impl UploadLimits {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !(1..=64).contains(&self.max_concurrent_uploads) {
            return Err("max_concurrent_uploads must be between 1 and 64".into());
        }
        for (v, name) in [
            (self.user_quota_mib, "user_quota_mib"),
            (self.room_quota_mib, "room_quota_mib"),
        ] {
            if v > 1 << 30 {
                return Err(format!("{name} must be between 0 (no quota) and 1073741824"));
            }
        }
        Ok(())
    }
}

/// The upload limits in force.
pub async fn limits(svc: &Service) -> Result<UploadLimits> {
    Ok(strongroom_store::settings::get(&svc.db, UPLOAD_LIMITS)
        .await?
        .unwrap_or_default())
}

/// The upload limits (administrators of settings).
pub async fn read_limits(svc: &Service, caller: &crate::Caller) -> Result<UploadLimits> {
    authorize(&caller.actor, Action::ManageSettings, Resource::Instance)?;
    limits(svc).await
}

/// Sets the upload limits (administrators of settings, or the console), audited. A lower
/// quota refuses new uploads; it deletes nothing.
pub async fn set_limits(svc: &Service, by: Operator<'_>, l: UploadLimits) -> Result<UploadLimits> {
    l.validate().map_err(Error::Invalid)?;
    crate::settings::put(
        svc,
        by,
        UPLOAD_LIMITS,
        AuditAction::UploadLimitsSet,
        l,
        UploadLimits::default(),
    )
    .await
}

/// The uploads going on in this process, by who is uploading.
#[derive(Clone, Default)]
pub struct UploadSlots(Arc<Mutex<HashMap<String, u32>>>);

/// One upload's place among its uploader's, given back when the upload ends.
pub struct Slot {
    slots: UploadSlots,
    key: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut m = self.slots.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = m.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.key);
            }
        }
    }
}

impl UploadSlots {
    fn take(&self, key: String, max: u32) -> Option<Slot> {
        let mut m = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = m.entry(key.clone()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot {
            slots: self.clone(),
            key,
        })
    }
}

/// What one upload may do: hold its slot while it runs, and store at most `room` and
/// `user` more bytes.
pub struct Allowance {
    _slot: Slot,
    limits: UploadLimits,
    room: RoomId,
    user: UserId,
    /// Bytes the tighter quota leaves, as read before the upload (`None`: no quota).
    left: Option<u64>,
    /// Set when the body was cut off for running over `left`.
    over: Arc<AtomicBool>,
}

/// Starts an upload by `who` into `room`, recorded as made by `user`: refused with 429 when
/// they have as many going as the limit allows, and with 413 when a quota is already full.
pub async fn begin(svc: &Service, who: Requester<'_>, room: &RoomId, user: &UserId) -> Result<Allowance> {
    let limits = limits(svc).await?;
    let key = match who {
        Requester::User(c) => format!("user:{}", c.actor.user_id),
        Requester::Link(l) => format!("link:{}", l.link.id),
    };
    let slot = svc
        .uploads
        .take(key, limits.max_concurrent_uploads)
        .ok_or(Error::TooManyUploads {
            max: limits.max_concurrent_uploads,
        })?;
    let left = if limits.user_quota_mib > 0 || limits.room_quota_mib > 0 {
        headroom(&limits, store::usage(&svc.db, room, user).await?)
    } else {
        None
    };
    if left == Some(0) {
        return Err(over_quota(&limits));
    }
    Ok(Allowance {
        _slot: slot,
        limits,
        room: room.clone(),
        user: user.clone(),
        left,
        over: Arc::new(AtomicBool::new(false)),
    })
}

/// Bytes the tighter quota leaves (`None`: no quota; `Some(0)` when one is full or over).
fn headroom(limits: &UploadLimits, used: store::Usage) -> Option<u64> {
    let left = |quota_mib: u64, used: u64| (quota_mib > 0).then(|| (quota_mib * MIB).saturating_sub(used));
    match (
        left(limits.room_quota_mib, used.room),
        left(limits.user_quota_mib, used.user),
    ) {
        (Some(r), Some(u)) => Some(r.min(u)),
        (r, u) => r.or(u),
    }
}

/// A move into another room under a room quota, read before the move's change begins (no
/// read outside the change while it holds locks).
pub struct MoveQuota {
    room: RoomId,
    quota: u64,
}

/// The room quota a move must fit (`None`: a rename, a move within the room, or no quota).
pub async fn move_quota(
    svc: &Service,
    from_room: &RoomId,
    to: Option<&strongroom_core::ids::FolderId>,
) -> Result<Option<MoveQuota>> {
    let Some(to) = to else { return Ok(None) };
    let limits = limits(svc).await?;
    if limits.room_quota_mib == 0 {
        return Ok(None);
    }
    let dest = strongroom_store::content::get_folder(&svc.db, to).await?;
    Ok((dest.room_id != *from_room).then(|| MoveQuota {
        room: dest.room_id,
        quota: limits.room_quota_mib * MIB,
    }))
}

impl MoveQuota {
    /// Refuses, in the change of the move, what the destination room cannot hold.
    pub async fn check(&self, change: &mut Change, moved: store::Moved<'_>) -> Result<()> {
        let (used, moving) = store::move_usage(change, &self.room, moved).await?;
        if used + moving > self.quota {
            return Err(Error::QuotaExceeded(format!(
                "the room moved into cannot hold it: its quota is {} MiB per room",
                self.quota / MIB
            )));
        }
        Ok(())
    }
}

fn over_quota(limits: &UploadLimits) -> Error {
    let mut quotas = Vec::new();
    if limits.user_quota_mib > 0 {
        quotas.push(format!("{} MiB per person", limits.user_quota_mib));
    }
    if limits.room_quota_mib > 0 {
        quotas.push(format!("{} MiB per room", limits.room_quota_mib));
    }
    Error::QuotaExceeded(format!(
        "the upload does not fit in the storage quota ({}): purge files from the trash or old versions, or ask an administrator",
        quotas.join(", ")
    ))
}

impl Allowance {
    /// The body, cut off with an error once it runs over what the quota leaves.
    pub fn limit(&self, body: crate::files::Body) -> crate::files::Body {
        let Some(left) = self.left else { return body };
        let over = self.over.clone();
        let mut seen: u64 = 0;
        Box::pin(body.map(move |item| {
            let b: Bytes = item?;
            seen += b.len() as u64;
            if seen > left {
                over.store(true, Ordering::Relaxed);
                return Err("the upload runs over the storage quota".to_string());
            }
            Ok(b)
        })) as std::pin::Pin<Box<dyn Stream<Item = _> + Send>>
    }

    /// Refuses, before any bytes are stored, content of a known size that does not fit.
    pub fn fits(&self, size: u64) -> Result<()> {
        match self.left {
            Some(left) if size > left => Err(over_quota(&self.limits)),
            _ => Ok(()),
        }
    }

    /// The error for a failed upload: the quota's, if the body was cut off for it.
    pub fn explain(&self, e: Error) -> Error {
        if self.over.load(Ordering::Relaxed) {
            over_quota(&self.limits)
        } else {
            e
        }
    }

    /// Checks, in the change recording it, that a version of `size` bytes still fits: the
    /// person and the room are locked first (person, then room, the order everywhere), so
    /// uploads racing each other are counted one after the other.
    pub async fn check(&self, change: &mut Change, size: u64) -> Result<()> {
        if self.left.is_none() {
            return Ok(());
        }
        let used = store::usage_locked(change, &self.room, &self.user).await?;
        match headroom(&self.limits, used) {
            Some(left) if size > left => Err(over_quota(&self.limits)),
            _ => Ok(()),
        }
    }
}
