export * from './chatcrypt_wasm';

/** A chatcrypt call failed; nothing was changed by the call. */
export class ChatcryptError extends Error {
  /** "ChatcryptError". */
  readonly name: 'ChatcryptError';
  /** The stable number of the error (an `ErrorCode`, negative). */
  readonly code: number;
  /** The code's name in upper snake case: "AUTH", "DECODE_TRUNCATED". */
  readonly codeName: string;
  /** The error with its fields: "UnknownPreKey { id: 7 }". */
  readonly detail: string;
  /**
   * For UNKNOWN_PREKEY only: the prekey id the message named (what
   * `LocalDevice.retryFor` puts in its retry); `undefined` otherwise.
   */
  readonly prekeyId?: number;
}
