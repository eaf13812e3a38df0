import { createServer as createNetServer, isIPv4, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import type { TlsSessionCache } from './tls-sessions.js';

/**
 * One passive-mode data connection: a listener that accepts exactly one connection from the control
 * connection's address, optionally wraps it in TLS and insists that the TLS session was resumed from the
 * control connection's cache. Shared by the simulated printer and Moat's bridge, so both refuse a data
 * connection the same way a printer's vsFTPd does.
 */
export class DataChannelError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const sessionReuseRequired = 'SSL connection failed: session reuse required';

export interface PassiveDataOptions {
  /** Address the data listener binds to. */
  host: string;
  /** Ports to try, in order from a rotating start; default: any free port. */
  portRange?: { min: number; max: number };
  /** Only this peer address may connect (the control connection's). */
  peerAddress: string;
  tls?: { options: TlsOptions; sessions: TlsSessionCache; requireSessionReuse: boolean };
  /** How long to wait for the client to connect and finish its handshake. */
  acceptTimeoutMs?: number;
}

export interface PassiveData {
  port: number;
  /** Resolves with the ready data connection; rejects with DataChannelError (425, 522). */
  connection: Promise<Socket | TLSSocket>;
  close(): void;
}

let rotatingOffset = 0;

function normaliseAddress(address: string | undefined): string {
  return address?.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : (address ?? '');
}

async function listenInRange(server: Server, host: string, range?: { min: number; max: number }): Promise<number> {
  const listenOn = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve((server.address() as { port: number }).port);
      });
    });
  if (!range) return listenOn(0);
  const size = range.max - range.min + 1;
  const start = rotatingOffset++ % size;
  for (let i = 0; i < size; i++) {
    try {
      return await listenOn(range.min + ((start + i) % size));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
  throw new DataChannelError(425, 'No free passive port');
}

export async function openPassiveData(options: PassiveDataOptions): Promise<PassiveData> {
  const listener = createNetServer();
  listener.maxConnections = 1;
  let accepted: Socket | undefined;
  let refused: TLSSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  const close = () => {
    clearTimeout(timer);
    refused?.destroy();
    if (listener.listening) listener.close();
  };

  const connection = new Promise<Socket | TLSSocket>((resolve, reject) => {
    timer = setTimeout(() => {
      accepted?.destroy();
      close();
      reject(new DataChannelError(425, 'No data connection established'));
    }, options.acceptTimeoutMs ?? 10_000);
    listener.on('connection', (socket) => {
      if (accepted || normaliseAddress(socket.remoteAddress) !== normaliseAddress(options.peerAddress)) {
        // Someone else found the port: never let them take over the transfer (FTP data hijacking).
        socket.destroy();
        return;
      }
      accepted = socket;
      listener.close();
      const tlsConfig = options.tls;
      if (!tlsConfig) {
        clearTimeout(timer);
        resolve(socket);
        return;
      }
      // A TLS server that never listens: the accepted socket is handed to it, so it shares the session
      // cache and ticket keys with the control listener.
      const tlsServer = createTlsServer({ ...tlsConfig.options, ...tlsConfig.sessions.serverOptions() });
      tlsConfig.sessions.attach(tlsServer);
      tlsServer.once('secureConnection', (secure: TLSSocket) => {
        clearTimeout(timer);
        if (tlsConfig.requireSessionReuse && !secure.isSessionReused()) {
          // Like vsFTPd: the handshake completes, the refusal comes as 522 on the control connection, and
          // the data connection is closed after it (by close()), so the client reads the reason.
          refused = secure;
          reject(new DataChannelError(522, sessionReuseRequired));
          return;
        }
        resolve(secure);
      });
      tlsServer.once('tlsClientError', (error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new DataChannelError(425, `Data connection TLS failed: ${error.message}`));
      });
      tlsServer.emit('connection', socket);
    });
  });
  // A transfer command may never come (client gave up): the rejection must not crash the process.
  connection.catch(() => {});

  try {
    const port = await listenInRange(listener, options.host, options.portRange);
    return { port, connection, close };
  } catch (error) {
    close();
    clearTimeout(timer);
    throw error;
  }
}
