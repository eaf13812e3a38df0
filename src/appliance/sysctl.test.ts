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
