import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readSecret } from '../config/secrets.js';
import { statePaths } from '../config/state-dir.js';
import { ensureStateDir } from '../config/store.js';
import { checkClaimCode, claimCodeBits, claimDevice, ensureClaimCode, isClaimed, normalizeClaimCode } from './claim.js';

const dir = mkdtempSync(join(tmpdir(), 'moat-claim-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fresh(name: string) {
  const paths = statePaths(join(dir, name));
  ensureStateDir(paths);
  return { paths, claimFile: join(dir, name, 'boot', 'nested', 'moat-claim.txt') };
}

test('a claim code has enough entropy and tolerates how people type it', () => {
  assert.ok(claimCodeBits >= 96);
  assert.equal(normalizeClaimCode(' ABCDE fghij-KMNPQ rstuv '), 'abcde-fghij-kmnpq-rstuv');
  assert.equal(normalizeClaimCode('abcde-fghij-kmnpq-rstu0'), undefined, '0 is not in the alphabet');
  assert.equal(normalizeClaimCode('abcde'), undefined);
});

test('the claim code is written to the claim file, kept hashed, and stable across restarts', async () => {
  const { paths, claimFile } = fresh('stable');
  const first = await ensureClaimCode(paths, claimFile);
  assert.ok(first?.created);
  assert.match(readFileSync(claimFile, 'utf8'), new RegExp(first.code ?? 'missing'));
  const stored = readSecret(paths, 'claim-code') ?? '';
  assert.match(stored, /^scrypt\$/);
  assert.ok(first.code && !stored.includes(first.code));
  const again = await ensureClaimCode(paths, claimFile);
  assert.deepEqual(again, { code: first.code, created: false });
});

test('a lost claim file gives a new code and the old one dies', async () => {
  const { paths, claimFile } = fresh('lost');
  const first = await ensureClaimCode(paths, claimFile);
  rmSync(claimFile);
  const second = await ensureClaimCode(paths, claimFile);
  assert.ok(second?.created);
  assert.notEqual(second.code, first?.code);
  assert.equal((await claimDevice(paths, claimFile, first?.code ?? '', 'a long password')).claimed, false);
});

test('only the right code claims, once; racing claims do not both win', async () => {
  const { paths, claimFile } = fresh('once');
  const state = await ensureClaimCode(paths, claimFile);
  assert.ok(state);
  assert.equal((await claimDevice(paths, claimFile, 'abcde-fghij-kmnpq-rstuv', 'a long password')).claimed, false);
  assert.equal(isClaimed(paths), false);
  const code = state.code ?? '';
  const results = await Promise.all([
    claimDevice(paths, claimFile, code, 'first password'),
    claimDevice(paths, claimFile, code, 'second password'),
  ]);
  assert.deepEqual(results.map((r) => r.claimed).sort(), [false, true]);
  assert.equal(isClaimed(paths), true);
  assert.equal(existsSync(claimFile), false);
  assert.equal(readSecret(paths, 'claim-code'), undefined);
  assert.equal(await ensureClaimCode(paths, claimFile), undefined);
});

test('a claim file that cannot be written never replaces a code the owner has', async () => {
  const { paths } = fresh('unwritable');
  const blocker = join(dir, 'unwritable', 'not-a-directory');
  writeFileSync(blocker, '');
  const claimFile = join(blocker, 'moat-claim.txt');
  const first = await ensureClaimCode(paths, claimFile);
  assert.ok(first?.code, 'with no code yet, one is made (shown on the console only)');
  assert.match(first.problem ?? '', /cannot write/);
  const again = await ensureClaimCode(paths, claimFile);
  assert.equal(again?.created, false);
  assert.match(again?.problem ?? '', /earlier code still works/);
  assert.equal(await checkClaimCode(paths, first.code), true);
});

test('an unreadable claim file keeps the stored code; a claim file that cannot be removed does not stop the claim', async () => {
  const { paths, claimFile } = fresh('unreadable');
  const state = await ensureClaimCode(paths, claimFile);
  const code = state?.code ?? '';
  // A directory where the file should be: reading fails (as for a service user on a root-only file).
  rmSync(claimFile);
  mkdirSync(claimFile);
  writeFileSync(join(claimFile, 'keep'), '');
  const kept = await ensureClaimCode(paths, claimFile);
  assert.equal(kept?.code, undefined);
  assert.match(kept?.problem ?? '', /cannot read/);
  assert.equal(await checkClaimCode(paths, code), true);
  const result = await claimDevice(paths, claimFile, code, 'a long password');
  assert.equal(result.claimed, true);
  assert.ok(result.claimFileLeft);
  assert.equal(await checkClaimCode(paths, code), false, 'the code is dead even so');
});
