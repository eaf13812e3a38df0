import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { NetworkInterfaceInfo } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { capturingLogger } from '../../test/helpers/log-capture.js';
import { printerLinkName } from '../appliance/printer-addresses.js';
import { ConfigHolder } from '../config/holder.js';
import { parseConfig } from '../config/schema.js';
import { statePaths } from '../config/state-dir.js';
import { ensureStateDir, loadConfig } from '../config/store.js';
import type { ServiceContext } from '../service-context.js';
import { followPrinterLeases } from './printer-leases.js';

const fixed = { serial: '01P00A000000001', model: 'P1S', address: '192.0.2.10', lanAddress: '198.51.100.21' };
const first = { serial: '01S00C000000002', model: 'X1C', address: '192.0.2.11', lanAddressing: { method: 'dhcp' } };
const second = { serial: '00M09A000000003', model: 'A1', address: '192.0.2.12', lanAddressing: { method: 'dhcp' } };

function ipv4(address: string): NetworkInterfaceInfo {
  return { address, netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: null };
}
const ipv6: NetworkInterfaceInfo = {
  address: 'fe80::1',
  netmask: 'ffff:ffff:ffff:ffff::',
  family: 'IPv6',
  mac: '02:00:00:00:00:01',
  internal: false,
  cidr: null,
  scopeid: 2,
};

test("a DHCP printer's lease becomes its LAN address through the configuration, once per change", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-leases-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const paths = statePaths(dir);
  ensureStateDir(paths);
  const config = new ConfigHolder(
    paths,
    parseConfig({ lan: { addresses: ['198.51.100.1'] }, printers: [fixed, first, second] }),
  );
  const changes: string[] = [];
  config.on('change', (next) => changes.push(next.printers.map((p) => p.lanAddress ?? '-').join(' ')));
  const { logger, lines } = capturingLogger();
  // The fixed printer's link holds an address too: only DHCP printers are followed.
  const table: NodeJS.Dict<NetworkInterfaceInfo[]> = {
    eth0: [ipv4('198.51.100.1')],
    [printerLinkName(fixed.serial)]: [ipv4('198.51.100.99')],
    [printerLinkName(first.serial)]: [ipv6, ipv4('198.51.100.150')],
  };
  const leases = followPrinterLeases({ config, logger } as unknown as ServiceContext, {
    interfaces: () => table,
    intervalMs: 3_600_000,
  });
  t.after(() => leases.close());

  // At start: the first DHCP printer has a lease, the second no link yet.
  assert.deepEqual(changes, ['198.51.100.21 198.51.100.150 -']);
  assert.equal(loadConfig(paths).printers[1]?.lanAddress, '198.51.100.150', 'saved');
  const learned = lines.find(
    (line) => line.msg === 'printer DHCP lease learned: serving the printer on its leased address',
  );
  assert.deepEqual(
    { printer: learned?.printer, link: learned?.link, lanAddress: learned?.lanAddress },
    { printer: first.serial, link: printerLinkName(first.serial), lanAddress: '198.51.100.150' },
  );

  leases.check();
  assert.equal(changes.length, 1, 'the same lease again changes nothing');

  // The router hands out another address: the printer moves.
  table[printerLinkName(first.serial)] = [ipv4('198.51.100.151')];
  leases.check();
  assert.deepEqual(changes.at(-1), '198.51.100.21 198.51.100.151 -');
  assert.equal(lines.at(-1)?.previous, '198.51.100.150');

  // A lease the configuration refuses (another printer's address) is logged once and changes nothing.
  table[printerLinkName(second.serial)] = [ipv4('198.51.100.21')];
  leases.check();
  leases.check();
  assert.equal(changes.length, 2);
  const refused = lines.filter((line) => line.msg === 'printer DHCP lease not taken: the printer stays where it was');
  assert.equal(refused.length, 1);
  assert.equal(refused[0]?.printer, second.serial);

  // Its own lease comes: taken. A lost lease (the link gone) keeps the last address.
  table[printerLinkName(second.serial)] = [ipv4('198.51.100.152')];
  delete table[printerLinkName(first.serial)];
  leases.check();
  assert.deepEqual(changes.at(-1), '198.51.100.21 198.51.100.151 198.51.100.152');
  assert.equal(changes.length, 3);
});
