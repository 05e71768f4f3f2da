//! At-rest decryption in strongroom-crypto: header parsing, whole-object and streaming
//! decryption (fed in pieces, one or two threads), and random-access range decryption.
//!
//! Input: 5 control bytes (threads and piece size; range start and length), then a stored
//! object. Every seed is a genuine object under one fixed master key whose plaintext is
//! self-describing (`strongroom_fuzz::at_rest_plaintext`), so every released byte can be
//! checked. Properties:
//! - `ObjectHeader::parse` accepts exactly `HEADER_LEN` bytes and gives them back unchanged;
//! - a damaged object never yields plaintext that is not part of an original: a complete
//!   decryption is exactly `at_rest_plaintext(len)`, bytes released before an error are a
//!   prefix of one, and a range is the matching slice;
//! - the whole-object, streaming and range APIs agree on success and content.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use strongroom_crypto::{HEADER_LEN, Layout, ObjectHeader, StreamDecryptor, decrypt_bytes, decrypt_stream, read_range};
use strongroom_fuzz::{AT_REST_CONTROL_LEN, AT_REST_ID, at_rest_byte, at_rest_master, at_rest_plaintext};

/// Bytes released before an error must be a prefix of some seed plaintext.
fn check_prefix(out: &[u8], what: &str) {
    let Some(len) = out.get(..8) else { return };
    let len = u64::from_le_bytes(len.try_into().unwrap_or_default());
    assert!(
        len >= out.len() as u64,
        "{what}: released {} bytes of a {len}-byte plaintext",
        out.len()
    );
    for (i, b) in out.iter().enumerate().skip(8) {
        assert_eq!(*b, at_rest_byte(i), "{what}: released byte {i} is not the original's");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((control, stored)) = data.split_at_checked(AT_REST_CONTROL_LEN) else {
        return;
    };
    let threads = 1 + usize::from(control[0] & 1);
    let piece = 1 + usize::from(control[0] >> 1) * 3;
    let keys = [at_rest_master()];

    // Header parsing.
    let parsed = ObjectHeader::parse(stored);
    assert!(
        parsed.is_err() || stored.len() == HEADER_LEN,
        "accepted a {}-byte header",
        stored.len()
    );
    let head = stored.get(..HEADER_LEN).unwrap_or(stored);
    let header = ObjectHeader::parse(head);
    if let Ok(h) = &header {
        assert_eq!(h.as_bytes().as_slice(), head);
    }

    // Whole object in one call.
    let whole = decrypt_bytes(&keys, &AT_REST_ID, stored);
    if let Ok(plain) = &whole {
        assert!(
            plain.as_slice() == at_rest_plaintext(plain.len()).as_slice(),
            "decrypt_bytes: {}-byte plaintext that is not an original",
            plain.len()
        );
    }

    // Push decryptor, fed in pieces.
    if let Ok(h) = &header {
        if let Ok(object_keys) = h.open(&keys, &AT_REST_ID) {
            let mut dec = StreamDecryptor::new(object_keys, threads);
            let mut out = Vec::new();
            let mut result = Ok(());
            for chunk in stored.get(HEADER_LEN..).unwrap_or_default().chunks(piece) {
                result = dec.update(chunk, &mut out);
                if result.is_err() {
                    break;
                }
            }
            if result.is_ok() {
                result = dec.finish(&mut out);
            }
            match (&result, &whole) {
                (Ok(()), Ok(plain)) => assert!(out == plain.as_slice(), "push decryptor and decrypt_bytes disagree"),
                (Ok(()), Err(e)) => panic!("push decryptor accepted what decrypt_bytes refused ({e})"),
                (Err(e), Ok(_)) => panic!("push decryptor refused what decrypt_bytes accepted ({e})"),
                (Err(_), Err(_)) => check_prefix(&out, "push decryptor"),
            }
        }
    }

    // Reader-based stream.
    let mut out = Vec::new();
    match (decrypt_stream(&keys, &AT_REST_ID, threads, stored, &mut out), &whole) {
        (Ok(n), Ok(plain)) => {
            assert_eq!(n, out.len() as u64);
            assert!(out == plain.as_slice(), "decrypt_stream and decrypt_bytes disagree");
        }
        (Ok(_), Err(e)) => panic!("decrypt_stream accepted what decrypt_bytes refused ({e})"),
        (Err(e), Ok(_)) => panic!("decrypt_stream refused what decrypt_bytes accepted ({e})"),
        (Err(_), Err(_)) => check_prefix(&out, "decrypt_stream"),
    }

    // Random access.
    let a = u64::from(u16::from_le_bytes([control[1], control[2]]));
    let b = u64::from(u16::from_le_bytes([control[3], control[4]]));
    let range = match header
        .as_ref()
        .ok()
        .map(|h| Layout::from_cipher_len(stored.len() as u64, h.chunk_size()))
    {
        Some(Ok(layout)) => {
            let len = layout.plain_len();
            let start = a % (len + 1);
            start..start + b % (len - start + 1)
        }
        _ => a..a + b,
    };
    let mut out = Vec::new();
    match read_range(&mut Cursor::new(stored), &keys, &AT_REST_ID, range.clone(), &mut out) {
        Ok(n) => {
            assert_eq!(n, out.len() as u64);
            assert_eq!(n, range.end - range.start);
            if let Ok(plain) = &whole {
                let slice = plain.get(range.start as usize..range.end as usize);
                assert!(
                    slice == Some(out.as_slice()),
                    "range {range:?} differs from the whole plaintext"
                );
            }
            for (i, byte) in out.iter().enumerate() {
                let at = range.start as usize + i;
                if at >= 8 {
                    assert_eq!(
                        *byte,
                        at_rest_byte(at),
                        "range {range:?}: byte {at} is not the original's"
                    );
                }
            }
        }
        Err(_) => {
            // Nothing half-verified reaches the caller's buffer from a failed range either:
            // whatever was written is original plaintext.
            for (i, byte) in out.iter().enumerate() {
                let at = range.start as usize + i;
                if at >= 8 {
                    assert_eq!(
                        *byte,
                        at_rest_byte(at),
                        "failed range {range:?}: byte {at} is not the original's"
                    );
                }
            }
        }
    }
});
