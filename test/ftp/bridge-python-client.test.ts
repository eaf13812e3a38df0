import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  moatPythonTarget,
  type PythonFtpsResult,
  pythonFtps,
  sha256File,
  writeRandomFile,
} from '../helpers/ftp-clients.js';
import { type Harness, printerStorage, startHarness } from '../helpers/harness.js';

/**
 * Moat as the Home Assistant integration and bambulabs_api see it: test/clients/bambu_ftps.py is client code
 * written as theirs (ftplib, implicit TLS 1.2, data TLS started only after the 150, control session resumed).
 */
function bambuFtps(h: Harness, role: 'viewer' | 'operator' | 'admin', args: string[], flags: string[] = []) {
  return pythonFtps(moatPythonTarget(h, role), args, flags);
}

function parsed(result: PythonFtpsResult): Record<string, unknown> {
  assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
  return result.output;
}

describe('FTPS bridge with a Python ftplib client (ha-bambulab, bambulabs_api)', () => {
  let harness: Harness;
  before(async () => {
    // The PASV reply names 127.0.0.3, where nothing listens: only a client that ignores the PASV address and
    // connects to the control host (ftplib's default, as the integrations use it) gets its data through.
    harness = await startHarness({
      mqtt: false,
      ftp: 'tls',
      configure: (config) => ({ ...config, lan: { ...config.lan, addresses: ['127.0.0.3'] } }),
    });
  });
  after(() => harness?.close());

  for (const [mode, flags] of [
    ['PASV (address ignored)', []],
    ['EPSV', ['--epsv']],
  ] as [string, string[]][]) {
    it(`${mode}: lists, uploads 2 MB, downloads it back with the same SHA-256, deletes`, async () => {
      const name = `py-${flags.length}.gcode.3mf`;
      const source = join(harness.dir, name);
      const copy = join(harness.dir, `back-${name}`);
      writeRandomFile(source, 2 * 1024 * 1024);

      assert.match(String(parsed(await bambuFtps(harness, 'operator', ['upload', source, name], flags)).reply), /^226/);
      assert.equal(await sha256File(join(printerStorage(harness), name)), await sha256File(source));

      const listed = parsed(await bambuFtps(harness, 'viewer', ['list', '/'], flags)).lines as string[];
      assert.ok(
        listed.some((line) => line.endsWith(` ${name}`) && line.includes(' 2097152 ')),
        listed.join('\n'),
      );

      assert.match(String(parsed(await bambuFtps(harness, 'viewer', ['download', name, copy], flags)).reply), /^226/);
      assert.equal(await sha256File(copy), await sha256File(source));

      assert.match(String(parsed(await bambuFtps(harness, 'operator', ['delete', name], flags)).reply), /^250/);
      assert.equal(existsSync(join(printerStorage(harness), name)), false);
    });
  }

  it('serves a client that starts the data TLS before the 150 too', async () => {
    const source = join(harness.dir, 'early.gcode');
    writeRandomFile(source, 300_000);
    const flags = ['--tls-before-150'];
    assert.match(
      String(parsed(await bambuFtps(harness, 'operator', ['upload', source, 'early.gcode'], flags)).reply),
      /^226/,
    );
    const listed = parsed(await bambuFtps(harness, 'viewer', ['list'], flags)).lines as string[];
    assert.ok(
      listed.some((line) => line.endsWith(' early.gcode')),
      listed.join('\n'),
    );
    const copy = join(harness.dir, 'early-back.gcode');
    assert.match(
      String(parsed(await bambuFtps(harness, 'viewer', ['download', 'early.gcode', copy], flags)).reply),
      /^226/,
    );
    assert.equal(await sha256File(copy), await sha256File(source));
  });

  it('refuses a data connection that does not resume the session: 522, nothing stored', async () => {
    const listing = await bambuFtps(harness, 'viewer', ['list'], ['--no-reuse']);
    assert.equal(listing.code, 2, listing.stdout);
    assert.match(listing.stdout, /522 SSL connection failed: session reuse required/);

    // An uploader writes at once and meets the closed data connection before it reads the 522.
    const source = join(harness.dir, 'fresh.gcode');
    writeRandomFile(source, 100_000);
    const upload = await bambuFtps(harness, 'operator', ['upload', source, 'fresh.gcode'], ['--no-reuse']);
    assert.notEqual(upload.code, 0, upload.stdout);
    assert.equal(existsSync(join(printerStorage(harness), 'fresh.gcode')), false);
  });
});
