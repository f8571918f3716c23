// The cross-language vector runner of the WebAssembly binding: replays
// test-vectors/protocol/session.json (every case, every event) and
// reject.json (every case, with its error) through the JavaScript API of the
// npm package only, with Rng.scripted holding the vectors' rng_draws. It
// checks what the C runner (bindings/c/tests/vectors.c) checks:
//
// session.json: every message byte for byte (and encryptedLength), every
// plaintext and message id, the keys restored from their stored forms, the
// bundle built from them equal to the vector's, the PreKeyMessage's fields,
// the one-time prekeys consumed, every draw used; and every session stored
// and restored after every event, the replay going on from the restored one.
// reject.json: the ChatcryptError's code and detail (the Debug form of
// chatcrypt::Error, as the file writes it), the draws taken, the one-time
// prekey kept by a failed accept, and for decrypts the stored session
// unchanged.
//
// CHATCRYPT_VECTORS=<dir> replays another copy of the files (ci.sh uses it
// to show that a corrupted vector fails the runner).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const {
  ChatcryptError,
  IdentityKeyPair,
  KemPreKey,
  MessageType,
  Mode,
  ModePolicy,
  OneTimePreKey,
  PqPolicy,
  PreKeyBundle,
  PreKeyMessage,
  Rng,
  Session,
  SignedPreKey,
  errorCodeName,
  messageType,
} = require('../pkg/node/index.js');

const DIR = process.env.CHATCRYPT_VECTORS
  ? new URL(`file://${process.env.CHATCRYPT_VECTORS.replace(/\/?$/, '/')}`)
  : new URL('../../../test-vectors/protocol/', import.meta.url);

// The totals the files hold, pinned: a file that lost (or gained) a case or
// an event fails the runner instead of replaying less than it should.
// Change these only together with the files (and the other bindings'
// runners, which pin the same numbers).
const SESSION_CASES = 7;
const SESSION_EVENTS = 164;
const REJECT_CASES = 99;

function load(name) {
  const data = JSON.parse(readFileSync(new URL(name, DIR), 'utf8'));
  assert.equal(data.number_of_cases, data.cases.length, name);
  return data;
}

const unhex = (s) => Uint8Array.from(Buffer.from(s ?? '', 'hex'));
const hex = (b) => Buffer.from(b).toString('hex');
const u32 = (n) => n.toString(16).padStart(8, '0');

// The prekeys' stored forms (SPEC.md §10.2, §10.3, §16.2): tag, format
// version 1, then the vector's fields, as tests/support/spec_impl.rs and
// bindings/c/tests/vectors_to_lines.py build them.
const spkStored = (k) => unhex(`5001${u32(k.id)}${k.private}${k.signature}`);
const opkStored = (k) => unhex(`4f01${u32(k.id)}${k.private}`);
const kemStored = (k) => unhex(`4b01${k.type.toString(16).padStart(2, '0')}${u32(k.id)}${k.seed}${k.signature}`);

/** `Decode(InvalidPublicKey)` -> DECODE_INVALID_PUBLIC_KEY, `UnknownPreKey { id: 7 }` -> UNKNOWN_PREKEY. */
function codeName(error) {
  const m = /^(Decode\()?([A-Za-z]+)/.exec(error);
  const snake = m[2].replace(/(?<!^)(?=[A-Z])/g, '_').toUpperCase().replace('PRE_KEY', 'PREKEY');
  return (m[1] ? 'DECODE_' : '') + snake;
}

const pqOf = (c) => ({ undefined: PqPolicy.AllowClassical, allow_classical: PqPolicy.AllowClassical, required: PqPolicy.Required })[c.pq_policy];
const MODE_POLICY = { any: ModePolicy.Any, header_encryption_only: ModePolicy.HeaderEncryptionOnly, plain_only: ModePolicy.PlainOnly };

/** Stores and restores a session; the restored one must re-encode the same. */
function roundTrip(session, at) {
  const stored = session.toBytes();
  assert.equal(session.encodedLen(), stored.length, `${at}: encodedLen is not the stored form's length`);
  const restored = Session.fromBytes(stored);
  assert.equal(hex(restored.toBytes()), hex(stored), `${at}: restored session re-encodes differently`);
  session.free();
  return restored;
}

test('session.json: every case and event through the JavaScript API', () => {
  const data = load('session.json');
  let events = 0;
  for (const c of data.cases) {
    const what = c.description;
    const keys = c.bob.keys;
    const hybrid = Boolean(keys.kem_prekey);
    const mode = { plain: Mode.Plain, header_encryption: Mode.HeaderEncryption }[c.mode];
    assert.notEqual(mode, undefined, `${what}: mode ${c.mode}`);

    const alice = IdentityKeyPair.fromSeed(unhex(c.alice.identity.seed));
    assert.equal(hex(alice.publicKey), c.alice.identity.ed25519_public, `${what}: Alice's public key`);
    const bob = IdentityKeyPair.fromSeed(unhex(keys.identity.seed));
    assert.equal(hex(bob.publicKey), keys.identity.ed25519_public, `${what}: Bob's public key`);
    const rngA = Rng.scripted(unhex(c.alice.rng_draws.join('')));
    const rngB = Rng.scripted(unhex(c.bob.rng_draws.join('')));

    const spk = SignedPreKey.fromBytes(spkStored(keys.signed_prekey));
    assert.equal(spk.id, keys.signed_prekey.id);
    assert.equal(hex(spk.publicKey), keys.signed_prekey.public, `${what}: signed prekey public`);
    assert.equal(hex(spk.signature), keys.signed_prekey.signature, `${what}: signed prekey signature`);
    assert.equal(hex(spk.toBytes()), hex(spkStored(keys.signed_prekey)), `${what}: signed prekey stored form`);
    const opk = keys.one_time_prekey ? OneTimePreKey.fromBytes(opkStored(keys.one_time_prekey)) : undefined;
    if (opk) assert.equal(hex(opk.publicKey), keys.one_time_prekey.public, `${what}: one-time prekey public`);
    const kem = hybrid ? KemPreKey.fromBytes(kemStored(keys.kem_prekey)) : undefined;
    if (kem) assert.equal(hex(kem.publicKey), keys.kem_prekey.public_encoding, `${what}: KEM prekey public encoding`);

    const mine = new PreKeyBundle(bob, spk, opk, kem);
    assert.equal(hex(mine.toBytes()), c.bundle, `${what}: the bundle of the vector's keys`);
    const bundle = PreKeyBundle.fromBytes(unhex(c.bundle));
    bundle.verify();
    assert.equal(hex(bundle.toBytes()), c.bundle, `${what}: bundle re-encodes`);

    let sa;
    let sb;
    const sent = new Map();
    for (const e of c.events) {
      const at = `${what}: event ${events} (${e.op} ${e.id})`;
      if (e.op === 'send') {
        const fromAlice = e.from === 'alice';
        if (fromAlice && !sa) {
          sa = Session.initiate(alice, bundle, mode, hybrid ? PqPolicy.Required : PqPolicy.AllowClassical, rngA);
          assert.equal(sa.isPostQuantum, hybrid, `${at}: Alice's session kind`);
          assert.equal(sa.mode, mode, `${at}: Alice's session mode`);
        }
        const s = fromAlice ? sa : sb;
        const pt = unhex(e.plaintext);
        assert.equal(s.encryptedLength(pt.length), e.message.length / 2, `${at}: encryptedLength`);
        const msg = s.encrypt(pt, fromAlice ? rngA : rngB);
        assert.equal(hex(msg), e.message, `${at}: message differs from the vector`);
        assert.ok(!sent.has(e.id), `${at}: repeated message id in the file`);
        sent.set(e.id, msg);
        if (fromAlice) sa = roundTrip(sa, at);
        else sb = roundTrip(sb, at);
      } else if (e.op === 'deliver') {
        const toAlice = e.to === 'alice';
        const m = sent.get(e.id);
        assert.ok(m, `${at}: delivered before sent`);
        let plaintext;
        let messageId;
        if (!toAlice && !sb) {
          // Bob accepts on the first message he receives.
          assert.equal(messageType(m), MessageType.PreKey, `${at}: the first message is a PreKeyMessage`);
          const pkm = PreKeyMessage.fromBytes(m);
          assert.equal(pkm.signedPreKeyId, spk.id, `${at}: signed prekey id`);
          assert.equal(pkm.oneTimePreKeyId, opk ? opk.id : undefined, `${at}: one-time prekey id`);
          assert.equal(pkm.kemPreKeyId, kem ? kem.id : undefined, `${at}: KEM prekey id`);
          assert.equal(pkm.isPostQuantum, hybrid, `${at}: PreKeyMessage pq`);
          assert.equal(pkm.mode, mode, `${at}: PreKeyMessage mode`);
          assert.equal(hex(pkm.senderIdentity), hex(alice.publicKey), `${at}: sender identity`);
          const pq = hybrid ? PqPolicy.Required : PqPolicy.AllowClassical;
          const acc = Session.accept(bob, spk, pkm, opk, kem, false, ModePolicy.Any, pq, rngB);
          assert.ok(acc.session.matches(pkm), `${at}: the session matches its PreKeyMessage`);
          if (opk) assert.equal(opk.isConsumed, true, `${at}: the one-time prekey is consumed`);
          if (kem) assert.equal(kem.isConsumed, true, `${at}: the one-time KEM prekey is consumed`);
          pkm.free();
          sb = acc.session;
          ({ plaintext, messageId } = acc);
        } else {
          ({ plaintext, messageId } = (toAlice ? sa : sb).decryptWithId(m, toAlice ? rngA : rngB));
        }
        assert.equal(hex(plaintext), e.plaintext ?? '', `${at}: plaintext`);
        assert.equal(hex(messageId), e.message_id, `${at}: message id`);
        if (toAlice) sa = roundTrip(sa, at);
        else sb = roundTrip(sb, at);
      } else {
        assert.fail(`${at}: unknown op`);
      }
      events++;
    }
    assert.equal(rngA.remaining, 0, `${what}: Alice's draws left unused`);
    assert.equal(rngB.remaining, 0, `${what}: Bob's draws left unused`);
    for (const o of [sa, sb, alice, bob, spk, opk, kem, mine, bundle, rngA, rngB]) o?.free();
  }
  const total = data.cases.reduce((n, c) => n + c.events.length, 0);
  assert.equal(events, total);
  assert.equal(data.cases.length, SESSION_CASES, 'session.json: cases replayed (pinned)');
  assert.equal(events, SESSION_EVENTS, 'session.json: events replayed (pinned)');
  console.log(`session.json: ${data.cases.length} cases, ${events} events replayed through the JavaScript API`);
});

test('reject.json: every case throws its ChatcryptError, takes its draws and changes nothing', () => {
  const data = load('reject.json');
  const draws = new Uint8Array(64);
  draws.fill(0x42, 0, 32);
  draws.fill(0x43, 32);
  const kinds = {};
  for (const c of data.cases) {
    const what = c.description;
    const rng = Rng.scripted(draws);
    let consumed = 0;
    let after = () => {};
    let run;
    if (c.kind === 'bundle') {
      run = () => PreKeyBundle.fromBytes(unhex(c.bundle)).verify();
    } else if (c.kind === 'initiate') {
      // An initiate that fails in its DHs drew ek_A (and, hybrid, the KEM
      // message) first: tests/protocol_vectors.rs `reject`.
      if (c.error === 'NonContributory') consumed = 32 * (1 + ((parseInt(c.bundle.slice(2, 4), 16) & 0x02) ? 1 : 0));
      const id = IdentityKeyPair.fromSeed(unhex(c.initiator_seed));
      run = () => Session.initiate(id, PreKeyBundle.fromBytes(unhex(c.bundle)), Mode.Plain, pqOf(c), rng);
    } else if (c.kind === 'accept') {
      const r = c.responder;
      const id = IdentityKeyPair.fromSeed(unhex(r.identity.seed));
      const spk = SignedPreKey.fromBytes(spkStored(r.signed_prekey));
      const opk = r.one_time_prekey ? OneTimePreKey.fromBytes(opkStored(r.one_time_prekey)) : undefined;
      const kem = r.kem_prekey ? KemPreKey.fromBytes(kemStored(r.kem_prekey)) : undefined;
      const policy = MODE_POLICY[c.policy];
      assert.notEqual(policy, undefined, `${what}: policy ${c.policy}`);
      // The last-resort KEM prekey, as tests/protocol_vectors.rs.
      run = () => Session.accept(id, spk, PreKeyMessage.fromBytes(unhex(c.message)), opk, kem, true, policy, pqOf(c), rng);
      after = () => {
        if (opk) assert.equal(opk.isConsumed, false, `${what}: a failed accept keeps the one-time prekey`);
        if (kem) assert.equal(kem.isConsumed, false, `${what}: a failed accept keeps the KEM prekey`);
      };
    } else if (c.kind === 'decrypt') {
      const session = Session.fromBytes(unhex(c.state));
      run = () => session.decrypt(unhex(c.message), rng);
      after = () => assert.equal(hex(session.toBytes()), c.state, `${what}: a failed decrypt changed the session`);
    } else {
      assert.fail(`${what}: unknown kind ${c.kind}`);
    }
    let error;
    try {
      run();
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ChatcryptError, `${what}: want ${c.error}, got ${error === undefined ? 'success' : error}`);
    assert.equal(error.codeName, codeName(c.error), `${what}: ${error.codeName} (${error.detail}), want ${c.error}`);
    assert.equal(errorCodeName(error.code), error.codeName, `${what}: code and name agree`);
    assert.equal(error.detail, c.error, `${what}: detail`);
    assert.equal(draws.length - rng.remaining, consumed, `${what}: bytes drawn`);
    after();
    kinds[c.kind] = (kinds[c.kind] ?? 0) + 1;
  }
  const rejected = Object.values(kinds).reduce((a, b) => a + b, 0);
  assert.equal(rejected, data.cases.length);
  assert.equal(rejected, REJECT_CASES, 'reject.json: cases rejected (pinned)');
  console.log(`reject.json: ${data.cases.length} cases rejected with the expected code and detail ${JSON.stringify(kinds)}`);
});
