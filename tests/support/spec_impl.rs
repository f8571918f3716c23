//! A second, independent implementation of chatcrypt protocol version 2,
//! both modes (plain, and header encryption, §14), written from SPEC.md alone
//! (not from `src/`), on top of the raw primitive crates.
//! `tests/protocol_vectors.rs` uses it to recompute the committed vectors in
//! `test-vectors/protocol/` byte for byte.
//!
//! It receives version-1 messages too (§13: no reuse guard, 40-byte header,
//! `MESSAGE_KEYS_V1`) and decodes session state format versions 1, 2 and 3
//! (§10.4, §16.8), writing version 3. It implements the hybrid handshake of
//! §16 (KEM prekeys, the bundle's and the PreKeyMessage's KEM parts, the
//! hybrid initiator and responder with their post-quantum policy), calling
//! the `ml-kem` crate directly for FIPS 203 ML-KEM-1024. It can also *send* version-1 messages
//! (`Session::encrypt_v1`), which SPEC.md forbids a real sender: that exists
//! only so that `examples/gen_vectors.rs` can build the version-1 receive
//! vectors, which the library (a v2 sender only) cannot produce.
//!
//! It also implements the messenger formats (§17-§21: device certificates
//! and device lists, prekey uploads, retry messages, session records), the
//! media side (§22-§25), padding (§26) and sealed sender (§27: sender
//! certificates, sealing for one or many recipients, the server's split,
//! opening), at the end of the file, not from the library's code.
//!
//! It is deliberately small and direct: plain byte arrays, `Vec`s and one
//! error enum whose `Debug` form follows the names of SPEC.md §11. Comments
//! cite the SPEC.md section each step comes from. Where SPEC.md left a choice
//! open, the comment says `GUESS:` and what was chosen (every guess is
//! consistent with the vectors). Where the library is known to differ from
//! SPEC.md, the comment says `LIBRARY DIFFERS:`; this implementation follows
//! SPEC.md there, and the committed vectors avoid those inputs.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use ml_kem::kem::{Decapsulate, KeyExport};
use ml_kem::{DecapsulationKey, EncapsulationKey, MlKem1024};
use sha2::{Digest, Sha256, Sha512};
use x25519_dalek::{PublicKey, StaticSecret};

// ---------------------------------------------------------------------------
// Constants (§3, §5, §6.1, §9, §10, §13)

/// `"chatcrypt v1 signed prekey"` (§3), 26 bytes.
pub const LABEL_SIGNED_PREKEY: &[u8] = b"chatcrypt v1 signed prekey";
/// `INFO_X3DH` (§5).
pub const INFO_X3DH: &[u8] = b"chatcrypt v1 X3DH";
/// Info of `KDF_RK` (§6.1).
pub const INFO_ROOT: &[u8] = b"chatcrypt v1 root";
/// Info prefix of `MESSAGE_KEYS` (§6.1); the 16-byte reuse guard follows it.
pub const INFO_MESSAGE_KEYS: &[u8] = b"chatcrypt v2 message keys";
/// Info of `MESSAGE_KEYS_V1` (§6.1, version-1 messages only).
pub const INFO_MESSAGE_KEYS_V1: &[u8] = b"chatcrypt v1 message keys";
/// Info of the header-encryption X3DH derivation (§14.2).
pub const INFO_X3DH_HE: &[u8] = b"chatcrypt v1 X3DH header encryption";
/// Info of `KDF_RK_HE` (§14.1).
pub const INFO_ROOT_HE: &[u8] = b"chatcrypt v1 root header encryption";
/// Info prefix of `HEADER_KEYS` (§14.1); the 16-byte sample follows it.
pub const INFO_HEADER: &[u8] = b"chatcrypt v1 header";

/// §9.
pub const MAX_SKIP: u32 = 1000;
/// §9.
pub const MAX_SKIPPED_KEYS: usize = 2000;
/// §9.
pub const MAX_PREVIOUS_RATCHET_KEYS: usize = 8;
/// §9.
pub const MAX_PLAINTEXT_LEN: usize = 1_048_576;
/// §9, §16.4: `1648 + 72 + MAX_PLAINTEXT_LEN + 16`, the same bound in both
/// modes; 1648 is the longest prefix, a classical one (75) and a KEM part
/// (1 + 4 + 1568).
pub const MAX_MESSAGE_LEN: usize = 75 + KEM_PART_LEN + ENCRYPTED_HEADER_LEN + MAX_PLAINTEXT_LEN + TAG_LEN;

// §16.1, §16.2, §16.5.

/// The KEM type byte of ML-KEM-1024 (§16.1).
pub const KEM_ML_KEM_1024: u8 = 0x01;
/// `KEM_NAME` of ML-KEM-1024 (§16.1).
pub const KEM_NAME: &[u8] = b"ML-KEM-1024";
/// Length of an ML-KEM-1024 encapsulation key (§16.1).
pub const KEM_EK_LEN: usize = 1568;
/// Length of an ML-KEM-1024 ciphertext (§16.1).
pub const KEM_CT_LEN: usize = 1568;
/// Length of a KEM seed `d || z` (§16.1).
pub const KEM_SEED_LEN: usize = 64;
/// `"chatcrypt v3 kem prekey"` (§16.2), 23 bytes.
pub const LABEL_KEM_PREKEY: &[u8] = b"chatcrypt v3 kem prekey";
/// The start of the hybrid X3DH info (§16.5); `KEM_NAME` follows.
pub const INFO_HYBRID: &[u8] = b"chatcrypt v3 hybrid X3DH ";
/// Follows `KEM_NAME` in the hybrid info with header encryption (§16.5).
pub const INFO_HYBRID_HE_SUFFIX: &[u8] = b" header encryption";
/// Length of a KEM prekey's public encoding (§16.2): 1637.
pub const KEM_PREKEY_PUBLIC_LEN: usize = 1 + 4 + KEM_EK_LEN + 64;
/// Length of a PreKeyMessage's KEM part (§16.4): 1573.
pub const KEM_PART_LEN: usize = 1 + 4 + KEM_CT_LEN;

/// Protocol version byte of everything sent (§4, §7, §13).
pub const VERSION: u8 = 0x02;
/// Version byte of version-1 messages, received only (§13).
pub const VERSION_1: u8 = 0x01;
/// Message type of a PreKeyMessage (§7.2).
pub const TYPE_PREKEY: u8 = 0x01;
/// Message type of a Message (§7.1).
pub const TYPE_MESSAGE: u8 = 0x02;
/// Message type of a header-encrypted PreKeyMessage (§14.3).
pub const TYPE_PREKEY_HE: u8 = 0x03;
/// Message type of a header-encrypted Message (§14.3).
pub const TYPE_MESSAGE_HE: u8 = 0x04;
/// Length of the reuse guard `G` (§6.3 step 1).
pub const GUARD_LEN: usize = 16;
/// Length of the ratchet header `H = DHs_pub || u32(PN) || u32(N) || G` (§6.3 step 3).
pub const HEADER_LEN: usize = 32 + 4 + 4 + GUARD_LEN;
/// Length of a version-1 ratchet header, without `G` (§13).
pub const HEADER_LEN_V1: usize = 32 + 4 + 4;
/// Length of the encrypted header `EH` (§14.3).
pub const ENCRYPTED_HEADER_LEN: usize = HEADER_LEN + TAG_LEN;
/// Length of the header-key sample (§14.1, §14.3 step 2).
pub const SAMPLE_LEN: usize = 16;
/// AES-GCM tag length (§2).
pub const TAG_LEN: usize = 16;
/// Length of a message id `DHs_pub || u32(N) || G` (§8.1).
pub const MESSAGE_ID_LEN: usize = 32 + 4 + GUARD_LEN;

/// State tags and versions (§10).
pub const TAG_SIGNED_PREKEY: u8 = 0x50;
pub const TAG_ONE_TIME_PREKEY: u8 = 0x4F;
pub const TAG_SESSION: u8 = 0x53;
/// §16.2: the stored KEM prekey ('K').
pub const TAG_KEM_PREKEY: u8 = 0x4B;
/// Format version of identities, prekeys and sealed state (§10).
pub const STATE_VERSION: u8 = 0x01;
/// Format version of the sessions this implementation writes (§10.4).
pub const SESSION_STATE_VERSION: u8 = 0x03;
/// §10.4: the bytes of a version-2 session without optional parts.
pub const SESSION_FIXED_LEN: usize = 270;
/// §10.4.
pub const SESSION_BYTES_PER_SKIPPED_KEY: usize = 32 + 4 + 32;

/// A message id (§8.1).
pub type MessageId = [u8; MESSAGE_ID_LEN];

// ---------------------------------------------------------------------------
// Errors (§11). The variant names and fields follow SPEC.md so that the
// derived `Debug` form can be compared with the library's.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    Truncated,
    TrailingBytes,
    UnsupportedVersion(u8),
    UnexpectedType(u8),
    /// The whole flags byte (§1).
    InvalidFlags(u8),
    InvalidPublicKey,
    InvalidValue,
    /// §16.1: a KEM type byte no KEM has.
    UnknownKeyType(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    Decode(DecodeError),
    BadSignature,
    NonContributory,
    UnknownPreKey {
        id: u32,
    },
    WrongIdentity,
    HandshakeMismatch,
    Auth,
    Duplicate,
    TooFarAhead {
        got: u32,
        max: u32,
    },
    TooLarge {
        len: usize,
        max: usize,
    },
    CounterExhausted,
    ModeNotAllowed {
        mode: Mode,
    },
    /// §16.5 step 1, §16.6 step 2.
    PostQuantumRequired,
    /// §24.5 step 5, §25.3: no key covers the frame's KID.
    UnknownKeyId {
        kid: u64,
    },
    /// §24.5: a counter older than the replay window.
    CounterTooOld {
        ctr: u64,
        oldest: u64,
    },
    /// §24.4: a sender that cannot ratchet.
    NoRatchet,
    /// §22.2 step 2, §22.5 step 2.
    ChunkLength {
        len: usize,
        expected: usize,
    },
    /// §22.2 step 2, §22.5 step 1.
    StreamFinished,
    /// §22.2 step 3, §22.5 (finishing).
    StreamIncomplete,
    /// §26.2: an unpadded plaintext that is not exactly what its policy gives.
    Padding,
    /// §27.1 validation step 1.
    UntrustedCertificate,
    /// §27.1 validation step 3.
    CertificateRevoked,
    /// §27.1 validation step 4.
    CertificateExpired,
    /// §27.5.
    SenderMismatch,
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}

pub type Result<T> = core::result::Result<T, Error>;

// ---------------------------------------------------------------------------
// Hex helpers (for the JSON files).

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex string");
    let digit = |c: u8| -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("bad hex digit {c:?}"),
        }
    };
    s.as_bytes().chunks(2).map(|p| (digit(p[0]) << 4) | digit(p[1])).collect()
}

// ---------------------------------------------------------------------------
// Primitives (§2)

/// `X25519(k, u)`: RFC 7748 with clamping of `k` (x25519-dalek clamps).
pub fn x25519_raw(k: &[u8; 32], u: &[u8; 32]) -> [u8; 32] {
    StaticSecret::from(*k).diffie_hellman(&PublicKey::from(*u)).to_bytes()
}

/// `X25519(k, u)` under the DH rule of §2: an all-zero output is `NonContributory`.
pub fn x25519(k: &[u8; 32], u: &[u8; 32]) -> Result<[u8; 32]> {
    let out = x25519_raw(k, u);
    if out == [0u8; 32] {
        return Err(Error::NonContributory);
    }
    Ok(out)
}

/// §2 "Canonical X25519 public keys": bit 255 clear and the little-endian
/// value below `p = 2^255 - 19`, else `InvalidPublicKey`. Written from the
/// definition: the value is at least `p` exactly when byte 31 is `0x7f`,
/// bytes 1-30 are `0xff` and byte 0 is at least `0xed`.
pub fn x25519_canonical(u: &[u8; 32]) -> Result<()> {
    let bit_255 = u[31] & 0x80 != 0;
    let at_least_p = u[31] == 0x7f && u[1..31].iter().all(|&b| b == 0xff) && u[0] >= 0xed;
    if bit_255 || at_least_p {
        return Err(DecodeError::InvalidPublicKey.into());
    }
    Ok(())
}

/// `X25519_BASE(k)`.
pub fn x25519_base(k: &[u8; 32]) -> [u8; 32] {
    PublicKey::from(&StaticSecret::from(*k)).to_bytes()
}

pub fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

pub fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) {
    Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, out).expect("HKDF output length");
}

pub fn hkdf_expand(prk: &[u8; 32], info: &[u8], out: &mut [u8]) {
    Hkdf::<Sha256>::from_prk(prk).expect("32-byte PRK").expand(info, out).expect("HKDF output length");
}

/// `AEAD(k, n, ad, p)` = `ciphertext || tag` (§2).
pub fn aead_seal(key: &[u8; 32], nonce: &[u8; 12], ad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(&(*key).into());
    let mut buf = plaintext.to_vec();
    let tag = cipher
        .encrypt_inout_detached(&(*nonce).into(), ad, InOutBuf::from(&mut buf[..]))
        .expect("AES-GCM seal");
    buf.extend_from_slice(tag.as_slice());
    buf
}

/// Opens `ciphertext || tag`; `Auth` on failure.
pub fn aead_open(key: &[u8; 32], nonce: &[u8; 12], ad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    if sealed.len() < TAG_LEN {
        return Err(Error::Auth);
    }
    let (ct, tag) = sealed.split_at(sealed.len() - TAG_LEN);
    let tag: [u8; TAG_LEN] = tag.try_into().expect("16 bytes");
    let cipher = Aes256Gcm::new(&(*key).into());
    let mut buf = ct.to_vec();
    cipher
        .decrypt_inout_detached(&(*nonce).into(), ad, InOutBuf::from(&mut buf[..]), &tag.into())
        .map_err(|_| Error::Auth)?;
    Ok(buf)
}

/// A strict Ed25519 public key (§2): canonical encoding and not of small order.
pub fn strict_public_key(bytes: &[u8; 32]) -> Result<VerifyingKey> {
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| DecodeError::InvalidPublicKey)?;
    // ed25519-dalek's decoding accepts non-canonical y (>= p); re-encode to check.
    if key.to_edwards().compress().to_bytes() != *bytes || key.is_weak() {
        return Err(DecodeError::InvalidPublicKey.into());
    }
    Ok(key)
}

/// Strict Ed25519 verification (§2). `verify_strict` checks `S < L`, rejects
/// small-order `R` and `A`, and compares the recomputed `R` by its encoding.
pub fn verify_strict(public: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    match strict_public_key(public) {
        Ok(key) => key.verify_strict(msg, &Signature::from_bytes(sig)).is_ok(),
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------
// Keys (§3)

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub seed: [u8; 32],
    /// `IK`, the Ed25519 public key.
    pub public: [u8; 32],
    /// `ik_x = SHA-512(seed)[0..32]`, unclamped.
    pub x25519_private: [u8; 32],
    /// `IK_x`, the Montgomery form of `IK`.
    pub x25519_public: [u8; 32],
}

impl Identity {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let public = SigningKey::from_bytes(seed).verifying_key().to_bytes();
        let digest = Sha512::digest(seed);
        let x25519_private: [u8; 32] = digest[..32].try_into().expect("32 bytes");
        let x25519_public = identity_x25519_public(&public).expect("own key is strict");
        assert_eq!(x25519_public, x25519_base(&x25519_private), "SPEC §3: IK_x == X25519_BASE(ik_x)");
        Identity { seed: *seed, public, x25519_private, x25519_public }
    }

    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        SigningKey::from_bytes(&self.seed).sign(msg).to_bytes()
    }
}

/// `IK_x`: the Montgomery u-coordinate `(1 + y) / (1 - y)` of a (strict) Ed25519 key (§3).
pub fn identity_x25519_public(ed25519_public: &[u8; 32]) -> Result<[u8; 32]> {
    Ok(strict_public_key(ed25519_public)?.to_montgomery().to_bytes())
}

/// `"chatcrypt v1 signed prekey" || u32(spk_id) || SPK` (§3), 62 bytes.
pub fn signed_prekey_message(id: u32, spk: &[u8; 32]) -> Vec<u8> {
    let mut m = LABEL_SIGNED_PREKEY.to_vec();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(spk);
    assert_eq!(m.len(), 62);
    m
}

/// A signed prekey with its secret (§3, §10.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedPreKey {
    pub id: u32,
    pub private: [u8; 32],
    pub signature: [u8; 64],
}

impl SignedPreKey {
    pub fn public(&self) -> [u8; 32] {
        x25519_base(&self.private)
    }

    /// §10.2: `0x50 || 0x01 || u32(id) || private key (32) || SIG (64)`.
    pub fn to_state_bytes(&self) -> Vec<u8> {
        let mut b = vec![TAG_SIGNED_PREKEY, STATE_VERSION];
        b.extend_from_slice(&self.id.to_be_bytes());
        b.extend_from_slice(&self.private);
        b.extend_from_slice(&self.signature);
        assert_eq!(b.len(), 102);
        b
    }
}

/// A one-time prekey with its secret (§3, §10.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneTimePreKey {
    pub id: u32,
    pub private: [u8; 32],
}

impl OneTimePreKey {
    pub fn public(&self) -> [u8; 32] {
        x25519_base(&self.private)
    }

    /// §10.3: `0x4F || 0x01 || u32(id) || private key (32)`.
    pub fn to_state_bytes(&self) -> Vec<u8> {
        let mut b = vec![TAG_ONE_TIME_PREKEY, STATE_VERSION];
        b.extend_from_slice(&self.id.to_be_bytes());
        b.extend_from_slice(&self.private);
        assert_eq!(b.len(), 38);
        b
    }
}

// ---------------------------------------------------------------------------
// KEM (§16.1) and KEM prekeys (§16.2). ML-KEM-1024 itself is the `ml-kem`
// crate's; the FIPS 203 §7.2 modulus check is also written out here from
// its definition and must agree with the crate's.

/// §16.1: `0x01` is ML-KEM-1024; any other type byte is `UnknownKeyType`.
pub fn kem_type_check(t: u8) -> Result<()> {
    if t == KEM_ML_KEM_1024 {
        Ok(())
    } else {
        Err(DecodeError::UnknownKeyType(t).into())
    }
}

/// FIPS 203 §7.2's modulus check written from its definition:
/// `ByteEncode_12(ByteDecode_12(ek[0..1536])) = ek[0..1536]` holds exactly
/// when every 12-bit coefficient (two per three bytes, little-endian) is
/// below `q = 3329` (ByteDecode_12 reduces modulo q).
pub fn kem_modulus_check(ek: &[u8]) -> bool {
    ek.len() == KEM_EK_LEN
        && ek[..384 * 4].chunks(3).all(|c| {
            let a = u16::from(c[0]) | (u16::from(c[1] & 0x0f) << 8);
            let b = u16::from(c[1] >> 4) | (u16::from(c[2]) << 4);
            a < 3329 && b < 3329
        })
}

/// §16.1 "Encapsulation-key check": the length, then the modulus check,
/// else `InvalidPublicKey`. Returns the `ml-kem` key, whose own check
/// (`EncapsulationKey::new`) must agree with `kem_modulus_check`.
pub fn kem_check_public_key(ek: &[u8]) -> Result<EncapsulationKey<MlKem1024>> {
    let arr = ml_kem::array::Array::try_from(ek).map_err(|_| DecodeError::InvalidPublicKey)?;
    let parsed = EncapsulationKey::<MlKem1024>::new(&arr);
    assert_eq!(parsed.is_ok(), kem_modulus_check(ek), "ml-kem's key check and FIPS 203 §7.2's disagree");
    parsed.map_err(|_| DecodeError::InvalidPublicKey.into())
}

/// `ML-KEM.KeyGen_internal(d, z)` with `seed = d || z` (§16.1): the
/// encapsulation key `EK`.
pub fn kem_public_key(seed: &[u8; KEM_SEED_LEN]) -> Vec<u8> {
    let dk = DecapsulationKey::<MlKem1024>::from_seed(ml_kem::array::Array::from(*seed));
    let ek = dk.encapsulation_key().to_bytes().to_vec();
    assert_eq!(ek.len(), KEM_EK_LEN);
    ek
}

/// `(CT, SS) = ML-KEM.Encaps_internal(EK, m)` (§16.1), after the key check.
pub fn kem_encapsulate(ek: &[u8], m: &[u8; 32]) -> Result<(Vec<u8>, [u8; 32])> {
    let key = kem_check_public_key(ek)?;
    let (ct, k) = key.encapsulate_deterministic(&ml_kem::array::Array::from(*m));
    let mut ss = [0u8; 32];
    ss.copy_from_slice(&k);
    assert_eq!(ct.len(), KEM_CT_LEN);
    Ok((ct.to_vec(), ss))
}

/// `SS = ML-KEM.Decaps(dk, CT)` (§16.1), implicit rejection included: any
/// ciphertext of the right length gives a secret. (Decoders never let one
/// of another length through, §16.4.)
pub fn kem_decapsulate(seed: &[u8; KEM_SEED_LEN], ct: &[u8]) -> [u8; 32] {
    let dk = DecapsulationKey::<MlKem1024>::from_seed(ml_kem::array::Array::from(*seed));
    let ct = ml_kem::array::Array::try_from(ct).expect("a 1568-byte ciphertext");
    let k = dk.decapsulate(&ct);
    let mut ss = [0u8; 32];
    ss.copy_from_slice(&k);
    ss
}

/// `"chatcrypt v3 kem prekey" || u8(type) || u32(id) || EK` (§16.2), 1596
/// bytes for ML-KEM-1024.
pub fn kem_prekey_message(kem_type: u8, id: u32, ek: &[u8]) -> Vec<u8> {
    let mut m = LABEL_KEM_PREKEY.to_vec();
    m.push(kem_type);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(ek);
    m
}

/// The public part of a KEM prekey (§16.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KemPreKeyPublic {
    pub kem_type: u8,
    pub id: u32,
    /// `EK`.
    pub ek: Vec<u8>,
    /// `SIG_K`.
    pub signature: [u8; 64],
}

impl KemPreKeyPublic {
    /// §16.2 public encoding: `type || u32(id) || EK || SIG_K`, 1637 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![self.kem_type];
        b.extend_from_slice(&self.id.to_be_bytes());
        b.extend_from_slice(&self.ek);
        b.extend_from_slice(&self.signature);
        b
    }

    /// Reads the public encoding in layout order (§16.2): the type
    /// (`UnknownKeyType`), the id, `EK` (`Truncated`, then the check of
    /// §16.1), `SIG_K`.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let kem_type = r.u8()?;
        kem_type_check(kem_type)?;
        let id = r.u32()?;
        let ek = r.take(KEM_EK_LEN)?.to_vec();
        kem_check_public_key(&ek)?;
        let signature = r.arr64()?;
        Ok(KemPreKeyPublic { kem_type, id, ek, signature })
    }

    /// Decodes a whole public encoding (extra bytes: `TrailingBytes`).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let k = Self::read(&mut r)?;
        r.finish()?;
        Ok(k)
    }

    /// `SIG_K` verified strictly under the owner's `IK` (§16.2), else `BadSignature`.
    pub fn verify(&self, owner: &[u8; 32]) -> Result<()> {
        if verify_strict(owner, &kem_prekey_message(self.kem_type, self.id, &self.ek), &self.signature) {
            Ok(())
        } else {
            Err(Error::BadSignature)
        }
    }
}

/// A KEM prekey with its seed (§16.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KemPreKey {
    pub kem_type: u8,
    pub id: u32,
    /// `d || z`.
    pub seed: [u8; KEM_SEED_LEN],
    pub signature: [u8; 64],
}

impl KemPreKey {
    /// An ML-KEM-1024 prekey from its seed, signed by `owner` (Ed25519 is
    /// deterministic, so the signature is reproducible).
    pub fn new(owner: &Identity, id: u32, seed: &[u8; KEM_SEED_LEN]) -> Self {
        let ek = kem_public_key(seed);
        let signature = owner.sign(&kem_prekey_message(KEM_ML_KEM_1024, id, &ek));
        KemPreKey { kem_type: KEM_ML_KEM_1024, id, seed: *seed, signature }
    }

    pub fn public(&self) -> KemPreKeyPublic {
        KemPreKeyPublic {
            kem_type: self.kem_type,
            id: self.id,
            ek: kem_public_key(&self.seed),
            signature: self.signature,
        }
    }

    /// §16.2: `0x4B || 0x01 || u8(type) || u32(id) || seed (64) || SIG_K (64)`, 135 bytes.
    pub fn to_state_bytes(&self) -> Vec<u8> {
        let mut b = vec![TAG_KEM_PREKEY, STATE_VERSION, self.kem_type];
        b.extend_from_slice(&self.id.to_be_bytes());
        b.extend_from_slice(&self.seed);
        b.extend_from_slice(&self.signature);
        assert_eq!(b.len(), 135);
        b
    }

    /// Decodes the stored form (§16.2), in layout order.
    pub fn from_state_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let tag = r.u8()?;
        if tag != TAG_KEM_PREKEY {
            return Err(DecodeError::UnexpectedType(tag).into());
        }
        let version = r.u8()?;
        if version != STATE_VERSION {
            return Err(DecodeError::UnsupportedVersion(version).into());
        }
        let kem_type = r.u8()?;
        kem_type_check(kem_type)?;
        let id = r.u32()?;
        let seed: [u8; KEM_SEED_LEN] = r.take(KEM_SEED_LEN)?.try_into().expect("64 bytes");
        let signature = r.arr64()?;
        r.finish()?;
        Ok(KemPreKey { kem_type, id, seed, signature })
    }
}

// ---------------------------------------------------------------------------
// Byte reader for the decoding rule of §1: fields are read in layout order,
// each check applies as soon as its field has been read, and running out of
// input while reading a field is `Truncated`.

pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated.into());
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    pub fn arr16(&mut self) -> Result<[u8; 16]> {
        Ok(self.take(16)?.try_into().expect("16 bytes"))
    }

    pub fn arr32(&mut self) -> Result<[u8; 32]> {
        Ok(self.take(32)?.try_into().expect("32 bytes"))
    }

    pub fn arr64(&mut self) -> Result<[u8; 64]> {
        Ok(self.take(64)?.try_into().expect("64 bytes"))
    }

    /// A 32-byte X25519 public key, checked at once to be canonical (§2).
    pub fn x25519_key(&mut self) -> Result<[u8; 32]> {
        let key = self.arr32()?;
        x25519_canonical(&key)?;
        Ok(key)
    }

    pub fn finish(&self) -> Result<()> {
        if self.remaining() != 0 {
            return Err(DecodeError::TrailingBytes.into());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Prekey bundle (§4)

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    pub identity: [u8; 32],
    pub spk_id: u32,
    pub spk: [u8; 32],
    pub signature: [u8; 64],
    /// §16.3: the KEM prekey (flag bit 1), between the signature and the
    /// one-time prekey.
    pub kem: Option<KemPreKeyPublic>,
    pub opk: Option<(u32, [u8; 32])>,
}

impl Bundle {
    pub fn encode(&self) -> Vec<u8> {
        let flags = u8::from(self.opk.is_some()) | (u8::from(self.kem.is_some()) << 1);
        let mut b = vec![VERSION, flags];
        b.extend_from_slice(&self.identity);
        b.extend_from_slice(&self.spk_id.to_be_bytes());
        b.extend_from_slice(&self.spk);
        b.extend_from_slice(&self.signature);
        if let Some(k) = &self.kem {
            b.extend_from_slice(&k.encode());
        }
        if let Some((id, key)) = &self.opk {
            b.extend_from_slice(&id.to_be_bytes());
            b.extend_from_slice(key);
        }
        b
    }

    /// §4, in layout order: version (only 0x02; §13: version-1 bundles are
    /// not accepted), flags, a strict `IK_B`, `spk_id`, a canonical `SPK_B`,
    /// `SIG`, with flag bit 1 a KEM prekey (§16.3, decoded as in §16.2),
    /// and with flag bit 0 `opk_id` and a canonical `OPK_B`.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version).into());
        }
        let flags = r.u8()?;
        if flags & !3 != 0 {
            return Err(DecodeError::InvalidFlags(flags).into());
        }
        let identity = r.arr32()?;
        strict_public_key(&identity)?;
        let spk_id = r.u32()?;
        let spk = r.x25519_key()?;
        let signature = r.arr64()?;
        let kem = if flags & 2 != 0 { Some(KemPreKeyPublic::read(&mut r)?) } else { None };
        let opk = if flags & 1 != 0 { Some((r.u32()?, r.x25519_key()?)) } else { None };
        r.finish()?;
        Ok(Bundle { identity, spk_id, spk, signature, kem, opk })
    }

    /// §5.1 step 1: `SPK_B` and `OPK_B` canonical (`InvalidPublicKey`),
    /// then the strict signature (`BadSignature`); with a KEM prekey (§16.5
    /// step 2) then `SIG_K` (`BadSignature`) and the `EK` check
    /// (`InvalidPublicKey`). A decoded bundle always passes the canonical
    /// and `EK` checks; a bundle assembled in memory may not.
    pub fn verify(&self) -> Result<()> {
        x25519_canonical(&self.spk)?;
        if let Some((_, opk)) = &self.opk {
            x25519_canonical(opk)?;
        }
        if !verify_strict(&self.identity, &signed_prekey_message(self.spk_id, &self.spk), &self.signature) {
            return Err(Error::BadSignature);
        }
        if let Some(k) = &self.kem {
            k.verify(&self.identity)?;
            kem_check_public_key(&k.ek)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// X3DH (§5)

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X3dh {
    pub dh1: [u8; 32],
    pub dh2: [u8; 32],
    pub dh3: [u8; 32],
    pub dh4: Option<[u8; 32]>,
    pub sk: [u8; 32],
    pub ad: [u8; 64],
    /// The header-encryption derivation from the same DH outputs (§14.2).
    pub he: X3dhHe,
    /// The KEM share of a hybrid handshake (§16.5); `sk` and `he` are then
    /// the hybrid derivations.
    pub kem: Option<KemShare>,
}

/// The KEM's part of a hybrid X3DH (§16.5 steps 3 and 5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KemShare {
    pub kem_type: u8,
    /// `SS`.
    pub ss: [u8; 32],
    /// `CT`.
    pub ct: Vec<u8>,
    /// `B = SHA-256(u8(type) || EK || CT)`.
    pub binding: [u8; 32],
}

impl KemShare {
    pub fn new(kem_type: u8, ss: [u8; 32], ek: &[u8], ct: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update([kem_type]);
        h.update(ek);
        h.update(ct);
        KemShare { kem_type, ss, ct: ct.to_vec(), binding: h.finalize().into() }
    }

    /// The hybrid info of §16.5 step 5, plain (`he = false`, 68 bytes) or
    /// with header encryption.
    pub fn info(&self, he: bool) -> Vec<u8> {
        let mut info = INFO_HYBRID.to_vec();
        info.extend_from_slice(KEM_NAME);
        if he {
            info.extend_from_slice(INFO_HYBRID_HE_SUFFIX);
        }
        info.extend_from_slice(&self.binding);
        info
    }
}

/// §14.2: `okm = HKDF(ZERO_SALT, F || DH1 || DH2 || DH3 [|| DH4],
/// "chatcrypt v1 X3DH header encryption", 96)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X3dhHe {
    /// `okm[0..32]`.
    pub sk: [u8; 32],
    /// `HKa = okm[32..64]`.
    pub hka: [u8; 32],
    /// `NHKb = okm[64..96]`.
    pub nhkb: [u8; 32],
}

fn x3dh_finish(
    dh1: [u8; 32],
    dh2: [u8; 32],
    dh3: [u8; 32],
    dh4: Option<[u8; 32]>,
    ad: [u8; 64],
    kem: Option<KemShare>,
) -> X3dh {
    // §5.1 step 4: SK = HKDF(ZERO_SALT, F || DH1 || DH2 || DH3 [|| DH4], INFO_X3DH, 32).
    // §16.5 step 5: hybrid, `|| SS` and the hybrid info.
    let mut ikm = vec![0xFFu8; 32];
    ikm.extend_from_slice(&dh1);
    ikm.extend_from_slice(&dh2);
    ikm.extend_from_slice(&dh3);
    if let Some(dh4) = &dh4 {
        ikm.extend_from_slice(dh4);
    }
    let (info, info_he) = match &kem {
        None => (INFO_X3DH.to_vec(), INFO_X3DH_HE.to_vec()),
        Some(k) => {
            ikm.extend_from_slice(&k.ss);
            assert_eq!(k.info(false).len(), 68, "§16.5: the hybrid info is 68 bytes");
            (k.info(false), k.info(true))
        }
    };
    let mut sk = [0u8; 32];
    hkdf(&[0u8; 32], &ikm, &info, &mut sk);
    // §14.2: the same input keying material, another info and 96 bytes.
    let mut okm = [0u8; 96];
    hkdf(&[0u8; 32], &ikm, &info_he, &mut okm);
    let he = X3dhHe { sk: split32(&okm, 0), hka: split32(&okm, 1), nhkb: split32(&okm, 2) };
    X3dh { dh1, dh2, dh3, dh4, sk, ad, he, kem }
}

/// The `i`-th 32-byte block of `okm`.
fn split32(okm: &[u8], i: usize) -> [u8; 32] {
    okm[32 * i..32 * (i + 1)].try_into().expect("32 bytes")
}

/// `AD = IK_A || IK_B` (§5.1 step 5).
pub fn associated_data(ik_a: &[u8; 32], ik_b: &[u8; 32]) -> [u8; 64] {
    let mut ad = [0u8; 64];
    ad[..32].copy_from_slice(ik_a);
    ad[32..].copy_from_slice(ik_b);
    ad
}

/// §5.1 steps 3-5 (step 1, the bundle's checks, is `Bundle::verify`):
/// the classical derivation (a KEM prekey in the bundle is ignored).
pub fn x3dh_initiator(alice: &Identity, ek_a: &[u8; 32], bundle: &Bundle) -> Result<X3dh> {
    x3dh_initiator_kem(alice, ek_a, None, bundle)
}

/// §16.5 steps 3-5 with the encapsulation's `m` (hybrid, the bundle must
/// have a KEM prekey), or §5.1 without (`m = None`). The KEM prekey's key
/// is checked (§16.1) before use.
pub fn x3dh_initiator_kem(
    alice: &Identity,
    ek_a: &[u8; 32],
    m: Option<&[u8; 32]>,
    bundle: &Bundle,
) -> Result<X3dh> {
    // Step 3: encapsulate, then step 4: the DHs.
    let kem = match m {
        Some(m) => {
            let k = bundle.kem.as_ref().expect("a hybrid handshake needs the bundle's KEM prekey");
            let (ct, ss) = kem_encapsulate(&k.ek, m)?;
            Some(KemShare::new(k.kem_type, ss, &k.ek, &ct))
        }
        None => None,
    };
    let ik_b_x = identity_x25519_public(&bundle.identity)?;
    let dh1 = x25519(&alice.x25519_private, &bundle.spk)?;
    let dh2 = x25519(ek_a, &ik_b_x)?;
    let dh3 = x25519(ek_a, &bundle.spk)?;
    let dh4 = match &bundle.opk {
        Some((_, opk)) => Some(x25519(ek_a, opk)?),
        None => None,
    };
    Ok(x3dh_finish(dh1, dh2, dh3, dh4, associated_data(&alice.public, &bundle.identity), kem))
}

/// §5.2 (the DH part).
pub fn x3dh_responder(
    bob: &Identity,
    spk: &[u8; 32],
    opk: Option<&[u8; 32]>,
    ik_a: &[u8; 32],
    ek_a: &[u8; 32],
) -> Result<X3dh> {
    x3dh_responder_kem(bob, spk, opk, None, ik_a, ek_a)
}

/// §16.6 step 5: `SS = Decaps(dk, CT)` with the KEM prekey (`kem`: the key
/// and the message's `CT`), then the DHs of §5.2, `B` with the responder's
/// own `EK`; without `kem`, §5.2.
pub fn x3dh_responder_kem(
    bob: &Identity,
    spk: &[u8; 32],
    opk: Option<&[u8; 32]>,
    kem: Option<(&KemPreKey, &[u8])>,
    ik_a: &[u8; 32],
    ek_a: &[u8; 32],
) -> Result<X3dh> {
    let kem = kem.map(|(k, ct)| {
        let ss = kem_decapsulate(&k.seed, ct);
        KemShare::new(k.kem_type, ss, &kem_public_key(&k.seed), ct)
    });
    let ik_a_x = identity_x25519_public(ik_a)?;
    let dh1 = x25519(spk, &ik_a_x)?;
    let dh2 = x25519(&bob.x25519_private, ek_a)?;
    let dh3 = x25519(spk, ek_a)?;
    let dh4 = match opk {
        Some(opk) => Some(x25519(opk, ek_a)?),
        None => None,
    };
    Ok(x3dh_finish(dh1, dh2, dh3, dh4, associated_data(ik_a, &bob.public), kem))
}

// ---------------------------------------------------------------------------
// KDFs (§6.1)

pub fn kdf_rk(rk: &[u8; 32], dh_out: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let mut okm = [0u8; 64];
    hkdf(rk, dh_out, INFO_ROOT, &mut okm);
    (okm[..32].try_into().expect("32"), okm[32..].try_into().expect("32"))
}

/// Returns `(ck', mk)`.
pub fn kdf_ck(ck: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    (hmac(ck, &[0x02]), hmac(ck, &[0x01]))
}

/// `MESSAGE_KEYS(mk, G)`: `HKDF_Expand(mk, "chatcrypt v2 message keys" || G, 44)`,
/// split into the key (32 bytes) and the nonce (12).
pub fn message_keys(mk: &[u8; 32], guard: &[u8; GUARD_LEN]) -> ([u8; 32], [u8; 12]) {
    let mut info = INFO_MESSAGE_KEYS.to_vec();
    info.extend_from_slice(guard);
    assert_eq!(info.len(), 41, "§6.1: the info is 41 bytes");
    let mut okm = [0u8; 44];
    hkdf_expand(mk, &info, &mut okm);
    (okm[..32].try_into().expect("32"), okm[32..].try_into().expect("12"))
}

/// `MESSAGE_KEYS_V1(mk)`: the same with the info `"chatcrypt v1 message keys"`
/// alone (§6.1, version-1 messages).
pub fn message_keys_v1(mk: &[u8; 32]) -> ([u8; 32], [u8; 12]) {
    let mut okm = [0u8; 44];
    hkdf_expand(mk, INFO_MESSAGE_KEYS_V1, &mut okm);
    (okm[..32].try_into().expect("32"), okm[32..].try_into().expect("12"))
}

/// `KDF_RK_HE` (§14.1): returns `(new root key, chain key, next header key)`.
pub fn kdf_rk_he(rk: &[u8; 32], dh_out: &[u8; 32]) -> ([u8; 32], [u8; 32], [u8; 32]) {
    let mut okm = [0u8; 96];
    hkdf(rk, dh_out, INFO_ROOT_HE, &mut okm);
    (split32(&okm, 0), split32(&okm, 1), split32(&okm, 2))
}

/// `HEADER_KEYS` (§14.1): `HKDF_Expand(hk, "chatcrypt v1 header" || sample, 44)`.
pub fn header_keys(hk: &[u8; 32], sample: &[u8; SAMPLE_LEN]) -> ([u8; 32], [u8; 12]) {
    let mut info = INFO_HEADER.to_vec();
    info.extend_from_slice(sample);
    let mut okm = [0u8; 44];
    hkdf_expand(hk, &info, &mut okm);
    (okm[..32].try_into().expect("32"), okm[32..].try_into().expect("12"))
}

// ---------------------------------------------------------------------------
// Messages (§7, §13, §14.3)

/// The two modes (§14): headers in clear, or encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Plain,
    HeaderEncryption,
}

impl Mode {
    /// `(PreKeyMessage type, Message type)` of this mode (§7, §14.3).
    pub fn types(self) -> (u8, u8) {
        match self {
            Mode::Plain => (TYPE_PREKEY, TYPE_MESSAGE),
            Mode::HeaderEncryption => (TYPE_PREKEY_HE, TYPE_MESSAGE_HE),
        }
    }

    /// The mode of a known type byte (0x01-0x04), with whether it is a PreKeyMessage.
    pub fn of_type(t: u8) -> Option<(Mode, bool)> {
        match t {
            TYPE_PREKEY => Some((Mode::Plain, true)),
            TYPE_MESSAGE => Some((Mode::Plain, false)),
            TYPE_PREKEY_HE => Some((Mode::HeaderEncryption, true)),
            TYPE_MESSAGE_HE => Some((Mode::HeaderEncryption, false)),
            _ => None,
        }
    }
}

/// The responder's mode policy (§5.2): either mode, header encryption only,
/// or plain only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Any,
    HeaderEncryptionOnly,
    PlainOnly,
}

impl Policy {
    pub fn allows(self, mode: Mode) -> bool {
        match self {
            Policy::Any => true,
            Policy::HeaderEncryptionOnly => mode == Mode::HeaderEncryption,
            Policy::PlainOnly => mode == Mode::Plain,
        }
    }
}

/// The post-quantum policy of either side (§16.5, §16.6): the hybrid
/// handshake required (SPEC.md's default), or classical allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PqPolicy {
    Required,
    AllowClassical,
}

/// A PreKeyMessage's KEM part (§16.4), also kept in the pending handshake (§16.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KemPart {
    pub kem_type: u8,
    pub kem_id: u32,
    /// `CT`, 1568 bytes for ML-KEM-1024.
    pub ct: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreKeyPart {
    pub ik_a: [u8; 32],
    pub ek_a: [u8; 32],
    pub spk_id: u32,
    pub opk_id: Option<u32>,
    /// Flag bit 1 (§16.4).
    pub kem: Option<KemPart>,
}

/// The ratchet header `H = DHs_pub || u32(PN) || u32(N) || G` (§6.3 step 3);
/// `guard` is `None` in a version-1 header (§13), which ends after `N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub dh: [u8; 32],
    pub pn: u32,
    pub n: u32,
    pub guard: Option<[u8; GUARD_LEN]>,
}

/// The ratchet header length of a message version: 56, or 40 in version 1 (§13).
pub fn header_len(version: u8) -> usize {
    if version == VERSION_1 {
        HEADER_LEN_V1
    } else {
        HEADER_LEN
    }
}

impl Header {
    /// The message version this header belongs to.
    pub fn version(&self) -> u8 {
        if self.guard.is_some() {
            VERSION
        } else {
            VERSION_1
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut h = self.dh.to_vec();
        h.extend_from_slice(&self.pn.to_be_bytes());
        h.extend_from_slice(&self.n.to_be_bytes());
        if let Some(g) = &self.guard {
            h.extend_from_slice(g);
        }
        assert_eq!(h.len(), header_len(self.version()));
        h
    }

    /// Reads the header fields in layout order. `check_key`: apply §2's
    /// canonical check to `DHs_pub` as soon as it is read (§7.3, plain
    /// mode); with header encryption it applies later (§14.4 step 4).
    pub fn read(r: &mut Reader<'_>, version: u8, check_key: bool) -> Result<Header> {
        let dh = if check_key { r.x25519_key()? } else { r.arr32()? };
        let pn = r.u32()?;
        let n = r.u32()?;
        let guard = if version == VERSION_1 { None } else { Some(r.arr16()?) };
        Ok(Header { dh, pn, n, guard })
    }

    /// The message id `DHs_pub || u32(N) || G`; a version-1 message has no
    /// `G` and uses the body's tag in its place (§8.1).
    pub fn message_id(&self, body_tag: &[u8]) -> MessageId {
        let mut id = [0u8; MESSAGE_ID_LEN];
        id[..32].copy_from_slice(&self.dh);
        id[32..36].copy_from_slice(&self.n.to_be_bytes());
        match &self.guard {
            Some(g) => id[36..].copy_from_slice(g),
            None => id[36..].copy_from_slice(body_tag),
        }
        id
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedMessage {
    /// 0x02, or 0x01 for a version-1 message (§13).
    pub version: u8,
    pub mode: Mode,
    /// The type byte.
    pub message_type: u8,
    /// `Some` for a PreKeyMessage (§7.2, type 0x01 / 0x03), `None` for a
    /// Message (§7.1, type 0x02 / 0x04).
    pub prekey: Option<PreKeyPart>,
    /// Length of the prefix (§7): version, type and handshake fields.
    pub prefix_len: usize,
    /// The plain header (plain mode); `None` in header-encryption mode,
    /// where bytes `prefix_len..body_start` are `EH` (§14.3).
    pub header: Option<Header>,
    /// Start of `ciphertext || tag`. In plain mode `HB` is `m[..body_start]`.
    pub body_start: usize,
}

/// The prefix (§7, §16.4): `version || type [|| flags || IK_A || EK_A ||
/// u32(spk_id) [|| u32(opk_id)] [|| u8(kem type) || u32(kem_id) || CT]]`.
pub fn encode_prefix(version: u8, mode: Mode, prekey: Option<&PreKeyPart>) -> Vec<u8> {
    let (prekey_type, message_type) = mode.types();
    let mut b = vec![version];
    match prekey {
        Some(p) => {
            b.push(prekey_type);
            b.push(u8::from(p.opk_id.is_some()) | (u8::from(p.kem.is_some()) << 1));
            b.extend_from_slice(&p.ik_a);
            b.extend_from_slice(&p.ek_a);
            b.extend_from_slice(&p.spk_id.to_be_bytes());
            if let Some(id) = p.opk_id {
                b.extend_from_slice(&id.to_be_bytes());
            }
            if let Some(k) = &p.kem {
                b.push(k.kem_type);
                b.extend_from_slice(&k.kem_id.to_be_bytes());
                b.extend_from_slice(&k.ct);
            }
        }
        None => b.push(message_type),
    }
    b
}

/// §7.3 and §14.4 (decoding). `session_mode` is the receiving session's
/// mode, or `None` for accept, which takes the mode from the message (§14).
///
/// GUESS (the wording of §7.3): "checking the length first" is the
/// `MAX_MESSAGE_LEN` check alone; "an input that ends inside the header
/// (`Truncated`)" is not a separate check made up front but the decoding
/// rule's (§1) `Truncated` for whichever header field runs out, so a
/// violation in an earlier field wins.
pub fn decode_message(m: &[u8], session_mode: Option<Mode>) -> Result<DecodedMessage> {
    if m.len() > MAX_MESSAGE_LEN {
        return Err(DecodeError::InvalidValue.into());
    }
    let mut r = Reader::new(m);
    let version = r.u8()?;
    if version != VERSION && version != VERSION_1 {
        return Err(DecodeError::UnsupportedVersion(version).into());
    }
    let t = r.u8()?;
    let (mode, is_prekey) = Mode::of_type(t).ok_or(DecodeError::UnexpectedType(t))?;
    let prekey = if is_prekey {
        let flags = r.u8()?;
        // §16.4: flag bit 1 exists in version-0x02 messages only.
        let known = if version == VERSION_1 { 1 } else { 3 };
        if flags & !known != 0 {
            return Err(DecodeError::InvalidFlags(flags).into());
        }
        let ik_a = r.arr32()?;
        strict_public_key(&ik_a)?;
        let ek_a = r.x25519_key()?;
        let spk_id = r.u32()?;
        let opk_id = if flags & 1 != 0 { Some(r.u32()?) } else { None };
        let kem = if flags & 2 != 0 {
            let kem_type = r.u8()?;
            kem_type_check(kem_type)?;
            let kem_id = r.u32()?;
            let ct = r.take(KEM_CT_LEN)?.to_vec();
            Some(KemPart { kem_type, kem_id, ct })
        } else {
            None
        };
        Some(PreKeyPart { ik_a, ek_a, spk_id, opk_id, kem })
    } else {
        None
    };
    let prefix_len = r.pos();
    let header = match mode {
        Mode::Plain => Some(Header::read(&mut r, version, true)?),
        Mode::HeaderEncryption => {
            r.take(header_len(version) + TAG_LEN)?;
            None
        }
    };
    let body_start = r.pos();
    if r.remaining() < TAG_LEN {
        return Err(DecodeError::Truncated.into());
    }
    // §7.3: a ciphertext longer than MAX_PLAINTEXT_LEN (no sender makes one).
    if r.remaining() - TAG_LEN > MAX_PLAINTEXT_LEN {
        return Err(DecodeError::InvalidValue.into());
    }
    // §7.3: only after the whole message has decoded in the layout of its
    // own type does a session reject a type of the other mode.
    if session_mode.is_some_and(|s| s != mode) {
        return Err(DecodeError::UnexpectedType(t).into());
    }
    Ok(DecodedMessage { version, mode, message_type: t, prekey, prefix_len, header, body_start })
}

// ---------------------------------------------------------------------------
// Randomness. The protocol draws 32-byte values (private keys: §3, §5.1,
// §6.2, §8 step 6) and 16-byte reuse guards (§6.3 step 1).

pub trait Draw {
    /// The next `len` bytes the RNG returns, as one draw.
    fn draw(&mut self, len: usize) -> Vec<u8>;

    fn draw32(&mut self) -> [u8; 32] {
        self.draw(32).try_into().expect("32 bytes")
    }

    fn draw16(&mut self) -> [u8; 16] {
        self.draw(16).try_into().expect("16 bytes")
    }
}

/// Replays a fixed list of draws, in order; each draw must have the length
/// of the next listed entry (so the order of 16- and 32-byte draws is
/// checked, not only the byte stream).
pub struct Draws {
    pub draws: Vec<Vec<u8>>,
    pub used: usize,
}

impl Draws {
    pub fn new(draws: Vec<Vec<u8>>) -> Self {
        Draws { draws, used: 0 }
    }

    pub fn all_used(&self) -> bool {
        self.used == self.draws.len()
    }
}

impl Draw for Draws {
    fn draw(&mut self, len: usize) -> Vec<u8> {
        let d = self.draws.get(self.used).expect("more RNG draws than the vector lists").clone();
        assert_eq!(d.len(), len, "draw {}: {len} bytes drawn where the vector lists {}", self.used, d.len());
        self.used += 1;
        d
    }
}

// ---------------------------------------------------------------------------
// Double Ratchet session (§6, §8, §10.4, §14)

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivingChain {
    pub dhr: [u8; 32],
    pub ckr: [u8; 32],
    pub nr: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub ek_a: [u8; 32],
    pub spk_id: u32,
    pub opk_id: Option<u32>,
    /// §16.5 step 6: a hybrid initiator's KEM part, sent until the first reply.
    pub kem: Option<KemPart>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedKey {
    pub dh: [u8; 32],
    pub n: u32,
    pub mk: [u8; 32],
}

/// The header keys of a header-encryption session (§14.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderKeys {
    /// `HKs`. A responder's `HKs` before its first decryption is all zeros
    /// here: §14.2 leaves it unset until that decryption sets it, and no
    /// state or message holds it before then (accept stores nothing if the
    /// first decryption fails).
    pub hks: [u8; 32],
    pub nhks: [u8; 32],
    pub nhkr: [u8; 32],
    /// `HKr`: present exactly when the receiving chain is (§14.2, §10.4).
    pub hkr: Option<[u8; 32]>,
    /// The `HKr` of each remembered earlier chain, in step with
    /// `Session::previous` (oldest first).
    pub previous_hkr: Vec<[u8; 32]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub initiator: bool,
    pub local_identity: [u8; 32],
    /// `IK_x` of the local identity (§3), stored in state version 2.
    pub local_identity_x: [u8; 32],
    pub remote_identity: [u8; 32],
    /// `IK_x` of the remote identity, stored in state version 2.
    pub remote_identity_x: [u8; 32],
    pub rk: [u8; 32],
    /// `DHs`, the sending ratchet private key (unclamped, as drawn).
    pub dhs: [u8; 32],
    /// `DHs_pub`: what the headers carry. Computed as `X25519_BASE(DHs)`
    /// whenever `DHs` is drawn (§6.2, §8 step 6), `SPK_B` for a responder,
    /// and taken as stored by a version-2 state decoding (§10.4).
    pub dhs_pub: [u8; 32],
    pub cks: [u8; 32],
    pub ns: u32,
    pub pn: u32,
    pub receiving: Option<ReceivingChain>,
    pub pending: Option<Pending>,
    pub base_key: Option<[u8; 32]>,
    /// Earlier `DHr` values, oldest first (at most `MAX_PREVIOUS_RATCHET_KEYS`).
    pub previous: Vec<[u8; 32]>,
    /// `MKSKIPPED`, oldest first.
    pub skipped: Vec<SkippedKey>,
    /// `Some` exactly in header-encryption mode (§14).
    pub he: Option<HeaderKeys>,
    /// The KEM type of a hybrid handshake (§16.8 flag bit 6); `None` if classical.
    pub kem_type: Option<u8>,
}

/// What `Session::accept` returns (§5.2): the new session, the first
/// message's plaintext and its id (§8.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub session: Session,
    pub plaintext: Vec<u8>,
    pub id: MessageId,
}

/// Message keys `(i, mk_i)` of one chain, in increasing `i`.
type ChainKeys = Vec<(u32, [u8; 32])>;

/// Advances `ck` from message number `from` to `to` (§8 step 3): returns the
/// keys of `from..to` as `(i, mk_i)`, the key of `to`, and the chain key after `to`.
fn advance(ck: &[u8; 32], from: u32, to: u32) -> (ChainKeys, [u8; 32], [u8; 32]) {
    let mut ck = *ck;
    let mut keys = Vec::new();
    for i in from..to {
        let (next, mk) = kdf_ck(&ck);
        keys.push((i, mk));
        ck = next;
    }
    let (next, mk) = kdf_ck(&ck);
    (keys, mk, next)
}

/// Where the message key came from (§8 step 3), with what step 6 commits.
/// (This implementation derives the skipped keys in step 3; §8 says the
/// order of derivation changes no output.)
enum Found {
    /// Index into `MKSKIPPED`.
    Stored(usize),
    Current {
        skipped: ChainKeys,
        ck_after: [u8; 32],
    },
    NewStep {
        old_skipped: ChainKeys,
        rk: [u8; 32],
        new_skipped: ChainKeys,
        ck_after: [u8; 32],
        /// The third output of the `KDF_RK_HE` that produced `CKr` (§14.4).
        nhkr: Option<[u8; 32]>,
    },
}

/// Which header key opened an encrypted header (§14.4 step 2).
#[derive(Clone, Copy, Debug)]
enum Source {
    Current,
    Next,
    /// Index into `previous` / `previous_hkr`.
    Earlier(usize),
}

impl Session {
    pub fn mode(&self) -> Mode {
        if self.he.is_some() {
            Mode::HeaderEncryption
        } else {
            Mode::Plain
        }
    }

    pub fn ad(&self) -> [u8; 64] {
        if self.initiator {
            associated_data(&self.local_identity, &self.remote_identity)
        } else {
            associated_data(&self.remote_identity, &self.local_identity)
        }
    }

    /// `KDF_RK` (§6.1), or `KDF_RK_HE` in header-encryption mode (§14.1),
    /// whose third output is returned as `Some`.
    fn kdf_root(&self, rk: &[u8; 32], dh_out: &[u8; 32]) -> ([u8; 32], [u8; 32], Option<[u8; 32]>) {
        match self.mode() {
            Mode::Plain => {
                let (rk, ck) = kdf_rk(rk, dh_out);
                (rk, ck, None)
            }
            Mode::HeaderEncryption => {
                let (rk, ck, nhk) = kdf_rk_he(rk, dh_out);
                (rk, ck, Some(nhk))
            }
        }
    }

    /// §5.1 then §6.2 (initiator), plain mode, classical allowed.
    pub fn initiate(alice: &Identity, bundle: &Bundle, rng: &mut impl Draw) -> Result<(Session, X3dh)> {
        Session::initiate_with(alice, bundle, Mode::Plain, PqPolicy::AllowClassical, rng)
    }

    /// §5.1 then §6.2 (initiator), with §14.2 in header-encryption mode;
    /// classical allowed (hybrid if the bundle has a KEM prekey).
    pub fn initiate_with_mode(
        alice: &Identity,
        bundle: &Bundle,
        mode: Mode,
        rng: &mut impl Draw,
    ) -> Result<(Session, X3dh)> {
        Session::initiate_with(alice, bundle, mode, PqPolicy::AllowClassical, rng)
    }

    /// §16.5 (and §5.1, §6.2, §14.2). RNG order: `ek_A`, `m` (hybrid
    /// only), then the first ratchet key.
    pub fn initiate_with(
        alice: &Identity,
        bundle: &Bundle,
        mode: Mode,
        pq: PqPolicy,
        rng: &mut impl Draw,
    ) -> Result<(Session, X3dh)> {
        // §16.5 step 1: before anything else.
        if bundle.kem.is_none() && pq == PqPolicy::Required {
            return Err(Error::PostQuantumRequired);
        }
        // §5.1 step 1 / §16.5 step 2: canonical prekeys, SIG, SIG_K, the EK check.
        bundle.verify()?;
        let ek_a = rng.draw32();
        let m = bundle.kem.as_ref().map(|_| rng.draw32());
        let x3dh = x3dh_initiator_kem(alice, &ek_a, m.as_ref(), bundle)?;
        let dhs = rng.draw32();
        let dh_out = x25519(&dhs, &bundle.spk)?;
        let (rk, cks, he) = match mode {
            Mode::Plain => {
                let (rk, cks) = kdf_rk(&x3dh.sk, &dh_out);
                (rk, cks, None)
            }
            Mode::HeaderEncryption => {
                // §14.2: (RK, CKs, NHKs) = KDF_RK_HE(SK, X25519(dhs, SPK_B)),
                // HKs = HKa, no HKr, NHKr = NHKb.
                let (rk, cks, nhks) = kdf_rk_he(&x3dh.he.sk, &dh_out);
                let he = HeaderKeys {
                    hks: x3dh.he.hka,
                    nhks,
                    nhkr: x3dh.he.nhkb,
                    hkr: None,
                    previous_hkr: Vec::new(),
                };
                (rk, cks, Some(he))
            }
        };
        let session = Session {
            initiator: true,
            local_identity: alice.public,
            local_identity_x: alice.x25519_public,
            remote_identity: bundle.identity,
            remote_identity_x: identity_x25519_public(&bundle.identity)?,
            rk,
            dhs,
            dhs_pub: x25519_base(&dhs),
            cks,
            ns: 0,
            pn: 0,
            receiving: None,
            pending: Some(Pending {
                ek_a: x25519_base(&ek_a),
                spk_id: bundle.spk_id,
                opk_id: bundle.opk.map(|(id, _)| id),
                kem: x3dh.kem.as_ref().map(|k| KemPart {
                    kem_type: k.kem_type,
                    kem_id: bundle.kem.as_ref().expect("hybrid").id,
                    ct: k.ct.clone(),
                }),
            }),
            base_key: None,
            previous: Vec::new(),
            skipped: Vec::new(),
            he,
            kem_type: x3dh.kem.as_ref().map(|k| k.kem_type),
        };
        Ok((session, x3dh))
    }

    /// §5.2 then §6.2 (responder) and §8 for the first message. The mode is
    /// the message's (§14): type 0x01 plain, 0x03 header encryption. The
    /// one-time prekey is taken by value, as the API of §5.2 consumes it.
    /// Classical allowed, no KEM prekey supplied (the classical vectors).
    pub fn accept(
        bob: &Identity,
        spk: &SignedPreKey,
        opk: Option<OneTimePreKey>,
        message: &[u8],
        policy: Policy,
        rng: &mut impl Draw,
    ) -> Result<Accepted> {
        Session::accept_with(bob, spk, opk, None, message, policy, PqPolicy::AllowClassical, rng)
    }

    /// §16.6: `accept` with the KEM prekey the caller supplies and the
    /// post-quantum policy. Checks in §16.6's order: the mode policy,
    /// `PostQuantumRequired`, the signed and one-time prekeys, the KEM
    /// prekey, then `SS`, the DHs and the first decryption.
    #[allow(clippy::too_many_arguments)]
    pub fn accept_with(
        bob: &Identity,
        spk: &SignedPreKey,
        opk: Option<OneTimePreKey>,
        kem: Option<&KemPreKey>,
        message: &[u8],
        policy: Policy,
        pq: PqPolicy,
        rng: &mut impl Draw,
    ) -> Result<Accepted> {
        let decoded = decode_message(message, None)?;
        // §5.2: a well-formed Message is UnexpectedType(t), t its type byte.
        let part = decoded.prekey.clone().ok_or(DecodeError::UnexpectedType(decoded.message_type))?;
        // §5.2, §16.6 step 1: the policy first, before the prekey ids.
        if !policy.allows(decoded.mode) {
            return Err(Error::ModeNotAllowed { mode: decoded.mode });
        }
        // §16.6 step 2.
        if part.kem.is_none() && pq == PqPolicy::Required {
            return Err(Error::PostQuantumRequired);
        }
        if spk.id != part.spk_id {
            return Err(Error::UnknownPreKey { id: part.spk_id });
        }
        let opk_private = match (part.opk_id, &opk) {
            (Some(id), Some(k)) if k.id == id => Some(&k.private),
            (Some(id), _) => return Err(Error::UnknownPreKey { id }),
            (None, Some(k)) => return Err(Error::UnknownPreKey { id: k.id }),
            (None, None) => None,
        };
        // §16.6 step 4.
        let kem_input = match (&part.kem, kem) {
            (Some(m), Some(k)) if k.id == m.kem_id && k.kem_type == m.kem_type => Some((k, &m.ct[..])),
            (Some(m), _) => return Err(Error::UnknownPreKey { id: m.kem_id }),
            (None, Some(k)) => return Err(Error::UnknownPreKey { id: k.id }),
            (None, None) => None,
        };
        let x3dh = x3dh_responder_kem(bob, &spk.private, opk_private, kem_input, &part.ik_a, &part.ek_a)?;
        let (rk, he) = match decoded.mode {
            Mode::Plain => (x3dh.sk, None),
            // §14.2: RK = SK, NHKs = NHKb, no HKr, NHKr = HKa.
            Mode::HeaderEncryption => (
                x3dh.he.sk,
                Some(HeaderKeys {
                    hks: [0u8; 32],
                    nhks: x3dh.he.nhkb,
                    nhkr: x3dh.he.hka,
                    hkr: None,
                    previous_hkr: Vec::new(),
                }),
            ),
        };
        let mut session = Session {
            initiator: false,
            local_identity: bob.public,
            local_identity_x: bob.x25519_public,
            remote_identity: part.ik_a,
            remote_identity_x: identity_x25519_public(&part.ik_a)?,
            rk,
            // §6.2: DHs = spk, DHs_pub = SPK_B.
            dhs: spk.private,
            dhs_pub: spk.public(),
            cks: [0u8; 32],
            ns: 0,
            pn: 0,
            receiving: None,
            pending: None,
            base_key: Some(part.ek_a),
            previous: Vec::new(),
            skipped: Vec::new(),
            he,
            kem_type: part.kem.as_ref().map(|k| k.kem_type),
        };
        let (plaintext, id) = session.decrypt_with_id(message, rng)?;
        Ok(Accepted { session, plaintext, id })
    }

    /// §6.3, and §14.3 in header-encryption mode. RNG: the 16-byte reuse
    /// guard, drawn after the checks and before anything else.
    pub fn encrypt(&mut self, plaintext: &[u8], rng: &mut impl Draw) -> Result<Vec<u8>> {
        self.check_send(plaintext)?;
        let guard = rng.draw16();
        Ok(self.seal(plaintext, Some(guard)))
    }

    /// A version-1 message (§13: the layouts without `G`, `MESSAGE_KEYS_V1`).
    /// SPEC.md forbids sending these; this exists only to build the vectors
    /// of version-1 messages that receivers must still accept.
    pub fn encrypt_v1(&mut self, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.check_send(plaintext)?;
        Ok(self.seal(plaintext, None))
    }

    /// §6.3's checks, in its order (there is no caller buffer here).
    fn check_send(&self, plaintext: &[u8]) -> Result<()> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(Error::TooLarge { len: plaintext.len(), max: MAX_PLAINTEXT_LEN });
        }
        if self.ns == u32::MAX {
            return Err(Error::CounterExhausted);
        }
        Ok(())
    }

    /// §6.3 steps 2-6 (and §14.3) for a drawn guard; no guard: version 1.
    fn seal(&mut self, plaintext: &[u8], guard: Option<[u8; GUARD_LEN]>) -> Vec<u8> {
        let (next_ck, mk) = kdf_ck(&self.cks);
        let (key, nonce) = match &guard {
            Some(g) => message_keys(&mk, g),
            None => message_keys_v1(&mk),
        };
        let part = self.pending.as_ref().map(|p| PreKeyPart {
            ik_a: self.local_identity,
            ek_a: p.ek_a,
            spk_id: p.spk_id,
            opk_id: p.opk_id,
            kem: p.kem.clone(),
        });
        let header = Header { dh: self.dhs_pub, pn: self.pn, n: self.ns, guard };
        let h = header.encode();
        let prefix = encode_prefix(header.version(), self.mode(), part.as_ref());
        // AD || prefix: the header's associated data (§14.3 step 3).
        let mut ad = self.ad().to_vec();
        ad.extend_from_slice(&prefix);
        // AD || prefix || H: the body's, = AD || HB in plain mode (§7.4, §14.3 step 1).
        let mut body_ad = ad.clone();
        body_ad.extend_from_slice(&h);
        let body = aead_seal(&key, &nonce, &body_ad, plaintext);
        let mut m = prefix;
        match &self.he {
            None => m.extend_from_slice(&h),
            Some(hk) => {
                // §14.3 steps 2-3.
                let sample: [u8; SAMPLE_LEN] = body[..SAMPLE_LEN].try_into().expect("a body has a tag");
                let (hkey, hnonce) = header_keys(&hk.hks, &sample);
                let eh = aead_seal(&hkey, &hnonce, &ad, &h);
                assert_eq!(eh.len(), header_len(header.version()) + TAG_LEN);
                m.extend_from_slice(&eh);
            }
        }
        m.extend_from_slice(&body);
        self.cks = next_ck;
        self.ns += 1;
        m
    }

    fn find_skipped(&self, dh: &[u8; 32], n: u32) -> Option<usize> {
        self.skipped.iter().position(|e| e.dh == *dh && e.n == n)
    }

    fn push_skipped(&mut self, dh: &[u8; 32], keys: &[(u32, [u8; 32])]) {
        for (n, mk) in keys {
            if self.skipped.len() == MAX_SKIPPED_KEYS {
                self.skipped.remove(0);
            }
            self.skipped.push(SkippedKey { dh: *dh, n: *n, mk: *mk });
        }
    }

    /// §14.4 steps 1-4: open `EH`, check that the key that opened it agrees
    /// with the header's ratchet key, then that the key is canonical.
    ///
    fn open_header(&self, m: &[u8], d: &DecodedMessage) -> Result<Header> {
        let hk = self.he.as_ref().expect("header-encryption session");
        let eh = &m[d.prefix_len..d.body_start];
        let sample: [u8; SAMPLE_LEN] =
            m[d.body_start..d.body_start + SAMPLE_LEN].try_into().expect("decoding left a tag");
        let mut ad = self.ad().to_vec();
        ad.extend_from_slice(&m[..d.prefix_len]);
        // Step 2: HKr (if present), NHKr, then earlier chains' keys, newest first.
        let mut candidates = Vec::with_capacity(2 + hk.previous_hkr.len());
        if let Some(k) = hk.hkr {
            candidates.push((k, Source::Current));
        }
        candidates.push((hk.nhkr, Source::Next));
        for (i, k) in hk.previous_hkr.iter().enumerate().rev() {
            candidates.push((*k, Source::Earlier(i)));
        }
        let dhr = self.receiving.as_ref().map(|c| c.dhr);
        for (k, source) in candidates {
            let (hkey, hnonce) = header_keys(&k, &sample);
            let Ok(raw) = aead_open(&hkey, &hnonce, &ad, eh) else { continue };
            let mut r = Reader::new(&raw);
            let h = Header::read(&mut r, d.version, false)?;
            r.finish()?;
            // Step 3: the source must agree with the ratchet key.
            let agrees = match source {
                Source::Current => Some(h.dh) == dhr,
                Source::Next => Some(h.dh) != dhr && !self.previous.contains(&h.dh),
                Source::Earlier(i) => self.previous[i] == h.dh,
            };
            if !agrees {
                return Err(Error::Auth);
            }
            // Step 4.
            x25519_canonical(&h.dh)?;
            return Ok(h);
        }
        Err(Error::Auth)
    }

    /// §8 (with §14.4 in header-encryption mode): transactional; `self` is
    /// only changed if the tag verified.
    pub fn decrypt(&mut self, m: &[u8], rng: &mut impl Draw) -> Result<Vec<u8>> {
        self.decrypt_with_id(m, rng).map(|(plaintext, _)| plaintext)
    }

    /// As `decrypt`, with the message id (§8.1).
    pub fn decrypt_with_id(&mut self, m: &[u8], rng: &mut impl Draw) -> Result<(Vec<u8>, MessageId)> {
        // Step 1.
        let d = decode_message(m, Some(self.mode()))?;
        if let Some(part) = &d.prekey {
            if part.ik_a != self.remote_identity {
                return Err(Error::WrongIdentity);
            }
            if self.base_key != Some(part.ek_a) {
                return Err(Error::HandshakeMismatch);
            }
        }
        // §14.4: "before §8 step 2", the header is opened.
        let header = match d.header {
            Some(h) => h,
            None => self.open_header(m, &d)?,
        };
        // Step 2.
        let Header { dh, pn, n, guard } = header;
        if n == u32::MAX {
            return Err(DecodeError::InvalidValue.into());
        }
        // Step 3.
        let (mk, found) = match &self.receiving {
            Some(chain) if chain.dhr == dh => {
                if n < chain.nr {
                    // "Earlier key of the current chain": the stored key
                    // case, or Duplicate.
                    let i = self.find_skipped(&dh, n).ok_or(Error::Duplicate)?;
                    (self.skipped[i].mk, Found::Stored(i))
                } else {
                    if n - chain.nr > MAX_SKIP {
                        return Err(Error::TooFarAhead { got: n - chain.nr, max: MAX_SKIP });
                    }
                    let (skipped, mk, ck_after) = advance(&chain.ckr, chain.nr, n);
                    (mk, Found::Current { skipped, ck_after })
                }
            }
            _ => {
                if let Some(i) = self.find_skipped(&dh, n) {
                    (self.skipped[i].mk, Found::Stored(i))
                } else if self.previous.contains(&dh) {
                    return Err(Error::Duplicate);
                } else {
                    let mut old_skipped = Vec::new();
                    if let Some(chain) = &self.receiving {
                        if pn > chain.nr && pn - chain.nr > MAX_SKIP {
                            return Err(Error::TooFarAhead { got: pn - chain.nr, max: MAX_SKIP });
                        }
                    }
                    if n > MAX_SKIP {
                        return Err(Error::TooFarAhead { got: n, max: MAX_SKIP });
                    }
                    if let Some(chain) = &self.receiving {
                        let mut ck = chain.ckr;
                        for i in chain.nr..pn {
                            let (next, mk) = kdf_ck(&ck);
                            old_skipped.push((i, mk));
                            ck = next;
                        }
                    }
                    let (rk, ckr, nhkr) = self.kdf_root(&self.rk, &x25519(&self.dhs, &dh)?);
                    let (new_skipped, mk, ck_after) = advance(&ckr, 0, n);
                    (mk, Found::NewStep { old_skipped, rk, new_skipped, ck_after, nhkr })
                }
            }
        };
        // Step 4: MESSAGE_KEYS(mk, G), or MESSAGE_KEYS_V1(mk) in version 1.
        let (key, nonce) = match &guard {
            Some(g) => message_keys(&mk, g),
            None => message_keys_v1(&mk),
        };
        // Step 5. The associated data is AD || HB (§7.4), which is
        // AD || prefix || H in both modes (§14.4 step 5).
        let mut ad = self.ad().to_vec();
        ad.extend_from_slice(&m[..d.prefix_len]);
        ad.extend_from_slice(&header.encode());
        let plaintext = aead_open(&key, &nonce, &ad, &m[d.body_start..])?;
        // Step 6.
        match found {
            Found::Stored(i) => {
                self.skipped.remove(i);
            }
            Found::Current { skipped, ck_after } => {
                self.push_skipped(&dh, &skipped);
                let chain = self.receiving.as_mut().expect("current chain");
                chain.ckr = ck_after;
                chain.nr = n + 1;
            }
            Found::NewStep { old_skipped, rk, new_skipped, ck_after, nhkr } => {
                let dhs_new = rng.draw32();
                // The DH rule applies but cannot fail here (§8 step 6).
                let (rk2, cks, nhks) = self.kdf_root(&rk, &x25519(&dhs_new, &dh)?);
                if let Some(old) = self.receiving.take() {
                    self.push_skipped(&old.dhr, &old_skipped);
                    self.push_skipped(&dh, &new_skipped);
                    self.previous.push(old.dhr);
                    // §14.4: the old chain's HKr is remembered with it.
                    if let Some(hk) = self.he.as_mut() {
                        hk.previous_hkr.push(hk.hkr.expect("HKr with a receiving chain"));
                    }
                    if self.previous.len() > MAX_PREVIOUS_RATCHET_KEYS {
                        let forgotten = self.previous.remove(0);
                        // §14.4: the evicted chain's header key is forgotten
                        // and, after the step's candidate entries were
                        // appended (above), its MKSKIPPED entries are deleted.
                        if let Some(hk) = self.he.as_mut() {
                            hk.previous_hkr.remove(0);
                            self.skipped.retain(|e| e.dh != forgotten);
                        }
                    }
                } else {
                    self.push_skipped(&dh, &new_skipped);
                }
                // §14.4: HKs = NHKs, HKr = NHKr, then the new NHKr and NHKs.
                if let Some(hk) = self.he.as_mut() {
                    hk.hks = hk.nhks;
                    hk.hkr = Some(hk.nhkr);
                    hk.nhkr = nhkr.expect("KDF_RK_HE output");
                    hk.nhks = nhks.expect("KDF_RK_HE output");
                }
                self.receiving = Some(ReceivingChain { dhr: dh, ckr: ck_after, nr: n + 1 });
                self.pn = self.ns;
                self.dhs = dhs_new;
                self.dhs_pub = x25519_base(&dhs_new);
                self.cks = cks;
                self.ns = 0;
                self.rk = rk2;
            }
        }
        self.pending = None;
        Ok((plaintext, header.message_id(&m[m.len() - TAG_LEN..])))
    }

    // -- §10.4 state encoding ------------------------------------------------

    /// Session state format version 3 (§10.4, §16.8).
    pub fn encode(&self) -> Vec<u8> {
        let mut flags = 0u8;
        if self.initiator {
            flags |= 1;
        }
        if self.receiving.is_some() {
            flags |= 2;
        }
        if let Some(p) = &self.pending {
            flags |= 4;
            if p.opk_id.is_some() {
                flags |= 8;
            }
            if p.kem.is_some() {
                flags |= 0x80;
            }
        }
        if self.kem_type.is_some() {
            flags |= 0x40;
        }
        if self.base_key.is_some() {
            flags |= 16;
        }
        if self.he.is_some() {
            flags |= 32;
        }
        let mut b = vec![TAG_SESSION, SESSION_STATE_VERSION, flags];
        b.extend_from_slice(&self.local_identity);
        b.extend_from_slice(&self.local_identity_x);
        b.extend_from_slice(&self.remote_identity);
        b.extend_from_slice(&self.remote_identity_x);
        b.extend_from_slice(&self.rk);
        b.extend_from_slice(&self.dhs);
        b.extend_from_slice(&self.dhs_pub);
        b.extend_from_slice(&self.cks);
        b.extend_from_slice(&self.ns.to_be_bytes());
        b.extend_from_slice(&self.pn.to_be_bytes());
        // §16.8: the KEM type follows PN.
        if let Some(t) = self.kem_type {
            b.push(t);
        }
        if let Some(c) = &self.receiving {
            b.extend_from_slice(&c.dhr);
            b.extend_from_slice(&c.ckr);
            b.extend_from_slice(&c.nr.to_be_bytes());
        }
        if let Some(p) = &self.pending {
            b.extend_from_slice(&p.ek_a);
            b.extend_from_slice(&p.spk_id.to_be_bytes());
            if let Some(id) = p.opk_id {
                b.extend_from_slice(&id.to_be_bytes());
            }
            // §16.8: u32(kem_id) || CT.
            if let Some(k) = &p.kem {
                assert_eq!(
                    Some(k.kem_type),
                    self.kem_type,
                    "§16.8: the pending KEM part has the session's KEM type"
                );
                b.extend_from_slice(&k.kem_id.to_be_bytes());
                b.extend_from_slice(&k.ct);
            }
        }
        if let Some(k) = &self.base_key {
            b.extend_from_slice(k);
        }
        // §10.4 / §14: HKs, NHKs, NHKr, [HKr iff bit 1].
        if let Some(hk) = &self.he {
            assert_eq!(hk.hkr.is_some(), self.receiving.is_some(), "HKr exactly with a receiving chain");
            b.extend_from_slice(&hk.hks);
            b.extend_from_slice(&hk.nhks);
            b.extend_from_slice(&hk.nhkr);
            if let Some(k) = &hk.hkr {
                b.extend_from_slice(k);
            }
        }
        b.push(u8::try_from(self.previous.len()).expect("at most 8"));
        for (i, k) in self.previous.iter().enumerate() {
            b.extend_from_slice(k);
            if let Some(hk) = &self.he {
                b.extend_from_slice(&hk.previous_hkr[i]);
            }
        }
        b.extend_from_slice(&u16::try_from(self.skipped.len()).expect("at most 2000").to_be_bytes());
        for e in &self.skipped {
            b.extend_from_slice(&e.dh);
            b.extend_from_slice(&e.n.to_be_bytes());
            b.extend_from_slice(&e.mk);
        }
        assert_eq!(b.len(), self.encoded_len(), "§10.4 size formula");
        b
    }

    /// The size formula of §10.4, with §16.8's additions: 1 after a hybrid
    /// handshake, 4 + 1568 while a hybrid initiator awaits a reply.
    pub fn encoded_len(&self) -> usize {
        let he = self.he.is_some();
        SESSION_FIXED_LEN
            + if self.receiving.is_some() { 68 } else { 0 }
            + if self.kem_type.is_some() { 1 } else { 0 }
            + self.pending.as_ref().map_or(0, |p| {
                (if p.opk_id.is_some() { 40 } else { 36 }) + p.kem.as_ref().map_or(0, |_| 4 + KEM_CT_LEN)
            })
            + if self.base_key.is_some() { 32 } else { 0 }
            + 32 * self.previous.len()
            + if he {
                96 + if self.receiving.is_some() { 32 } else { 0 } + 32 * self.previous.len()
            } else {
                0
            }
            + SESSION_BYTES_PER_SKIPPED_KEY * self.skipped.len()
    }

    /// Decodes session state format version 3 (§16.8), 2 or 1 (§10.4), by
    /// the decoding rule (§1).
    pub fn decode(bytes: &[u8]) -> Result<Session> {
        let mut r = Reader::new(bytes);
        let tag = r.u8()?;
        if tag != TAG_SESSION {
            return Err(DecodeError::UnexpectedType(tag).into());
        }
        let version = r.u8()?;
        if !(0x01..=SESSION_STATE_VERSION).contains(&version) {
            return Err(DecodeError::UnsupportedVersion(version).into());
        }
        let flags = r.u8()?;
        let (initiator, has_recv, has_pending, pending_opk, has_base, has_he) = (
            flags & 1 != 0,
            flags & 2 != 0,
            flags & 4 != 0,
            flags & 8 != 0,
            flags & 16 != 0,
            flags & 32 != 0,
        );
        let (hybrid, pending_kem) = (flags & 0x40 != 0, flags & 0x80 != 0);
        // §10.4 invariants, each `InvalidFlags(flags)`. Valid flag bytes:
        // 0x03, 0x05, 0x0D, 0x12, each with or without bit 5 (0x20, §14);
        // in version 3 (§16.8) also with bit 6, and bit 7 exactly when bits
        // 2 and 6 are both set.
        if (version < 3 && flags & 0xC0 != 0)
            || (pending_kem && !(has_pending && hybrid))
            || (has_pending && hybrid && !pending_kem)
            || (has_pending && !initiator)
            || (pending_opk && !has_pending)
            || (has_base == initiator)
            || (initiator && has_recv == has_pending)
            || (!initiator && !has_recv)
        {
            return Err(DecodeError::InvalidFlags(flags).into());
        }
        // Version 2 stores the identity keys with their X25519 forms and
        // DHs_pub, taken as stored (only DHs_pub's canonical check applies).
        // Version 1 checks the identity keys strictly and recomputes them.
        let identity = |r: &mut Reader<'_>| -> Result<([u8; 32], [u8; 32])> {
            let ik = r.arr32()?;
            if version == 0x01 {
                Ok((ik, identity_x25519_public(&ik)?))
            } else {
                // §10.4: the stored X25519 form must be canonical (§2).
                Ok((ik, r.x25519_key()?))
            }
        };
        let (local_identity, local_identity_x) = identity(&mut r)?;
        let (remote_identity, remote_identity_x) = identity(&mut r)?;
        let rk = r.arr32()?;
        let dhs = r.arr32()?;
        let dhs_pub = if version == 0x01 { x25519_base(&dhs) } else { r.x25519_key()? };
        let cks = r.arr32()?;
        let ns = r.u32()?;
        let pn = r.u32()?;
        let kem_type = if hybrid {
            let t = r.u8()?;
            kem_type_check(t)?;
            Some(t)
        } else {
            None
        };
        let receiving = if has_recv {
            Some(ReceivingChain { dhr: r.x25519_key()?, ckr: r.arr32()?, nr: r.u32()? })
        } else {
            None
        };
        let pending = if has_pending {
            let ek_a = r.x25519_key()?;
            let spk_id = r.u32()?;
            let opk_id = if pending_opk { Some(r.u32()?) } else { None };
            let kem = match kem_type {
                Some(kem_type) if pending_kem => {
                    let kem_id = r.u32()?;
                    let ct = r.take(KEM_CT_LEN)?.to_vec();
                    Some(KemPart { kem_type, kem_id, ct })
                }
                _ => None,
            };
            Some(Pending { ek_a, spk_id, opk_id, kem })
        } else {
            None
        };
        let base_key = if has_base { Some(r.x25519_key()?) } else { None };
        let mut he = if has_he {
            let hks = r.arr32()?;
            let nhks = r.arr32()?;
            let nhkr = r.arr32()?;
            let hkr = if has_recv { Some(r.arr32()?) } else { None };
            Some(HeaderKeys { hks, nhks, nhkr, hkr, previous_hkr: Vec::new() })
        } else {
            None
        };
        let c1 = r.u8()?;
        if usize::from(c1) > MAX_PREVIOUS_RATCHET_KEYS {
            return Err(DecodeError::InvalidValue.into());
        }
        // Fewer entries than c1 says is Truncated (decoding rule, §1).
        let mut previous = Vec::new();
        for _ in 0..c1 {
            previous.push(r.x25519_key()?);
            if let Some(hk) = he.as_mut() {
                hk.previous_hkr.push(r.arr32()?);
            }
        }
        let c2 = r.u16()?;
        if usize::from(c2) > MAX_SKIPPED_KEYS {
            return Err(DecodeError::InvalidValue.into());
        }
        // §10.4: fewer bytes than c2 × 68 is Truncated, checked before any
        // entry is read.
        if r.remaining() < usize::from(c2) * SESSION_BYTES_PER_SKIPPED_KEY {
            return Err(DecodeError::Truncated.into());
        }
        let mut skipped = Vec::new();
        for _ in 0..c2 {
            let dh = r.x25519_key()?;
            let n = r.u32()?;
            if n == u32::MAX {
                return Err(DecodeError::InvalidValue.into());
            }
            let mk = r.arr32()?;
            skipped.push(SkippedKey { dh, n, mk });
        }
        r.finish()?;
        Ok(Session {
            initiator,
            local_identity,
            local_identity_x,
            remote_identity,
            remote_identity_x,
            rk,
            dhs,
            dhs_pub,
            cks,
            ns,
            pn,
            receiving,
            pending,
            base_key,
            previous,
            skipped,
            he,
            kem_type,
        })
    }
}

// ---------------------------------------------------------------------------
// Safety numbers (§15)

/// Iterations of the fingerprint hash (§15).
pub const SAFETY_NUMBER_ITERATIONS: usize = 5200;
/// The longest stable id (§15).
pub const MAX_STABLE_ID_LEN: usize = 255;
/// Version byte of a scannable payload (§15).
pub const SAFETY_NUMBER_VERSION: u8 = 0x00;
/// `SAFETY_NUMBER_VERSION || 32 || 32` (§15).
pub const SCANNABLE_LEN: usize = 65;

/// `FP(key, id)` (§15): `h = SHA-512(u16(0) || key || id || key)`, then
/// 5199 times `h = SHA-512(h || key)`. Takes any key bytes, so libsignal's
/// 33-byte keys can be checked too.
pub fn safety_fingerprint(key: &[u8], stable_id: &[u8]) -> [u8; 64] {
    let mut input = vec![0x00, 0x00];
    input.extend_from_slice(key);
    input.extend_from_slice(stable_id);
    input.extend_from_slice(key);
    let mut h: [u8; 64] = Sha512::digest(&input).into();
    for _ in 1..SAFETY_NUMBER_ITERATIONS {
        let mut next = h.to_vec();
        next.extend_from_slice(key);
        h = Sha512::digest(&next).into();
    }
    h
}

/// One party's 30 digits (§15): `fp[5i..5i+5]` big-endian, mod 100000, `%05`.
pub fn safety_party_digits(fp: &[u8; 64]) -> String {
    (0..6)
        .map(|i| {
            let mut chunk = [0u8; 8];
            chunk[3..].copy_from_slice(&fp[5 * i..5 * i + 5]);
            format!("{:05}", u64::from_be_bytes(chunk) % 100_000)
        })
        .collect()
}

/// The 60 displayable digits (§15): both parties' digits, smaller first.
pub fn safety_displayable(local_fp: &[u8; 64], remote_fp: &[u8; 64]) -> String {
    let mut parts = [safety_party_digits(local_fp), safety_party_digits(remote_fp)];
    parts.sort();
    parts.concat()
}

/// The scannable payload (§15): `0x00 || local_fp[0..32] || remote_fp[0..32]`.
pub fn safety_scannable(local_fp: &[u8; 64], remote_fp: &[u8; 64]) -> Vec<u8> {
    let mut out = vec![SAFETY_NUMBER_VERSION];
    out.extend_from_slice(&local_fp[..32]);
    out.extend_from_slice(&remote_fp[..32]);
    out
}

/// The comparison of a scanned payload (§15), with its errors in layout order.
pub fn safety_compare_scanned(local_fp: &[u8; 64], remote_fp: &[u8; 64], scanned: &[u8]) -> Result<bool> {
    match scanned.first() {
        None => return Err(Error::Decode(DecodeError::Truncated)),
        Some(&v) if v != SAFETY_NUMBER_VERSION => {
            return Err(Error::Decode(DecodeError::UnsupportedVersion(v)))
        }
        Some(_) => {}
    }
    if scanned.len() < SCANNABLE_LEN {
        return Err(Error::Decode(DecodeError::Truncated));
    }
    if scanned.len() > SCANNABLE_LEN {
        return Err(Error::Decode(DecodeError::TrailingBytes));
    }
    Ok(scanned[1..33] == remote_fp[..32] && scanned[33..] == local_fp[..32])
}

// ---------------------------------------------------------------------------
// Messenger formats (§17-§21): device certificates and device lists signed
// by an account key (§17.2, §17.3), prekey uploads (§19.4), session records
// (§20.4) and retry messages (§21.1). Every signature is Ed25519 over
// `label || body`, where `body` is every byte of the encoding before the
// signature, and is verified strictly (§2). Integers are big-endian.
//
// First written from the layouts in the messenger layer's documentation and
// the decoding rule of §1, before §17-§21 existed; the check orders were
// then brought in line with the orders those sections state. For the
// device list, the upload and the retry message they are not the plain
// layout order of §1: some checks wait for the whole encoding (§17.3: the
// epoch and count checks after `n`, the order and distinctness rules after
// the last entry; §19.4: `TrailingBytes`, then distinct ids, then the
// signatures; §21.1: `TrailingBytes`, then the consistency of the fields
// with the reason, then the signature).

/// `'C'` (§17.2).
pub const TAG_DEVICE_CERTIFICATE: u8 = 0x43;
/// `'L'` (§17.3).
pub const TAG_DEVICE_LIST: u8 = 0x4C;
/// Version of the certificate and device-list formats.
pub const ACCOUNT_FORMAT_VERSION: u8 = 0x01;
/// The most devices a list names.
pub const MAX_DEVICES: usize = 16;
/// `'C' || 0x01 || account key || u32(device) || identity key || signature`.
pub const DEVICE_CERTIFICATE_LEN: usize = 2 + 32 + 4 + 32 + 64;
pub const LABEL_DEVICE_CERTIFICATE: &[u8] = b"chatcrypt v3 device certificate";
pub const LABEL_DEVICE_LIST: &[u8] = b"chatcrypt v3 device list";
pub const LABEL_DEVICE_CONSENT: &[u8] = b"chatcrypt v3 device consent";
/// `'U'` (§19.4).
pub const TAG_PREKEY_UPLOAD: u8 = 0x55;
/// Version of the upload format.
pub const DEVICE_FORMAT_VERSION: u8 = 0x01;
pub const LABEL_PREKEY_UPLOAD: &[u8] = b"chatcrypt v3 prekey upload";
/// The most one-time X25519 prekeys an upload may carry.
pub const MAX_ONE_TIME_PREKEYS: usize = 200;
/// The most one-time KEM prekeys an upload may carry.
pub const MAX_KEM_ONE_TIME_PREKEYS: usize = 40;
/// `'E'` (§21.1).
pub const TAG_RETRY: u8 = 0x45;
pub const RETRY_FORMAT_VERSION: u8 = 0x01;
pub const LABEL_RETRY: &[u8] = b"chatcrypt v3 retry";
/// `tag || version || reason || u32(prekey id) || base key || u64(timestamp)
/// || author || recipient || signature`.
pub const RETRY_MESSAGE_LEN: usize = 2 + 1 + 4 + 16 + 8 + 32 + 32 + 64;
/// Retry reasons.
pub const RETRY_NO_SESSION: u8 = 0x01;
pub const RETRY_UNKNOWN_PREKEY: u8 = 0x02;
pub const RETRY_HANDSHAKE_FAILED: u8 = 0x03;
/// `'R'` (§20.4).
pub const TAG_SESSION_RECORD: u8 = 0x52;
pub const RECORD_FORMAT_VERSION: u8 = 0x01;
/// The most archived sessions a record holds.
pub const MAX_ARCHIVED_SESSIONS: usize = 4;
/// The most message digests a record remembers (§20.2).
pub const MAX_RECENT_MESSAGES: usize = 64;
/// The most sent-message digests a record remembers (§20.2).
pub const MAX_SENT_MESSAGES: usize = 32;
/// Record entry flag: the peer reported the session lost.
pub const RECORD_FLAG_PEER_LOST: u8 = 0x01;

/// An Ed25519 signature by the key of `seed` over `label || body`.
pub fn sign_labelled(seed: &[u8; 32], label: &[u8], body: &[u8]) -> [u8; 64] {
    let mut m = label.to_vec();
    m.extend_from_slice(body);
    SigningKey::from_bytes(seed).sign(&m).to_bytes()
}

/// Strict verification of a signature over `label || body`, else `BadSignature`.
pub fn verify_labelled(key: &[u8; 32], label: &[u8], body: &[u8], sig: &[u8; 64]) -> Result<()> {
    let mut m = label.to_vec();
    m.extend_from_slice(body);
    if verify_strict(key, &m, sig) {
        Ok(())
    } else {
        Err(Error::BadSignature)
    }
}

/// The Ed25519 public key of a seed (account keys and identity keys alike).
pub fn ed25519_public_of(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

/// A strict Ed25519 key read from `r` (§2), else `InvalidPublicKey`.
fn read_ed25519_key(r: &mut Reader<'_>) -> Result<[u8; 32]> {
    let key = r.arr32()?;
    strict_public_key(&key)?;
    Ok(key)
}

/// The format tag and version, in that order.
fn read_tag_version(r: &mut Reader<'_>, tag: u8, version: u8) -> Result<()> {
    let t = r.u8()?;
    if t != tag {
        return Err(DecodeError::UnexpectedType(t).into());
    }
    let v = r.u8()?;
    if v != version {
        return Err(DecodeError::UnsupportedVersion(v).into());
    }
    Ok(())
}

/// A device certificate (§17.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCertificate {
    pub account: [u8; 32],
    pub device: u32,
    pub identity: [u8; 32],
    pub signature: [u8; 64],
}

impl DeviceCertificate {
    /// The signed bytes: `'C' || 0x01 || account key || u32(device) || identity key`.
    pub fn body(&self) -> Vec<u8> {
        let mut b = vec![TAG_DEVICE_CERTIFICATE, ACCOUNT_FORMAT_VERSION];
        b.extend_from_slice(&self.account);
        b.extend_from_slice(&self.device.to_be_bytes());
        b.extend_from_slice(&self.identity);
        b
    }

    /// The certificate of `device` with `identity`, signed by the account key of `account_seed`.
    pub fn sign(account_seed: &[u8; 32], device: u32, identity: &[u8; 32]) -> Self {
        let mut c = DeviceCertificate {
            account: ed25519_public_of(account_seed),
            device,
            identity: *identity,
            signature: [0; 64],
        };
        c.signature = sign_labelled(account_seed, LABEL_DEVICE_CERTIFICATE, &c.body());
        c
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = self.body();
        b.extend_from_slice(&self.signature);
        assert_eq!(b.len(), DEVICE_CERTIFICATE_LEN);
        b
    }

    /// Reads one certificate in the order of §17.2; the signature is
    /// verified under the account key it names as soon as it is read
    /// (before `TrailingBytes`, and inside an upload before any later field).
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        read_tag_version(r, TAG_DEVICE_CERTIFICATE, ACCOUNT_FORMAT_VERSION)?;
        let account = read_ed25519_key(r)?;
        let device = r.u32()?;
        let identity = read_ed25519_key(r)?;
        let signature = r.arr64()?;
        let c = DeviceCertificate { account, device, identity, signature };
        verify_labelled(&account, LABEL_DEVICE_CERTIFICATE, &c.body(), &signature)?;
        Ok(c)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let c = Self::read(&mut r)?;
        r.finish()?;
        Ok(c)
    }
}

/// A device list (§17.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceList {
    pub account: [u8; 32],
    pub epoch: u64,
    /// In encoding order (sorted by device id in a valid list):
    /// `(device, IK, CONSENT)`.
    pub entries: Vec<(u32, [u8; 32], [u8; 64])>,
    pub signature: [u8; 64],
}

/// A device's consent (§17.3): `Ed25519_Sign(identity seed, "chatcrypt v3
/// device consent" || AK || u32(device))`.
pub fn device_consent(identity_seed: &[u8; 32], account: &[u8; 32], device: u32) -> [u8; 64] {
    let mut m = Vec::with_capacity(32 + 4);
    m.extend_from_slice(account);
    m.extend_from_slice(&device.to_be_bytes());
    sign_labelled(identity_seed, LABEL_DEVICE_CONSENT, &m)
}

impl DeviceList {
    /// `'L' || 0x01 || account key || u64(epoch) || u8(n) || n × (u32(device) || IK || CONSENT)`.
    pub fn body(&self) -> Vec<u8> {
        let mut b = vec![TAG_DEVICE_LIST, ACCOUNT_FORMAT_VERSION];
        b.extend_from_slice(&self.account);
        b.extend_from_slice(&self.epoch.to_be_bytes());
        b.push(u8::try_from(self.entries.len()).expect("at most 255 entries"));
        for (d, k, c) in &self.entries {
            b.extend_from_slice(&d.to_be_bytes());
            b.extend_from_slice(k);
            b.extend_from_slice(c);
        }
        b
    }

    /// Signs the entries *as given* (no sorting, no checks): lets the
    /// vector generator make malformed but correctly signed lists.
    pub fn sign_raw(account_seed: &[u8; 32], epoch: u64, entries: Vec<(u32, [u8; 32], [u8; 64])>) -> Self {
        let mut l =
            DeviceList { account: ed25519_public_of(account_seed), epoch, entries, signature: [0; 64] };
        l.signature = sign_labelled(account_seed, LABEL_DEVICE_LIST, &l.body());
        l
    }

    /// The list of the devices with identity seeds `entries` (any order;
    /// the encoding sorts them by id), each with its consent.
    pub fn sign(account_seed: &[u8; 32], epoch: u64, entries: &[(u32, [u8; 32])]) -> Self {
        let account = ed25519_public_of(account_seed);
        let mut full: Vec<(u32, [u8; 32], [u8; 64])> = entries
            .iter()
            .map(|(d, seed)| (*d, ed25519_public_of(seed), device_consent(seed, &account, *d)))
            .collect();
        full.sort_by_key(|(d, _, _)| *d);
        Self::sign_raw(account_seed, epoch, full)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = self.body();
        b.extend_from_slice(&self.signature);
        b
    }

    /// Decodes in the order of §17.3: tag, version, `AK`, epoch, `n`; then
    /// epoch 0 or a count of 0 or above `MAX_DEVICES` (`InvalidValue`); the
    /// entries (each `IK` strict, then its consent); then ascending ids and
    /// distinct identity keys (`InvalidValue`); the signature; each consent
    /// under its `IK`, in order; `TrailingBytes`.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        read_tag_version(&mut r, TAG_DEVICE_LIST, ACCOUNT_FORMAT_VERSION)?;
        let account = read_ed25519_key(&mut r)?;
        let epoch = r.u64()?;
        let n = usize::from(r.u8()?);
        if epoch == 0 || n == 0 || n > MAX_DEVICES {
            return Err(DecodeError::InvalidValue.into());
        }
        let mut entries: Vec<(u32, [u8; 32], [u8; 64])> = Vec::new();
        for _ in 0..n {
            let d = r.u32()?;
            let k = read_ed25519_key(&mut r)?;
            let c = r.arr64()?;
            entries.push((d, k, c));
        }
        let ascending = entries.windows(2).all(|w| w[0].0 < w[1].0);
        let distinct_keys =
            entries.iter().enumerate().all(|(i, (_, k, _))| entries[..i].iter().all(|(_, o, _)| o != k));
        if !ascending || !distinct_keys {
            return Err(DecodeError::InvalidValue.into());
        }
        let signature = r.arr64()?;
        let l = DeviceList { account, epoch, entries, signature };
        verify_labelled(&account, LABEL_DEVICE_LIST, &l.body(), &signature)?;
        for (d, k, c) in &l.entries {
            let mut m = Vec::with_capacity(36);
            m.extend_from_slice(&account);
            m.extend_from_slice(&d.to_be_bytes());
            verify_labelled(k, LABEL_DEVICE_CONSENT, &m, c)?;
        }
        r.finish()?;
        Ok(l)
    }
}

/// A prekey upload (§19.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreKeyUpload {
    pub certificate: DeviceCertificate,
    pub spk_id: u32,
    pub spk: [u8; 32],
    pub spk_signature: [u8; 64],
    pub last_resort: KemPreKeyPublic,
    pub one_time: Vec<(u32, [u8; 32])>,
    pub kem: Vec<KemPreKeyPublic>,
    pub signature: [u8; 64],
}

impl PreKeyUpload {
    /// `'U' || 0x01 || certificate (134) || u32(spk id) || SPK || SIG ||
    /// last-resort KEM prekey (public encoding, §16.2) || u16(n) || n ×
    /// (u32(id) || OPK) || u16(m) || m × KEM prekey (public encoding)`.
    pub fn body(&self) -> Vec<u8> {
        let mut b = vec![TAG_PREKEY_UPLOAD, DEVICE_FORMAT_VERSION];
        b.extend_from_slice(&self.certificate.encode());
        b.extend_from_slice(&self.spk_id.to_be_bytes());
        b.extend_from_slice(&self.spk);
        b.extend_from_slice(&self.spk_signature);
        b.extend_from_slice(&self.last_resort.encode());
        b.extend_from_slice(&u16::try_from(self.one_time.len()).expect("u16").to_be_bytes());
        for (id, k) in &self.one_time {
            b.extend_from_slice(&id.to_be_bytes());
            b.extend_from_slice(k);
        }
        b.extend_from_slice(&u16::try_from(self.kem.len()).expect("u16").to_be_bytes());
        for k in &self.kem {
            b.extend_from_slice(&k.encode());
        }
        b
    }

    /// Signs the upload with the device's identity key.
    pub fn sign(&mut self, identity: &Identity) {
        self.signature = sign_labelled(&identity.seed, LABEL_PREKEY_UPLOAD, &self.body());
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = self.body();
        b.extend_from_slice(&self.signature);
        b
    }

    /// Decodes in the order of §19.4: tag, version; the certificate with
    /// its signature; the signed prekey (`SPK` canonical); the last-resort
    /// KEM prekey (§16.2 type and `EK` checks); `n` (at most
    /// `MAX_ONE_TIME_PREKEYS`) and the one-time prekeys; `m` (at most
    /// `MAX_KEM_ONE_TIME_PREKEYS`) and the KEM prekeys; `SIG_U`;
    /// `TrailingBytes`; then all ids pairwise distinct (`InvalidValue`);
    /// then `SIG`, the last-resort `SIG_K`, each KEM prekey's `SIG_K` and
    /// `SIG_U`, under the certificate's identity key (`BadSignature`).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        read_tag_version(&mut r, TAG_PREKEY_UPLOAD, DEVICE_FORMAT_VERSION)?;
        let certificate = DeviceCertificate::read(&mut r)?;
        let spk_id = r.u32()?;
        let spk = r.x25519_key()?;
        let spk_signature = r.arr64()?;
        let last_resort = KemPreKeyPublic::read(&mut r)?;
        let n = usize::from(r.u16()?);
        if n > MAX_ONE_TIME_PREKEYS {
            return Err(DecodeError::InvalidValue.into());
        }
        let mut one_time = Vec::new();
        for _ in 0..n {
            let id = r.u32()?;
            one_time.push((id, r.x25519_key()?));
        }
        let m = usize::from(r.u16()?);
        if m > MAX_KEM_ONE_TIME_PREKEYS {
            return Err(DecodeError::InvalidValue.into());
        }
        let mut kem = Vec::new();
        for _ in 0..m {
            kem.push(KemPreKeyPublic::read(&mut r)?);
        }
        let signature = r.arr64()?;
        r.finish()?;
        let mut ids = vec![spk_id, last_resort.id];
        ids.extend(one_time.iter().map(|(id, _)| *id));
        ids.extend(kem.iter().map(|k| k.id));
        if ids.iter().enumerate().any(|(i, id)| ids[..i].contains(id)) {
            return Err(DecodeError::InvalidValue.into());
        }
        let owner = certificate.identity;
        if !verify_strict(&owner, &signed_prekey_message(spk_id, &spk), &spk_signature) {
            return Err(Error::BadSignature);
        }
        last_resort.verify(&owner)?;
        for k in &kem {
            k.verify(&owner)?;
        }
        let u =
            PreKeyUpload { certificate, spk_id, spk, spk_signature, last_resort, one_time, kem, signature };
        verify_labelled(&owner, LABEL_PREKEY_UPLOAD, &u.body(), &signature)?;
        Ok(u)
    }
}

/// A retry message (§21.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryMessage {
    pub reason: u8,
    pub prekey_id: u32,
    /// `SHA-256(failed message)[0..16]`.
    pub digest: [u8; 16],
    pub timestamp: u64,
    pub author: [u8; 32],
    pub recipient: [u8; 32],
    pub signature: [u8; 64],
}

impl RetryMessage {
    /// `'E' || 0x01 || reason || u32(prekey id) || digest (16) || u64(timestamp) || author || recipient`.
    pub fn body(&self) -> Vec<u8> {
        let mut b = vec![TAG_RETRY, RETRY_FORMAT_VERSION, self.reason];
        b.extend_from_slice(&self.prekey_id.to_be_bytes());
        b.extend_from_slice(&self.digest);
        b.extend_from_slice(&self.timestamp.to_be_bytes());
        b.extend_from_slice(&self.author);
        b.extend_from_slice(&self.recipient);
        b
    }

    /// The retry with these fields, signed by `author` (no field checks).
    pub fn sign(
        author: &Identity,
        reason: u8,
        prekey_id: u32,
        digest: [u8; 16],
        timestamp: u64,
        recipient: [u8; 32],
    ) -> Self {
        let mut m = RetryMessage {
            reason,
            prekey_id,
            digest,
            timestamp,
            author: author.public,
            recipient,
            signature: [0; 64],
        };
        m.signature = sign_labelled(&author.seed, LABEL_RETRY, &m.body());
        m
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = self.body();
        b.extend_from_slice(&self.signature);
        assert_eq!(b.len(), RETRY_MESSAGE_LEN);
        b
    }

    /// Decodes in the order of §21.1: tag, version, reason (an unknown one
    /// is `InvalidValue` at once), prekey id, digest, timestamp, author and
    /// recipient (strict), signature; `TrailingBytes`; then the consistency
    /// with the reason (`NoSession` and `HandshakeFailed`: prekey id 0, else
    /// `InvalidValue`); then the signature under the author key.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        read_tag_version(&mut r, TAG_RETRY, RETRY_FORMAT_VERSION)?;
        let reason = r.u8()?;
        if !matches!(reason, RETRY_NO_SESSION | RETRY_UNKNOWN_PREKEY | RETRY_HANDSHAKE_FAILED) {
            return Err(DecodeError::InvalidValue.into());
        }
        let prekey_id = r.u32()?;
        let digest: [u8; 16] = r.take(16)?.try_into().expect("16 bytes");
        let timestamp = r.u64()?;
        let author = read_ed25519_key(&mut r)?;
        let recipient = read_ed25519_key(&mut r)?;
        let signature = r.arr64()?;
        r.finish()?;
        let consistent = reason == RETRY_UNKNOWN_PREKEY || prekey_id == 0;
        if !consistent {
            return Err(DecodeError::InvalidValue.into());
        }
        let m = RetryMessage { reason, prekey_id, digest, timestamp, author, recipient, signature };
        verify_labelled(&author, LABEL_RETRY, &m.body(), &signature)?;
        Ok(m)
    }
}

/// One session of a record (§20.4).
#[derive(Clone, Debug)]
pub struct RecordEntry {
    pub flags: u8,
    /// The base key of the handshake that made the session.
    pub base_key: [u8; 32],
    pub created_at: u64,
    /// The embedded §10.4 session encoding, as stored.
    pub session_bytes: Vec<u8>,
    pub session: Session,
}

/// A session record (§20.4), decoded in layout order: `'R' || 0x01 || u32(device) || u8(has current)
/// || u8(archived count) || entries (current first, then archived newest
/// first)`, each entry `u8(flags) || base key || u64(created_at) ||
/// u32(len) || session (len bytes, §10.4)`.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub device: u32,
    pub current: Option<RecordEntry>,
    pub archived: Vec<RecordEntry>,
    /// `SHA-256(message)[0..16]` of the last messages decrypted, oldest first (§20.2).
    pub recent: Vec<[u8; 16]>,
    /// `(SHA-256(message)[0..16], base key of its session)` of the last
    /// messages sent, oldest first (§20.2).
    pub sent: Vec<([u8; 16], [u8; 32])>,
}

impl SessionRecord {
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        read_tag_version(&mut r, TAG_SESSION_RECORD, RECORD_FORMAT_VERSION)?;
        let device = r.u32()?;
        let has_current = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(DecodeError::InvalidValue.into()),
        };
        let n = usize::from(r.u8()?);
        if n > MAX_ARCHIVED_SESSIONS {
            return Err(DecodeError::InvalidValue.into());
        }
        let read_entry = |r: &mut Reader<'_>| -> Result<RecordEntry> {
            let flags = r.u8()?;
            if flags & !RECORD_FLAG_PEER_LOST != 0 {
                return Err(DecodeError::InvalidFlags(flags).into());
            }
            let base_key = r.arr32()?;
            let created_at = r.u64()?;
            let len = usize::try_from(r.u32()?).expect("usize");
            let session_bytes = r.take(len)?.to_vec();
            let session = Session::decode(&session_bytes).map_err(|e| match e {
                Error::Decode(d) => Error::Decode(d),
                _ => Error::Decode(DecodeError::InvalidValue),
            })?;
            // The handshake's base key, where the session still has it: the
            // initiator's own while its handshake is pending, the
            // initiator's as responder (§10.4).
            let held = match (&session.pending, &session.base_key) {
                (Some(p), _) => Some(p.ek_a),
                (None, Some(k)) => Some(*k),
                (None, None) => None,
            };
            if held.is_some_and(|k| k != base_key) {
                return Err(DecodeError::InvalidValue.into());
            }
            Ok(RecordEntry { flags, base_key, created_at, session_bytes, session })
        };
        let current = if has_current { Some(read_entry(&mut r)?) } else { None };
        if current.as_ref().is_some_and(|e| e.flags & RECORD_FLAG_PEER_LOST != 0) {
            return Err(DecodeError::InvalidValue.into());
        }
        let mut archived = Vec::new();
        for _ in 0..n {
            archived.push(read_entry(&mut r)?);
        }
        let k = usize::from(r.u8()?);
        if k > MAX_RECENT_MESSAGES {
            return Err(DecodeError::InvalidValue.into());
        }
        let mut recent = Vec::new();
        for _ in 0..k {
            recent.push(r.take(16)?.try_into().expect("16 bytes"));
        }
        let k = usize::from(r.u8()?);
        if k > MAX_SENT_MESSAGES {
            return Err(DecodeError::InvalidValue.into());
        }
        let mut sent = Vec::new();
        for _ in 0..k {
            let digest: [u8; 16] = r.take(16)?.try_into().expect("16 bytes");
            sent.push((digest, r.arr32()?));
        }
        r.finish()?;
        Ok(SessionRecord { device, current, archived, recent, sent })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![TAG_SESSION_RECORD, RECORD_FORMAT_VERSION];
        b.extend_from_slice(&self.device.to_be_bytes());
        b.push(u8::from(self.current.is_some()));
        b.push(u8::try_from(self.archived.len()).expect("u8"));
        for e in self.current.iter().chain(&self.archived) {
            b.push(e.flags);
            b.extend_from_slice(&e.base_key);
            b.extend_from_slice(&e.created_at.to_be_bytes());
            let s = e.session.encode();
            b.extend_from_slice(&u32::try_from(s.len()).expect("u32").to_be_bytes());
            b.extend_from_slice(&s);
        }
        b.push(u8::try_from(self.recent.len()).expect("u8"));
        for d in &self.recent {
            b.extend_from_slice(d);
        }
        b.push(u8::try_from(self.sent.len()).expect("u8"));
        for (d, base) in &self.sent {
            b.extend_from_slice(d);
            b.extend_from_slice(base);
        }
        b
    }
}

/// `SHA-256(bytes)`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

// ---------------------------------------------------------------------------
// Media (§22-§25): attachments, call keys, SFrame and group call keys,
// written from SPEC.md §22-§25 on the raw crates (aes-gcm, aes + ctr,
// hmac, hkdf, sha2, x25519-dalek, ml-kem), not from `src/media/`.

/// §22.1 `C`.
pub const ATTACHMENT_CHUNK_LEN: usize = 65_536;
/// §22.1 `MAX_ATTACHMENT_LEN = 2^48`.
pub const MAX_ATTACHMENT_LEN: u64 = 1 << 48;
/// §22.1, 23 bytes.
pub const LABEL_ATTACHMENT: &[u8] = b"chatcrypt v3 attachment";
/// §22.1, 30 bytes.
pub const LABEL_ATTACHMENT_DIGEST: &[u8] = b"chatcrypt v3 attachment digest";
/// §22.3.
pub const TAG_ATTACHMENT_POINTER: u8 = 0x46;
/// §22.3.
pub const ATTACHMENT_POINTER_LEN: usize = 74;

/// A blob and pointer of §22.1.
pub struct EncryptedAttachment {
    pub blob: Vec<u8>,
    pub tags: Vec<[u8; 16]>,
    pub digest: [u8; 32],
    pub pointer: Vec<u8>,
}

/// §22.1 `n = max(1, ceil(size / C))`.
pub fn attachment_chunk_count(size: u64) -> u64 {
    size.div_ceil(ATTACHMENT_CHUNK_LEN as u64).max(1)
}

/// §22.1 `AD = "chatcrypt v3 attachment" || u64(size)`.
pub fn attachment_ad(size: u64) -> Vec<u8> {
    [LABEL_ATTACHMENT, &size.to_be_bytes()].concat()
}

/// §22.1 `N_i = 0x00 * 7 || u32(i) || f_i`.
pub fn attachment_nonce(i: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[7..11].copy_from_slice(&u32::try_from(i).expect("i < 2^32").to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// §22.1: the whole construction for `key` and `plaintext`.
pub fn attachment_encrypt(key: &[u8; 32], plaintext: &[u8]) -> EncryptedAttachment {
    let size = plaintext.len() as u64;
    let n = attachment_chunk_count(size);
    let ad = attachment_ad(size);
    let mut blob = Vec::with_capacity(plaintext.len() + 16 * n as usize);
    let mut tags = Vec::new();
    for i in 0..n {
        let start = (i as usize) * ATTACHMENT_CHUNK_LEN;
        let end = ((i as usize + 1) * ATTACHMENT_CHUNK_LEN).min(plaintext.len());
        let sealed = aead_seal(key, &attachment_nonce(i, i == n - 1), &ad, &plaintext[start..end]);
        tags.push(sealed[sealed.len() - 16..].try_into().expect("16-byte tag"));
        blob.extend_from_slice(&sealed);
    }
    let digest = attachment_digest(size, &tags);
    let pointer = AttachmentPointer { key: *key, size, digest }.encode();
    EncryptedAttachment { blob, tags, digest, pointer }
}

/// §22.1 `digest = SHA-256("chatcrypt v3 attachment digest" || u64(size) || T_0 || ...)`.
pub fn attachment_digest(size: u64, tags: &[[u8; 16]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(LABEL_ATTACHMENT_DIGEST);
    h.update(size.to_be_bytes());
    for t in tags {
        h.update(t);
    }
    h.finalize().into()
}

/// §22.3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentPointer {
    pub key: [u8; 32],
    pub size: u64,
    pub digest: [u8; 32],
}

impl AttachmentPointer {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![TAG_ATTACHMENT_POINTER, 0x01];
        out.extend_from_slice(&self.key);
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.digest);
        out
    }

    /// §22.3 in layout order: tag, version, key, size (`> 2^48`:
    /// `InvalidValue`, before the digest), digest, then `TrailingBytes`.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        read_tag_version(&mut r, TAG_ATTACHMENT_POINTER, 0x01)?;
        let key = r.arr32()?;
        let size = r.u64()?;
        if size > MAX_ATTACHMENT_LEN {
            return Err(DecodeError::InvalidValue.into());
        }
        let digest = r.arr32()?;
        r.finish()?;
        Ok(AttachmentPointer { key, size, digest })
    }
}

/// §22.5, the one-shot receiver: the blob's length first, then each chunk
/// (`Auth`), then the digest (`Auth`).
pub fn attachment_decrypt(pointer: &AttachmentPointer, blob: &[u8]) -> Result<Vec<u8>> {
    let n = attachment_chunk_count(pointer.size);
    let expected = pointer.size + 16 * n;
    match (blob.len() as u64).cmp(&expected) {
        std::cmp::Ordering::Less => return Err(DecodeError::Truncated.into()),
        std::cmp::Ordering::Greater => return Err(DecodeError::TrailingBytes.into()),
        std::cmp::Ordering::Equal => {}
    }
    let ad = attachment_ad(pointer.size);
    let mut out = Vec::new();
    let mut tags = Vec::new();
    let mut rest = blob;
    for i in 0..n {
        let plain = if i == n - 1 {
            (pointer.size - (n - 1) * ATTACHMENT_CHUNK_LEN as u64) as usize
        } else {
            ATTACHMENT_CHUNK_LEN
        };
        let (chunk, tail) = rest.split_at(plain + 16);
        out.extend_from_slice(&aead_open(&pointer.key, &attachment_nonce(i, i == n - 1), &ad, chunk)?);
        tags.push(chunk[plain..].try_into().expect("16-byte tag"));
        rest = tail;
    }
    if attachment_digest(pointer.size, &tags) != pointer.digest {
        return Err(Error::Auth);
    }
    Ok(out)
}

// §23 Call keys.

/// §23.1 `'o'`.
pub const TAG_CALL_OFFER: u8 = 0x6F;
/// §23.1 `'a'`.
pub const TAG_CALL_ANSWER: u8 = 0x61;
pub const LABEL_CALL: &[u8] = b"chatcrypt v3 call";
pub const LABEL_CALL_SRTP_CALLER: &[u8] = b"chatcrypt v3 call srtp caller";
pub const LABEL_CALL_SRTP_CALLEE: &[u8] = b"chatcrypt v3 call srtp callee";
pub const LABEL_CALL_SFRAME_CALLER: &[u8] = b"chatcrypt v3 call sframe caller";
pub const LABEL_CALL_SFRAME_CALLEE: &[u8] = b"chatcrypt v3 call sframe callee";

/// An offer (§23.1): `kem` is the type byte and `EK`, or `None` for type 0x00.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallOffer {
    pub cid: [u8; 16],
    pub e_pub: [u8; 32],
    pub kem: Option<(u8, Vec<u8>)>,
}

/// An answer (§23.1): `kem` is the type byte and `CT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallAnswer {
    pub cid: [u8; 16],
    pub e_pub: [u8; 32],
    pub kem: Option<(u8, Vec<u8>)>,
}

fn call_encode(tag: u8, cid: &[u8; 16], e_pub: &[u8; 32], kem: &Option<(u8, Vec<u8>)>) -> Vec<u8> {
    let mut out = vec![tag, 0x01];
    out.extend_from_slice(cid);
    out.extend_from_slice(e_pub);
    match kem {
        None => out.push(0x00),
        Some((t, bytes)) => {
            out.push(*t);
            out.extend_from_slice(bytes);
        }
    }
    out
}

/// §23.1 decoding, in layout order; `offer` selects the `EK` check.
/// `CID`, the X25519 key and the KEM part of an offer or answer.
type CallFields = ([u8; 16], [u8; 32], Option<(u8, Vec<u8>)>);

fn call_decode(bytes: &[u8], tag: u8, offer: bool) -> Result<CallFields> {
    let mut r = Reader::new(bytes);
    read_tag_version(&mut r, tag, 0x01)?;
    let cid = r.arr16()?;
    let e_pub = r.x25519_key()?;
    let kem = match r.u8()? {
        0x00 => None,
        t => {
            kem_type_check(t)?;
            let body = r.take(if offer { KEM_EK_LEN } else { KEM_CT_LEN })?.to_vec();
            if offer {
                kem_check_public_key(&body)?;
            }
            Some((t, body))
        }
    };
    r.finish()?;
    Ok((cid, e_pub, kem))
}

impl CallOffer {
    /// §23.1: the offer of the caller's draws `CID`, `e_C` and, for a
    /// hybrid call, the ML-KEM seed `d || z`.
    pub fn new(cid: [u8; 16], e_c: &[u8; 32], kem_seed: Option<&[u8; KEM_SEED_LEN]>) -> Self {
        CallOffer {
            cid,
            e_pub: x25519_base(e_c),
            kem: kem_seed.map(|s| (KEM_ML_KEM_1024, kem_public_key(s))),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        call_encode(TAG_CALL_OFFER, &self.cid, &self.e_pub, &self.kem)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let (cid, e_pub, kem) = call_decode(bytes, TAG_CALL_OFFER, true)?;
        Ok(CallOffer { cid, e_pub, kem })
    }
}

impl CallAnswer {
    pub fn encode(&self) -> Vec<u8> {
        call_encode(TAG_CALL_ANSWER, &self.cid, &self.e_pub, &self.kem)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let (cid, e_pub, kem) = call_decode(bytes, TAG_CALL_ANSWER, false)?;
        Ok(CallAnswer { cid, e_pub, kem })
    }
}

/// The outputs of §23.2 (and the intermediate values, for the vectors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallKeys {
    pub dh: [u8; 32],
    pub ss: Option<[u8; 32]>,
    pub transcript: [u8; 32],
    pub secret: [u8; 32],
    pub srtp_caller: [u8; 44],
    pub srtp_callee: [u8; 44],
    pub sframe_caller: [u8; 32],
    pub sframe_callee: [u8; 32],
}

/// §23.2 from `DH`, `SS`, both Ed25519 identity keys and the two encodings.
pub fn call_derive(
    cid: &[u8; 16],
    dh: [u8; 32],
    ss: Option<[u8; 32]>,
    ik_c: &[u8; 32],
    ik_r: &[u8; 32],
    offer: &[u8],
    answer: &[u8],
) -> CallKeys {
    let transcript = sha256(&[offer, answer].concat());
    let mut ikm = dh.to_vec();
    if let Some(ss) = &ss {
        ikm.extend_from_slice(ss);
    }
    let info = [LABEL_CALL, ik_c, ik_r, &transcript].concat();
    let mut secret = [0u8; 32];
    hkdf(cid, &ikm, &info, &mut secret);
    let mut keys = CallKeys {
        dh,
        ss,
        transcript,
        secret,
        srtp_caller: [0; 44],
        srtp_callee: [0; 44],
        sframe_caller: [0; 32],
        sframe_callee: [0; 32],
    };
    hkdf_expand(&secret, LABEL_CALL_SRTP_CALLER, &mut keys.srtp_caller);
    hkdf_expand(&secret, LABEL_CALL_SRTP_CALLEE, &mut keys.srtp_callee);
    hkdf_expand(&secret, LABEL_CALL_SFRAME_CALLER, &mut keys.sframe_caller);
    hkdf_expand(&secret, LABEL_CALL_SFRAME_CALLEE, &mut keys.sframe_callee);
    keys
}

/// The callee (§23.1, §23.2): from its draws `e_R` and (hybrid) `m`.
pub fn call_answer(
    offer: &CallOffer,
    e_r: &[u8; 32],
    m: Option<&[u8; 32]>,
    ik_c: &[u8; 32],
    ik_r: &[u8; 32],
) -> Result<(CallAnswer, CallKeys)> {
    let dh = x25519(e_r, &offer.e_pub)?;
    let (kem, ss) = match (&offer.kem, m) {
        (Some((t, ek)), Some(m)) => {
            let (ct, ss) = kem_encapsulate(ek, m)?;
            (Some((*t, ct)), Some(ss))
        }
        (None, None) => (None, None),
        _ => panic!("m is drawn exactly for a hybrid offer"),
    };
    let answer = CallAnswer { cid: offer.cid, e_pub: x25519_base(e_r), kem };
    let keys = call_derive(&offer.cid, dh, ss, ik_c, ik_r, &offer.encode(), &answer.encode());
    Ok((answer, keys))
}

/// The caller on the answer (§23.1, §23.2): `HandshakeMismatch` first,
/// then the DH rule.
pub fn call_complete(
    offer: &CallOffer,
    e_c: &[u8; 32],
    kem_seed: Option<&[u8; KEM_SEED_LEN]>,
    answer: &CallAnswer,
    ik_c: &[u8; 32],
    ik_r: &[u8; 32],
) -> Result<CallKeys> {
    if answer.cid != offer.cid || answer.kem.as_ref().map(|k| k.0) != offer.kem.as_ref().map(|k| k.0) {
        return Err(Error::HandshakeMismatch);
    }
    let dh = x25519(e_c, &answer.e_pub)?;
    let ss = match (&answer.kem, kem_seed) {
        (Some((_, ct)), Some(seed)) => Some(kem_decapsulate(seed, ct)),
        _ => None,
    };
    Ok(call_derive(&offer.cid, dh, ss, ik_c, ik_r, &offer.encode(), &answer.encode()))
}

// §24 SFrame.

/// A cipher suite of §24.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SframeSuite {
    pub id: u16,
    /// `Nh`.
    pub nh: usize,
    /// `Nk`.
    pub nk: usize,
    /// `Nt`.
    pub nt: usize,
}

impl SframeSuite {
    /// §24.1: values 1-5; anything else `InvalidValue`.
    pub fn from_id(id: u16) -> Result<Self> {
        let (nh, nk, nt) = match id {
            1 => (32, 48, 10),
            2 => (32, 48, 8),
            3 => (32, 48, 4),
            4 => (32, 16, 16),
            5 => (64, 32, 16),
            _ => return Err(DecodeError::InvalidValue.into()),
        };
        Ok(SframeSuite { id, nh, nk, nt })
    }

    fn is_gcm(&self) -> bool {
        self.id >= 4
    }

    /// `HKDF-Extract(salt = "", ikm)` with the suite's hash.
    pub fn extract(&self, ikm: &[u8]) -> Vec<u8> {
        if self.nh == 64 {
            Hkdf::<Sha512>::extract(Some(&[]), ikm).0.to_vec()
        } else {
            Hkdf::<Sha256>::extract(Some(&[]), ikm).0.to_vec()
        }
    }

    /// `HKDF-Expand(prk, info, len)` with the suite's hash.
    pub fn expand(&self, prk: &[u8], info: &[u8], len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        if self.nh == 64 {
            Hkdf::<Sha512>::from_prk(prk).expect("PRK").expand(info, &mut out).expect("length");
        } else {
            Hkdf::<Sha256>::from_prk(prk).expect("PRK").expand(info, &mut out).expect("length");
        }
        out
    }

    /// §24.3: `(sframe_key, sframe_salt)` of `kid`.
    pub fn key_and_salt(&self, kid: u64, base_key: &[u8]) -> (Vec<u8>, [u8; 12]) {
        let secret = self.extract(base_key);
        let tail = [&kid.to_be_bytes()[..], &self.id.to_be_bytes()].concat();
        let key = self.expand(&secret, &[b"SFrame 1.0 Secret key ", &tail[..]].concat(), self.nk);
        let salt = self.expand(&secret, &[b"SFrame 1.0 Secret salt ", &tail[..]].concat(), 12);
        (key, salt.try_into().expect("12 bytes"))
    }

    /// §24.3 ratchet: `HKDF-Expand(HKDF-Extract("", base_key), "SFrame 1.0 Ratchet", Nh)`.
    pub fn ratchet(&self, base_key: &[u8]) -> Vec<u8> {
        self.expand(&self.extract(base_key), b"SFrame 1.0 Ratchet", self.nh)
    }

    /// §24.4: the whole frame `header || ciphertext || tag`.
    pub fn encrypt(&self, base_key: &[u8], kid: u64, ctr: u64, metadata: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let (key, salt) = self.key_and_salt(kid, base_key);
        let header = sframe_header_encode(kid, ctr);
        let nonce = sframe_nonce(&salt, ctr);
        let aad = [&header[..], metadata].concat();
        let mut out = header;
        out.extend_from_slice(&self.seal(&key, &nonce, &aad, plaintext));
        out
    }

    fn seal(&self, key: &[u8], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut buf = plaintext.to_vec();
        if self.is_gcm() {
            let tag = if self.id == 4 {
                aes_gcm::Aes128Gcm::new_from_slice(key)
                    .expect("16-byte key")
                    .encrypt_inout_detached(&(*nonce).into(), aad, InOutBuf::from(&mut buf[..]))
                    .expect("GCM")
                    .to_vec()
            } else {
                Aes256Gcm::new_from_slice(key)
                    .expect("32-byte key")
                    .encrypt_inout_detached(&(*nonce).into(), aad, InOutBuf::from(&mut buf[..]))
                    .expect("GCM")
                    .to_vec()
            };
            buf.extend_from_slice(&tag);
        } else {
            sframe_ctr(&key[..16], nonce, &mut buf);
            let tag = sframe_ctr_tag(&key[16..48], self.nt, nonce, aad, &buf);
            buf.extend_from_slice(&tag);
        }
        buf
    }

    /// Decrypts one frame under `base_key` (the key of the header's KID):
    /// header (§24.2), `Nt` bytes of tag, then authentication (`Auth`).
    pub fn decrypt(&self, base_key: &[u8], frame: &[u8], metadata: &[u8]) -> Result<(u64, u64, Vec<u8>)> {
        let (kid, ctr, hlen) = sframe_header_decode(frame)?;
        let (header, body) = frame.split_at(hlen);
        if body.len() < self.nt {
            return Err(DecodeError::Truncated.into());
        }
        let (ct, tag) = body.split_at(body.len() - self.nt);
        let (key, salt) = self.key_and_salt(kid, base_key);
        let nonce = sframe_nonce(&salt, ctr);
        let aad = [header, metadata].concat();
        let mut buf = ct.to_vec();
        if self.is_gcm() {
            let tag: [u8; 16] = tag.try_into().expect("16-byte tag");
            let ok = if self.id == 4 {
                aes_gcm::Aes128Gcm::new_from_slice(&key).expect("key").decrypt_inout_detached(
                    &nonce.into(),
                    &aad,
                    InOutBuf::from(&mut buf[..]),
                    &tag.into(),
                )
            } else {
                Aes256Gcm::new_from_slice(&key).expect("key").decrypt_inout_detached(
                    &nonce.into(),
                    &aad,
                    InOutBuf::from(&mut buf[..]),
                    &tag.into(),
                )
            };
            ok.map_err(|_| Error::Auth)?;
        } else {
            if sframe_ctr_tag(&key[16..48], self.nt, &nonce, &aad, ct) != tag {
                return Err(Error::Auth);
            }
            sframe_ctr(&key[..16], &nonce, &mut buf);
        }
        Ok((kid, ctr, buf))
    }
}

/// §24.4 `nonce = sframe_salt XOR (0x00000000 || u64(CTR))`.
pub fn sframe_nonce(salt: &[u8; 12], ctr: u64) -> [u8; 12] {
    let mut n = *salt;
    for (b, c) in n[4..].iter_mut().zip(ctr.to_be_bytes()) {
        *b ^= c;
    }
    n
}

/// §24.4: AES-128-CTR from the counter block `nonce || 0x00000000`, the
/// last 32 bits counting blocks big-endian.
fn sframe_ctr(key: &[u8], nonce: &[u8; 12], buf: &mut [u8]) {
    use ctr::cipher::{KeyIvInit, StreamCipher};
    let mut iv = [0u8; 16];
    iv[..12].copy_from_slice(nonce);
    let mut c = ctr::Ctr32BE::<aes::Aes128>::new_from_slices(key, &iv).expect("16-byte key and IV");
    c.apply_keystream(buf);
}

/// §24.4: `HMAC-SHA256(auth_key, u64(len(aad)) || u64(len(ct)) || u64(Nt) || nonce || aad || ct)[0..Nt]`.
fn sframe_ctr_tag(auth_key: &[u8], nt: usize, nonce: &[u8; 12], aad: &[u8], ct: &[u8]) -> Vec<u8> {
    let m = [
        &(aad.len() as u64).to_be_bytes()[..],
        &(ct.len() as u64).to_be_bytes(),
        &(nt as u64).to_be_bytes(),
        nonce,
        aad,
        ct,
    ]
    .concat();
    hmac(auth_key, &m)[..nt].to_vec()
}

/// §24.2: the number of bytes of an extended field, 0 for a value below 8.
fn sframe_field_len(v: u64) -> usize {
    if v < 8 {
        0
    } else {
        8 - (v.leading_zeros() as usize) / 8
    }
}

/// §24.2: the minimal header of `(kid, ctr)`.
pub fn sframe_header_encode(kid: u64, ctr: u64) -> Vec<u8> {
    let (kl, cl) = (sframe_field_len(kid), sframe_field_len(ctr));
    let nibble = |v: u64, l: usize| if l == 0 { v as u8 } else { 0x08 | (l as u8 - 1) };
    let mut out = vec![(nibble(kid, kl) << 4) | nibble(ctr, cl)];
    out.extend_from_slice(&kid.to_be_bytes()[8 - kl..]);
    out.extend_from_slice(&ctr.to_be_bytes()[8 - cl..]);
    out
}

/// §24.2 decoding: config byte, KID field, CTR field, each checked when
/// read (`Truncated`, non-minimal `InvalidValue`); returns `(kid, ctr, len)`.
pub fn sframe_header_decode(frame: &[u8]) -> Result<(u64, u64, usize)> {
    let mut r = Reader::new(frame);
    let config = r.u8()?;
    let mut field = |nibble: u8| -> Result<u64> {
        if nibble & 0x08 == 0 {
            return Ok(u64::from(nibble));
        }
        let n = usize::from(nibble & 0x07) + 1;
        let bytes = r.take(n)?;
        if bytes[0] == 0 || (n == 1 && bytes[0] < 8) {
            return Err(DecodeError::InvalidValue.into());
        }
        Ok(bytes.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b)))
    };
    let kid = field(config >> 4)?;
    let ctr = field(config & 0x0f)?;
    Ok((kid, ctr, r.pos()))
}

// §25 Group call keys.

/// §25.1 `'k'`.
pub const TAG_MEDIA_KEY: u8 = 0x6B;

/// §25.1 `KID = u32(sender) << 32 | u24(generation) << 8 | u8(step)`.
pub fn group_kid(sender: u32, generation: u32, step: u8) -> u64 {
    assert!(generation < 1 << 24);
    (u64::from(sender) << 32) | (u64::from(generation) << 8) | u64::from(step)
}

/// A media key message (§25.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaKeyMessage {
    pub call_id: [u8; 16],
    pub suite: u16,
    pub kid: u64,
    pub activate_at: u64,
    pub key: Vec<u8>,
}

impl MediaKeyMessage {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![TAG_MEDIA_KEY, 0x01];
        out.extend_from_slice(&self.call_id);
        out.extend_from_slice(&self.suite.to_be_bytes());
        out.extend_from_slice(&self.kid.to_be_bytes());
        out.extend_from_slice(&self.activate_at.to_be_bytes());
        out.push(u8::try_from(self.key.len()).expect("32 or 64"));
        out.extend_from_slice(&self.key);
        out
    }

    /// §25.1 decoding, in layout order.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        read_tag_version(&mut r, TAG_MEDIA_KEY, 0x01)?;
        let call_id = r.arr16()?;
        let suite = r.u16()?;
        let nh = SframeSuite::from_id(suite)?.nh;
        let kid = r.u64()?;
        let activate_at = r.u64()?;
        let len = usize::from(r.u8()?);
        if len != 32 && len != nh {
            return Err(DecodeError::InvalidValue.into());
        }
        let key = r.take(len)?.to_vec();
        r.finish()?;
        Ok(MediaKeyMessage { call_id, suite, kid, activate_at, key })
    }
}

// ---------------------------------------------------------------------------
// Padding (§26) and sealed sender (§27), written from SPEC.md §26-§27 on the
// raw crates (x25519-dalek, ed25519-dalek, hkdf, aes-gcm), not from
// `src/padding.rs` or `src/sealed/`.

/// §26.1 policy kinds.
pub const PADDING_NONE: u8 = 0x00;
pub const PADDING_BLOCKS: u8 = 0x01;
pub const PADDING_PADME: u8 = 0x02;
/// §26.2: the three header bytes and the `0x80` marker.
pub const PADDING_OVERHEAD: usize = 4;

/// A padding policy (§26.1): `Blocks(B)` with `1 ≤ B`, `Padme(F)` with the floor `F`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaddingPolicy {
    None,
    Blocks(u16),
    Padme(u16),
}

impl PaddingPolicy {
    /// `kind || u16(param)` (§26.2 offsets 0-2).
    pub fn header(self) -> [u8; 3] {
        let (kind, param) = match self {
            PaddingPolicy::None => (PADDING_NONE, 0),
            PaddingPolicy::Blocks(b) => (PADDING_BLOCKS, b),
            PaddingPolicy::Padme(f) => (PADDING_PADME, f),
        };
        let p = param.to_be_bytes();
        [kind, p[0], p[1]]
    }

    /// §26.2 unpad step 2: the kind is known; `none` has `param = 0`,
    /// `blocks` has `param ≥ 1`; else `Padding`.
    pub fn from_header(kind: u8, param: u16) -> Result<Self> {
        match (kind, param) {
            (PADDING_NONE, 0) => Ok(PaddingPolicy::None),
            (PADDING_BLOCKS, b) if b >= 1 => Ok(PaddingPolicy::Blocks(b)),
            (PADDING_PADME, f) => Ok(PaddingPolicy::Padme(f)),
            _ => Err(Error::Padding),
        }
    }

    /// `P(u)` of §26.1 for an unpadded length `u` (content + 4).
    pub fn padded_len_of_unpadded(self, u: usize) -> usize {
        match self {
            PaddingPolicy::None => u,
            PaddingPolicy::Blocks(b) => {
                let b = usize::from(b);
                b * u.div_ceil(b)
            }
            PaddingPolicy::Padme(f) => usize::from(f).max(padme(u)),
        }
    }

    /// The padded length of a content of `n` bytes: `P(n + 4)`.
    pub fn padded_len(self, n: usize) -> usize {
        self.padded_len_of_unpadded(n + PADDING_OVERHEAD)
    }
}

/// `⌊log2 x⌋` for `x ≥ 1`, by halving.
fn floor_log2(mut x: usize) -> u32 {
    assert!(x >= 1);
    let mut k = 0;
    while x > 1 {
        x >>= 1;
        k += 1;
    }
    k
}

/// `padme(L)` of §26.1 for `L ≥ 2`: `E = ⌊log2 L⌋`, `S = ⌊log2 E⌋ + 1`,
/// `b = E - S`, `2^b · ⌈L / 2^b⌉`.
pub fn padme(l: usize) -> usize {
    assert!(l >= 2, "§26.1 defines padme for L ≥ 2 (here u ≥ 4)");
    let e = floor_log2(l);
    let s = floor_log2(e as usize) + 1;
    let b = e - s;
    let step = 1usize << b;
    step * l.div_ceil(step)
}

/// §26.2: `kind || u16(param) || content || 0x80 || 0x00 * z`, `z = P(u) - u`.
pub fn pad(policy: PaddingPolicy, content: &[u8]) -> Vec<u8> {
    let len = policy.padded_len(content.len());
    let mut x = policy.header().to_vec();
    x.extend_from_slice(content);
    x.push(0x80);
    x.resize(len, 0x00);
    x
}

/// §26.2 "Pad" under a layer's limit: `TooLarge { len: P(u), max }`.
pub fn pad_limited(policy: PaddingPolicy, content: &[u8], max: usize) -> Result<Vec<u8>> {
    let len = policy.padded_len(content.len());
    if len > max {
        return Err(Error::TooLarge { len, max });
    }
    Ok(pad(policy, content))
}

/// §26.2 "Unpad", steps 1-4 in order; every failure is `Padding`. Returns
/// the policy stated in `x` and the content.
pub fn unpad(x: &[u8]) -> Result<(PaddingPolicy, Vec<u8>)> {
    // 1.
    if x.len() < 4 {
        return Err(Error::Padding);
    }
    // 2.
    let policy = PaddingPolicy::from_header(x[0], u16::from_be_bytes([x[1], x[2]]))?;
    // 3. the last byte that is not 0x00.
    let mut i = x.len();
    loop {
        if i == 0 {
            return Err(Error::Padding);
        }
        i -= 1;
        if x[i] != 0x00 {
            break;
        }
    }
    if i < 3 || x[i] != 0x80 {
        return Err(Error::Padding);
    }
    // 4.
    if policy.padded_len_of_unpadded(i + 1) != x.len() {
        return Err(Error::Padding);
    }
    Ok((policy, x[3..i].to_vec()))
}

// §27.1 Sender certificates.

/// 's', 'c', 'm': the sealed envelope, the certificate, the multi-recipient envelope.
pub const TAG_SEALED: u8 = 0x73;
pub const TAG_SENDER_CERTIFICATE: u8 = 0x63;
pub const TAG_SEALED_MULTI: u8 = 0x6D;
/// The version byte of §27's formats.
pub const SEALED_VERSION: u8 = 0x01;
pub const SENDER_CERTIFICATE_LEN: usize = 182;
pub const LABEL_SENDER_CERTIFICATE: &[u8] = b"chatcrypt v3 sender certificate";
/// §27.6.
pub const MAX_SEALED_RECIPIENTS: usize = 1024;
pub const MAX_SEALED_PADDED_LEN: usize = 2_097_152;
/// §27.3: the shortest payload, `182 + 4 + 16`.
pub const MIN_SEALED_PAYLOAD_LEN: usize = SENDER_CERTIFICATE_LEN + PADDING_OVERHEAD + TAG_LEN;
pub const SEALED_HEADER_LEN: usize = 2 + 32 + 32 + 16;
pub const SEALED_ENTRY_LEN: usize = 32 + 32 + 16;
pub const LABEL_SEALED_KEYS: &[u8] = b"chatcrypt v3 sealed keys";
pub const LABEL_SEALED_KEY: &[u8] = b"chatcrypt v3 sealed key";
pub const LABEL_SEALED_SENDER: &[u8] = b"chatcrypt v3 sealed sender";
pub const LABEL_SEALED_PAYLOAD: &[u8] = b"chatcrypt v3 sealed payload";

/// A sender certificate (§27.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderCertificate {
    pub serial: u64,
    pub expires: u64,
    pub account: [u8; 32],
    pub device: u32,
    /// `IK_S`.
    pub identity: [u8; 32],
    /// The issuing server key.
    pub server: [u8; 32],
    pub signature: [u8; 64],
}

/// What validation trusts (§27.1): roots, revoked serials, the caller's time.
#[derive(Clone, Debug, Default)]
pub struct CertificatePolicy {
    pub roots: Vec<[u8; 32]>,
    pub revoked: Vec<u64>,
    pub now: u64,
}

/// Byte-wise equality without early exit (the constant-time comparisons of §27).
pub fn ct_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl SenderCertificate {
    /// `C[0..118]`.
    pub fn body(&self) -> Vec<u8> {
        let mut b = vec![TAG_SENDER_CERTIFICATE, SEALED_VERSION];
        b.extend_from_slice(&self.serial.to_be_bytes());
        b.extend_from_slice(&self.expires.to_be_bytes());
        b.extend_from_slice(&self.account);
        b.extend_from_slice(&self.device.to_be_bytes());
        b.extend_from_slice(&self.identity);
        b.extend_from_slice(&self.server);
        assert_eq!(b.len(), 118);
        b
    }

    /// Issued by the server key of `server_seed`:
    /// `SIG_S = Ed25519_Sign(seed, "chatcrypt v3 sender certificate" || C[0..118])`.
    pub fn issue(
        server_seed: &[u8; 32],
        serial: u64,
        expires: u64,
        account: &[u8; 32],
        device: u32,
        identity: &[u8; 32],
    ) -> Self {
        let mut c = SenderCertificate {
            serial,
            expires,
            account: *account,
            device,
            identity: *identity,
            server: ed25519_public_of(server_seed),
            signature: [0; 64],
        };
        c.signature = sign_labelled(server_seed, LABEL_SENDER_CERTIFICATE, &c.body());
        c
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = self.body();
        b.extend_from_slice(&self.signature);
        assert_eq!(b.len(), SENDER_CERTIFICATE_LEN);
        b
    }

    /// §27.1 decoding, in layout order; the signature is not verified.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        read_tag_version(&mut r, TAG_SENDER_CERTIFICATE, SEALED_VERSION)?;
        let serial = r.u64()?;
        let expires = r.u64()?;
        let account = read_ed25519_key(&mut r)?;
        let device = r.u32()?;
        let identity = read_ed25519_key(&mut r)?;
        let server = read_ed25519_key(&mut r)?;
        let signature = r.arr64()?;
        r.finish()?;
        Ok(SenderCertificate { serial, expires, account, device, identity, server, signature })
    }

    /// §27.1 validation, steps 1-4 in order.
    pub fn validate(&self, policy: &CertificatePolicy) -> Result<()> {
        // 1. every root compared, no early exit.
        let trusted = policy.roots.iter().fold(false, |found, root| found | ct_equal(root, &self.server));
        if !trusted {
            return Err(Error::UntrustedCertificate);
        }
        // 2.
        verify_labelled(&self.server, LABEL_SENDER_CERTIFICATE, &self.body(), &self.signature)?;
        // 3.
        if policy.revoked.contains(&self.serial) {
            return Err(Error::CertificateRevoked);
        }
        // 4. valid while now < expires.
        if policy.now >= self.expires {
            return Err(Error::CertificateExpired);
        }
        Ok(())
    }
}

// §27.2 Sealing.

/// `e || K = HKDF("", M, "chatcrypt v3 sealed keys", 64)`; returns `(e, K, E)`.
pub fn sealed_keys(m: &[u8; 32]) -> ([u8; 32], [u8; 32], [u8; 32]) {
    let mut okm = [0u8; 64];
    hkdf(&[], m, LABEL_SEALED_KEYS, &mut okm);
    let e = split32(&okm, 0);
    let k = split32(&okm, 1);
    (e, k, x25519_base(&e))
}

/// The key stream over `M` for one recipient:
/// `HKDF("", dh, "chatcrypt v3 sealed key" || E || R, 32)`.
fn sealed_key_mask(dh: &[u8; 32], ephemeral: &[u8; 32], recipient: &[u8; 32]) -> [u8; 32] {
    let mut info = LABEL_SEALED_KEY.to_vec();
    info.extend_from_slice(ephemeral);
    info.extend_from_slice(recipient);
    let mut out = [0u8; 32];
    hkdf(&[], dh, &info, &mut out);
    out
}

/// `AT = HKDF("", dh, "chatcrypt v3 sealed sender" || E || C || IK_S || R ||
/// SHA-256(payload), 16)`.
fn sealed_sender_tag(
    dh: &[u8; 32],
    ephemeral: &[u8; 32],
    c: &[u8; 32],
    sender: &[u8; 32],
    recipient: &[u8; 32],
    payload: &[u8],
) -> [u8; 16] {
    use sha2::Digest;
    let mut info = LABEL_SEALED_SENDER.to_vec();
    info.extend_from_slice(ephemeral);
    info.extend_from_slice(c);
    info.extend_from_slice(sender);
    info.extend_from_slice(recipient);
    info.extend_from_slice(&sha2::Sha256::digest(payload));
    let mut out = [0u8; 16];
    hkdf(&[], dh, &info, &mut out);
    out
}

/// The associated data of the payload: `"chatcrypt v3 sealed payload" || E`.
fn sealed_payload_ad(ephemeral: &[u8; 32]) -> Vec<u8> {
    let mut ad = LABEL_SEALED_PAYLOAD.to_vec();
    ad.extend_from_slice(ephemeral);
    ad
}

fn xor32(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    core::array::from_fn(|i| a[i] ^ b[i])
}

/// One recipient's part (§27.2 step 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedPart {
    /// `R_i`, the recipient's Ed25519 identity key.
    pub recipient: [u8; 32],
    pub c: [u8; 32],
    pub at: [u8; 16],
}

/// Everything §27.2 computes, with the intermediate values.
#[derive(Clone, Debug)]
pub struct Sealed {
    pub m: [u8; 32],
    pub e: [u8; 32],
    pub k: [u8; 32],
    /// `E`.
    pub ephemeral: [u8; 32],
    /// In increasing bytewise order of `R_i`.
    pub parts: Vec<SealedPart>,
    /// `certificate || Pad(policy, content)`.
    pub q: Vec<u8>,
    pub payload: Vec<u8>,
}

/// §27.2 with the drawn `M` given. `certificate` is the 182-byte encoding
/// (its `IK_S` must be the sender's key); `recipients` are Ed25519 identity
/// keys in any order.
///
/// §27.2: in the HKDF infos `IK_S` and `R_i` are the 32-byte Ed25519
/// encodings; the X25519 operations take their X25519 forms (§3). The
/// checks run in this order: the certificate's identity (`WrongIdentity`),
/// no recipient (`InvalidValue`), too many (`TooLarge { len: n, max:
/// 1024 }`), a repeated one (`InvalidValue`), the padded length
/// (`TooLarge`). GUESS: §27.2 lists the recipient checks without an order
/// between "too many" and "repeated"; this is the library's.
pub fn seal(
    sender: &Identity,
    certificate: &[u8],
    recipients: &[[u8; 32]],
    content: &[u8],
    policy: PaddingPolicy,
    m: &[u8; 32],
) -> Result<Sealed> {
    let cert = SenderCertificate::decode(certificate)?;
    if cert.identity != sender.public {
        return Err(Error::WrongIdentity);
    }
    if recipients.is_empty() {
        return Err(DecodeError::InvalidValue.into());
    }
    if recipients.len() > MAX_SEALED_RECIPIENTS {
        return Err(Error::TooLarge { len: recipients.len(), max: MAX_SEALED_RECIPIENTS });
    }
    let mut sorted = recipients.to_vec();
    sorted.sort();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(DecodeError::InvalidValue.into());
    }
    let padded = pad_limited(policy, content, MAX_SEALED_PADDED_LEN)?;
    seal_padded(sender, certificate, &sorted, &padded, m)
}

/// §27.2 steps 1-6 without the checks, with `Q = certificate || padded`
/// for any bytes `padded` (the rejection vectors use it to encrypt a
/// malformed padding correctly). `recipients` in the order their parts
/// are to be written.
pub fn seal_padded(
    sender: &Identity,
    certificate: &[u8],
    recipients: &[[u8; 32]],
    padded: &[u8],
    m: &[u8; 32],
) -> Result<Sealed> {
    // 1-2.
    let (e, k, ephemeral) = sealed_keys(m);
    // 3: C_i.
    let mut cs = Vec::with_capacity(recipients.len());
    for r in recipients {
        let r_x = identity_x25519_public(r)?;
        cs.push(xor32(m, &sealed_key_mask(&x25519(&e, &r_x)?, &ephemeral, r)));
    }
    // 4-5.
    let mut q = certificate.to_vec();
    q.extend_from_slice(padded);
    let payload = aead_seal(&k, &[0u8; 12], &sealed_payload_ad(&ephemeral), &q);
    // 6: AT_i over the payload.
    let mut parts = Vec::with_capacity(recipients.len());
    for (r, c) in recipients.iter().zip(cs) {
        let r_x = identity_x25519_public(r)?;
        let dh = x25519(&sender.x25519_private, &r_x)?;
        let at = sealed_sender_tag(&dh, &ephemeral, &c, &sender.public, r, &payload);
        parts.push(SealedPart { recipient: *r, c, at });
    }
    Ok(Sealed { m: *m, e, k, ephemeral, parts, q, payload })
}

/// `0x73 || 0x01 || E || C || AT || payload` (§27.3).
pub fn sealed_envelope(ephemeral: &[u8; 32], c: &[u8; 32], at: &[u8; 16], payload: &[u8]) -> Vec<u8> {
    let mut b = vec![TAG_SEALED, SEALED_VERSION];
    b.extend_from_slice(ephemeral);
    b.extend_from_slice(c);
    b.extend_from_slice(at);
    b.extend_from_slice(payload);
    b
}

impl Sealed {
    /// The sealed envelope of part `i`.
    pub fn envelope(&self, i: usize) -> Vec<u8> {
        let p = &self.parts[i];
        sealed_envelope(&self.ephemeral, &p.c, &p.at, &self.payload)
    }

    /// The multi-recipient envelope (§27.3).
    pub fn multi_envelope(&self) -> Vec<u8> {
        let mut b = vec![TAG_SEALED_MULTI, SEALED_VERSION];
        b.extend_from_slice(&self.ephemeral);
        b.extend_from_slice(&u16::try_from(self.parts.len()).expect("n ≤ 1024").to_be_bytes());
        for p in &self.parts {
            b.extend_from_slice(&p.recipient);
            b.extend_from_slice(&p.c);
            b.extend_from_slice(&p.at);
        }
        b.extend_from_slice(&self.payload);
        b
    }

    /// The sealed envelope for one recipient (what §27.3's `seal` returns),
    /// else the multi-recipient envelope (what `seal_multi` returns; it
    /// returns that form for one recipient too: `multi_envelope`).
    pub fn wire(&self) -> Vec<u8> {
        if self.parts.len() == 1 {
            self.envelope(0)
        } else {
            self.multi_envelope()
        }
    }
}

/// §27.3: the payload is the rest; shorter than 202 bytes is `Truncated`,
/// longer than `max = 182 + MAX_SEALED_PADDED_LEN + 16` is `TooLarge {
/// len, max }` with the payload's length (no vector has such an input: it
/// would take 2 MiB).
fn read_sealed_payload(r: &mut Reader<'_>) -> Result<Vec<u8>> {
    let len = r.remaining();
    if len < MIN_SEALED_PAYLOAD_LEN {
        return Err(DecodeError::Truncated.into());
    }
    let max = SENDER_CERTIFICATE_LEN + MAX_SEALED_PADDED_LEN + TAG_LEN;
    if len > max {
        return Err(Error::TooLarge { len, max });
    }
    Ok(r.take(len)?.to_vec())
}

/// A decoded sealed envelope (§27.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedEnvelope {
    pub ephemeral: [u8; 32],
    pub c: [u8; 32],
    pub at: [u8; 16],
    pub payload: Vec<u8>,
}

impl SealedEnvelope {
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        read_tag_version(&mut r, TAG_SEALED, SEALED_VERSION)?;
        let ephemeral = r.x25519_key()?;
        let c = r.arr32()?;
        let at = r.arr16()?;
        let payload = read_sealed_payload(&mut r)?;
        Ok(SealedEnvelope { ephemeral, c, at, payload })
    }
}

/// A decoded multi-recipient envelope (§27.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiEnvelope {
    pub ephemeral: [u8; 32],
    pub parts: Vec<SealedPart>,
    pub payload: Vec<u8>,
}

impl MultiEnvelope {
    /// §27.3 decoding, in layout order.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        read_tag_version(&mut r, TAG_SEALED_MULTI, SEALED_VERSION)?;
        let ephemeral = r.x25519_key()?;
        let n = usize::from(r.u16()?);
        if n == 0 || n > MAX_SEALED_RECIPIENTS {
            return Err(DecodeError::InvalidValue.into());
        }
        let mut parts: Vec<SealedPart> = Vec::with_capacity(n);
        for _ in 0..n {
            let recipient = read_ed25519_key(&mut r)?;
            if let Some(prev) = parts.last() {
                if recipient <= prev.recipient {
                    return Err(DecodeError::InvalidValue.into());
                }
            }
            let c = r.arr32()?;
            let at = r.arr16()?;
            parts.push(SealedPart { recipient, c, at });
        }
        let payload = read_sealed_payload(&mut r)?;
        Ok(MultiEnvelope { ephemeral, parts, payload })
    }

    /// The server's split (§27.3): each recipient with its sealed envelope, in order.
    pub fn split(&self) -> Vec<([u8; 32], Vec<u8>)> {
        self.parts
            .iter()
            .map(|p| (p.recipient, sealed_envelope(&self.ephemeral, &p.c, &p.at, &self.payload)))
            .collect()
    }
}

/// What `open` gives (§27.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    pub certificate: SenderCertificate,
    /// The policy the padded content stated (§26.2).
    pub padding: PaddingPolicy,
    pub content: Vec<u8>,
}

/// §27.4, steps 1-8 in order.
pub fn open(recipient: &Identity, envelope: &[u8], policy: &CertificatePolicy) -> Result<Opened> {
    // 1.
    let env = SealedEnvelope::decode(envelope)?;
    // 2.
    let dh = x25519(&recipient.x25519_private, &env.ephemeral)?;
    let m = xor32(&env.c, &sealed_key_mask(&dh, &env.ephemeral, &recipient.public));
    // 3.
    let (_e, k, ephemeral) = sealed_keys(&m);
    if !ct_equal(&ephemeral, &env.ephemeral) {
        return Err(Error::Auth);
    }
    // 4.
    let q = aead_open(&k, &[0u8; 12], &sealed_payload_ad(&env.ephemeral), &env.payload)?;
    // 5.
    let certificate = SenderCertificate::decode(&q[..SENDER_CERTIFICATE_LEN])?;
    // 6.
    let sender_x = identity_x25519_public(&certificate.identity)?;
    let dh = x25519(&recipient.x25519_private, &sender_x)?;
    let at = sealed_sender_tag(
        &dh,
        &env.ephemeral,
        &env.c,
        &certificate.identity,
        &recipient.public,
        &env.payload,
    );
    if !ct_equal(&at, &env.at) {
        return Err(Error::Auth);
    }
    // 7.
    certificate.validate(policy)?;
    // 8.
    let (padding, content) = unpad(&q[SENDER_CERTIFICATE_LEN..])?;
    Ok(Opened { certificate, padding, content })
}
