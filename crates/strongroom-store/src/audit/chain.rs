//! The hash chain of the audit trail, as `docs/formats/audit-chain-v1.md` defines it: pure
//! functions from an event's stored columns to its digests, shared by the writer and
//! `audit verify`.

use sha2::{Digest, Sha256};

/// Domain prefix of an event's hash (frozen, spec §3).
const EVENT_DOMAIN: &[u8] = b"strongroom audit chain v1\0";
/// Domain prefix of an event's personal-data digest (frozen, spec §2).
const PERSONAL_DOMAIN: &[u8] = b"strongroom audit personal v1\0";
/// Domain prefix of a seal's signed message (frozen, spec §5).
const SEAL_DOMAIN: &[u8] = b"strongroom audit seal v1\0";

/// The hash before the first event, and the hash an empty chain has: 32 zero bytes.
pub const GENESIS: [u8; 32] = [0; 32];

/// One field of an encoding: absent, text, or a 64-bit integer (spec §1).
pub enum Field<'a> {
    Absent,
    Text(&'a str),
    Int(i64),
}

impl<'a> From<&'a Option<String>> for Field<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().map_or(Field::Absent, Field::Text)
    }
}

fn put(h: &mut Sha256, f: &Field<'_>) {
    match f {
        Field::Absent => h.update([0u8]),
        Field::Text(s) => {
            h.update([1u8]);
            // Columns are far below 4 GiB; a longer text would be cut by the database first.
            h.update(u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
            h.update(s.as_bytes());
        }
        Field::Int(n) => {
            h.update([2u8]);
            h.update(n.to_be_bytes());
        }
    }
}

/// The columns of an event that hold personal data, in their frozen order (spec §2).
pub struct Personal<'a> {
    pub actor_id: &'a Option<String>,
    pub actor_name: &'a Option<String>,
    pub actor_email: &'a Option<String>,
    pub target_id: &'a Option<String>,
    pub target_name: &'a Option<String>,
    pub target_path: &'a Option<String>,
    pub ip: &'a Option<String>,
    pub user_agent: &'a Option<String>,
    pub details: &'a str,
}

/// The digest that stands for an event's personal data in its hash; `salt` (16 random bytes
/// per event, deleted on erasure) keeps it from confirming a guess.
pub fn personal_digest(salt: &[u8; 16], p: &Personal<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(PERSONAL_DOMAIN);
    h.update(salt);
    for f in [
        p.actor_id,
        p.actor_name,
        p.actor_email,
        p.target_id,
        p.target_name,
        p.target_path,
        p.ip,
        p.user_agent,
    ] {
        put(&mut h, &f.into());
    }
    put(&mut h, &Field::Text(p.details));
    h.finalize().into()
}

/// The columns an event's hash covers directly, in their frozen order (spec §3).
pub struct Frame<'a> {
    pub id: &'a str,
    pub at: i64,
    pub action: &'a str,
    pub product: &'a str,
    pub module: &'a str,
    pub outcome: &'a str,
    pub initiator: &'a Option<String>,
    pub target_kind: &'a Option<String>,
    pub route: &'a Option<String>,
    pub request_id: &'a Option<String>,
    pub personal_digest: &'a [u8; 32],
}

/// An event's hash: it covers the previous event's hash and the event's frame.
pub fn event_hash(prev: &[u8; 32], f: &Frame<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(EVENT_DOMAIN);
    h.update(prev);
    for field in [
        Field::Text(f.id),
        Field::Int(f.at),
        Field::Text(f.action),
        Field::Text(f.product),
        Field::Text(f.module),
        Field::Text(f.outcome),
        f.initiator.into(),
        f.target_kind.into(),
        f.route.into(),
        f.request_id.into(),
    ] {
        put(&mut h, &field);
    }
    h.update(f.personal_digest);
    h.finalize().into()
}

/// The message a seal signs: that the chain's event number `seq` has hash `hash`, sealed at
/// `at` (ms).
pub fn seal_message(seq: i64, hash: &[u8; 32], at: i64) -> Vec<u8> {
    let mut m = Vec::with_capacity(SEAL_DOMAIN.len() + 48);
    m.extend_from_slice(SEAL_DOMAIN);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash);
    m.extend_from_slice(&at.to_be_bytes());
    m
}

/// The digest an erasure event records of the events it pseudonymised: SHA-256 over their
/// ids in ascending order, each followed by a line feed (spec §6).
pub fn erased_ids_digest<'a>(ids: impl IntoIterator<Item = &'a str>) -> [u8; 32] {
    let mut h = Sha256::new();
    for id in ids {
        h.update(id.as_bytes());
        h.update(b"\n");
    }
    h.finalize().into()
}

/// Parses 64 hex digits.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors of `docs/formats/audit-chain-v1.md` §7, written out.
    #[test]
    fn spec_vectors() {
        let salt: [u8; 16] = *b"0123456789abcdef";
        let some = |s: &str| Some(s.to_string());
        let (actor_id, actor_name, actor_email) = (
            some("0190a1b2-0000-7000-8000-000000000001"),
            some("Zoë Adams"),
            some("zoe@example.org"),
        );
        let (target_id, target_name, target_path) = (
            some("0190a1b2-0000-7000-8000-0000000000f1"),
            some("report.pdf"),
            some("Legal/2026/report.pdf"),
        );
        let (ip, ua) = (some("192.0.2.7"), some("Mozilla/5.0"));
        let personal = Personal {
            actor_id: &actor_id,
            actor_name: &actor_name,
            actor_email: &actor_email,
            target_id: &target_id,
            target_name: &target_name,
            target_path: &target_path,
            ip: &ip,
            user_agent: &ua,
            details: r#"{"size":1234}"#,
        };
        let digest = personal_digest(&salt, &personal);
        assert_eq!(
            hex::encode(digest),
            "4114f6e9e34b3b9821a597636b798be4e96bc2da1d2b1f8f6e8d1c2e5cdce622"
        );
        let (initiator, kind, route, request) =
            (some("web"), some("file"), some("GET /api/v1/files/{id}/content"), None);
        let frame = Frame {
            id: "0190a1b2-0000-7000-8000-00000000e001",
            at: 1_767_225_600_000,
            action: "file.download",
            product: "documents",
            module: "file",
            outcome: "success",
            initiator: &initiator,
            target_kind: &kind,
            route: &route,
            request_id: &request,
            personal_digest: &digest,
        };
        let first = event_hash(&GENESIS, &frame);
        assert_eq!(
            hex::encode(first),
            "801ce3fd3f9ea9ea947a922df14b8ca8cec3acadd7e9d3891b4a6970e9690bb5"
        );
        let second = event_hash(&first, &frame);
        assert_eq!(
            hex::encode(second),
            "7395b7fc797abea2e9afe9757279207fb76f48fe26446351ee4a73a9962dee43"
        );
        let empty = Personal {
            actor_id: &None,
            actor_name: &None,
            actor_email: &None,
            target_id: &None,
            target_name: &None,
            target_path: &None,
            ip: &None,
            user_agent: &None,
            details: "null",
        };
        assert_eq!(
            hex::encode(personal_digest(&[0u8; 16], &empty)),
            "3d94787353fece58b5b64604716d72bc1a72ec92a25ee30a5b1ac0b8450c7b55"
        );
        let msg = seal_message(2, &second, 1_767_225_900_000);
        assert_eq!(
            hex::encode(&msg),
            "7374726f6e67726f6f6d206175646974207365616c2076310000000000000000027395b7fc797abea2e9afe9757279207fb76f48fe26446351ee4a73a9962dee430000019b76df3be0"
        );
        let seed: [u8; 32] = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(
            hex::encode(strongroom_crypto::SealKey::from_seed(&seed).sign(&msg)),
            "62d515e263be80d95532cb951d067cd538e31196fc5e21f279fd4496087aea1bba48db457315397b7a06c4f4b9b83e89f3e060ae090724fc75e91ba4184a2a09"
        );
        assert_eq!(
            hex::encode(erased_ids_digest(["a", "b"])),
            "911169ddaaf146aff539f58c26c489af3b892dff0fe283c1c264c65ae5aa59a2"
        );
    }
}
