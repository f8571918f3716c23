//! Safety numbers: what two users compare to check that their session is
//! with each other and not with someone in the middle.
//!
//! A [`SafetyNumber`] is computed from both parties' [`IdentityKey`]s and
//! *stable ids* (an identifier the messenger gives each user and never
//! changes, such as a phone number or an account UUID, as bytes). The
//! algorithm is libsignal's version-0 fingerprint ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §15): for each
//! party, 5200 iterations of SHA-512 over its key and id. It comes in two
//! forms:
//!
//! * [`SafetyNumber::displayable`]: 60 decimal digits, read aloud or compared
//!   on screen (its [`Display`](core::fmt::Display) groups them in 12 groups
//!   of 5);
//! * [`SafetyNumber::scannable`]: a [`SCANNABLE_LEN`]-byte payload for a QR
//!   code, which the other device checks with
//!   [`SafetyNumber::compare_scanned`].
//!
//! **What it guarantees.** Both parties compute the same displayable digits
//! (each party's 30 digits are sorted, so the order of the arguments does not
//! matter), and each side's scannable payload compares equal on the other
//! side. Changing either identity key or either stable id changes both forms
//! (up to the collision resistance of 30 digits, about 2^-100 per party, and
//! of SHA-512). [`SafetyNumber::compare_scanned`] compares in constant time.
//!
//! **What it does not do.** It does not store or pin identity keys, notice a
//! key change, or decide what the app tells its user: the app keeps the
//! verified state and recomputes the number when a session's
//! [`Session::remote_identity`](crate::Session::remote_identity) changes. It says nothing about
//! a user's other devices (each device has its own identity key). A safety
//! number is a public value, not a secret: it is not zeroized and its `Debug`
//! shows the digits. The iterations slow down a search for a key whose
//! number looks alike; they are no substitute for comparing all 60 digits.
//!
//! The example is on [`SafetyNumber`].

use alloc::string::String;
use core::fmt;

use sha2::{Digest, Sha512};

use crate::{account::AccountKey, error::DecodeError, identity::IdentityKey, Error};

/// The version of the safety number algorithm, and the first byte of a
/// scannable payload ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §15).
pub const SAFETY_NUMBER_VERSION: u8 = 0x00;

/// How many SHA-512 computations make one party's fingerprint (libsignal's
/// value).
pub const SAFETY_NUMBER_ITERATIONS: u32 = 5200;

/// The longest stable id [`SafetyNumber::new`] accepts, in bytes. A phone
/// number, e-mail address or UUID fits many times over.
pub const MAX_STABLE_ID_LEN: usize = 255;

/// The number of decimal digits of [`SafetyNumber::displayable`].
pub const SAFETY_NUMBER_DIGITS: usize = 60;

/// The length of [`SafetyNumber::scannable`]: a version byte and 32 bytes of
/// each party's fingerprint.
pub const SCANNABLE_LEN: usize = 1 + 2 * SCANNABLE_FINGERPRINT_LEN;

/// Bytes of each fingerprint in a scannable payload.
const SCANNABLE_FINGERPRINT_LEN: usize = 32;

/// Digits per party.
const PARTY_DIGITS: usize = SAFETY_NUMBER_DIGITS / 2;

/// One party's fingerprint `FP(key, stable_id)` ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §15), on raw key
/// bytes, so that libsignal's 33-byte keys can check it too.
pub(crate) fn fingerprint(key: &[u8], stable_id: &[u8]) -> [u8; 64] {
    let mut sha = Sha512::new();
    sha.update(u16::from(SAFETY_NUMBER_VERSION).to_be_bytes());
    sha.update(key);
    sha.update(stable_id);
    sha.update(key);
    let mut h = [0u8; 64];
    h.copy_from_slice(&sha.finalize_reset());
    for _ in 1..SAFETY_NUMBER_ITERATIONS {
        sha.update(h);
        sha.update(key);
        h.copy_from_slice(&sha.finalize_reset());
    }
    h
}

/// One party's 30 ASCII digits: six 5-byte big-endian chunks of the
/// fingerprint, each mod 100000 as five digits.
pub(crate) fn party_digits(fingerprint: &[u8; 64]) -> [u8; PARTY_DIGITS] {
    let mut out = [0u8; PARTY_DIGITS];
    for (chunk, digits) in fingerprint.chunks_exact(5).zip(out.chunks_exact_mut(5)) {
        let mut value = chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)) % 100_000;
        for d in digits.iter_mut().rev() {
            // `value % 10` is below 10, so the cast cannot truncate.
            *d = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    out
}

/// The 60 displayable digits of two fingerprints: the two parties' digit
/// strings, smaller first.
pub(crate) fn displayable_digits(a: &[u8; 64], b: &[u8; 64]) -> [u8; SAFETY_NUMBER_DIGITS] {
    let (a, b) = (party_digits(a), party_digits(b));
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let mut out = [0u8; SAFETY_NUMBER_DIGITS];
    out[..PARTY_DIGITS].copy_from_slice(&first);
    out[PARTY_DIGITS..].copy_from_slice(&second);
    out
}

/// A safety number for a pair of identities, as seen from the local side
/// ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §15: libsignal's version-0 fingerprint over the
/// Ed25519 [`IdentityKey`]s and the users' stable ids).
///
/// * Both parties compute the same [`displayable`](SafetyNumber::displayable)
///   digits, whichever side is local.
/// * Changing either identity key or either stable id changes the number.
/// * [`compare_scanned`](SafetyNumber::compare_scanned) checks the other
///   device's [`scannable`](SafetyNumber::scannable) payload in constant time.
///
/// It does not pin keys or notice key changes: the app stores what its user
/// verified and recomputes the number when
/// [`Session::remote_identity`](crate::Session::remote_identity) changes. Each
/// of a user's devices has its own identity key, so its own number. Safety
/// numbers are public: `Debug` and `Display` show the digits.
///
/// ```
/// use chatcrypt::{IdentityKeyPair, SafetyNumber};
/// use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
///
/// let mut rng = ChaCha20Rng::from_seed([7; 32]);
/// let alice = IdentityKeyPair::generate(&mut rng);
/// let bob = IdentityKeyPair::generate(&mut rng);
///
/// // Each side computes the number with itself as "local".
/// let on_alice = SafetyNumber::new(b"alice", alice.public_key(), b"bob", bob.public_key())?;
/// let on_bob = SafetyNumber::new(b"bob", bob.public_key(), b"alice", alice.public_key())?;
/// assert_eq!(on_alice.displayable(), on_bob.displayable());
/// assert_eq!(on_alice.displayable().len(), 60);
///
/// // Bob scans the QR code shown on Alice's screen.
/// assert!(on_bob.compare_scanned(&on_alice.scannable())?);
/// # Ok::<(), chatcrypt::Error>(())
/// ```
#[derive(Clone)]
pub struct SafetyNumber {
    displayable: String,
    local: [u8; SCANNABLE_FINGERPRINT_LEN],
    remote: [u8; SCANNABLE_FINGERPRINT_LEN],
}

impl SafetyNumber {
    /// Computes the safety number between the local party (this device's
    /// user) and the remote party. Costs 2 × 5200 SHA-512 computations.
    ///
    /// # Errors
    /// [`Error::TooLarge`] if a stable id is longer than
    /// [`MAX_STABLE_ID_LEN`] bytes (the local id is checked first).
    pub fn new(
        local_stable_id: &[u8],
        local_key: &IdentityKey,
        remote_stable_id: &[u8],
        remote_key: &IdentityKey,
    ) -> Result<SafetyNumber, Error> {
        Self::from_key_bytes(local_stable_id, local_key.as_bytes(), remote_stable_id, remote_key.as_bytes())
    }

    fn from_key_bytes(
        local_stable_id: &[u8],
        local_key: &[u8; 32],
        remote_stable_id: &[u8],
        remote_key: &[u8; 32],
    ) -> Result<SafetyNumber, Error> {
        for id in [local_stable_id, remote_stable_id] {
            if id.len() > MAX_STABLE_ID_LEN {
                return Err(Error::TooLarge { len: id.len(), max: MAX_STABLE_ID_LEN });
            }
        }
        let local = fingerprint(local_key, local_stable_id);
        let remote = fingerprint(remote_key, remote_stable_id);
        let displayable = displayable_digits(&local, &remote).iter().map(|d| char::from(*d)).collect();
        let mut local_prefix = [0u8; SCANNABLE_FINGERPRINT_LEN];
        local_prefix.copy_from_slice(&local[..SCANNABLE_FINGERPRINT_LEN]);
        let mut remote_prefix = [0u8; SCANNABLE_FINGERPRINT_LEN];
        remote_prefix.copy_from_slice(&remote[..SCANNABLE_FINGERPRINT_LEN]);
        Ok(SafetyNumber { displayable, local: local_prefix, remote: remote_prefix })
    }

    /// The safety number between two users' **account keys** (SPEC.md
    /// §15, §17): the same algorithm over the 32-byte account keys, so it
    /// stays the same when either user adds, removes or reinstalls a
    /// device. This is the number a multi-device messenger shows.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn for_accounts(
        local_stable_id: &[u8],
        local_account: &AccountKey,
        remote_stable_id: &[u8],
        remote_account: &AccountKey,
    ) -> Result<SafetyNumber, Error> {
        Self::from_key_bytes(
            local_stable_id,
            local_account.as_bytes(),
            remote_stable_id,
            remote_account.as_bytes(),
        )
    }

    /// The 60 ASCII decimal digits, the same on both sides. Apps usually show
    /// them in 12 groups of 5, as the `Display` implementation does.
    pub fn displayable(&self) -> &str {
        &self.displayable
    }

    /// The payload for a QR code, [`SCANNABLE_LEN`] bytes:
    /// `SAFETY_NUMBER_VERSION || local fingerprint[0..32] || remote fingerprint[0..32]`.
    /// Unlike the digits it depends on which side is local: the other device
    /// checks it with [`SafetyNumber::compare_scanned`].
    pub fn scannable(&self) -> [u8; SCANNABLE_LEN] {
        let mut out = [0u8; SCANNABLE_LEN];
        out[0] = SAFETY_NUMBER_VERSION;
        out[1..1 + SCANNABLE_FINGERPRINT_LEN].copy_from_slice(&self.local);
        out[1 + SCANNABLE_FINGERPRINT_LEN..].copy_from_slice(&self.remote);
        out
    }

    /// Checks the other device's [`scannable`](SafetyNumber::scannable)
    /// payload against this number: `true` if its local fingerprint is our
    /// remote one and its remote fingerprint our local one. The comparison
    /// runs in constant time in the contents.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::Truncated`] for an empty or short
    /// payload, [`DecodeError::UnsupportedVersion`] if the first byte is not
    /// [`SAFETY_NUMBER_VERSION`], and [`DecodeError::TrailingBytes`] for a
    /// long one, checked in that order.
    pub fn compare_scanned(&self, scanned: &[u8]) -> Result<bool, Error> {
        let (&version, rest) = scanned.split_first().ok_or(DecodeError::Truncated)?;
        if version != SAFETY_NUMBER_VERSION {
            return Err(DecodeError::UnsupportedVersion(version).into());
        }
        if rest.len() < 2 * SCANNABLE_FINGERPRINT_LEN {
            return Err(DecodeError::Truncated.into());
        }
        if rest.len() > 2 * SCANNABLE_FINGERPRINT_LEN {
            return Err(DecodeError::TrailingBytes.into());
        }
        let (their_local, their_remote) = rest.split_at(SCANNABLE_FINGERPRINT_LEN);
        let mut diff = 0u8;
        for (x, y) in their_local.iter().zip(&self.remote).chain(their_remote.iter().zip(&self.local)) {
            diff |= x ^ y;
        }
        Ok(core::hint::black_box(diff) == 0)
    }
}

/// The digits in 12 groups of 5, separated by spaces.
impl fmt::Display for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.displayable.chars().enumerate() {
            if i > 0 && i % 5 == 0 {
                f.write_str(" ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let SafetyNumber { displayable, local: _, remote: _ } = self;
        f.debug_tuple("SafetyNumber").field(displayable).finish()
    }
}

#[cfg(test)]
mod tests {
    //! libsignal's known answer (`test-vectors/primitives/signal-safety-number-v1.json`)
    //! through the crate's own functions, on its 33-byte keys.

    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    extern crate std;

    use alloc::{string::String, vec::Vec};

    use serde_json::Value;

    use super::{displayable_digits, fingerprint, SAFETY_NUMBER_ITERATIONS};

    const KAT: &str = include_str!("../test-vectors/primitives/signal-safety-number-v1.json");

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn libsignal_known_answer() {
        let file: Value = serde_json::from_str(KAT).unwrap();
        assert_eq!(file["algorithm"]["iterations"].as_u64(), Some(u64::from(SAFETY_NUMBER_ITERATIONS)));
        let cases = file["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 1);
        for case in cases {
            let s = |k: &str| case[k].as_str().unwrap();
            let alice = fingerprint(&unhex(s("alice_key")), s("alice_stable_id").as_bytes());
            let bob = fingerprint(&unhex(s("bob_key")), s("bob_stable_id").as_bytes());
            assert_eq!(alice[..32], unhex(s("alice_fingerprint_first32"))[..]);
            assert_eq!(bob[..32], unhex(s("bob_fingerprint_first32"))[..]);
            let digits = String::from_utf8(displayable_digits(&alice, &bob).to_vec()).unwrap();
            assert_eq!(digits, s("displayable"));
            assert_eq!(displayable_digits(&bob, &alice), displayable_digits(&alice, &bob));
        }
    }
}
