import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAccessCode } from '../../src/auth/access-codes.js';
import { startInOrder } from '../../src/capability.js';
import type { MoatConfig, Role } from '../../src/config/schema.js';
import { printerSecretName, writeSecret } from '../../src/config/secrets.js';
import { type StatePaths, statePaths } from '../../src/config/state-dir.js';
import { saveConfig } from '../../src/config/store.js';
import { type Logger, silentLogger } from '../../src/log.js';
import { type RunningMoat, startMoat } from '../../src/service.js';
import {
  type SimulatedPrinter,
  type SimulatedPrinterOptions,
  startSimulatedPrinter,
} from '../../src/simulator/index.js';
import { isolatedPorts, loopbackConfig } from './test-config.js';
import { roleAccessCodes, simulatedPrinterEntry } from './test-context.js';

/**
 * A simulated printer and a Moat in front of it, both on loopback with ephemeral ports, in a temp
 * directory removed by close(). The end-to-end tests of every capability start from here.
 */
export interface HarnessOptions {
  serial?: string;
  model?: string;
  mqtt?: 'tls' | 'plain' | false;
  ftp?: 'tls' | 'plain' | false;
  /** The simulated printer's FTP throughput cap, bytes per second (its `--ftp-rate`). */
  ftpBytesPerSecond?: number;
  /** Extra simulator options (throughput cap, tick rate, …). */
  simulator?: Partial<SimulatedPrinterOptions>;
  /** Last word on Moat's configuration before it is saved (the simulator is running by then). */
  configure?: (config: MoatConfig, sim: SimulatedPrinter) => MoatConfig;
  logger?: Logger;
  /** Start only the simulator, not Moat. */
  simulatorOnly?: boolean;
  /** The printer's access code, when a printer-side server started before the harness must know it. */
  printerAccessCode?: string;
}

export interface Harness {
  dir: string;
  paths: StatePaths;
  serial: string;
  printerAccessCode: string;
  sim: SimulatedPrinter;
  /** The simulator's CA, as a file (what Moat's test-ca policy reads, what direct clients use). */
  printerCaFile: string;
  moat?: RunningMoat;
  /** Moat's CA, as a file for `--cafile`. */
  moatCaFile: string;
  /** One LAN access code per role. */
  codes: Record<Role, string>;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'moat-test-'));
  const serial = options.serial ?? '01S00C000000001';
  const model = options.model ?? 'P1S';
  const printerAccessCode = options.printerAccessCode ?? generateAccessCode();
  const mqtt = options.mqtt ?? 'tls';
  const ftp = options.ftp ?? 'tls';
  const logger = options.logger ?? silentLogger();
  const paths = statePaths(join(dir, 'state'));
  const printerCaFile = join(dir, 'printer-ca.pem');
  const codes = {} as Record<Role, string>;
  let sim: SimulatedPrinter | undefined;
  const startSimulator = async () => {
    sim = await startSimulatedPrinter({
      serial,
      model,
      accessCode: printerAccessCode,
      mqtt: mqtt && { transport: mqtt },
      ftp: ftp && {
        transport: ftp,
        rootDir: printerStorage({ dir }),
        ...(options.ftpBytesPerSecond !== undefined && { bytesPerSecond: options.ftpBytesPerSecond }),
      },
      ...options.simulator,
    });
    return sim;
  };
  // Moat's state, written for a Moat started later too (simulatorOnly); the temp dir's removal takes it away.
  const writeState = async () => {
    const printer = sim as SimulatedPrinter;
    let config = loopbackConfig(dir, {
      ...isolatedPorts(),
      accessCodes: await roleAccessCodes(codes),
      printers: [simulatedPrinterEntry(dir, printer, { mqtt, ftp })],
    });
    if (options.configure) config = options.configure(config, printer);
    saveConfig(paths, config);
    writeSecret(paths, printerSecretName(serial), printerAccessCode);
    return { close: async () => {} };
  };
  // The temp dir first, so that it is removed last (and on a failed start too).
  const tempDir = { close: async () => rmSync(dir, { recursive: true, force: true }) };
  const started = await startInOrder({ logger }, [
    { name: 'temp dir', start: async () => tempDir },
    { name: 'simulated printer', start: startSimulator },
    { name: 'state', start: writeState },
    ...(options.simulatorOnly
      ? []
      : [{ name: 'moat', start: () => startMoat({ paths, developmentMode: true, logger }) }]),
  ]);
  const moat = started.running[3] as RunningMoat | undefined;
  return {
    dir,
    paths,
    serial,
    printerAccessCode,
    sim: sim as SimulatedPrinter,
    printerCaFile,
    ...(moat && { moat }),
    moatCaFile: paths.caCert,
    codes,
    close: started.close,
  };
}

/**
 * The harness's printer, FTP only, (re)started on the same port, storage and certificate with other FTP
 * options (a throughput cap, an unclean TLS close): for tests where the printer slows down, vanishes or
 * comes back. Close the running one first (`h.sim.close()`, or the one this returned).
 */
export function startPrinterFtp(
  h: Harness,
  extra: { bytesPerSecond?: number; uncleanDataClose?: boolean } = {},
): Promise<SimulatedPrinter> {
  return startSimulatedPrinter({
    serial: h.serial,
    model: 'P1S',
    accessCode: h.printerAccessCode,
    pki: h.sim.pki,
    mqtt: false,
    statsPort: false,
    ftp: { transport: 'tls', port: h.sim.ports.ftp as number, rootDir: printerStorage(h), ...extra },
  });
}

/** Where the harness's simulated printer keeps its files. */
export function printerStorage(h: Pick<Harness, 'dir'>): string {
  return join(h.dir, 'printer-storage');
}
