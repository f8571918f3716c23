//! Stored state: versioned binary encodings of everything long-lived
//! ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §10).
//!
//! A messenger persists its [`IdentityKeyPair`], its [`SignedPreKey`]s and
//! [`OneTimePreKey`]s, and every [`Session`] after every call that changed
//! it. Each has `to_bytes` / `from_bytes`, and `seal` / `open`, which wrap
//! the same encoding in AES-256-GCM under a 32-byte key of the caller's
//! (for example one kept in the platform keystore).
//!
//! Every encoding starts with a format tag byte and its format version:
//! `0x01` for identities, prekeys (X25519 and KEM) and the sealed wrapper,
//! `0x03` for sessions ([`SESSION_STATE_VERSION`]; versions 1 and 2 still
//! decode).
//! Decoding checks every length, count and invariant and returns
//! [`Error::Decode`] on anything malformed; it never panics and never
//! allocates more than the input's length justifies.
//!
//! A session stores the values that are expensive to derive (the X25519
//! forms of both identity keys, its ratchet public key), so restoring one
//! does no curve arithmetic and costs about as much as decrypting a short
//! message ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §10.4 says why trusting them is safe).
//!
//! The bytes returned hold secrets: they come in [`Zeroizing`] buffers that
//! wipe themselves when dropped, and each is allocated once at its exact
//! size, so no growth step leaves an unwiped copy behind. Whatever copies you make (files, database
//! rows) are yours to protect and delete; prefer the sealed forms at rest.

use alloc::vec::Vec;

use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;
use zeroize::{Zeroize, Zeroizing};

use alloc::boxed::Box;

use crate::{
    account::{AccountKeyPair, DeviceCertificate, DeviceList, DEVICE_CERTIFICATE_LEN},
    codec::{Reader, Writer},
    device::{
        LocalDevice, Retired, DEVICE_FORMAT_VERSION, MAX_KEM_ONE_TIME_PREKEYS, MAX_LAST_RESORT_HANDSHAKES,
        MAX_ONE_TIME_PREKEYS, MAX_RETIRED_SIGNED_PREKEYS, TAG_LOCAL_DEVICE,
    },
    error::DecodeError,
    identity::{IdentityKey, IdentityKeyPair},
    kem::{KemType, KEM_SEED_LEN},
    keys::{ChainKey, HeaderKey, MessageKey, RootKey},
    message::{KemPart, PreKeyPart},
    prekey::{KemPreKey, OneTimePreKey, SignedPreKey},
    primitives::{aead_open, aead_seal, x25519_public, TAG_LEN},
    record::{SessionRecord, RECORD_FORMAT_VERSION, TAG_SESSION_RECORD},
    session::{HeaderKeys, PreviousChains, ReceivingChain, SendingChain, Session},
    skipped::SkippedKeys,
    trust::{PeerAccount, TrustLevel},
    x3dh::associated_data,
    Error, MAX_PREVIOUS_RATCHET_KEYS, MAX_SKIPPED_KEYS,
};

/// The version of the identity, prekey and sealed formats.
pub const STATE_VERSION: u8 = 0x01;
/// The version of the session format that [`Session::to_bytes`] writes.
/// [`Session::from_bytes`] also reads versions `0x01` and `0x02`.
pub const SESSION_STATE_VERSION: u8 = 0x03;
/// Format tag of an encoded [`IdentityKeyPair`] (`'I'`).
pub const TAG_IDENTITY: u8 = 0x49;
/// Format tag of an encoded [`SignedPreKey`] (`'P'`).
pub const TAG_SIGNED_PREKEY: u8 = 0x50;
/// Format tag of an encoded [`OneTimePreKey`] (`'O'`).
pub const TAG_ONE_TIME_PREKEY: u8 = 0x4F;
/// Format tag of an encoded [`KemPreKey`] (`'K'`).
pub const TAG_KEM_PREKEY: u8 = 0x4B;
/// Format tag of an encoded [`Session`] (`'S'`).
pub const TAG_SESSION: u8 = 0x53;
/// Format tag of a sealed encoding (`'Z'`).
pub const TAG_SEALED: u8 = 0x5A;

/// Bytes of an encoded session without optional parts, skipped keys or
/// previous ratchet keys.
pub const SESSION_FIXED_LEN: usize = 2 + 1 + 32 * 8 + 4 + 4 + 1 + 2;
/// Bytes each stored skipped key adds to an encoded session.
pub const SESSION_BYTES_PER_SKIPPED_KEY: usize = 32 + 4 + 32;
/// Overhead of sealing: tag, version, inner tag, nonce and AEAD tag.
pub const SEALED_OVERHEAD: usize = 3 + 12 + TAG_LEN;

const FLAG_INITIATOR: u8 = 1;
const FLAG_RECEIVING: u8 = 2;
const FLAG_PENDING: u8 = 4;
const FLAG_PENDING_ONE_TIME: u8 = 8;
const FLAG_BASE_KEY: u8 = 16;
const FLAG_HEADER_ENCRYPTION: u8 = 32;
/// Version 3: the handshake was hybrid; a KEM type byte follows `PN`.
const FLAG_HYBRID: u8 = 64;
/// Version 3: the pending handshake has a KEM part (id and ciphertext).
const FLAG_PENDING_KEM: u8 = 128;

/// One stored format.
pub(crate) trait Persist: Sized {
    const TAG: u8;
    /// The version `encode_body` writes.
    const VERSION: u8;
    /// The oldest version `decode_body` still reads.
    const OLDEST_VERSION: u8 = Self::VERSION;
    fn encoded_len(&self) -> usize;
    fn encode_body(&self, out: &mut Vec<u8>);
    fn decode_body(r: &mut Reader<'_>, version: u8) -> Result<Self, DecodeError>;
}

fn encode<T: Persist>(value: &T) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(2 + value.encoded_len()));
    out.put_u8(T::TAG);
    out.put_u8(T::VERSION);
    value.encode_body(&mut out);
    out
}

fn decode<T: Persist>(bytes: &[u8]) -> Result<T, Error> {
    let mut r = Reader::new(bytes);
    let version = r.tag_and_version(T::TAG, T::OLDEST_VERSION, T::VERSION)?;
    let value = T::decode_body(&mut r, version)?;
    r.finish()?;
    Ok(value)
}

fn seal<T: Persist, R: CryptoRng + ?Sized>(value: &T, key: &[u8; 32], rng: &mut R) -> Vec<u8> {
    let plain = encode(value);
    let mut out = Vec::with_capacity(SEALED_OVERHEAD + plain.len());
    let header = [TAG_SEALED, STATE_VERSION, T::TAG];
    let mut nonce = [0u8; 12];
    rng.fill_bytes(&mut nonce);
    out.put(&header);
    out.put(&nonce);
    out.put(&plain);
    let body = &mut out[15..];
    // The encoding is far below AES-GCM's length limit, so this cannot
    // fail; if it did, nothing of the encoding would be returned (an empty
    // output, which `open` rejects as truncated).
    match aead_seal(key, &nonce, &header, body) {
        Ok(tag) => out.put(&tag),
        Err(_) => {
            out.zeroize();
            out.clear();
        }
    }
    out
}

fn open<T: Persist>(key: &[u8; 32], bytes: &[u8]) -> Result<T, Error> {
    let mut r = Reader::new(bytes);
    r.tag_and_version(TAG_SEALED, STATE_VERSION, STATE_VERSION)?;
    let inner = r.u8()?;
    if inner != T::TAG {
        return Err(DecodeError::UnexpectedType(inner).into());
    }
    let nonce: [u8; 12] = r.array()?;
    if r.remaining() < TAG_LEN {
        return Err(DecodeError::Truncated.into());
    }
    let body = r.rest();
    let (ct, tag) = body.split_at(body.len() - TAG_LEN);
    let mut t = [0u8; TAG_LEN];
    t.copy_from_slice(tag);
    let mut plain = Zeroizing::new(ct.to_vec());
    aead_open(key, &nonce, &bytes[..3], &mut plain, &t)?;
    decode(&plain)
}

macro_rules! persist_api {
    ($ty:ty, $what:literal) => {
        impl $ty {
            #[doc = concat!("Encodes ", $what, " (SPEC.md §10). The bytes hold secrets.")]
            pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
                encode(self)
            }

            #[doc = concat!("Decodes ", $what, " encoded by [`to_bytes`](Self::to_bytes).")]
            ///
            /// # Errors
            /// [`Error::Decode`] for a wrong tag or version, a wrong length,
            /// or any violated invariant.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
                decode(bytes)
            }

            #[doc = concat!("Encrypts the encoding of ", $what, " under `key` with AES-256-GCM and")]
            /// a random nonce from `rng` ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §10.6).
            pub fn seal<R: CryptoRng + ?Sized>(&self, key: &[u8; 32], rng: &mut R) -> Vec<u8> {
                seal(self, key, rng)
            }

            /// Decrypts and decodes bytes made by [`seal`](Self::seal).
            ///
            /// # Errors
            /// [`Error::Auth`] for a wrong key or tampered bytes,
            /// [`Error::Decode`] for malformed ones.
            pub fn open(key: &[u8; 32], bytes: &[u8]) -> Result<Self, Error> {
                open(key, bytes)
            }
        }
    };
}

persist_api!(IdentityKeyPair, "the identity key pair");
persist_api!(SignedPreKey, "the signed prekey with its secret");
persist_api!(OneTimePreKey, "the one-time prekey with its secret");
persist_api!(KemPreKey, "the KEM prekey with its seed and signature");
persist_api!(Session, "the whole session state");

/// An Ed25519 key pair stored as its 32-byte seed (identities, accounts).
macro_rules! persist_seed {
    ($ty:ty, $tag:expr) => {
        impl Persist for $ty {
            const TAG: u8 = $tag;
            const VERSION: u8 = STATE_VERSION;
            fn encoded_len(&self) -> usize {
                32
            }
            fn encode_body(&self, out: &mut Vec<u8>) {
                out.put(&self.seed()[..]);
            }
            fn decode_body(r: &mut Reader<'_>, _version: u8) -> Result<Self, DecodeError> {
                let seed = Zeroizing::new(r.array::<32>()?);
                Ok(<$ty>::from_seed(&seed))
            }
        }
    };
}

persist_seed!(IdentityKeyPair, TAG_IDENTITY);

fn read_secret(r: &mut Reader<'_>) -> Result<StaticSecret, DecodeError> {
    let bytes = Zeroizing::new(r.array::<32>()?);
    Ok(StaticSecret::from(*bytes))
}

impl Persist for SignedPreKey {
    const TAG: u8 = TAG_SIGNED_PREKEY;
    const VERSION: u8 = STATE_VERSION;
    fn encoded_len(&self) -> usize {
        4 + 32 + 64
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        out.put_u32(self.id);
        out.put(self.secret.as_bytes());
        out.put(self.public.signature());
    }
    fn decode_body(r: &mut Reader<'_>, _version: u8) -> Result<Self, DecodeError> {
        let id = r.u32()?;
        let secret = read_secret(r)?;
        let signature = r.array()?;
        Ok(SignedPreKey::from_stored(id, secret, signature))
    }
}

impl Persist for OneTimePreKey {
    const TAG: u8 = TAG_ONE_TIME_PREKEY;
    const VERSION: u8 = STATE_VERSION;
    fn encoded_len(&self) -> usize {
        4 + 32
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        out.put_u32(self.id());
        out.put(self.secret.as_bytes());
    }
    fn decode_body(r: &mut Reader<'_>, _version: u8) -> Result<Self, DecodeError> {
        let id = r.u32()?;
        Ok(OneTimePreKey::from_secret(id, read_secret(r)?))
    }
}

impl Persist for KemPreKey {
    const TAG: u8 = TAG_KEM_PREKEY;
    const VERSION: u8 = STATE_VERSION;
    fn encoded_len(&self) -> usize {
        1 + 4 + KEM_SEED_LEN + 64
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        out.put_u8(self.kem_type().to_byte());
        out.put_u32(self.id());
        out.put(&self.pair.seed()[..]);
        out.put(self.public.signature());
    }
    fn decode_body(r: &mut Reader<'_>, _version: u8) -> Result<Self, DecodeError> {
        let kind = KemType::from_byte(r.u8()?)?;
        let id = r.u32()?;
        let mut seed = Zeroizing::new([0u8; KEM_SEED_LEN]);
        seed.copy_from_slice(r.take(KEM_SEED_LEN)?);
        let signature = r.array()?;
        Ok(KemPreKey::from_stored(kind, id, &seed, signature))
    }
}

impl Session {
    /// The length of [`to_bytes`](Self::to_bytes)' output: the sum of
    /// [`SESSION_FIXED_LEN`]; 68 with a receiving chain; 36 or 40 while
    /// awaiting a reply (plus 4 and the KEM ciphertext's length, 1568 bytes
    /// for ML-KEM-1024, in a hybrid handshake); 1 after a hybrid handshake;
    /// 32 for a responder; 32 per remembered ratchet key;
    /// with header encryption 96, 32 more with a receiving chain and 32 more
    /// per remembered ratchet key; [`SESSION_BYTES_PER_SKIPPED_KEY`] per
    /// skipped key ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §10.4).
    pub fn encoded_len(&self) -> usize {
        2 + Persist::encoded_len(self)
    }
}

/// Version 1 stores each identity key alone and checks it strictly;
/// version 2 also stores its X25519 form and takes both as stored.
fn read_identity(r: &mut Reader<'_>, version: u8) -> Result<IdentityKey, DecodeError> {
    if version == 1 {
        IdentityKey::parse(&r.array()?)
    } else {
        let bytes = r.array()?;
        let montgomery = r.x25519_key()?;
        Ok(IdentityKey::from_stored(bytes, montgomery))
    }
}

impl Persist for Session {
    const TAG: u8 = TAG_SESSION;
    const VERSION: u8 = SESSION_STATE_VERSION;
    const OLDEST_VERSION: u8 = 0x01;

    fn encoded_len(&self) -> usize {
        SESSION_FIXED_LEN - 2
            + self.receiving.as_ref().map_or(0, |_| 68)
            + self.kem.map_or(0, |_| 1)
            + self.pending.as_ref().map_or(0, |p| {
                36 + if p.one_time_prekey_id.is_some() { 4 } else { 0 }
                    + p.kem.as_ref().map_or(0, |k| 4 + k.ciphertext.len())
            })
            + self.handshake_base_key.map_or(0, |_| 32)
            + self.header_keys.as_ref().map_or(0, |k| 96 + k.recv.as_ref().map_or(0, |_| 32))
            + self.header_keys.as_ref().map_or(32, |_| 64) * self.previous.len()
            + SESSION_BYTES_PER_SKIPPED_KEY * self.skipped.len()
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        let mut flags = 0u8;
        if self.initiator {
            flags |= FLAG_INITIATOR;
        }
        if self.receiving.is_some() {
            flags |= FLAG_RECEIVING;
        }
        if let Some(p) = &self.pending {
            flags |= FLAG_PENDING;
            if p.one_time_prekey_id.is_some() {
                flags |= FLAG_PENDING_ONE_TIME;
            }
            if p.kem.is_some() {
                flags |= FLAG_PENDING_KEM;
            }
        }
        if self.kem.is_some() {
            flags |= FLAG_HYBRID;
        }
        if self.handshake_base_key.is_some() {
            flags |= FLAG_BASE_KEY;
        }
        if self.header_keys.is_some() {
            flags |= FLAG_HEADER_ENCRYPTION;
        }
        out.put_u8(flags);
        out.put(self.local_identity.as_bytes());
        out.put(self.local_identity.x25519_bytes());
        out.put(self.remote_identity.as_bytes());
        out.put(self.remote_identity.x25519_bytes());
        out.put(self.root.as_bytes());
        out.put(self.sending.ratchet.as_bytes());
        out.put(&self.sending.ratchet_key);
        out.put(self.sending.chain.as_bytes());
        out.put_u32(self.sending.n);
        out.put_u32(self.previous_counter);
        if let Some(kind) = self.kem {
            out.put_u8(kind.to_byte());
        }
        if let Some(recv) = &self.receiving {
            out.put(&recv.ratchet_key);
            out.put(recv.chain.as_bytes());
            out.put_u32(recv.n);
        }
        if let Some(p) = &self.pending {
            out.put(&p.base_key);
            out.put_u32(p.signed_prekey_id);
            if let Some(id) = p.one_time_prekey_id {
                out.put_u32(id);
            }
            if let Some(k) = &p.kem {
                out.put_u32(k.prekey_id);
                out.put(&k.ciphertext);
            }
        }
        if let Some(k) = &self.handshake_base_key {
            out.put(k);
        }
        if let Some(keys) = &self.header_keys {
            out.put(keys.send.as_bytes());
            out.put(keys.next_send.as_bytes());
            out.put(keys.next_recv.as_bytes());
            if let Some(hkr) = &keys.recv {
                out.put(hkr.as_bytes());
            }
        }
        // Both counts are bounded by constants far below their field's range.
        out.put_u8(self.previous.len() as u8);
        for i in 0..self.previous.len() {
            if let Some(k) = self.previous.ratchet_key(i) {
                out.put(k);
            }
            if self.header_keys.is_some() {
                if let Some(hk) = self.previous.header_key(i) {
                    out.put(hk.as_bytes());
                }
            }
        }
        out.put_u16(self.skipped.len() as u16);
        for k in self.skipped.iter() {
            out.put(&k.ratchet_key);
            out.put_u32(k.n);
            out.put(k.key.as_bytes());
        }
    }

    fn decode_body(r: &mut Reader<'_>, version: u8) -> Result<Self, DecodeError> {
        let flags = r.u8()?;
        let mut known = FLAG_INITIATOR
            | FLAG_RECEIVING
            | FLAG_PENDING
            | FLAG_PENDING_ONE_TIME
            | FLAG_BASE_KEY
            | FLAG_HEADER_ENCRYPTION;
        if version >= 3 {
            known |= FLAG_HYBRID | FLAG_PENDING_KEM;
        }
        if flags & !known != 0 {
            return Err(DecodeError::InvalidFlags(flags));
        }
        let initiator = flags & FLAG_INITIATOR != 0;
        let has_pending = flags & FLAG_PENDING != 0;
        let has_base_key = flags & FLAG_BASE_KEY != 0;
        let has_receiving = flags & FLAG_RECEIVING != 0;
        // Only an initiator awaits a reply, and it has a receiving chain
        // exactly when it no longer does; only a responder has a base key,
        // and it always has a receiving chain (accept decrypted a message).
        if (has_base_key == initiator)
            || (flags & FLAG_PENDING_ONE_TIME != 0 && !has_pending)
            || (flags & FLAG_PENDING_KEM != 0 && !(has_pending && flags & FLAG_HYBRID != 0))
            || (has_pending && flags & FLAG_HYBRID != 0 && flags & FLAG_PENDING_KEM == 0)
            || (initiator && has_pending == has_receiving)
            || (!initiator && (has_pending || !has_receiving))
        {
            return Err(DecodeError::InvalidFlags(flags));
        }
        let local_identity = read_identity(r, version)?;
        let remote_identity = read_identity(r, version)?;
        let root = RootKey::from_bytes(r.array()?);
        let ratchet = read_secret(r)?;
        // Version 2 stores the public key; version 1 recomputes it.
        let ratchet_key = if version == 1 { x25519_public(&ratchet) } else { r.x25519_key()? };
        let chain = ChainKey::from_bytes(r.array()?);
        let n = r.u32()?;
        let previous_counter = r.u32()?;
        let kem = if flags & FLAG_HYBRID != 0 { Some(KemType::from_byte(r.u8()?)?) } else { None };
        let receiving = if has_receiving {
            let ratchet_key = r.x25519_key()?;
            let chain = ChainKey::from_bytes(r.array()?);
            let n = r.u32()?;
            Some(ReceivingChain { ratchet_key, chain, n })
        } else {
            None
        };
        let pending = if has_pending {
            let base_key = r.x25519_key()?;
            let signed_prekey_id = r.u32()?;
            let one_time_prekey_id = if flags & FLAG_PENDING_ONE_TIME != 0 { Some(r.u32()?) } else { None };
            let kem = match kem {
                Some(kind) if flags & FLAG_PENDING_KEM != 0 => {
                    let prekey_id = r.u32()?;
                    let ciphertext = r.take(kind.ciphertext_len())?.to_vec();
                    Some(KemPart { kind, prekey_id, ciphertext })
                }
                _ => None,
            };
            Some(PreKeyPart {
                identity: local_identity.clone(),
                base_key,
                signed_prekey_id,
                one_time_prekey_id,
                kem,
            })
        } else {
            None
        };
        let handshake_base_key = if has_base_key { Some(r.x25519_key()?) } else { None };
        let header_keys = if flags & FLAG_HEADER_ENCRYPTION != 0 {
            let send = HeaderKey::from_bytes(r.array()?);
            let next_send = HeaderKey::from_bytes(r.array()?);
            let next_recv = HeaderKey::from_bytes(r.array()?);
            let recv = if has_receiving { Some(HeaderKey::from_bytes(r.array()?)) } else { None };
            Some(HeaderKeys { send, next_send, recv, next_recv })
        } else {
            None
        };
        let count = usize::from(r.u8()?);
        if count > MAX_PREVIOUS_RATCHET_KEYS {
            return Err(DecodeError::InvalidValue);
        }
        let mut previous = PreviousChains::default();
        for _ in 0..count {
            let key = r.x25519_key()?;
            if header_keys.is_some() {
                let hk = HeaderKey::from_bytes(r.array()?);
                previous.push(key, Some(&hk));
            } else {
                previous.push(key, None);
            }
        }
        let count = usize::from(r.u16()?);
        if count > MAX_SKIPPED_KEYS {
            return Err(DecodeError::InvalidValue);
        }
        if count * SESSION_BYTES_PER_SKIPPED_KEY > r.remaining() {
            return Err(DecodeError::Truncated);
        }
        let mut skipped = SkippedKeys::with_capacity(count);
        for _ in 0..count {
            let ratchet_key = r.x25519_key()?;
            let n = r.u32()?;
            if n == u32::MAX {
                return Err(DecodeError::InvalidValue);
            }
            let key = MessageKey::from_bytes(r.array()?);
            skipped.push(&ratchet_key, n, &key);
        }
        let ad = if initiator {
            associated_data(&local_identity, &remote_identity)
        } else {
            associated_data(&remote_identity, &local_identity)
        };
        Ok(Session {
            initiator,
            ad,
            local_identity,
            remote_identity,
            root,
            sending: SendingChain { ratchet_key, ratchet, chain, n },
            previous_counter,
            receiving,
            previous,
            skipped,
            pending,
            handshake_base_key,
            header_keys,
            kem,
        })
    }
}

/// Format tag of an encoded [`AccountKeyPair`] (`'A'`).
pub const TAG_ACCOUNT: u8 = 0x41;
/// Format tag of an encoded [`PeerAccount`] (`'T'`).
pub const TAG_PEER_ACCOUNT: u8 = 0x54;

persist_api!(AccountKeyPair, "the account key pair");
persist_api!(PeerAccount, "what is trusted about a peer account");
persist_api!(LocalDevice, "the local device (identity, certificate and prekeys)");
persist_api!(SessionRecord, "the record of sessions with one device");

persist_seed!(AccountKeyPair, TAG_ACCOUNT);

/// A signed encoding inside stored state: its signature was checked when it
/// was first decoded, and is checked again (a failure is corruption).
fn read_list(r: &mut Reader<'_>) -> Result<DeviceList, DecodeError> {
    let len = usize::from(r.u16()?);
    DeviceList::from_bytes(r.take(len)?).map_err(Error::in_stored_state)
}

fn write_list(out: &mut Vec<u8>, list: &DeviceList) {
    // At most 2 + 32 + 8 + 1 + 16 * 36 + 64 bytes.
    out.put_u16(list.encoded_len() as u16);
    out.put(&list.to_bytes());
}

impl Persist for PeerAccount {
    const TAG: u8 = TAG_PEER_ACCOUNT;
    const VERSION: u8 = STATE_VERSION;
    fn encoded_len(&self) -> usize {
        1 + 1
            + self.user_id.len()
            + 2
            + self.list.encoded_len()
            + 1
            + self.pending.as_ref().map_or(0, |p| 2 + p.encoded_len())
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        out.put_u8(match self.level {
            TrustLevel::TrustedOnFirstUse => 1,
            TrustLevel::Verified => 2,
        });
        // At most MAX_STABLE_ID_LEN bytes, checked when the account was made.
        out.put_u8(self.user_id.len() as u8);
        out.put(&self.user_id);
        write_list(out, &self.list);
        match &self.pending {
            None => out.put_u8(0),
            Some(p) => {
                out.put_u8(1);
                write_list(out, p);
            }
        }
    }
    fn decode_body(r: &mut Reader<'_>, _version: u8) -> Result<Self, DecodeError> {
        let level = match r.u8()? {
            1 => TrustLevel::TrustedOnFirstUse,
            2 => TrustLevel::Verified,
            _ => return Err(DecodeError::InvalidValue),
        };
        let n = usize::from(r.u8()?);
        let user_id = r.take(n)?.to_vec();
        let list = read_list(r)?;
        let pending = match r.u8()? {
            0 => None,
            1 => {
                let p = read_list(r)?;
                if p.account_key() == list.account_key() {
                    return Err(DecodeError::InvalidValue);
                }
                Some(p)
            }
            _ => return Err(DecodeError::InvalidValue),
        };
        Ok(PeerAccount { user_id, level, list, pending })
    }
}

const SIGNED_BODY_LEN: usize = 4 + 32 + 64;
const KEM_BODY_LEN: usize = 1 + 4 + KEM_SEED_LEN + 64;

impl Persist for LocalDevice {
    const TAG: u8 = TAG_LOCAL_DEVICE;
    const VERSION: u8 = DEVICE_FORMAT_VERSION;
    fn encoded_len(&self) -> usize {
        32 + DEVICE_CERTIFICATE_LEN
            + 8
            + 4
            + 4
            + SIGNED_BODY_LEN
            + KEM_BODY_LEN
            + 1
            + self.retired.len() * (8 + SIGNED_BODY_LEN + KEM_BODY_LEN)
            + 2
            + self.one_time.len() * 36
            + 2
            + self.kem_one_time.len() * KEM_BODY_LEN
            + 2
            + self.reusable_seen.len() * 36
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        out.put(&self.identity.seed()[..]);
        out.put(&self.certificate.to_bytes());
        out.put_u64(self.rotated_at);
        out.put_u32(self.next_id);
        out.put_u32(self.uploaded_through);
        self.signed.encode_body(out);
        self.last_resort.encode_body(out);
        // Bounded by MAX_RETIRED_SIGNED_PREKEYS, MAX_ONE_TIME_PREKEYS and
        // MAX_KEM_ONE_TIME_PREKEYS.
        out.put_u8(self.retired.len() as u8);
        for r in &self.retired {
            out.put_u64(r.retired_at);
            r.signed.encode_body(out);
            r.last_resort.encode_body(out);
        }
        out.put_u16(self.one_time.len() as u16);
        for k in &self.one_time {
            k.encode_body(out);
        }
        out.put_u16(self.kem_one_time.len() as u16);
        for k in &self.kem_one_time {
            k.encode_body(out);
        }
        // At most MAX_LAST_RESORT_HANDSHAKES.
        out.put_u16(self.reusable_seen.len() as u16);
        for (base, spk) in &self.reusable_seen {
            out.put(base);
            out.put_u32(*spk);
        }
    }
    fn decode_body(r: &mut Reader<'_>, _version: u8) -> Result<Self, DecodeError> {
        let seed = Zeroizing::new(r.array::<32>()?);
        let identity = IdentityKeyPair::from_seed(&seed);
        let certificate =
            DeviceCertificate::from_bytes(r.take(DEVICE_CERTIFICATE_LEN)?).map_err(Error::in_stored_state)?;
        if certificate.identity() != identity.public_key() {
            return Err(DecodeError::InvalidValue);
        }
        let rotated_at = r.u64()?;
        let next_id = r.u32()?;
        let uploaded_through = r.u32()?;
        if next_id == 0 || uploaded_through >= next_id {
            return Err(DecodeError::InvalidValue);
        }
        let mut ids = Vec::new();
        let signed = Box::new(SignedPreKey::decode_body(r, STATE_VERSION)?);
        let last_resort = Box::new(KemPreKey::decode_body(r, STATE_VERSION)?);
        ids.push(signed.id());
        ids.push(last_resort.id());
        let n_retired = usize::from(r.u8()?);
        if n_retired > MAX_RETIRED_SIGNED_PREKEYS {
            return Err(DecodeError::InvalidValue);
        }
        let mut retired = Vec::with_capacity(n_retired);
        for _ in 0..n_retired {
            let retired_at = r.u64()?;
            let signed = Box::new(SignedPreKey::decode_body(r, STATE_VERSION)?);
            let last_resort = Box::new(KemPreKey::decode_body(r, STATE_VERSION)?);
            ids.push(signed.id());
            ids.push(last_resort.id());
            retired.push(Retired { signed, last_resort, retired_at });
        }
        let n = usize::from(r.u16()?);
        if n > MAX_ONE_TIME_PREKEYS || n * 36 > r.remaining() {
            return Err(DecodeError::InvalidValue);
        }
        let mut one_time: Vec<Box<OneTimePreKey>> = Vec::with_capacity(n);
        for _ in 0..n {
            let k = OneTimePreKey::decode_body(r, STATE_VERSION)?;
            if one_time.last().is_some_and(|p| p.id() >= k.id()) {
                return Err(DecodeError::InvalidValue);
            }
            ids.push(k.id());
            one_time.push(Box::new(k));
        }
        let m = usize::from(r.u16()?);
        if m > MAX_KEM_ONE_TIME_PREKEYS || m * KEM_BODY_LEN > r.remaining() {
            return Err(DecodeError::InvalidValue);
        }
        let mut kem_one_time: Vec<Box<KemPreKey>> = Vec::with_capacity(m);
        for _ in 0..m {
            let k = KemPreKey::decode_body(r, STATE_VERSION)?;
            if kem_one_time.last().is_some_and(|p| p.id() >= k.id()) {
                return Err(DecodeError::InvalidValue);
            }
            ids.push(k.id());
            kem_one_time.push(Box::new(k));
        }
        let k = usize::from(r.u16()?);
        if k > (1 + n_retired) * MAX_LAST_RESORT_HANDSHAKES || k * 36 > r.remaining() {
            return Err(DecodeError::InvalidValue);
        }
        let mut reusable_seen: Vec<([u8; 32], u32)> = Vec::with_capacity(k);
        for _ in 0..k {
            reusable_seen.push((r.array()?, r.u32()?));
        }
        // Each entry belongs to a signed prekey held, at most
        // MAX_LAST_RESORT_HANDSHAKES per signed prekey.
        let spks: Vec<u32> =
            core::iter::once(signed.id()).chain(retired.iter().map(|r| r.signed.id())).collect();
        for spk in &spks {
            if reusable_seen.iter().filter(|(_, s)| s == spk).count() > MAX_LAST_RESORT_HANDSHAKES {
                return Err(DecodeError::InvalidValue);
            }
        }
        if reusable_seen.iter().any(|(_, s)| !spks.contains(s)) {
            return Err(DecodeError::InvalidValue);
        }
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) || ids.iter().any(|&id| id == 0 || id >= next_id) {
            return Err(DecodeError::InvalidValue);
        }
        Ok(LocalDevice {
            identity,
            certificate,
            signed,
            last_resort,
            rotated_at,
            retired,
            one_time,
            kem_one_time,
            next_id,
            uploaded_through,
            reusable_seen,
        })
    }
}

impl Persist for SessionRecord {
    const TAG: u8 = TAG_SESSION_RECORD;
    const VERSION: u8 = RECORD_FORMAT_VERSION;
    fn encoded_len(&self) -> usize {
        self.body_len()
    }
    fn encode_body(&self, out: &mut Vec<u8>) {
        SessionRecord::encode_body(self, out);
    }
    fn decode_body(r: &mut Reader<'_>, _version: u8) -> Result<Self, DecodeError> {
        SessionRecord::decode_body(r)
    }
}
