//! Opening the Compound File container, with one repair for a known writer bug.
//!
//! msoffcrypto-tool (≤ 6.x) lists one sector too many in the DIFAT of files that need DIFAT
//! sectors (packages above ~7 MB): the header says N FAT sectors but the DIFAT names N+1, the
//! extra one being the mini-FAT. Office and olefile read only N; the `cfb` crate reads all and
//! rejects the file. When a plain open fails we retry through [`DifatRepair`], which shows
//! DIFAT entries beyond the header's FAT-sector count as free. This cannot make us accept
//! wrong data: the package is authenticated by its HMAC afterwards.

use std::io::{self, Read, Seek, SeekFrom};

/// Free-sector marker of MS-CFB 2.1.
const FREE_SECT: u32 = 0xFFFF_FFFF;
/// DIFAT entries held in the header (MS-CFB 2.2).
const HEADER_DIFAT: u64 = 109;
/// Bound on DIFAT sectors we follow (a 4 GiB file with 512-byte sectors needs ~1,000).
const MAX_DIFAT_SECTORS: u32 = 1 << 16;

/// A reader that overwrites given 4-byte ranges with `FF FF FF FF` as they are read.
pub(crate) struct DifatRepair<R> {
    inner: R,
    pos: u64,
    /// File offsets of DIFAT entries to present as free, sorted.
    patches: Vec<u64>,
}

fn read_u32_at<R: Read + Seek>(r: &mut R, offset: u64) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.seek(SeekFrom::Start(offset))?;
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

impl<R: Read + Seek> DifatRepair<R> {
    /// Work out which DIFAT entries exceed the header's FAT-sector count. Returns `None` when
    /// there is nothing to repair (so the caller can report the original error).
    pub(crate) fn new(mut inner: R) -> io::Result<Option<Self>> {
        let mut shift = [0u8; 2];
        inner.seek(SeekFrom::Start(0x1E))?;
        inner.read_exact(&mut shift)?;
        let shift = u16::from_le_bytes(shift);
        if shift != 9 && shift != 12 {
            return Ok(None);
        }
        let sector_len = 1u64 << shift;
        let num_fat = u64::from(read_u32_at(&mut inner, 0x2C)?);
        let mut difat_sector = read_u32_at(&mut inner, 0x44)?;
        let num_difat = read_u32_at(&mut inner, 0x48)?.min(MAX_DIFAT_SECTORS);

        let mut patches = Vec::new();
        let mut index: u64 = 0;
        let mut consider = |r: &mut R, offset: u64, index: u64| -> io::Result<()> {
            if index >= num_fat && read_u32_at(r, offset)? != FREE_SECT {
                patches.push(offset);
            }
            Ok(())
        };
        for i in 0..HEADER_DIFAT {
            consider(&mut inner, 0x4C + 4 * i, index)?;
            index += 1;
        }
        let per_sector = sector_len / 4 - 1;
        for _ in 0..num_difat {
            if difat_sector >= 0xFFFF_FFFA {
                break;
            }
            let base = (u64::from(difat_sector) + 1) * sector_len;
            for i in 0..per_sector {
                consider(&mut inner, base + 4 * i, index)?;
                index += 1;
            }
            difat_sector = read_u32_at(&mut inner, base + 4 * per_sector)?;
        }
        inner.seek(SeekFrom::Start(0))?;
        if patches.is_empty() {
            return Ok(None);
        }
        Ok(Some(DifatRepair { inner, pos: 0, patches }))
    }
}

impl<R: Read> Read for DifatRepair<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let (start, end) = (self.pos, self.pos + n as u64);
        for &p in &self.patches {
            for k in p..p + 4 {
                if k >= start
                    && k < end
                    && let Some(b) = usize::try_from(k - start).ok().and_then(|i| buf.get_mut(i))
                {
                    *b = 0xFF;
                }
            }
        }
        self.pos = end;
        Ok(n)
    }
}

impl<R: Seek> Seek for DifatRepair<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}
