import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createAccessCode, generateAccessCode } from './auth/access-codes.js';
import { startInOrder } from './capability.js';
import { type MoatConfig, type PrinterConfig, type Role, roles } from './config/schema.js';
import { printerSecretName, writeSecret } from './config/secrets.js';
import { type StatePaths, statePaths } from './config/state-dir.js';
import { loadConfig, saveConfig } from './config/store.js';
import type { Logger } from './log.js';
import { canListen, firstListenable } from './net/port-probe.js';
import { mixedPrinterModel } from './printer-models.js';
import { type RunningMoat, startMoat } from './service.js';
import { type SimulatedPrinter, startSimulatedPrinter } from './simulator/index.js';

/**
 * The demo: simulated printers and Moat in front of them, on loopback. Standard ports where this process may
 * bind them, documented high ports otherwise; demo.json always says which. With one printer Moat serves it on
 * 127.0.0.1 (as a lone printer without an address of its own); with several, printer i gets Moat's address
 * 127.0.1.i and its simulator runs on 127.0.2.i.
 */
export interface DemoOptions {
  dir: string;
  /** The model (and serial) of a lone printer; several printers take the fixtures' models in turn. */
  model?: string;
  serial?: string;
  /** How many simulated printers (1 to 8). */
  printers?: number;
  /** Any free port for every listener (tests that run beside other Moats). */
  anyPort?: boolean;
  /** Caps the simulated printers' FTP (`moat demo --ftp-rate`), to watch store-and-forward against a slow printer. */
  ftpBytesPerSecond?: number;
  logger: Logger;
}

/** One printer of the demo: where Moat serves it and where its simulator keeps its state. */
export interface DemoPrinter {
  serial: string;
  model: string;
  /** Moat's LAN address for this printer. */
  lanAddress: string;
  mqttPort: number;
  ftpsPort: number;
  statsUrl: string;
  ftpDir: string;
}

export interface DemoInfo {
  username: 'bblp';
  moat: {
    host: string;
    mqtt: { host: string; port: number };
    ftps: { host: string; port: number; passive: [number, number] };
    https: { url: string; port: number };
    http: { port: number };
    caFile: string;
    caFingerprint256: string;
    stateDir: string;
    logFile: string;
    /** Where the one-time claim code for the setup page is written while Moat is unclaimed. */
    claimFile: string;
  };
  accessCodes: Record<Role, string>;
  /** The first printer (the fields older than `printers`). */
  printer: { serial: string; model: string };
  simulator: {
    host: string;
    mqttPort: number;
    ftpPort: number;
    statsUrl: string;
    ftpDir: string;
    /** `--ftp-rate`: the printers' FTP cap in bytes per second; null = uncapped. */
    ftpRate: number | null;
    caFile: string;
  };
  printers: DemoPrinter[];
  commands: { mosquittoSub: string; mosquittoPushall: string; curlUpload: string; curlList: string };
}

export interface RunningDemo {
  info: DemoInfo;
  moat: RunningMoat;
  /** The first printer's simulator. */
  simulator: SimulatedPrinter;
  simulators: SimulatedPrinter[];
  close(): Promise<void>;
}

/** Standard port first, then the documented fallback (README "Demo"). */
const moatPortChoices = { mqtt: [8883, 18883], ftps: [990, 10990], https: [443, 18443], http: [80, 18080] };
const passiveChoices: [number, number][] = [
  [50000, 50100],
  [51000, 51100],
];

async function choosePort(host: string, choices: number[]): Promise<number> {
  return (await firstListenable(host, choices)) ?? 0;
}

/** One simulated printer as the demo plans it, before anything runs. */
interface PlannedPrinter {
  serial: string;
  model: string;
  simulatorHost: string;
  /** Undefined for a lone printer: served on Moat's own address. */
  lanAddress: string | undefined;
  ftpDir: string;
  accessCode: string;
}

async function planPrinters(dir: string, options: DemoOptions): Promise<PlannedPrinter[]> {
  const count = options.printers ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 8) throw new Error('--printers takes a number from 1 to 8');
  if (count === 1) {
    // The printer gets its own loopback address, so it can keep its real ports next to Moat's.
    const simulatorHost = (await canListen('127.0.0.2', 0)) ? '127.0.0.2' : '127.0.0.1';
    const serial = options.serial ?? '01S00C000000001';
    const model = options.model ?? 'P1S';
    const ftpDir = join(dir, 'printer-storage');
    return [{ serial, model, simulatorHost, lanAddress: undefined, ftpDir, accessCode: generateAccessCode() }];
  }
  const planned: PlannedPrinter[] = [];
  for (let i = 1; i <= count; i++) {
    const lanAddress = `127.0.1.${i}`;
    const simulatorHost = `127.0.2.${i}`;
    for (const address of [lanAddress, simulatorHost]) {
      if (!(await canListen(address, 0)))
        throw new Error(`cannot listen on ${address}: loopback must cover 127.0.0.0/8`);
    }
    const model = mixedPrinterModel(i - 1);
    planned.push({
      serial: `01S00C0000000${String(i).padStart(2, '0')}`,
      model,
      simulatorHost,
      lanAddress,
      ftpDir: join(dir, `printer-storage-${i}`),
      accessCode: generateAccessCode(),
    });
  }
  return planned;
}

async function startDemoPrinter(planned: PlannedPrinter, plan: DemoPlan): Promise<SimulatedPrinter> {
  const { anyPort, ftpBytesPerSecond } = plan;
  const port = async (standard: number) => (anyPort ? 0 : await choosePort(planned.simulatorHost, [standard, 0]));
  return startSimulatedPrinter({
    serial: planned.serial,
    model: planned.model,
    accessCode: planned.accessCode,
    host: planned.simulatorHost,
    mqtt: { transport: 'tls', port: await port(8883) },
    ftp: {
      transport: 'tls',
      port: await port(990),
      rootDir: planned.ftpDir,
      ...(ftpBytesPerSecond !== undefined && { bytesPerSecond: ftpBytesPerSecond }),
    },
    // The camera and bind stand-ins on any free ports: Moat's relays reach them through relayPorts.
    tcpServices: {},
    statsPort: 0,
  });
}

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const plan: DemoPlan = {
    dir,
    host: '127.0.0.1',
    printers: await planPrinters(dir, options),
    anyPort: options.anyPort ?? false,
    ftpBytesPerSecond: options.ftpBytesPerSecond,
    logger: options.logger,
  };
  const simulators: SimulatedPrinter[] = [];
  const started = await startInOrder({ logger: options.logger }, [
    ...plan.printers.map((planned) => ({
      name: `simulated printer ${planned.serial}`,
      start: async () => {
        const simulator = await startDemoPrinter(planned, plan);
        simulators.push(simulator);
        return simulator;
      },
    })),
    { name: 'moat', start: () => startDemoMoat(plan, simulators) },
  ]);
  const moat = started.running.at(-1) as DemoMoat;
  const info = describeDemo(plan, simulators, moat);
  writeFileSync(join(dir, 'demo.json'), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  return {
    info,
    moat: moat.moat,
    simulator: simulators[0] as SimulatedPrinter,
    simulators,
    close: started.close,
  };
}

/** What the demo decided before starting anything: where things run and the printers' identities. */
interface DemoPlan {
  dir: string;
  /** Moat's own address (setup page; a lone printer's services too). */
  host: string;
  printers: PlannedPrinter[];
  anyPort: boolean;
  ftpBytesPerSecond: number | undefined;
  logger: Logger;
}

/** Moat as the demo started it, with what it chose on the way (ports, access codes). */
interface DemoMoat {
  moat: RunningMoat;
  paths: StatePaths;
  config: MoatConfig;
  ports: { mqtt: number; ftps: number; https: number; http: number };
  passive: [number, number];
  codes: Record<Role, string>;
  printerCaFile: string;
  close(): Promise<void>;
}

/** The relays' LAN ports: the standard ones where they can be bound on the printers' address, else any. */
async function relayPorts(host: string, anyPort: boolean): Promise<MoatConfig['relays']['ports']> {
  const pick = async (port: number) => (anyPort ? 0 : await choosePort(host, [port, 0]));
  return { rtsps: await pick(322), tunnel: await pick(6000), bind: await pick(3000), bindTls: await pick(3002) };
}

/** Moat in front of the simulated printers, on the demo's ports; its close() is Moat's. */
async function startDemoMoat(plan: DemoPlan, simulators: SimulatedPrinter[]): Promise<DemoMoat> {
  const { dir, host, anyPort } = plan;
  // Each simulator has a test CA of its own (the first printer's keeps the older name).
  const caFiles = simulators.map((simulator, i) => {
    const file = join(dir, i === 0 ? 'printer-ca.pem' : `printer-ca-${simulator.serial}.pem`);
    writeFileSync(file, simulator.pki.ca.certPem);
    return file;
  });
  const printerCaFile = caFiles[0] as string;
  const paths = statePaths(join(dir, 'state'));
  // The printers' services listen on the first printer's address (or Moat's own, with one printer).
  const serviceHost = plan.printers[0]?.lanAddress ?? host;
  const pick = (on: string, choices: number[]) => (anyPort ? Promise.resolve(0) : choosePort(on, choices));
  const ports = {
    mqtt: await pick(serviceHost, moatPortChoices.mqtt),
    ftps: await pick(serviceHost, moatPortChoices.ftps),
    https: await pick(host, moatPortChoices.https),
    http: await pick(host, moatPortChoices.http),
  };
  const passive: [number, number] = (!anyPort && (await findPassiveRange(serviceHost))) || randomPassiveRange();
  const codes = {} as Record<Role, string>;
  const entries = [];
  for (const role of roles) {
    const { entry, code } = await createAccessCode(`demo ${role}`, role);
    codes[role] = code;
    entries.push(entry);
  }
  // Moat's CA and keys survive demo restarts (so a slicer told to trust it keeps trusting it); the
  // printers, their access codes and the LAN access codes are new each run.
  const previous = loadConfig(paths);
  const config: MoatConfig = {
    ...previous,
    lan: { ...previous.lan, interface: 'lo', bindAddress: host, addresses: [host] },
    ports: { ...ports, passiveMin: passive[0], passiveMax: passive[1] },
    accessCodes: entries,
    firewall: { ...previous.firewall, enabled: false },
    relays: { ...previous.relays, ports: await relayPorts(serviceHost, anyPort) },
    web: { ...previous.web, claimFile: join(dir, 'moat-claim.txt') },
    printers: plan.printers.map((planned, i) =>
      demoPrinterEntry(planned, simulators[i] as SimulatedPrinter, caFiles[i] as string),
    ),
  };
  saveConfig(paths, config);
  for (const planned of plan.printers) writeSecret(paths, printerSecretName(planned.serial), planned.accessCode);
  const moat = await startMoat({ paths, developmentMode: true, logger: plan.logger });
  return { moat, paths, config, ports, passive, codes, printerCaFile, close: () => moat.close() };
}

function demoPrinterEntry(planned: PlannedPrinter, simulator: SimulatedPrinter, caFile: string): PrinterConfig {
  const { rtsps = 322, tunnel = 6000, bind = 3000, bindTls = 3002 } = simulator.ports;
  return {
    serial: planned.serial,
    model: planned.model,
    name: `Simulated ${simulator.model.displayName}`,
    address: planned.simulatorHost,
    ...(planned.lanAddress !== undefined && { lanAddress: planned.lanAddress }),
    lanAddressing: { method: 'fixed' }, // the demo's loopback addresses are not rendered for NetworkManager
    mqtt: { transport: 'tls', port: simulator.ports.mqtt },
    ftp: { transport: 'tls', port: simulator.ports.ftp },
    certificate: { policy: 'test-ca', caFile },
    passthrough: false,
    relays: { camera: true, fileTunnel: true, bind: true },
    relayPorts: { rtsps, tunnel, bind, bindTls },
  };
}

/** A passive range below Linux's ephemeral ports, random so that demos run side by side (tests) rarely meet. */
function randomPassiveRange(): [number, number] {
  const base = 20000 + Math.floor(Math.random() * 250) * 50;
  return [base, base + 49];
}

function describeDemo(plan: DemoPlan, simulators: SimulatedPrinter[], started: DemoMoat): DemoInfo {
  const { host } = plan;
  const { moat, paths, config, ports, passive, codes } = started;
  const printers = moat.fronts().map((front, i): DemoPrinter => {
    const planned = plan.printers[i] as PlannedPrinter;
    return {
      serial: planned.serial,
      model: planned.model,
      lanAddress: front.lanAddress,
      mqttPort: front.plane.mqtt.port || ports.mqtt,
      ftpsPort: front.plane.ftp.port || ports.ftps,
      statsUrl: simulators[i]?.statsUrl ?? '',
      ftpDir: planned.ftpDir,
    };
  });
  const first = printers[0] as DemoPrinter;
  const simulator = simulators[0] as SimulatedPrinter;
  const { serial, lanAddress: printerHost, mqttPort, ftpsPort } = first;
  const httpsPort = moat.web.httpsPort || ports.https;
  const caFile = paths.caCert;
  const report = `device/${serial}/report`;
  const info: DemoInfo = {
    username: 'bblp',
    moat: {
      host,
      mqtt: { host: printerHost, port: mqttPort },
      ftps: { host: printerHost, port: ftpsPort, passive },
      https: { url: `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}/`, port: httpsPort },
      http: { port: moat.web.httpPort || ports.http },
      caFile,
      caFingerprint256: moat.context.identity.caFingerprint256,
      stateDir: paths.root,
      logFile: join(plan.dir, 'moat.log'),
      claimFile: config.web.claimFile,
    },
    accessCodes: codes,
    printer: { serial, model: first.model },
    simulator: {
      host: simulator.host,
      mqttPort: simulator.ports.mqtt ?? 0,
      ftpPort: simulator.ports.ftp ?? 0,
      statsUrl: first.statsUrl,
      ftpDir: first.ftpDir,
      ftpRate: plan.ftpBytesPerSecond ?? null,
      caFile: started.printerCaFile,
    },
    printers,
    commands: {
      mosquittoSub: `mosquitto_sub -h ${printerHost} -p ${mqttPort} --cafile ${caFile} -u bblp -P ${codes.viewer} -t '${report}' -C 1`,
      mosquittoPushall: `mosquitto_pub -h ${printerHost} -p ${mqttPort} --cafile ${caFile} -u bblp -P ${codes.viewer} -t 'device/${serial}/request' -m '{"pushing":{"sequence_id":"1","command":"pushall"}}'`,
      curlUpload: `curl --ssl-reqd --ftp-pasv --cacert ${caFile} -u bblp:${codes.operator} -T model.3mf ftps://${printerHost}:${ftpsPort}/`,
      curlList: `curl --ssl-reqd --ftp-pasv --cacert ${caFile} -u bblp:${codes.viewer} ftps://${printerHost}:${ftpsPort}/`,
    },
  };
  return info;
}

async function findPassiveRange(host: string): Promise<[number, number] | undefined> {
  for (const range of passiveChoices) {
    if ((await canListen(host, range[0])) && (await canListen(host, range[1]))) return range;
  }
  return undefined;
}

export function demoSummary(info: DemoInfo, demoJsonPath: string): string {
  const m = info.moat;
  const several = info.printers.length > 1;
  const printers = several
    ? [
        ...info.printers.map(
          (p) => `  ${p.model.padEnd(4)} ${p.serial}  on ${p.lanAddress}: MQTT ${p.mqttPort}, FTPS ${p.ftpsPort}`,
        ),
        '',
      ]
    : [];
  const what = several
    ? `${info.printers.length} simulated printers, each behind its own Moat address,`
    : `a simulated ${info.printer.model} (serial ${info.printer.serial}) behind Moat`;
  return [
    `Moat demo running: ${what} on loopback.`,
    '',
    ...printers,
    `  MQTT (TLS)   ${m.mqtt.host}:${m.mqtt.port}     user bblp`,
    `  FTPS         ${m.ftps.host}:${m.ftps.port}      passive ${m.ftps.passive[0]}-${m.ftps.passive[1]}`,
    `  Setup page   ${m.https.url}   (first visit: the claim code is in ${m.claimFile})`,
    `  Moat CA      ${m.caFile}`,
    `               SHA-256 ${m.caFingerprint256}`,
    `  Access codes viewer ${info.accessCodes.viewer}   operator ${info.accessCodes.operator}   admin ${info.accessCodes.admin}`,
    `  Printer      stats ${info.simulator.statsUrl}   storage ${info.simulator.ftpDir}${several ? '   (the first)' : ''}`,
    ...(info.simulator.ftpRate === null
      ? []
      : [
          `  Printer FTP  capped at ${info.simulator.ftpRate} bytes/s: an upload through Moat ends at LAN speed, then drains (dashboard: two bars)`,
        ]),
    '',
    'Try it:',
    `  ${info.commands.mosquittoSub}`,
    `  ${info.commands.mosquittoPushall}`,
    `  ${info.commands.curlUpload}`,
    `  ${info.commands.curlList}`,
    '',
    `Everything above is in ${demoJsonPath}; logs in ${m.logFile}. Ctrl-C stops the demo.`,
  ].join('\n');
}
