import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type MoatConfig, parseConfig } from './schema.js';
import { readSecret, writeSecret } from './secrets.js';
import { statePaths } from './state-dir.js';
import { loadConfig, saveConfig } from './store.js';
import { ConfigError } from './validate.js';

const dir = mkdtempSync(join(tmpdir(), 'moat-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('save then load gives the same configuration, in a 0600 file', () => {
  const paths = statePaths(join(dir, 'a'));
  const config = parseConfig({
    hostname: 'workshop',
    printers: [{ serial: 'S1', model: 'A1', address: '192.0.2.10' }],
  });
  saveConfig(paths, config);
  assert.deepEqual(loadConfig(paths), config);
  assert.equal(statSync(paths.config).mode & 0o777, 0o600);
  assert.equal(statSync(paths.secrets).mode & 0o777, 0o700);
});

test('an invalid configuration is refused with the field named, and the previous file stays intact', () => {
  const paths = statePaths(join(dir, 'b'));
  saveConfig(paths, parseConfig({ hostname: 'before' }));
  const before = readFileSync(paths.config, 'utf8');
  const bad = { ...parseConfig({}), ports: { ...parseConfig({}).ports, mqtt: 'x' } } as unknown as MoatConfig;
  assert.throws(
    () => saveConfig(paths, bad),
    (e: unknown) => e instanceof ConfigError && e.field === 'ports.mqtt',
  );
  const badModel = parseConfig({});
  (badModel.printers as unknown[]).push({ serial: 'S1', model: 'Q9', address: '192.0.2.10' });
  assert.throws(
    () => saveConfig(paths, badModel),
    (e: unknown) => e instanceof ConfigError && e.field === 'printers[0].model',
  );
  assert.equal(readFileSync(paths.config, 'utf8'), before);
});

test('a broken file on disk is reported, not replaced by defaults', () => {
  const paths = statePaths(join(dir, 'c'));
  saveConfig(paths, parseConfig({}));
  writeFileSync(paths.config, '{"ports": {"https": 44');
  assert.throws(() => loadConfig(paths), /not valid JSON/);
});

test('secrets are 0600 files read back verbatim', () => {
  const paths = statePaths(join(dir, 'd'));
  saveConfig(paths, parseConfig({}));
  writeSecret(paths, 'printer-S1', 'abcd1234');
  assert.equal(readSecret(paths, 'printer-S1'), 'abcd1234');
  assert.equal(statSync(join(paths.secrets, 'printer-S1')).mode & 0o777, 0o600);
  assert.equal(readSecret(paths, 'printer-S2'), undefined);
  assert.throws(() => writeSecret(paths, 'printer-../../etc' as 'printer-x', 'x'), /invalid secret name/);
});
