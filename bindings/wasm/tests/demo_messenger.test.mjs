// The messenger demo page (demo/messenger.html) in headless Chromium: two
// users, Alice with one device and Bob with two, chat through session
// records in the browser; the test checks what the page wrote after its
// scripted exchange. Skipped without a browser unless
// CHATCRYPT_REQUIRE_CHROMIUM=1 (ci.sh), as demo.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { CHROMIUM, REQUIRED, ROOT, dumpDom, haveChromium, serve, unescape } from './browser.mjs';

test('two users\' devices chat through session records in headless Chromium', { skip: !haveChromium && !REQUIRED && `no browser at ${CHROMIUM}` }, async () => {
  assert.ok(haveChromium, `CHATCRYPT_REQUIRE_CHROMIUM=1 but there is no browser at ${CHROMIUM}`);
  assert.ok(existsSync(join(ROOT, 'pkg/web/chatcrypt_wasm_bg.wasm')), 'build the package first (build.sh)');
  const { server, requests } = await serve();
  const profile = mkdtempSync(join(tmpdir(), 'chatcrypt-chromium-'));
  try {
    const dom = await dumpDom(`http://127.0.0.1:${server.address().port}/demo/messenger.html`, profile);
    const title = /<title>([^<]*)<\/title>/.exec(dom)?.[1] ?? '';
    const pre = /<pre id="result">([^<]*)<\/pre>/.exec(dom)?.[1];
    assert.ok(pre, `no result in the page:\n${dom.slice(0, 2000)}`);
    const result = JSON.parse(unescape(pre));
    assert.equal(result.status, 'PASS', JSON.stringify(result));
    assert.equal(unescape(title), 'PASS chatcrypt messenger demo: 8 messages decrypted');
    const toBob = ['Hi Bob, on all your devices', 'Both arrived', 'this one is sealed'];
    assert.deepEqual(result.phoneReceived, toBob);
    assert.deepEqual(result.laptopReceived, toBob);
    assert.deepEqual(result.aliceReceived, ['Hi Alice, from my phone', 'and from my laptop']);
    assert.deepEqual(result.refused, ['DUPLICATE']);
    assert.deepEqual(result.bobDevices, [1, 2]);
    assert.equal(result.safetyNumbersMatch, true);
    assert.ok(requests.includes(`${sep}pkg${sep}web${sep}chatcrypt_wasm_bg.wasm`), `the page did not load the module: ${requests}`);
    console.log(`messenger demo in ${CHROMIUM}: ${unescape(title)}`);
  } finally {
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
