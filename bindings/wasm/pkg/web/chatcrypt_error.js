// The class every chatcrypt failure is thrown as (ES module, for browsers and bundlers).
// pkg/node/chatcrypt_error.js is the same class for CommonJS: keep the two
// identical but for the export line.

/** A chatcrypt call failed; nothing was changed by the call. */
export class ChatcryptError extends Error {
  /**
   * @param {number} code the stable number (ErrorCode), negative
   * @param {string} codeName the code's name, "AUTH"
   * @param {string} detail the error with its fields, "UnknownPreKey { id: 7 }"
   * @param {string} message a sentence for people
   */
  constructor(code, codeName, detail, message) {
    super(`${codeName}: ${message}`);
    this.name = 'ChatcryptError';
    this.code = code;
    this.codeName = codeName;
    this.detail = detail;
  }
}

