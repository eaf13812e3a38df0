import { statfs } from 'node:fs/promises';
import type { MoatEventMap } from '../events.js';
import type { ServiceContext } from '../service-context.js';
import type { FirewallStatus, StatusSources } from '../status.js';
import { metricsEnabled } from './token.js';

/**
 * Moat's Prometheus metrics, in a registry of its own. Counters are fed by the event bus (ctx.events);
 * gauges and the counters other parts keep (relays, nftables) are read from the status sources at each
 * scrape. Counting starts when the collector starts, that is when metrics are turned on.
 */
export interface MoatMetrics {
  contentType: string;
  /** The exposition text; reads the firewall and the state directory's file system first. */
  render(): Promise<string>;
  close(): void;
}

const uploadBuckets = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
const roles = ['viewer', 'operator', 'admin'] as const;

/** Relay names ("camera rtsps") as label values in the exposition's usual style ("camera_rtsps"). */
const serviceLabel = (name: string) => name.replace(/\s+/g, '_');

type Prom = typeof import('prom-client');
type Registers = import('prom-client').Registry[];

/** What render() read just before the registry collects: the collect callbacks stay synchronous. */
interface Scraped {
  firewall?: FirewallStatus;
  disk?: { free: number; size: number };
}

function printerMetrics(prom: Prom, registers: Registers, ctx: ServiceContext, status: StatusSources) {
  const configuredSerials = () => ctx.config.get().printers.map((p) => p.serial);
  new prom.Gauge({
    name: 'moat_printer_online',
    help: 'Whether Moat is connected to the printer (1) or not (0).',
    labelNames: ['serial'],
    registers,
    collect() {
      this.reset();
      const online = new Map(status.printers().map((p) => [p.serial, p.online]));
      for (const serial of configuredSerials()) this.set({ serial }, online.get(serial) ? 1 : 0);
    },
  });
  const reconnects = new prom.Counter({
    name: 'moat_upstream_reconnects_total',
    help: 'Times Moat connected to the printer again after having been connected.',
    labelNames: ['serial'],
    registers,
    collect() {
      for (const serial of configuredSerials()) this.inc({ serial }, 0);
    },
  });
  const reports = new prom.Counter({
    name: 'moat_reports_total',
    help: 'Reports received from the printer (each fanned out to the LAN subscribers).',
    labelNames: ['serial'],
    registers,
    collect() {
      for (const serial of configuredSerials()) this.inc({ serial }, 0);
    },
  });
  const commands = new prom.Counter({
    name: 'moat_commands_total',
    help: 'Commands from LAN clients, by outcome (allowed, refused, dropped) and the role of the access code.',
    labelNames: ['serial', 'role', 'outcome'],
    registers,
  });
  return { reconnects, reports, commands };
}

function clientMetrics(prom: Prom, registers: Registers, status: StatusSources) {
  new prom.Gauge({
    name: 'moat_lan_clients',
    help: 'LAN clients connected now, by protocol and role.',
    labelNames: ['protocol', 'role'],
    registers,
    collect() {
      this.reset();
      for (const protocol of ['mqtt', 'ftp'] as const) for (const role of roles) this.set({ protocol, role }, 0);
      for (const client of status.clients()) this.inc({ protocol: client.protocol, role: client.role });
    },
  });
  const connections = new prom.Counter({
    name: 'moat_lan_connections_total',
    help: 'LAN clients that logged in, by protocol and role.',
    labelNames: ['protocol', 'role'],
    registers,
  });
  const loginFailures = new prom.Counter({
    name: 'moat_login_failures_total',
    help: 'Refused logins: setup page password, LAN access code (MQTT, FTPS), metrics token.',
    labelNames: ['service'],
    registers,
  });
  for (const service of ['web', 'mqtt', 'ftp', 'metrics']) loginFailures.inc({ service }, 0);
  return { connections, loginFailures };
}

function trafficMetrics(prom: Prom, registers: Registers, status: StatusSources) {
  // Bytes Moat carried itself (MQTT reports, FTPS transfers) plus what the relays count; a relay's count
  // starts again when the bridges restart after a settings change (a counter reset, as Prometheus expects).
  const carried = new Map<string, number>();
  const carry = (service: string, direction: 'to_printer' | 'from_printer', bytes: number) => {
    const key = `${service}\n${direction}`;
    carried.set(key, (carried.get(key) ?? 0) + bytes);
  };
  new prom.Counter({
    name: 'moat_relayed_bytes_total',
    help: 'Bytes carried between LAN clients and printers, by service and direction.',
    labelNames: ['service', 'direction'],
    registers,
    collect() {
      this.reset();
      for (const [key, bytes] of carried) {
        const [service, direction] = key.split('\n') as [string, string];
        this.inc({ service, direction }, bytes);
      }
      for (const relay of status.relays()) {
        const service = serviceLabel(relay.name);
        this.inc({ service, direction: 'to_printer' }, relay.bytesToPrinter);
        this.inc({ service, direction: 'from_printer' }, relay.bytesFromPrinter);
      }
    },
  });
  const transfers = new prom.Counter({
    name: 'moat_transfers_total',
    help: 'Finished FTPS transfers, by direction and outcome (done, failed).',
    labelNames: ['direction', 'outcome'],
    registers,
  });
  const uploadDuration = new prom.Histogram({
    name: 'moat_upload_duration_seconds',
    help: 'How long FTPS uploads took, from the client starting the transfer to its end, by outcome (done, failed).',
    labelNames: ['outcome'],
    buckets: uploadBuckets,
    registers,
  });
  return { carry, transfers, uploadDuration };
}

function firewallMetrics(prom: Prom, registers: Registers, scraped: Scraped): void {
  new prom.Gauge({
    name: 'moat_firewall_applied',
    help: 'Whether Moat’s firewall ruleset is in place (1) or not (0: off in development, or failed).',
    registers,
    collect() {
      this.set(scraped.firewall?.applied ? 1 : 0);
    },
  });
  const nftCounter = (name: string, help: string, pick: (c: { packets: number; bytes: number }) => number) =>
    new prom.Counter({
      name,
      help,
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, counter] of Object.entries(scraped.firewall?.counters ?? {}))
          this.inc({ reason }, pick(counter));
      },
    });
  nftCounter('moat_firewall_dropped_packets_total', 'Packets the firewall dropped, by rule.', (c) => c.packets);
  nftCounter('moat_firewall_dropped_bytes_total', 'Bytes the firewall dropped, by rule.', (c) => c.bytes);
  new prom.Counter({
    name: 'moat_firewall_cloud_dropped_packets_total',
    help: 'Strict cloud access: packets from the printer towards the internet refused, by protocol and port.',
    labelNames: ['protocol', 'port'],
    registers,
    collect() {
      this.reset();
      for (const d of scraped.firewall?.droppedPorts ?? [])
        this.inc({ protocol: d.protocol, port: String(d.port) }, d.packets);
    },
  });
}

function diskMetrics(prom: Prom, registers: Registers, scraped: Scraped): void {
  new prom.Gauge({
    name: 'moat_state_dir_free_bytes',
    help: 'Free space for Moat on the file system of its state directory (the SD card on the appliance).',
    registers,
    collect() {
      if (scraped.disk) this.set(scraped.disk.free);
    },
  });
  new prom.Gauge({
    name: 'moat_state_dir_size_bytes',
    help: 'Size of the file system holding Moat’s state directory.',
    registers,
    collect() {
      if (scraped.disk) this.set(scraped.disk.size);
    },
  });
}

type EventMetrics = ReturnType<typeof printerMetrics> &
  ReturnType<typeof clientMetrics> &
  ReturnType<typeof trafficMetrics>;

/** Feeds the counters from the event bus; returns what stops it. */
function countEvents(ctx: ServiceContext, status: StatusSources, m: EventMetrics): () => void {
  // Printers online when counting starts have connected once already: their next connection is a reconnect.
  const connectedBefore = new Set(
    status
      .printers()
      .filter((p) => p.online)
      .map((p) => p.serial),
  );
  const transfersSeen = new Map<string, { startedAt?: number; bytes: number }>();
  const unsubscribe: (() => void)[] = [];
  const listen = <K extends keyof MoatEventMap>(name: K, listener: (...args: MoatEventMap[K]) => void) => {
    ctx.events.on(name, listener as never);
    unsubscribe.push(() => ctx.events.off(name, listener as never));
  };
  listen('printer', (event) => {
    if (!event.online) return;
    if (connectedBefore.has(event.serial)) m.reconnects.inc({ serial: event.serial });
    connectedBefore.add(event.serial);
  });
  listen('report', (event) => {
    m.reports.inc({ serial: event.serial });
    m.carry('mqtt', 'from_printer', event.bytes);
  });
  listen('audit', (event) => m.commands.inc({ serial: event.serial, role: event.role, outcome: event.outcome }));
  listen('client', (event) => {
    if (event.kind === 'connected') m.connections.inc({ protocol: event.protocol, role: event.role });
  });
  listen('transfer', (event) => {
    // Bytes as they move, so a long upload shows while it runs; its duration when it ends (only for
    // transfers seen starting, not those already running when counting began).
    const seen = transfersSeen.get(event.id) ?? {
      bytes: 0,
      ...(event.state === 'active' && event.bytes === 0 && { startedAt: Date.now() }),
    };
    // A store-and-forward upload's bytes reach the printer in its drain; its spool stage ends at Moat.
    if (event.stage !== 'spool')
      m.carry('ftp', event.direction === 'upload' ? 'to_printer' : 'from_printer', event.bytes - seen.bytes);
    seen.bytes = event.bytes;
    if (event.state === 'active') {
      transfersSeen.set(event.id, seen);
      return;
    }
    transfersSeen.delete(event.id);
    m.transfers.inc({ direction: event.direction, outcome: event.state });
    // The client's wait: a drain (Moat → printer) is no client's upload.
    if (event.direction === 'upload' && event.stage !== 'drain' && seen.startedAt !== undefined)
      m.uploadDuration.observe({ outcome: event.state }, (Date.now() - seen.startedAt) / 1000);
  });
  listen('loginFailure', (event) => m.loginFailures.inc({ service: event.service }));
  return () => {
    for (const off of unsubscribe) off();
  };
}

export async function startMetrics(ctx: ServiceContext, status: StatusSources): Promise<MoatMetrics> {
  // Loaded only when the owner turns metrics on: a Moat nobody scrapes does not carry prom-client.
  const prom = await import('prom-client');
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry, prefix: 'moat_' });
  const registers = [registry];
  const scraped: Scraped = {};
  const stopCounting = countEvents(ctx, status, {
    ...printerMetrics(prom, registers, ctx, status),
    ...clientMetrics(prom, registers, status),
    ...trafficMetrics(prom, registers, status),
  });
  firewallMetrics(prom, registers, scraped);
  diskMetrics(prom, registers, scraped);

  return {
    contentType: registry.contentType,
    async render() {
      [scraped.firewall, scraped.disk] = await Promise.all([
        status.firewall().catch((error: unknown) => {
          ctx.logger.warn({ err: error }, 'metrics: firewall status unavailable');
          return undefined;
        }),
        statfs(ctx.paths.root).then(
          (s) => ({ free: s.bavail * s.bsize, size: s.blocks * s.bsize }),
          () => undefined,
        ),
      ]);
      return registry.metrics();
    },
    close() {
      stopCounting();
      registry.clear();
    },
  };
}

/** The collector, started once: when the owner turns metrics on, or with the service if they were on already. */
export interface MetricsCollector {
  start(): Promise<MoatMetrics>;
  close(): void;
}

export function metricsCollector(ctx: ServiceContext, status: StatusSources): MetricsCollector {
  let collector: Promise<MoatMetrics> | undefined;
  const start = () => {
    collector ??= startMetrics(ctx, status);
    return collector;
  };
  // Turned on before this start: count from now on, not from the first scrape.
  if (metricsEnabled(ctx.paths))
    start().catch((error: unknown) => ctx.logger.error({ err: error }, 'metrics could not start'));
  return {
    start,
    close() {
      collector?.then((metrics) => metrics.close()).catch(() => {});
    },
  };
}
