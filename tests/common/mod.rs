//! Helpers shared by the integration tests: deterministic RNGs, a responder's
//! key material, a `Pair` of sessions built from a real handshake in either
//! [`Mode`], bit flipping, state snapshots, and the wire offsets the tests
//! poke at (mode-aware: with header encryption the 40-byte ratchet header is
//! a 56-byte encrypted header, whose fields `headers.rs` reads and rewrites).
//!
//! Behavioural tests are written as `fn name(mode: Mode)` followed by
//! `both_modes!(name);`, which makes the tests `name::plain` and
//! `name::header_encryption`.
//!
//! Every test binary (and the fuzz crate) includes this module, so not every
//! helper is used everywhere, and it uses no crate the fuzz crate lacks.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod model;

use chatcrypt::{AcceptPolicy, PqPolicy};
use std::cell::RefCell;

pub use chatcrypt::Mode;
use chatcrypt::{
    Error, IdentityKeyPair, KemPreKey, KemPreKeyUse, ModePolicy, OneTimePreKey, PreKeyBundle, PreKeyMessage,
    Session, SignedPreKey, SignedPreKeyPublic,
};
use rand_chacha::rand_core::SeedableRng;
pub use rand_chacha::ChaCha20Rng;

std::thread_local! {
    /// The RNG that draws the reuse guards of messages the behavioural
    /// tests send through [`TestSend`]; deterministic per thread.
    static GUARD_RNG: RefCell<ChaCha20Rng> = RefCell::new(ChaCha20Rng::seed_from_u64(0x0067_7561_7264));
}

/// `encrypt` / `encrypt_into` with the reuse guard drawn from a
/// thread-local deterministic RNG, for the many tests whose subject is not
/// the sender's randomness (the tests that check RNG use call
/// `Session::encrypt` with their own RNG).
pub trait TestSend {
    fn encrypt_t(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, Error>;
    fn encrypt_into_t(&mut self, plaintext: &[u8], out: &mut [u8]) -> Result<usize, Error>;
}

impl TestSend for Session {
    fn encrypt_t(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        GUARD_RNG.with(|r| self.encrypt(plaintext, &mut *r.borrow_mut()))
    }

    fn encrypt_into_t(&mut self, plaintext: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        GUARD_RNG.with(|r| self.encrypt_into(plaintext, out, &mut *r.borrow_mut()))
    }
}

/// `Session::accept` for tests that hold the one-time prekey by reference
/// and try several messages with it: passes a copy (decoded from its
/// encoding) by value, accepts either mode and the classical handshake, and
/// returns the session and the first plaintext.
pub fn accept(
    identity: &IdentityKeyPair,
    spk: &SignedPreKey,
    opk: Option<&OneTimePreKey>,
    message: &PreKeyMessage,
    rng: &mut ChaCha20Rng,
) -> Result<(Session, Vec<u8>), Error> {
    accept_with_kem(identity, spk, opk, None, message, rng)
}

/// [`accept`] with a KEM prekey too, passed as the last-resort key (so that
/// the same key serves several messages).
pub fn accept_with_kem(
    identity: &IdentityKeyPair,
    spk: &SignedPreKey,
    opk: Option<&OneTimePreKey>,
    kem: Option<&KemPreKey>,
    message: &PreKeyMessage,
    rng: &mut ChaCha20Rng,
) -> Result<(Session, Vec<u8>), Error> {
    let opk = opk.map(|k| OneTimePreKey::from_bytes(&k.to_bytes()).unwrap());
    let kem = kem.map(KemPreKeyUse::LastResort);
    let policy = AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical);
    Session::accept(identity, spk, opk, kem, message, policy, rng).map(|a| (a.session, a.plaintext))
}

/// The id of the responder's signed prekey in every helper handshake.
pub const SPK_ID: u32 = 7;
/// The id of the responder's one-time prekey in every helper handshake.
pub const OPK_ID: u32 = 1001;
/// The id of the responder's KEM prekey in the hybrid helper handshakes.
pub const KPK_ID: u32 = 2002;

/// Length of the AES-GCM tag at the end of every message.
pub const TAG_LEN: usize = 16;
/// Length of the Double Ratchet header (ratchet key, PN, N, reuse guard G)
/// in plain mode.
pub const RATCHET_HEADER_LEN: usize = 32 + 4 + 4 + 16;
/// Length of the encrypted header that replaces it with header encryption:
/// its 56 bytes of ciphertext and a 16-byte tag.
pub const ENCRYPTED_HEADER_LEN: usize = RATCHET_HEADER_LEN + TAG_LEN;
/// Length of the prefix of a PreKeyMessage: version, type, flags, identity
/// key, base key, signed prekey id (the one-time prekey id adds 4).
pub const PREKEY_PREFIX_LEN: usize = 3 + 32 + 32 + 4;

/// Both modes, plain first.
pub const MODES: [Mode; 2] = [Mode::Plain, Mode::HeaderEncryption];

/// Generates, for each named `fn name(mode: Mode)`, a module `name` with the
/// tests `name::plain` and `name::header_encryption`, which run the body in
/// each mode.
#[macro_export]
macro_rules! both_modes {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn plain() {
                super::$name(chatcrypt::Mode::Plain)
            }

            #[test]
            fn header_encryption() {
                super::$name(chatcrypt::Mode::HeaderEncryption)
            }
        }
    )+};
}

/// A deterministic RNG; every test uses its own seed.
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// A distinct, recognisable plaintext for message number `i`.
pub fn plaintext(i: usize) -> Vec<u8> {
    format!("message number {i}").into_bytes()
}

/// `bytes` with bit `i` flipped (bit 0 is the least significant bit of byte 0).
pub fn flip_bit(bytes: &[u8], i: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[i / 8] ^= 1 << (i % 8);
    out
}

/// The encoded state of a session, for byte-for-byte comparisons.
pub fn snapshot(session: &Session) -> Vec<u8> {
    session.to_bytes().to_vec()
}

/// Feeds `message` to `session`, asserts that it is rejected and that the
/// session's encoded state is byte-identical afterwards; returns the error.
pub fn reject_unchanged(session: &mut Session, message: &[u8], rng: &mut ChaCha20Rng) -> Error {
    let before = snapshot(session);
    let result = session.decrypt(message, rng);
    let after = snapshot(session);
    assert_eq!(before, after, "a rejected message changed the session state");
    match result {
        Ok(pt) => panic!("message was accepted (plaintext {pt:?}) but should have been rejected"),
        Err(e) => e,
    }
}

/// Decodes a session from its encoding (a way to "clone" one for comparisons).
pub fn restore(bytes: &[u8]) -> Session {
    Session::from_bytes(bytes).expect("a session's own encoding decodes")
}

/// The mode a message's type byte names (0x01/0x02 plain, 0x03/0x04
/// header encryption).
pub fn mode_of(message: &[u8]) -> Mode {
    match message[1] {
        0x01 | 0x02 => Mode::Plain,
        0x03 | 0x04 => Mode::HeaderEncryption,
        t => panic!("not a message type: {t}"),
    }
}

/// Whether a message's type byte names a PreKeyMessage (0x01 or 0x03).
pub fn is_prekey(message: &[u8]) -> bool {
    match message[1] {
        0x01 | 0x03 => true,
        0x02 | 0x04 => false,
        t => panic!("not a message type: {t}"),
    }
}

/// The type byte of a PreKeyMessage (`prekey`) or a Message in `mode`.
pub fn type_byte(mode: Mode, prekey: bool) -> u8 {
    match (mode, prekey) {
        (Mode::Plain, true) => 0x01,
        (Mode::Plain, false) => 0x02,
        (Mode::HeaderEncryption, true) => 0x03,
        (Mode::HeaderEncryption, false) => 0x04,
        (m, _) => panic!("unknown mode {m:?}"),
    }
}

/// The length of the header as it is on the wire: the 56-byte ratchet
/// header, or its 72-byte encryption.
pub fn header_wire_len(mode: Mode) -> usize {
    match mode {
        Mode::Plain => RATCHET_HEADER_LEN,
        Mode::HeaderEncryption => ENCRYPTED_HEADER_LEN,
        m => panic!("unknown mode {m:?}"),
    }
}

/// The length of the prefix before the (plain or encrypted) ratchet header:
/// version and type, and for a PreKeyMessage the handshake fields.
pub fn prefix_len(message: &[u8]) -> usize {
    if is_prekey(message) {
        PREKEY_PREFIX_LEN
            + if message[2] & 1 == 1 { 4 } else { 0 }
            + if message[2] & 2 == 2 { 1 + 4 + chatcrypt::ML_KEM_1024_CIPHERTEXT_LEN } else { 0 }
    } else {
        2
    }
}

/// The length of an ordinary Message's header in `mode`: version, type and
/// the (plain or encrypted) ratchet header.
pub fn message_header_len(mode: Mode) -> usize {
    2 + header_wire_len(mode)
}

/// The length of the header (everything before the ciphertext) of a wire
/// message produced by this crate, in either mode.
pub fn header_len(message: &[u8]) -> usize {
    prefix_len(message) + header_wire_len(mode_of(message))
}

/// Where the (plain or encrypted) ratchet header lies in a message.
pub fn header_range(message: &[u8]) -> std::ops::Range<usize> {
    prefix_len(message)..header_len(message)
}

/// Offset of the plain Double Ratchet header (ratchet key, PN, N) in a
/// plain-mode message. With header encryption these fields are not on the
/// wire, so this panics for such a message.
pub fn ratchet_header_offset(message: &[u8]) -> usize {
    assert_eq!(
        mode_of(message),
        Mode::Plain,
        "header fields are encrypted with header encryption; use header_range"
    );
    prefix_len(message)
}

/// The sender's ratchet key named in a plain-mode message's header.
pub fn ratchet_key_of(message: &[u8]) -> [u8; 32] {
    let o = ratchet_header_offset(message);
    message[o..o + 32].try_into().unwrap()
}

/// The PN field of a plain-mode message's header.
pub fn pn_of(message: &[u8]) -> u32 {
    let o = ratchet_header_offset(message) + 32;
    u32::from_be_bytes(message[o..o + 4].try_into().unwrap())
}

/// The N field of a plain-mode message's header.
pub fn n_of(message: &[u8]) -> u32 {
    let o = ratchet_header_offset(message) + 36;
    u32::from_be_bytes(message[o..o + 4].try_into().unwrap())
}

/// Returns a plain-mode `message` with its N field replaced (the tag no
/// longer matches).
pub fn with_n(message: &[u8], n: u32) -> Vec<u8> {
    let o = ratchet_header_offset(message) + 36;
    let mut out = message.to_vec();
    out[o..o + 4].copy_from_slice(&n.to_be_bytes());
    out
}

/// Offset of the sending ratchet private key in an encoded session (tag,
/// version, flags, two identity keys with their X25519 forms, root key),
/// the same in both modes.
pub const SENDING_RATCHET_SECRET_AT: usize = 3 + 5 * 32;

/// An opaque identifier of the sending chain a session encrypts on now: its
/// sending ratchet private key, read from its encoding. In either mode, two
/// messages were sent on the same chain exactly when this was the same
/// right after each was encrypted, and the receiver makes a Diffie-Hellman
/// ratchet step exactly for the first message of each chain it sees.
pub fn sending_chain_id(sender: &Session) -> [u8; 32] {
    let bytes = sender.to_bytes();
    bytes[SENDING_RATCHET_SECRET_AT..SENDING_RATCHET_SECRET_AT + 32].try_into().unwrap()
}

/// Parses 64 hex digits.
pub fn hex32(s: &str) -> [u8; 32] {
    assert_eq!(s.len(), 64);
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// X25519 public keys of small order (the list libsodium rejects): with
/// any clamped scalar their Diffie-Hellman output is all zeros.
pub fn low_order_points() -> Vec<[u8; 32]> {
    [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ]
    .iter()
    .map(|h| hex32(h))
    .collect()
}

/// Whether `key` is the canonical encoding of an X25519 u-coordinate
/// (SPEC.md §2): bit 255 clear and the little-endian value below
/// `p = 2^255 - 19`. Decoders reject every other encoding with
/// `InvalidPublicKey`; of [`low_order_points`], the last two (`p` and
/// `p + 1`) are not canonical.
pub fn is_canonical_x25519(key: &[u8; 32]) -> bool {
    // Compare the big-endian value with p = 0x7fff...ffed.
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    key.iter().rev().cmp(p.iter().rev()) == std::cmp::Ordering::Less
}

/// Signs `key` as signed prekey `id` of `identity`, exactly as the crate does
/// (SPEC: Ed25519 over `"chatcrypt v1 signed prekey" || id (u32 BE) || key`).
/// The crate has no public signing API; this lets a test build a correctly
/// signed bundle around an arbitrary (for example low-order) key.
pub fn sign_signed_prekey(identity: &IdentityKeyPair, id: u32, key: &[u8; 32]) -> SignedPreKeyPublic {
    use ed25519_dalek::Signer;
    let signing = ed25519_dalek::SigningKey::from_bytes(&identity.seed());
    let mut msg = Vec::with_capacity(62);
    msg.extend_from_slice(b"chatcrypt v1 signed prekey");
    msg.extend_from_slice(&id.to_be_bytes());
    msg.extend_from_slice(key);
    SignedPreKeyPublic::new(id, *key, signing.sign(&msg).to_bytes())
}

/// A responder's long-lived key material.
pub struct Responder {
    pub identity: IdentityKeyPair,
    pub spk: SignedPreKey,
    pub opk: Option<OneTimePreKey>,
    /// For the hybrid handshake: a KEM prekey ([`KPK_ID`]) in the bundle.
    pub kem: Option<KemPreKey>,
}

impl Responder {
    /// A fresh identity with signed prekey [`SPK_ID`] and, if asked, one-time prekey [`OPK_ID`].
    pub fn new(rng: &mut ChaCha20Rng, with_one_time: bool) -> Self {
        let identity = IdentityKeyPair::generate(rng);
        let spk = SignedPreKey::generate(&identity, SPK_ID, rng);
        let opk = with_one_time.then(|| OneTimePreKey::generate(OPK_ID, rng));
        Responder { identity, spk, opk, kem: None }
    }

    /// As [`new`](Self::new), with an ML-KEM-1024 prekey [`KPK_ID`] in the
    /// bundle: initiators make the hybrid handshake.
    pub fn new_hybrid(rng: &mut ChaCha20Rng, with_one_time: bool) -> Self {
        let mut r = Self::new(rng, with_one_time);
        r.kem = Some(KemPreKey::generate(&r.identity, KPK_ID, rng));
        r
    }

    /// The bundle a server would hand out.
    pub fn bundle(&self) -> PreKeyBundle {
        let b = PreKeyBundle::new(
            self.identity.public_key().clone(),
            self.spk.public().clone(),
            self.opk.as_ref().map(|k| k.public().clone()),
        );
        match &self.kem {
            Some(k) => b.with_kem_prekey(k.public().clone()),
            None => b,
        }
    }

    /// Accepts a first message with this responder's keys (the KEM prekey,
    /// if any, as a last-resort key, so that it can be used again), either
    /// mode, classical allowed.
    pub fn accept(&self, first: &[u8], rng: &mut ChaCha20Rng) -> Result<(Session, Vec<u8>), Error> {
        let msg = PreKeyMessage::from_bytes(first)?;
        let opk = self.opk.as_ref().map(|k| OneTimePreKey::from_bytes(&k.to_bytes()).unwrap());
        let kem = match (&self.kem, msg.is_post_quantum()) {
            (Some(k), true) => Some(KemPreKeyUse::LastResort(k)),
            _ => None,
        };
        let policy = AcceptPolicy::new(ModePolicy::Any, PqPolicy::AllowClassical);
        Session::accept(&self.identity, &self.spk, opk, kem, &msg, policy, rng)
            .map(|a| (a.session, a.plaintext))
    }
}

/// Two sessions created by a real handshake: Alice initiated, Bob accepted.
pub struct Pair {
    pub mode: Mode,
    pub alice: Session,
    pub bob: Session,
    pub alice_identity: IdentityKeyPair,
    pub responder: Responder,
    pub rng: ChaCha20Rng,
    /// Alice's first message, which Bob accepted.
    pub first: Vec<u8>,
}

impl Pair {
    /// Alice fetches Bob's bundle (with a one-time prekey), starts a session
    /// in `mode`, sends `"hello"`, Bob accepts it. Alice has not seen a reply
    /// yet, so she is still sending PreKeyMessages.
    pub fn handshake(mode: Mode, seed: u64) -> Self {
        Self::handshake_with(mode, seed, true)
    }

    /// As [`handshake`](Self::handshake), with the hybrid handshake.
    pub fn handshake_hybrid(mode: Mode, seed: u64) -> Self {
        let mut rng = rng(seed);
        let responder = Responder::new_hybrid(&mut rng, true);
        Self::handshake_from(mode, rng, responder)
    }

    /// As [`handshake`](Self::handshake), with or without a one-time prekey.
    pub fn handshake_with(mode: Mode, seed: u64, with_one_time: bool) -> Self {
        let mut rng = rng(seed);
        let responder = Responder::new(&mut rng, with_one_time);
        Self::handshake_from(mode, rng, responder)
    }

    fn handshake_from(mode: Mode, mut rng: ChaCha20Rng, responder: Responder) -> Self {
        let alice_identity = IdentityKeyPair::generate(&mut rng);
        let mut alice = Session::initiate_with(
            &alice_identity,
            &responder.bundle(),
            mode,
            PqPolicy::AllowClassical,
            &mut rng,
        )
        .unwrap();
        assert_eq!(alice.mode(), mode);
        let first = alice.encrypt_t(b"hello").unwrap();
        assert_eq!(mode_of(&first), mode);
        let (bob, pt) = responder.accept(&first, &mut rng).unwrap();
        assert_eq!(pt, b"hello");
        assert_eq!(bob.mode(), mode);
        Pair { mode, alice, bob, alice_identity, responder, rng, first }
    }

    /// A handshake followed by Bob's reply `"welcome"`, decrypted by Alice:
    /// both sides have done a Diffie-Hellman ratchet step and Alice now
    /// sends ordinary Messages.
    pub fn established(mode: Mode, seed: u64) -> Self {
        let mut p = Self::handshake(mode, seed);
        let reply = p.bob.encrypt_t(b"welcome").unwrap();
        assert_eq!(p.alice.decrypt(&reply, &mut p.rng).unwrap(), b"welcome");
        assert!(!p.alice.awaiting_reply());
        p
    }

    pub fn send_a(&mut self, plaintext: &[u8]) -> Vec<u8> {
        self.alice.encrypt_t(plaintext).unwrap()
    }

    pub fn send_b(&mut self, plaintext: &[u8]) -> Vec<u8> {
        self.bob.encrypt_t(plaintext).unwrap()
    }

    /// Bob decrypts a message from Alice.
    pub fn recv_b(&mut self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.bob.decrypt(message, &mut self.rng)
    }

    /// Alice decrypts a message from Bob.
    pub fn recv_a(&mut self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.alice.decrypt(message, &mut self.rng)
    }

    /// One round trip, so that both sides do a Diffie-Hellman ratchet step.
    pub fn round_trip(&mut self, tag: usize) {
        let b = self.send_b(&plaintext(tag));
        assert_eq!(self.recv_a(&b).unwrap(), plaintext(tag));
        let a = self.send_a(&plaintext(tag + 1));
        assert_eq!(self.recv_b(&a).unwrap(), plaintext(tag + 1));
    }
}

// ------------------------------------------------- protocol version 2 decoding

/// The error a message decoder returns for `bytes` under SPEC.md §7.3 of
/// protocol version 2, or `None` if they are a well-formed message: an
/// independent reference of the decoding order (§1's decoding rule: each
/// check as soon as its field has been read). Version-1 messages (`0x01`,
/// a ratchet header without the 16-byte guard, §13) are still received;
/// every decoded X25519 key must be canonical (§2): the base key `EK_A`,
/// and in the plain mode the ratchet key `DHs_pub` (with header encryption
/// that one is checked after the header is opened, §14.4); a ciphertext
/// may not exceed `MAX_PLAINTEXT_LEN`.
pub fn wire_decode_error(bytes: &[u8]) -> Option<Error> {
    use chatcrypt::DecodeError;
    let fail = |e: DecodeError| Some(Error::Decode(e));
    if bytes.len() > chatcrypt::MAX_MESSAGE_LEN {
        return fail(DecodeError::InvalidValue);
    }
    let version = match bytes.first() {
        None => return fail(DecodeError::Truncated),
        Some(&v) if v != 0x01 && v != 0x02 => return fail(DecodeError::UnsupportedVersion(v)),
        Some(&v) => v,
    };
    let (mode, prekey) = match bytes.get(1) {
        None => return fail(DecodeError::Truncated),
        Some(0x01) => (Mode::Plain, true),
        Some(0x02) => (Mode::Plain, false),
        Some(0x03) => (Mode::HeaderEncryption, true),
        Some(0x04) => (Mode::HeaderEncryption, false),
        Some(&t) => return fail(DecodeError::UnexpectedType(t)),
    };
    let mut at = 2;
    if prekey {
        let Some(&flags) = bytes.get(2) else { return fail(DecodeError::Truncated) };
        // Flag bit 1 (the KEM part, SPEC.md §16.4) exists from version 2 on.
        let known = if version == 0x01 { 1 } else { 3 };
        if flags & !known != 0 {
            return fail(DecodeError::InvalidFlags(flags));
        }
        let Some(identity) = bytes.get(3..35) else { return fail(DecodeError::Truncated) };
        if chatcrypt::IdentityKey::from_bytes(identity.try_into().unwrap()).is_err() {
            return fail(DecodeError::InvalidPublicKey);
        }
        let Some(base_key) = bytes.get(35..67) else { return fail(DecodeError::Truncated) };
        if !is_canonical_x25519(base_key.try_into().unwrap()) {
            return fail(DecodeError::InvalidPublicKey);
        }
        at = PREKEY_PREFIX_LEN + if flags & 1 == 1 { 4 } else { 0 };
        if flags & 2 != 0 {
            // KEM part: type (only 0x01, ML-KEM-1024), u32 id, 1568-byte ciphertext.
            match bytes.get(at) {
                None => return fail(DecodeError::Truncated),
                Some(&t) if t != 0x01 => return fail(DecodeError::UnknownKeyType(t)),
                Some(_) => at += 1 + 4 + chatcrypt::ML_KEM_1024_CIPHERTEXT_LEN,
            }
        }
    }
    let ratchet_header = if version == 0x01 { 40 } else { RATCHET_HEADER_LEN };
    if mode == Mode::Plain {
        let Some(key) = bytes.get(at..at + 32) else { return fail(DecodeError::Truncated) };
        if !is_canonical_x25519(key.try_into().unwrap()) {
            return fail(DecodeError::InvalidPublicKey);
        }
        at += ratchet_header;
    } else {
        at += ratchet_header + TAG_LEN;
    }
    if bytes.len() < at + TAG_LEN {
        return fail(DecodeError::Truncated);
    }
    if bytes.len() - at - TAG_LEN > chatcrypt::MAX_PLAINTEXT_LEN {
        return fail(DecodeError::InvalidValue);
    }
    None
}

/// With [`wire_decode_error`]: the error
/// `Session::decrypt` returns for `bytes` before it looks at the ratchet
/// header, if decoding or the mode decides it.
pub fn decrypt_decode_error(session: Mode, bytes: &[u8]) -> Option<Error> {
    wire_decode_error(bytes).or_else(|| {
        (mode_of(bytes) != session).then_some(Error::Decode(chatcrypt::DecodeError::UnexpectedType(bytes[1])))
    })
}

/// Offsets in a version-2 session encoding (SPEC.md §10.4): the local
/// identity key, its X25519 form, the remote identity key, its X25519
/// form, the root key, the sending ratchet private key and its public key,
/// and the first optional field (after CKs, Ns and PN).
pub const V2_LOCAL_IDENTITY_AT: usize = 3;
pub const V2_LOCAL_IDENTITY_X25519_AT: usize = 35;
pub const V2_REMOTE_IDENTITY_AT: usize = 67;
pub const V2_REMOTE_IDENTITY_X25519_AT: usize = 99;
pub const V2_SENDING_RATCHET_PUBLIC_AT: usize = 195;
pub const V2_OPTIONAL_AT: usize = 267;

/// The version-1 encoding of the session whose version-2 encoding is
/// `v2` (SPEC.md §10.4: the same without the identity keys' X25519 forms
/// and `DHs_pub`). A version-1 decoder recomputes those, so decoding the
/// result re-encodes to `v2` exactly.
pub fn session_v2_to_v1(v2: &[u8]) -> Vec<u8> {
    let v2 = &session_v3_to_v2(v2);
    let mut v1 = vec![0x53, 0x01, v2[2]];
    v1.extend_from_slice(&v2[V2_LOCAL_IDENTITY_AT..V2_LOCAL_IDENTITY_X25519_AT]);
    v1.extend_from_slice(&v2[V2_REMOTE_IDENTITY_AT..V2_REMOTE_IDENTITY_X25519_AT]);
    // RK and the DHs private key; then, after DHs_pub, everything else.
    v1.extend_from_slice(&v2[V2_REMOTE_IDENTITY_X25519_AT + 32..V2_SENDING_RATCHET_PUBLIC_AT]);
    v1.extend_from_slice(&v2[V2_SENDING_RATCHET_PUBLIC_AT + 32..]);
    v1
}

/// Checks that `bytes` is a session encoding of the current version (3)
/// of a classical session, whose layout is version 2's (SPEC.md §10.4:
/// version 3 adds only the hybrid fields, flags 0x40 and 0x80).
pub fn assert_classical_v3(bytes: &[u8]) {
    assert_eq!(bytes[..2], [0x53, 0x03], "a version-3 session encoding");
    assert_eq!(bytes[2] & 0xC0, 0, "a classical session: the version-2 layout");
}

/// The version-2 encoding of a classical session from its version-3
/// encoding (or a version-2 one, returned as is): only the version byte
/// differs.
pub fn session_v3_to_v2(bytes: &[u8]) -> Vec<u8> {
    if bytes[..2] == [0x53, 0x02] {
        return bytes.to_vec();
    }
    assert_classical_v3(bytes);
    let mut v2 = bytes.to_vec();
    v2[1] = 0x02;
    v2
}

/// Offsets in a version-1 session encoding of the local and remote
/// identity keys.
pub const V1_LOCAL_IDENTITY_AT: usize = 3;
pub const V1_REMOTE_IDENTITY_AT: usize = 35;

/// Every stored X25519 public key of a version-2 session encoding (SPEC.md
/// §10.4), as (what, offset): `DHs_pub`, `DHr`, `EK_A` of a pending
/// handshake, the responder's base key, each remembered `DHr` and each
/// skipped entry's ratchet key. Read from the layout alone, not the library.
pub fn session_x25519_key_offsets(v2: &[u8]) -> Vec<(&'static str, usize)> {
    assert_classical_v3(v2);
    let flags = v2[2];
    let he = flags & 0x20 != 0;
    let mut keys = vec![("DHs_pub", V2_SENDING_RATCHET_PUBLIC_AT)];
    let mut at = V2_OPTIONAL_AT;
    if flags & 2 != 0 {
        keys.push(("DHr", at));
        at += 32 + 32 + 4;
    }
    if flags & 4 != 0 {
        keys.push(("EK_A", at));
        at += 32 + 4 + if flags & 8 != 0 { 4 } else { 0 };
    }
    if flags & 16 != 0 {
        keys.push(("base key", at));
        at += 32;
    }
    if he {
        at += 96 + if flags & 2 != 0 { 32 } else { 0 };
    }
    let remembered = usize::from(v2[at]);
    at += 1;
    for _ in 0..remembered {
        keys.push(("remembered DHr", at));
        at += if he { 64 } else { 32 };
    }
    let skipped = usize::from(u16::from_be_bytes([v2[at], v2[at + 1]]));
    at += 2;
    for _ in 0..skipped {
        keys.push(("skipped entry's ratchet key", at));
        at += 68;
    }
    assert_eq!(at, v2.len(), "the layout accounts for every byte");
    keys
}
