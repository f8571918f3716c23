// chatcrypt's messenger layer in one page: Alice (one device) and Bob (two
// devices), each device with its own LocalDevice and one SessionRecord per
// peer device. Everything between them goes through `server`, which holds
// only bytes: prekey uploads (it hands out bundles from them), signed
// device lists and a mailbox per device. On load a scripted exchange runs
// (Alice to both of Bob's devices, both reply, a replay refused, a sealed
// message, account safety numbers compared) and its outcome is written to
// <pre id=result> as JSON and to document.title ("PASS ..." or
// "FAIL ..."), which the headless Chromium test reads.
import init, {
  AccountKeyPair,
  CertificatePolicy,
  ChatcryptError,
  DeviceList,
  IdentityKeyPair,
  LocalDevice,
  PeerAccount,
  PreKeyUpload,
  SafetyNumber,
  ServerKeyPair,
  SessionPolicy,
  SessionRecord,
  open,
} from '../pkg/web/index.js';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const hex = (b, n = 12) => Array.from(b.slice(0, n), (x) => x.toString(16).padStart(2, '0')).join('') + (b.length > n ? '…' : '');
const now = () => Math.floor(Date.now() / 1000);

/** The relay: uploads, device lists, sender certificates and mailboxes, all bytes. */
const server = {
  signer: null,
  uploads: new Map(), // "user/device" -> upload bytes
  handedOut: new Map(), // "user/device" -> one-time prekeys handed out so far
  lists: new Map(), // user -> signed device list bytes
  queue: [],
  upload(user, device, bytes) {
    PreKeyUpload.fromBytes(bytes).free(); // the server checks the signatures
    this.uploads.set(`${user}/${device}`, bytes);
    this.handedOut.set(`${user}/${device}`, 0);
    wire(`${user}/${device} uploads prekeys (${bytes.length} B)`);
  },
  publishList(user, bytes) {
    this.lists.set(user, bytes);
    wire(`${user} publishes a device list (${bytes.length} B): ${hex(bytes)}`);
  },
  list(user) {
    return this.lists.get(user);
  },
  /** A bundle with the next unused one-time prekeys of the upload. */
  bundle(user, device) {
    const key = `${user}/${device}`;
    const i = this.handedOut.get(key);
    this.handedOut.set(key, i + 1);
    const upload = PreKeyUpload.fromBytes(this.uploads.get(key));
    const bundle = upload.bundle(i, i);
    upload.free();
    return bundle;
  },
  certificate(user, device, accountKey, identityKey) {
    return this.signer.issue(BigInt(Date.now()), now() + 86_400, accountKey, device, identityKey);
  },
  /** Queues `bytes` for device `to`; a sealed message goes without its sender's address. */
  post(from, to, bytes, sealed = false) {
    this.queue.push({ from: sealed ? null : from, to, bytes });
    wire(`${sealed ? '(sealed)' : `${from.user.name}/${from.id}`} → ${to} (${bytes.length} B): ${hex(bytes)}`);
  },
  deliver() {
    const batch = this.queue;
    this.queue = [];
    for (const m of batch) devices[m.to].receive(m.bytes, m.from?.id);
  },
};

function wire(line) {
  const div = document.createElement('div');
  div.textContent = line;
  const w = document.getElementById('wire');
  w.append(div);
  w.scrollTop = w.scrollHeight;
}

/** A user: an account key, devices certified by it, a signed device list. */
class User {
  constructor(name, deviceCount) {
    this.name = name;
    this.id = utf8.encode(name);
    this.account = AccountKeyPair.generate();
    this.devices = [];
    for (let i = 1; i <= deviceCount; i++) this.devices.push(new Device(this, i));
    const links = this.devices.map((d) => d.local.link().toBytes()); // links travel as bytes
    server.publishList(name, this.account.signDeviceList(1, links).toBytes());
  }
}

/** One device: its LocalDevice, what it trusts about the other user, a record per peer device. */
class Device {
  constructor(user, id) {
    this.user = user;
    this.id = id;
    this.address = `${user.name}-${id}`;
    this.pane = document.getElementById(this.address);
    const identity = IdentityKeyPair.generate();
    this.local = new LocalDevice(identity, user.account.certify(id, identity.publicKey), now());
    identity.free();
    this.local.replenish(0, 0);
    this.stored = this.local.toBytes(); // what an app writes to disk: first...
    const upload = this.local.upload(this.stored); // ...then it may publish
    this.local.markUploaded(upload);
    this.stored = this.local.toBytes();
    server.upload(user.name, id, upload.toBytes());
    upload.free();
    this.peer = null; // PeerAccount of the other user
    this.records = new Map(); // peer device id -> SessionRecord
    this.received = [];
    this.errors = [];
    this.pane.querySelector('.keys').textContent = `device ${id}, identity ${hex(this.local.identityKey, 32)}`;
    this.pane.querySelector('form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const input = ev.target.querySelector('input');
      if (!input.value) return;
      this.sendToAll(input.value);
      input.value = '';
      server.deliver();
    });
  }

  log(text, cls) {
    const div = document.createElement('div');
    div.className = `msg ${cls}`;
    div.textContent = text;
    const log = this.pane.querySelector('.log');
    log.append(div);
    log.scrollTop = log.scrollHeight;
  }

  /** First contact: pin the other user's account key from its device list. */
  meet(other) {
    this.peer = PeerAccount.trustOnFirstUse(utf8.encode(other), DeviceList.fromBytes(server.list(other)));
    this.other = other;
    this.log(`${other}'s devices ${JSON.stringify(this.peer.deviceList.devices)} (trusted on first use)`, 'sys');
  }

  record(device) {
    if (!this.records.has(device)) this.records.set(device, new SessionRecord(device));
    return this.records.get(device);
  }

  /** Encrypts `text` for every device of the other user, starting sessions as needed. */
  sendToAll(text, sealed = null) {
    for (const device of this.peer.deviceList.devices) {
      const rec = this.record(device);
      if (rec.needsNewSession(now())) {
        const bundle = server.bundle(this.other, device);
        rec.initiate(this.local, this.peer, bundle, SessionPolicy.recommended(), now());
        bundle.free();
        this.log(`session with ${this.other}/${device} started`, 'sys');
      }
      const bytes = sealed
        ? rec.encryptSealed(this.local, this.peer, sealed, utf8.encode(text), now())
        : rec.encrypt(this.peer, utf8.encode(text), now());
      server.post(this, `${this.other}-${device}`, bytes, !!sealed);
    }
    this.log(sealed ? `${text} (sealed)` : text, 'out');
  }

  /** A message from device `from` of the other user, or sealed (`from` undefined). */
  receive(bytes, from) {
    const sealed = from === undefined;
    try {
      let got;
      if (sealed) {
        const policy = new CertificatePolicy(now());
        policy.addRoot(server.signer.publicKey);
        const identity = this.local.identity();
        const opened = open(identity, bytes, policy);
        identity.free();
        from = opened.certificate.device; // the sender, known only after opening
        got = this.record(from).decryptSealed(this.local, this.peer, opened, SessionPolicy.recommended(), now());
        opened.free();
      } else {
        got = this.record(from).decrypt(this.local, this.peer, bytes, SessionPolicy.recommended(), now());
      }
      this.stored = this.local.toBytes();
      const text = fromUtf8.decode(got.plaintext);
      this.received.push(text);
      this.log(`${text}${sealed ? ' (sealed, from device ' + from + ')' : ''}${got.newSession ? ' [new session]' : ''}`, 'in');
    } catch (e) {
      if (!(e instanceof ChatcryptError)) throw e;
      this.errors.push(e.codeName);
      this.log(`refused: ${e.codeName}`, 'err');
    }
  }
}

let alice;
let bob;
let devices;

async function scripted() {
  await init();
  server.signer = ServerKeyPair.generate();
  alice = new User('alice', 1);
  bob = new User('bob', 2);
  devices = Object.fromEntries([...alice.devices, ...bob.devices].map((d) => [d.address, d]));
  alice.devices[0].meet('bob');
  bob.devices.forEach((d) => d.meet('alice'));

  const [a] = alice.devices;
  const [phone, laptop] = bob.devices;
  a.sendToAll('Hi Bob, on all your devices');
  server.deliver();
  phone.sendToAll('Hi Alice, from my phone');
  server.deliver();
  laptop.sendToAll('and from my laptop');
  server.deliver();
  a.sendToAll('Both arrived');
  // The server replays Alice's last message to Bob's phone: refused.
  const replay = server.queue.find((m) => m.to === 'bob-1');
  server.deliver();
  server.queue.push(replay);
  wire('(the server replays a message to bob-1)');
  server.deliver();
  // Sealed: the server sees neither sender nor content.
  const cert = server.certificate('alice', 1, alice.account.publicKey, a.local.identityKey);
  a.sendToAll('this one is sealed', cert);
  server.deliver();

  const aliceSn = a.peer.safetyNumber(alice.id, alice.account.publicKey).displayable;
  const bobSn = SafetyNumber.forAccounts(bob.id, bob.account.publicKey, alice.id, alice.account.publicKey).displayable;
  const result = {
    phoneReceived: phone.received,
    laptopReceived: laptop.received,
    aliceReceived: a.received,
    refused: [...a.errors, ...phone.errors, ...laptop.errors],
    bobDevices: a.peer.deviceList.devices,
    safetyNumbersMatch: aliceSn === bobSn,
  };
  const ok =
    JSON.stringify(result.phoneReceived) === JSON.stringify(['Hi Bob, on all your devices', 'Both arrived', 'this one is sealed']) &&
    JSON.stringify(result.laptopReceived) === JSON.stringify(result.phoneReceived) &&
    JSON.stringify(result.aliceReceived) === JSON.stringify(['Hi Alice, from my phone', 'and from my laptop']) &&
    result.refused.join() === 'DUPLICATE' &&
    result.safetyNumbersMatch;
  result.status = ok ? 'PASS' : 'FAIL';
  for (const d of Object.values(devices)) d.log(`account safety number ${aliceSn.slice(0, 15)}…`, 'sys');
  return result;
}

scripted()
  .then((result) => {
    document.getElementById('result').textContent = JSON.stringify(result);
    const n = result.phoneReceived.length + result.laptopReceived.length + result.aliceReceived.length;
    document.title = `${result.status} chatcrypt messenger demo: ${n} messages decrypted`;
  })
  .catch((e) => {
    document.getElementById('result').textContent = JSON.stringify({ status: 'FAIL', error: String(e), stack: e.stack });
    document.title = `FAIL chatcrypt messenger demo: ${e}`;
  });
