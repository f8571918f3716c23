//! What each padding policy (SPEC.md §26) costs and hides, over a
//! realistic distribution of text lengths: 10 bytes to 4 KiB, log-uniform
//! (each length weighted by 1/length, so that 10-20 bytes are as likely as
//! 2-4 KiB: most messages are short).
//!
//! For each policy it prints the mean bytes added to a message (policy
//! header and marker included), the mean relative overhead, the worst
//! relative overhead, the number of distinct padded lengths (length
//! classes a relay can tell apart) and their entropy (the bits of length
//! information a relay learns on average). Deterministic: no RNG, no
//! timing. Run with `cargo run --release --example padding_overhead`.

use std::{collections::BTreeMap, num::NonZeroU16};

use chatcrypt::padding::PaddingPolicy;

fn main() {
    let lengths: Vec<usize> = (10..=4096).collect();
    let weights: Vec<f64> = lengths.iter().map(|&n| 1.0 / n as f64).collect();
    let total: f64 = weights.iter().sum();
    let blocks = |b: u16| PaddingPolicy::Blocks(NonZeroU16::new(b).expect("non-zero"));
    let policies = [
        ("none", PaddingPolicy::None),
        ("blocks of 64", blocks(64)),
        ("blocks of 160", blocks(160)),
        ("Padmé", PaddingPolicy::Padme { floor: 0 }),
        ("Padmé, floor 160 (default)", PaddingPolicy::DEFAULT),
    ];
    println!("Texts of 10 B to 4 KiB, log-uniform ({} lengths)", lengths.len());
    println!();
    println!("| policy | mean bytes added | mean overhead | worst overhead | length classes | bits leaked (entropy) |");
    println!("|---|---|---|---|---|---|");
    for (name, policy) in policies {
        let mut added = 0.0;
        let mut relative = 0.0;
        let mut worst: f64 = 0.0;
        let mut classes: BTreeMap<usize, f64> = BTreeMap::new();
        for (&n, &w) in lengths.iter().zip(&weights) {
            let p = policy.padded_len(n).expect("fits");
            let extra = (p - n) as f64;
            added += w * extra;
            relative += w * extra / n as f64;
            worst = worst.max(extra / n as f64);
            *classes.entry(p).or_default() += w / total;
        }
        let entropy: f64 = classes.values().map(|q| -q * q.log2()).sum();
        println!(
            "| {name} | {:.1} | {:.1} % | {:.0} % | {} | {:.2} |",
            added / total,
            100.0 * relative / total,
            100.0 * worst,
            classes.len(),
            entropy
        );
    }
    println!();
    println!("Up to 1 MiB (MAX_PLAINTEXT_LEN), the number of length classes:");
    for (name, policy) in policies {
        let mut last = 0;
        let mut count = 0usize;
        for n in 0..=(1usize << 20) - 4 {
            let p = policy.padded_len(n).expect("fits");
            if p != last {
                count += 1;
                last = p;
            }
        }
        println!("- {name}: {count}");
    }
}
