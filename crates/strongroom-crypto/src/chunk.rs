//! One record at a time: the chunk-level API every other layer is built on.
//!
//! Spec: `docs/formats/at-rest-v1.md` §3.2 and §5 steps 8–9. These functions hold no state
//! between calls, so an async caller can drive them chunk by chunk and spread independent
//! chunks over threads.

use aes::{Aes256Dec, Aes256Enc};
use cbc::cipher::block_padding::{NoPadding, Pkcs7};
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit};

use crate::error::{Error, Result};
use crate::format::RECORD_OVERHEAD;
use crate::header::{ObjectKeys, hmac, tags_equal};

/// Length of a chunk IV.
pub const IV_LEN: usize = 16;
/// Length of a chunk tag.
pub const TAG_LEN: usize = 32;

impl ObjectKeys {
    /// Bytes of the record for a chunk of `plain_len` bytes: `plain_len + 64`.
    pub fn record_len(plain_len: usize) -> usize {
        plain_len + RECORD_OVERHEAD as usize
    }

    /// Check that a chunk of `len` plaintext bytes may sit at `index` with this final flag.
    fn check_chunk_len(&self, index: u64, is_final: bool, len: usize) -> Result<()> {
        let s = self.chunk_size() as usize;
        let ok = if is_final {
            len <= s && (len > 0 || index == 0)
        } else {
            len == s
        };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidLength("chunk length does not fit its position"))
        }
    }

    /// The chunk tag: `HMAC(KM, HM ‖ BE64(i) ‖ F ‖ IV ‖ C ‖ Z)`.
    pub(crate) fn chunk_tag(&self, index: u64, is_final: bool, signed: &[u8]) -> [u8; 32] {
        hmac(
            &self.chunk_mac,
            &[&self.header_mac, &index.to_be_bytes(), &[u8::from(is_final)], signed],
        )
    }

    /// Encrypt chunk `index` and append its record (`plaintext.len() + 64` bytes) to `out`.
    ///
    /// `iv` must come from a cryptographically secure RNG, fresh for every call; it is a
    /// parameter so that tests can pin it and parallel callers can draw IVs up front.
    /// Non-final chunks must be exactly the chunk size; a final chunk 1..=chunk size bytes
    /// (or empty when it is chunk 0, i.e. the object is empty).
    pub fn encrypt_chunk(
        &self,
        index: u64,
        is_final: bool,
        plaintext: &[u8],
        iv: &[u8; IV_LEN],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let start = out.len();
        out.resize(start + Self::record_len(plaintext.len()), 0);
        let dst = out.get_mut(start..).ok_or(Error::InvalidLength("record"))?;
        let result = self.encrypt_chunk_into(index, is_final, plaintext, iv, dst);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// As [`ObjectKeys::encrypt_chunk`], writing the record into `dst`, which must be exactly
    /// `plaintext.len() + 64` bytes: lets parallel workers fill disjoint parts of one buffer.
    pub fn encrypt_chunk_into(
        &self,
        index: u64,
        is_final: bool,
        plaintext: &[u8],
        iv: &[u8; IV_LEN],
        dst: &mut [u8],
    ) -> Result<()> {
        self.check_chunk_len(index, is_final, plaintext.len())?;
        let n = plaintext.len();
        if dst.len() != Self::record_len(n) {
            return Err(Error::InvalidLength("output must be plaintext length + 64"));
        }
        let padded = (n / 16 + 1) * 16;
        let (signed, tag_out) = dst.split_at_mut(dst.len() - TAG_LEN);
        let (iv_out, rest) = signed.split_at_mut(IV_LEN);
        iv_out.copy_from_slice(iv);
        let (body, filler) = rest.split_at_mut(padded);
        body.get_mut(..n)
            .ok_or(Error::InvalidLength("record"))?
            .copy_from_slice(plaintext);
        let cipher = Aes256Enc::new(self.chunk_enc.as_ref().into());
        cbc::Encryptor::<Aes256Enc>::inner_iv_init(cipher, iv.into())
            .encrypt_padded_mut::<Pkcs7>(body, n)
            .map_err(|_| Error::InvalidLength("padding"))?;
        // Length filler: padding plus filler is always 16 bytes (spec §3.2).
        filler.fill(0);
        tag_out.copy_from_slice(&self.chunk_tag(index, is_final, signed));
        Ok(())
    }

    /// Verify the record of chunk `index` and, only if its tag is right, append its plaintext
    /// to `out`. `is_final` is what the reader knows from the position (nothing follows the
    /// record); the tag proves the writer agreed.
    pub fn decrypt_chunk(&self, index: u64, is_final: bool, record: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let n = Self::plain_len_of_record(index, record)?;
        if n > self.chunk_size() as usize {
            return Err(Error::InvalidLength("record longer than a chunk allows"));
        }
        let start = out.len();
        out.resize(start + n, 0);
        let dst = out.get_mut(start..).ok_or(Error::InvalidLength("record"))?;
        let result = self.decrypt_chunk_into(index, is_final, record, dst);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn plain_len_of_record(index: u64, record: &[u8]) -> Result<usize> {
        record
            .len()
            .checked_sub(RECORD_OVERHEAD as usize)
            .ok_or(Error::ChunkIntegrity { index })
    }

    /// As [`ObjectKeys::decrypt_chunk`], writing the plaintext into `dst`, which must be
    /// exactly `record.len() - 64` bytes. On error `dst` is zeroed.
    pub fn decrypt_chunk_into(&self, index: u64, is_final: bool, record: &[u8], dst: &mut [u8]) -> Result<()> {
        let n = Self::plain_len_of_record(index, record)?;
        if dst.len() != n {
            return Err(Error::InvalidLength("output must be record length - 64"));
        }
        if n > self.chunk_size() as usize {
            return Err(Error::InvalidLength("record longer than a chunk allows"));
        }
        let (signed, tag) = record
            .split_at_checked(record.len() - TAG_LEN)
            .ok_or(Error::ChunkIntegrity { index })?;
        self.verify_tag(index, is_final, n, signed, tag)?;
        // Verified: now, and only now, decrypt.
        let result = self.decrypt_verified(index, n, signed, dst);
        if result.is_err() {
            dst.fill(0);
        }
        result
    }

    /// CBC-decrypt a record whose tag verified: whole blocks straight into `dst`, the last
    /// (padded) block through a 16-byte scratch so no padding lands in the caller's buffer.
    fn decrypt_verified(&self, index: u64, n: usize, signed: &[u8], dst: &mut [u8]) -> Result<()> {
        let malformed = |what| Error::Malformed { index, what };
        let (iv, rest) = signed.split_at_checked(IV_LEN).ok_or(malformed("short"))?;
        let whole = n - n % 16;
        let (ct_whole, rest) = rest.split_at_checked(whole).ok_or(malformed("short"))?;
        let (ct_last, filler) = rest.split_at_checked(16).ok_or(malformed("short"))?;
        if filler.iter().any(|b| *b != 0) {
            return Err(malformed("length filler not zero"));
        }
        let (dst_whole, dst_tail) = dst.split_at_mut(whole);
        let cipher = Aes256Dec::new(self.chunk_enc.as_ref().into());
        let iv: &[u8; IV_LEN] = iv.try_into().map_err(|_| malformed("short"))?;
        cbc::Decryptor::<Aes256Dec>::inner_iv_init(cipher.clone(), iv.into())
            .decrypt_padded_b2b_mut::<NoPadding>(ct_whole, dst_whole)
            .map_err(|_| malformed("block length"))?;
        // The last block chains from the previous ciphertext block (or the IV).
        let last_iv: &[u8] = match whole.checked_sub(16) {
            Some(at) => ct_whole.get(at..).ok_or(malformed("short"))?,
            None => iv,
        };
        let last_iv: &[u8; 16] = last_iv.try_into().map_err(|_| malformed("short"))?;
        let mut block = zeroize::Zeroizing::new([0u8; 16]);
        block.copy_from_slice(ct_last);
        cbc::Decryptor::<Aes256Dec>::inner_iv_init(cipher, last_iv.into())
            .decrypt_padded_mut::<NoPadding>(block.as_mut())
            .map_err(|_| malformed("block length"))?;
        let pad = 16 - n % 16;
        let (data, padding) = block.split_at(n % 16);
        if padding.iter().any(|b| usize::from(*b) != pad) {
            return Err(malformed("padding disagrees with length"));
        }
        dst_tail.copy_from_slice(data);
        Ok(())
    }

    /// Constant-time tag check; on failure, name the cause (spec §5 step 8).
    fn verify_tag(&self, index: u64, is_final: bool, plain_len: usize, signed: &[u8], tag: &[u8]) -> Result<()> {
        if tags_equal(&self.chunk_tag(index, is_final, signed), tag) {
            // A tag that verifies but a length the position forbids can only come from a
            // writer with the key; still refuse to return a non-canonical object (spec §5
            // step 9: malformed). Reachable only by a reader that did not check the whole
            // length first: an empty final record after full ones.
            return self
                .check_chunk_len(index, is_final, plain_len)
                .map_err(|_| Error::Malformed {
                    index,
                    what: "chunk length does not fit its position",
                });
        }
        // The tag is wrong for this position. If it is right for the other final flag, the
        // record is authentic but the object was cut or extended at a chunk border.
        if tags_equal(&self.chunk_tag(index, !is_final, signed), tag) {
            return Err(if is_final {
                Error::Truncated { chunks: index + 1 }
            } else {
                Error::DataAfterFinalChunk { index }
            });
        }
        Err(Error::ChunkIntegrity { index })
    }
}
