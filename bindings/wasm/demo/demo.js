// Two parties in one page who share nothing but bytes: each pane holds its
// own chatcrypt objects, and everything between them goes through `server`,
// which only ever sees Uint8Arrays (a prekey bundle and messages). On load a
// scripted exchange runs (handshake, both directions, out-of-order delivery,
// a tampered message refused) and its outcome is written to <pre id=result>
// as JSON and to document.title ("PASS ..." or "FAIL ..."), which the
// headless Chromium test reads.
import init, {
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
  SafetyNumber,
  Session,
  SignedPreKey,
  messageType,
} from '../pkg/web/index.js';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const hex = (b, n = 12) => Array.from(b.slice(0, n), (x) => x.toString(16).padStart(2, '0')).join('') + (b.length > n ? '…' : '');

/** The relay: a key directory and a mailbox of byte strings. */
const server = {
  bundles: new Map(),
  queue: [],
  publish(name, bytes) {
    this.bundles.set(name, bytes);
    wire(`${name} publishes a bundle (${bytes.length} B): ${hex(bytes)}`);
  },
  fetch(name) {
    return this.bundles.get(name);
  },
  post(from, to, bytes) {
    this.queue.push({ from, to, bytes });
    wire(`${from} → ${to} (${bytes.length} B): ${hex(bytes)}`);
  },
  /** Delivers the queued messages in the given order of indices (all, in order, by default). */
  deliver(order = this.queue.map((_, i) => i)) {
    const batch = order.map((i) => this.queue[i]);
    this.queue = this.queue.filter((_, i) => !order.includes(i));
    for (const m of batch) parties[m.to].receive(m.bytes);
  },
};

function wire(line) {
  const div = document.createElement('div');
  div.textContent = line;
  const w = document.getElementById('wire');
  w.append(div);
  w.scrollTop = w.scrollHeight;
}

class Party {
  constructor(name, peer) {
    this.name = name;
    this.peer = peer;
    this.pane = document.getElementById(name.toLowerCase());
    this.identity = IdentityKeyPair.generate();
    this.signedPreKey = SignedPreKey.generate(this.identity, 1);
    this.oneTimePreKey = OneTimePreKey.generate(1);
    this.kemPreKey = KemPreKey.generate(this.identity, 1);
    this.session = null;
    this.stored = null; // what an app would write to disk after every change
    this.received = [];
    this.sent = [];
    this.errors = [];
    this.pane.querySelector('.keys').textContent = `identity ${hex(this.identity.publicKey, 32)}`;
    this.pane.querySelector('form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const input = ev.target.querySelector('input');
      if (!input.value) return;
      this.send(input.value);
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

  publishBundle() {
    const bundle = new PreKeyBundle(this.identity, this.signedPreKey, this.oneTimePreKey, this.kemPreKey);
    server.publish(this.name, bundle.toBytes());
    bundle.free();
  }

  startSessionWith(peerName) {
    const bundle = PreKeyBundle.fromBytes(server.fetch(peerName));
    this.session = Session.initiate(this.identity, bundle, Mode.Plain, PqPolicy.Required);
    bundle.free();
    this.log(`session started from ${peerName}'s bundle (post-quantum: ${this.session.isPostQuantum})`, 'sys');
  }

  send(text) {
    if (!this.session) {
      this.log('no session yet', 'err');
      return;
    }
    const bytes = this.session.encrypt(utf8.encode(text));
    this.stored = this.session.toBytes();
    this.sent.push(text);
    this.log(text, 'out');
    server.post(this.name, this.peer, bytes);
  }

  receive(bytes) {
    try {
      let plaintext;
      if (!this.session && messageType(bytes) === MessageType.PreKey) {
        const pkm = PreKeyMessage.fromBytes(bytes);
        const accepted = Session.accept(
          this.identity,
          this.signedPreKey,
          pkm,
          pkm.oneTimePreKeyId === this.oneTimePreKey.id ? this.oneTimePreKey : undefined,
          pkm.kemPreKeyId === 1 ? this.kemPreKey : undefined,
          false, // the demo's KEM prekey is a one-time one
          ModePolicy.Any,
          PqPolicy.Required,
        );
        pkm.free();
        this.session = accepted.session;
        plaintext = accepted.plaintext;
        this.log(`session accepted (post-quantum: ${this.session.isPostQuantum}; one-time prekey consumed: ${this.oneTimePreKey.isConsumed})`, 'sys');
      } else {
        plaintext = this.session.decrypt(bytes);
      }
      this.stored = this.session.toBytes();
      const text = fromUtf8.decode(plaintext);
      this.received.push(text);
      this.log(text, 'in');
    } catch (e) {
      if (!(e instanceof ChatcryptError)) throw e;
      this.errors.push(e.codeName);
      this.log(`refused: ${e.message}`, 'err');
    }
  }
}

const parties = {};

async function scripted() {
  await init();
  parties.Alice = new Party('Alice', 'Bob');
  parties.Bob = new Party('Bob', 'Alice');
  const { Alice: alice, Bob: bob } = parties;

  bob.publishBundle();
  alice.startSessionWith('Bob');
  alice.send('Hi Bob, Alice here.');
  server.deliver();
  bob.send('Hi Alice!');
  bob.send('Your first message came through.');
  server.deliver([1, 0]); // out of order
  alice.send('One,');
  alice.send('two,');
  alice.send('three.');
  server.deliver([2, 0, 1]); // out of order
  // The server flips a bit of Bob's next message: Alice refuses it, and
  // the genuine copy still decrypts afterwards.
  bob.send('This one gets tampered with on the way.');
  const genuine = server.queue[0].bytes;
  const forged = genuine.slice();
  forged[forged.length - 5] ^= 0x01;
  server.queue[0] = { ...server.queue[0], bytes: forged };
  server.deliver();
  server.post('Bob', 'Alice', genuine);
  server.deliver();

  const safety = new SafetyNumber(utf8.encode('alice'), alice.identity.publicKey, utf8.encode('bob'), bob.identity.publicKey);
  const theirs = new SafetyNumber(utf8.encode('bob'), bob.identity.publicKey, utf8.encode('alice'), alice.identity.publicKey);
  const safetyMatch = safety.compareScanned(theirs.scannable) && safety.displayable === theirs.displayable;
  alice.log(`safety number ${safety.displayable.replace(/(\d{5})/g, '$1 ')}`, 'sys');

  const same = (a, b) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
  const result = {
    status: 'FAIL',
    aliceSent: alice.sent.length,
    bobSent: bob.sent.length,
    bobDecrypted: bob.received.length,
    aliceDecrypted: alice.received.length,
    refused: alice.errors.concat(bob.errors),
    postQuantum: alice.session.isPostQuantum && bob.session.isPostQuantum,
    safetyNumbersMatch: safetyMatch,
    storedSessionBytes: [alice.stored.length, bob.stored.length],
  };
  const ok =
    same(alice.sent, bob.received) &&
    same(bob.sent, alice.received) &&
    alice.sent.length === 4 &&
    bob.sent.length === 3 &&
    result.refused.join() === 'AUTH' &&
    result.postQuantum &&
    safetyMatch;
  result.status = ok ? 'PASS' : 'FAIL';
  return result;
}

scripted()
  .then((result) => {
    document.getElementById('result').textContent = JSON.stringify(result);
    document.title = `${result.status} chatcrypt demo: ${result.bobDecrypted + result.aliceDecrypted} messages decrypted`;
  })
  .catch((e) => {
    document.getElementById('result').textContent = JSON.stringify({ status: 'FAIL', error: String(e), stack: e.stack });
    document.title = `FAIL chatcrypt demo: ${e}`;
  });
