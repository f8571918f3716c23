// The messenger layer's vectors through the JavaScript API:
// test-vectors/protocol/messenger.json (device certificates, device lists,
// account safety numbers, prekey uploads, retry messages, rejected
// encodings) and metadata.json (padding, sender certificates and their
// validation, sealed envelopes for one and many recipients with every
// recipient's view and the server's split, rejected envelopes). Everything
// made from the vectors' seeds (and, for envelopes and devices, their
// randomness through Rng.scripted) must agree byte for byte; every reject
// must throw its exact error (`detail`, as the vectors write errors).
// CHATCRYPT_VECTORS overrides the directory (ci.sh points it at corrupted
// copies). The totals are pinned: a file with a case more or less fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const {
  AccountKeyPair,
  CertificatePolicy,
  ChatcryptError,
  DeviceCertificate,
  DeviceLink,
  DeviceList,
  ErrorCode,
  IdentityKeyPair,
  LocalDevice,
  Padding,
  PaddingKind,
  PreKeyUpload,
  RetryMessage,
  RetryReason,
  Rng,
  SafetyNumber,
  SenderCertificate,
  ServerKeyPair,
  SessionRecord,
  open,
  seal,
  sealMulti,
  splitMultiRecipient,
  unpad,
} = require('../pkg/node/index.js');

const DIR = process.env.CHATCRYPT_VECTORS || new URL('../../../test-vectors/protocol/', import.meta.url).pathname;
// 64-bit values (an epoch or a time of 2^64 - 1) lose precision as JSON
// numbers: integers of 16 digits or more are read as strings (for BigInt).
const load = (name) =>
  JSON.parse(readFileSync(`${DIR.replace(/\/?$/, '/')}${name}`, 'utf8').replace(/([:[,]\s*)(\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
const messenger = load('messenger.json');
const metadata = load('metadata.json');

/** The totals this runner replays (a file with more or fewer cases fails). */
const PINNED = {
  messenger: { total: 77, device_certificate: 3, device_list: 3, account_safety_number: 2, prekey_upload: 2, retry_message: 2, session_record: 1, reject: 64 },
  metadata: { total: 243, padding: 84, padding_reject: 30, sender_certificate: 3, certificate_validation: 21, certificate_reject: 22, sealed: 8, sealed_multi: 3, sealed_reject: 72 },
};

const hex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b) => Buffer.from(b).toString('hex');
const KIND = { none: PaddingKind.None, blocks: PaddingKind.Blocks, padme: PaddingKind.Padme };
const padding = (p) => new Padding(KIND[p.kind], p.param);

/** Asserts `f` throws a ChatcryptError whose detail is `error` (the vectors' spelling). */
function throwsDetail(f, error, what) {
  let caught;
  assert.throws(f, (e) => ((caught = e), true), what);
  assert.ok(caught instanceof ChatcryptError, `${what}: not a ChatcryptError: ${caught}`);
  assert.equal(caught.detail, error, `${what}: ${caught.codeName}`);
}

function policyOf(p) {
  const policy = new CertificatePolicy(BigInt(p.now));
  for (const r of p.roots) policy.addRoot(hex(r));
  for (const s of p.revoked) policy.revoke(BigInt(s));
  return policy;
}

function countKinds(file) {
  const counts = { total: file.cases.length };
  for (const c of file.cases) counts[c.kind] = (counts[c.kind] ?? 0) + 1;
  return counts;
}

test('the vector files hold the pinned number of cases', () => {
  assert.equal(messenger.number_of_cases, messenger.cases.length);
  assert.equal(metadata.number_of_cases, metadata.cases.length);
  assert.deepEqual(countKinds(messenger), PINNED.messenger);
  assert.deepEqual(countKinds(metadata), PINNED.metadata);
});

/** The account key pair and a device certified by it (a LocalDevice needs one). */
function localDevice(identitySeed, createdAt, draws) {
  const account = AccountKeyPair.fromSeed(new Uint8Array(32).fill(0xee));
  const identity = IdentityKeyPair.fromSeed(hex(identitySeed));
  return new LocalDevice(identity, account.certify(1, identity.publicKey), createdAt, Rng.scripted(draws));
}

test('messenger.json: certificates, lists, safety numbers, uploads, retries and rejects', () => {
  const done = {};
  for (const c of messenger.cases) {
    const what = `${c.kind}: ${c.description}`;
    switch (c.kind) {
      case 'device_certificate': {
        const account = AccountKeyPair.fromSeed(hex(c.account_seed));
        assert.equal(toHex(account.publicKey), c.account_key, what);
        const identity = IdentityKeyPair.fromSeed(hex(c.identity_seed));
        assert.equal(toHex(identity.publicKey), c.identity_key, what);
        const cert = account.certify(c.device_id, identity.publicKey);
        assert.equal(toHex(cert.toBytes()), c.certificate, what);
        const decoded = DeviceCertificate.fromBytes(hex(c.certificate));
        assert.equal(decoded.device, c.device_id, what);
        assert.equal(toHex(decoded.accountKey), c.account_key, what);
        assert.equal(toHex(decoded.identityKey), c.identity_key, what);
        decoded.verify(hex(c.account_key));
        break;
      }
      case 'device_list': {
        const account = AccountKeyPair.fromSeed(hex(c.account_seed));
        const links = c.entries.map((e) => new DeviceLink(IdentityKeyPair.fromSeed(hex(e.identity_seed)), account.publicKey, e.device_id));
        const list = account.signDeviceList(BigInt(c.epoch), links);
        assert.equal(toHex(list.toBytes()), c.list, what);
        const decoded = DeviceList.fromBytes(hex(c.list));
        assert.equal(decoded.epoch, BigInt(c.epoch), what);
        assert.equal(toHex(decoded.accountKey), c.account_key, what);
        assert.deepEqual(decoded.devices, c.entries.map((e) => e.device_id).sort((a, b) => a - b), what);
        for (const e of c.entries) assert.equal(toHex(decoded.identityOf(e.device_id)), e.identity_key, what);
        break;
      }
      case 'account_safety_number': {
        const local = AccountKeyPair.fromSeed(hex(c.local_account_seed)).publicKey;
        const remote = AccountKeyPair.fromSeed(hex(c.remote_account_seed)).publicKey;
        assert.equal(toHex(local), c.local_account_key, what);
        assert.equal(toHex(remote), c.remote_account_key, what);
        const sn = SafetyNumber.forAccounts(hex(c.local_stable_id), local, hex(c.remote_stable_id), remote);
        assert.equal(sn.displayable, c.displayable, what);
        assert.equal(toHex(sn.scannable), c.local_scannable, what);
        assert.equal(sn.compareScanned(hex(c.remote_scannable)), true, what);
        break;
      }
      case 'prekey_upload': {
        // The device's randomness in the order it draws: the signed and
        // last-resort prekeys at creation (then retired, if rotated), the
        // new ones at the rotation, then the one-time prekeys.
        const first = c.retired_prekeys ?? c;
        const draws = [first.signed_prekey.private, first.last_resort_prekey.seed];
        if (c.retired_prekeys) draws.push(c.signed_prekey.private, c.last_resort_prekey.seed);
        for (const k of c.one_time_prekeys) draws.push(k.private);
        for (const k of c.kem_prekeys) draws.push(k.seed);
        const rng = Rng.scripted(hex(draws.join('')));
        const account = AccountKeyPair.fromSeed(hex(c.account_seed));
        const identity = IdentityKeyPair.fromSeed(hex(c.identity_seed));
        const cert = account.certify(c.device_id, identity.publicKey);
        assert.equal(toHex(cert.toBytes()), c.certificate, what);
        const device = new LocalDevice(identity, cert, c.created_at, rng);
        if (c.rotated_at !== null) device.rotateSignedPreKey(c.rotated_at, rng);
        if (c.server_prekey_counts !== null) {
          const [x, k] = c.server_prekey_counts;
          assert.deepEqual(device.replenish(x, k, rng), { oneTime: c.one_time_prekeys.length, kem: c.kem_prekeys.length }, what);
        }
        assert.equal(rng.remaining, 0, what);
        const upload = device.upload(device.toBytes()).toBytes();
        assert.equal(upload.length, c.upload_len, what);
        assert.equal(createHash('sha256').update(upload).digest('hex'), c.upload_sha256, what);
        if (c.upload !== null) assert.equal(toHex(upload), c.upload, what);
        const decoded = PreKeyUpload.fromBytes(upload);
        assert.equal(decoded.oneTimePreKeyCount, c.one_time_prekeys.length, what);
        assert.equal(decoded.kemPreKeyCount, c.kem_prekeys.length, what);
        break;
      }
      case 'retry_message': {
        const device = localDevice(c.author_seed, 1_800_000_000, new Uint8Array(96));
        assert.equal(toHex(device.identityKey), c.author_key, what);
        const code = c.error.startsWith('UnknownPreKey') ? ErrorCode.UnknownPreKey : ErrorCode[c.error];
        const retry = device.retryForCode(hex(c.recipient_key), hex(c.failed_message), code, c.timestamp, c.prekey_id);
        assert.equal(toHex(retry.toBytes()), c.retry, what);
        const decoded = RetryMessage.fromBytes(hex(c.retry));
        assert.equal(decoded.reason, RetryReason[c.reason], what);
        assert.equal(decoded.prekeyId, c.prekey_id, what);
        assert.equal(toHex(decoded.messageDigest), c.message_digest, what);
        assert.equal(decoded.timestamp, BigInt(c.timestamp), what);
        assert.equal(toHex(decoded.author), c.author_key, what);
        assert.equal(toHex(decoded.recipient), c.recipient_key, what);
        break;
      }
      case 'session_record': {
        // The stored record restores and stores again unchanged; what the
        // facade shows of it matches (the sessions inside are not exposed).
        const record = SessionRecord.fromBytes(hex(c.record));
        assert.equal(toHex(record.toBytes()), c.record, what);
        assert.equal(record.device, c.device_id, what);
        assert.equal(toHex(record.currentSessionId), c.current.base_key, what);
        assert.equal(record.archivedCount, c.archived.length, what);
        break;
      }
      case 'reject': {
        const decode = {
          device_certificate: DeviceCertificate.fromBytes,
          device_list: DeviceList.fromBytes,
          prekey_upload: PreKeyUpload.fromBytes,
          retry_message: RetryMessage.fromBytes,
        }[c.decoder];
        assert.ok(decode, `${what}: unknown decoder ${c.decoder}`);
        throwsDetail(() => decode(hex(c.input)), c.error, what);
        break;
      }
      default:
        assert.fail(`unknown kind ${c.kind}`);
    }
    done[c.kind] = (done[c.kind] ?? 0) + 1;
  }
  assert.deepEqual({ total: messenger.cases.length, ...done }, PINNED.messenger);
});

test('metadata.json: padding, sender certificates, sealed envelopes and rejects', () => {
  const done = {};
  for (const c of metadata.cases) {
    const what = `${c.kind}: ${c.description}`;
    switch (c.kind) {
      case 'padding': {
        const p = padding(c.policy);
        assert.equal(p.paddedLength(c.content_len), c.padded_len, what);
        const padded = p.pad(hex(c.content), 1 << 30);
        assert.equal(toHex(padded), c.padded, what);
        assert.equal(toHex(padded.subarray(0, 3)), c.header, what);
        assert.equal(toHex(unpad(hex(c.padded))), c.content, what);
        break;
      }
      case 'padding_reject':
        throwsDetail(() => unpad(hex(c.input)), c.error, what);
        break;
      case 'sender_certificate': {
        const server = ServerKeyPair.fromSeed(hex(c.server_seed));
        assert.equal(toHex(server.publicKey), c.server_key, what);
        const account = AccountKeyPair.fromSeed(hex(c.account_seed));
        const identity = IdentityKeyPair.fromSeed(hex(c.identity_seed));
        const cert = server.issue(BigInt(c.serial), BigInt(c.expires), account.publicKey, c.device_id, identity.publicKey);
        assert.equal(toHex(cert.toBytes()), c.certificate, what);
        const d = SenderCertificate.fromBytes(hex(c.certificate));
        assert.deepEqual(
          [d.serial, d.expires, toHex(d.accountKey), d.device, toHex(d.identityKey), toHex(d.issuer)],
          [BigInt(c.serial), BigInt(c.expires), c.account_key, c.device_id, c.identity_key, c.server_key],
          what,
        );
        break;
      }
      case 'certificate_validation': {
        const cert = SenderCertificate.fromBytes(hex(c.certificate));
        if (c.result === 'ok') cert.validate(policyOf(c.policy));
        else throwsDetail(() => cert.validate(policyOf(c.policy)), c.result, what);
        break;
      }
      case 'certificate_reject':
        throwsDetail(() => SenderCertificate.fromBytes(hex(c.input)), c.error, what);
        break;
      case 'sealed': {
        const sender = IdentityKeyPair.fromSeed(hex(c.sender_identity_seed));
        const rng = Rng.scripted(hex(c.rng_draws.join('')));
        const cert = SenderCertificate.fromBytes(hex(c.certificate));
        const envelope = seal(sender, cert, hex(c.recipient_identity_key), hex(c.content), padding(c.padding), rng);
        assert.equal(rng.remaining, 0, what);
        assert.equal(envelope.length, c.envelope_len, what);
        assert.equal(toHex(envelope), c.envelope, what);
        const opened = open(IdentityKeyPair.fromSeed(hex(c.recipient_identity_seed)), hex(c.envelope), policyOf(c.policy));
        assert.equal(toHex(opened.certificate.toBytes()), c.view.certificate, what);
        assert.equal(toHex(opened.content()), c.view.content, what);
        break;
      }
      case 'sealed_multi': {
        const sender = IdentityKeyPair.fromSeed(hex(c.sender_identity_seed));
        const rng = Rng.scripted(hex(c.rng_draws.join('')));
        const cert = SenderCertificate.fromBytes(hex(c.certificate));
        const recipients = c.recipient_identity_seeds.map((s) => IdentityKeyPair.fromSeed(hex(s)).publicKey);
        const multi = sealMulti(sender, cert, recipients, hex(c.content), padding(c.padding), rng);
        assert.equal(rng.remaining, 0, what);
        assert.equal(multi.length, c.envelope_len, what);
        assert.equal(toHex(multi), c.envelope, what);
        const split = splitMultiRecipient(hex(c.envelope));
        assert.deepEqual(
          split.map((p) => ({ envelope: toHex(p.envelope), recipient_identity_key: toHex(p.recipient) })),
          c.split.map((p) => ({ envelope: p.envelope, recipient_identity_key: p.recipient_identity_key })),
          what,
        );
        for (const v of c.views) {
          const id = IdentityKeyPair.fromSeed(hex(v.recipient_identity_seed));
          const part = split.find((p) => toHex(p.recipient) === toHex(id.publicKey));
          const opened = open(id, part.envelope, policyOf(c.policy));
          assert.equal(toHex(opened.certificate.toBytes()), v.certificate, what);
          assert.equal(toHex(opened.content()), v.content, what);
        }
        break;
      }
      case 'sealed_reject':
        if (c.operation === 'split') {
          throwsDetail(() => splitMultiRecipient(hex(c.envelope)), c.error, what);
        } else {
          assert.equal(c.operation, 'open', what);
          const id = IdentityKeyPair.fromSeed(hex(c.recipient_identity_seed));
          throwsDetail(() => open(id, hex(c.envelope), policyOf(c.policy)), c.error, what);
        }
        break;
      default:
        assert.fail(`unknown kind ${c.kind}`);
    }
    done[c.kind] = (done[c.kind] ?? 0) + 1;
  }
  assert.deepEqual({ total: metadata.cases.length, ...done }, PINNED.metadata);
});
