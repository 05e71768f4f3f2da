//! Random access: decrypt only the chunks a plaintext byte range touches.
//!
//! The blob store's flow for an HTTP `Range` request: read the header (first 160 bytes) and
//! open it; build a [`Layout`] from the stored length; [`Layout::plan`] the range; fetch
//! `plan.cipher_range`; then [`ObjectKeys::decrypt_range`]. For local files,
//! [`read_range`] does all of it.

use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;

use crate::error::{Error, Result};
use crate::format::{Layout, RangePlan};
use crate::header::{ObjectId, ObjectKeys};
use crate::keys::MasterKey;
use crate::stream::read_header;

impl ObjectKeys {
    /// Verify and decrypt the records of `plan` read from `reader` (positioned at
    /// `plan.cipher_range.start`) and write the requested plaintext bytes to `out`, one chunk
    /// at a time. Returns the bytes written (`plan.len`).
    pub fn decrypt_range<Rd: Read, W: Write>(
        &self,
        layout: &Layout,
        plan: &RangePlan,
        mut reader: Rd,
        out: &mut W,
    ) -> Result<u64> {
        if layout.chunk_size() != self.chunk_size() {
            return Err(Error::Misuse("layout chunk size differs from the header's"));
        }
        let mut record = Vec::new();
        let mut plain = Vec::new();
        let mut skip = plan.skip;
        let mut left = plan.len;
        for index in plan.chunks.clone() {
            let range = layout.record_range(index);
            let len = usize::try_from(range.end - range.start).map_err(|_| Error::InvalidLength("record"))?;
            record.resize(len, 0);
            reader.read_exact(&mut record).map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => Error::Truncated { chunks: index },
                _ => Error::Io(e),
            })?;
            plain.clear();
            let is_final = index + 1 == layout.chunk_count();
            self.decrypt_chunk(index, is_final, &record, &mut plain)?;
            let from = usize::try_from(skip.min(plain.len() as u64)).unwrap_or(plain.len());
            let avail = plain.get(from..).unwrap_or_default();
            let take = usize::try_from(left.min(avail.len() as u64)).unwrap_or(avail.len());
            out.write_all(avail.get(..take).unwrap_or_default())?;
            skip -= from as u64;
            left -= take as u64;
        }
        zeroize::Zeroize::zeroize(&mut plain);
        if left != 0 {
            return Err(Error::InvalidLength("plan does not match layout"));
        }
        Ok(plan.len)
    }

    /// As [`ObjectKeys::decrypt_range`] when the records are already in memory: `ciphertext`
    /// is exactly the bytes `plan.cipher_range` of the stored object.
    pub fn decrypt_range_bytes(
        &self,
        layout: &Layout,
        plan: &RangePlan,
        ciphertext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<u64> {
        let expected = plan.cipher_range.end - plan.cipher_range.start;
        if ciphertext.len() as u64 != expected {
            return Err(Error::InvalidLength("ciphertext does not match the plan's range"));
        }
        self.decrypt_range(layout, plan, ciphertext, out)
    }
}

/// Read plaintext bytes `range` of object `object_id` from a seekable stored object (a local
/// file), decrypting only the chunks involved; writes them to `out` and returns their count.
/// Spec §5.1: the file's whole length is checked after the header and before any record, so
/// even an empty range of a damaged object (e.g. a header alone) fails.
pub fn read_range<F: Read + Seek, W: Write>(
    file: &mut F,
    keys: &[MasterKey],
    object_id: &ObjectId,
    range: Range<u64>,
    out: &mut W,
) -> Result<u64> {
    let cipher_len = file.seek(SeekFrom::End(0))?;
    file.seek(SeekFrom::Start(0))?;
    let object_keys = read_header(file)?.open(keys, object_id)?;
    let layout = Layout::from_cipher_len(cipher_len, object_keys.chunk_size())?;
    let plan = layout.plan(range)?;
    if plan.len == 0 {
        return Ok(0);
    }
    file.seek(SeekFrom::Start(plan.cipher_range.start))?;
    object_keys.decrypt_range(&layout, &plan, file, out)
}
