import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { printerMac } from '../../src/appliance/printer-addresses.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'moat-render-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const state = join(dir, 'state');
const out = join(dir, 'root');
const hasDnsmasq = spawnSync('dnsmasq', ['--version']).status === 0;
const keyfile = join(out, 'etc/NetworkManager/system-connections/moat-segment.nmconnection');

test('moat appliance render writes every host file and a new passphrase it never prints', () => {
  writeFileSync(join(dir, 'config.json'), '');
  const first = runCli(['appliance', 'render', '--out', out, '--state-dir', state]);
  assert.equal(first.status, 0, first.stderr);
  const passphrase = readFileSync(join(state, 'secrets', 'segment-passphrase'), 'utf8');
  assert.match(passphrase, /^[A-Za-z0-9]{20}$/);
  assert.equal(statSync(join(state, 'secrets', 'segment-passphrase')).mode & 0o777, 0o600);
  assert.ok(!first.stdout.includes(passphrase) && !first.stderr.includes(passphrase), 'passphrase printed');
  assert.ok(readFileSync(keyfile, 'utf8').includes(`psk=${passphrase}\n`));
  for (const path of [
    'etc/dnsmasq.d/moat-segment.conf',
    'etc/avahi/services/moat.service',
    'etc/sysctl.d/60-moat.conf',
    'etc/modprobe.d/moat-wifi.conf',
  ]) {
    assert.ok(first.stdout.includes(join(out, path)), path);
  }
  // A second render keeps the passphrase the printer already knows.
  assert.equal(runCli(['appliance', 'render', '--out', out, '--state-dir', state]).status, 0);
  assert.equal(readFileSync(join(state, 'secrets', 'segment-passphrase'), 'utf8'), passphrase);
});

test('changed settings are rendered; dnsmasq accepts the result', {
  skip: hasDnsmasq ? false : 'dnsmasq is not installed',
}, () => {
  writeFileSync(
    join(state, 'config.json'),
    JSON.stringify({
      segment: { ssid: 'workshop', reservations: [{ mac: '02:00:00:00:00:07', address: '192.0.2.7' }] },
    }),
  );
  assert.equal(runCli(['appliance', 'render', '--out', out, '--state-dir', state]).status, 0);
  assert.match(readFileSync(keyfile, 'utf8'), /^ssid=workshop$/m);
  const conf = join(out, 'etc/dnsmasq.d/moat-segment.conf');
  assert.match(readFileSync(conf, 'utf8'), /^dhcp-host=02:00:00:00:00:07,192\.0\.2\.7,infinite$/m);
  const check = spawnSync('dnsmasq', ['--test', `--conf-file=${conf}`], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
});

test('a bad setting is refused with the field named and the files already there are kept', () => {
  const before = readFileSync(keyfile, 'utf8');
  writeFileSync(join(state, 'config.json'), JSON.stringify({ segment: { address: '192.0.2.20' } }));
  const result = runCli(['appliance', 'render', '--out', out, '--state-dir', state]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /segment\.address/);
  assert.equal(readFileSync(keyfile, 'utf8'), before);
});

test('render without --out explains its usage', () => {
  const result = runCli(['appliance', 'render', '--state-dir', state]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /--out is required/);
});

test('each printer gets its LAN connection; a removed printer loses it; config show names each address', () => {
  const printer = (serial: string, lanAddress: string, lanAddressing: object) => ({
    serial,
    model: 'P1S',
    address: '198.51.100.10',
    lanAddress,
    lanAddressing,
  });
  const fixed = printer('01P00A000000001', '192.0.2.21', { prefixLength: 25 });
  const leased = printer('01P00A000000002', '192.0.2.22', { method: 'dhcp' });
  const { lanAddress: _none, ...waiting } = printer('01P00A000000003', '', { method: 'dhcp' });
  writeFileSync(join(state, 'config.json'), JSON.stringify({ printers: [fixed, leased, waiting] }));
  const connection = (serial: string) =>
    join(out, `etc/NetworkManager/system-connections/moat-printer-${serial}.nmconnection`);
  const first = runCli(['appliance', 'render', '--out', out, '--state-dir', state]);
  assert.equal(first.status, 0, first.stderr);
  assert.ok(first.stdout.includes(`wrote ${connection(fixed.serial)}`), first.stdout);
  assert.match(readFileSync(connection(leased.serial), 'utf8'), /^method=auto$/m);
  assert.match(readFileSync(connection(waiting.serial), 'utf8'), /^method=auto$/m, 'its lease is what Moat waits for');

  const shown = runCli(['config', 'show', '--state-dir', state]);
  assert.equal(shown.status, 0, shown.stderr);
  assert.equal((JSON.parse(shown.stdout) as { printers: unknown[] }).printers.length, 3, 'stdout stays JSON');
  assert.match(
    shown.stderr,
    /^printer 01P00A000000001: LAN address 192\.0\.2\.21\/25 fixed on eth0 with MAC 0e:be:87:f8:f6:7e$/m,
  );
  const link = (serial: string) => `moatp${printerMac(serial).split(':').slice(3).join('')}`;
  assert.ok(
    shown.stderr.includes(
      `printer 01P00A000000002: LAN address 192.0.2.22 by DHCP on ${link(leased.serial)} (on eth0, MAC ${printerMac(leased.serial)})`,
    ),
    shown.stderr,
  );
  assert.ok(
    shown.stderr.includes(`printer 01P00A000000003: LAN address waiting for a DHCP lease on ${link(waiting.serial)} (`),
    shown.stderr,
  );

  writeFileSync(join(state, 'config.json'), JSON.stringify({ printers: [fixed] }));
  const second = runCli(['appliance', 'render', '--out', out, '--state-dir', state]);
  assert.equal(second.status, 0, second.stderr);
  assert.ok(second.stdout.includes(`removed ${connection(leased.serial)}`), second.stdout);
  assert.ok(second.stdout.includes(`removed ${connection(waiting.serial)}`), second.stdout);
  assert.throws(() => statSync(connection(leased.serial)), /ENOENT/);
  assert.ok(statSync(connection(fixed.serial)).isFile());
});
