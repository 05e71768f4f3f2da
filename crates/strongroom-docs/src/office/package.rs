//! The `EncryptedPackage` stream (MS-OFFCRYPTO 2.3.4.4, encrypted as in 2.3.4.15): an LE64
//! plaintext size, then the package encrypted in 4096-byte segments, each with its own IV
//! H(keyData.saltValue ‖ LE32(segment index)), the last one zero-padded to a whole block.
//!
//! Both directions stream one segment at a time, so memory stays flat whatever the size.

use std::io::{BufReader, BufWriter, Read, Write};

use zeroize::Zeroizing;

use super::agile::{AES_BLOCK, Aes, HashAlg, HmacState, derive_iv, round_up};
use crate::{Error, Result};

/// Segment length of 2.3.4.15. FROZEN.
pub(crate) const SEGMENT: usize = 4096;
/// I/O buffer: bigger than a segment so reads and writes are not one syscall per 4 KiB.
const IO_BUF: usize = 64 * 1024;

fn segment_iv(hash: HashAlg, salt: &[u8], index: u32) -> Zeroizing<Vec<u8>> {
    derive_iv(hash, salt, Some(&index.to_le_bytes()))
}

/// Fill `buf` from `r` as far as the data goes; returns how many bytes were read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(filled)
}

/// Parameters of the package cipher: the secret key and `keyData`'s hash and salt.
pub(crate) struct PackageCipher<'a> {
    pub key: &'a Aes,
    pub hash: HashAlg,
    pub salt: &'a [u8],
}

impl PackageCipher<'_> {
    /// Encrypt `size` bytes of `input` into `out` as an `EncryptedPackage` stream, feeding
    /// every byte written (size field included) into `mac` (2.3.4.14 covers the whole stream).
    pub(crate) fn encrypt<R: Read, W: Write>(&self, input: R, size: u64, out: W, mac: &mut HmacState) -> Result<()> {
        let mut input = BufReader::with_capacity(IO_BUF, input);
        let mut out = BufWriter::with_capacity(IO_BUF, out);
        let header = size.to_le_bytes();
        out.write_all(&header)?;
        mac.update(&header);
        let mut buf = Zeroizing::new(vec![0u8; SEGMENT]);
        let mut total: u64 = 0;
        let mut index: u32 = 0;
        loop {
            let n = read_full(&mut input, &mut buf)?;
            if n == 0 {
                break;
            }
            total = total.saturating_add(n as u64);
            let segment = buf
                .get_mut(..round_up(n, AES_BLOCK))
                .ok_or_else(|| Error::malformed("EncryptedPackage", "segment overflow"))?;
            if let Some(pad) = segment.get_mut(n..) {
                pad.fill(0);
            }
            self.key
                .encrypt_cbc(&segment_iv(self.hash, self.salt, index), segment)?;
            out.write_all(segment)?;
            mac.update(segment);
            if n < SEGMENT {
                break;
            }
            index = index
                .checked_add(1)
                .ok_or_else(|| Error::malformed("input", "document too large for the format"))?;
        }
        if total != size {
            return Err(Error::malformed(
                "input",
                "the document changed size while it was being encrypted",
            ));
        }
        out.flush()?;
        Ok(())
    }

    /// Decrypt an `EncryptedPackage` stream of `stream_len` bytes into `out`. Call only after
    /// the integrity check passed.
    pub(crate) fn decrypt<R: Read, W: Write>(&self, stream: R, stream_len: u64, out: W) -> Result<()> {
        let mut stream = BufReader::with_capacity(IO_BUF, stream);
        let mut out = BufWriter::with_capacity(IO_BUF, out);
        let mut header = [0u8; 8];
        if read_full(&mut stream, &mut header)? != header.len() {
            return Err(Error::malformed("EncryptedPackage", "shorter than its size field"));
        }
        let size = u64::from_le_bytes(header);
        let needed = size
            .div_ceil(AES_BLOCK as u64)
            .checked_mul(AES_BLOCK as u64)
            .ok_or_else(|| Error::malformed("EncryptedPackage", "size field out of range"))?;
        if needed > stream_len.saturating_sub(8) {
            return Err(Error::malformed(
                "EncryptedPackage",
                "truncated: shorter than its declared size",
            ));
        }
        let mut buf = Zeroizing::new(vec![0u8; SEGMENT]);
        let mut remaining = size;
        let mut index: u32 = 0;
        while remaining > 0 {
            let plain_len = usize::try_from(remaining.min(SEGMENT as u64)).unwrap_or(SEGMENT);
            let segment = buf
                .get_mut(..round_up(plain_len, AES_BLOCK))
                .ok_or_else(|| Error::malformed("EncryptedPackage", "segment overflow"))?;
            if read_full(&mut stream, segment)? != segment.len() {
                return Err(Error::malformed("EncryptedPackage", "truncated segment"));
            }
            self.key
                .decrypt_cbc(&segment_iv(self.hash, self.salt, index), segment)?;
            let plain = segment
                .get(..plain_len)
                .ok_or_else(|| Error::malformed("EncryptedPackage", "segment overflow"))?;
            out.write_all(plain)?;
            remaining -= plain_len as u64;
            index = index.wrapping_add(1);
        }
        out.flush()?;
        Ok(())
    }
}

/// Feed a whole stream into `mac`.
pub(crate) fn mac_stream<R: Read>(mut stream: R, mac: &mut HmacState) -> Result<()> {
    let mut buf = vec![0u8; IO_BUF];
    loop {
        let n = read_full(&mut stream, &mut buf)?;
        let chunk = buf.get(..n).unwrap_or_default();
        mac.update(chunk);
        if n < buf.len() {
            return Ok(());
        }
    }
}
