import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createAccessCode } from '../../src/auth/access-codes.js';
import { parseConfig } from '../../src/config/schema.js';
import { statePaths } from '../../src/config/state-dir.js';
import { ensureStateDir, saveConfig } from '../../src/config/store.js';
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
 * Three printers behind one Moat with its firewall, in network namespaces of this test's own: `lan`
 * (198.51.100.10), Moat (its own LAN address 198.51.100.1 and one per printer, 198.51.100.21-23; the printer
 * segment 192.0.2.1) and one printer segment namespace where three simulated printers run on 192.0.2.10-12.
 * What a LAN host sees, by nmap and by real clients.
 */
const printers = [
  { serial: '01S00C000000001', model: 'P1S', address: '192.0.2.10', lanAddress: '198.51.100.21' },
  { serial: '01S00C000000002', model: 'X1C', address: '192.0.2.11', lanAddress: '198.51.100.22' },
  { serial: '01S00C000000003', model: 'A1', address: '192.0.2.12', lanAddress: '198.51.100.23' },
];
/** What each printer's address must offer: MQTT, FTPS and its relays (X1C: RTSPS 322 and the 6000 tunnel). */
const expectedOpen: Record<string, number[]> = {
  '198.51.100.21': [990, 3000, 3002, 6000, 8883],
  '198.51.100.22': [322, 990, 3000, 3002, 6000, 8883],
  '198.51.100.23': [990, 3000, 3002, 6000, 8883],
};

/** Open TCP ports per address, from nmap's grepable output. */
function openPorts(ns: string, targets: string[]): Record<string, number[]> {
  const result = sh(
    ns,
    'nmap',
    ['-Pn', '-n', '-p-', '--min-rate', '5000', '--max-retries', '1', '-oG', '-', ...targets],
    300_000,
  );
  assert.equal(result.status, 0, result.out);
  const open: Record<string, number[]> = {};
  for (const target of targets) open[target] = [];
  for (const line of result.out.split('\n')) {
    const match = /^Host: (\S+) .*Ports: (.*)$/.exec(line);
    if (!match) continue;
    open[match[1] as string] = (match[2] as string)
      .split(', ')
      .filter((entry) => entry.split('/')[1] === 'open')
      .map((entry) => Number(entry.split('/')[0]))
      .sort((a, b) => a - b);
  }
  return open;
}

test('three printers in namespaces: each address offers its printer only, the segment nothing', async (t) => {
  const topology = printerTopology(t, 'kp', ['nmap']);
  if (!topology) return;
  const { lan, moat, segment, dir, children } = topology;
  for (const p of printers) must(moat, 'ip', 'addr', 'add', `${p.lanAddress}/24`, 'dev', 'lan0');

  // The simulated printers, each on its own segment address.
  const paths = statePaths(join(dir, 'moat-state'));
  ensureStateDir(paths);
  const simulated = await startSimulatedPrinters(segment, 'wlan0', printers, dir, paths, children);
  const printerEntries = simulated.map((entry, i) => ({ ...entry, lanAddress: printers[i]?.lanAddress }));
  const { entry, code: viewer } = await createAccessCode('viewer', 'viewer');
  const { entry: adminEntry, code: admin } = await createAccessCode('admin, all printers', 'admin');
  saveConfig(
    paths,
    parseConfig({
      lan: { interface: 'lan0', addresses: ['198.51.100.1'] },
      segment: { interface: 'seg0', address: '192.0.2.1', prefixLength: 24 },
      firewall: { enabled: true, cloudAccess: 'off' },
      web: { claimFile: join(dir, 'moat-claim.txt') },
      accessCodes: [entry, adminEntry],
      printers: printerEntries,
    }),
  );
  const moatOutput: string[] = [];
  children.push(spawnIn(moat, [process.execPath, cli, 'serve', '--state-dir', paths.root], moatOutput));
  await waitFor(() => moatOutput.join('').includes('moat started'), { what: 'Moat', timeoutMs: 60_000 });

  await t.test('from lan, each printer address offers MQTT, FTPS and its relays, nothing else', () => {
    const open = openPorts(lan, [...Object.keys(expectedOpen), '198.51.100.1']);
    for (const [address, ports] of Object.entries(expectedOpen)) assert.deepEqual(open[address], ports, address);
    assert.deepEqual(open['198.51.100.1'], [80, 443], "Moat's own address: the setup page only");
  });

  await t.test("from lan, nmap of the printers' segment addresses finds no open port", () => {
    const open = openPorts(
      lan,
      printers.map((p) => p.address),
    );
    for (const p of printers) assert.deepEqual(open[p.address], [], p.address);
  });

  await t.test("from lan, each address presents its printer's certificate and its printer's reports", () => {
    for (const p of printers) {
      assertPrinterCertificate(lan, paths.caCert, p.serial, p.lanAddress);
      assertPrinterReport(lan, paths.caCert, viewer, p.serial, p.lanAddress);
    }
    // The first printer's address knows nothing of the second.
    const other = sh(
      lan,
      'mosquitto_sub',
      [
        ...['-h', printers[0]?.lanAddress as string, '-p', '8883', '--cafile', paths.caCert, '-u', 'bblp'],
        ...['-P', viewer, '-t', `device/${printers[1]?.serial}/report`, '-C', '1', '-W', '10'],
      ],
      20_000,
    );
    assert.match(other.out, /denied/i, other.out);
  });

  await t.test(
    "from lan, an all-printers code on A's address uploads to A only and opens A's camera only",
    async () => {
      const a = printers[0] as (typeof printers)[number];
      const upload = join(dir, 'for-a.3mf');
      writeFileSync(upload, randomBytes(256 * 1024));
      const put = sh(
        lan,
        'curl',
        [
          '-sS',
          '--ssl-reqd',
          '--cacert',
          paths.caCert,
          '-u',
          `bblp:${admin}`,
          '-T',
          upload,
          `ftps://${a.lanAddress}:990/`,
        ],
        60_000,
      );
      assert.equal(put.status, 0, put.out);
      // The 226 comes from Moat's spool; the file then drains to A, and only to A.
      const landed = join(dir, `storage-${a.serial}`, 'for-a.3mf');
      await waitFor(() => existsSync(landed) && statSync(landed).size === 256 * 1024, {
        what: "the upload on A's storage",
      });
      assert.deepEqual(readFileSync(landed), readFileSync(upload));
      for (const other of printers.slice(1))
        assert.equal(existsSync(join(dir, `storage-${other.serial}`, 'for-a.3mf')), false, other.serial);
      // Port 6000 on A's address is A's own TLS service: its certificate names A's serial, nobody else's.
      const camera = sh(lan, 'openssl', ['s_client', '-connect', `${a.lanAddress}:6000`, '-brief'], 20_000, '');
      assert.match(camera.out, new RegExp(`CN ?= ?${a.serial}`), camera.out);
    },
  );
});
