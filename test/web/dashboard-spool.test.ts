import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { curlArgs, moatFtpTarget, writeRandomFile } from '../helpers/ftp-clients.js';
import { type Harness, printerStorage, startHarness } from '../helpers/harness.js';
import { moatEndpoint, mosquittoArgs, waitForPrinterReady } from '../helpers/mqtt-clients.js';
import { run } from '../helpers/process.js';
import { projectFile, spoolOn } from '../helpers/spool.js';
import { waitFor } from '../helpers/wait.js';
import { asFreshMoat, type Browser, claimInBrowser, openBrowser, unexpectedErrors } from './web-harness.js';

/**
 * A store-and-forward upload on the dashboard: one row, two bars — LAN → Moat full at once, Moat → printer
 * filling at the printer's 150 KB/s with its percent and time left — and the audit log saying the print was
 * held, then sent once the file had landed.
 */
test('the dashboard shows a spooled upload as two bars and the held print in the audit log', async (t) => {
  if (!existsSync('/usr/bin/chromium')) {
    t.skip('Debian chromium is not installed (/usr/bin/chromium)');
    return;
  }
  let h: Harness | undefined;
  let browser: Browser | undefined;
  try {
    h = await startHarness({ ftpBytesPerSecond: 150 * 1024, configure: spoolOn() });
    await waitForPrinterReady(h);
    const moat = asFreshMoat(h);
    browser = await openBrowser(moat);
    const { page } = browser;
    await claimInBrowser(browser, moat, 'dashboard test password');
    await page.goto(`${moat.baseUrl}/#/`);
    await page.locator('#transfers, #printers .printer').first().waitFor({ timeout: 20_000 });

    const source = join(h.dir, 'cube.3mf');
    writeRandomFile(source, 1024 * 1024);
    const up = await run('curl', curlArgs(moatFtpTarget(h, 'operator'), 'cube.3mf', ['-T', source]));
    assert.equal(up.code, 0, up.stderr);
    const sent = await run('mosquitto_pub', [
      ...mosquittoArgs(moatEndpoint(h, 'operator')),
      '-t',
      `device/${h.serial}/request`,
      '-m',
      projectFile('cube.3mf', '31'),
    ]);
    assert.equal(sent.code, 0, sent.stderr);

    const row = page.locator('#transfers tr', { hasText: 'cube.3mf' });
    await row.locator('.stage-spool', { hasText: '100%' }).waitFor({ timeout: 15_000 });
    const drain = row.locator('.stage-drain');
    // The drain's percent counts what Moat has written towards the printer. The kernel's socket buffers take
    // megabytes at once, so the bar may stand at 100% while the printer is still reading: the row must say so
    // (never "0 s left"), and it must not say done before the printer has the whole file.
    await waitFor(
      async () => /\d+%( · \d+ s left| · waiting for the printer)?/.test((await drain.textContent()) ?? ''),
      { what: 'the drain bar with its percent', timeoutMs: 15_000, intervalMs: 100 },
    );
    assert.doesNotMatch((await drain.textContent()) ?? '', / 0 s left/);
    await page.locator('#audit-log tr', { hasText: 'held' }).waitFor({ timeout: 15_000 });
    await waitFor(
      async () => /100%/.test((await drain.textContent()) ?? '') && /done/.test((await row.textContent()) ?? ''),
      {
        what: 'the upload to show done once on the printer',
        timeoutMs: 30_000,
        intervalMs: 100,
      },
    );
    assert.equal(statSync(join(printerStorage(h), 'cube.3mf')).size, 1024 * 1024, 'done only once the printer has it');
    await waitFor(
      async () =>
        (await page.locator('#audit-log tr', { hasText: 'project_file' }).allTextContents()).some((r) =>
          /allowed/.test(r),
        ),
      { what: 'the print audited allowed', timeoutMs: 15_000, intervalMs: 100 },
    );
    assert.deepEqual(unexpectedErrors(browser.errors), [], 'no console errors');
  } finally {
    await browser?.close();
    await h?.close();
  }
});
