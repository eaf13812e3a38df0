import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { MqttClient } from 'mqtt';
import { certificateProblem, printerTlsOptions } from '../certs/printer-certificate.js';
import { type PrinterConfig, printerMqttPort } from '../config/schema.js';
import type { Logger } from '../log.js';
import { SocketStream } from '../net/socket-stream.js';
import { backoffDelay } from './backoff.js';

/**
 * Moat's one MQTT connection to a printer: subscribes to the report topic only (P1/A1 drop a client that
 * subscribes to `request`), reconnects forever with capped exponential backoff and jitter, and tells the
 * bridge when the printer comes and goes.
 */
export interface UpstreamOptions {
  printer: PrinterConfig;
  accessCode: () => string;
  logger: Logger;
  retryMinMs: number;
  retryMaxMs: number;
}

/** How a publish ended: undefined once written (QoS 0) or acknowledged by the printer (QoS 1), else what happened. */
export type PublishDone = (failure: string | undefined) => void;

export interface UpstreamEvents {
  online: [];
  offline: [reason: string];
  report: [payload: Buffer];
}

export class PrinterUpstream extends EventEmitter<UpstreamEvents> {
  online = false;
  private client: MqttClient | undefined;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastError = 'not connected yet';
  /** Publishes of the current connection not yet ended: each fails when the connection closes. */
  private readonly unfinished = new Set<() => void>();
  private readonly reportTopic: string;
  private readonly requestTopic: string;

  constructor(private readonly options: UpstreamOptions) {
    super();
    this.reportTopic = `device/${options.printer.serial}/report`;
    this.requestTopic = `device/${options.printer.serial}/request`;
  }

  start(): void {
    this.connect();
  }

  /**
   * Sends a request payload byte-for-byte; false when the printer is not connected. `done` is called once.
   * mqtt.js reports a write to a socket being torn down by never calling back (it waits for a `drain`), and
   * an unacknowledged QoS 1 publish only when the client is cleaned up: so every publish still open when
   * the connection closes fails then.
   */
  publish(payload: Buffer, qos: 0 | 1 = 0, done: PublishDone = () => {}): boolean {
    const client = this.client;
    if (!this.online || !client) {
      done('printer not connected');
      return false;
    }
    const lost =
      qos === 0
        ? 'printer connection closed before the command was sent'
        : 'printer connection closed before the printer acknowledged it';
    const finish = (failure: string | undefined) => {
      if (this.unfinished.delete(fail)) done(failure);
    };
    const fail = () => finish(lost);
    this.unfinished.add(fail);
    client.publish(this.requestTopic, payload, { qos }, (error) => finish(error ? lost : undefined));
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync(true).catch(() => {});
    this.setOffline('bridge stopped');
  }

  private connect(): void {
    const { printer, logger } = this.options;
    let accessCode: string;
    try {
      accessCode = this.options.accessCode();
    } catch (error) {
      this.lastError = (error as Error).message;
      logger.error({ serial: printer.serial, reason: this.lastError }, 'cannot connect to the printer');
      this.scheduleRetry();
      return;
    }
    const client = new MqttClient(() => this.openStream(), {
      protocolVersion: 4,
      clientId: `moat-${randomBytes(6).toString('hex')}`,
      username: 'bblp',
      password: accessCode,
      clean: true,
      keepalive: 30,
      connectTimeout: 10000,
      reconnectPeriod: 0,
      // This client never reconnects: a QoS 0 publish it cannot write now fails instead of waiting in its queue.
      queueQoSZero: false,
      resubscribe: false,
    });
    this.client = client;
    client.on('connect', () => {
      this.attempt = 0;
      client.subscribe(this.reportTopic, { qos: 0 }, (error) => {
        if (error) {
          this.lastError = `subscribe failed: ${error.message}`;
          client.end(true);
          return;
        }
        this.online = true;
        logger.info({ serial: printer.serial }, 'printer connected');
        this.emit('online');
      });
    });
    client.on('message', (topic, payload) => {
      if (topic === this.reportTopic) this.emit('report', payload);
    });
    client.on('error', (error) => {
      this.lastError = error.message;
    });
    client.once('close', () => {
      client.removeAllListeners('message');
      client.end(true);
      for (const fail of [...this.unfinished]) fail();
      if (this.client !== client) return;
      this.client = undefined;
      this.setOffline(this.lastError);
      if (!this.closed) this.scheduleRetry();
    });
  }

  private openStream(): SocketStream {
    const { printer, logger } = this.options;
    const host = printer.address;
    const port = printerMqttPort(printer);
    if (printer.mqtt.transport === 'plain') return new SocketStream(connectTcp({ host, port, noDelay: true }));
    const socket = connectTls({ host, port, ...printerTlsOptions(printer) });
    socket.setNoDelay(true);
    const verified = new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => {
        const problem = certificateProblem(socket, printer);
        if (problem === undefined) {
          resolve();
          return;
        }
        logger.warn({ serial: printer.serial, address: host, reason: problem }, 'printer certificate refused');
        reject(new Error(`printer certificate refused: ${problem}`));
      });
    });
    return new SocketStream(socket, { writesAfter: verified });
  }

  private scheduleRetry(): void {
    if (this.closed) return;
    const delay = backoffDelay(this.attempt++, this.options.retryMinMs, this.options.retryMaxMs);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private setOffline(reason: string): void {
    if (!this.online) return;
    this.online = false;
    this.options.logger.warn({ serial: this.options.printer.serial, reason }, 'printer disconnected');
    this.emit('offline', reason);
  }
}
