import { isIPv4 } from 'node:net';
import { printerModelIds } from '../printer-models.js';
import type { CloudAccess, Role } from '../web/api-types.js';
import {
  arrayOf,
  bool,
  ConfigError,
  type Infer,
  int,
  object,
  oneOf,
  optional,
  type Schema,
  str,
  withDefault,
} from './validate.js';

/**
 * The one schema every part of Moat reads: the bridges, the firewall renderer, the web UI and the
 * appliance generators. Secrets are not in here: the printer's access code, TLS keys and the admin
 * password live in their own 0600 files (see secrets.ts); access codes are stored here only as scrypt hashes.
 */

export const ipv4 = str({ valid: isIPv4, hint: 'an IPv4 address such as 192.0.2.10' });
const prefixLengthPattern = /^([0-9]|[12]\d|3[0-2])$/;
const cidr4 = str({
  valid: (value) => {
    const [address = '', prefix = '', ...rest] = value.split('/');
    return rest.length === 0 && isIPv4(address) && prefixLengthPattern.test(prefix);
  },
  hint: 'an IPv4 network such as 198.51.100.0/24',
});
const port = int({ min: 1, max: 65535 });
/** A port Moat listens on: 0 asks the system for any free port (tests). */
const listenPort = int({ min: 0, max: 65535 });
const interfaceName = str({ pattern: /^[A-Za-z0-9_.-]{1,15}$/, hint: 'a network interface name such as eth0' });
export const macPattern = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;
export const serialPattern = /^[A-Za-z0-9-]{1,32}$/;
export const sha256Fingerprint = str({
  pattern: /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/,
  hint: 'SHA-256 fingerprint as 32 upper-case hex pairs separated by colons',
});

export const roles = ['viewer', 'operator', 'admin'] as const satisfies readonly Role[];
export type { Role };

const transport = oneOf(['tls', 'plain'] as const);

/**
 * How far the printer may reach the internet: `off` not at all; `strict` only TLS (TCP 443, 8883) and NTP
 * (UDP 123), DNS through Moat's resolver, every other attempt dropped and counted by port; `unrestricted`
 * any port (the behaviour cloud access had before strict existed).
 */
export const cloudAccessModes = ['off', 'strict', 'unrestricted'] as const satisfies readonly CloudAccess[];
export type { CloudAccess };

const cloudAccessMode = oneOf(cloudAccessModes);
/** Older configurations say true/false; true ("cloud access on") now means strict, the default when on. */
const cloudAccess: Schema<CloudAccess> = (value, path) =>
  typeof value === 'boolean' ? (value ? 'strict' : 'off') : cloudAccessMode(value, path);

/** Whether the printer may reach the internet at all (forwarding on, DNS forwarded upstream). */
export function cloudAccessOn(config: Pick<MoatConfig, 'firewall'>): boolean {
  return config.firewall.cloudAccess !== 'off';
}

const printerSchema = object({
  serial: str({ pattern: serialPattern, hint: 'letters, digits and dashes, as printed on the printer' }),
  name: withDefault(str({ max: 64 }), () => ''),
  model: oneOf(printerModelIds),
  /** The printer's address on the printer segment (loopback for the demo). */
  address: ipv4,
  /**
   * Moat's own LAN address for this printer: every service of the printer (MQTT, FTPS and its passive range,
   * the relays, the discovery re-announcement) listens on it and reaches only this printer, because the
   * slicers cannot tell printers apart on one address. Required once there is more than one printer, unless
   * it is leased by DHCP (Moat then learns it from the lease, see src/front/printer-leases.ts); a lone printer
   * without it keeps the wildcard listeners of older configurations.
   */
  lanAddress: optional(ipv4),
  /**
   * How the appliance puts lanAddress on lan.interface: a macvlan with a MAC derived from the serial, its
   * address either `fixed` (lanAddress with prefixLength, or the length of the lan.subnets entry holding it)
   * or leased by `dhcp` (lanAddress is then the lease Moat last learned; until there is one, nothing is
   * served for the printer).
   */
  lanAddressing: object({
    method: withDefault(oneOf(['fixed', 'dhcp'] as const), () => 'fixed' as const),
    prefixLength: optional(int({ min: 1, max: 32 })),
  }),
  mqtt: object({
    transport: withDefault(transport, () => 'tls' as const),
    /** Default: 8883 for tls, 1883 for plain. */
    port: optional(port),
  }),
  ftp: object({
    transport: withDefault(transport, () => 'tls' as const),
    /** Default: 990 for tls, 21 for plain. */
    port: optional(port),
  }),
  certificate: object({
    /** How Moat checks the printer's certificate: Bambu's CA bundle with CN = serial, a pinned
     * SHA-256 fingerprint, or a test CA file (the simulator's). */
    policy: withDefault(oneOf(['bbl-ca', 'pinned', 'test-ca'] as const), () => 'bbl-ca' as const),
    fingerprint: optional(sha256Fingerprint),
    caFile: optional(str({ min: 1 })),
  }),
  /** Relay 8883, 990 and the passive range at the TCP level instead of terminating TLS (gives up the
   * single upstream connection, roles, audit and the state cache). */
  passthrough: withDefault(bool(), () => false),
  /** Take an FTPS upload whole into Moat's spool, answer the client at once, and drain it to the printer
   * (holding a print command for it until it has landed). Default: on for FTPS printers; never in passthrough. */
  storeAndForward: optional(bool()),
  relays: object({
    camera: withDefault(bool(), () => true),
    fileTunnel: withDefault(bool(), () => true),
    bind: withDefault(bool(), () => true),
  }),
  /** Printer-side ports of the relayed services; overridable for the simulator on loopback. */
  relayPorts: object({
    rtsps: withDefault(port, () => 322),
    tunnel: withDefault(port, () => 6000),
    bind: withDefault(port, () => 3000),
    bindTls: withDefault(port, () => 3002),
  }),
});

const accessCodeSchema = object({
  id: str({ pattern: /^[a-z0-9]{8,32}$/ }),
  label: str({ min: 1, max: 64 }),
  role: oneOf(roles),
  /** scrypt hash, `scrypt$N$r$p$salt$hash` (base64url). */
  hash: str({ pattern: /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/ }),
  createdAt: str({ min: 1 }),
  /** The serials this code opens; absent: every printer. A removed printer's serial here opens nothing. */
  printers: optional(arrayOf(str({ pattern: serialPattern }), { max: 8 })),
});

export const configSchema = object({
  version: withDefault(int({ min: 1, max: 1 }), () => 1),
  hostname: withDefault(str({ pattern: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, hint: 'a DNS label' }), () => 'moat'),
  lan: object({
    interface: withDefault(interfaceName, () => 'eth0'),
    /** Where the LAN listeners bind. */
    bindAddress: withDefault(ipv4, () => '0.0.0.0'),
    /** Moat's LAN addresses: announced in NOTIFY and PASV, written into reports, put in the certificate.
     * Empty: detected from the LAN interface at start. */
    addresses: withDefault(arrayOf(ipv4, { max: 16 }), () => []),
    /** LAN networks the printer must never reach, even with cloud access on. Empty: derived at start. */
    subnets: withDefault(arrayOf(cidr4, { max: 16 }), () => []),
  }),
  segment: object({
    interface: withDefault(interfaceName, () => 'wlan0'),
    address: withDefault(ipv4, () => '192.0.2.1'),
    prefixLength: withDefault(int({ min: 8, max: 30 }), () => 24),
    dhcpRangeStart: withDefault(ipv4, () => '192.0.2.10'),
    dhcpRangeEnd: withDefault(ipv4, () => '192.0.2.50'),
    ssid: withDefault(str({ min: 1, max: 32 }), () => 'moat-printers'),
    country: withDefault(str({ pattern: /^[A-Z]{2}$/, hint: 'a two-letter country code such as DE' }), () => 'US'),
    channel: withDefault(int({ min: 1, max: 165 }), () => 6),
    /** WPA2-PSK works with every printer; WPA3 (SAE) only with printers and Wi-Fi chips that support it. */
    security: withDefault(oneOf(['wpa2', 'wpa3'] as const), () => 'wpa2' as const),
    /** Fixed DHCP leases: the printer always gets the address Moat's configuration names for it. */
    reservations: withDefault(
      arrayOf(
        object({
          mac: str({ pattern: macPattern, hint: 'a MAC address such as 02:00:00:00:00:01' }),
          address: ipv4,
        }),
        { max: 8 },
      ),
      () => [],
    ),
  }),
  printers: withDefault(arrayOf(printerSchema, { max: 8 }), () => []),
  accessCodes: withDefault(arrayOf(accessCodeSchema, { max: 64 }), () => []),
  ports: object({
    mqtt: withDefault(listenPort, () => 8883),
    ftps: withDefault(listenPort, () => 990),
    https: withDefault(listenPort, () => 443),
    /** Redirects to https only. */
    http: withDefault(listenPort, () => 80),
    passiveMin: withDefault(port, () => 50000),
    passiveMax: withDefault(port, () => 50100),
  }),
  mqtt: object({
    maxPacketBytes: withDefault(int({ min: 1024, max: 16 * 1024 * 1024 }), () => 256 * 1024),
    publishesPerSecond: withDefault(int({ min: 1, max: 10000 }), () => 20),
    publishBurst: withDefault(int({ min: 1, max: 10000 }), () => 40),
    connectTimeoutMs: withDefault(int({ min: 100, max: 120000 }), () => 10000),
    /** Unsent report bytes one LAN client may have queued before it is disconnected (it stopped reading). */
    maxQueuedReportBytes: withDefault(int({ min: 64 * 1024, max: 256 * 1024 * 1024 }), () => 1024 * 1024),
    maxClients: withDefault(int({ min: 1, max: 10000 }), () => 64),
    /** Upstream pushall at most once per this window, however many clients ask. */
    pushallIntervalMs: withDefault(int({ min: 0, max: 3600000 }), () => 10000),
    /** Ask the printer to push again when it has been quiet this long. */
    quietRepushMs: withDefault(int({ min: 1000, max: 3600000 }), () => 60000),
    /** Role needed for a command Moat does not know. */
    unknownCommandRole: withDefault(oneOf(roles), () => 'admin' as const),
    loginDelayBaseMs: withDefault(int({ min: 0, max: 60000 }), () => 250),
    loginDelayMaxMs: withDefault(int({ min: 0, max: 600000 }), () => 30000),
    /** Reconnecting to a printer: exponential backoff from min to max, with jitter. */
    upstreamRetryMinMs: withDefault(int({ min: 50, max: 600000 }), () => 1000),
    upstreamRetryMaxMs: withDefault(int({ min: 50, max: 600000 }), () => 30000),
  }),
  ftp: object({
    allowedExtensions: withDefault(arrayOf(str({ pattern: /^\.[a-z0-9.]{1,16}$/ })), () => [
      '.3mf',
      '.gcode',
      '.gcode.3mf',
    ]),
    /**
     * Exact names a writer may upload at the root of the printer's storage whatever their extension. The
     * slicers' access-code probe uploads `verify_job` (no extension) when a printer is added and before a print.
     */
    allowedNames: withDefault(
      arrayOf(str({ pattern: /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/, hint: 'a file name without a path' }), { max: 32 }),
      () => ['verify_job'],
    ),
    maxUploadBytes: withDefault(int({ min: 1, max: 64 * 1024 * 1024 * 1024 }), () => 2 * 1024 * 1024 * 1024),
    requireSessionReuse: withDefault(bool(), () => true),
    idleTimeoutMs: withDefault(int({ min: 1000, max: 3600000 }), () => 300000),
    printerTimeoutMs: withDefault(int({ min: 1000, max: 600000 }), () => 60000),
    /**
     * Logged-in LAN sessions per printer. Each holds its own connection to the printer, whose vsFTPd admits
     * only a few: 2 leaves room for Moat's connection test and the printer's own clients (A1: set 1).
     */
    maxSessionsPerPrinter: withDefault(int({ min: 1, max: 16 }), () => 2),
    /** Control connections from one client address, logged in or not (vsFTPd's max_per_ip). */
    maxConnectionsPerAddress: withDefault(int({ min: 1, max: 1024 }), () => 4),
  }),
  spool: object({
    /** Bytes the spool may hold. Default: 2 GiB or a quarter of the space free for it, whichever is less. */
    maxBytes: optional(int({ min: 1, max: 1024 * 1024 * 1024 * 1024 })),
    /** A print command held for a file still draining is dropped (and reported) after this long. */
    holdLimitMs: withDefault(int({ min: 100, max: 3600000 }), () => 600000),
    /** A drain that cannot reach the printer retries with exponential backoff from min to max. */
    retryMinMs: withDefault(int({ min: 10, max: 600000 }), () => 1000),
    retryMaxMs: withDefault(int({ min: 10, max: 600000 }), () => 30000),
  }),
  relays: object({
    cameraMaxConnections: withDefault(int({ min: 1, max: 64 }), () => 2),
    maxConnections: withDefault(int({ min: 1, max: 256 }), () => 8),
    idleTimeoutMs: withDefault(int({ min: 1000, max: 86400000 }), () => 300000),
    /** LAN ports the relays listen on (0 = any free port, tests), on each printer's own LAN address. */
    ports: object({
      rtsps: withDefault(listenPort, () => 322),
      tunnel: withDefault(listenPort, () => 6000),
      bind: withDefault(listenPort, () => 3000),
      bindTls: withDefault(listenPort, () => 3002),
    }),
  }),
  discovery: object({
    enabled: withDefault(bool(), () => true),
    /** Printer-side ports Moat listens on for the printer's NOTIFY (broadcast, multicast); 0 = any (tests). */
    notifyPort: withDefault(listenPort, () => 2021),
    multicastPort: withDefault(listenPort, () => 1990),
    /** Where the re-announcement goes on the LAN. */
    announceAddress: withDefault(ipv4, () => '255.255.255.255'),
    announcePort: withDefault(port, () => 2021),
    /** Also re-announce to 239.255.255.250:1990 (Bambu Studio ignores it; other tools listen). */
    multicast: withDefault(bool(), () => true),
  }),
  firewall: object({
    enabled: withDefault(bool(), () => true),
    /** Let the printer reach the internet (never the LAN) through the upstream interface; see cloudAccessModes. */
    cloudAccess: withDefault(cloudAccess, () => 'off' as const),
    /** Interface towards the internet for cloud access; default: the LAN interface. */
    upstreamInterface: optional(interfaceName),
    icmpPerSecond: withDefault(int({ min: 1, max: 1000 }), () => 5),
  }),
  web: object({
    sessionIdleMinutes: withDefault(int({ min: 1, max: 1440 }), () => 30),
    claimFile: withDefault(str({ min: 1 }), () => '/boot/firmware/moat-claim.txt'),
    /** Wrong passwords or claim codes allowed per address within the window before answers are 429. */
    loginAttempts: withDefault(int({ min: 1, max: 1000 }), () => 5),
    loginWindowSeconds: withDefault(int({ min: 1, max: 86400 }), () => 900),
    /** UDP port where the setup page listens for printers' NOTIFY (0: any free port, tests). */
    printerFinderPort: withDefault(listenPort, () => 2021),
  }),
  audit: object({
    maxBytes: withDefault(int({ min: 4096, max: 1024 * 1024 * 1024 }), () => 5 * 1024 * 1024),
  }),
});

export type MoatConfig = Infer<typeof configSchema>;
export type PrinterConfig = MoatConfig['printers'][number];
export type AccessCodeEntry = MoatConfig['accessCodes'][number];

/** Parses and validates a configuration, filling defaults; throws ConfigError naming the bad field. */
export function parseConfig(value: unknown): MoatConfig {
  const config = configSchema(value, '');
  checkConsistency(config);
  return config;
}

/** A configuration with every default: what a fresh Moat starts from. */
export function defaultConfig(): MoatConfig {
  return parseConfig({});
}

function checkConsistency(config: MoatConfig): void {
  if (config.ports.passiveMin > config.ports.passiveMax)
    throw new ConfigError('ports.passiveMin', 'must not be greater than ports.passiveMax');
  const serials = new Set<string>();
  config.printers.forEach((printer, i) => {
    if (serials.has(printer.serial)) throw new ConfigError(`printers[${i}].serial`, 'duplicate printer serial');
    serials.add(printer.serial);
    if (printer.certificate.policy === 'pinned' && !printer.certificate.fingerprint)
      throw new ConfigError(`printers[${i}].certificate.fingerprint`, 'required when policy is "pinned"');
    if (printer.passthrough && printer.storeAndForward === true)
      throw new ConfigError(
        `printers[${i}].storeAndForward`,
        'not possible in passthrough (Moat never sees the files)',
      );
    if (printer.certificate.policy === 'test-ca' && !printer.certificate.caFile)
      throw new ConfigError(`printers[${i}].certificate.caFile`, 'required when policy is "test-ca"');
  });
  checkLanAddresses(config);
  const ids = new Set<string>();
  config.accessCodes.forEach((code, i) => {
    if (ids.has(code.id)) throw new ConfigError(`accessCodes[${i}].id`, 'duplicate access code id');
    ids.add(code.id);
  });
  for (const name of ['mqtt', 'ftps', 'https', 'http'] as const) {
    if ([1883, 21].includes(config.ports[name]))
      throw new ConfigError(`ports.${name}`, 'Moat never listens on the plaintext ports 1883 or 21');
  }
}

/**
 * Each printer's LAN address is its own: two printers on one address would be one printer to the slicers,
 * and Moat's own address (setup page) is not a printer's. A lone printer may go without one (wildcard).
 */
function checkLanAddresses(config: MoatConfig): void {
  const taken = new Set<string>(config.lan.addresses);
  config.printers.forEach((printer, i) => {
    const field = `printers[${i}].lanAddress`;
    if (printer.lanAddressing.prefixLength !== undefined && printer.lanAddressing.method !== 'fixed')
      throw new ConfigError(`printers[${i}].lanAddressing.prefixLength`, 'only for a fixed address (DHCP sets it)');
    if (printer.lanAddress === undefined) {
      if (config.printers.length > 1 && !awaitingLease(printer))
        throw new ConfigError(field, 'required when Moat fronts more than one printer (or lanAddressing.method dhcp)');
      if (printer.lanAddressing.prefixLength !== undefined)
        throw new ConfigError(`printers[${i}].lanAddressing.prefixLength`, 'needs printers[].lanAddress');
      return;
    }
    if (config.lan.addresses.includes(printer.lanAddress))
      throw new ConfigError(field, "is one of Moat's own addresses (lan.addresses); give the printer its own");
    if (taken.has(printer.lanAddress)) throw new ConfigError(field, 'already the LAN address of another printer');
    taken.add(printer.lanAddress);
  });
}

/** A printer whose own LAN address is leased by DHCP and not learned yet: nothing is served for it until then. */
export function awaitingLease(printer: PrinterConfig): boolean {
  return printer.lanAddress === undefined && printer.lanAddressing.method === 'dhcp';
}

/** A lone printer without an address of its own: served by the wildcard listeners on all of Moat's addresses. */
export function servedOnEveryAddress(printer: PrinterConfig): boolean {
  return printer.lanAddress === undefined && printer.lanAddressing.method !== 'dhcp';
}

/** The printer's port for a service, from its transport when not set. */
export function printerMqttPort(printer: PrinterConfig): number {
  return printer.mqtt.port ?? (printer.mqtt.transport === 'tls' ? 8883 : 1883);
}

/** Whether uploads to this printer go through Moat's spool (store-and-forward) or stream straight through. */
export function storeAndForward(printer: PrinterConfig): boolean {
  if (printer.passthrough) return false;
  return printer.storeAndForward ?? printer.ftp.transport === 'tls';
}

export function printerFtpPort(printer: PrinterConfig): number {
  return printer.ftp.port ?? (printer.ftp.transport === 'tls' ? 990 : 21);
}

/** The configuration without hashes: safe to return from the API or print. */
export function publicConfig(config: MoatConfig): Omit<MoatConfig, 'accessCodes'> & {
  accessCodes: Omit<AccessCodeEntry, 'hash'>[];
} {
  return { ...config, accessCodes: config.accessCodes.map(({ hash: _hash, ...rest }) => rest) };
}

export type { Schema };
