import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Harness, startHarness } from '../helpers/harness.js';
import { run } from '../helpers/process.js';

/**
 * The certificate Moat presents on its LAN ports passes OpenSSL's host-name check for the printer's serial
 * (what the slicers' network plugin checks, with SNI = serial) and for moat.local, on MQTT and FTPS alike.
 */
describe('LAN certificate names', () => {
  const serial = '01P00A000000042';
  let h: Harness;
  before(async () => {
    h = await startHarness({ serial });
  });
  after(() => h.close());

  const check = (port: number, hostname: string) =>
    run('openssl', [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-servername',
      hostname,
      '-CAfile',
      h.moatCaFile,
      '-verify_hostname',
      hostname,
      '-verify_return_error',
    ]);

  for (const [service, port] of [
    ['MQTT', () => h.moat?.mqtt.port],
    ['FTPS', () => h.moat?.ftp.port],
  ] as const) {
    for (const name of [serial, 'moat.local']) {
      test(`${service}: openssl verifies host name ${name}`, async () => {
        const result = await check(port() as number, name);
        assert.match(result.stdout, /Verify return code: 0 \(ok\)/, result.stdout + result.stderr);
        assert.equal(result.code, 0, result.stderr);
      });
    }
    test(`${service}: a name not in the certificate fails the same check`, async () => {
      // The check above could pass vacuously if openssl skipped the host name: this one must fail.
      const result = await check(port() as number, '01P00A000000099');
      assert.doesNotMatch(result.stdout, /Verify return code: 0 \(ok\)/);
      assert.match(result.stdout + result.stderr, /hostname mismatch/);
    });
  }
});
