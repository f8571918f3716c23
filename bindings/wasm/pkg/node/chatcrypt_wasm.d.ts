/* tslint:disable */
/* eslint-disable */

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
     * Messenger layer (not bound yet).
     */
    UnknownDevice = -22,
    /**
     * Messenger layer (not bound yet).
     */
    AccountKeyChanged = -23,
    /**
     * Messenger layer (not bound yet).
     */
    NoPendingChange = -24,
    /**
     * Messenger layer (not bound yet).
     */
    DeviceListRollback = -25,
    /**
     * Messenger layer (not bound yet).
     */
    DeviceListConflict = -26,
    /**
     * Messenger layer (not bound yet).
     */
    NoSession = -27,
    /**
     * Messenger layer (not bound yet).
     */
    SessionExpired = -28,
    /**
     * Messenger layer (not bound yet).
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
     * Sealed sender (not bound yet).
     */
    UntrustedCertificate = -38,
    /**
     * Sealed sender (not bound yet).
     */
    CertificateRevoked = -39,
    /**
     * Sealed sender (not bound yet).
     */
    CertificateExpired = -40,
    /**
     * Sealed sender (not bound yet).
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
