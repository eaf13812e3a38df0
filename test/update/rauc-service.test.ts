import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { packageRoot } from '../../src/paths.js';
import { installBundle, type RaucOptions, systemState } from '../../src/update/rauc.js';
import { runSync } from '../helpers/process.js';
import { raucMissing, updateFixture } from '../helpers/rauc.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The real RAUC service (`rauc service`) on a private system bus (dbus-daemon) with the appliance's
 * system.conf (slots are plain files here), the committed boot-state backend, and the committed D-Bus policy
 * that lets Moat's user talk to RAUC (applied to `nobody`, the user the test switches to with setpriv).
 * What this machine cannot do: mount a verity bundle (no device-mapper), so a good bundle's install is not run.
 */

const skip =
  raucMissing ||
  (process.getuid?.() !== 0 ? 'needs root (setpriv to another user, RAUC writing its slots)' : false) ||
  (spawnSync('dbus-daemon', ['--version']).status !== 0
    ? 'dbus-daemon is not installed (apt-get install dbus-daemon)'
    : false);

const dir = mkdtempSync(join(tmpdir(), 'moat-rauc-service-'));
const bus = join(dir, 'bus.sock');
const bootState = join(dir, 'moat-boot.env');
const slotB = join(dir, 'slot-b.img');
const children: ChildProcess[] = [];
let env: NodeJS.ProcessEnv = {};
let options: RaucOptions;
let foreign = '';
let good = '';

function busConfig(): string {
  const policy = readFileSync(join(packageRoot, 'appliance', 'dbus', 'moat-rauc.conf'), 'utf8').replace(
    'user="moat"',
    'user="nobody"',
  );
  writeFileSync(join(dir, 'moat-rauc.conf'), policy);
  // A system bus as Debian's: nobody may call methods unless a policy says so; root may do anything.
  const conf = join(dir, 'bus.conf');
  writeFileSync(
    conf,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${bus}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <allow own="*"/>
    <allow send_destination="*"/>
  </policy>
  <include>${join(dir, 'moat-rauc.conf')}</include>
</busconfig>
`,
  );
  return conf;
}

function raucConf(keyring: string): string {
  const backend = join(dir, 'backend.sh');
  writeFileSync(
    backend,
    `#!/bin/sh\nMOAT_BOOT_STATE='${bootState}' exec sh '${join(packageRoot, 'appliance', 'rauc', 'boot-state.sh')}' "$@"\n`,
  );
  chmodSync(backend, 0o755);
  writeFileSync(join(dir, 'slot-a.img'), Buffer.alloc(8 * 1024 * 1024));
  writeFileSync(slotB, Buffer.alloc(8 * 1024 * 1024));
  const conf = readFileSync(join(packageRoot, 'appliance', 'rauc', 'system.conf'), 'utf8')
    .replace(/^path=.*$/m, `path=${keyring}`)
    .replace(/^data-directory=.*$/m, `data-directory=${join(dir, 'rauc-data')}`)
    .replace(/^bootloader-custom-backend=.*$/m, `bootloader-custom-backend=${backend}`)
    .replace('/dev/disk/by-partuuid/4d4f4154-02', join(dir, 'slot-a.img'))
    .replace('/dev/disk/by-partuuid/4d4f4154-03', slotB);
  mkdirSync(join(dir, 'rauc-data'));
  const file = join(dir, 'system.conf');
  writeFileSync(file, conf);
  return file;
}

function start(command: string, args: string[]): void {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  child.stderr?.resume();
  children.push(child);
}

/** A command as the user Moat's service runs as (nobody here), on the private bus. */
function asMoat(command: string, args: string[]) {
  return runSync(
    'setpriv',
    ['--reuid=nobody', '--regid=nogroup', '--clear-groups', command, ...args],
    30_000,
    undefined,
    env,
  );
}

before(async () => {
  if (skip) return;
  chmodSync(dir, 0o755);
  const fixture = updateFixture(join(dir, 'fixture'), '0.5.0');
  foreign = fixture.foreign;
  good = fixture.good;
  env = { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${bus}` };
  const systemConf = raucConf(join(fixture.keys, 'keyring.pem'));
  options = { command: 'rauc', systemConf };
  writeFileSync(bootState, 'BOOT_ORDER=A B\nBOOT_A_LEFT=1\nBOOT_B_LEFT=3\n');
  start('dbus-daemon', ['--config-file', busConfig(), '--nofork']);
  await waitFor(() => existsSync(bus), { what: 'the private system bus', timeoutMs: 20_000 });
  start('rauc', ['service', `--conf=${systemConf}`, '--override-boot-slot=A']);
  await waitFor(() => runSync('rauc', ['status'], 10_000, undefined, env).code === 0, {
    what: 'the RAUC service on the bus',
    timeoutMs: 30_000,
    intervalMs: 200,
  });
  // Moat's code reads the bus address from its environment, as on the appliance.
  process.env.DBUS_SYSTEM_BUS_ADDRESS = env.DBUS_SYSTEM_BUS_ADDRESS;
});

after(() => {
  for (const child of children.reverse()) child.kill();
  rmSync(dir, { recursive: true, force: true });
});

test("Moat's user reads the slots through the policy; Moat parses the real service's answer", { skip }, async () => {
  const status = asMoat('rauc', ['status', '--detailed', '--output-format=json']);
  assert.equal(status.code, 0, status.stderr);
  const state = await systemState(options);
  assert.equal(state.booted, 'A');
  assert.deepEqual(state.slots.map((s) => [s.bootname, s.booted, s.primary, s.bootStatus]).sort(), [
    ['A', true, true, 'good'],
    ['B', false, false, 'good'],
  ]);
});

test("Moat's user may not mark slots: that stays with root", { skip }, () => {
  const before = readFileSync(bootState, 'utf8');
  const refused = asMoat('rauc', ['status', 'mark-good']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /Rejected send message/);
  assert.equal(readFileSync(bootState, 'utf8'), before);
});

test('rauc status mark-good (moat-mark-good.service) reaches the backend: the booted slot gets its attempts back', {
  skip,
}, () => {
  const marked = runSync('rauc', ['status', 'mark-good'], 30_000, undefined, env);
  assert.equal(marked.code, 0, marked.stderr);
  assert.match(readFileSync(bootState, 'utf8'), /^BOOT_A_LEFT=3$/m);
  // And activating the other slot is RAUC's set-primary: B first, on trial.
  const active = runSync('rauc', ['status', 'mark-active', 'other'], 30_000, undefined, env);
  assert.equal(active.code, 0, active.stderr);
  assert.match(readFileSync(bootState, 'utf8'), /^BOOT_ORDER=B A$/m);
  assert.equal(readFileSync(join(dir, 'moat-boot.trial'), 'utf8').trim(), 'B');
  assert.equal(runSync('rauc', ['status', 'mark-active', 'booted'], 30_000, undefined, env).code, 0);
  assert.match(readFileSync(bootState, 'utf8'), /^BOOT_ORDER=A B$/m);
});

test('the real service refuses a foreign bundle from Moat: the other slot and the boot state stay untouched', {
  skip,
}, async () => {
  const before = readFileSync(bootState, 'utf8');
  const viaPolicy = asMoat('rauc', ['install', foreign]);
  assert.notEqual(viaPolicy.code, 0);
  assert.match(viaPolicy.stdout + viaPolicy.stderr, /signature/i);
  await assert.rejects(
    installBundle(options, foreign, () => {}),
    /RAUC could not install the bundle: signature verification failed/,
  );
  assert.ok(
    readFileSync(slotB).every((byte) => byte === 0),
    'slot B was not written',
  );
  assert.equal(readFileSync(bootState, 'utf8'), before);
});

test("a good bundle uploaded by Moat (its own 0600 file in a 0700 directory) passes RAUC's checks up to mounting it", {
  skip,
}, () => {
  const uploads = join(dir, 'moat-update');
  mkdirSync(uploads, { mode: 0o700 });
  const pending = join(uploads, 'pending.raucb');
  writeFileSync(pending, readFileSync(good), { mode: 0o600 });
  for (const path of [uploads, pending]) runSync('chown', ['nobody:nogroup', path]);
  const result = asMoat('rauc', ['install', pending]);
  if (existsSync('/dev/mapper/control')) {
    // A kernel with device-mapper: the real install runs and writes the other slot.
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.ok(!readFileSync(slotB).every((byte) => byte === 0), 'slot B was written');
  } else {
    // Without it RAUC stops where it mounts the verity bundle: ownership, signature and manifest all passed.
    assert.match(result.stdout, /Checking manifest contents done\./);
    assert.match(result.stdout, /LastError: Failed mounting bundle: Failed to open \/dev\/mapper\/control/);
  }
});
