import type { AddressInfo, Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import type { Capability } from '../capability.js';
import type { Role } from '../config/schema.js';
import type { AuditEvent, ClientEvent } from '../events.js';
import { SocketStream } from '../net/socket-stream.js';
import type { RunningService, ServiceContext } from '../service-context.js';
import type { AuditQuery, PrinterStatus } from '../status.js';
import { lanServerTlsOptions } from '../tls-profiles.js';
import { availabilityPacket } from './availability.js';
import { commandAllowed, neverForwarded, parseCommand, requiredRole } from './command-policy.js';
import { CommandResults } from './command-results.js';
import { FrameSizeGuard } from './frame-guard.js';
import { PrinterLink } from './printer-link.js';
import { TokenBucket } from './rate-limit.js';
import {
  encodeReport,
  fanOutReport,
  type ReportQueueCap,
  type ReportSubscriber,
  sendReport,
  subscribesTo,
} from './report-fanout.js';
import { topicFilterMatches } from './topic-filter.js';

export interface MqttBridge extends RunningService {
  /** The bound LAN port (useful when configured as 0 in tests). */
  port: number;
  printers(): PrinterStatus[];
  clients(): ClientEvent[];
  audit(query: AuditQuery): Promise<AuditEvent[]>;
}

interface Session {
  label: string;
  role: Role;
  address: string;
  publishes: TokenBucket;
  event?: ClientEvent;
}

const requestTopicPattern = /^device\/([A-Za-z0-9-]{1,32})\/request$/;

/** CONNACK, MQTT 3.1.1 (the versions aedes speaks), return code 3. */
const serverUnavailable = Buffer.from([0x20, 0x02, 0x00, 0x03]);

function authError(message: string, returnCode: 2 | 3 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode });
}

/**
 * The LAN MQTT bridge: aedes behind TLS for any number of LAN clients, one upstream connection per
 * printer. Reports flow printer → cache → LAN (address rewritten); commands flow LAN → role check →
 * printer byte-for-byte, each one audited. The parts live in this directory; this file wires them.
 */
export async function startMqttBridge(ctx: ServiceContext): Promise<MqttBridge> {
  const config = ctx.config.get();
  const limits = config.mqtt;
  const log = ctx.logger.child({ component: 'mqtt' });
  const auditLog = ctx.audit;
  const recordAudit = (event: AuditEvent) => {
    auditLog.append(event).then(
      () => ctx.events.emit('audit', event),
      (error: unknown) => log.error({ err: error }, 'audit log write failed'),
    );
  };
  const results = new CommandResults(recordAudit);
  const sessions = new WeakMap<Client, Session>();
  const connections = new WeakMap<object, string>();
  const connected = new Map<Client, ClientEvent>();
  const links = new Map<string, PrinterLink>();
  let authenticatedCount = 0;

  const addressOf = (client: Client) => connections.get(client.conn) ?? 'unknown';
  // aedes's client table (connected clients by id) is not in its typings.
  const brokerClients = () => (broker as unknown as { clients: Record<string, Client | undefined> }).clients;
  /** Report-topic traffic goes out through report-fanout only, so a client's reports stay in order. */
  const sendToClient = (client: Client, link: PrinterLink, payload: Buffer) =>
    sendReport(
      client as unknown as ReportSubscriber,
      encodeReport(reportTopic(link.serial), payload),
      reportQueueCap(link.serial),
    );
  const sendFullState = (client: Client, link: PrinterLink, sequenceId?: string) =>
    sendToClient(client, link, link.cache.fullReport(sequenceId));
  const reportQueueCap = (serial: string): ReportQueueCap => ({
    maxBytes: ctx.config.get().mqtt.maxQueuedReportBytes,
    onOverflow(subscriber, queuedBytes) {
      const client = subscriber as unknown as Client;
      const session = sessions.get(client);
      const reason = `disconnected: ${queuedBytes} bytes of reports queued unread`;
      log.warn({ address: addressOf(client), label: session?.label, queuedBytes }, 'LAN subscriber not reading');
      recordAudit({
        at: new Date().toISOString(),
        serial,
        label: session?.label ?? 'unknown',
        role: session?.role ?? 'unknown',
        address: addressOf(client),
        command: 'report',
        outcome: 'refused',
        reason,
      });
    },
  });
  const reportTopic = (serial: string) => `device/${serial}/report`;

  const broker = await Aedes.createBroker({
    connectTimeout: limits.connectTimeoutMs,
    maxClientsIdLength: 128,
    queueLimit: 64,
    // The client limit comes before any password check: a connection over it costs no scrypt. (Logins in
    // progress are not counted here, so the check after authentication stays for those that race past.)
    preConnect(client, _packet, done) {
      if (authenticatedCount < ctx.config.get().mqtt.maxClients) {
        done(null, true);
        return;
      }
      log.warn({ address: addressOf(client) }, 'LAN connection refused before login: too many clients');
      // aedes drops a connection refused here without a CONNACK: send the one the limit after login sends
      // (3, "server unavailable"), so clients report the reason and back off instead of retrying at once. The
      // connection is ended, not destroyed, so the CONNACK is not lost to a reset; a client that does not close
      // its side in time is cut off.
      const conn = client.conn;
      const cutOff = setTimeout(() => conn.destroy(), limits.connectTimeoutMs);
      conn.once('close', () => {
        clearTimeout(cutOff);
        done(new Error('too many clients'), false);
      });
      conn.end(serverUnavailable);
    },
    authenticate(client, username, password, done) {
      const address = addressOf(client);
      ctx.lanAuth
        .authenticate(address, username, password, () => client.conn.destroyed === true)
        .then(
          (entry) => {
            if (!entry) {
              log.info({ address, clientId: client.id }, 'LAN login refused: wrong user name or access code');
              ctx.events.emit('loginFailure', { service: 'mqtt', address });
              done(authError('not authorized', 5), false);
              return;
            }
            // aedes lets a new client take over the session of one with the same id: only the same access code may.
            const holder = brokerClients()[client.id];
            if (holder && holder !== client && sessions.get(holder)?.label !== entry.label) {
              log.warn({ address, label: entry.label }, 'LAN login refused: client id in use by another access code');
              done(authError('client id in use', 2), false);
              return;
            }
            if (authenticatedCount >= ctx.config.get().mqtt.maxClients) {
              log.warn({ address, label: entry.label }, 'LAN login refused: too many clients');
              done(authError('too many clients', 3), false);
              return;
            }
            authenticatedCount++;
            client.conn.once('close', () => authenticatedCount--);
            sessions.set(client, {
              label: entry.label,
              role: entry.role,
              address,
              publishes: new TokenBucket(limits.publishesPerSecond, limits.publishBurst),
            });
            done(null, true);
          },
          (error: unknown) => {
            log.error({ err: error, address }, 'LAN login failed');
            done(authError('not authorized', 5), false);
          },
        );
    },
    authorizeSubscribe(client, subscription, done) {
      const topic = subscription.topic;
      const allowed =
        topic.startsWith('moat/') ||
        topic === 'device/+/report' ||
        [...links.keys()].some((serial) => topic === reportTopic(serial));
      if (!allowed) {
        log.info({ address: addressOf(client), topic }, 'LAN subscription refused');
        done(null, null);
        return;
      }
      done(null, subscription);
    },
    authorizePublish(client, packet, done) {
      const session = client ? sessions.get(client) : undefined;
      const match = requestTopicPattern.exec(packet.topic);
      const link = match ? links.get(match[1] as string) : undefined;
      if (!client || !session || !link) {
        // Reports and availability come only from Moat itself; anything else is refused (the client is dropped).
        done(new Error(`publishing to ${packet.topic} is not allowed`));
        return;
      }
      // Nothing on the LAN may subscribe to request topics, so the broker delivers this to nobody:
      // what reaches the printer is only what handleCommand forwards.
      packet.retain = false;
      handleCommand(client, session, link, packet);
      done(null);
    },
  });

  function handleCommand(client: Client, session: Session, link: PrinterLink, packet: PublishPacket): void {
    const payload = packet.payload as Buffer;
    const parsed = parseCommand(payload);
    const base = {
      at: new Date().toISOString(),
      serial: link.serial,
      label: session.label,
      role: session.role,
      address: session.address,
      command: parsed.name,
    };
    const refuse = (reason: string) => {
      log.info({ ...base }, `command refused: ${reason}`);
      recordAudit({ ...base, outcome: 'refused', reason });
    };
    const unknownRole = ctx.config.get().mqtt.unknownCommandRole;
    const moatAnswer = parsed.ok ? neverForwarded(parsed.name) : undefined;
    let refusal: string | undefined;
    if (!session.publishes.take()) refusal = 'publish rate limit';
    else if (!parsed.ok) refusal = parsed.reason;
    else if (moatAnswer !== undefined) refusal = moatAnswer;
    else if (!commandAllowed(session.role, parsed.name, unknownRole)) {
      refusal = `role ${session.role} may not send ${parsed.name} (needs ${requiredRole(parsed.name, unknownRole)})`;
    } else if (!link.online) refusal = 'printer offline';
    if (refusal !== undefined || !parsed.ok) {
      refuse(refusal ?? 'malformed');
      if (parsed.ok && moatAnswer !== undefined && refusal === moatAnswer)
        replyOnMoatsBehalf(client, link, parsed, moatAnswer);
      return;
    }
    if (parsed.name === 'pushing.pushall') {
      // Answered from the cache; the printer is asked at most once per interval however many clients ask.
      const sentUpstream = link.requestPushall();
      if (link.cache.complete) sendFullState(client, link, parsed.sequenceId);
      recordAudit({ ...base, outcome: 'allowed', ...(!sentUpstream && { result: 'answered from cache' }) });
      return;
    }
    // Audited allowed only once written (QoS 0) or acknowledged by the printer (QoS 1): the connection can close first.
    const sent = results.expect({ ...base, outcome: 'allowed' }, parsed.kind, parsed.command, parsed.sequenceId);
    link.upstream.publish(payload, packet.qos > 0 ? 1 : 0, (failure) => {
      if (failure !== undefined) log.warn({ ...base }, `command dropped: ${failure}`);
      sent(failure);
    });
  }

  /** A command Moat never forwards gets a failure reply in the printer's shape, to the asking client only. */
  function replyOnMoatsBehalf(
    client: Client,
    link: PrinterLink,
    parsed: { kind: string; command: string; sequenceId?: string },
    reason: string,
  ): void {
    if (!subscribesTo(client as unknown as ReportSubscriber, reportTopic(link.serial))) return;
    const reply = { command: parsed.command, sequence_id: parsed.sequenceId ?? '0', result: 'fail', reason };
    sendToClient(client, link, Buffer.from(JSON.stringify({ [parsed.kind]: reply })));
  }

  broker.on('subscribe', (subscriptions, client) => {
    // A new subscriber gets the full state at once, from the cache, without asking the printer.
    for (const sub of subscriptions) {
      if ((sub.qos as number) === 128) continue;
      for (const link of links.values()) {
        if (link.cache.complete && topicFilterMatches(sub.topic, reportTopic(link.serial))) sendFullState(client, link);
      }
    }
  });
  broker.on('client', (client) => {
    const session = sessions.get(client);
    if (!session) return;
    const event: ClientEvent = {
      protocol: 'mqtt',
      kind: 'connected',
      clientId: client.id,
      label: session.label,
      role: session.role,
      address: session.address,
      at: new Date().toISOString(),
    };
    connected.set(client, event);
    ctx.events.emit('client', event);
  });
  broker.on('clientDisconnect', (client) => {
    const event = connected.get(client);
    if (!event) return;
    connected.delete(client);
    ctx.events.emit('client', { ...event, kind: 'disconnected', at: new Date().toISOString() });
  });
  broker.on('clientError', (client, error) => {
    log.debug({ address: addressOf(client), reason: error.message }, 'LAN client error');
  });
  broker.on('connectionError', (client, error) => {
    log.debug({ address: addressOf(client), reason: error.message }, 'LAN connection error');
  });

  const publishToLan = (packet: Parameters<typeof broker.publish>[0]) =>
    broker.publish(packet, (error) => {
      if (error) log.warn({ err: error, topic: packet.topic }, 'could not publish to LAN clients');
    });

  for (const printer of config.printers.filter((p) => !p.passthrough)) {
    const queueCap = reportQueueCap(printer.serial);
    const link = new PrinterLink({
      printer,
      accessCode: () => ctx.printerAccessCode(printer.serial),
      lanAddress: ctx.lanAddress(),
      logger: log,
      pushallIntervalMs: limits.pushallIntervalMs,
      quietRepushMs: limits.quietRepushMs,
      retryMinMs: limits.upstreamRetryMinMs,
      retryMaxMs: limits.upstreamRetryMaxMs,
      onReport(payload, parsed) {
        results.observe(parsed);
        ctx.events.emit('report', { serial: printer.serial, bytes: payload.length });
        fanOutReport(
          Object.values(brokerClients()) as unknown as ReportSubscriber[],
          reportTopic(printer.serial),
          payload,
          queueCap,
        );
      },
      onAvailability(online) {
        publishToLan(availabilityPacket(printer.serial, online) as AedesPublishPacket);
        ctx.events.emit('printer', { serial: printer.serial, online, at: new Date().toISOString() });
      },
    });
    links.set(printer.serial, link);
    publishToLan(availabilityPacket(printer.serial, false) as AedesPublishPacket);
  }

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
    connections.set(stream, address);
    broker.handle(stream);
  });
  ctx.followIdentity(server, lanServerTlsOptions);
  // Sockets still in the TLS handshake or login count too; past this the server stops accepting.
  server.maxConnections = limits.maxClients * 2;
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
  for (const link of links.values()) link.start();
  const port = (server.address() as AddressInfo).port;
  log.info({ port, printers: [...links.keys()] }, 'MQTT bridge listening');

  return {
    port,
    printers: () =>
      ctx.config
        .get()
        .printers.filter((p) => links.has(p.serial))
        .map((p) => {
          const link = links.get(p.serial) as PrinterLink;
          return {
            serial: p.serial,
            name: p.name,
            model: p.model,
            online: link.online,
            ...(link.cache.lastReportAt && {
              state: link.cache.snapshot(),
              lastReportAt: link.cache.lastReportAt.toISOString(),
            }),
          };
        }),
    clients: () => [...connected.values()],
    audit: (query) => auditLog.query(query),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...links.values()].map((link) => link.close()));
      results.flush();
      for (const socket of sockets) socket.destroy();
      await closed;
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await auditLog.flush();
    },
  };
}

export const mqttBridge: Capability<MqttBridge> = { name: 'mqtt bridge', start: startMqttBridge };
