import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateAccessCode } from '../../src/auth/access-codes.js';
import { sha256Fingerprint } from '../../src/certs/x509.js';
import { readSecret } from '../../src/config/secrets.js';
import { type SimulatedPrinter, startSimulatedPrinter } from '../../src/simulator/index.js';
import { waitFor } from '../helpers/wait.js';
import {
  type Browser,
  claimInBrowser,
  openBrowser,
  screenshotDir,
  startFreshMoat,
  unexpectedErrors,
} from './web-harness.js';

/** The whole wizard in a browser, against the simulated printer (MQTT, FTPS and NOTIFY over loopback). */

const serial = '01P00A000000042';

test('the wizard completes against the simulator', async (t) => {
  if (!existsSync('/usr/bin/chromium')) {
    t.skip('Debian chromium is not installed (/usr/bin/chromium)');
    return;
  }
  const moat = await startFreshMoat();
  let sim: SimulatedPrinter | undefined;
  let browser: Browser | undefined;
  try {
    const accessCode = generateAccessCode();
    sim = await startSimulatedPrinter({
      serial,
      model: 'P1S',
      accessCode,
      mqtt: { transport: 'tls' },
      ftp: { transport: 'tls', rootDir: join(moat.dir, 'printer-storage') },
      notify: { targetHost: '127.0.0.1', targetPort: moat.moat.web.printerFinderPort, intervalMs: 300 },
      statsPort: false,
    });
    mkdirSync(screenshotDir, { recursive: true });
    const shot = (name: string) => browser?.page.screenshot({ path: join(screenshotDir, name), fullPage: true });
    browser = await openBrowser(moat);
    const { page } = browser;
    await claimInBrowser(browser, moat, 'wizard test password');

    // 1. LAN network: Ethernet status (this machine has no NetworkManager: the page says so plainly).
    await page.locator('#ethernet-status').waitFor();
    await shot('wizard-1-network.png');
    await page.click('#next-step');

    // 2. Printer network: a too-short passphrase is explained, a good one saved as a secret.
    await page.locator('#segment-form').waitFor();
    await page.fill('#f-ssid', 'moat-printers');
    await page.fill('#f-passphrase', 'short');
    await page.click('#segment-form button[type=submit]');
    await waitFor(
      async () => /8 to 63 characters/.test((await page.locator('#segment-form .message').textContent()) ?? ''),
      { what: 'the passphrase explanation', timeoutMs: 15_000, intervalMs: 100 },
    );
    assert.equal(await page.getAttribute('#f-passphrase', 'aria-invalid'), 'true');
    await page.fill('#f-passphrase', 'printer network passphrase');
    await page.fill('#f-country', 'de');
    await page.fill('#f-channel', '11');
    await page.selectOption('#f-security', 'wpa3');
    await page.click('#segment-form button[type=submit]');
    await waitFor(async () => moat.moat.context.config.get().segment.channel === 11, {
      what: 'the segment to be saved',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    assert.equal(moat.moat.context.config.get().segment.country, 'DE');
    assert.equal(moat.moat.context.config.get().segment.security, 'wpa3');
    assert.equal(readSecret(moat.paths, 'segment-passphrase'), 'printer network passphrase');
    await shot('wizard-2-segment.png');
    await page.click('#next-step');

    // 3. Printer: detected by its NOTIFY, then tested. The simulator's certificate is not Bambu's, so
    // the first test refuses to send the code; trusting the shown certificate turns it green.
    const found = page.locator('#found-printers li.found', { hasText: serial });
    await found.waitFor({ timeout: 15000 });
    await found.locator('.use-printer').click();
    assert.equal(await page.inputValue('#f-serial'), serial);
    assert.equal(await page.inputValue('#f-address'), '127.0.0.1');
    assert.equal(await page.inputValue('#f-model'), 'P1S');
    await page.fill('#f-accessCode', accessCode);
    await page.click('#printer-form summary');
    await page.fill('#f-mqttPort', String(sim.ports.mqtt));
    await page.fill('#f-ftpPort', String(sim.ports.ftp));
    await page.click('#test-connection');
    await waitFor(async () => (await page.getAttribute('#test-result', 'data-state')) === 'failed', {
      what: 'first test',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    assert.match((await page.locator('#test-result').textContent()) ?? '', /not signed by Bambu Lab/);
    await page.click('#trust-certificate');
    await waitFor(async () => (await page.getAttribute('#test-result', 'data-state')) === 'ok', {
      what: 'a green test',
      timeoutMs: 20000,
      intervalMs: 100,
    });
    assert.equal(await page.locator('#test-result li.good').count(), 3);
    await shot('wizard-3-printer.png');
    // A fixed lease needs an address on the printer's network; the simulator's loopback address is not one.
    await page.fill('#f-mac', '02:00:00:5A:00:42');
    await page.click('#save-printer');
    await waitFor(
      async () =>
        /does not fit the printer network/.test((await page.locator('#printer-form .message').textContent()) ?? ''),
      { what: 'the fixed-address explanation', timeoutMs: 15_000, intervalMs: 100 },
    );
    assert.deepEqual(moat.moat.context.config.get().segment.reservations, []);
    await page.fill('#f-mac', '');
    await page.click('#save-printer');
    await page.locator('#configured-printers li', { hasText: serial }).waitFor();
    const printer = moat.moat.context.config.get().printers.find((p) => p.serial === serial);
    assert.equal(printer?.certificate.policy, 'pinned');
    assert.equal(
      printer?.certificate.fingerprint,
      sha256Fingerprint(sim.pki.leaf.certPem),
      'pinned to the certificate shown',
    );
    assert.equal(moat.moat.context.printerAccessCode(serial), accessCode);

    await page.click('#next-step');

    // 4. Access codes: a viewer and an operator code, each shown once and really working.
    const created: Record<string, string> = {};
    for (const [label, role] of [
      ['Living room tablet', 'viewer'],
      ['Studio laptop', 'operator'],
    ] as const) {
      await page.fill('#f-label', label);
      await page.selectOption('#f-role', role);
      await page.click('#code-form button[type=submit]');
      await waitFor(async () => ((await page.locator('#new-code').textContent()) ?? '').includes(label), {
        what: `the ${role} code`,
        timeoutMs: 15_000,
        intervalMs: 100,
      });
      created[role] = (await page.locator('#new-code .access-code').textContent()) ?? '';
      assert.equal((await moat.moat.context.accessCodes.verify(created[role] ?? ''))?.role, role);
    }
    assert.equal(await page.locator('#access-codes li[data-role=viewer]').count(), 1);
    assert.equal(await page.locator('#access-codes li[data-role=operator]').count(), 1);
    await shot('wizard-4-codes.png');
    // Revoking one code leaves the others working.
    await page.fill('#f-label', 'Old phone');
    await page.selectOption('#f-role', 'viewer');
    await page.click('#code-form button[type=submit]');
    await page.locator('#new-code', { hasText: 'Old phone' }).waitFor();
    const oldPhone = (await page.locator('#new-code .access-code').textContent()) ?? '';
    assert.ok(await moat.moat.context.accessCodes.verify(oldPhone));
    await page.locator('#access-codes li', { hasText: 'Old phone' }).locator('.revoke').click();
    await waitFor(async () => (await page.locator('#access-codes li', { hasText: 'Old phone' }).count()) === 0, {
      what: 'revoke',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    assert.equal(await moat.moat.context.accessCodes.verify(oldPhone), undefined, 'the revoked code no longer works');
    assert.equal((await moat.moat.context.accessCodes.verify(created.viewer ?? ''))?.role, 'viewer');
    const stored = JSON.stringify(moat.moat.context.config.get().accessCodes);
    assert.ok(!stored.includes(created.viewer ?? '?') && !stored.includes(created.operator ?? '?'), 'only hashes kept');
    await page.click('#next-step');

    // 5. Certificate: the downloaded file is Moat's CA, the fingerprint shown is its fingerprint.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-ca')]);
    const downloaded = readFileSync((await download.path()) ?? '', 'utf8');
    assert.equal(downloaded, moat.moat.context.identity.caCertPem);
    assert.equal(await page.locator('#ca-fingerprint').textContent(), moat.moat.context.identity.caFingerprint256);
    await shot('wizard-5-certificate.png');
    await page.click('#next-step');

    // 6. Firewall review: what is open, and the cloud switch goes into the configuration.
    await page.locator('#open-ports').waitFor();
    assert.match((await page.locator('#open-ports').textContent()) ?? '', /FTPS/);
    await page.check('#cloud-access-strict');
    await waitFor(async () => moat.moat.context.config.get().firewall.cloudAccess === 'strict', {
      what: 'cloud access on, strict',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    await shot('wizard-6-firewall.png');
    await page.click('#finish');
    await page.locator('#printers .printer', { hasText: serial }).waitFor();

    assert.deepEqual(unexpectedErrors(browser.errors, [400]), [], 'no console errors but the provoked refusal');
  } finally {
    await browser?.close();
    await sim?.close();
    await moat.close();
  }
});
