import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext as NodeTestContext } from 'node:test';
import { createAccessCode, generateAccessCode } from '../../src/auth/access-codes.js';
import type { AccessCodeEntry, MoatConfig, PrinterConfig, Role } from '../../src/config/schema.js';
import { printerSecretName, writeSecret } from '../../src/config/secrets.js';
import { type StatePaths, statePaths } from '../../src/config/state-dir.js';
import { saveConfig } from '../../src/config/store.js';
import { type Logger, silentLogger } from '../../src/log.js';
import { createServiceContext } from '../../src/service-context.js';
import {
  type SimulatedPrinter,
  type SimulatedPrinterOptions,
  startSimulatedPrinter,
} from '../../src/simulator/index.js';
import type { StatusSources } from '../../src/status.js';
import type { WebContext } from '../../src/web/server.js';
import { isolatedPorts, loopbackConfig } from './test-config.js';

/** What the harness and testContext() configure a simulated printer with: MQTT and FTP transports. */
export interface PrinterTransports {
  mqtt: 'tls' | 'plain' | false;
  ftp: 'tls' | 'plain' | false;
}

export interface TestContextOptions {
  /** A running simulated printer to configure, with its access code (stored as Moat's secret for it). */
  printer?: { sim: SimulatedPrinter; accessCode: string; transports?: PrinterTransports };
  /** Last word on the configuration before it is saved. */
  configure?: (config: MoatConfig) => MoatConfig;
  logger?: Logger;
}

/** A service context for one capability started alone, on loopback, in a temp dir removed by close(). */
export interface TestServiceContext {
  /** The context with dashboard status sources that report nothing (the web server reads them). */
  ctx: WebContext;
  dir: string;
  paths: StatePaths;
  /** Moat's CA, as a file for `--cafile`. */
  moatCaFile: string;
  /** One LAN access code per role. */
  codes: Record<Role, string>;
  close(): Promise<void>;
}

/**
 * Builds what the composition root builds (config holder, identity, login throttle, audit log, events) for a
 * test that starts one capability alone: `await mqttBridge.start(t.ctx)`, without the firewall, the web
 * server or the rest of Moat.
 */
export async function testContext(options: TestContextOptions = {}): Promise<TestServiceContext> {
  const dir = mkdtempSync(join(tmpdir(), 'moat-test-'));
  const close = async () => rmSync(dir, { recursive: true, force: true });
  try {
    const paths = statePaths(join(dir, 'state'));
    const codes = {} as Record<Role, string>;
    const { printer } = options;
    const printers = printer
      ? [simulatedPrinterEntry(dir, printer.sim, printer.transports ?? { mqtt: 'tls', ftp: 'tls' })]
      : [];
    let config = loopbackConfig(dir, { ...isolatedPorts(), accessCodes: await roleAccessCodes(codes), printers });
    if (options.configure) config = options.configure(config);
    saveConfig(paths, config);
    if (printer) writeSecret(paths, printerSecretName(printer.sim.serial), printer.accessCode);
    const { context } = await createServiceContext({
      paths,
      developmentMode: true,
      logger: options.logger ?? silentLogger(),
    });
    const ctx: WebContext = Object.assign(context, { status: quietStatus(context.config.get()) });
    return { ctx, dir, paths, moatCaFile: paths.caCert, codes, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * A simulated printer serving `transports` (plus `extra`, e.g. tcpServices; its files in `storage`) and a test
 * context configured for it, for a capability that talks to a printer; all closed when the test ends.
 */
export async function printerContext(
  t: NodeTestContext,
  transports: PrinterTransports,
  extra: Partial<SimulatedPrinterOptions> = {},
  configure?: (config: MoatConfig) => MoatConfig,
): Promise<{ sim: SimulatedPrinter; tc: TestServiceContext; storage: string }> {
  const accessCode = generateAccessCode();
  const storage = mkdtempSync(join(tmpdir(), 'moat-printer-'));
  t.after(() => rmSync(storage, { recursive: true, force: true }));
  const sim = await startSimulatedPrinter({
    serial: '01S00C000000001',
    model: 'P1S',
    accessCode,
    mqtt: transports.mqtt && { transport: transports.mqtt },
    ftp: transports.ftp && { transport: transports.ftp, rootDir: storage },
    ...extra,
  });
  t.after(() => sim.close());
  const tc = await testContext({ printer: { sim, accessCode, transports }, ...(configure && { configure }) });
  t.after(() => tc.close());
  return { sim, tc, storage };
}

/** One LAN access code per role, their plain codes written into `codes`. */
export async function roleAccessCodes(codes: Record<Role, string>): Promise<AccessCodeEntry[]> {
  const entries = [];
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    const { entry, code } = await createAccessCode(`${role} test`, role);
    codes[role] = code;
    entries.push(entry);
  }
  return entries;
}

/**
 * The printer entry for a simulated printer on loopback, trusting its CA (written into `dir`) under the
 * test-ca policy; its camera and bind stand-ins where the simulator serves them (simulator option tcpServices).
 */
export function simulatedPrinterEntry(dir: string, sim: SimulatedPrinter, transports: PrinterTransports) {
  const caFile = join(dir, 'printer-ca.pem');
  writeFileSync(caFile, sim.pki.ca.certPem);
  const { mqtt, ftp } = transports;
  return {
    serial: sim.serial,
    model: sim.model.id,
    name: 'Simulated printer',
    address: sim.host,
    mqtt: mqtt ? { transport: mqtt, port: sim.ports.mqtt } : {},
    ftp: ftp ? { transport: ftp, port: sim.ports.ftp } : {},
    // The tests of the streaming relay assert streaming; store-and-forward tests turn it on themselves.
    storeAndForward: false,
    certificate: { policy: 'test-ca', caFile },
    ...(sim.ports.tunnel !== undefined && {
      relayPorts: {
        rtsps: sim.ports.rtsps,
        tunnel: sim.ports.tunnel,
        bind: sim.ports.bind,
        bindTls: sim.ports.bindTls,
      },
    }),
  } satisfies Partial<Record<keyof PrinterConfig, unknown>>;
}

/** Status sources of a Moat with nothing running besides the capability under test. */
function quietStatus(config: MoatConfig): StatusSources {
  return {
    printers: () => [],
    clients: () => [],
    transfers: () => [],
    firewall: async () => ({
      enabled: false,
      applied: false,
      problems: [],
      counters: {},
      droppedPorts: [],
      cloudAccess: config.firewall.cloudAccess,
    }),
    audit: async () => [],
    relays: () => [],
  };
}
