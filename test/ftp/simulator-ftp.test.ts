import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type SimulatedPrinter, startSimulatedPrinter } from '../../src/simulator/index.js';
import { curlArgs, sha256File, writeRandomFile } from '../helpers/ftp-clients.js';
import { run } from '../helpers/process.js';

const clientsDir = fileURLToPath(new URL('../../../test/clients', import.meta.url));

/** The simulated printer's FTP server, proven with curl: what Moat will meet on a real printer. */
it("shares no code with Moat's FTP bridge", () => {
  const simulatorDir = fileURLToPath(new URL('../../src/simulator', import.meta.url));
  for (const file of readdirSync(simulatorDir).filter((name) => name.endsWith('.js'))) {
    assert.doesNotMatch(readFileSync(join(simulatorDir, file), 'utf8'), /from '\.\.\/ftp\//, file);
  }
});

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

    it("has the printer's directories from the start and lists in vsFTPd's format", async () => {
      const storage = join(dir, 'storage');
      const old = join(storage, 'old.3mf');
      writeFileSync(old, 'x'.repeat(1000));
      const longAgo = new Date(Date.now() - 400 * 24 * 60 * 60 * 1000);
      utimesSync(old, longAgo, longAgo);
      const listing = await run('curl', curlArgs(target, ''));
      assert.equal(listing.code, 0, listing.stderr);
      for (const directory of ['cache', 'model', 'timelapse']) {
        assert.match(
          listing.stdout,
          new RegExp(`^drwxr-xr-x    2 0        0 +\\d+ \\w{3} \\d\\d \\d\\d:\\d\\d ${directory}\r?$`, 'm'),
        );
      }
      const month = longAgo.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
      const day = String(longAgo.getUTCDate()).padStart(2, '0');
      assert.match(
        listing.stdout,
        new RegExp(
          `^-rw-r--r--    1 0        0            1000 ${month} ${day}  ${longAgo.getUTCFullYear()} old\\.3mf\r?$`,
          'm',
        ),
      );
      rmSync(old);
    });

    if (transport === 'tls') {
      it('refuses a data connection that does not resume the TLS session with 522 after the 150, and ends the session', async () => {
        const result = await run('curl', [...curlArgs(target, ''), '--no-sessionid', '--verbose']);
        assert.notEqual(result.code, 0);
        assert.match(
          result.stderr,
          /< 150 Here comes the directory listing\.\r?\n[\s\S]*< 522 SSL connection failed: session reuse required/,
        );
        // As vsFTPd: the control connection is closed after the 522 (Python's ftplib sees EOF on the next command).
        const script = [
          'import sys, ftplib',
          `sys.path.insert(0, ${JSON.stringify(clientsDir)})`,
          'from bambu_ftps import ImplicitFtpTls, context_for',
          'f = ImplicitFtpTls(context=context_for(None), timeout=10, reuse_session=False)',
          `f.connect('127.0.0.1', ${target.port}); f.login('bblp', 'abcd2345'); f.prot_p()`,
          'try: f.retrlines("LIST", print)',
          'except ftplib.error_perm as e: print("refused", e)',
          'try: f.voidcmd("NOOP"); print("still open")',
          'except EOFError: print("closed")',
        ].join('\n');
        const after522 = await run('/usr/bin/python3', ['-c', script]);
        assert.equal(
          after522.stdout,
          'refused 522 SSL connection failed: session reuse required\nclosed\n',
          after522.stderr,
        );
      });

      it('speaks TLS 1.2 only', async () => {
        const result = await run('curl', [...curlArgs(target, ''), '--tlsv1.3']);
        assert.notEqual(result.code, 0);
      });
    }
  });
}
