//! # chatcrypt
//!
//! End-to-end encrypted direct chats for messengers: a hybrid post-quantum
//! handshake (X3DH with X25519 and ML-KEM-1024, FIPS 203) and a Double
//! Ratchet session; around them the messenger layer (accounts with several
//! devices, session records, trust decisions, prekey lifecycle, recovery)
//! and the [`media`] side (attachments, call keys, SFrame, group calls);
//! against metadata, [`padding`] inside the encryption and [`sealed`]
//! sender envelopes.
//! Specified byte for byte in
//! [SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md), checked against
//! published test vectors, and free of I/O.
//!
//! * **Sans-IO.** The crate never touches sockets, files, clocks, threads or a
//!   global RNG. Randomness comes in as a [`rand_core::CryptoRng`]; state goes
//!   out as bytes you persist.
//! * **Transactional.** Every call either succeeds or leaves the state exactly
//!   as it was: a forged, replayed or garbled message changes nothing.
//! * **Safe whatever you persist.** Every message mixes 16 fresh random
//!   bytes into its key and nonce, so a session restored from any older
//!   snapshot (a crash before saving, a restored backup) never repeats an
//!   AES-GCM key and nonce; [`MessageId`] lets a restored receiver drop
//!   messages it shows twice. What to persist and when: [`Session`].
//! * **Forward secrecy in memory.** Used and evicted keys are overwritten in
//!   place; no growth or removal step leaves a copy in freed memory.
//! * **Bounded.** At most [`MAX_SKIP`] message keys are skipped per chain jump
//!   and at most [`MAX_SKIPPED_KEYS`] are stored per session.
//! * **`no_std` + `alloc`**, `#![forbid(unsafe_code)]`.
//!
//! ## The flow
//!
//! 1. Each device creates an [`IdentityKeyPair`], a [`SignedPreKey`], a
//!    batch of [`OneTimePreKey`]s and of [`KemPreKey`]s (ML-KEM-1024, signed;
//!    one of them kept as the last-resort key), and uploads their public
//!    parts.
//! 2. Alice fetches Bob's [`PreKeyBundle`] and calls [`Session::initiate`],
//!    which makes the hybrid handshake (and refuses a bundle without a KEM
//!    prekey unless a [`PqPolicy`] allows it). Her messages are
//!    PreKeyMessages until Bob's first reply arrives.
//! 3. Bob parses the first message as a [`PreKeyMessage`], looks up the
//!    prekeys it names, and calls [`Session::accept`] with an
//!    [`AcceptPolicy`]; accept consumes the one-time prekeys, which he
//!    deletes from storage as he stores the new session. The sender's
//!    identity is authenticated only once accept succeeds.
//! 4. Both sides use [`Session::encrypt`] and [`Session::decrypt`], and
//!    persist the session after each call (before sending, where they can).
//!
//! ```
//! use chatcrypt::{
//!     AcceptPolicy, IdentityKeyPair, KemPreKey, KemPreKeyUse, PreKeyBundle, PreKeyMessage, Session, SignedPreKey,
//! };
//! use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
//!
//! let mut rng = ChaCha20Rng::from_seed([1; 32]); // an app uses the OS RNG: see below
//! let bob = IdentityKeyPair::generate(&mut rng);
//! let spk = SignedPreKey::generate(&bob, 1, &mut rng);
//! let last_resort = KemPreKey::generate(&bob, 2, &mut rng);
//! let bundle = PreKeyBundle::from_bytes(
//!     &PreKeyBundle::new(bob.public_key().clone(), spk.public().clone(), None)
//!         .with_kem_prekey(last_resort.public().clone())
//!         .to_bytes(),
//! )?;
//!
//! let alice = IdentityKeyPair::generate(&mut rng);
//! let mut a = Session::initiate(&alice, &bundle, &mut rng)?;
//! let m1 = a.encrypt(b"one", &mut rng)?;
//! let m2 = a.encrypt(b"two", &mut rng)?;
//!
//! // m2 overtakes m1 on the network.
//! let first = PreKeyMessage::from_bytes(&m2)?;
//! let kem = Some(KemPreKeyUse::LastResort(&last_resort)); // not consumed
//! let accepted = Session::accept(&bob, &spk, None, kem, &first, AcceptPolicy::default(), &mut rng)?;
//! let mut b = accepted.session;
//! assert_eq!(accepted.plaintext, b"two");
//! assert_eq!(b.decrypt(&m1, &mut rng)?, b"one");
//! assert_eq!(b.decrypt(&m1, &mut rng), Err(chatcrypt::Error::Duplicate));
//! # Ok::<(), chatcrypt::Error>(())
//! ```
//!
//! ## Messenger sessions: accounts, devices, records, trust, recovery
//!
//! A messenger rarely drives [`Session`] directly. The messenger layer
//! (SPEC.md §17-§21) manages what surrounds it, still free of I/O:
//!
//! * an [`AccountKeyPair`] per user signs a [`DeviceCertificate`] for each
//!   device and a [`DeviceList`] with a growing epoch;
//! * a [`LocalDevice`] holds a device's identity and prekeys: rotation with
//!   a grace period, replenishment, a last-resort KEM prekey, and a
//!   [`PreKeyUpload`] that is handed out only once the state is persisted;
//! * a [`PeerAccount`] pins a peer's account key (trust on first use, or
//!   verified with [`SafetyNumber::for_accounts`]) and refuses unlisted
//!   devices, rolled-back lists and, until the user decides, a changed
//!   account key;
//! * a [`SessionRecord`] per remote device picks the session to send on,
//!   tries the earlier ones when decrypting, converges after a simultaneous
//!   start, and recovers from a lost session with a [`RetryMessage`];
//!   [`fan_out`] encrypts one payload for many devices.
//!
//! ```
//! use chatcrypt::{
//!     AccountKeyPair, DeviceId, IdentityKeyPair, LocalDevice, PeerAccount, PreKeyUpload, SessionPolicy,
//!     SessionRecord,
//! };
//! use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
//!
//! let mut rng = ChaCha20Rng::from_seed([2; 32]);
//! let now = 1_800_000_000; // the caller's clock, in seconds
//!
//! // Bob: an account with one device, its prekeys persisted, then uploaded.
//! let bob_account = AccountKeyPair::generate(&mut rng);
//! let bob_identity = IdentityKeyPair::generate(&mut rng);
//! let cert = bob_account.certify(DeviceId::new(1), bob_identity.public_key());
//! let mut bob = LocalDevice::new(bob_identity, cert, now, &mut rng)?;
//! let bob_list = bob_account.sign_device_list(1, &[bob.link()])?; // the device consents
//! bob.replenish(0, 0, &mut rng)?;
//! let stored = bob.to_bytes(); // ... written to disk first ...
//! let upload = PreKeyUpload::from_bytes(&bob.upload(&stored)?.to_bytes())?; // the server verifies it
//! bob.mark_uploaded(&upload);
//!
//! // Alice: first contact with Bob, trusting his account key on first use.
//! let alice_account = AccountKeyPair::generate(&mut rng);
//! let alice_identity = IdentityKeyPair::generate(&mut rng);
//! let alice_cert = alice_account.certify(DeviceId::new(1), alice_identity.public_key());
//! let alice = LocalDevice::new(alice_identity, alice_cert, now, &mut rng)?;
//! let alice_list = alice_account.sign_device_list(1, &[alice.link()])?;
//! let bob_for_alice = PeerAccount::trust_on_first_use(b"bob", bob_list)?;
//! let mut to_bob = SessionRecord::new(DeviceId::new(1));
//! let bundle = upload.bundle(Some(0), Some(0))?; // what the server hands out
//! to_bob.initiate(&alice, &bob_for_alice, &bundle, &SessionPolicy::default(), now, &mut rng)?;
//! let wire = to_bob.encrypt(&bob_for_alice, b"hi Bob", now, &mut rng)?;
//!
//! // Bob decrypts; the handshake authenticates Alice's device before his
//! // PeerAccount for her checks it against her device list.
//! let alice_for_bob = PeerAccount::trust_on_first_use(b"alice", alice_list)?;
//! let mut from_alice = SessionRecord::new(DeviceId::new(1));
//! let got = from_alice.decrypt(&mut bob, &alice_for_bob, &wire, &SessionPolicy::default(), now, &mut rng)?;
//! assert_eq!(got.plaintext, b"hi Bob");
//! # Ok::<(), chatcrypt::Error>(())
//! ```
//!
//! ## Randomness in an app
//!
//! Every call that needs randomness takes a [`rand_core::CryptoRng`] from
//! rand_core 0.10 (re-exported as `chatcrypt::rand_core`); the fixed seeds in
//! these examples are for tests only. An app passes the operating system's
//! generator: `SysRng` from [getrandom](https://docs.rs/getrandom/0.4) 0.4
//! (feature `sys_rng`), wrapped in [`rand_core::UnwrapErr`] to make it an
//! infallible `CryptoRng`. Web builds (`wasm32-unknown-unknown` in a browser
//! or Node.js) also need getrandom's `wasm_js` feature, which reaches
//! `crypto.getRandomValues` through JavaScript:
//!
//! ```toml
//! [dependencies]
//! getrandom = { version = "0.4", features = ["sys_rng"] }
//!
//! [target.'cfg(all(target_arch = "wasm32", target_os = "unknown"))'.dependencies]
//! getrandom = { version = "0.4", features = ["wasm_js"] }
//! ```
//!
//! ```
//! use chatcrypt::{rand_core::UnwrapErr, IdentityKeyPair, OneTimePreKey, SignedPreKey};
//! use getrandom::SysRng;
//!
//! // The OS generator as a `CryptoRng`. `UnwrapErr` panics if the OS cannot
//! // deliver random bytes: there is no safe way to go on without them.
//! let mut rng = UnwrapErr(SysRng);
//! let me = IdentityKeyPair::generate(&mut rng);
//! let spk = SignedPreKey::generate(&me, 1, &mut rng);
//! let opks: Vec<_> = (100..110).map(|id| OneTimePreKey::generate(id, &mut rng)).collect();
//! // ... upload the public parts, and pass `&mut rng` to every later call.
//! ```
//!
//! ## Feature flags
//!
//! * `std` (default): nothing but `std::error::Error` through `core`; the
//!   crate builds and works identically without it.
//! * `hazmat` (off): exposes the raw KDFs and X3DH of
//!   [SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) in the `hazmat`
//!   module for vector generation and cross-implementation checks. Costs
//!   nothing when off; never needed to build a messenger.

#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Library code returns typed errors; tests opt back in where they need to.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod account;
mod codec;
#[cfg(all(test, feature = "std"))]
mod crash_model;
mod device;
mod error;
#[cfg(feature = "hazmat")]
#[cfg_attr(docsrs, doc(cfg(feature = "hazmat")))]
pub mod hazmat;
mod identity;
mod kem;
mod keys;
pub mod media;
mod message;
pub mod padding;
mod prekey;
#[cfg(test)]
mod primitive_vectors;
mod primitives;
mod record;
mod recovery;
mod safety_number;
pub mod sealed;
mod session;
mod skipped;
mod state;
mod trust;
mod x3dh;

pub use account::{
    AccountKey, AccountKeyPair, DeviceCertificate, DeviceId, DeviceLink, DeviceList, ACCOUNT_FORMAT_VERSION,
    DEVICE_CERTIFICATE_LEN, DEVICE_LIST_ENTRY_LEN, MAX_DEVICES, TAG_DEVICE_CERTIFICATE, TAG_DEVICE_LIST,
};
pub use device::{
    LocalDevice, PreKeyUpload, DEVICE_FORMAT_VERSION, KEM_PREKEY_BATCH, MAX_KEM_ONE_TIME_PREKEYS,
    MAX_LAST_RESORT_HANDSHAKES, MAX_ONE_TIME_PREKEYS, MAX_RETIRED_SIGNED_PREKEYS, ONE_TIME_PREKEY_BATCH,
    PREKEY_LOW_WATER, SIGNED_PREKEY_GRACE, SIGNED_PREKEY_ROTATION, TAG_LOCAL_DEVICE, TAG_PREKEY_UPLOAD,
};
pub use error::{DecodeError, Error};
pub use identity::{IdentityKey, IdentityKeyPair};
pub use kem::{KemType, KEM_SEED_LEN, ML_KEM_1024_CIPHERTEXT_LEN, ML_KEM_1024_PUBLIC_KEY_LEN};
pub use message::{MessageId, MessageType, Mode, PreKeyMessage, MAX_MESSAGE_LEN, MESSAGE_ID_LEN};
pub use prekey::{
    KemPreKey, KemPreKeyPublic, KemPreKeyUse, OneTimePreKey, OneTimePreKeyPublic, PreKeyBundle, SignedPreKey,
    SignedPreKeyPublic, BUNDLE_LEN, BUNDLE_LEN_WITH_ONE_TIME, KEM_PREKEY_PUBLIC_LEN,
};
pub use rand_core;
pub use record::{
    fan_out, Decrypted, RetryOutcome, SessionPolicy, SessionRecord, MAX_ARCHIVED_SESSIONS,
    MAX_RECENT_MESSAGES, MAX_SENT_MESSAGES, MAX_UNACKNOWLEDGED_AGE, RECORD_FORMAT_VERSION,
    TAG_SESSION_RECORD,
};
pub use recovery::{
    RetryMessage, RetryReason, MESSAGE_DIGEST_LEN, RETRY_FORMAT_VERSION, RETRY_MESSAGE_LEN, TAG_RETRY,
};
pub use safety_number::{
    SafetyNumber, MAX_STABLE_ID_LEN, SAFETY_NUMBER_DIGITS, SAFETY_NUMBER_ITERATIONS, SAFETY_NUMBER_VERSION,
    SCANNABLE_LEN,
};
pub use session::{AcceptPolicy, Accepted, ModePolicy, PqPolicy, Received, Session};
pub use state::{
    SEALED_OVERHEAD, SESSION_BYTES_PER_SKIPPED_KEY, SESSION_FIXED_LEN, SESSION_STATE_VERSION, STATE_VERSION,
    TAG_ACCOUNT, TAG_IDENTITY, TAG_KEM_PREKEY, TAG_ONE_TIME_PREKEY, TAG_PEER_ACCOUNT, TAG_SEALED,
    TAG_SESSION, TAG_SIGNED_PREKEY,
};
pub use trust::{DeviceListUpdate, PeerAccount, TrustLevel};
pub use zeroize::Zeroizing;

/// The protocol version byte that starts every wire message and bundle
/// ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §13). Version 2 added the per-message reuse guard.
pub const VERSION: u8 = 0x02;

/// The most message keys one message may make a session skip in one chain
/// ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §9). A message further ahead is rejected with
/// [`Error::TooFarAhead`] before any key is derived.
///
/// 1000 covers a long burst sent while the peer was offline; libsignal
/// allows 25 000, at the cost of 25 000 HMAC steps per forged header.
pub const MAX_SKIP: u32 = 1000;

/// The most skipped message keys one session stores ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §9); inserting
/// more evicts the oldest. Twice [`MAX_SKIP`], so that one message that
/// skips the full amount in both the old and the new chain loses nothing.
/// 68 bytes each when encoded, so at most 136 000 bytes per session.
pub const MAX_SKIPPED_KEYS: usize = 2000;

/// How many earlier receiving ratchet keys a session remembers, to report a
/// replay from an old chain as [`Error::Duplicate`] rather than
/// [`Error::Auth`].
pub const MAX_PREVIOUS_RATCHET_KEYS: usize = 8;

/// The largest plaintext one message may carry: 1 MiB. Larger content
/// (files, media) should be encrypted separately and its key sent in a
/// message.
pub const MAX_PLAINTEXT_LEN: usize = 1 << 20;

/// The README's examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
