import { type Capability, restartable, startInOrder } from '../capability.js';
import { type DiscoveryRelay, discovery } from '../discovery/service.js';
import type { FtpBridge } from '../ftp/bridge.js';
import { type MqttBridge, mqttBridge } from '../mqtt/bridge.js';
import { type RelayService, relays } from '../relay/service.js';
import type { RunningService } from '../service-context.js';

/** Everything that serves one printer on its LAN address: restarted as one when its settings change. */
export interface PrinterPlane extends RunningService {
  mqtt: MqttBridge;
  ftp: FtpBridge;
  relays: RelayService;
  /** Restarted alone when the printer segment or the discovery settings change. */
  discovery: { readonly current: DiscoveryRelay | undefined; restart(): Promise<void> };
}

export const idleMqtt: MqttBridge = {
  port: 0,
  printers: () => [],
  clients: () => [],
  audit: async () => [],
  close: async () => {},
};
export const idleFtp: FtpBridge = { port: 0, transfers: () => [], clients: () => [], close: async () => {} };
export const idleRelays: RelayService = { stats: () => [], transfers: () => [], close: async () => {} };
export const idleDiscovery: DiscoveryRelay = {
  ports: { notify: 0, multicast: 0 },
  stats: () => ({
    received: 0,
    relayed: 0,
    ignored: { oversized: 0, malformed: 0, unknownPrinter: 0, duplicate: 0 },
    lastRelayed: {},
  }),
  close: async () => {},
};

/** A capability that starts nothing: a bridge that passthrough relays replace. */
function idle<T extends RunningService>(name: string, service: T): Capability<T> {
  return { name, start: async () => service };
}

// The FTPS bridge's own module is loaded when it first starts (an unconfigured or passthrough-only Moat does
// not carry it); ftp-srv, with bunyan, moment and lodash, only at the first FTPS client (ftp/ftp-sessions.ts).
const lazyFtpBridge: Capability<FtpBridge> = {
  name: 'ftps bridge',
  start: async (context) => (await import('../ftp/bridge.js')).ftpBridge.start(context),
};

/** The bridges, relays and discovery of one front, started on its context (see front-context.ts). */
export const printerPlane: Capability<PrinterPlane> = {
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
