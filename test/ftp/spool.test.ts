import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '../../src/events.js';
import { curlArgs, moatFtpTarget, sha256File, storedFiles, writeRandomFile } from '../helpers/ftp-clients.js';
import { type Harness, printerStorage, startHarness } from '../helpers/harness.js';
import { MosquittoProcess, moatEndpoint, mosquittoArgs, waitForPrinterReady } from '../helpers/mqtt-clients.js';
import { run } from '../helpers/process.js';
import { projectFile, spoolOn } from '../helpers/spool.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Store-and-forward against a printer whose FTP is capped at 150 KB/s (the rate of a printer's Wi-Fi): the
 * slicer's upload ends at LAN speed, Moat drains the file to the printer, and a print command sent right
 * after the upload reaches the printer only once the file is complete there.
 */
const printerRate = 150 * 1024;

describe('FTPS store-and-forward, printer capped at 150 KB/s', () => {
  let h: Harness;
  let storage: string;
  const publish = (payload: string) =>
    run('mosquitto_pub', [
      ...mosquittoArgs(moatEndpoint(h, 'operator')),
      '-t',
      `device/${h.serial}/request`,
      '-m',
      payload,
    ]);
  const received = (name: string) => h.sim.stats.commands.filter((c) => c.payload.includes(`ftp://${name}`));
  const spooled = () => readdirSync(join(h.paths.spool, h.serial));
  const audit = async (command: string) =>
    ((await h.moat?.status.audit({})) ?? []).filter((e: AuditEvent) => e.command === command);

  before(async () => {
    h = await startHarness({ ftpBytesPerSecond: printerRate, configure: spoolOn() });
    storage = printerStorage(h);
    await waitForPrinterReady(h);
  });
  after(() => h?.close());

  it('5 MB: 226 in under a tenth of the direct time; the print starts only once the file is complete', {
    timeout: 300_000,
  }, async (t) => {
    const source = join(h.dir, 'benchy.gcode.3mf');
    writeRandomFile(source, 5 * 1024 * 1024);
    const direct = { port: h.sim.ports.ftp as number, user: 'bblp', password: h.printerAccessCode, tls: true };
    let start = performance.now();
    const straight = await run('curl', curlArgs(direct, 'direct.3mf', ['-T', source]), 120_000);
    const directMs = performance.now() - start;
    assert.equal(straight.code, 0, straight.stderr);

    start = performance.now();
    const through = await run('curl', curlArgs(moatFtpTarget(h, 'operator'), 'benchy.gcode.3mf', ['-T', source]));
    const moatMs = performance.now() - start;
    assert.equal(through.code, 0, through.stderr);
    const payload = projectFile('benchy.gcode.3mf', '11');
    const sent = await publish(payload);
    assert.equal(sent.code, 0, sent.stderr);
    t.diagnostic(`direct to the printer: ${directMs.toFixed(0)} ms; through Moat: ${moatMs.toFixed(0)} ms`);
    assert.ok(moatMs < directMs / 10, `226 through Moat after ${moatMs} ms, direct ${directMs} ms`);

    // Still draining: a listing through Moat shows the file as present already.
    const listing = await run('curl', curlArgs(moatFtpTarget(h, 'viewer'), ''));
    assert.match(listing.stdout, / 5242880 .* benchy\.gcode\.3mf\r?\n/);
    assert.equal(existsSync(join(storage, 'benchy.gcode.3mf')), false, 'not on the printer yet');

    const command = await waitFor(() => received('benchy.gcode.3mf')[0], { timeoutMs: 180_000, what: 'the print' });
    assert.equal(command.payload, payload, 'forwarded byte for byte');
    assert.equal(await sha256File(join(storage, 'benchy.gcode.3mf')), await sha256File(source));
    const landed = h.sim.stats.files.find((f) => f.event === 'renamed' && f.path === '/benchy.gcode.3mf');
    assert.ok(landed && landed.order < command.order, 'the file was complete on the printer before the command');
    await waitFor(() => h.moat?.mqtt.printers()[0]?.state?.gcode_state === 'RUNNING', { what: 'the print to start' });
    assert.deepEqual(storedFiles(storage), ['benchy.gcode.3mf', 'direct.3mf'], 'no temporary file left');
    await waitFor(() => spooled().length === 0, { what: 'the spool to empty' });
    const audited = await audit('print.project_file');
    assert.deepEqual(
      audited.map((e) => e.outcome),
      ['held', 'allowed'],
    );
  });

  it('a print held past the hold limit is not forwarded; a subscriber sees the failure report', {
    timeout: 120_000,
  }, async () => {
    h.moat?.context.config.update((config) => ({ ...config, spool: { ...config.spool, holdLimitMs: 500 } }));
    const sub = new MosquittoProcess('mosquitto_sub', [
      ...mosquittoArgs(moatEndpoint(h, 'viewer')),
      '-t',
      `device/${h.serial}/report`,
      '-d',
    ]);
    try {
      await sub.waitForLine(/SUBACK/);
      const source = join(h.dir, 'slow.3mf');
      writeRandomFile(source, 1024 * 1024);
      const up = await run('curl', curlArgs(moatFtpTarget(h, 'operator'), 'slow.3mf', ['-T', source]));
      assert.equal(up.code, 0, up.stderr);
      assert.equal((await publish(projectFile('slow.3mf', '12'))).code, 0);
      const failure = JSON.parse(await sub.waitForLine(/"result":"fail"/, 15_000)) as { print: Record<string, string> };
      assert.equal(failure.print.command, 'project_file');
      assert.equal(failure.print.sequence_id, '12');
      assert.match(failure.print.reason ?? '', /hold limit/);
      await waitFor(() => existsSync(join(storage, 'slow.3mf')), { timeoutMs: 60_000, what: 'the drain' });
      assert.equal(await sha256File(join(storage, 'slow.3mf')), await sha256File(source));
      await waitFor(() => spooled().length === 0, { what: 'the spool to empty' });
      // A command sent after the drain ended reaches the printer after anything the drain could have released.
      assert.equal((await publish('{"info":{"sequence_id":"13","command":"get_version"}}')).code, 0);
      await waitFor(() => h.sim.stats.commands.some((c) => c.payload.includes('"13"')), { what: 'get_version' });
      assert.deepEqual(received('slow.3mf'), [], 'the dropped print never reached the printer');
      assert.deepEqual(
        (await audit('print.project_file')).slice(-2).map((e) => e.outcome),
        ['held', 'dropped'],
      );
    } finally {
      await sub.kill();
      h.moat?.context.config.update((config) => ({ ...config, spool: { ...config.spool, holdLimitMs: 600_000 } }));
    }
  });

  it('two uploads at once both land, one drain after the other', { timeout: 120_000 }, async () => {
    const earlier = h.sim.stats.files.length;
    const sources = ['one.3mf', 'two.3mf'].map((name) => {
      const path = join(h.dir, name);
      writeRandomFile(path, 512 * 1024);
      return { name, path };
    });
    const results = await Promise.all(
      sources.map(({ name, path }) => run('curl', curlArgs(moatFtpTarget(h, 'operator'), name, ['-T', path]))),
    );
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    await waitFor(() => spooled().length === 0, { timeoutMs: 60_000, what: 'both drains' });
    for (const { name, path } of sources) assert.equal(await sha256File(join(storage, name)), await sha256File(path));
    // One at a time: each temporary file is renamed into place before the next one is stored.
    assert.deepEqual(
      h.sim.stats.files.slice(earlier).map((f) => f.event),
      ['stored', 'renamed', 'stored', 'renamed'],
    );
  });

  it('a full spool refuses with 452 and nothing reaches the printer', { timeout: 60_000 }, async () => {
    h.moat?.context.config.update((config) => ({ ...config, spool: { ...config.spool, maxBytes: 256 * 1024 } }));
    try {
      const before = h.sim.stats.files.length;
      const source = join(h.dir, 'big.3mf');
      writeRandomFile(source, 1024 * 1024);
      const up = await run('curl', curlArgs(moatFtpTarget(h, 'operator'), 'big.3mf', ['-T', source]));
      assert.notEqual(up.code, 0);
      assert.match(up.stderr, /452/);
      assert.equal(existsSync(join(storage, 'big.3mf')), false);
      assert.deepEqual(spooled(), [], 'the partial upload is gone from the spool');
      assert.equal(h.sim.stats.files.length, before, 'the printer stored nothing');
    } finally {
      h.moat?.context.config.update((config) => {
        const { maxBytes: _maxBytes, ...spool } = config.spool;
        return { ...config, spool };
      });
    }
  });
});
