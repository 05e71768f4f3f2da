//! Round trips at every interesting size, through every API, and random-access reads.
// Test helpers outside #[test] fns: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::{Cursor, Read, Write};

use common::{ID, ScriptRng, encrypt, master, pattern};
use proptest::prelude::*;
use strongroom_crypto::*;

const S: u32 = 1024;

fn sizes(s: usize) -> Vec<usize> {
    vec![
        0,
        1,
        15,
        16,
        17,
        s - 1,
        s,
        s + 1,
        2 * s,
        8 * s,
        8 * s + 1,
        9 * s - 1,
        20 * s + 5,
    ]
}

#[test]
fn round_trip_sizes_threads_and_apis() {
    let m = master(1);
    for threads in [1, 2, 3] {
        for len in sizes(S as usize) {
            let plain = pattern(len);
            let stored = encrypt(&m, ID, S, threads, &plain, len as u64);
            assert_eq!(stored.len() as u64, ciphertext_len(len as u64, S).unwrap());
            assert_eq!(plain_len(stored.len() as u64, S).unwrap(), len as u64);
            // Read adaptor, byte by byte in odd pieces.
            let mut d = Decryptor::new(&stored[..], std::slice::from_ref(&m), &ID, threads).unwrap();
            let mut back = Vec::new();
            let mut buf = [0u8; 77];
            loop {
                let n = d.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                back.extend_from_slice(&buf[..n]);
            }
            assert_eq!(back, plain, "len {len} threads {threads}");
            // Push decryptor fed in odd pieces.
            let keys = ObjectHeader::parse(&stored[..HEADER_LEN])
                .unwrap()
                .open(std::slice::from_ref(&m), &ID)
                .unwrap();
            let mut sd = StreamDecryptor::new(keys, threads);
            let mut out = Vec::new();
            for piece in stored[HEADER_LEN..].chunks(333) {
                sd.update(piece, &mut out).unwrap();
            }
            sd.finish(&mut out).unwrap();
            assert_eq!(out, plain);
        }
    }
}

#[test]
fn write_adaptor_and_stream_helpers() {
    let m = master(2);
    let plain = pattern(5 * S as usize + 3);
    let opts = EncryptOptions {
        chunk_size: S,
        threads: 2,
    };
    let mut enc = Encryptor::new(&m, ID, opts, Vec::new()).unwrap();
    for piece in plain.chunks(100) {
        enc.write_all(piece).unwrap();
    }
    let stored = enc.finish().unwrap();
    let mut out = Vec::new();
    assert_eq!(
        decrypt_stream(std::slice::from_ref(&m), &ID, 2, Cursor::new(&stored), &mut out).unwrap(),
        plain.len() as u64
    );
    assert_eq!(out, plain);
    let mut stored2 = Vec::new();
    encrypt_stream(&m, ID, opts, &plain[..], &mut stored2).unwrap();
    assert_ne!(stored, stored2, "fresh data key and IVs every time");
    assert_eq!(common::decrypt(&[m], &ID, &stored2).unwrap(), plain);
}

/// The multi-lane and threaded paths must produce exactly the bytes of the one-chunk path.
#[test]
fn batched_paths_equal_chunk_by_chunk() {
    let m = master(3);
    for len in [8 * S as usize, 17 * S as usize + 9, 24 * S as usize] {
        let plain = pattern(len);
        let chunks = len.div_ceil(S as usize);
        let ivs: Vec<[u8; 16]> = (0..chunks).map(|i| [i as u8; 16]).collect();
        let iv_refs: Vec<&[u8]> = ivs.iter().map(|v| v.as_slice()).collect();
        let keys = ObjectKeys::create(&m, ID, S, &mut rand::rng()).unwrap();
        let mut expected = Vec::new();
        for (i, piece) in plain.chunks(S as usize).enumerate() {
            keys.encrypt_chunk(i as u64, i + 1 == chunks, piece, &ivs[i], &mut expected)
                .unwrap();
        }
        for threads in [1, 2, 4] {
            let mut got = Vec::new();
            keys.encrypt_chunks(0, &plain, true, &mut ScriptRng::new(&iv_refs), threads, &mut got)
                .unwrap();
            assert_eq!(got, expected, "len {len} threads {threads}");
            let mut back = Vec::new();
            keys.decrypt_chunks(0, &got, true, threads, &mut back).unwrap();
            assert_eq!(back, plain);
        }
    }
}

#[test]
fn range_reads_at_chunk_borders() {
    let m = master(4);
    let s = S as u64;
    for len in [0u64, 1, s - 1, s, s + 1, 3 * s, 3 * s + 7] {
        let plain = pattern(len as usize);
        let stored = encrypt(&m, ID, S, 1, &plain, 9);
        let edges: Vec<u64> = [
            0,
            1,
            s - 1,
            s,
            s + 1,
            2 * s - 1,
            2 * s,
            2 * s + 1,
            len.saturating_sub(1),
            len,
        ]
        .into_iter()
        .filter(|e| *e <= len)
        .collect();
        for &a in &edges {
            for &b in &edges {
                if a > b {
                    continue;
                }
                let mut out = Vec::new();
                let n = read_range(&mut Cursor::new(&stored), std::slice::from_ref(&m), &ID, a..b, &mut out).unwrap();
                assert_eq!(n, b - a);
                assert_eq!(out, &plain[a as usize..b as usize], "len {len} range {a}..{b}");
                // In-memory form: fetch only the planned ciphertext bytes.
                let layout = Layout::from_cipher_len(stored.len() as u64, S).unwrap();
                let plan = layout.plan(a..b).unwrap();
                let keys = ObjectHeader::parse(&stored[..HEADER_LEN])
                    .unwrap()
                    .open(std::slice::from_ref(&m), &ID)
                    .unwrap();
                let mut out2 = Vec::new();
                let cr = plan.cipher_range.start as usize..plan.cipher_range.end as usize;
                keys.decrypt_range_bytes(&layout, &plan, &stored[cr.clone()], &mut out2)
                    .unwrap();
                assert_eq!(out2, out);
                // Push form, fed in odd pieces, as an async blob store would.
                let mut sd = StreamDecryptor::for_range(keys.clone(), &plan, 2);
                let mut out3 = Vec::new();
                for piece in stored[cr.clone()].chunks(101) {
                    sd.update(piece, &mut out3).unwrap();
                }
                if a < b {
                    sd.finish(&mut out3).unwrap();
                }
                assert_eq!(out3, out);
                if a < b && cr.len() > 1 {
                    // A short fetch is reported, not silently accepted.
                    let mut sd = StreamDecryptor::for_range(keys.clone(), &plan, 1);
                    let mut sink = Vec::new();
                    let r = sd
                        .update(&stored[cr.start..cr.end - 1], &mut sink)
                        .and_then(|()| sd.finish(&mut sink));
                    assert!(r.is_err());
                }
                if a < b {
                    let touched = plan.chunks.end - plan.chunks.start;
                    assert_eq!(touched, (b - 1) / s - a / s + 1, "only the chunks needed");
                }
            }
        }
        let mut sink = Vec::new();
        let err = read_range(
            &mut Cursor::new(&stored),
            std::slice::from_ref(&m),
            &ID,
            0..len + 1,
            &mut sink,
        )
        .unwrap_err();
        assert!(matches!(err, Error::RangeOutOfBounds { .. }));
    }
}

#[test]
fn range_read_of_a_tampered_chunk_fails_only_if_touched() {
    let m = master(5);
    let s = S as usize;
    let plain = pattern(4 * s);
    let mut stored = encrypt(&m, ID, S, 1, &plain, 1);
    // Corrupt chunk 2.
    stored[HEADER_LEN + 2 * (s + 64) + 40] ^= 1;
    let mut out = Vec::new();
    read_range(
        &mut Cursor::new(&stored),
        std::slice::from_ref(&m),
        &ID,
        0..(2 * s as u64),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, &plain[..2 * s]);
    let err = read_range(
        &mut Cursor::new(&stored),
        &[m],
        &ID,
        (2 * s as u64)..(2 * s as u64 + 1),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::ChunkIntegrity { index: 2 }), "{err:?}");
}

#[test]
fn rotation_keeps_data_and_needs_the_new_key() {
    let old = master(6);
    let new = master(7);
    let plain = pattern(3 * S as usize + 1);
    let stored = encrypt(&old, ID, S, 1, &plain, 3);
    let header = ObjectHeader::parse(&stored[..HEADER_LEN]).unwrap();
    assert_eq!(header.master_key_id(), old.id());
    let rewrapped = header
        .rewrap(std::slice::from_ref(&old), &new, &mut rand::rng())
        .unwrap();
    let mut rotated = rewrapped.to_vec();
    rotated.extend_from_slice(&stored[HEADER_LEN..]);
    assert_eq!(rotated[..64], stored[..64]);
    assert_eq!(rotated[HEADER_LEN..], stored[HEADER_LEN..]);
    assert_eq!(
        common::decrypt(std::slice::from_ref(&new), &ID, &rotated).unwrap(),
        plain
    );
    // A key ring holding both opens both.
    assert_eq!(
        common::decrypt(&[old.clone(), new.clone()], &ID, &stored).unwrap(),
        plain
    );
    let err = common::decrypt(std::slice::from_ref(&old), &ID, &rotated).unwrap_err();
    assert!(matches!(err, Error::UnknownMasterKey { needed } if needed == new.id()));
    // Rewrapping with the wrong old key is refused.
    let err = header
        .rewrap(std::slice::from_ref(&new), &old, &mut rand::rng())
        .unwrap_err();
    assert!(matches!(err, Error::UnknownMasterKey { .. }));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn prop_round_trip(len in 0usize..5000, chunk_pow in 4u32..9, threads in 1usize..4, piece in 1usize..700, seed in any::<u64>()) {
        let s = 1u32 << chunk_pow;
        let m = master(8);
        let plain: Vec<u8> = (0..len).map(|i| (i as u64 ^ seed) as u8).collect();
        let stored = encrypt(&m, ID, s, threads, &plain, seed);
        prop_assert_eq!(stored.len() as u64, ciphertext_len(len as u64, s).unwrap());
        let keys = ObjectHeader::parse(&stored[..HEADER_LEN]).unwrap().open(std::slice::from_ref(&m), &ID).unwrap();
        let mut sd = StreamDecryptor::new(keys, threads);
        let mut out = Vec::new();
        for p in stored[HEADER_LEN..].chunks(piece) {
            sd.update(p, &mut out).unwrap();
        }
        sd.finish(&mut out).unwrap();
        prop_assert_eq!(out, plain);
    }

    #[test]
    fn prop_range(len in 1u64..3000, a in 0u64..3000, b in 0u64..3000) {
        let (a, b) = (a.min(b) % (len + 1), a.max(b) % (len + 1));
        let (a, b) = (a.min(b), a.max(b));
        let m = master(9);
        let plain = pattern(len as usize);
        let stored = encrypt(&m, ID, 64, 1, &plain, len);
        let mut out = Vec::new();
        read_range(&mut Cursor::new(&stored), &[m], &ID, a..b, &mut out).unwrap();
        prop_assert_eq!(&out[..], &plain[a as usize..b as usize]);
    }
}

#[test]
fn small_values_in_one_call() {
    let m = master(10);
    for value in [&b""[..], b"totp-seed", &pattern(70_000)] {
        let stored = encrypt_bytes(&m, ID, value).unwrap();
        assert_eq!(
            stored.len() as u64,
            ciphertext_len(value.len() as u64, DEFAULT_CHUNK_SIZE).unwrap()
        );
        assert_eq!(
            &decrypt_bytes(std::slice::from_ref(&m), &ID, &stored).unwrap()[..],
            value
        );
        let mut bad = stored.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(
            decrypt_bytes(std::slice::from_ref(&m), &ID, &bad)
                .unwrap_err()
                .is_integrity_failure()
        );
        assert!(matches!(
            decrypt_bytes(std::slice::from_ref(&m), &ID, &stored[..10]),
            Err(Error::Truncated { chunks: 0 })
        ));
    }
}
