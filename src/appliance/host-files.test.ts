import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultConfig, parseConfig } from '../config/schema.js';
import { renderHostFiles, writeHostFiles } from './host-files.js';

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
