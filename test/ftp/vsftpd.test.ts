import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateAccessCode } from '../../src/auth/access-codes.js';
import { createPrinterPki, type PrinterPki } from '../../src/certs/printer-pki.js';
import { type SimulatedPrinter, startSimulatedPrinter } from '../../src/simulator/index.js';
import {
  assertLftpRoundTrip,
  curlArgs,
  moatFtpTarget,
  moatLftp,
  type PythonFtpsTarget,
  pythonFtps,
  sha256File,
  storedFiles,
  writeRandomFile,
} from '../helpers/ftp-clients.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { run } from '../helpers/process.js';
import { startVsftpd, type Vsftpd, vsftpdUnavailable } from '../helpers/vsftpd.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The printer side against the printer's real FTP server software (Debian's vsftpd, configured as a printer
 * configures it) and against the simulator, with a client written as ha-bambulab and bambulabs_api write
 * theirs (Python's ftplib: data TLS after the `150`, control session resumed); then Moat in front of vsftpd.
 */
const serial = '01S00C000000001';
const skip = vsftpdUnavailable();

interface PrinterSide {
  target: PythonFtpsTarget;
  storage: string;
  /** The reply to an upload whose data connection ends without a TLS close_notify (ftplib as the integrations use it). */
  uploadReply: RegExp;
  close(): Promise<void>;
}

const servers: Record<string, (pki: PrinterPki, dir: string) => Promise<PrinterSide>> = {
  vsftpd: async (pki) => {
    const accessCode = generateAccessCode();
    const vsftpd = await startVsftpd({ accessCode, identity: pki.leaf });
    return {
      target: { host: vsftpd.host, port: vsftpd.port, password: accessCode },
      storage: vsftpd.rootDir,
      // vsFTPd 3.0.3 keeps the file but calls the upload failed, as printers answer bambulabs_api.
      uploadReply: /^426 Failure reading network stream/,
      close: () => vsftpd.close(),
    };
  },
  simulator: async (pki, dir) => {
    const accessCode = generateAccessCode();
    const storage = join(dir, 'simulator-storage');
    const printer: SimulatedPrinter = await startSimulatedPrinter({
      serial,
      model: 'P1S',
      accessCode,
      pki,
      mqtt: false,
      statsPort: false,
      ftp: { transport: 'tls', rootDir: storage },
    });
    return {
      target: { host: printer.host, port: printer.ports.ftp as number, password: accessCode },
      storage,
      uploadReply: /^226 /,
      close: () => printer.close(),
    };
  },
};

for (const [name, start] of Object.entries(servers)) {
  describe(`Python FTPS client straight to the ${name}`, { skip: name === 'vsftpd' && skip }, () => {
    let dir: string;
    let pki: PrinterPki;
    let server: PrinterSide;
    let target: PythonFtpsTarget;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'moat-printer-side-'));
      pki = await createPrinterPki(serial);
      const caFile = join(dir, 'printer-ca.pem');
      writeFileSync(caFile, pki.ca.certPem);
      server = await start(pki, dir);
      target = { ...server.target, caFile };
    });
    after(async () => {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("lists the printer's directories, uploads 2 MB, downloads it back with the same SHA-256, deletes it", async () => {
      const listing = await pythonFtps(target, ['list']);
      assert.equal(listing.code, 0, JSON.stringify(listing.output));
      const lines = listing.output.lines as string[];
      for (const directory of ['cache', 'model', 'timelapse']) {
        assert.ok(
          lines.some((line) =>
            new RegExp(`^d[rwx-]{9} +\\d+ .* \\w{3} \\d\\d ( \\d{4}|\\d\\d:\\d\\d) ${directory}$`).test(line),
          ),
          `${directory} in ${lines.join(' | ')}`,
        );
      }

      const source = join(dir, 'benchy.gcode.3mf');
      writeRandomFile(source, 2 * 1024 * 1024);
      const upload = await pythonFtps(target, ['upload', source, '/benchy.gcode.3mf']);
      assert.match(String(upload.output.reply ?? upload.output.error), server.uploadReply);
      assert.equal(await sha256File(join(server.storage, 'benchy.gcode.3mf')), await sha256File(source));

      const listed = await pythonFtps(target, ['list']);
      assert.ok(
        (listed.output.lines as string[]).some((line) =>
          /^-rw-r--r-- +1 .* 2097152 \w{3} \d\d \d\d:\d\d benchy\.gcode\.3mf$/.test(line),
        ),
        JSON.stringify(listed.output),
      );

      const copy = join(dir, 'copy.3mf');
      const download = await pythonFtps(target, ['download', 'benchy.gcode.3mf', copy]);
      assert.equal(download.code, 0, JSON.stringify(download.output));
      assert.match(String(download.output.reply), /^226 /);
      assert.equal(await sha256File(copy), await sha256File(source));

      const removed = await pythonFtps(target, ['delete', 'benchy.gcode.3mf']);
      assert.equal(removed.code, 0, JSON.stringify(removed.output));
      assert.deepEqual(storedFiles(server.storage), []);
    });

    it('refuses a data connection that does not resume the TLS session with 522', async () => {
      const refused = await pythonFtps(target, ['list'], ['--no-reuse']);
      assert.equal(refused.code, 2);
      assert.equal(refused.output.error, '522 SSL connection failed: session reuse required');
    });

    it('answers 150 before the data TLS handshake: a client that starts TLS first (curl) works too', async () => {
      const { host, port, password } = target;
      const result = await run('curl', [
        ...curlArgs({ host, port, user: 'bblp', password, tls: true }, ''),
        '--verbose',
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /< 150 Here comes the directory listing\.[\s\S]*< 226 Directory send OK\./);
    });
  });
}

describe('Moat in front of vsftpd', { skip }, () => {
  let vsftpd: Vsftpd;
  let harness: Harness;
  let storage: string;
  const as = (role: 'viewer' | 'operator' | 'admin') => moatFtpTarget(harness, role);
  const python = (role: 'viewer' | 'operator' | 'admin'): PythonFtpsTarget => ({
    host: '127.0.0.1',
    port: harness.moat?.ftp.port as number,
    password: harness.codes[role],
    caFile: harness.moatCaFile,
  });

  before(async () => {
    const pki = await createPrinterPki(serial);
    const printerAccessCode = generateAccessCode();
    // Slow enough that a killed upload is always killed mid-transfer.
    vsftpd = await startVsftpd({ accessCode: printerAccessCode, identity: pki.leaf, maxRate: 2_000_000 });
    storage = vsftpd.rootDir;
    harness = await startHarness({
      serial,
      mqtt: false,
      printerAccessCode,
      simulator: { pki, ftp: false },
      configure: (config) => ({
        ...config,
        printers: config.printers.map((printer) => ({
          ...printer,
          address: vsftpd.host,
          ftp: { transport: 'tls', port: vsftpd.port },
        })),
      }),
    });
  });
  after(async () => {
    await harness?.close();
    await vsftpd?.close();
  });

  it('curl: uploads, lists, downloads, renames and deletes with identical SHA-256', async () => {
    const source = join(harness.dir, 'curl.gcode.3mf');
    writeRandomFile(source, 2 * 1024 * 1024 + 5);
    const up = await run('curl', curlArgs(as('operator'), 'curl.gcode.3mf', ['-T', source]));
    assert.equal(up.code, 0, `${up.stderr}\n${vsftpd.log()}`);
    assert.equal(await sha256File(join(storage, 'curl.gcode.3mf')), await sha256File(source));
    assert.deepEqual(storedFiles(storage), ['curl.gcode.3mf'], 'no temporary file left behind');

    const listing = await run('curl', curlArgs(as('viewer'), ''));
    assert.equal(listing.code, 0, listing.stderr);
    assert.match(listing.stdout, / 2097157 .* curl\.gcode\.3mf\r?\n/);
    assert.match(listing.stdout, / timelapse\r?\n/);

    const copy = join(harness.dir, 'curl-copy.3mf');
    const down = await run('curl', curlArgs(as('viewer'), 'curl.gcode.3mf', ['-o', copy]));
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await sha256File(copy), await sha256File(source));

    const renamed = await run(
      'curl',
      curlArgs(as('operator'), '', ['-Q', 'RNFR curl.gcode.3mf', '-Q', 'RNTO renamed.3mf', '--list-only']),
    );
    assert.equal(renamed.code, 0, renamed.stderr);
    assert.deepEqual(storedFiles(storage), ['renamed.3mf']);

    const deleted = await run('curl', curlArgs(as('admin'), '', ['-Q', 'DELE renamed.3mf', '--list-only']));
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(storedFiles(storage), []);
  });

  it('lftp: uploads, lists, downloads, renames and deletes with identical SHA-256', async () => {
    await assertLftpRoundTrip((script) => moatLftp(harness, 'operator', script), harness.dir, storage, 'lftp.gcode');
  });

  it('an upload killed mid-transfer leaves neither the file nor a .moat-*.part on the printer', async () => {
    const source = join(harness.dir, 'killed.3mf');
    writeRandomFile(source, 5_000_000);
    const curl = spawn('curl', curlArgs(as('operator'), 'killed.3mf', ['-T', source]), { stdio: 'ignore' });
    const exited = new Promise((resolve) => curl.once('exit', resolve));
    await waitFor(() => storedFiles(storage).some((name) => statSync(join(storage, name)).size > 0), {
      what: 'the upload to reach vsftpd',
      timeoutMs: 10_000,
    });
    assert.match(storedFiles(storage).join(' '), /^\.moat-.*\.part$/, 'Moat uploads under a temporary name');
    curl.kill('SIGKILL');
    await exited;
    await waitFor(() => storedFiles(storage).length === 0, {
      what: 'the partial upload to be removed from vsftpd',
      timeoutMs: 15_000,
    });
  });

  it('refuses a LAN data connection that does not resume the TLS session with 522, and vsftpd gets nothing', async () => {
    const source = join(harness.dir, 'refused.3mf');
    writeRandomFile(source, 100_000);
    const upload = await run('curl', [
      ...curlArgs(as('operator'), 'refused.3mf', ['-T', source]),
      '--no-sessionid',
      '--verbose',
    ]);
    // An uploader writes at once and may meet the closed data connection before it reads the 522 (as against
    // vsFTPd itself): what must hold is that it fails after the 150 and nothing reaches the printer.
    assert.notEqual(upload.code, 0);
    assert.match(upload.stderr, /< 150/);
    assert.deepEqual(storedFiles(storage), []);
    // A listing only reads, so it always gets to read the refusal.
    const listing = await run('curl', [...curlArgs(as('viewer'), '', ['--list-only']), '--no-sessionid', '--verbose']);
    assert.notEqual(listing.code, 0);
    assert.match(listing.stderr, /< 150[\s\S]*< 522 SSL connection failed: session reuse required/);
  });

  // These need the bridge to answer 150 before the data TLS handshake (the bridge side of issue 11).
  it('Python client: lists, uploads 2 MB, downloads it back with the same SHA-256, renames and deletes', async () => {
    const source = join(harness.dir, 'python.gcode.3mf');
    writeRandomFile(source, 2 * 1024 * 1024);
    const listing = await pythonFtps(python('viewer'), ['list']);
    assert.equal(listing.code, 0, JSON.stringify(listing.output));
    assert.ok((listing.output.lines as string[]).some((line) => line.endsWith(' model')));

    const upload = await pythonFtps(python('operator'), ['upload', source, 'python.gcode.3mf']);
    assert.equal(upload.code, 0, JSON.stringify(upload.output));
    assert.equal(await sha256File(join(storage, 'python.gcode.3mf')), await sha256File(source));

    const copy = join(harness.dir, 'python-copy.3mf');
    const download = await pythonFtps(python('viewer'), ['download', 'python.gcode.3mf', copy]);
    assert.equal(download.code, 0, JSON.stringify(download.output));
    assert.equal(await sha256File(copy), await sha256File(source));

    const renamed = await pythonFtps(python('operator'), ['rename', 'python.gcode.3mf', 'python.3mf']);
    assert.equal(renamed.code, 0, JSON.stringify(renamed.output));
    assert.deepEqual(storedFiles(storage), ['python.3mf']);

    const removed = await pythonFtps(python('admin'), ['delete', 'python.3mf']);
    assert.equal(removed.code, 0, JSON.stringify(removed.output));
    assert.deepEqual(storedFiles(storage), []);
  });

  it('Python client: a data connection that does not resume the TLS session gets 522', async () => {
    const refused = await pythonFtps(python('viewer'), ['list'], ['--no-reuse']);
    assert.equal(refused.output.error, '522 SSL connection failed: session reuse required');
  });
});
