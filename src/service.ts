import { type Capability, type Restartable, restartable, startInOrder } from './capability.js';
import { loadServerIdentity, serverCertificateChanged } from './certs/identity.js';
import type { LiveIdentity } from './certs/live-identity.js';
import type { MoatConfig } from './config/schema.js';
import { type DiscoveryRelay, discovery } from './discovery/service.js';
import { type FirewallService, firewall } from './firewall/service.js';
import type { FtpBridge } from './ftp/bridge.js';
import { type MqttBridge, mqttBridge } from './mqtt/bridge.js';
import { type RelayService, relays } from './relay/service.js';
import {
  createServiceContext,
  type RunningService,
  type ServiceContext,
  type ServiceContextOptions,
} from './service-context.js';
import type { StatusSources } from './status.js';
import { type WebContext, type WebServer, web } from './web/server.js';

export type MoatOptions = ServiceContextOptions;

export interface RunningMoat extends RunningService {
  context: ServiceContext;
  mqtt: MqttBridge;
  ftp: FtpBridge;
  web: WebServer;
  firewall: FirewallService;
  relays: RelayService;
  discovery: DiscoveryRelay;
  status: StatusSources;
}

/**
 * The composition root: builds the shared context and starts each capability in order. The firewall
 * comes first: if it cannot be applied, no bridge opens a port (fail closed) unless in development mode.
 */
export async function startMoat(options: MoatOptions): Promise<RunningMoat> {
  const { context: base, identity } = await createServiceContext(options);
  const { logger, config } = base;
  let started: { firewall: FirewallService; plane: Restartable<PrinterPlane> } | undefined;
  const plane = () => started?.plane.current ?? idlePrinterPlane;
  const status: StatusSources = {
    printers: () => plane().mqtt.printers(),
    clients: () => [...plane().mqtt.clients(), ...plane().ftp.clients()],
    transfers: () => [...plane().ftp.transfers(), ...base.spool.transfers()],
    firewall: () => (started as NonNullable<typeof started>).firewall.status(),
    audit: (query) => base.audit.query(query),
    relays: () => plane().relays.stats(),
  };
  const context: WebContext = Object.assign(base, { status });
  const capabilities = await startInOrder(context, [firewall, restartable(printerPlane), web] as const);
  const [firewallService, planeService, webServer] = capabilities.running;
  started = { firewall: firewallService, plane: planeService };
  const restarting = followConfiguration(context, identity, planeService);
  logger.info({ lanAddress: context.lanAddress(), developmentMode: context.developmentMode }, 'moat started');
  return {
    context,
    get mqtt() {
      return plane().mqtt;
    },
    get ftp() {
      return plane().ftp;
    },
    get relays() {
      return plane().relays;
    },
    get discovery() {
      return plane().discovery.current ?? idleDiscovery;
    },
    web: webServer,
    firewall: firewallService,
    status,
    async close() {
      config.removeAllListeners('change');
      await restarting();
      await capabilities.close();
      base.spool.close();
      await base.audit.flush();
    },
  };
}

/**
 * The bridges, relays and discovery read printers and ports when they start: when those change (the wizard
 * added a printer, a port moved), they are restarted together. Discovery alone also follows the printer
 * segment (it joins the SSDP group on the segment's address), without dropping bridged clients. Access codes
 * are read at each login, so changing them needs no restart. Returns what waits for the restart under way.
 */
function followConfiguration(
  context: ServiceContext,
  identity: LiveIdentity,
  plane: Restartable<PrinterPlane>,
): () => Promise<void> {
  const { logger } = context;
  let restarting = Promise.resolve();
  // The certificate names the printers (the slicers check the serial) and Moat's names and addresses.
  const reissueIdentity = async (next: MoatConfig) => {
    try {
      if (identity.replace(await loadServerIdentity(context.paths, next))) {
        logger.info({ printers: next.printers.map((p) => p.serial) }, 'server certificate re-issued');
      }
    } catch (error) {
      logger.error({ err: error }, 'server certificate could not be re-issued; the previous one stays');
    }
  };
  context.config.on('change', (next, previous) => {
    const reissue = serverCertificateChanged(next, previous);
    const restart = planeRestart(next, previous);
    if (!reissue && restart === undefined) return;
    restarting = restarting.then(async () => {
      // First, so that restarted bridges start with the new certificate too.
      if (reissue) await reissueIdentity(next);
      if (restart === undefined) return;
      if (restart === 'discovery') {
        logger.info('printer-segment or discovery settings changed: restarting discovery');
        await plane.current?.discovery.restart();
        return;
      }
      logger.info('printer settings changed: restarting the bridges');
      await plane.restart().catch((error: unknown) => {
        logger.error({ err: error }, 'bridges could not restart with the new settings');
      });
    });
  });
  return () => restarting;
}

/** Everything that talks to printers: restarted as one when printer or port settings change. */
interface PrinterPlane extends RunningService {
  mqtt: MqttBridge;
  ftp: FtpBridge;
  relays: RelayService;
  /** Restarted alone when the printer segment or the discovery settings change. */
  discovery: { readonly current: DiscoveryRelay | undefined; restart(): Promise<void> };
}

const idleMqtt: MqttBridge = {
  port: 0,
  printers: () => [],
  clients: () => [],
  audit: async () => [],
  close: async () => {},
};
const idleFtp: FtpBridge = { port: 0, transfers: () => [], clients: () => [], close: async () => {} };
const idleRelays: RelayService = { stats: () => [], close: async () => {} };
const idleDiscovery: DiscoveryRelay = {
  ports: { notify: 0, multicast: 0 },
  stats: () => ({
    received: 0,
    relayed: 0,
    ignored: { oversized: 0, malformed: 0, unknownPrinter: 0, duplicate: 0 },
    lastRelayed: {},
  }),
  close: async () => {},
};
const idlePrinterPlane: PrinterPlane = {
  mqtt: idleMqtt,
  ftp: idleFtp,
  relays: idleRelays,
  discovery: { current: idleDiscovery, restart: async () => {} },
  close: async () => {},
};

/** A capability that starts nothing: a bridge that passthrough relays replace. */
function idle<T extends RunningService>(name: string, service: T): Capability<T> {
  return { name, start: async () => service };
}

// ftp-srv (with bunyan, moment and lodash) is loaded when the FTPS bridge first starts, not before: an
// unconfigured or passthrough-only Moat does not carry it.
const lazyFtpBridge: Capability<FtpBridge> = {
  name: 'ftps bridge',
  start: async (context) => (await import('./ftp/bridge.js')).ftpBridge.start(context),
};

const printerPlane: Capability<PrinterPlane> = {
  name: 'printer plane',
  async start(context) {
    const config = context.config.get();
    // When every printer is in passthrough, the relays own the MQTT, FTPS and passive ports: the terminating
    // bridges must not bind them.
    const terminating = config.printers.length === 0 || config.printers.some((p) => !p.passthrough);
    // Discovery last, so it is closed first; it never throws (discovery is a convenience, see its service).
    const plane = await startInOrder(context, [
      terminating ? mqttBridge : idle('mqtt bridge', idleMqtt),
      terminating ? lazyFtpBridge : idle('ftps bridge', idleFtp),
      relays,
      restartable(discovery),
    ] as const);
    const [mqtt, ftp, relayService, discoveryRelay] = plane.running;
    return {
      mqtt,
      ftp,
      relays: relayService,
      discovery: {
        get current() {
          return discoveryRelay.current;
        },
        restart: () => discoveryRelay.restart(),
      },
      close: plane.close,
    };
  },
};

const bridgeSections = ['printers', 'ports', 'lan', 'mqtt', 'ftp', 'relays'] as const;
const discoverySections = ['segment', 'discovery'] as const;

/** What a configuration change asks of the printer plane: a full restart, discovery alone, or nothing. */
function planeRestart(next: MoatConfig, previous: MoatConfig): 'all' | 'discovery' | undefined {
  const changed = (key: keyof MoatConfig) => JSON.stringify(next[key]) !== JSON.stringify(previous[key]);
  if (bridgeSections.some(changed)) return 'all';
  if (discoverySections.some(changed)) return 'discovery';
  return undefined;
}
