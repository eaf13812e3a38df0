import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Client, type FTPError } from 'basic-ftp';
import { type Harness, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The FTPS bridge's session limits, answered as vsFTPd answers its own: `421` and the connection closed.
 * Per printer, logged-in sessions (each holds its own printer connection, and the printer admits only a few);
 * per client address, control connections whether logged in or not.
 */
describe('FTPS bridge session limits', () => {
  let h: Harness;
  const clients: Client[] = [];
  before(async () => {
    h = await startHarness({
      mqtt: false,
      configure: (config) => ({
        ...config,
        ftp: { ...config.ftp, maxSessionsPerPrinter: 2, maxConnectionsPerAddress: 3 },
      }),
    });
  });
  after(async () => {
    for (const client of clients.splice(0)) client.close();
    await h.close();
  });

  /**
   * basic-ftp, as the connection test and many scripts use it: implicit TLS, from a chosen loopback address
   * (its data connections come from 127.0.0.1, so only sessions from there can list).
   */
  const tlsFrom = (from: string) => {
    const options = { ca: readFileSync(h.moatCaFile), checkServerIdentity: () => undefined, localAddress: from };
    return options;
  };
  const login = async (from = '127.0.0.1') => {
    const client = new Client(30_000);
    clients.push(client);
    const port = h.moat?.ftp.port as number;
    const secureOptions = tlsFrom(from);
    await client.access({
      host: '127.0.0.1',
      port,
      user: 'bblp',
      password: h.codes.viewer,
      secure: 'implicit',
      secureOptions,
    });
    return client;
  };
  const refusal = (attempt: Promise<unknown>) =>
    attempt.then(
      () => 'let in',
      (error: FTPError) => error.message,
    );

  test('a login past maxSessionsPerPrinter gets 421; the printer never sees more connections than that', async () => {
    const first = await login();
    const second = await login();
    // A listing makes each session open its printer connection.
    await first.list('/');
    await second.list('/');
    assert.equal(h.sim.stats.ftpConnections, 2);

    const third = await refusal(login());
    assert.match(third, /^421 There are too many connected users/);
    assert.equal(h.sim.stats.ftpPeakConnections, 2, 'the printer saw at most two connections');

    // A place frees up when a session ends.
    first.close();
    await waitFor(() => h.moat?.ftp.clients().length === 1, { what: 'the first session to end' });
    const fourth = await login();
    assert.ok((await fourth.list('/')).length >= 0);
    assert.ok(h.sim.stats.ftpPeakConnections <= 2, `printer peak ${h.sim.stats.ftpPeakConnections}`);
    for (const client of clients.splice(0)) client.close();
    await waitFor(() => h.moat?.ftp.clients().length === 0, { what: 'every session to end' });
  });

  test('a connection past maxConnectionsPerAddress gets 421 before its greeting; other addresses are not affected', async () => {
    // Connections that never log in count too.
    const connect = async (from: string) => {
      const client = new Client(30_000);
      clients.push(client);
      return client.connectImplicitTLS('127.0.0.1', h.moat?.ftp.port as number, tlsFrom(from));
    };
    for (let i = 0; i < 3; i++) assert.equal((await connect('127.0.0.5')).code, 220);
    assert.match(await refusal(connect('127.0.0.5')), /^421 There are too many connections from your internet address/);
    assert.equal((await connect('127.0.0.6')).code, 220);
    // A login from another address still works (no printer session is held now).
    await login('127.0.0.7');
  });
});
