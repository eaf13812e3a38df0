import { type Capability, startInOrder } from '../capability.js';
import { type MoatConfig, type PrinterConfig, printerFtpPort, printerMqttPort } from '../config/schema.js';
import type { TransferEvent } from '../events.js';
import { relayPlan } from '../firewall/render.js';
import type { RunningService, ServiceContext } from '../service-context.js';
import {
  type RelaySession,
  startTcpRelay,
  type TcpRelay,
  type TcpRelayOptions,
  type TcpRelayStats,
} from './tcp-relay.js';

export interface PrinterRelayStats extends TcpRelayStats {
  serial: string;
}

export interface RelayService extends RunningService {
  /** Per relay: bound port, caps, active/accepted/refused connections and bytes (dashboard and metrics). */
  stats(): PrinterRelayStats[];
  /** The file tunnel's (port 6000 on P2S/H2) latest sessions, as transfers for the dashboard. */
  transfers(): TransferEvent[];
}

/** Kept for the dashboard: the latest tunnel sessions, open ones included. */
const keptTunnelSessions = 16;

/**
 * The file tunnel's sessions as transfers: a P2S/H2 takes print files over TLS on 6000, so Moat sees only
 * their bytes and duration (the name stays inside the printer's TLS).
 */
function tunnelTransfers(serial: string): { onSession: (session: RelaySession) => void; list(): TransferEvent[] } {
  const sessions = new Map<number, RelaySession>();
  return {
    onSession(session) {
      sessions.set(session.id, session);
      for (const id of sessions.keys()) if (sessions.size > keptTunnelSessions) sessions.delete(id);
    },
    list: () =>
      [...sessions.values()].map((s) => ({
        id: `tunnel-${serial}-${s.id}`,
        serial,
        direction: 'upload' as const,
        name: 'port 6000 session (TLS end to end)',
        bytes: s.bytesToPrinter,
        state: s.closedAt ? ('done' as const) : ('active' as const),
        startedAt: s.openedAt.toISOString(),
        label: 'file tunnel',
        address: s.address,
        durationMs: (s.closedAt ?? new Date()).getTime() - s.openedAt.getTime(),
      })),
  };
}

/** The printers whose MQTT and FTPS are relayed at the TCP level instead of bridged: the bridges skip them. */
export function passthroughPrinters(config: MoatConfig): PrinterConfig[] {
  return config.printers.filter((p) => p.passthrough);
}

function passthroughRelays(config: MoatConfig, printer: PrinterConfig): Omit<TcpRelayOptions, 'listenHost'>[] {
  const common = { targetHost: printer.address, maxConnections: config.relays.maxConnections };
  const idleTimeoutMs = config.relays.idleTimeoutMs;
  const relays: Omit<TcpRelayOptions, 'listenHost'>[] = [
    {
      ...common,
      name: 'mqtt passthrough',
      listenPort: config.ports.mqtt,
      targetPort: printerMqttPort(printer),
      idleTimeoutMs,
    },
    {
      ...common,
      name: 'ftps passthrough',
      listenPort: config.ports.ftps,
      targetPort: printerFtpPort(printer),
      idleTimeoutMs,
    },
  ];
  // The printer's PASV reply names its own address; clients that ignore it (curl, EPSV) then reach the same
  // port number on Moat, which carries it to the printer's passive port of that number.
  for (let port = config.ports.passiveMin; port <= config.ports.passiveMax; port++) {
    relays.push({ ...common, name: 'ftps passive passthrough', listenPort: port, targetPort: port, idleTimeoutMs });
  }
  return relays;
}

/** Starts the camera, file-tunnel and bind relays per printer, and the passthrough relays where configured. */
async function startRelays(ctx: ServiceContext): Promise<RelayService> {
  const config = ctx.config.get();
  const listenHost = config.lan.bindAddress;
  const planned: { serial: string; options: TcpRelayOptions }[] = [];
  const tunnels: ReturnType<typeof tunnelTransfers>[] = [];
  // On a printer's front the configuration holds that printer alone (see src/front/front-context.ts).
  for (const printer of config.printers) {
    for (const relay of relayPlan(config, printer)) {
      const tunnel = relay.label === 'file tunnel' ? tunnelTransfers(printer.serial) : undefined;
      if (tunnel) tunnels.push(tunnel);
      planned.push({
        serial: printer.serial,
        options: {
          name: relay.label,
          listenHost,
          listenPort: relay.listenPort,
          targetHost: printer.address,
          targetPort: relay.printerPort,
          maxConnections: relay.maxConnections,
          idleTimeoutMs: config.relays.idleTimeoutMs,
          ...(tunnel && { onSession: tunnel.onSession }),
        },
      });
    }
  }
  for (const printer of passthroughPrinters(config)) {
    for (const options of passthroughRelays(config, printer)) {
      planned.push({ serial: printer.serial, options: { ...options, listenHost } });
    }
  }
  const started = await startInOrder(
    ctx,
    planned.map(({ options }): Capability<TcpRelay> => ({ name: options.name, start: () => startTcpRelay(options) })),
  );
  const running = planned.map(({ serial }, i) => ({ serial, relay: started.running[i] as TcpRelay }));
  ctx.logger.info(
    {
      relays: running.map(({ serial, relay }) => ({ serial, name: relay.stats().name, port: relay.port })).slice(0, 8),
    },
    'printer relays listening',
  );
  return {
    stats: () => running.map(({ serial, relay }) => ({ serial, ...relay.stats() })),
    transfers: () => tunnels.flatMap((tunnel) => tunnel.list()),
    close: started.close,
  };
}

export const relays: Capability<RelayService> = { name: 'relays', start: startRelays };
