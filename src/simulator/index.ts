import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPrinterPki, type PrinterPki } from '../certs/printer-pki.js';
import { type PrinterModel, printerModel } from '../printer-models.js';
import { startSimulatedFtp } from './ftp-printer.js';
import { startSimulatedMqtt } from './mqtt-printer.js';
import { startNotifier } from './notify.js';
import { SimulatorStats } from './stats.js';
import { startSimulatedTcpServices } from './tcp-services.js';
import type { SimulatedService, SimulatedTcpServicesOptions } from './types.js';

export interface SimulatedPrinterOptions {
  serial: string;
  /** A model id from printer-models.ts (X1C, P1S, A1, ...). */
  model: string;
  accessCode: string;
  /** Address every listener binds to. */
  host?: string;
  /** Reuse a PKI across restarts (tests restart the printer and expect the same certificate). */
  pki?: PrinterPki;
  mqtt?: { transport: 'tls' | 'plain'; port?: number; connectionLimit?: number; printTickMs?: number } | false;
  ftp?:
    | {
        transport: 'tls' | 'plain';
        port?: number;
        rootDir: string;
        bytesPerSecond?: number;
        requireSessionReuse?: boolean;
        uncleanDataClose?: boolean;
      }
    | false;
  notify?:
    | {
        targetHost: string;
        targetPort: number;
        location?: string;
        intervalMs?: number;
        multicast?: boolean;
        bindAddress?: string;
      }
    | false;
  /** The camera (322, 6000) and bind (3000, 3002) stand-ins that Moat's relays carry; off unless given. */
  tcpServices?: Pick<SimulatedTcpServicesOptions, 'ports' | 'frameIntervalMs'> | false;
  /** Stats over HTTP on 127.0.0.1; 0 = any free port, false = none. */
  statsPort?: number | false;
}

export interface SimulatedPrinter {
  serial: string;
  model: PrinterModel;
  accessCode: string;
  pki: PrinterPki;
  host: string;
  stats: SimulatorStats;
  ports: {
    mqtt?: number;
    ftp?: number;
    stats?: number;
    rtsps?: number;
    tunnel?: number;
    bind?: number;
    bindTls?: number;
  };
  statsUrl?: string;
  /** Publishes a payload on the printer's report topic (benchmarks); present when MQTT runs. */
  publishReport?(payload: Buffer | string): void;
  close(): Promise<void>;
}

/** The simulator's counters as JSON on 127.0.0.1 (GET /stats). */
async function serveStats(stats: SimulatorStats, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(stats));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

function startFtpPart(
  ftp: Exclude<SimulatedPrinterOptions['ftp'], false | undefined>,
  common: { host: string; accessCode: string; pki: PrinterPki; stats: SimulatorStats },
) {
  mkdirSync(ftp.rootDir, { recursive: true });
  return startSimulatedFtp({
    ...common,
    port: ftp.port ?? 0,
    transport: ftp.transport,
    rootDir: ftp.rootDir,
    requireSessionReuse: ftp.requireSessionReuse ?? true,
    ...(ftp.bytesPerSecond !== undefined && { bytesPerSecond: ftp.bytesPerSecond }),
    ...(ftp.uncleanDataClose !== undefined && { uncleanDataClose: ftp.uncleanDataClose }),
  });
}

function startNotifyPart(
  serial: string,
  model: PrinterModel,
  host: string,
  notify: Exclude<SimulatedPrinterOptions['notify'], false | undefined>,
  stats: SimulatorStats,
) {
  return startNotifier({
    serial,
    model,
    location: notify.location ?? host,
    targetHost: notify.targetHost,
    targetPort: notify.targetPort,
    intervalMs: notify.intervalMs ?? 5000,
    multicast: notify.multicast ?? false,
    stats,
    ...(notify.bindAddress !== undefined && { bindAddress: notify.bindAddress }),
  });
}

/** A whole simulated printer: MQTT broker, FTP server, NOTIFY sender, camera/bind services and a stats endpoint. */
export async function startSimulatedPrinter(options: SimulatedPrinterOptions): Promise<SimulatedPrinter> {
  const model = printerModel(options.model);
  const host = options.host ?? '127.0.0.1';
  const pki = options.pki ?? (await createPrinterPki(options.serial));
  const stats = new SimulatorStats();
  const running: Pick<SimulatedService, 'close'>[] = [];
  const ports: SimulatedPrinter['ports'] = {};
  let publishReport: SimulatedPrinter['publishReport'];
  let statsServer: Server | undefined;

  const close = async () => {
    await Promise.allSettled(running.reverse().map((s) => s.close()));
    if (statsServer) await new Promise<void>((resolve) => statsServer?.close(() => resolve()));
  };

  try {
    if (options.mqtt) {
      const mqtt = await startSimulatedMqtt({
        serial: options.serial,
        model,
        host,
        port: options.mqtt.port ?? 0,
        transport: options.mqtt.transport,
        accessCode: options.accessCode,
        pki,
        stats,
        ...(options.mqtt.connectionLimit !== undefined && { connectionLimit: options.mqtt.connectionLimit }),
        ...(options.mqtt.printTickMs !== undefined && { printTickMs: options.mqtt.printTickMs }),
        ...(options.ftp && { storageDir: options.ftp.rootDir }),
      });
      running.push(mqtt);
      ports.mqtt = mqtt.port;
      publishReport = mqtt.publishReport;
    }
    if (options.ftp) {
      const ftp = await startFtpPart(options.ftp, { host, accessCode: options.accessCode, pki, stats });
      running.push(ftp);
      ports.ftp = ftp.port;
    }
    if (options.notify) running.push(await startNotifyPart(options.serial, model, host, options.notify, stats));
    if (options.tcpServices) {
      const tcp = await startSimulatedTcpServices({
        serial: options.serial,
        model,
        host,
        accessCode: options.accessCode,
        pki,
        stats,
        ...options.tcpServices,
      });
      running.push(tcp);
      Object.assign(ports, tcp.ports);
    }
    if (options.statsPort !== false) {
      statsServer = await serveStats(stats, options.statsPort || 0);
      ports.stats = (statsServer.address() as AddressInfo).port;
    }
  } catch (error) {
    await close();
    throw error;
  }

  return {
    serial: options.serial,
    model,
    accessCode: options.accessCode,
    pki,
    host,
    stats,
    ports,
    ...(ports.stats !== undefined && { statsUrl: `http://127.0.0.1:${ports.stats}/stats` }),
    ...(publishReport && { publishReport }),
    close,
  };
}
