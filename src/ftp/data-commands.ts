import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { TlsOptions } from 'node:tls';
import type { Logger } from '../log.js';
import { type CommandHandler, connectorOf, type FtpSession, setConnector } from './ftp-srv-adapter.js';
import { DataChannelError, openPassiveData } from './passive-data.js';
import type { EntryStat, PrinterDownload, RelayFileSystem, Upload } from './relay-fs.js';
import type { TlsSessionCache } from './tls-sessions.js';
import { FtpRefusal } from './upload-policy.js';

/**
 * Moat's replacements for ftp-srv's passive mode, data-transfer and date commands (PASV, EPSV, LIST, NLST,
 * RETR, STOR, MDTM) and its refusals of what the printer's dialect lacks (PORT, EPRT, REST, APPE). ftp-srv
 * (abandoned upstream) opens a fresh TLS server per PASV that cannot resume the control session, accepts any
 * data connection from the client's address, and answers every failure with 550; these handlers use
 * `openPassiveData` (shared session cache, 522 when a data connection does not resume it) in the printer's
 * order — `150` once the data TCP connection is there, then the TLS handshake — and give each failure its own
 * reply: 522, 425, 426 (client side), 451 (printer side), 552, 553. Installed through ftp-srv-adapter.ts.
 */

export interface DataSettings {
  bindAddress: string;
  /** Moat's address as the LAN client sees it: the PASV reply. */
  lanAddress: () => string;
  portRange: { min: number; max: number };
  /** Read for each data connection: after a re-issue of Moat's certificate, new data connections present it. */
  tls: () => TlsOptions;
  sessions: TlsSessionCache;
  requireSessionReuse: () => boolean;
  /** Control-connection idle timeout, suspended while a transfer runs (a long upload is not idle). */
  idleTimeoutMs: () => number;
  logger: Logger;
}

type Session = FtpSession<RelayFileSystem>;

/** The ready (TLS) data connection of each connector a PASV/EPSV set, beside the TCP one it waits for. */
const readyConnections = new WeakMap<object, Promise<Socket>>();

function replyFor(error: unknown, fallback: number): { code: number; message: string } {
  if (error instanceof FtpRefusal || error instanceof DataChannelError)
    return { code: error.code, message: error.message };
  return {
    code: fallback,
    message: fallback === 426 ? 'Connection closed; transfer aborted' : (error as Error).message,
  };
}

interface Transfers {
  transfer(
    session: Session,
    command: string,
    work: (data: Socket) => Promise<void>,
    onFailure?: (reason: string) => Promise<void>,
  ): Promise<void>;
  refuse(session: Session, command: string, error: unknown): Promise<void>;
}

function transfers(settings: DataSettings): Transfers {
  const logger = settings.logger;

  /** Every refused or failed data connection and transfer, with its reply: the operator's only trace of it. */
  const logFailure = (session: Session, command: string, reply: { code: number; message: string }) =>
    logger.warn(
      { address: session.commandSocket.remoteAddress, command, reply: reply.code, reason: reply.message },
      reply.code === 425 || reply.code === 522 ? 'FTP data connection refused' : 'FTP transfer failed',
    );

  /**
   * Runs one data transfer in the printer's order: the data TCP connection, 150, the TLS handshake (a client
   * may have started it before the 150: its bytes waited), the work, 226; each failure as its reply.
   */
  async function transfer(
    session: Session,
    command: string,
    work: (data: Socket) => Promise<void>,
    onFailure?: (reason: string) => Promise<void>,
  ) {
    const connector = connectorOf(session);
    const ready = readyConnections.get(connector);
    session.commandSocket.setTimeout(0);
    try {
      if (!ready) throw new DataChannelError(425, 'Use PASV or EPSV first');
      await connector.waitForConnection();
      await session.reply(150);
      await work(await ready);
      await session.reply(226);
    } catch (error) {
      const reply = replyFor(error, 426);
      logFailure(session, command, reply);
      await onFailure?.(reply.message);
      // The client may be gone (that may be why the transfer failed): ftp-srv logs a reply to nobody as an error.
      if (session.commandSocket.writable) await session.reply(reply.code, reply.message);
    } finally {
      connector.end();
      session.commandSocket.setTimeout(settings.idleTimeoutMs());
    }
  }

  /** A refusal found before any data moved: the data channel is closed unused. */
  async function refuse(session: Session, command: string, error: unknown) {
    connectorOf(session).end();
    const reply = replyFor(error, 451);
    if (reply.code === 425) logFailure(session, command, reply);
    await session.reply(reply.code, reply.message);
  }

  return { transfer, refuse };
}

function passiveHandler(settings: DataSettings, { refuse }: Transfers): CommandHandler<RelayFileSystem> {
  return async (session, command) => {
    try {
      const channel = await openPassiveData({
        host: settings.bindAddress,
        portRange: settings.portRange,
        peerAddress: session.commandSocket.remoteAddress ?? '',
        tls: {
          options: settings.tls(),
          sessions: settings.sessions,
          requireSessionReuse: settings.requireSessionReuse(),
        },
      });
      setConnector(session, () => channel.accepted, channel.close);
      readyConnections.set(connectorOf(session), channel.connection);
      const { port } = channel;
      if (command.directive === 'EPSV') return session.reply(229, `EPSV OK (|||${port}|)`);
      return session.reply(227, `PASV OK (${settings.lanAddress().replaceAll('.', ',')},${port >> 8},${port & 255})`);
    } catch (error) {
      return refuse(session, command.directive, error);
    }
  };
}

function listHandler({ transfer, refuse }: Transfers): CommandHandler<RelayFileSystem> {
  return async (session, command) => {
    // ftp-srv takes single-letter options (-a) out of the argument but leaves combined ones (-la): ignore them.
    const path = command.arg && !command.arg.startsWith('-') ? command.arg : '.';
    let entries: EntryStat[];
    try {
      const entry = await session.fs.get(path);
      entries = entry.isDirectory() ? await session.fs.list(path) : [entry];
    } catch (error) {
      return refuse(session, command.directive, error);
    }
    const names = command.directive === 'NLST';
    const now = new Date();
    const text = entries.map((entry) => `${names ? entry.name : listLine(entry, now)}\r\n`).join('');
    return transfer(session, command.directive, async (data) => {
      await pipeline([Buffer.from(text)], data);
    });
  };
}

function retrieveHandler({ transfer, refuse }: Transfers): CommandHandler<RelayFileSystem> {
  return async (session, command) => {
    let download: PrinterDownload;
    try {
      download = await session.fs.read(command.arg ?? '');
    } catch (error) {
      return refuse(session, command.directive, error);
    }
    let started: ReturnType<PrinterDownload['start']> | undefined;
    return transfer(
      session,
      command.directive,
      async (data) => {
        // Only now, with the LAN data channel ready, does the printer's RETR start: a refused or missing
        // data connection costs the printer nothing.
        started = download.start();
        await pipeline(started.stream, data);
        await started.finished;
      },
      async () => {
        started?.stream.destroy();
      },
    );
  };
}

function storeHandler({ transfer, refuse }: Transfers): CommandHandler<RelayFileSystem> {
  return async (session, command) => {
    let upload: Upload;
    try {
      upload = session.fs.write(command.arg ?? '');
    } catch (error) {
      return refuse(session, command.directive, error);
    }
    return transfer(
      session,
      command.directive,
      async (data) => {
        await upload.receive(data);
        // A client killed mid-upload may look like a clean end of data; its control connection tells.
        if (session.commandSocket.destroyed || session.commandSocket.readableEnded)
          throw new FtpRefusal(426, 'Client went away; upload discarded');
        await upload.commit();
      },
      (reason) => upload.discard(reason),
    );
  };
}

/** The printer's own MDTM, to the second (a LIST date may only name the day). */
const modified: CommandHandler<RelayFileSystem> = async (session, command) => {
  try {
    const date = await session.fs.modified(command.arg ?? '');
    return session.reply(213, date.toISOString().replace(/[-:T]/g, '').slice(0, 14));
  } catch (error) {
    const reply = replyFor(error, 550);
    return session.reply(reply.code, reply.message);
  }
};

/** What the printer's dialect lacks, refused with the reason (ftp-srv would only say "blacklisted"). */
const refusal =
  (reason: string): CommandHandler<RelayFileSystem> =>
  (session) =>
    session.reply(502, reason);
// Active mode would have Moat connect out to addresses a client names (FTP bounce).
const active = refusal('Active mode is not supported: use PASV or EPSV');

export function dataCommands(settings: DataSettings): Record<string, CommandHandler<RelayFileSystem>> {
  const run = transfers(settings);
  const passive = passiveHandler(settings, run);
  const list = listHandler(run);
  return {
    PASV: passive,
    EPSV: passive,
    LIST: list,
    NLST: list,
    RETR: retrieveHandler(run),
    STOR: storeHandler(run),
    MDTM: modified,
    PORT: active,
    EPRT: active,
    // The relay streams whole files: a restart offset or an append would silently corrupt the result.
    REST: refusal('Restarting transfers is not supported: transfer the whole file'),
    APPE: refusal('Appending is not supported: upload the whole file'),
  };
}

const sixMonthsMs = 182 * 24 * 3600 * 1000;

/** A Unix `ls -l` line as vsFTPd writes it: time of day for the last six months, the year for older files. */
export function listLine(entry: EntryStat, now: Date): string {
  const [, day, month, year, time] = entry.mtime.toUTCString().split(' '); // Day, DD Mon YYYY HH:MM:SS GMT
  const age = now.getTime() - entry.mtime.getTime();
  const when = age >= 0 && age < sixMonthsMs ? (time ?? '00:00').slice(0, 5) : ` ${year}`;
  const mode = entry.isDirectory() ? 'drwxr-xr-x' : '-rw-r--r--';
  return `${mode} 1 0 0 ${String(entry.size).padStart(12)} ${month} ${String(Number(day)).padStart(2)} ${when} ${entry.name}`;
}
