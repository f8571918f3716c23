// A conversation through the JavaScript API of the npm package (pkg/node),
// with the operating system's generator (crypto.getRandomValues in node):
// bundles, the hybrid handshake, messages both ways and out of order,
// tampering, replays and wrong arguments thrown as ChatcryptError with their
// codes, persistence plain and sealed (and encodedLen, the stored form's
// length), one-time prekeys consumed once, a dry scripted generator, safety
// numbers. Run: node --test bindings/wasm/tests/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const cc = require('../pkg/node/index.js');
const {
  ChatcryptError,
  ErrorCode,
  IdentityKeyPair,
  KemPreKey,
  Mode,
  MessageType,
  ModePolicy,
  OneTimePreKey,
  PqPolicy,
  PreKeyBundle,
  PreKeyMessage,
  Rng,
  SafetyNumber,
  Session,
  SignedPreKey,
  checkIdentityKey,
  errorCodeName,
  errorCodes,
  messageType,
} = cc;

const utf8 = new TextEncoder();
const text = (b) => new TextDecoder().decode(b);

/** Asserts that `f` throws a ChatcryptError with `codeName` and returns it. */
function throwsCode(f, codeName) {
  let caught;
  assert.throws(f, (e) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof ChatcryptError, `not a ChatcryptError: ${caught}`);
  assert.ok(caught instanceof Error);
  assert.equal(caught.name, 'ChatcryptError');
  assert.equal(caught.codeName, codeName, `${caught.codeName} (${caught.detail}), want ${codeName}`);
  assert.equal(caught.code, ErrorCode[pascal(codeName)]);
  assert.equal(errorCodeName(caught.code), codeName);
  assert.ok(caught.message.startsWith(`${codeName}: `), caught.message);
  assert.equal(typeof caught.detail, 'string');
  assert.ok(caught.stack.includes('ChatcryptError'));
  return caught;
}

/** "DECODE_TRUNCATED" -> "DecodeTruncated" (ErrorCode's member names). */
function pascal(name) {
  return name
    .toLowerCase()
    .split('_')
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('')
    .replace('Prekey', 'PreKey');
}

/** Bob's device: identity, signed prekey, one one-time prekey, a one-time KEM prekey. */
function device(name) {
  const identity = IdentityKeyPair.generate();
  const spk = SignedPreKey.generate(identity, 1);
  const opk = OneTimePreKey.generate(100);
  const kem = KemPreKey.generate(identity, 200);
  return { name, identity, spk, opk, kem };
}

/** Bob accepts Alice's first message, looking the prekeys up by the ids it names. */
function accept(bob, wire) {
  assert.equal(messageType(wire), MessageType.PreKey);
  const pkm = PreKeyMessage.fromBytes(wire);
  assert.equal(pkm.signedPreKeyId, bob.spk.id);
  const opk = pkm.oneTimePreKeyId === bob.opk.id ? bob.opk : undefined;
  const kem = pkm.kemPreKeyId === 200 ? bob.kem : undefined;
  const accepted = Session.accept(bob.identity, bob.spk, pkm, opk, kem, false, ModePolicy.Any, PqPolicy.Required);
  pkm.free();
  return accepted;
}

function handshake(mode = Mode.Plain) {
  const alice = device('alice');
  const bob = device('bob');
  const bundleBytes = new PreKeyBundle(bob.identity, bob.spk, bob.opk, bob.kem).toBytes();
  // Alice fetched the bundle from a server.
  const bundle = PreKeyBundle.fromBytes(bundleBytes);
  bundle.verify();
  const a = Session.initiate(alice.identity, bundle, mode, PqPolicy.Required);
  const first = a.encrypt(utf8.encode('hello Bob'));
  const { session: b, plaintext, messageId } = accept(bob, first);
  assert.equal(text(plaintext), 'hello Bob');
  assert.equal(messageId.length, 52);
  return { alice, bob, a, b, first, bundleBytes };
}

test('the package exports every class, enum and the error class', () => {
  for (const name of [
    'IdentityKeyPair', 'SignedPreKey', 'OneTimePreKey', 'KemPreKey', 'PreKeyBundle',
    'PreKeyMessage', 'Session', 'SafetyNumber', 'Rng', 'ChatcryptError',
  ]) {
    assert.equal(typeof cc[name], 'function', name);
  }
  assert.equal(Mode.HeaderEncryption, 1);
  assert.equal(PqPolicy.AllowClassical, 1);
  assert.equal(ModePolicy.PlainOnly, 2);
});

test('ErrorCode is the facade\'s list: every code, its number and its name', () => {
  const codes = errorCodes();
  assert.equal(codes.length, 49);
  const members = Object.entries(ErrorCode).filter(([k]) => Number.isNaN(Number(k)));
  assert.equal(members.length, codes.length);
  for (const code of codes) {
    const name = errorCodeName(code);
    assert.equal(ErrorCode[pascal(name)], code, name);
  }
  assert.equal(errorCodeName(0), undefined);
  assert.equal(errorCodeName(-8), undefined);
  assert.equal(ErrorCode.Auth, -15);
  assert.equal(errorCodeName(-15), 'AUTH');
});

test('the CommonJS and ES module ChatcryptError are the same class', () => {
  const strip = (s) =>
    s
      .split('\n')
      .filter((l) => !/^\s*\/\//.test(l) && !/use strict|module\.exports/.test(l))
      .join('\n')
      .replace('export class', 'class')
      .trim();
  const node = readFileSync(new URL('../pkg/node/chatcrypt_error.js', import.meta.url), 'utf8');
  const web = readFileSync(new URL('../pkg/web/chatcrypt_error.js', import.meta.url), 'utf8');
  assert.equal(strip(node), strip(web));
});

test('a hybrid handshake, then messages both ways, out of order', () => {
  const { a, b } = handshake();
  assert.equal(a.isInitiator, true);
  assert.equal(b.isInitiator, false);
  assert.equal(a.isPostQuantum, true);
  assert.equal(b.isPostQuantum, true);
  assert.equal(a.awaitingReply, true);
  assert.deepEqual(a.remoteIdentity, b.localIdentity);
  assert.deepEqual(b.remoteIdentity, a.localIdentity);

  // Bob replies; Alice sends three more, delivered 3, 1, 2.
  const reply = b.encrypt(utf8.encode('hi Alice'));
  assert.equal(messageType(reply), MessageType.Message);
  assert.equal(text(a.decrypt(reply)), 'hi Alice');
  assert.equal(a.awaitingReply, false);

  const m = [1, 2, 3].map((i) => a.encrypt(utf8.encode(`message ${i}`)));
  assert.equal(text(b.decrypt(m[2])), 'message 3');
  assert.equal(b.skippedKeyCount, 2);
  assert.equal(text(b.decrypt(m[0])), 'message 1');
  const { plaintext, messageId } = b.decryptWithId(m[1]);
  assert.equal(text(plaintext), 'message 2');
  assert.equal(messageId.length, 52);
  assert.equal(b.skippedKeyCount, 0);

  // Both directions in flight at once, delivered late.
  const fromBob = [b.encrypt(utf8.encode('x')), b.encrypt(new Uint8Array(0))];
  const fromAlice = a.encrypt(utf8.encode('y'));
  assert.equal(text(b.decrypt(fromAlice)), 'y');
  assert.deepEqual(a.decrypt(fromBob[1]), new Uint8Array(0));
  assert.equal(text(a.decrypt(fromBob[0])), 'x');

  // encryptedLength announces the exact length.
  const big = new Uint8Array(4096).fill(7);
  const n = a.encryptedLength(big.length);
  const wire = a.encrypt(big);
  assert.equal(wire.length, n);
  assert.deepEqual(b.decrypt(wire), big);
});

test('header encryption: the mode travels in the handshake', () => {
  const { a, b } = handshake(Mode.HeaderEncryption);
  assert.equal(a.mode, Mode.HeaderEncryption);
  assert.equal(b.mode, Mode.HeaderEncryption);
  assert.equal(text(a.decrypt(b.encrypt(utf8.encode('sealed headers')))), 'sealed headers');
});

test('tampering throws AUTH and changes nothing; a replay throws DUPLICATE', () => {
  const { a, b } = handshake();
  a.decrypt(b.encrypt(utf8.encode('ack')));
  const wire = a.encrypt(utf8.encode('do not touch'));
  const before = b.toBytes();
  for (const i of [wire.length - 1, wire.length - 20, Math.floor(wire.length / 2)]) {
    const bad = wire.slice();
    bad[i] ^= 0x01;
    const e = throwsCode(() => b.decrypt(bad), 'AUTH');
    assert.equal(e.code, -15);
    assert.equal(e.detail, 'Auth');
    assert.deepEqual(b.toBytes(), before, 'a rejected message changed the session');
  }
  throwsCode(() => b.decrypt(wire.slice(0, 3)), 'DECODE_TRUNCATED');
  assert.equal(text(b.decrypt(wire)), 'do not touch');
  const replay = throwsCode(() => b.decrypt(wire), 'DUPLICATE');
  assert.equal(replay.code, ErrorCode.Duplicate);
});

test('a replayed PreKeyMessage is refused: the one-time prekeys are consumed once', () => {
  const { bob, first } = handshake();
  assert.equal(bob.opk.isConsumed, true);
  assert.equal(bob.kem.isConsumed, true);
  throwsCode(() => bob.opk.id, 'CONSUMED');
  throwsCode(() => bob.opk.toBytes(), 'CONSUMED');
  throwsCode(() => bob.kem.publicKey, 'CONSUMED');
  const pkm = PreKeyMessage.fromBytes(first);
  throwsCode(() => Session.accept(bob.identity, bob.spk, pkm, bob.opk, bob.kem, false, ModePolicy.Any, PqPolicy.Required), 'CONSUMED');
  throwsCode(() => new PreKeyBundle(bob.identity, bob.spk, bob.opk), 'CONSUMED');
});

test('a failed accept leaves the one-time prekeys as they were', () => {
  const alice = device('alice');
  const bob = device('bob');
  const bundle = new PreKeyBundle(bob.identity, bob.spk, bob.opk, bob.kem);
  const wire = Session.initiate(alice.identity, bundle, Mode.Plain, PqPolicy.Required).encrypt(utf8.encode('hi'));
  const bad = wire.slice();
  bad[bad.length - 1] ^= 0x80;
  const pkm = PreKeyMessage.fromBytes(bad);
  throwsCode(() => Session.accept(bob.identity, bob.spk, pkm, bob.opk, bob.kem, false, ModePolicy.Any, PqPolicy.Required), 'AUTH');
  assert.equal(bob.opk.isConsumed, false);
  assert.equal(bob.kem.isConsumed, false);
  // Another identity's signed prekey under the same id: the handshake fails.
  const other = SignedPreKey.generate(IdentityKeyPair.generate(), bob.spk.id);
  throwsCode(
    () => Session.accept(bob.identity, other, PreKeyMessage.fromBytes(wire), bob.opk, bob.kem, false, ModePolicy.Any, PqPolicy.Required),
    'AUTH',
  );
  const ok = Session.accept(bob.identity, bob.spk, PreKeyMessage.fromBytes(wire), bob.opk, bob.kem, false, ModePolicy.Any, PqPolicy.Required);
  assert.equal(text(ok.plaintext), 'hi');
});

test('policies: a classical bundle needs PqPolicy.AllowClassical on both sides', () => {
  const alice = device('alice');
  const bob = device('bob');
  const classical = new PreKeyBundle(bob.identity, bob.spk, bob.opk);
  const e = throwsCode(() => Session.initiate(alice.identity, classical, Mode.Plain, PqPolicy.Required), 'POST_QUANTUM_REQUIRED');
  assert.equal(e.detail, 'PostQuantumRequired');
  const a = Session.initiate(alice.identity, classical, Mode.Plain, PqPolicy.AllowClassical);
  assert.equal(a.isPostQuantum, false);
  const pkm = PreKeyMessage.fromBytes(a.encrypt(utf8.encode('classical')));
  assert.equal(pkm.isPostQuantum, false);
  assert.equal(pkm.kemPreKeyId, undefined);
  throwsCode(() => Session.accept(bob.identity, bob.spk, pkm, bob.opk, undefined, undefined, ModePolicy.Any, PqPolicy.Required), 'POST_QUANTUM_REQUIRED');
  throwsCode(
    () => Session.accept(bob.identity, bob.spk, pkm, bob.opk, undefined, false, ModePolicy.HeaderEncryptionOnly, PqPolicy.AllowClassical),
    'MODE_NOT_ALLOWED',
  );
  const ok = Session.accept(bob.identity, bob.spk, pkm, bob.opk, undefined, false, ModePolicy.Any, PqPolicy.AllowClassical);
  assert.equal(text(ok.plaintext), 'classical');
});

test('a last-resort KEM prekey is only borrowed', () => {
  const alice = device('alice');
  const bob = device('bob');
  const bundle = new PreKeyBundle(bob.identity, bob.spk, undefined, bob.kem);
  assert.equal(bundle.oneTimePreKeyId, undefined);
  assert.equal(bundle.kemPreKeyId, 200);
  for (const who of ['first', 'second']) {
    const a = Session.initiate(alice.identity, bundle, Mode.Plain, PqPolicy.Required);
    const pkm = PreKeyMessage.fromBytes(a.encrypt(utf8.encode(who)));
    const ok = Session.accept(bob.identity, bob.spk, pkm, null, bob.kem, true, ModePolicy.Any, PqPolicy.Required);
    assert.equal(text(ok.plaintext), who);
    assert.equal(bob.kem.isConsumed, false);
  }
});

test('persistence: stored and sealed forms restore the same session', () => {
  let { a, b } = handshake();
  a.decrypt(b.encrypt(utf8.encode('ack')));
  const pending = a.encrypt(utf8.encode('sent before the restart'));

  // Plain stored form: Bob restarts.
  const stored = b.toBytes();
  b.free();
  b = Session.fromBytes(stored);
  assert.deepEqual(b.toBytes(), stored);
  assert.equal(text(b.decrypt(pending)), 'sent before the restart');

  // Sealed under a 32-byte storage key.
  const key = crypto.getRandomValues(new Uint8Array(32));
  const sealed = a.seal(key);
  a = Session.open(key, sealed);
  assert.equal(text(a.decrypt(b.encrypt(utf8.encode('after')))), 'after');
  const wrongKey = key.slice();
  wrongKey[0] ^= 1;
  throwsCode(() => Session.open(wrongKey, sealed), 'AUTH');
  throwsCode(() => Session.open(key.slice(1), sealed), 'INVALID_ARGUMENT');
  throwsCode(() => Session.fromBytes(stored.slice(0, 10)), 'DECODE_TRUNCATED');

  // Identity and prekeys.
  const id = IdentityKeyPair.generate();
  assert.deepEqual(IdentityKeyPair.fromBytes(id.toBytes()).publicKey, id.publicKey);
  assert.deepEqual(IdentityKeyPair.fromSeed(id.seed()).publicKey, id.publicKey);
  assert.deepEqual(IdentityKeyPair.open(key, id.seal(key)).publicKey, id.publicKey);
  const spk = SignedPreKey.generate(id, 9);
  const spk2 = SignedPreKey.fromBytes(spk.toBytes());
  assert.deepEqual(spk2.publicKey, spk.publicKey);
  assert.deepEqual(spk2.signature, spk.signature);
  const opk = OneTimePreKey.generate(3);
  assert.deepEqual(OneTimePreKey.fromBytes(opk.toBytes()).publicKey, opk.publicKey);
  const kem = KemPreKey.generate(id, 4);
  assert.deepEqual(KemPreKey.fromBytes(kem.toBytes()).publicKey, kem.publicKey);
  assert.equal(kem.kemType, 1);
});

test('Session.encodedLen is the length of toBytes, before and after messages', () => {
  const { a, b } = handshake();
  const lengths = (s) => {
    const stored = s.toBytes();
    assert.equal(s.encodedLen(), stored.length);
    assert.equal(Session.fromBytes(stored).encodedLen(), stored.length);
    return stored.length;
  };
  const a0 = lengths(a);
  const b0 = lengths(b);
  // Bob sends three messages, the last delivered first: Alice takes a
  // ratchet step and keeps two skipped message keys, then uses them.
  const sent = ['one', 'two', 'three'].map((m) => b.encrypt(utf8.encode(m)));
  lengths(b);
  assert.equal(text(a.decrypt(sent[2])), 'three');
  const a1 = lengths(a);
  assert.notEqual(a1, a0, 'a ratchet step and two skipped keys left the stored form as long');
  assert.equal(text(a.decrypt(sent[0])), 'one');
  assert.equal(text(a.decrypt(sent[1])), 'two');
  const a2 = lengths(a);
  assert.ok(a2 < a1, `${a2} bytes with the skipped keys used, ${a1} with them kept`);
  // And back: Bob's ratchet steps too.
  assert.equal(text(b.decrypt(a.encrypt(utf8.encode('back')))), 'back');
  assert.notEqual(lengths(b), b0);
  lengths(a);
});

test('a bundle from published parts equals the owner\'s bundle', () => {
  const bob = device('bob');
  const mine = new PreKeyBundle(bob.identity, bob.spk, bob.opk, bob.kem);
  const parts = PreKeyBundle.fromParts(
    bob.identity.publicKey, bob.spk.id, bob.spk.publicKey, bob.spk.signature,
    bob.opk.id, bob.opk.publicKey, bob.kem.publicKey,
  );
  assert.deepEqual(parts.toBytes(), mine.toBytes());
  assert.deepEqual(parts.identityKey, bob.identity.publicKey);
  assert.equal(parts.signedPreKeyId, 1);
  assert.equal(parts.oneTimePreKeyId, 100);
  const sig = bob.spk.signature;
  sig[0] ^= 1;
  const forged = PreKeyBundle.fromParts(bob.identity.publicKey, bob.spk.id, bob.spk.publicKey, sig);
  throwsCode(() => forged.verify(), 'BAD_SIGNATURE');
  throwsCode(
    () => PreKeyBundle.fromParts(bob.identity.publicKey, 1, bob.spk.publicKey, sig, 5),
    'INVALID_ARGUMENT',
  );
  throwsCode(() => PreKeyBundle.fromBytes(new Uint8Array([2])), 'DECODE_TRUNCATED');
});

test('wrong arguments throw INVALID_ARGUMENT, not a crash', () => {
  throwsCode(() => IdentityKeyPair.fromSeed(new Uint8Array(31)), 'INVALID_ARGUMENT');
  throwsCode(() => checkIdentityKey(new Uint8Array(5)), 'INVALID_ARGUMENT');
  checkIdentityKey(IdentityKeyPair.generate().publicKey);
  throwsCode(() => IdentityKeyPair.generate({}), 'INVALID_ARGUMENT');
  throwsCode(() => IdentityKeyPair.generate(OneTimePreKey.generate(1)), 'INVALID_ARGUMENT');
  const bob = device('bob');
  throwsCode(() => new PreKeyBundle(bob.identity, bob.spk, bob.kem), 'INVALID_ARGUMENT');
  const freed = Rng.os();
  freed.free();
  throwsCode(() => IdentityKeyPair.generate(freed), 'INVALID_ARGUMENT');
  throwsCode(() => messageType(new Uint8Array([9, 9])), 'DECODE_UNSUPPORTED_VERSION');
});

test('a scripted generator yields its bytes in order, then throws RNG_EXHAUSTED and changes nothing', () => {
  const seed = new Uint8Array(32).fill(0x11);
  const rng = Rng.scripted(seed);
  assert.equal(rng.isScripted, true);
  assert.equal(rng.remaining, 32);
  const id = IdentityKeyPair.generate(rng);
  assert.equal(rng.remaining, 0);
  assert.deepEqual(id.seed(), seed);
  throwsCode(() => OneTimePreKey.generate(1, rng), 'RNG_EXHAUSTED');
  assert.equal(Rng.os().isScripted, false);
  assert.equal(Rng.os().remaining, undefined);

  const { a, b } = handshake();
  const before = a.toBytes();
  const dry = Rng.scripted(new Uint8Array(8));
  throwsCode(() => a.encrypt(utf8.encode('x'), dry), 'RNG_EXHAUSTED');
  assert.equal(dry.remaining, 8, 'a request it cannot fill takes nothing');
  assert.deepEqual(a.toBytes(), before);
  assert.equal(text(b.decrypt(a.encrypt(utf8.encode('still fine')))), 'still fine');
});

test('safety numbers agree on both sides and compare scanned codes', () => {
  const alice = IdentityKeyPair.generate();
  const bob = IdentityKeyPair.generate();
  const mine = new SafetyNumber(utf8.encode('+14155550100'), alice.publicKey, utf8.encode('+14155550199'), bob.publicKey);
  const theirs = new SafetyNumber(utf8.encode('+14155550199'), bob.publicKey, utf8.encode('+14155550100'), alice.publicKey);
  assert.match(mine.displayable, /^[0-9]{60}$/);
  assert.equal(mine.displayable, theirs.displayable);
  assert.equal(mine.compareScanned(theirs.scannable), true);
  const eve = new SafetyNumber(utf8.encode('+14155550100'), alice.publicKey, utf8.encode('+14155550199'), IdentityKeyPair.generate().publicKey);
  assert.equal(mine.compareScanned(eve.scannable), false);
  throwsCode(() => mine.compareScanned(new Uint8Array(3)), 'DECODE_TRUNCATED');
});

test('enum arguments: a missing, unknown or non-integer value throws INVALID_ARGUMENT, never a default', () => {
  const alice = device('alice');
  const bob = device('bob');
  const bundle = new PreKeyBundle(bob.identity, bob.spk, bob.opk, bob.kem);
  // wasm-bindgen's own conversion turned each of these into 0 (Mode.Plain,
  // PqPolicy.Required, ModePolicy.Any) or a default.
  const bad = [undefined, null, -1, 2, 7, 0.5, 1.5, NaN, Infinity, '0', '1', true, {}, 2 ** 32];
  for (const v of bad) {
    const m = throwsCode(() => Session.initiate(alice.identity, bundle, v, PqPolicy.Required), 'INVALID_ARGUMENT');
    assert.match(m.detail, /mode must be a Mode/);
    const p = throwsCode(() => Session.initiate(alice.identity, bundle, Mode.Plain, v), 'INVALID_ARGUMENT');
    assert.match(p.detail, /pqPolicy must be a PqPolicy/);
  }
  throwsCode(() => Session.initiate(alice.identity, bundle), 'INVALID_ARGUMENT');
  throwsCode(() => Session.initiate(alice.identity, bundle, Mode.Plain), 'INVALID_ARGUMENT');
  // Nothing was drawn or changed: the valid values work, each as itself.
  for (const mode of [Mode.Plain, Mode.HeaderEncryption]) {
    for (const pq of [PqPolicy.Required, PqPolicy.AllowClassical]) {
      const a = Session.initiate(alice.identity, bundle, mode, pq);
      assert.equal(a.mode, mode);
      assert.equal(a.isPostQuantum, true);
    }
  }
  const classical = new PreKeyBundle(bob.identity, bob.spk, bob.opk);
  throwsCode(() => Session.initiate(alice.identity, classical, Mode.Plain, PqPolicy.Required), 'POST_QUANTUM_REQUIRED');
  assert.equal(Session.initiate(alice.identity, classical, Mode.Plain, PqPolicy.AllowClassical).isPostQuantum, false);

  const a = Session.initiate(alice.identity, bundle, Mode.HeaderEncryption, PqPolicy.Required);
  const wire = a.encrypt(utf8.encode('policies'));
  const pkm = PreKeyMessage.fromBytes(wire);
  const args = (mp, pq) => [bob.identity, bob.spk, pkm, bob.opk, bob.kem, false, mp, pq];
  for (const v of [...bad, 3]) {
    if (v === 2) continue; // ModePolicy.PlainOnly
    const m = throwsCode(() => Session.accept(...args(v, PqPolicy.Required)), 'INVALID_ARGUMENT');
    assert.match(m.detail, /modePolicy must be a ModePolicy/);
    const p = throwsCode(() => Session.accept(...args(ModePolicy.Any, v)), 'INVALID_ARGUMENT');
    assert.match(p.detail, /pqPolicy must be a PqPolicy/);
  }
  throwsCode(() => Session.accept(bob.identity, bob.spk, pkm, bob.opk, bob.kem, false), 'INVALID_ARGUMENT');
  throwsCode(() => Session.accept(bob.identity, bob.spk, pkm, bob.opk, bob.kem, false, ModePolicy.Any), 'INVALID_ARGUMENT');
  assert.equal(bob.opk.isConsumed, false);
  assert.equal(bob.kem.isConsumed, false);
  // Each valid policy is taken as itself: PlainOnly refuses this
  // header-encrypted handshake, HeaderEncryptionOnly accepts it.
  throwsCode(() => Session.accept(...args(ModePolicy.PlainOnly, PqPolicy.Required)), 'MODE_NOT_ALLOWED');
  const ok = Session.accept(...args(ModePolicy.HeaderEncryptionOnly, PqPolicy.AllowClassical));
  assert.equal(text(ok.plaintext), 'policies');
  assert.equal(ok.session.mode, Mode.HeaderEncryption);
});

test('accept: kemLastResort is required with a KEM prekey, and taken as given', () => {
  const alice = device('alice');
  const bob = device('bob');
  const bundle = new PreKeyBundle(bob.identity, bob.spk, undefined, bob.kem);
  const pkm = PreKeyMessage.fromBytes(
    Session.initiate(alice.identity, bundle, Mode.Plain, PqPolicy.Required).encrypt(utf8.encode('kem')),
  );
  for (const v of [undefined, null, 0, 1, 'true', {}]) {
    const e = throwsCode(
      () => Session.accept(bob.identity, bob.spk, pkm, undefined, bob.kem, v, ModePolicy.Any, PqPolicy.Required),
      'INVALID_ARGUMENT',
    );
    assert.match(e.detail, /kemLastResort must be true/);
    assert.equal(bob.kem.isConsumed, false);
  }
  // true borrows the KEM prekey, false consumes it.
  const borrowed = Session.accept(bob.identity, bob.spk, pkm, undefined, bob.kem, true, ModePolicy.Any, PqPolicy.Required);
  assert.equal(text(borrowed.plaintext), 'kem');
  assert.equal(bob.kem.isConsumed, false);
  const consumed = Session.accept(bob.identity, bob.spk, pkm, undefined, bob.kem, false, ModePolicy.Any, PqPolicy.Required);
  assert.equal(text(consumed.plaintext), 'kem');
  assert.equal(bob.kem.isConsumed, true);
  // Without a KEM prekey the flag may be left out (or be a boolean), but not be something else.
  const classical = new PreKeyBundle(bob.identity, bob.spk, bob.opk);
  const cpkm = PreKeyMessage.fromBytes(
    Session.initiate(alice.identity, classical, Mode.Plain, PqPolicy.AllowClassical).encrypt(utf8.encode('c')),
  );
  throwsCode(
    () => Session.accept(bob.identity, bob.spk, cpkm, bob.opk, undefined, 1, ModePolicy.Any, PqPolicy.AllowClassical),
    'INVALID_ARGUMENT',
  );
  const c = Session.accept(bob.identity, bob.spk, cpkm, bob.opk, undefined, undefined, ModePolicy.Any, PqPolicy.AllowClassical);
  assert.equal(text(c.plaintext), 'c');
});
