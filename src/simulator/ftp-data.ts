import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import {
  createSecureContext,
  createServer as createTlsServer,
  type SecureContext,
  TLSSocket,
  type TlsOptions,
  type Server as TlsServer,
} from 'node:tls';

/**
 * The simulated printer's passive data connections, in vsFTPd's order: a transfer command waits for the
 * client's TCP connection, the server answers `150`, and only then accepts the TLS handshake — so a client
 * that starts TLS after the `150` (Python's ftplib, the slicers) and one that starts it at once (curl) both
 * work. A handshake that did not resume the control connection's session ends in `522`, after which vsFTPd
 * ends the whole FTP session.
 *
 * Written for the simulator alone: it shares nothing with Moat's bridge, so a test of the bridge against
 * the simulator compares two independent implementations of the printer's dialect.
 */

/** A failure the FTP session answers with a reply (vsFTPd's codes and texts). */
export class FtpDataFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** vsFTPd ends the session after this one (the 522 for a data connection that did not resume TLS). */
    readonly endsSession = false,
  ) {
    super(message);
  }
}

/**
 * TLS for the control and the data connections of one simulated FTP server, with both ways a data
 * handshake can resume the control connection's session: a TLS 1.2 ticket (one ticket key and one
 * session-id context for all of them) and a session id (curl turns tickets off), kept in a store that the
 * control listener fills and every data connection reads through that listener's session events.
 */
export class FtpTls {
  private readonly ticketKeys = randomBytes(48);
  private readonly sessionIdContext = randomBytes(16).toString('hex');
  private readonly dataContext: SecureContext;
  /** Sessions by id, newest last; vsFTPd's OpenSSL cache is bounded too. */
  private readonly byId = new Map<string, Buffer>();
  private control: TlsServer | undefined;

  constructor(
    private readonly options: TlsOptions,
    private readonly requireReuse: boolean,
    private readonly storedSessions = 256,
  ) {
    this.dataContext = createSecureContext({ ...options, ...this.sharedState() });
  }

  /** The implicit-TLS control listener, with its session events wired to the store. */
  createControlServer(onSession: (socket: TLSSocket) => void): TlsServer {
    const server = createTlsServer({ ...this.options, ...this.sharedState() }, onSession);
    server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      const key = id.toString('base64');
      this.byId.delete(key);
      this.byId.set(key, data);
      for (const oldest of this.byId.keys()) {
        if (this.byId.size <= this.storedSessions) break;
        this.byId.delete(oldest);
      }
      done();
    });
    server.on('resumeSession', (id: Buffer, done: (error: null, data: Buffer | null) => void) =>
      done(null, this.byId.get(id.toString('base64')) ?? null),
    );
    this.control = server;
    return server;
  }

  private sharedState() {
    return { ticketKeys: this.ticketKeys, sessionIdContext: this.sessionIdContext };
  }

  /** The TLS accept on an established data connection, after the `150`. */
  accept(raw: Socket): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      // `server` gives the data connection the control listener's session events (the session-id store).
      const secure = new TLSSocket(raw, {
        isServer: true,
        secureContext: this.dataContext,
        ...(this.control && { server: this.control }),
      });
      // vsFTPd words every failed data handshake this way when session reuse is required.
      const failure = () => new FtpDataFailure(522, 'SSL connection failed: session reuse required', this.requireReuse);
      const notSecured = () => {
        secure.destroy();
        reject(failure());
      };
      secure.once('error', notSecured);
      secure.once('close', notSecured);
      secure.once('secure', () => {
        secure.off('error', notSecured);
        secure.off('close', notSecured);
        secure.on('error', () => secure.destroy());
        if (this.requireReuse && !secure.isSessionReused()) {
          // As vsFTPd: the handshake completes, the data connection is closed with close_notify, then 522.
          secure.end();
          reject(failure());
          return;
        }
        resolve(secure);
      });
    });
  }
}

/**
 * One PASV/EPSV port: the first connection from the control connection's peer address is the data
 * connection; connections from anywhere else are dropped.
 */
export class PassivePort {
  private taken = false;

  private constructor(
    private readonly listener: Server,
    readonly port: number,
    private readonly arrived: Promise<Socket>,
  ) {}

  static async open(host: string, peerAddress: string, acceptTimeoutMs: number): Promise<PassivePort> {
    // Nothing may be read from the data connection before the TLS accept takes it: a client that starts its
    // handshake at once (curl) has sent its ClientHello while the command is still on its way.
    const listener = createServer({ pauseOnConnect: true });
    const arrived = new Promise<Socket>((resolve, reject) => {
      const timer = setTimeout(() => {
        listener.close();
        reject(new FtpDataFailure(425, 'Failed to establish connection.'));
      }, acceptTimeoutMs);
      listener.on('close', () => {
        clearTimeout(timer);
        reject(new FtpDataFailure(425, 'Failed to establish connection.'));
      });
      listener.on('connection', (socket) => {
        if (sameAddress(socket.remoteAddress, peerAddress)) {
          clearTimeout(timer);
          listener.close();
          resolve(socket);
        } else {
          socket.destroy();
        }
      });
    });
    // A port the client never uses (PASV twice, session ended) must not leave a rejection unhandled.
    arrived.catch(() => {});
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, host, () => resolve());
    });
    return new PassivePort(listener, (listener.address() as { port: number }).port, arrived);
  }

  /** The client's TCP connection, once it is there. */
  connection(): Promise<Socket> {
    this.taken = true;
    return this.arrived;
  }

  /** Gives up the port, and a data connection no command took; one taken is the command's to close. */
  close(): void {
    if (this.listener.listening) this.listener.close();
    if (!this.taken) this.arrived.then((socket) => socket.destroy()).catch(() => {});
  }
}

function sameAddress(a: string | undefined, b: string): boolean {
  const plain = (address: string) => address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  return a !== undefined && plain(a) === plain(b);
}
