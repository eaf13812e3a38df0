import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer, type Server, TLSSocket } from 'node:tls';
import type { FtpServerOptions } from 'ftp-srv';
import { ftpControl, loggedIn } from '../../test/helpers/ftp-control.js';
import { waitFor } from '../../test/helpers/wait.js';
import { createPrinterPki } from '../certs/printer-pki.js';
import { silentLogger } from '../log.js';
import {
  type AdaptedServer,
  commandSocket,
  connectorOf,
  createFtpServer,
  refuseConnection,
  registry,
  setConnector,
  signals,
} from './ftp-srv-adapter.js';

interface ContractServer {
  adapted: AdaptedServer;
  tls: { key: string; cert: string };
  port: number;
  /** What the 'connect' listener and the login handler were given. */
  connected: unknown[];
  loginSockets: unknown[];
  closedChannels(): number;
}

interface Listening {
  adapted: AdaptedServer;
  control: Server;
  port: number;
}

/** An ftp-srv server through the adapter, serving the connections of a TLS listener made here, as the bridge does. */
async function listening(options: FtpServerOptions): Promise<Listening> {
  const control = createServer({ ...options.tls, pauseOnConnect: true });
  const adapted = createFtpServer(
    { url: 'ftps://127.0.0.1:0', anonymous: false, log: silentLogger(), ...options },
    control,
  );
  control.on('secureConnection', adapted.accept);
  control.listen(0, '127.0.0.1');
  await once(control, 'listening');
  return { adapted, control, port: (control.address() as AddressInfo).port };
}

/** An ftp-srv server through the adapter, with a replaced NOOP and a data channel that never comes. */
async function startContractServer(caFile: string): Promise<ContractServer> {
  const pki = await createPrinterPki('01S00C000000001');
  writeFileSync(caFile, pki.ca.certPem);
  const tls = { key: pki.leaf.keyPem, cert: pki.leaf.certPem };
  const connected: unknown[] = [];
  const loginSockets: unknown[] = [];
  let closedChannels = 0;
  const { adapted, port } = await listening({ tls });
  adapted.onConnect((socket) => {
    connected.push(socket);
    return undefined;
  });
  adapted.server.on('login', ({ connection }, resolve) => {
    loginSockets.push(commandSocket(connection));
    resolve({});
  });
  adapted.replaceCommands({
    NOOP: (session) => session.reply(200, `moat ${session.id}`),
    // A data channel that never comes; ftp-srv itself must end it (ABOR, disconnect).
    PASV: async (session) => {
      setConnector(
        session,
        () => new Promise(() => {}),
        () => closedChannels++,
      );
      return session.reply(227, 'PASV OK (127,0,0,1,0,1)');
    },
    SIZE: async (session) => {
      connectorOf(session).end();
      return session.reply(213, '0');
    },
  });
  return { adapted, tls, port, connected, loginSockets, closedChannels: () => closedChannels };
}

/** refuseConnection and onConnect's refusal, on a server of their own. */
async function assertRefusals(tls: { key: string; cert: string }, caFile: string): Promise<void> {
  let refuseNext = true;
  const { adapted: limited, port: limitedPort } = await listening({ tls });
  limited.onConnect(() => (refuseNext ? 'no room' : undefined));
  limited.server.on('login', ({ connection }, _resolve, reject) => {
    refuseConnection(connection, 'full').then(() => reject(new Error('full')));
  });
  try {
    await assert.rejects(ftpControl(limitedPort, caFile), /unexpected greeting: 421 no room/);
    refuseNext = false;
    const session = await ftpControl(limitedPort, caFile);
    await session.send('USER bblp');
    assert.equal(await session.send('PASS any'), '421 full');
    await session.closed;
    await assert.rejects(session.next(), /closed/, 'no 530 after the 421');
  } finally {
    await limited.server.close();
  }
}

/**
 * The contract between Moat and ftp-srv's internals: if an ftp-srv update moves any of them, this fails here,
 * by name, instead of as a strange FTP failure somewhere in the bridge.
 */
describe('ftp-srv adapter contract', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-ftp-srv-'));
  const caFile = join(dir, 'ca.pem');
  let server: ContractServer;
  let adapted: AdaptedServer;
  let tls: { key: string; cert: string };
  let port: number;
  let listenersBefore: number[];

  before(async () => {
    listenersBefore = signals.map((signal) => process.listenerCount(signal));
    server = await startContractServer(caFile);
    ({ adapted, tls, port } = server);
  });
  after(async () => {
    await adapted?.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds every ftp-srv command Moat replaces in its registry', () => {
    for (const directive of ['PASV', 'EPSV', 'LIST', 'NLST', 'RETR', 'STOR', 'MDTM', 'PORT', 'EPRT', 'REST', 'APPE'])
      assert.equal(typeof registry[directive]?.handler, 'function', `ftp-srv registry entry ${directive}`);
  });

  it('removes the signal handlers ftp-srv installs', () => {
    assert.deepEqual(
      signals.map((signal) => process.listenerCount(signal)),
      listenersBefore,
    );
  });

  it("hands Moat's listener's connections to ftp-srv; reaches the 'connect' event and a connection's command socket", async () => {
    const session = await loggedIn(port, caFile, 'any');
    try {
      assert.ok(server.connected[0] instanceof TLSSocket, "'connect' gives the control connection's TLS socket");
      assert.ok(server.loginSockets[0] instanceof TLSSocket, "a login's connection has its commandSocket");
    } finally {
      session.close();
    }
  });

  it('refuses a connection with 421 instead of the greeting, or instead of the 530 of a refused login', () =>
    assertRefusals(tls, caFile));

  it('dispatches replaced commands on this server only', async () => {
    const session = await loggedIn(port, caFile, 'any');
    try {
      assert.match(await session.send('NOOP'), /^200 moat /);
    } finally {
      session.close();
    }
    // A second server through the adapter, without replacements, keeps ftp-srv's own NOOP.
    const { adapted: other, control, port: otherPort } = await listening({ tls });
    other.server.on('login', (_data, resolve) => resolve({}));
    try {
      const otherSession = await loggedIn(otherPort, caFile, 'any');
      assert.doesNotMatch(await otherSession.send('NOOP'), /moat/);
      otherSession.close();
    } finally {
      await other.server.close();
    }
    assert.equal(control.listening, false, "ftp-srv's close() closes Moat's listener");
  });

  it('lets ftp-srv end a data connector set through the adapter, on ABOR and on disconnect', async () => {
    const session = await loggedIn(port, caFile, 'any');
    assert.match(await session.send('PASV'), /^227/);
    assert.match(await session.send('SIZE x'), /^213/);
    assert.equal(server.closedChannels(), 1, 'connectorOf(session).end() reached the data channel');
    assert.match(await session.send('PASV'), /^227/);
    session.close();
    await waitFor(() => server.closedChannels() === 2, { what: 'the disconnect to end the data channel' });
  });
});
