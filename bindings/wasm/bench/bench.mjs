// Per-message encrypt and decrypt through the WebAssembly binding under
// node, at 16 B and 4 KiB, with the OS generator (crypto.getRandomValues):
// one session pair per size, in-order messages (no ratchet step inside the
// timed loops), the median of 7 runs of N messages each (the sizes taking turns). The native figure
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

// The runs of the two sizes take turns, so that a slow spell of a shared
// machine weighs on both alike.
const sizes = [16, 4096];
const setups = sizes.map((size) => ({ size, n: size === 16 ? 20000 : 5000, ...pair(), pt: new Uint8Array(size).fill(0x61), enc: [], dec: [] }));
for (let run = 0; run < 8; run++) {
  for (const s of setups) {
    const msgs = new Array(s.n);
    let t = process.hrtime.bigint();
    for (let i = 0; i < s.n; i++) msgs[i] = s.a.encrypt(s.pt);
    const te = Number(process.hrtime.bigint() - t) / s.n;
    t = process.hrtime.bigint();
    for (let i = 0; i < s.n; i++) s.b.decrypt(msgs[i]);
    const td = Number(process.hrtime.bigint() - t) / s.n;
    if (run > 0) {
      // run 0 warms the JIT up
      s.enc.push(te);
      s.dec.push(td);
    }
  }
}
for (const s of setups) {
  console.log(`wasm (node ${process.version}) ${String(s.size).padStart(4)} B: encrypt ${(median(s.enc) / 1000).toFixed(2)} us, decrypt ${(median(s.dec) / 1000).toFixed(2)} us per message`);
}
