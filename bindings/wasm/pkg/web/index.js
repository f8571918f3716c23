// chatcrypt for browsers and bundlers (ES module). Call the default export
// once before anything else: `await init()` fetches chatcrypt_wasm_bg.wasm
// beside this file (or pass `{ module_or_path }`); `initSync({ module })`
// takes bytes or a compiled WebAssembly.Module.
export * from './chatcrypt_wasm.js';
export { default } from './chatcrypt_wasm.js';
export { ChatcryptError } from './chatcrypt_error.js';
