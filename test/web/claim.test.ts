import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../helpers/wait.js';
import { type Browser, curl, openBrowser, screenshotDir, startFreshMoat, unexpectedErrors } from './web-harness.js';

test('claim: a wrong code is refused and throttled, the right one sets the password, then it is dead', async (t) => {
  if (!existsSync('/usr/bin/chromium')) {
    t.skip('Debian chromium is not installed (/usr/bin/chromium)');
    return;
  }
  // A short window, so the test can wait the throttle out instead of sleeping through 15 minutes; long enough
  // that a slow browser's next guess still lands inside it (3 s was outlasted on a loaded machine).
  const moat = await startFreshMoat((config) => ({
    ...config,
    web: { ...config.web, loginAttempts: 3, loginWindowSeconds: 8 },
  }));
  let browser: Browser | undefined;
  try {
    const code = moat.claimCode();
    assert.match(code, /^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    browser = await openBrowser(moat);
    const { page } = browser;
    await page.goto(moat.baseUrl);
    await page.locator('#claim-code-form').waitFor();
    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: join(screenshotDir, 'claim.png') });

    const message = page.locator('#claim-code-form .message');
    // Each guess is counted by its answer from the server, not by what the page shows: a count read from the
    // page can run ahead of the answers and blame the throttle for the test's own haste.
    const submitWrong = async (attempt: number): Promise<number> => {
      await page.fill('#claim-code', `wrong-${attempt}-aaaaa-bbbbb-ccccc`);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/claim/check')),
        page.click('#claim-code-form button[type=submit]'),
      ]);
      return response.status();
    };
    assert.equal(await submitWrong(0), 401, 'a wrong code is refused');
    await waitFor(async () => /not right/.test((await message.textContent()) ?? ''), {
      what: 'the refusal of a wrong code',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    // Keep guessing: within the allowance each guess is refused, then the address is throttled.
    let attempts = 1;
    let status = 401;
    while (status !== 429) {
      assert.ok(attempts < 6, 'wrong claim codes were never throttled');
      await page.locator('#claim-code-form button:enabled[type=submit]').waitFor();
      status = await submitWrong(attempts++);
      assert.ok(status === 401 || status === 429, `a wrong code answered ${status}`);
    }
    assert.ok(attempts <= 4, `throttled after ${attempts} attempts`);
    await waitFor(async () => /Too many/.test((await message.textContent()) ?? ''), {
      what: 'the page to say the address is throttled',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    // While throttled even the right code is turned away; once the window passes it works.
    await waitFor(
      async () => {
        await page.fill('#claim-code', code.toUpperCase());
        await Promise.all([
          page.waitForResponse((r) => r.url().endsWith('/api/claim/check')),
          page.click('#claim-code-form button[type=submit]'),
        ]);
        return page.locator('#claim-password-form').isVisible();
      },
      { what: 'the right code to be accepted once the throttle window passed', timeoutMs: 30_000, intervalMs: 100 },
    );
    await page.fill('#new-password', 'short');
    await page.fill('#confirm-password', 'short');
    await page.click('#claim-password-form button[type=submit]');
    await waitFor(
      async () =>
        /at least 10 characters/.test((await page.locator('#claim-password-form .message').textContent()) ?? ''),
      { what: 'the short password to be refused', timeoutMs: 15_000, intervalMs: 100 },
    );
    await page.fill('#new-password', 'a good long password');
    await page.fill('#confirm-password', 'a good long password');
    await page.click('#claim-password-form button[type=submit]');
    await page.locator('#step-network').waitFor();
    assert.ok(await page.locator('#logout').isVisible(), 'logged in after claiming');

    // The code is dead: the claim file is gone and the API refuses it.
    assert.equal(existsSync(moat.claimFile), false);
    const session = await curl(moat, '/api/session');
    const cookie = (session.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
    const csrf = (JSON.parse(session.body) as { csrfToken: string; claimed: boolean }).csrfToken;
    assert.equal((JSON.parse(session.body) as { claimed: boolean }).claimed, true);
    const reuse = await curl(moat, '/api/claim', [
      '-X',
      'POST',
      '-H',
      `Cookie: ${cookie}`,
      '-H',
      `X-CSRF-Token: ${csrf}`,
      '-H',
      'Content-Type: application/json',
      '--data',
      JSON.stringify({ code, password: 'an attacker password' }),
    ]);
    assert.equal(reuse.status, 409);

    // After logging out, the page offers the login, never the claim again; the new password works.
    await page.click('#logout');
    await page.locator('#login-form').waitFor();
    await page.reload();
    await page.locator('#login-form').waitFor();
    assert.equal(await page.locator('#claim-code-form').count(), 0);
    await page.fill('#password', 'a good long password');
    await page.click('#login-form button[type=submit]');
    await page.locator('#logout').waitFor();

    // The owner can change the password later from the dashboard.
    await page.goto(`${moat.baseUrl}/#/`);
    await page.fill('#password-form input[name=current]', 'a good long password');
    await page.fill('#password-form input[name=password]', 'an even better password');
    await page.click('#password-form button[type=submit]');
    await page.locator('.message.ok', { hasText: 'Password changed' }).waitFor();

    assert.deepEqual(unexpectedErrors(browser.errors, [400, 401, 429]), [], 'no console errors but provoked refusals');
  } finally {
    await browser?.close();
    await moat.close();
  }
});
