import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createPrinterPki } from '../../src/certs/printer-pki.js';
import type { TransferEvent } from '../../src/events.js';
import { curlArgs, moatFtpTarget, sha256File, storedFiles, writeRandomFile } from '../helpers/ftp-clients.js';
import { type Harness, printerStorage, startHarness, startPrinterFtp } from '../helpers/harness.js';
import { run } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

/** What a broken client or a broken printer does to the bridge: nothing left behind, Moat keeps serving. */
describe('FTPS bridge under failure', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  const operator = (harness: Harness) => moatFtpTarget(harness, 'operator');

  it('20 uploads killed at random points leave no file and no temporary file on the printer', async () => {
    // The printer takes ~2.5 s for the file, so every kill lands mid-transfer.
    const harness = await startHarness({ mqtt: false, ftp: 'tls', simulator: {} });
    cleanups.push(() => harness.close());
    await harness.sim.close();
    const storage = printerStorage(harness);
    const throttled = await startPrinterFtp(harness, { bytesPerSecond: 2_000_000 });
    cleanups.push(() => throttled.close());
    const source = join(harness.dir, 'killed.3mf');
    writeRandomFile(source, 5_000_000);
    // Every transfer's end, from the event stream: the dashboard's list keeps only the last 20 finished.
    const ended = new Map<string, TransferEvent>();
    harness.moat?.context.events.on('transfer', (event) => {
      if (event.state !== 'active') ended.set(event.id, event);
    });

    for (let i = 0; i < 20; i++) {
      const curl = spawn('curl', curlArgs(operator(harness), 'killed.3mf', ['-T', source]), { stdio: 'ignore' });
      const exited = new Promise((resolve) => curl.once('exit', resolve));
      // Wait until bytes reach the printer, then kill at a random later point within the transfer.
      await waitFor(() => storedFiles(storage).length > 0, {
        what: 'the upload to reach the printer',
        timeoutMs: 10_000,
      });
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 900)));
      curl.kill('SIGKILL');
      await exited;
      await waitFor(() => storedFiles(storage).length === 0, {
        what: `upload ${i} to be cleaned up`,
        timeoutMs: 10_000,
      });
    }

    const good = await run('curl', curlArgs(operator(harness), 'fine.3mf', ['-T', source]));
    assert.equal(good.code, 0, good.stderr);
    assert.equal(await sha256File(join(storage, 'fine.3mf')), await sha256File(source));
    assert.deepEqual(storedFiles(storage), ['fine.3mf']);
    const killed = [...ended.values()].filter((t) => t.name.endsWith('killed.3mf'));
    assert.equal(killed.length, 20, 'each killed upload ended once');
    assert.deepEqual(
      killed.filter((t) => t.state !== 'failed'),
      [],
      'every killed upload is reported failed',
    );
  });

  it('a printer vanishing mid-upload gives 451, and Moat serves the next upload', async () => {
    const harness = await startHarness({ mqtt: false, ftp: 'tls' });
    cleanups.push(() => harness.close());
    await harness.sim.close();
    const storage = printerStorage(harness);
    const slow = await startPrinterFtp(harness, { bytesPerSecond: 1_000_000 });
    const source = join(harness.dir, 'vanish.3mf');
    writeRandomFile(source, 4_000_000);
    const upload = run('curl', [...curlArgs(operator(harness), 'vanish.3mf', ['-T', source]), '--verbose']);
    await waitFor(() => storedFiles(storage).some((name) => statSync(join(storage, name)).size > 100_000), {
      what: 'the upload to reach the printer',
      timeoutMs: 10_000,
    });
    await slow.close();
    const result = await upload;
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /< 451 Printer unavailable/);

    const back = await startPrinterFtp(harness);
    cleanups.push(() => back.close());
    const again = await run('curl', curlArgs(operator(harness), 'after.3mf', ['-T', source]));
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await sha256File(join(storage, 'after.3mf')), await sha256File(source));
  });

  it('a printer that ends TLS data connections without close_notify still lists and downloads intact', async () => {
    const harness = await startHarness({ mqtt: false, ftp: 'tls' });
    cleanups.push(() => harness.close());
    await harness.sim.close();
    const storage = printerStorage(harness);
    const unclean = await startPrinterFtp(harness, { uncleanDataClose: true });
    cleanups.push(() => unclean.close());
    writeRandomFile(join(storage, 'on-printer.3mf'), 1_500_000);
    const listing = await run('curl', curlArgs(operator(harness), ''));
    assert.equal(listing.code, 0, listing.stderr);
    assert.match(listing.stdout, / 1500000 .* on-printer\.3mf/);
    const copy = join(harness.dir, 'copy.3mf');
    const down = await run('curl', curlArgs(operator(harness), 'on-printer.3mf', ['-o', copy]));
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await sha256File(copy), await sha256File(join(storage, 'on-printer.3mf')));
  });

  it('a printer whose certificate does not match the policy gets no login and the client a 451', async () => {
    const other = await createPrinterPki('01S00C000000001', 'Some other CA');
    const otherDir = mkdtempSync(join(tmpdir(), 'moat-other-ca-'));
    cleanups.push(() => rmSync(otherDir, { recursive: true, force: true }));
    const otherCaFile = join(otherDir, 'ca.pem');
    writeFileSync(otherCaFile, other.ca.certPem);
    const harness = await startHarness({
      mqtt: false,
      ftp: 'tls',
      configure: (config) => ({
        ...config,
        printers: config.printers.map((p) => ({ ...p, certificate: { policy: 'test-ca', caFile: otherCaFile } })),
      }),
    });
    cleanups.push(() => harness.close());
    const result = await run('curl', [...curlArgs(operator(harness), ''), '--verbose']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /< 451 Printer unavailable: printer certificate refused: certificate does not chain/);
  });

  it('a hung printer is timed out with 451', async () => {
    const silent: Socket[] = [];
    const hung: Server = createServer((socket) => silent.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of silent) socket.destroy();
          hung.close(() => resolve());
        }),
    );
    const hungPort = (hung.address() as { port: number }).port;
    const harness = await startHarness({
      mqtt: false,
      ftp: 'plain',
      configure: (config) => ({
        ...config,
        ftp: { ...config.ftp, printerTimeoutMs: 1000 },
        printers: config.printers.map((p) => ({ ...p, ftp: { ...p.ftp, port: hungPort } })),
      }),
    });
    cleanups.push(() => harness.close());
    const started = Date.now();
    const result = await run('curl', [...curlArgs(operator(harness), ''), '--verbose'], 20_000);
    assert.notEqual(result.code, 0);
    // Moat's own timeout answered (the 451 says so), not curl's 20 s: no upper stopwatch limit needed; and it did
    // wait for the printer first (a lower bound, which load cannot break).
    assert.match(result.stderr, /< 451 Printer unavailable: Timeout/);
    assert.ok(Date.now() - started >= 1000, `answered after ${Date.now() - started} ms`);
    const stillThere = await run('curl', [...curlArgs(operator(harness), ''), '-Q', 'NOOP', '--head', '--verbose']);
    assert.match(stillThere.stderr, /< 230/);
  });
});
