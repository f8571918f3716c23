// The messenger layer's secret arguments are wiped from the WebAssembly
// heap when the call returns, as memory.test.mjs checks for sessions: a
// plaintext given to a session record (encrypt, encryptPadded,
// encryptSealed) and the one its decrypt hands out, content given to
// seal, sealMulti and Padding.pad, storage keys given to seal/open of
// records, devices, peers and accounts, and account and server seeds once
// their object is freed. Loads the web build under node to reach the
// memory; scans only the heap (past the 1 MiB shadow stack).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const web = await import('../pkg/web/index.js');
const wasm = web.initSync({ module: readFileSync(new URL('../pkg/web/chatcrypt_wasm_bg.wasm', import.meta.url)) });
const {
  AccountKeyPair, CertificatePolicy, IdentityKeyPair, LocalDevice, Padding, PaddingKind, PeerAccount,
  PreKeyUpload, ServerKeyPair, SessionPolicy, SessionRecord, open, seal, sealMulti, messageType,
} = web;

const NOW = 1_800_000_000;
const STACK_END = 1 << 20;
const POLICY = SessionPolicy.recommended();

/** Whether the WebAssembly heap (past the shadow stack) holds `needle`. */
function inMemory(needle) {
  return Buffer.from(wasm.memory.buffer).indexOf(Buffer.from(needle), STACK_END) !== -1;
}

function user(name) {
  const account = AccountKeyPair.generate();
  const identity = IdentityKeyPair.generate();
  const device = new LocalDevice(identity, account.certify(1, identity.publicKey), NOW);
  device.replenish(0, 0);
  const up = device.upload(device.toBytes());
  device.markUploaded(up);
  const peer = PeerAccount.trustOnFirstUse(new TextEncoder().encode(name), account.signDeviceList(1, [device.link()]));
  return { account, device, up: PreKeyUpload.fromBytes(up.toBytes()), peer };
}

function records() {
  const alice = user('alice');
  const bob = user('bob');
  const toBob = new SessionRecord(1);
  const toAlice = new SessionRecord(1);
  toBob.initiate(alice.device, bob.peer, bob.up.bundle(0, 0), POLICY, NOW);
  toAlice.decrypt(bob.device, alice.peer, toBob.encrypt(bob.peer, new Uint8Array(1), NOW), POLICY, NOW);
  toBob.decrypt(alice.device, bob.peer, toAlice.encrypt(alice.peer, new Uint8Array(1), NOW), POLICY, NOW);
  return { alice, bob, toBob, toAlice };
}

test('the scan finds what a plain argument leaves in freed memory (control)', () => {
  const marker = randomBytes(4096);
  marker[0] = 0x02;
  marker[1] = 0x7f;
  assert.throws(() => messageType(marker));
  assert.equal(inMemory(marker.subarray(64, 128)), true, 'the scan should see the freed copy of a non-secret argument');
});

test('plaintexts given to and taken from session records are wiped', () => {
  const { alice, bob, toBob, toAlice } = records();
  for (const send of [
    (pt) => toBob.encrypt(bob.peer, pt, NOW),
    (pt) => toBob.encryptPadded(bob.peer, pt, new Padding(PaddingKind.Blocks, 256), NOW),
  ]) {
    const plaintext = randomBytes(2048);
    const wire = send(plaintext);
    assert.equal(inMemory(plaintext.subarray(100, 164)), false, 'the plaintext is still in memory after encrypt');
    const got = toAlice.decrypt(bob.device, alice.peer, wire, POLICY, NOW);
    assert.deepEqual(Buffer.from(got.plaintext), plaintext);
    assert.equal(inMemory(plaintext.subarray(100, 164)), false, 'the plaintext is still in memory after decrypt');
  }
  const server = ServerKeyPair.generate();
  const cert = server.issue(1, NOW + 10, alice.account.publicKey, 1, alice.device.identityKey);
  const plaintext = randomBytes(2048);
  toBob.encryptSealed(alice.device, bob.peer, cert, plaintext, NOW);
  assert.equal(inMemory(plaintext.subarray(100, 164)), false, 'the plaintext is still in memory after encryptSealed');
});

test('content given to seal, sealMulti and pad is wiped, and opened content once freed', () => {
  const { alice, bob } = records();
  const server = ServerKeyPair.generate();
  const cert = server.issue(1, NOW + 10, alice.account.publicKey, 1, alice.device.identityKey);
  const id = alice.device.identity();
  const content = randomBytes(2048);
  const env = seal(id, cert, bob.device.identityKey, content, Padding.recommended());
  assert.equal(inMemory(content.subarray(100, 164)), false, 'the content is still in memory after seal');
  sealMulti(id, cert, [bob.device.identityKey], content, Padding.recommended());
  assert.equal(inMemory(content.subarray(100, 164)), false, 'the content is still in memory after sealMulti');
  new Padding(PaddingKind.Blocks, 16).pad(content, 4096);
  assert.equal(inMemory(content.subarray(100, 164)), false, 'the content is still in memory after pad');
  const policy = new CertificatePolicy(NOW);
  policy.addRoot(server.publicKey);
  const opened = open(bob.device.identity(), env, policy);
  assert.deepEqual(Buffer.from(opened.content()), content);
  opened.free();
  assert.equal(inMemory(content.subarray(100, 164)), false, 'the content is still in memory after the envelope is freed');
});

test('storage keys and seeds are wiped', () => {
  const { alice, toBob } = records();
  const key = randomBytes(32);
  SessionRecord.open(key, toBob.seal(key)).free();
  LocalDevice.open(key, alice.device.seal(key)).free();
  PeerAccount.open(key, alice.peer.seal(key)).free();
  AccountKeyPair.open(key, alice.account.seal(key)).free();
  assert.equal(inMemory(key), false, 'a storage key is still in memory after seal and open');

  for (const Kind of [AccountKeyPair, ServerKeyPair]) {
    const seed = randomBytes(32);
    const k = Kind.fromSeed(seed);
    assert.equal(inMemory(seed), true, `a live ${Kind.name} holds its seed (the scan must see it)`);
    k.free();
    assert.equal(inMemory(seed), false, `the ${Kind.name} seed is still in memory after fromSeed and free`);
  }
});
