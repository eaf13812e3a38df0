import { networkInterfaces } from 'node:os';
import { Router } from 'express';
import { checkSegment } from '../appliance/segment-network.js';
import { createAccessCode } from '../auth/access-codes.js';
import {
  cloudAccessModes,
  ipv4,
  type MoatConfig,
  macPattern,
  type PrinterConfig,
  publicConfig,
  roles,
  serialPattern,
  servedOnEveryAddress,
  sha256Fingerprint,
} from '../config/schema.js';
import { deleteSecret, printerSecretName, readSecret, writeSecret } from '../config/secrets.js';
import { ConfigError, int, object, oneOf, optional, str } from '../config/validate.js';
import { printerModelIds, printerModels } from '../printer-models.js';
import type { ServiceContext } from '../service-context.js';
import type { StatusSources } from '../status.js';
import { validatePassphrase, type WifiControl, WifiError } from '../wifi/wifi.js';
import type { FirewallView, NetworkView, OpenService, SetupView } from './api-types.js';
import { testPrinterConnection } from './connection-test.js';
import { UserError, validate } from './http.js';
import type { PrinterFinder } from './printer-finder.js';

/** The wizard's API: one group of routes per step. Every change goes through ctx.config.update. */

const printerInput = object({
  serial: str({ pattern: serialPattern }),
  name: optional(str({ max: 64 })),
  model: oneOf(printerModelIds),
  address: ipv4,
  /** Moat's own LAN address for this printer (required once there are several printers). */
  lanAddress: optional(ipv4),
  /** `dhcp`: the router leases lanAddress to the printer's own MAC and Moat learns it. Absent: kept, else fixed. */
  lanAddressing: optional(oneOf(['fixed', 'dhcp'] as const)),
  /** Absent when editing a configured printer: its stored code stays. */
  accessCode: optional(str({ min: 1, max: 64, pattern: /^[\x21-\x7e]+$/ })),
  /** The printer's Wi-Fi MAC address: Moat's DHCP server then always gives it `address`. */
  mac: optional(str({ pattern: macPattern })),
  mqttPort: optional(int({ min: 1, max: 65535 })),
  ftpPort: optional(int({ min: 1, max: 65535 })),
  /** Absent: a configured printer keeps its policy, a new one gets `bbl-ca`. */
  certificate: optional(
    object({
      policy: oneOf(['bbl-ca', 'pinned'] as const),
      fingerprint: optional(sha256Fingerprint),
    }),
  ),
});
type PrinterInput = ReturnType<typeof printerInput>;

const printerHelp = {
  serial: 'The serial number has letters, digits and dashes, as shown in the printer’s settings.',
  name: 'A printer name has at most 64 characters.',
  model: 'Choose the printer model.',
  address: 'Enter the printer’s address as four numbers, such as 192.0.2.23.',
  lanAddress: 'Enter Moat’s LAN address for this printer as four numbers, such as 198.51.100.21.',
  lanAddressing: 'Choose whether you set Moat’s address for this printer or your router hands it out (DHCP).',
  accessCode: 'Enter the access code shown on the printer’s screen (Settings → Network → LAN only).',
  mac: 'Enter the printer’s MAC address as six pairs of hex digits, such as 02:00:00:00:00:01.',
  mqttPort: 'A port is a number from 1 to 65535.',
  ftpPort: 'A port is a number from 1 to 65535.',
  certificate: 'Choose how Moat checks the printer’s certificate.',
};

/** A change of the printers; a LAN address the configuration refuses (missing, taken) is the owner's to fix. */
function updatePrinters(ctx: ServiceContext, change: (config: MoatConfig) => MoatConfig): void {
  try {
    ctx.config.update(change);
  } catch (error) {
    if (error instanceof ConfigError && error.field.endsWith('.lanAddress'))
      throw new UserError(400, `Moat’s LAN address for the printer: ${error.problem}.`, 'lanAddress');
    throw error;
  }
}

/** The access code sent, or, for a configured printer, the stored one: an edit need not retype it. */
function accessCodeFor(ctx: ServiceContext, input: PrinterInput): string {
  const configured = ctx.config.get().printers.some((p) => p.serial === input.serial);
  const code = input.accessCode ?? (configured ? readSecret(ctx.paths, printerSecretName(input.serial)) : undefined);
  if (code === undefined)
    throw new UserError(400, 'Enter the access code shown on the printer’s screen.', 'accessCode');
  return code;
}

/** The method asked for, else the printer's own; a prefix length set in the file stays with a fixed address. */
function lanAddressingFor(input: PrinterInput, existing?: PrinterConfig): PrinterConfig['lanAddressing'] {
  const method = input.lanAddressing ?? existing?.lanAddressing.method ?? 'fixed';
  const prefixLength = method === 'fixed' ? existing?.lanAddressing.prefixLength : undefined;
  return { method, ...(prefixLength !== undefined && { prefixLength }) };
}

function toPrinterConfig(input: PrinterInput, existing?: PrinterConfig): PrinterConfig {
  if (input.certificate?.policy === 'pinned' && !input.certificate.fingerprint)
    throw new UserError(400, 'Run the connection test first, then trust the certificate it shows.', 'certificate');
  return {
    ...(existing ?? {
      passthrough: false,
      relays: { camera: true, fileTunnel: true, bind: true },
      relayPorts: { rtsps: 322, tunnel: 6000, bind: 3000, bindTls: 3002 },
    }),
    serial: input.serial,
    name: input.name ?? '',
    model: input.model,
    address: input.address,
    ...((input.lanAddress ?? existing?.lanAddress) !== undefined && {
      lanAddress: input.lanAddress ?? existing?.lanAddress,
    }),
    lanAddressing: lanAddressingFor(input, existing),
    mqtt: { transport: 'tls', ...(input.mqttPort !== undefined && { port: input.mqttPort }) },
    ftp: { transport: 'tls', ...(input.ftpPort !== undefined && { port: input.ftpPort }) },
    certificate: input.certificate
      ? {
          policy: input.certificate.policy,
          ...(input.certificate.fingerprint && { fingerprint: input.certificate.fingerprint }),
        }
      : (existing?.certificate ?? { policy: 'bbl-ca' }),
  } as PrinterConfig;
}

/**
 * The segment with a fixed lease of `address` for `mac`, replacing any earlier lease of either (a printer that
 * moved, a replaced Wi-Fi card). The addressing is checked as a whole: a lease outside the segment is the
 * owner's error (400), not something for the host-config renderer to trip over later.
 */
function withReservation(segment: MoatConfig['segment'], mac: string, address: string): MoatConfig['segment'] {
  const lower = mac.toLowerCase();
  const next = {
    ...segment,
    reservations: [
      ...segment.reservations.filter((r) => r.mac.toLowerCase() !== lower && r.address !== address),
      { mac: lower, address },
    ],
  };
  try {
    checkSegment(next);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new UserError(
        400,
        `The printer’s fixed address does not fit the printer network: ${error.problem}.`,
        'address',
      );
    throw error;
  }
  return next;
}

/** What the firewall lets in from the LAN, in words, from the configuration. */
export function openServices(config: MoatConfig): OpenService[] {
  const open = [
    { port: String(config.ports.https), protocol: 'TCP', what: 'This setup page (HTTPS)' },
    { port: String(config.ports.http), protocol: 'TCP', what: 'Redirect to the setup page' },
    { port: String(config.ports.mqtt), protocol: 'TCP', what: 'Printer control and status (MQTT over TLS)' },
    { port: String(config.ports.ftps), protocol: 'TCP', what: 'File upload to the printer (FTPS)' },
    {
      port: `${config.ports.passiveMin}–${config.ports.passiveMax}`,
      protocol: 'TCP',
      what: 'FTPS data connections',
    },
  ];
  const relays = config.printers.map((p) => p.relays);
  if (relays.some((r) => r.camera)) open.push({ port: '322, 6000', protocol: 'TCP', what: 'Camera' });
  if (relays.some((r) => r.bind)) open.push({ port: '3000, 3002', protocol: 'TCP', what: 'Slicer “add by IP”' });
  if (config.discovery.enabled) open.push({ port: '2021', protocol: 'UDP', what: 'Printer discovery for slicers' });
  open.push({ port: '—', protocol: 'ICMP', what: `Ping, at most ${config.firewall.icmpPerSecond} per second` });
  return open;
}

export function setupRoutes(
  ctx: ServiceContext,
  status: StatusSources,
  finder: PrinterFinder,
  wifi: WifiControl,
): Router {
  const router = Router();
  router.get('/setup', (_req, res) => {
    const view: SetupView = {
      config: publicConfig(ctx.config.get()),
      segmentPassphraseSet: readSecret(ctx.paths, 'segment-passphrase') !== undefined,
      models: printerModels.map((m) => ({ id: m.id, name: m.displayName })),
      caFingerprint: ctx.identity.caFingerprint256,
      lanAddress: ctx.lanAddress(),
    };
    res.json(view);
  });

  networkRoutes(router, ctx, wifi);
  segmentRoutes(router, ctx);
  printerRoutes(router, ctx, finder);
  accessCodeRoutes(router, ctx);

  // Step 5: the certificate clients must trust.
  router.get('/ca.crt', (_req, res) => {
    res.setHeader('Content-Type', 'application/x-pem-file');
    res.setHeader('Content-Disposition', 'attachment; filename="moat-ca.crt"');
    res.send(ctx.identity.caCertPem);
  });

  firewallRoutes(router, ctx, status);
  return router;
}

// Step 1: LAN network.
function networkRoutes(router: Router, ctx: ServiceContext, wifi: WifiControl): void {
  router.get('/network', async (_req, res) => {
    const lan = ctx.config.get().lan;
    const addresses = (networkInterfaces()[lan.interface] ?? [])
      .filter((a) => a.family === 'IPv4')
      .map((a) => a.address);
    const view: NetworkView = {
      ethernet: { interface: lan.interface, up: addresses.length > 0, addresses },
      wifi: await wifi.status(),
    };
    res.json(view);
  });

  router.get('/wifi/networks', async (_req, res) => {
    try {
      res.json({ networks: await wifi.scan() });
    } catch (error) {
      if (error instanceof WifiError) throw new UserError(503, error.message);
      throw error;
    }
  });

  router.post('/wifi/connect', async (req, res) => {
    const body = validate(object({ ssid: str({ min: 1, max: 32 }), passphrase: str({ max: 64 }) }), req.body, {
      ssid: 'Choose a Wi-Fi network.',
      passphrase: 'Enter the Wi-Fi passphrase.',
    });
    try {
      await wifi.connect(body.ssid, body.passphrase);
    } catch (error) {
      if (error instanceof WifiError) throw new UserError(400, error.message, 'passphrase');
      throw error;
    }
    res.json({ ok: true, wifi: await wifi.status() });
  });
}

// Step 2: the printer segment (Moat's own access point).
function segmentRoutes(router: Router, ctx: ServiceContext): void {
  const { paths } = ctx;
  router.put('/segment', (req, res) => {
    const input = validate(
      object({
        ssid: str({ min: 1, max: 32 }),
        passphrase: optional(str({ max: 64 })),
        country: str({ pattern: /^[A-Z]{2}$/ }),
        channel: int({ min: 1, max: 165 }),
        security: optional(oneOf(['wpa2', 'wpa3'] as const)),
      }),
      req.body,
      {
        ssid: 'The access point name needs 1 to 32 characters.',
        passphrase: 'The passphrase needs 8 to 63 characters.',
        country: 'Choose the country the printer is in (two letters, such as DE): it decides the allowed channels.',
        channel: 'Choose a channel from 1 to 165 (1, 6 or 11 work everywhere on 2.4 GHz).',
        security: 'Choose WPA2 (every printer) or WPA3 (only printers that support it).',
      },
    );
    let passphrase: string | undefined;
    if (input.passphrase) {
      try {
        passphrase = validatePassphrase(input.passphrase);
      } catch (error) {
        throw new UserError(400, (error as Error).message, 'passphrase');
      }
    } else if (readSecret(paths, 'segment-passphrase') === undefined) {
      throw new UserError(400, 'Choose a passphrase for the printer’s network (8 to 63 characters).', 'passphrase');
    }
    if (passphrase) writeSecret(paths, 'segment-passphrase', passphrase);
    ctx.config.update((config) => ({
      ...config,
      segment: {
        ...config.segment,
        ssid: input.ssid,
        country: input.country,
        channel: input.channel,
        security: input.security ?? config.segment.security,
      },
    }));
    res.json({ ok: true });
  });
}

// Step 3: the printer.
function printerRoutes(router: Router, ctx: ServiceContext, finder: PrinterFinder): void {
  const { paths } = ctx;
  router.get('/printers/found', (_req, res) => {
    res.json({ printers: finder.found() });
  });

  router.post('/printers/test', async (req, res) => {
    const input = validate(printerInput, req.body, printerHelp);
    const result = await testPrinterConnection({
      address: input.address,
      serial: input.serial,
      accessCode: accessCodeFor(ctx, input),
      mqttPort: input.mqttPort ?? 8883,
      ftpPort: input.ftpPort ?? 990,
      certificate: input.certificate ?? { policy: 'bbl-ca' },
    });
    res.json(result);
  });

  router.put('/printers', (req, res) => {
    const input = validate(printerInput, req.body, printerHelp);
    const accessCode = accessCodeFor(ctx, input);
    updatePrinters(ctx, (config) => {
      const existing = config.printers.find((p) => p.serial === input.serial);
      const printer = toPrinterConfig(input, existing);
      const others = config.printers.filter((p) => p.serial !== input.serial);
      if (others.length >= 8) throw new UserError(400, 'Moat handles at most 8 printers.');
      const unaddressed = others.find(servedOnEveryAddress);
      if (unaddressed)
        throw new UserError(
          400,
          `First give ${unaddressed.name || unaddressed.serial} a LAN address of Moat’s own (Edit): with several printers, each needs one.`,
        );
      const segment = input.mac ? withReservation(config.segment, input.mac, input.address) : config.segment;
      return { ...config, segment, printers: [...others, printer] };
    });
    writeSecret(paths, printerSecretName(input.serial), accessCode);
    res.json({ ok: true });
  });

  // The printer goes with its access code and its fixed lease; the other printers' fronts keep running.
  router.delete('/printers/:serial', (req, res) => {
    const { serial } = validate(object({ serial: str({ pattern: serialPattern }) }), req.params, printerHelp);
    const printer = ctx.config.get().printers.find((p) => p.serial === serial);
    if (!printer) throw new UserError(404, 'There is no printer with that serial number.');
    ctx.config.update((config) => {
      const printers = config.printers.filter((p) => p.serial !== serial);
      const stillUsed = (address: string) => printers.some((p) => p.address === address);
      const reservations = config.segment.reservations.filter(
        (r) => r.address !== printer.address || stillUsed(r.address),
      );
      return { ...config, segment: { ...config.segment, reservations }, printers };
    });
    deleteSecret(paths, printerSecretName(serial));
    res.json({ ok: true });
  });
}

// Step 4: LAN access codes.
function accessCodeRoutes(router: Router, ctx: ServiceContext): void {
  router.post('/access-codes', async (req, res) => {
    const input = validate(object({ label: str({ min: 1, max: 64 }), role: oneOf(roles) }), req.body, {
      label: 'Give the code a name of 1 to 64 characters, such as “Studio laptop”.',
      role: 'Choose what the code may do: viewer, operator or admin.',
    });
    const label = input.label.trim();
    if (!label) throw new UserError(400, 'Give the code a name, such as “Studio laptop”.', 'label');
    if (ctx.config.get().accessCodes.some((c) => c.label === label))
      throw new UserError(409, 'A code with that name exists already; choose another name.', 'label');
    const { entry, code } = await createAccessCode(label, input.role);
    ctx.config.update((config) => ({ ...config, accessCodes: [...config.accessCodes, entry] }));
    const { hash: _hash, ...shown } = entry;
    res.json({ entry: shown, code });
  });

  router.delete('/access-codes/:id', (req, res) => {
    const id = req.params.id;
    if (!ctx.config.get().accessCodes.some((c) => c.id === id))
      throw new UserError(404, 'That access code no longer exists.');
    ctx.config.update((config) => ({ ...config, accessCodes: config.accessCodes.filter((c) => c.id !== id) }));
    res.json({ ok: true });
  });
}

// Step 6: firewall review.
function firewallRoutes(router: Router, ctx: ServiceContext, status: StatusSources): void {
  router.get('/firewall', async (_req, res) => {
    const config = ctx.config.get();
    const view: FirewallView = {
      status: await status.firewall(),
      open: openServices(config),
      cloudAccess: config.firewall.cloudAccess,
    };
    res.json(view);
  });

  router.put('/firewall/cloud', (req, res) => {
    const { mode } = validate(object({ mode: oneOf(cloudAccessModes) }), req.body, {
      mode: 'Choose cloud access off, strict or unrestricted.',
    });
    ctx.config.update((config) => ({ ...config, firewall: { ...config.firewall, cloudAccess: mode } }));
    res.json({ ok: true, cloudAccess: mode });
  });
}
