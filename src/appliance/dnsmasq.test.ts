import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseConfig } from '../config/schema.js';
import { renderDnsmasqConfig } from './dnsmasq.js';

const dir = mkdtempSync(join(tmpdir(), 'moat-dnsmasq-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const hasDnsmasq = spawnSync('dnsmasq', ['--version']).status === 0;

function options(text: string): string[] {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

const config = parseConfig({
  hostname: 'moat',
  segment: { interface: 'wlan1', reservations: [{ mac: '02:AA:00:00:00:01', address: '192.0.2.5' }] },
});

test('dnsmasq serves the printer segment only, with a fixed lease for the printer', () => {
  const lines = options(renderDnsmasqConfig(config));
  assert.ok(lines.includes('interface=wlan1'));
  assert.ok(lines.includes('except-interface=lo'));
  assert.ok(lines.includes('dhcp-range=192.0.2.10,192.0.2.50,255.255.255.0,12h'));
  assert.ok(lines.includes('dhcp-host=02:aa:00:00:00:01,192.0.2.5,infinite'));
  assert.ok(lines.includes('dhcp-option=option:dns-server,192.0.2.1'));
  assert.ok(lines.includes('host-record=moat,moat.local,192.0.2.1'));
  assert.equal(lines.filter((l) => l.startsWith('interface=')).length, 1);
});

test('without cloud access DNS forwards nothing upstream; with it, it does', () => {
  assert.ok(options(renderDnsmasqConfig(config)).includes('no-resolv'));
  const cloud = parseConfig({ firewall: { cloudAccess: true } });
  assert.ok(!options(renderDnsmasqConfig(cloud)).includes('no-resolv'));
});

test('an inconsistent segment is refused before anything is rendered', () => {
  const bad = parseConfig({ segment: { dhcpRangeStart: '192.0.2.1' } });
  assert.throws(() => renderDnsmasqConfig(bad), /segment\.address/);
});

test('dnsmasq --test accepts the generated file', { skip: hasDnsmasq ? false : 'dnsmasq is not installed' }, () => {
  for (const [name, variant] of [
    ['plain', config],
    ['cloud', parseConfig({ firewall: { cloudAccess: true } })],
  ] as const) {
    const file = join(dir, `${name}.conf`);
    writeFileSync(file, renderDnsmasqConfig(variant));
    const result = spawnSync('dnsmasq', ['--test', `--conf-file=${file}`], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /syntax check OK/);
  }
  // The check itself can fail: a broken line is reported.
  const broken = join(dir, 'broken.conf');
  writeFileSync(broken, `${renderDnsmasqConfig(config)}dhcp-range=nonsense\n`);
  assert.notEqual(spawnSync('dnsmasq', ['--test', `--conf-file=${broken}`]).status, 0);
});
