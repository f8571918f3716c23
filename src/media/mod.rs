//! Media: call keys, SFrame and attachments
//! ([SPEC.md](https://github.com/chatcrypt/chatcrypt/blob/main/SPEC.md) §22-§24).
//!
//! Messengers carry more than text: files and voice notes, and audio and
//! video calls. This module keys them from the chat session without ever
//! reusing the session's message keys, sans-IO and `no_std` like the rest:
//!
//! * [`call`]: per-call key agreement carried over a [`Session`](crate::Session)
//!   (an offer and an answer, hybrid with ML-KEM), and the SRTP and SFrame
//!   keys derived from it.
//! * [`attachment`]: files of any size encrypted as a stream of 64 KiB
//!   AES-256-GCM chunks under a fresh key, verified and released chunk by
//!   chunk, and the [`AttachmentPointer`] (key, size, digest) the app sends
//!   through the session.
//! * [`group`]: group calls through a media server: each participant's
//!   SFrame sender key, ratcheted when someone joins and replaced when
//!   someone leaves, distributed over the pairwise sessions.
//! * [`sframe`]: the SFrame codec (RFC 9605): headers, the key schedule and
//!   all five cipher suites, a sender with a never-repeating counter, and a
//!   receiver with bounded keys, replay windows and key ratcheting.

pub mod attachment;
pub mod call;
pub mod group;
pub mod sframe;

pub use attachment::{
    decrypt_attachment, encrypt_attachment, AttachmentDecryptor, AttachmentEncryptor, AttachmentPointer,
    ATTACHMENT_CHUNK_LEN, ATTACHMENT_DIGEST_LEN, ATTACHMENT_FORMAT_VERSION, ATTACHMENT_KEY_LEN,
    ATTACHMENT_POINTER_LEN, ATTACHMENT_TAG_LEN, MAX_ATTACHMENT_LEN, TAG_ATTACHMENT_POINTER,
};
pub use call::{
    CallAnswer, CallKeys, CallOffer, CallRole, PendingCall, SframeBaseKey, SrtpKeys, CALL_FORMAT_VERSION,
    CALL_ID_LEN, SFRAME_BASE_KEY_LEN, SFRAME_KID_CALLEE, SFRAME_KID_CALLER, SRTP_MASTER_KEY_LEN,
    SRTP_MASTER_SALT_LEN, TAG_CALL_ANSWER, TAG_CALL_OFFER,
};
pub use group::{
    group_kid, GroupCallReceiver, GroupCallSender, KeyDistribution, MediaKeyMessage, GROUP_BASE_KEY_LEN,
    GROUP_RATCHET_BITS, MAX_GROUP_SENDERS, MAX_RETAINED_GENERATIONS, MEDIA_KEY_FORMAT_VERSION, TAG_MEDIA_KEY,
};
pub use sframe::{
    CipherSuite, SframeDecrypted, SframeHeader, SframeKey, SframeReceiver, SframeSender, MAX_SFRAME_KEYS,
    MAX_SFRAME_METADATA_LEN, MAX_SFRAME_PLAINTEXT_LEN, MAX_SFRAME_RATCHET_BITS, MAX_SFRAME_RATCHET_STEPS,
    SFRAME_MAX_HEADER_LEN, SFRAME_NONCE_LEN, SFRAME_REPLAY_WINDOW,
};
