//! Per-call key agreement over an established session
//! ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §23).
//!
//! A call gets its own keys, never derived from the ratchet's message keys:
//! the caller sends a [`CallOffer`] (a fresh X25519 key and a fresh
//! ML-KEM-1024 encapsulation key) and the callee a [`CallAnswer`] (its own
//! X25519 key and an encapsulation to the caller's KEM key), each as the
//! plaintext of an ordinary [`Session::encrypt`](crate::Session::encrypt).
//! The session only carries and authenticates them. Both sides then derive
//! the call secret from the two ephemeral exchanges, bound to both identity
//! keys, the call id and the whole transcript (offer and answer), so a call
//! has forward secrecy of its own: its ephemeral keys are gone when the call
//! is set up, whatever later happens to the session.
//!
//! From the call secret come [`CallKeys`]: per-direction SRTP master keys
//! and salts for `AEAD_AES_256_GCM` (RFC 7714), for peer-to-peer calls, and
//! per-sender SFrame keys with their key ids (RFC 9605), for calls through
//! a media server. The SFrame sender is handed out once per call
//! ([`CallKeys::sframe_sender`]): a second sender from the same key would
//! repeat its nonces.
//!
//! Guarantees: a non-contributory X25519 exchange is refused; the answer
//! must name the offer's call id and KEM; the callee refuses a classical
//! offer unless its [`PqPolicy`] allows it; the caller's pending state is
//! consumed by [`PendingCall::complete`], so an offer's secrets are used
//! once.

use alloc::vec::Vec;
use core::fmt;

use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use x25519_dalek::StaticSecret;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{
    codec::{Reader, Writer},
    identity::IdentityKey,
    kem::{DecapsulationKeyPair, EncapsulationKeyOf, KemType, KEM_SHARED_SECRET_LEN},
    media::sframe::{CipherSuite, SframeReceiver, SframeSender},
    prekey::random_x25519,
    primitives::{ct_eq, hkdf, hkdf_expand, x25519, x25519_public},
    session::{PqPolicy, Session},
    Error,
};

/// Format tag of a [`CallOffer`] (`'o'`).
pub const TAG_CALL_OFFER: u8 = 0x6F;
/// Format tag of a [`CallAnswer`] (`'a'`).
pub const TAG_CALL_ANSWER: u8 = 0x61;
/// The version of the call offer and answer formats.
pub const CALL_FORMAT_VERSION: u8 = 0x01;
/// Bytes of a call id.
pub const CALL_ID_LEN: usize = 16;
/// Bytes of an SRTP master key for `AEAD_AES_256_GCM` (RFC 7714).
pub const SRTP_MASTER_KEY_LEN: usize = 32;
/// Bytes of an SRTP master salt for `AEAD_AES_256_GCM` (RFC 7714).
pub const SRTP_MASTER_SALT_LEN: usize = 12;
/// Bytes of an SFrame base key.
pub const SFRAME_BASE_KEY_LEN: usize = 32;
/// The SFrame key id of the caller's media.
pub const SFRAME_KID_CALLER: u64 = 0;
/// The SFrame key id of the callee's media.
pub const SFRAME_KID_CALLEE: u64 = 1;

const LABEL_CALL: &[u8] = b"chatcrypt v3 call";
const LABEL_SRTP_CALLER: &[u8] = b"chatcrypt v3 call srtp caller";
const LABEL_SRTP_CALLEE: &[u8] = b"chatcrypt v3 call srtp callee";
const LABEL_SFRAME_CALLER: &[u8] = b"chatcrypt v3 call sframe caller";
const LABEL_SFRAME_CALLEE: &[u8] = b"chatcrypt v3 call sframe callee";

/// Which end of a call this side is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallRole {
    /// The side that sent the offer.
    Caller,
    /// The side that answered.
    Callee,
}

/// An offer to start a call: the call id, the caller's ephemeral X25519 key
/// and, for a hybrid call, its ephemeral KEM encapsulation key
/// (SPEC.md §23.1). Send [`to_bytes`](Self::to_bytes) with
/// [`Session::encrypt`](crate::Session::encrypt).
#[derive(Clone)]
pub struct CallOffer {
    call_id: [u8; CALL_ID_LEN],
    ephemeral: [u8; 32],
    kem: Option<(KemType, Vec<u8>, EncapsulationKeyOf)>,
}

impl PartialEq for CallOffer {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}
impl Eq for CallOffer {}

/// The caller's secrets between offer and answer. Consumed by
/// [`complete`](Self::complete); zeroized on drop; not `Clone`.
pub struct PendingCall {
    offer: CallOffer,
    ephemeral: StaticSecret,
    kem: Option<DecapsulationKeyPair>,
    caller: IdentityKey,
    callee: IdentityKey,
}

/// The callee's answer: the call id, its ephemeral X25519 key and, for a
/// hybrid call, the KEM ciphertext (SPEC.md §23.1).
#[derive(Clone, PartialEq, Eq)]
pub struct CallAnswer {
    call_id: [u8; CALL_ID_LEN],
    ephemeral: [u8; 32],
    kem: Option<(KemType, Vec<u8>)>,
}

/// An SRTP master key and salt for `AEAD_AES_256_GCM` (RFC 7714). Secret:
/// zeroized on drop, not `Clone`, `Debug` hides it.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SrtpKeys {
    master_key: [u8; SRTP_MASTER_KEY_LEN],
    master_salt: [u8; SRTP_MASTER_SALT_LEN],
}

impl SrtpKeys {
    fn from_okm(okm: &[u8; SRTP_MASTER_KEY_LEN + SRTP_MASTER_SALT_LEN]) -> Self {
        let mut keys =
            SrtpKeys { master_key: [0; SRTP_MASTER_KEY_LEN], master_salt: [0; SRTP_MASTER_SALT_LEN] };
        keys.master_key.copy_from_slice(&okm[..SRTP_MASTER_KEY_LEN]);
        keys.master_salt.copy_from_slice(&okm[SRTP_MASTER_KEY_LEN..]);
        keys
    }

    /// The master key, to hand to the SRTP stack. Secret.
    pub fn master_key(&self) -> &[u8; SRTP_MASTER_KEY_LEN] {
        &self.master_key
    }

    /// The master salt.
    pub fn master_salt(&self) -> &[u8; SRTP_MASTER_SALT_LEN] {
        &self.master_salt
    }
}

impl fmt::Debug for SrtpKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpKeys").finish_non_exhaustive()
    }
}

/// An SFrame base key with its key id (RFC 9605 §4.4). Secret: zeroized on
/// drop, not `Clone`, `Debug` shows only the key id.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SframeBaseKey {
    kid: u64,
    key: [u8; SFRAME_BASE_KEY_LEN],
}

impl SframeBaseKey {
    /// The key id the sender puts in its frames' headers.
    pub fn kid(&self) -> u64 {
        self.kid
    }

    /// The base key, the input of RFC 9605's key schedule. Secret.
    pub fn key(&self) -> &[u8; SFRAME_BASE_KEY_LEN] {
        &self.key
    }
}

impl fmt::Debug for SframeBaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SframeBaseKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// The keys of one call, the same on both sides with the directions
/// swapped (SPEC.md §23.2).
pub struct CallKeys {
    call_id: [u8; CALL_ID_LEN],
    role: CallRole,
    hybrid: bool,
    srtp_caller: SrtpKeys,
    srtp_callee: SrtpKeys,
    sframe_caller: SframeBaseKey,
    sframe_callee: SframeBaseKey,
    sframe_sender_taken: bool,
}

impl CallKeys {
    /// The call id.
    pub fn call_id(&self) -> &[u8; CALL_ID_LEN] {
        &self.call_id
    }

    /// This side's role.
    pub fn role(&self) -> CallRole {
        self.role
    }

    /// Whether the call's key agreement included ML-KEM.
    pub fn is_post_quantum(&self) -> bool {
        self.hybrid
    }

    /// The SRTP keys this side sends with.
    pub fn srtp_send(&self) -> &SrtpKeys {
        match self.role {
            CallRole::Caller => &self.srtp_caller,
            CallRole::Callee => &self.srtp_callee,
        }
    }

    /// The SRTP keys this side receives with.
    pub fn srtp_receive(&self) -> &SrtpKeys {
        match self.role {
            CallRole::Caller => &self.srtp_callee,
            CallRole::Callee => &self.srtp_caller,
        }
    }

    /// The SFrame sender for this side's media under `suite`, made from this
    /// side's base key and key id. There is **one per call**: every sender
    /// made from the same key would start its counter at 0 again and reuse
    /// nonces, so a second call fails. Send every track of the call through
    /// this one sender (its counter is shared), and start a new call to get
    /// new keys.
    ///
    /// # Errors
    /// [`Error::Duplicate`] if the sender was already made.
    pub fn sframe_sender(&mut self, suite: CipherSuite) -> Result<SframeSender, Error> {
        if self.sframe_sender_taken {
            return Err(Error::Duplicate);
        }
        let base = match self.role {
            CallRole::Caller => &self.sframe_caller,
            CallRole::Callee => &self.sframe_callee,
        };
        let sender = SframeSender::new(suite, base.kid, 0, &base.key)?;
        self.sframe_sender_taken = true;
        Ok(sender)
    }

    /// An SFrame receiver for the peer's media under `suite`, holding the
    /// peer's base key for its key id.
    ///
    /// # Errors
    /// None in practice (a well-formed key).
    pub fn sframe_receiver(&self, suite: CipherSuite) -> Result<SframeReceiver, Error> {
        let base = self.sframe_receive();
        let mut receiver = SframeReceiver::new(suite);
        receiver.add_base_key(base.kid, 0, &base.key)?;
        Ok(receiver)
    }

    /// The SFrame base key (and key id) of the peer's media.
    pub fn sframe_receive(&self) -> &SframeBaseKey {
        match self.role {
            CallRole::Caller => &self.sframe_callee,
            CallRole::Callee => &self.sframe_caller,
        }
    }
}

impl fmt::Debug for CallKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallKeys")
            .field("role", &self.role)
            .field("post_quantum", &self.hybrid)
            .finish_non_exhaustive()
    }
}

impl CallOffer {
    /// Starts a call on `session` (we are the caller): draws the call id
    /// (16 bytes), the ephemeral X25519 key (32) and the ML-KEM-1024 key
    /// pair (a 64-byte seed) from `rng`, in that order.
    pub fn new<R: CryptoRng + ?Sized>(session: &Session, rng: &mut R) -> (PendingCall, CallOffer) {
        Self::new_with_kem(session, Some(KemType::MlKem1024), rng)
    }

    /// As [`new`](Self::new), with the KEM of the caller's choice, or none
    /// (a classical call, which a callee accepts only under
    /// [`PqPolicy::AllowClassical`]).
    pub fn new_with_kem<R: CryptoRng + ?Sized>(
        session: &Session,
        kem: Option<KemType>,
        rng: &mut R,
    ) -> (PendingCall, CallOffer) {
        let mut call_id = [0u8; CALL_ID_LEN];
        rng.fill_bytes(&mut call_id);
        let ephemeral = random_x25519(rng);
        let pair = kem.map(|kind| (kind, DecapsulationKeyPair::generate(kind, rng)));
        let offer = CallOffer {
            call_id,
            ephemeral: x25519_public(&ephemeral),
            kem: pair.as_ref().map(|(kind, p)| (*kind, p.public_key(), p.encapsulation_key())),
        };
        let pending = PendingCall {
            offer: offer.clone(),
            ephemeral,
            kem: pair.map(|(_, p)| p),
            caller: session.local_identity().clone(),
            callee: session.remote_identity().clone(),
        };
        (pending, offer)
    }

    /// The call id.
    pub fn call_id(&self) -> &[u8; CALL_ID_LEN] {
        &self.call_id
    }

    /// The offer's KEM, if hybrid.
    pub fn kem_type(&self) -> Option<KemType> {
        self.kem.as_ref().map(|(k, _, _)| *k)
    }

    /// The encoding: `'o' || 0x01 || call id || X25519 key || u8(KEM type,
    /// 0 for none) || [encapsulation key]`.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(
            TAG_CALL_OFFER,
            &self.call_id,
            &self.ephemeral,
            self.kem.as_ref().map(|(k, key, _)| (*k, &key[..])),
        )
    }

    /// Decodes an offer, checking the X25519 key's encoding and the KEM
    /// key (FIPS 203 §7.2).
    ///
    /// # Errors
    /// [`Error::Decode`]: a wrong tag or version, [`DecodeError::Truncated`](crate::DecodeError::Truncated),
    /// [`DecodeError::InvalidPublicKey`](crate::DecodeError::InvalidPublicKey), [`DecodeError::UnknownKeyType`](crate::DecodeError::UnknownKeyType),
    /// [`DecodeError::TrailingBytes`](crate::DecodeError::TrailingBytes), in layout order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        r.expect_header(TAG_CALL_OFFER, CALL_FORMAT_VERSION)?;
        let call_id = r.array()?;
        let ephemeral = r.x25519_key()?;
        let kem = match r.u8()? {
            0 => None,
            b => {
                let kind = KemType::from_byte(b)?;
                let key = r.take(kind.public_key_len())?;
                let parsed = EncapsulationKeyOf::parse(kind, key)?;
                Some((kind, key.to_vec(), parsed))
            }
        };
        r.finish()?;
        Ok(CallOffer { call_id, ephemeral, kem })
    }

    /// Answers the offer (we are the callee) on `session`, the session the
    /// offer arrived on: draws the ephemeral X25519 key (32 bytes) and the
    /// KEM encapsulation's message (32) from `rng`, in that order, and
    /// returns the call's keys and the answer to send back.
    ///
    /// # Errors
    /// [`Error::PostQuantumRequired`] if the offer is classical and `pq`
    /// requires a hybrid call (before anything is drawn);
    /// [`Error::NonContributory`] if the caller's X25519 key has low order.
    pub fn answer<R: CryptoRng + ?Sized>(
        &self,
        session: &Session,
        pq: PqPolicy,
        rng: &mut R,
    ) -> Result<(CallKeys, CallAnswer), Error> {
        if self.kem.is_none() && !matches!(pq, PqPolicy::AllowClassical) {
            return Err(Error::PostQuantumRequired);
        }
        let ephemeral = random_x25519(rng);
        let dh = x25519(&ephemeral, &self.ephemeral)?;
        let (kem, ss) = match &self.kem {
            None => (None, None),
            Some((kind, _, key)) => {
                let (ct, ss) = key.encapsulate(rng);
                (Some((*kind, ct)), Some(ss))
            }
        };
        let answer = CallAnswer { call_id: self.call_id, ephemeral: x25519_public(&ephemeral), kem };
        let keys = derive(
            CallRole::Callee,
            &self.call_id,
            &dh,
            ss.as_deref(),
            session.remote_identity(),
            session.local_identity(),
            &self.to_bytes(),
            &answer.to_bytes(),
        )?;
        Ok((keys, answer))
    }
}

impl fmt::Debug for CallOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallOffer").field("kem", &self.kem_type()).finish_non_exhaustive()
    }
}

impl CallAnswer {
    /// The call id.
    pub fn call_id(&self) -> &[u8; CALL_ID_LEN] {
        &self.call_id
    }

    /// The encoding: `'a' || 0x01 || call id || X25519 key || u8(KEM type,
    /// 0 for none) || [ciphertext]`.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(
            TAG_CALL_ANSWER,
            &self.call_id,
            &self.ephemeral,
            self.kem.as_ref().map(|(k, ct)| (*k, &ct[..])),
        )
    }

    /// Decodes an answer.
    ///
    /// # Errors
    /// As [`CallOffer::from_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        r.expect_header(TAG_CALL_ANSWER, CALL_FORMAT_VERSION)?;
        let call_id = r.array()?;
        let ephemeral = r.x25519_key()?;
        let kem = match r.u8()? {
            0 => None,
            b => {
                let kind = KemType::from_byte(b)?;
                Some((kind, r.take(kind.ciphertext_len())?.to_vec()))
            }
        };
        r.finish()?;
        Ok(CallAnswer { call_id, ephemeral, kem })
    }
}

impl fmt::Debug for CallAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallAnswer").field("kem", &self.kem.as_ref().map(|(k, _)| *k)).finish_non_exhaustive()
    }
}

impl PendingCall {
    /// The offer this pending call belongs to.
    pub fn offer(&self) -> &CallOffer {
        &self.offer
    }

    /// Completes the call with the callee's answer, which arrived on
    /// `session` (we are the caller). Consumes the pending call: its
    /// ephemeral secrets are used once. On error they are gone too; start a
    /// new offer.
    ///
    /// # Errors
    /// In this order: [`Error::WrongIdentity`] if `session` is not with the
    /// identity the offer was made for (an answer from another device or
    /// peer); [`Error::HandshakeMismatch`] if the answer names another call
    /// id or another KEM than the offer; [`Error::NonContributory`] if the
    /// callee's X25519 key has low order.
    pub fn complete(self, session: &Session, answer: &CallAnswer) -> Result<CallKeys, Error> {
        if !ct_eq(session.remote_identity().as_bytes(), self.callee.as_bytes()) {
            return Err(Error::WrongIdentity);
        }
        if answer.call_id != self.offer.call_id
            || answer.kem.as_ref().map(|(k, _)| *k) != self.offer.kem_type()
        {
            return Err(Error::HandshakeMismatch);
        }
        let dh = x25519(&self.ephemeral, &answer.ephemeral)?;
        let ss = match (&self.kem, &answer.kem) {
            (Some(pair), Some((_, ct))) => Some(pair.decapsulate(ct)?),
            _ => None,
        };
        derive(
            CallRole::Caller,
            &self.offer.call_id,
            &dh,
            ss.as_deref(),
            &self.caller,
            &self.callee,
            &self.offer.to_bytes(),
            &answer.to_bytes(),
        )
    }
}

impl fmt::Debug for PendingCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingCall").field("offer", &self.offer).finish_non_exhaustive()
    }
}

/// SPEC.md §23.1: `tag || 0x01 || call id || X25519 key || u8(KEM type, 0
/// for none) || [KEM key or ciphertext]`.
fn encode(
    tag: u8,
    call_id: &[u8; CALL_ID_LEN],
    ephemeral: &[u8; 32],
    kem: Option<(KemType, &[u8])>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + CALL_ID_LEN + 32 + 1 + kem.map_or(0, |(_, b)| b.len()));
    out.put_u8(tag);
    out.put_u8(CALL_FORMAT_VERSION);
    out.put(call_id);
    out.put(ephemeral);
    match kem {
        None => out.put_u8(0),
        Some((kind, bytes)) => {
            out.put_u8(kind.to_byte());
            out.put(bytes);
        }
    }
    out
}

/// SPEC.md §23.2: the call secret and the keys expanded from it.
#[allow(clippy::too_many_arguments)]
fn derive(
    role: CallRole,
    call_id: &[u8; CALL_ID_LEN],
    dh: &[u8; 32],
    ss: Option<&[u8; KEM_SHARED_SECRET_LEN]>,
    caller: &IdentityKey,
    callee: &IdentityKey,
    offer: &[u8],
    answer: &[u8],
) -> Result<CallKeys, Error> {
    let mut ikm = Zeroizing::new([0u8; 32 + KEM_SHARED_SECRET_LEN]);
    ikm[..32].copy_from_slice(dh);
    let ikm_len = match ss {
        Some(ss) => {
            ikm[32..].copy_from_slice(ss);
            32 + KEM_SHARED_SECRET_LEN
        }
        None => 32,
    };
    let transcript: [u8; 32] = Sha256::new().chain_update(offer).chain_update(answer).finalize().into();
    let mut info = [0u8; LABEL_CALL.len() + 32 + 32 + 32];
    info[..LABEL_CALL.len()].copy_from_slice(LABEL_CALL);
    info[LABEL_CALL.len()..LABEL_CALL.len() + 32].copy_from_slice(caller.as_bytes());
    info[LABEL_CALL.len() + 32..LABEL_CALL.len() + 64].copy_from_slice(callee.as_bytes());
    info[LABEL_CALL.len() + 64..].copy_from_slice(&transcript);
    let mut secret = Zeroizing::new([0u8; 32]);
    hkdf(call_id, &ikm[..ikm_len], &info, &mut secret[..])?;

    let mut okm = Zeroizing::new([0u8; SRTP_MASTER_KEY_LEN + SRTP_MASTER_SALT_LEN]);
    hkdf_expand(&secret[..], LABEL_SRTP_CALLER, &mut okm[..])?;
    let srtp_caller = SrtpKeys::from_okm(&okm);
    hkdf_expand(&secret[..], LABEL_SRTP_CALLEE, &mut okm[..])?;
    let srtp_callee = SrtpKeys::from_okm(&okm);
    let mut sframe_caller = SframeBaseKey { kid: SFRAME_KID_CALLER, key: [0; SFRAME_BASE_KEY_LEN] };
    hkdf_expand(&secret[..], LABEL_SFRAME_CALLER, &mut sframe_caller.key)?;
    let mut sframe_callee = SframeBaseKey { kid: SFRAME_KID_CALLEE, key: [0; SFRAME_BASE_KEY_LEN] };
    hkdf_expand(&secret[..], LABEL_SFRAME_CALLEE, &mut sframe_callee.key)?;
    Ok(CallKeys {
        call_id: *call_id,
        role,
        hybrid: ss.is_some(),
        srtp_caller,
        srtp_callee,
        sframe_caller,
        sframe_callee,
        sframe_sender_taken: false,
    })
}
