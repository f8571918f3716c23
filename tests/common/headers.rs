//! Reading and rewriting the Double Ratchet header of a message in either
//! mode, from the test side.
//!
//! In plain mode the header is on the wire. With header encryption it is
//! encrypted under the sender's header key `HKs`: AES-256-GCM with the key
//! and nonce `HKDF-Expand(HKs, "chatcrypt v1 header" || sample, 44)`, where
//! `sample` is the first 16 bytes after the encrypted header, and with
//! `AD || prefix` as associated data (SPEC.md §14.3: 56 bytes of ciphertext
//! and a 16-byte tag). These helpers take `HKs` from the
//! sender's encoded state, so they work on a message until the sender's
//! next ratchet step.
//!
//! This is an independent implementation of that header format (it uses
//! the primitive crates directly, not the library), so it also checks the
//! library's header encryption byte for byte. It is not part of `common`
//! because the fuzz crate, which compiles `common`, does not depend on the
//! primitive crates.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aes_gcm::{aead::inout::InOutBuf, AeadInOut, Aes256Gcm, KeyInit};
use chatcrypt::{Mode, Session};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::common::{header_range, mode_of, RATCHET_HEADER_LEN, TAG_LEN};

/// A version-2 Double Ratchet header (SPEC.md §6.3, §7.1): the sender's
/// ratchet key, PN, N and the 16-byte reuse guard G.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub ratchet_key: [u8; 32],
    pub pn: u32,
    pub n: u32,
    pub guard: [u8; 16],
}

impl Header {
    /// Parses the 56-byte header encoding `DHs_pub || u32(PN) || u32(N) || G`.
    pub fn parse(raw: &[u8]) -> Self {
        assert_eq!(raw.len(), RATCHET_HEADER_LEN, "a version-2 ratchet header");
        Header {
            ratchet_key: raw[..32].try_into().unwrap(),
            pn: u32::from_be_bytes(raw[32..36].try_into().unwrap()),
            n: u32::from_be_bytes(raw[36..40].try_into().unwrap()),
            guard: raw[40..56].try_into().unwrap(),
        }
    }

    /// The 56-byte header encoding.
    pub fn bytes(&self) -> [u8; RATCHET_HEADER_LEN] {
        let mut out = [0u8; RATCHET_HEADER_LEN];
        out[..32].copy_from_slice(&self.ratchet_key);
        out[32..36].copy_from_slice(&self.pn.to_be_bytes());
        out[36..40].copy_from_slice(&self.n.to_be_bytes());
        out[40..].copy_from_slice(&self.guard);
        out
    }
}

/// The header keys of a header-encrypted session, read from its version-2
/// encoding (SPEC.md §10.4 with flag 0x20: `HKs || NHKs || NHKr || [HKr]` after the
/// optional fields, and each remembered ratchet key followed by its chain's
/// header key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderKeys {
    pub send: [u8; 32],
    pub next_send: [u8; 32],
    pub next_recv: [u8; 32],
    pub recv: Option<[u8; 32]>,
    /// (ratchet key, header key) of the remembered earlier receiving chains, oldest first.
    pub previous: Vec<([u8; 32], [u8; 32])>,
}

/// Offset of the first optional field of a version-2 encoded session: tag,
/// version, flags, the two identity keys each with its X25519 form, RK, the
/// DHs private and public keys, CKs, Ns and PN.
const OPTIONAL_AT: usize = 3 + 4 * 32 + 4 * 32 + 4 + 4;

/// Offsets of the local and remote Ed25519 identity keys in a version-2
/// encoded session (each is followed by its X25519 form).
const LOCAL_IDENTITY_AT: usize = 3;
const REMOTE_IDENTITY_AT: usize = 3 + 2 * 32;

fn key_at(bytes: &[u8], at: usize) -> [u8; 32] {
    bytes[at..at + 32].try_into().unwrap()
}

/// The header keys in a session's encoding; `None` for a plain session.
pub fn header_keys(s: &Session) -> Option<HeaderKeys> {
    let bytes = s.to_bytes();
    crate::common::assert_classical_v3(&bytes);
    let flags = bytes[2];
    if flags & 0x20 == 0 {
        return None;
    }
    let mut at = OPTIONAL_AT;
    if flags & 2 != 0 {
        at += 32 + 32 + 4;
    }
    if flags & 4 != 0 {
        at += 32 + 4 + if flags & 8 != 0 { 4 } else { 0 };
    }
    if flags & 16 != 0 {
        at += 32;
    }
    let send = key_at(&bytes, at);
    let next_send = key_at(&bytes, at + 32);
    let next_recv = key_at(&bytes, at + 64);
    at += 96;
    let recv = (flags & 2 != 0).then(|| key_at(&bytes, at));
    if recv.is_some() {
        at += 32;
    }
    let count = usize::from(bytes[at]);
    at += 1;
    let previous =
        (0..count).map(|i| (key_at(&bytes, at + 64 * i), key_at(&bytes, at + 64 * i + 32))).collect();
    Some(HeaderKeys { send, next_send, next_recv, recv, previous })
}

/// `AD = IK_A || IK_B` of a session, from its encoding.
pub fn associated_data(s: &Session) -> [u8; 64] {
    let bytes = s.to_bytes();
    crate::common::assert_classical_v3(&bytes);
    let local = &bytes[LOCAL_IDENTITY_AT..LOCAL_IDENTITY_AT + 32];
    let remote = &bytes[REMOTE_IDENTITY_AT..REMOTE_IDENTITY_AT + 32];
    assert_eq!(local, s.local_identity().as_bytes(), "local identity key offset");
    assert_eq!(remote, s.remote_identity().as_bytes(), "remote identity key offset");
    let mut ad = [0u8; 64];
    if s.is_initiator() {
        ad[..32].copy_from_slice(local);
        ad[32..].copy_from_slice(remote);
    } else {
        ad[..32].copy_from_slice(remote);
        ad[32..].copy_from_slice(local);
    }
    ad
}

/// The per-message header key and nonce.
fn header_secrets(hk: &[u8; 32], sample: &[u8]) -> ([u8; 32], [u8; 12]) {
    let mut info = b"chatcrypt v1 header".to_vec();
    info.extend_from_slice(sample);
    let mut okm = [0u8; 44];
    Hkdf::<Sha256>::from_prk(hk).unwrap().expand(&info, &mut okm).unwrap();
    (okm[..32].try_into().unwrap(), okm[32..].try_into().unwrap())
}

/// The first 16 bytes of `ciphertext || tag`.
fn sample(message: &[u8]) -> &[u8] {
    let end = header_range(message).end;
    &message[end..end + TAG_LEN]
}

/// Opens the encrypted header of `message` under header key `hk`.
pub fn open_header(hk: &[u8; 32], ad: &[u8; 64], message: &[u8]) -> Option<Header> {
    assert_eq!(mode_of(message), Mode::HeaderEncryption);
    let range = header_range(message);
    let (key, nonce) = header_secrets(hk, sample(message));
    let mut aad = ad.to_vec();
    aad.extend_from_slice(&message[..range.start]);
    let mut raw = message[range.start..range.start + RATCHET_HEADER_LEN].to_vec();
    let tag: [u8; TAG_LEN] = message[range.start + RATCHET_HEADER_LEN..range.end].try_into().unwrap();
    Aes256Gcm::new(&key.into())
        .decrypt_inout_detached(&nonce.into(), &aad, InOutBuf::from(&mut raw[..]), &tag.into())
        .ok()?;
    Some(Header::parse(&raw))
}

/// `message` with its encrypted header replaced by `header` encrypted under
/// `hk` (with the same sample, so the body is untouched).
pub fn seal_header(hk: &[u8; 32], ad: &[u8; 64], message: &[u8], header: &Header) -> Vec<u8> {
    assert_eq!(mode_of(message), Mode::HeaderEncryption);
    let range = header_range(message);
    let (key, nonce) = header_secrets(hk, sample(message));
    let mut aad = ad.to_vec();
    aad.extend_from_slice(&message[..range.start]);
    let mut raw = header.bytes();
    let tag = Aes256Gcm::new(&key.into())
        .encrypt_inout_detached(&nonce.into(), &aad, InOutBuf::from(&mut raw[..]))
        .unwrap();
    let mut out = message.to_vec();
    out[range.start..range.start + RATCHET_HEADER_LEN].copy_from_slice(&raw);
    out[range.start + RATCHET_HEADER_LEN..range.end].copy_from_slice(&tag);
    out
}

/// The header of a message `sender` sent since its last ratchet step, in
/// either mode.
pub fn sent_header(sender: &Session, message: &[u8]) -> Header {
    match mode_of(message) {
        Mode::Plain => Header::parse(&message[header_range(message)]),
        _ => {
            let keys = header_keys(sender).expect("a header-encrypted session");
            open_header(&keys.send, &associated_data(sender), message)
                .expect("the message was sent under the sender's current header key")
        }
    }
}

/// `message`, sent by `sender` since its last ratchet step, with its header
/// changed by `edit`: rewritten in clear in plain mode, re-encrypted under
/// the sender's header key with header encryption. Either way the body's
/// tag no longer matches (it covers the plain header), so the result models
/// a forger who knows the header key: the receiver must run every header
/// check and reject it without changing anything.
pub fn with_header(sender: &Session, message: &[u8], edit: impl FnOnce(&mut Header)) -> Vec<u8> {
    let mut h = sent_header(sender, message);
    edit(&mut h);
    match mode_of(message) {
        Mode::Plain => {
            let mut out = message.to_vec();
            out[header_range(message)].copy_from_slice(&h.bytes());
            out
        }
        _ => {
            let keys = header_keys(sender).expect("a header-encrypted session");
            seal_header(&keys.send, &associated_data(sender), message, &h)
        }
    }
}

/// As [`with_header`], but with header encryption the header is sealed
/// under the sender's *next* sending header key `NHKs`, the key of the
/// chain it starts at its next ratchet step (the receiver's `NHKr`): a
/// header that starts a new chain, as its holder could forge it.
pub fn with_next_chain_header(sender: &Session, message: &[u8], edit: impl FnOnce(&mut Header)) -> Vec<u8> {
    match mode_of(message) {
        Mode::Plain => with_header(sender, message, edit),
        _ => {
            let mut h = sent_header(sender, message);
            edit(&mut h);
            let keys = header_keys(sender).expect("a header-encrypted session");
            seal_header(&keys.next_send, &associated_data(sender), message, &h)
        }
    }
}
