//! Sealed sender: envelopes that hide the sender from the relay
//! ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §27).
//!
//! A session message hides its content from the server that relays it,
//! but the server still sees who uploads it. A *sealed envelope* is
//! addressed to the recipient device's identity key, and only that device
//! learns from inside it which device of which account sent it:
//!
//! * an ephemeral key agreement with the recipient's identity key encrypts
//!   everything but the envelope's two header bytes and its ephemeral key;
//! * a static-static key agreement between the sender's and the
//!   recipient's identity keys authenticates the sender's identity key and
//!   binds the envelope to that recipient;
//! * a [`SenderCertificate`], issued by the application's server key
//!   ([`ServerKeyPair`]), travels inside and binds that identity key to an
//!   account, a device and an expiry. The recipient checks it against the
//!   server keys, revocation list and time it passes in a
//!   [`CertificatePolicy`]; the library has no built-in roots and reads no
//!   clock;
//! * the content is padded inside the encryption
//!   ([`PaddingPolicy`](crate::padding::PaddingPolicy)), so the relay
//!   learns its length class, not its length.
//!
//! [`seal`] makes the envelope for one device. [`seal_multi`] encrypts the
//! content once for many devices, with an 80-byte part per recipient (48
//! bytes of it cryptographic, the rest the address the server routes by);
//! the server splits the upload with [`MultiRecipientEnvelope`], without
//! any key. [`open`] checks everything, in the order of SPEC.md §27.4, and
//! returns an [`OpenedEnvelope`]: the certificate and the content. A
//! [`SessionRecord`](crate::SessionRecord) then decrypts a sealed session
//! message and checks that its session is with the identity key the
//! certificate names (SPEC.md §27.5).
//!
//! # Guarantees
//!
//! * **Only the recipient learns the sender.** Every byte of an envelope
//!   after its two header bytes is a fresh X25519 public key, pseudorandom
//!   or ciphertext; two envelopes from different senders to one recipient
//!   differ, for the relay, only in length (and padding makes the length a
//!   class; the inner session message's own shape still shows through it,
//!   see below).
//! * **The sender is authenticated.** An envelope that [`open`] accepts was
//!   made by the holder of the certificate's identity key (or of the
//!   recipient's own key) for this recipient, and the certificate was
//!   signed by a trusted server key, is not revoked and has not expired.
//! * **Parts do not move.** A recipient's part of a multi-recipient
//!   envelope moved to another recipient or onto another payload fails
//!   with [`Error::Auth`](crate::Error::Auth): each part's tag covers the
//!   SHA-256 of the payload, so even a co-recipient, who knows the payload
//!   key, cannot hand the others another payload; every recipient that
//!   accepts a multi-recipient envelope reads the same certificate and
//!   content.
//! * **No state, bounded work.** Opening changes nothing; a forged
//!   envelope costs at most two X25519 operations and one X25519 base-point
//!   multiplication, three HKDFs, and one AEAD opening and one SHA-256 of
//!   at most its own size before it fails.
//!
//! # What it does not hide
//!
//! SPEC.md §27.7 gives the details; in short:
//!
//! * **the recipient** (the relay needs it), and for a multi-recipient
//!   envelope the set of recipients;
//! * **the connection and the network address**: upload sealed envelopes
//!   over a connection that is not logged in as the sender (with an
//!   abuse-control token of the recipient's choosing), through a proxy or
//!   an anonymity network if the IP address matters;
//! * **timing**: delivery and read receipts and immediate replies link
//!   sender and recipient after a few messages (statistical disclosure,
//!   Martiny et al., NDSS 2021). Send receipts sealed too, delay them by a
//!   random amount and batch them (or let the user turn them off), and do
//!   not answer automatically at once;
//! * **the shape of the session message inside, by its length**: a
//!   session start is longer than a plain message, and a session with
//!   header encryption sends messages 16 bytes longer than one without.
//!
//! Revocation is by serial: a server must not reuse a serial under any of
//! its keys.
//!
//! Whoever later obtains a recipient's identity key and kept its envelopes
//! learns their senders, and can forge envelopes to it that claim any
//! sender whose certificate they hold (the session record still refuses a
//! message no session with that sender decrypts).
//!
//! # Example
//!
//! ```
//! use chatcrypt::{
//!     padding::PaddingPolicy,
//!     sealed::{open, seal, CertificatePolicy, ServerKeyPair},
//!     AccountKeyPair, DeviceId, IdentityKeyPair,
//! };
//! use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
//!
//! let mut rng = ChaCha20Rng::from_seed([3; 32]); // an app uses the OS RNG
//! let now = 1_800_000_000; // the caller's clock, in seconds
//!
//! // The app's server key; apps ship its public key as a trust root.
//! let server = ServerKeyPair::generate(&mut rng);
//!
//! // Alice's device gets a certificate for a day.
//! let alice_account = AccountKeyPair::generate(&mut rng);
//! let alice = IdentityKeyPair::generate(&mut rng);
//! let certificate =
//!     server.issue(1, now + 86_400, alice_account.public_key(), DeviceId::new(1), alice.public_key());
//!
//! // She seals a message for Bob's device (a session message from her
//! // record would be sealed with `PaddingPolicy::None`: it is padded already).
//! let bob = IdentityKeyPair::generate(&mut rng);
//! let envelope = seal(&alice, &certificate, bob.public_key(), b"hi Bob", PaddingPolicy::DEFAULT, &mut rng)?;
//!
//! // The relay delivers it to Bob, who opens it with his trust roots.
//! let roots = [server.public_key().clone()];
//! let opened = open(&bob, &envelope, &CertificatePolicy::new(&roots, &[], now))?;
//! assert_eq!(opened.certificate(), &certificate);
//! assert_eq!(opened.certificate().identity(), alice.public_key());
//! assert_eq!(opened.content(), b"hi Bob");
//! # Ok::<(), chatcrypt::Error>(())
//! ```

// Decoders of untrusted input: no indexing that could panic.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

mod certificate;
mod envelope;

pub use certificate::{
    CertificatePolicy, SenderCertificate, ServerKey, ServerKeyPair, SENDER_CERTIFICATE_LEN,
    TAG_SENDER_CERTIFICATE,
};
pub use envelope::{
    open, seal, seal_multi, MultiRecipientEnvelope, OpenedEnvelope, MAX_SEALED_PADDED_LEN,
    MAX_SEALED_RECIPIENTS, SEALED_ENVELOPE_OVERHEAD, SEALED_RECIPIENT_ENTRY_LEN,
    TAG_MULTI_RECIPIENT_ENVELOPE, TAG_SEALED_ENVELOPE,
};

/// The version of the sender certificate and both envelope formats.
pub const SEALED_FORMAT_VERSION: u8 = 0x01;
