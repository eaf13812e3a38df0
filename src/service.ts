import { AccessCodeVerifier } from './auth/access-codes.js';
import { LanAuthenticator } from './auth/lan-auth.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { loadServerIdentity, serverCertificateChanged } from './certs/identity.js';
import { LiveIdentity } from './certs/live-identity.js';
import { ConfigHolder } from './config/holder.js';
import type { MoatConfig } from './config/schema.js';
import { printerSecretName, readSecret } from './config/secrets.js';
import type { StatePaths } from './config/state-dir.js';
import { ensureStateDir } from './config/store.js';
import { type DiscoveryRelay, startDiscoveryRelay } from './discovery/service.js';
import { MoatEvents } from './events.js';
import { type FirewallService, startFirewall } from './firewall/service.js';
import type { FtpBridge } from './ftp/bridge.js';
import { createLogger, type Logger } from './log.js';
import { type MqttBridge, startMqttBridge } from './mqtt/bridge.js';
import { primaryLanAddress } from './net/lan-addresses.js';
import { type RelayService, startRelays } from './relay/service.js';
import type { RunningService, ServiceContext } from './service-context.js';
import type { StatusSources } from './status.js';
import { startWeb, type WebServer } from './web/server.js';

export interface MoatOptions {
  paths: StatePaths;
  /** Demo and tests: bridges start without a firewall. */
  developmentMode?: boolean;
  logger?: Logger;
  events?: MoatEvents;
}

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
  const { paths } = options;
  const logger = options.logger ?? createLogger();
  ensureStateDir(paths);
  const config = new ConfigHolder(paths);
  const identity = new LiveIdentity(await loadServerIdentity(paths, config.get()));
  const accessCodes = new AccessCodeVerifier(() => config.get());
  const logins = new LoginThrottle(() => ({
    baseDelayMs: config.get().mqtt.loginDelayBaseMs,
    maxDelayMs: config.get().mqtt.loginDelayMaxMs,
  }));
  const context: ServiceContext = {
    paths,
    config,
    get identity() {
      return identity.identity;
    },
    followIdentity: (server, options) => identity.follow(server, options),
    logger,
    events: options.events ?? new MoatEvents(),
    accessCodes,
    logins,
    lanAuth: new LanAuthenticator(accessCodes, logins),
    printerAccessCode(serial) {
      const code = readSecret(paths, printerSecretName(serial));
      if (code === undefined) throw new Error(`no access code stored for printer ${serial}`);
      return code.trim();
    },
    lanAddress: () => primaryLanAddress(config.get()),
    developmentMode: options.developmentMode ?? false,
  };

  const started: RunningService[] = [];
  let printerPlane: PrinterPlane | undefined;
  let restarting = Promise.resolve();
  const close = async () => {
    config.removeAllListeners('change');
    await restarting;
    const services = [...started.reverse(), ...(printerPlane ? [printerPlane] : [])];
    for (const service of services) {
      await service.close().catch((error: unknown) => logger.error({ err: error }, 'error while stopping'));
    }
  };
  try {
    const firewall = await startFirewall(context);
    started.push(firewall);
    printerPlane = await startPrinterPlane(context);
    const status: StatusSources = {
      printers: () => plane().mqtt.printers(),
      clients: () => [...plane().mqtt.clients(), ...plane().ftp.clients()],
      transfers: () => plane().ftp.transfers(),
      firewall: () => firewall.status(),
      audit: (query) => plane().mqtt.audit(query),
      relays: () => plane().relays.stats(),
    };
    const web = await startWeb(context, status);
    started.push(web);
    // The certificate names the printers (the slicers check the serial) and Moat's names and addresses.
    const reissueIdentity = async (next: MoatConfig) => {
      try {
        if (identity.replace(await loadServerIdentity(paths, next))) {
          logger.info({ printers: next.printers.map((p) => p.serial) }, 'server certificate re-issued');
        }
      } catch (error) {
        logger.error({ err: error }, 'server certificate could not be re-issued; the previous one stays');
      }
    };
    // The bridges, relays and discovery read printers and ports when they start: when those change (the
    // wizard added a printer, a port moved), they are restarted together. Discovery alone also follows the
    // printer segment (it joins the SSDP group on the segment's address), without dropping bridged clients.
    // Access codes are read at each login, so changing them needs no restart.
    config.on('change', (next, previous) => {
      const reissue = serverCertificateChanged(next, previous);
      const restart = planeRestart(next, previous);
      if (!reissue && restart === undefined) return;
      restarting = restarting.then(async () => {
        // First, so that restarted bridges start with the new certificate too.
        if (reissue) await reissueIdentity(next);
        if (restart === undefined) return;
        if (restart === 'discovery') {
          logger.info('printer-segment or discovery settings changed: restarting discovery');
          await printerPlane?.restartDiscovery();
          return;
        }
        logger.info('printer settings changed: restarting the bridges');
        await printerPlane?.close();
        printerPlane = undefined;
        printerPlane = await startPrinterPlane(context).catch((error: unknown) => {
          logger.error({ err: error }, 'bridges could not restart with the new settings');
          return undefined;
        });
      });
    });
    const plane = () => printerPlane ?? idlePrinterPlane;
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
        return plane().discovery;
      },
      web,
      firewall,
      status,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Everything that talks to printers: restarted as one when printer or port settings change. */
interface PrinterPlane extends RunningService {
  mqtt: MqttBridge;
  ftp: FtpBridge;
  relays: RelayService;
  discovery: DiscoveryRelay;
  restartDiscovery(): Promise<void>;
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
  discovery: idleDiscovery,
  restartDiscovery: async () => {},
  close: async () => {},
};

async function startPrinterPlane(context: ServiceContext): Promise<PrinterPlane> {
  const config = context.config.get();
  // When every printer is in passthrough, the relays own the MQTT, FTPS and passive ports: the terminating
  // bridges must not bind them.
  const terminating = config.printers.length === 0 || config.printers.some((p) => !p.passthrough);
  const started: RunningService[] = [];
  const close = async () => {
    for (const service of started.reverse()) await service.close();
  };
  try {
    const mqtt = terminating ? await startMqttBridge(context) : idleMqtt;
    started.push(mqtt);
    // ftp-srv (with bunyan, moment and lodash) is loaded when the FTPS bridge first starts, not before: an
    // unconfigured or passthrough-only Moat does not carry it.
    const ftp = terminating ? await (await import('./ftp/bridge.js')).startFtpBridge(context) : idleFtp;
    started.push(ftp);
    const relays = await startRelays(context);
    started.push(relays);
    // Started last, so it is closed first; never throws (discovery is a convenience, see its service).
    const plane: PrinterPlane = {
      mqtt,
      ftp,
      relays,
      discovery: await startDiscoveryRelay(context),
      async restartDiscovery() {
        await plane.discovery.close();
        plane.discovery = await startDiscoveryRelay(context);
      },
      async close() {
        await plane.discovery.close();
        await close();
      },
    };
    return plane;
  } catch (error) {
    await close();
    throw error;
  }
}

const bridgeSections = ['printers', 'ports', 'lan', 'mqtt', 'ftp', 'relays'] as const;
const discoverySections = ['segment', 'discovery'] as const;

/** What a configuration change asks of the printer plane: a full restart, discovery alone, or nothing. */
function planeRestart(next: MoatConfig, previous: MoatConfig): 'all' | 'discovery' | undefined {
  const changed = (key: keyof MoatConfig) => JSON.stringify(next[key]) !== JSON.stringify(previous[key]);
  if (bridgeSections.some(changed)) return 'all';
  if (discoverySections.some(changed)) return 'discovery';
  return undefined;
}
