/* tslint:disable */
/* eslint-disable */

/** A 64-bit time (seconds), epoch or serial: a non-negative safe integer or a bigint below 2^64. */
export type Uint64 = number | bigint;

/** What `LocalDevice.replenish` made, or `LocalDevice.oneTimePreKeyCounts`' count. */
export interface PreKeyCounts {
    /** One-time X25519 prekeys. */
    oneTime: number;
    /** One-time KEM prekeys. */
    kem: number;
}

/** What `PeerAccount.updateDeviceList` did. */
export interface DeviceListUpdate {
    /** Unchanged, Updated, or AccountKeyChanged (held as pending: decide with accept/rejectAccountKeyChange). */
    change: DeviceListChange;
    /** Devices new on the list. */
    added: number[];
    /** Devices no longer on the list: delete their records. */
    removed: number[];
    /** Devices listed with a new identity key (reinstalled). */
    reinstalled: number[];
}

/** What `SessionRecord.decrypt` and `SessionRecord.decryptSealed` return. */
export interface RecordDecrypted {
    /** The plaintext, without its padding. */
    plaintext: Uint8Array;
    /** The message's id (52 bytes), the same on both sides. */
    messageId: Uint8Array;
    /** Whether the message started a new session (the device's prekeys were used: store it too). */
    newSession: boolean;
}

/** One recipient's part of a split multi-recipient envelope. */
export interface RecipientEnvelope {
    /** The recipient device's identity key (32 bytes): where the server delivers it. */
    recipient: Uint8Array;
    /** The sealed envelope for it (give it to `open`, or to the device's `LocalDevice.openEnvelope`). */
    envelope: Uint8Array;
}



/** What `Session.accept` returns. */
export interface Accepted {
    /** The new session: store `session.toBytes()` before using the plaintext. */
    session: Session;
    /** The first message's plaintext. */
    plaintext: Uint8Array;
    /** The first message's id (52 bytes). */
    messageId: Uint8Array;
}

/** What `Session.decryptWithId` returns. */
export interface Decrypted {
    /** The plaintext. */
    plaintext: Uint8Array;
    /** The message's id (52 bytes), the same on both sides. */
    messageId: Uint8Array;
}



/**
 * A user's account key pair: certifies the user's devices and signs their
 * device list. Secret: `free()` it when done.
 */
export class AccountKeyPair {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Certifies that device `device` of this account has identity key
     * `identityKey` (a new device's first step: `new LocalDevice`).
     */
    certify(device: number, identityKey: Uint8Array | number[]): DeviceCertificate;
    /**
     * Restores `toBytes()`' output.
     */
    static fromBytes(stored: Uint8Array | number[]): AccountKeyPair;
    /**
     * The key pair of a 32-byte seed.
     */
    static fromSeed(seed: Uint8Array | number[]): AccountKeyPair;
    /**
     * A new account key pair (draws 32 bytes).
     */
    static generate(rng?: Rng): AccountKeyPair;
    /**
     * Opens `seal()`'s output.
     */
    static open(key: Uint8Array | number[], sealed: Uint8Array | number[]): AccountKeyPair;
    /**
     * The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
     */
    seal(key: Uint8Array | number[], rng?: Rng): Uint8Array;
    /**
     * The 32-byte seed (secret).
     */
    seed(): Uint8Array;
    /**
     * Signs the account's device list at `epoch` (larger than every epoch
     * signed before: persist it first) from the devices' links: an
     * `Array` of `DeviceLink`s or of their 100-byte encodings. Throws
     * `DECODE_INVALID_VALUE` for epoch 0, no or too many devices, a device
     * id or identity key twice; `BAD_SIGNATURE` for a link not made for
     * this account.
     */
    signDeviceList(epoch: Uint64, links: Array<DeviceLink | Uint8Array>): DeviceList;
    /**
     * The stored form (secret).
     */
    toBytes(): Uint8Array;
    /**
     * The account key (Ed25519 public key, 32 bytes).
     */
    readonly publicKey: Uint8Array;
}

/**
 * Which sender certificates a recipient accepts: the trusted server keys,
 * the revoked serials and the time.
 */
export class CertificatePolicy {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Trusts the server key `root` (32 bytes).
     */
    addRoot(root: Uint8Array | number[]): void;
    /**
     * A copy.
     */
    clone(): CertificatePolicy;
    /**
     * A policy at time `now` with no roots yet (which accepts nothing).
     * The time is part of the policy: a policy kept across calls must be
     * moved on with `setNow` before each `open` (or
     * `LocalDevice.openEnvelope`, `SenderCertificate.validate`), or
     * expired certificates pass.
     */
    constructor(now: Uint64);
    /**
     * The time certificates are checked at.
     */
    now(): bigint;
    /**
     * Refuses certificates with serial `serial`.
     */
    revoke(serial: Uint64): void;
    /**
     * Sets the time certificates are checked at: call it before each
     * open with a policy kept across calls, or certificates that expired
     * since it was made still pass.
     */
    setNow(now: Uint64): void;
}

/**
 * A device's certificate from its account.
 */
export class DeviceCertificate {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Decodes and verifies a certificate (signed by the account key it
     * names); throws `DECODE_*` or `BAD_SIGNATURE`.
     */
    static fromBytes(encoded: Uint8Array | number[]): DeviceCertificate;
    /**
     * The encoding (`Limits.DEVICE_CERTIFICATE_LEN` bytes).
     */
    toBytes(): Uint8Array;
    /**
     * Checks that it was signed by `accountKey`; throws `BAD_SIGNATURE`.
     */
    verify(accountKey: Uint8Array | number[]): void;
    /**
     * The account key that signed it (32 bytes).
     */
    readonly accountKey: Uint8Array;
    /**
     * The device id.
     */
    readonly device: number;
    /**
     * The device's identity key (32 bytes).
     */
    readonly identityKey: Uint8Array;
}

/**
 * A device's consent to be listed by an account: made on the device,
 * handed to the account's signer as `toBytes()`.
 */
export class DeviceLink {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Decodes a link (its consent is checked when a list is signed).
     */
    static fromBytes(encoded: Uint8Array | number[]): DeviceLink;
    /**
     * The consent of the device with key pair `identity` to be device
     * `device` of the account with key `accountKey`.
     */
    constructor(identity: IdentityKeyPair, accountKey: Uint8Array | number[], device: number);
    /**
     * The encoding (`Limits.DEVICE_LINK_LEN` bytes), for the account's signer.
     */
    toBytes(): Uint8Array;
    /**
     * The device id.
     */
    readonly device: number;
    /**
     * The device's identity key (32 bytes).
     */
    readonly identityKey: Uint8Array;
}

/**
 * An account's signed device list.
 */
export class DeviceList {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Decodes and verifies a device list (signed by the account key it
     * names; whether to trust that key is a `PeerAccount`'s decision).
     */
    static fromBytes(encoded: Uint8Array | number[]): DeviceList;
    /**
     * The identity key of device `device`, `undefined` if not listed.
     */
    identityOf(device: number): Uint8Array | undefined;
    /**
     * The links (to sign the next list from).
     */
    links(): DeviceLink[];
    /**
     * The encoding.
     */
    toBytes(): Uint8Array;
    /**
     * The account key that signed it (32 bytes).
     */
    readonly accountKey: Uint8Array;
    /**
     * The device ids, ascending.
     */
    readonly devices: number[];
    /**
     * Its epoch.
     */
    readonly epoch: bigint;
}

/**
 * What `PeerAccount.updateDeviceList` did.
 */
export enum DeviceListChange {
    /**
     * The list is the one already held.
     */
    Unchanged = 0,
    /**
     * A newer list under the pinned account key replaced the old one.
     */
    Updated = 1,
    /**
     * The list is signed by another account key: held as pending, every
     * device refused (`ACCOUNT_KEY_CHANGED`) until the caller decides.
     */
    AccountKeyChanged = 2,
}

/**
 * The stable number of every `ChatcryptError`'s `code` (the facade's
 * `ErrorCode`; `codeName` is the upper snake case name, `Auth` is `"AUTH"`).
 */
export enum ErrorCode {
    /**
     * A wrong length, an unknown enum value.
     */
    InvalidArgument = -1,
    /**
     * An output buffer too small (not met through this binding).
     */
    BufferTooSmall = -2,
    /**
     * A panic was caught (not met through this binding: a panic traps).
     */
    Panic = -3,
    /**
     * The operating system's random generator failed.
     */
    RngFailure = -4,
    /**
     * A scripted generator has fewer bytes left than were asked for.
     */
    RngExhausted = -5,
    /**
     * The one-time prekey was consumed by an earlier accept.
     */
    Consumed = -6,
    /**
     * The session is unusable after a random generator failure mid-call.
     */
    Unusable = -7,
    /**
     * A bundle signature does not verify.
     */
    BadSignature = -10,
    /**
     * A Diffie-Hellman output was all zeros (low-order key).
     */
    NonContributory = -11,
    /**
     * The prekeys passed are not the ones the message names.
     */
    UnknownPreKey = -12,
    /**
     * The message is bound to another identity.
     */
    WrongIdentity = -13,
    /**
     * A PreKeyMessage of another handshake than this session's.
     */
    HandshakeMismatch = -14,
    /**
     * Authentication failed: forged, tampered or not for this session.
     */
    Auth = -15,
    /**
     * A replay: the message's key was already used.
     */
    Duplicate = -16,
    /**
     * The message would skip more keys than allowed.
     */
    TooFarAhead = -17,
    /**
     * A plaintext or message is larger than the format allows.
     */
    TooLarge = -18,
    /**
     * The sending chain used up its message numbers.
     */
    CounterExhausted = -19,
    /**
     * The responder's mode policy refuses the initiator's mode.
     */
    ModeNotAllowed = -20,
    /**
     * The handshake would be classical where the policy requires hybrid.
     */
    PostQuantumRequired = -21,
    /**
     * A device not on the peer's device list.
     */
    UnknownDevice = -22,
    /**
     * The peer's account key changed (pending: accept or reject it), or another key was expected.
     */
    AccountKeyChanged = -23,
    /**
     * No account key change is pending.
     */
    NoPendingChange = -24,
    /**
     * A device list older than the one held.
     */
    DeviceListRollback = -25,
    /**
     * Another device list at the epoch already held.
     */
    DeviceListConflict = -26,
    /**
     * No session to encrypt on, or none that decrypts the message.
     */
    NoSession = -27,
    /**
     * Our session got no reply in time: fetch a bundle and start a new one.
     */
    SessionExpired = -28,
    /**
     * The upload was asked for a stored form that is not the device's current one.
     */
    NotPersisted = -29,
    /**
     * Media layer (not bound yet).
     */
    UsedKey = -30,
    /**
     * Media layer (not bound yet).
     */
    UnknownKeyId = -31,
    /**
     * Media layer (not bound yet).
     */
    CounterTooOld = -32,
    /**
     * Media layer (not bound yet).
     */
    NoRatchet = -33,
    /**
     * Media layer (not bound yet).
     */
    ChunkLength = -34,
    /**
     * Media layer (not bound yet).
     */
    StreamFinished = -35,
    /**
     * Media layer (not bound yet).
     */
    StreamIncomplete = -36,
    /**
     * A padded plaintext's padding is not canonical.
     */
    Padding = -37,
    /**
     * A sender certificate from a server key the policy does not trust.
     */
    UntrustedCertificate = -38,
    /**
     * A sender certificate whose serial the policy revokes.
     */
    CertificateRevoked = -39,
    /**
     * A sender certificate expired at the policy's time.
     */
    CertificateExpired = -40,
    /**
     * A sealed envelope's certificate names another device than the session's.
     */
    SenderMismatch = -41,
    /**
     * An error of a newer chatcrypt than this binding.
     */
    Other = -60,
    /**
     * Malformed bytes: too short.
     */
    DecodeTruncated = -70,
    /**
     * Malformed bytes: bytes after the end.
     */
    DecodeTrailingBytes = -71,
    /**
     * Malformed bytes: an unknown version.
     */
    DecodeUnsupportedVersion = -72,
    /**
     * Malformed bytes: an unexpected type byte.
     */
    DecodeUnexpectedType = -73,
    /**
     * Malformed bytes: invalid flags.
     */
    DecodeInvalidFlags = -74,
    /**
     * Malformed bytes: an invalid public key.
     */
    DecodeInvalidPublicKey = -75,
    /**
     * Malformed bytes: an invalid value.
     */
    DecodeInvalidValue = -76,
    /**
     * Malformed bytes: an unknown key type.
     */
    DecodeUnknownKeyType = -77,
    /**
     * A decode error of a newer chatcrypt than this binding.
     */
    DecodeOther = -79,
}

/**
 * This device's long-term identity key pair.
 */
export class IdentityKeyPair {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Restores `toBytes()`' output.
     */
    static fromBytes(stored: Uint8Array | number[]): IdentityKeyPair;
    /**
     * The key pair of a 32-byte seed.
     */
    static fromSeed(seed: Uint8Array | number[]): IdentityKeyPair;
    /**
     * A new key pair (draws 32 bytes).
     */
    static generate(rng?: Rng): IdentityKeyPair;
    /**
     * Opens `seal()`'s output.
     */
    static open(key: Uint8Array | number[], sealed: Uint8Array | number[]): IdentityKeyPair;
    /**
     * The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
     */
    seal(key: Uint8Array | number[], rng?: Rng): Uint8Array;
    /**
     * The 32-byte seed (secret).
     */
    seed(): Uint8Array;
    /**
     * The stored form (34 bytes; secret).
     */
    toBytes(): Uint8Array;
    /**
     * The Ed25519 public key (32 bytes): the identity others see.
     */
    readonly publicKey: Uint8Array;
}

/**
 * An ML-KEM-1024 prekey with its seed. Used as a one-time KEM prekey, a
 * successful `Session.accept` consumes it; as the last-resort one it is
 * only borrowed.
 */
export class KemPreKey {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Restores `toBytes()`' output.
     */
    static fromBytes(stored: Uint8Array | number[]): KemPreKey;
    /**
     * A new KEM prekey signed by `identity` (draws 64 bytes).
     */
    static generate(identity: IdentityKeyPair, id: number, rng?: Rng): KemPreKey;
    /**
     * The stored form (secret).
     */
    toBytes(): Uint8Array;
    /**
     * Its id.
     */
    readonly id: number;
    /**
     * Whether an accept consumed it (as a one-time KEM prekey).
     */
    readonly isConsumed: boolean;
    /**
     * Its KEM type byte (1: ML-KEM-1024).
     */
    readonly kemType: number;
    /**
     * The public encoding that goes into bundles (the type, the id, the
     * ML-KEM-1024 key and the identity's signature).
     */
    readonly publicKey: Uint8Array;
}

/**
 * The messenger layer's sizes and limits, as static getters
 * (`Limits.DEVICE_LINK_LEN`).
 */
export class Limits {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Bytes of an encoded `DeviceCertificate`.
     */
    static readonly DEVICE_CERTIFICATE_LEN: number;
    /**
     * Bytes of an encoded `DeviceLink`.
     */
    static readonly DEVICE_LINK_LEN: number;
    /**
     * The most devices a `DeviceList` names.
     */
    static readonly MAX_DEVICES: number;
    /**
     * The longest plaintext, in bytes.
     */
    static readonly MAX_PLAINTEXT_LEN: number;
    /**
     * The most recipients of one multi-recipient envelope.
     */
    static readonly MAX_SEALED_RECIPIENTS: number;
    /**
     * The most bytes of envelopes one `splitMultiRecipient` or
     * `splitMultiRecipientRange` returns (32 MiB): each recipient's
     * envelope repeats the payload.
     */
    static readonly MAX_SPLIT_LEN: number;
    /**
     * The longest stable user id, in bytes.
     */
    static readonly MAX_USER_ID_LEN: number;
    /**
     * Bytes of a message id.
     */
    static readonly MESSAGE_ID_LEN: number;
    /**
     * Bytes of an encoded `RetryMessage`.
     */
    static readonly RETRY_MESSAGE_LEN: number;
    /**
     * Digits of a safety number.
     */
    static readonly SAFETY_NUMBER_DIGITS: number;
    /**
     * Bytes a sealed envelope adds to the padded content.
     */
    static readonly SEALED_ENVELOPE_OVERHEAD: number;
    /**
     * Bytes of an encoded `SenderCertificate`.
     */
    static readonly SENDER_CERTIFICATE_LEN: number;
}

/**
 * This device: identity, certificate and prekeys. Store `toBytes()` (or
 * `seal()`) after every call that changes it; a call that throws changed
 * nothing. Secret: `free()` it when done.
 */
export class LocalDevice {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Restores `toBytes()`' output.
     */
    static fromBytes(stored: Uint8Array | number[]): LocalDevice;
    /**
     * A copy of the identity key pair (to seal envelopes); prefer the
     * methods that use the device's own (`openEnvelope`, `link`).
     */
    identity(): IdentityKeyPair;
    /**
     * This device's link for its account's device list.
     */
    link(): DeviceLink;
    /**
     * Records that the server stored `upload`. Persist afterwards.
     */
    markUploaded(upload: PreKeyUpload): void;
    /**
     * Whether the signed prekey is due for rotation at `now`.
     */
    needsRotation(now: Uint64): boolean;
    /**
     * Whether some keys are not yet in a confirmed upload.
     */
    needsUpload(): boolean;
    /**
     * A new device for `identity`, certified by its account as
     * `certificate`, with a first signed and last-resort prekey made at
     * `now` (draws 32 + 64 bytes) and no one-time prekeys yet (call
     * `replenish`). Throws `WRONG_IDENTITY` if the certificate is for
     * another identity key.
     */
    constructor(identity: IdentityKeyPair, certificate: DeviceCertificate, now: Uint64, rng?: Rng);
    /**
     * How many one-time X25519 and KEM prekeys the device holds:
     * `{ oneTime, kem }`.
     */
    oneTimePreKeyCounts(): PreKeyCounts;
    /**
     * Opens a sealed envelope addressed to this device, validating its
     * sender certificate against `policy` (`open` with the device's own
     * identity, without a copy of the key pair; changes no state). Throws
     * as `open` does.
     */
    openEnvelope(envelope: Uint8Array | number[], policy: CertificatePolicy): OpenedEnvelope;
    /**
     * Opens `seal()`'s output.
     */
    static open(key: Uint8Array | number[], sealed: Uint8Array | number[]): LocalDevice;
    /**
     * Deletes retired prekeys whose grace period is over at `now`.
     */
    prune(now: Uint64): void;
    /**
     * Makes one-time prekeys when the server reports fewer than the low
     * water mark (draws 32 bytes per X25519 and 64 per KEM prekey):
     * `{ oneTime, kem }` made. Persist, then `upload`.
     */
    replenish(serverOneTime: number, serverKem: number, rng?: Rng): PreKeyCounts;
    /**
     * As `retryFor`, from the failure's code (an `ErrorCode`) and, for
     * `UNKNOWN_PREKEY` (where it is required), the `prekeyId` its error
     * carried.
     */
    retryForCode(senderIdentity: Uint8Array | number[], failed: Uint8Array | number[], code: ErrorCode, now: Uint64, prekeyId?: number): RetryMessage | undefined;
    /**
     * The signed retry for `failed`, a message from the device with
     * identity key `senderIdentity` that failed to decrypt at `now` with
     * `error`, the `ChatcryptError` it threw (its `code` and, for
     * `UNKNOWN_PREKEY`, its `prekeyId`); `undefined` if that failure calls
     * for no retry (only `AUTH`, `NO_SESSION` and `UNKNOWN_PREKEY` do).
     * Throws `INVALID_ARGUMENT` if `error` has no valid `code`.
     */
    retryFor(senderIdentity: Uint8Array | number[], failed: Uint8Array | number[], error: ChatcryptError, now: Uint64): RetryMessage | undefined;
    /**
     * Replaces the signed and last-resort prekeys (draws 32 + 64 bytes).
     * Persist, then `upload`.
     */
    rotateSignedPreKey(now: Uint64, rng?: Rng): void;
    /**
     * The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
     */
    seal(key: Uint8Array | number[], rng?: Rng): Uint8Array;
    /**
     * The stored form (secret).
     */
    toBytes(): Uint8Array;
    /**
     * The prekey upload, for `persisted`: the stored form of this device
     * the caller stored (`toBytes()`, also when what is stored is its
     * sealed form). Throws `NOT_PERSISTED` if it is not the current one.
     */
    upload(persisted: Uint8Array | number[]): PreKeyUpload;
    /**
     * The device certificate.
     */
    readonly certificate: DeviceCertificate;
    /**
     * The device id.
     */
    readonly deviceId: number;
    /**
     * The identity key (32 bytes).
     */
    readonly identityKey: Uint8Array;
}

/**
 * The two kinds of wire message.
 */
export enum MessageType {
    /**
     * Carries the handshake: the first one from a new peer goes to `Session.accept`.
     */
    PreKey = 1,
    /**
     * An ordinary message for an existing session.
     */
    Message = 2,
}

/**
 * How a session's headers travel.
 */
export enum Mode {
    /**
     * Headers in clear (the default).
     */
    Plain = 0,
    /**
     * Headers encrypted (SPEC.md §14).
     */
    HeaderEncryption = 1,
}

/**
 * Which modes a responder accepts.
 */
export enum ModePolicy {
    /**
     * Either mode (the default).
     */
    Any = 0,
    /**
     * Only header encryption.
     */
    HeaderEncryptionOnly = 1,
    /**
     * Only plain headers.
     */
    PlainOnly = 2,
}

/**
 * A one-time prekey with its secret; a successful `Session.accept` that
 * uses it consumes it (`isConsumed`, and `CONSUMED` from its other calls).
 */
export class OneTimePreKey {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Restores `toBytes()`' output.
     */
    static fromBytes(stored: Uint8Array | number[]): OneTimePreKey;
    /**
     * A new one-time prekey (draws 32 bytes).
     */
    static generate(id: number, rng?: Rng): OneTimePreKey;
    /**
     * The stored form (38 bytes; secret).
     */
    toBytes(): Uint8Array;
    /**
     * Its id.
     */
    readonly id: number;
    /**
     * Whether an accept consumed it: delete it from storage then.
     */
    readonly isConsumed: boolean;
    /**
     * Its X25519 public key (32 bytes).
     */
    readonly publicKey: Uint8Array;
}

/**
 * An opened sealed envelope: the validated sender certificate and the
 * content.
 */
export class OpenedEnvelope {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * The content without its padding (secret; for a session record's
     * message, give the envelope to `SessionRecord.decryptSealed`).
     */
    content(): Uint8Array;
    /**
     * The sender's certificate.
     */
    readonly certificate: SenderCertificate;
}

/**
 * How a plaintext is padded before it is encrypted or sealed (SPEC.md §26).
 */
export class Padding {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * The policy of `kind` (a `PaddingKind`) and its parameter; throws
     * `INVALID_ARGUMENT` for an unknown kind or a parameter out of range
     * (`None` with a parameter, `Blocks` with 0, above 65 535).
     */
    constructor(kind: PaddingKind, param: number);
    /**
     * Pads `content` (at most `max` bytes padded: `TOO_LARGE` otherwise).
     */
    pad(content: Uint8Array | number[], max: number): Uint8Array;
    /**
     * The padded length of `contentLength` bytes; throws `TOO_LARGE` if it
     * does not fit.
     */
    paddedLength(contentLength: number): number;
    /**
     * The default policy (what `SessionRecord.encrypt` uses): Padmé with
     * a floor of 160 bytes.
     */
    static recommended(): Padding;
    /**
     * The kind.
     */
    readonly kind: PaddingKind;
    /**
     * The parameter.
     */
    readonly param: number;
}

/**
 * The kinds of `Padding`.
 */
export enum PaddingKind {
    /**
     * No rounding (parameter 0).
     */
    None = 0,
    /**
     * Round up to a multiple of the parameter (1 to 65 535).
     */
    Blocks = 1,
    /**
     * Padmé with the parameter as the floor (0 to 65 535).
     */
    Padme = 2,
}

/**
 * What this device trusts about a peer account: its pinned account key
 * and newest device list. Store `toBytes()` after every change.
 */
export class PeerAccount {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * The caller's decision to trust the pending account key `expected`;
     * throws `NO_PENDING_CHANGE`, or `ACCOUNT_KEY_CHANGED` if the pending
     * key is another.
     */
    acceptAccountKeyChange(expected: Uint8Array | number[]): void;
    /**
     * Whether device `device` with identity key `identityKey` may send
     * and receive: returns, or throws (`UNKNOWN_DEVICE`, `WRONG_IDENTITY`,
     * `ACCOUNT_KEY_CHANGED`).
     */
    authorize(device: number, identityKey: Uint8Array | number[]): void;
    /**
     * A copy (the stored form restored).
     */
    clone(): PeerAccount;
    /**
     * The identity key device `device` must have (32 bytes); throws
     * `ACCOUNT_KEY_CHANGED` or `UNKNOWN_DEVICE`.
     */
    deviceIdentity(device: number): Uint8Array;
    /**
     * Restores `toBytes()`' output.
     */
    static fromBytes(stored: Uint8Array | number[]): PeerAccount;
    /**
     * Records that the users compared safety numbers and they matched;
     * throws `ACCOUNT_KEY_CHANGED` while a change is pending.
     */
    markVerified(): void;
    /**
     * Opens `seal()`'s output.
     */
    static open(key: Uint8Array | number[], sealed: Uint8Array | number[]): PeerAccount;
    /**
     * The caller's decision to keep the pinned key; throws `NO_PENDING_CHANGE`.
     */
    rejectAccountKeyChange(): void;
    /**
     * The safety number between the local user and this peer's pinned
     * account key.
     */
    safetyNumber(localUserId: Uint8Array | number[], localAccountKey: Uint8Array | number[]): SafetyNumber;
    /**
     * The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
     */
    seal(key: Uint8Array | number[], rng?: Rng): Uint8Array;
    /**
     * The stored form.
     */
    toBytes(): Uint8Array;
    /**
     * First contact, trusting on first use the account key that signed
     * `list`. Throws `TOO_LARGE` for a user id over
     * `Limits.MAX_USER_ID_LEN` bytes.
     */
    static trustOnFirstUse(userId: Uint8Array | number[], list: DeviceList): PeerAccount;
    /**
     * Applies a device list fetched for this account:
     * `{ change, added, removed, reinstalled }`. Throws
     * `DEVICE_LIST_ROLLBACK` for an older epoch, `DEVICE_LIST_CONFLICT`
     * for another list at the same epoch; nothing changes then.
     */
    updateDeviceList(list: DeviceList): DeviceListUpdate;
    /**
     * First contact with an account key verified out of band; throws
     * `ACCOUNT_KEY_CHANGED` if `list` is signed by another key.
     */
    static verified(userId: Uint8Array | number[], accountKey: Uint8Array | number[], list: DeviceList): PeerAccount;
    /**
     * The pinned account key (32 bytes).
     */
    readonly accountKey: Uint8Array;
    /**
     * The newest device list under the pinned key.
     */
    readonly deviceList: DeviceList;
    /**
     * The account key of a change waiting for the caller's decision
     * (32 bytes), `undefined` if none.
     */
    readonly pendingAccountKey: Uint8Array | undefined;
    /**
     * How the account key was pinned.
     */
    readonly trustLevel: TrustLevel;
    /**
     * The peer's stable user id.
     */
    readonly userId: Uint8Array;
}

/**
 * Whether the handshake must be hybrid post-quantum.
 */
export enum PqPolicy {
    /**
     * Only the hybrid handshake (the default).
     */
    Required = 0,
    /**
     * The classical handshake too.
     */
    AllowClassical = 1,
}

/**
 * A prekey bundle: what a device publishes so that others can start a
 * session with it.
 */
export class PreKeyBundle {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Decodes a bundle (not verified: see `verify()`).
     */
    static fromBytes(encoded: Uint8Array | number[]): PreKeyBundle;
    /**
     * A bundle from published public parts (a key server's view). Not
     * verified: see `verify()`.
     */
    static fromParts(identityKey: Uint8Array | number[], signedPreKeyId: number, signedPreKey: Uint8Array | number[], signature: Uint8Array | number[], oneTimePreKeyId?: number | null, oneTimePreKey?: Uint8Array | number[] | null, kemPreKey?: Uint8Array | number[] | null): PreKeyBundle;
    /**
     * The bundle of our own keys, to publish; the one-time prekey and the
     * KEM prekey are optional (`undefined` or `null`).
     */
    constructor(identity: IdentityKeyPair, signedPreKey: SignedPreKey, oneTimePreKey?: OneTimePreKey, kemPreKey?: KemPreKey);
    /**
     * The wire encoding.
     */
    toBytes(): Uint8Array;
    /**
     * Checks the prekeys' encodings and signatures (`Session.initiate`
     * does it too); throws `BAD_SIGNATURE` or `DECODE_*`.
     */
    verify(): void;
    /**
     * The owner's identity key (32 bytes).
     */
    readonly identityKey: Uint8Array;
    /**
     * The KEM prekey's id, `undefined` without one.
     */
    readonly kemPreKeyId: number | undefined;
    /**
     * The one-time prekey's id, `undefined` without one.
     */
    readonly oneTimePreKeyId: number | undefined;
    /**
     * The signed prekey's id.
     */
    readonly signedPreKeyId: number;
}

/**
 * A decoded PreKeyMessage, to look up the prekeys it names before
 * `Session.accept`.
 */
export class PreKeyMessage {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Decodes a PreKeyMessage.
     */
    static fromBytes(message: Uint8Array | number[]): PreKeyMessage;
    /**
     * The message bytes.
     */
    toBytes(): Uint8Array;
    /**
     * The initiator's base key (for the last-resort replay check, SPEC.md §16.7).
     */
    readonly baseKey: Uint8Array;
    /**
     * Whether the handshake is hybrid post-quantum.
     */
    readonly isPostQuantum: boolean;
    /**
     * The KEM prekey's id, `undefined` if the handshake is classical.
     */
    readonly kemPreKeyId: number | undefined;
    /**
     * The KEM prekey's type byte, `undefined` if the handshake is classical.
     */
    readonly kemType: number | undefined;
    /**
     * The mode the initiator chose.
     */
    readonly mode: Mode;
    /**
     * The one-time prekey's id, `undefined` if it names none.
     */
    readonly oneTimePreKeyId: number | undefined;
    /**
     * The sender's identity key (authenticated only once accept succeeds).
     */
    readonly senderIdentity: Uint8Array;
    /**
     * The signed prekey's id.
     */
    readonly signedPreKeyId: number;
}

/**
 * A device's signed prekey upload: what the server stores and hands out
 * bundles from.
 */
export class PreKeyUpload {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * The bundle a server hands out: with the one-time X25519 prekey at
     * index `oneTime` and the one-time KEM prekey at index `kem` of this
     * upload, or without (`undefined`: no one-time prekey; the last-resort
     * KEM prekey). An index out of range throws.
     */
    bundle(oneTime?: number, kem?: number): PreKeyBundle;
    /**
     * Decodes and verifies an upload (the server's first step).
     */
    static fromBytes(encoded: Uint8Array | number[]): PreKeyUpload;
    /**
     * The encoding.
     */
    toBytes(): Uint8Array;
    /**
     * The device's certificate.
     */
    readonly certificate: DeviceCertificate;
    /**
     * The device's identity key (32 bytes).
     */
    readonly identityKey: Uint8Array;
    /**
     * How many one-time KEM prekeys it carries.
     */
    readonly kemPreKeyCount: number;
    /**
     * How many one-time X25519 prekeys it carries.
     */
    readonly oneTimePreKeyCount: number;
}

/**
 * A signed "I could not decrypt your message", sent back to the sender's
 * device (`SessionRecord.handleRetry`).
 */
export class RetryMessage {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Decodes and verifies a retry message.
     */
    static fromBytes(encoded: Uint8Array | number[]): RetryMessage;
    /**
     * The encoding (`Limits.RETRY_MESSAGE_LEN` bytes).
     */
    toBytes(): Uint8Array;
    /**
     * The identity key of the device that could not decrypt (32 bytes).
     */
    readonly author: Uint8Array;
    /**
     * The failed message's digest (16 bytes).
     */
    readonly messageDigest: Uint8Array;
    /**
     * The unknown prekey's id, else 0.
     */
    readonly prekeyId: number;
    /**
     * Why the message failed.
     */
    readonly reason: RetryReason;
    /**
     * The identity key of the device whose message failed (32 bytes).
     */
    readonly recipient: Uint8Array;
    /**
     * When the failure happened, on the author's clock.
     */
    readonly timestamp: bigint;
}

/**
 * What `SessionRecord.handleRetry` decided.
 */
export enum RetryOutcome {
    /**
     * Nothing to do.
     */
    Ignored = 0,
    /**
     * The current session was archived: fetch a bundle, `initiate`, resend.
     */
    StartNewSession = 1,
}

/**
 * Why a message could not be decrypted.
 */
export enum RetryReason {
    /**
     * No session decrypts the message.
     */
    NoSession = 1,
    /**
     * A PreKeyMessage named a prekey the device does not hold.
     */
    UnknownPreKey = 2,
    /**
     * A PreKeyMessage named held prekeys but did not authenticate.
     */
    HandshakeFailed = 3,
}

/**
 * Where a call's randomness comes from. Calls that draw randomness take an
 * optional `Rng` as their last argument and use `Rng.os()` without one.
 */
export class Rng {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * The operating system's generator (`crypto.getRandomValues`).
     */
    static os(): Rng;
    /**
     * A generator that yields exactly `bytes`, in order, and then fails
     * every request with `RNG_EXHAUSTED` (a request it cannot fill in full
     * takes nothing). For replaying test vectors; never for real messages.
     */
    static scripted(bytes: Uint8Array | number[]): Rng;
    /**
     * Whether this is a scripted generator.
     */
    readonly isScripted: boolean;
    /**
     * How many scripted bytes are left; `undefined` for the OS generator.
     */
    readonly remaining: number | undefined;
}

/**
 * A safety number between two identity keys, for users to compare.
 */
export class SafetyNumber {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Checks the other device's scanned payload: `true` if it matches.
     */
    compareScanned(scanned: Uint8Array | number[]): boolean;
    /**
     * The safety number between two users' account keys (the one a
     * multi-device messenger shows): each side's stable user id and
     * account key (32 bytes).
     */
    static forAccounts(localUserId: Uint8Array | number[], localAccountKey: Uint8Array | number[], remoteUserId: Uint8Array | number[], remoteAccountKey: Uint8Array | number[]): SafetyNumber;
    /**
     * Computes it from each side's stable id (at most 255 bytes, such as
     * a phone number's UTF-8) and identity key (32 bytes).
     */
    constructor(localId: Uint8Array | number[], localKey: Uint8Array | number[], remoteId: Uint8Array | number[], remoteKey: Uint8Array | number[]);
    /**
     * The 60 digits to show.
     */
    readonly displayable: string;
    /**
     * The QR code payload.
     */
    readonly scannable: Uint8Array;
}

/**
 * A sender certificate: the server's word that a device belongs to an
 * account, carried inside sealed envelopes.
 */
export class SenderCertificate {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Decodes a certificate (validated against a policy when opened).
     */
    static fromBytes(encoded: Uint8Array | number[]): SenderCertificate;
    /**
     * The encoding (`Limits.SENDER_CERTIFICATE_LEN` bytes).
     */
    toBytes(): Uint8Array;
    /**
     * Checks the certificate against `policy`: returns, or throws
     * `UNTRUSTED_CERTIFICATE`, `CERTIFICATE_REVOKED`, `CERTIFICATE_EXPIRED`.
     */
    validate(policy: CertificatePolicy): void;
    /**
     * The sender's account key (32 bytes).
     */
    readonly accountKey: Uint8Array;
    /**
     * The sender's device id.
     */
    readonly device: number;
    /**
     * The expiry time.
     */
    readonly expires: bigint;
    /**
     * The sender device's identity key (32 bytes).
     */
    readonly identityKey: Uint8Array;
    /**
     * The issuing server key (32 bytes).
     */
    readonly issuer: Uint8Array;
    /**
     * The serial number.
     */
    readonly serial: bigint;
}

/**
 * The server's certificate-signing key pair. Secret: `free()` it when done.
 */
export class ServerKeyPair {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * The key pair of a 32-byte seed.
     */
    static fromSeed(seed: Uint8Array | number[]): ServerKeyPair;
    /**
     * A new key pair (draws 32 bytes).
     */
    static generate(rng?: Rng): ServerKeyPair;
    /**
     * Issues certificate `serial`, valid while the recipient's clock is
     * below `expires`, for device `device` of account `accountKey` with
     * identity key `identityKey`.
     */
    issue(serial: Uint64, expires: Uint64, accountKey: Uint8Array | number[], device: number, identityKey: Uint8Array | number[]): SenderCertificate;
    /**
     * The 32-byte seed (secret).
     */
    seed(): Uint8Array;
    /**
     * The public key (32 bytes): what clients trust as a root.
     */
    readonly publicKey: Uint8Array;
}

/**
 * A Double Ratchet session with one peer device. After every call that
 * changes it (encrypt, decrypt, accept) store `toBytes()`; a call that
 * throws changed nothing.
 */
export class Session {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Accepts a session from a peer's first PreKeyMessage and decrypts it.
     * Pass the prekeys the message names (`PreKeyMessage`'s ids say which;
     * `undefined` for those it does not name). With a `kemPreKey`,
     * `kemLastResort` is required: `true` if it is the last-resort KEM
     * prekey (only borrowed), `false` if it is a one-time one (consumed);
     * a missing or non-boolean flag throws `INVALID_ARGUMENT` (without a
     * KEM prekey it may be `undefined`). A one-time prekey (and a one-time
     * KEM prekey) is consumed if this succeeds and left as it was if it
     * throws. `modePolicy` and `pqPolicy` are required (a missing or
     * unknown value throws `INVALID_ARGUMENT`). Returns
     * `{ session, plaintext, messageId }`.
     */
    static accept(identity: IdentityKeyPair, signedPreKey: SignedPreKey, message: PreKeyMessage, oneTimePreKey: OneTimePreKey | null | undefined, kemPreKey: KemPreKey | null | undefined, kemLastResort: boolean | undefined, modePolicy: ModePolicy, pqPolicy: PqPolicy, rng?: Rng): Accepted;
    /**
     * As `decrypt`, with the message's id: `{ plaintext, messageId }`.
     */
    decryptWithId(message: Uint8Array | number[], rng?: Rng): Decrypted;
    /**
     * Decrypts a message. Draws 32 bytes (the next ratchet key pair) when
     * the message starts a new ratchet step, nothing otherwise. Throws
     * `AUTH` for a forged or tampered message, `DUPLICATE` for a replay;
     * the session is then unchanged. An OS generator failure in the
     * middle of the call leaves the session unusable (`UNUSABLE`
     * afterwards: restore it from its stored form).
     */
    decrypt(message: Uint8Array | number[], rng?: Rng): Uint8Array;
    /**
     * The length of `toBytes()`' output, without making it (to size
     * storage; it changes as the session does).
     */
    encodedLen(): number;
    /**
     * Encrypts a message. Draws exactly 16 bytes per message, the
     * message's reuse guard (SPEC.md §6.3), and nothing else: the
     * ratchet's new key pairs are drawn by `decrypt`. A scripted `Rng`
     * that runs dry throws `RNG_EXHAUSTED` and leaves the session as it
     * was; an OS generator failure throws and leaves the session unusable
     * (`UNUSABLE` afterwards: restore it from its stored form).
     */
    encrypt(plaintext: Uint8Array | number[], rng?: Rng): Uint8Array;
    /**
     * The length of the message that encrypting `plaintextLength` bytes gives now.
     */
    encryptedLength(plaintext_length: number): number;
    /**
     * Restores a stored session (`toBytes()`' output).
     */
    static fromBytes(stored: Uint8Array | number[]): Session;
    /**
     * Starts a session from a peer's bundle (verified here) in `mode`
     * (`Mode.Plain` or `Mode.HeaderEncryption`) under `pqPolicy`
     * (`PqPolicy.Required`: a bundle without a KEM prekey throws
     * `POST_QUANTUM_REQUIRED`; `PqPolicy.AllowClassical`). Both are
     * required: a missing or unknown value throws `INVALID_ARGUMENT`.
     * Draws 64 bytes (96 if hybrid).
     */
    static initiate(identity: IdentityKeyPair, bundle: PreKeyBundle, mode: Mode, pqPolicy: PqPolicy, rng?: Rng): Session;
    /**
     * Whether `message` belongs to the handshake that made this
     * (responder) session, so it goes to `decrypt` rather than `accept`.
     */
    matches(message: PreKeyMessage): boolean;
    /**
     * Opens `seal()`'s output.
     */
    static open(key: Uint8Array | number[], sealed: Uint8Array | number[]): Session;
    /**
     * The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
     */
    seal(key: Uint8Array | number[], rng?: Rng): Uint8Array;
    /**
     * The stored form (secret): store it after every call that changed
     * the session.
     */
    toBytes(): Uint8Array;
    /**
     * Whether our messages still carry the handshake (no reply decrypted yet).
     */
    readonly awaitingReply: boolean;
    /**
     * Whether this side started the session.
     */
    readonly isInitiator: boolean;
    /**
     * Whether the handshake was hybrid post-quantum.
     */
    readonly isPostQuantum: boolean;
    /**
     * Our identity key (32 bytes).
     */
    readonly localIdentity: Uint8Array;
    /**
     * The session's mode.
     */
    readonly mode: Mode;
    /**
     * The peer's identity key (32 bytes).
     */
    readonly remoteIdentity: Uint8Array;
    /**
     * How many skipped message keys are stored.
     */
    readonly skippedKeyCount: number;
}

/**
 * How a `SessionRecord` starts and accepts sessions. Every field is
 * required: a missing or unknown value throws `INVALID_ARGUMENT`;
 * `SessionPolicy.recommended()` is chatcrypt's default.
 */
export class SessionPolicy {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * The header `mode` of sessions this device starts, whether it may
     * start a classical one (`pqPolicy`), the modes it accepts from
     * initiators (`acceptModePolicy`) and whether it accepts a classical
     * session (`acceptPqPolicy`).
     */
    constructor(mode: Mode, pqPolicy: PqPolicy, acceptModePolicy: ModePolicy, acceptPqPolicy: PqPolicy);
    /**
     * chatcrypt's default: plain headers, hybrid post-quantum required,
     * either mode accepted, classical sessions refused.
     */
    static recommended(): SessionPolicy;
    /**
     * The modes accepted from initiators.
     */
    readonly acceptModePolicy: ModePolicy;
    /**
     * Whether a classical session is accepted.
     */
    readonly acceptPqPolicy: PqPolicy;
    /**
     * The header mode of sessions this device starts.
     */
    readonly mode: Mode;
    /**
     * Whether this device may start a classical session.
     */
    readonly pqPolicy: PqPolicy;
}

/**
 * All sessions with one remote device. Store `toBytes()` (or `seal()`)
 * after every call that changes it, and the `LocalDevice` too when
 * `decrypt` reports `newSession`. A call that throws changes neither
 * (a scripted `Rng` that runs dry included); only an OS generator failure
 * in an ordinary message leaves the record `UNUSABLE`: restore it then.
 * Secret: `free()` it when done.
 */
export class SessionRecord {
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Decrypts the content of an opened sealed envelope from the device,
     * if its certificate names the sender the inner session authenticates
     * (`SENDER_MISMATCH` otherwise): `{ plaintext, messageId, newSession }`.
     */
    decryptSealed(local: LocalDevice, peer: PeerAccount, opened: OpenedEnvelope, policy: SessionPolicy, now: Uint64, rng?: Rng): RecordDecrypted;
    /**
     * Decrypts a message from the device (a new PreKeyMessage is accepted
     * with `local`'s prekeys, which it consumes on success):
     * `{ plaintext, messageId, newSession }`. Draws 32 bytes on a new
     * ratchet step. Throws `AUTH`, `DUPLICATE` (a replay: drop it),
     * `UNKNOWN_PREKEY` (with `prekeyId`), `NO_SESSION`...; nothing changes
     * then (answer with `local.retryFor(...)`).
     */
    decrypt(local: LocalDevice, peer: PeerAccount, message: Uint8Array | number[], policy: SessionPolicy, now: Uint64, rng?: Rng): RecordDecrypted;
    /**
     * As `encrypt`, padded with `padding`.
     */
    encryptPadded(peer: PeerAccount, plaintext: Uint8Array | number[], padding: Padding, now: Uint64, rng?: Rng): Uint8Array;
    /**
     * Encrypts `plaintext` on the current session (default padding) and
     * seals the message for the session's peer device with `certificate`,
     * this device's sender certificate (draws 16 + 32 bytes).
     */
    encryptSealed(local: LocalDevice, peer: PeerAccount, certificate: SenderCertificate, plaintext: Uint8Array | number[], now: Uint64, rng?: Rng): Uint8Array;
    /**
     * Encrypts `plaintext` on the current session, padded with the
     * default policy (draws a 16-byte reuse guard). Throws `NO_SESSION`
     * without one, `ACCOUNT_KEY_CHANGED` while a change is pending,
     * `WRONG_IDENTITY` if the device is now listed with another key.
     */
    encrypt(peer: PeerAccount, plaintext: Uint8Array | number[], now: Uint64, rng?: Rng): Uint8Array;
    /**
     * Restores `toBytes()`' output.
     */
    static fromBytes(stored: Uint8Array | number[]): SessionRecord;
    /**
     * Reacts to a retry message from the device.
     */
    handleRetry(local: LocalDevice, peer: PeerAccount, retry: RetryMessage): RetryOutcome;
    /**
     * Starts a session with the device from its `bundle`, authorized by
     * `peer`'s device list; it becomes the current session.
     */
    initiate(local: LocalDevice, peer: PeerAccount, bundle: PreKeyBundle, policy: SessionPolicy, now: Uint64, rng?: Rng): void;
    /**
     * Whether there is no session to send on at `now`: fetch a bundle and
     * `initiate`.
     */
    needsNewSession(now: Uint64): boolean;
    /**
     * An empty record for the peer's device `device`.
     */
    constructor(device: number);
    /**
     * Opens `seal()`'s output.
     */
    static open(key: Uint8Array | number[], sealed: Uint8Array | number[]): SessionRecord;
    /**
     * The stored form encrypted under a 32-byte key (draws a 12-byte nonce).
     */
    seal(key: Uint8Array | number[], rng?: Rng): Uint8Array;
    /**
     * The stored form (secret).
     */
    toBytes(): Uint8Array;
    /**
     * How many earlier sessions are kept.
     */
    readonly archivedCount: number;
    /**
     * The current session's id (32 bytes), `undefined` if none.
     */
    readonly currentSessionId: Uint8Array | undefined;
    /**
     * The peer's device id.
     */
    readonly device: number;
}

/**
 * A signed prekey with its secret.
 */
export class SignedPreKey {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Restores `toBytes()`' output.
     */
    static fromBytes(stored: Uint8Array | number[]): SignedPreKey;
    /**
     * A new signed prekey, signed by `identity` (draws 32 bytes).
     */
    static generate(identity: IdentityKeyPair, id: number, rng?: Rng): SignedPreKey;
    /**
     * The stored form (102 bytes; secret).
     */
    toBytes(): Uint8Array;
    /**
     * Its id.
     */
    readonly id: number;
    /**
     * Its X25519 public key (32 bytes).
     */
    readonly publicKey: Uint8Array;
    /**
     * The identity key's signature over it (64 bytes).
     */
    readonly signature: Uint8Array;
}

/**
 * How a peer's account key was pinned.
 */
export enum TrustLevel {
    /**
     * Trusted on first use, not compared out of band.
     */
    TrustedOnFirstUse = 0,
    /**
     * The users compared safety numbers.
     */
    Verified = 1,
}

/**
 * Checks that `key` is a valid identity public key (32 bytes, a valid
 * Ed25519 point); throws `ChatcryptError` otherwise.
 */
export function checkIdentityKey(key: Uint8Array | number[]): void;

/**
 * The name of an error code (`-15` gives `"AUTH"`), or `undefined` for a
 * number that is no code.
 */
export function errorCodeName(code: number): string | undefined;

/**
 * Every error code, in numeric order from -1 down (`ErrorCode` names them).
 */
export function errorCodes(): Int32Array;

/**
 * Reads a message's version and type bytes only, to route it: a
 * PreKeyMessage from a peer without a session goes to `Session.accept`.
 *
 * Throws `ChatcryptError` (`DECODE_*`) if they are missing or unknown.
 */
export function messageType(message: Uint8Array | number[]): MessageType;

/**
 * Opens a sealed envelope addressed to `identity`, validating its sender
 * certificate against `policy` (changes no state). Throws `AUTH` for an
 * envelope not for this identity or tampered, `UNTRUSTED_CERTIFICATE`,
 * `CERTIFICATE_REVOKED`, `CERTIFICATE_EXPIRED`.
 */
export function open(identity: IdentityKeyPair, envelope: Uint8Array | number[], policy: CertificatePolicy): OpenedEnvelope;

/**
 * Seals `content` for the device with identity key `recipient`, as the
 * sender `identity` with its `certificate` (draws 32 bytes). Throws
 * `WRONG_IDENTITY` if the certificate is not `identity`'s.
 */
export function seal(identity: IdentityKeyPair, certificate: SenderCertificate, recipient: Uint8Array | number[], content: Uint8Array | number[], padding: Padding, rng?: Rng): Uint8Array;

/**
 * Seals `content` once for every device in `recipients` (an `Array` of
 * 32-byte identity keys; draws 32 bytes): the multi-recipient envelope
 * the server splits with `splitMultiRecipient`.
 */
export function sealMulti(identity: IdentityKeyPair, certificate: SenderCertificate, recipients: Uint8Array[], content: Uint8Array | number[], padding: Padding, rng?: Rng): Uint8Array;

/**
 * The server's split of a multi-recipient envelope into one sealed
 * envelope per recipient: `[{ recipient, envelope }, ...]`, in the
 * envelope's order, if they take at most `Limits.MAX_SPLIT_LEN` bytes
 * (32 MiB) together (each repeats the payload); otherwise split in ranges
 * with `splitMultiRecipientRange`. Throws `DECODE_*` for a malformed
 * envelope, `TOO_LARGE` (with the total length) for more than 32 MiB of
 * envelopes, before anything is built.
 */
export function splitMultiRecipient(multi: Uint8Array | number[]): RecipientEnvelope[];

/**
 * The envelopes of recipients `first`, `first + 1`, ... (at most `count`
 * of them, fewer at the end of the list, none from `first` on past the
 * end), in the envelope's order, as `splitMultiRecipient` returns them.
 * Each call decodes the whole upload again: choose `count` so that
 * `count` envelopes fit in memory and in `Limits.MAX_SPLIT_LEN`. Throws
 * `INVALID_ARGUMENT` for a `first` or `count` that is not an integer from
 * 0 to 2^32 - 1, `DECODE_*` for a malformed envelope, `TOO_LARGE` if the
 * envelopes asked for exceed `Limits.MAX_SPLIT_LEN` bytes together,
 * before anything is built.
 */
export function splitMultiRecipientRange(multi: Uint8Array | number[], first: number, count: number): RecipientEnvelope[];

/**
 * Removes the padding, strictly (`PADDING` if it is not canonical).
 */
export function unpad(padded: Uint8Array | number[]): Uint8Array;
