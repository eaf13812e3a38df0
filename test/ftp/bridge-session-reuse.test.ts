import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { curlArgs, run } from '../helpers/ftp-clients.js';
import { type Harness, startHarness } from '../helpers/harness.js';

/** Data connections must resume the control connection's TLS session, on TLS 1.2 and TLS 1.3 alike. */
describe('FTPS bridge data-session reuse', () => {
  let harness: Harness;
  const viewer = () => ({
    port: harness.moat?.ftp.port as number,
    user: 'bblp',
    password: harness.codes.viewer,
    caFile: harness.moatCaFile,
    tls: true,
  });

  before(async () => {
    harness = await startHarness({ mqtt: false, ftp: 'tls' });
  });
  after(() => harness?.close());

  for (const [version, flags] of [
    ['TLS 1.2', ['--tlsv1.2', '--tls-max', '1.2']],
    ['TLS 1.3', ['--tlsv1.3']],
  ] as const) {
    it(`${version}: a data connection that resumes the session works`, async () => {
      const result = await run('curl', [...curlArgs(viewer(), ''), ...flags, '--verbose']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stderr,
        version === 'TLS 1.2' ? /SSL connection using TLSv1\.2/ : /SSL connection using TLSv1\.3/,
      );
      assert.match(result.stderr, /< 226/);
    });

    it(`${version}: a data connection that does not resume it is refused with 522`, async () => {
      const result = await run('curl', [...curlArgs(viewer(), ''), ...flags, '--no-sessionid', '--verbose']);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /< 522 SSL connection failed: session reuse required/);
    });
  }
});

describe('FTPS bridge listener', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({ mqtt: false, ftp: 'tls' });
  });
  after(() => harness?.close());

  it('speaks no plaintext FTP: no greeting, no login before TLS', async () => {
    const port = harness.moat?.ftp.port as number;
    const received = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = connect(port, '127.0.0.1', () => socket.write(`USER bblp\r\nPASS ${harness.codes.admin}\r\n`));
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
      });
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
      socket.setTimeout(10_000, () => reject(new Error('the listener kept a plaintext connection open')));
    });
    assert.doesNotMatch(received, /^2\d\d|^3\d\d/m);
    const plainCurl = await run(
      'curl',
      curlArgs({ port, user: 'bblp', password: harness.codes.admin, tls: false }, ''),
    );
    assert.notEqual(plainCurl.code, 0);
  });

  it('refuses TLS 1.1', async () => {
    const port = harness.moat?.ftp.port as number;
    const result = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_1'], 10_000, 'QUIT\r\n');
    assert.notEqual(result.code, 0);
    assert.doesNotMatch(result.stdout, /^220/m);
  });
});
