import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { curlArgs, moatFtpTarget, storedFiles, writeRandomFile } from '../helpers/ftp-clients.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { run } from '../helpers/process.js';

/** Data connections must resume the control connection's TLS session, on TLS 1.2 and TLS 1.3 alike. */
describe('FTPS bridge data-session reuse', () => {
  let harness: Harness;
  const viewer = () => moatFtpTarget(harness, 'viewer');

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
      // As vsFTPd: the 150 first (the data connection is there), the refusal after the handshake.
      assert.match(result.stderr, /< 150[\s\S]*< 522 SSL connection failed: session reuse required/);

      const source = join(harness.dir, 'refused.3mf');
      writeRandomFile(source, 100_000);
      const operator = { ...viewer(), password: harness.codes.operator };
      const upload = await run('curl', [
        ...curlArgs(operator, 'refused.3mf', ['-T', source]),
        ...flags,
        '--no-sessionid',
        '--verbose',
      ]);
      // An uploader writes at once and may meet the closed data connection before it reads the 522 (as with
      // vsFTPd): what must hold is that it fails after the 150 and nothing reaches the printer.
      assert.notEqual(upload.code, 0);
      assert.match(upload.stderr, /< 150/);
      assert.deepEqual(storedFiles(join(harness.dir, 'printer-storage')), [], 'nothing reached the printer');
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

describe('FTPS bridge passive replies', () => {
  let harness: Harness;
  before(async () => {
    // Moat on 127.0.0.2 while the client connects from 127.0.0.1: the PASV reply must name Moat's LAN
    // address, not the client's (which is what ftp-srv itself answers to a local client).
    harness = await startHarness({
      mqtt: false,
      ftp: 'tls',
      configure: (config) => ({
        ...config,
        lan: { ...config.lan, bindAddress: '127.0.0.2', addresses: ['127.0.0.2'] },
      }),
    });
  });
  after(() => harness?.close());

  it('PASV answers with the LAN address, EPSV with the port only', async () => {
    const port = harness.moat?.ftp.port as number;
    const url = `ftps://127.0.0.2:${port}/`;
    const common = ['--silent', '--show-error', '--ssl-reqd', '--cacert', harness.moatCaFile, '--verbose'];
    const auth = ['--user', `bblp:${harness.codes.viewer}`];
    const pasv = await run('curl', [...common, ...auth, '--disable-epsv', '--ftp-pasv', url]);
    assert.equal(pasv.code, 0, pasv.stderr);
    const [, high, low] = /< 227 PASV OK \(127,0,0,2,(\d+),(\d+)\)/.exec(pasv.stderr) ?? [];
    assert.ok(high && low, 'PASV names 127.0.0.2');
    const { passiveMin, passiveMax } = harness.moat?.context.config.get().ports ?? { passiveMin: 0, passiveMax: 0 };
    const dataPort = Number(high) * 256 + Number(low);
    assert.ok(dataPort >= passiveMin && dataPort <= passiveMax, `data port ${dataPort} in the passive range`);
    const epsv = await run('curl', [...common, ...auth, '--ftp-pasv', url]);
    assert.equal(epsv.code, 0, epsv.stderr);
    assert.match(epsv.stderr, /< 229 EPSV OK \(\|\|\|\d+\|\)/);
  });
});

describe('FTPS bridge with ftp.requireSessionReuse off', () => {
  let harness: Harness;
  before(async () => {
    harness = await startHarness({
      mqtt: false,
      ftp: 'tls',
      configure: (config) => ({ ...config, ftp: { ...config.ftp, requireSessionReuse: false } }),
    });
  });
  after(() => harness?.close());

  it('accepts a data connection with a fresh handshake', async () => {
    const target = moatFtpTarget(harness, 'viewer');
    const result = await run('curl', [...curlArgs(target, ''), '--tls-max', '1.2', '--no-sessionid', '--verbose']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /< 226/);
  });
});
