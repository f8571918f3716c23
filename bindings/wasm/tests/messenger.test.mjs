// The messenger layer through the JavaScript API of the npm package
// (pkg/node): the flows of bindings/core/src/messenger_tests.rs. Two users
// (alice with one device, bob with two): accounts, certificates, devices,
// uploads (persist first), the server's view, device lists from links that
// travel as bytes, trust on first use, session records both ways, replays,
// stored forms, account safety numbers; sealed sender with every
// certificate refusal and the multi-recipient split; a kept certificate
// policy moved on with setNow; the device's own openEnvelope; the split in
// ranges and its 32 MiB cap; a failed message, its retry and the new
// session; device list and account key changes; padding; a scripted
// generator that runs dry; argument checks. Every failure is a
// ChatcryptError with its exact code. Run: node --test bindings/wasm/tests/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const {
  AccountKeyPair,
  CertificatePolicy,
  ChatcryptError,
  DeviceCertificate,
  DeviceLink,
  DeviceList,
  DeviceListChange,
  ErrorCode,
  IdentityKeyPair,
  Limits,
  LocalDevice,
  Mode,
  ModePolicy,
  Padding,
  PaddingKind,
  PeerAccount,
  PqPolicy,
  PreKeyMessage,
  PreKeyUpload,
  RetryMessage,
  RetryOutcome,
  RetryReason,
  Rng,
  SafetyNumber,
  SenderCertificate,
  ServerKeyPair,
  SessionPolicy,
  SessionRecord,
  TrustLevel,
  errorCodeName,
  open,
  seal,
  sealMulti,
  splitMultiRecipient,
  splitMultiRecipientRange,
  unpad,
} = require('../pkg/node/index.js');

const NOW = 1_800_000_000;
const utf8 = new TextEncoder();
const text = (b) => new TextDecoder().decode(b);
const POLICY = SessionPolicy.recommended();

/** Asserts that `f` throws a ChatcryptError with `codeName`; returns it. */
function throwsCode(f, codeName) {
  let caught;
  assert.throws(f, (e) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof ChatcryptError, `not a ChatcryptError: ${caught}`);
  assert.equal(caught.codeName, codeName, `${caught.codeName} (${caught.detail}), want ${codeName}`);
  assert.equal(errorCodeName(caught.code), codeName);
  return caught;
}

/** Device `id` of `account`, certified, made at NOW, with its first prekeys. */
function device(account, id, rng) {
  const identity = IdentityKeyPair.generate(rng);
  const cert = DeviceCertificate.fromBytes(account.certify(id, identity.publicKey).toBytes());
  assert.equal(cert.device, id);
  assert.deepEqual(cert.accountKey, account.publicKey);
  assert.deepEqual(cert.identityKey, identity.publicKey);
  assert.equal(cert.toBytes().length, Limits.DEVICE_CERTIFICATE_LEN);
  const d = new LocalDevice(identity, cert, NOW, rng);
  assert.deepEqual(d.identityKey, identity.publicKey);
  assert.equal(d.deviceId, id);
  assert.equal(d.needsUpload(), true);
  assert.deepEqual(d.oneTimePreKeyCounts(), { oneTime: 0, kem: 0 });
  assert.deepEqual(d.replenish(0, 0, rng), { oneTime: 100, kem: 20 });
  assert.deepEqual(d.oneTimePreKeyCounts(), { oneTime: 100, kem: 20 });
  return d;
}

function user(name, n, rng) {
  const account = AccountKeyPair.generate(rng);
  const devices = [];
  for (let i = 1; i <= n; i++) devices.push(device(account, i, rng));
  return {
    id: utf8.encode(name),
    account,
    devices,
    /** The device list at `epoch`, signed from links that travelled as bytes. */
    list(epoch) {
      const links = this.devices.map((d) => d.link().toBytes());
      links.forEach((l) => assert.equal(l.length, Limits.DEVICE_LINK_LEN));
      return DeviceList.fromBytes(this.account.signDeviceList(epoch, links).toBytes());
    },
    /** Device `i`'s upload, persisted first, as the server decodes it. */
    upload(i) {
      const d = this.devices[i];
      const stored = d.toBytes();
      const up = d.upload(stored);
      d.markUploaded(up);
      assert.equal(d.needsUpload(), false);
      return PreKeyUpload.fromBytes(up.toBytes());
    },
  };
}

/** Alice (1 device) and Bob (2 devices); Alice's record for Bob's device 1 initiated. */
function pair(rng) {
  const alice = user('alice', 1, rng);
  const bob = user('bob', 2, rng);
  const aPeer = PeerAccount.trustOnFirstUse(bob.id, bob.list(1));
  const bPeer = PeerAccount.trustOnFirstUse(alice.id, alice.list(1));
  alice.upload(0);
  const up = bob.upload(0);
  assert.equal(up.oneTimePreKeyCount, 100);
  assert.equal(up.kemPreKeyCount, 20);
  assert.deepEqual(up.identityKey, bob.devices[0].identityKey);
  assert.equal(up.certificate.device, 1);
  const bundle = up.bundle(0, 0);
  const aRec = new SessionRecord(1);
  assert.equal(aRec.needsNewSession(NOW), true);
  aRec.initiate(alice.devices[0], aPeer, bundle, POLICY, NOW, rng);
  assert.equal(aRec.needsNewSession(NOW), false);
  return { alice, bob, aPeer, bPeer, aRec, bRec: new SessionRecord(1), up };
}

test('a conversation between two users through session records', () => {
  const p = pair();
  const { alice, bob, aPeer, bPeer } = p;
  // The account, its stored forms and seed.
  assert.equal(aPeer.trustLevel, TrustLevel.TrustedOnFirstUse);
  assert.deepEqual(aPeer.accountKey, bob.account.publicKey);
  assert.deepEqual(aPeer.userId, utf8.encode('bob'));
  assert.equal(aPeer.pendingAccountKey, undefined);
  const key = new Uint8Array(32).fill(7);
  assert.deepEqual(AccountKeyPair.fromSeed(bob.account.seed()).publicKey, bob.account.publicKey);
  assert.deepEqual(AccountKeyPair.fromBytes(bob.account.toBytes()).publicKey, bob.account.publicKey);
  assert.deepEqual(AccountKeyPair.open(key, bob.account.seal(key)).publicKey, bob.account.publicKey);
  // The list: links as bytes or as DeviceLink objects sign the same list.
  const list = aPeer.deviceList;
  assert.equal(list.epoch, 1n);
  assert.deepEqual(list.devices, [1, 2]);
  assert.deepEqual(list.accountKey, bob.account.publicKey);
  assert.deepEqual(list.identityOf(2), bob.devices[1].identityKey);
  assert.equal(list.identityOf(9), undefined);
  assert.deepEqual(
    list.links().map((l) => l.toBytes()),
    bob.devices.map((d) => d.link().toBytes()),
  );
  const objects = bob.devices.map((d) => DeviceLink.fromBytes(d.link().toBytes()));
  assert.deepEqual(bob.account.signDeviceList(1, objects).toBytes(), list.toBytes());
  assert.deepEqual(objects[1].identityKey, bob.devices[1].identityKey); // still usable
  assert.deepEqual(aPeer.deviceIdentity(2), bob.devices[1].identityKey);
  throwsCode(() => aPeer.deviceIdentity(9), 'UNKNOWN_DEVICE');
  aPeer.authorize(1, bob.devices[0].identityKey);
  throwsCode(() => aPeer.authorize(1, bob.devices[1].identityKey), 'WRONG_IDENTITY');
  // The server's bundles: with and without one-time prekeys.
  const up = PreKeyUpload.fromBytes(bob.devices[1].upload(bob.devices[1].toBytes()).toBytes());
  const withKeys = up.bundle(3, 4);
  assert.equal(typeof withKeys.oneTimePreKeyId, 'number');
  assert.equal(typeof withKeys.kemPreKeyId, 'number');
  const without = up.bundle();
  assert.equal(without.oneTimePreKeyId, undefined);
  assert.equal(typeof without.kemPreKeyId, 'number'); // the last-resort KEM prekey
  throwsCode(() => up.bundle(100), 'DECODE_INVALID_VALUE');

  // Alice's first message, padded like any other (Padmé, floor 160).
  const first = p.aRec.encrypt(aPeer, utf8.encode('hello Bob'), NOW);
  const short = p.aRec.encrypt(aPeer, utf8.encode('hi'), NOW);
  assert.equal(first.length, short.length);
  const got = p.bRec.decrypt(bob.devices[0], bPeer, first, POLICY, NOW);
  assert.equal(text(got.plaintext), 'hello Bob');
  assert.equal(got.newSession, true);
  assert.equal(got.messageId.length, Limits.MESSAGE_ID_LEN);
  assert.deepEqual(bob.devices[0].oneTimePreKeyCounts(), { oneTime: 99, kem: 19 });
  // A replay is a duplicate and changes nothing.
  const before = p.bRec.toBytes();
  const devBefore = bob.devices[0].toBytes();
  throwsCode(() => p.bRec.decrypt(bob.devices[0], bPeer, first, POLICY, NOW), 'DUPLICATE');
  assert.deepEqual(p.bRec.toBytes(), before);
  assert.deepEqual(bob.devices[0].toBytes(), devBefore);
  // Bob's reply.
  const reply = p.bRec.encrypt(bPeer, utf8.encode('hello Alice'), NOW);
  const back = p.aRec.decrypt(alice.devices[0], aPeer, reply, POLICY, NOW);
  assert.equal(text(back.plaintext), 'hello Alice');
  assert.equal(back.newSession, false);
  assert.equal(p.aRec.currentSessionId.length, 32);
  assert.deepEqual(p.aRec.currentSessionId, p.bRec.currentSessionId);
  assert.equal(p.aRec.device, 1);
  assert.equal(p.aRec.archivedCount, 0);
  // Stored forms round-trip, plain and sealed.
  const aRec = SessionRecord.open(key, p.aRec.seal(key));
  const bDev = LocalDevice.fromBytes(bob.devices[0].toBytes());
  const bPeer2 = PeerAccount.open(key, bPeer.seal(key));
  const bRec = SessionRecord.fromBytes(p.bRec.toBytes());
  assert.deepEqual(LocalDevice.open(key, bDev.seal(key)).toBytes(), bDev.toBytes());
  assert.deepEqual(PeerAccount.fromBytes(bPeer2.toBytes()).toBytes(), bPeer.toBytes());
  const m = aRec.encryptPadded(aPeer, utf8.encode('x'), new Padding(PaddingKind.None, 0), NOW);
  const x = bRec.decrypt(bDev, bPeer2, m, POLICY, NOW);
  assert.equal(text(x.plaintext), 'x');
  assert.equal(x.newSession, false);
  // Both users compute the same account safety number.
  const aSn = aPeer.safetyNumber(alice.id, alice.account.publicKey);
  const bSn = SafetyNumber.forAccounts(bob.id, bob.account.publicKey, alice.id, alice.account.publicKey);
  assert.equal(aSn.displayable, bSn.displayable);
  assert.equal(aSn.displayable.length, Limits.SAFETY_NUMBER_DIGITS);
  assert.equal(bSn.compareScanned(aSn.scannable), true);
  const other = SafetyNumber.forAccounts(bob.id, bob.account.publicKey, alice.id, bob.account.publicKey);
  assert.notEqual(other.displayable, aSn.displayable);
});

test('upload needs the persisted form', () => {
  const u = user('carol', 1);
  const d = u.devices[0];
  const stale = d.toBytes();
  d.rotateSignedPreKey(NOW + 1);
  throwsCode(() => d.upload(stale), 'NOT_PERSISTED');
  assert.equal(d.needsUpload(), true);
  const up = d.upload(d.toBytes());
  d.markUploaded(up);
  assert.equal(d.needsUpload(), false);
  assert.deepEqual(d.replenish(100, 20), { oneTime: 0, kem: 0 });
  assert.equal(d.needsRotation(NOW + 1), false);
  d.prune(NOW + 1);
});

test('sealed sender through records, with every certificate refusal', () => {
  const p = pair();
  const { alice, bob, aPeer, bPeer } = p;
  const server = ServerKeyPair.generate();
  assert.deepEqual(ServerKeyPair.fromSeed(server.seed()).publicKey, server.publicKey);
  const aDev = alice.devices[0];
  const issued = server.issue(41, NOW + 86_400, alice.account.publicKey, 1, aDev.identityKey);
  const cert = SenderCertificate.fromBytes(issued.toBytes());
  assert.equal(cert.toBytes().length, Limits.SENDER_CERTIFICATE_LEN);
  assert.equal(cert.serial, 41n);
  assert.equal(cert.expires, BigInt(NOW + 86_400));
  assert.equal(cert.device, 1);
  assert.deepEqual(cert.accountKey, alice.account.publicKey);
  assert.deepEqual(cert.identityKey, aDev.identityKey);
  assert.deepEqual(cert.issuer, server.publicKey);
  const envelope = p.aRec.encryptSealed(aDev, aPeer, cert, utf8.encode('sealed hello'), NOW);
  const bIdentity = bob.devices[0].identity();
  // No root: untrusted.
  const policy = new CertificatePolicy(NOW);
  throwsCode(() => open(bIdentity, envelope, policy), 'UNTRUSTED_CERTIFICATE');
  throwsCode(() => cert.validate(policy), 'UNTRUSTED_CERTIFICATE');
  policy.addRoot(server.publicKey);
  cert.validate(policy);
  const opened = open(bIdentity, envelope, policy);
  assert.equal(opened.certificate.serial, 41n);
  assert.deepEqual(opened.certificate.identityKey, aDev.identityKey);
  // A record for another device refuses it (the certificate names device 1).
  throwsCode(
    () => new SessionRecord(2).decryptSealed(bob.devices[0], bPeer, opened, POLICY, NOW),
    'SENDER_MISMATCH',
  );
  const got = p.bRec.decryptSealed(bob.devices[0], bPeer, opened, POLICY, NOW);
  assert.equal(text(got.plaintext), 'sealed hello');
  assert.equal(got.newSession, true);
  // Revoked and expired certificates.
  const revoked = policy.clone();
  revoked.revoke(41n);
  throwsCode(() => open(bIdentity, envelope, revoked), 'CERTIFICATE_REVOKED');
  open(bIdentity, envelope, policy); // the copy did not change the original
  const late = new CertificatePolicy(BigInt(NOW + 86_400));
  late.addRoot(server.publicKey);
  throwsCode(() => open(bIdentity, envelope, late), 'CERTIFICATE_EXPIRED');
  // A single envelope: the padded content plus the overhead.
  const aIdentity = aDev.identity();
  const single = seal(aIdentity, cert, bob.devices[1].identityKey, utf8.encode('one'), Padding.recommended());
  assert.equal(single.length, Padding.recommended().paddedLength(3) + Limits.SEALED_ENVELOPE_OVERHEAD);
  assert.equal(text(open(bob.devices[1].identity(), single, policy).content()), 'one');
  // Multi-recipient: sealed once, split by the server, opened by each.
  const recipients = bob.devices.map((d) => d.identityKey);
  const multi = sealMulti(aIdentity, cert, recipients, utf8.encode('to both'), Padding.recommended());
  const parts = splitMultiRecipient(multi);
  assert.equal(parts.length, 2);
  bob.devices.forEach((d, i) => {
    const part = parts.find((x) => Buffer.from(x.recipient).equals(Buffer.from(recipients[i])));
    const o = open(d.identity(), part.envelope, policy);
    assert.equal(text(o.content()), 'to both');
    assert.deepEqual(o.certificate.identityKey, aDev.identityKey);
  });
  // One part is not for the other device.
  const part0 = parts.find((x) => Buffer.from(x.recipient).equals(Buffer.from(recipients[0])));
  throwsCode(() => open(bob.devices[1].identity(), part0.envelope, policy), 'AUTH');
  // Someone else's certificate is refused before sealing.
  throwsCode(
    () => seal(bIdentity, cert, recipients[1], utf8.encode('x'), Padding.recommended()),
    'WRONG_IDENTITY',
  );
});

/** Alice's sender certificate (serial 41, expiring a day after NOW) from a trusted server, and a policy at NOW. */
function sealedSetup(p) {
  const server = ServerKeyPair.generate();
  const aDev = p.alice.devices[0];
  const cert = server.issue(41, NOW + 86_400, p.alice.account.publicKey, 1, aDev.identityKey);
  const policy = new CertificatePolicy(NOW);
  policy.addRoot(server.publicKey);
  return { server, cert, policy, aIdentity: aDev.identity() };
}

/** The parts as hex pairs, to compare lists of `{ recipient, envelope }`. */
const partsHex = (parts) =>
  parts.map((x) => [Buffer.from(x.recipient).toString('hex'), Buffer.from(x.envelope).toString('hex')]);

test('CertificatePolicy.setNow: a kept policy moved past the expiry refuses, a second before accepts', () => {
  const p = pair();
  const { cert, policy, aIdentity } = sealedSetup(p);
  const bob1 = p.bob.devices[0];
  const envelope = seal(aIdentity, cert, bob1.identityKey, utf8.encode('kept'), Padding.recommended());
  assert.equal(cert.expires, BigInt(NOW + 86_400));
  // Valid now.
  assert.equal(policy.now(), BigInt(NOW));
  assert.equal(text(open(bob1.identity(), envelope, policy).content()), 'kept');
  // Moved on to the expiry (the certificate's own field, a bigint): expired, for every way of checking.
  policy.setNow(cert.expires);
  assert.equal(policy.now(), BigInt(NOW + 86_400));
  throwsCode(() => open(bob1.identity(), envelope, policy), 'CERTIFICATE_EXPIRED');
  throwsCode(() => bob1.openEnvelope(envelope, policy), 'CERTIFICATE_EXPIRED');
  throwsCode(() => cert.validate(policy), 'CERTIFICATE_EXPIRED');
  // One second before (a number): accepted again.
  policy.setNow(NOW + 86_399);
  assert.equal(policy.now(), BigInt(NOW + 86_399));
  assert.equal(text(open(bob1.identity(), envelope, policy).content()), 'kept');
  assert.equal(text(bob1.openEnvelope(envelope, policy).content()), 'kept');
  cert.validate(policy);
  // A copy keeps the time and moves on its own.
  const copy = policy.clone();
  assert.equal(copy.now(), BigInt(NOW + 86_399));
  copy.setNow(2n ** 64n - 1n);
  assert.equal(copy.now(), 2n ** 64n - 1n);
  throwsCode(() => open(bob1.identity(), envelope, copy), 'CERTIFICATE_EXPIRED');
  assert.equal(policy.now(), BigInt(NOW + 86_399));
  // The time is checked like every 64-bit argument; a refused one changes nothing.
  for (const bad of [NOW + 0.5, -1, '1800000000', undefined, null, 2 ** 53, 2n ** 64n, -1n, NaN]) {
    throwsCode(() => policy.setNow(bad), 'INVALID_ARGUMENT');
  }
  assert.equal(policy.now(), BigInt(NOW + 86_399));
  // Back in time too: a policy before the certificate's expiry accepts it.
  policy.setNow(0);
  assert.equal(policy.now(), 0n);
  cert.validate(policy);
});

test('LocalDevice.openEnvelope: the same as open with the device\'s identity', () => {
  const p = pair();
  const { alice, bob, aPeer, bPeer } = p;
  const { server, cert, policy, aIdentity } = sealedSetup(p);
  const [bob1, bob2] = bob.devices;
  // A single envelope for bob's second device.
  const envelope = seal(aIdentity, cert, bob2.identityKey, utf8.encode('for device 2'), Padding.recommended());
  const viaOpen = open(bob2.identity(), envelope, policy);
  const viaDevice = bob2.openEnvelope(envelope, policy);
  assert.equal(text(viaDevice.content()), 'for device 2');
  assert.deepEqual(viaDevice.content(), viaOpen.content());
  assert.deepEqual(viaDevice.certificate.toBytes(), viaOpen.certificate.toBytes());
  assert.deepEqual(viaDevice.certificate.toBytes(), cert.toBytes());
  assert.equal(viaDevice.certificate.serial, 41n);
  assert.equal(viaDevice.certificate.device, 1);
  assert.deepEqual(viaDevice.certificate.identityKey, alice.devices[0].identityKey);
  assert.deepEqual(viaDevice.certificate.accountKey, alice.account.publicKey);
  // Not for the other device: AUTH, as open says.
  throwsCode(() => open(bob1.identity(), envelope, policy), 'AUTH');
  throwsCode(() => bob1.openEnvelope(envelope, policy), 'AUTH');
  // The certificate refusals, as open's.
  throwsCode(() => bob2.openEnvelope(envelope, new CertificatePolicy(NOW)), 'UNTRUSTED_CERTIFICATE');
  const revoked = policy.clone();
  revoked.revoke(41);
  throwsCode(() => bob2.openEnvelope(envelope, revoked), 'CERTIFICATE_REVOKED');
  // Tampered: AUTH.
  const bad = envelope.slice();
  bad[bad.length - 1] ^= 1;
  throwsCode(() => bob2.openEnvelope(bad, policy), 'AUTH');
  throwsCode(() => bob2.openEnvelope(envelope.slice(0, 10), policy), 'DECODE_TRUNCATED');
  // A session record's sealed message, opened by the device and decrypted by its record.
  const sealed = p.aRec.encryptSealed(alice.devices[0], aPeer, cert, utf8.encode('sealed hello'), NOW);
  const opened = bob1.openEnvelope(sealed, policy);
  assert.deepEqual(opened.content(), open(bob1.identity(), sealed, policy).content());
  const got = p.bRec.decryptSealed(bob1, bPeer, opened, POLICY, NOW);
  assert.equal(text(got.plaintext), 'sealed hello');
  assert.equal(got.newSession, true);
  assert.deepEqual(server.publicKey, opened.certificate.issuer);
});

test('splitMultiRecipientRange: the split in ranges, the same envelopes in the same order', () => {
  const p = pair();
  const { cert, policy, aIdentity } = sealedSetup(p);
  const other = IdentityKeyPair.generate();
  const recipients = [...p.bob.devices.map((d) => d.identityKey), other.publicKey];
  const multi = sealMulti(aIdentity, cert, recipients, utf8.encode('to three'), Padding.recommended());
  const parts = splitMultiRecipient(multi);
  assert.equal(parts.length, 3);
  // Each recipient once, and each part opens for its recipient.
  const hexKeys = (keys) => keys.map((k) => Buffer.from(k).toString('hex')).sort();
  assert.deepEqual(hexKeys(parts.map((x) => x.recipient)), hexKeys(recipients));
  const identities = [...p.bob.devices.map((d) => d.identity()), other];
  for (const part of parts) {
    const i = recipients.findIndex((k) => Buffer.from(k).equals(Buffer.from(part.recipient)));
    assert.equal(text(open(identities[i], part.envelope, policy).content()), 'to three');
  }
  // Ranges.
  const all = partsHex(parts);
  assert.deepEqual(partsHex(splitMultiRecipientRange(multi, 0, 3)), all);
  assert.deepEqual(partsHex(splitMultiRecipientRange(multi, 1, 3)), all.slice(1));
  assert.deepEqual(partsHex(splitMultiRecipientRange(multi, 0, 1)), [all[0]]);
  assert.deepEqual(partsHex(splitMultiRecipientRange(multi, 1, 1)), [all[1]]);
  assert.deepEqual(partsHex(splitMultiRecipientRange(multi, 2, 5)), [all[2]]);
  assert.deepEqual(partsHex(splitMultiRecipientRange(multi, 0, Limits.MAX_SEALED_RECIPIENTS)), all);
  // Empty ranges: no count, or from the end of the list on.
  assert.deepEqual(splitMultiRecipientRange(multi, 0, 0), []);
  assert.deepEqual(splitMultiRecipientRange(multi, 3, 5), []);
  assert.deepEqual(splitMultiRecipientRange(multi, 2 ** 32 - 1, 2 ** 32 - 1), []);
  // The parts of a range are fresh objects and open like the split's.
  const [only] = splitMultiRecipientRange(multi, 2, 1);
  assert.ok(only.recipient instanceof Uint8Array && only.envelope instanceof Uint8Array);
  const i = recipients.findIndex((k) => Buffer.from(k).equals(Buffer.from(only.recipient)));
  assert.equal(text(open(identities[i], only.envelope, policy).content()), 'to three');
  // Malformed uploads: the same decode errors as the whole split.
  throwsCode(() => splitMultiRecipient(multi.slice(0, 10)), 'DECODE_TRUNCATED');
  throwsCode(() => splitMultiRecipientRange(multi.slice(0, 10), 0, 1), 'DECODE_TRUNCATED');
  throwsCode(() => splitMultiRecipientRange(new Uint8Array(0), 0, 1), 'DECODE_TRUNCATED');
  // tag || version || E (32) || u16 n: no recipient, or more than the most, is an invalid value.
  assert.deepEqual([multi[34], multi[35]], [0, 3]);
  for (const n of [[0, 0], [4, 1]]) {
    const wrong = multi.slice();
    wrong.set(n, 34);
    throwsCode(() => splitMultiRecipient(wrong), 'DECODE_INVALID_VALUE');
    throwsCode(() => splitMultiRecipientRange(wrong, 0, 1), 'DECODE_INVALID_VALUE');
  }
  // The split authenticates nothing: a payload cut short gives envelopes one byte
  // shorter, which their recipient refuses (AUTH).
  const [short] = splitMultiRecipientRange(multi.slice(0, multi.length - 1), 2, 1);
  assert.equal(short.envelope.length, only.envelope.length - 1);
  throwsCode(() => open(identities[i], short.envelope, policy), 'AUTH');
  // first and count: integers from 0 to 2^32 - 1.
  for (const bad of [-1, 1.5, 2 ** 32, undefined, null, '1', 1n, NaN]) {
    throwsCode(() => splitMultiRecipientRange(multi, bad, 1), 'INVALID_ARGUMENT');
    throwsCode(() => splitMultiRecipientRange(multi, 0, bad), 'INVALID_ARGUMENT');
  }
  assert.equal(Limits.MAX_SPLIT_LEN, 33_554_432);
  assert.equal(Limits.MAX_SPLIT_LEN, 32 * 1024 * 1024);
});

test('the split\'s 32 MiB cap: TOO_LARGE for 17 envelopes of 2 MiB, 16 pass in a range', () => {
  const account = AccountKeyPair.generate();
  const sender = IdentityKeyPair.generate();
  const server = ServerKeyPair.generate();
  const cert = server.issue(7, NOW + 60, account.publicKey, 1, sender.publicKey);
  const policy = new CertificatePolicy(NOW);
  policy.addRoot(server.publicKey);
  // Content whose envelope is exactly 2 MiB: padding None adds a fixed header.
  const padding = new Padding(PaddingKind.None, 0);
  const envelopeLen = 2 * 1024 * 1024;
  const contentLen = envelopeLen - Limits.SEALED_ENVELOPE_OVERHEAD - padding.paddedLength(0);
  assert.equal(padding.paddedLength(contentLen) + Limits.SEALED_ENVELOPE_OVERHEAD, envelopeLen);
  const content = crypto.getRandomValues(new Uint8Array(contentLen > 65_536 ? 65_536 : contentLen));
  const big = new Uint8Array(contentLen);
  for (let at = 0; at < contentLen; at += content.length) big.set(content.subarray(0, contentLen - at), at);
  const ids = Array.from({ length: 17 }, () => IdentityKeyPair.generate());
  const multi = sealMulti(sender, cert, ids.map((id) => id.publicKey), big, padding);
  // The whole split and any range of 17: refused with the total, before anything is built.
  const e = throwsCode(() => splitMultiRecipient(multi), 'TOO_LARGE');
  assert.equal(e.detail, `TooLarge { len: ${17 * envelopeLen}, max: ${Limits.MAX_SPLIT_LEN} }`);
  const r = throwsCode(() => splitMultiRecipientRange(multi, 0, 1000), 'TOO_LARGE');
  assert.equal(r.detail, e.detail);
  throwsCode(() => splitMultiRecipientRange(multi, 0, 17), 'TOO_LARGE');
  // 16 envelopes are exactly 32 MiB: allowed; with the 17th, every recipient once.
  const rest = splitMultiRecipientRange(multi, 1, 16);
  assert.equal(rest.length, 16);
  assert.equal(rest.reduce((n, x) => n + x.envelope.length, 0), Limits.MAX_SPLIT_LEN);
  rest.forEach((x) => assert.equal(x.envelope.length, envelopeLen));
  const [first] = splitMultiRecipientRange(multi, 0, 1);
  const hexKeys = (keys) => keys.map((k) => Buffer.from(k).toString('hex')).sort();
  assert.deepEqual(hexKeys([first, ...rest].map((x) => x.recipient)), hexKeys(ids.map((id) => id.publicKey)));
  // The first and the last part open for their recipients with the content.
  for (const part of [first, rest[15]]) {
    const id = ids.find((k) => Buffer.from(k.publicKey).equals(Buffer.from(part.recipient)));
    const opened = open(id, part.envelope, policy);
    assert.ok(Buffer.from(opened.content()).equals(Buffer.from(big)));
  }
});

test('a tampered message brings a retry, and the retry a new session', () => {
  const p = pair();
  const { alice, bob, aPeer, bPeer } = p;
  const first = p.aRec.encrypt(aPeer, utf8.encode('one'), NOW);
  p.bRec.decrypt(bob.devices[0], bPeer, first, POLICY, NOW);
  const second = p.aRec.encrypt(aPeer, utf8.encode('two'), NOW);
  const tampered = second.slice();
  tampered[tampered.length - 1] ^= 1;
  const err = throwsCode(() => p.bRec.decrypt(bob.devices[0], bPeer, tampered, POLICY, NOW), 'AUTH');
  assert.equal(err.code, ErrorCode.Auth);
  assert.equal(err.prekeyId, undefined);
  const aKey = alice.devices[0].identityKey;
  const retry = bob.devices[0].retryFor(aKey, tampered, err, NOW);
  // The same retry from the code alone.
  const byCode = bob.devices[0].retryForCode(aKey, tampered, err.code, NOW);
  assert.deepEqual(byCode.toBytes(), retry.toBytes());
  assert.equal(bob.devices[0].retryForCode(aKey, tampered, ErrorCode.Duplicate, NOW), undefined);
  const decoded = RetryMessage.fromBytes(retry.toBytes());
  assert.equal(decoded.toBytes().length, Limits.RETRY_MESSAGE_LEN);
  // Alice's messages still carry the handshake: a failed handshake.
  assert.equal(decoded.reason, RetryReason.HandshakeFailed);
  assert.equal(decoded.prekeyId, 0);
  assert.equal(decoded.timestamp, BigInt(NOW));
  assert.deepEqual(decoded.author, bob.devices[0].identityKey);
  assert.deepEqual(decoded.recipient, aKey);
  assert.equal(decoded.messageDigest.length, 16);
  // A duplicate calls for no retry.
  const dup = throwsCode(() => p.bRec.decrypt(bob.devices[0], bPeer, first, POLICY, NOW), 'DUPLICATE');
  assert.equal(bob.devices[0].retryFor(aKey, first, dup, NOW), undefined);
  // Alice's record: the tampered copy is not what she sent, so ignored...
  assert.equal(p.aRec.handleRetry(alice.devices[0], aPeer, decoded), RetryOutcome.Ignored);
  // ...but a retry for her genuine message starts a new session.
  const genuine = bob.devices[0].retryForCode(aKey, second, ErrorCode.Auth, NOW);
  assert.equal(p.aRec.handleRetry(alice.devices[0], aPeer, genuine), RetryOutcome.StartNewSession);
  assert.equal(p.aRec.archivedCount, 1);
  assert.equal(p.aRec.needsNewSession(NOW), true);
  assert.equal(p.aRec.currentSessionId, undefined);
  throwsCode(() => p.aRec.encrypt(aPeer, utf8.encode('three'), NOW), 'NO_SESSION');
});

test('an unknown prekey: the error carries prekeyId, the retry names it', () => {
  const p = pair();
  const { bob, aPeer, bPeer } = p;
  // Carol starts a session from the same bundle (one-time prekeys index 0)
  // after Alice's first message consumed them.
  const carol = user('carol', 1);
  const cPeer = PeerAccount.trustOnFirstUse(bob.id, bob.list(1));
  const bForC = PeerAccount.trustOnFirstUse(carol.id, carol.list(1));
  const bundle = p.up.bundle(0, 0);
  p.bRec.decrypt(bob.devices[0], bPeer, p.aRec.encrypt(aPeer, utf8.encode('first'), NOW), POLICY, NOW);
  const cRec = new SessionRecord(1);
  cRec.initiate(carol.devices[0], cPeer, bundle, POLICY, NOW);
  const msg = cRec.encrypt(cPeer, utf8.encode('hello from carol'), NOW);
  const named = PreKeyMessage.fromBytes(msg);
  const before = bob.devices[0].toBytes();
  const err = throwsCode(() => new SessionRecord(1).decrypt(bob.devices[0], bForC, msg, POLICY, NOW), 'UNKNOWN_PREKEY');
  assert.deepEqual(bob.devices[0].toBytes(), before);
  assert.equal(typeof err.prekeyId, 'number');
  assert.ok([named.oneTimePreKeyId, named.kemPreKeyId].includes(err.prekeyId), `${err.prekeyId}`);
  assert.equal(err.detail, `UnknownPreKey { id: ${err.prekeyId} }`);
  const cKey = carol.devices[0].identityKey;
  const retry = bob.devices[0].retryFor(cKey, msg, err, NOW);
  assert.equal(retry.reason, RetryReason.UnknownPreKey);
  assert.equal(retry.prekeyId, err.prekeyId);
  assert.deepEqual(bob.devices[0].retryForCode(cKey, msg, err.code, NOW, err.prekeyId).toBytes(), retry.toBytes());
  // Without the id, an UNKNOWN_PREKEY retry cannot be made.
  throwsCode(() => bob.devices[0].retryForCode(cKey, msg, err.code, NOW), 'INVALID_ARGUMENT');
  assert.equal(cRec.handleRetry(carol.devices[0], cPeer, retry), RetryOutcome.StartNewSession);
});

test('device list changes and account key changes', () => {
  const p = pair();
  const { alice, bob } = p;
  // Bob adds a device: epoch 2.
  bob.devices.push(device(bob.account, 3));
  const update = p.aPeer.updateDeviceList(bob.list(2));
  assert.deepEqual(update, { change: DeviceListChange.Updated, added: [3], removed: [], reinstalled: [] });
  assert.deepEqual(p.aPeer.deviceList.devices, [1, 2, 3]);
  assert.equal(p.aPeer.deviceList.epoch, 2n);
  assert.equal(p.aPeer.updateDeviceList(bob.list(2)).change, DeviceListChange.Unchanged);
  // A rollback is refused, and so is another list at the same epoch.
  throwsCode(() => p.aPeer.updateDeviceList(bob.list(1)), 'DEVICE_LIST_ROLLBACK');
  const two = bob.devices.slice(0, 2).map((d) => d.link());
  throwsCode(() => p.aPeer.updateDeviceList(bob.account.signDeviceList(2n, two)), 'DEVICE_LIST_CONFLICT');
  // A new account key: pending, every device refused until the decision.
  const other = user('bob', 1);
  const changed = p.aPeer.updateDeviceList(other.list(1));
  assert.deepEqual(changed, { change: DeviceListChange.AccountKeyChanged, added: [], removed: [], reinstalled: [] });
  const pending = p.aPeer.pendingAccountKey;
  assert.deepEqual(pending, other.account.publicKey);
  throwsCode(() => p.aRec.encrypt(p.aPeer, utf8.encode('x'), NOW), 'ACCOUNT_KEY_CHANGED');
  throwsCode(() => p.aPeer.markVerified(), 'ACCOUNT_KEY_CHANGED');
  const rejected = p.aPeer.clone();
  rejected.rejectAccountKeyChange();
  assert.equal(rejected.pendingAccountKey, undefined);
  throwsCode(() => rejected.rejectAccountKeyChange(), 'NO_PENDING_CHANGE');
  assert.deepEqual(p.aPeer.pendingAccountKey, pending); // the clone is a copy
  throwsCode(() => p.aPeer.acceptAccountKeyChange(bob.account.publicKey), 'ACCOUNT_KEY_CHANGED');
  p.aPeer.acceptAccountKeyChange(pending);
  assert.equal(p.aPeer.trustLevel, TrustLevel.TrustedOnFirstUse);
  assert.deepEqual(p.aPeer.accountKey, pending);
  // The old session's device is now listed with another identity key.
  throwsCode(() => p.aRec.encrypt(p.aPeer, utf8.encode('x'), NOW), 'WRONG_IDENTITY');
  p.aPeer.markVerified();
  assert.equal(p.aPeer.trustLevel, TrustLevel.Verified);
  // Verified first contact needs the list's key.
  throwsCode(() => PeerAccount.verified(bob.id, alice.account.publicKey, bob.list(3)), 'ACCOUNT_KEY_CHANGED');
  assert.equal(PeerAccount.verified(bob.id, bob.account.publicKey, bob.list(3)).trustLevel, TrustLevel.Verified);
  // Links and keys of the wrong length, a user id too long.
  throwsCode(() => DeviceLink.fromBytes(new Uint8Array(99)), 'DECODE_TRUNCATED');
  throwsCode(() => alice.account.certify(1, new Uint8Array(31)), 'INVALID_ARGUMENT');
  throwsCode(() => PeerAccount.trustOnFirstUse(new Uint8Array(256).fill(120), bob.list(4)), 'TOO_LARGE');
  // A link made by a device for another account.
  const stray = new DeviceLink(IdentityKeyPair.generate(), other.account.publicKey, 5);
  assert.equal(stray.device, 5);
  throwsCode(() => alice.account.signDeviceList(9, [alice.devices[0].link(), stray]), 'BAD_SIGNATURE');
  throwsCode(() => alice.account.signDeviceList(0, [alice.devices[0].link()]), 'DECODE_INVALID_VALUE');
});

test('padding kinds, parameters, pad and unpad', () => {
  assert.equal(Padding.recommended().kind, PaddingKind.Padme);
  assert.equal(Padding.recommended().param, 160);
  throwsCode(() => new Padding(PaddingKind.Blocks, 0), 'INVALID_ARGUMENT');
  throwsCode(() => new Padding(PaddingKind.None, 5), 'INVALID_ARGUMENT');
  throwsCode(() => new Padding(3, 0), 'INVALID_ARGUMENT');
  throwsCode(() => new Padding(PaddingKind.Padme, 65_536), 'INVALID_ARGUMENT');
  throwsCode(() => new Padding(undefined, 16), 'INVALID_ARGUMENT');
  throwsCode(() => new Padding(1.5, 16), 'INVALID_ARGUMENT');
  throwsCode(() => new Padding(PaddingKind.Blocks, 16.5), 'INVALID_ARGUMENT');
  throwsCode(() => new Padding(PaddingKind.Blocks), 'INVALID_ARGUMENT');
  const padme = new Padding(PaddingKind.Padme, 0);
  assert.equal(padme.kind, PaddingKind.Padme);
  assert.equal(padme.param, 0);
  const blocks = new Padding(PaddingKind.Blocks, 16);
  assert.equal(blocks.kind, PaddingKind.Blocks);
  assert.equal(blocks.param, 16);
  assert.equal(blocks.paddedLength(13), 32);
  const padded = blocks.pad(utf8.encode('thirteen byte'), Limits.MAX_PLAINTEXT_LEN);
  assert.equal(padded.length, 32);
  // kind || u16 param || content || 0x80 || zeros (SPEC.md §26).
  assert.deepEqual([...padded.slice(0, 3)], [1, 0, 16]);
  assert.equal(padded[16], 0x80);
  assert.deepEqual([...padded.slice(17)], new Array(15).fill(0));
  assert.equal(text(unpad(padded)), 'thirteen byte');
  const bad = padded.slice();
  bad[31] = 1;
  throwsCode(() => unpad(bad), 'PADDING');
  throwsCode(() => blocks.pad(new Uint8Array(40), 32), 'TOO_LARGE');
});

test('a scripted generator that runs dry changes neither record nor device', () => {
  const p = pair();
  const { alice, bob, aPeer, bPeer } = p;
  const first = p.aRec.encrypt(aPeer, utf8.encode('hello'), NOW);
  // Accepting the first message draws 32 bytes after it has consumed the
  // prekeys; with 31, the record and the device are as they were.
  const recBefore = p.bRec.toBytes();
  const devBefore = bob.devices[0].toBytes();
  const dry = Rng.scripted(new Uint8Array(31).fill(1));
  throwsCode(() => p.bRec.decrypt(bob.devices[0], bPeer, first, POLICY, NOW, dry), 'RNG_EXHAUSTED');
  assert.equal(dry.remaining, 31);
  assert.deepEqual(p.bRec.toBytes(), recBefore);
  assert.deepEqual(bob.devices[0].toBytes(), devBefore);
  assert.deepEqual(bob.devices[0].oneTimePreKeyCounts(), { oneTime: 100, kem: 20 });
  const exact = Rng.scripted(new Uint8Array(32).fill(1));
  const got = p.bRec.decrypt(bob.devices[0], bPeer, first, POLICY, NOW, exact);
  assert.equal(text(got.plaintext), 'hello');
  assert.equal(exact.remaining, 0);
  assert.deepEqual(bob.devices[0].oneTimePreKeyCounts(), { oneTime: 99, kem: 19 });
  // Encrypting draws 16 bytes; with 15 nothing changes.
  const before = p.bRec.toBytes();
  throwsCode(() => p.bRec.encrypt(bPeer, utf8.encode('r'), NOW, Rng.scripted(new Uint8Array(15))), 'RNG_EXHAUSTED');
  assert.deepEqual(p.bRec.toBytes(), before);
  const reply = p.bRec.encrypt(bPeer, utf8.encode('reply'), NOW);
  // Alice's ratchet step on the reply draws 32 bytes.
  const aBefore = p.aRec.toBytes();
  throwsCode(
    () => p.aRec.decrypt(alice.devices[0], aPeer, reply, POLICY, NOW, Rng.scripted(new Uint8Array(31))),
    'RNG_EXHAUSTED',
  );
  assert.deepEqual(p.aRec.toBytes(), aBefore);
  const enough = Rng.scripted(new Uint8Array(32).fill(1));
  assert.equal(text(p.aRec.decrypt(alice.devices[0], aPeer, reply, POLICY, NOW, enough).plaintext), 'reply');
  assert.equal(enough.remaining, 0);
  // Replenishing draws too.
  const dBefore = bob.devices[0].toBytes();
  throwsCode(() => bob.devices[0].replenish(0, 0, Rng.scripted(new Uint8Array(100).fill(3))), 'RNG_EXHAUSTED');
  assert.deepEqual(bob.devices[0].toBytes(), dBefore);
  assert.deepEqual(bob.devices[0].replenish(0, 0), { oneTime: 100, kem: 20 });
});

test('numbers, enums and lists are checked on the way in', () => {
  const p = pair();
  const { alice, aPeer } = p;
  const pt = utf8.encode('x');
  // Times: a safe integer or a bigint below 2^64.
  for (const bad of [NOW + 0.5, -1, '1800000000', undefined, null, 2 ** 53, 2n ** 64n, -1n, NaN]) {
    throwsCode(() => p.aRec.encrypt(aPeer, pt, bad), 'INVALID_ARGUMENT');
    throwsCode(() => new CertificatePolicy(bad), 'INVALID_ARGUMENT');
  }
  assert.equal(p.aRec.needsNewSession(BigInt(NOW)), false);
  assert.equal(p.aRec.needsNewSession(2n ** 64n - 1n), true); // the session has expired by then
  // Device ids: integers from 0 to 2^32 - 1.
  for (const bad of [1.5, -1, 2 ** 32, undefined, '1', 1n]) {
    throwsCode(() => new SessionRecord(bad), 'INVALID_ARGUMENT');
    throwsCode(() => alice.account.certify(bad, alice.devices[0].identityKey), 'INVALID_ARGUMENT');
  }
  assert.equal(new SessionRecord(2 ** 32 - 1).device, 2 ** 32 - 1);
  // Session policies: every field required and known.
  const ok = new SessionPolicy(Mode.HeaderEncryption, PqPolicy.AllowClassical, ModePolicy.PlainOnly, PqPolicy.Required);
  assert.deepEqual(
    [ok.mode, ok.pqPolicy, ok.acceptModePolicy, ok.acceptPqPolicy],
    [Mode.HeaderEncryption, PqPolicy.AllowClassical, ModePolicy.PlainOnly, PqPolicy.Required],
  );
  assert.deepEqual(
    [POLICY.mode, POLICY.pqPolicy, POLICY.acceptModePolicy, POLICY.acceptPqPolicy],
    [Mode.Plain, PqPolicy.Required, ModePolicy.Any, PqPolicy.Required],
  );
  throwsCode(() => new SessionPolicy(Mode.Plain, PqPolicy.Required, ModePolicy.Any), 'INVALID_ARGUMENT');
  throwsCode(() => new SessionPolicy(7, PqPolicy.Required, ModePolicy.Any, PqPolicy.Required), 'INVALID_ARGUMENT');
  throwsCode(() => new SessionPolicy(Mode.Plain, 0.5, ModePolicy.Any, PqPolicy.Required), 'INVALID_ARGUMENT');
  // Lists.
  throwsCode(() => alice.account.signDeviceList(2, alice.devices[0].link().toBytes()), 'INVALID_ARGUMENT');
  throwsCode(() => alice.account.signDeviceList(2, [7]), 'INVALID_ARGUMENT');
  throwsCode(() => alice.account.signDeviceList(2, [undefined]), 'INVALID_ARGUMENT');
  throwsCode(() => alice.account.signDeviceList(2, [new Uint8Array(99)]), 'DECODE_TRUNCATED');
  const server = ServerKeyPair.generate();
  const cert = server.issue(1n, NOW + 1, alice.account.publicKey, 1, alice.devices[0].identityKey);
  const id = alice.devices[0].identity();
  throwsCode(() => sealMulti(id, cert, [new Uint8Array(31)], pt, Padding.recommended()), 'INVALID_ARGUMENT');
  throwsCode(() => sealMulti(id, cert, new Uint8Array(32), pt, Padding.recommended()), 'INVALID_ARGUMENT');
  throwsCode(() => sealMulti(id, cert, ['key'], pt, Padding.recommended()), 'INVALID_ARGUMENT');
  // Bundle indexes, retry arguments.
  const up = PreKeyUpload.fromBytes(alice.devices[0].upload(alice.devices[0].toBytes()).toBytes());
  throwsCode(() => up.bundle(0.5), 'INVALID_ARGUMENT');
  throwsCode(() => up.bundle(0, -1), 'INVALID_ARGUMENT');
  const key = alice.devices[0].identityKey;
  throwsCode(() => alice.devices[0].retryFor(key, pt, new TypeError('not ours'), NOW), 'INVALID_ARGUMENT');
  throwsCode(() => alice.devices[0].retryFor(key, pt, 'AUTH', NOW), 'INVALID_ARGUMENT');
  throwsCode(() => alice.devices[0].retryForCode(key, pt, 12345, NOW), 'INVALID_ARGUMENT');
  throwsCode(() => alice.devices[0].retryForCode(key, pt, ErrorCode.Auth, NOW, 1.5), 'INVALID_ARGUMENT');
  throwsCode(() => alice.devices[0].retryForCode(new Uint8Array(31), pt, ErrorCode.Auth, NOW), 'INVALID_ARGUMENT');
  // The limits.
  assert.deepEqual(
    [Limits.DEVICE_LINK_LEN, Limits.MAX_USER_ID_LEN, Limits.MESSAGE_ID_LEN, Limits.SAFETY_NUMBER_DIGITS],
    [100, 255, 52, 60],
  );
});
