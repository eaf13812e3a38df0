import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TlsOptions } from 'node:tls';
import type { FtpConnection, FtpSrv } from 'ftp-srv';
import { DataChannelError, openPassiveData, type PassiveData } from './passive-data.js';
import type { EntryStat, PrinterUpload, RelayFileSystem } from './relay-fs.js';
import type { TlsSessionCache } from './tls-sessions.js';
import { FtpRefusal } from './upload-policy.js';

/**
 * Moat's replacements for ftp-srv's passive mode and data-transfer commands (PASV, EPSV, LIST, NLST, RETR,
 * STOR). ftp-srv (abandoned upstream) opens a fresh TLS server per PASV that cannot resume the control
 * session, accepts any data connection from the client's address, and answers every failure with 550; these
 * handlers use `openPassiveData` (shared session cache, 522 when a data connection does not resume it) and
 * give each failure its own reply: 522, 425, 426 (client side), 451 (printer side), 552, 553.
 * ftp-srv's command registry is one object per process; a server that is not Moat's keeps the originals.
 */

export interface DataSettings {
  bindAddress: string;
  /** Moat's address as the LAN client sees it: the PASV reply. */
  lanAddress: () => string;
  portRange: { min: number; max: number };
  tls: TlsOptions;
  sessions: TlsSessionCache;
  requireSessionReuse: () => boolean;
  /** Control-connection idle timeout, suspended while a transfer runs (a long upload is not idle). */
  idleTimeoutMs: () => number;
}

interface Connection extends FtpConnection {
  commandSocket: Socket;
  connector: { end(): void; waitForConnection(): Promise<Socket> };
  fs: RelayFileSystem;
}

type Handler = (this: Connection, args: { command: { directive: string; arg: string | null } }) => Promise<unknown>;

const require = createRequire(import.meta.url);
const registry = require('ftp-srv/src/commands/registry.js') as Record<string, { handler: Handler }>;
const BaseConnector = require('ftp-srv/src/connector/base.js') as new (
  connection: FtpConnection,
) => { dataSocket: Socket | null; type: string | false; end(): void };

const moatServers = new WeakMap<FtpSrv, DataSettings>();

/** A passive connector in ftp-srv's shape, backed by openPassiveData. */
class PassiveConnector extends BaseConnector {
  private passive: PassiveData | undefined;

  constructor(private readonly connection: Connection) {
    super(connection);
    this.type = 'passive';
  }

  async open(settings: DataSettings): Promise<number> {
    this.passive = await openPassiveData({
      host: settings.bindAddress,
      portRange: settings.portRange,
      peerAddress: this.connection.commandSocket.remoteAddress ?? '',
      tls: { options: settings.tls, sessions: settings.sessions, requireSessionReuse: settings.requireSessionReuse() },
    });
    this.passive.connection.then(
      (socket) => {
        this.dataSocket = socket;
      },
      () => {},
    );
    return this.passive.port;
  }

  waitForConnection(): Promise<Socket> {
    if (!this.passive) return Promise.reject(new DataChannelError(425, 'Use PASV or EPSV first'));
    return this.passive.connection;
  }

  closeServer(): void {
    this.passive?.close();
  }
}

function replyFor(error: unknown, fallback: number): { code: number; message: string } {
  if (error instanceof FtpRefusal || error instanceof DataChannelError)
    return { code: error.code, message: error.message };
  return {
    code: fallback,
    message: fallback === 426 ? 'Connection closed; transfer aborted' : (error as Error).message,
  };
}

/** Runs one data transfer: the data connection, 150, the work, 226; each failure as its reply. */
async function transfer(
  connection: Connection,
  work: (data: Socket) => Promise<void>,
  onFailure?: (reason: string) => Promise<void>,
) {
  const settings = moatServers.get(connection.server as FtpSrv);
  connection.commandSocket.setTimeout(0);
  try {
    const data = await connection.connector.waitForConnection();
    await connection.reply(150);
    await work(data);
    await connection.reply(226);
  } catch (error) {
    const reply = replyFor(error, 426);
    await onFailure?.(reply.message);
    // The client may be gone (that may be why the transfer failed): ftp-srv logs a reply to nobody as an error.
    if (connection.commandSocket.writable) await connection.reply(reply.code, reply.message);
  } finally {
    connection.connector.end();
    if (settings) connection.commandSocket.setTimeout(settings.idleTimeoutMs());
  }
}

/** A refusal found before any data moved: the data channel is closed unused. */
async function refuse(connection: Connection, error: unknown) {
  connection.connector.end();
  const reply = replyFor(error, 451);
  await connection.reply(reply.code, reply.message);
}

function listLine(entry: EntryStat): string {
  const date = entry.mtime.toUTCString().split(' '); // Day, DD Mon YYYY HH:MM:SS GMT
  const time = (date[4] ?? '00:00').slice(0, 5);
  return `${entry.isDirectory() ? 'drwxr-xr-x' : '-rw-r--r--'} 1 0 0 ${String(entry.size).padStart(12)} ${date[2]} ${date[1]} ${time} ${entry.name}`;
}

const passive: Handler = async function (this, { command }) {
  const settings = moatServers.get(this.server as FtpSrv);
  if (!settings) return this.reply(502);
  const connector = new PassiveConnector(this);
  this.connector = connector;
  try {
    const port = await connector.open(settings);
    if (command.directive === 'EPSV') return this.reply(229, `EPSV OK (|||${port}|)`);
    return this.reply(227, `PASV OK (${settings.lanAddress().replaceAll('.', ',')},${port >> 8},${port & 255})`);
  } catch (error) {
    return refuse(this, error);
  }
};

const list: Handler = async function (this, { command }) {
  // ftp-srv takes single-letter options (-a) out of the argument but leaves combined ones (-la): ignore them.
  const path = command.arg && !command.arg.startsWith('-') ? command.arg : '.';
  let entries: EntryStat[];
  try {
    const entry = await this.fs.get(path);
    entries = entry.isDirectory() ? await this.fs.list(path) : [entry];
  } catch (error) {
    return refuse(this, error);
  }
  const names = command.directive === 'NLST';
  const text = entries.map((entry) => `${names ? entry.name : listLine(entry)}\r\n`).join('');
  return transfer(this, async (data) => {
    await pipeline([Buffer.from(text)], data);
  });
};

const retrieve: Handler = async function (this, { command }) {
  let download: { stream: Readable; finished: Promise<void> };
  try {
    download = await this.fs.read(command.arg ?? '');
  } catch (error) {
    return refuse(this, error);
  }
  const { stream, finished } = download;
  return transfer(
    this,
    async (data) => {
      await pipeline(stream, data);
      await finished;
    },
    async () => {
      stream.destroy();
    },
  );
};

const store: Handler = async function (this, { command }) {
  let upload: PrinterUpload;
  try {
    upload = this.fs.write(command.arg ?? '');
  } catch (error) {
    return refuse(this, error);
  }
  return transfer(
    this,
    async (data) => {
      await upload.receive(data);
      // A client killed mid-upload may look like a clean end of data; its control connection tells.
      if (this.commandSocket.destroyed || this.commandSocket.readableEnded)
        throw new FtpRefusal(426, 'Client went away; upload discarded');
      await upload.commit();
    },
    (reason) => upload.discard(reason),
  );
};

/** Puts Moat's handlers into ftp-srv's registry and marks `server` as one they serve. */
export function installDataCommands(server: FtpSrv, settings: DataSettings): void {
  moatServers.set(server, settings);
  const handlers: Record<string, Handler> = {
    PASV: passive,
    EPSV: passive,
    LIST: list,
    NLST: list,
    RETR: retrieve,
    STOR: store,
  };
  for (const [directive, handler] of Object.entries(handlers)) {
    const entry = registry[directive];
    if (!entry) throw new Error(`ftp-srv has no ${directive} command to replace`);
    if ((entry as { moat?: boolean }).moat) continue;
    const original = entry.handler;
    entry.handler = function (this: Connection, args) {
      return moatServers.has(this.server as FtpSrv) ? handler.call(this, args) : original.call(this, args);
    };
    (entry as { moat?: boolean }).moat = true;
  }
}
