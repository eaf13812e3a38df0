import type { AddressInfo, Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import type { Aedes } from 'aedes';
import type { Logger } from '../log.js';
import { SocketStream } from '../net/socket-stream.js';
import type { ServiceContext } from '../service-context.js';
import { lanServerTlsOptions } from '../tls-profiles.js';
import { FrameSizeGuard } from './frame-guard.js';
import type { LanClients } from './lan-clients.js';

export interface LanListener {
  port: number;
  /** Stops accepting; resolves once the server has closed, which needs `cutConnections()` too. */
  stopAccepting(): Promise<void>;
  cutConnections(): void;
}

/**
 * The TLS listener on the LAN: each connection gets its client record, an oversized-frame guard in front of
 * aedes's parser, and is handed to the broker.
 */
export async function listenOnLan(
  ctx: ServiceContext,
  broker: Aedes,
  clients: LanClients,
  log: Logger,
): Promise<LanListener> {
  const config = ctx.config.get();
  const sockets = new Set<Socket>();
  const server = createServer(lanServerTlsOptions(ctx.identity), (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // Each MQTT packet is written whole; do not let Nagle hold its tail back.
    socket.setNoDelay(true);
    const address = socket.remoteAddress ?? 'unknown';
    const guard = new FrameSizeGuard(ctx.config.get().mqtt.maxPacketBytes);
    const stream = new SocketStream(socket, {
      inspect: (chunk) => guard.inspect(chunk),
      onRefused: (reason) => log.info({ address, reason }, 'LAN connection cut'),
    });
    stream.on('error', () => {});
    clients.accept(stream, address);
    broker.handle(stream);
  });
  ctx.followIdentity(server, lanServerTlsOptions);
  // Sockets still in the TLS handshake or login count too; past this the server stops accepting.
  server.maxConnections = config.mqtt.maxClients * 2;
  server.on('tlsClientError', (error, socket) => {
    log.debug({ address: socket.remoteAddress, reason: error.message }, 'LAN TLS handshake failed');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.ports.mqtt, config.lan.bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    stopAccepting: () => new Promise<void>((resolve) => server.close(() => resolve())),
    cutConnections() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
