//! Criterion benchmarks of chatcrypt, each beside its primitive floor.
//!
//! `cargo bench --bench protocol` (or `cargo bench --workspace` to add the
//! vodozemac comparison in `benches/peers`). Groups:
//!
//! * `encrypt` / `decrypt`: one message on an existing chain (no handshake
//!   fields, no ratchet step) at 16 B, 256 B, 4 KiB, 64 KiB, through the
//!   buffer API (`encrypt_into` / `decrypt_into`); `encrypt_he` /
//!   `decrypt_he` the same with header encryption.
//! * `floor`: the same primitive work done with the crates directly:
//!   `msg/N` = KDF_CK's two HMAC-SHA256 + the HKDF-Expand to key and nonce +
//!   AES-256-GCM over N bytes; `ratchet_step` = one X25519 key generation,
//!   two X25519 DH and two KDF_RK (what one receiving ratchet step costs);
//!   `initiate`, `accept`: the signature check, DHs and KDFs of a handshake.
//! * `ratchet`: a ping-pong round trip where every message starts a DH
//!   ratchet step (two encrypts, two decrypts).
//! * `handshake`: bundle creation, `initiate`, `accept` (classical, with
//!   `PqPolicy::AllowClassical`), and `*_hybrid`: the default hybrid
//!   handshake with an ML-KEM-1024 prekey (SPEC.md §16); `kem_prekey`
//!   generates and signs one.
//! * `floor/initiate_hybrid`, `floor/accept_hybrid`: the classical floors
//!   plus one ML-KEM-1024 encapsulation (key parsing with its FIPS 203 check
//!   included) / decapsulation, called on `ml-kem` directly, as the issue
//!   defines them; `floor/initiate_hybrid_sig` also verifies the KEM
//!   prekey's signature (strict Ed25519 over its 1596-byte message), which
//!   a signed KEM prekey requires.
//! * `state`: `Session::to_bytes` / `from_bytes` / `seal` / `open` of an
//!   established session.
//! * `forgery`: the most expensive forged message, plain (`worst`) and with
//!   header encryption (`worst_he`), against an established receiver.
//! * `cycle`: `open_decrypt_seal`, what a messenger does per incoming
//!   message: open the sealed session, decrypt, seal it again.
//! * `forgery/record_worst`: the worst forged Message against a session
//!   record with 5 established sessions, each tried (the record's work
//!   bound; compare with `forgery/worst`).
//! * `fan_out`: `chatcrypt::fan_out` of one 64-byte payload to 1, 3 and 6
//!   devices (`devices_N`), each with an established session in a
//!   `SessionRecord`, and its baseline `session_encrypt`: one
//!   `Session::encrypt` of the same payload on an established session. The
//!   per-device overhead of the messenger layer is
//!   `devices_N / N ÷ session_encrypt` (`benches/report.py` prints it).
//! * `attachment`: a 1 MiB and a 64 MiB attachment (SPEC.md §22) through
//!   the chunk API in caller buffers, `encrypt/N` (a fresh key, then
//!   `encrypt_chunk_into` per 64 KiB chunk into one reused buffer, then
//!   `finish`) and `decrypt/N` (`decrypt_chunk` per chunk, then `finish`),
//!   beside their floor in the same group: `floor_encrypt/N` /
//!   `floor_decrypt/N`, AES-256-GCM on the `aes-gcm` crate over the same
//!   64 KiB chunks with the same nonces and associated data, one key
//!   schedule per file, no digest. `benches/report.py` prints the ratios
//!   (target ≥ 0.9× the floor's throughput, i.e. time ≤ 1.11× the floor).
//! * `sealed`: sealed sender (SPEC.md §27). `session_encrypt` /
//!   `session_decrypt`: one established session's Message of a 160-byte
//!   padded text (the default padding of a short text); `seal` / `open`:
//!   that message sealed for the peer's identity and opened (certificate
//!   validation included); the envelope's extra cost as a ratio to
//!   `floor/ratchet_step`. `multi/N`: `seal_multi` of one 160-byte content
//!   for N = 1, 10, 100 recipients, against `separate/N`: N single
//!   envelopes of it; `split/100`: the server's split of the 100-recipient
//!   envelope; `forged_open`: opening a forged envelope that passes the
//!   payload's AEAD (anyone can build one for a public identity key) and
//!   fails at the sender's tag, the most a forgery can force with a short
//!   payload, and `forged_open_max`: the same with the largest payload
//!   (`MAX_SEALED_PADDED_LEN`).

use chatcrypt::{
    fan_out, AcceptPolicy, AccountKeyPair, DeviceId, KemPreKey, KemPreKeyUse, LocalDevice, PeerAccount,
    PqPolicy, SessionPolicy, SessionRecord,
};
use ml_kem::{
    array::Array,
    kem::{Decapsulate, KeyExport},
    DecapsulationKey, EncapsulationKey, MlKem1024,
};
use std::{cell::RefCell, hint::black_box};

use aes_gcm::{aead::inout::InOutBuf, AeadInOut, Aes256Gcm, KeyInit};
use chatcrypt::{
    Error, IdentityKeyPair, Mode, ModePolicy, OneTimePreKey, PreKeyBundle, PreKeyMessage, Session,
    SignedPreKey,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ed25519_dalek::{Signer, SigningKey};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_chacha::{
    rand_core::{Rng, SeedableRng},
    ChaCha20Rng,
};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};

const SIZES: [usize; 4] = [16, 256, 4096, 65536];

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::from_seed([3; 32])
}

/// Two sessions after a handshake and one reply each way, so both sides
/// send plain Messages on an existing chain.
fn established(rng: &mut ChaCha20Rng) -> (Session, Session) {
    established_in(Mode::Plain, rng)
}

fn established_in(mode: Mode, rng: &mut ChaCha20Rng) -> (Session, Session) {
    let bob = IdentityKeyPair::generate(rng);
    let spk = SignedPreKey::generate(&bob, 1, rng);
    let opk = OneTimePreKey::generate(2, rng);
    let bundle =
        PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), Some(opk.public().clone()));
    let alice = IdentityKeyPair::generate(rng);
    let mut a = Session::initiate_with(&alice, &bundle, mode, PqPolicy::AllowClassical, rng).unwrap();
    let m = a.encrypt(b"hi", rng).unwrap();
    let msg = PreKeyMessage::from_bytes(&m).unwrap();
    let mut b = Session::accept(
        &bob,
        &spk,
        Some(opk),
        None,
        &msg,
        AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical),
        rng,
    )
    .unwrap()
    .session;
    let r = b.encrypt(b"hi", rng).unwrap();
    a.decrypt(&r, rng).unwrap();
    let m = a.encrypt(b"ok", rng).unwrap();
    b.decrypt(&m, rng).unwrap();
    (a, b)
}

fn encrypt(c: &mut Criterion) {
    encrypt_in(c, Mode::Plain, "encrypt");
    encrypt_in(c, Mode::HeaderEncryption, "encrypt_he");
}

fn decrypt(c: &mut Criterion) {
    decrypt_in(c, Mode::Plain, "decrypt");
    decrypt_in(c, Mode::HeaderEncryption, "decrypt_he");
}

/// `encrypt_he` / `decrypt_he`: the same with header encryption, which adds
/// one HKDF-Expand and one AES-256-GCM over the 40-byte header per message
/// (and, to decrypt, the trial of the current header key).
fn encrypt_in(c: &mut Criterion, mode: Mode, group: &str) {
    let mut g = c.benchmark_group(group);
    for size in SIZES {
        g.throughput(Throughput::Bytes(size as u64));
        let mut rng = rng();
        let (mut a, _b) = established_in(mode, &mut rng);
        let plaintext = vec![0x5a; size];
        let mut out = vec![0u8; a.encrypted_len(size).unwrap()];
        // Timed: the 16-byte reuse guard from the RNG, KDF_CK, key
        // expansion, header encoding, AES-256-GCM.
        g.bench_function(format!("{size}"), |bench| {
            bench.iter(|| a.encrypt_into(black_box(&plaintext), &mut out, &mut rng).unwrap())
        });
    }
    g.finish();
}

fn decrypt_in(c: &mut Criterion, mode: Mode, group: &str) {
    let mut g = c.benchmark_group(group);
    for size in SIZES {
        g.throughput(Throughput::Bytes(size as u64));
        let mut rng = rng();
        let (mut a, mut b) = established_in(mode, &mut rng);
        let plaintext = vec![0x5a; size];
        let mut out = vec![0u8; size];
        let mut send_rng = ChaCha20Rng::from_seed([5; 32]);
        // Setup (untimed): Alice encrypts the next in-order message.
        // Timed: parsing, key lookup and KDF_CK, key expansion, AES-256-GCM
        // open, and the commit of the new chain state.
        g.bench_function(format!("{size}"), |bench| {
            bench.iter_batched(
                || a.encrypt(&plaintext, &mut send_rng).unwrap(),
                |msg| b.decrypt_into(&msg, &mut out, &mut rng).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn ratchet(c: &mut Criterion) {
    let mut g = c.benchmark_group("ratchet");
    let mut rng = rng();
    let (mut a, mut b) = established(&mut rng);
    let mut buf = [0u8; 16];
    // Timed: A encrypts, B decrypts (a ratchet step), B encrypts, A decrypts
    // (a ratchet step): two keygens, four DHs, four KDF_RK, two messages.
    g.bench_function("round_trip_16", |bench| {
        bench.iter(|| {
            let m = a.encrypt(&[1u8; 16], &mut rng).unwrap();
            b.decrypt_into(&m, &mut buf, &mut rng).unwrap();
            let r = b.encrypt(&[2u8; 16], &mut rng).unwrap();
            a.decrypt_into(&r, &mut buf, &mut rng).unwrap();
        })
    });
    g.finish();
}

fn handshake(c: &mut Criterion) {
    let mut g = c.benchmark_group("handshake");
    let mut rng = rng();
    let bob = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKey::generate(&bob, 1, &mut rng);
    let opk = OneTimePreKey::generate(2, &mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    // Timed: a signed prekey (keygen + signature), a one-time prekey
    // (keygen), and the encoded bundle.
    g.bench_function("bundle", |bench| {
        bench.iter(|| {
            let spk = SignedPreKey::generate(&bob, 7, &mut rng);
            let opk = OneTimePreKey::generate(8, &mut rng);
            PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), Some(opk.public().clone()))
                .to_bytes()
        })
    });
    let bundle_bytes =
        PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), Some(opk.public().clone()))
            .to_bytes();
    // The one-time prekey is consumed by accept: each accept gets a copy.
    let opk_bytes = opk.to_bytes();
    // Timed: bundle decoding, signature check, X3DH with four DHs, the first
    // ratchet key and root step.
    g.bench_function("initiate", |bench| {
        bench.iter(|| {
            let bundle = PreKeyBundle::from_bytes(&bundle_bytes).unwrap();
            Session::initiate_with(&alice, &bundle, Mode::Plain, PqPolicy::AllowClassical, &mut rng).unwrap()
        })
    });
    // Setup: a fresh first message. Timed: parsing it, X3DH, the ratchet
    // step and decryption of the first message.
    let mut setup_rng = ChaCha20Rng::from_seed([4; 32]);
    g.bench_function("accept", |bench| {
        bench.iter_batched(
            || {
                let bundle = PreKeyBundle::from_bytes(&bundle_bytes).unwrap();
                let mut s = Session::initiate_with(
                    &alice,
                    &bundle,
                    Mode::Plain,
                    PqPolicy::AllowClassical,
                    &mut setup_rng,
                )
                .unwrap();
                let m = s.encrypt(&[0u8; 16], &mut setup_rng).unwrap();
                (m, OneTimePreKey::from_bytes(&opk_bytes).unwrap())
            },
            |(m, opk)| {
                let msg = PreKeyMessage::from_bytes(&m).unwrap();
                Session::accept(
                    &bob,
                    &spk,
                    Some(opk),
                    None,
                    &msg,
                    AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical),
                    &mut rng,
                )
                .unwrap()
            },
            BatchSize::SmallInput,
        )
    });

    // The hybrid handshake (the default): the same, with an ML-KEM-1024
    // prekey in the bundle.
    g.bench_function("kem_prekey", |bench| bench.iter(|| KemPreKey::generate(&bob, 9, &mut rng)));
    let kpk = KemPreKey::generate(&bob, 3, &mut rng);
    let hybrid_bytes =
        PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), Some(opk.public().clone()))
            .with_kem_prekey(kpk.public().clone())
            .to_bytes();
    // Timed: bundle decoding (with the KEM key's FIPS 203 check), both
    // signature checks, X3DH with four DHs and the encapsulation, the first
    // ratchet key and root step.
    g.bench_function("initiate_hybrid", |bench| {
        bench.iter(|| {
            let bundle = PreKeyBundle::from_bytes(&hybrid_bytes).unwrap();
            Session::initiate(&alice, &bundle, &mut rng).unwrap()
        })
    });
    // Timed: parsing the first message, decapsulation, X3DH, the ratchet
    // step and decryption of the first message (the KEM prekey is the
    // last-resort one, so no copy is made).
    g.bench_function("accept_hybrid", |bench| {
        bench.iter_batched(
            || {
                let bundle = PreKeyBundle::from_bytes(&hybrid_bytes).unwrap();
                let mut s = Session::initiate(&alice, &bundle, &mut setup_rng).unwrap();
                let m = s.encrypt(&[0u8; 16], &mut setup_rng).unwrap();
                (m, OneTimePreKey::from_bytes(&opk_bytes).unwrap())
            },
            |(m, opk)| {
                let msg = PreKeyMessage::from_bytes(&m).unwrap();
                let kem = Some(KemPreKeyUse::LastResort(&kpk));
                Session::accept(&bob, &spk, Some(opk), kem, &msg, AcceptPolicy::default(), &mut rng).unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn state(c: &mut Criterion) {
    let mut g = c.benchmark_group("state");
    let mut rng = rng();
    let (a, _b) = established(&mut rng);
    let bytes = a.to_bytes();
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("encode", |bench| bench.iter(|| a.to_bytes()));
    g.bench_function("decode", |bench| bench.iter(|| Session::from_bytes(black_box(&bytes)).unwrap()));
    let key = [0x42u8; 32];
    let sealed = a.seal(&key, &mut rng);
    g.bench_function("seal", |bench| bench.iter(|| a.seal(black_box(&key), &mut rng)));
    g.bench_function("open", |bench| bench.iter(|| Session::open(black_box(&key), &sealed).unwrap()));
    g.finish();
}

type HmacSha256 = Hmac<Sha256>;

/// The per-message primitive work of protocol version 2: KDF_CK,
/// HKDF-Expand with the 41-byte info (label and reuse guard), AES-256-GCM
/// with the 122-byte associated data of a Message (AD 64 + header 58).
fn floor_message(ck: &[u8; 32], buf: &mut [u8]) -> [u8; 16] {
    let mk: [u8; 32] =
        HmacSha256::new_from_slice(ck).unwrap().chain_update([1]).finalize().into_bytes().into();
    let next: [u8; 32] =
        HmacSha256::new_from_slice(ck).unwrap().chain_update([2]).finalize().into_bytes().into();
    black_box(next);
    let mut okm = [0u8; 44];
    let mut info = [0x47u8; 41];
    info[..25].copy_from_slice(b"chatcrypt v2 message keys");
    Hkdf::<Sha256>::from_prk(&mk).unwrap().expand(black_box(&info), &mut okm).unwrap();
    let key: [u8; 32] = okm[..32].try_into().unwrap();
    let nonce: [u8; 12] = okm[32..].try_into().unwrap();
    Aes256Gcm::new(&key.into())
        .encrypt_inout_detached(&nonce.into(), &[0u8; 122], InOutBuf::from(buf))
        .unwrap()
        .into()
}

fn floor_kdf_rk(rk: &[u8; 32], dh: &[u8; 32]) -> [u8; 64] {
    let mut okm = [0u8; 64];
    Hkdf::<Sha256>::new(Some(rk), dh).expand(b"chatcrypt v1 root", &mut okm).unwrap();
    okm
}

fn keygen(rng: &mut ChaCha20Rng) -> (StaticSecret, PublicKey) {
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b);
    let s = StaticSecret::from(b);
    let p = PublicKey::from(&s);
    (s, p)
}

fn floor(c: &mut Criterion) {
    let mut g = c.benchmark_group("floor");
    let ck = [7u8; 32];
    for size in SIZES {
        g.throughput(Throughput::Bytes(size as u64));
        let mut buf = vec![0x5a; size];
        g.bench_function(format!("msg/{size}"), |bench| {
            bench.iter(|| floor_message(black_box(&ck), &mut buf))
        });
    }
    g.throughput(Throughput::Elements(1));
    let mut rng = rng();
    let (_, peer) = keygen(&mut rng);
    let (old, _) = keygen(&mut rng);
    let rk = [9u8; 32];
    // One receiving ratchet step: DH with the old key, KDF_RK, keygen, DH
    // with the new key, KDF_RK.
    g.bench_function("ratchet_step", |bench| {
        bench.iter(|| {
            let dh1 = old.diffie_hellman(&peer);
            let o1 = floor_kdf_rk(&rk, dh1.as_bytes());
            let (new, _pub) = keygen(&mut rng);
            let dh2 = new.diffie_hellman(&peer);
            floor_kdf_rk(o1[..32].try_into().unwrap(), dh2.as_bytes())
        })
    });
    // initiate: strict signature check, two keygens, five DHs (X3DH with a
    // one-time prekey + the first ratchet DH), the X3DH HKDF and one KDF_RK.
    let signer = SigningKey::from_bytes(&[4u8; 32]);
    let verifier = signer.verifying_key();
    let msg = [5u8; 62];
    let sig = signer.sign(&msg);
    let ik = StaticSecret::from([6u8; 32]);
    g.bench_function("initiate", |bench| {
        bench.iter(|| {
            verifier.verify_strict(&msg, &sig).unwrap();
            let (ek, _) = keygen(&mut rng);
            let mut ikm = [0xffu8; 160];
            ikm[32..64].copy_from_slice(ik.diffie_hellman(&peer).as_bytes());
            ikm[64..96].copy_from_slice(ek.diffie_hellman(&peer).as_bytes());
            ikm[96..128].copy_from_slice(ek.diffie_hellman(&peer).as_bytes());
            ikm[128..].copy_from_slice(ek.diffie_hellman(&peer).as_bytes());
            let mut sk = [0u8; 32];
            Hkdf::<Sha256>::new(Some(&[0u8; 32]), &ikm).expand(b"chatcrypt v1 X3DH", &mut sk).unwrap();
            let (r, _) = keygen(&mut rng);
            floor_kdf_rk(&sk, r.diffie_hellman(&peer).as_bytes())
        })
    });
    // accept: four X3DH DHs and HKDF, a receiving ratchet step (DH, KDF_RK,
    // keygen, DH, KDF_RK) and the first 16-byte message.
    let mut buf = [0u8; 16];
    g.bench_function("accept", |bench| {
        bench.iter(|| {
            let mut ikm = [0xffu8; 160];
            for i in 1..5 {
                ikm[32 * i..32 * (i + 1)].copy_from_slice(ik.diffie_hellman(&peer).as_bytes());
            }
            let mut sk = [0u8; 32];
            Hkdf::<Sha256>::new(Some(&[0u8; 32]), &ikm).expand(b"chatcrypt v1 X3DH", &mut sk).unwrap();
            let o1 = floor_kdf_rk(&sk, ik.diffie_hellman(&peer).as_bytes());
            let (new, _) = keygen(&mut rng);
            let o2 = floor_kdf_rk(o1[..32].try_into().unwrap(), new.diffie_hellman(&peer).as_bytes());
            floor_message(o2[32..].try_into().unwrap(), &mut buf)
        })
    });

    // The hybrid floors: the classical ones plus ML-KEM-1024 on the crate.
    let dk = DecapsulationKey::<MlKem1024>::from_seed(Array::from([8u8; 64]));
    let ek_bytes = dk.encapsulation_key().to_bytes();
    let (ct, _) = EncapsulationKey::<MlKem1024>::new(&ek_bytes)
        .unwrap()
        .encapsulate_deterministic(&Array::from([1u8; 32]));
    let kem_msg = vec![0x6bu8; 1596];
    let kem_sig = signer.sign(&kem_msg);
    let classical_initiate = |rng: &mut ChaCha20Rng| {
        verifier.verify_strict(&msg, &sig).unwrap();
        let (ek, _) = keygen(rng);
        let mut ikm = [0xffu8; 192];
        ikm[32..64].copy_from_slice(ik.diffie_hellman(&peer).as_bytes());
        ikm[64..96].copy_from_slice(ek.diffie_hellman(&peer).as_bytes());
        ikm[96..128].copy_from_slice(ek.diffie_hellman(&peer).as_bytes());
        ikm[128..160].copy_from_slice(ek.diffie_hellman(&peer).as_bytes());
        ikm
    };
    let finish_initiate = |ikm: &[u8; 192], rng: &mut ChaCha20Rng| {
        let mut sk = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&[0u8; 32]), ikm).expand(b"chatcrypt v1 X3DH", &mut sk).unwrap();
        let (r, _) = keygen(rng);
        floor_kdf_rk(&sk, r.diffie_hellman(&peer).as_bytes())
    };
    // One encapsulation to the 1568-byte key (parsed with its FIPS 203
    // check), its secret at the end of the HKDF input.
    let encapsulate_into = |ikm: &mut [u8; 192], rng: &mut ChaCha20Rng| {
        let ek = EncapsulationKey::<MlKem1024>::new(black_box(&ek_bytes)).unwrap();
        let mut m = [0u8; 32];
        rng.fill_bytes(&mut m);
        let (_ct, ss) = ek.encapsulate_deterministic(&Array::from(m));
        ikm[160..].copy_from_slice(&ss);
    };
    g.bench_function("initiate_hybrid", |bench| {
        bench.iter(|| {
            let mut ikm = classical_initiate(&mut rng);
            encapsulate_into(&mut ikm, &mut rng);
            finish_initiate(&ikm, &mut rng)
        })
    });
    g.bench_function("initiate_hybrid_sig", |bench| {
        bench.iter(|| {
            let mut ikm = classical_initiate(&mut rng);
            verifier.verify_strict(black_box(&kem_msg), &kem_sig).unwrap();
            encapsulate_into(&mut ikm, &mut rng);
            finish_initiate(&ikm, &mut rng)
        })
    });
    g.bench_function("accept_hybrid", |bench| {
        bench.iter(|| {
            let ss = dk.decapsulate(black_box(&ct));
            let mut ikm = [0xffu8; 192];
            for i in 1..5 {
                ikm[32 * i..32 * (i + 1)].copy_from_slice(ik.diffie_hellman(&peer).as_bytes());
            }
            ikm[160..].copy_from_slice(&ss);
            let mut sk = [0u8; 32];
            Hkdf::<Sha256>::new(Some(&[0u8; 32]), &ikm).expand(b"chatcrypt v1 X3DH", &mut sk).unwrap();
            let o1 = floor_kdf_rk(&sk, ik.diffie_hellman(&peer).as_bytes());
            let (new, _) = keygen(&mut rng);
            let o2 = floor_kdf_rk(o1[..32].try_into().unwrap(), new.diffie_hellman(&peer).as_bytes());
            floor_message(o2[32..].try_into().unwrap(), &mut buf)
        })
    });
    g.finish();
}

/// `forgery/worst`: the most expensive forged Message an attacker can build
/// from public values in plain mode: a fresh valid ratchet key (a new DH
/// ratchet step), PN = Nr + MAX_SKIP and N = MAX_SKIP, random guard,
/// ciphertext and tag. Before the tag fails the receiver derives
/// MAX_SKIP + 1 keys of the new chain, one X25519 and one KDF_RK; the old
/// chain's skipped keys are derived only after authentication (SPEC.md §8).
/// `forgery/worst_he`: a header-encrypted Message whose encrypted header no
/// header key opens, against a receiver that remembers the maximum
/// MAX_PREVIOUS_RATCHET_KEYS = 8 earlier chains: 10 header trials.
fn forgery(c: &mut Criterion) {
    let mut g = c.benchmark_group("forgery");
    let mut rng = rng();

    // Plain mode.
    let (mut a, mut b) = established(&mut rng);
    // A genuine next Message from Alice (not delivered): its N is Bob's Nr.
    let genuine = a.encrypt(&[0x5a; 16], &mut rng).unwrap();
    assert_eq!(&genuine[..2], &[0x02, 0x02]);
    assert_eq!(genuine.len(), 2 + 56 + 16 + 16);
    let nr = u32::from_be_bytes(genuine[38..42].try_into().unwrap());
    let forge = |pn: u32, n: u32, rng: &mut ChaCha20Rng| {
        let mut f = genuine.clone();
        let (_, fresh) = keygen(rng);
        f[2..34].copy_from_slice(fresh.as_bytes());
        f[34..38].copy_from_slice(&pn.to_be_bytes());
        f[38..42].copy_from_slice(&n.to_be_bytes());
        rng.fill_bytes(&mut f[42..]);
        f
    };
    let max_skip = chatcrypt::MAX_SKIP;
    // One step further on either chain is refused before any derivation.
    let mut out = [0u8; 16];
    assert!(matches!(
        b.decrypt_into(&forge(nr + max_skip + 1, max_skip, &mut rng), &mut out, &mut rng),
        Err(Error::TooFarAhead { .. })
    ));
    assert!(matches!(
        b.decrypt_into(&forge(nr + max_skip, max_skip + 1, &mut rng), &mut out, &mut rng),
        Err(Error::TooFarAhead { .. })
    ));
    let forged = forge(nr + max_skip, max_skip, &mut rng);
    let before = b.to_bytes();
    assert_eq!(b.decrypt_into(&forged, &mut out, &mut rng), Err(Error::Auth));
    // Transactional: the failed decrypt left the session unchanged, so the
    // same session serves every iteration.
    assert_eq!(b.to_bytes(), before);
    g.bench_function("worst", |bench| {
        bench.iter(|| {
            let r = b.decrypt_into(black_box(&forged), &mut out, &mut rng);
            debug_assert_eq!(r, Err(Error::Auth));
            r
        })
    });
    assert_eq!(b.to_bytes(), before);
    assert_eq!(b.decrypt(&genuine, &mut rng).unwrap(), [0x5a; 16]);

    // Header encryption: Bob remembers 8 earlier receiving chains.
    let (mut a, mut b) = established_in(Mode::HeaderEncryption, &mut rng);
    let mut firsts = Vec::new();
    for _ in 0..12 {
        let m = a.encrypt(&[1u8; 16], &mut rng).unwrap();
        b.decrypt(&m, &mut rng).unwrap();
        firsts.push(m);
        let r = b.encrypt(&[2u8; 16], &mut rng).unwrap();
        a.decrypt(&r, &mut rng).unwrap();
    }
    let m = a.encrypt(&[3u8; 16], &mut rng).unwrap();
    b.decrypt(&m, &mut rng).unwrap();
    // Replays from the 8 newest earlier chains are recognised (their header
    // keys are kept), older ones are not: exactly 8 are remembered.
    let k = firsts.len();
    for (i, old) in firsts.iter().enumerate() {
        let expected = if i >= k - 8 { Error::Duplicate } else { Error::Auth };
        assert_eq!(b.decrypt_into(old, &mut out, &mut rng), Err(expected), "chain {i} of {k}");
    }
    let genuine = a.encrypt(&[0x5a; 16], &mut rng).unwrap();
    assert_eq!(&genuine[..2], &[0x02, 0x04]);
    assert_eq!(genuine.len(), 2 + 72 + 16 + 16);
    let mut forged = genuine.clone();
    for byte in &mut forged[2..74] {
        *byte ^= 0xa5;
    }
    let before = b.to_bytes();
    assert_eq!(b.decrypt_into(&forged, &mut out, &mut rng), Err(Error::Auth));
    assert_eq!(b.to_bytes(), before);
    g.bench_function("worst_he", |bench| {
        bench.iter(|| {
            let r = b.decrypt_into(black_box(&forged), &mut out, &mut rng);
            debug_assert_eq!(r, Err(Error::Auth));
            r
        })
    });
    assert_eq!(b.to_bytes(), before);
    assert_eq!(b.decrypt(&genuine, &mut rng).unwrap(), [0x5a; 16]);
    g.finish();
}

/// `cycle/open_decrypt_seal`: what a messenger does per incoming message
/// when it keeps sessions sealed in its database: open the sealed session,
/// decrypt one 16-byte in-order message on the existing chain, seal the
/// session again.
fn cycle(c: &mut Criterion) {
    let mut g = c.benchmark_group("cycle");
    let mut rng = rng();
    let mut send_rng = ChaCha20Rng::from_seed([6; 32]);
    let key = [0x42u8; 32];
    let (mut a, b) = established(&mut rng);
    // The receiver's sealed state lives outside the batch (criterion runs a
    // whole batch of setups before the routines); each routine opens it,
    // decrypts, seals, and swaps the new bytes in.
    let sealed = RefCell::new(b.seal(&key, &mut rng));
    drop(b);
    let mut out = [0u8; 16];
    {
        let m = a.encrypt(&[0x5a; 16], &mut send_rng).unwrap();
        let mut s = Session::open(&key, &sealed.borrow()).unwrap();
        assert_eq!(s.decrypt_into(&m, &mut out, &mut rng).map(|r| r.len), Ok(16));
        assert_eq!(s.decrypt_into(&m, &mut out, &mut rng), Err(Error::Duplicate));
        *sealed.borrow_mut() = s.seal(&key, &mut rng);
    }
    // Setup (untimed): Alice encrypts the next in-order message. Timed:
    // open (AES-256-GCM over the state, decode), decrypt_into, seal
    // (encode, AES-256-GCM).
    g.bench_function("open_decrypt_seal", |bench| {
        bench.iter_batched(
            || a.encrypt(&[0x5a; 16], &mut send_rng).unwrap(),
            |msg| {
                let mut st = sealed.borrow_mut();
                let mut s = Session::open(&key, &st).unwrap();
                s.decrypt_into(&msg, &mut out, &mut rng).unwrap();
                let new = s.seal(&key, &mut rng);
                std::mem::replace(&mut *st, new)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
    // The last sealed state is current: Alice's next message decrypts.
    let mut s = Session::open(&key, &sealed.borrow()).unwrap();
    let m = a.encrypt(&[0x5a; 16], &mut send_rng).unwrap();
    assert_eq!(s.decrypt_into(&m, &mut out, &mut rng).map(|r| r.len), Ok(16));
}

/// The device counts of the `fan_out` group, and its payload size.
const FAN_OUT_DEVICES: [usize; 3] = [1, 3, 6];
const FAN_OUT_PAYLOAD: usize = 64;

/// A device of `account` with id `id` and a first batch of prekeys.
fn messenger_device(account: &AccountKeyPair, id: u32, now: u64, rng: &mut ChaCha20Rng) -> LocalDevice {
    let identity = IdentityKeyPair::generate(rng);
    let certificate = account.certify(DeviceId::new(id), identity.public_key());
    let mut device = LocalDevice::new(identity, certificate, now, rng).unwrap();
    device.replenish(0, 0, rng).unwrap();
    device
}

/// `fan_out/devices_N`: Alice's device encrypts one payload for N of
/// Bob's devices through their records (the trust check and one session
/// encryption each, plus the result vector). `fan_out/session_encrypt`:
/// one `Session::encrypt` (allocating, as the records' encryptions are) of
/// the same payload on an established session, the per-device floor.
fn fan_out_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("fan_out");
    let mut rng = rng();
    let now = 1_800_000_000;
    let policy = SessionPolicy::default();
    let payload = [0x5au8; FAN_OUT_PAYLOAD];
    let max = FAN_OUT_DEVICES[FAN_OUT_DEVICES.len() - 1];

    let alice_account = AccountKeyPair::generate(&mut rng);
    let bob_account = AccountKeyPair::generate(&mut rng);
    let mut alice = messenger_device(&alice_account, 1, now, &mut rng);
    let mut bobs: Vec<LocalDevice> =
        (1..=max as u32).map(|id| messenger_device(&bob_account, id, now, &mut rng)).collect();
    let entries: Vec<_> = bobs.iter().map(LocalDevice::link).collect();
    let bob_peer =
        PeerAccount::trust_on_first_use(b"bob", bob_account.sign_device_list(1, &entries).unwrap()).unwrap();
    let alice_entry = [alice.link()];
    let alice_list = alice_account.sign_device_list(1, &alice_entry).unwrap();
    let alice_peer = PeerAccount::trust_on_first_use(b"alice", alice_list).unwrap();

    // Setup (untimed): one established session per device of Bob (the
    // default hybrid handshake, one reply), so each encryption is a plain
    // Message on an existing chain, as in the baseline.
    let mut records = Vec::new();
    let mut theirs = Vec::new();
    for bob in &mut bobs {
        let persisted = bob.to_bytes();
        let bundle = bob.upload(&persisted).unwrap().bundle(Some(0), Some(0)).unwrap();
        let mut mine = SessionRecord::new(bob.device_id());
        mine.initiate(&alice, &bob_peer, &bundle, &policy, now, &mut rng).unwrap();
        let first = mine.encrypt(&bob_peer, b"hi", now, &mut rng).unwrap();
        let mut their = SessionRecord::new(alice.device_id());
        their.decrypt(bob, &alice_peer, &first, &policy, now, &mut rng).unwrap();
        let reply = their.encrypt(&alice_peer, b"hi", now, &mut rng).unwrap();
        mine.decrypt(&mut alice, &bob_peer, &reply, &policy, now, &mut rng).unwrap();
        assert!(!mine.current_session().unwrap().awaiting_reply());
        records.push(mine);
        theirs.push(their);
    }
    // Every device reads its copy of a fan-out, before any timing.
    let targets = records.iter_mut().map(|r| (r.device(), r, &bob_peer));
    let out = fan_out(targets, &payload, now, &mut rng);
    assert_eq!(out.len(), max);
    for ((to, ciphertext), (bob, their)) in out.into_iter().zip(bobs.iter_mut().zip(&mut theirs)) {
        assert_eq!(to, bob.device_id());
        let got = their.decrypt(bob, &alice_peer, &ciphertext.unwrap(), &policy, now, &mut rng).unwrap();
        assert_eq!(got.plaintext, payload);
    }

    let (mut a, _b) = established(&mut rng);
    g.throughput(Throughput::Elements(1));
    // Timed: the 16-byte reuse guard, KDF_CK, key expansion, header
    // encoding, AES-256-GCM, and the allocation of the message.
    g.bench_function("session_encrypt", |bench| {
        bench.iter(|| a.encrypt(black_box(&payload), &mut rng).unwrap())
    });
    for n in FAN_OUT_DEVICES {
        g.throughput(Throughput::Elements(n as u64));
        // Timed: per device the record's expiry and trust checks (the
        // device list lookup and a constant-time key comparison) and one
        // `Session::encrypt`; the vector of results.
        g.bench_function(format!("devices_{n}"), |bench| {
            bench.iter(|| {
                let targets = records[..n].iter_mut().map(|r| (r.device(), r, &bob_peer));
                let out = fan_out(targets, black_box(&payload), now, &mut rng);
                debug_assert!(out.iter().all(|(_, r)| r.is_ok()));
                out
            })
        });
    }
    g.finish();
}

/// `forgery/record_worst`: the worst forged Message against a
/// `SessionRecord` holding the most sessions (1 current + 4 archived, all
/// established, plain mode): the record tries every session (SPEC.md
/// §20.2), and in each the forgery costs what `forgery/worst` costs (a new
/// ratchet key, MAX_SKIP keys skipped in the old chain and MAX_SKIP in the
/// new), plus one SHA-256 of the message. The ratio to `forgery/worst` is
/// the record's work bound in practice (at most 5).
fn record_forgery(c: &mut Criterion) {
    let mut g = c.benchmark_group("forgery");
    let mut rng = rng();
    let now = 1_800_000_000;
    let policy = SessionPolicy::new(
        Mode::Plain,
        PqPolicy::AllowClassical,
        AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical),
    );
    let alice_account = AccountKeyPair::generate(&mut rng);
    let bob_account = AccountKeyPair::generate(&mut rng);
    let alice = messenger_device(&alice_account, 1, now, &mut rng);
    let mut bob = messenger_device(&bob_account, 1, now, &mut rng);
    let list = |a: &AccountKeyPair, d: &LocalDevice| a.sign_device_list(1, &[d.link()]).unwrap();
    let bob_peer = PeerAccount::trust_on_first_use(b"bob", list(&bob_account, &bob)).unwrap();
    let alice_peer = PeerAccount::trust_on_first_use(b"alice", list(&alice_account, &alice)).unwrap();
    // Five handshakes from Alice; Bob's record keeps all five sessions.
    let mut theirs = SessionRecord::new(alice.device_id());
    for i in 0..5 {
        let persisted = bob.to_bytes();
        let up = bob.upload(&persisted).unwrap();
        bob.mark_uploaded(&up);
        let bundle = chatcrypt::PreKeyBundle::new(
            bob.identity().public_key().clone(),
            up.signed_prekey().clone(),
            Some(up.one_time_prekeys()[0].clone()),
        );
        bob.replenish(0, 0, &mut rng).unwrap();
        let mut mine = SessionRecord::new(bob.device_id());
        mine.initiate(&alice, &bob_peer, &bundle, &policy, now, &mut rng).unwrap();
        let first = mine.encrypt(&bob_peer, b"hi", now, &mut rng).unwrap();
        theirs.decrypt(&mut bob, &alice_peer, &first, &policy, now, &mut rng).unwrap();
        assert_eq!(theirs.archived_count(), i.min(4));
    }
    assert_eq!(theirs.archived_count(), chatcrypt::MAX_ARCHIVED_SESSIONS);
    // A forged Message: a fresh ratchet key, PN and N at the skip limits of
    // sessions that have received one message each.
    let max_skip = chatcrypt::MAX_SKIP;
    let (_, fresh) = keygen(&mut rng);
    let mut forged = vec![0x02u8, 0x02];
    forged.extend_from_slice(fresh.as_bytes());
    forged.extend_from_slice(&(1 + max_skip).to_be_bytes());
    forged.extend_from_slice(&max_skip.to_be_bytes());
    let mut tail = [0u8; 16 + 16 + 16];
    rng.fill_bytes(&mut tail);
    forged.extend_from_slice(&tail);
    let before = theirs.to_bytes();
    assert_eq!(
        theirs.decrypt(&mut bob, &alice_peer, &forged, &policy, now, &mut rng).map(|d| d.plaintext),
        Err(Error::Auth)
    );
    assert_eq!(theirs.to_bytes(), before, "transactional: every iteration sees the same record");
    g.bench_function("record_worst", |bench| {
        bench.iter(|| {
            let r = theirs.decrypt(&mut bob, &alice_peer, black_box(&forged), &policy, now, &mut rng);
            debug_assert!(matches!(r, Err(Error::Auth)));
            r.is_err()
        })
    });
    assert_eq!(theirs.to_bytes(), before);
    g.finish();
}

/// The attachment sizes of the `attachment` group: 1 MiB and 64 MiB.
const ATTACHMENT_SIZES: [usize; 2] = [1 << 20, 64 << 20];

/// The floor of an attachment: AES-256-GCM over 64 KiB chunks from `input`
/// (chunks of `step` bytes: plaintext, or ciphertext and tag) into `out`,
/// with the nonces and associated data of SPEC.md §22.2, one key schedule
/// per file, no digest and no state. Each output chunk is handed to `sink`.
fn floor_attachment(
    key: &[u8; 32],
    input: &[u8],
    step: usize,
    encrypt: bool,
    out: &mut [u8],
    mut sink: impl FnMut(&[u8]),
) {
    let cipher = Aes256Gcm::new(key.into());
    let mut ad = [0u8; 31];
    ad[..23].copy_from_slice(b"chatcrypt v3 attachment");
    let size = if encrypt { input.len() } else { input.len() - input.len().div_ceil(step) * 16 };
    ad[23..].copy_from_slice(&(size as u64).to_be_bytes());
    let count = input.len().div_ceil(step);
    for (i, piece) in input.chunks(step).enumerate() {
        let mut nonce = [0u8; 12];
        nonce[7..11].copy_from_slice(&(i as u32).to_be_bytes());
        nonce[11] = u8::from(i + 1 == count);
        if encrypt {
            let (body, tag) = out[..piece.len() + 16].split_at_mut(piece.len());
            let t = cipher
                .encrypt_inout_detached(&nonce.into(), &ad, InOutBuf::new(piece, body).unwrap())
                .unwrap();
            tag.copy_from_slice(&t);
            sink(&out[..piece.len() + 16]);
        } else {
            let (body, tag) = piece.split_at(piece.len() - 16);
            let tag: [u8; 16] = tag.try_into().unwrap();
            cipher
                .decrypt_inout_detached(
                    &nonce.into(),
                    &ad,
                    InOutBuf::new(body, &mut out[..body.len()]).unwrap(),
                    &tag.into(),
                )
                .unwrap();
            sink(&out[..body.len()]);
        }
    }
}

/// `attachment`: encrypt and decrypt 1 MiB and 64 MiB through the chunk
/// API (`encrypt/N`, `decrypt/N`) beside the raw AES-256-GCM floor over the
/// same chunks (`floor_encrypt/N`, `floor_decrypt/N`). Each output chunk
/// goes to one reused 64 KiB + 16 buffer, as an app that uploads or writes
/// out chunk by chunk does.
fn attachment(c: &mut Criterion) {
    use chatcrypt::media::{
        encrypt_attachment, AttachmentDecryptor, AttachmentEncryptor, AttachmentPointer, ATTACHMENT_CHUNK_LEN,
    };
    let mut g = c.benchmark_group("attachment");
    let step = ATTACHMENT_CHUNK_LEN + 16;
    for size in ATTACHMENT_SIZES {
        if size > 1 << 20 {
            g.sample_size(10);
        }
        g.throughput(Throughput::Bytes(size as u64));
        let mut rng = rng();
        let plaintext = vec![0x5au8; size];
        let mut buf = vec![0u8; step];
        // Setup (untimed): the blob to decrypt, checked against the floor
        // (same key, so the floor's ciphertext is the blob) and decrypted.
        let (blob, pointer) = encrypt_attachment(&plaintext, &mut rng).unwrap();
        let key: [u8; 32] = pointer.to_bytes()[2..34].try_into().unwrap();
        let mut floor_blob = Vec::with_capacity(blob.len());
        floor_attachment(&key, &plaintext, ATTACHMENT_CHUNK_LEN, true, &mut buf, |c| {
            floor_blob.extend_from_slice(c)
        });
        assert!(floor_blob == blob, "the floor does the same AES-GCM work");
        let mut floor_plain = Vec::with_capacity(size);
        floor_attachment(&key, &blob, step, false, &mut buf, |c| floor_plain.extend_from_slice(c));
        assert!(floor_plain == plaintext);
        let pointer = AttachmentPointer::from_bytes(&pointer.to_bytes()[..]).unwrap();
        let mut dec = AttachmentDecryptor::new(&pointer);
        let mut got = Vec::new();
        for piece in blob.chunks(step) {
            let n = dec.decrypt_chunk(piece, &mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        dec.finish().unwrap();
        assert!(got == plaintext);

        // Timed: 32 bytes from the RNG, the key schedule, per chunk the
        // length checks, AES-256-GCM and one SHA-256 update with the tag;
        // the digest.
        g.bench_function(format!("encrypt/{size}"), |bench| {
            bench.iter(|| {
                let mut enc = AttachmentEncryptor::new(size as u64, &mut rng).unwrap();
                for piece in plaintext.chunks(ATTACHMENT_CHUNK_LEN) {
                    let n = enc.encrypt_chunk_into(black_box(piece), &mut buf).unwrap();
                    black_box(&buf[..n]);
                }
                enc.finish().unwrap()
            })
        });
        g.bench_function(format!("floor_encrypt/{size}"), |bench| {
            bench.iter(|| {
                floor_attachment(&key, black_box(&plaintext), ATTACHMENT_CHUNK_LEN, true, &mut buf, |c| {
                    black_box(c);
                })
            })
        });
        // Timed: the key schedule, per chunk the length checks, AES-256-GCM
        // (tag checked first) and one SHA-256 update; the digest and its
        // constant-time comparison.
        g.bench_function(format!("decrypt/{size}"), |bench| {
            bench.iter(|| {
                let mut dec = AttachmentDecryptor::new(&pointer);
                for piece in blob.chunks(step) {
                    let n = dec.decrypt_chunk(black_box(piece), &mut buf).unwrap();
                    black_box(&buf[..n]);
                }
                dec.finish().unwrap()
            })
        });
        g.bench_function(format!("floor_decrypt/{size}"), |bench| {
            bench.iter(|| {
                floor_attachment(&key, black_box(&blob), step, false, &mut buf, |c| {
                    black_box(c);
                })
            })
        });
    }
    g.finish();
}

/// The recipients of the `sealed/multi` cases.
const SEALED_RECIPIENTS: [usize; 3] = [1, 10, 100];

fn sealed_group(c: &mut Criterion) {
    use chatcrypt::{
        padding::{pad, PaddingPolicy},
        sealed::{
            open, seal, seal_multi, CertificatePolicy, MultiRecipientEnvelope, ServerKeyPair,
            MAX_SEALED_PADDED_LEN,
        },
    };
    let mut g = c.benchmark_group("sealed");
    let mut rng = rng();
    let now = 1_800_000_000;
    let server = ServerKeyPair::generate(&mut rng);
    let roots = [server.public_key().clone()];
    let account = AccountKeyPair::generate(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let cert = server.issue(1, now + 86_400, account.public_key(), DeviceId::new(1), alice.public_key());
    let bob = IdentityKeyPair::generate(&mut rng);
    let policy = CertificatePolicy::new(&roots, &[], now);

    // A short text as a record sends it: padded to 160 bytes.
    let padded = pad(PaddingPolicy::DEFAULT, b"see you at eight", 1 << 20).unwrap();
    let (mut a, _) = established(&mut rng);
    g.throughput(Throughput::Elements(1));
    g.bench_function("session_encrypt", |bench| {
        bench.iter(|| a.encrypt(black_box(&padded), &mut rng).unwrap())
    });
    // A fresh pair: the receiver must not fall MAX_SKIP behind the sender.
    let (mut a2, mut b) = established(&mut rng);
    let mut rng2 = ChaCha20Rng::from_seed([4; 32]);
    g.bench_function("session_decrypt", |bench| {
        bench.iter_batched(
            || a2.encrypt(&padded, &mut rng).unwrap(),
            |m| b.decrypt(&m, &mut rng2).unwrap(),
            BatchSize::SmallInput,
        )
    });
    let message = a.encrypt(&padded, &mut rng).unwrap();
    let envelope = seal(&alice, &cert, bob.public_key(), &message, PaddingPolicy::None, &mut rng).unwrap();
    assert_eq!(open(&bob, &envelope, &policy).unwrap().content(), &message[..]);
    g.bench_function("seal", |bench| {
        bench.iter(|| {
            seal(&alice, &cert, bob.public_key(), black_box(&message), PaddingPolicy::None, &mut rng).unwrap()
        })
    });
    g.bench_function("open", |bench| bench.iter(|| open(&bob, black_box(&envelope), &policy).unwrap()));

    // Multi-recipient against one envelope per recipient.
    let max = SEALED_RECIPIENTS[SEALED_RECIPIENTS.len() - 1];
    let recipients: Vec<IdentityKeyPair> = (0..max).map(|_| IdentityKeyPair::generate(&mut rng)).collect();
    let keys: Vec<_> = recipients.iter().map(|r| r.public_key().clone()).collect();
    for n in SEALED_RECIPIENTS {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("multi/{n}"), |bench| {
            bench.iter(|| {
                seal_multi(&alice, &cert, &keys[..n], black_box(&padded), PaddingPolicy::None, &mut rng)
                    .unwrap()
            })
        });
        g.bench_function(format!("separate/{n}"), |bench| {
            bench.iter(|| {
                keys[..n]
                    .iter()
                    .map(|k| {
                        seal(&alice, &cert, k, black_box(&padded), PaddingPolicy::None, &mut rng).unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        });
    }
    let multi = seal_multi(&alice, &cert, &keys, &padded, PaddingPolicy::None, &mut rng).unwrap();
    let parsed = MultiRecipientEnvelope::from_bytes(&multi).unwrap();
    let split: Vec<_> = parsed.envelopes().map(|(k, e)| (k.clone(), e)).collect();
    for r in &recipients {
        let (_, e) = split.iter().find(|(k, _)| k == r.public_key()).unwrap();
        assert_eq!(open(r, e, &policy).unwrap().content(), &padded[..]);
    }
    println!(
        "sealed sizes: single envelope of a 160-byte content {} bytes; multi-recipient for {max}: {} bytes \
         ({} per recipient beyond the payload); {max} single envelopes: {} bytes",
        seal(&alice, &cert, bob.public_key(), &padded, PaddingPolicy::None, &mut rng).unwrap().len(),
        multi.len(),
        (multi.len() - split[0].1.len() + 80) / max,
        split.iter().map(|(_, e)| e.len()).sum::<usize>(),
    );
    g.throughput(Throughput::Elements(max as u64));
    g.bench_function(format!("split/{max}"), |bench| {
        bench.iter(|| {
            MultiRecipientEnvelope::from_bytes(black_box(&multi))
                .unwrap()
                .envelopes()
                .map(|(_, e)| e)
                .collect::<Vec<_>>()
        })
    });

    // Forgeries: anyone can build an envelope for Bob's public key whose
    // payload opens (steps 1-5 of SPEC.md §27.4); without the identity key
    // of the certificate inside, its sender's tag fails (step 6). Built
    // here by sealing properly and flipping a bit of the tag.
    g.throughput(Throughput::Elements(1));
    let mallory = IdentityKeyPair::generate(&mut rng);
    let mallory_cert =
        server.issue(2, now + 86_400, account.public_key(), DeviceId::new(2), mallory.public_key());
    let forge = |content: &[u8], rng: &mut ChaCha20Rng| {
        let mut e =
            seal(&mallory, &mallory_cert, bob.public_key(), content, PaddingPolicy::None, rng).unwrap();
        e[66] ^= 1;
        e
    };
    let small = forge(&message, &mut rng);
    assert_eq!(open(&bob, &small, &policy).map(|_| ()), Err(Error::Auth));
    g.bench_function("forged_open", |bench| bench.iter(|| open(&bob, black_box(&small), &policy).is_err()));
    let big = forge(&vec![0u8; MAX_SEALED_PADDED_LEN - 4], &mut rng);
    assert_eq!(open(&bob, &big, &policy).map(|_| ()), Err(Error::Auth));
    g.bench_function("forged_open_max", |bench| bench.iter(|| open(&bob, black_box(&big), &policy).is_err()));
    g.finish();
}

criterion_group!(
    benches,
    floor,
    encrypt,
    decrypt,
    ratchet,
    handshake,
    state,
    forgery,
    record_forgery,
    cycle,
    fan_out_group,
    attachment,
    sealed_group
);
criterion_main!(benches);
