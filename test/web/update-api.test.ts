import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { handMadeBundle, raucMissing, updateFixture } from '../helpers/rauc.js';
import { waitFor } from '../helpers/wait.js';
import {
  anonymousSession,
  apiRequest,
  browserLogin,
  claimAsOwner,
  curl,
  type FreshMoat,
  launchBrowser,
  startFreshMoat,
  unexpectedErrors,
} from './web-harness.js';

/**
 * The setup page's update API over real HTTPS (curl) with real bundles: the real `rauc info` checks every
 * upload against the keyring. Only what needs a real system slot is a stand-in: `rauc status` (two slots)
 * and `rauc install` (reports progress, then waits for the test's go-ahead).
 */

const skip = raucMissing;
const dir = mkdtempSync(join(tmpdir(), 'moat-update-api-'));
let fake = '';
let moat: FreshMoat;
let admin: { cookie: string; csrf: string };
let good = '';
let foreign = '';
let otherBoard = '';
let older = '';
const runtimeDir = join(dir, 'run');
const restartRequest = join(runtimeDir, 'reboot-requested');

function upload(file: string, session = admin, extra: string[] = []) {
  return curl(moat, '/api/update/bundle', [
    ...['-X', 'POST', '-H', `Cookie: ${session.cookie}`, '-H', `X-CSRF-Token: ${session.csrf}`],
    // No "Expect: 100-continue": its interim answer would stand before the real one in curl's -i output.
    ...['-H', 'Content-Type: application/octet-stream', '-H', 'Expect:', '--data-binary', `@${file}`, ...extra],
  ]);
}

function api(method: string, path: string, session = admin) {
  return apiRequest(moat, session, method, path);
}

function updateDirFiles(): string[] {
  const updateDir = join(moat.paths.root, 'update');
  return existsSync(updateDir) ? readdirSync(updateDir) : [];
}

before(async () => {
  if (skip) return;
  const fixture = updateFixture(dir, '0.3.0');
  ({ fake, good, foreign } = fixture);
  otherBoard = handMadeBundle(dir, fixture.rootfs, {
    compatible: 'other-board',
    version: '0.3.0',
    key: join(fixture.keys, 'key.pem'),
    cert: join(fixture.keys, 'keyring.pem'),
  });
  // Signed with this Moat's key, for this board, but older than the running 0.1.0.
  older = handMadeBundle(dir, fixture.rootfs, {
    compatible: 'moat-rpi-arm64',
    version: '0.0.5',
    key: join(fixture.keys, 'key.pem'),
    cert: join(fixture.keys, 'keyring.pem'),
  });
  // Read by Moat when it answers (rauc is looked up on PATH, the keyring and compatible come from the conf).
  process.env.PATH = `${fixture.bin}:${process.env.PATH}`;
  process.env.MOAT_RAUC_CONF = fixture.systemConf;
  process.env.MOAT_UPDATE_MAX_MIB = '1';
  // As systemd sets it for moat.service (RuntimeDirectory=moat): where a restart request goes.
  mkdirSync(runtimeDir);
  process.env.RUNTIME_DIRECTORY = runtimeDir;
  moat = await startFreshMoat();
  admin = await claimAsOwner(moat, moat.claimCode(), 'correct horse battery');
});

after(async () => {
  await moat?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('update API', { skip }, () => {
  it('needs a login, and the CSRF token for an upload', async () => {
    const anonymous = await anonymousSession(moat);
    assert.equal((await api('GET', '/api/update', anonymous)).status, 401);
    assert.equal((await upload(good, anonymous)).status, 401);
    const noToken = await upload(good, { cookie: admin.cookie, csrf: 'wrong' });
    assert.equal(noToken.status, 403, noToken.body);
    assert.deepEqual(updateDirFiles(), [], 'nothing stored for a refused request');
    assert.equal((await api('POST', '/api/update/restart', anonymous)).status, 401);
    const restartNoToken = await api('POST', '/api/update/restart', { cookie: admin.cookie, csrf: 'wrong' });
    assert.equal(restartNoToken.status, 403, restartNoToken.body);
    assert.equal(existsSync(restartRequest), false, 'no restart asked for by a refused request');
  });

  it('shows the running slot and the version in the other one', async () => {
    const response = await api('GET', '/api/update');
    assert.equal(response.status, 200, response.body);
    const body = JSON.parse(response.body) as {
      booted: string;
      slots: { bootname: string; booted: boolean; version?: string }[];
    };
    assert.equal(body.booted, 'A');
    assert.deepEqual(
      body.slots.map((s) => [s.bootname, s.booted, s.version ?? null]),
      [
        ['A', true, null],
        ['B', false, '0.0.9'],
      ],
    );
  });

  it('refuses a bundle signed by a foreign key, a truncated one and one for another board, keeping none', async () => {
    const cut = join(dir, 'cut.raucb');
    writeFileSync(cut, readFileSync(good));
    truncateSync(cut, statSync(cut).size - 4096);
    for (const [file, reason] of [
      [foreign, /not signed with this Moat's update key/],
      [cut, /damaged or incomplete/],
      [otherBoard, /for "other-board"; this Moat takes only "moat-rpi-arm64"/],
    ] as const) {
      const response = await upload(file);
      assert.equal(response.status, 400, response.body);
      assert.match((JSON.parse(response.body) as { error: string }).error, reason);
      assert.deepEqual(updateDirFiles(), []);
    }
    const install = await api('POST', '/api/update/install');
    assert.equal(install.status, 409);
    assert.match(install.body, /Upload a bundle first/);
  });

  it('refuses an older bundle unless the owner allows it', async () => {
    const refused = await upload(older);
    assert.equal(refused.status, 400, refused.body);
    assert.match(refused.body, /version 0\.0\.5, older than the running 0\.1\.0\. Tick \\"Allow an older version\\"/);
    assert.deepEqual(updateDirFiles(), []);
    const allowed = await curl(moat, '/api/update/bundle?allowDowngrade=1', [
      ...['-X', 'POST', '-H', `Cookie: ${admin.cookie}`, '-H', `X-CSRF-Token: ${admin.csrf}`],
      ...['-H', 'Content-Type: application/octet-stream', '-H', 'Expect:', '--data-binary', `@${older}`],
    ]);
    assert.equal(allowed.status, 200, allowed.body);
    assert.equal((JSON.parse(allowed.body) as { bundle: { version: string } }).bundle.version, '0.0.5');
  });

  it('refuses a body over the size limit (declared or streamed) and anything but a file', async () => {
    const big = join(dir, 'big.raucb');
    writeFileSync(big, Buffer.alloc(1024 * 1024 + 1, 7));
    const declared = await upload(big);
    assert.equal(declared.status, 413, declared.body);
    assert.match(declared.body, /larger than 1 MiB/);
    const streamed = await upload(big, admin, ['-H', 'Transfer-Encoding: chunked']);
    assert.equal(streamed.status, 413, streamed.body);
    // Far past the limit: the refusal still arrives, and Moat carries on.
    const huge = join(dir, 'huge.raucb');
    writeFileSync(huge, Buffer.alloc(16 * 1024 * 1024, 7));
    const far = await upload(huge, admin, ['-H', 'Transfer-Encoding: chunked']);
    assert.equal(far.status, 413, far.body);
    assert.equal((await api('GET', '/api/update')).status, 200, 'Moat still answers');
    assert.deepEqual(updateDirFiles(), []);
    const json = await apiRequest(moat, admin, 'POST', '/api/update/bundle', { bundle: 'x' });
    assert.equal(json.status, 415, json.body);
  });

  it('verifies a good bundle, installs it with progress, and says when it starts', async () => {
    const response = await upload(good);
    assert.equal(response.status, 200, response.body);
    const { bundle } = JSON.parse(response.body) as { bundle: { version: string; signer: string } };
    assert.equal(bundle.version, '0.3.0');
    assert.match(bundle.signer, /Moat development update key/);

    const started = await api('POST', '/api/update/install');
    assert.equal(started.status, 202, started.body);
    const job = async () =>
      (
        JSON.parse((await api('GET', '/api/update')).body) as {
          job: { state: string; percent: number; message: string };
        }
      ).job;
    const progress = await waitFor(
      async () => {
        const now = await job();
        return now.percent === 40 ? now : undefined;
      },
      { what: 'install progress 40%', timeoutMs: 15_000 },
    );
    assert.equal(progress.state, 'installing');
    assert.equal(progress.message, 'Copying image to rootfs.1');
    assert.equal((await api('POST', '/api/update/install')).status, 409, 'one install at a time');
    assert.equal((await upload(good)).status, 409, 'no upload during an install');
    const early = await api('POST', '/api/update/restart');
    assert.equal(early.status, 409, 'no restart while RAUC writes the other slot');
    assert.match(early.body, /being installed; restart once it has finished/);
    assert.equal(existsSync(restartRequest), false);

    writeFileSync(join(fake, 'go'), '');
    const done = await waitFor(
      async () => {
        const now = await job();
        return now.state === 'installed' ? now : undefined;
      },
      { what: 'install to finish', timeoutMs: 15_000 },
    );
    assert.match(done.message, /Version 0\.3\.0 is installed in the other slot/);
    assert.deepEqual(readFileSync(join(fake, 'installed.raucb')), readFileSync(good), 'RAUC got the verified bundle');
    assert.deepEqual(updateDirFiles(), [], 'the bundle is not kept after its install');

    // The restart into it: Moat leaves the request moat-reboot.path acts on (tests/appliance/units checks the pair).
    assert.equal(JSON.parse((await api('GET', '/api/update')).body).canRestart, true);
    const restart = await api('POST', '/api/update/restart');
    assert.equal(restart.status, 202, restart.body);
    assert.match(restart.body, /Restarting into version 0\.3\.0/);
    assert.match(readFileSync(restartRequest, 'utf8'), /setup page/);
    rmSync(restartRequest);
  });

  it("reports RAUC's reason when an install fails, and takes the next upload", async () => {
    writeFileSync(join(fake, 'fail'), '');
    try {
      assert.equal((await upload(good)).status, 200);
      assert.equal((await api('POST', '/api/update/install')).status, 202);
      const failed = await waitFor(
        async () => {
          const { job } = JSON.parse((await api('GET', '/api/update')).body) as {
            job: { state: string; message: string };
          };
          return job.state === 'failed' ? job : undefined;
        },
        { what: 'the install to fail', timeoutMs: 15_000 },
      );
      assert.match(
        failed.message,
        /^RAUC could not install the bundle: Failed writing slot rootfs\.1: No space left on device$/,
      );
      assert.deepEqual(updateDirFiles(), []);
    } finally {
      rmSync(join(fake, 'fail'));
    }
    assert.equal((await upload(good)).status, 200, 'a failed install does not block the next one');
  });
});

describe("the dashboard's update card", { skip }, () => {
  it('shows the slots, refuses a foreign bundle, checks and installs a good one with progress', async (t) => {
    if (!existsSync('/usr/bin/chromium')) {
      t.skip('Debian chromium is not installed (/usr/bin/chromium)');
      return;
    }
    rmSync(join(fake, 'go'), { force: true });
    rmSync(restartRequest, { force: true });
    const browser = await launchBrowser(moat.moat.context.identity.certPem);
    try {
      await browserLogin(browser, moat.baseUrl, admin.cookie);
      const { page } = browser;
      await page.goto(`${moat.baseUrl}/#/`);
      const slots = page.locator('#update-slots');
      await waitFor(async () => /Slot B \(other slot\): 0\.0\.9/.test((await slots.textContent()) ?? ''), {
        what: 'the slots on the card',
      });
      assert.match((await slots.textContent()) ?? '', /Slot A \(running, starts next\): 0\.1\.0, good\./);
      const message = page.locator('#update .message');

      await page.setInputFiles('#update-file', foreign);
      await page.click('#update-check');
      await waitFor(async () => /not signed with this Moat's update key/.test((await message.textContent()) ?? ''), {
        what: 'the refusal on the card',
      });
      assert.equal(await page.locator('#update-install').isVisible(), false, 'nothing to install');

      await page.setInputFiles('#update-file', good);
      await page.click('#update-check');
      await page.locator('#update-install').waitFor({ state: 'visible' });
      assert.match(
        (await page.locator('#update-bundle').textContent()) ?? '',
        /Version 0\.3\.0, signed by .*signature verified/,
      );
      await page.click('#update-install');
      await waitFor(async () => /40% Copying image to rootfs\.1/.test((await message.textContent()) ?? ''), {
        what: 'progress on the card',
        timeoutMs: 15_000,
      });
      assert.equal(await page.locator('#update-progress').isVisible(), true);
      await page.screenshot({ path: join(dir, 'update-card.png'), fullPage: true });
      writeFileSync(join(fake, 'go'), '');
      await waitFor(
        async () => /Version 0\.3\.0 is installed in the other slot/.test((await message.textContent()) ?? ''),
        {
          what: 'the card saying installed',
          timeoutMs: 15_000,
        },
      );
      await page.click('#update-restart');
      await waitFor(async () => /Restarting into version 0\.3\.0/.test((await message.textContent()) ?? ''), {
        what: 'the card saying it restarts',
      });
      assert.ok(existsSync(restartRequest), 'the restart was asked for');
      assert.deepEqual(unexpectedErrors(browser.errors, [400]), []);
    } finally {
      await browser.close();
    }
  });
});
