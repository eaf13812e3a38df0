import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { moatLftp, sha256File, storedFiles, writeRandomFile } from '../helpers/ftp-clients.js';
import { type Harness, startHarness } from '../helpers/harness.js';

/** lftp through Moat over implicit FTPS, verifying Moat's certificate against Moat's CA. */
for (const printerTransport of ['tls', 'plain'] as const) {
  describe(`FTPS bridge with lftp, printer on ${printerTransport}`, () => {
    let harness: Harness;
    before(async () => {
      harness = await startHarness({ mqtt: false, ftp: printerTransport });
    });
    after(() => harness?.close());

    const lftp = (script: string, debug = false) => moatLftp(harness, 'operator', script, { debug });

    it('uploads, lists, downloads, renames and deletes with identical SHA-256', async () => {
      const storage = join(harness.dir, 'printer-storage');
      const source = join(harness.dir, 'part.gcode');
      const copy = join(harness.dir, 'back.gcode');
      writeRandomFile(source, 1024 * 1024 + 3);
      const up = await lftp(`put ${source} -o part.gcode; cls -l`);
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stdout, /part\.gcode/);
      assert.equal(await sha256File(join(storage, 'part.gcode')), await sha256File(source));

      const down = await lftp(`get part.gcode -o ${copy}; mv part.gcode moved.gcode`);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await sha256File(copy), await sha256File(source));
      assert.deepEqual(storedFiles(storage), ['moved.gcode']);

      const removed = await lftp('rm moved.gcode');
      assert.equal(removed.code, 0, removed.stderr);
      assert.deepEqual(storedFiles(storage), []);
    });

    it("gets each 150 before the data connection's TLS handshake, so lftp never waits for it", async () => {
      const source = join(harness.dir, 'order.gcode');
      writeRandomFile(source, 100_000);
      const result = await lftp(
        `put ${source} -o order.gcode; cls -l; get order.gcode -o ${source}.back; rm order.gcode`,
        true,
      );
      assert.equal(result.code, 0, result.stderr);
      // lftp's debug log: `---> STOR`, then the reply `<--- 150`, then the data TLS handshake (`Loaded 1 CAs`).
      // A server that waits for the handshake first makes lftp give up waiting and handshake before the 150.
      const transfers = result.stderr.split(/^---> (?=STOR|LIST|NLST|RETR)/m).slice(1);
      assert.ok(transfers.length >= 3, result.stderr);
      for (const transfer of transfers) {
        const reply = transfer.search(/^<--- 150/m);
        const handshake = transfer.search(/^Loaded \d+ CAs/m);
        assert.ok(reply >= 0 && handshake > reply, `150 before the data handshake:\n${transfer}`);
      }
    });
  });
}
