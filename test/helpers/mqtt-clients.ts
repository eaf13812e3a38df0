import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { type Harness, startHarness } from './harness.js';
import { LineProcess } from './process.js';
import { waitFor } from './wait.js';

/**
 * Real MQTT clients for end-to-end tests: the Mosquitto command-line tools and mqtt.js, with helpers
 * that wait for an event or poll a condition under a deadline (never a bare sleep).
 */

/** A running mosquitto_sub/mosquitto_pub: its output lines, and a way to wait for one. */
export class MosquittoProcess extends LineProcess {
  constructor(command: 'mosquitto_sub' | 'mosquitto_pub', args: string[]) {
    // Line-buffered: mosquitto's stdio would otherwise hold lines back until it exits.
    super('stdbuf', ['-oL', '-eL', command, ...args]);
  }
}

export interface BrokerEndpoint {
  /** Default 127.0.0.1. */
  host?: string;
  port: number;
  /** CA file for TLS; undefined = plaintext. */
  caFile?: string;
  username?: string;
  password: string;
}

/** Common mosquitto_* arguments. `--insecure` skips only the host-name check (printer leaves have CN =
 * serial and no SAN); the chain is still verified against the CA file. */
export function mosquittoArgs(endpoint: BrokerEndpoint): string[] {
  const args = [
    '-h',
    '127.0.0.1',
    '-p',
    String(endpoint.port),
    '-u',
    endpoint.username ?? 'bblp',
    '-P',
    endpoint.password,
  ];
  if (endpoint.caFile) args.push('--cafile', endpoint.caFile, '--insecure');
  return args;
}

/** An mqtt.js client connected (or refused) — resolves once CONNACK arrives. */
export async function connectMqtt(endpoint: BrokerEndpoint, extra: IClientOptions = {}): Promise<MqttClient> {
  const options: IClientOptions = {
    host: endpoint.host ?? '127.0.0.1',
    port: endpoint.port,
    protocol: endpoint.caFile ? 'mqtts' : 'mqtt',
    username: endpoint.username ?? 'bblp',
    password: endpoint.password,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...(endpoint.caFile && { ca: readFileSync(endpoint.caFile), checkServerIdentity: () => undefined }),
    ...extra,
  };
  // Not connectAsync: a refused client can emit 'error' again after the promise settled, which would
  // surface as an uncaught exception in whichever test runs next.
  const client = mqtt.connect(options);
  return new Promise((resolve, reject) => {
    client.on('error', (error) => {
      if (client.connected) return;
      client.end(true);
      reject(error);
    });
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
    client.once('connect', () => resolve(client));
  });
}

/** Collects the messages a client receives on one topic, parsed as JSON. */
export function collectMessages(client: MqttClient, topic: string): Record<string, unknown>[] {
  const received: Record<string, unknown>[] = [];
  client.on('message', (t, payload) => {
    if (t !== topic) return;
    try {
      received.push(JSON.parse(payload.toString('utf8')) as Record<string, unknown>);
    } catch {
      received.push({ unparsable: payload.toString('utf8') });
    }
  });
  return received;
}

/** Moat's LAN MQTT endpoint in a harness, for one role's access code. */
export function moatEndpoint(
  h: { moat?: { mqtt: { port: number } }; moatCaFile: string; codes: Record<'viewer' | 'operator' | 'admin', string> },
  role: 'viewer' | 'operator' | 'admin',
): BrokerEndpoint {
  if (!h.moat) throw new Error('the harness runs no Moat');
  return { port: h.moat.mqtt.port, caFile: h.moatCaFile, password: h.codes[role] };
}

/** Waits until Moat holds the printer connection and a full state of it. */
export function waitForPrinterReady(h: { moat?: { mqtt: { printers(): { online: boolean; state?: unknown }[] } } }) {
  return waitFor(
    () => {
      const printer = h.moat?.mqtt.printers()[0];
      return printer?.online === true && printer.state !== undefined;
    },
    { what: 'Moat to reach the printer and cache its state' },
  );
}

/**
 * Moat in front of a simulated X1C that speaks MQTT only, on 127.0.0.2 while Moat listens on 127.0.0.1 (so the
 * address rewrite in reports is observable), printing too slowly for its state to change under a test. Returns
 * once Moat has the printer's first report.
 */
export async function startMqttOnlyHarness(): Promise<Harness> {
  const h = await startHarness({
    model: 'X1C',
    ftp: false,
    simulator: { host: '127.0.0.2', mqtt: { transport: 'tls', printTickMs: 60000 } },
  });
  try {
    await waitForPrinterReady(h);
  } catch (error) {
    await h.close();
    throw error;
  }
  return h;
}
