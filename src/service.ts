import { startInOrder } from './capability.js';
import { loadServerIdentity, serverCertificateChanged } from './certs/identity.js';
import type { LiveIdentity } from './certs/live-identity.js';
import type { MoatConfig } from './config/schema.js';
import type { DiscoveryRelay } from './discovery/service.js';
import { type FirewallService, firewall } from './firewall/service.js';
import { type PrinterFront, type PrinterFronts, printerFronts } from './front/fronts.js';
import { followPrinterLeases } from './front/printer-leases.js';
import { idleDiscovery, idleFtp, idleMqtt, idleRelays, type PrinterPlane } from './front/printer-plane.js';
import type { FtpBridge } from './ftp/bridge.js';
import type { MqttBridge } from './mqtt/bridge.js';
import type { RelayService } from './relay/service.js';
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
  /** One per printer, each on its own LAN address (see src/front/). */
  fronts(): PrinterFront[];
  /** The first front's bridges, relays and discovery (the only ones with one printer). */
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
  let started: { firewall: FirewallService; fronts: PrinterFronts } | undefined;
  const fronts = () => started?.fronts.list() ?? [];
  const planes = () => fronts().map((front) => front.plane);
  const plane = () => planes()[0] ?? idlePrinterPlane;
  const status: StatusSources = {
    printers: () => planes().flatMap((p) => p.mqtt.printers()),
    clients: () => planes().flatMap((p) => [...p.mqtt.clients(), ...p.ftp.clients()]),
    transfers: () => [
      ...planes().flatMap((p) => [...p.ftp.transfers(), ...p.relays.transfers()]),
      ...base.spool.transfers(),
    ],
    firewall: () => (started as NonNullable<typeof started>).firewall.status(),
    audit: (query) => base.audit.query(query),
    relays: () => planes().flatMap((p) => p.relays.stats()),
  };
  const context: WebContext = Object.assign(base, { status });
  const capabilities = await startInOrder(context, [firewall, printerFronts, web] as const);
  const [firewallService, frontsService, webServer] = capabilities.running;
  started = { firewall: firewallService, fronts: frontsService };
  const restarting = followConfiguration(context, identity, frontsService);
  // Once the fronts follow the configuration: a lease learned now moves its printer's front at once.
  const leases = followPrinterLeases(context);
  logger.info(
    {
      lanAddress: context.lanAddress(),
      printers: fronts().map(({ serial, lanAddress }) => ({ serial, lanAddress })),
      developmentMode: context.developmentMode,
    },
    'moat started',
  );
  return {
    context,
    fronts,
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
      await leases.close();
      config.removeAllListeners('change');
      await restarting();
      await capabilities.close();
      base.spool.close();
      await base.audit.flush();
    },
  };
}

/**
 * The fronts read their printer and the ports when they start: a change restarts the fronts it touches (a
 * printer added in the wizard is served at once; the other printers keep their clients), or only their
 * discovery when only the printer segment or discovery settings changed. The shared certificate (setup page,
 * a lone printer without an address of its own) is re-issued first. Access codes are read at each login, so
 * changing them needs no restart. Returns what waits for the restart under way.
 */
function followConfiguration(
  context: ServiceContext,
  identity: LiveIdentity,
  fronts: PrinterFronts,
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
    restarting = restarting.then(async () => {
      // First, so that restarted bridges start with the new certificate too.
      if (serverCertificateChanged(next, previous)) await reissueIdentity(next);
      await fronts.follow(next, previous);
    });
  });
  return () => restarting;
}

const idlePrinterPlane: PrinterPlane = {
  mqtt: idleMqtt,
  ftp: idleFtp,
  relays: idleRelays,
  discovery: { current: idleDiscovery, restart: async () => {} },
  close: async () => {},
};
