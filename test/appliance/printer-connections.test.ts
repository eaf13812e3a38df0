import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, test } from 'node:test';
import { packageRoot } from '../../src/paths.js';

// No NetworkManager here: an nmcli stand-in records the calls; S1 is active on moatp000001, S2 fails to come up.
const dir = mkdtempSync(join(tmpdir(), 'moat-printer-connections-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(dir, 'bin');
const log = join(dir, 'calls.log');
mkdirSync(bin);
writeFileSync(
  join(bin, 'nmcli'),
  [
    '#!/bin/sh',
    `echo "$*" >> '${log}'`,
    'case "$*" in',
    '  *"connection show id moat-printer-S1") echo moatp000001 ;;',
    '  *"connection up id moat-printer-S2") exit 1 ;;',
    'esac',
    '',
  ].join('\n'),
);
chmodSync(join(bin, 'nmcli'), 0o755);

function run(connections: string) {
  writeFileSync(log, '');
  const result = spawnSync('sh', [join(packageRoot, 'appliance/printer-connections.sh'), connections], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` },
  });
  return { ...result, calls: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) };
}

test('active printer connections are reapplied, the others brought up, and one failure stops none', () => {
  const connections = join(dir, 'system-connections');
  mkdirSync(connections);
  for (const name of ['moat-printer-S1', 'moat-printer-S2', 'moat-printer-S3', 'moat-segment', 'home-wifi'])
    writeFileSync(join(connections, `${name}.nmconnection`), '[connection]\n');
  const { status, stderr, calls } = run(connections);
  assert.equal(status, 0, stderr);
  assert.deepEqual(calls, [
    '--get-values GENERAL.DEVICES connection show id moat-printer-S1',
    'device reapply moatp000001',
    '--get-values GENERAL.DEVICES connection show id moat-printer-S2',
    '--wait 30 connection up id moat-printer-S2',
    '--get-values GENERAL.DEVICES connection show id moat-printer-S3',
    '--wait 30 connection up id moat-printer-S3',
  ]);
  assert.match(stderr, /moat-printer-S2 did not come up yet/);
});

test('without printer connections nothing is called', () => {
  const { status, calls } = run(join(dir, 'missing'));
  assert.equal(status, 0);
  assert.deepEqual(calls, []);
});
