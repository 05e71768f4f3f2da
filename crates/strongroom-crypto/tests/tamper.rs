//! Every kind of damage fails, with the specific error, and releases no unverified plaintext.
// Test helpers outside #[test] fns: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::Read;

use common::{ID, encrypt, master, pattern};
use strongroom_crypto::*;

const S: u32 = 1024;
const R: usize = S as usize + 64;

fn record(i: usize) -> std::ops::Range<usize> {
    HEADER_LEN + i * R..HEADER_LEN + (i + 1) * R
}

/// Six chunks: five full, the last of 100 bytes.
fn object() -> (MasterKey, Vec<u8>, Vec<u8>) {
    let m = master(1);
    let plain = pattern(5 * S as usize + 100);
    let stored = encrypt(&m, ID, S, 1, &plain, 42);
    (m, plain, stored)
}

/// Decrypt with the streaming reader, returning the error; the plaintext released before
/// it must be a prefix of the original made of whole verified chunks. Single- and
/// multi-threaded decryption must agree on the error.
fn read_all(m: &MasterKey, id: &ObjectId, stored: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
    let mut results = Vec::new();
    for threads in [1, 2] {
        let r = Decryptor::new(stored, std::slice::from_ref(m), id, threads).and_then(|d| {
            let mut out = Vec::new();
            match d.copy_to(&mut out) {
                Ok(_) => Ok(out),
                Err(e) => {
                    assert!(plain.starts_with(&out), "released bytes are not original plaintext");
                    assert_eq!(out.len() % S as usize, 0, "only whole verified chunks released");
                    Err(e)
                }
            }
        });
        results.push(r);
    }
    let two = results.pop().unwrap();
    let one = results.pop().unwrap();
    assert_eq!(format!("{one:?}"), format!("{two:?}"), "threads 1 vs 2 disagree");
    one
}

fn err(m: &MasterKey, stored: &[u8], plain: &[u8]) -> Error {
    let e = read_all(m, &ID, stored, plain).expect_err("damage must be detected");
    assert!(
        e.is_integrity_failure()
            || matches!(
                e,
                Error::UnknownMasterKey { .. }
                    | Error::UnsupportedVersion(_)
                    | Error::UnsupportedAlgorithm(_)
                    | Error::UnsupportedFlags(_)
                    | Error::InvalidChunkSize(_)
            ),
        "{e:?}"
    );
    e
}

#[test]
fn every_header_bit_flip_is_detected_with_the_right_error() {
    let (m, plain, stored) = object();
    for byte in 0..HEADER_LEN {
        for bit in 0..8 {
            let mut t = stored.clone();
            t[byte] ^= 1 << bit;
            let e = err(&m, &t, &plain);
            let ok = match byte {
                0..8 => matches!(e, Error::NotEncrypted),
                8..10 => matches!(e, Error::UnsupportedVersion(_)),
                10 => matches!(e, Error::UnsupportedAlgorithm(_)),
                11 => matches!(e, Error::UnsupportedFlags(_)),
                12..16 => matches!(e, Error::InvalidChunkSize(_) | Error::HeaderIntegrity),
                64..80 => matches!(e, Error::UnknownMasterKey { .. }),
                _ => matches!(e, Error::HeaderIntegrity),
            };
            assert!(ok, "byte {byte} bit {bit}: {e:?}");
        }
    }
}

#[test]
fn every_byte_of_a_middle_and_the_last_chunk_is_protected() {
    let (m, plain, stored) = object();
    for (chunk, step) in [(2usize, 1usize), (5, 1)] {
        let range = if chunk == 5 {
            HEADER_LEN + 5 * R..stored.len()
        } else {
            record(chunk)
        };
        for at in range.step_by(step) {
            let mut t = stored.clone();
            t[at] ^= 0x80;
            let e = err(&m, &t, &plain);
            assert!(
                matches!(e, Error::ChunkIntegrity { index } if index == chunk as u64),
                "offset {at}: {e:?}"
            );
        }
    }
}

#[test]
fn chunk_api_releases_nothing_on_failure() {
    let (m, _, stored) = object();
    let keys = ObjectHeader::parse(&stored[..HEADER_LEN])
        .unwrap()
        .open(&[m], &ID)
        .unwrap();
    let mut rec = stored[record(1)].to_vec();
    rec[100] ^= 1;
    let mut out = b"before".to_vec();
    let e = keys.decrypt_chunk(1, false, &rec, &mut out).unwrap_err();
    assert!(matches!(e, Error::ChunkIntegrity { index: 1 }));
    assert_eq!(out, b"before");
    let mut dst = vec![0xAA; S as usize];
    assert!(keys.decrypt_chunk_into(1, false, &rec, &mut dst).is_err());
    assert!(dst.iter().all(|b| *b == 0xAA || *b == 0), "no plaintext written");
    // The right record at the wrong index, or with the wrong final flag, fails too.
    assert!(matches!(
        keys.decrypt_chunk(2, false, &stored[record(1)], &mut out),
        Err(Error::ChunkIntegrity { index: 2 })
    ));
    assert!(matches!(
        keys.decrypt_chunk(1, true, &stored[record(1)], &mut out),
        Err(Error::Truncated { .. })
    ));
}

#[test]
fn truncation_is_detected_at_every_length() {
    let (m, plain, stored) = object();
    for len in 0..stored.len() {
        let e = err(&m, &stored[..len], &plain);
        if len < HEADER_LEN {
            assert!(matches!(e, Error::Truncated { chunks: 0 }), "len {len}: {e:?}");
        } else if (len - HEADER_LEN).is_multiple_of(R) {
            let k = ((len - HEADER_LEN) / R) as u64;
            assert!(
                matches!(e, Error::Truncated { chunks } if chunks == k),
                "len {len}: {e:?}"
            );
        } else {
            assert!(
                matches!(e, Error::ChunkIntegrity { .. } | Error::Truncated { .. }),
                "len {len}: {e:?}"
            );
        }
    }
}

/// Issue 8: a reader that follows the records literally ("for each record …") finds none after
/// a header and returns an empty plaintext, which for an empty object even looks right. Every
/// object has at least one record, so a header alone is `Truncated { chunks: 0 }` in every
/// decryptor, including the random-access one asked for nothing.
#[test]
fn header_alone_is_truncated_never_an_empty_plaintext() {
    let m = master(1);
    for len in [0usize, 1, S as usize, 3 * S as usize + 5] {
        let stored = encrypt(&m, ID, S, 1, &pattern(len), 7);
        let header_only = &stored[..HEADER_LEN];
        let keys = std::slice::from_ref(&m);
        let truncated = |what: &str, r: Result<Vec<u8>>| match r {
            Err(Error::Truncated { chunks: 0 }) => {}
            Ok(p) => panic!(
                "{what} (plaintext of {len}): accepted a header alone as {} bytes",
                p.len()
            ),
            Err(e) => panic!("{what} (plaintext of {len}): {e:?}"),
        };
        for threads in [1, 2] {
            let mut out = Vec::new();
            truncated(
                "decrypt_stream",
                decrypt_stream(keys, &ID, threads, header_only, &mut out).map(|_| out),
            );
            let mut dec = Decryptor::new(header_only, keys, &ID, threads).unwrap();
            let mut out = Vec::new();
            let r = dec.read_to_end(&mut out).map(|_| out);
            truncated(
                "Decryptor::read_to_end",
                r.map_err(|e| match Error::from_io(&e) {
                    Some(Error::Truncated { chunks }) => Error::Truncated { chunks: *chunks },
                    _ => Error::Io(e),
                }),
            );
            let object_keys = ObjectHeader::parse(header_only).unwrap().open(keys, &ID).unwrap();
            let mut push = StreamDecryptor::new(object_keys, threads);
            let mut out = Vec::new();
            truncated("StreamDecryptor", push.finish(&mut out).map(|()| out));
        }
        truncated(
            "decrypt_bytes",
            decrypt_bytes(keys, &ID, header_only).map(|p| p.to_vec()),
        );
        let mut out = Vec::new();
        let r = read_range(&mut std::io::Cursor::new(header_only), keys, &ID, 0..0, &mut out);
        truncated("read_range 0..0", r.map(|_| out));
        assert!(matches!(
            plain_len(HEADER_LEN as u64, S),
            Err(Error::Truncated { chunks: 0 })
        ));
    }
}

#[test]
fn extension_is_detected() {
    let m = master(1);
    // Full final chunk: anything appended is named precisely.
    let plain = pattern(6 * S as usize);
    let stored = encrypt(&m, ID, S, 1, &plain, 1);
    for extra in [1usize, 63, 64, 65, R, 2 * R + 3] {
        let mut t = stored.clone();
        t.extend(std::iter::repeat_n(0u8, extra));
        let e = err(&m, &t, &plain);
        assert!(
            matches!(e, Error::DataAfterFinalChunk { index: 5 }),
            "extra {extra}: {e:?}"
        );
    }
    // Appending a copy of the final record itself.
    let mut t = stored.clone();
    t.extend_from_slice(&stored[record(5)]);
    assert!(matches!(err(&m, &t, &plain), Error::DataAfterFinalChunk { index: 5 }));
    // Short final chunk: the appended bytes land inside it.
    let (m, plain, stored) = object();
    for extra in [1usize, 16, 1000, 2000] {
        let mut t = stored.clone();
        t.extend(std::iter::repeat_n(7u8, extra));
        let e = err(&m, &t, &plain);
        assert!(matches!(e, Error::ChunkIntegrity { index: 5 }), "extra {extra}: {e:?}");
    }
}

#[test]
fn reordering_duplicating_and_dropping_chunks_within_an_object() {
    let (m, plain, stored) = object();
    let recs: Vec<Vec<u8>> = (0..5).map(|i| stored[record(i)].to_vec()).collect();
    let last = stored[HEADER_LEN + 5 * R..].to_vec();
    let build = |order: &[usize]| {
        let mut t = stored[..HEADER_LEN].to_vec();
        for &i in order {
            t.extend_from_slice(&recs[i]);
        }
        t.extend_from_slice(&last);
        t
    };
    let cases: [(&[usize], u64); 4] = [
        (&[1, 0, 2, 3, 4], 0), // swap 0 and 1
        (&[0, 1, 3, 2, 4], 2), // swap 2 and 3
        (&[0, 1, 2, 2, 4], 3), // duplicate 2
        (&[0, 1, 3, 4], 2),    // drop 2
    ];
    for (order, bad) in cases {
        let e = err(&m, &build(order), &plain);
        assert!(
            matches!(e, Error::ChunkIntegrity { index } if index == bad),
            "{order:?}: {e:?}"
        );
    }
    // Dropping the final record leaves a non-final record at the end: truncation.
    let e = err(&m, &build(&[0, 1, 2, 3, 4])[..HEADER_LEN + 5 * R], &plain);
    assert!(matches!(e, Error::Truncated { chunks: 5 }), "{e:?}");
}

#[test]
fn swapping_chunks_and_objects_between_objects() {
    let m = master(1);
    let plain_a = pattern(5 * S as usize + 100);
    let plain_b: Vec<u8> = plain_a.iter().map(|b| b ^ 0x55).collect();
    let id_b = ObjectId([0x22; 16]);
    let a = encrypt(&m, ID, S, 1, &plain_a, 1);
    let a2 = encrypt(&m, ID, S, 1, &plain_b, 2); // same id, same key, same layout
    let b = encrypt(&m, id_b, S, 1, &plain_b, 3);

    // Chunk 2 of another object with the same id and position.
    let mut t = a.clone();
    t[record(2)].copy_from_slice(&a2[record(2)]);
    assert!(matches!(err(&m, &t, &plain_a), Error::ChunkIntegrity { index: 2 }));

    // A's header spliced onto B's records.
    let mut t = a[..HEADER_LEN].to_vec();
    t.extend_from_slice(&b[HEADER_LEN..]);
    assert!(matches!(err(&m, &t, &plain_a), Error::ChunkIntegrity { index: 0 }));

    // Whole objects swapped between ids: B's blob read where A's should be, and vice versa.
    let e = read_all(&m, &ID, &b, &plain_a).unwrap_err();
    assert!(
        matches!(e, Error::ObjectIdMismatch { expected, found } if expected == ID && found == id_b),
        "{e:?}"
    );
    let e = read_all(&m, &id_b, &a, &plain_b).unwrap_err();
    assert!(matches!(e, Error::ObjectIdMismatch { .. }));
    // The right pairing works.
    assert_eq!(read_all(&m, &id_b, &b, &plain_b).unwrap(), plain_b);
}

#[test]
fn wrong_master_key_and_not_encrypted() {
    let (m, plain, stored) = object();
    let other = master(2);
    let e = read_all(&other, &ID, &stored, &plain).unwrap_err();
    assert!(
        matches!(e, Error::UnknownMasterKey { needed } if needed == m.id()),
        "{e:?}"
    );
    let e = read_all(&m, &ID, b"%PDF-1.7 plain document", &plain).unwrap_err();
    assert!(matches!(e, Error::NotEncrypted));
    let e = read_all(&m, &ID, b"", &plain).unwrap_err();
    assert!(matches!(e, Error::Truncated { chunks: 0 }));
    // Unknown version, with a valid-looking rest: rejected before any key use.
    let mut t = stored.clone();
    t[9] = 2;
    assert!(matches!(
        read_all(&other, &ID, &t, &plain),
        Err(Error::UnsupportedVersion(2))
    ));
    // Header parse rejects trailing data.
    assert!(matches!(
        ObjectHeader::parse(&stored[..HEADER_LEN + 1]),
        Err(Error::InvalidLength(_))
    ));
    assert!(ObjectHeader::parse(&stored[..HEADER_LEN]).unwrap().verify(&[m]).is_ok());
}

#[test]
fn read_adaptor_carries_the_precise_error() {
    let (m, _, mut stored) = object();
    stored[HEADER_LEN + 3 * R + 5] ^= 1;
    let mut d = Decryptor::new(&stored[..], &[m], &ID, 1).unwrap();
    let mut sink = Vec::new();
    let e = d.read_to_end(&mut sink).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        matches!(Error::from_io(&e), Some(Error::ChunkIntegrity { index: 3 })),
        "{e:?}"
    );
}
