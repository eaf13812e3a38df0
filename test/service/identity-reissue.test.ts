import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import type { PrinterConfig } from '../../src/config/schema.js';
import { startHarness } from '../helpers/harness.js';
import { waitForPrinterReady } from '../helpers/mqtt-clients.js';
import { run } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A fresh Moat has no printer, so its certificate cannot name one. When the wizard adds the first printer,
 * the certificate is re-issued with the serial as CN and DNS name, and every LAN listener presents it to new
 * connections at once — no restart of Moat — while a connection already open carries on.
 */
test('adding a printer or renaming Moat re-issues the server certificate on 8883, 990 and 443 without a restart', async (t) => {
  let printer: PrinterConfig | undefined;
  const h = await startHarness({
    configure: (config) => {
      printer = config.printers[0];
      return { ...config, printers: [] };
    },
  });
  t.after(() => h.close());
  const moat = h.moat;
  assert.ok(moat && printer);

  const verify = (port: number, name = h.serial) =>
    run('openssl', [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-servername',
      name,
      '-CAfile',
      h.moatCaFile,
      '-verify_hostname',
      name,
      '-verify_return_error',
    ]);
  const before = await verify(moat.web.httpsPort);
  assert.match(before.stdout + before.stderr, /hostname mismatch/, 'no printer yet: the serial is not a name');

  // A connection to the setup page opened before the change, idle until after it.
  const early: TLSSocket = connect({
    host: '127.0.0.1',
    port: moat.web.httpsPort,
    ca: readFileSync(h.moatCaFile),
    checkServerIdentity: () => undefined,
  });
  t.after(() => early.destroy());
  await once(early, 'secureConnect');
  const earlyCertificate = early.getPeerCertificate();

  const added = printer;
  moat.context.config.update((config) => ({ ...config, printers: [added] }));
  await waitForPrinterReady(h);

  for (const [service, port] of [
    ['MQTT', moat.mqtt.port],
    ['FTPS', moat.ftp.port],
    ['HTTPS', moat.web.httpsPort],
  ] as const) {
    const result = await verify(port);
    assert.match(result.stdout, /Verify return code: 0 \(ok\)/, `${service}: ${result.stdout}${result.stderr}`);
    assert.match(result.stdout, new RegExp(`subject=CN ?= ?${h.serial}`), `${service}: CN is the serial`);
  }

  // The early connection still works, on the certificate it started with.
  early.write('GET /api/session HTTP/1.1\r\nHost: moat.local\r\nConnection: close\r\n\r\n');
  const [firstChunk] = (await once(early, 'data')) as [Buffer];
  assert.match(firstChunk.toString('latin1'), /^HTTP\/1\.1 200 /);
  assert.equal(early.getPeerCertificate().fingerprint256, earlyCertificate.fingerprint256);
  assert.notEqual(earlyCertificate.subject.CN, h.serial);

  // A new hostname restarts no bridge: the running listeners take the re-issued certificate as they are.
  const bridge = moat.mqtt;
  const previous = moat.context.identity.certPem;
  moat.context.config.update((config) => ({ ...config, hostname: 'workshop' }));
  await waitFor(() => moat.context.identity.certPem !== previous, { what: 'the certificate re-issued' });
  assert.equal(moat.mqtt, bridge, 'the bridges were not restarted');
  for (const [service, port] of [
    ['MQTT', moat.mqtt.port],
    ['FTPS', moat.ftp.port],
    ['HTTPS', moat.web.httpsPort],
  ] as const) {
    const result = await verify(port, 'workshop.local');
    assert.match(result.stdout, /Verify return code: 0 \(ok\)/, `${service}: ${result.stdout}${result.stderr}`);
  }
});
