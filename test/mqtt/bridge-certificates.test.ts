import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createPrinterPki, type PrinterPki } from '../../src/certs/printer-pki.js';
import { issueServerCertificate, sha256Fingerprint } from '../../src/certs/x509.js';
import type { MoatConfig } from '../../src/config/schema.js';
import { type Harness, type HarnessOptions, startHarness } from '../helpers/harness.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { waitForPrinterReady } from '../helpers/mqtt-clients.js';
import { waitFor } from '../helpers/wait.js';

/** Moat talks to the printer only when its certificate is the expected one, and says why when not. */
describe('MQTT bridge printer certificates', () => {
  const serial = '01P00A000000042';
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses.splice(0)) await h.close();
  });

  const start = async (options: HarnessOptions) => {
    const { logger, lines } = capturingLogger();
    const h = await startHarness({ serial, ftp: false, logger, ...options });
    harnesses.push(h);
    return { h, lines };
  };
  const withCertificate =
    (certificate: Partial<MoatConfig['printers'][number]['certificate']>) => (config: MoatConfig) => ({
      ...config,
      printers: config.printers.map((p) => ({ ...p, certificate: { ...p.certificate, ...certificate } })),
    });
  const expectRefusal = async (h: Harness, lines: Record<string, unknown>[], reason: RegExp) => {
    const line = await waitFor(() => lines.find((l) => l.msg === 'printer certificate refused'), {
      what: 'the refusal log line',
    });
    assert.match(String(line.reason), reason);
    assert.equal(line.serial, serial);
    assert.equal(h.moat?.mqtt.printers()[0]?.online, false);
    // The access code is only sent after the check: the printer never saw a login.
    assert.equal(h.sim.stats.mqttPeakConnections, 0);
    assert.ok(!JSON.stringify(lines).includes(h.printerAccessCode), 'no log line carries the printer access code');
  };

  test('a leaf from the right CA with another CN is refused', async () => {
    const real = await createPrinterPki(serial);
    const impostor: PrinterPki = {
      ca: real.ca,
      leaf: await issueServerCertificate(real.ca, { commonName: 'IMPOSTOR', altNames: [], validDays: 1 }),
    };
    const { h, lines } = await start({ simulator: { pki: impostor } });
    await expectRefusal(h, lines, /CN "IMPOSTOR" is not the printer serial 01P00A000000042/);
  });

  test('a certificate that does not chain to the expected CA is refused', async () => {
    const other = await createPrinterPki(serial, 'Some other CA');
    const { h, lines } = await start({
      configure: (config) => {
        const file = join(config.web.claimFile, '..', '..', 'other-ca.pem');
        writeFileSync(file, other.ca.certPem);
        return withCertificate({ caFile: file })(config);
      },
    });
    await expectRefusal(h, lines, /does not chain to the test CA .*other-ca\.pem/);
  });

  test('under the bbl-ca policy the simulator (not signed by Bambu) is refused', async () => {
    const { h, lines } = await start({ configure: withCertificate({ policy: 'bbl-ca' }) });
    await expectRefusal(h, lines, /does not chain to the BBL CA bundle/);
  });

  test('a pinned fingerprint admits exactly that certificate', async () => {
    const pki = await createPrinterPki(serial);
    const pinned = await start({
      simulator: { pki },
      configure: withCertificate({ policy: 'pinned', fingerprint: sha256Fingerprint(pki.leaf.certPem) }),
    });
    await waitForPrinterReady(pinned.h);
    const wrongPin = sha256Fingerprint((await createPrinterPki(serial)).leaf.certPem);
    const other = await start({
      simulator: { pki },
      configure: withCertificate({ policy: 'pinned', fingerprint: wrongPin }),
    });
    await expectRefusal(other.h, other.lines, /does not match the pinned/);
  });

  test('plaintext upstream works when configured', async () => {
    const { h } = await start({ mqtt: 'plain' });
    await waitForPrinterReady(h);
    assert.equal(h.sim.stats.mqttConnections, 1);
  });
});
