import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { waitFor } from '../helpers/wait.js';
import { apiRequest, type Browser, claimAsOwner, openBrowser, startFreshMoat } from './web-harness.js';

/** Text that came from a person or a printer stays text: no markup, no script, wherever it is shown. */

const hostileName = '<script>window.__x=1</script><img src=x onerror=window.__x=2>';

test('a printer name containing <script> renders as text on the dashboard and in the wizard', async (t) => {
  if (!existsSync('/usr/bin/chromium')) {
    t.skip('Debian chromium is not installed (/usr/bin/chromium)');
    return;
  }
  const moat = await startFreshMoat();
  let browser: Browser | undefined;
  const sender = createSocket('udp4');
  try {
    const password = 'a good long password';
    const owner = await claimAsOwner(moat, moat.claimCode(), password);
    const saved = await apiRequest(moat, owner, 'PUT', '/api/printers', {
      serial: '01P00A000000001',
      name: hostileName,
      model: 'P1S',
      address: '198.51.100.20',
      accessCode: '12345678',
      certificate: { policy: 'bbl-ca' },
    });
    assert.equal(saved.status, 200, saved.body);

    browser = await openBrowser(moat);
    const { page } = browser;
    await page.goto(moat.baseUrl);
    await page.fill('#password', password);
    await page.click('#login-form button[type=submit]');
    const name = page.locator('#printers .printer-name');
    await name.waitFor();
    assert.equal(await name.textContent(), hostileName);
    assert.equal(await page.locator('#printers script, #printers img').count(), 0);

    // A NOTIFY is untrusted too: a hostile DevName from the printer network is shown as text.
    await page.goto(`${moat.baseUrl}/#/setup/printer`);
    await page.locator('#configured-printers .printer-name').waitFor();
    assert.equal(await page.locator('#configured-printers .printer-name').textContent(), hostileName);
    const notify = Buffer.from(
      'NOTIFY * HTTP/1.1\r\nLocation: 198.51.100.21\r\nNT: urn:bambulab-com:device:3dprinter:1\r\n' +
        `USN: 01P00A000000002\r\nDevModel.bambu.com: C12\r\nDevName.bambu.com: ${hostileName}\r\n\r\n`,
    );
    await waitFor(
      async () => {
        sender.send(notify, moat.moat.web.printerFinderPort, '127.0.0.1');
        return (await page.locator('#found-printers li.found').count()) > 0;
      },
      { what: 'the NOTIFY to be listed', timeoutMs: 15_000, intervalMs: 100 },
    );
    assert.match((await page.locator('#found-printers li.found span').textContent()) ?? '', /<script>window/);
    await page.click('#found-printers .use-printer');
    assert.equal(await page.inputValue('#f-name'), hostileName);
    assert.equal(await page.inputValue('#f-serial'), '01P00A000000002');

    assert.equal(await page.evaluate('typeof window.__x'), 'undefined', 'no injected script ran');
    assert.deepEqual(browser.errors, [], 'no console errors');
  } finally {
    sender.close();
    await browser?.close();
    await moat.close();
  }
});
