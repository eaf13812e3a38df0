import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { SimulatedPrinter } from '../../src/simulator/index.js';
import { curlArgs, moatFtpTarget, sha256File, storedFiles, writeRandomFile } from '../helpers/ftp-clients.js';
import { type Harness, printerStorage, startHarness, startPrinterFtp } from '../helpers/harness.js';
import { run } from '../helpers/process.js';
import { spoolOn } from '../helpers/spool.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The printer is off when the slicer uploads: Moat still takes the file (the spool needs no printer), the drain
 * fails and retries with backoff, and once the printer is back the file lands intact and leaves the spool.
 */
let h: Harness | undefined;
let printer: SimulatedPrinter | undefined;
after(async () => {
  await printer?.close();
  await h?.close();
});

test('an upload while the printer is offline is spooled, retried, and lands once the printer is back', {
  timeout: 60_000,
}, async () => {
  h = await startHarness({ mqtt: false, configure: spoolOn({ retryMinMs: 50, retryMaxMs: 200 }) });
  const harness = h;
  await h.sim.close();
  const source = join(h.dir, 'offline.3mf');
  writeRandomFile(source, 300 * 1024);
  const up = await run('curl', curlArgs(moatFtpTarget(h, 'operator'), 'offline.3mf', ['-T', source]));
  assert.equal(up.code, 0, up.stderr);
  const failedDrains = () =>
    (harness.moat?.status.transfers() ?? []).filter((t) => t.stage === 'drain' && t.state === 'failed').length;
  await waitFor(() => failedDrains() >= 2, { what: 'the drain to fail and retry' });
  assert.equal(readdirSync(join(h.paths.spool, h.serial)).length, 2, 'still in the spool');

  printer = await startPrinterFtp(h);
  const storage = printerStorage(h);
  await waitFor(() => existsSync(join(storage, 'offline.3mf')), { timeoutMs: 20_000, what: 'the drain' });
  assert.equal(await sha256File(join(storage, 'offline.3mf')), await sha256File(source));
  await waitFor(() => readdirSync(join(harness.paths.spool, harness.serial)).length === 0, {
    what: 'the spool to empty',
  });
  assert.deepEqual(storedFiles(storage), ['offline.3mf']);
  assert.ok(
    harness.moat?.status.transfers().some((t) => t.stage === 'drain' && t.state === 'done' && t.total === 300 * 1024),
  );
});

test('a file the printer refuses (a 5xx reply) is tried three times, then given up and removed from the spool', {
  timeout: 60_000,
}, async (t) => {
  const refusing = await startHarness({ mqtt: false, configure: spoolOn({ retryMinMs: 50, retryMaxMs: 200 }) });
  t.after(() => refusing.close());
  // A directory where the file should land: the drain's final rename fails with the printer's 550.
  mkdirSync(join(printerStorage(refusing), 'refused.3mf'));
  const source = join(refusing.dir, 'refused.3mf');
  writeRandomFile(source, 64 * 1024);
  const up = await run('curl', curlArgs(moatFtpTarget(refusing, 'operator'), 'refused.3mf', ['-T', source]));
  assert.equal(up.code, 0, up.stderr);

  const spoolDir = join(refusing.paths.spool, refusing.serial);
  await waitFor(() => readdirSync(spoolDir).length === 0, { timeoutMs: 20_000, what: 'the drain to give up' });
  const drains = (refusing.moat?.status.transfers() ?? []).filter((d) => d.stage === 'drain');
  assert.deepEqual(
    drains.map((d) => d.state),
    ['failed', 'failed', 'failed'],
  );
  assert.match(drains[2]?.error ?? '', /550|Rename failed/);
});
