//! Helpers shared by the integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![allow(dead_code)]

use rand::{CryptoRng, RngCore};
use strongroom_crypto::*;

/// An "RNG" that returns a fixed script of bytes: lets tests pin data keys and IVs.
/// Panics when the script runs out, so a test notices an unexpected draw.
pub struct ScriptRng {
    bytes: Vec<u8>,
    pos: usize,
}

impl ScriptRng {
    pub fn new(parts: &[&[u8]]) -> Self {
        ScriptRng {
            bytes: parts.concat(),
            pos: 0,
        }
    }
    pub fn used_all(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

impl RngCore for ScriptRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        let end = self.pos + dst.len();
        dst.copy_from_slice(&self.bytes[self.pos..end]);
        self.pos = end;
    }
}

impl CryptoRng for ScriptRng {}

/// Deterministic test plaintext.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

pub fn master(seed: u8) -> MasterKey {
    MasterKey::from_bytes([seed; 32])
}

pub const ID: ObjectId = ObjectId([0x11; 16]);

/// Encrypt `plain` as object `id` with an RNG seeded from `seed`.
pub fn encrypt(master: &MasterKey, id: ObjectId, chunk_size: u32, threads: usize, plain: &[u8], seed: u64) -> Vec<u8> {
    use rand::SeedableRng;
    let rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut e = StreamEncryptor::with_rng(master, id, EncryptOptions { chunk_size, threads }, rng).unwrap();
    let mut out = Vec::new();
    e.update(plain, &mut out).unwrap();
    e.finish(&mut out).unwrap();
    out
}

/// Decrypt a whole stored object through the `Read` adaptor.
pub fn decrypt(keys: &[MasterKey], id: &ObjectId, stored: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    decrypt_stream(keys, id, 1, stored, &mut out)?;
    Ok(out)
}
