import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../config/schema.js';
import { renderSysctl } from './sysctl.js';

function settings(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.split(' = ') as [string, string]),
  );
}

test('forwarding is off unless cloud access is on; IPv6 forwarding is always off', () => {
  const off = settings(renderSysctl(parseConfig({})));
  assert.equal(off.get('net.ipv4.ip_forward'), '0');
  assert.equal(off.get('net.ipv6.conf.all.forwarding'), '0');
  assert.equal(off.get('net.ipv4.conf.all.accept_redirects'), '0');
  for (const cloudAccess of ['strict', 'unrestricted']) {
    const on = settings(renderSysctl(parseConfig({ firewall: { cloudAccess } })));
    assert.equal(on.get('net.ipv4.ip_forward'), '1', cloudAccess);
    assert.equal(on.get('net.ipv6.conf.all.forwarding'), '0');
  }
});

test('the FTPS passive range is kept out of the ephemeral ports, following the configuration', () => {
  assert.equal(settings(renderSysctl(parseConfig({}))).get('net.ipv4.ip_local_reserved_ports'), '50000-50100');
  const moved = parseConfig({ ports: { passiveMin: 40000, passiveMax: 40049 } });
  assert.equal(settings(renderSysctl(moved)).get('net.ipv4.ip_local_reserved_ports'), '40000-40049');
});

test('printer addresses on macvlans: ARP answered by the address own interface, loose reverse-path filtering', () => {
  const alone = settings(renderSysctl(parseConfig({})));
  assert.equal(alone.get('net.ipv4.conf.all.rp_filter'), '1');
  assert.equal(alone.get('net.ipv4.conf.all.arp_ignore'), '1');
  assert.equal(alone.get('net.ipv4.conf.all.arp_announce'), '2');
  const printer = { serial: '01P00A000000011', model: 'P1S', address: '198.51.100.10', lanAddress: '192.0.2.21' };
  const withAddress = settings(renderSysctl(parseConfig({ printers: [printer] })));
  assert.equal(withAddress.get('net.ipv4.conf.all.rp_filter'), '2');
  assert.equal(withAddress.get('net.ipv4.conf.all.arp_ignore'), '1');
});
