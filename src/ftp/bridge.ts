import { TLSSocket } from 'node:tls';
import { LanAuthenticator } from '../auth/lan-auth.js';
import type { ClientEvent, TransferEvent } from '../events.js';
import type { RunningService, ServiceContext } from '../service-context.js';
import { lanServerTlsOptions } from '../tls-profiles.js';
import { dataCommands } from './data-commands.js';
import { commandSocket, createFtpServer } from './ftp-srv-adapter.js';
import { PrinterSession } from './printer-session.js';
import { RelayFileSystem } from './relay-fs.js';
import { TlsSessionCache } from './tls-sessions.js';
import { TransferTracker } from './transfers.js';

export interface FtpBridge extends RunningService {
  port: number;
  transfers(): TransferEvent[];
  /** Logged-in FTP sessions, for the dashboard. */
  clients(): ClientEvent[];
}

/**
 * The LAN FTPS bridge: ftp-srv on implicit TLS (never plaintext), each LAN session logged in with a LAN
 * access code and relayed to the printer through its own printer connection (see relay-fs.ts).
 */
export async function startFtpBridge(ctx: ServiceContext): Promise<FtpBridge> {
  const config = ctx.config.get();
  const logger = ctx.logger.child({ component: 'ftp' });
  const sessions = new TlsSessionCache();
  const tls = { ...lanServerTlsOptions(ctx.identity), ...sessions.serverOptions() };
  const transfers = new TransferTracker(ctx.events);

  const { server, control, onConnect, replaceCommands } = createFtpServer({
    url: `ftps://${config.lan.bindAddress}:${config.ports.ftps}`,
    tls,
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
  });
  sessions.attach(control);
  control.on('tlsClientError', (error) => logger.debug({ err: error.message }, 'LAN TLS handshake failed'));
  replaceCommands(
    dataCommands({
      bindAddress: config.lan.bindAddress,
      lanAddress: () => ctx.lanAddress(),
      portRange: { min: config.ports.passiveMin, max: config.ports.passiveMax },
      tls,
      sessions,
      requireSessionReuse: () => ctx.config.get().ftp.requireSessionReuse,
      idleTimeoutMs: () => ctx.config.get().ftp.idleTimeoutMs,
      logger,
    }),
  );

  // The MQTT bridge's login rules (user `bblp`, growing delay per address after failures) for FTP logins too.
  const auth = new LanAuthenticator(ctx.accessCodes, {
    baseDelayMs: config.mqtt.loginDelayBaseMs,
    maxDelayMs: config.mqtt.loginDelayMaxMs,
  });
  const printerSessions = new Map<string, PrinterSession>();
  const clients = new Map<string, ClientEvent>();

  // ftp-srv's own `timeout` option leaves a timer of that length behind every disconnect: set it here.
  onConnect((socket) => socket.setTimeout(ctx.config.get().ftp.idleTimeoutMs));

  server.on('login', ({ connection, username, password }, resolve, reject) => {
    const socket = commandSocket(connection);
    const address = connection.ip ?? '';
    const login = async () => {
      if (!(socket instanceof TLSSocket) || !socket.encrypted) throw new Error('TLS required');
      const entry = await auth.authenticate(address, username, Buffer.from(password ?? ''), () => socket.destroyed);
      if (!entry) {
        logger.info({ address }, 'FTP login refused');
        throw new Error('Login incorrect');
      }
      const current = ctx.config.get();
      // Printers in passthrough are reached through the TCP relays, not through this bridge.
      const printer = current.printers.find((p) => !p.passthrough);
      if (!printer) throw new Error('No printer configured');
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
      });
    };
    login().then(
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

  await server.listen();
  const port = (control.address() as { port: number }).port;
  logger.info({ port, passive: [config.ports.passiveMin, config.ports.passiveMax] }, 'FTPS bridge listening');

  return {
    port,
    transfers: () => transfers.list(),
    clients: () => [...clients.values()],
    close: async () => {
      for (const session of printerSessions.values()) session.close();
      await server.close();
    },
  };
}
