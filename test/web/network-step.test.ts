import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { useNmcliStandin } from '../helpers/nmcli-standin.js';
import { type Browser, claimAsOwner, openBrowser, startFreshMoat, unexpectedErrors } from './web-harness.js';

/**
 * The wizard's Wi-Fi step through the browser, with the stand-in nmcli first on PATH (this machine has no
 * radio): scan, choose, a refused passphrase explained, the right one connects — and the passphrase is in
 * no process's arguments on the way.
 */
test('the LAN step scans, chooses and joins Wi-Fi without putting the passphrase on a command line', async (t) => {
  if (!existsSync('/usr/bin/chromium')) {
    t.skip('Debian chromium is not installed (/usr/bin/chromium)');
    return;
  }
  const moat = await startFreshMoat();
  const log = join(moat.dir, 'nmcli.log');
  const passphrase = 'upstream wifi passphrase 9';
  let browser: Browser | undefined;
  let restoreEnvironment = () => {};
  try {
    restoreEnvironment = useNmcliStandin(log, passphrase);
    const password = 'network step password';
    await claimAsOwner(moat, moat.claimCode(), password);

    browser = await openBrowser(moat, { width: 390, height: 844 });
    const { page } = browser;
    await page.goto(`${moat.baseUrl}/#/setup/network`);
    await page.fill('#password', password);
    await page.click('#login-form button[type=submit]');
    // The step fills in once NetworkManager (the stand-in) answered.
    await page.locator('#step-network', { hasText: 'Connected to Moat Upstream (74%)' }).waitFor();

    await page.click('#wifi-scan');
    const choice = page.locator('#wifi-networks button', { hasText: 'Cafe: guest' });
    await choice.waitFor();
    assert.equal(await page.locator('#wifi-networks li').count(), 3);
    await page.locator('#wifi-networks button', { hasText: 'Moat Upstream' }).click();
    assert.equal(await page.inputValue('#f-ssid'), 'Moat Upstream');

    await page.fill('#f-passphrase', 'not the passphrase');
    await page.click('#wifi-form button[type=submit]');
    await page.locator('#wifi-form .message.error', { hasText: 'was not accepted' }).waitFor();
    assert.equal(await page.getAttribute('#f-passphrase', 'aria-invalid'), 'true');
    await page.fill('#f-passphrase', passphrase);
    await page.click('#wifi-form button[type=submit]');
    await page.locator('#wifi-form .message.ok', { hasText: 'Connected to Moat Upstream' }).waitFor();

    const recorded = readFileSync(log, 'utf8');
    assert.match(recorded, new RegExp(`STDIN-LENGTH ${passphrase.length}\\n`), 'nmcli received it on stdin');
    assert.ok(!recorded.replace(/STDIN-LENGTH \d+/g, '').includes(passphrase), 'in no argv, no process table');
    assert.ok(!recorded.includes('not the passphrase'), 'the wrong one neither');
    assert.deepEqual(unexpectedErrors(browser.errors, [400]), [], 'no console errors but the provoked refusal');
  } finally {
    restoreEnvironment();
    await browser?.close();
    await moat.close();
  }
});
