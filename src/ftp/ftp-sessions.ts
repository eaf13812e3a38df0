import { TLSSocket, type TlsOptions, type Server as TlsServer } from 'node:tls';
import type { FtpConnection } from 'ftp-srv';
import type { ServerIdentity } from '../certs/store.js';
import type { ClientEvent } from '../events.js';
import type { Logger } from '../log.js';
import type { ServiceContext } from '../service-context.js';
import { dataCommands } from './data-commands.js';
import { commandSocket, createFtpServer, refuseConnection } from './ftp-srv-adapter.js';
import { PrinterSession } from './printer-session.js';
import { RelayFileSystem } from './relay-fs.js';
import type { TlsSessionCache } from './tls-sessions.js';
import type { TransferTracker } from './transfers.js';

/**
 * The FTPS bridge's sessions: ftp-srv (with bunyan, moment and lodash), Moat's data commands and the relay to
 * the printer. bridge.ts imports this module when the first LAN client has connected, so an idle Moat does
 * not carry them.
 */

// vsFTPd's words when max_per_ip and max_clients are reached, so clients treat them as they do the printer's.
const tooManyFromAddress = 'There are too many connections from your internet address.';
const tooManyUsers = 'There are too many connected users, please try later.';

/** Control connections per client address, counted before login (vsFTPd's max_per_ip). */
function limitPerAddress(ctx: ServiceContext, logger: Logger): (socket: TLSSocket) => string | undefined {
  const perAddress = new Map<string, number>();
  return (socket) => {
    // ftp-srv's own `timeout` option leaves a timer of that length behind every disconnect: set it here.
    socket.setTimeout(ctx.config.get().ftp.idleTimeoutMs);
    const address = socket.remoteAddress ?? '';
    const open = perAddress.get(address) ?? 0;
    if (open >= ctx.config.get().ftp.maxConnectionsPerAddress) {
      logger.warn({ address }, 'FTP connection refused: too many from this address');
      return tooManyFromAddress;
    }
    perAddress.set(address, open + 1);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
    return undefined;
  };
}

interface LoginDeps {
  ctx: ServiceContext;
  logger: Logger;
  printerSessions: Map<string, PrinterSession>;
  clients: Map<string, ClientEvent>;
  transfers: TransferTracker;
}

/** A LAN login: the access code, then a printer session of its own, under the printer's session limit. */
async function logIn(
  { ctx, logger, printerSessions, clients, transfers }: LoginDeps,
  connection: FtpConnection,
  username: string,
  password: string | undefined,
): Promise<RelayFileSystem> {
  const socket = commandSocket(connection);
  const address = connection.ip ?? '';
  if (!(socket instanceof TLSSocket) || !socket.encrypted) throw new Error('TLS required');
  // The MQTT bridge's login rules and the service's one throttle (see ctx.logins).
  const entry = await ctx.lanAuth.authenticate(address, username, Buffer.from(password ?? ''), () => socket.destroyed);
  if (!entry) {
    logger.info({ address }, 'FTP login refused');
    ctx.events.emit('loginFailure', { service: 'ftp', address });
    throw new Error('Login incorrect');
  }
  const current = ctx.config.get();
  // Printers in passthrough are reached through the TCP relays, not through this bridge.
  const printer = current.printers.find((p) => !p.passthrough);
  if (!printer) throw new Error('No printer configured');
  // Every session here holds its own connection to this one printer: keep under what the printer admits.
  if (printerSessions.size >= current.ftp.maxSessionsPerPrinter) {
    logger.warn({ address, label: entry.label }, 'FTP login refused: the printer has its most sessions');
    await refuseConnection(connection, tooManyUsers);
    throw new Error(tooManyUsers);
  }
  const session = new PrinterSession(
    {
      printer,
      accessCode: ctx.printerAccessCode(printer.serial),
      timeoutMs: current.ftp.printerTimeoutMs,
    },
    logger,
  );
  printerSessions.set(connection.id, session);
  const connected: ClientEvent = {
    protocol: 'ftp',
    kind: 'connected',
    clientId: connection.id,
    label: entry.label,
    role: entry.role,
    address,
    at: new Date().toISOString(),
  };
  clients.set(connection.id, connected);
  ctx.events.emit('client', connected);
  logger.info({ address, label: entry.label, role: entry.role }, 'FTP client logged in');
  return new RelayFileSystem(connection, {
    session,
    role: entry.role,
    policy: current.ftp,
    transfers,
    serial: printer.serial,
    label: entry.label,
    address,
    logger,
    ...(ctx.spool.enabledFor(printer.serial) && { spool: ctx.spool }),
  });
}

/** What the bridge's listener hands over: its connections, and what the sessions need of the bridge. */
export interface SessionsDeps {
  ctx: ServiceContext;
  logger: Logger;
  /** Moat's control listener: ftp-srv serves its connections and, on close, closes it. */
  control: TlsServer;
  /** The TLS options of the current certificate, with the session cache's. */
  tls: (identity: ServerIdentity) => TlsOptions;
  sessions: TlsSessionCache;
  transfers: TransferTracker;
}

export interface FtpSessions {
  accept(commandSocket: TLSSocket): void;
  /** Logged-in FTP sessions, for the dashboard. */
  clients(): ClientEvent[];
  /** Ends every session, then closes the control listener. */
  close(): Promise<void>;
}

/** ftp-srv on Moat's listener: each LAN session logged in and relayed to the printer (see relay-fs.ts). */
export function startFtpSessions({ ctx, logger, control, tls, sessions, transfers }: SessionsDeps): FtpSessions {
  const config = ctx.config.get();
  const { server, accept, onConnect, replaceCommands } = createFtpServer(
    {
      url: `ftps://${config.lan.bindAddress}:${config.ports.ftps}`,
      tls: tls(ctx.identity),
      pasv_url: ctx.lanAddress(),
      pasv_min: config.ports.passiveMin,
      pasv_max: config.ports.passiveMax,
      greeting: 'Moat FTPS bridge',
      anonymous: false,
      // No unique names or SITE: an upload is one whole file under the upload policy. PORT, EPRT, REST and APPE
      // are refused with their reasons by data-commands.ts; MLSD is unknown to ftp-srv (502), as to the printer.
      blacklist: ['STOU', 'SITE'],
      // ftp-srv traces raw command lines (PASS included) at trace level: never let it log below debug.
      log: logger.child({ library: 'ftp-srv' }, { level: logger.isLevelEnabled('trace') ? 'debug' : logger.level }),
    },
    control,
  );
  replaceCommands(
    dataCommands({
      bindAddress: config.lan.bindAddress,
      lanAddress: () => ctx.lanAddress(),
      portRange: { min: config.ports.passiveMin, max: config.ports.passiveMax },
      tls: () => tls(ctx.identity),
      sessions,
      requireSessionReuse: () => ctx.config.get().ftp.requireSessionReuse,
      idleTimeoutMs: () => ctx.config.get().ftp.idleTimeoutMs,
      logger,
    }),
  );

  const printerSessions = new Map<string, PrinterSession>();
  const clients = new Map<string, ClientEvent>();

  onConnect(limitPerAddress(ctx, logger));

  const bridge: LoginDeps = { ctx, logger, printerSessions, clients, transfers };
  server.on('login', ({ connection, username, password }, resolve, reject) => {
    logIn(bridge, connection, username, password).then(
      (fs) => resolve({ fs }),
      (error: Error) => reject(error),
    );
  });

  server.on('disconnect', ({ id }) => {
    printerSessions.get(id)?.close();
    printerSessions.delete(id);
    const client = clients.get(id);
    clients.delete(id);
    if (client) ctx.events.emit('client', { ...client, kind: 'disconnected', at: new Date().toISOString() });
  });
  server.on('client-error', ({ error }) => logger.debug({ err: error.message }, 'FTP client error'));

  return {
    accept,
    clients: () => [...clients.values()],
    close: async () => {
      for (const session of printerSessions.values()) session.close();
      await server.close();
    },
  };
}
