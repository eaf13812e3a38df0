import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:tls';
import type { Capability } from '../capability.js';
import type { ServerIdentity } from '../certs/store.js';
import type { ClientEvent, TransferEvent } from '../events.js';
import type { RunningService, ServiceContext } from '../service-context.js';
import { lanServerTlsOptions } from '../tls-profiles.js';
import type { FtpSessions } from './ftp-sessions.js';
import { TlsSessionCache } from './tls-sessions.js';
import { TransferTracker } from './transfers.js';

export interface FtpBridge extends RunningService {
  port: number;
  transfers(): TransferEvent[];
  /** Logged-in FTP sessions, for the dashboard. */
  clients(): ClientEvent[];
}

/**
 * The LAN FTPS bridge: Moat's own listener on implicit TLS (never plaintext), and, from the first LAN client on,
 * ftp-srv serving its connections (ftp-sessions.ts). ftp-srv with bunyan, moment and lodash costs 4–8 MB of
 * resident memory (~3.5 MB of heap) that a Moat no FTPS client has reached does not need (docs/benchmarks.md).
 */
async function startFtpBridge(ctx: ServiceContext): Promise<FtpBridge> {
  const config = ctx.config.get();
  const logger = ctx.logger.child({ component: 'ftp' });
  const sessions = new TlsSessionCache();
  // Control and data listeners share the session cache and ticket keys, with whichever certificate is current.
  const tls = (identity: ServerIdentity) => ({ ...lanServerTlsOptions(identity), ...sessions.serverOptions() });
  const transfers = new TransferTracker(ctx.events);

  // Paused until ftp-srv has sent its greeting and listens for commands (ftp-srv's own listener's setting).
  const control = createServer({ ...tls(ctx.identity), pauseOnConnect: true });
  sessions.attach(control);
  ctx.followIdentity(control, tls);
  control.on('tlsClientError', (error) => logger.debug({ err: error.message }, 'LAN TLS handshake failed'));
  let served: FtpSessions | undefined;
  let loading: Promise<FtpSessions> | undefined;
  const ftpSessions = () =>
    (loading ??= import('./ftp-sessions.js').then(
      (m) => (served = m.startFtpSessions({ ctx, logger, control, tls, sessions, transfers })),
    ));
  control.on('secureConnection', (socket) => {
    ftpSessions().then(
      (ready) => ready.accept(socket),
      (error: Error) => {
        logger.error({ err: error.message }, 'FTPS sessions could not start');
        socket.destroy();
      },
    );
  });

  control.listen(config.ports.ftps, config.lan.bindAddress);
  await once(control, 'listening');
  control.on('error', (error) => logger.error({ err: error.message }, 'FTPS listener failed'));
  const port = (control.address() as AddressInfo).port;
  logger.info({ port, passive: [config.ports.passiveMin, config.ports.passiveMax] }, 'FTPS bridge listening');

  return {
    port,
    transfers: () => transfers.list(),
    clients: () => served?.clients() ?? [],
    close: async () => {
      // ftp-srv's close ends its sessions, then closes the listener; a listener nobody connected to closes alone.
      const running = await loading?.catch(() => undefined);
      if (running) await running.close();
      else await new Promise((resolve) => control.close(resolve));
    },
  };
}

export const ftpBridge: Capability<FtpBridge> = { name: 'ftps bridge', start: startFtpBridge };
