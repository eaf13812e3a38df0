import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AccessCodeVerifier,
  createAccessCode,
  generateAccessCode,
  hashSecret,
  roleAllows,
  verifySecret,
} from './access-codes.js';

test('a hash verifies its secret and nothing else', async () => {
  const hash = await hashSecret('abcd2345');
  assert.match(hash, /^scrypt\$16384\$8\$1\$/);
  assert.equal(await verifySecret('abcd2345', hash), true);
  assert.equal(await verifySecret('abcd2346', hash), false);
  assert.equal(await verifySecret('abcd2345', 'scrypt$1$1$1$$'), false);
  assert.notEqual(await hashSecret('abcd2345'), hash, 'salted');
});

test('generated codes are 8 unambiguous characters and differ', () => {
  const codes = new Set(Array.from({ length: 200 }, () => generateAccessCode()));
  assert.equal(codes.size, 200);
  for (const code of codes) assert.match(code, /^[a-km-z2-9]{8}$/);
});

test('the verifier finds the entry of a code, forgets revoked codes and rejects unknown ones', async () => {
  const viewer = await createAccessCode('phone', 'viewer');
  const admin = await createAccessCode('laptop', 'admin');
  const config = { accessCodes: [viewer.entry, admin.entry] };
  const verifier = new AccessCodeVerifier(() => config);
  assert.equal((await verifier.verify(admin.code))?.label, 'laptop');
  assert.equal((await verifier.verify(viewer.code))?.role, 'viewer');
  assert.equal(await verifier.verify('wrongcod'), undefined);
  assert.equal(await verifier.verify(''), undefined);
  config.accessCodes = [viewer.entry];
  assert.equal(await verifier.verify(admin.code), undefined, 'a revoked code stops working at once');
});

test('one code presented many times at once is checked once; another code has its own check', async () => {
  const viewer = await createAccessCode('phone', 'viewer');
  const admin = await createAccessCode('laptop', 'admin');
  const verifier = new AccessCodeVerifier(() => ({ accessCodes: [admin.entry, viewer.entry] }));
  const storm = Array.from({ length: 20 }, () => verifier.verify(viewer.code));
  assert.equal(new Set(storm).size, 1, 'the 20 logins share one scrypt check');
  const other = verifier.verify('wrongcod');
  assert.notEqual(other, storm[0]);
  for (const result of await Promise.all(storm)) assert.equal(result?.label, 'phone');
  assert.equal(await other, undefined);
  const again = verifier.verify('wrongcod');
  assert.notEqual(again, other, 'a finished check is not reused');
  assert.equal(await again, undefined);
});

test('roles are ordered viewer < operator < admin', () => {
  assert.ok(roleAllows('admin', 'operator'));
  assert.ok(roleAllows('operator', 'operator'));
  assert.ok(!roleAllows('viewer', 'operator'));
});
