import { AccessCodeVerifier } from './auth/access-codes.js';
import { loadServerIdentity } from './certs/identity.js';
import { ConfigHolder } from './config/holder.js';
import { printerSecretName, readSecret } from './config/secrets.js';
import type { StatePaths } from './config/state-dir.js';
import { ensureStateDir } from './config/store.js';
import { type DiscoveryRelay, startDiscoveryRelay } from './discovery/service.js';
import { MoatEvents } from './events.js';
import { type FirewallService, startFirewall } from './firewall/service.js';
import { type FtpBridge, startFtpBridge } from './ftp/bridge.js';
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
  const identity = await loadServerIdentity(paths, config.get());
  const context: ServiceContext = {
    paths,
    config,
    identity,
    logger,
    events: options.events ?? new MoatEvents(),
    accessCodes: new AccessCodeVerifier(() => config.get()),
    printerAccessCode(serial) {
      const code = readSecret(paths, printerSecretName(serial));
      if (code === undefined) throw new Error(`no access code stored for printer ${serial}`);
      return code.trim();
    },
    lanAddress: () => primaryLanAddress(config.get()),
    developmentMode: options.developmentMode ?? false,
  };

  const started: RunningService[] = [];
  const close = async () => {
    for (const service of started.reverse()) {
      await service.close().catch((error: unknown) => logger.error({ err: error }, 'error while stopping'));
    }
  };
  try {
    const firewall = await startFirewall(context);
    started.push(firewall);
    const mqtt = await startMqttBridge(context);
    started.push(mqtt);
    const ftp = await startFtpBridge(context);
    started.push(ftp);
    const relays = await startRelays(context);
    started.push(relays);
    const discovery = await startDiscoveryRelay(context);
    started.push(discovery);
    const status: StatusSources = {
      printers: () => mqtt.printers(),
      clients: () => mqtt.clients(),
      transfers: () => ftp.transfers(),
      firewall: () => firewall.status(),
      audit: (query) => mqtt.audit(query),
    };
    const web = await startWeb(context, status);
    started.push(web);
    logger.info({ lanAddress: context.lanAddress(), developmentMode: context.developmentMode }, 'moat started');
    return { context, mqtt, ftp, web, firewall, relays, discovery, status, close };
  } catch (error) {
    await close();
    throw error;
  }
}
