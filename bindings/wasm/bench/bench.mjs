// Per-message encrypt and decrypt through the WebAssembly binding under
// node, at 16 B and 4 KiB, with the OS generator (crypto.getRandomValues):
// one session pair per size, in-order messages (no ratchet step inside the
// timed loops), the median of 7 runs of N messages each. The native figure
// to set beside it: `cargo run --release -p chatcrypt-wasm --example
// native_bench` (the same loops over the facade in Rust).
//
// Usage: node bindings/wasm/bench/bench.mjs   (after build.sh)
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { IdentityKeyPair, KemPreKey, Mode, ModePolicy, PqPolicy, PreKeyBundle, PreKeyMessage, Session, SignedPreKey } = require('../pkg/node/index.js');

function pair() {
  const bob = IdentityKeyPair.generate();
  const spk = SignedPreKey.generate(bob, 1);
  const kem = KemPreKey.generate(bob, 1);
  const a = Session.initiate(IdentityKeyPair.generate(), new PreKeyBundle(bob, spk, undefined, kem), Mode.Plain, PqPolicy.Required);
  const { session: b } = Session.accept(bob, spk, PreKeyMessage.fromBytes(a.encrypt(new Uint8Array(1))), undefined, kem, false, ModePolicy.Any, PqPolicy.Required);
  a.decrypt(b.encrypt(new Uint8Array(1)));
  return { a, b };
}

const median = (xs) => xs.sort((x, y) => x - y)[xs.length >> 1];

for (const size of [16, 4096]) {
  const n = size === 16 ? 20000 : 5000;
  const { a, b } = pair();
  const pt = new Uint8Array(size).fill(0x61);
  const enc = [];
  const dec = [];
  for (let run = 0; run < 8; run++) {
    const msgs = new Array(n);
    let t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) msgs[i] = a.encrypt(pt);
    const te = Number(process.hrtime.bigint() - t) / n;
    t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) b.decrypt(msgs[i]);
    const td = Number(process.hrtime.bigint() - t) / n;
    if (run > 0) {
      // run 0 warms the JIT up
      enc.push(te);
      dec.push(td);
    }
  }
  console.log(`wasm (node ${process.version}) ${String(size).padStart(4)} B: encrypt ${(median(enc) / 1000).toFixed(2)} us, decrypt ${(median(dec) / 1000).toFixed(2)} us per message`);
}
