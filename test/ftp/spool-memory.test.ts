import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { SpoolEntry } from '../../src/ftp/spool/spool-files.js';
import { curlArgs, moatFtpTarget, sha256File, writeRandomFile } from '../helpers/ftp-clients.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { type MoatProcess, startMoatProcess } from '../helpers/moat-process.js';
import { peakResidentGrowthMb } from '../helpers/proc-memory.js';
import { run } from '../helpers/process.js';
import { spoolOn } from '../helpers/spool.js';

/**
 * Spooling streams to disk: a 200 MB upload at LAN speed into the spool grows Moat's resident set by less than
 * 16 MB. Moat runs in a process of its own as the appliance runs it (its Node flags bound the young generation),
 * so the figure is Moat's alone and nothing forces a collection. The printer is capped at 150 KB/s, so what is
 * measured is the spooling, not the drain.
 */
let h: Harness | undefined;
let moat: MoatProcess | undefined;
after(async () => {
  await moat?.stop();
  await h?.close();
});

test('spooling a 200 MB upload grows resident memory by less than 16 MB; the spool holds it with its SHA-256', {
  timeout: 300_000,
}, async (t) => {
  h = await startHarness({ mqtt: false, simulatorOnly: true, ftpBytesPerSecond: 150 * 1024, configure: spoolOn() });
  moat = await startMoatProcess(h.paths.root);
  const target = moatFtpTarget({ ...h, moat }, 'operator');
  // Warm up TLS, the spool and the heap, so the baseline is the steady state, not a cold start.
  const warmup = join(h.dir, 'warmup.3mf');
  writeRandomFile(warmup, 1024 * 1024);
  const warm = await run('curl', curlArgs(target, 'warmup.3mf', ['-T', warmup]));
  assert.equal(warm.code, 0, warm.stderr);

  const source = join(h.dir, 'large.3mf');
  writeRandomFile(source, 200 * 1024 * 1024);
  const growthMb = await peakResidentGrowthMb(moat.child.pid as number, async () => {
    const up = await run('curl', curlArgs(target, 'large.3mf', ['-T', source]), 240_000);
    assert.equal(up.code, 0, up.stderr);
  });
  t.diagnostic(`peak resident memory growth while spooling: ${growthMb.toFixed(1)} MB`);
  assert.ok(growthMb < 16, `resident memory grew by ${growthMb.toFixed(1)} MB`);

  const dir = join(h.paths.spool, h.serial);
  const entries = readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as SpoolEntry);
  const large = entries.find((entry) => entry.target === '/large.3mf');
  assert.ok(large, 'the upload is in the spool');
  assert.equal(large.size, 200 * 1024 * 1024);
  assert.equal(large.sha256, await sha256File(source));
  assert.equal(await sha256File(join(dir, `${large.id}.data`)), large.sha256);
});
