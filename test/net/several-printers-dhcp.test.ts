import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderPrinterKeyfile } from '../../src/appliance/printer-addresses.js';
import { renderSysctl } from '../../src/appliance/sysctl.js';
import { createAccessCode } from '../../src/auth/access-codes.js';
import { type MoatConfig, parseConfig } from '../../src/config/schema.js';
import { statePaths } from '../../src/config/state-dir.js';
import { ensureStateDir, loadConfig, saveConfig } from '../../src/config/store.js';
import { parseKeyfile } from '../helpers/keyfile.js';
import { waitFor } from '../helpers/wait.js';
import {
  assertPrinterCertificate,
  assertPrinterReport,
  cli,
  must,
  printerTopology,
  sh,
  spawnIn,
  startSimulatedPrinters,
} from './printer-namespaces.js';

/**
 * Printers whose LAN addresses the home router hands out, in namespaces of this test's own: Debian's dnsmasq
 * in `lan` is the router; in Moat's namespace each printer's macvlan is made as its rendered keyfile says
 * (link name, MAC) on the LAN veth and leased by busybox udhcpc, as NetworkManager would at boot (it cannot
 * run in a namespace). No printer has a `lanAddress` in the settings: Moat learns each from its lease, at
 * start and at run time, and serves the printer there (certificate for that address, reports). Then what a
 * reboot does: Moat stopped, the macvlans deleted, made and leased again, Moat started: the same addresses,
 * answering again.
 */
const printers = [
  { serial: '01S00C000000101', model: 'P1S', address: '192.0.2.10' },
  { serial: '01S00C000000102', model: 'X1C', address: '192.0.2.11' },
  { serial: '01S00C000000103', model: 'A1', address: '192.0.2.12' },
];

test('printers leased by DHCP: Moat learns each lease, serves it there, and keeps it across a restart', async (t) => {
  const topology = printerTopology(t, 'kd', ['dnsmasq', 'udhcpc', 'sysctl']);
  if (!topology) return;
  const { lan, moat, segment, dir, children } = topology;

  // The home router: leases from .100 on, kept in its lease file like a router's.
  const routerLog: string[] = [];
  const router = spawnIn(
    lan,
    [
      'dnsmasq',
      ...['--keep-in-foreground', '--log-facility=-', '--log-dhcp', '--conf-file=/dev/null', '--port=0'],
      ...['--interface=eth0', '--bind-interfaces', '--user=root', '--group=root', `--pid-file=${join(dir, 'pid')}`],
      ...['--dhcp-range=198.51.100.100,198.51.100.199,255.255.255.0,1h', `--dhcp-leasefile=${join(dir, 'leases')}`],
    ],
    routerLog,
  );
  children.push(router);
  await waitFor(() => routerLog.join('').includes('DHCP, IP range 198.51.100.100') || router.exitCode !== null, {
    what: 'dnsmasq',
  });
  assert.equal(router.exitCode, null, routerLog.join(''));

  const paths = statePaths(join(dir, 'moat-state'));
  ensureStateDir(paths);
  const entries = await startSimulatedPrinters(segment, 'wlan0', printers, dir, paths, children);
  const { entry, code: viewer } = await createAccessCode('viewer', 'viewer');
  const config: MoatConfig = parseConfig({
    lan: { interface: 'lan0', addresses: ['198.51.100.1'] },
    segment: { interface: 'seg0', address: '192.0.2.1', prefixLength: 24 },
    firewall: { enabled: true, cloudAccess: 'off' },
    web: { claimFile: join(dir, 'moat-claim.txt') },
    accessCodes: [entry],
    printers: entries.map((e) => ({ ...e, lanAddressing: { method: 'dhcp' } })),
  });
  saveConfig(paths, config);
  // The kernel settings Moat renders for printer macvlans (each address answers ARP with its own MAC).
  for (const line of renderSysctl(config).split('\n')) {
    if (/^net\.ipv4\.conf\.all\.(arp_ignore|arp_announce|rp_filter) = /.test(line))
      must(moat, 'sysctl', '-qw', line.replace(' = ', '='));
  }

  // udhcpc's own script would rewrite the host's resolv.conf: this one puts the lease on the link only.
  const script = join(dir, 'lease.sh');
  writeFileSync(
    script,
    '#!/bin/sh\ncase "$1" in bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface"; echo "$ip" > "$LEASE_DIR/$interface";; esac\nexit 0\n',
  );
  chmodSync(script, 0o755);
  const links = printers.map((_, i) => {
    const keyfile = parseKeyfile(renderPrinterKeyfile(config, i) ?? assert.fail(`no keyfile for printer ${i}`));
    assert.equal(keyfile.macvlan?.parent, 'lan0');
    assert.equal(keyfile.ipv4?.method, 'auto');
    return {
      name: keyfile.connection?.['interface-name'] ?? assert.fail('no interface name'),
      mac: keyfile.ethernet?.['cloned-mac-address'] ?? assert.fail('no MAC'),
    };
  });
  /** What NetworkManager does with the printer's keyfile at boot: the macvlan, then its DHCP lease. */
  const bringUp = (i: number): string => {
    const { name, mac } = links[i] ?? assert.fail();
    must(moat, 'ip', 'link', 'add', 'link', 'lan0', 'name', name, 'address', mac, 'type', 'macvlan', 'mode', 'bridge');
    must(moat, 'ip', 'link', 'set', name, 'up');
    const client = sh(moat, 'env', [
      `LEASE_DIR=${dir}`,
      'udhcpc',
      '-i',
      name,
      '-f',
      '-q',
      '-n',
      '-t',
      '10',
      '-s',
      script,
    ]);
    assert.equal(client.status, 0, `${client.out}\n${routerLog.join('')}`);
    return readFileSync(join(dir, name), 'utf8').trim();
  };
  const answers = (serial: string, lanAddress: string) => () => {
    assertPrinterCertificate(lan, paths.caCert, serial, lanAddress);
    return true;
  };
  const startMoat = async (output: string[]) => {
    const child = spawnIn(moat, [process.execPath, cli, 'serve', '--state-dir', paths.root], output);
    children.push(child);
    await waitFor(() => output.join('').includes('moat started'), { what: 'Moat', timeoutMs: 60_000 });
    return child;
  };

  const leased = [bringUp(0), bringUp(1)];
  for (const address of leased) assert.match(address, /^198\.51\.100\.1\d\d$/);
  const shown = sh(moat, process.execPath, [cli, 'config', 'show', '--state-dir', paths.root]);
  assert.ok(
    shown.out.includes(`printer ${printers[2]?.serial}: LAN address waiting for a DHCP lease on ${links[2]?.name} (`),
    shown.out,
  );

  let moatOutput: string[] = [];
  let moatChild = await startMoat(moatOutput);

  await t.test('leases there at start are learned: each printer served on its lease', async () => {
    for (const [i, address] of leased.entries()) {
      const { serial } = printers[i] ?? assert.fail();
      await waitFor(answers(serial, address), { what: `${serial} on ${address}`, timeoutMs: 30_000 });
      assertPrinterReport(lan, paths.caCert, viewer, serial, address);
      // The LAN reached the printer's MAC there, the one the router leased the address to.
      assert.match(must(lan, 'ip', 'neigh', 'show', address), new RegExp(`lladdr ${links[i]?.mac}`));
    }
    assert.deepEqual(
      loadConfig(paths).printers.map((p) => p.lanAddress),
      [...leased, undefined],
      'stored as the printers’ LAN addresses; the third has none yet',
    );
  });

  await t.test('a lease that comes while Moat runs is learned and served', async () => {
    const { serial } = printers[2] ?? assert.fail();
    leased.push(bringUp(2));
    const address = leased[2] as string;
    // Moat reads the leases every 10 s.
    await waitFor(answers(serial, address), { what: `${serial} on ${address}`, timeoutMs: 60_000 });
    assertPrinterReport(lan, paths.caCert, viewer, serial, address);
    const learned = (line: string) =>
      line.includes('printer DHCP lease learned') && line.includes(`"lanAddress":"${address}"`);
    await waitFor(() => moatOutput.join('').split('\n').some(learned), { what: 'the lease logged' });
    assert.equal(new Set(leased).size, 3, 'one address per printer');
  });

  await t.test(
    'after a restart (Moat stopped, macvlans made and leased again) each printer answers there again',
    async () => {
      moatChild.kill('SIGTERM');
      await once(moatChild, 'exit');
      for (const { name } of links) must(moat, 'ip', 'link', 'del', name);
      const again = printers.map((_, i) => bringUp(i));
      assert.deepEqual(again, leased, 'the router gives each printer MAC its lease again');
      moatOutput = [];
      moatChild = await startMoat(moatOutput);
      for (const [i, address] of again.entries()) {
        const { serial } = printers[i] ?? assert.fail();
        await waitFor(answers(serial, address), { what: `${serial} on ${address}`, timeoutMs: 30_000 });
        assertPrinterReport(lan, paths.caCert, viewer, serial, address);
      }
      assert.doesNotMatch(moatOutput.join(''), /printer DHCP lease learned/, 'nothing new to learn');
      moatChild.kill('SIGTERM');
      await once(moatChild, 'exit');
    },
  );
});
