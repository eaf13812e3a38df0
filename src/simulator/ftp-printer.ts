import { timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { join, posix } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TLSSocket } from 'node:tls';
import { printerLikeServerTlsOptions } from '../tls-profiles.js';
import { FtpDataFailure, FtpTls, PassivePort } from './ftp-data.js';
import { Throttle } from './throttle.js';
import type { SimulatedFtpOptions, SimulatedService } from './types.js';

/**
 * The printer's FTP server, a stand-in for the vsFTPd on Bambu printers: implicit TLS 1.2 (or plain FTP
 * on legacy firmware), user `bblp` with the access code, passive mode only, data connections that must
 * resume the control connection's TLS session, storage in a real directory with the printer's layout.
 * Written here rather than on ftp-srv so every reply and every refusal is the printer's, not a library's;
 * its data connections (ftp-data.ts) share no code with Moat's bridge.
 */

const maxLineBytes = 4096;
/** How long a transfer command waits for the client's data connection. */
const acceptTimeoutMs = 10_000;
/** The directories a printer's storage has from the start. */
const printerDirectories = ['cache', 'model', 'timelapse'];
/** vsFTPd shows the year instead of the time for files older than this (or in the future). */
const recentMs = 182 * 24 * 60 * 60 * 1000;

class FtpReplyError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const two = (n: number) => String(n).padStart(2, '0');

/** A LIST line as vsFTPd writes it: `-rw-r--r--    1 0        0         2097157 Nov 30 07:59 name` (UTC). */
function listLine(name: string, info: { isDirectory(): boolean; size: number; mtime: Date }, now = new Date()): string {
  const at = info.mtime;
  const month = at.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const age = now.getTime() - at.getTime();
  const timeOrYear =
    age < 0 || age > recentMs ? ` ${at.getUTCFullYear()}` : `${two(at.getUTCHours())}:${two(at.getUTCMinutes())}`;
  const mode = info.isDirectory() ? 'drwxr-xr-x' : '-rw-r--r--';
  const links = info.isDirectory() ? 2 : 1;
  return `${mode} ${String(links).padStart(4)} ${'0'.padEnd(8)} ${'0'.padEnd(8)} ${String(info.size).padStart(8)} ${month} ${two(at.getUTCDate())} ${timeOrYear} ${name}`;
}

type Handlers = Record<string, (argument: string | undefined) => Promise<void> | void>;

interface SessionState {
  user?: string;
  loggedIn: boolean;
  cwd: string;
  passive?: PassivePort;
  renameFrom?: string;
  buffered: string;
  queue: Promise<void>;
}

/** One control connection's state and the means its commands share. */
function sessionTools(socket: Socket, options: SimulatedFtpOptions, tls: FtpTls | undefined) {
  const state: SessionState = { loggedIn: false, cwd: '/', buffered: '', queue: Promise.resolve() };
  const reply = (code: number, text: string) => {
    if (!socket.destroyed) socket.write(`${code} ${text}\r\n`);
  };

  /** A client path to a real path under rootDir; posix normalisation of an absolute path cannot climb above '/'. */
  const resolve = (argument: string | undefined) => {
    if (!argument) throw new FtpReplyError(501, 'Missing argument.');
    if (argument.includes('\0')) throw new FtpReplyError(501, 'Bad file name.');
    const virtual = posix.normalize(posix.isAbsolute(argument) ? argument : posix.join(state.cwd, argument));
    return { virtual, real: join(options.rootDir, virtual) };
  };

  /**
   * vsFTPd's order: the data connection's TCP accept, then `150`, then the TLS accept. A client that
   * starts TLS only after the `150` (ftplib, the slicers) and one that starts it at once (curl) both pass.
   */
  const openData = async (preliminary: string): Promise<Socket> => {
    if (!state.passive) throw new FtpReplyError(425, 'Use PORT or PASV first.');
    const port = state.passive;
    state.passive = undefined;
    const raw = await port.connection();
    reply(150, preliminary);
    return tls ? tls.accept(raw) : raw;
  };

  const throttled = (source: Readable, sink: Writable) =>
    options.bytesPerSecond ? pipeline(source, new Throttle(options.bytesPerSecond), sink) : pipeline(source, sink);

  /** Sends a file or a listing. Like the printer, optionally ends a TLS data connection without close_notify. */
  const sendData = async (source: Readable, data: Socket) => {
    if (!(options.uncleanDataClose && data instanceof TLSSocket)) return throttled(source, data);
    await throttled(
      source,
      new Writable({ write: (chunk: Buffer, _encoding, callback) => data.write(chunk, (error) => callback(error)) }),
    );
    data.destroy();
  };

  const openPassive = async () => {
    state.passive?.close();
    state.passive = await PassivePort.open(options.host, socket.remoteAddress ?? '', acceptTimeoutMs);
    return state.passive.port;
  };

  const list = async (argument: string | undefined, namesOnly: boolean): Promise<void> => {
    // Clients send LIST options (-a, -la); vsFTPd ignores them.
    const target = argument && !argument.startsWith('-') ? argument : '.';
    const path = resolve(target);
    const info = await stat(path.real).catch(() => undefined);
    if (!info) throw new FtpReplyError(550, 'Failed to open directory.');
    const names = info.isDirectory() ? (await readdir(path.real)).sort() : [posix.basename(path.virtual)];
    const lines: string[] = [];
    for (const name of names) {
      const entry = info.isDirectory() ? await stat(join(path.real, name)).catch(() => undefined) : info;
      if (entry) lines.push(namesOnly ? name : listLine(name, entry));
    }
    const data = await openData('Here comes the directory listing.');
    await sendData(Readable.from([lines.map((line) => `${line}\r\n`).join('')]), data);
    reply(226, 'Directory send OK.');
  };

  return { state, reply, resolve, openData, throttled, sendData, openPassive, list };
}

type SessionTools = ReturnType<typeof sessionTools>;

/** Login, settings and passive mode. */
function controlHandlers(
  socket: Socket,
  options: SimulatedFtpOptions,
  tls: FtpTls | undefined,
  t: SessionTools,
): Handlers {
  const { state, reply, resolve, openPassive } = t;
  return {
    USER: (argument) => {
      state.user = argument;
      reply(331, 'Please specify the password.');
    },
    PASS: (argument) => {
      const expected = Buffer.from(options.accessCode);
      const given = Buffer.from(argument ?? '');
      const codeMatches = given.length === expected.length && timingSafeEqual(given, expected);
      if (state.user === 'bblp' && codeMatches) {
        state.loggedIn = true;
        reply(230, 'Login successful.');
      } else {
        reply(530, 'Login incorrect.');
      }
    },
    SYST: () => reply(215, 'UNIX Type: L8'),
    FEAT: () => {
      socket.write('211-Features:\r\n EPSV\r\n PASV\r\n PBSZ\r\n PROT\r\n SIZE\r\n UTF8\r\n211 End\r\n');
    },
    OPTS: () => reply(200, 'Always in UTF8 mode.'),
    PBSZ: () => reply(200, 'PBSZ set to 0.'),
    PROT: (argument) =>
      argument?.toUpperCase() === 'P'
        ? reply(200, 'PROT now Private.')
        : reply(tls ? 521 : 200, tls ? 'Data connections must be encrypted.' : 'PROT now Clear.'),
    TYPE: (argument) =>
      reply(200, argument?.toUpperCase().startsWith('A') ? 'Switching to ASCII mode.' : 'Switching to Binary mode.'),
    NOOP: () => reply(200, 'NOOP ok.'),
    PWD: () => reply(257, `"${state.cwd}" is the current directory`),
    CWD: async (argument) => {
      const path = resolve(argument);
      const info = await stat(path.real).catch(() => undefined);
      if (!info?.isDirectory()) throw new FtpReplyError(550, 'Failed to change directory.');
      state.cwd = path.virtual;
      reply(250, 'Directory successfully changed.');
    },
    CDUP: () => {
      state.cwd = posix.dirname(state.cwd);
      reply(250, 'Directory successfully changed.');
    },
    PASV: async () => {
      const port = await openPassive();
      reply(227, `Entering Passive Mode (${options.host.replaceAll('.', ',')},${port >> 8},${port & 255}).`);
    },
    EPSV: async () => {
      const port = await openPassive();
      reply(229, `Entering Extended Passive Mode (|||${port}|)`);
    },
    PORT: () => reply(500, 'Illegal PORT command.'),
  };
}

/** Listings and file transfers over a data connection. */
function transferHandlers(options: SimulatedFtpOptions, t: SessionTools): Handlers {
  const { reply, resolve, openData, throttled, sendData, list } = t;
  return {
    LIST: (argument) => list(argument, false),
    NLST: (argument) => list(argument, true),
    RETR: async (argument) => {
      const path = resolve(argument);
      const info = await stat(path.real).catch(() => undefined);
      if (!info?.isFile()) throw new FtpReplyError(550, 'Failed to open file.');
      const data = await openData(`Opening BINARY mode data connection for ${argument} (${info.size} bytes).`);
      try {
        await sendData(createReadStream(path.real), data);
      } catch {
        throw new FtpReplyError(426, 'Failure writing network stream.');
      }
      reply(226, 'Transfer complete.');
    },
    STOR: async (argument) => {
      const path = resolve(argument);
      const data = await openData('Ok to send data.');
      const file = createWriteStream(path.real);
      try {
        // Like vsFTPd, a broken upload leaves its partial file behind: cleaning up is the client's job.
        await throttled(data, file);
      } catch {
        data.destroy();
        throw new FtpReplyError(426, 'Failure reading network stream.');
      }
      options.stats.ftpBytesStored += file.bytesWritten;
      options.stats.ftpUploads++;
      options.stats.fileEvent('stored', path.virtual);
      reply(226, 'Transfer complete.');
    },
  };
}

/** Files and directories, and the end of the session. */
function fileHandlers(socket: Socket, options: SimulatedFtpOptions, t: SessionTools): Handlers {
  const { state, reply, resolve } = t;
  return {
    SIZE: async (argument) => {
      const info = await stat(resolve(argument).real).catch(() => undefined);
      if (!info?.isFile()) throw new FtpReplyError(550, 'Could not get file size.');
      reply(213, String(info.size));
    },
    MDTM: async (argument) => {
      const info = await stat(resolve(argument).real).catch(() => undefined);
      if (!info) throw new FtpReplyError(550, 'Could not get file modification time.');
      reply(213, info.mtime.toISOString().replace(/[-:T]/g, '').slice(0, 14));
    },
    DELE: async (argument) => {
      await unlink(resolve(argument).real).catch(() => {
        throw new FtpReplyError(550, 'Delete operation failed.');
      });
      reply(250, 'Delete operation successful.');
    },
    RNFR: async (argument) => {
      const path = resolve(argument);
      if (!(await stat(path.real).catch(() => undefined))) throw new FtpReplyError(550, 'RNFR command failed.');
      state.renameFrom = path.real;
      reply(350, 'Ready for RNTO.');
    },
    RNTO: async (argument) => {
      const from = state.renameFrom;
      state.renameFrom = undefined;
      if (!from) throw new FtpReplyError(503, 'RNFR required first.');
      const to = resolve(argument);
      await rename(from, to.real).catch(() => {
        throw new FtpReplyError(550, 'Rename failed.');
      });
      options.stats.fileEvent('renamed', to.virtual);
      reply(250, 'Rename successful.');
    },
    MKD: async (argument) => {
      const path = resolve(argument);
      await mkdir(path.real).catch(() => {
        throw new FtpReplyError(550, 'Create directory operation failed.');
      });
      reply(257, `"${path.virtual}" created`);
    },
    RMD: async (argument) => {
      await rmdir(resolve(argument).real).catch(() => {
        throw new FtpReplyError(550, 'Remove directory operation failed.');
      });
      reply(250, 'Remove directory operation successful.');
    },
    ABOR: () => reply(225, 'No transfer to ABOR.'),
    QUIT: () => {
      reply(221, 'Goodbye.');
      socket.end();
    },
  };
}

function handleSession(socket: Socket | TLSSocket, options: SimulatedFtpOptions, tls: FtpTls | undefined): void {
  socket.on('error', () => socket.destroy());
  const t = sessionTools(socket, options, tls);
  const { state, reply } = t;
  const handlers: Handlers = {
    ...controlHandlers(socket, options, tls, t),
    ...transferHandlers(options, t),
    ...fileHandlers(socket, options, t),
  };

  const run = async (line: string) => {
    const space = line.indexOf(' ');
    const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const argument = space < 0 ? undefined : line.slice(space + 1);
    const handler = handlers[verb];
    if (!handler) return reply(500, 'Unknown command.');
    if (!state.loggedIn && !['USER', 'PASS', 'QUIT', 'FEAT', 'SYST', 'PBSZ', 'PROT', 'OPTS', 'NOOP'].includes(verb))
      return reply(530, 'Please login with USER and PASS.');
    try {
      await handler(argument);
    } catch (error) {
      if (error instanceof FtpReplyError || error instanceof FtpDataFailure) reply(error.code, error.message);
      else reply(451, 'Local error.');
      // vsFTPd ends the session after a data connection that failed its TLS accept.
      if (error instanceof FtpDataFailure && error.endsSession) socket.end();
    }
  };

  socket.on('data', (chunk: Buffer) => {
    state.buffered += chunk.toString('utf8');
    if (state.buffered.length > maxLineBytes && !state.buffered.includes('\n')) {
      reply(500, 'Input line too long.');
      socket.destroy();
      return;
    }
    let newline = state.buffered.indexOf('\n');
    while (newline >= 0) {
      const line = state.buffered.slice(0, newline).replace(/\r$/, '');
      state.buffered = state.buffered.slice(newline + 1);
      // Commands run one after another, as on a real control connection.
      state.queue = state.queue.then(() => run(line));
      newline = state.buffered.indexOf('\n');
    }
  });
  socket.on('close', () => state.passive?.close());
  reply(220, 'Bambu Lab FTP server ready.');
}

export async function startSimulatedFtp(options: SimulatedFtpOptions): Promise<SimulatedService> {
  const tls =
    options.transport === 'tls'
      ? new FtpTls(printerLikeServerTlsOptions(options.pki.leaf), options.requireSessionReuse ?? true)
      : undefined;
  const sockets = new Set<Socket>();
  for (const directory of printerDirectories) await mkdir(join(options.rootDir, directory), { recursive: true });

  const accept = (socket: Socket | TLSSocket) => {
    sockets.add(socket);
    options.stats.ftpConnected();
    socket.on('close', () => {
      sockets.delete(socket);
      options.stats.ftpDisconnected();
    });
    handleSession(socket, options, tls);
  };
  const server: Server = tls ? tls.createControlServer(accept) : createNetServer(accept);
  // A client that fails its handshake must not bring the printer down.
  server.on('tlsClientError', () => {});

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });

  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
