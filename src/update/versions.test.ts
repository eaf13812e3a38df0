import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareVersions, downgradeRefusal } from './versions.js';

test('versions compare by Semantic Versioning precedence', () => {
  const ascending = [
    '0.9.9',
    '0.10.0-alpha',
    '0.10.0-alpha.1',
    '0.10.0-alpha.beta',
    '0.10.0-beta.2',
    '0.10.0-beta.11',
    '0.10.0-rc.1',
    '0.10.0',
    '0.10.1',
    '1.0.0',
  ];
  ascending.forEach((a, i) => {
    ascending.forEach((b, j) => {
      assert.equal(compareVersions(a, b), Math.sign(i - j), `${a} vs ${b}`);
    });
  });
  // Build metadata is not part of the order: a rebuild of the same version is the same version.
  assert.equal(compareVersions('0.2.0+n1', '0.2.0'), 0);
  assert.equal(compareVersions('0.2.0+n2', '0.2.0+n1'), 0);
  for (const bad of ['', '1.2', 'v1.2.3', '1.2.3.4', '01.2.3', '1.2.3-', 'latest'])
    assert.equal(compareVersions(bad, '1.2.3'), undefined, bad);
});

test('an older bundle, or one without a comparable version, needs the owner to allow it', () => {
  assert.equal(downgradeRefusal('0.2.0', '0.1.0'), undefined);
  assert.equal(downgradeRefusal('0.1.0+n1', '0.1.0'), undefined, 'the same version again may be installed');
  assert.match(downgradeRefusal('0.1.0', '0.2.0') ?? '', /version 0\.1\.0, older than the running 0\.2\.0/);
  assert.match(downgradeRefusal('nightly', '0.2.0') ?? '', /"nightly" cannot be compared/);
});
