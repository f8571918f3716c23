// The web page (demo/) in headless Chromium: serves bindings/wasm on
// 127.0.0.1 with node's http module, opens demo/ with Debian's chromium
// (--dump-dom) and checks the result the page wrote after its scripted
// exchange: every message decrypted on the other side, the tampered one
// refused with AUTH. No npm dependency.
//
// CHATCRYPT_CHROMIUM names the browser (default /usr/bin/chromium). Without
// one the test is skipped, unless CHATCRYPT_REQUIRE_CHROMIUM=1 (ci.sh sets
// it, after installing Debian's chromium), which makes that a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHATCRYPT_CHROMIUM || '/usr/bin/chromium';
const REQUIRED = process.env.CHATCRYPT_REQUIRE_CHROMIUM === '1';
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
};

/** Serves ROOT (read-only, nothing outside it) on 127.0.0.1 and a free port. */
function serve() {
  const requests = [];
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    let file = join(ROOT, path);
    if (!file.startsWith(ROOT) || path.split(sep).includes('..')) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    requests.push(path);
    if (!existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, requests })));
}

/** Runs chromium --dump-dom on `url`; resolves with its stdout. */
function dumpDom(url, profile) {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
    `--user-data-dir=${profile}`,
    '--virtual-time-budget=20000',
    '--dump-dom',
    url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(CHROMIUM, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chromium timed out; stderr:\n${err.slice(-2000)}`));
    }, 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0 && !out) reject(new Error(`chromium exited ${code}; stderr:\n${err.slice(-2000)}`));
      else resolve(out);
    });
  });
}

const unescape = (s) =>
  s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

const haveChromium = existsSync(CHROMIUM);

test('the demo page runs the handshake and the chat in headless Chromium', { skip: !haveChromium && !REQUIRED && `no browser at ${CHROMIUM}` }, async () => {
  assert.ok(haveChromium, `CHATCRYPT_REQUIRE_CHROMIUM=1 but there is no browser at ${CHROMIUM}`);
  assert.ok(existsSync(join(ROOT, 'pkg/web/chatcrypt_wasm_bg.wasm')), 'build the package first (build.sh)');
  const { server, requests } = await serve();
  const profile = mkdtempSync(join(tmpdir(), 'chatcrypt-chromium-'));
  try {
    const url = `http://127.0.0.1:${server.address().port}/demo/`;
    const dom = await dumpDom(url, profile);
    const title = /<title>([^<]*)<\/title>/.exec(dom)?.[1] ?? '';
    const pre = /<pre id="result">([^<]*)<\/pre>/.exec(dom)?.[1];
    assert.ok(pre, `no result in the page:\n${dom.slice(0, 2000)}`);
    const result = JSON.parse(unescape(pre));
    assert.equal(result.status, 'PASS', JSON.stringify(result));
    assert.match(unescape(title), /^PASS chatcrypt demo: 7 messages decrypted$/);
    assert.equal(result.aliceSent, 4);
    assert.equal(result.bobSent, 3);
    assert.equal(result.bobDecrypted, 4);
    assert.equal(result.aliceDecrypted, 3);
    assert.deepEqual(result.refused, ['AUTH']);
    assert.equal(result.postQuantum, true);
    assert.equal(result.safetyNumbersMatch, true);
    assert.ok(requests.includes(`${sep}pkg${sep}web${sep}chatcrypt_wasm_bg.wasm`), `the page did not load the module: ${requests}`);
    console.log(`demo in ${CHROMIUM}: ${unescape(title)} ${pre.length} B of result`);
  } finally {
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
