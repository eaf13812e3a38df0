import { Aedes, type AedesPublishPacket } from 'aedes';
import type { AuditLog } from '../audit/audit-log.js';
import type { Capability } from '../capability.js';
import type { AuditEvent, ClientEvent, MoatEvents } from '../events.js';
import type { Logger } from '../log.js';
import type { RunningService, ServiceContext } from '../service-context.js';
import type { AuditQuery, PrinterStatus } from '../status.js';
import { authenticateHook, type LoginHookOptions, preConnectHook } from './authenticate.js';
import { authorizePublishHook } from './authorize-publish.js';
import { authorizeSubscribeHook } from './authorize-subscribe.js';
import { followBrokerEvents } from './broker-events.js';
import { actOnCommand } from './command-actions.js';
import { CommandResults } from './command-results.js';
import { LanClients } from './lan-clients.js';
import { type LanListener, listenOnLan } from './lan-listener.js';
import { LanReports } from './lan-reports.js';
import { PrintGate } from './print-gate.js';
import type { PrinterLink } from './printer-link.js';
import { linkPrinters, printerStatuses } from './printer-links.js';

export interface MqttBridge extends RunningService {
  /** The bound LAN port (useful when configured as 0 in tests). */
  port: number;
  printers(): PrinterStatus[];
  clients(): ClientEvent[];
  audit(query: AuditQuery): Promise<AuditEvent[]>;
}

/**
 * The LAN MQTT bridge: aedes behind TLS for any number of LAN clients, one upstream connection per
 * printer. Reports flow printer → cache → LAN (address rewritten); commands flow LAN → decision →
 * printer byte-for-byte, each one audited. Each aedes hook is a module of its own; this file wires them.
 */
export async function startMqttBridge(ctx: ServiceContext): Promise<MqttBridge> {
  const log = ctx.logger.child({ component: 'mqtt' });
  // Made once on the service context: the dashboard's audit view outlives restarts of the bridges.
  const auditLog = ctx.audit;
  const audit = auditRecorder(auditLog, ctx.events, log);
  const settings = () => ctx.config.get().mqtt;
  const clients = new LanClients();
  const links = new Map<string, PrinterLink>();
  const results = new CommandResults(audit);
  const reports = new LanReports({ clients, audit, log, maxQueuedBytes: settings().maxQueuedReportBytes });
  const gate = new PrintGate(ctx.spool, () => ctx.config.get().spool.holdLimitMs, log);
  const subscribers = () => clients.connected;
  const login: LoginHookOptions = { clients, lanAuth: ctx.lanAuth, events: ctx.events, log, settings };

  const broker = await Aedes.createBroker({
    connectTimeout: settings().connectTimeoutMs,
    maxClientsIdLength: 128,
    queueLimit: 64,
    preConnect: preConnectHook(login),
    authenticate: authenticateHook(login),
    authorizeSubscribe: authorizeSubscribeHook({ clients, serials: () => links.keys(), log }),
    authorizePublish: authorizePublishHook({
      clients,
      links,
      rules: () => ({ unknownCommandRole: settings().unknownCommandRole }),
      gate,
      act: (command) => actOnCommand({ audit, results, reports, log, gate, subscribers }, command),
    }),
  });
  followBrokerEvents(broker, { clients, links, reports, events: ctx.events, log });

  const publishToLan = (packet: AedesPublishPacket) =>
    broker.publish(packet, (error) => {
      if (error) log.warn({ err: error, topic: packet.topic }, 'could not publish to LAN clients');
    });
  for (const [serial, link] of linkPrinters(ctx, { results, reports, subscribers, publishToLan, log })) {
    links.set(serial, link);
  }

  const closeBroker = () => new Promise<void>((resolve) => broker.close(() => resolve()));
  let listener: LanListener;
  try {
    listener = await listenOnLan(ctx, broker, clients, log);
  } catch (error) {
    // The port is taken or the address gone: nothing started yet but aedes (its heartbeat timer) and the gate.
    gate.close();
    await closeBroker();
    throw error;
  }
  for (const link of links.values()) link.start();
  log.info({ port: listener.port, printers: [...links.keys()] }, 'MQTT bridge listening');

  return {
    port: listener.port,
    printers: () => printerStatuses(ctx.config.get().printers, links),
    clients: () => clients.list(),
    audit: (query) => auditLog.query(query),
    async close() {
      // First, while LAN clients are still connected to read why their held prints were dropped.
      gate.close();
      const closed = listener.stopAccepting();
      await Promise.all([...links.values()].map((link) => link.close()));
      results.flush();
      listener.cutConnections();
      await closed;
      await closeBroker();
      await auditLog.flush();
    },
  };
}

/** Each audit entry is written, then announced (the dashboard's live view); a write failure is logged. */
function auditRecorder(auditLog: AuditLog, events: MoatEvents, log: Logger): (event: AuditEvent) => void {
  return (event) => {
    auditLog.append(event).then(
      () => events.emit('audit', event),
      (error: unknown) => log.error({ err: error }, 'audit log write failed'),
    );
  };
}

export const mqttBridge: Capability<MqttBridge> = { name: 'mqtt bridge', start: startMqttBridge };
