//! Constants of the v1 format, size arithmetic and the random-access plan.
//!
//! See `docs/formats/at-rest-v1.md` §3–§4. Everything here is integer arithmetic on lengths,
//! checked for overflow, so that a hostile length read from storage can never panic or make
//! the reader allocate more than one chunk.

use std::ops::Range;

use crate::error::{Error, Result};

/// Magic bytes at offset 0 (frozen).
pub const MAGIC: [u8; 8] = [0x89, b'S', b'R', b'A', b'R', 0x0D, 0x0A, 0x1A];
/// Format version written by this crate (frozen for v1).
pub const FORMAT_VERSION: u16 = 1;
/// Algorithm suite id 1: AES-256-CBC + HMAC-SHA256, HKDF-SHA256, CBC+HMAC key wrap (frozen).
pub const ALGORITHM_ID: u8 = 1;
/// Total header length in bytes (frozen).
pub const HEADER_LEN: usize = 160;
/// Per-record overhead: IV (16) + padding and filler (16) + tag (32) (frozen).
pub const RECORD_OVERHEAD: u64 = 64;
/// Default plaintext bytes per chunk: 64 KiB keeps overhead at 0.098 % while a chunk still
/// fits in L2 cache between the MAC pass and the cipher pass.
pub const DEFAULT_CHUNK_SIZE: u32 = 65_536;
/// Smallest chunk size a reader accepts (frozen).
pub const MIN_CHUNK_SIZE: u32 = 16;
/// Largest chunk size a reader accepts (frozen): bounds reader memory to 16 MiB per stream.
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;

/// Offsets inside the header (frozen). The object part is `0..OBJECT_PART_END`.
pub(crate) mod off {
    pub const OBJECT_PART_END: usize = 32;
    pub const HEADER_MAC_END: usize = 64;
    pub const ENVELOPE_MAC_START: usize = 128;
}

/// Check a chunk size against the format's rules.
pub fn check_chunk_size(chunk_size: u32) -> Result<u32> {
    if chunk_size.is_multiple_of(16) && (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        Ok(chunk_size)
    } else {
        Err(Error::InvalidChunkSize(chunk_size))
    }
}

/// Bytes of ciphertext for `plain_len` bytes of plaintext: `160 + L + 64·max(1, ⌈L/S⌉)`.
pub fn ciphertext_len(plain_len: u64, chunk_size: u32) -> Result<u64> {
    Layout::from_plain_len(plain_len, chunk_size).map(|l| l.cipher_len())
}

/// Plaintext bytes held by an object of `cipher_len` stored bytes; rejects lengths the format
/// never produces. Exact, thanks to the length filler (spec §3.2).
pub fn plain_len(cipher_len: u64, chunk_size: u32) -> Result<u64> {
    Layout::from_cipher_len(cipher_len, chunk_size).map(|l| l.plain_len())
}

/// The geometry of one object: where each record lies, given its chunk size and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    chunk_size: u32,
    plain_len: u64,
    chunks: u64,
}

impl Layout {
    /// Layout of an object holding `plain_len` plaintext bytes.
    pub fn from_plain_len(plain_len: u64, chunk_size: u32) -> Result<Self> {
        let s = u64::from(check_chunk_size(chunk_size)?);
        let chunks = plain_len.div_ceil(s).max(1);
        let layout = Layout {
            chunk_size,
            plain_len,
            chunks,
        };
        // Make sure the ciphertext length is representable; later arithmetic relies on it.
        layout
            .checked_cipher_len()
            .ok_or(Error::InvalidLength("object too large"))?;
        Ok(layout)
    }

    /// Layout of a stored object of `cipher_len` bytes (spec §4, "plaintext length"; §5 step
    /// 7). Shorter than a header and one record (e.g. a header alone): `Truncated { chunks: 0
    /// }`, since every object holds at least one record; any other length the format never
    /// produces: `InvalidObjectLength`.
    pub fn from_cipher_len(cipher_len: u64, chunk_size: u32) -> Result<Self> {
        let s = u64::from(check_chunk_size(chunk_size)?);
        let record = s + RECORD_OVERHEAD;
        let body = cipher_len
            .checked_sub(HEADER_LEN as u64)
            .filter(|b| *b >= RECORD_OVERHEAD)
            .ok_or(Error::Truncated { chunks: 0 })?;
        let chunks = body.div_ceil(record).max(1);
        let last = body - (chunks - 1) * record;
        if last < RECORD_OVERHEAD || (chunks > 1 && last == RECORD_OVERHEAD) {
            return Err(Error::InvalidObjectLength { len: cipher_len });
        }
        let plain_len = body - RECORD_OVERHEAD * chunks;
        Ok(Layout {
            chunk_size,
            plain_len,
            chunks,
        })
    }

    fn checked_cipher_len(&self) -> Option<u64> {
        self.chunks
            .checked_mul(RECORD_OVERHEAD)?
            .checked_add(self.plain_len)?
            .checked_add(HEADER_LEN as u64)
    }

    /// Chunk size in plaintext bytes.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Plaintext length.
    pub fn plain_len(&self) -> u64 {
        self.plain_len
    }

    /// Stored (ciphertext) length including the header.
    pub fn cipher_len(&self) -> u64 {
        // Checked in both constructors.
        HEADER_LEN as u64 + self.plain_len + RECORD_OVERHEAD * self.chunks
    }

    /// Number of chunks (at least 1: an empty object has one empty chunk).
    pub fn chunk_count(&self) -> u64 {
        self.chunks
    }

    /// Plaintext bytes in chunk `index` (which must be `< chunk_count()`).
    pub fn chunk_plain_len(&self, index: u64) -> u64 {
        let s = u64::from(self.chunk_size);
        if index + 1 < self.chunks {
            s
        } else {
            self.plain_len - (self.chunks - 1) * s
        }
    }

    /// Byte range of record `index` inside the stored object.
    pub fn record_range(&self, index: u64) -> Range<u64> {
        let start = HEADER_LEN as u64 + index * (u64::from(self.chunk_size) + RECORD_OVERHEAD);
        start..start + self.chunk_plain_len(index) + RECORD_OVERHEAD
    }

    /// Which stored bytes are needed to read plaintext bytes `range`, and how to cut the
    /// decrypted chunks down to it (spec §4, "plaintext range").
    pub fn plan(&self, range: Range<u64>) -> Result<RangePlan> {
        if range.start > range.end || range.end > self.plain_len {
            return Err(Error::RangeOutOfBounds {
                start: range.start,
                end: range.end,
                len: self.plain_len,
            });
        }
        let s = u64::from(self.chunk_size);
        if range.start == range.end {
            return Ok(RangePlan {
                chunks: 0..0,
                cipher_range: 0..0,
                skip: 0,
                len: 0,
                ends_object: false,
            });
        }
        let first = range.start / s;
        let last = (range.end - 1) / s;
        Ok(RangePlan {
            chunks: first..last + 1,
            cipher_range: self.record_range(first).start..self.record_range(last).end,
            skip: range.start - first * s,
            len: range.end - range.start,
            ends_object: last + 1 == self.chunks,
        })
    }
}

/// The result of [`Layout::plan`]: read `cipher_range`, decrypt `chunks`, then drop `skip`
/// bytes and keep `len`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangePlan {
    /// Chunk indexes to decrypt (empty for an empty range).
    pub chunks: Range<u64>,
    /// Stored bytes holding exactly those chunks' records (empty for an empty range).
    pub cipher_range: Range<u64>,
    /// Plaintext bytes to drop from the start of the first chunk.
    pub skip: u64,
    /// Plaintext bytes to return.
    pub len: u64,
    /// Whether the last chunk of the plan is the object's final chunk (its MAC says so).
    pub ends_object: bool,
}

/// A bounded reader over untrusted bytes: every read is length-checked and `finish` rejects
/// trailing data, so a parser can neither index out of bounds nor silently ignore bytes.
pub(crate) struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Cursor { rest: bytes }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let (head, tail) = self
            .rest
            .split_at_checked(n)
            .ok_or(Error::InvalidLength("input ends inside a field"))?;
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let bytes = self.take(N)?;
        <[u8; N]>::try_from(bytes).map_err(|_| Error::InvalidLength("input ends inside a field"))
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        self.array::<1>().map(|[b]| b)
    }

    pub(crate) fn u16_be(&mut self) -> Result<u16> {
        self.array().map(u16::from_be_bytes)
    }

    pub(crate) fn u32_be(&mut self) -> Result<u32> {
        self.array().map(u32::from_be_bytes)
    }

    /// Succeeds only if every byte was consumed.
    pub(crate) fn finish(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidLength("trailing bytes after a complete structure"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip_exhaustively_for_small_chunks() {
        for s in [16u32, 32, 64] {
            for l in 0..2000u64 {
                let c = ciphertext_len(l, s).unwrap();
                assert_eq!(plain_len(c, s).unwrap(), l, "S={s} L={l}");
            }
            // Every length that is not produced is rejected.
            let produced: std::collections::HashSet<u64> =
                (0..2000u64).map(|l| ciphertext_len(l, s).unwrap()).collect();
            let max = ciphertext_len(1999, s).unwrap();
            for c in 0..max {
                assert_eq!(plain_len(c, s).is_ok(), produced.contains(&c), "S={s} C={c}");
            }
        }
    }

    #[test]
    fn overhead_below_point_two_percent() {
        let l = 1u64 << 30;
        let c = ciphertext_len(l, DEFAULT_CHUNK_SIZE).unwrap();
        assert_eq!(c, l + 160 + 64 * 16384);
        assert!(((c - l) as f64) / (l as f64) < 0.002);
    }

    #[test]
    fn plan_at_chunk_borders() {
        let lay = Layout::from_plain_len(100, 32).unwrap();
        assert_eq!(lay.chunk_count(), 4);
        let p = lay.plan(31..33).unwrap();
        assert_eq!(p.chunks, 0..2);
        assert_eq!(p.cipher_range, 160..160 + 2 * 96);
        assert_eq!((p.skip, p.len, p.ends_object), (31, 2, false));
        let p = lay.plan(96..100).unwrap();
        assert_eq!(p.chunks, 3..4);
        assert_eq!(p.cipher_range, 160 + 3 * 96..lay.cipher_len());
        assert!(p.ends_object);
        assert!(lay.plan(0..101).is_err());
        assert_eq!(lay.plan(5..5).unwrap().len, 0);
    }

    #[test]
    fn bad_stored_lengths_are_named_as_the_spec_names_them() {
        // S = 32, so R = 96. Less than a header and one record, a header alone included:
        // truncated (every object has a record, even an empty one).
        for c in [0u64, 100, 160, 223] {
            assert!(matches!(plain_len(c, 32), Err(Error::Truncated { chunks: 0 })), "C={c}");
        }
        assert_eq!(plain_len(224, 32).unwrap(), 0);
        // A last record of fewer than 64 bytes, or an empty one after full ones.
        for c in [160 + 96 + 1, 160 + 96 + 63, 160 + 96 + 64, 160 + 2 * 96 + 10] {
            assert!(
                matches!(plain_len(c, 32), Err(Error::InvalidObjectLength { len }) if len == c),
                "C={c}"
            );
            assert!(plain_len(c, 32).unwrap_err().is_integrity_failure());
        }
        assert_eq!(plain_len(160 + 96 + 65, 32).unwrap(), 33);
    }

    #[test]
    fn hostile_values_do_not_panic() {
        assert!(plain_len(u64::MAX, MAX_CHUNK_SIZE).is_ok() || plain_len(u64::MAX, 16).is_err());
        assert!(ciphertext_len(u64::MAX, 16).is_err());
        assert!(check_chunk_size(0).is_err());
        assert!(check_chunk_size(17).is_err());
        assert!(check_chunk_size(MAX_CHUNK_SIZE + 16).is_err());
    }
}
