import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'moat-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const state = join(dir, 'state');

test('moat --version prints the package version', () => {
  const { status, stdout } = runCli(['--version']);
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.equal(status, 0);
  assert.equal(stdout.trim(), pkg.version);
});

test('an unknown command fails with the usage', () => {
  const { status, stderr } = runCli(['frobnicate']);
  assert.equal(status, 2);
  assert.match(stderr, /unknown command "frobnicate"/);
  assert.match(stderr, /cert export/);
});

test('cert export writes the same CA that cert show fingerprints, and keeps it across runs', () => {
  const out = join(dir, 'ca.pem');
  const exported = runCli(['cert', 'export', '--out', out, '--state-dir', state]);
  assert.equal(exported.status, 0, exported.stderr);
  assert.equal(readFileSync(out, 'utf8'), readFileSync(join(state, 'tls', 'ca.crt'), 'utf8'));
  const shown = runCli(['cert', 'show', '--state-dir', state]);
  assert.equal(shown.status, 0);
  const fingerprint = /SHA-256:\s+([0-9A-F:]{95})/.exec(shown.stdout)?.[1];
  assert.ok(fingerprint, shown.stdout);
  assert.ok(exported.stderr.includes(fingerprint));
  const again = runCli(['cert', 'export', '--state-dir', state]);
  assert.equal(again.stdout, readFileSync(out, 'utf8'));
});

test('access codes are shown once, listed without the code, and revocable', () => {
  const added = runCli(['access-code', 'add', '--label', 'kitchen tablet', '--role', 'viewer', '--state-dir', state]);
  assert.equal(added.status, 0, added.stderr);
  const code = /: ([a-z0-9]{8})\n/.exec(added.stdout)?.[1];
  assert.ok(code);
  const listed = runCli(['access-code', 'list', '--state-dir', state]);
  assert.match(listed.stdout, /viewer\s+kitchen tablet/);
  assert.ok(!listed.stdout.includes(code));
  assert.ok(!readFileSync(join(state, 'config.json'), 'utf8').includes(code), 'only the hash is stored');
  assert.equal(runCli(['access-code', 'add', '--label', 'x', '--role', 'root', '--state-dir', state]).status, 2);
  assert.equal(runCli(['access-code', 'revoke', 'kitchen tablet', '--state-dir', state]).status, 0);
  assert.match(runCli(['access-code', 'list', '--state-dir', state]).stdout, /no access codes/);
});

test('config check names the bad field', () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ printers: [{ serial: 'S1', model: 'X9', address: '192.0.2.10' }] }));
  const { status, stderr } = runCli(['config', 'check', bad]);
  assert.equal(status, 2);
  assert.match(stderr, /printers\[0\]\.model: expected one of X1C/);
  writeFileSync(bad, JSON.stringify({ ports: { https: 'four-four-three' } }));
  assert.match(runCli(['config', 'check', bad]).stderr, /ports\.https: expected an integer/);
});

test('reset wipes configuration, keys and secrets, and needs --yes', () => {
  assert.ok(existsSync(join(state, 'tls', 'ca.key')));
  assert.equal(runCli(['reset', '--state-dir', state]).status, 2);
  assert.ok(existsSync(join(state, 'tls', 'ca.key')));
  const { status } = runCli(['reset', '--yes', '--state-dir', state]);
  assert.equal(status, 0);
  assert.deepEqual(readdirSync(state), []);
});
