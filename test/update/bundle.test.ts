import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BundleRefused, checkBundle, type RaucOptions } from '../../src/update/rauc.js';
import { buildBundle, fakeRootfs, handMadeBundle, raucMissing, signingKey, testSystemConf } from '../helpers/rauc.js';

/** os-image/bundle.sh and the check Moat runs before any install, with the real rauc host tool. */

const skip = raucMissing;
const dir = mkdtempSync(join(tmpdir(), 'moat-bundle-'));
const keys = join(dir, 'keys');
const out = join(dir, 'out');
let rootfs = '';
let bundle = '';
let options: RaucOptions;
after(() => rmSync(dir, { recursive: true, force: true }));

before(() => {
  if (skip) return;
  rootfs = fakeRootfs(dir, 'version-2');
  const built = buildBundle(rootfs, '0.2.0', out, keys);
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, /making a development key/);
  bundle = join(out, 'moat-0.2.0-arm64.raucb');
  options = { command: 'rauc', systemConf: testSystemConf(dir, join(keys, 'keyring.pem')) };
});

test('bundle.sh makes a development key once, private to the builder, and reuses it', { skip }, () => {
  assert.equal(statSync(join(keys, 'key.pem')).mode & 0o077, 0, 'key.pem is readable by others');
  const firstCert = readFileSync(join(keys, 'keyring.pem'), 'utf8');
  assert.match(firstCert, /BEGIN CERTIFICATE/);
  const again = buildBundle(rootfs, '0.2.1', out, keys);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /making a development key/);
  assert.equal(readFileSync(join(keys, 'keyring.pem'), 'utf8'), firstCert);
  assert.ok(existsSync(join(out, 'moat-0.2.1-arm64.raucb')));
});

test('a bundle from bundle.sh verifies against the keyring: version, compatible, signer', { skip }, async () => {
  const info = await checkBundle(options, bundle);
  assert.equal(info.version, '0.2.0');
  assert.equal(info.compatible, 'moat-rpi-arm64');
  assert.match(info.signer, /Moat development update key/);
});

test('a bundle signed by a foreign key is refused', { skip }, async () => {
  const foreign = signingKey(join(dir, 'foreign'));
  const bad = handMadeBundle(dir, rootfs, { compatible: 'moat-rpi-arm64', version: '9.9.9', ...foreign });
  await assert.rejects(checkBundle(options, bad), (error: Error) => {
    assert.ok(error instanceof BundleRefused, String(error));
    assert.match(error.message, /not signed with this Moat's update key/);
    return true;
  });
});

test('a truncated bundle is refused', { skip }, async () => {
  const cut = join(dir, 'cut.raucb');
  writeFileSync(cut, readFileSync(bundle));
  truncateSync(cut, statSync(cut).size - 4096);
  await assert.rejects(checkBundle(options, cut), /damaged or incomplete/);
  truncateSync(cut, 100);
  await assert.rejects(checkBundle(options, cut), BundleRefused);
});

test('a bundle for another compatible, even signed with our key, is refused', { skip }, async () => {
  const other = handMadeBundle(dir, rootfs, {
    compatible: 'someone-elses-board',
    version: '0.2.0',
    key: join(keys, 'key.pem'),
    cert: join(keys, 'keyring.pem'),
  });
  await assert.rejects(checkBundle(options, other), /for "someone-elses-board"; this Moat takes only "moat-rpi-arm64"/);
});

test('a plain-format bundle and one without a system image, both signed with our key, are refused', {
  skip,
}, async () => {
  const ours = { key: join(keys, 'key.pem'), cert: join(keys, 'keyring.pem') };
  const plain = handMadeBundle(dir, rootfs, {
    compatible: 'moat-rpi-arm64',
    version: '0.2.0',
    format: 'plain',
    ...ours,
  });
  await assert.rejects(checkBundle(options, plain), /only verity bundles \(Bundle format 'plain' not allowed\)/);
  const noRootfs = handMadeBundle(dir, rootfs, {
    compatible: 'moat-rpi-arm64',
    version: '0.2.0',
    slotClass: 'appfs',
    ...ours,
  });
  await assert.rejects(checkBundle(options, noRootfs), /holds no system image \(rootfs\)/);
});

test('bundle.sh refuses a bad version and a missing root filesystem, writing nothing', { skip }, () => {
  const badVersion = buildBundle(rootfs, '1.0; rm -rf /', join(dir, 'none'), keys);
  assert.equal(badVersion.code, 2);
  assert.match(badVersion.stderr, /bad version/);
  const missing = buildBundle(join(dir, 'nope.ext4'), '1.0.0', join(dir, 'none'), keys);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no root filesystem image/);
  assert.equal(existsSync(join(dir, 'none')), false);
});
