//! Throughput of the at-rest format, for `bench/at-rest/run.sh`.
//!
//! `cargo run --release --example at_rest_bench -- [MiB] [threads]` prints one line per
//! measurement, `name threads MB/s` (MB = 10^6 bytes, the unit `openssl speed` uses).
//! Data is in memory, so this measures the crypto core, not the disk.
// A measuring tool, not library code: a failed setup step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use aes::Aes256Enc;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::Sha256;
use strongroom_crypto::*;

/// Run `f` (which processes `bytes` bytes) repeatedly for at least `min` and report MB/s.
fn measure(bytes: usize, min: Duration, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < min {
        f();
        rounds += 1;
    }
    (bytes as f64 * rounds as f64) / start.elapsed().as_secs_f64() / 1e6
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mib: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(64);
    let all = available_threads();
    let threads: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(all);
    let min = Duration::from_secs_f64(
        std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0),
    );
    let size = mib << 20;
    let plain: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
    let master = MasterKey::from_bytes([9; 32]);
    let id = ObjectId([1; 16]);
    let mut rng = StdRng::seed_from_u64(1);

    // Raw primitives in Rust on one 64 KiB buffer: where the ceiling of this crate lies.
    let chunk = DEFAULT_CHUNK_SIZE as usize;
    let mut buf = plain[..chunk].to_vec();
    let aes = measure(chunk, min, || {
        cbc::Encryptor::<Aes256Enc>::new(&[1u8; 32].into(), &[2u8; 16].into())
            .encrypt_padded_mut::<NoPadding>(&mut buf, chunk)
            .unwrap();
    });
    println!("rust-aes-256-cbc-encrypt 1 {aes:.0}");
    let mac = measure(chunk, min, || {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&[3; 32]).unwrap();
        m.update(&buf);
        std::hint::black_box(m.finalize());
    });
    println!("rust-hmac-sha256 1 {mac:.0}");

    let mut stored = Vec::with_capacity(size + size / 512 + 4096);
    for t in [1, threads] {
        let opts = EncryptOptions {
            chunk_size: DEFAULT_CHUNK_SIZE,
            threads: t,
        };
        let mut out = Vec::with_capacity(size / 8);
        let enc = measure(size, min, || {
            let mut e = StreamEncryptor::with_rng(&master, id, opts, rng.clone()).unwrap();
            for piece in plain.chunks(1 << 20) {
                out.clear();
                e.update(piece, &mut out).unwrap();
            }
            out.clear();
            e.finish(&mut out).unwrap();
        });
        println!("encrypt-then-mac {t} {enc:.0}");

        stored.clear();
        let mut e = StreamEncryptor::with_rng(&master, id, opts, &mut rng).unwrap();
        e.update(&plain, &mut stored).unwrap();
        e.finish(&mut stored).unwrap();
        let keys = ObjectHeader::parse(&stored[..HEADER_LEN])
            .unwrap()
            .open(std::slice::from_ref(&master), &id)
            .unwrap();
        let dec = measure(size, min, || {
            let mut d = StreamDecryptor::new(keys.clone(), t);
            for piece in stored[HEADER_LEN..].chunks(1 << 20) {
                out.clear();
                d.update(piece, &mut out).unwrap();
            }
            out.clear();
            d.finish(&mut out).unwrap();
        });
        println!("verify-then-decrypt {t} {dec:.0}");
        if threads == 1 {
            break;
        }
    }
}
