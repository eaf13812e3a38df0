import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type SimulatedPrinter, startSimulatedPrinter } from '../../src/simulator/index.js';
import { curlArgs, run, sha256File, writeRandomFile } from '../helpers/ftp-clients.js';

/** The simulated printer's FTP server, proven with curl: what Moat will meet on a real printer. */
for (const transport of ['tls', 'plain'] as const) {
  describe(`simulated printer FTP (${transport})`, () => {
    let dir: string;
    let printer: SimulatedPrinter;
    let target: Parameters<typeof curlArgs>[0];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'moat-simftp-'));
      printer = await startSimulatedPrinter({
        serial: '01S00C000000042',
        model: 'P1S',
        accessCode: 'abcd2345',
        mqtt: false,
        statsPort: false,
        ftp: { transport, rootDir: join(dir, 'storage') },
      });
      target = { port: printer.ports.ftp as number, user: 'bblp', password: 'abcd2345', tls: transport === 'tls' };
    });
    after(async () => {
      await printer?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('uploads, lists and downloads a file with identical SHA-256', async () => {
      const source = join(dir, 'model.3mf');
      writeRandomFile(source, 3 * 1024 * 1024 + 17);
      const up = await run('curl', curlArgs(target, 'model.3mf', ['-T', source]));
      assert.equal(up.code, 0, up.stderr);
      assert.equal(await sha256File(join(dir, 'storage', 'model.3mf')), await sha256File(source));
      assert.equal(printer.stats.ftpUploads, 1);
      assert.equal(printer.stats.ftpBytesStored, 3 * 1024 * 1024 + 17);

      const listing = await run('curl', curlArgs(target, ''));
      assert.equal(listing.code, 0, listing.stderr);
      assert.match(listing.stdout, /3145745 \w{3} [ \d]\d \d\d:\d\d model\.3mf/);

      const copy = join(dir, 'copy.3mf');
      const down = await run('curl', curlArgs(target, 'model.3mf', ['-o', copy]));
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await sha256File(copy), await sha256File(source));
    });

    it('refuses a wrong access code', async () => {
      const result = await run('curl', curlArgs({ ...target, password: 'wrong123' }, ''));
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /530|Access denied|denied/i);
    });

    it('keeps paths inside its storage directory', async () => {
      const result = await run('curl', curlArgs(target, '', ['-Q', 'CWD ../../..', '-Q', 'PWD']));
      // CWD above the root normalises to the root itself; nothing outside is reachable.
      assert.equal(result.code, 0, result.stderr);
      const outside = join(dir, 'escaped.3mf');
      const source = join(dir, 'small.3mf');
      writeRandomFile(source, 1000);
      const up = await run('curl', curlArgs(target, '%2E%2E/escaped.3mf', ['-T', source, '--path-as-is']));
      assert.equal(up.code, 0, up.stderr);
      assert.equal(existsSync(outside), false);
      assert.equal(existsSync(join(dir, 'storage', 'escaped.3mf')), true);
    });

    if (transport === 'tls') {
      it('refuses a data connection that does not resume the TLS session with 522', async () => {
        const result = await run('curl', [...curlArgs(target, ''), '--no-sessionid', '--verbose']);
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /< 522 SSL connection failed: session reuse required/);
      });

      it('speaks TLS 1.2 only', async () => {
        const result = await run('curl', [...curlArgs(target, ''), '--tlsv1.3']);
        assert.notEqual(result.code, 0);
      });
    }
  });
}
