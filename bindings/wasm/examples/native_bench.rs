//! The native figure beside `bench/bench.mjs`: the same loops (per-message
//! encrypt and decrypt at 16 B and 4 KiB, OS generator, in-order messages,
//! the median of 7 runs after a warm-up) over the facade in Rust, on the
//! host. Run: `cargo run --release -p chatcrypt-wasm --example native_bench`.

use std::time::Instant;

use chatcrypt_bindings_core::{
    IdentityKeyPair, KemPreKey, KemPreKeyUse, Mode, ModePolicy, PqPolicy, PreKeyBundle, PreKeyMessage, Rng,
    Session, SignedPreKey,
};

type R<T> = Result<T, chatcrypt_bindings_core::Error>;

fn pair(rng: &mut Rng) -> R<(Session, Session)> {
    let bob = IdentityKeyPair::generate(rng)?;
    let spk = SignedPreKey::generate(&bob, 1, rng)?;
    let mut kem = KemPreKey::generate(&bob, 1, rng)?;
    let bundle = PreKeyBundle::new(&bob, &spk, None, Some(&kem))?;
    let mut a =
        Session::initiate(&IdentityKeyPair::generate(rng)?, &bundle, Mode::Plain, PqPolicy::Required, rng)?;
    let first = PreKeyMessage::from_bytes(&a.encrypt(&[0], rng)?)?;
    let use_kem = Some(KemPreKeyUse::OneTime(&mut kem));
    let accepted =
        Session::accept(&bob, &spk, None, use_kem, &first, ModePolicy::Any, PqPolicy::Required, rng)?;
    let mut b = accepted.session;
    a.decrypt(&b.encrypt(&[0], rng)?, rng)?;
    Ok((a, b))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() -> R<()> {
    let mut rng = Rng::os();
    for size in [16usize, 4096] {
        let n = if size == 16 { 20_000 } else { 5_000 };
        let (mut a, mut b) = pair(&mut rng)?;
        let pt = vec![0x61u8; size];
        let (mut enc, mut dec) = (Vec::new(), Vec::new());
        for run in 0..8 {
            let t = Instant::now();
            let msgs = (0..n).map(|_| a.encrypt(&pt, &mut rng)).collect::<R<Vec<_>>>()?;
            let te = t.elapsed().as_nanos() as f64 / n as f64;
            let t = Instant::now();
            for m in &msgs {
                b.decrypt(m, &mut rng)?;
            }
            let td = t.elapsed().as_nanos() as f64 / n as f64;
            if run > 0 {
                enc.push(te);
                dec.push(td);
            }
        }
        println!(
            "native (facade) {size:4} B: encrypt {:.2} us, decrypt {:.2} us per message",
            median(enc) / 1000.0,
            median(dec) / 1000.0
        );
    }
    Ok(())
}
