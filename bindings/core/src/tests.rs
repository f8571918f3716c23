#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashSet;

use super::*;

struct Bob {
    identity: IdentityKeyPair,
    spk: SignedPreKey,
    opk: OneTimePreKey,
    kem: KemPreKey,
}

fn bob(rng: &mut Rng) -> Bob {
    let identity = IdentityKeyPair::generate(rng).unwrap();
    let spk = SignedPreKey::generate(&identity, 1, rng).unwrap();
    let opk = OneTimePreKey::generate(100, rng).unwrap();
    let kem = KemPreKey::generate(&identity, 200, rng).unwrap();
    Bob { identity, spk, opk, kem }
}

fn handshake(rng: &mut Rng) -> (Session, Session) {
    let mut b = bob(rng);
    let bundle = PreKeyBundle::new(&b.identity, &b.spk, Some(&b.opk), Some(&b.kem)).unwrap();
    let bundle = PreKeyBundle::from_bytes(&bundle.to_bytes()).unwrap();
    bundle.verify().unwrap();
    let alice = IdentityKeyPair::generate(rng).unwrap();
    let mut a = Session::initiate(&alice, &bundle, Mode::Plain, PqPolicy::Required, rng).unwrap();
    let first = a.encrypt(b"hi Bob", rng).unwrap();
    let pkm = PreKeyMessage::from_bytes(&first).unwrap();
    assert_eq!(pkm.one_time_prekey_id(), Some(100));
    assert_eq!(pkm.kem_prekey_id(), Some((1, 200)));
    assert_eq!(pkm.sender_identity(), alice.public_key());
    let acc = Session::accept(
        &b.identity,
        &b.spk,
        Some(&mut b.opk),
        Some(KemPreKeyUse::OneTime(&mut b.kem)),
        &pkm,
        ModePolicy::Any,
        PqPolicy::Required,
        rng,
    )
    .unwrap();
    assert_eq!(&acc.plaintext[..], b"hi Bob");
    assert!(b.opk.is_consumed() && b.kem.is_consumed());
    assert_eq!(b.opk.id(), Err(Error::Consumed));
    (a, acc.session)
}

#[test]
fn error_codes_are_unique_negative_and_named() {
    let mut seen = HashSet::new();
    let mut names = HashSet::new();
    for c in ErrorCode::ALL {
        assert!(c.as_i32() < 0, "{c:?}");
        assert!(seen.insert(c.as_i32()), "{c:?} twice");
        assert!(names.insert(c.name()), "{} twice", c.name());
        assert_eq!(ErrorCode::from_i32(c.as_i32()), Some(c));
    }
    assert_eq!(ErrorCode::from_i32(0), None);
    assert_eq!(Error::Protocol(chatcrypt::Error::Auth).code(), ErrorCode::Auth);
    let e = Error::Protocol(chatcrypt::DecodeError::UnsupportedVersion(3).into());
    assert_eq!(e.code(), ErrorCode::DecodeUnsupportedVersion);
    assert_eq!(e.detail(), "Decode(UnsupportedVersion(3))");
    assert_eq!(Error::Protocol(chatcrypt::Error::BufferTooSmall { needed: 9 }).needed(), Some(9));
}

#[test]
fn conversation_with_os_randomness() {
    let mut rng = Rng::os();
    let (mut a, mut b) = handshake(&mut rng);
    let reply = b.encrypt(b"hi Alice", &mut rng).unwrap();
    let (p, id) = a.decrypt_with_id(&reply, &mut rng).unwrap();
    assert_eq!(&p[..], b"hi Alice");
    // ratchet key (Bob's first, in the clear header after version and type) || u32(N = 0) || guard
    assert_eq!(id[..32], reply[2..34]);
    assert_eq!(id[32..36], [0, 0, 0, 0]);
    assert!(!a.awaiting_reply().unwrap());
    // Tampered: Auth, and the session still reads the genuine message.
    let m = a.encrypt(b"x", &mut rng).unwrap();
    let mut bad = m.clone();
    *bad.last_mut().unwrap() ^= 1;
    let before = b.to_bytes().unwrap();
    assert_eq!(b.decrypt(&bad, &mut rng).unwrap_err().code(), ErrorCode::Auth);
    assert_eq!(b.to_bytes().unwrap(), before);
    assert_eq!(&b.decrypt(&m, &mut rng).unwrap()[..], b"x");
    assert_eq!(b.decrypt(&m, &mut rng).unwrap_err().code(), ErrorCode::Duplicate);
}

#[test]
fn an_exhausted_scripted_rng_fails_and_leaves_the_session_as_it_was() {
    let mut os = Rng::os();
    let (mut a, mut b) = handshake(&mut os);
    // Bob's first reply needs a 16-byte guard; 15 bytes are not enough.
    let mut short = Rng::scripted(&[7u8; 15]);
    let before = b.to_bytes().unwrap();
    assert_eq!(b.encrypt(b"reply", &mut short), Err(Error::RngExhausted));
    assert_eq!(short.remaining(), Some(15), "a request it cannot fill takes nothing");
    assert_eq!(b.to_bytes().unwrap(), before);
    // Exactly 16 bytes: the reply; Alice's decryption needs 32 for her ratchet step.
    let mut exact = Rng::scripted(&[7u8; 16]);
    let reply = b.encrypt(b"reply", &mut exact).unwrap();
    assert_eq!(exact.remaining(), Some(0));
    let a_before = a.to_bytes().unwrap();
    assert_eq!(a.decrypt(&reply, &mut Rng::scripted(&[1u8; 31])).unwrap_err(), Error::RngExhausted);
    assert_eq!(a.to_bytes().unwrap(), a_before);
    let mut enough = Rng::scripted(&[1u8; 32]);
    assert_eq!(&a.decrypt(&reply, &mut enough).unwrap()[..], b"reply");
    assert_eq!(enough.remaining(), Some(0));
}

#[test]
fn a_failed_accept_keeps_the_one_time_prekeys() {
    let mut rng = Rng::os();
    let mut b = bob(&mut rng);
    let bundle = PreKeyBundle::new(&b.identity, &b.spk, Some(&b.opk), Some(&b.kem)).unwrap();
    let alice = IdentityKeyPair::generate(&mut rng).unwrap();
    let mut a =
        Session::initiate(&alice, &bundle, Mode::HeaderEncryption, PqPolicy::Required, &mut rng).unwrap();
    let pkm = PreKeyMessage::from_bytes(&a.encrypt(b"1", &mut rng).unwrap()).unwrap();
    assert_eq!(pkm.mode(), Mode::HeaderEncryption);
    let refused = Session::accept(
        &b.identity,
        &b.spk,
        Some(&mut b.opk),
        Some(KemPreKeyUse::OneTime(&mut b.kem)),
        &pkm,
        ModePolicy::PlainOnly,
        PqPolicy::Required,
        &mut rng,
    );
    let err = refused.err().unwrap();
    assert_eq!(err.code(), ErrorCode::ModeNotAllowed);
    assert_eq!(err.detail(), "ModeNotAllowed { mode: HeaderEncryption }");
    assert!(!b.opk.is_consumed() && !b.kem.is_consumed());
    // A last-resort KEM prekey is only borrowed.
    let acc = Session::accept(
        &b.identity,
        &b.spk,
        Some(&mut b.opk),
        Some(KemPreKeyUse::LastResort(&b.kem)),
        &pkm,
        ModePolicy::Any,
        PqPolicy::Required,
        &mut rng,
    )
    .unwrap();
    assert_eq!(&acc.plaintext[..], b"1");
    assert!(b.opk.is_consumed() && !b.kem.is_consumed());
}

#[test]
fn stored_forms_round_trip() {
    let mut rng = Rng::os();
    let b = bob(&mut rng);
    let id2 = IdentityKeyPair::from_bytes(&b.identity.to_bytes()).unwrap();
    assert_eq!(id2.public_key(), b.identity.public_key());
    assert_eq!(IdentityKeyPair::from_seed(&id2.seed()[..]).unwrap().public_key(), b.identity.public_key());
    assert_eq!(b.identity.to_bytes().len(), IDENTITY_STORED_LEN);
    assert_eq!(b.spk.to_bytes().len(), SIGNED_PREKEY_STORED_LEN);
    assert_eq!(b.opk.to_bytes().unwrap().len(), ONE_TIME_PREKEY_STORED_LEN);
    assert_eq!(b.kem.to_bytes().unwrap().len(), KEM_PREKEY_STORED_LEN);
    assert_eq!(b.kem.public_bytes().unwrap().len(), KEM_PREKEY_PUBLIC_LEN);
    let spk2 = SignedPreKey::from_bytes(&b.spk.to_bytes()).unwrap();
    assert_eq!((spk2.id(), spk2.public_key(), spk2.signature()), (1, b.spk.public_key(), b.spk.signature()));
    let kem2 = KemPreKey::from_bytes(&b.kem.to_bytes().unwrap()).unwrap();
    assert_eq!(kem2.public_bytes().unwrap(), b.kem.public_bytes().unwrap());
    let parts = PreKeyBundle::from_parts(
        &b.identity.public_key(),
        1,
        &b.spk.public_key(),
        &b.spk.signature(),
        Some((100, &b.opk.public_key().unwrap())),
        Some(&b.kem.public_bytes().unwrap()),
    )
    .unwrap();
    let mine = PreKeyBundle::new(&b.identity, &b.spk, Some(&b.opk), Some(&b.kem)).unwrap();
    assert_eq!(parts.to_bytes(), mine.to_bytes());
    assert_eq!(
        IdentityKeyPair::from_seed(&[0; 31]).err(),
        Some(Error::InvalidArgument("seed must be 32 bytes"))
    );
    let key = [9u8; 32];
    let sealed = b.identity.seal(&key, &mut rng).unwrap();
    assert_eq!(IdentityKeyPair::open(&key, &sealed).unwrap().public_key(), b.identity.public_key());
    assert_eq!(IdentityKeyPair::open(&[8u8; 32], &sealed).err().unwrap().code(), ErrorCode::Auth);
}

#[test]
fn safety_numbers_agree() {
    let mut rng = Rng::os();
    let (x, y) = (IdentityKeyPair::generate(&mut rng).unwrap(), IdentityKeyPair::generate(&mut rng).unwrap());
    let on_x = SafetyNumber::new(b"x", &x.public_key(), b"y", &y.public_key()).unwrap();
    let on_y = SafetyNumber::new(b"y", &y.public_key(), b"x", &x.public_key()).unwrap();
    assert_eq!(on_x.displayable(), on_y.displayable());
    assert_eq!(on_x.displayable().len(), SAFETY_NUMBER_DIGITS);
    assert!(on_y.compare_scanned(&on_x.scannable()).unwrap());
    assert!(!on_x.compare_scanned(&on_x.scannable()).unwrap());
}
