//! Stored state (SPEC.md §10): every long-lived type survives `to_bytes` /
//! `from_bytes` and `seal` / `open` with its behaviour intact, encodings are
//! canonical and exactly as long as documented, sealed state is
//! authenticated and typed, and malformed input is rejected without a
//! panic. A property test interleaves a lossy, reordering, duplicating
//! network with persisting either side at random points. Sessions are
//! checked in both modes; with header encryption (flag 0x20) the encoding
//! holds the header keys too.
//!
//! Sessions are stored in format version 2 (SPEC.md §10.4), which adds the
//! identity keys' X25519 forms and `DHs_pub` to version 1 and takes them as
//! stored; version-1 sessions still decode (checked strictly) and re-encode
//! as version 2. Identities, prekeys and sealed state stay at version 1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chatcrypt::PqPolicy;
use std::sync::OnceLock;

mod common;
#[allow(unused_imports)]
use common::TestSend;

use chatcrypt::{
    DecodeError, Error, IdentityKeyPair, MessageType, Mode, OneTimePreKey, PreKeyBundle, PreKeyMessage,
    Session, SignedPreKey, MAX_PREVIOUS_RATCHET_KEYS, MAX_SKIP, MAX_SKIPPED_KEYS, SEALED_OVERHEAD,
    SESSION_BYTES_PER_SKIPPED_KEY, SESSION_FIXED_LEN, SESSION_STATE_VERSION, STATE_VERSION, TAG_IDENTITY,
    TAG_ONE_TIME_PREKEY, TAG_SEALED, TAG_SESSION, TAG_SIGNED_PREKEY,
};
use proptest::{prelude::*, sample::Index};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

const SEAL_KEY: [u8; 32] = [0x42; 32];
const OTHER_KEY: [u8; 32] = [0x43; 32];

/// Bytes of the receiving chain, the pending handshake (without / with a
/// one-time prekey id), the responder's base key and one remembered ratchet
/// key (SPEC.md §10.4).
const RECEIVING: usize = 68;
const PENDING: usize = 36;
const PENDING_OPK: usize = 40;
const BASE_KEY: usize = 32;
const PREVIOUS_KEY: usize = 32;

/// Header encryption (SPEC.md §10.4, flag 0x20): `HKs`, `NHKs` and `NHKr`;
/// `HKr` with a receiving chain; a header key per remembered ratchet key.
const HEADER_KEYS: usize = 96;
const HEADER_KEY_RECEIVING: usize = 32;
const HEADER_KEY_PREVIOUS: usize = 32;

/// The session flag of header encryption.
const FLAG_HE: u8 = 0x20;

/// What header encryption adds to an encoded session: nothing in plain
/// mode; the header keys, one more with a receiving chain, and one per
/// remembered ratchet key.
fn he_extra(mode: Mode, receiving: bool, remembered: usize) -> usize {
    match mode {
        Mode::Plain => 0,
        _ => {
            HEADER_KEYS + if receiving { HEADER_KEY_RECEIVING } else { 0 } + HEADER_KEY_PREVIOUS * remembered
        }
    }
}

/// The session flags of `mode`: 0x20 with header encryption.
fn he_flag(mode: Mode) -> u8 {
    match mode {
        Mode::Plain => 0,
        _ => FLAG_HE,
    }
}

// Byte offsets in an encoded session (version 2): the flags, the local
// identity key (then its X25519 form), the remote identity key (then its
// X25519 form), and the first optional field (after RK, the DHs private and
// public keys, CKs, Ns and PN).
const FLAGS_AT: usize = 2;
const LOCAL_IDENTITY_AT: usize = common::V2_LOCAL_IDENTITY_AT;
const REMOTE_IDENTITY_AT: usize = common::V2_REMOTE_IDENTITY_AT;
const OPTIONAL_AT: usize = common::V2_OPTIONAL_AT;

/// The format version of a stored `tag`: sessions are at version 2, the
/// other formats at version 1.
fn format_version(tag: u8) -> u8 {
    if tag == TAG_SESSION {
        SESSION_STATE_VERSION
    } else {
        STATE_VERSION
    }
}

/// Whether the decoder of `tag` reads format version `v`: sessions are
/// also read in version 1.
fn reads_version(tag: u8, v: u8) -> bool {
    v == format_version(tag) || (tag == TAG_SESSION && (v == 1 || v == 2))
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

// ---------------------------------------------------------------------------
// Set-up helpers
// ---------------------------------------------------------------------------

/// Bob's long-lived key material.
struct Responder {
    identity: IdentityKeyPair,
    spk: SignedPreKey,
    opk: OneTimePreKey,
}

fn responder(rng: &mut ChaCha20Rng) -> Responder {
    let identity = IdentityKeyPair::generate(rng);
    let spk = SignedPreKey::generate(&identity, 7, rng);
    let opk = OneTimePreKey::generate(1000, rng);
    Responder { identity, spk, opk }
}

fn bundle(r: &Responder, with_opk: bool) -> PreKeyBundle {
    PreKeyBundle::new(
        r.identity.public_key().clone(),
        r.spk.public().clone(),
        with_opk.then(|| r.opk.public().clone()),
    )
}

/// Alice's identity, Bob's keys and Alice's fresh session to Bob.
fn start(mode: Mode, rng: &mut ChaCha20Rng, with_opk: bool) -> (IdentityKeyPair, Responder, Session) {
    let bob = responder(rng);
    let alice = IdentityKeyPair::generate(rng);
    let session =
        Session::initiate_with(&alice, &bundle(&bob, with_opk), mode, PqPolicy::AllowClassical, rng).unwrap();
    (alice, bob, session)
}

/// Bob accepts `wire`, using the one-time prekey if the message names it.
fn accept(r: &Responder, wire: &[u8], rng: &mut ChaCha20Rng) -> (Session, Vec<u8>) {
    let message = PreKeyMessage::from_bytes(wire).unwrap();
    let opk = message.one_time_prekey_id().map(|_| &r.opk);
    common::accept(&r.identity, &r.spk, opk, &message, rng).unwrap()
}

/// A message sent: its wire bytes and its plaintext.
type Sent = (Vec<u8>, String);

fn send(s: &mut Session, text: &str) -> Sent {
    (s.encrypt_t(text.as_bytes()).unwrap(), text.to_owned())
}

fn receive(s: &mut Session, message: &Sent, rng: &mut ChaCha20Rng) {
    let got = s.decrypt(&message.0, rng).unwrap_or_else(|e| panic!("{:?} failed: {e:?}", message.1));
    assert_eq!(got, message.1.as_bytes());
}

/// Asserts that a decrypt fails with `expected` and leaves the session as it was.
fn refused(s: &mut Session, wire: &[u8], expected: Error, rng: &mut ChaCha20Rng) {
    let before = s.to_bytes();
    assert_eq!(s.decrypt(wire, rng), Err(expected));
    assert_eq!(s.to_bytes()[..], before[..], "a failed decrypt changed the session");
}

#[derive(Clone, Copy, Debug)]
enum Store {
    Plain,
    Sealed,
}

const STORES: [Store; 2] = [Store::Plain, Store::Sealed];

/// The encodings hold secrets in a `Zeroizing` buffer, which clears only its
/// final allocation, so the encoder sizes it exactly (that it allocates only
/// once is checked in `tests/zero_alloc.rs`).
fn assert_one_exact_allocation(bytes: &[u8], capacity: usize, what: &str) {
    assert_eq!(capacity, bytes.len(), "{what}: the buffer was not sized exactly");
}

/// Persists `s`, drops it and restores it, checking the length, the
/// canonical re-encoding and the public accessors on the way.
fn restore(s: Session, store: Store, rng: &mut ChaCha20Rng) -> Session {
    let plain = s.to_bytes();
    assert_eq!(plain.len(), s.encoded_len());
    assert_one_exact_allocation(&plain, plain.capacity(), "session");
    let restored = match store {
        Store::Plain => Session::from_bytes(&plain).unwrap(),
        Store::Sealed => {
            let sealed = s.seal(&SEAL_KEY, rng);
            assert_one_exact_allocation(&sealed, sealed.capacity(), "sealed");
            assert_eq!(sealed.len(), plain.len() + SEALED_OVERHEAD);
            Session::open(&SEAL_KEY, &sealed).unwrap()
        }
    };
    assert_eq!(restored.to_bytes()[..], plain[..], "re-encoding is not canonical");
    assert_eq!(restored.encoded_len(), s.encoded_len());
    assert_eq!(restored.is_initiator(), s.is_initiator());
    assert_eq!(restored.awaiting_reply(), s.awaiting_reply());
    assert_eq!(restored.skipped_key_count(), s.skipped_key_count());
    assert_eq!(restored.local_identity(), s.local_identity());
    assert_eq!(restored.remote_identity(), s.remote_identity());
    assert_eq!(restored.mode(), s.mode());
    assert_eq!(format!("{restored:?}"), format!("{s:?}"));
    drop(s);
    restored
}

fn restore_identity(k: &IdentityKeyPair, store: Store, rng: &mut ChaCha20Rng) -> IdentityKeyPair {
    let plain = k.to_bytes();
    assert_eq!(plain.len(), 34);
    assert_one_exact_allocation(&plain, plain.capacity(), "identity");
    let restored = match store {
        Store::Plain => IdentityKeyPair::from_bytes(&plain).unwrap(),
        Store::Sealed => {
            let sealed = k.seal(&SEAL_KEY, rng);
            assert_one_exact_allocation(&sealed, sealed.capacity(), "sealed");
            assert_eq!(sealed.len(), 34 + SEALED_OVERHEAD);
            IdentityKeyPair::open(&SEAL_KEY, &sealed).unwrap()
        }
    };
    assert_eq!(restored.to_bytes()[..], plain[..]);
    assert_eq!(restored.public_key(), k.public_key());
    assert_eq!(*restored.seed(), *k.seed());
    restored
}

fn restore_spk(k: &SignedPreKey, store: Store, rng: &mut ChaCha20Rng) -> SignedPreKey {
    let plain = k.to_bytes();
    assert_eq!(plain.len(), 102);
    assert_one_exact_allocation(&plain, plain.capacity(), "signed prekey");
    let restored = match store {
        Store::Plain => SignedPreKey::from_bytes(&plain).unwrap(),
        Store::Sealed => {
            let sealed = k.seal(&SEAL_KEY, rng);
            assert_one_exact_allocation(&sealed, sealed.capacity(), "sealed");
            assert_eq!(sealed.len(), 102 + SEALED_OVERHEAD);
            SignedPreKey::open(&SEAL_KEY, &sealed).unwrap()
        }
    };
    assert_eq!(restored.to_bytes()[..], plain[..]);
    assert_eq!(restored.id(), k.id());
    assert_eq!(restored.public(), k.public());
    restored
}

fn restore_opk(k: &OneTimePreKey, store: Store, rng: &mut ChaCha20Rng) -> OneTimePreKey {
    let plain = k.to_bytes();
    assert_eq!(plain.len(), 38);
    assert_one_exact_allocation(&plain, plain.capacity(), "one-time prekey");
    let restored = match store {
        Store::Plain => OneTimePreKey::from_bytes(&plain).unwrap(),
        Store::Sealed => {
            let sealed = k.seal(&SEAL_KEY, rng);
            assert_one_exact_allocation(&sealed, sealed.capacity(), "sealed");
            assert_eq!(sealed.len(), 38 + SEALED_OVERHEAD);
            OneTimePreKey::open(&SEAL_KEY, &sealed).unwrap()
        }
    };
    assert_eq!(restored.to_bytes()[..], plain[..]);
    assert_eq!(restored.id(), k.id());
    assert_eq!(restored.public(), k.public());
    restored
}

/// A pair of sessions well past the handshake, each with skipped keys and
/// one remembered ratchet key:
/// Alice sends a0 a1 a2 (PreKeyMessages); Bob accepts a2, reads a0;
/// Bob sends b0 b1; Alice reads b1; Alice sends a3 a4; Bob reads a4;
/// Bob sends b2 b3; Alice reads b3. Bob keeps the keys of a1 and a3, Alice
/// those of b0 and b2. Returns the undelivered messages too.
fn rich_pair(mode: Mode, rng: &mut ChaCha20Rng) -> (Session, Session, Vec<Sent>, Vec<Sent>) {
    let (_alice, bob_keys, mut a) = start(mode, rng, true);
    let a0 = send(&mut a, "a0");
    let a1 = send(&mut a, "a1");
    let a2 = send(&mut a, "a2");
    let (mut b, p) = accept(&bob_keys, &a2.0, rng);
    assert_eq!(p, b"a2");
    receive(&mut b, &a0, rng);
    let b0 = send(&mut b, "b0");
    let b1 = send(&mut b, "b1");
    receive(&mut a, &b1, rng);
    let a3 = send(&mut a, "a3");
    let a4 = send(&mut a, "a4");
    receive(&mut b, &a4, rng);
    let b2 = send(&mut b, "b2");
    let b3 = send(&mut b, "b3");
    receive(&mut a, &b3, rng);
    assert_eq!(a.skipped_key_count(), 2);
    assert_eq!(b.skipped_key_count(), 2);
    (a, b, vec![b0, b2], vec![a1, a3])
}

// ---------------------------------------------------------------------------
// Round trips keep behaviour
// ---------------------------------------------------------------------------

fn restored_identity_signs_prekeys_and_starts_sessions(mode: Mode) {
    for store in STORES {
        let mut rng = rng(1);
        let bob = responder(&mut rng);
        let alice = IdentityKeyPair::generate(&mut rng);
        let alice2 = restore_identity(&alice, store, &mut rng);
        let bob_identity = restore_identity(&bob.identity, store, &mut rng);

        // A prekey signed by the restored identity verifies under the original
        // public key, and is the one the original identity would have made.
        let mut same_rng = rng.clone();
        let spk = SignedPreKey::generate(&bob_identity, 8, &mut rng);
        let spk_orig = SignedPreKey::generate(&bob.identity, 8, &mut same_rng);
        assert_eq!(spk.public(), spk_orig.public());
        let b = PreKeyBundle::new(bob.identity.public_key().clone(), spk.public().clone(), None);
        b.verify().unwrap();

        // The restored Alice starts a session the original Bob (with the restored
        // identity's prekey) accepts, and the two talk both ways.
        let mut a = Session::initiate_with(&alice2, &b, mode, PqPolicy::AllowClassical, &mut rng).unwrap();
        assert_eq!(a.local_identity(), alice.public_key());
        let m = send(&mut a, "hello from a restored identity");
        let first = PreKeyMessage::from_bytes(&m.0).unwrap();
        assert_eq!(first.sender_identity(), alice.public_key());
        let (mut s, p) = common::accept(&bob.identity, &spk, None, &first, &mut rng).unwrap();
        assert_eq!(p, m.1.as_bytes());
        let r = send(&mut s, "reply");
        receive(&mut a, &r, &mut rng);
    }
}
both_modes!(restored_identity_signs_prekeys_and_starts_sessions);

fn restored_prekeys_accept_sessions(mode: Mode) {
    for store in STORES {
        for with_opk in [false, true] {
            let mut rng = rng(2);
            let bob = responder(&mut rng);
            // Bob's device restarts: every key comes back from storage.
            let restored = Responder {
                identity: restore_identity(&bob.identity, store, &mut rng),
                spk: restore_spk(&bob.spk, store, &mut rng),
                opk: restore_opk(&bob.opk, store, &mut rng),
            };
            // The bundle is built from the restored public parts and still verifies.
            let b = bundle(&restored, with_opk);
            assert_eq!(b, bundle(&bob, with_opk));
            b.verify().unwrap();

            let alice = IdentityKeyPair::generate(&mut rng);
            let mut a = Session::initiate_with(&alice, &b, mode, PqPolicy::AllowClassical, &mut rng).unwrap();
            let m0 = send(&mut a, "m0");
            let m1 = send(&mut a, "m1");
            let (mut s, p) = accept(&restored, &m1.0, &mut rng);
            assert_eq!(p, b"m1");
            receive(&mut s, &m0, &mut rng);
            let r = send(&mut s, "r0");
            receive(&mut a, &r, &mut rng);
            let m2 = send(&mut a, "m2");
            receive(&mut s, &m2, &mut rng);

            // The original keys would have made the same session.
            let (s2, p2) = accept(&bob, &m1.0, &mut rng);
            assert_eq!(p2, b"m1");
            assert_eq!(s2.remote_identity(), s.remote_identity());
        }
    }
}
both_modes!(restored_prekeys_accept_sessions);

fn restored_responder_decrypts_pending_out_of_order_messages(mode: Mode) {
    for store in STORES {
        let mut rng = rng(3);
        let (_alice, bob, mut a) = start(mode, &mut rng, true);
        let m: Vec<_> = (0..6).map(|i| send(&mut a, &format!("message {i}"))).collect();
        let (mut b, p) = accept(&bob, &m[5].0, &mut rng);
        assert_eq!(p, b"message 5");
        assert_eq!(b.skipped_key_count(), 5);

        for (i, expect_left) in [(3, 4), (0, 3), (4, 2), (1, 1), (2, 0)] {
            b = restore(b, store, &mut rng);
            receive(&mut b, &m[i], &mut rng);
            assert_eq!(b.skipped_key_count(), expect_left);
        }
        b = restore(b, store, &mut rng);
        for message in &m {
            refused(&mut b, &message.0, Error::Duplicate, &mut rng);
        }

        // And the same on the initiator's side, after the handshake.
        let r: Vec<_> = (0..4).map(|i| send(&mut b, &format!("reply {i}"))).collect();
        receive(&mut a, &r[3], &mut rng);
        assert_eq!(a.skipped_key_count(), 3);
        for i in [1, 0, 2] {
            a = restore(a, store, &mut rng);
            receive(&mut a, &r[i], &mut rng);
        }
        assert_eq!(a.skipped_key_count(), 0);
        refused(&mut a, &r[1].0, Error::Duplicate, &mut rng);
    }
}
both_modes!(restored_responder_decrypts_pending_out_of_order_messages);

fn restored_sessions_keep_ratcheting_across_chains(mode: Mode) {
    for store in STORES {
        let mut rng = rng(4);
        let (_alice, bob, mut a) = start(mode, &mut rng, false);
        let first = send(&mut a, "first");
        let (mut b, _) = accept(&bob, &first.0, &mut rng);
        // Messages held back by the network, per receiver, from older chains.
        let mut held_for_b = Vec::new();
        let mut held_for_a = Vec::new();
        let mut previous: Option<(Sent, Sent)> = None;
        for round in 0..12usize {
            let m: Vec<_> = (0..3).map(|i| send(&mut a, &format!("a{round}.{i}"))).collect();
            a = restore(a, store, &mut rng);
            receive(&mut b, &m[2], &mut rng);
            receive(&mut b, &m[0], &mut rng);
            held_for_b.push(m[1].clone());
            b = restore(b, store, &mut rng);
            assert_eq!(b.skipped_key_count(), held_for_b.len());
            // Bob: fixed + receiving + base key + remembered keys + skipped keys.
            let remembered = round.min(MAX_PREVIOUS_RATCHET_KEYS);
            assert_eq!(
                b.encoded_len(),
                SESSION_FIXED_LEN
                    + RECEIVING
                    + BASE_KEY
                    + PREVIOUS_KEY * remembered
                    + he_extra(mode, true, remembered)
                    + SESSION_BYTES_PER_SKIPPED_KEY * held_for_b.len()
            );

            let r: Vec<_> = (0..3).map(|i| send(&mut b, &format!("b{round}.{i}"))).collect();
            b = restore(b, store, &mut rng);
            receive(&mut a, &r[2], &mut rng);
            receive(&mut a, &r[0], &mut rng);
            held_for_a.push(r[1].clone());
            a = restore(a, store, &mut rng);
            assert!(!a.awaiting_reply());
            assert_eq!(a.skipped_key_count(), held_for_a.len());
            let remembered = round.min(MAX_PREVIOUS_RATCHET_KEYS);
            assert_eq!(
                a.encoded_len(),
                SESSION_FIXED_LEN
                    + RECEIVING
                    + PREVIOUS_KEY * remembered
                    + he_extra(mode, true, remembered)
                    + SESSION_BYTES_PER_SKIPPED_KEY * held_for_a.len()
            );

            if round % 3 == 2 {
                // The held-back messages of the last three chains arrive late.
                for h in held_for_b.drain(..) {
                    receive(&mut b, &h, &mut rng);
                    b = restore(b, store, &mut rng);
                    refused(&mut b, &h.0, Error::Duplicate, &mut rng);
                }
                for h in held_for_a.drain(..) {
                    receive(&mut a, &h, &mut rng);
                    a = restore(a, store, &mut rng);
                    refused(&mut a, &h.0, Error::Duplicate, &mut rng);
                }
                assert_eq!(a.skipped_key_count(), 0);
                assert_eq!(b.skipped_key_count(), 0);
            }
            // Replays from the current chain and, after a restore, from the
            // chain before it are Duplicates (the remembered ratchet keys
            // survived), not Auth failures.
            refused(&mut b, &m[2].0, Error::Duplicate, &mut rng);
            refused(&mut a, &r[2].0, Error::Duplicate, &mut rng);
            if let Some((old_m, old_r)) = previous.take() {
                refused(&mut b, &old_m.0, Error::Duplicate, &mut rng);
                refused(&mut a, &old_r.0, Error::Duplicate, &mut rng);
            }
            previous = Some((m[2].clone(), r[2].clone()));
        }
    }
}
both_modes!(restored_sessions_keep_ratcheting_across_chains);

fn restored_initiator_keeps_its_pending_handshake(mode: Mode) {
    for store in STORES {
        for with_opk in [false, true] {
            let mut rng = rng(5);
            let (_alice, bob, mut a) = start(mode, &mut rng, with_opk);
            let m0 = send(&mut a, "m0");
            a = restore(a, store, &mut rng);
            assert!(a.awaiting_reply());
            let m1 = send(&mut a, "m1");
            a = restore(a, store, &mut rng);
            let m2 = send(&mut a, "m2");

            // Still PreKeyMessages, naming the same handshake.
            let p0 = PreKeyMessage::from_bytes(&m0.0).unwrap();
            for m in [&m1, &m2] {
                assert_eq!(MessageType::of(&m.0).unwrap(), MessageType::PreKey);
                let p = PreKeyMessage::from_bytes(&m.0).unwrap();
                assert_eq!(p.base_key(), p0.base_key());
                assert_eq!(p.signed_prekey_id(), 7);
                assert_eq!(p.one_time_prekey_id(), with_opk.then_some(1000));
                assert_eq!(p.sender_identity(), p0.sender_identity());
            }

            // Bob accepts the one sent by the restored initiator.
            let (mut b, p) = accept(&bob, &m1.0, &mut rng);
            assert_eq!(p, b"m1");
            assert!(b.matches(&PreKeyMessage::from_bytes(&m2.0).unwrap()));
            receive(&mut b, &m2, &mut rng);
            receive(&mut b, &m0, &mut rng);

            // After the first reply: plain Messages, also after restoring.
            let r = send(&mut b, "reply");
            a = restore(a, store, &mut rng);
            assert!(a.awaiting_reply());
            receive(&mut a, &r, &mut rng);
            assert!(!a.awaiting_reply());
            a = restore(a, store, &mut rng);
            assert!(!a.awaiting_reply());
            let m3 = send(&mut a, "m3");
            assert_eq!(MessageType::of(&m3.0).unwrap(), MessageType::Message);
            a = restore(a, store, &mut rng);
            let m4 = send(&mut a, "m4");
            assert_eq!(MessageType::of(&m4.0).unwrap(), MessageType::Message);
            receive(&mut b, &m4, &mut rng);
            receive(&mut b, &m3, &mut rng);
        }
    }
}
both_modes!(restored_initiator_keeps_its_pending_handshake);

fn restored_responder_decrypts_late_prekey_messages_of_its_handshake(mode: Mode) {
    for store in STORES {
        let mut rng = rng(6);
        let (_alice, bob, mut a) = start(mode, &mut rng, true);
        let p: Vec<_> = (0..4).map(|i| send(&mut a, &format!("p{i}"))).collect();
        let (mut b, _) = accept(&bob, &p[0].0, &mut rng);
        // Restored before any reply: a late PreKeyMessage of the same chain.
        b = restore(b, store, &mut rng);
        assert!(b.matches(&PreKeyMessage::from_bytes(&p[1].0).unwrap()));
        receive(&mut b, &p[1], &mut rng);

        // After a reply and a new chain from Alice, p3 and p2 still arrive.
        let r = send(&mut b, "r");
        receive(&mut a, &r, &mut rng);
        let m = send(&mut a, "m");
        assert_eq!(MessageType::of(&m.0).unwrap(), MessageType::Message);
        receive(&mut b, &m, &mut rng);
        assert_eq!(b.skipped_key_count(), 2);
        b = restore(b, store, &mut rng);
        assert!(b.matches(&PreKeyMessage::from_bytes(&p[3].0).unwrap()));
        receive(&mut b, &p[3], &mut rng);
        b = restore(b, store, &mut rng);
        receive(&mut b, &p[2], &mut rng);
        b = restore(b, store, &mut rng);
        for old in &p {
            refused(&mut b, &old.0, Error::Duplicate, &mut rng);
        }
        // A PreKeyMessage of another handshake still is not this session's.
        let (_, _, mut other) = start(mode, &mut rng, false);
        let stranger = send(&mut other, "x");
        assert!(!b.matches(&PreKeyMessage::from_bytes(&stranger.0).unwrap()));
        refused(&mut b, &stranger.0, Error::WrongIdentity, &mut rng);
    }
}
both_modes!(restored_responder_decrypts_late_prekey_messages_of_its_handshake);

fn encoding_is_canonical_and_deterministic(mode: Mode) {
    let mut rng = rng(7);
    let (mut a, mut b, to_a, to_b) = rich_pair(mode, &mut rng);
    for s in [&a, &b] {
        let x = s.to_bytes();
        assert_eq!(x[..], s.to_bytes()[..], "two encodings of one state differ");
        let y = Session::from_bytes(&x).unwrap().to_bytes();
        assert_eq!(x[..], y[..]);
        let z = Session::open(&SEAL_KEY, &s.seal(&SEAL_KEY, &mut rng)).unwrap().to_bytes();
        assert_eq!(x[..], z[..]);
    }
    // Decoded copies of one state behave identically: the same message from
    // each decrypts, and the same plaintext encrypts to the same bytes given
    // the same randomness (the reuse guard is the only RNG draw of sending).
    let a_bytes = a.to_bytes();
    let mut a2 = Session::from_bytes(&a_bytes).unwrap();
    let x = a.encrypt(b"same", &mut rng.clone()).unwrap();
    let y = a2.encrypt(b"same", &mut rng.clone()).unwrap();
    assert_eq!(x, y);
    // Other randomness, another guard: the same state and plaintext give
    // another message (SPEC.md §6.3), which decrypts all the same.
    let mut a3 = Session::from_bytes(&a_bytes).unwrap();
    let z = a3.encrypt(b"same", &mut ChaCha20Rng::seed_from_u64(70)).unwrap();
    assert_ne!(x, z);
    let mut b2 = Session::from_bytes(&b.to_bytes()).unwrap();
    receive(&mut b2, &(z, "same".to_owned()), &mut rng);
    receive(&mut a, &to_a[0], &mut rng);
    receive(&mut a2, &to_a[0], &mut rng);
    assert_eq!(a.to_bytes()[..], a2.to_bytes()[..]);
    for m in &to_b {
        receive(&mut b, m, &mut rng);
    }
}
both_modes!(encoding_is_canonical_and_deterministic);

// ---------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------

#[test]
fn size_constants() {
    // SPEC.md §10.4: tag, version, flags, eight 32-byte fields (both identity
    // keys with their X25519 forms, RK, DHs and DHs_pub, CKs), Ns, PN and the
    // two counts.
    assert_eq!(SESSION_FIXED_LEN, 270);
    assert_eq!(SESSION_FIXED_LEN, 3 + 8 * 32 + 4 + 4 + 1 + 2);
    assert_eq!(OPTIONAL_AT, SESSION_FIXED_LEN - 3);
    assert_eq!(SESSION_BYTES_PER_SKIPPED_KEY, 68);
    assert_eq!(SEALED_OVERHEAD, 31);
    assert_eq!(STATE_VERSION, 1);
    assert_eq!(SESSION_STATE_VERSION, 3);
    assert_eq!([TAG_IDENTITY, TAG_SIGNED_PREKEY, TAG_ONE_TIME_PREKEY, TAG_SESSION, TAG_SEALED], *b"IPOSZ");
    assert_eq!(chatcrypt::TAG_KEM_PREKEY, b'K');
}

fn encoded_len_of_fresh_sessions(mode: Mode) {
    let mut rng = rng(8);
    // Header encryption adds 96 bytes, 128 with a receiving chain.
    let (he, he_receiving) = (he_extra(mode, false, 0), he_extra(mode, true, 0));
    assert_eq!((he, he_receiving), if mode == Mode::Plain { (0, 0) } else { (96, 128) });
    for (with_opk, plain) in [(false, 306), (true, 310)] {
        let expected = plain + he;
        let (_alice, bob, mut a) = start(mode, &mut rng, with_opk);
        let pending = if with_opk { PENDING_OPK } else { PENDING };
        assert_eq!(a.encoded_len(), SESSION_FIXED_LEN + pending + he);
        assert_eq!(a.encoded_len(), expected);
        assert_eq!(a.to_bytes().len(), expected);
        // Sending does not change the size.
        let m = send(&mut a, "x");
        assert_eq!(a.encoded_len(), expected);

        let (mut b, _) = accept(&bob, &m.0, &mut rng);
        assert_eq!(b.encoded_len(), SESSION_FIXED_LEN + RECEIVING + BASE_KEY + he_receiving);
        assert_eq!(b.encoded_len(), 370 + he_receiving);
        assert_eq!(b.to_bytes().len(), 370 + he_receiving);

        // The initiator after the first reply: the pending part is gone, a
        // receiving chain is there.
        let r = send(&mut b, "r");
        receive(&mut a, &r, &mut rng);
        assert_eq!(a.encoded_len(), SESSION_FIXED_LEN + RECEIVING + he_receiving);
        assert_eq!(a.encoded_len(), 338 + he_receiving);
        assert_eq!(a.to_bytes().len(), 338 + he_receiving);
    }
}
both_modes!(encoded_len_of_fresh_sessions);

fn encoded_len_after_ten_skipped_keys(mode: Mode) {
    let mut rng = rng(9);
    let he = he_extra(mode, true, 0);
    let (_alice, bob, mut a) = start(mode, &mut rng, true);
    let m: Vec<_> = (0..11).map(|i| send(&mut a, &format!("{i}"))).collect();
    let (mut b, _) = accept(&bob, &m[10].0, &mut rng);
    assert_eq!(b.skipped_key_count(), 10);
    assert_eq!(b.encoded_len(), 370 + he + 10 * SESSION_BYTES_PER_SKIPPED_KEY);
    assert_eq!(b.encoded_len(), 1050 + he);
    assert_eq!(b.to_bytes().len(), 1050 + he);
    assert_eq!(b.seal(&SEAL_KEY, &mut rng).len(), 1050 + he + SEALED_OVERHEAD);
    // Each decrypted skipped message gives its 68 bytes back.
    receive(&mut b, &m[4], &mut rng);
    assert_eq!(b.to_bytes().len(), 1050 + he - 68);

    // The initiator, after a reply that skipped ten keys.
    let r: Vec<_> = (0..11).map(|i| send(&mut b, &format!("{i}"))).collect();
    receive(&mut a, &r[10], &mut rng);
    assert_eq!(a.skipped_key_count(), 10);
    assert_eq!(a.encoded_len(), 338 + he + 680);
    assert_eq!(a.to_bytes().len(), 1018 + he);
}
both_modes!(encoded_len_after_ten_skipped_keys);

fn encoded_len_with_remembered_ratchet_keys(mode: Mode) {
    let mut rng = rng(10);
    let (_alice, bob, mut a) = start(mode, &mut rng, false);
    let m = send(&mut a, "0");
    let (mut b, _) = accept(&bob, &m.0, &mut rng);
    for step in 1..=12usize {
        let r = send(&mut b, "r");
        receive(&mut a, &r, &mut rng);
        let m = send(&mut a, "m");
        receive(&mut b, &m, &mut rng);
        let remembered = step.min(MAX_PREVIOUS_RATCHET_KEYS);
        assert_eq!(b.to_bytes().len(), 370 + 32 * remembered + he_extra(mode, true, remembered));
        let remembered = (step - 1).min(MAX_PREVIOUS_RATCHET_KEYS);
        assert_eq!(a.to_bytes().len(), 338 + 32 * remembered + he_extra(mode, true, remembered));
    }
    // SPEC.md §10.4: a long-running responder without skipped keys: 626 bytes
    // (270 + 68 + 32 + 8 * 32), and 626 + 128 + 8 * 32 with header encryption.
    let long_running = if mode == Mode::Plain { 626 } else { 1010 };
    assert_eq!(b.encoded_len(), long_running);
    let b = restore(b, Store::Plain, &mut rng);
    assert_eq!(b.encoded_len(), long_running);
}
both_modes!(encoded_len_with_remembered_ratchet_keys);

fn encoded_len_at_the_skipped_key_bound(mode: Mode) {
    let mut rng = rng(11);
    let (_alice, bob, mut a) = start(mode, &mut rng, false);
    let skip = MAX_SKIP as usize;
    // Alice sends MAX_SKIP + 1 messages; Bob accepts the last: MAX_SKIP skipped.
    let first: Vec<Vec<u8>> = (0..=skip).map(|i| a.encrypt_t(&(i as u32).to_be_bytes()).unwrap()).collect();
    let (mut b, _) = accept(&bob, &first[skip], &mut rng);
    assert_eq!(b.skipped_key_count(), skip);
    assert_eq!(b.encoded_len(), 370 + he_extra(mode, true, 0) + 68 * skip);
    let r = b.encrypt_t(b"r").unwrap();
    assert_eq!(a.decrypt(&r, &mut rng).unwrap(), b"r");
    // A new chain from Alice skipping MAX_SKIP again: exactly the bound.
    let second: Vec<Vec<u8>> = (0..=skip).map(|i| a.encrypt_t(&(i as u32).to_be_bytes()).unwrap()).collect();
    assert_eq!(b.decrypt(&second[skip], &mut rng).unwrap(), (skip as u32).to_be_bytes());
    assert_eq!(b.skipped_key_count(), MAX_SKIPPED_KEYS);
    let at_bound = SESSION_FIXED_LEN
        + RECEIVING
        + BASE_KEY
        + PREVIOUS_KEY
        + he_extra(mode, true, 1)
        + 68 * MAX_SKIPPED_KEYS;
    // 270 + 68 + 32 + 32 + 136 000 (SPEC.md §9: 68 bytes per skipped key).
    assert_eq!(at_bound, if mode == Mode::Plain { 136_402 } else { 136_402 + 96 + 32 + 32 });
    assert_eq!(b.encoded_len(), at_bound);
    assert_eq!(b.to_bytes().len(), at_bound);
    assert_eq!(b.seal(&SEAL_KEY, &mut rng).len(), at_bound + SEALED_OVERHEAD);

    // The state at the bound round-trips, plain and sealed, and its oldest
    // and newest stored keys still work.
    b = restore(b, Store::Plain, &mut rng);
    b = restore(b, Store::Sealed, &mut rng);
    assert_eq!(b.decrypt(&first[0], &mut rng).unwrap(), 0u32.to_be_bytes());
    assert_eq!(b.decrypt(&second[skip - 1], &mut rng).unwrap(), (skip as u32 - 1).to_be_bytes());
    assert_eq!(b.skipped_key_count(), MAX_SKIPPED_KEYS - 2);

    // Going over the bound evicts the oldest keys; the size stays bounded.
    let more: Vec<Vec<u8>> = (0..skip).map(|i| a.encrypt_t(&(i as u32).to_be_bytes()).unwrap()).collect();
    assert_eq!(b.decrypt(&more[skip - 1], &mut rng).unwrap(), (skip as u32 - 1).to_be_bytes());
    assert_eq!(b.skipped_key_count(), MAX_SKIPPED_KEYS);
    assert_eq!(b.to_bytes().len(), at_bound);
    b = restore(b, Store::Plain, &mut rng);
    // first[1..] were the oldest and are gone: a Duplicate, as documented.
    refused(&mut b, &first[1], Error::Duplicate, &mut rng);
    assert_eq!(b.decrypt(&more[0], &mut rng).unwrap(), 0u32.to_be_bytes());
}
both_modes!(encoded_len_at_the_skipped_key_bound);

// ---------------------------------------------------------------------------
// Sealed state
// ---------------------------------------------------------------------------

/// One sample of every type, plain and sealed (under `SEAL_KEY`).
struct Samples {
    /// (name, tag, plain encoding)
    plain: Vec<(&'static str, u8, Vec<u8>)>,
    /// (name, tag, sealed encoding)
    sealed: Vec<(&'static str, u8, Vec<u8>)>,
}

fn samples(mode: Mode) -> &'static Samples {
    static PLAIN: OnceLock<Samples> = OnceLock::new();
    static HEADER_ENCRYPTION: OnceLock<Samples> = OnceLock::new();
    let cell = match mode {
        Mode::Plain => &PLAIN,
        _ => &HEADER_ENCRYPTION,
    };
    cell.get_or_init(|| {
        let mut rng = rng(12);
        let (alice, bob, fresh) = start(mode, &mut rng, false);
        let (_, _, fresh_opk) = start(mode, &mut rng, true);
        let (rich_a, rich_b, _, _) = rich_pair(mode, &mut rng);
        let mut a =
            Session::initiate_with(&alice, &bundle(&bob, false), mode, PqPolicy::AllowClassical, &mut rng)
                .unwrap();
        let m = send(&mut a, "m");
        let (fresh_b, _) = accept(&bob, &m.0, &mut rng);
        let plain = vec![
            ("identity", TAG_IDENTITY, bob.identity.to_bytes().to_vec()),
            ("signed prekey", TAG_SIGNED_PREKEY, bob.spk.to_bytes().to_vec()),
            ("one-time prekey", TAG_ONE_TIME_PREKEY, bob.opk.to_bytes().to_vec()),
            ("fresh initiator", TAG_SESSION, fresh.to_bytes().to_vec()),
            ("fresh initiator with opk", TAG_SESSION, fresh_opk.to_bytes().to_vec()),
            ("fresh responder", TAG_SESSION, fresh_b.to_bytes().to_vec()),
            ("initiator with skipped keys", TAG_SESSION, rich_a.to_bytes().to_vec()),
            ("responder with skipped keys", TAG_SESSION, rich_b.to_bytes().to_vec()),
        ];
        let sealed = vec![
            ("identity", TAG_IDENTITY, bob.identity.seal(&SEAL_KEY, &mut rng)),
            ("signed prekey", TAG_SIGNED_PREKEY, bob.spk.seal(&SEAL_KEY, &mut rng)),
            ("one-time prekey", TAG_ONE_TIME_PREKEY, bob.opk.seal(&SEAL_KEY, &mut rng)),
            ("fresh initiator", TAG_SESSION, fresh.seal(&SEAL_KEY, &mut rng)),
            ("responder with skipped keys", TAG_SESSION, rich_b.seal(&SEAL_KEY, &mut rng)),
        ];
        Samples { plain, sealed }
    })
}

/// Decodes `bytes` as the type of `tag`, and re-encodes on success.
fn decode_as(tag: u8, bytes: &[u8]) -> Result<Vec<u8>, Error> {
    Ok(match tag {
        TAG_IDENTITY => IdentityKeyPair::from_bytes(bytes)?.to_bytes().to_vec(),
        TAG_SIGNED_PREKEY => SignedPreKey::from_bytes(bytes)?.to_bytes().to_vec(),
        TAG_ONE_TIME_PREKEY => OneTimePreKey::from_bytes(bytes)?.to_bytes().to_vec(),
        TAG_SESSION => Session::from_bytes(bytes)?.to_bytes().to_vec(),
        _ => unreachable!(),
    })
}

/// Opens `bytes` as the type of `tag`, and re-encodes (plain) on success.
fn open_as(tag: u8, key: &[u8; 32], bytes: &[u8]) -> Result<Vec<u8>, Error> {
    Ok(match tag {
        TAG_IDENTITY => IdentityKeyPair::open(key, bytes)?.to_bytes().to_vec(),
        TAG_SIGNED_PREKEY => SignedPreKey::open(key, bytes)?.to_bytes().to_vec(),
        TAG_ONE_TIME_PREKEY => OneTimePreKey::open(key, bytes)?.to_bytes().to_vec(),
        TAG_SESSION => Session::open(key, bytes)?.to_bytes().to_vec(),
        _ => unreachable!(),
    })
}

const TAGS: [u8; 4] = [TAG_IDENTITY, TAG_SIGNED_PREKEY, TAG_ONE_TIME_PREKEY, TAG_SESSION];

fn sealed_opens_to_the_plain_encoding_and_only_under_its_key(mode: Mode) {
    let s = samples(mode);
    for (name, tag, sealed) in &s.sealed {
        let plain = open_as(*tag, &SEAL_KEY, sealed).unwrap();
        assert!(s.plain.iter().any(|(_, t, p)| t == tag && *p == plain), "{name}");
        assert_eq!(sealed.len(), plain.len() + SEALED_OVERHEAD, "{name}");
        assert_eq!(sealed[..3], [TAG_SEALED, STATE_VERSION, *tag], "{name}");
        assert_eq!(plain[..2], [*tag, format_version(*tag)], "{name}");
        assert_eq!(open_as(*tag, &OTHER_KEY, sealed), Err(Error::Auth), "{name}");
        assert_eq!(open_as(*tag, &[0; 32], sealed), Err(Error::Auth), "{name}");
    }
}
both_modes!(sealed_opens_to_the_plain_encoding_and_only_under_its_key);

fn sealed_every_bit_flip_is_rejected(mode: Mode) {
    for (name, tag, sealed) in &samples(mode).sealed {
        for i in 0..sealed.len() {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad[i] ^= 1 << bit;
                let got = open_as(*tag, &SEAL_KEY, &bad);
                let expected = match i {
                    0 | 2 => Error::Decode(DecodeError::UnexpectedType(bad[i])),
                    1 => Error::Decode(DecodeError::UnsupportedVersion(bad[i])),
                    _ => Error::Auth,
                };
                assert_eq!(got, Err(expected), "{name}: byte {i} bit {bit}");
            }
        }
    }
}
both_modes!(sealed_every_bit_flip_is_rejected);

fn sealed_one_type_opened_as_another_is_unexpected_type(mode: Mode) {
    let s = samples(mode);
    for (name, tag, sealed) in &s.sealed {
        for other in TAGS.into_iter().filter(|t| t != tag) {
            assert_eq!(
                open_as(other, &SEAL_KEY, sealed),
                Err(Error::Decode(DecodeError::UnexpectedType(*tag))),
                "{name} opened as {other:#x}"
            );
        }
        // Sealed bytes are not a plain encoding of anything.
        for t in TAGS {
            assert_eq!(decode_as(t, sealed), Err(Error::Decode(DecodeError::UnexpectedType(TAG_SEALED))));
        }
    }
    for (name, tag, plain) in &s.plain {
        // A plain encoding is not sealed...
        for t in TAGS {
            assert_eq!(
                open_as(t, &SEAL_KEY, plain),
                Err(Error::Decode(DecodeError::UnexpectedType(*tag))),
                "{name}"
            );
        }
        // ...and not another type's plain encoding.
        for other in TAGS.into_iter().filter(|t| t != tag) {
            assert_eq!(decode_as(other, plain), Err(Error::Decode(DecodeError::UnexpectedType(*tag))));
        }
    }
}
both_modes!(sealed_one_type_opened_as_another_is_unexpected_type);

fn sealing_uses_a_fresh_nonce_each_time(mode: Mode) {
    let mut rng = rng(13);
    let (a, b, _, _) = rich_pair(mode, &mut rng);
    let bob = responder(&mut rng);
    let pairs = [
        (a.seal(&SEAL_KEY, &mut rng), a.seal(&SEAL_KEY, &mut rng)),
        (b.seal(&SEAL_KEY, &mut rng), b.seal(&SEAL_KEY, &mut rng)),
        (bob.identity.seal(&SEAL_KEY, &mut rng), bob.identity.seal(&SEAL_KEY, &mut rng)),
        (bob.spk.seal(&SEAL_KEY, &mut rng), bob.spk.seal(&SEAL_KEY, &mut rng)),
        (bob.opk.seal(&SEAL_KEY, &mut rng), bob.opk.seal(&SEAL_KEY, &mut rng)),
    ];
    for (x, y) in &pairs {
        assert_eq!(x.len(), y.len());
        assert_ne!(x[3..15], y[3..15], "nonce reused");
        assert_ne!(x[15..], y[15..]);
    }
    assert_eq!(Session::open(&SEAL_KEY, &pairs[0].0).unwrap().to_bytes()[..], a.to_bytes()[..]);
    assert_eq!(Session::open(&SEAL_KEY, &pairs[0].1).unwrap().to_bytes()[..], a.to_bytes()[..]);
    // The same RNG state gives the same sealed bytes: sealing draws only the nonce.
    let mut r1 = ChaCha20Rng::seed_from_u64(99);
    let mut r2 = ChaCha20Rng::seed_from_u64(99);
    assert_eq!(b.seal(&SEAL_KEY, &mut r1), b.seal(&SEAL_KEY, &mut r2));
}
both_modes!(sealing_uses_a_fresh_nonce_each_time);

fn sealed_truncations_and_extensions_are_rejected(mode: Mode) {
    for (name, tag, sealed) in &samples(mode).sealed {
        for len in 0..sealed.len() {
            let got = open_as(*tag, &SEAL_KEY, &sealed[..len]);
            let expected =
                if len < 3 + 12 + 16 { Error::Decode(DecodeError::Truncated) } else { Error::Auth };
            assert_eq!(got, Err(expected), "{name} truncated to {len}");
        }
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(open_as(*tag, &SEAL_KEY, &longer), Err(Error::Auth), "{name}");
        let mut v2 = sealed.clone();
        v2[1] = 2;
        assert_eq!(
            open_as(*tag, &SEAL_KEY, &v2),
            Err(Error::Decode(DecodeError::UnsupportedVersion(2))),
            "{name}"
        );
    }
}
both_modes!(sealed_truncations_and_extensions_are_rejected);

// ---------------------------------------------------------------------------
// Garbage
// ---------------------------------------------------------------------------

#[test]
fn empty_input_is_truncated() {
    for t in TAGS {
        assert_eq!(decode_as(t, &[]), Err(Error::Decode(DecodeError::Truncated)));
        assert_eq!(open_as(t, &SEAL_KEY, &[]), Err(Error::Decode(DecodeError::Truncated)));
    }
}

fn every_truncation_is_rejected(mode: Mode) {
    for (name, tag, plain) in &samples(mode).plain {
        assert_eq!(decode_as(*tag, plain).as_deref(), Ok(&plain[..]), "{name}");
        for len in 0..plain.len() {
            match decode_as(*tag, &plain[..len]) {
                Err(Error::Decode(DecodeError::Truncated)) => {}
                other => panic!("{name} truncated to {len}: {other:?}"),
            }
        }
    }
}
both_modes!(every_truncation_is_rejected);

fn trailing_bytes_are_rejected(mode: Mode) {
    for (name, tag, plain) in &samples(mode).plain {
        for extra in [&[0u8][..], &[0xff], &[0; 68], &[0; 32]] {
            let mut longer = plain.clone();
            longer.extend_from_slice(extra);
            let got = decode_as(*tag, &longer);
            assert_eq!(got, Err(Error::Decode(DecodeError::TrailingBytes)), "{name}");
        }
    }
}
both_modes!(trailing_bytes_are_rejected);

fn wrong_tag_or_version_byte_is_rejected(mode: Mode) {
    for (name, tag, plain) in &samples(mode).plain {
        for b in 0..=255u8 {
            let mut bad = plain.clone();
            bad[0] = b;
            if b != *tag {
                assert_eq!(
                    decode_as(*tag, &bad),
                    Err(Error::Decode(DecodeError::UnexpectedType(b))),
                    "{name}"
                );
            }
            let mut bad = plain.clone();
            bad[1] = b;
            if !reads_version(*tag, b) {
                assert_eq!(
                    decode_as(*tag, &bad),
                    Err(Error::Decode(DecodeError::UnsupportedVersion(b))),
                    "{name}"
                );
            } else if b == 2 && b != plain[1] {
                // A classical version-3 session body relabelled version 2 is
                // the same layout: it decodes and re-encodes as version 3.
                assert_eq!((*tag, plain[1]), (TAG_SESSION, SESSION_STATE_VERSION));
                assert_eq!(Session::from_bytes(&bad).unwrap().to_bytes()[..], plain[..], "{name}");
            } else if b != plain[1] {
                // A version-3 session body relabelled version 1 is read by the
                // version-1 layout (96 bytes shorter), which it does not fit.
                assert_eq!((*tag, plain[1], b), (TAG_SESSION, SESSION_STATE_VERSION, 1));
                let got = decode_as(*tag, &bad);
                assert!(
                    matches!(got, Err(Error::Decode(e)) if !matches!(e, DecodeError::UnsupportedVersion(_))),
                    "{name}: {got:?}"
                );
            }
        }
        assert_eq!(plain[1], format_version(*tag), "{name}");
        // The next version is unknown to every decoder.
        let next = format_version(*tag) + 1;
        let mut newer = plain.clone();
        newer[1] = next;
        assert_eq!(decode_as(*tag, &newer), Err(Error::Decode(DecodeError::UnsupportedVersion(next))));
    }
}
both_modes!(wrong_tag_or_version_byte_is_rejected);

/// Whether SPEC.md §10.4 forbids these session flags outright (version 3).
/// Bit 5 (header encryption) and bit 6 (hybrid) are allowed with every
/// valid combination; bit 7 (a pending KEM part) needs bits 2 and 6, and a
/// pending hybrid handshake needs bit 7.
fn flags_forbidden(f: u8) -> bool {
    let initiator = f & 1 != 0;
    let pending = f & 4 != 0;
    let pending_opk = f & 8 != 0;
    let base_key = f & 16 != 0;
    let (hybrid, pending_kem) = (f & 0x40 != 0, f & 0x80 != 0);
    (pending_kem && !(pending && hybrid))
        || (pending && hybrid && !pending_kem)
        || (pending && !initiator)
        || (pending_opk && !pending)
        || (base_key == initiator)
}

fn invalid_session_flags_are_rejected(mode: Mode) {
    for (name, tag, plain) in &samples(mode).plain {
        if *tag != TAG_SESSION {
            continue;
        }
        for f in 0..=255u8 {
            let mut bad = plain.clone();
            bad[FLAGS_AT] = f;
            let got = Session::from_bytes(&bad);
            if flags_forbidden(f) {
                assert_eq!(got.err(), Some(Error::Decode(DecodeError::InvalidFlags(f))), "{name}: {f:#x}");
            } else if f != plain[FLAGS_AT] {
                // Allowed flags over a body of another shape: an error, or
                // (by coincidence) a state that re-encodes to the same bytes.
                if let Ok(s) = got {
                    assert_eq!(s.to_bytes()[..], bad[..], "{name}: {f:#x}");
                }
            } else {
                assert!(got.is_ok());
            }
        }
    }
    // The named combinations, with this mode's header-encryption bit.
    let fresh_responder = &samples(mode).plain[5].2;
    let he = he_flag(mode);
    assert_eq!(fresh_responder[FLAGS_AT], 2 | 16 | he);
    for f in [
        0x80 | 2 | 16,        // a pending KEM part without a pending handshake
        0x80 | 0x40 | 2 | 16, // ditto, hybrid
        0x80 | 1 | 4,         // a pending KEM part in a classical session
        0x40 | 1 | 4,         // a pending hybrid handshake without its KEM part
        2 | 4 | 16,           // a responder awaiting a reply
        1 | 2 | 16,           // an initiator with a base key
        2,                    // a responder without a base key
        1 | 8,                // an opk id without a pending handshake
        1 | 2 | 8,
        0,
    ] {
        let f = f | he;
        let mut bad = fresh_responder.clone();
        bad[FLAGS_AT] = f;
        assert_eq!(Session::from_bytes(&bad).err(), Some(Error::Decode(DecodeError::InvalidFlags(f))));
    }
    // Bit 5 is a valid flag: toggling it is never InvalidFlags; the body then
    // has the other mode's shape, and does not decode (the lengths disagree).
    for (name, tag, plain) in &samples(mode).plain {
        if *tag == TAG_SESSION {
            let mut other = plain.clone();
            other[FLAGS_AT] ^= FLAG_HE;
            let got = Session::from_bytes(&other).err();
            assert!(
                matches!(
                    got,
                    Some(Error::Decode(
                        DecodeError::Truncated | DecodeError::TrailingBytes | DecodeError::InvalidValue
                    ))
                ),
                "{name}: {got:?}"
            );
        }
    }
}
both_modes!(invalid_session_flags_are_rejected);

/// Offset of the u16 skipped-key count in an encoded session.
fn skipped_count_at(bytes: &[u8]) -> usize {
    let s = Session::from_bytes(bytes).unwrap();
    bytes.len() - 2 - SESSION_BYTES_PER_SKIPPED_KEY * s.skipped_key_count()
}

fn bad_counts_are_rejected(mode: Mode) {
    let rich_b = &samples(mode).plain[7].2;
    let at = skipped_count_at(rich_b);
    let count = usize::from(u16::from_be_bytes([rich_b[at], rich_b[at + 1]]));
    assert_eq!(count, 2);

    // A count inconsistent with the remaining length, either way: too few
    // entries is Truncated, too many bytes is TrailingBytes, a count over
    // the bound is InvalidValue before anything is read.
    for c in [0u16, 1, 3, 4, 100, MAX_SKIPPED_KEYS as u16, MAX_SKIPPED_KEYS as u16 + 1, u16::MAX] {
        let mut bad = rich_b.clone();
        bad[at..at + 2].copy_from_slice(&c.to_be_bytes());
        let expected = match c {
            0 | 1 => DecodeError::TrailingBytes,
            c if usize::from(c) > MAX_SKIPPED_KEYS => DecodeError::InvalidValue,
            _ => DecodeError::Truncated,
        };
        assert_eq!(Session::from_bytes(&bad).err(), Some(Error::Decode(expected)), "count {c}");
    }
    // A count over MAX_SKIPPED_KEYS, even with exactly that many entries.
    let over = MAX_SKIPPED_KEYS + 1;
    let mut bad = rich_b[..at].to_vec();
    bad.extend_from_slice(&(over as u16).to_be_bytes());
    for i in 0..over {
        let entry = &rich_b[at + 2 + 68 * (i % 2)..at + 2 + 68 * (i % 2 + 1)];
        bad.extend_from_slice(entry);
    }
    assert_eq!(Session::from_bytes(&bad).err(), Some(Error::Decode(DecodeError::InvalidValue)));
    // The same with exactly MAX_SKIPPED_KEYS entries decodes.
    let mut ok = rich_b[..at].to_vec();
    ok.extend_from_slice(&(MAX_SKIPPED_KEYS as u16).to_be_bytes());
    ok.extend_from_slice(&bad[at + 2..at + 2 + 68 * MAX_SKIPPED_KEYS]);
    let s = Session::from_bytes(&ok).unwrap();
    assert_eq!(s.skipped_key_count(), MAX_SKIPPED_KEYS);
    assert_eq!(s.to_bytes()[..], ok[..]);

    // A skipped entry with n = 0xFFFFFFFF.
    let mut bad = rich_b.clone();
    bad[at + 2 + 32..at + 2 + 36].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(Session::from_bytes(&bad).err(), Some(Error::Decode(DecodeError::InvalidValue)));
    let mut fine = rich_b.clone();
    fine[at + 2 + 32..at + 2 + 36].copy_from_slice(&(u32::MAX - 1).to_be_bytes());
    assert!(Session::from_bytes(&fine).is_ok());
    // The length is checked against the count before any entry is read: a
    // count of 3 over the same two entries (the first now invalid) is
    // Truncated, not the first entry's InvalidValue.
    bad[at..at + 2].copy_from_slice(&3u16.to_be_bytes());
    assert_eq!(Session::from_bytes(&bad).err(), Some(Error::Decode(DecodeError::Truncated)));

    // More remembered ratchet keys than MAX_PREVIOUS_RATCHET_KEYS (one is
    // stored here), or more than the input holds. With header encryption each
    // entry is the ratchet key and its chain's header key.
    let entry = PREVIOUS_KEY + if mode == Mode::Plain { 0 } else { HEADER_KEY_PREVIOUS };
    let c1_at = at - 1 - entry;
    assert_eq!(rich_b[c1_at], 1);
    for c1 in [9u8, 255, 2, 0] {
        let mut bad = rich_b.clone();
        bad[c1_at] = c1;
        let got = Session::from_bytes(&bad).err();
        if c1 > 8 {
            assert_eq!(got, Some(Error::Decode(DecodeError::InvalidValue)), "c1 {c1}");
        } else {
            assert!(matches!(got, Some(Error::Decode(_))), "c1 {c1}: {got:?}");
        }
    }
    // Nine real entries.
    let mut bad = rich_b[..c1_at].to_vec();
    bad.push(9);
    for _ in 0..9 {
        bad.extend_from_slice(&rich_b[c1_at + 1..c1_at + 1 + entry]);
    }
    bad.extend_from_slice(&rich_b[at..]);
    assert_eq!(Session::from_bytes(&bad).err(), Some(Error::Decode(DecodeError::InvalidValue)));
}
both_modes!(bad_counts_are_rejected);

/// Ed25519 encodings that are not valid identity keys (SPEC.md §2, strict):
/// the neutral point (small order), a non-canonical encoding of y = 0, and
/// all ones.
fn invalid_identity_keys() -> [[u8; 32]; 3] {
    let mut small_order = [0u8; 32];
    small_order[0] = 1; // the neutral point
    let mut p = [0xff; 32]; // y = p: a non-canonical encoding of y = 0
    p[0] = 0xed;
    p[31] = 0x7f;
    [small_order, [0xff; 32], p]
}

/// SPEC.md §10.4: a version-1 session's identity keys are checked strictly
/// (`InvalidPublicKey`). The version-1 encodings are made from the samples
/// by dropping the derived fields, and decode to the samples themselves.
fn invalid_identity_keys_in_a_version_1_session_are_rejected(mode: Mode) {
    for (name, tag, plain) in &samples(mode).plain {
        if *tag != TAG_SESSION {
            continue;
        }
        let v1 = common::session_v2_to_v1(plain);
        assert_eq!(decode_as(TAG_SESSION, &v1).as_deref(), Ok(&plain[..]), "{name}: re-encoded as version 2");
        for at in [common::V1_LOCAL_IDENTITY_AT, common::V1_REMOTE_IDENTITY_AT] {
            for key in invalid_identity_keys() {
                let mut bad = v1.clone();
                bad[at..at + 32].copy_from_slice(&key);
                assert_eq!(
                    Session::from_bytes(&bad).err(),
                    Some(Error::Decode(DecodeError::InvalidPublicKey)),
                    "{name}: offset {at}"
                );
            }
        }
    }
}
both_modes!(invalid_identity_keys_in_a_version_1_session_are_rejected);

/// SPEC.md §10.4, "Stored derived values": a version-2 session takes its
/// identity keys as stored, without curve arithmetic, so one that is not a
/// valid key (or not the genuine one) still decodes. It enters only the
/// associated data, so every message fails: none the corrupted session
/// receives decrypts (`Auth`; a late PreKeyMessage whose sender is no longer
/// the stored remote identity is `WrongIdentity`, §8 step 1), and the peer
/// decrypts none it sends (`Auth`; an initiator's PreKeyMessage naming an
/// invalid identity key does not even decode). Nothing changes on either
/// side, and the genuine sessions go on.
fn a_corrupted_identity_key_in_a_version_2_session_fails_every_message(mode: Mode) {
    let mut rng = rng(15);
    let (a, b, to_a, to_b) = rich_pair(mode, &mut rng);
    let (a_bytes, b_bytes) = (a.to_bytes(), b.to_bytes());
    // Alice's next message starts a new chain for Bob; Bob's continues the
    // chain Alice receives on; to_a / to_b were skipped, their keys stored
    // (to_b[0] is one of Alice's PreKeyMessages).
    assert!(MessageType::of(&to_b[0].0) == Ok(MessageType::PreKey));
    // (name, encoding, the peer's encoding, a stored-key message for it)
    let sides = [("Alice", &a_bytes, &b_bytes, &to_a[0]), ("Bob", &b_bytes, &a_bytes, &to_b[0])];
    let mut cases = 0;
    for (name, own, peer, stored) in sides {
        for (field, at) in [("local", LOCAL_IDENTITY_AT), ("remote", REMOTE_IDENTITY_AT)] {
            // The invalid keys, and a valid key that is not the genuine one.
            let other = IdentityKeyPair::generate(&mut rng).public_key().to_bytes();
            for key in invalid_identity_keys().into_iter().chain([other]) {
                let what = format!("{name}, {field} identity {key:02x?}");
                let mut bytes = own.to_vec();
                bytes[at..at + 32].copy_from_slice(&key);
                let mut corrupted = Session::from_bytes(&bytes).unwrap_or_else(|e| panic!("{what}: {e:?}"));
                assert_eq!(corrupted.to_bytes()[..], bytes[..], "{what}");
                let mut genuine_peer = Session::from_bytes(peer).unwrap();
                let mut genuine = Session::from_bytes(own).unwrap();

                // Received: a stored key's message, and one of the peer's new messages.
                let stored_error =
                    if field == "remote" && MessageType::of(&stored.0) == Ok(MessageType::PreKey) {
                        Error::WrongIdentity
                    } else {
                        Error::Auth
                    };
                refused(&mut corrupted, &stored.0, stored_error, &mut rng);
                let incoming = send(&mut genuine_peer, "to the corrupted session");
                refused(&mut corrupted, &incoming.0, Error::Auth, &mut rng);
                // Sent: the peer decrypts nothing from the corrupted session.
                let outgoing = send(&mut corrupted, "from the corrupted session");
                refused(&mut genuine_peer, &outgoing.0, Error::Auth, &mut rng);

                // The genuine sessions still talk.
                receive(&mut genuine, stored, &mut rng);
                receive(&mut genuine, &incoming, &mut rng);
                let reply = send(&mut genuine, "from the genuine session");
                receive(&mut genuine_peer, &reply, &mut rng);
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 2 * 2 * 4);

    // An initiator awaiting a reply sends its local identity key in its
    // PreKeyMessages, which the responder checks strictly (SPEC.md §7.3).
    let (_alice, bob, fresh) = start(mode, &mut rng, false);
    let fresh_bytes = fresh.to_bytes();
    for key in invalid_identity_keys() {
        let mut bytes = fresh_bytes.to_vec();
        bytes[LOCAL_IDENTITY_AT..LOCAL_IDENTITY_AT + 32].copy_from_slice(&key);
        let mut corrupted = Session::from_bytes(&bytes).unwrap();
        assert!(corrupted.awaiting_reply());
        let m = send(&mut corrupted, "first");
        assert_eq!(
            PreKeyMessage::from_bytes(&m.0).err(),
            Some(Error::Decode(DecodeError::InvalidPublicKey)),
            "{key:02x?}"
        );
    }
    // The genuine initiator's first message is accepted.
    let mut genuine = Session::from_bytes(&fresh_bytes).unwrap();
    let m = send(&mut genuine, "first");
    assert_eq!(accept(&bob, &m.0, &mut rng).1, b"first");
}
both_modes!(a_corrupted_identity_key_in_a_version_2_session_fails_every_message);

/// SPEC.md §10.4, "Stored derived values": the identity keys' X25519 forms
/// are not used after the handshake, so a version-2 session whose stored
/// forms are wrong behaves exactly like the genuine one: it decrypts what
/// the genuine one decrypts (a stored key's message, a late PreKeyMessage of
/// its handshake, a new message) and sends what the peer decrypts.
fn corrupted_identity_x25519_forms_in_a_version_2_session_change_no_message(mode: Mode) {
    let mut rng = rng(16);
    let (a, b, to_a, to_b) = rich_pair(mode, &mut rng);
    let (a_bytes, b_bytes) = (a.to_bytes(), b.to_bytes());
    assert!(MessageType::of(&to_b[0].0) == Ok(MessageType::PreKey));
    let sides = [("Alice", &a_bytes, &b_bytes, &to_a[0]), ("Bob", &b_bytes, &a_bytes, &to_b[0])];
    let mut wrong = Vec::new();
    for (name, own, peer, stored) in sides {
        for (field, at) in
            [("local", common::V2_LOCAL_IDENTITY_X25519_AT), ("remote", common::V2_REMOTE_IDENTITY_X25519_AT)]
        {
            let mut bytes = own.to_vec();
            bytes[at] ^= 1;
            let mut corrupted = Session::from_bytes(&bytes).unwrap();
            assert_eq!(corrupted.to_bytes()[..], bytes[..]);
            let mut peer = Session::from_bytes(peer).unwrap();
            if let Err(e) = corrupted.decrypt(&stored.0, &mut rng) {
                wrong.push(format!("{name}, {field} X25519 form: stored-key message: {e:?}"));
            }
            let incoming = send(&mut peer, "in");
            if let Err(e) = corrupted.decrypt(&incoming.0, &mut rng) {
                wrong.push(format!("{name}, {field} X25519 form: new message: {e:?}"));
            }
            let outgoing = send(&mut corrupted, "out");
            if let Err(e) = peer.decrypt(&outgoing.0, &mut rng) {
                wrong.push(format!("{name}, {field} X25519 form: sent message: {e:?}"));
            }
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
}
both_modes!(corrupted_identity_x25519_forms_in_a_version_2_session_change_no_message);

/// SPEC.md §10.4: every stored X25519 public key (`DHs_pub`, `DHr`, `EK_A`,
/// the base key, each remembered `DHr`, each skipped entry's ratchet key)
/// must be canonical (§2), in version 2 and in version 1 (which has no
/// stored `DHs_pub`). Bit 255 set, or a value from p = 2^255 - 19 up, is
/// `InvalidPublicKey`; p - 1 (canonical, of low order) decodes.
fn non_canonical_stored_x25519_keys_are_rejected(mode: Mode) {
    let mut p_minus_1 = [0xff; 32];
    p_minus_1[0] = 0xec;
    p_minus_1[31] = 0x7f;
    let mut p = p_minus_1;
    p[0] = 0xed;
    let mut seen = std::collections::BTreeSet::new();
    let mut checked = 0;
    for (name, tag, plain) in &samples(mode).plain {
        if *tag != TAG_SESSION {
            continue;
        }
        for (what, at) in common::session_x25519_key_offsets(plain) {
            seen.insert(what);
            let genuine: [u8; 32] = plain[at..at + 32].try_into().unwrap();
            assert!(common::is_canonical_x25519(&genuine), "{name}: {what}");
            let mut high_bit = genuine;
            high_bit[31] |= 0x80;
            for (bad, canonical) in [(high_bit, false), (p, false), ([0xff; 32], false), (p_minus_1, true)] {
                let mut bytes = plain.clone();
                bytes[at..at + 32].copy_from_slice(&bad);
                let got = Session::from_bytes(&bytes).map(|s| s.to_bytes().to_vec());
                if canonical {
                    assert_eq!(got.as_deref(), Ok(&bytes[..]), "{name}: {what} at {at}");
                } else {
                    assert_eq!(
                        got,
                        Err(Error::Decode(DecodeError::InvalidPublicKey)),
                        "{name}: {what} at {at}"
                    );
                }
                // The same in a version-1 encoding, which recomputes DHs_pub.
                if what != "DHs_pub" {
                    let v1 = common::session_v2_to_v1(&bytes);
                    let got = Session::from_bytes(&v1).map(|s| s.to_bytes().to_vec());
                    if canonical {
                        assert_eq!(got.as_deref(), Ok(&bytes[..]), "{name}: version 1, {what}");
                    } else {
                        assert_eq!(
                            got,
                            Err(Error::Decode(DecodeError::InvalidPublicKey)),
                            "{name}: version 1, {what}"
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    let all = ["DHs_pub", "DHr", "EK_A", "base key", "remembered DHr", "skipped entry's ratchet key"];
    assert_eq!(seen, all.into_iter().collect(), "the samples hold every kind of stored X25519 key");
    assert!(checked > 40, "{checked}");
}
both_modes!(non_canonical_stored_x25519_keys_are_rejected);

/// Flag combinations that no API call can produce are rejected (SPEC.md §10.4).
fn impossible_flag_combinations_are_rejected(mode: Mode) {
    let s = samples(mode);
    let fresh = &s.plain[3].2;
    let fresh_responder = &s.plain[5].2;
    let rich_a = &s.plain[6].2;

    // The flags are checked as soon as they are read, before any field whose
    // presence they announce (with header encryption the header keys too).
    let he = he_flag(mode);

    // A responder without its receiving chain.
    assert_eq!(fresh_responder[FLAGS_AT], 2 | 16 | he);
    let mut no_chain = fresh_responder[..OPTIONAL_AT].to_vec();
    no_chain[FLAGS_AT] = 16 | he;
    no_chain.extend_from_slice(&fresh_responder[OPTIONAL_AT + RECEIVING..]);

    // A fresh initiator (pending, no receiving chain) given a receiving chain.
    assert_eq!(fresh[FLAGS_AT], 1 | 4 | he);
    let mut both = fresh[..OPTIONAL_AT].to_vec();
    both[FLAGS_AT] = 1 | 2 | 4 | he;
    both.extend_from_slice(&rich_a[OPTIONAL_AT..OPTIONAL_AT + RECEIVING]);
    both.extend_from_slice(&fresh[OPTIONAL_AT..]);

    // A fresh initiator without its pending handshake.
    let mut neither = fresh[..OPTIONAL_AT].to_vec();
    neither[FLAGS_AT] = 1 | he;
    neither.extend_from_slice(&fresh[OPTIONAL_AT + PENDING..]);

    let got: Vec<_> = [(16u8 | he, no_chain), (7 | he, both), (1 | he, neither)]
        .into_iter()
        .map(|(f, bytes)| (f, Session::from_bytes(&bytes).err()))
        .collect();
    let expected: Vec<_> = [16u8 | he, 7 | he, 1 | he]
        .into_iter()
        .map(|f| (f, Some(Error::Decode(DecodeError::InvalidFlags(f)))))
        .collect();
    assert_eq!(got, expected);
}
both_modes!(impossible_flag_combinations_are_rejected);

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary bytes never panic a decoder, plain or sealed.
    #[test]
    fn arbitrary_bytes_never_panic(tag in prop::sample::select(TAGS.to_vec()), mut bytes in prop::collection::vec(any::<u8>(), 0..600), header in any::<bool>(), oldest in any::<bool>()) {
        if header && bytes.len() >= 2 {
            bytes[0] = tag;
            // Sessions: either format version the decoder reads.
            bytes[1] = if oldest { 1 } else { format_version(tag) };
        }
        if let Ok(again) = decode_as(tag, &bytes) {
            prop_assert_eq!(again, bytes.clone());
        }
        prop_assert!(open_as(tag, &SEAL_KEY, &bytes).is_err());
    }

    /// Mutated valid encodings (of either mode's samples) either fail to
    /// decode or decode to a state that re-encodes to exactly the mutated
    /// bytes (canonical encoding).
    #[test]
    fn mutated_encodings_never_panic(
        mode in prop::sample::select(common::MODES.to_vec()),
        which in 0..8usize,
        edits in prop::collection::vec((any::<Index>(), any::<u8>()), 1..4),
        cut in prop::option::of(any::<Index>()),
        append in prop::collection::vec(any::<u8>(), 0..3),
    ) {
        let (_, tag, plain) = &samples(mode).plain[which];
        let mut bytes = plain.clone();
        for (i, v) in edits {
            let i = i.index(bytes.len());
            bytes[i] = v;
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len() + 1));
        }
        bytes.extend_from_slice(&append);
        if let Ok(again) = decode_as(*tag, &bytes) {
            prop_assert_eq!(again, bytes);
        }
    }
}

/// One step of the simulated conversation.
#[derive(Clone, Debug)]
enum Event {
    Send { from_alice: bool, len: usize },
    Deliver { to_alice: bool, pick: Index },
    Drop { to_alice: bool, pick: Index },
    Duplicate { to_alice: bool, pick: Index },
    Persist { alice: bool, sealed: bool },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => (any::<bool>(), 0..40usize).prop_map(|(from_alice, len)| Event::Send { from_alice, len }),
        5 => (any::<bool>(), any::<Index>()).prop_map(|(to_alice, pick)| Event::Deliver { to_alice, pick }),
        1 => (any::<bool>(), any::<Index>()).prop_map(|(to_alice, pick)| Event::Drop { to_alice, pick }),
        1 => (any::<bool>(), any::<Index>()).prop_map(|(to_alice, pick)| Event::Duplicate { to_alice, pick }),
        2 => (any::<bool>(), any::<bool>()).prop_map(|(alice, sealed)| Event::Persist { alice, sealed }),
    ]
}

/// A message on the network: its wire bytes, its plaintext, and the
/// sender's chain (`common::sending_chain_id`, as header encryption hides
/// the ratchet key) when it was sent.
type InFlight = (Vec<u8>, Vec<u8>, [u8; 32]);

/// One side of the simulated conversation.
#[derive(Default)]
struct Party {
    session: Option<Session>,
    /// Messages on their way to this party.
    inbox: Vec<InFlight>,
    /// Messages this party has decrypted, with their chain.
    delivered: Vec<(Vec<u8>, [u8; 32])>,
    /// Sender chains of the messages received, in order of first appearance.
    chains: Vec<[u8; 32]>,
    sent: usize,
}

impl Party {
    /// How many chains behind this party's current receiving chain `chain`
    /// is, if it has seen it.
    fn age(&self, chain: &[u8; 32]) -> Option<usize> {
        self.chains.iter().position(|c| c == chain).map(|pos| self.chains.len() - 1 - pos)
    }
}

fn plaintext(from_alice: bool, n: usize, len: usize) -> Vec<u8> {
    let mut p = format!("{}{n}:", if from_alice { "A" } else { "B" }).into_bytes();
    p.extend((0..len).map(|i| (i + n) as u8));
    p
}

/// Encodes, drops and decodes one session (plain or sealed).
fn persist(s: Session, sealed: bool, rng: &mut ChaCha20Rng) -> Result<Session, TestCaseError> {
    let bytes = s.to_bytes();
    prop_assert_eq!(bytes.len(), s.encoded_len());
    let restored = if sealed {
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let sealed = s.seal(&key, rng);
        prop_assert_eq!(sealed.len(), bytes.len() + SEALED_OVERHEAD);
        drop(s);
        Session::open(&key, &sealed).unwrap()
    } else {
        drop(s);
        Session::from_bytes(&bytes).unwrap()
    };
    prop_assert_eq!(&restored.to_bytes()[..], &bytes[..]);
    Ok(restored)
}

struct World {
    mode: Mode,
    rng: ChaCha20Rng,
    bob_keys: Option<Responder>,
    alice: Party,
    bob: Party,
}

impl World {
    fn new(mode: Mode, seed: [u8; 32], with_opk: bool) -> Self {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let bob_keys = responder(&mut rng);
        let alice_identity = IdentityKeyPair::generate(&mut rng);
        let session = Session::initiate_with(
            &alice_identity,
            &bundle(&bob_keys, with_opk),
            mode,
            PqPolicy::AllowClassical,
            &mut rng,
        )
        .unwrap();
        World {
            mode,
            rng,
            bob_keys: Some(bob_keys),
            alice: Party { session: Some(session), ..Party::default() },
            bob: Party::default(),
        }
    }

    fn send(&mut self, from_alice: bool, len: usize) {
        // Bob cannot send before he has a session: Alice sends instead.
        let from_alice = from_alice || self.bob.session.is_none();
        let (from, to) =
            if from_alice { (&mut self.alice, &mut self.bob) } else { (&mut self.bob, &mut self.alice) };
        let Some(s) = from.session.as_mut() else { return };
        let p = plaintext(from_alice, from.sent, len);
        from.sent += 1;
        let expected_type = if s.awaiting_reply() { MessageType::PreKey } else { MessageType::Message };
        let expected_len = s.encrypted_len(p.len()).unwrap();
        let wire = s.encrypt_t(&p).unwrap();
        assert_eq!(MessageType::of(&wire).unwrap(), expected_type);
        assert_eq!(common::mode_of(&wire), self.mode);
        assert_eq!(wire.len(), expected_len);
        to.inbox.push((wire, p, common::sending_chain_id(s)));
    }

    fn deliver(&mut self, to_alice: bool, i: usize) -> Result<(), TestCaseError> {
        let to = if to_alice { &mut self.alice } else { &mut self.bob };
        let (wire, p, chain) = to.inbox.remove(i);
        // With header encryption, a chain more than MAX_PREVIOUS_RATCHET_KEYS
        // behind is forgotten with its header key and skipped keys.
        if self.mode == Mode::HeaderEncryption
            && to.age(&chain).is_some_and(|a| a > MAX_PREVIOUS_RATCHET_KEYS)
        {
            let s = to.session.as_mut().unwrap();
            let before = s.to_bytes();
            prop_assert_eq!(s.decrypt(&wire, &mut self.rng), Err(Error::Auth));
            prop_assert_eq!(&s.to_bytes()[..], &before[..]);
            return Ok(());
        }
        let got = match to.session.as_mut() {
            Some(s) => {
                if MessageType::of(&wire).unwrap() == MessageType::PreKey {
                    prop_assert!(s.matches(&PreKeyMessage::from_bytes(&wire).unwrap()));
                }
                s.decrypt(&wire, &mut self.rng)
            }
            None => {
                // Bob's first message: a new session.
                prop_assert!(!to_alice);
                let keys = self.bob_keys.as_ref().unwrap();
                let first = PreKeyMessage::from_bytes(&wire).unwrap();
                let opk = first.one_time_prekey_id().map(|id| {
                    assert_eq!(id, keys.opk.id());
                    &keys.opk
                });
                let (s, got) = common::accept(&keys.identity, &keys.spk, opk, &first, &mut self.rng).unwrap();
                to.session = Some(s);
                Ok(got)
            }
        };
        prop_assert_eq!(got.as_ref(), Ok(&p));
        if !to.chains.contains(&chain) {
            to.chains.push(chain);
        }
        to.delivered.push((wire, chain));
        Ok(())
    }

    fn duplicate(&mut self, to_alice: bool, i: usize) -> Result<(), TestCaseError> {
        let to = if to_alice { &mut self.alice } else { &mut self.bob };
        let (wire, chain) = to.delivered[i].clone();
        let age = to.age(&chain).unwrap();
        let s = to.session.as_mut().unwrap();
        let before = s.to_bytes();
        let got = s.decrypt(&wire, &mut self.rng);
        // The current chain and MAX_PREVIOUS_RATCHET_KEYS earlier ones are
        // remembered; a replay from an older chain may also fail as Auth (with
        // header encryption it must: no header key opens it).
        if age <= MAX_PREVIOUS_RATCHET_KEYS {
            prop_assert_eq!(got, Err(Error::Duplicate));
        } else if self.mode == Mode::HeaderEncryption {
            prop_assert_eq!(got, Err(Error::Auth));
        } else {
            prop_assert!(matches!(got, Err(Error::Duplicate | Error::Auth)), "{:?}", got);
        }
        prop_assert_eq!(&s.to_bytes()[..], &before[..], "a refused replay changed the session");
        Ok(())
    }

    fn persist(&mut self, alice: bool, sealed: bool) -> Result<(), TestCaseError> {
        let party = if alice { &mut self.alice } else { &mut self.bob };
        if let Some(s) = party.session.take() {
            party.session = Some(persist(s, sealed, &mut self.rng)?);
        } else if let Some(keys) = self.bob_keys.take() {
            // Bob has no session yet: his prekeys go through storage instead.
            let store = if sealed { Store::Sealed } else { Store::Plain };
            self.bob_keys = Some(Responder {
                identity: restore_identity(&keys.identity, store, &mut self.rng),
                spk: restore_spk(&keys.spk, store, &mut self.rng),
                opk: restore_opk(&keys.opk, store, &mut self.rng),
            });
        }
        Ok(())
    }
}

/// Two parties converse over a network that reorders, drops and
/// duplicates, and either side is persisted at random points. Every
/// delivered message decrypts exactly once to its plaintext (with header
/// encryption, unless its chain was forgotten: then `Auth`), replays are
/// Duplicates that change nothing, and the two can still talk at the end.
fn conversation(mode: Mode, seed: [u8; 32], with_opk: bool, events: Vec<Event>) -> Result<(), TestCaseError> {
    let mut w = World::new(mode, seed, with_opk);
    for e in events {
        match e {
            Event::Send { from_alice, len } => w.send(from_alice, len),
            Event::Deliver { to_alice, pick } => {
                // To the other side if this one has nothing in flight.
                let to_alice = if to_alice { !w.alice.inbox.is_empty() } else { w.bob.inbox.is_empty() };
                let n = if to_alice { w.alice.inbox.len() } else { w.bob.inbox.len() };
                if n > 0 {
                    w.deliver(to_alice, pick.index(n))?;
                }
            }
            Event::Drop { to_alice, pick } => {
                let inbox = if to_alice { &mut w.alice.inbox } else { &mut w.bob.inbox };
                if !inbox.is_empty() {
                    inbox.remove(pick.index(inbox.len()));
                }
            }
            Event::Duplicate { to_alice, pick } => {
                let to_alice =
                    if to_alice { !w.alice.delivered.is_empty() } else { w.bob.delivered.is_empty() };
                let n = if to_alice { w.alice.delivered.len() } else { w.bob.delivered.len() };
                if n > 0 {
                    w.duplicate(to_alice, pick.index(n))?;
                }
            }
            Event::Persist { alice, sealed } => w.persist(alice, sealed)?,
        }
    }
    // Everything still in flight arrives, newest first, after a restart of both.
    w.persist(true, false)?;
    w.persist(false, true)?;
    while !w.bob.inbox.is_empty() {
        w.deliver(false, w.bob.inbox.len() - 1)?;
    }
    while !w.alice.inbox.is_empty() {
        w.deliver(true, w.alice.inbox.len() - 1)?;
    }
    // Then a message each way (Bob accepts first if nothing reached him).
    for from_alice in [true, false, true] {
        w.send(from_alice, 5);
        w.deliver(!from_alice, 0)?;
    }
    prop_assert!(!w.alice.session.as_ref().unwrap().awaiting_reply());
    // Every delivered message is a Duplicate now (or, from an old chain, Auth).
    for i in 0..w.alice.delivered.len() {
        w.duplicate(true, i)?;
    }
    for i in 0..w.bob.delivered.len() {
        w.duplicate(false, i)?;
    }
    Ok(())
}

mod conversation_survives_persistence {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn plain(
            seed in any::<[u8; 32]>(),
            with_opk in any::<bool>(),
            events in prop::collection::vec(event(), 10..=50),
        ) {
            conversation(Mode::Plain, seed, with_opk, events)?;
        }

        #[test]
        fn header_encryption(
            seed in any::<[u8; 32]>(),
            with_opk in any::<bool>(),
            events in prop::collection::vec(event(), 10..=50),
        ) {
            conversation(Mode::HeaderEncryption, seed, with_opk, events)?;
        }
    }
}
