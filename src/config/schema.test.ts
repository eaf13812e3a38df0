import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultConfig, parseConfig, storeAndForward } from './schema.js';
import { ConfigError } from './validate.js';

const printer = { serial: '01S00A000000001', model: 'P1S', address: '192.0.2.10' };

test('defaults fill an empty configuration', () => {
  const config = defaultConfig();
  assert.equal(config.ports.mqtt, 8883);
  assert.deepEqual(config.ftp.allowedExtensions, ['.3mf', '.gcode', '.gcode.3mf']);
  assert.deepEqual(config.ftp.allowedNames, ['verify_job']);
  assert.equal(config.firewall.cloudAccess, 'off');
});

test('ftp.allowedNames takes bare file names only', () => {
  assert.deepEqual(parseConfig({ ftp: { allowedNames: ['verify_job', 'probe.txt'] } }).ftp.allowedNames, [
    'verify_job',
    'probe.txt',
  ]);
  for (const name of ['/verify_job', 'cache/x', '..', '.hidden', '', 'a b', 'x\\y'])
    assert.throws(
      () => parseConfig({ ftp: { allowedNames: [name] } }),
      (e: unknown) => e instanceof ConfigError && e.field === 'ftp.allowedNames[0]',
      name,
    );
});

test('a wrong type names the field', () => {
  assert.throws(
    () => parseConfig({ ports: { mqtt: '8883' } }),
    (e: unknown) => e instanceof ConfigError && e.field === 'ports.mqtt' && /integer/.test(e.message),
  );
});

test('an unknown printer model names the field and the known models', () => {
  assert.throws(
    () => parseConfig({ printers: [{ ...printer, model: 'Z9' }] }),
    (e: unknown) => e instanceof ConfigError && e.field === 'printers[0].model' && /X1C/.test(e.message),
  );
});

test('an unknown field is an error, not silently ignored', () => {
  assert.throws(
    () => parseConfig({ firewal: {} }),
    (e: unknown) => e instanceof ConfigError && e.field === 'firewal',
  );
});

test('plaintext ports are refused for Moat listeners', () => {
  assert.throws(() => parseConfig({ ports: { mqtt: 1883 } }), /1883/);
});

test('pinned certificate policy requires a fingerprint', () => {
  assert.throws(
    () => parseConfig({ printers: [{ ...printer, certificate: { policy: 'pinned' } }] }),
    (e: unknown) => e instanceof ConfigError && e.field === 'printers[0].certificate.fingerprint',
  );
});

test('a valid printer gets transport defaults', () => {
  const config = parseConfig({ printers: [printer] });
  assert.equal(config.printers[0]?.mqtt.transport, 'tls');
  assert.equal(config.printers[0]?.certificate.policy, 'bbl-ca');
});

test('cloud access: off, strict or unrestricted; older true/false files still load (true is strict)', () => {
  const mode = (cloudAccess: unknown) => parseConfig({ firewall: { cloudAccess } }).firewall.cloudAccess;
  assert.equal(mode(false), 'off');
  assert.equal(mode(true), 'strict');
  for (const m of ['off', 'strict', 'unrestricted']) assert.equal(mode(m), m);
  assert.throws(
    () => mode('open'),
    (e: unknown) =>
      e instanceof ConfigError && e.field === 'firewall.cloudAccess' && /off, strict, unrestricted/.test(e.message),
  );
});

test('storeAndForward: on for FTPS printers by default, off for plain FTP and passthrough, refused with passthrough', () => {
  const parse = (extra: object) => parseConfig({ printers: [{ ...printer, ...extra }] }).printers[0] as never;
  assert.equal(storeAndForward(parse({})), true);
  assert.equal(storeAndForward(parse({ ftp: { transport: 'plain' } })), false);
  assert.equal(storeAndForward(parse({ storeAndForward: false })), false);
  assert.equal(storeAndForward(parse({ passthrough: true })), false);
  assert.throws(
    () => parse({ passthrough: true, storeAndForward: true }),
    (e: unknown) => e instanceof ConfigError && e.field === 'printers[0].storeAndForward',
  );
  const spool = defaultConfig().spool;
  assert.deepEqual([spool.maxBytes, spool.holdLimitMs], [undefined, 600_000]);
});

test('each printer of several needs a LAN address of its own, not one of Moat', () => {
  const second = { ...printer, serial: '01S00A000000002', address: '192.0.2.11' };
  assert.equal(parseConfig({ printers: [printer] }).printers[0]?.lanAddress, undefined);
  assert.throws(
    () => parseConfig({ printers: [{ ...printer, lanAddress: '198.51.100.21' }, second] }),
    (e: unknown) => e instanceof ConfigError && e.field === 'printers[1].lanAddress' && /required/.test(e.message),
  );
  assert.throws(
    () =>
      parseConfig({
        printers: [
          { ...printer, lanAddress: '198.51.100.21' },
          { ...second, lanAddress: '198.51.100.21' },
        ],
      }),
    (e: unknown) =>
      e instanceof ConfigError && e.field === 'printers[1].lanAddress' && /another printer/.test(e.message),
  );
  assert.throws(
    () => parseConfig({ lan: { addresses: ['198.51.100.2'] }, printers: [{ ...printer, lanAddress: '198.51.100.2' }] }),
    (e: unknown) => e instanceof ConfigError && e.field === 'printers[0].lanAddress' && /own addresses/.test(e.message),
  );
  assert.throws(
    () => parseConfig({ printers: [{ ...printer, lanAddress: '198.51.100.300' }] }),
    (e: unknown) => e instanceof ConfigError && e.field === 'printers[0].lanAddress',
  );
  const two = parseConfig({
    printers: [
      { ...printer, lanAddress: '198.51.100.21' },
      { ...second, lanAddress: '198.51.100.22' },
    ],
  });
  assert.deepEqual(
    two.printers.map((p) => p.lanAddress),
    ['198.51.100.21', '198.51.100.22'],
  );
});
