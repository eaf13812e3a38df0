import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertLftpRoundTrip, moatLftp, writeRandomFile } from '../helpers/ftp-clients.js';
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
      await assertLftpRoundTrip(lftp, harness.dir, storage, 'part.gcode');
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
