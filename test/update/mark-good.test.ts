import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { packageRoot } from '../../src/paths.js';
import { runSync } from '../helpers/process.js';

/**
 * appliance/mark-good.sh (moat-mark-good.service) with the real boot-state backend: stand-ins only for the
 * two commands that need a running appliance, `moat health` (healthy or not, as the test says) and `rauc`
 * (which, like the real service, calls the backend's set-state for the booted slot).
 */

const dir = mkdtempSync(join(tmpdir(), 'moat-mark-good-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(dir, 'bin');
const libexec = join(dir, 'libexec');
const state = join(dir, 'moat-boot.env');
const raucLog = join(dir, 'rauc.log');
const cmdline = join(dir, 'cmdline');
const backend = join(packageRoot, 'appliance', 'rauc', 'boot-state.sh');
mkdirSync(bin);
mkdirSync(libexec);
symlinkSync(backend, join(libexec, 'rauc-boot-state'));
writeFileSync(join(bin, 'moat'), '#!/bin/sh\necho "moat $*" >>"$FAKE_LOG"\nexit "$FAKE_HEALTH"\n');
writeFileSync(
  join(bin, 'rauc'),
  '#!/bin/sh\necho "rauc $*" >>"$FAKE_LOG"\nexec "$MOAT_LIBEXEC/rauc-boot-state" set-state "$FAKE_SLOT" good\n',
);
chmodSync(join(bin, 'moat'), 0o755);
chmodSync(join(bin, 'rauc'), 0o755);

function markGood(slot: string | undefined, healthy: boolean) {
  writeFileSync(cmdline, `console=ttyAMA0 root=PARTUUID=1234-02 ro${slot ? ` rauc.slot=${slot}` : ''}\n`);
  rmSync(raucLog, { force: true });
  const result = runSync('sh', [join(packageRoot, 'appliance', 'mark-good.sh')], 10_000, undefined, {
    PATH: `${bin}:${process.env.PATH}`,
    MOAT_LIBEXEC: libexec,
    MOAT_CMDLINE: cmdline,
    MOAT_BOOT_STATE: state,
    MOAT_MARK_GOOD_WAIT: '7',
    FAKE_LOG: raucLog,
    FAKE_HEALTH: healthy ? '0' : '1',
    FAKE_SLOT: slot ?? '',
  });
  return { ...result, calls: existsSync(raucLog) ? readFileSync(raucLog, 'utf8').trim().split('\n') : [] };
}

function backendSays(...args: string[]): string {
  return runSync('sh', [backend, ...args], 10_000, undefined, { MOAT_BOOT_STATE: state }).stdout.trim();
}

test('without rauc.slot on the command line (not booted by the A/B script) it does nothing', () => {
  const result = markGood(undefined, false);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.calls, []);
  assert.match(result.stdout, /nothing to do/);
});

test('a healthy Moat on the new slot: marked good (attempts back, trial over)', () => {
  backendSays('set-primary', 'B');
  assert.equal(backendSays('get-trial', 'B'), 'yes');
  const result = markGood('B', true);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.calls, ['moat health --state-dir /var/lib/moat --wait 7', 'rauc status mark-good']);
  assert.equal(backendSays('get-trial', 'B'), 'no');
  assert.equal(backendSays('get-state', 'B'), 'good');
});

test('an unhealthy Moat on a slot on trial: exit 1, so the unit reboots and the boot loader counts it', () => {
  backendSays('set-primary', 'A');
  const result = markGood('A', false);
  assert.equal(result.code, 1);
  assert.deepEqual(result.calls, ['moat health --state-dir /var/lib/moat --wait 7'], 'never marked good');
  assert.match(result.stderr, /rebooting so the boot loader can fall back/);
  assert.equal(backendSays('get-trial', 'A'), 'yes');
});

test('an unhealthy Moat on a proven slot: no reboot loop, the system stays up', () => {
  backendSays('set-state', 'A', 'good');
  const result = markGood('A', false);
  assert.equal(result.code, 0);
  assert.deepEqual(result.calls, ['moat health --state-dir /var/lib/moat --wait 7']);
  assert.match(result.stderr, /which was good before: staying up/);
});
