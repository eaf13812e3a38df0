import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultConfig, parseConfig } from '../config/schema.js';
import { removeStaleHostFiles, renderHostFiles, writeHostFiles } from './host-files.js';

const dir = mkdtempSync(join(tmpdir(), 'moat-host-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('host files are written below the root with the modes their readers require', () => {
  const files = renderHostFiles(defaultConfig(), 'a passphrase here');
  const written = writeHostFiles(dir, files);
  assert.equal(written.length, files.length);
  const keyfile = join(dir, 'etc/NetworkManager/system-connections/moat-segment.nmconnection');
  assert.equal(statSync(keyfile).mode & 0o777, 0o600);
  assert.match(readFileSync(keyfile, 'utf8'), /^psk=a passphrase here$/m);
  for (const path of [
    'etc/dnsmasq.d/moat-segment.conf',
    'etc/avahi/services/moat.service',
    'etc/sysctl.d/60-moat.conf',
  ]) {
    assert.equal(statSync(join(dir, path)).mode & 0o777, 0o644, path);
  }
});

test('a bad setting throws before any file is written', () => {
  const empty = mkdtempSync(join(dir, 'bad-'));
  const bad = parseConfig({ ports: { https: 0 } });
  assert.throws(() => writeHostFiles(empty, renderHostFiles(bad, 'a passphrase here')), /ports\.https/);
  assert.throws(() => statSync(join(empty, 'etc')), /ENOENT/);
});

test("each printer's connection is written 0600; a render without a printer removes only that printer's file", () => {
  const root = mkdtempSync(join(dir, 'printers-'));
  const connections = join(root, 'etc/NetworkManager/system-connections');
  const printer = (serial: string, lanAddress: string) => ({
    serial,
    model: 'X1C',
    address: '198.51.100.10',
    lanAddress,
    lanAddressing: { prefixLength: 24 },
  });
  const three = parseConfig({
    printers: [printer('S1', '192.0.2.21'), printer('S2', '192.0.2.22'), printer('S3', '192.0.2.23')],
  });
  const first = renderHostFiles(three, 'a passphrase here');
  writeHostFiles(root, first);
  assert.deepEqual(removeStaleHostFiles(root, first), []);
  for (const serial of ['S1', 'S2', 'S3'])
    assert.equal(statSync(join(connections, `moat-printer-${serial}.nmconnection`)).mode & 0o777, 0o600, serial);
  // The owner's own connections share the directory and are not Moat's to remove.
  writeFileSync(join(connections, 'home-wifi.nmconnection'), '[connection]\n', { mode: 0o600 });

  const two = parseConfig({ printers: [printer('S1', '192.0.2.21'), printer('S3', '192.0.2.33')] });
  const second = renderHostFiles(two, 'a passphrase here');
  writeHostFiles(root, second);
  assert.deepEqual(removeStaleHostFiles(root, second), [join(connections, 'moat-printer-S2.nmconnection')]);
  assert.deepEqual(readdirSync(connections).sort(), [
    'home-wifi.nmconnection',
    'moat-printer-S1.nmconnection',
    'moat-printer-S3.nmconnection',
    'moat-segment.nmconnection',
  ]);
  assert.match(
    readFileSync(join(connections, 'moat-printer-S3.nmconnection'), 'utf8'),
    /^address1=192\.0\.2\.33\/24$/m,
  );
});

test('removing stale files below a root without NetworkManager connections removes nothing', () => {
  assert.deepEqual(removeStaleHostFiles(mkdtempSync(join(dir, 'empty-')), []), []);
});
