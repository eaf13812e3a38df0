import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Harness, startHarness } from '../helpers/harness.js';
import { moatEndpoint, mosquittoArgs } from '../helpers/mqtt-clients.js';
import { run } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import {
  asFreshMoat,
  type Browser,
  claimInBrowser,
  openBrowser,
  screenshotDir,
  unexpectedErrors,
} from './web-harness.js';

/**
 * The dashboard in a browser while real clients use Moat: a simulated print advancing, a connected
 * mosquitto_sub, an FTPS upload by curl (throttled by the simulated printer so its progress can be seen).
 */

test('the dashboard shows a print advancing, a connected client and an upload in progress', async (t) => {
  if (!existsSync('/usr/bin/chromium')) {
    t.skip('Debian chromium is not installed (/usr/bin/chromium)');
    return;
  }
  const storage = mkdtempSync(join(tmpdir(), 'moat-dash-storage-'));
  let h: Harness | undefined;
  let browser: Browser | undefined;
  const children: ChildProcess[] = [];
  try {
    h = await startHarness({
      simulator: {
        mqtt: { transport: 'tls', printTickMs: 400 },
        ftp: { transport: 'tls', rootDir: storage, bytesPerSecond: 256 * 1024 },
      },
    });
    assert.ok(h.moat, 'the harness runs Moat');
    const moat = asFreshMoat(h);
    browser = await openBrowser(moat);
    const { page } = browser;
    await claimInBrowser(browser, moat, 'dashboard test password');
    await page.goto(`${moat.baseUrl}/#/`);
    const harness = h;
    await page
      .locator(`#printers .printer[data-serial="${h.serial}"] .badge.good`)
      .waitFor({ timeout: 20000 })
      .catch(async (error: Error) => {
        // Say which side was behind (seen once in CI, not reproduced): Moat's own view of the printer link,
        // or the page that did not show it.
        const card = await page
          .locator('#printers')
          .textContent({ timeout: 1000 })
          .catch(() => '(no #printers)');
        throw new Error(
          `${error.message}\nMoat's printers: ${JSON.stringify(harness.moat?.mqtt.printers())}\npage: ${card}`,
        );
      });

    // A viewer stays connected with mosquitto_sub: it appears among the connected clients.
    const sub = spawn(
      'mosquitto_sub',
      [...mosquittoArgs(moatEndpoint(h, 'viewer')), '-t', `device/${h.serial}/report`],
      {
        stdio: 'ignore',
      },
    );
    children.push(sub);
    await page.locator('#clients tr', { hasText: 'viewer test' }).waitFor({ timeout: 15000 });
    assert.match((await page.locator('#clients tr', { hasText: 'viewer test' }).textContent()) ?? '', /MQTT/);

    // An operator starts a print; its progress advances on the page without a reload.
    const start = JSON.stringify({
      print: { sequence_id: '1', command: 'project_file', param: 'Metadata/plate_1.gcode', subtask_name: 'benchy' },
    });
    const published = await run('mosquitto_pub', [
      ...mosquittoArgs(moatEndpoint(h, 'operator')),
      '-t',
      `device/${h.serial}/request`,
      '-m',
      start,
    ]);
    assert.equal(published.code, 0, published.stderr);
    const card = page.locator(`#printers .printer[data-serial="${h.serial}"]`);
    await card.locator('.print-state', { hasText: 'Printing' }).waitFor({ timeout: 15000 });
    const percent = card.locator('.print-percent');
    const readPercent = async () => Number(/(\d+)%/.exec((await percent.textContent()) ?? '')?.[1] ?? -1);
    const first = await readPercent();
    await waitFor(async () => (await readPercent()) > first, {
      what: 'the print progress to advance',
      timeoutMs: 15000,
      intervalMs: 100,
    });
    const second = await readPercent();
    await waitFor(async () => (await readPercent()) > second, {
      what: 'the print progress to advance again',
      timeoutMs: 15000,
      intervalMs: 100,
    });

    // An FTPS upload by curl, throttled by the printer: its progress moves while it runs. (curl announces
    // no size, so the bar is indeterminate and the byte count moves; with a known size the bar fills.)
    const file = `${storage}-upload.3mf`;
    const size = 1536 * 1024;
    writeFileSync(file, Buffer.alloc(size, 7));
    const upload = spawn(
      'curl',
      [
        '--silent',
        '--show-error',
        '--ftp-pasv',
        '--ssl-reqd',
        '--cacert',
        h.moatCaFile,
        '--user',
        `bblp:${h.codes.operator}`,
        '-T',
        file,
        `ftps://127.0.0.1:${h.moat.ftp.port}/benchy.3mf`,
      ],
      { stdio: 'ignore' },
    );
    children.push(upload);
    const uploadDone = new Promise<number>((resolve) => upload.once('exit', (code) => resolve(code ?? 1)));
    const row = page.locator('#transfers tr', { hasText: 'benchy.3mf' });
    await row.waitFor({ timeout: 15000 });
    const bar = row.locator('progress.transfer-progress');
    const readBytes = async () => {
      const value = await bar.getAttribute('value');
      return value === null ? ((await row.textContent()) ?? '') : Number(value);
    };
    const before = await readBytes();
    await waitFor(async () => (await readBytes()) !== before, {
      what: 'the upload bar to move',
      timeoutMs: 15000,
      intervalMs: 100,
    });
    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: join(screenshotDir, 'dashboard-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(screenshotDir, 'dashboard-phone.png'), fullPage: true });
    assert.equal(await uploadDone, 0, 'the upload completed');
    await waitFor(async () => /done/.test((await row.textContent()) ?? ''), {
      what: 'the transfer to show done',
      timeoutMs: 15_000,
      intervalMs: 100,
    });

    // The audit log shows the operator's command; the filter narrows it.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.locator('#audit-log tr', { hasText: 'project_file' }).waitFor({ timeout: 15000 });
    await run('mosquitto_pub', [
      ...mosquittoArgs(moatEndpoint(h, 'viewer')),
      '-t',
      `device/${h.serial}/request`,
      '-m',
      start,
    ]);
    await page.selectOption('#audit-filter select[name=outcome]', 'refused');
    await page.click('#audit-filter button[type=submit]');
    await waitFor(
      async () => {
        const rows = await page.locator('#audit-log tbody tr').allTextContents();
        return rows.length > 0 && rows.every((r) => /refused/.test(r) && /viewer test/.test(r));
      },
      { what: 'only refused commands after filtering', timeoutMs: 15_000, intervalMs: 100 },
    );

    assert.deepEqual(unexpectedErrors(browser.errors), [], 'no console errors');
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
    await browser?.close();
    await h?.close();
    rmSync(storage, { recursive: true, force: true });
    rmSync(`${storage}-upload.3mf`, { force: true });
  }
});
