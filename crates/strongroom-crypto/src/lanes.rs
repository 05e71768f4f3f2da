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
        // The per-block bookkeeping around AES must stay small next to AES itself: walk the
        // lanes with exact 16-byte iterators (no index checks) and XOR whole blocks as u128.
        let mut lane_blocks: Vec<_> = bodies.iter_mut().map(|b| b.chunks_exact_mut(16)).collect();
        for _ in 0..padded / 16 {
            let mut current: [&mut [u8]; LANES] = Default::default();
            for ((chain, blocks_of_lane), slot) in blocks.iter_mut().zip(lane_blocks.iter_mut()).zip(current.iter_mut())
            {
                let block = blocks_of_lane.next().ok_or(Error::InvalidLength("lane"))?;
                xor_block(chain, block)?;
                *slot = block;
            }
            // Eight independent blocks in one call: pipelined in the AES unit.
            cipher.encrypt_blocks(&mut blocks);
            for (chain, slot) in blocks.iter().zip(current.iter_mut()) {
                slot.copy_from_slice(chain);
            }
        }
        drop(lane_blocks);
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

/// `chain ^= block`, 16 bytes at once.
fn xor_block(chain: &mut Block, block: &[u8]) -> Result<()> {
    let short = || Error::InvalidLength("block");
    let a = <[u8; 16]>::try_from(&chain[..]).map_err(|_| short())?;
    let b = <[u8; 16]>::try_from(block).map_err(|_| short())?;
    chain.copy_from_slice(&(u128::from_ne_bytes(a) ^ u128::from_ne_bytes(b)).to_ne_bytes());
    Ok(())
}
