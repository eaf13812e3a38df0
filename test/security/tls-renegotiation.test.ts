import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { createServer } from 'node:tls';
import type { RunningMoat } from '../../src/service.js';
import { lanServerTlsOptions } from '../../src/tls-profiles.js';
import { type Harness, startHarness } from '../helpers/harness.js';

type Outcome = 'renegotiated' | 'refused';

/**
 * Connects with `openssl s_client -tls1_2` and, once the first handshake is done (and the server's greeting, if
 * it sends one, has arrived: application data in the middle of a renegotiation makes s_client abort on its own),
 * sends its `R` command, a client-initiated renegotiation. Renegotiated: the server finished a second handshake.
 * Refused: the server answered the new ClientHello with an alert. Anything else is no answer and fails the test.
 */
function tryRenegotiation(port: number, greeting = ''): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const client = spawn('openssl', ['s_client', '-tls1_2', '-msg', '-connect', `127.0.0.1:${port}`], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let sent = false;
    const serverFinished = () => output.match(/<<< TLS 1\.2, Handshake \[length [0-9a-f]+\], Finished/g)?.length ?? 0;
    const onOutput = (chunk: Buffer) => {
      output += chunk.toString('latin1');
      if (!sent && serverFinished() === 1 && output.includes(greeting)) {
        sent = true;
        client.stdin.write('R\n');
      }
      if (serverFinished() >= 2) {
        client.kill();
        resolve('renegotiated');
      }
    };
    client.stdout.on('data', onOutput);
    client.stderr.on('data', onOutput);
    client.on('error', reject);
    client.on('close', () => {
      if (serverFinished() >= 2) return resolve('renegotiated');
      const serverAlert = /RENEGOTIATING[\s\S]*<<< TLS 1\.2, Alert/.test(output);
      if (serverAlert) return resolve('refused');
      reject(new Error(`no answer to the renegotiation on ${port}:\n${output}`));
    });
  });
}

/** No LAN listener lets a client renegotiate: each renegotiation costs the Pi a full handshake (issue 14). */
describe('TLS renegotiation', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('the MQTT bridge refuses client-initiated renegotiation', async () => {
    assert.equal(await tryRenegotiation(h.moat?.mqtt.port as number), 'refused');
  });

  test('the FTPS bridge refuses client-initiated renegotiation', async () => {
    assert.equal(await tryRenegotiation(h.moat?.ftp.port as number, '220 '), 'refused');
  });

  test('the setup page refuses client-initiated renegotiation', async () => {
    assert.equal(await tryRenegotiation(h.moat?.web.httpsPort as number), 'refused');
  });

  // FTPS data listeners are built from the same options as the control listener (src/ftp/bridge.ts); this is
  // the profile itself, checked on a server that renegotiates when its options allow it.
  test('the LAN TLS profile refuses renegotiation on any server built from it', async () => {
    const server = createServer(lanServerTlsOptions((h.moat as RunningMoat).context.identity), (socket) => {
      socket.on('error', () => {});
      socket.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      assert.equal(await tryRenegotiation((server.address() as { port: number }).port), 'refused');
    } finally {
      server.close();
    }
  });
});
