import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { serviceEnvironment, serviceNodeFlags } from '../../src/appliance/node-flags.js';
import { packageRoot } from '../../src/paths.js';
import { restartRequestName } from '../../src/update/restart.js';

const unitsDir = join(packageRoot, 'appliance', 'systemd');
const units = readdirSync(unitsDir).sort();
const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const skip = analyze.status === 0 ? false : 'systemd-analyze is not installed (apt-get install systemd)';
const dir = mkdtempSync(join(tmpdir(), 'moat-units-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The unit's directives, in order, as [key, value] pairs (comments and section headers dropped). */
function directives(name: string): [string, string][] {
  return readFileSync(join(unitsDir, name), 'utf8')
    .split('\n')
    .filter((line) => /^[A-Za-z]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
}

function values(name: string, key: string): string[] {
  return directives(name)
    .filter(([k]) => k === key)
    .map(([, v]) => v);
}

test('moat.service runs as its own user with exactly CAP_NET_BIND_SERVICE and CAP_NET_ADMIN', () => {
  assert.deepEqual(values('moat.service', 'User'), ['moat']);
  assert.deepEqual(values('moat.service', 'Group'), ['moat']);
  for (const key of ['AmbientCapabilities', 'CapabilityBoundingSet']) {
    assert.deepEqual(
      values('moat.service', key).join(' ').split(/\s+/).sort(),
      ['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE'],
      key,
    );
  }
  assert.deepEqual(values('moat.service', 'NoNewPrivileges'), ['yes']);
  assert.deepEqual(values('moat.service', 'ProtectSystem'), ['strict']);
  assert.deepEqual(values('moat.service', 'StateDirectory'), ['moat']);
  assert.deepEqual(values('moat.service', 'ExecStart'), [
    `/usr/bin/node ${serviceNodeFlags.join(' ')} /opt/moat/dist/src/cli.js serve --state-dir /var/lib/moat`,
  ]);
  for (const [name, value] of Object.entries(serviceEnvironment))
    assert.ok(values('moat.service', 'Environment').includes(`${name}=${value}`), `Environment=${name}=${value}`);
  // nft talks to the kernel over netlink: without AF_NETLINK the firewall cannot be applied.
  assert.deepEqual(values('moat.service', 'RestrictAddressFamilies').join(' ').split(' ').sort(), [
    'AF_INET',
    'AF_INET6',
    'AF_NETLINK',
    'AF_UNIX',
  ]);
  assert.deepEqual(values('moat.service', 'Restart'), ['on-failure']);
  assert.ok(values('moat.service', 'StartLimitBurst').length === 1, 'restart is rate limited');
  assert.match(values('moat.service', 'ExecStartPost')[0] ?? '', / health --state-dir \/var\/lib\/moat --wait \d+$/);
});

test("the setup page's restart reaches systemd: moat-reboot.path watches the file Moat writes in its runtime directory", () => {
  assert.deepEqual(values('moat.service', 'RuntimeDirectory'), ['moat']);
  assert.deepEqual(values('moat-reboot.path', 'PathExists'), [`/run/moat/${restartRequestName}`]);
  assert.deepEqual(values('moat-reboot.path', 'Unit'), ['moat-reboot.service']);
  assert.deepEqual(values('moat-reboot.service', 'ExecStart'), ['/usr/bin/systemctl --no-block reboot']);
  assert.deepEqual(values('moat-reboot.service', 'CapabilityBoundingSet'), ['']);
  assert.match(
    readFileSync(join(packageRoot, 'appliance', 'install.sh'), 'utf8'),
    /enable (?:[^\n]|\\\n)*moat-reboot\.path/,
  );
});

test('the Node flags moat.service starts with are accepted by this Node (a flag it does not know stops the start)', () => {
  const result = spawnSync(process.execPath, [...serviceNodeFlags, '-e', 'process.exit(0)'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
});

test('the first-boot unit runs moat init (through the first-boot script) once, by its marker on the data partition', () => {
  assert.deepEqual(values('moat-firstboot.service', 'ExecStart'), ['/usr/lib/moat/firstboot']);
  // The root is read-only: the unit cannot disable itself, the marker in /var/lib/moat stops a second run.
  assert.deepEqual(values('moat-firstboot.service', 'ConditionPathExists'), ['!/var/lib/moat/.firstboot-done']);
  assert.match(
    readFileSync(join(packageRoot, 'appliance', 'firstboot.sh'), 'utf8'),
    /^touch "\$state\/\.firstboot-done"$/m,
  );
  assert.match(
    readFileSync(join(packageRoot, 'appliance', 'firstboot.sh'), 'utf8'),
    // Its output (the claim code) must not reach the journal.
    /^moat init --state-dir "\$state" >\/dev\/null$/m,
  );
  assert.match(values('moat-firstboot.service', 'Before').join(' '), /\bmoat\.service\b/);
});

test('systemd-analyze verify accepts every unit', { skip }, () => {
  // A scratch root: the units where the image puts them, the host's systemd units for the targets they
  // name, and every command they run (the image has the real ones; inspect.sh checks those).
  const root = join(dir, 'root');
  const system = join(root, 'etc', 'systemd', 'system');
  mkdirSync(system, { recursive: true });
  cpSync('/usr/lib/systemd/system', join(root, 'usr', 'lib', 'systemd', 'system'), { recursive: true });
  for (const unit of units) {
    cpSync(join(unitsDir, unit), join(system, unit));
    for (const [key, value] of directives(unit)) {
      if (!key.startsWith('Exec')) continue;
      const command = value.replace(/^[-+!@:]+/, '').split(' ')[0] ?? '';
      mkdirSync(join(root, dirname(command)), { recursive: true });
      writeFileSync(join(root, command), '#!/bin/sh\n');
      chmodSync(join(root, command), 0o755);
    }
  }
  const result = spawnSync(
    'systemd-analyze',
    ['verify', `--root=${root}`, ...units.map((u) => `/etc/systemd/system/${u}`)],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr.trim(), '', result.stderr);

  // The check can fail: an unknown directive is reported.
  writeFileSync(
    join(system, 'moat.service'),
    `${readFileSync(join(unitsDir, 'moat.service'), 'utf8')}\n[Service]\nNoSuchSetting=1\n`,
  );
  const broken = spawnSync('systemd-analyze', ['verify', `--root=${root}`, '/etc/systemd/system/moat.service'], {
    encoding: 'utf8',
  });
  assert.match(broken.stderr, /NoSuchSetting/);
});

/** moat.service and every unit added since the update work: each must stay as confined. */
const ratedUnits = ['moat.service', 'moat-mark-good.service', 'moat-sysctl.service', 'moat-reboot.service'];

for (const unit of ratedUnits) {
  test(`systemd-analyze security rates ${unit} at most 3.0`, { skip }, () => {
    const result = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', join(unitsDir, unit)], {
      encoding: 'utf8',
    });
    const level = new RegExp(`Overall exposure level for ${unit.replaceAll('.', '\\.')}: (\\d+\\.\\d)`).exec(
      result.stdout,
    )?.[1];
    assert.ok(level, result.stdout + result.stderr);
    assert.ok(Number(level) <= 3.0, `exposure ${level} > 3.0`);
  });
}

test('moat-mark-good.service runs the mark-good script, reboots on failure, and outlasts its health wait', () => {
  assert.deepEqual(values('moat-mark-good.service', 'ExecStart'), ['/usr/lib/moat/mark-good']);
  assert.deepEqual(values('moat-mark-good.service', 'FailureAction'), ['reboot']);
  assert.deepEqual(values('moat-mark-good.service', 'CapabilityBoundingSet'), ['CAP_DAC_READ_SEARCH']);
  const wait = /MOAT_MARK_GOOD_WAIT:-(\d+)/.exec(
    readFileSync(join(packageRoot, 'appliance', 'mark-good.sh'), 'utf8'),
  )?.[1];
  assert.ok(wait, 'the script names its default wait');
  assert.ok(Number(values('moat-mark-good.service', 'TimeoutStartSec')[0]) > Number(wait));
});
