//! Many chunks at once, on all cores.
//!
//! Chunks are independent (own IV, own tag), so a batch of them can be split over threads.
//! IVs are drawn from the caller's RNG in chunk order before the work is split, so the output
//! does not depend on scheduling, and a seeded RNG gives reproducible bytes. Each worker
//! writes into its own disjoint part of the output buffer: no extra copies, no locks.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rand::{CryptoRng, RngCore};

use crate::chunk::IV_LEN;
use crate::error::{Error, Result};
use crate::format::RECORD_OVERHEAD;
use crate::header::ObjectKeys;
use crate::lanes::{LANES, Lane};

/// Worker threads to use by default: all the cores the OS gives this process.
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Plaintext lengths of the chunks a batch of `len` plaintext bytes splits into.
fn chunk_lens(len: usize, chunk: usize, ends_object: bool) -> Result<Vec<usize>> {
    if !ends_object && !len.is_multiple_of(chunk) {
        return Err(Error::InvalidLength(
            "a batch that does not end the object must hold whole chunks",
        ));
    }
    let count = if ends_object {
        len.div_ceil(chunk).max(1)
    } else {
        len / chunk
    };
    Ok((0..count).map(|i| chunk.min(len - i * chunk)).collect())
}

/// Run `job` on every unit, on up to `threads` threads (the calling thread is one of them).
/// Workers take the next unit from a shared counter, so a thread the OS descheduled does not
/// hold the others up. Returns the error of the lowest failing unit: units are taken in
/// order, so when a worker fails every lower unit is already taken and will finish.
fn run_split<T: Send, F>(units: Vec<T>, threads: usize, job: F) -> Result<()>
where
    F: Fn(T) -> Result<()> + Sync,
{
    let threads = threads.clamp(1, units.len().max(1));
    if threads == 1 {
        return units.into_iter().try_for_each(job);
    }
    let slots: Vec<Mutex<Option<T>>> = units.into_iter().map(|u| Mutex::new(Some(u))).collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let errors: Mutex<Vec<(usize, Error)>> = Mutex::new(Vec::new());
    let work = || {
        while !failed.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = slots.get(i) else { break };
            let unit = slot.lock().ok().and_then(|mut s| s.take());
            let result = unit.map_or(Err(Error::Misuse("work unit lost")), &job);
            if let Err(e) = result {
                failed.store(true, Ordering::Relaxed);
                if let Ok(mut errs) = errors.lock() {
                    errs.push((i, e));
                }
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(work);
        }
        work();
    });
    let errors = errors.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    match errors.into_iter().min_by_key(|(i, _)| *i) {
        Some((_, e)) => Err(e),
        None if failed.load(Ordering::Relaxed) => Err(Error::Misuse("worker failed")),
        None => Ok(()),
    }
}

/// Work for one thread step: eight equal chunks side by side, or one chunk alone.
enum EncUnit<'a> {
    Lanes(Box<[Lane<'a>; LANES]>),
    One(Lane<'a>),
}

/// Group consecutive equal-length chunks by eight; the rest go alone.
fn lane_units(lanes: Vec<Lane<'_>>) -> Vec<EncUnit<'_>> {
    let mut units = Vec::with_capacity(lanes.len() / LANES + LANES);
    let mut run: Vec<Lane<'_>> = Vec::with_capacity(LANES);
    for lane in lanes {
        if run.first().is_some_and(|r| r.plaintext.len() != lane.plaintext.len()) {
            units.extend(run.drain(..).map(EncUnit::One));
        }
        run.push(lane);
        if run.len() == LANES {
            match <[Lane<'_>; LANES]>::try_from(std::mem::take(&mut run)) {
                Ok(group) => units.push(EncUnit::Lanes(Box::new(group))),
                Err(back) => units.extend(back.into_iter().map(EncUnit::One)),
            }
        }
    }
    units.extend(run.into_iter().map(EncUnit::One));
    units
}

/// Split `buf` into consecutive mutable pieces of the given lengths.
fn split_lens<'a>(mut buf: &'a mut [u8], lens: &[usize]) -> Result<Vec<&'a mut [u8]>> {
    let mut parts = Vec::with_capacity(lens.len());
    for &len in lens {
        let (head, tail) = std::mem::take(&mut buf)
            .split_at_mut_checked(len)
            .ok_or(Error::InvalidLength("split"))?;
        parts.push(head);
        buf = tail;
    }
    Ok(parts)
}

/// Split `buf` into consecutive shared pieces of the given lengths.
fn split_lens_ref<'a>(mut buf: &'a [u8], lens: &[usize]) -> Result<Vec<&'a [u8]>> {
    let mut parts = Vec::with_capacity(lens.len());
    for &len in lens {
        let (head, tail) = buf.split_at_checked(len).ok_or(Error::InvalidLength("split"))?;
        parts.push(head);
        buf = tail;
    }
    Ok(parts)
}

impl ObjectKeys {
    /// Encrypt consecutive chunks `first_index, first_index + 1, …` cut from `plaintext` and
    /// append their records to `out`, using up to `threads` threads.
    ///
    /// `plaintext` must hold whole chunks unless `ends_object`, in which case its last chunk
    /// is marked final (and may be short, or the only, empty, chunk of an empty object).
    pub fn encrypt_chunks<R: CryptoRng + RngCore>(
        &self,
        first_index: u64,
        plaintext: &[u8],
        ends_object: bool,
        rng: &mut R,
        threads: usize,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let lens = chunk_lens(plaintext.len(), self.chunk_size() as usize, ends_object)?;
        let ivs: Vec<[u8; IV_LEN]> = lens
            .iter()
            .map(|_| {
                let mut iv = [0u8; IV_LEN];
                rng.fill_bytes(&mut iv);
                iv
            })
            .collect();
        let record_lens: Vec<usize> = lens.iter().map(|n| Self::record_len(*n)).collect();
        let start = out.len();
        out.resize(start + record_lens.iter().sum::<usize>(), 0);
        let dst = out.get_mut(start..).ok_or(Error::InvalidLength("split"))?;
        let items: Vec<_> = split_lens_ref(plaintext, &lens)?
            .into_iter()
            .zip(split_lens(dst, &record_lens)?)
            .collect();
        let count = lens.len();
        let lanes: Vec<Lane<'_>> = items
            .into_iter()
            .zip(ivs.iter())
            .enumerate()
            .map(|(i, ((plaintext, record), iv))| Lane {
                index: first_index + i as u64,
                is_final: ends_object && i + 1 == count,
                plaintext,
                iv,
                record,
            })
            .collect();
        let result = run_split(lane_units(lanes), threads, |unit| match unit {
            EncUnit::Lanes(group) => self.encrypt_lanes(*group),
            EncUnit::One(l) => self.encrypt_chunk_into(l.index, l.is_final, l.plaintext, l.iv, l.record),
        });
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// Verify and decrypt consecutive records starting at chunk `first_index` and append the
    /// plaintext to `out`, using up to `threads` threads. `records` holds whole records (of
    /// the full size) except that, if `ends_object`, its last record is the final one.
    ///
    /// All-or-nothing: if any record fails, nothing of the batch is appended and the error of
    /// the lowest failing chunk is returned.
    pub fn decrypt_chunks(
        &self,
        first_index: u64,
        records: &[u8],
        ends_object: bool,
        threads: usize,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let full = Self::record_len(self.chunk_size() as usize);
        let mut record_lens = Vec::with_capacity(records.len() / full + 1);
        let mut left = records.len();
        while left > full || (left == full && !ends_object) {
            record_lens.push(full);
            left -= full;
        }
        if ends_object {
            if left < RECORD_OVERHEAD as usize {
                return Err(Error::Truncated {
                    chunks: first_index + record_lens.len() as u64,
                });
            }
            record_lens.push(left);
        } else if left != 0 {
            return Err(Error::InvalidLength("records of a non-final batch must be whole"));
        }
        let plain_lens: Vec<usize> = record_lens.iter().map(|r| r - RECORD_OVERHEAD as usize).collect();
        let start = out.len();
        out.resize(start + plain_lens.iter().sum::<usize>(), 0);
        let dst = out.get_mut(start..).ok_or(Error::InvalidLength("split"))?;
        let items: Vec<_> = split_lens_ref(records, &record_lens)?
            .into_iter()
            .zip(split_lens(dst, &plain_lens)?)
            .collect();
        let count = record_lens.len();
        let units: Vec<_> = items.into_iter().enumerate().collect();
        let result = run_split(units, threads, |(i, (rec, plain))| {
            let is_final = ends_object && i + 1 == count;
            self.decrypt_chunk_into(first_index + i as u64, is_final, rec, plain)
        });
        if result.is_err() {
            // Earlier chunks of the batch verified, but the contract is all-or-nothing.
            if let Some(tail) = out.get_mut(start..) {
                tail.fill(0);
            }
            out.truncate(start);
        }
        result
    }
}
