// What the WebAssembly heap holds after a call: secret arguments (a
// plaintext to encrypt, a seed, a stored form, a storage key, scripted
// randomness) are wiped when the call returns, and a freed object's secrets
// are gone. The node entry point keeps the memory private, so this test
// loads the web build under node (initSync returns the instance's exports,
// memory included) and scans the heap for the secret bytes. A control shows
// that the scan finds what a plain (non-secret) argument leaves behind.
//
// Only the heap is scanned: rustc's wasm32 layout puts the 1 MiB shadow
// stack first, at addresses below 1 MiB, and stack residue (a key array
// copied between frames in the facade or chatcrypt) is beyond what the
// binding controls; zeroize does not promise it either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const web = await import('../pkg/web/index.js');
const wasm = web.initSync({ module: readFileSync(new URL('../pkg/web/chatcrypt_wasm_bg.wasm', import.meta.url)) });
const { IdentityKeyPair, KemPreKey, Mode, ModePolicy, PqPolicy, PreKeyBundle, PreKeyMessage, Rng, Session, SignedPreKey, messageType } = web;

const STACK_END = 1 << 20;

/** Whether the WebAssembly heap (past the shadow stack) holds `needle`. */
function inMemory(needle) {
  return Buffer.from(wasm.memory.buffer).indexOf(Buffer.from(needle), STACK_END) !== -1;
}

function pair() {
  const bob = IdentityKeyPair.generate();
  const spk = SignedPreKey.generate(bob, 1);
  const kem = KemPreKey.generate(bob, 1);
  const a = Session.initiate(IdentityKeyPair.generate(), new PreKeyBundle(bob, spk, undefined, kem), Mode.Plain, PqPolicy.Required);
  const { session: b } = Session.accept(bob, spk, PreKeyMessage.fromBytes(a.encrypt(new Uint8Array(1))), undefined, kem, false, ModePolicy.Any, PqPolicy.Required);
  a.decrypt(b.encrypt(new Uint8Array(1)));
  return { a, b };
}

test('the scan finds what a plain argument leaves in freed memory (control)', () => {
  const marker = randomBytes(4096);
  marker[0] = 0x02;
  marker[1] = 0x7f; // an unknown message type: messageType throws after its copy was made
  assert.throws(() => messageType(marker));
  assert.equal(inMemory(marker.subarray(64, 128)), true, 'the scan should see the freed copy of a non-secret argument');
});

test('a plaintext to encrypt is wiped from memory after encrypt, and after decrypt', () => {
  const { a, b } = pair();
  const plaintext = randomBytes(4096);
  const wire = a.encrypt(plaintext);
  assert.equal(inMemory(plaintext.subarray(100, 164)), false, 'the plaintext is still in memory after encrypt');
  assert.deepEqual(Buffer.from(b.decrypt(wire)), plaintext);
  assert.equal(inMemory(plaintext.subarray(100, 164)), false, 'the plaintext is still in memory after decrypt');
});

test('seeds, stored forms, storage keys and scripted randomness are wiped after the call', () => {
  const seed = randomBytes(32);
  const id = IdentityKeyPair.fromSeed(seed);
  assert.equal(inMemory(seed), true, 'a live identity holds its seed (the scan must see it)');
  id.free();
  assert.equal(inMemory(seed), false, 'the seed is still in memory after fromSeed and free');

  const original = IdentityKeyPair.generate();
  const stored = original.toBytes();
  original.free();
  const restored = IdentityKeyPair.fromBytes(stored);
  restored.free();
  assert.equal(inMemory(stored.subarray(2)), false, 'a stored identity is still in memory after fromBytes and free');

  const { a } = pair();
  const key = randomBytes(32);
  const sealed = a.seal(key);
  Session.open(key, sealed).free();
  assert.equal(inMemory(key), false, 'the storage key is still in memory after seal and open');

  const draws = randomBytes(4096);
  const rng = Rng.scripted(draws);
  IdentityKeyPair.generate(rng).free();
  rng.free();
  assert.equal(inMemory(draws.subarray(1000, 1064)), false, 'scripted randomness is still in memory after free');
});
