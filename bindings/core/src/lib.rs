//! The one binding-friendly facade over [`chatcrypt`] that every language
//! binding wraps (C now; WebAssembly and UniFFI later).
//!
//! Everything here is plain Rust shaped for foreign function interfaces:
//! owned objects with methods that take `&[u8]` and integers and return
//! `Vec<u8>`, fixed-size arrays, integers and [`Result`]s; small `u32`
//! enums ([`Mode`], [`ModePolicy`], [`PqPolicy`]); one [`Error`] whose
//! [`ErrorCode`] is a stable number per variant. A binding adds only its
//! calling convention (pointers and status codes in C, classes and
//! exceptions elsewhere), never behaviour of its own.
//!
//! # Guarantees
//!
//! * **No panics.** Every fallible call returns [`Result`]; input is never
//!   indexed or unwrapped.
//! * **Secrets stay inside.** Key pairs, prekeys and sessions live in
//!   chatcrypt's own types, which wipe themselves when dropped. Secret bytes
//!   leave only where the Rust API hands them out: the identity seed and
//!   the stored forms (`to_bytes`, `seal`), which the caller must persist.
//! * **Injectable randomness.** Every call that draws randomness takes an
//!   [`Rng`]: [`Rng::os`] in applications, [`Rng::scripted`] to replay
//!   test vectors byte for byte.
//! * **Transactional.** A call that fails changes nothing, as in chatcrypt
//!   itself; this holds for a [`Rng::scripted`] that runs dry too (the
//!   session is restored). Only a failure of the operating system's
//!   generator in the middle of a session call leaves the session unusable
//!   ([`Error::Unusable`]), since it may then hold keys made without
//!   randomness.
//! * **One-time prekeys are consumed once.** A [`OneTimePreKey`] or a
//!   one-time [`KemPreKey`] that a successful [`Session::accept`] used is
//!   emptied ([`Error::Consumed`] afterwards); a failed accept leaves it
//!   as it was.

#![forbid(unsafe_code)]

use std::{convert::Infallible, fmt};

use chatcrypt::rand_core::{TryCryptoRng, TryRng};
use zeroize::{Zeroize, Zeroizing};

/// Length of an identity (Ed25519) public key, of a seed, of a sealing key
/// and of an X25519 prekey.
pub const KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of a message id ([`chatcrypt::MessageId`]).
pub const MESSAGE_ID_LEN: usize = chatcrypt::MESSAGE_ID_LEN;
/// Length of a KEM prekey's public encoding (ML-KEM-1024).
pub const KEM_PREKEY_PUBLIC_LEN: usize = chatcrypt::KEM_PREKEY_PUBLIC_LEN;
/// Length of the stored form of an identity key pair.
pub const IDENTITY_STORED_LEN: usize = 2 + 32;
/// Length of the stored form of a signed prekey.
pub const SIGNED_PREKEY_STORED_LEN: usize = 2 + 4 + 32 + 64;
/// Length of the stored form of a one-time prekey.
pub const ONE_TIME_PREKEY_STORED_LEN: usize = 2 + 4 + 32;
/// Length of the stored form of an ML-KEM-1024 KEM prekey.
pub const KEM_PREKEY_STORED_LEN: usize = 2 + 1 + 4 + chatcrypt::KEM_SEED_LEN + 64;
/// What [`Session::seal`] adds to the stored form.
pub const SEALED_OVERHEAD: usize = chatcrypt::SEALED_OVERHEAD;
/// The largest plaintext of one message.
pub const MAX_PLAINTEXT_LEN: usize = chatcrypt::MAX_PLAINTEXT_LEN;
/// The largest message.
pub const MAX_MESSAGE_LEN: usize = chatcrypt::MAX_MESSAGE_LEN;
/// Digits of a safety number.
pub const SAFETY_NUMBER_DIGITS: usize = chatcrypt::SAFETY_NUMBER_DIGITS;
/// Length of a safety number's scannable (QR code) payload.
pub const SAFETY_NUMBER_SCANNABLE_LEN: usize = chatcrypt::SCANNABLE_LEN;

// ---------------------------------------------------------------------------
// Errors

/// The stable numeric code of every [`Error`]: `0` is success in the C ABI,
/// every error is negative, and a code never changes meaning once released.
/// Codes -1 to -9 are the bindings' own; -10 to -60 mirror
/// [`chatcrypt::Error`] (new variants take the next free number below
/// -41, `Other` is -60); -70 to -79 mirror [`chatcrypt::DecodeError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorCode {
    /// A null or misaligned pointer, a wrong length, an unknown enum value.
    InvalidArgument = -1,
    /// The output buffer is too small (the needed size is reported).
    BufferTooSmall = -2,
    /// A panic was caught at the boundary (a bug; please report it).
    Panic = -3,
    /// The operating system's random generator failed.
    RngFailure = -4,
    /// A scripted generator has fewer bytes left than were asked for.
    RngExhausted = -5,
    /// The one-time prekey was consumed by an earlier accept.
    Consumed = -6,
    /// The session is unusable after a random generator failure mid-call.
    Unusable = -7,
    /// [`chatcrypt::Error::BadSignature`].
    BadSignature = -10,
    /// [`chatcrypt::Error::NonContributory`].
    NonContributory = -11,
    /// [`chatcrypt::Error::UnknownPreKey`].
    UnknownPreKey = -12,
    /// [`chatcrypt::Error::WrongIdentity`].
    WrongIdentity = -13,
    /// [`chatcrypt::Error::HandshakeMismatch`].
    HandshakeMismatch = -14,
    /// [`chatcrypt::Error::Auth`].
    Auth = -15,
    /// [`chatcrypt::Error::Duplicate`].
    Duplicate = -16,
    /// [`chatcrypt::Error::TooFarAhead`].
    TooFarAhead = -17,
    /// [`chatcrypt::Error::TooLarge`].
    TooLarge = -18,
    /// [`chatcrypt::Error::CounterExhausted`].
    CounterExhausted = -19,
    /// [`chatcrypt::Error::ModeNotAllowed`].
    ModeNotAllowed = -20,
    /// [`chatcrypt::Error::PostQuantumRequired`].
    PostQuantumRequired = -21,
    /// [`chatcrypt::Error::UnknownDevice`].
    UnknownDevice = -22,
    /// [`chatcrypt::Error::AccountKeyChanged`].
    AccountKeyChanged = -23,
    /// [`chatcrypt::Error::NoPendingChange`].
    NoPendingChange = -24,
    /// [`chatcrypt::Error::DeviceListRollback`].
    DeviceListRollback = -25,
    /// [`chatcrypt::Error::DeviceListConflict`].
    DeviceListConflict = -26,
    /// [`chatcrypt::Error::NoSession`].
    NoSession = -27,
    /// [`chatcrypt::Error::SessionExpired`].
    SessionExpired = -28,
    /// [`chatcrypt::Error::NotPersisted`].
    NotPersisted = -29,
    /// [`chatcrypt::Error::UsedKey`].
    UsedKey = -30,
    /// [`chatcrypt::Error::UnknownKeyId`].
    UnknownKeyId = -31,
    /// [`chatcrypt::Error::CounterTooOld`].
    CounterTooOld = -32,
    /// [`chatcrypt::Error::NoRatchet`].
    NoRatchet = -33,
    /// [`chatcrypt::Error::ChunkLength`].
    ChunkLength = -34,
    /// [`chatcrypt::Error::StreamFinished`].
    StreamFinished = -35,
    /// [`chatcrypt::Error::StreamIncomplete`].
    StreamIncomplete = -36,
    /// [`chatcrypt::Error::Padding`].
    Padding = -37,
    /// [`chatcrypt::Error::UntrustedCertificate`].
    UntrustedCertificate = -38,
    /// [`chatcrypt::Error::CertificateRevoked`].
    CertificateRevoked = -39,
    /// [`chatcrypt::Error::CertificateExpired`].
    CertificateExpired = -40,
    /// [`chatcrypt::Error::SenderMismatch`].
    SenderMismatch = -41,
    /// A [`chatcrypt::Error`] variant newer than this facade.
    Other = -60,
    /// [`chatcrypt::DecodeError::Truncated`].
    DecodeTruncated = -70,
    /// [`chatcrypt::DecodeError::TrailingBytes`].
    DecodeTrailingBytes = -71,
    /// [`chatcrypt::DecodeError::UnsupportedVersion`].
    DecodeUnsupportedVersion = -72,
    /// [`chatcrypt::DecodeError::UnexpectedType`].
    DecodeUnexpectedType = -73,
    /// [`chatcrypt::DecodeError::InvalidFlags`].
    DecodeInvalidFlags = -74,
    /// [`chatcrypt::DecodeError::InvalidPublicKey`].
    DecodeInvalidPublicKey = -75,
    /// [`chatcrypt::DecodeError::InvalidValue`].
    DecodeInvalidValue = -76,
    /// [`chatcrypt::DecodeError::UnknownKeyType`].
    DecodeUnknownKeyType = -77,
    /// A [`chatcrypt::DecodeError`] variant newer than this facade.
    DecodeOther = -79,
}

impl ErrorCode {
    /// Every code, in numeric order from -1 down.
    pub const ALL: [ErrorCode; 49] = {
        use ErrorCode::*;
        [
            InvalidArgument,
            BufferTooSmall,
            Panic,
            RngFailure,
            RngExhausted,
            Consumed,
            Unusable,
            BadSignature,
            NonContributory,
            UnknownPreKey,
            WrongIdentity,
            HandshakeMismatch,
            Auth,
            Duplicate,
            TooFarAhead,
            TooLarge,
            CounterExhausted,
            ModeNotAllowed,
            PostQuantumRequired,
            UnknownDevice,
            AccountKeyChanged,
            NoPendingChange,
            DeviceListRollback,
            DeviceListConflict,
            NoSession,
            SessionExpired,
            NotPersisted,
            UsedKey,
            UnknownKeyId,
            CounterTooOld,
            NoRatchet,
            ChunkLength,
            StreamFinished,
            StreamIncomplete,
            Padding,
            UntrustedCertificate,
            CertificateRevoked,
            CertificateExpired,
            SenderMismatch,
            Other,
            DecodeTruncated,
            DecodeTrailingBytes,
            DecodeUnsupportedVersion,
            DecodeUnexpectedType,
            DecodeInvalidFlags,
            DecodeInvalidPublicKey,
            DecodeInvalidValue,
            DecodeUnknownKeyType,
            DecodeOther,
        ]
    };

    /// The number (`0` is success, not a code).
    pub const fn as_i32(self) -> i32 {
        self as i32
    }

    /// The code with this number, if there is one.
    pub fn from_i32(code: i32) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_i32() == code)
    }

    /// The code's stable name in upper snake case (`"AUTH"`,
    /// `"DECODE_TRUNCATED"`); the C constant is `CHATCRYPT_ERR_` and this.
    pub const fn name(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidArgument => "INVALID_ARGUMENT",
            BufferTooSmall => "BUFFER_TOO_SMALL",
            Panic => "PANIC",
            RngFailure => "RNG_FAILURE",
            RngExhausted => "RNG_EXHAUSTED",
            Consumed => "CONSUMED",
            Unusable => "UNUSABLE",
            BadSignature => "BAD_SIGNATURE",
            NonContributory => "NON_CONTRIBUTORY",
            UnknownPreKey => "UNKNOWN_PREKEY",
            WrongIdentity => "WRONG_IDENTITY",
            HandshakeMismatch => "HANDSHAKE_MISMATCH",
            Auth => "AUTH",
            Duplicate => "DUPLICATE",
            TooFarAhead => "TOO_FAR_AHEAD",
            TooLarge => "TOO_LARGE",
            CounterExhausted => "COUNTER_EXHAUSTED",
            ModeNotAllowed => "MODE_NOT_ALLOWED",
            PostQuantumRequired => "POST_QUANTUM_REQUIRED",
            UnknownDevice => "UNKNOWN_DEVICE",
            AccountKeyChanged => "ACCOUNT_KEY_CHANGED",
            NoPendingChange => "NO_PENDING_CHANGE",
            DeviceListRollback => "DEVICE_LIST_ROLLBACK",
            DeviceListConflict => "DEVICE_LIST_CONFLICT",
            NoSession => "NO_SESSION",
            SessionExpired => "SESSION_EXPIRED",
            NotPersisted => "NOT_PERSISTED",
            UsedKey => "USED_KEY",
            UnknownKeyId => "UNKNOWN_KEY_ID",
            CounterTooOld => "COUNTER_TOO_OLD",
            NoRatchet => "NO_RATCHET",
            ChunkLength => "CHUNK_LENGTH",
            StreamFinished => "STREAM_FINISHED",
            StreamIncomplete => "STREAM_INCOMPLETE",
            Padding => "PADDING",
            UntrustedCertificate => "UNTRUSTED_CERTIFICATE",
            CertificateRevoked => "CERTIFICATE_REVOKED",
            CertificateExpired => "CERTIFICATE_EXPIRED",
            SenderMismatch => "SENDER_MISMATCH",
            Other => "OTHER",
            DecodeTruncated => "DECODE_TRUNCATED",
            DecodeTrailingBytes => "DECODE_TRAILING_BYTES",
            DecodeUnsupportedVersion => "DECODE_UNSUPPORTED_VERSION",
            DecodeUnexpectedType => "DECODE_UNEXPECTED_TYPE",
            DecodeInvalidFlags => "DECODE_INVALID_FLAGS",
            DecodeInvalidPublicKey => "DECODE_INVALID_PUBLIC_KEY",
            DecodeInvalidValue => "DECODE_INVALID_VALUE",
            DecodeUnknownKeyType => "DECODE_UNKNOWN_KEY_TYPE",
            DecodeOther => "DECODE_OTHER",
        }
    }
}

/// Every way a facade call fails.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An argument is out of range: a wrong length, an unknown enum value
    /// (the text says which).
    InvalidArgument(&'static str),
    /// The output buffer is too small; `needed` bytes are enough.
    BufferTooSmall {
        /// The length needed.
        needed: usize,
    },
    /// The operating system's random generator failed.
    RngFailure,
    /// A [`Rng::scripted`] has fewer bytes left than a call asked for.
    RngExhausted,
    /// The one-time prekey was consumed by an earlier successful accept.
    Consumed,
    /// The session was lost to a failure of the OS random generator in
    /// the middle of a call; restore it from its last stored form.
    Unusable,
    /// chatcrypt refused: the [`chatcrypt::Error`] as it is.
    Protocol(chatcrypt::Error),
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        use chatcrypt::{DecodeError as D, Error as E};
        match self {
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::BufferTooSmall { .. } => ErrorCode::BufferTooSmall,
            Error::RngFailure => ErrorCode::RngFailure,
            Error::RngExhausted => ErrorCode::RngExhausted,
            Error::Consumed => ErrorCode::Consumed,
            Error::Unusable => ErrorCode::Unusable,
            Error::Protocol(e) => match e {
                E::Decode(d) => match d {
                    D::Truncated => ErrorCode::DecodeTruncated,
                    D::TrailingBytes => ErrorCode::DecodeTrailingBytes,
                    D::UnsupportedVersion(_) => ErrorCode::DecodeUnsupportedVersion,
                    D::UnexpectedType(_) => ErrorCode::DecodeUnexpectedType,
                    D::InvalidFlags(_) => ErrorCode::DecodeInvalidFlags,
                    D::InvalidPublicKey => ErrorCode::DecodeInvalidPublicKey,
                    D::InvalidValue => ErrorCode::DecodeInvalidValue,
                    D::UnknownKeyType(_) => ErrorCode::DecodeUnknownKeyType,
                    _ => ErrorCode::DecodeOther,
                },
                E::BadSignature => ErrorCode::BadSignature,
                E::NonContributory => ErrorCode::NonContributory,
                E::UnknownPreKey { .. } => ErrorCode::UnknownPreKey,
                E::WrongIdentity => ErrorCode::WrongIdentity,
                E::HandshakeMismatch => ErrorCode::HandshakeMismatch,
                E::Auth => ErrorCode::Auth,
                E::Duplicate => ErrorCode::Duplicate,
                E::TooFarAhead { .. } => ErrorCode::TooFarAhead,
                E::TooLarge { .. } => ErrorCode::TooLarge,
                E::BufferTooSmall { .. } => ErrorCode::BufferTooSmall,
                E::CounterExhausted => ErrorCode::CounterExhausted,
                E::ModeNotAllowed { .. } => ErrorCode::ModeNotAllowed,
                E::PostQuantumRequired => ErrorCode::PostQuantumRequired,
                E::UnknownDevice { .. } => ErrorCode::UnknownDevice,
                E::AccountKeyChanged => ErrorCode::AccountKeyChanged,
                E::NoPendingChange => ErrorCode::NoPendingChange,
                E::DeviceListRollback { .. } => ErrorCode::DeviceListRollback,
                E::DeviceListConflict { .. } => ErrorCode::DeviceListConflict,
                E::NoSession => ErrorCode::NoSession,
                E::SessionExpired => ErrorCode::SessionExpired,
                E::NotPersisted => ErrorCode::NotPersisted,
                E::UsedKey => ErrorCode::UsedKey,
                E::UnknownKeyId { .. } => ErrorCode::UnknownKeyId,
                E::CounterTooOld { .. } => ErrorCode::CounterTooOld,
                E::NoRatchet => ErrorCode::NoRatchet,
                E::ChunkLength { .. } => ErrorCode::ChunkLength,
                E::StreamFinished => ErrorCode::StreamFinished,
                E::StreamIncomplete => ErrorCode::StreamIncomplete,
                E::Padding => ErrorCode::Padding,
                E::UntrustedCertificate => ErrorCode::UntrustedCertificate,
                E::CertificateRevoked => ErrorCode::CertificateRevoked,
                E::CertificateExpired => ErrorCode::CertificateExpired,
                E::SenderMismatch => ErrorCode::SenderMismatch,
                _ => ErrorCode::Other,
            },
        }
    }

    /// The error with its fields, for logs and tests: for a protocol error
    /// the `Debug` form of [`chatcrypt::Error`] (`"UnknownPreKey { id: 7 }"`,
    /// as the `error` fields of the test vectors write it); for the others
    /// the code's name and what is wrong.
    pub fn detail(&self) -> String {
        match self {
            Error::Protocol(e) => format!("{e:?}"),
            Error::InvalidArgument(what) => format!("InvalidArgument({what})"),
            Error::BufferTooSmall { needed } => format!("BufferTooSmall {{ needed: {needed} }}"),
            other => format!("{other:?}"),
        }
    }

    /// The prekey id an [`ErrorCode::UnknownPreKey`] names (for
    /// [`LocalDevice::retry_for_code`]).
    pub fn prekey_id(&self) -> Option<u32> {
        match self {
            Error::Protocol(chatcrypt::Error::UnknownPreKey { id }) => Some(*id),
            _ => None,
        }
    }

    /// The buffer length needed, for [`Error::BufferTooSmall`] (also when
    /// chatcrypt reports it).
    pub fn needed(&self) -> Option<usize> {
        match self {
            Error::BufferTooSmall { needed }
            | Error::Protocol(chatcrypt::Error::BufferTooSmall { needed }) => Some(*needed),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Error::BufferTooSmall { needed } => write!(f, "output buffer too small, {needed} bytes needed"),
            Error::RngFailure => f.write_str("the operating system's random generator failed"),
            Error::RngExhausted => f.write_str("the scripted random generator is exhausted"),
            Error::Consumed => f.write_str("the one-time prekey was already consumed"),
            Error::Unusable => {
                f.write_str("unusable after a random generator failure: restore it from its stored form")
            }
            Error::Protocol(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for Error {}

impl From<chatcrypt::Error> for Error {
    fn from(e: chatcrypt::Error) -> Self {
        Error::Protocol(e)
    }
}

/// The facade's result.
pub type Result<T> = core::result::Result<T, Error>;

fn array<const N: usize>(bytes: &[u8], what: &'static str) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| Error::InvalidArgument(what))
}

// ---------------------------------------------------------------------------
// Randomness

/// Where a call's randomness comes from.
pub struct Rng {
    kind: RngKind,
}

enum RngKind {
    Os,
    Scripted {
        bytes: Zeroizing<Vec<u8>>,
        used: usize,
    },
    /// Behaves as the OS generator that fails after `left` more bytes
    /// (tests of the unscripted failure path only).
    #[cfg(test)]
    FailingOs {
        left: usize,
    },
}

impl Rng {
    /// The operating system's generator (getrandom; in the browser and node
    /// `crypto.getRandomValues` when built with the `wasm_js` feature).
    pub fn os() -> Rng {
        Rng { kind: RngKind::Os }
    }

    /// A generator that yields exactly `bytes`, in order, and then fails
    /// every request with [`Error::RngExhausted`] (a request it cannot
    /// fill in full takes nothing). For replaying test vectors' draws; never
    /// for real messages.
    pub fn scripted(bytes: &[u8]) -> Rng {
        Rng { kind: RngKind::Scripted { bytes: Zeroizing::new(bytes.to_vec()), used: 0 } }
    }

    /// An OS-like generator (not scripted) that fails once asked for more
    /// than `left` bytes in total.
    #[cfg(test)]
    pub(crate) fn failing_os(left: usize) -> Rng {
        Rng { kind: RngKind::FailingOs { left } }
    }

    /// Whether this is a [`scripted`](Self::scripted) generator.
    pub fn is_scripted(&self) -> bool {
        matches!(self.kind, RngKind::Scripted { .. })
    }

    /// How many scripted bytes are left; `None` for the OS generator.
    pub fn remaining(&self) -> Option<usize> {
        match &self.kind {
            RngKind::Os => None,
            #[cfg(test)]
            RngKind::FailingOs { .. } => None,
            RngKind::Scripted { bytes, used } => Some(bytes.len().saturating_sub(*used)),
        }
    }

    /// Fills `dst` with random bytes.
    ///
    /// # Errors
    /// [`Error::RngFailure`] or [`Error::RngExhausted`]; `dst` is then zeroed.
    pub fn fill(&mut self, dst: &mut [u8]) -> Result<()> {
        let result = match &mut self.kind {
            RngKind::Os => getrandom::fill(dst).map_err(|_| Error::RngFailure),
            #[cfg(test)]
            RngKind::FailingOs { left } => match left.checked_sub(dst.len()) {
                Some(rest) => {
                    *left = rest;
                    getrandom::fill(dst).map_err(|_| Error::RngFailure)
                }
                None => Err(Error::RngFailure),
            },
            RngKind::Scripted { bytes, used } => {
                let end = used.checked_add(dst.len()).ok_or(Error::RngExhausted)?;
                match bytes.get(*used..end) {
                    Some(src) => {
                        dst.copy_from_slice(src);
                        *used = end;
                        Ok(())
                    }
                    None => Err(Error::RngExhausted),
                }
            }
        };
        if result.is_err() {
            dst.zeroize();
        }
        result
    }
}

impl fmt::Debug for Rng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RngKind::Os => f.write_str("Rng::Os"),
            #[cfg(test)]
            RngKind::FailingOs { left } => write!(f, "Rng::FailingOs {{ left: {left} }}"),
            RngKind::Scripted { .. } => write!(f, "Rng::Scripted {{ remaining: {:?} }}", self.remaining()),
        }
    }
}

/// chatcrypt's generators cannot fail, so a failure is recorded here and
/// the request filled with zeros; [`Draw::finish`] then turns the call's
/// result into the failure (whatever was made from the zeros is dropped).
struct Draw<'a> {
    rng: &'a mut Rng,
    failed: Option<Error>,
}

impl<'a> Draw<'a> {
    fn new(rng: &'a mut Rng) -> Self {
        Draw { rng, failed: None }
    }
}

impl TryRng for Draw<'_> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> core::result::Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Infallible> {
        if self.failed.is_some() {
            dst.zeroize();
        } else if let Err(e) = self.rng.fill(dst) {
            self.failed = Some(e);
        }
        Ok(())
    }
}

impl TryCryptoRng for Draw<'_> {}

/// Runs a call that makes something new from randomness: on a generator
/// failure its result is dropped (wiping what it holds).
fn fresh<T>(
    rng: &mut Rng,
    f: impl FnOnce(&mut Draw<'_>) -> core::result::Result<T, chatcrypt::Error>,
) -> Result<T> {
    let mut draw = Draw::new(rng);
    let result = f(&mut draw);
    match draw.failed {
        Some(e) => Err(e),
        None => result.map_err(Error::Protocol),
    }
}

// ---------------------------------------------------------------------------
// Enums

/// How a session's headers travel ([`chatcrypt::Mode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Mode {
    /// Headers in clear.
    Plain = 0,
    /// Headers encrypted (SPEC.md §14).
    HeaderEncryption = 1,
}

impl Mode {
    /// The mode numbered `v`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for another number.
    pub fn from_u32(v: u32) -> Result<Mode> {
        match v {
            0 => Ok(Mode::Plain),
            1 => Ok(Mode::HeaderEncryption),
            _ => Err(Error::InvalidArgument("mode")),
        }
    }

    fn to_lib(self) -> chatcrypt::Mode {
        match self {
            Mode::Plain => chatcrypt::Mode::Plain,
            Mode::HeaderEncryption => chatcrypt::Mode::HeaderEncryption,
        }
    }

    fn from_lib(m: chatcrypt::Mode) -> Mode {
        match m {
            chatcrypt::Mode::HeaderEncryption => Mode::HeaderEncryption,
            _ => Mode::Plain,
        }
    }
}

/// Which modes a responder accepts ([`chatcrypt::ModePolicy`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ModePolicy {
    /// Either mode.
    Any = 0,
    /// Only header encryption.
    HeaderEncryptionOnly = 1,
    /// Only plain headers.
    PlainOnly = 2,
}

impl ModePolicy {
    /// The policy numbered `v`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for another number.
    pub fn from_u32(v: u32) -> Result<ModePolicy> {
        match v {
            0 => Ok(ModePolicy::Any),
            1 => Ok(ModePolicy::HeaderEncryptionOnly),
            2 => Ok(ModePolicy::PlainOnly),
            _ => Err(Error::InvalidArgument("mode policy")),
        }
    }

    fn to_lib(self) -> chatcrypt::ModePolicy {
        match self {
            ModePolicy::Any => chatcrypt::ModePolicy::Any,
            ModePolicy::HeaderEncryptionOnly => chatcrypt::ModePolicy::HeaderEncryptionOnly,
            ModePolicy::PlainOnly => chatcrypt::ModePolicy::PlainOnly,
        }
    }
}

/// Whether the handshake must be hybrid post-quantum ([`chatcrypt::PqPolicy`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum PqPolicy {
    /// Only the hybrid handshake (chatcrypt's default).
    Required = 0,
    /// The classical handshake too.
    AllowClassical = 1,
}

impl PqPolicy {
    /// The policy numbered `v`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for another number.
    pub fn from_u32(v: u32) -> Result<PqPolicy> {
        match v {
            0 => Ok(PqPolicy::Required),
            1 => Ok(PqPolicy::AllowClassical),
            _ => Err(Error::InvalidArgument("pq policy")),
        }
    }

    fn to_lib(self) -> chatcrypt::PqPolicy {
        match self {
            PqPolicy::Required => chatcrypt::PqPolicy::Required,
            PqPolicy::AllowClassical => chatcrypt::PqPolicy::AllowClassical,
        }
    }
}

/// The two kinds of wire message ([`chatcrypt::MessageType`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum MessageType {
    /// Carries the handshake: the first one from a new peer goes to
    /// [`Session::accept`].
    PreKey = 1,
    /// An ordinary message for an existing session.
    Message = 2,
}

/// Reads a message's version and type bytes only ([`chatcrypt::MessageType::of`]).
///
/// # Errors
/// [`chatcrypt::Error::Decode`] if they are missing or unknown.
pub fn message_type(message: &[u8]) -> Result<MessageType> {
    Ok(match chatcrypt::MessageType::of(message)? {
        chatcrypt::MessageType::PreKey => MessageType::PreKey,
        chatcrypt::MessageType::Message => MessageType::Message,
    })
}

// ---------------------------------------------------------------------------
// Identity

/// This device's long-term identity key pair ([`chatcrypt::IdentityKeyPair`]).
pub struct IdentityKeyPair(chatcrypt::IdentityKeyPair);

impl IdentityKeyPair {
    /// A new key pair (draws 32 bytes).
    ///
    /// # Errors
    /// A generator failure.
    pub fn generate(rng: &mut Rng) -> Result<Self> {
        fresh(rng, |r| Ok(chatcrypt::IdentityKeyPair::generate(r))).map(Self)
    }

    /// The key pair of a 32-byte seed.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `seed` is not 32 bytes.
    pub fn from_seed(seed: &[u8]) -> Result<Self> {
        let seed = Zeroizing::new(array::<32>(seed, "seed must be 32 bytes")?);
        Ok(Self(chatcrypt::IdentityKeyPair::from_seed(&seed)))
    }

    /// The 32-byte seed (secret).
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        self.0.seed()
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.public_key().to_bytes()
    }

    /// The stored form ([`IDENTITY_STORED_LEN`] bytes; secret).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        self.0.to_bytes()
    }

    /// Restores [`to_bytes`](Self::to_bytes)' output.
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(chatcrypt::IdentityKeyPair::from_bytes(bytes)?))
    }

    /// The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
    ///
    /// # Errors
    /// A wrong key length, a generator failure.
    pub fn seal(&self, key: &[u8], rng: &mut Rng) -> Result<Vec<u8>> {
        let key = Zeroizing::new(array::<32>(key, "sealing key must be 32 bytes")?);
        fresh(rng, |r| Ok(self.0.seal(&key, r)))
    }

    /// Opens [`seal`](Self::seal)'s output.
    ///
    /// # Errors
    /// A wrong key length, [`chatcrypt::Error::Auth`], [`chatcrypt::Error::Decode`].
    pub fn open(key: &[u8], bytes: &[u8]) -> Result<Self> {
        let key = Zeroizing::new(array::<32>(key, "sealing key must be 32 bytes")?);
        Ok(Self(chatcrypt::IdentityKeyPair::open(&key, bytes)?))
    }
}

/// Checks that `key` is a valid identity public key ([`chatcrypt::IdentityKey::from_bytes`]).
///
/// # Errors
/// A wrong length; [`chatcrypt::Error::Decode`].
pub fn identity_key_check(key: &[u8]) -> Result<()> {
    let key = array::<32>(key, "identity key must be 32 bytes")?;
    chatcrypt::IdentityKey::from_bytes(&key)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Prekeys

/// A signed prekey with its secret ([`chatcrypt::SignedPreKey`]).
pub struct SignedPreKey(chatcrypt::SignedPreKey);

impl SignedPreKey {
    /// A new signed prekey, signed by `identity` (draws 32 bytes).
    ///
    /// # Errors
    /// A generator failure.
    pub fn generate(identity: &IdentityKeyPair, id: u32, rng: &mut Rng) -> Result<Self> {
        fresh(rng, |r| Ok(chatcrypt::SignedPreKey::generate(&identity.0, id, r))).map(Self)
    }

    /// Its id.
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Its X25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        *self.0.public().key()
    }

    /// The identity key's signature over it.
    pub fn signature(&self) -> [u8; 64] {
        *self.0.public().signature()
    }

    /// The stored form ([`SIGNED_PREKEY_STORED_LEN`] bytes; secret).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        self.0.to_bytes()
    }

    /// Restores [`to_bytes`](Self::to_bytes)' output.
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(chatcrypt::SignedPreKey::from_bytes(bytes)?))
    }
}

/// A one-time prekey with its secret ([`chatcrypt::OneTimePreKey`]),
/// emptied when a successful [`Session::accept`] consumes it.
pub struct OneTimePreKey(Option<chatcrypt::OneTimePreKey>);

impl OneTimePreKey {
    /// A new one-time prekey (draws 32 bytes).
    ///
    /// # Errors
    /// A generator failure.
    pub fn generate(id: u32, rng: &mut Rng) -> Result<Self> {
        fresh(rng, |r| Ok(chatcrypt::OneTimePreKey::generate(id, r))).map(|k| Self(Some(k)))
    }

    fn key(&self) -> Result<&chatcrypt::OneTimePreKey> {
        self.0.as_ref().ok_or(Error::Consumed)
    }

    /// Whether an accept consumed it.
    pub fn is_consumed(&self) -> bool {
        self.0.is_none()
    }

    /// Its id.
    ///
    /// # Errors
    /// [`Error::Consumed`].
    pub fn id(&self) -> Result<u32> {
        Ok(self.key()?.id())
    }

    /// Its X25519 public key.
    ///
    /// # Errors
    /// [`Error::Consumed`].
    pub fn public_key(&self) -> Result<[u8; 32]> {
        Ok(*self.key()?.public().key())
    }

    /// The stored form ([`ONE_TIME_PREKEY_STORED_LEN`] bytes; secret).
    ///
    /// # Errors
    /// [`Error::Consumed`].
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        Ok(self.key()?.to_bytes())
    }

    /// Restores [`to_bytes`](Self::to_bytes)' output.
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(Some(chatcrypt::OneTimePreKey::from_bytes(bytes)?)))
    }

    /// A second copy, to hand to an accept that may fail.
    fn copy(&self) -> Result<chatcrypt::OneTimePreKey> {
        Ok(chatcrypt::OneTimePreKey::from_bytes(&self.key()?.to_bytes())?)
    }
}

/// An ML-KEM-1024 prekey with its seed ([`chatcrypt::KemPreKey`]); a
/// one-time one is emptied when a successful [`Session::accept`] consumes it.
pub struct KemPreKey(Option<chatcrypt::KemPreKey>);

impl KemPreKey {
    /// A new KEM prekey signed by `identity` (draws 64 bytes).
    ///
    /// # Errors
    /// A generator failure.
    pub fn generate(identity: &IdentityKeyPair, id: u32, rng: &mut Rng) -> Result<Self> {
        fresh(rng, |r| Ok(chatcrypt::KemPreKey::generate(&identity.0, id, r))).map(|k| Self(Some(k)))
    }

    fn key(&self) -> Result<&chatcrypt::KemPreKey> {
        self.0.as_ref().ok_or(Error::Consumed)
    }

    /// Whether an accept consumed it (as a one-time KEM prekey).
    pub fn is_consumed(&self) -> bool {
        self.0.is_none()
    }

    /// Its id.
    ///
    /// # Errors
    /// [`Error::Consumed`].
    pub fn id(&self) -> Result<u32> {
        Ok(self.key()?.id())
    }

    /// Its KEM type byte (1: ML-KEM-1024).
    ///
    /// # Errors
    /// [`Error::Consumed`].
    pub fn kem_type(&self) -> Result<u8> {
        Ok(self.key()?.kem_type().to_byte())
    }

    /// The public encoding that goes into bundles and uploads
    /// ([`KEM_PREKEY_PUBLIC_LEN`] bytes).
    ///
    /// # Errors
    /// [`Error::Consumed`].
    pub fn public_bytes(&self) -> Result<Vec<u8>> {
        Ok(self.key()?.public().to_bytes())
    }

    /// The stored form ([`KEM_PREKEY_STORED_LEN`] bytes; secret).
    ///
    /// # Errors
    /// [`Error::Consumed`].
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        Ok(self.key()?.to_bytes())
    }

    /// Restores [`to_bytes`](Self::to_bytes)' output.
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(Some(chatcrypt::KemPreKey::from_bytes(bytes)?)))
    }

    fn copy(&self) -> Result<chatcrypt::KemPreKey> {
        Ok(chatcrypt::KemPreKey::from_bytes(&self.key()?.to_bytes())?)
    }
}

/// How [`Session::accept`] uses a KEM prekey.
pub enum KemPreKeyUse<'a> {
    /// A one-time KEM prekey: consumed (emptied) by a successful accept.
    OneTime(&'a mut KemPreKey),
    /// The last-resort KEM prekey: only borrowed.
    LastResort(&'a KemPreKey),
}

/// A prekey bundle ([`chatcrypt::PreKeyBundle`]).
#[derive(Clone, Debug)]
pub struct PreKeyBundle(chatcrypt::PreKeyBundle);

impl PreKeyBundle {
    /// The bundle of our own keys, to publish.
    ///
    /// # Errors
    /// [`Error::Consumed`] if a prekey was consumed.
    pub fn new(
        identity: &IdentityKeyPair,
        signed_prekey: &SignedPreKey,
        one_time_prekey: Option<&OneTimePreKey>,
        kem_prekey: Option<&KemPreKey>,
    ) -> Result<Self> {
        let opk = match one_time_prekey {
            Some(k) => Some(k.key()?.public().clone()),
            None => None,
        };
        let bundle = chatcrypt::PreKeyBundle::new(
            identity.0.public_key().clone(),
            signed_prekey.0.public().clone(),
            opk,
        );
        Ok(Self(match kem_prekey {
            Some(k) => bundle.with_kem_prekey(k.key()?.public().clone()),
            None => bundle,
        }))
    }

    /// A bundle from published public parts (a key server's view): the
    /// identity key (32 bytes), the signed prekey's id, key (32) and
    /// signature (64), optionally a one-time prekey's id and key, and a KEM
    /// prekey's public encoding. Not verified: see [`verify`](Self::verify).
    ///
    /// # Errors
    /// Wrong lengths; [`chatcrypt::Error::Decode`] for an invalid identity
    /// key or KEM prekey encoding.
    pub fn from_parts(
        identity_key: &[u8],
        signed_prekey_id: u32,
        signed_prekey: &[u8],
        signature: &[u8],
        one_time_prekey: Option<(u32, &[u8])>,
        kem_prekey: Option<&[u8]>,
    ) -> Result<Self> {
        let identity =
            chatcrypt::IdentityKey::from_bytes(&array::<32>(identity_key, "identity key length")?)?;
        let spk = chatcrypt::SignedPreKeyPublic::new(
            signed_prekey_id,
            array::<32>(signed_prekey, "signed prekey length")?,
            array::<64>(signature, "signature length")?,
        );
        let opk = match one_time_prekey {
            Some((id, key)) => {
                Some(chatcrypt::OneTimePreKeyPublic::new(id, array::<32>(key, "one-time prekey length")?))
            }
            None => None,
        };
        let bundle = chatcrypt::PreKeyBundle::new(identity, spk, opk);
        Ok(Self(match kem_prekey {
            Some(k) => bundle.with_kem_prekey(chatcrypt::KemPreKeyPublic::from_bytes(k)?),
            None => bundle,
        }))
    }

    /// Decodes a bundle (not verified).
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(chatcrypt::PreKeyBundle::from_bytes(bytes)?))
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// Checks the prekeys' encodings and signatures.
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`], [`chatcrypt::Error::BadSignature`].
    pub fn verify(&self) -> Result<()> {
        Ok(self.0.verify()?)
    }

    /// The owner's identity key.
    pub fn identity_key(&self) -> [u8; 32] {
        self.0.identity().to_bytes()
    }

    /// The signed prekey's id.
    pub fn signed_prekey_id(&self) -> u32 {
        self.0.signed_prekey().id()
    }

    /// The one-time prekey's id, if the bundle has one.
    pub fn one_time_prekey_id(&self) -> Option<u32> {
        self.0.one_time_prekey().map(|k| k.id())
    }

    /// The KEM prekey's id, if the bundle has one.
    pub fn kem_prekey_id(&self) -> Option<u32> {
        self.0.kem_prekey().map(|k| k.id())
    }
}

/// A decoded PreKeyMessage, to look up the prekeys it names before
/// [`Session::accept`] ([`chatcrypt::PreKeyMessage`]).
#[derive(Clone, Debug)]
pub struct PreKeyMessage(chatcrypt::PreKeyMessage);

impl PreKeyMessage {
    /// Decodes a PreKeyMessage.
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(chatcrypt::PreKeyMessage::from_bytes(bytes)?))
    }

    /// The sender's identity key (authenticated only once accept succeeds).
    pub fn sender_identity(&self) -> [u8; 32] {
        self.0.sender_identity().to_bytes()
    }

    /// The signed prekey's id.
    pub fn signed_prekey_id(&self) -> u32 {
        self.0.signed_prekey_id()
    }

    /// The one-time prekey's id, if it names one.
    pub fn one_time_prekey_id(&self) -> Option<u32> {
        self.0.one_time_prekey_id()
    }

    /// The KEM prekey's type byte and id, if the handshake is hybrid.
    pub fn kem_prekey_id(&self) -> Option<(u8, u32)> {
        self.0.kem_prekey_id().map(|(t, id)| (t.to_byte(), id))
    }

    /// The initiator's base key (for the last-resort replay check, SPEC.md §16.7).
    pub fn base_key(&self) -> [u8; 32] {
        *self.0.base_key()
    }

    /// Whether the handshake is hybrid.
    pub fn is_post_quantum(&self) -> bool {
        self.0.is_post_quantum()
    }

    /// The mode the initiator chose.
    pub fn mode(&self) -> Mode {
        Mode::from_lib(self.0.mode())
    }

    /// The message bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

// ---------------------------------------------------------------------------
// Session

/// What [`Session::accept`] returns.
pub struct Accepted {
    /// The new session.
    pub session: Session,
    /// The first message's plaintext.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The first message's id.
    pub message_id: [u8; MESSAGE_ID_LEN],
}

/// A Double Ratchet session with one peer device ([`chatcrypt::Session`]).
pub struct Session(Option<chatcrypt::Session>);

impl Session {
    /// Starts a session from a peer's bundle ([`chatcrypt::Session::initiate_with`]).
    ///
    /// # Errors
    /// As chatcrypt's; a generator failure.
    pub fn initiate(
        identity: &IdentityKeyPair,
        bundle: &PreKeyBundle,
        mode: Mode,
        pq: PqPolicy,
        rng: &mut Rng,
    ) -> Result<Self> {
        fresh(rng, |r| {
            chatcrypt::Session::initiate_with(&identity.0, &bundle.0, mode.to_lib(), pq.to_lib(), r)
        })
        .map(|s| Self(Some(s)))
    }

    /// Accepts a session from a peer's first PreKeyMessage and decrypts it
    /// ([`chatcrypt::Session::accept`]). A one-time prekey passed here (and
    /// a [`KemPreKeyUse::OneTime`]) is consumed if this succeeds, and left
    /// as it was if it fails.
    ///
    /// # Errors
    /// As chatcrypt's; [`Error::Consumed`]; a generator failure.
    #[allow(clippy::too_many_arguments)]
    pub fn accept(
        identity: &IdentityKeyPair,
        signed_prekey: &SignedPreKey,
        one_time_prekey: Option<&mut OneTimePreKey>,
        kem_prekey: Option<KemPreKeyUse<'_>>,
        message: &PreKeyMessage,
        mode_policy: ModePolicy,
        pq: PqPolicy,
        rng: &mut Rng,
    ) -> Result<Accepted> {
        let opk_copy = match &one_time_prekey {
            Some(k) => Some(k.copy()?),
            None => None,
        };
        let (kem_copy, kem_borrowed) = match &kem_prekey {
            Some(KemPreKeyUse::OneTime(k)) => (Some(k.copy()?), None),
            Some(KemPreKeyUse::LastResort(k)) => (None, Some(k.key()?)),
            None => (None, None),
        };
        let kem_use = match (kem_copy, kem_borrowed) {
            (Some(k), _) => Some(chatcrypt::KemPreKeyUse::OneTime(k)),
            (None, Some(k)) => Some(chatcrypt::KemPreKeyUse::LastResort(k)),
            (None, None) => None,
        };
        let policy = chatcrypt::AcceptPolicy::new(mode_policy.to_lib(), pq.to_lib());
        let accepted = fresh(rng, |r| {
            chatcrypt::Session::accept(
                &identity.0,
                &signed_prekey.0,
                opk_copy,
                kem_use,
                &message.0,
                policy,
                r,
            )
            // Wrapped inside the call, so that a plaintext dropped on a
            // generator failure is wiped too.
            .map(|a| {
                let chatcrypt::Accepted { session, plaintext, id, .. } = a;
                (session, Zeroizing::new(plaintext), id)
            })
        })?;
        // Success: the one-time prekeys are used up.
        if let Some(k) = one_time_prekey {
            k.0 = None;
        }
        if let Some(KemPreKeyUse::OneTime(k)) = kem_prekey {
            k.0 = None;
        }
        let (session, plaintext, id) = accepted;
        Ok(Accepted { session: Self(Some(session)), plaintext, message_id: *id.as_bytes() })
    }

    fn inner(&self) -> Result<&chatcrypt::Session> {
        self.0.as_ref().ok_or(Error::Unusable)
    }

    /// Runs a call that changes the session and may draw randomness. A
    /// scripted generator that runs dry restores the state from before the
    /// call; an OS generator failure drops the session ([`Error::Unusable`]).
    fn mutate<T>(
        &mut self,
        rng: &mut Rng,
        f: impl FnOnce(&mut chatcrypt::Session, &mut Draw<'_>) -> core::result::Result<T, chatcrypt::Error>,
    ) -> Result<T> {
        let session = self.0.as_mut().ok_or(Error::Unusable)?;
        let snapshot = if rng.is_scripted() { Some(session.to_bytes()) } else { None };
        let mut draw = Draw::new(rng);
        let result = f(session, &mut draw);
        if let Some(e) = draw.failed {
            drop(result);
            self.0 = snapshot.and_then(|s| chatcrypt::Session::from_bytes(&s).ok());
            return Err(e);
        }
        result.map_err(Error::Protocol)
    }

    /// The length of the message that encrypting `plaintext_len` bytes gives now.
    ///
    /// # Errors
    /// [`chatcrypt::Error::TooLarge`]; [`Error::Unusable`].
    pub fn encrypted_len(&self, plaintext_len: usize) -> Result<usize> {
        Ok(self.inner()?.encrypted_len(plaintext_len)?)
    }

    /// Encrypts a message (draws a 16-byte reuse guard).
    ///
    /// # Errors
    /// As chatcrypt's; a generator failure.
    pub fn encrypt(&mut self, plaintext: &[u8], rng: &mut Rng) -> Result<Vec<u8>> {
        self.mutate(rng, |s, r| s.encrypt(plaintext, r))
    }

    /// Encrypts into `out`, which needs [`encrypted_len`](Self::encrypted_len)
    /// bytes; returns the length written.
    ///
    /// # Errors
    /// As [`encrypt`](Self::encrypt); [`chatcrypt::Error::BufferTooSmall`]
    /// before anything is drawn.
    pub fn encrypt_into(&mut self, plaintext: &[u8], out: &mut [u8], rng: &mut Rng) -> Result<usize> {
        self.mutate(rng, |s, r| s.encrypt_into(plaintext, out, r))
    }

    /// Decrypts a message (draws 32 bytes on a new ratchet step).
    ///
    /// # Errors
    /// As chatcrypt's; a generator failure. The session is unchanged.
    pub fn decrypt(&mut self, message: &[u8], rng: &mut Rng) -> Result<Zeroizing<Vec<u8>>> {
        self.decrypt_with_id(message, rng).map(|(p, _)| p)
    }

    /// As [`decrypt`](Self::decrypt), with the message's id.
    ///
    /// # Errors
    /// As [`decrypt`](Self::decrypt).
    pub fn decrypt_with_id(
        &mut self,
        message: &[u8],
        rng: &mut Rng,
    ) -> Result<(Zeroizing<Vec<u8>>, [u8; MESSAGE_ID_LEN])> {
        // Wrapped inside the call, so that a plaintext dropped on a
        // generator failure is wiped too.
        self.mutate(rng, |s, r| s.decrypt_with_id(message, r).map(|(p, id)| (Zeroizing::new(p), id)))
            .map(|(p, id)| (p, *id.as_bytes()))
    }

    /// Decrypts into `out`, which needs as many bytes as the message's
    /// ciphertext (less than the message's length always suffices); returns
    /// the plaintext's length and the message's id.
    ///
    /// # Errors
    /// As [`decrypt`](Self::decrypt); [`chatcrypt::Error::BufferTooSmall`]
    /// before any work.
    pub fn decrypt_into(
        &mut self,
        message: &[u8],
        out: &mut [u8],
        rng: &mut Rng,
    ) -> Result<(usize, [u8; MESSAGE_ID_LEN])> {
        let result = self.mutate(rng, |s, r| s.decrypt_into(message, &mut *out, r));
        if matches!(result, Err(Error::RngExhausted | Error::RngFailure)) {
            // The plaintext was genuine, but the call failed: release none.
            out.zeroize();
        }
        result.map(|r| (r.len, *r.id.as_bytes()))
    }

    /// The stored form (secret); store it after every successful call.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        Ok(self.inner()?.to_bytes())
    }

    /// The length of [`to_bytes`](Self::to_bytes)' output.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn encoded_len(&self) -> Result<usize> {
        Ok(self.inner()?.encoded_len())
    }

    /// Restores a stored session.
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self(Some(chatcrypt::Session::from_bytes(bytes)?)))
    }

    /// The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
    ///
    /// # Errors
    /// A wrong key length; a generator failure; [`Error::Unusable`].
    pub fn seal(&self, key: &[u8], rng: &mut Rng) -> Result<Vec<u8>> {
        let key = Zeroizing::new(array::<32>(key, "sealing key must be 32 bytes")?);
        let session = self.inner()?;
        fresh(rng, |r| Ok(session.seal(&key, r)))
    }

    /// Opens [`seal`](Self::seal)'s output.
    ///
    /// # Errors
    /// A wrong key length; [`chatcrypt::Error::Auth`]; [`chatcrypt::Error::Decode`].
    pub fn open(key: &[u8], bytes: &[u8]) -> Result<Self> {
        let key = Zeroizing::new(array::<32>(key, "sealing key must be 32 bytes")?);
        Ok(Self(Some(chatcrypt::Session::open(&key, bytes)?)))
    }

    /// The session's mode.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn mode(&self) -> Result<Mode> {
        Ok(Mode::from_lib(self.inner()?.mode()))
    }

    /// Whether this side started the session.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn is_initiator(&self) -> Result<bool> {
        Ok(self.inner()?.is_initiator())
    }

    /// Whether our messages still carry the handshake.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn awaiting_reply(&self) -> Result<bool> {
        Ok(self.inner()?.awaiting_reply())
    }

    /// Whether the handshake was hybrid post-quantum.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn is_post_quantum(&self) -> Result<bool> {
        Ok(self.inner()?.is_post_quantum())
    }

    /// How many skipped message keys are stored.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn skipped_key_count(&self) -> Result<usize> {
        Ok(self.inner()?.skipped_key_count())
    }

    /// Our identity key.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn local_identity(&self) -> Result<[u8; 32]> {
        Ok(self.inner()?.local_identity().to_bytes())
    }

    /// The peer's identity key.
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn remote_identity(&self) -> Result<[u8; 32]> {
        Ok(self.inner()?.remote_identity().to_bytes())
    }

    /// Whether `message` belongs to the handshake that made this
    /// (responder) session, so it goes to [`decrypt`](Self::decrypt).
    ///
    /// # Errors
    /// [`Error::Unusable`].
    pub fn matches(&self, message: &PreKeyMessage) -> Result<bool> {
        Ok(self.inner()?.matches(&message.0))
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(s) => fmt::Debug::fmt(s, f),
            None => f.write_str("Session(unusable)"),
        }
    }
}

// ---------------------------------------------------------------------------
// Safety numbers

/// A safety number between two identity keys ([`chatcrypt::SafetyNumber`]).
pub struct SafetyNumber(chatcrypt::SafetyNumber);

impl SafetyNumber {
    /// Computes it from each side's stable id (at most 255 bytes) and
    /// identity key (32 bytes).
    ///
    /// # Errors
    /// Wrong key lengths or invalid keys; [`chatcrypt::Error::TooLarge`].
    pub fn new(local_id: &[u8], local_key: &[u8], remote_id: &[u8], remote_key: &[u8]) -> Result<Self> {
        let local = chatcrypt::IdentityKey::from_bytes(&array::<32>(local_key, "identity key length")?)?;
        let remote = chatcrypt::IdentityKey::from_bytes(&array::<32>(remote_key, "identity key length")?)?;
        Ok(Self(chatcrypt::SafetyNumber::new(local_id, &local, remote_id, &remote)?))
    }

    /// The 60 ASCII digits.
    pub fn displayable(&self) -> &str {
        self.0.displayable()
    }

    /// The QR code payload.
    pub fn scannable(&self) -> [u8; SAFETY_NUMBER_SCANNABLE_LEN] {
        self.0.scannable()
    }

    /// Checks the other device's scannable payload.
    ///
    /// # Errors
    /// [`chatcrypt::Error::Decode`].
    pub fn compare_scanned(&self, scanned: &[u8]) -> Result<bool> {
        Ok(self.0.compare_scanned(scanned)?)
    }
}

mod messenger;

pub use messenger::*;

#[cfg(test)]
mod messenger_tests;
#[cfg(test)]
mod tests;
