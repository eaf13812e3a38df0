import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from 'aedes';
import { printerLikeServerTlsOptions } from '../tls-profiles.js';
import { PrinterState } from './printer-state.js';
import type { SimulatedMqttOptions, SimulatedService } from './types.js';

/** The simulated printer's broker, plus a hook the benchmark uses to publish reports of its own. */
export interface SimulatedMqtt extends SimulatedService {
  /** Publishes a payload on the report topic, as the printer's firmware does. */
  publishReport(payload: Buffer | string): void;
}

/**
 * Whether an MQTT topic filter (`+` one level, `#` the rest) covers `topic`. The printer's own rule, written
 * here rather than borrowed from the bridge, which filters subscriptions with a matcher of its own.
 */
function filterCovers(filter: string, topic: string): boolean {
  const want = filter.split('/');
  const have = topic.split('/');
  for (let level = 0; level < want.length; level++) {
    if (want[level] === '#') return true;
    if (level >= have.length || (want[level] !== '+' && want[level] !== have[level])) return false;
  }
  return want.length === have.length;
}

function authError(message: string, returnCode: 3 | 4 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode });
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The firmware's login: `bblp` and the access code, then its small connection limit. */
function admit(
  options: SimulatedMqttOptions,
  limit: number,
  admitted: Set<Client>,
): NonNullable<AedesOptions['authenticate']> {
  const { stats } = options;
  return (client, username, password, done) => {
    if (username !== 'bblp' || !password || !sameSecret(password.toString('utf8'), options.accessCode)) {
      done(authError('bad user name or access code', 4), false);
      return;
    }
    if (admitted.size >= limit) {
      stats.mqttRefusedConnections++;
      done(authError('connection limit reached', 3), false);
      return;
    }
    admitted.add(client);
    stats.mqttConnected();
    client.conn.once('close', () => {
      if (admitted.delete(client)) stats.mqttDisconnected();
    });
    done(null, true);
  };
}

/** The broker on the printer's port, TLS or plain, with the sockets close() must end. */
async function listen(options: SimulatedMqttOptions, broker: Aedes): Promise<{ server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    broker.handle(socket);
  };
  const server: Server =
    options.transport === 'tls'
      ? createTlsServer(printerLikeServerTlsOptions(options.pki.leaf), onConnection)
      : createTcpServer(onConnection);
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, sockets };
}

/**
 * The printer's MQTT broker, as the firmware's broker behaves on the LAN: login `bblp` + access code,
 * a small connection limit (the next connection is refused), a client subscribing to the request topic
 * is dropped, commands on `device/{serial}/request` answered on `device/{serial}/report`.
 */
export async function startSimulatedMqtt(options: SimulatedMqttOptions): Promise<SimulatedMqtt> {
  const { serial, stats } = options;
  const reportTopic = `device/${serial}/report`;
  const requestTopic = `device/${serial}/request`;
  const limit = options.connectionLimit ?? options.model.mqttConnectionLimit;
  const state = new PrinterState(options.model, {
    serial,
    ownAddress: options.host,
    accessCode: options.accessCode,
    ...(options.storageDir !== undefined && { storageDir: options.storageDir }),
  });
  const admitted = new Set<Client>();

  const broker = await Aedes.createBroker({
    connectTimeout: 10000,
    authenticate: admit(options, limit, admitted),
    authorizeSubscribe(client, subscription, done) {
      if (filterCovers(subscription.topic, requestTopic)) {
        // What P1/A1 firmware does to such a client: it drops the connection.
        done(new Error('subscribing to the request topic is not allowed'));
        client.close();
        return;
      }
      done(null, subscription);
    },
    authorizePublish(_client, packet, done) {
      if (packet.topic !== requestTopic) {
        done(new Error(`publishing to ${packet.topic} is not allowed`));
        return;
      }
      packet.retain = false;
      stats.commandReceived(packet.topic, packet.payload as Buffer);
      const outcome = state.handle(packet.payload as Buffer);
      if (outcome.pushall) stats.pushallCount++;
      for (const reply of outcome.replies) publish(reply);
      if (outcome.changed && !outcome.pushall) publish(state.updateReport(outcome.changed));
      done(null);
    },
  });

  const publish = (message: unknown | Buffer | string) => {
    const payload =
      Buffer.isBuffer(message) || typeof message === 'string'
        ? Buffer.from(message)
        : Buffer.from(JSON.stringify(message));
    broker.publish({ cmd: 'publish', topic: reportTopic, payload, qos: 0, retain: false, dup: false }, () => {});
  };

  const ticker = setInterval(() => {
    const changed = state.tick();
    if (changed) publish(state.updateReport(changed));
  }, options.printTickMs ?? 1000);
  ticker.unref();

  const { server, sockets } = await listen(options, broker);

  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    publishReport: publish,
    close() {
      closing ??= (async () => {
        clearInterval(ticker);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await closed;
        await new Promise<void>((resolve) => broker.close(() => resolve()));
      })();
      return closing;
    },
  };
}
