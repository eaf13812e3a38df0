import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { curlArgs, moatFtpTarget, sha256File, storedFiles, writeRandomFile } from '../helpers/ftp-clients.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { run } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

const maxUpload = 3 * 1024 * 1024;

for (const printerTransport of ['tls', 'plain'] as const) {
  describe(`FTPS bridge with curl, printer on ${printerTransport}`, () => {
    let harness: Harness;
    let storage: string;
    const as = (role: 'viewer' | 'operator' | 'admin') => moatFtpTarget(harness, role);

    before(async () => {
      harness = await startHarness({
        mqtt: false,
        ftp: printerTransport,
        configure: (config) => ({ ...config, ftp: { ...config.ftp, maxUploadBytes: maxUpload } }),
      });
      storage = join(harness.dir, 'printer-storage');
    });
    after(() => harness?.close());

    it('uploads, lists, downloads, renames and deletes with identical SHA-256', async () => {
      const source = join(harness.dir, 'benchy.gcode.3mf');
      writeRandomFile(source, 2 * 1024 * 1024 + 5);
      const up = await run('curl', curlArgs(as('operator'), 'benchy.gcode.3mf', ['-T', source]));
      assert.equal(up.code, 0, up.stderr);
      assert.equal(await sha256File(join(storage, 'benchy.gcode.3mf')), await sha256File(source));
      assert.deepEqual(storedFiles(storage), ['benchy.gcode.3mf'], 'no temporary file left behind');

      const listing = await run('curl', curlArgs(as('viewer'), ''));
      assert.equal(listing.code, 0, listing.stderr);
      assert.match(listing.stdout, / 2097157 .* benchy\.gcode\.3mf\r?\n/);

      const withOptions = await run('curl', curlArgs(as('viewer'), '', ['-X', 'LIST -la']));
      assert.equal(withOptions.code, 0, withOptions.stderr);
      assert.match(withOptions.stdout, / 2097157 .* benchy\.gcode\.3mf\r?\n/);

      const copy = join(harness.dir, 'copy.3mf');
      const down = await run('curl', curlArgs(as('viewer'), 'benchy.gcode.3mf', ['-o', copy]));
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await sha256File(copy), await sha256File(source));

      const renamed = await run(
        'curl',
        curlArgs(as('operator'), '', ['-Q', 'RNFR benchy.gcode.3mf', '-Q', 'RNTO renamed.3mf', '--list-only']),
      );
      assert.equal(renamed.code, 0, renamed.stderr);
      assert.deepEqual(storedFiles(storage), ['renamed.3mf']);

      const deleted = await run('curl', curlArgs(as('admin'), '', ['-Q', 'DELE renamed.3mf', '--list-only']));
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.deepEqual(storedFiles(storage), []);
      const transfers = () => harness.moat?.ftp.transfers() ?? [];
      assert.ok(transfers().some((t) => t.direction === 'upload' && t.state === 'done' && t.bytes === 2097157));
      await waitFor(
        () => transfers().some((t) => t.direction === 'download' && t.state === 'done' && t.total === 2097157),
        { what: 'the download to be reported done', timeoutMs: 5000 },
      );
    });

    it('lets a viewer list and download but not upload, rename or delete', async () => {
      const source = join(harness.dir, 'viewer.3mf');
      writeRandomFile(source, 1000);
      const up = await run('curl', [...curlArgs(as('viewer'), 'viewer.3mf', ['-T', source]), '--verbose']);
      assert.notEqual(up.code, 0);
      assert.match(up.stderr, /< 550 Permission denied: a viewer may not upload/);
      assert.equal(existsSync(join(storage, 'viewer.3mf')), false);

      const operatorUp = await run('curl', curlArgs(as('operator'), 'keep.3mf', ['-T', source]));
      assert.equal(operatorUp.code, 0, operatorUp.stderr);
      for (const quote of [['DELE keep.3mf'], ['RNFR keep.3mf', 'RNTO other.3mf']]) {
        const result = await run('curl', [
          ...curlArgs(as('viewer'), '', [...quote.flatMap((q) => ['-Q', q]), '--list-only']),
          '--verbose',
        ]);
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /< 550 Permission denied/);
      }
      assert.deepEqual(storedFiles(storage).sort(), ['keep.3mf']);
    });

    it('refuses traversal, wrong extensions and oversized files, writing nothing upstream', async () => {
      const source = join(harness.dir, 'x.3mf');
      writeRandomFile(source, 4096);
      const before = storedFiles(storage).sort();
      for (const [name, reply] of [
        ['../x.3mf', /< 553 File name refused: path traversal/],
        // An absolute name is a path inside the printer's storage (the slicers send `/x.gcode.3mf`): climbing
        // out of it is refused, and /etc/passwd is just a file without an allowed extension.
        ['/../x.3mf', /< 553 File name refused: path traversal/],
        ['/etc/passwd', /< 553 File type refused/],
        ['C:x.3mf', /< 553 File name refused: drive letters/],
        ['..\\x.3mf', /< 553 File name refused: backslashes/],
        ['%2e%2e/x.3mf', /< 553 File name refused: percent-encoded/],
        ['x.3mf%00.txt', /< 553 File name refused: percent-encoded/],
        ['x.3mf\u0001', /< 553 File name refused: control characters/],
        ['x.stl', /< 553 File type refused/],
      ] as const) {
        // Quote commands send the name byte for byte; curl's URL path would normalise it first.
        const result = await run('curl', [
          ...curlArgs(as('admin'), '', ['-Q', 'TYPE I', '--list-only']),
          '-Q',
          `STOR ${name}`,
          '--verbose',
        ]);
        assert.match(result.stderr, reply, name);
      }
      const big = join(harness.dir, 'big.3mf');
      writeRandomFile(big, maxUpload + 1);
      const result = await run('curl', [...curlArgs(as('admin'), 'big.3mf', ['-T', big]), '--verbose']);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /< 552 Upload exceeds the maximum size of 3145728 bytes/);
      await waitFor(() => storedFiles(storage).length === before.length, {
        what: 'the partial upload to be removed',
        timeoutMs: 5000,
      });
      assert.deepEqual(storedFiles(storage).sort(), before);
    });
  });
}
