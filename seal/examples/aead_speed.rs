//! Prints how fast this machine seals and opens 1 MiB fragments on one
//! core: `cargo run -p fragfs-seal --example aead_speed [ROUNDS]`.

fn main() {
    let rounds = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(256);
    let (seal, open) = fragfs_seal::aead_mb_per_s(1 << 20, rounds);
    println!(
        "AES-256-GCM-SIV, 1 MiB fragments, one core: seal {seal:.0} MB/s, open {open:.0} MB/s"
    );
}
