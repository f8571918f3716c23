'use strict';
// chatcrypt for node (CommonJS; `import { Session } from 'chatcrypt'` works
// from ES modules too): the wasm-bindgen glue, which loads the .wasm
// synchronously, and the ChatcryptError class it throws.
module.exports = require('./chatcrypt_wasm.js');
module.exports.ChatcryptError = require('./chatcrypt_error.js').ChatcryptError;
