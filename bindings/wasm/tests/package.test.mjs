// The npm package as a user installs it: pkg/ linked as node_modules/chatcrypt
// in a scratch directory, then `require('chatcrypt')` (CommonJS) and
// `import { ... } from 'chatcrypt'` (an ES module, named exports) in fresh
// node processes, the `exports` map's entry points, and `npm pack --dry-run`
// holding every file the entry points need.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PKG = fileURLToPath(new URL('../pkg', import.meta.url));
const manifest = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8'));

function withInstalled(f) {
  const dir = mkdtempSync(join(tmpdir(), 'chatcrypt-pkg-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(PKG, join(dir, 'node_modules', 'chatcrypt'), 'dir');
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SCRIPT = `
  const a = cc.IdentityKeyPair.generate(), b = cc.IdentityKeyPair.generate();
  const spk = cc.SignedPreKey.generate(b, 1), kem = cc.KemPreKey.generate(b, 2);
  const s = cc.Session.initiate(a, new cc.PreKeyBundle(b, spk, undefined, kem), cc.Mode.Plain, cc.PqPolicy.Required);
  const wire = s.encrypt(new TextEncoder().encode('hi'));
  const got = cc.Session.accept(b, spk, cc.PreKeyMessage.fromBytes(wire), undefined, kem, false, cc.ModePolicy.Any, cc.PqPolicy.Required);
  let code;
  try { got.session.decrypt(wire.slice(0, 40)); } catch (e) { code = e instanceof cc.ChatcryptError && e instanceof Error && e.codeName; }
  console.log(new TextDecoder().decode(got.plaintext), code);
`;

test('package.json names the package, its licence and existing entry points', () => {
  assert.equal(manifest.name, 'chatcrypt');
  assert.equal(manifest.version, '0.1.0');
  assert.equal(manifest.license, 'MIT OR Apache-2.0');
  const targets = [manifest.main, manifest.types, manifest.browser];
  for (const cond of Object.values(manifest.exports['.'])) targets.push(cond.types, cond.default);
  targets.push(manifest.exports['./web'].types, manifest.exports['./web'].default);
  for (const t of targets) assert.ok(existsSync(join(PKG, t)), `${t} is missing`);
  for (const f of manifest.files) assert.ok(existsSync(join(PKG, f)), `files: ${f} is missing`);
});

test('require("chatcrypt") in node: CommonJS, the whole API and ChatcryptError', () => {
  withInstalled((dir) => {
    const out = execFileSync(process.execPath, ['-e', `const cc = require('chatcrypt');${SCRIPT}`], { cwd: dir, encoding: 'utf8' });
    assert.equal(out.trim(), 'hi DECODE_TRUNCATED');
  });
});

test('import { ... } from "chatcrypt" in node: named exports from an ES module', () => {
  withInstalled((dir) => {
    const names = 'IdentityKeyPair, SignedPreKey, KemPreKey, Session, PreKeyBundle, PreKeyMessage, Mode, ModePolicy, PqPolicy, ChatcryptError';
    const code = `import { ${names} } from 'chatcrypt'; const cc = { ${names} };${SCRIPT}`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, encoding: 'utf8' });
    assert.equal(out.trim(), 'hi DECODE_TRUNCATED');
    const resolved = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "console.log(import.meta.resolve('chatcrypt'), import.meta.resolve('chatcrypt/web'))"],
      { cwd: dir, encoding: 'utf8' },
    );
    assert.match(resolved, /\/node\/index\.js file:.*\/web\/index\.js$/m);
  });
});

test('npm pack holds every file of both entry points', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: PKG, encoding: 'utf8' });
  const [packed] = JSON.parse(out);
  const files = packed.files.map((f) => f.path).sort();
  assert.deepEqual(files, [...manifest.files, 'package.json'].sort());
  assert.equal(packed.name, 'chatcrypt');
});
