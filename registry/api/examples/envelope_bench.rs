//! What opening a sealed registration costs the registry, per registration of
//! the queue benchmark's shape (a small metadata box and three 40 KB page
//! boxes): sealing, opening, and the per-page sha256 check, each timed over
//! 1,000 registrations. Prints the figures; run in release:
//! `cargo run --release -p registry-api --example envelope_bench`.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use registry_api::envelope::SealSecretKey;
use registry_api::sha256_hex;

fn main() {
    const N: usize = 1000;
    let key = SealSecretKey::generate();
    let public = key.public_key();
    let metadata = vec![b'm'; 2 * 1024];
    let pages: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 40 * 1024]).collect();

    let t = Instant::now();
    let sealed: Vec<(Vec<u8>, Vec<Vec<u8>>)> = (0..N)
        .map(|_| {
            (
                public.seal_bytes(&metadata).expect("seal"),
                pages.iter().map(|p| public.seal_bytes(p).expect("seal")).collect(),
            )
        })
        .collect();
    let seal_ms = t.elapsed().as_secs_f64() * 1000.0 / N as f64;

    let t = Instant::now();
    let mut opened = 0usize;
    for (m, ps) in &sealed {
        opened += key.open_bytes(m).expect("open").len();
        for p in ps {
            opened += key.open_bytes(p).expect("open").len();
        }
    }
    let open_ms = t.elapsed().as_secs_f64() * 1000.0 / N as f64;

    let t = Instant::now();
    let mut hashes = 0usize;
    for _ in 0..N {
        for p in &pages {
            hashes += sha256_hex(p).len();
        }
    }
    let hash_ms = t.elapsed().as_secs_f64() * 1000.0 / N as f64;

    println!("per registration (2 KB metadata + 3 x 40 KB pages, 4 sealed boxes):");
    println!("  seal   {seal_ms:.3} ms  (terminal, at sealing)");
    println!("  open   {open_ms:.3} ms  (registry, {} bytes opened in all)", opened);
    println!("  sha256 {hash_ms:.3} ms  (registry, page checks; {hashes} hex digits)");
}
