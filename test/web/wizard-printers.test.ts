import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { printerSecretName, readSecret } from '../../src/config/secrets.js';
import { waitFor } from '../helpers/wait.js';
import {
  apiRequest,
  type Browser,
  browserLogin,
  claimAsOwner,
  openBrowser,
  startFreshMoat,
  unexpectedErrors,
} from './web-harness.js';

/**
 * The printer step with several printers, in Chromium: a lone printer readdressed with Edit, a second added
 * with its own LAN address, a third by DHCP, all listed, one removed. Config only: the printers' addresses are in
 * 198.51.100.0/24 (nothing answers there), Moat's per-printer addresses are loopback (127.0.1.x).
 */

const first = { serial: '01P00A000000201', address: '198.51.100.21', accessCode: 'first-code' };
const second = { serial: '01P00A000000202', address: '198.51.100.22', accessCode: 'second-code' };
const third = { serial: '01P00A000000203', address: '198.51.100.23', accessCode: 'third-code' };

test('the printer step adds a second printer with its LAN address, lists both and removes one', async (t) => {
  if (!existsSync('/usr/bin/chromium')) {
    t.skip('Debian chromium is not installed (/usr/bin/chromium)');
    return;
  }
  const moat = await startFreshMoat();
  let browser: Browser | undefined;
  const config = () => moat.moat.context.config.get();
  try {
    const admin = await claimAsOwner(moat, moat.claimCode(), 'wizard printers password');
    const saved = await apiRequest(moat, admin, 'PUT', '/api/printers', {
      ...first,
      model: 'P1S',
      certificate: { policy: 'bbl-ca' },
    });
    assert.equal(saved.status, 200, saved.body);
    browser = await openBrowser(moat);
    const { page } = browser;
    await browserLogin(browser, moat.baseUrl, admin.cookie);
    await page.goto(`${moat.baseUrl}/#/setup/printer`);
    const row = (serial: string) => page.locator('#configured-printers li', { hasText: serial });
    await row(first.serial).waitFor();
    assert.match((await row(first.serial).textContent()) ?? '', /on all of Moat’s LAN addresses/);
    assert.equal(await page.isHidden('#printer-form'), true, 'the list is the step; the form opens on demand');

    const addSecond = async () => {
      await page.click('#add-printer');
      await page.fill('#f-serial', second.serial);
      await page.selectOption('#f-model', 'X1C');
      await page.fill('#f-address', second.address);
      await page.fill('#f-lanAddress', '127.0.1.2');
      await page.fill('#f-accessCode', second.accessCode);
      await page.click('#save-printer');
    };
    // The lone printer has no address of its own yet: the page says which printer to give one first.
    await addSecond();
    await waitFor(
      async () =>
        ((await page.locator('#printer-form .message').textContent()) ?? '').includes(`First give ${first.serial}`),
      { what: 'the explanation', timeoutMs: 15_000, intervalMs: 100 },
    );
    assert.equal(config().printers.length, 1, 'nothing added');

    // Readdressing is editing the field; the stored access code stays when none is typed.
    await row(first.serial).locator('.edit-printer').click();
    assert.equal(await page.inputValue('#f-serial'), first.serial);
    assert.equal(await page.inputValue('#f-address'), first.address);
    await page.fill('#f-lanAddress', '127.0.1.1');
    await page.click('#save-printer');
    await row(first.serial).locator('.printer-lan-address', { hasText: '127.0.1.1' }).waitFor();
    assert.equal(config().printers[0]?.lanAddress, '127.0.1.1');
    assert.equal(readSecret(moat.paths, printerSecretName(first.serial)), first.accessCode);

    await addSecond();
    await row(second.serial).waitFor();
    assert.match(
      (await row(second.serial).textContent()) ?? '',
      /X1C, at 198\.51\.100\.22; Moat’s LAN address for it: 127\.0\.1\.2/,
    );
    assert.deepEqual(
      config().printers.map((p) => [p.serial, p.lanAddress]),
      [
        [first.serial, '127.0.1.1'],
        [second.serial, '127.0.1.2'],
      ],
    );
    assert.equal(readSecret(moat.paths, printerSecretName(second.serial)), second.accessCode);

    // A third whose address the router hands out: no address typed, the field is not required with DHCP.
    await page.click('#add-printer');
    await page.fill('#f-serial', third.serial);
    await page.fill('#f-address', third.address);
    await page.fill('#f-accessCode', third.accessCode);
    assert.equal(await page.getAttribute('#f-lanAddress', 'required'), '', 'beside others a fixed address is needed');
    await page.selectOption('#f-lanAddressing', 'dhcp');
    assert.equal(await page.getAttribute('#f-lanAddress', 'required'), null, 'with DHCP the router gives it');
    await page.click('#save-printer');
    await row(third.serial).locator('.printer-lan-address', { hasText: 'waiting for a DHCP lease' }).waitFor();
    const saved3 = config().printers.find((p) => p.serial === third.serial);
    assert.deepEqual([saved3?.lanAddress, saved3?.lanAddressing.method], [undefined, 'dhcp']);

    await row(first.serial).locator('.remove-printer').click();
    await waitFor(async () => (await row(first.serial).count()) === 0, {
      what: 'the removed printer to leave the list',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    assert.equal(await row(second.serial).count(), 1);
    assert.deepEqual(
      config().printers.map((p) => p.serial),
      [second.serial, third.serial],
    );
    assert.equal(readSecret(moat.paths, printerSecretName(first.serial)), undefined, 'its access code is gone');
    assert.deepEqual(unexpectedErrors(browser.errors, [400]), [], 'no console errors but the provoked refusal');
  } finally {
    await browser?.close();
    await moat.close();
  }
});
