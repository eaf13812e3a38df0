import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'moat-init-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('moat init makes state, certificates and a claim code; run again it changes nothing', () => {
  const state = join(dir, 'state');
  // The claim file goes to a directory that does not exist yet (as /boot/firmware before first boot).
  const claimFile = join(dir, 'boot', 'firmware', 'moat-claim.txt');
  mkdirSync(state, { recursive: true });
  writeFileSync(join(state, 'config.json'), JSON.stringify({ web: { claimFile } }));

  const first = runCli(['init', '--state-dir', state]);
  assert.equal(first.status, 0, first.stderr);
  const code = /claim code: ([a-z2-9-]+)/.exec(first.stdout)?.[1];
  assert.ok(code, first.stdout);
  assert.ok(readFileSync(claimFile, 'utf8').includes(code), 'the claim file holds the code');
  const ca = readFileSync(join(state, 'tls', 'ca.crt'), 'utf8');
  assert.ok(existsSync(join(state, 'tls', 'server.crt')));
  const hash = readFileSync(join(state, 'secrets', 'claim-code'), 'utf8');
  assert.match(hash, /^scrypt\$/);
  assert.ok(!hash.includes(code));
  assert.equal(statSync(join(state, 'secrets', 'claim-code')).mode & 0o077, 0, 'secret readable by owner only');

  const second = runCli(['init', '--state-dir', state]);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`claim code: ${code} \\(unchanged\\)`));
  assert.equal(readFileSync(join(state, 'tls', 'ca.crt'), 'utf8'), ca, 'the CA is kept');

  // Once an admin password exists there is no claim code any more.
  writeFileSync(join(state, 'secrets', 'admin-password'), 'scrypt$16384$8$1$c2FsdA$aGFzaA', { mode: 0o600 });
  const claimed = runCli(['init', '--state-dir', state]);
  assert.equal(claimed.status, 0, claimed.stderr);
  assert.match(claimed.stdout, /already claimed/);
  assert.doesNotMatch(claimed.stdout, /claim code:/);
});
