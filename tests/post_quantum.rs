//! The hybrid (post-quantum) handshake of SPEC.md §16, end to end through
//! the public API: it is the default, it survives storage, and every way a
//! relay or a bad bundle can interfere (stripping, swapping, tampering,
//! invalid or unknown keys, wrong prekeys) ends in the typed error §16
//! names, with nothing consumed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chatcrypt::{
    AcceptPolicy, DecodeError, Error, IdentityKeyPair, KemPreKey, KemPreKeyPublic, KemPreKeyUse, KemType,
    ModePolicy, OneTimePreKey, PqPolicy, PreKeyBundle, PreKeyMessage, Session, SignedPreKey,
    KEM_PREKEY_PUBLIC_LEN, ML_KEM_1024_CIPHERTEXT_LEN, ML_KEM_1024_PUBLIC_KEY_LEN,
};
use common::{rng, ChaCha20Rng, Mode, TestSend};
use rand_chacha::rand_core::Rng;

/// Offset of the KEM prekey in a bundle (after the signature, SPEC §16.3).
const BUNDLE_KEM_AT: usize = 134;
/// Length of a PreKeyMessage's KEM part for ML-KEM-1024 (§16.4).
const KEM_PART_LEN: usize = 1 + 4 + ML_KEM_1024_CIPHERTEXT_LEN;

struct Bob {
    identity: IdentityKeyPair,
    spk: SignedPreKey,
    opk: OneTimePreKey,
    kem_one_time: KemPreKey,
    kem_last_resort: KemPreKey,
}

impl Bob {
    fn new(rng: &mut ChaCha20Rng) -> Self {
        let identity = IdentityKeyPair::generate(rng);
        let spk = SignedPreKey::generate(&identity, 1, rng);
        let opk = OneTimePreKey::generate(100, rng);
        let kem_one_time = KemPreKey::generate(&identity, 200, rng);
        let kem_last_resort = KemPreKey::generate(&identity, 299, rng);
        Bob { identity, spk, opk, kem_one_time, kem_last_resort }
    }

    fn classical_bundle(&self, with_opk: bool) -> PreKeyBundle {
        PreKeyBundle::new(
            self.identity.public_key().clone(),
            self.spk.public().clone(),
            with_opk.then(|| self.opk.public().clone()),
        )
    }

    fn bundle(&self, kem: &KemPreKey, with_opk: bool) -> PreKeyBundle {
        self.classical_bundle(with_opk).with_kem_prekey(kem.public().clone())
    }

    fn opk_copy(&self) -> OneTimePreKey {
        OneTimePreKey::from_bytes(&self.opk.to_bytes()).unwrap()
    }

    fn kem_copy(&self) -> KemPreKey {
        KemPreKey::from_bytes(&self.kem_one_time.to_bytes()).unwrap()
    }

    /// Accepts with the prekeys the message names, the one-time KEM prekey
    /// as a fresh copy (so tests can accept several times).
    fn accept(
        &self,
        m: &[u8],
        policy: AcceptPolicy,
        rng: &mut ChaCha20Rng,
    ) -> Result<(Session, Vec<u8>), Error> {
        let msg = PreKeyMessage::from_bytes(m)?;
        let opk = msg.one_time_prekey_id().map(|_| self.opk_copy());
        let kem = match msg.kem_prekey_id() {
            Some((_, 200)) => Some(KemPreKeyUse::OneTime(self.kem_copy())),
            Some(_) => Some(KemPreKeyUse::LastResort(&self.kem_last_resort)),
            None => None,
        };
        Session::accept(&self.identity, &self.spk, opk, kem, &msg, policy, rng)
            .map(|a| (a.session, a.plaintext))
    }
}

fn any_mode_policy(pq: PqPolicy) -> AcceptPolicy {
    AcceptPolicy::new(ModePolicy::Any, pq)
}

fn hybrid_handshake_is_the_default_and_converses(mode: Mode) {
    let mut rng = rng(1601);
    let bob = Bob::new(&mut rng);
    for with_opk in [true, false] {
        let alice = IdentityKeyPair::generate(&mut rng);
        let bundle = PreKeyBundle::from_bytes(&bob.bundle(&bob.kem_one_time, with_opk).to_bytes()).unwrap();
        assert_eq!(bundle.to_bytes().len(), if with_opk { 170 } else { 134 } + KEM_PREKEY_PUBLIC_LEN);
        let mut a = Session::initiate_with_mode(&alice, &bundle, mode, &mut rng).unwrap();
        assert!(a.is_post_quantum());
        assert_eq!(a.handshake_kem(), Some(KemType::MlKem1024));
        let m1 = a.encrypt_t(b"one").unwrap();
        let m2 = a.encrypt_t(b"two").unwrap();
        // Every PreKeyMessage until the reply carries the same KEM part.
        let (p1, p2) = (PreKeyMessage::from_bytes(&m1).unwrap(), PreKeyMessage::from_bytes(&m2).unwrap());
        assert!(p1.is_post_quantum());
        assert_eq!(p1.kem_prekey_id(), Some((KemType::MlKem1024, 200)));
        assert_eq!(m1.len(), m2.len());
        let kem_at = common::PREKEY_PREFIX_LEN + if with_opk { 4 } else { 0 };
        assert_eq!(m1[kem_at..kem_at + KEM_PART_LEN], m2[kem_at..kem_at + KEM_PART_LEN]);
        assert_eq!(p2.kem_prekey_id(), p1.kem_prekey_id());
        let (mut b, pt) = bob.accept(&m2, AcceptPolicy::default(), &mut rng).unwrap();
        assert_eq!(pt, b"two");
        assert!(b.is_post_quantum() && b.matches(&p1));
        assert_eq!(b.decrypt(&m1, &mut rng).unwrap(), b"one");
        let reply = b.encrypt_t(b"three").unwrap();
        assert_eq!(a.decrypt(&reply, &mut rng).unwrap(), b"three");
        assert!(!a.awaiting_reply());
        // After the reply, messages have the classical sizes (SPEC §16.7).
        let m4 = a.encrypt_t(b"four").unwrap();
        assert_eq!(m4.len(), common::message_header_len(mode) + 4 + common::TAG_LEN);
        assert_eq!(b.decrypt(&m4, &mut rng).unwrap(), b"four");
    }
}
both_modes!(hybrid_handshake_is_the_default_and_converses);

fn a_bundle_without_a_kem_prekey_is_refused_by_default_and_draws_nothing(mode: Mode) {
    let mut rng = rng(1602);
    let bob = Bob::new(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    // A relay strips the KEM prekey: a well-formed classical bundle.
    let full = bob.bundle(&bob.kem_one_time, true).to_bytes();
    let mut stripped = full[..BUNDLE_KEM_AT].to_vec();
    stripped[1] &= !2;
    stripped.extend_from_slice(&full[BUNDLE_KEM_AT + KEM_PREKEY_PUBLIC_LEN..]);
    let stripped = PreKeyBundle::from_bytes(&stripped).unwrap();
    assert_eq!(stripped, bob.classical_bundle(true));
    let before = rng.clone();
    assert_eq!(Session::initiate(&alice, &stripped, &mut rng).err(), Some(Error::PostQuantumRequired));
    assert_eq!(
        Session::initiate_with_mode(&alice, &stripped, mode, &mut rng).err(),
        Some(Error::PostQuantumRequired)
    );
    assert_eq!(
        Session::initiate_with(&alice, &stripped, mode, PqPolicy::Required, &mut rng).err(),
        Some(Error::PostQuantumRequired)
    );
    assert_eq!(rng, before, "a refused bundle draws nothing");
    // Allowed explicitly, the classical handshake works; a responder that
    // requires the hybrid one refuses it, one that allows classical accepts.
    let mut a = Session::initiate_with(&alice, &stripped, mode, PqPolicy::AllowClassical, &mut rng).unwrap();
    assert!(!a.is_post_quantum());
    let m = a.encrypt_t(b"classical").unwrap();
    assert!(!PreKeyMessage::from_bytes(&m).unwrap().is_post_quantum());
    assert_eq!(bob.accept(&m, AcceptPolicy::default(), &mut rng).err(), Some(Error::PostQuantumRequired));
    let (b, pt) = bob.accept(&m, any_mode_policy(PqPolicy::AllowClassical), &mut rng).unwrap();
    assert_eq!((pt.as_slice(), b.is_post_quantum(), b.handshake_kem()), (&b"classical"[..], false, None));
    // A bundle that offers a KEM prekey is always used hybrid, whatever the policy.
    let a = Session::initiate_with(
        &alice,
        &bob.bundle(&bob.kem_one_time, true),
        mode,
        PqPolicy::AllowClassical,
        &mut rng,
    )
    .unwrap();
    assert!(a.is_post_quantum());
}
both_modes!(a_bundle_without_a_kem_prekey_is_refused_by_default_and_draws_nothing);

fn a_prekey_message_stripped_of_its_kem_part_is_refused(mode: Mode) {
    let mut rng = rng(1603);
    let bob = Bob::new(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let mut a =
        Session::initiate_with_mode(&alice, &bob.bundle(&bob.kem_one_time, true), mode, &mut rng).unwrap();
    let m = a.encrypt_t(b"secret").unwrap();
    let kem_at = common::PREKEY_PREFIX_LEN + 4;
    let mut stripped = m[..kem_at].to_vec();
    stripped[2] &= !2;
    stripped.extend_from_slice(&m[kem_at + KEM_PART_LEN..]);
    let parsed = PreKeyMessage::from_bytes(&stripped).unwrap();
    assert!(!parsed.is_post_quantum());
    // The default policy: a typed error before any work.
    assert_eq!(
        bob.accept(&stripped, AcceptPolicy::default(), &mut rng).err(),
        Some(Error::PostQuantumRequired)
    );
    // Classical allowed: the derivation differs (no SS, another label), so
    // the first message does not authenticate.
    assert_eq!(
        bob.accept(&stripped, any_mode_policy(PqPolicy::AllowClassical), &mut rng).err(),
        Some(Error::Auth)
    );
    // The genuine message still works: nothing was consumed.
    assert_eq!(bob.accept(&m, AcceptPolicy::default(), &mut rng).unwrap().1, b"secret");
}
both_modes!(a_prekey_message_stripped_of_its_kem_part_is_refused);

fn a_tampered_kem_ciphertext_fails_authentication_and_consumes_nothing(mode: Mode) {
    let mut rng = rng(1604);
    let bob = Bob::new(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let mut a =
        Session::initiate_with_mode(&alice, &bob.bundle(&bob.kem_one_time, true), mode, &mut rng).unwrap();
    let m = a.encrypt_t(b"hi").unwrap();
    let ct_at = common::PREKEY_PREFIX_LEN + 4 + 5;
    for i in [0, 1, 700, ML_KEM_1024_CIPHERTEXT_LEN - 1] {
        let mut t = m.clone();
        t[ct_at + i] ^= 0x10;
        // ML-KEM's implicit rejection gives another secret, and the tag fails.
        assert_eq!(bob.accept(&t, AcceptPolicy::default(), &mut rng).err(), Some(Error::Auth), "byte {i}");
    }
    let msg = PreKeyMessage::from_bytes(&m).unwrap();
    let kem = KemPreKeyUse::OneTime(bob.kem_copy());
    let accepted = Session::accept(
        &bob.identity,
        &bob.spk,
        Some(bob.opk_copy()),
        Some(kem),
        &msg,
        AcceptPolicy::default(),
        &mut rng,
    )
    .unwrap();
    assert_eq!(accepted.plaintext, b"hi");
}
both_modes!(a_tampered_kem_ciphertext_fails_authentication_and_consumes_nothing);

#[test]
fn a_swapped_kem_key_or_id_in_a_bundle_breaks_its_signature() {
    let mut rng = rng(1605);
    let bob = Bob::new(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let good = bob.bundle(&bob.kem_one_time, true).to_bytes();
    // Another valid ML-KEM key (the last-resort one's) under the one-time key's signature.
    let mut swapped = good.clone();
    let key_at = BUNDLE_KEM_AT + 5;
    swapped[key_at..key_at + ML_KEM_1024_PUBLIC_KEY_LEN].copy_from_slice(bob.kem_last_resort.public().key());
    let swapped = PreKeyBundle::from_bytes(&swapped).unwrap();
    let before = rng.clone();
    assert_eq!(Session::initiate(&alice, &swapped, &mut rng).err(), Some(Error::BadSignature));
    assert_eq!(rng, before, "a bad KEM prekey signature draws nothing");
    assert_eq!(swapped.verify(), Err(Error::BadSignature));
    assert_eq!(swapped.kem_prekey().unwrap().verify(bob.identity.public_key()), Err(Error::BadSignature));
    // Another id.
    let mut other_id = good.clone();
    other_id[BUNDLE_KEM_AT + 4] ^= 1;
    let other_id = PreKeyBundle::from_bytes(&other_id).unwrap();
    assert_eq!(Session::initiate(&alice, &other_id, &mut rng).err(), Some(Error::BadSignature));
    // The KEM prekey of another identity, with its valid signature.
    let mallory = IdentityKeyPair::generate(&mut rng);
    let foreign = KemPreKey::generate(&mallory, 200, &mut rng);
    let forged = bob.classical_bundle(true).with_kem_prekey(foreign.public().clone());
    let before = rng.clone();
    assert_eq!(Session::initiate(&alice, &forged, &mut rng).err(), Some(Error::BadSignature));
    assert_eq!(rng, before, "a bad signature draws nothing");
}

#[test]
fn an_invalid_or_unknown_kem_key_is_a_typed_decode_error() {
    let mut rng = rng(1606);
    let bob = Bob::new(&mut rng);
    let good = bob.bundle(&bob.kem_one_time, true).to_bytes();
    // FIPS 203 modulus check: a 12-bit coefficient of 0xFFF (>= q = 3329).
    let mut bad_key = good.clone();
    let key_at = BUNDLE_KEM_AT + 5;
    bad_key[key_at] = 0xFF;
    bad_key[key_at + 1] |= 0x0F;
    assert_eq!(PreKeyBundle::from_bytes(&bad_key).err(), Some(Error::Decode(DecodeError::InvalidPublicKey)));
    let public = bob.kem_one_time.public().to_bytes();
    let mut bad_public = public.clone();
    bad_public[5] = 0xFF;
    bad_public[6] |= 0x0F;
    assert_eq!(
        KemPreKeyPublic::from_bytes(&bad_public).err(),
        Some(Error::Decode(DecodeError::InvalidPublicKey))
    );
    // Unknown type bytes.
    for t in [0x00, 0x02, 0x7F, 0xFF] {
        let mut b = good.clone();
        b[BUNDLE_KEM_AT] = t;
        assert_eq!(PreKeyBundle::from_bytes(&b).err(), Some(Error::Decode(DecodeError::UnknownKeyType(t))));
        let mut p = public.clone();
        p[0] = t;
        assert_eq!(
            KemPreKeyPublic::from_bytes(&p).err(),
            Some(Error::Decode(DecodeError::UnknownKeyType(t)))
        );
        let mut stored = bob.kem_one_time.to_bytes().to_vec();
        stored[2] = t;
        assert_eq!(KemPreKey::from_bytes(&stored).err(), Some(Error::Decode(DecodeError::UnknownKeyType(t))));
    }
    // And in a PreKeyMessage's KEM part.
    let alice = IdentityKeyPair::generate(&mut rng);
    let mut a = Session::initiate(&alice, &bob.bundle(&bob.kem_one_time, true), &mut rng).unwrap();
    let m = a.encrypt_t(b"x").unwrap();
    let kem_at = common::PREKEY_PREFIX_LEN + 4;
    for t in [0x00, 0x02, 0xFF] {
        let mut b = m.clone();
        b[kem_at] = t;
        assert_eq!(PreKeyMessage::from_bytes(&b).err(), Some(Error::Decode(DecodeError::UnknownKeyType(t))));
        assert_eq!(common::wire_decode_error(&b), Some(Error::Decode(DecodeError::UnknownKeyType(t))));
    }
}

#[test]
fn accept_needs_exactly_the_kem_prekey_the_message_names() {
    let mut rng = rng(1607);
    let bob = Bob::new(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let mut a = Session::initiate(&alice, &bob.bundle(&bob.kem_one_time, true), &mut rng).unwrap();
    let msg = PreKeyMessage::from_bytes(&a.encrypt_t(b"x").unwrap()).unwrap();
    let accept = |kem: Option<KemPreKeyUse<'_>>, rng: &mut ChaCha20Rng| {
        Session::accept(
            &bob.identity,
            &bob.spk,
            Some(bob.opk_copy()),
            kem,
            &msg,
            AcceptPolicy::default(),
            rng,
        )
        .map(|a| a.plaintext)
    };
    // None, or the wrong one (the last-resort key, id 299): the named id.
    assert_eq!(accept(None, &mut rng).err(), Some(Error::UnknownPreKey { id: 200 }));
    assert_eq!(
        accept(Some(KemPreKeyUse::LastResort(&bob.kem_last_resort)), &mut rng).err(),
        Some(Error::UnknownPreKey { id: 200 })
    );
    // A key with the right id but of another owner: its secret does not
    // open the ciphertext (implicit rejection), so the message fails.
    let impostor = KemPreKey::generate(&bob.identity, 200, &mut rng);
    assert_eq!(accept(Some(KemPreKeyUse::OneTime(impostor)), &mut rng).err(), Some(Error::Auth));
    assert_eq!(accept(Some(KemPreKeyUse::OneTime(bob.kem_copy())), &mut rng).unwrap(), b"x");
    // A classical message with a KEM prekey supplied: that key's id.
    let mut c = Session::initiate_with(
        &alice,
        &bob.classical_bundle(false),
        Mode::Plain,
        PqPolicy::AllowClassical,
        &mut rng,
    )
    .unwrap();
    let classical = PreKeyMessage::from_bytes(&c.encrypt_t(b"c").unwrap()).unwrap();
    let got = Session::accept(
        &bob.identity,
        &bob.spk,
        None,
        Some(KemPreKeyUse::LastResort(&bob.kem_last_resort)),
        &classical,
        any_mode_policy(PqPolicy::AllowClassical),
        &mut rng,
    );
    assert_eq!(got.err(), Some(Error::UnknownPreKey { id: 299 }));
    // Policy order: the mode policy first, then the post-quantum one.
    let got = Session::accept(
        &bob.identity,
        &bob.spk,
        None,
        None,
        &classical,
        AcceptPolicy::new(ModePolicy::HeaderEncryptionOnly, PqPolicy::Required),
        &mut rng,
    );
    assert_eq!(got.err(), Some(Error::ModeNotAllowed { mode: Mode::Plain }));
}

#[test]
fn the_last_resort_kem_prekey_serves_many_handshakes() {
    let mut rng = rng(1608);
    let bob = Bob::new(&mut rng);
    let bundle = bob.bundle(&bob.kem_last_resort, false);
    for i in 0..3u8 {
        let alice = IdentityKeyPair::generate(&mut rng);
        let mut a = Session::initiate(&alice, &bundle, &mut rng).unwrap();
        let m = a.encrypt_t(&[i]).unwrap();
        let msg = PreKeyMessage::from_bytes(&m).unwrap();
        assert_eq!(msg.kem_prekey_id(), Some((KemType::MlKem1024, 299)));
        let kem = Some(KemPreKeyUse::LastResort(&bob.kem_last_resort));
        let acc =
            Session::accept(&bob.identity, &bob.spk, None, kem, &msg, AcceptPolicy::default(), &mut rng)
                .unwrap();
        assert_eq!(acc.plaintext, [i]);
        assert!(acc.session.is_post_quantum());
    }
}

fn a_pending_hybrid_initiator_survives_storage(mode: Mode) {
    let mut rng = rng(1609);
    let bob = Bob::new(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let mut a =
        Session::initiate_with_mode(&alice, &bob.bundle(&bob.kem_one_time, true), mode, &mut rng).unwrap();
    let m1 = a.encrypt_t(b"before the restart").unwrap();
    let stored = a.to_bytes();
    // SPEC §16.8: version 3, flags 0x40 (hybrid) and 0x80 (pending KEM part).
    assert_eq!(stored[..2], [0x53, 0x03]);
    assert_eq!(stored[2] & 0xC4, 0xC4);
    assert_eq!(stored.len(), a.encoded_len());
    let key = [9u8; 32];
    let sealed = a.seal(&key, &mut rng);
    for restored in [Session::from_bytes(&stored).unwrap(), Session::open(&key, &sealed).unwrap()] {
        assert_eq!(restored.to_bytes(), stored);
        assert!(restored.is_post_quantum() && restored.awaiting_reply());
    }
    let mut a = Session::from_bytes(&stored).unwrap();
    let m2 = a.encrypt_t(b"after the restart").unwrap();
    let (mut b, pt) = bob.accept(&m1, AcceptPolicy::default(), &mut rng).unwrap();
    assert_eq!(pt, b"before the restart");
    assert_eq!(b.decrypt(&m2, &mut rng).unwrap(), b"after the restart");
    let reply = b.encrypt_t(b"ok").unwrap();
    assert_eq!(a.decrypt(&reply, &mut rng).unwrap(), b"ok");
    // Once the reply is in, the pending KEM part is gone: one byte (the
    // KEM type) more than a classical session.
    let after = a.to_bytes();
    assert_eq!(after[2] & 0xC4, 0x40);
    let b_stored = b.to_bytes();
    assert_eq!(b_stored[2] & 0xC0, 0x40);
    assert!(Session::from_bytes(&b_stored).unwrap().is_post_quantum());
}
both_modes!(a_pending_hybrid_initiator_survives_storage);

#[test]
fn initiate_draws_the_base_key_the_kem_message_then_the_ratchet_key() {
    let mut rng = rng(1610);
    let bob = Bob::new(&mut rng);
    let alice = IdentityKeyPair::generate(&mut rng);
    let bundle = bob.bundle(&bob.kem_one_time, false);
    let mut replay = rng.clone();
    let mut a = Session::initiate(&alice, &bundle, &mut rng).unwrap();
    let mut drawn = [0u8; 96];
    replay.fill_bytes(&mut drawn);
    assert_eq!(rng, replay, "initiate draws exactly 96 bytes (SPEC §16.5)");
    let base: [u8; 32] = drawn[..32].try_into().unwrap();
    let ratchet: [u8; 32] = drawn[64..].try_into().unwrap();
    let m = a.encrypt_t(b"x").unwrap();
    let msg = PreKeyMessage::from_bytes(&m).unwrap();
    assert_eq!(msg.base_key(), &x25519_dalek::x25519(base, x25519_dalek::X25519_BASEPOINT_BYTES));
    let ratchet_at = common::PREKEY_PREFIX_LEN + KEM_PART_LEN;
    assert_eq!(
        m[ratchet_at..ratchet_at + 32],
        x25519_dalek::x25519(ratchet, x25519_dalek::X25519_BASEPOINT_BYTES)
    );
}

#[test]
fn kem_prekeys_round_trip_through_storage_and_never_show_their_seed() {
    let mut rng = rng(1611);
    let bob = Bob::new(&mut rng);
    let k = &bob.kem_one_time;
    let stored = k.to_bytes();
    assert_eq!(stored.len(), 135);
    assert_eq!(stored[..3], [chatcrypt::TAG_KEM_PREKEY, 0x01, 0x01]);
    assert_eq!(stored[3..7], 200u32.to_be_bytes());
    let restored = KemPreKey::from_bytes(&stored).unwrap();
    assert_eq!(restored.public(), k.public());
    assert_eq!(restored.to_bytes(), stored);
    let key = [3u8; 32];
    assert_eq!(KemPreKey::open(&key, &k.seal(&key, &mut rng)).unwrap().public(), k.public());
    // The public encoding round-trips and verifies on its own (a server's check).
    let public = k.public().to_bytes();
    assert_eq!(public.len(), KEM_PREKEY_PUBLIC_LEN);
    let decoded = KemPreKeyPublic::from_bytes(&public).unwrap();
    assert_eq!(&decoded, k.public());
    decoded.verify(bob.identity.public_key()).unwrap();
    let mallory = IdentityKeyPair::generate(&mut rng);
    assert_eq!(decoded.verify(mallory.public_key()), Err(Error::BadSignature));
    // Debug shows no key material.
    let seed_hex: String = stored[7..71].iter().map(|b| format!("{b:02x}")).collect();
    let debug = format!("{k:?} {:?}", KemPreKeyUse::LastResort(k));
    assert!(!debug.contains(&seed_hex[..16]), "{debug}");
    assert!(!debug.contains(&format!("{:?}", &stored[7..15])), "{debug}");
}

/// Every new decoder on bit flips, truncations and random input: a typed
/// error or a value that re-encodes to the same bytes, never a panic.
#[test]
fn kem_decoders_survive_flips_truncation_and_garbage() {
    let mut rng = rng(1612);
    let bob = Bob::new(&mut rng);
    let stored = bob.kem_one_time.to_bytes().to_vec();
    let public = bob.kem_one_time.public().to_bytes();
    for bit in 0..stored.len() * 8 {
        let f = common::flip_bit(&stored, bit);
        if let Ok(k) = KemPreKey::from_bytes(&f) {
            assert_eq!(k.to_bytes().to_vec(), f, "bit {bit}");
        }
    }
    // Public encodings: flips in the key may still pass the modulus check;
    // whatever decodes re-encodes identically.
    for bit in (0..public.len() * 8).step_by(7) {
        let f = common::flip_bit(&public, bit);
        if let Ok(k) = KemPreKeyPublic::from_bytes(&f) {
            assert_eq!(k.to_bytes(), f, "bit {bit}");
        }
    }
    for len in 0..stored.len() {
        assert!(KemPreKey::from_bytes(&stored[..len]).is_err());
    }
    for len in [0, 1, 4, 5, 100, 1572, 1573, KEM_PREKEY_PUBLIC_LEN - 1] {
        assert_eq!(
            KemPreKeyPublic::from_bytes(&public[..len]).err(),
            Some(Error::Decode(DecodeError::Truncated)),
            "{len}"
        );
    }
    let mut long = public.clone();
    long.push(0);
    assert_eq!(KemPreKeyPublic::from_bytes(&long).err(), Some(Error::Decode(DecodeError::TrailingBytes)));
    for i in 0..300 {
        let mut garbage = vec![0u8; (rng.next_u32() % 1700) as usize];
        rng.fill_bytes(&mut garbage);
        if i % 2 == 0 && !garbage.is_empty() {
            garbage[0] = 0x01;
        }
        let _ = KemPreKeyPublic::from_bytes(&garbage);
        let _ = KemPreKey::from_bytes(&garbage);
        let _ = PreKeyBundle::from_bytes(&garbage);
        let _ = PreKeyMessage::from_bytes(&garbage);
    }
}

#[cfg(feature = "hazmat")]
#[test]
fn hazmat_hybrid_secrets_debug_shows_no_key() {
    let s = chatcrypt::hazmat::HybridSecrets {
        sk: [0xAB; 32],
        header_keys: Some(([0xCD; 32], [0xEF; 32])),
        binding: [1; 32],
    };
    let d = format!("{s:?}");
    assert!(!d.contains("171") && !d.contains("205") && !d.contains("239"), "{d}");
}
