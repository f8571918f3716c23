//! Sealing, splitting and opening envelopes
//! ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §27.2-§27.4, §27.6).
//!
//! The construction, for a sender with identity `IK_S` (X25519 private
//! key `s`) and recipients `R_i` (X25519 forms `r_i`):
//!
//! ```text
//! M        = 32 random bytes
//! e || K   = HKDF("", M, "chatcrypt v3 sealed keys", 64);  E = X25519_BASE(e)
//! C_i      = M ⊕ HKDF("", X25519(e, r_i), "chatcrypt v3 sealed key" || E || R_i, 32)
//! AT_i     = HKDF("", X25519(s, r_i), "chatcrypt v3 sealed sender" || E || C_i || IK_S || R_i, 16)
//! payload  = AEAD(K, 0^12, "chatcrypt v3 sealed payload" || E, certificate || Pad(content))
//! ```
//!
//! A recipient recovers `M` from `C`, re-derives `e` and checks that it
//! gives `E` (so every recipient has the same `K`), opens the payload,
//! then checks `AT` with the certificate's identity key and validates the
//! certificate.

use alloc::vec::Vec;
use core::fmt;

use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;
use zeroize::{Zeroize, Zeroizing};

use super::{
    certificate::{CertificatePolicy, SenderCertificate, SENDER_CERTIFICATE_LEN},
    SEALED_FORMAT_VERSION,
};
use crate::{
    codec::{Hex, Reader, Writer},
    error::DecodeError,
    identity::{IdentityKey, IdentityKeyPair},
    padding::{pad_into, unpad, PaddingPolicy, PADDING_OVERHEAD},
    primitives::{aead_open, aead_seal, ct_eq, hkdf, x25519, x25519_public, TAG_LEN},
    Error,
};

/// Format tag of a sealed envelope for one recipient (`'s'`).
pub const TAG_SEALED_ENVELOPE: u8 = 0x73;
/// Format tag of a multi-recipient envelope (`'m'`).
pub const TAG_MULTI_RECIPIENT_ENVELOPE: u8 = 0x6D;
/// The most recipients one multi-recipient envelope may name
/// (SPEC.md §27.6): 80 KiB of recipient entries. Enough for a large group's
/// devices; a larger fan-out is split into several envelopes.
pub const MAX_SEALED_RECIPIENTS: usize = 1024;
/// The largest padded content an envelope carries (SPEC.md §27.6): 2 MiB,
/// above the largest session message, so that a session message sealed
/// with padding none always fits.
pub const MAX_SEALED_PADDED_LEN: usize = 2_097_152;
/// Bytes of one recipient's entry in a multi-recipient envelope: the
/// 32-byte address `R_i` the server routes by and 48 bytes of `C_i || AT_i`.
pub const SEALED_RECIPIENT_ENTRY_LEN: usize = 32 + 32 + 16;
/// Bytes a sealed envelope adds to the padded content: the header, `E`,
/// `C` and `AT` (82), the certificate (182) and the AEAD tag (16).
pub const SEALED_ENVELOPE_OVERHEAD: usize = HEADER_LEN + SENDER_CERTIFICATE_LEN + TAG_LEN;

/// Tag, version, `E`, `C`, `AT`.
const HEADER_LEN: usize = 2 + 32 + 32 + 16;
/// Tag, version, `E`, `u16(n)`.
const MULTI_HEADER_LEN: usize = 2 + 32 + 2;
/// The shortest payload: a certificate, the shortest padded content and the tag.
const MIN_PAYLOAD_LEN: usize = SENDER_CERTIFICATE_LEN + PADDING_OVERHEAD + TAG_LEN;
/// The longest payload.
const MAX_PAYLOAD_LEN: usize = SENDER_CERTIFICATE_LEN + MAX_SEALED_PADDED_LEN + TAG_LEN;

const LABEL_KEYS: &[u8; 24] = b"chatcrypt v3 sealed keys";
const LABEL_KEY: &[u8; 23] = b"chatcrypt v3 sealed key";
const LABEL_SENDER: &[u8; 26] = b"chatcrypt v3 sealed sender";
const LABEL_PAYLOAD: &[u8; 27] = b"chatcrypt v3 sealed payload";

/// The payload's fixed nonce: `K` encrypts exactly one payload.
const NONCE: [u8; 12] = [0; 12];

/// `e` and `K` derived from `M` (SPEC.md §27.2 step 2), with `E`.
struct EnvelopeKeys {
    e: StaticSecret,
    e_public: [u8; 32],
    k: Zeroizing<[u8; 32]>,
}

fn envelope_keys(m: &[u8; 32]) -> Result<EnvelopeKeys, Error> {
    let mut okm = Zeroizing::new([0u8; 64]);
    hkdf(&[], m, LABEL_KEYS, &mut okm[..])?;
    let (e_bytes, k_bytes) = okm.split_at(32);
    let mut e = Zeroizing::new([0u8; 32]);
    e.copy_from_slice(e_bytes);
    let e = StaticSecret::from(*e);
    let e_public = x25519_public(&e);
    let mut k = Zeroizing::new([0u8; 32]);
    k.copy_from_slice(k_bytes);
    Ok(EnvelopeKeys { e, e_public, k })
}

/// `HKDF("", dh, "chatcrypt v3 sealed key" || E || R, 32)`: the mask of `M`.
fn key_mask(dh: &[u8; 32], e: &[u8; 32], recipient: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, Error> {
    let mut info = [0u8; 23 + 32 + 32];
    concat_into(&mut info, &[LABEL_KEY, e, recipient]);
    let mut mask = Zeroizing::new([0u8; 32]);
    hkdf(&[], dh, &info, &mut mask[..])?;
    Ok(mask)
}

/// `HKDF("", dh, "chatcrypt v3 sealed sender" || E || C || IK_S || R ||
/// SHA-256(payload), 16)`: binds the part to its recipient, the sender and
/// the whole payload (ciphertext and tag), so that no co-recipient, who
/// knows `K`, can put another payload under it.
fn sender_tag(
    dh: &[u8; 32],
    e: &[u8; 32],
    c: &[u8; 32],
    sender: &[u8; 32],
    recipient: &[u8; 32],
    payload_digest: &[u8; 32],
) -> Result<Zeroizing<[u8; 16]>, Error> {
    let mut info = [0u8; 26 + 5 * 32];
    concat_into(&mut info, &[LABEL_SENDER, e, c, sender, recipient, payload_digest]);
    let mut at = Zeroizing::new([0u8; 16]);
    hkdf(&[], dh, &info, &mut at[..])?;
    Ok(at)
}

/// `SHA-256(payload)`, the payload with its tag.
fn payload_digest(payload: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(payload).into()
}

/// `"chatcrypt v3 sealed payload" || E`, the payload's associated data.
fn payload_ad(e: &[u8; 32]) -> [u8; 27 + 32] {
    let mut ad = [0u8; 27 + 32];
    concat_into(&mut ad, &[LABEL_PAYLOAD, e]);
    ad
}

/// Writes the parts one after another into `out` (whose length is their sum).
fn concat_into(out: &mut [u8], parts: &[&[u8]]) {
    let mut rest = out;
    for part in parts {
        let n = part.len().min(rest.len());
        let (head, tail) = core::mem::take(&mut rest).split_at_mut(n);
        head.copy_from_slice(part.get(..head.len()).unwrap_or_default());
        rest = tail;
    }
}

fn xor32(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x ^ y;
    }
    out
}

/// One recipient's part: `R_i`, `C_i`, `AT_i`.
struct Entry<'a> {
    recipient: &'a IdentityKey,
    c: [u8; 32],
    /// `X25519(s, r_i)`, for the tag once the payload is known.
    static_dh: Zeroizing<[u8; 32]>,
}

/// Checks shared by both forms and everything up to the payload: the
/// certificate names `identity`; the padded content fits. Returns the
/// padded length.
fn check_sender(
    identity: &IdentityKeyPair,
    certificate: &SenderCertificate,
    content: &[u8],
    padding: PaddingPolicy,
) -> Result<usize, Error> {
    if certificate.identity() != identity.public_key() {
        return Err(Error::WrongIdentity);
    }
    let max = MAX_SEALED_PADDED_LEN;
    let len = padding.padded_len(content.len()).ok_or(Error::TooLarge { len: usize::MAX, max })?;
    if len > max {
        return Err(Error::TooLarge { len, max });
    }
    Ok(len)
}

/// SPEC.md §27.2 steps 1-3 for recipients sorted by their encoding:
/// `E`, `K` and the entries.
fn seal_keys<'r, R: CryptoRng + ?Sized>(
    identity: &IdentityKeyPair,
    recipients: &[&'r IdentityKey],
    rng: &mut R,
) -> Result<(EnvelopeKeys, Vec<Entry<'r>>), Error> {
    let mut m = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut m[..]);
    let keys = envelope_keys(&m)?;
    let mut entries = Vec::with_capacity(recipients.len());
    for &recipient in recipients {
        let dh = x25519(&keys.e, recipient.x25519_bytes())?;
        let mask = key_mask(&dh, &keys.e_public, recipient.as_bytes())?;
        let c = xor32(&m, &mask);
        let static_dh = x25519(identity.dh_secret(), recipient.x25519_bytes())?;
        entries.push(Entry { recipient, c, static_dh });
    }
    Ok((keys, entries))
}

/// Appends `Q = certificate || Pad(content)` to `out` (which has room for
/// it and the tag), encrypts it in place and appends the tag (steps 4-5).
fn write_payload(
    keys: &EnvelopeKeys,
    certificate: &SenderCertificate,
    content: &[u8],
    padding: PaddingPolicy,
    padded_len: usize,
    out: &mut Zeroizing<Vec<u8>>,
) -> Result<(), Error> {
    let start = out.len();
    certificate.write(out);
    pad_into(padding, content, padded_len, out);
    let q = out.get_mut(start..).unwrap_or_default();
    let tag = aead_seal(&keys.k, &NONCE, &payload_ad(&keys.e_public), q)?;
    out.put(&tag);
    Ok(())
}

/// Seals `content` for one recipient device, whose identity key is
/// `recipient`: the sealed envelope (tag [`TAG_SEALED_ENVELOPE`]) to hand
/// to the server for that device, [`SEALED_ENVELOPE_OVERHEAD`] bytes
/// longer than the padded content (SPEC.md §27.2-§27.3).
///
/// `certificate` must be the sender's, for `identity`. For a session
/// message from a [`SessionRecord`](crate::SessionRecord) (already padded)
/// pass [`PaddingPolicy::None`]; for other content, a policy that hides its
/// length ([`PaddingPolicy::DEFAULT`]). Draws 32 bytes from `rng`, once.
///
/// # Errors
/// In this order: [`Error::WrongIdentity`] if the certificate names another
/// identity key than `identity`'s; [`Error::TooLarge`] with the padded
/// length if it exceeds [`MAX_SEALED_PADDED_LEN`];
/// [`Error::NonContributory`] if a Diffie-Hellman output is all zeros
/// (not for a strictly parsed identity key).
pub fn seal<R: CryptoRng + ?Sized>(
    identity: &IdentityKeyPair,
    certificate: &SenderCertificate,
    recipient: &IdentityKey,
    content: &[u8],
    padding: PaddingPolicy,
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    let padded_len = check_sender(identity, certificate, content, padding)?;
    let (keys, entries) = seal_keys(identity, &[recipient], rng)?;
    let mut out = Zeroizing::new(Vec::with_capacity(SEALED_ENVELOPE_OVERHEAD + padded_len));
    out.put_u8(TAG_SEALED_ENVELOPE);
    out.put_u8(SEALED_FORMAT_VERSION);
    out.put(&keys.e_public);
    for entry in &entries {
        out.put(&entry.c);
        out.put(&[0u8; 16]); // AT, once the payload is known
    }
    write_payload(&keys, certificate, content, padding, padded_len, &mut out)?;
    write_tags(identity, &keys, &entries, &mut out, HEADER_LEN, HEADER_LEN - 16, 0)?;
    Ok(core::mem::take(&mut *out))
}

/// SPEC.md §27.2 step 6: each entry's `AT`, over the payload at
/// `out[payload_start..]`, written at `first + i * stride` (the AT fields
/// were reserved).
fn write_tags(
    identity: &IdentityKeyPair,
    keys: &EnvelopeKeys,
    entries: &[Entry<'_>],
    out: &mut [u8],
    payload_start: usize,
    first: usize,
    stride: usize,
) -> Result<(), Error> {
    let digest = payload_digest(out.get(payload_start..).unwrap_or_default());
    let sender = identity.public_key().as_bytes();
    for (i, entry) in entries.iter().enumerate() {
        let at = sender_tag(
            &entry.static_dh,
            &keys.e_public,
            &entry.c,
            sender,
            entry.recipient.as_bytes(),
            &digest,
        )?;
        let at_offset = first + i * stride;
        if let Some(field) = out.get_mut(at_offset..at_offset + 16) {
            field.copy_from_slice(&at[..]);
        }
    }
    Ok(())
}

/// Seals `content` once for every device in `recipients` (in any order):
/// the multi-recipient envelope (tag [`TAG_MULTI_RECIPIENT_ENVELOPE`]),
/// even for one recipient, which the server splits with
/// [`MultiRecipientEnvelope`] (SPEC.md §27.2-§27.3). It costs
/// [`SEALED_RECIPIENT_ENTRY_LEN`] bytes per recipient beyond one payload.
///
/// Each recipient's part is bound to it and to this payload. The payload
/// has no forward secrecy beyond the recipients' identity keys (SPEC.md
/// §27.7): send in it content that other keys protect end to end, or seal
/// per recipient. Draws 32 bytes from `rng`, once.
///
/// # Errors
/// In this order: [`Error::WrongIdentity`] if the certificate names another
/// identity key than `identity`'s; [`Error::Decode`] with
/// [`DecodeError::InvalidValue`] for no recipient; [`Error::TooLarge`]
/// `{ len: n, max: MAX_SEALED_RECIPIENTS }` for more than
/// [`MAX_SEALED_RECIPIENTS`]; [`DecodeError::InvalidValue`] for a
/// recipient named twice; [`Error::TooLarge`] with the padded length if it
/// exceeds [`MAX_SEALED_PADDED_LEN`]; [`Error::NonContributory`] as
/// [`seal`].
pub fn seal_multi<R: CryptoRng + ?Sized>(
    identity: &IdentityKeyPair,
    certificate: &SenderCertificate,
    recipients: &[IdentityKey],
    content: &[u8],
    padding: PaddingPolicy,
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    if certificate.identity() != identity.public_key() {
        return Err(Error::WrongIdentity);
    }
    let n = recipients.len();
    if n == 0 {
        return Err(DecodeError::InvalidValue.into());
    }
    if n > MAX_SEALED_RECIPIENTS {
        return Err(Error::TooLarge { len: n, max: MAX_SEALED_RECIPIENTS });
    }
    let mut sorted: Vec<&IdentityKey> = recipients.iter().collect();
    sorted.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    if sorted.windows(2).any(|w| matches!(w, [a, b] if a.as_bytes() == b.as_bytes())) {
        return Err(DecodeError::InvalidValue.into());
    }
    let padded_len = check_sender(identity, certificate, content, padding)?;
    let (keys, entries) = seal_keys(identity, &sorted, rng)?;
    // n ≤ 1024 and padded_len ≤ 2 MiB: no overflow.
    let len =
        MULTI_HEADER_LEN + n * SEALED_RECIPIENT_ENTRY_LEN + SENDER_CERTIFICATE_LEN + padded_len + TAG_LEN;
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    out.put_u8(TAG_MULTI_RECIPIENT_ENVELOPE);
    out.put_u8(SEALED_FORMAT_VERSION);
    out.put(&keys.e_public);
    out.put_u16(u16::try_from(n).map_err(|_| Error::TooLarge { len: n, max: MAX_SEALED_RECIPIENTS })?);
    for entry in &entries {
        out.put(entry.recipient.as_bytes());
        out.put(&entry.c);
        out.put(&[0u8; 16]); // AT, once the payload is known
    }
    let payload_start = out.len();
    write_payload(&keys, certificate, content, padding, padded_len, &mut out)?;
    let first = MULTI_HEADER_LEN + SEALED_RECIPIENT_ENTRY_LEN - 16;
    write_tags(identity, &keys, &entries, &mut out, payload_start, first, SEALED_RECIPIENT_ENTRY_LEN)?;
    Ok(core::mem::take(&mut *out))
}

/// Reads the payload (the rest of the input) within its bounds (SPEC.md
/// §27.3): `Truncated` below [`MIN_PAYLOAD_LEN`], `TooLarge` above
/// [`MAX_PAYLOAD_LEN`].
fn read_payload<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], Error> {
    let payload = r.rest();
    if payload.len() < MIN_PAYLOAD_LEN {
        return Err(DecodeError::Truncated.into());
    }
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(Error::TooLarge { len: payload.len(), max: MAX_PAYLOAD_LEN });
    }
    Ok(payload)
}

/// A decoded sealed envelope (SPEC.md §27.3), borrowing its payload.
struct SealedEnvelope<'a> {
    e: [u8; 32],
    c: [u8; 32],
    at: [u8; 16],
    payload: &'a [u8],
}

impl<'a> SealedEnvelope<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        r.expect_header(TAG_SEALED_ENVELOPE, SEALED_FORMAT_VERSION)?;
        let e = r.x25519_key()?;
        let c = r.array()?;
        let at = r.array()?;
        let payload = read_payload(&mut r)?;
        Ok(SealedEnvelope { e, c, at, payload })
    }
}

/// A multi-recipient envelope as the server sees it (SPEC.md §27.3):
/// decoded without any key, it names the recipients and gives each one's
/// sealed envelope, and tells nothing of the sender.
///
/// It borrows the uploaded bytes; [`envelope_for`](Self::envelope_for) and
/// [`envelopes`](Self::envelopes) build one recipient's envelope at a time
/// (each as long as the payload plus 82 bytes).
pub struct MultiRecipientEnvelope<'a> {
    e: [u8; 32],
    /// `(R_i, C_i || AT_i)`, `R_i` strictly increasing.
    recipients: Vec<(IdentityKey, &'a [u8])>,
    payload: &'a [u8],
}

impl<'a> MultiRecipientEnvelope<'a> {
    /// Decodes a multi-recipient envelope, in layout order.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::UnexpectedType`] for another
    /// tag, [`DecodeError::UnsupportedVersion`] for another version,
    /// [`DecodeError::InvalidPublicKey`] for an `E` that is not a canonical
    /// X25519 key or an `R_i` that is not a strict Ed25519 key,
    /// [`DecodeError::InvalidValue`] for `n = 0`, `n` above
    /// [`MAX_SEALED_RECIPIENTS`] or an `R_i` not above the one before,
    /// [`DecodeError::Truncated`] for a field cut short or a payload
    /// shorter than 202 bytes; [`Error::TooLarge`] `{ len, max }` for a
    /// payload of `len` bytes above `max =` 182 +
    /// [`MAX_SEALED_PADDED_LEN`] + 16.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        r.expect_header(TAG_MULTI_RECIPIENT_ENVELOPE, SEALED_FORMAT_VERSION)?;
        let e = r.x25519_key()?;
        let n = usize::from(r.u16()?);
        if n == 0 || n > MAX_SEALED_RECIPIENTS {
            return Err(DecodeError::InvalidValue.into());
        }
        let mut recipients: Vec<(IdentityKey, &'a [u8])> = Vec::with_capacity(n);
        for _ in 0..n {
            let bytes: [u8; 32] = r.array()?;
            let key = IdentityKey::parse(&bytes)?;
            if recipients.last().is_some_and(|(prev, _)| prev.as_bytes() >= key.as_bytes()) {
                return Err(DecodeError::InvalidValue.into());
            }
            let part = r.take(32 + 16)?;
            recipients.push((key, part));
        }
        let payload = read_payload(&mut r)?;
        Ok(MultiRecipientEnvelope { e, recipients, payload })
    }

    /// How many recipients it names (1 to [`MAX_SEALED_RECIPIENTS`]).
    pub fn recipient_count(&self) -> usize {
        self.recipients.len()
    }

    /// The recipients' identity keys, in increasing bytewise order.
    pub fn recipients(&self) -> impl ExactSizeIterator<Item = &IdentityKey> + '_ {
        self.recipients.iter().map(|(key, _)| key)
    }

    /// The `i`-th recipient, or `None` if there are not that many.
    pub fn recipient(&self, i: usize) -> Option<&IdentityKey> {
        self.recipients.get(i).map(|(key, _)| key)
    }

    /// The length of each recipient's sealed envelope.
    pub fn envelope_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }

    /// The sealed envelope of the `i`-th recipient, `0x73 || 0x01 || E ||
    /// C_i || AT_i || payload`, to deliver to
    /// [`recipient(i)`](Self::recipient); `None` if there are not that
    /// many.
    pub fn envelope_for(&self, i: usize) -> Option<Vec<u8>> {
        self.recipients.get(i).map(|(_, part)| self.envelope_with(part))
    }

    /// Every recipient with its sealed envelope, in order, built one at a
    /// time as the iterator advances (the server splits the upload).
    pub fn envelopes(&self) -> impl ExactSizeIterator<Item = (&IdentityKey, Vec<u8>)> + '_ {
        self.recipients.iter().map(|(key, part)| (key, self.envelope_with(part)))
    }

    fn envelope_with(&self, part: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.envelope_len());
        out.put_u8(TAG_SEALED_ENVELOPE);
        out.put_u8(SEALED_FORMAT_VERSION);
        out.put(&self.e);
        out.put(part);
        out.put(self.payload);
        out
    }
}

impl fmt::Debug for MultiRecipientEnvelope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let MultiRecipientEnvelope { e, recipients, payload } = self;
        f.debug_struct("MultiRecipientEnvelope")
            .field("e", &Hex(e))
            .field("recipients", &recipients.iter().map(|(key, _)| key).collect::<Vec<_>>())
            .field("payload_len", &payload.len())
            .finish()
    }
}

/// What [`open`] returns: the validated sender certificate and the content.
///
/// Not `Clone`; the content is plaintext and is zeroized on drop (also
/// the spare capacity of its buffer). Its `Debug` shows the certificate
/// and the content's length only.
pub struct OpenedEnvelope {
    certificate: SenderCertificate,
    content: Zeroizing<Vec<u8>>,
}

impl OpenedEnvelope {
    /// The sender's certificate, validated against the policy given to
    /// [`open`].
    pub fn certificate(&self) -> &SenderCertificate {
        &self.certificate
    }

    /// The content, without its padding.
    pub fn content(&self) -> &[u8] {
        &self.content
    }

    /// The content, moved out (no copy): zeroizing it is now the caller's
    /// concern. The buffer's spare capacity holds zeros only.
    pub fn into_content(mut self) -> Vec<u8> {
        core::mem::take(&mut *self.content)
    }
}

impl fmt::Debug for OpenedEnvelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let OpenedEnvelope { certificate, content } = self;
        f.debug_struct("OpenedEnvelope")
            .field("certificate", certificate)
            .field("content_len", &content.len())
            .finish()
    }
}

/// Opens a sealed envelope addressed to `identity` (SPEC.md §27.4):
/// authenticates the sender's identity key, validates its certificate
/// against `policy` and removes the padding. Changes no state; the caller
/// hands the content to the sender's session record
/// ([`SessionRecord`](crate::SessionRecord)), which checks that its session
/// is with the identity the certificate names.
///
/// # Errors
/// In this order:
/// 1. decoding (SPEC.md §27.3): [`Error::Decode`] with
///    [`DecodeError::UnexpectedType`], [`DecodeError::UnsupportedVersion`],
///    [`DecodeError::InvalidPublicKey`] (a non-canonical `E`) or
///    [`DecodeError::Truncated`]; [`Error::TooLarge`] for a payload above
///    182 + [`MAX_SEALED_PADDED_LEN`] + 16 bytes;
/// 2. [`Error::NonContributory`] for a low-order `E`;
/// 3. [`Error::Auth`] if `E` does not match the key it was made from
///    (another recipient's or a forged part);
/// 4. [`Error::Auth`] if the payload does not open under the recovered key;
/// 5. the certificate's decoding errors ([`SenderCertificate::from_bytes`]);
/// 6. [`Error::NonContributory`] for a low-order certificate identity key,
///    [`Error::Auth`] if the sender's tag does not verify (the envelope was
///    not made by the certificate's identity for this recipient);
/// 7. the certificate's validation errors
///    ([`SenderCertificate::validate`]): [`Error::UntrustedCertificate`],
///    [`Error::BadSignature`], [`Error::CertificateRevoked`],
///    [`Error::CertificateExpired`];
/// 8. [`Error::Padding`] for malformed padding.
pub fn open(
    identity: &IdentityKeyPair,
    envelope: &[u8],
    policy: &CertificatePolicy<'_>,
) -> Result<OpenedEnvelope, Error> {
    let sealed = SealedEnvelope::parse(envelope)?;
    let own = identity.public_key().as_bytes();
    // Step 2: M.
    let dh = x25519(identity.dh_secret(), &sealed.e)?;
    let mask = key_mask(&dh, &sealed.e, own)?;
    let mut m = Zeroizing::new(sealed.c);
    m.iter_mut().zip(mask.iter()).for_each(|(b, k)| *b ^= k);
    // Step 3: e, K and the check of E.
    let keys = envelope_keys(&m)?;
    if !ct_eq(&keys.e_public, &sealed.e) {
        return Err(Error::Auth);
    }
    // Step 4: the payload, decrypted in one buffer of exactly its size.
    let (ciphertext, tag) =
        sealed.payload.split_last_chunk::<TAG_LEN>().ok_or(Error::Decode(DecodeError::Truncated))?;
    let mut q = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    q.extend_from_slice(ciphertext);
    aead_open(&keys.k, &NONCE, &payload_ad(&sealed.e), &mut q[..], tag)?;
    // Step 5: the certificate.
    let (cert_bytes, padded) = q.split_at_checked(SENDER_CERTIFICATE_LEN).ok_or(DecodeError::Truncated)?;
    let certificate = SenderCertificate::from_bytes(cert_bytes)?;
    // Step 6: the sender's tag.
    let dh = x25519(identity.dh_secret(), certificate.identity().x25519_bytes())?;
    let digest = payload_digest(sealed.payload);
    let at = sender_tag(&dh, &sealed.e, &sealed.c, certificate.identity().as_bytes(), own, &digest)?;
    if !ct_eq(&at[..], &sealed.at) {
        return Err(Error::Auth);
    }
    // Step 7: the certificate against the caller's policy.
    certificate.validate(policy)?;
    // Step 8: the content, moved to the front of the buffer in place.
    let content_len = unpad(padded)?.len();
    // `unpad` returned `padded[3..3 + content_len]`, so this range is in `q`.
    let start = SENDER_CERTIFICATE_LEN + 3;
    q.copy_within(start..start + content_len, 0);
    q.get_mut(content_len..).unwrap_or_default().zeroize();
    q.truncate(content_len);
    Ok(OpenedEnvelope { certificate, content: q })
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use rand_chacha::{rand_core::Rng, rand_core::SeedableRng, ChaCha20Rng};

    use super::*;
    use crate::{sealed::ServerKeyPair, AccountKeyPair, DeviceId};

    struct Fixture {
        alice: IdentityKeyPair,
        cert: SenderCertificate,
        server: ServerKeyPair,
        bobs: Vec<IdentityKeyPair>,
    }

    fn fixture() -> Fixture {
        let mut rng = ChaCha20Rng::from_seed([9; 32]);
        let server = ServerKeyPair::generate(&mut rng);
        let account = AccountKeyPair::generate(&mut rng);
        let alice = IdentityKeyPair::generate(&mut rng);
        let cert = server.issue(5, 100, account.public_key(), DeviceId::new(2), alice.public_key());
        let bobs = (0..3).map(|_| IdentityKeyPair::generate(&mut rng)).collect();
        Fixture { alice, cert, server, bobs }
    }

    fn hkdf_vec(ikm: &[u8], info: &[&[u8]], len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        hkdf(&[], ikm, &info.concat(), &mut out).unwrap();
        out
    }

    /// The envelope recomputed from SPEC.md §27.2-§27.3 with the primitives
    /// alone, from the `M` the RNG gives.
    #[test]
    fn sealed_envelope_is_the_construction_of_the_spec() {
        let f = fixture();
        let bob = &f.bobs[0];
        let rng = ChaCha20Rng::from_seed([1; 32]);
        let mut m = [0u8; 32];
        rng.clone().fill_bytes(&mut m);
        let envelope =
            seal(&f.alice, &f.cert, bob.public_key(), b"hello", PaddingPolicy::DEFAULT, &mut rng.clone())
                .unwrap();

        let ek = hkdf_vec(&m, &[b"chatcrypt v3 sealed keys"], 64);
        let e = StaticSecret::from(<[u8; 32]>::try_from(&ek[..32]).unwrap());
        let e_pub = x25519_public(&e);
        let r = bob.public_key();
        let dh1 = x25519(&e, r.x25519_bytes()).unwrap();
        let mask = hkdf_vec(&dh1[..], &[b"chatcrypt v3 sealed key", &e_pub, r.as_bytes()], 32);
        let c: Vec<u8> = m.iter().zip(&mask).map(|(a, b)| a ^ b).collect();
        let mut q = f.cert.to_bytes().to_vec();
        q.extend_from_slice(&crate::padding::pad(PaddingPolicy::DEFAULT, b"hello", 1 << 21).unwrap());
        let k: [u8; 32] = ek[32..].try_into().unwrap();
        let tag =
            aead_seal(&k, &[0; 12], &[&b"chatcrypt v3 sealed payload"[..], &e_pub].concat(), &mut q).unwrap();
        let digest: [u8; 32] = {
            use sha2::{Digest, Sha256};
            Sha256::digest([&q[..], &tag[..]].concat()).into()
        };
        let dh2 = x25519(f.alice.dh_secret(), r.x25519_bytes()).unwrap();
        let at = hkdf_vec(
            &dh2[..],
            &[
                b"chatcrypt v3 sealed sender",
                &e_pub,
                &c,
                f.alice.public_key().as_bytes(),
                r.as_bytes(),
                &digest,
            ],
            16,
        );

        let expected = [&[0x73, 0x01][..], &e_pub, &c, &at, &q, &tag].concat();
        assert_eq!(envelope, expected);
        assert_eq!(envelope.len(), SEALED_ENVELOPE_OVERHEAD + 160);
        assert_eq!(SEALED_ENVELOPE_OVERHEAD, 280);
    }

    /// With the same `M`, the server's split of a multi-recipient envelope
    /// gives each recipient exactly the sealed envelope `seal` makes.
    #[test]
    fn split_equals_single_sealing_with_the_same_randomness() {
        let f = fixture();
        let rng = ChaCha20Rng::from_seed([2; 32]);
        let keys: Vec<IdentityKey> = f.bobs.iter().map(|b| b.public_key().clone()).collect();
        let multi =
            seal_multi(&f.alice, &f.cert, &keys, b"to all", PaddingPolicy::None, &mut rng.clone()).unwrap();
        assert_eq!(multi.len(), 36 + 3 * 80 + 182 + 10 + 16);
        assert_eq!(multi[..2], [0x6D, 0x01]);
        assert_eq!(multi[34..36], [0, 3]);
        let parsed = MultiRecipientEnvelope::from_bytes(&multi).unwrap();
        let mut sorted = keys.clone();
        sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert_eq!(parsed.recipients().cloned().collect::<Vec<_>>(), sorted);
        for (i, (key, envelope)) in parsed.envelopes().enumerate() {
            let single =
                seal(&f.alice, &f.cert, key, b"to all", PaddingPolicy::None, &mut rng.clone()).unwrap();
            assert_eq!(envelope, single);
            assert_eq!(parsed.envelope_for(i), Some(single));
            assert_eq!(&multi[36 + 80 * i..68 + 80 * i], key.as_bytes());
        }
        assert_eq!(parsed.envelope_for(3), None);
        let roots = [f.server.public_key().clone()];
        for bob in &f.bobs {
            let i = sorted.iter().position(|k| k == bob.public_key()).unwrap();
            let opened =
                open(bob, &parsed.envelope_for(i).unwrap(), &CertificatePolicy::new(&roots, &[], 99))
                    .unwrap();
            assert_eq!(opened.content(), b"to all");
            assert_eq!(opened.certificate(), &f.cert);
        }
    }

    #[test]
    fn opened_content_is_moved_out_without_its_padding() {
        let f = fixture();
        let mut rng = ChaCha20Rng::from_seed([3; 32]);
        let content: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        let envelope =
            seal(&f.alice, &f.cert, f.bobs[1].public_key(), &content, PaddingPolicy::DEFAULT, &mut rng)
                .unwrap();
        let roots = [f.server.public_key().clone()];
        let opened = open(&f.bobs[1], &envelope, &CertificatePolicy::new(&roots, &[], 0)).unwrap();
        let debug = alloc::format!("{opened:?}");
        assert!(debug.contains("content_len: 300"), "{debug}");
        assert_eq!(opened.into_content(), content);
    }
}
