import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseKeyfile } from '../../test/helpers/keyfile.js';
import { parseConfig } from '../config/schema.js';
import { ConfigError } from '../config/validate.js';
import { lanTcpPorts } from '../firewall/render.js';
import { describeLanAddressing, printerLinkName, printerMac, renderPrinterKeyfile } from './printer-addresses.js';

const fixed = {
  serial: '01P00A000000001',
  model: 'P1S',
  address: '198.51.100.10',
  lanAddress: '192.0.2.21',
  lanAddressing: { prefixLength: 24 },
};
const dhcp = {
  serial: '00M09A000000002',
  model: 'A1',
  address: '198.51.100.11',
  lanAddress: '192.0.2.22',
  lanAddressing: { method: 'dhcp' },
};

test('a printer MAC is stable, locally administered, unicast and distinct per serial', () => {
  // Pinned: a change here would hand every installed printer a new MAC, and so a new lease, on upgrade.
  assert.equal(printerMac('01P00A000000001'), printerMac('01P00A000000001'));
  assert.equal(printerMac('01P00A000000001'), '0e:be:87:f8:f6:7e');
  const macs = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const mac = printerMac(`01S00C${String(i).padStart(9, '0')}`);
    assert.match(mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const first = Number.parseInt(mac.slice(0, 2), 16);
    assert.equal(first & 0x02, 0x02, `${mac} is locally administered`);
    assert.equal(first & 0x01, 0, `${mac} is unicast`);
    macs.add(mac);
  }
  assert.equal(macs.size, 500);
});

test('a fixed address is a bridge-mode macvlan on the LAN interface with a manual address and no default route', () => {
  const config = parseConfig({ lan: { interface: 'end0' }, printers: [fixed, dhcp] });
  const keyfile = parseKeyfile(renderPrinterKeyfile(config, 0) ?? '');
  const mac = printerMac(fixed.serial);
  assert.deepEqual(keyfile.connection, {
    id: `moat-printer-${fixed.serial}`,
    uuid: keyfile.connection?.uuid,
    type: 'macvlan',
    'interface-name': `moatp${mac.split(':').slice(3).join('')}`,
    autoconnect: 'true',
  });
  assert.match(keyfile.connection?.uuid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok((keyfile.connection?.['interface-name'] ?? '').length <= 15, 'a kernel interface name');
  assert.deepEqual(keyfile.ethernet, { 'cloned-mac-address': mac });
  assert.deepEqual(keyfile.macvlan, { parent: 'end0', mode: '2' }); // NM_SETTING_MACVLAN_MODE_BRIDGE
  assert.deepEqual(keyfile.ipv4, { method: 'manual', address1: '192.0.2.21/24', 'never-default': 'true' });
  assert.deepEqual(keyfile.ipv6, { method: 'disabled' });
  assert.deepEqual(Object.keys(keyfile), ['connection', 'ethernet', 'macvlan', 'ipv4', 'ipv6']);
});

test('a DHCP address asks for a lease with the printer MAC and takes no route or DNS from it', () => {
  const config = parseConfig({ printers: [fixed, dhcp] });
  const keyfile = parseKeyfile(renderPrinterKeyfile(config, 1) ?? '');
  assert.equal(keyfile.connection?.type, 'macvlan');
  assert.equal(keyfile.connection?.id, `moat-printer-${dhcp.serial}`);
  assert.deepEqual(keyfile.ethernet, { 'cloned-mac-address': printerMac(dhcp.serial) });
  assert.deepEqual(keyfile.macvlan, { parent: 'eth0', mode: '2' });
  assert.deepEqual(keyfile.ipv4, {
    method: 'auto',
    'ignore-auto-dns': 'true',
    'ignore-auto-routes': 'true',
    'never-default': 'true',
  });
  assert.deepEqual(keyfile.ipv6, { method: 'disabled' });
});

test('each printer connection has its own UUID, the same on every render', () => {
  const uuid = (config: ReturnType<typeof parseConfig>, i: number) =>
    parseKeyfile(renderPrinterKeyfile(config, i) ?? '').connection?.uuid;
  const both = parseConfig({ printers: [fixed, dhcp] });
  const reordered = parseConfig({ printers: [dhcp, { ...fixed, lanAddress: '192.0.2.30' }] });
  assert.notEqual(uuid(both, 0), uuid(both, 1));
  assert.equal(uuid(both, 0), uuid(reordered, 1));
  assert.equal(uuid(both, 1), uuid(reordered, 0));
});

test("without a prefix length a fixed address takes its LAN network's, and fails clearly when there is none", () => {
  const { lanAddressing: _omitted, ...bare } = fixed;
  const known = parseConfig({ lan: { subnets: ['203.0.113.0/25', '192.0.2.0/26'] }, printers: [bare, dhcp] });
  assert.equal(parseKeyfile(renderPrinterKeyfile(known, 0) ?? '').ipv4?.address1, '192.0.2.21/26');
  assert.match(describeLanAddressing(known, known.printers[0] ?? assert.fail()), /^192\.0\.2\.21\/26 fixed on eth0/);
  const unknown = parseConfig({ lan: { subnets: ['203.0.113.0/24'] }, printers: [bare, dhcp] });
  assert.throws(
    () => renderPrinterKeyfile(unknown, 0),
    (e: unknown) => e instanceof ConfigError && e.field === 'printers[0].lanAddressing.prefixLength',
  );
});

test('a lone printer without a LAN address of its own gets no connection', () => {
  const config = parseConfig({ printers: [{ serial: 'S1', model: 'X1C', address: '198.51.100.10' }] });
  assert.equal(renderPrinterKeyfile(config, 0), undefined);
  assert.match(describeLanAddressing(config, config.printers[0] ?? assert.fail()), /none of its own/);
});

test('a prefix length is refused for DHCP and without a LAN address', () => {
  assert.throws(
    () => parseConfig({ printers: [{ ...dhcp, lanAddressing: { method: 'dhcp', prefixLength: 24 } }] }),
    (e: unknown) => e instanceof ConfigError && e.field === 'printers[0].lanAddressing.prefixLength',
  );
  assert.throws(
    () =>
      parseConfig({
        printers: [{ serial: 'S1', model: 'X1C', address: '198.51.100.10', lanAddressing: { prefixLength: 24 } }],
      }),
    (e: unknown) => e instanceof ConfigError && e.field === 'printers[0].lanAddressing.prefixLength',
  );
  assert.throws(
    () => parseConfig({ printers: [{ ...dhcp, lanAddressing: { method: 'static' } }] }),
    (e: unknown) => e instanceof ConfigError && e.field === 'printers[0].lanAddressing.method',
  );
});

test('with several printers a DHCP printer may wait for its lease: its keyfile asks for one, it is not served', () => {
  const { lanAddress: _unknown, ...waiting } = dhcp;
  const config = parseConfig({ printers: [fixed, waiting] });
  assert.equal(parseKeyfile(renderPrinterKeyfile(config, 1) ?? '').ipv4?.method, 'auto');
  const link = printerLinkName(dhcp.serial);
  assert.equal(
    describeLanAddressing(config, config.printers[1] ?? assert.fail()),
    `waiting for a DHCP lease on ${link} (on eth0, MAC ${printerMac(dhcp.serial)}): not served yet`,
  );
  // Nothing of it in the firewall: no rule for it, and no wildcard listener's rule either.
  const ports = lanTcpPorts(config);
  assert.deepEqual(
    ports.map((entry) => entry.comment),
    ['lan setup page', `lan printer ${fixed.serial}`],
  );
  // A fixed printer still needs its address once there are several.
  const { lanAddress: _none, ...bare } = fixed;
  assert.throws(
    () => parseConfig({ printers: [bare, waiting] }),
    (e: unknown) => e instanceof ConfigError && e.field === 'printers[0].lanAddress',
  );
  // A learned lease is unique like any LAN address.
  assert.throws(
    () => parseConfig({ printers: [fixed, { ...waiting, lanAddress: fixed.lanAddress }] }),
    (e: unknown) => e instanceof ConfigError && e.field === 'printers[1].lanAddress',
  );
});
