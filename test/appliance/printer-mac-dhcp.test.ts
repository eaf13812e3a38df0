import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderPrinterKeyfile } from '../../src/appliance/printer-addresses.js';
import { parseConfig } from '../../src/config/schema.js';
import { parseKeyfile } from '../helpers/keyfile.js';
import { ownNamespace } from '../helpers/namespaces.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The DHCP case of the printers' LAN addresses, with real parts: the rendered keyfile's macvlan (its name and
 * MAC) made with `ip link` on a namespace's LAN, Debian's dnsmasq as the home router, busybox udhcpc as the
 * client. The same MAC must get the same lease after the link is deleted and made again (a reboot, a
 * re-render), and another printer's MAC its own.
 */
test("a printer's rendered MAC gets the same DHCP lease after its macvlan is re-created", async (t) => {
  const ns = ownNamespace(t, 'moat-macvlan', ['dnsmasq', 'udhcpc']);
  if (!ns) return;
  const dir = mkdtempSync(join(tmpdir(), 'moat-macvlan-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const inNs = (...args: string[]) => {
    const result = spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
    assert.equal(result.status, 0, `${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  // Moat's LAN interface (lan0) and the home router's end (router0) of one wire.
  inNs('ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'router0');
  inNs('ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'router0');
  inNs('ip', 'link', 'set', 'router0', 'up');
  inNs('ip', 'link', 'set', 'lan0', 'up');

  const leases = join(dir, 'dnsmasq.leases');
  let log = '';
  const router: ChildProcess = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'dnsmasq',
      '--keep-in-foreground',
      '--log-facility=-',
      '--log-dhcp',
      '--conf-file=/dev/null',
      '--port=0',
      '--interface=router0',
      '--bind-interfaces',
      '--user=root',
      '--group=root',
      `--pid-file=${join(dir, 'pid')}`,
      '--dhcp-range=192.0.2.100,192.0.2.199,255.255.255.0,1h',
      `--dhcp-leasefile=${leases}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => router.kill());
  router.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  router.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  await waitFor(() => /DHCP, IP range 192\.0\.2\.100/.test(log) || router.exitCode !== null, { what: 'dnsmasq' });
  assert.equal(router.exitCode, null, log);

  // udhcpc's own script would rewrite the host's resolv.conf: this one only reports the lease.
  const script = join(dir, 'lease.sh');
  writeFileSync(script, '#!/bin/sh\n[ "$1" = bound ] && echo "$ip" > "$LEASE_OUT"\nexit 0\n');
  chmodSync(script, 0o755);

  const config = parseConfig({
    lan: { interface: 'lan0' },
    printers: ['01P00A000000011', '01P00A000000012'].map((serial, i) => ({
      serial,
      model: 'P1S',
      address: `198.51.100.${10 + i}`,
      lanAddress: `192.0.2.${21 + i}`,
      lanAddressing: { method: 'dhcp' },
    })),
  });
  const lease = (index: number): { mac: string; address: string } => {
    const keyfile = parseKeyfile(renderPrinterKeyfile(config, index) ?? '');
    const name = keyfile.connection?.['interface-name'] ?? assert.fail('no interface name');
    const mac = keyfile.ethernet?.['cloned-mac-address'] ?? assert.fail('no MAC');
    assert.equal(keyfile.macvlan?.parent, 'lan0');
    inNs('ip', 'link', 'add', 'link', 'lan0', 'name', name, 'address', mac, 'type', 'macvlan', 'mode', 'bridge');
    inNs('ip', 'link', 'set', name, 'up');
    const out = join(dir, `lease-${index}`);
    rmSync(out, { force: true });
    const client = spawnSync(
      'ip',
      ['netns', 'exec', ns, 'udhcpc', '-i', name, '-f', '-q', '-n', '-t', '10', '-s', script],
      { encoding: 'utf8', env: { ...process.env, LEASE_OUT: out } },
    );
    assert.equal(client.status, 0, `${client.stdout}${client.stderr}\n${log}`);
    inNs('ip', 'link', 'del', name);
    return { mac, address: readFileSync(out, 'utf8').trim() };
  };

  const first = lease(0);
  assert.match(first.address, /^192\.0\.2\.1\d\d$/);
  const again = lease(0);
  assert.deepEqual(again, first, 'the same MAC, the same lease');
  const other = lease(1);
  assert.notEqual(other.mac, first.mac);
  assert.notEqual(other.address, first.address);
  // The router's view: one client per printer, each known by the printer's MAC.
  const table = readFileSync(leases, 'utf8');
  assert.match(table, new RegExp(` ${first.mac} ${first.address.replace(/\./g, '\\.')} `));
  assert.match(table, new RegExp(` ${other.mac} ${other.address.replace(/\./g, '\\.')} `));
});
