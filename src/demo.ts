import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createAccessCode, generateAccessCode } from './auth/access-codes.js';
import { startInOrder } from './capability.js';
import { type MoatConfig, type Role, roles } from './config/schema.js';
import { printerSecretName, writeSecret } from './config/secrets.js';
import { type StatePaths, statePaths } from './config/state-dir.js';
import { loadConfig, saveConfig } from './config/store.js';
import type { Logger } from './log.js';
import { canListen, firstListenable } from './net/port-probe.js';
import { type RunningMoat, startMoat } from './service.js';
import { type SimulatedPrinter, startSimulatedPrinter } from './simulator/index.js';

/**
 * The demo: a simulated printer and Moat in front of it, on loopback. Standard ports where this
 * process may bind them, documented high ports otherwise; demo.json always says which.
 */
export interface DemoOptions {
  dir: string;
  model?: string;
  serial?: string;
  /** Caps the simulated printer's FTP (`moat demo --ftp-rate`), to watch store-and-forward against a slow printer. */
  ftpBytesPerSecond?: number;
  logger: Logger;
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
  printer: { serial: string; model: string };
  simulator: {
    host: string;
    mqttPort: number;
    ftpPort: number;
    statsUrl: string;
    ftpDir: string;
    /** `--ftp-rate`: the printer's FTP cap in bytes per second; null = uncapped. */
    ftpRate: number | null;
    caFile: string;
  };
  commands: { mosquittoSub: string; mosquittoPushall: string; curlUpload: string; curlList: string };
}

export interface RunningDemo {
  info: DemoInfo;
  moat: RunningMoat;
  simulator: SimulatedPrinter;
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

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const host = '127.0.0.1';
  // The printer gets its own loopback address, so it can keep its real ports next to Moat's.
  const printerHost = (await canListen('127.0.0.2', 0)) ? '127.0.0.2' : host;
  const plan: DemoPlan = {
    dir,
    host,
    printerHost,
    serial: options.serial ?? '01S00C000000001',
    model: options.model ?? 'P1S',
    printerCode: generateAccessCode(),
    ftpDir: join(dir, 'printer-storage'),
    ftpBytesPerSecond: options.ftpBytesPerSecond,
    logger: options.logger,
  };
  const { serial, model, printerCode, ftpDir } = plan;
  let simulator: SimulatedPrinter | undefined;
  const started = await startInOrder({ logger: options.logger }, [
    {
      name: 'simulated printer',
      start: async () => {
        simulator = await startSimulatedPrinter({
          serial,
          model,
          accessCode: printerCode,
          host: printerHost,
          mqtt: { transport: 'tls', port: await choosePort(printerHost, [8883, 0]) },
          ftp: {
            transport: 'tls',
            port: await choosePort(printerHost, [990, 0]),
            rootDir: ftpDir,
            ...(plan.ftpBytesPerSecond !== undefined && { bytesPerSecond: plan.ftpBytesPerSecond }),
          },
          statsPort: 0,
        });
        return simulator;
      },
    },
    { name: 'moat', start: () => startDemoMoat(plan, simulator as SimulatedPrinter) },
  ] as const);
  const [sim, moat] = started.running;
  const info = describeDemo(plan, sim, moat);
  writeFileSync(join(dir, 'demo.json'), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  return { info, moat: moat.moat, simulator: sim, close: started.close };
}

/** What the demo decided before starting anything: where things run and the printer's identity. */
interface DemoPlan {
  dir: string;
  host: string;
  printerHost: string;
  serial: string;
  model: string;
  printerCode: string;
  ftpDir: string;
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

/** Moat in front of the simulated printer, on the demo's ports; its close() is Moat's. */
async function startDemoMoat(plan: DemoPlan, simulator: SimulatedPrinter): Promise<DemoMoat> {
  const { dir, host, printerHost, serial, model } = plan;
  const printerCaFile = join(dir, 'printer-ca.pem');
  writeFileSync(printerCaFile, simulator.pki.ca.certPem);
  const paths = statePaths(join(dir, 'state'));
  const ports = {
    mqtt: await choosePort(host, moatPortChoices.mqtt),
    ftps: await choosePort(host, moatPortChoices.ftps),
    https: await choosePort(host, moatPortChoices.https),
    http: await choosePort(host, moatPortChoices.http),
  };
  const passive: [number, number] = (await findPassiveRange(host)) ?? [50000, 50100];
  const codes = {} as Record<Role, string>;
  const entries = [];
  for (const role of roles) {
    const { entry, code } = await createAccessCode(`demo ${role}`, role);
    codes[role] = code;
    entries.push(entry);
  }
  // Moat's CA and keys survive demo restarts (so a slicer told to trust it keeps trusting it); the
  // printer, its access code and the LAN access codes are new each run.
  const previous = loadConfig(paths);
  const config: MoatConfig = {
    ...previous,
    lan: { ...previous.lan, interface: 'lo', bindAddress: host, addresses: [host] },
    ports: { ...ports, passiveMin: passive[0], passiveMax: passive[1] },
    accessCodes: entries,
    firewall: { ...previous.firewall, enabled: false },
    web: { ...previous.web, claimFile: join(dir, 'moat-claim.txt') },
    printers: [
      {
        serial,
        model,
        name: `Simulated ${simulator.model.displayName}`,
        address: printerHost,
        mqtt: { transport: 'tls', port: simulator.ports.mqtt },
        ftp: { transport: 'tls', port: simulator.ports.ftp },
        certificate: { policy: 'test-ca', caFile: printerCaFile },
        passthrough: false,
        relays: { camera: false, fileTunnel: false, bind: false },
        relayPorts: { rtsps: 322, tunnel: 6000, bind: 3000, bindTls: 3002 },
      },
    ],
  };
  saveConfig(paths, config);
  writeSecret(paths, printerSecretName(serial), plan.printerCode);
  const moat = await startMoat({ paths, developmentMode: true, logger: plan.logger });
  return { moat, paths, config, ports, passive, codes, printerCaFile, close: () => moat.close() };
}

function describeDemo(plan: DemoPlan, simulator: SimulatedPrinter, started: DemoMoat): DemoInfo {
  const { host, serial, model } = plan;
  const { moat, paths, config, ports, passive, codes } = started;

  const mqttPort = moat.mqtt.port || ports.mqtt;
  const ftpsPort = moat.ftp.port || ports.ftps;
  const httpsPort = moat.web.httpsPort || ports.https;
  const caFile = paths.caCert;
  const report = `device/${serial}/report`;
  const info: DemoInfo = {
    username: 'bblp',
    moat: {
      host,
      mqtt: { host, port: mqttPort },
      ftps: { host, port: ftpsPort, passive },
      https: { url: `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}/`, port: httpsPort },
      http: { port: moat.web.httpPort || ports.http },
      caFile,
      caFingerprint256: moat.context.identity.caFingerprint256,
      stateDir: paths.root,
      logFile: join(plan.dir, 'moat.log'),
      claimFile: config.web.claimFile,
    },
    accessCodes: codes,
    printer: { serial, model },
    simulator: {
      host: plan.printerHost,
      mqttPort: simulator.ports.mqtt ?? 0,
      ftpPort: simulator.ports.ftp ?? 0,
      statsUrl: simulator.statsUrl ?? '',
      ftpDir: plan.ftpDir,
      ftpRate: plan.ftpBytesPerSecond ?? null,
      caFile: started.printerCaFile,
    },
    commands: {
      mosquittoSub: `mosquitto_sub -h ${host} -p ${mqttPort} --cafile ${caFile} -u bblp -P ${codes.viewer} -t '${report}' -C 1`,
      mosquittoPushall: `mosquitto_pub -h ${host} -p ${mqttPort} --cafile ${caFile} -u bblp -P ${codes.viewer} -t 'device/${serial}/request' -m '{"pushing":{"sequence_id":"1","command":"pushall"}}'`,
      curlUpload: `curl --ssl-reqd --ftp-pasv --cacert ${caFile} -u bblp:${codes.operator} -T model.3mf ftps://${host}:${ftpsPort}/`,
      curlList: `curl --ssl-reqd --ftp-pasv --cacert ${caFile} -u bblp:${codes.viewer} ftps://${host}:${ftpsPort}/`,
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
  return [
    `Moat demo running: a simulated ${info.printer.model} (serial ${info.printer.serial}) behind Moat on loopback.`,
    '',
    `  MQTT (TLS)   ${m.mqtt.host}:${m.mqtt.port}     user bblp`,
    `  FTPS         ${m.ftps.host}:${m.ftps.port}      passive ${m.ftps.passive[0]}-${m.ftps.passive[1]}`,
    `  Setup page   ${m.https.url}   (first visit: the claim code is in ${m.claimFile})`,
    `  Moat CA      ${m.caFile}`,
    `               SHA-256 ${m.caFingerprint256}`,
    `  Access codes viewer ${info.accessCodes.viewer}   operator ${info.accessCodes.operator}   admin ${info.accessCodes.admin}`,
    `  Printer      stats ${info.simulator.statsUrl}   storage ${info.simulator.ftpDir}`,
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
