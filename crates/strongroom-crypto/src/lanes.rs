//! Multi-lane CBC encryption: eight independent chunks encrypted side by side.
//!
//! CBC encryption of one chunk is a chain: each block waits for the previous one, so a single
//! chunk runs at the AES instruction's *latency* (≈ 1 GB/s), not its throughput. Eight
//! chunks have eight independent chains; encrypting block j of all eight in one call lets the
//! CPU pipeline them (the `aes` crate processes 8 blocks at once with AES-NI). The bytes are
//! exactly standard CBC per chunk — same output as [`ObjectKeys::encrypt_chunk_into`] — only
//! the order of work differs. This is the well-known "multi-buffer" technique, not a new mode.

use aes::Aes256Enc;
use aes::Block;
use aes::cipher::{BlockEncrypt, KeyInit};

use crate::chunk::{IV_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::header::ObjectKeys;

/// Chunks encrypted side by side; matches the AES-NI backend's parallel block count.
pub(crate) const LANES: usize = 8;

/// Chunks per thread in one multi-threaded streaming batch (4 MiB at 64 KiB chunks). Threads
/// meet at the end of every batch, and on a busy machine one of them may be descheduled for a
/// few milliseconds; big batches keep that wait small next to the work (measured: 16 chunks
/// per thread lost up to 60 % to it, 64 chunks about 10 %).
pub(crate) const CHUNKS_PER_THREAD: usize = 64;

/// One lane: plaintext in, record out.
pub(crate) struct Lane<'a> {
    pub index: u64,
    pub is_final: bool,
    pub plaintext: &'a [u8],
    pub iv: &'a [u8; IV_LEN],
    pub record: &'a mut [u8],
}

impl ObjectKeys {
    /// Encrypt `LANES` chunks of one common length into their records; same bytes as calling
    /// `encrypt_chunk_into` on each.
    pub(crate) fn encrypt_lanes(&self, mut lanes: [Lane<'_>; LANES]) -> Result<()> {
        let n = lanes.first().map_or(0, |l| l.plaintext.len());
        let padded = (n / 16 + 1) * 16;
        let pad = (padded - n) as u8;
        let mut blocks: [Block; LANES] = Default::default();
        // Lay out every record: IV, plaintext, PKCS#7 padding, zero filler; chains start at
        // the IVs.
        let mut bodies: Vec<&mut [u8]> = Vec::with_capacity(LANES);
        for (lane, chain) in lanes.iter_mut().zip(blocks.iter_mut()) {
            self.check_lane(lane, n)?;
            chain.copy_from_slice(lane.iv);
            let (iv_out, rest) = lane.record.split_at_mut(IV_LEN);
            iv_out.copy_from_slice(lane.iv);
            let (body, rest) = rest.split_at_mut(padded);
            let (filler, _tag) = rest.split_at_mut(n % 16);
            filler.fill(0);
            let (data, padding) = body.split_at_mut(n);
            data.copy_from_slice(lane.plaintext);
            padding.fill(pad);
            bodies.push(body);
        }
        let cipher = Aes256Enc::new(self.chunk_enc.as_ref().into());
        let short = || Error::InvalidLength("lane");
        for at in (0..padded).step_by(16) {
            for (chain, body) in blocks.iter_mut().zip(bodies.iter()) {
                let src = body.get(at..at + 16).ok_or_else(short)?;
                chain.iter_mut().zip(src).for_each(|(c, p)| *c ^= p);
            }
            // Eight independent blocks in one call: pipelined in the AES unit.
            cipher.encrypt_blocks(&mut blocks);
            for (chain, body) in blocks.iter().zip(bodies.iter_mut()) {
                body.get_mut(at..at + 16).ok_or_else(short)?.copy_from_slice(chain);
            }
        }
        drop(bodies);
        for lane in lanes {
            let (signed, tag) = lane.record.split_at_mut(n + 64 - TAG_LEN);
            tag.copy_from_slice(&self.chunk_tag(lane.index, lane.is_final, signed));
        }
        Ok(())
    }

    fn check_lane(&self, lane: &Lane<'_>, n: usize) -> Result<()> {
        if lane.plaintext.len() != n || lane.record.len() != n + 64 {
            return Err(Error::InvalidLength("lanes must share one chunk length"));
        }
        let s = self.chunk_size() as usize;
        let ok = if lane.is_final {
            n <= s && (n > 0 || lane.index == 0)
        } else {
            n == s
        };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidLength("chunk length does not fit its position"))
        }
    }
}
