import assert from 'node:assert/strict';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cliPath } from '../helpers/cli.js';
import { run } from '../helpers/process.js';
import { handMadeBundle, raucMissing, type UpdateFixture, updateFixture } from '../helpers/rauc.js';

/**
 * `moat update install FILE|URL` and `moat update status`, the compiled CLI with the real `rauc info` for the
 * bundle check and a stand-in for `rauc status`/`install` (they need a real system slot). URLs are served by a
 * plain HTTP server on loopback.
 */

const skip = raucMissing;
const dir = mkdtempSync(join(tmpdir(), 'moat-update-cli-'));
let fixture: UpdateFixture;
let env: NodeJS.ProcessEnv = {};
let server: Server;
let baseUrl = '';

before(async () => {
  if (skip) return;
  fixture = updateFixture(dir, '0.4.0');
  // The stand-in's install finishes at once here: the CLI prints progress as it comes.
  writeFileSync(join(fixture.fake, 'go'), '');
  env = { PATH: `${fixture.bin}:${process.env.PATH}`, MOAT_RAUC_CONF: fixture.systemConf };
  server = createServer((req, res) => {
    if (req.url === '/moat.raucb') createReadStream(fixture.good).pipe(res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const moat = (...args: string[]) => run(process.execPath, [cliPath, ...args], 60_000, undefined, env);

test('update status names the running slot, the next one and their versions', { skip }, async () => {
  const result = await moat('update', 'status');
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Slot A: version from the image, good \(running, boots next\)$/m);
  assert.match(result.stdout, /^Slot B: version 0\.0\.9, good$/m);
  const json = JSON.parse((await moat('update', 'status', '--json')).stdout) as { booted: string };
  assert.equal(json.booted, 'A');
});

test('update install FILE: checked, then installed with progress', { skip }, async () => {
  const result = await moat('update', 'install', fixture.good);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Bundle: version 0\.4\.0 for moat-rpi-arm64, signed by .*Moat development update key/);
  assert.match(result.stdout, /^ 40% Copying image to rootfs\.1$/m);
  assert.match(result.stdout, /Version 0\.4\.0 is installed in the other slot/);
  assert.deepEqual(readFileSync(join(fixture.fake, 'installed.raucb')), readFileSync(fixture.good));
});

test('update install URL downloads over HTTP and installs the same bundle', { skip }, async () => {
  rmSync(join(fixture.fake, 'installed.raucb'));
  const result = await moat('update', 'install', `${baseUrl}/moat.raucb`, '--download-dir', dir);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(readFileSync(join(fixture.fake, 'installed.raucb')), readFileSync(fixture.good));
  const missing = await moat('update', 'install', `${baseUrl}/nothing.raucb`);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /HTTP 404/);
});

test('update install refuses an older bundle unless --allow-downgrade is given', { skip }, async () => {
  rmSync(join(fixture.fake, 'installed.raucb'), { force: true });
  const older = handMadeBundle(dir, fixture.rootfs, {
    compatible: 'moat-rpi-arm64',
    version: '0.0.5',
    key: join(fixture.keys, 'key.pem'),
    cert: join(fixture.keys, 'keyring.pem'),
  });
  const refused = await moat('update', 'install', older);
  assert.equal(refused.code, 2);
  assert.match(
    refused.stderr,
    /version 0\.0\.5, older than the running 0\.1\.0\. Nothing was installed; add --allow-downgrade/,
  );
  assert.equal(existsSync(join(fixture.fake, 'installed.raucb')), false, 'rauc install never ran');
  const allowed = await moat('update', 'install', older, '--allow-downgrade');
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.deepEqual(readFileSync(join(fixture.fake, 'installed.raucb')), readFileSync(older));
});

test('update install refuses a foreign bundle before installing anything, and bad arguments', { skip }, async () => {
  rmSync(join(fixture.fake, 'installed.raucb'), { force: true });
  const result = await moat('update', 'install', fixture.foreign);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /not signed with this Moat's update key/);
  assert.equal(existsSync(join(fixture.fake, 'installed.raucb')), false, 'rauc install never ran');
  const ftp = await moat('update', 'install', 'ftp://127.0.0.1/x.raucb');
  assert.match(ftp.stderr, /only http:\/\/ and https:\/\/ URLs or a file/);
  const none = await moat('update', 'install');
  assert.match(none.stderr, /usage: moat update install FILE\|URL/);
});
