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
  /** How long to wait for the client to connect, and again from then for its TLS handshake. */
  acceptTimeoutMs?: number;
}

export interface PassiveData {
  port: number;
  /**
   * Resolves with the client's TCP connection as soon as it is there: a server in the printer's order sends
   * `150` now, before the TLS handshake. Rejects with DataChannelError (425).
   */
  accepted: Promise<Socket>;
  /**
   * The ready data connection. The TLS handshake runs from the moment the connection is accepted, so a client
   * may start it before or after the `150`; rejects with DataChannelError: 425 for a failed or missing
   * connection or handshake, 522 for a handshake that did not resume the control session.
   */
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
  const timeoutMs = options.acceptTimeoutMs ?? 10_000;
  let socket: Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  const close = () => {
    clearTimeout(timer);
    // A transfer that ended its side (or read the client's end) closes gracefully; anything else is cut.
    if (socket && !socket.destroyed) {
      if (socket.writableEnded || socket.readableEnded) socket.end();
      else socket.destroy();
    }
    if (listener.listening) listener.close();
  };
  const fail = (reject: (error: Error) => void, code: number, message: string) => {
    close();
    reject(new DataChannelError(code, message));
  };

  let onAccepted: (socket: Socket) => void = () => {};
  const accepted = new Promise<Socket>((resolve, reject) => {
    timer = setTimeout(() => fail(reject, 425, 'No data connection established'), timeoutMs);
    onAccepted = resolve;
  });
  const connection = new Promise<Socket | TLSSocket>((resolve, reject) => {
    accepted.catch(reject);
    listener.on('connection', (candidate) => {
      if (socket || normaliseAddress(candidate.remoteAddress) !== normaliseAddress(options.peerAddress)) {
        // Someone else found the port: never let them take over the transfer (FTP data hijacking).
        candidate.destroy();
        return;
      }
      clearTimeout(timer);
      socket = candidate;
      listener.close();
      onAccepted(candidate);
      const tlsConfig = options.tls;
      if (!tlsConfig) {
        resolve(candidate);
        return;
      }
      timer = setTimeout(() => fail(reject, 425, 'No TLS handshake on the data connection'), timeoutMs);
      // A TLS server that never listens: the accepted socket is handed to it at once (TLS must own it before
      // anything is read), so it shares the session cache and ticket keys with the control listener.
      const tlsServer = createTlsServer({ ...tlsConfig.options, ...tlsConfig.sessions.serverOptions() });
      tlsConfig.sessions.attach(tlsServer);
      tlsServer.once('secureConnection', (secure: TLSSocket) => {
        clearTimeout(timer);
        socket = secure;
        if (tlsConfig.requireSessionReuse && !secure.isSessionReused()) {
          // Like vsFTPd: the handshake completes, the refusal comes as 522 on the control connection, and
          // the data connection is closed after it (by close()), so the client reads the reason.
          reject(new DataChannelError(522, sessionReuseRequired));
          return;
        }
        resolve(secure);
      });
      tlsServer.once('tlsClientError', (error, tlsSocket) => {
        tlsSocket.destroy();
        fail(reject, 425, `Data connection TLS failed: ${error.message}`);
      });
      tlsServer.emit('connection', candidate);
    });
  });
  // A transfer command may never come (client gave up): the rejections must not crash the process.
  accepted.catch(() => {});
  connection.catch(() => {});

  try {
    const port = await listenInRange(listener, options.host, options.portRange);
    return { port, accepted, connection, close };
  } catch (error) {
    close();
    throw error;
  }
}
