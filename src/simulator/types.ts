import type { PrinterPki } from '../certs/printer-pki.js';
import type { PrinterModel } from '../printer-models.js';
import type { SimulatorStats } from './stats.js';

/** A part of the simulated printer that listens somewhere and can be stopped. */
export interface SimulatedService {
  port: number;
  close(): Promise<void>;
}

/** What every listener of the simulated printer is started with. */
export interface SimulatedServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  transport: 'tls' | 'plain';
  accessCode: string;
  pki: PrinterPki;
  stats: SimulatorStats;
}

export interface SimulatedMqttOptions extends SimulatedServerOptions {
  serial: string;
  model: PrinterModel;
  /** Default: the model's limit. */
  connectionLimit?: number;
  /** How often a running print advances (progress, layers). */
  printTickMs?: number;
  /** The printer's storage (the FTP root), where `project_file` looks for the file it names. */
  storageDir?: string;
}

export interface SimulatedFtpOptions extends SimulatedServerOptions {
  /** The printer's storage: a real directory. */
  rootDir: string;
  /** Throughput cap for each transfer, bytes per second; undefined = uncapped. */
  bytesPerSecond?: number;
  /** Data connections must resume the control connection's TLS session (vsFTPd's require_ssl_reuse). */
  requireSessionReuse?: boolean;
  /** End TLS data connections without close_notify, as printers do; default false (curl then complains). */
  uncleanDataClose?: boolean;
}

export interface SimulatedNotifyOptions {
  serial: string;
  model: PrinterModel;
  /** Address put in `Location`: where the printer is. */
  location: string;
  /** Where NOTIFY goes: the broadcast address on a real network, loopback in the demo. */
  targetHost: string;
  targetPort: number;
  /** Also to 239.255.255.250:1990 (multicast) — off on loopback. */
  multicast?: boolean;
  /** Address the sending socket binds to; default any. */
  bindAddress?: string;
  intervalMs: number;
  stats: SimulatorStats;
}

export interface SimulatedTcpServicesOptions {
  serial: string;
  model: PrinterModel;
  host: string;
  accessCode: string;
  pki: PrinterPki;
  stats: SimulatorStats;
  /** Listening ports; 0 or absent = any free port. */
  ports?: { rtsps?: number; tunnel?: number; bind?: number; bindTls?: number };
  /** How often the port-6000 camera sends a frame. */
  frameIntervalMs?: number;
}
