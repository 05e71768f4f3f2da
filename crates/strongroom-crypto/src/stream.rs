//! Streaming: push-style cores an async caller can drive, and `std::io` adaptors on top.
//!
//! Memory is bounded by one batch (8 chunks single-threaded, 64 per thread otherwise; plus
//! what the caller hands in at once), whatever the object size. The encryptor holds back the last complete chunk until it
//! knows whether more data follows, because only then can it set the final flag; the
//! decryptor likewise holds back the last record until it sees more bytes or the end.

use std::io::{Read, Write};

use rand::rngs::StdRng;
use rand::{CryptoRng, RngCore, SeedableRng};

use crate::error::{Error, Result};
use crate::format::{DEFAULT_CHUNK_SIZE, HEADER_LEN, Layout, MAGIC, RECORD_OVERHEAD, RangePlan};
use crate::header::{ObjectHeader, ObjectId, ObjectKeys};
use crate::keys::MasterKey;
use crate::lanes::{CHUNKS_PER_THREAD, LANES};

/// How to write a new object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncryptOptions {
    /// Plaintext bytes per chunk (spec §3.1); the default, 64 KiB, suits nearly everything.
    pub chunk_size: u32,
    /// Threads to encrypt with. 1 (the default) suits a server running many streams at once;
    /// more suits one big stream, at 4 MiB of buffer per thread.
    pub threads: usize,
}

impl Default for EncryptOptions {
    fn default() -> Self {
        EncryptOptions {
            chunk_size: DEFAULT_CHUNK_SIZE,
            threads: 1,
        }
    }
}

/// Chunks handled per batch: one lane group when single-threaded (memory stays at 8 chunks,
/// 512 KiB, per stream for servers running many streams), 64 per thread when parallel (meant
/// for one big stream at a time: bulk re-encryption, verification).
fn batch_chunks(threads: usize) -> usize {
    if threads <= 1 {
        LANES
    } else {
        threads * CHUNKS_PER_THREAD
    }
}

/// The default RNG: ChaCha12 seeded from the operating system; `Send`, so the encryptor can
/// live in an async task.
fn os_seeded_rng() -> Result<StdRng> {
    StdRng::try_from_os_rng().map_err(|_| Error::Randomness)
}

/// Push-style encryptor: feed plaintext with [`update`](Self::update), collect ciphertext
/// from the output buffer, end with [`finish`](Self::finish). The header comes out first.
pub struct StreamEncryptor<R: CryptoRng + RngCore = StdRng> {
    keys: ObjectKeys,
    rng: R,
    next_index: u64,
    pending: Vec<u8>,
    batch_bytes: usize,
    threads: usize,
    header_sent: bool,
    plain_total: u64,
}

impl StreamEncryptor<StdRng> {
    /// New object `object_id` under `master`, with OS randomness.
    pub fn new(master: &MasterKey, object_id: ObjectId, options: EncryptOptions) -> Result<Self> {
        Self::with_rng(master, object_id, options, os_seeded_rng()?)
    }
}

impl<R: CryptoRng + RngCore> StreamEncryptor<R> {
    /// As [`StreamEncryptor::new`] with a caller-supplied RNG (for test vectors).
    pub fn with_rng(master: &MasterKey, object_id: ObjectId, options: EncryptOptions, mut rng: R) -> Result<Self> {
        let keys = ObjectKeys::create(master, object_id, options.chunk_size, &mut rng)?;
        Ok(Self::from_keys(keys, options.threads, rng))
    }

    /// Continue from keys made by [`ObjectKeys::create`] (or `create_with_data_key`).
    pub fn from_keys(keys: ObjectKeys, threads: usize, rng: R) -> Self {
        let threads = threads.max(1);
        // Eight chunks per thread per batch: the multi-lane CBC width, and enough work per
        // thread to amortise spawning it.
        let batch_bytes = keys.chunk_size() as usize * batch_chunks(threads);
        StreamEncryptor {
            keys,
            rng,
            next_index: 0,
            pending: Vec::with_capacity(batch_bytes),
            batch_bytes,
            threads,
            header_sent: false,
            plain_total: 0,
        }
    }

    /// The object's keys (e.g. to read back what was written).
    pub fn keys(&self) -> &ObjectKeys {
        &self.keys
    }

    fn send_header(&mut self, out: &mut Vec<u8>) {
        if !self.header_sent {
            out.extend_from_slice(self.keys.header_bytes());
            self.header_sent = true;
        }
    }

    fn flush(&mut self, ends_object: bool, out: &mut Vec<u8>) -> Result<()> {
        let chunks = self.pending.len().div_ceil(self.keys.chunk_size() as usize).max(1) as u64;
        self.keys.encrypt_chunks(
            self.next_index,
            &self.pending,
            ends_object,
            &mut self.rng,
            self.threads,
            out,
        )?;
        self.next_index += chunks;
        // Reused for the next batch, which overwrites it; wiped once, on drop. (Wiping it after
        // every batch, byte by byte as `zeroize` must, cost a tenth of an encrypted upload.)
        self.pending.clear();
        Ok(())
    }

    /// Feed plaintext; appends any completed records (and, the first time, the header) to
    /// `out`.
    pub fn update(&mut self, mut plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.send_header(out);
        self.plain_total += plaintext.len() as u64;
        // Top up a partly filled batch first.
        if !self.pending.is_empty() {
            let room = self.batch_bytes - self.pending.len();
            let (now, later) = plaintext.split_at(room.min(plaintext.len()));
            self.pending.extend_from_slice(now);
            plaintext = later;
            if plaintext.is_empty() {
                return Ok(());
            }
            // More data follows, so every pending chunk is non-final.
            self.flush(false, out)?;
        }
        // Whole batches straight from the caller's buffer (no copy into `pending`), keeping
        // back at least one byte's batch: it may end the object.
        while plaintext.len() > self.batch_bytes {
            let (batch, later) = plaintext.split_at(self.batch_bytes);
            let chunks = self.batch_bytes / self.keys.chunk_size() as usize;
            self.keys
                .encrypt_chunks(self.next_index, batch, false, &mut self.rng, self.threads, out)?;
            self.next_index += chunks as u64;
            plaintext = later;
        }
        self.pending.extend_from_slice(plaintext);
        Ok(())
    }

    /// Encrypt what is left as the final chunk(s); returns the plaintext length.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<u64> {
        self.send_header(out);
        self.flush(true, out)?;
        Ok(self.plain_total)
    }
}

impl<R: CryptoRng + RngCore> Drop for StreamEncryptor<R> {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.pending);
    }
}

/// Push-style decryptor for one object whose header was opened: feed ciphertext (the records,
/// without the header) with [`update`](Self::update), receive verified plaintext only.
/// [`for_range`](Self::for_range) does the same for the records of a [`RangePlan`].
///
/// It learns the stored length only when the input ends, so it is the streaming reader of
/// spec §5.2: it cannot check the whole length first (§5 step 7), and names some damage by
/// what it meets instead (e.g. `Truncated` for a record cut short rather than
/// `InvalidObjectLength`). It rejects exactly the objects a length-first reader rejects; the
/// vector files list both names (`error`, `error_streaming`). Input that ends right after
/// the header is `Truncated { chunks: 0 }`, never an empty plaintext.
pub struct StreamDecryptor {
    keys: ObjectKeys,
    next_index: u64,
    buf: Vec<u8>,
    threads: usize,
    finished: bool,
    /// Whether the last record fed is the object's final one (false for a range that stops
    /// before the end).
    ends_object: bool,
    /// Plaintext bytes still to drop (range reads start inside a chunk).
    skip: u64,
    /// Plaintext bytes still to release.
    remaining: u64,
}

impl StreamDecryptor {
    /// Start after the header; up to `threads` threads verify chunks in parallel.
    pub fn new(keys: ObjectKeys, threads: usize) -> Self {
        StreamDecryptor {
            keys,
            next_index: 0,
            buf: Vec::new(),
            threads: threads.max(1),
            finished: false,
            ends_object: true,
            skip: 0,
            remaining: u64::MAX,
        }
    }

    /// Decrypt a random-access read: feed exactly the bytes `plan.cipher_range` of the stored
    /// object; out come the plaintext bytes the plan was made for, nothing else.
    pub fn for_range(keys: ObjectKeys, plan: &RangePlan, threads: usize) -> Self {
        StreamDecryptor {
            next_index: plan.chunks.start,
            ends_object: plan.ends_object,
            skip: plan.skip,
            remaining: plan.len,
            ..Self::new(keys, threads)
        }
    }

    /// The object's keys.
    pub fn keys(&self) -> &ObjectKeys {
        &self.keys
    }

    fn record_len(&self) -> usize {
        ObjectKeys::record_len(self.keys.chunk_size() as usize)
    }

    /// Decrypt whole records and release the part of their plaintext the caller asked for.
    fn release(&mut self, records: &[u8], is_end: bool, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        let ends_object = is_end && self.ends_object;
        self.keys
            .decrypt_chunks(self.next_index, records, ends_object, self.threads, out)?;
        self.next_index += records.len().div_ceil(self.record_len()) as u64;
        if self.skip > 0 || self.remaining != u64::MAX {
            let produced = (out.len() - start) as u64;
            let drop = self.skip.min(produced);
            out.drain(start..start + drop as usize);
            self.skip -= drop;
            let keep = self.remaining.min(produced - drop);
            out.truncate(start + keep as usize);
            self.remaining -= keep;
        }
        Ok(())
    }

    /// Feed record bytes; appends plaintext of every record that is complete, known to be
    /// non-final (more bytes follow it) and verified.
    pub fn update(&mut self, mut ciphertext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if self.finished {
            return Err(Error::Misuse("update after finish"));
        }
        let rec = self.record_len();
        if self.threads > 1 {
            // Collect whole batches before starting threads, whatever size the caller's pieces
            // are: small batches spend their time starting and waiting for threads.
            self.buf.extend_from_slice(ciphertext);
            let per_batch = batch_chunks(self.threads);
            let ready = self.buf.len().saturating_sub(1) / rec / per_batch * per_batch;
            if ready > 0 {
                let records = std::mem::take(&mut self.buf);
                let mut done = 0;
                let mut result = Ok(());
                while done < ready && result.is_ok() {
                    let batch = records.get(done * rec..(done + per_batch) * rec).unwrap_or_default();
                    result = self.release(batch, false, out);
                    done += per_batch;
                }
                self.buf = records;
                self.buf.drain(..done * rec);
                result?;
            }
            return Ok(());
        }
        // Complete a record begun in an earlier call.
        if !self.buf.is_empty() {
            let room = rec - self.buf.len();
            let (now, later) = ciphertext.split_at(room.min(ciphertext.len()));
            self.buf.extend_from_slice(now);
            ciphertext = later;
            if ciphertext.is_empty() {
                return Ok(());
            }
            // A full record with more bytes after it: non-final.
            let record = std::mem::take(&mut self.buf);
            let result = self.release(&record, false, out);
            self.buf = record;
            self.buf.clear();
            result?;
        }
        // Whole records straight from the caller's buffer, in batches; keep at least one byte
        // back, since the last complete record may be the final one.
        let ready = ciphertext.len().saturating_sub(1) / rec;
        let mut done = 0;
        while done < ready {
            let n = (ready - done).min(batch_chunks(self.threads));
            let batch = ciphertext
                .get(done * rec..(done + n) * rec)
                .ok_or(Error::InvalidLength("batch"))?;
            self.release(batch, false, out)?;
            done += n;
        }
        self.buf
            .extend_from_slice(ciphertext.get(done * rec..).unwrap_or_default());
        Ok(())
    }

    /// The input ended: verify and release the rest: whole non-final records, then one last
    /// record (the object's final one, unless this is a range that stops earlier).
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.finished {
            return Err(Error::Misuse("finish called twice"));
        }
        self.finished = true;
        let tail = std::mem::take(&mut self.buf);
        let rec = self.record_len();
        let last_len = match tail.len() % rec {
            0 => rec.min(tail.len()),
            partial => partial,
        };
        let (body, last) = tail.split_at(tail.len() - last_len);
        if !body.is_empty() {
            // Checked first: names an append after a full final chunk precisely.
            self.release(body, false, out)?;
        }
        let whole = if self.ends_object {
            last.len() >= RECORD_OVERHEAD as usize
        } else {
            last.len() == rec
        };
        if !whole {
            return Err(Error::Truncated {
                chunks: self.next_index,
            });
        }
        self.release(last, true, out)
    }
}

/// Encrypting writer: everything written is encrypted into `inner`; call
/// [`finish`](Self::finish) at the end, or the object stays incomplete (and unreadable).
pub struct Encryptor<W: Write, R: CryptoRng + RngCore = StdRng> {
    core: StreamEncryptor<R>,
    inner: W,
    out: Vec<u8>,
}

impl<W: Write> Encryptor<W, StdRng> {
    /// Write a new object `object_id` under `master` into `inner`.
    pub fn new(master: &MasterKey, object_id: ObjectId, options: EncryptOptions, inner: W) -> Result<Self> {
        Ok(Self::from_core(
            StreamEncryptor::new(master, object_id, options)?,
            inner,
        ))
    }
}

impl<W: Write, R: CryptoRng + RngCore> Encryptor<W, R> {
    /// Wrap an existing push encryptor.
    pub fn from_core(core: StreamEncryptor<R>, inner: W) -> Self {
        Encryptor {
            core,
            inner,
            out: Vec::new(),
        }
    }

    /// Write the final chunk and flush; returns the inner writer.
    pub fn finish(mut self) -> Result<W> {
        self.core.finish(&mut self.out)?;
        self.inner.write_all(&self.out)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write, R: CryptoRng + RngCore> Write for Encryptor<W, R> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.clear();
        self.core.update(buf, &mut self.out).map_err(Error::into_io)?;
        self.inner.write_all(&self.out)?;
        self.out.clear();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Pending plaintext cannot be flushed before we know whether it is final.
        self.inner.flush()
    }
}

/// Read exactly a header from `reader`, naming a short read `Truncated`/`NotEncrypted`.
pub fn read_header<R: Read>(reader: &mut R) -> Result<ObjectHeader> {
    let mut bytes = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        let dst = bytes.get_mut(got..).ok_or(Error::InvalidLength("header"))?;
        match reader.read(dst) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let read = bytes.get(..got).ok_or(Error::InvalidLength("header"))?;
    if got < MAGIC.len() && read != MAGIC.get(..got).unwrap_or_default() {
        return Err(Error::NotEncrypted);
    }
    ObjectHeader::parse(read)
}

/// Decrypting reader: yields only verified plaintext. Errors come out of `read` as
/// `std::io::Error` of kind `InvalidData`; [`Error::from_io`] recovers the precise cause.
pub struct Decryptor<R: Read> {
    core: StreamDecryptor,
    inner: R,
    plain: Vec<u8>,
    pos: usize,
    read_buf: Vec<u8>,
    done: bool,
}

impl<R: Read> Decryptor<R> {
    /// Read and open the header with one of `keys`, expecting object `object_id`.
    pub fn new(mut inner: R, keys: &[MasterKey], object_id: &ObjectId, threads: usize) -> Result<Self> {
        let header = read_header(&mut inner)?;
        let object_keys = header.open(keys, object_id)?;
        Ok(Self::from_keys(object_keys, inner, threads))
    }

    /// Continue after a header that was already opened; `inner` is positioned at record 0.
    pub fn from_keys(keys: ObjectKeys, inner: R, threads: usize) -> Self {
        let threads = threads.max(1);
        let read_size = ObjectKeys::record_len(keys.chunk_size() as usize) * batch_chunks(threads);
        Decryptor {
            core: StreamDecryptor::new(keys, threads),
            inner,
            plain: Vec::new(),
            pos: 0,
            read_buf: vec![0u8; read_size],
            done: false,
        }
    }

    /// Refill `plain` with the next verified plaintext; false at the clean end.
    fn refill(&mut self) -> Result<bool> {
        self.plain.clear();
        self.pos = 0;
        while self.plain.is_empty() && !self.done {
            match self.inner.read(&mut self.read_buf) {
                Ok(0) => {
                    self.done = true;
                    self.core.finish(&mut self.plain)?;
                }
                Ok(k) => {
                    let got = self.read_buf.get(..k).ok_or(Error::InvalidLength("read"))?;
                    self.core.update(got, &mut self.plain)?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(!self.plain.is_empty())
    }

    /// Copy all plaintext to `out`; returns its length, or the precise error.
    pub fn copy_to<W: Write>(mut self, out: &mut W) -> Result<u64> {
        let mut total = 0u64;
        loop {
            if let Some(rest) = self.plain.get(self.pos..).filter(|r| !r.is_empty()) {
                out.write_all(rest)?;
                total += rest.len() as u64;
            }
            if !self.refill()? {
                return Ok(total);
            }
        }
    }
}

impl<R: Read> Drop for Decryptor<R> {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.plain);
    }
}

impl<R: Read> Read for Decryptor<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.plain.len() && !self.refill().map_err(Error::into_io)? {
            return Ok(0);
        }
        let avail = self.plain.get(self.pos..).unwrap_or_default();
        let n = avail.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), avail.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

/// Encrypt everything `reader` yields as object `object_id` into `writer`; returns the
/// plaintext length. Constant memory.
pub fn encrypt_stream<Rd: Read, W: Write>(
    master: &MasterKey,
    object_id: ObjectId,
    options: EncryptOptions,
    mut reader: Rd,
    writer: W,
) -> Result<u64> {
    let mut enc = Encryptor::new(master, object_id, options, writer)?;
    let mut total = 0u64;
    let mut buf = vec![0u8; options.chunk_size as usize * batch_chunks(options.threads)];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => {
                enc.write_all(buf.get(..k).ok_or(Error::InvalidLength("read"))?)
                    .map_err(unwrap_io)?;
                total += k as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    enc.finish()?;
    Ok(total)
}

/// Decrypt object `object_id` from `reader` into `writer`; returns the plaintext length.
/// On error, what was written already is verified plaintext but incomplete: discard it.
pub fn decrypt_stream<Rd: Read, W: Write>(
    keys: &[MasterKey],
    object_id: &ObjectId,
    threads: usize,
    reader: Rd,
    mut writer: W,
) -> Result<u64> {
    Decryptor::new(reader, keys, object_id, threads)?.copy_to(&mut writer)
}

/// Turn an `io::Error` from our adaptors back into the crate error it carries.
fn unwrap_io(e: std::io::Error) -> Error {
    match e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
        Some(_) => match e.into_inner().map(|b| b.downcast::<Error>()) {
            Some(Ok(inner)) => *inner,
            _ => Error::Misuse("lost error"),
        },
        None => Error::Io(e),
    }
}

/// Encrypt a small value in one call (e.g. a secret kept in the database, under the object id
/// spec §8 derives from its name); the result is an ordinary at-rest object.
pub fn encrypt_bytes(master: &MasterKey, object_id: ObjectId, plaintext: &[u8]) -> Result<Vec<u8>> {
    let mut enc = StreamEncryptor::new(master, object_id, EncryptOptions::default())?;
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + 64);
    enc.update(plaintext, &mut out)?;
    enc.finish(&mut out)?;
    Ok(out)
}

/// Decrypt a value made by [`encrypt_bytes`] (or any object held in memory); the plaintext
/// comes back in a buffer that is wiped when dropped.
///
/// The length is known, so this follows spec §5 exactly: after the header, the whole length
/// is checked before any record is decrypted (`Truncated { chunks: 0 }` below a header and one
/// record, `InvalidObjectLength` for other lengths the format never produces).
pub fn decrypt_bytes(keys: &[MasterKey], object_id: &ObjectId, stored: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let header = ObjectHeader::parse(stored.get(..HEADER_LEN).unwrap_or(stored))?;
    let object_keys = header.open(keys, object_id)?;
    let layout = Layout::from_cipher_len(stored.len() as u64, object_keys.chunk_size())?;
    let mut dec = StreamDecryptor::new(object_keys, 1);
    let capacity = usize::try_from(layout.plain_len()).map_err(|_| Error::InvalidLength("object too large"))?;
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(capacity));
    dec.update(stored.get(HEADER_LEN..).unwrap_or_default(), &mut out)?;
    dec.finish(&mut out)?;
    Ok(out)
}
