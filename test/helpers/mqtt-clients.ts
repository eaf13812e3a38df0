import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { waitFor as waitForCondition } from './wait.js';

/**
 * Real MQTT clients for end-to-end tests: the Mosquitto command-line tools and mqtt.js, with helpers
 * that wait for an event or poll a condition under a deadline (never a bare sleep).
 */

/** The MQTT tests' argument order for the shared `waitFor` (test/helpers/wait.ts). */
export function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
  intervalMs = 20,
): Promise<T> {
  return waitForCondition(probe, { what, timeoutMs, intervalMs });
}

/** A running mosquitto_sub/mosquitto_pub: its output lines, and a way to wait for one. */
export class MosquittoProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  exitCode: number | null | undefined;
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(command: 'mosquitto_sub' | 'mosquitto_pub', args: string[]) {
    // Line-buffered: mosquitto's stdio would otherwise hold lines back until it exits.
    this.child = spawn('stdbuf', ['-oL', '-eL', command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (into: string[]) => {
      let rest = '';
      return (chunk: Buffer) => {
        const text = rest + chunk.toString('utf8');
        const lines = text.split('\n');
        rest = lines.pop() ?? '';
        into.push(...lines);
      };
    };
    this.child.stdout?.on('data', collect(this.stdout));
    this.child.stderr?.on('data', collect(this.stderr));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      });
    });
  }

  /** Waits for a line (stdout or, with -d, stderr/stdout debug) matching the pattern. */
  waitForLine(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    return waitFor(
      `a line matching ${pattern}`,
      () => [...this.stdout, ...this.stderr].find((l) => pattern.test(l)),
      timeoutMs,
    );
  }

  async kill(): Promise<void> {
    if (this.exitCode === undefined) {
      this.child.kill('SIGTERM');
      await this.exited;
    }
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
  return waitFor('Moat to reach the printer and cache its state', () => {
    const printer = h.moat?.mqtt.printers()[0];
    return printer?.online === true && printer.state !== undefined;
  });
}
