import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

/**
 * One LAN → printer TCP relay: bytes are carried as they are (the printer's own TLS stays end to end),
 * with a cap on simultaneous connections (over it, the connection is reset at once and counted) and an
 * idle timeout after which both sides are closed.
 */
export interface TcpRelayOptions {
  name: string;
  listenHost: string;
  /** 0 = any free port. */
  listenPort: number;
  targetHost: string;
  targetPort: number;
  maxConnections: number;
  idleTimeoutMs: number;
  /** Connecting to the printer gives up after this long. */
  connectTimeoutMs?: number;
  /** Told when a relayed connection opens and again when it closes (the file tunnel's transfers); the
   * session's counts keep growing while it is open. */
  onSession?: (session: RelaySession) => void;
}

/** One relayed connection: who, since when, how many bytes each way; `closedAt` once it is over. */
export interface RelaySession {
  id: number;
  address: string;
  openedAt: Date;
  closedAt?: Date;
  bytesToPrinter: number;
  bytesFromPrinter: number;
}

export interface TcpRelayStats {
  name: string;
  listenPort: number;
  target: string;
  maxConnections: number;
  active: number;
  accepted: number;
  refused: number;
  /** Connections closed because the printer could not be reached. */
  failed: number;
  bytesToPrinter: number;
  bytesFromPrinter: number;
}

export interface TcpRelay {
  port: number;
  stats(): TcpRelayStats;
  close(): Promise<void>;
}

type RelayCounts = Omit<TcpRelayStats, 'name' | 'listenPort' | 'target' | 'maxConnections'>;

/** Carries one accepted LAN connection to the printer, counting it in `counts` and its own session. */
function relayConnection(client: Socket, options: TcpRelayOptions, counts: RelayCounts, sockets: Set<Socket>): void {
  counts.accepted++;
  counts.active++;
  const session: RelaySession = {
    id: counts.accepted,
    address: client.remoteAddress ?? 'unknown',
    openedAt: new Date(),
    bytesToPrinter: 0,
    bytesFromPrinter: 0,
  };
  const printer = connect({ host: options.targetHost, port: options.targetPort });
  sockets.add(client);
  sockets.add(printer);
  let connected = false;
  const connectTimer = setTimeout(
    () => printer.destroy(new Error('connect timeout')),
    options.connectTimeoutMs ?? 10000,
  );
  const closeBoth = () => {
    clearTimeout(connectTimer);
    client.destroy();
    printer.destroy();
  };
  client.once('close', () => {
    counts.active--;
    sockets.delete(client);
    closeBoth();
    if (!connected) return;
    session.closedAt = new Date();
    options.onSession?.(session);
  });
  printer.once('close', () => {
    sockets.delete(printer);
    if (!connected) counts.failed++;
    closeBoth();
  });
  client.on('error', closeBoth);
  printer.on('error', closeBoth);
  client.setTimeout(options.idleTimeoutMs, closeBoth);
  printer.setTimeout(options.idleTimeoutMs, closeBoth);
  client.on('data', (chunk: Buffer) => {
    counts.bytesToPrinter += chunk.length;
    session.bytesToPrinter += chunk.length;
  });
  printer.on('data', (chunk: Buffer) => {
    counts.bytesFromPrinter += chunk.length;
    session.bytesFromPrinter += chunk.length;
  });
  printer.once('connect', () => {
    connected = true;
    options.onSession?.(session);
    clearTimeout(connectTimer);
    client.pipe(printer);
    printer.pipe(client);
    client.resume();
  });
}

export async function startTcpRelay(options: TcpRelayOptions): Promise<TcpRelay> {
  const counts: RelayCounts = { active: 0, accepted: 0, refused: 0, failed: 0, bytesToPrinter: 0, bytesFromPrinter: 0 };
  const sockets = new Set<Socket>();
  const server = createServer({ pauseOnConnect: true }, (client) => relayConnection(client, options, counts, sockets));
  // Over the cap Node closes the connection itself and says so here.
  server.maxConnections = options.maxConnections;
  server.on('drop', () => {
    counts.refused++;
  });

  server.listen(options.listenPort, options.listenHost);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e))]);
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    stats: () => ({
      name: options.name,
      listenPort: port,
      target: `${options.targetHost}:${options.targetPort}`,
      maxConnections: options.maxConnections,
      ...counts,
    }),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
