import type { PrinterConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { addressRewriter } from './address-rewrite.js';
import { StateCache } from './state-cache.js';
import { PrinterUpstream } from './upstream.js';

/**
 * Everything Moat keeps for one printer: its upstream connection, the state cache, the address rewrite
 * of its reports and the `pushall` budget. The bridge publishes what this hands it to LAN clients.
 */
export interface PrinterLinkOptions {
  printer: PrinterConfig;
  accessCode: () => string;
  lanAddress: string;
  logger: Logger;
  pushallIntervalMs: number;
  quietRepushMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** A report for LAN subscribers, rewritten. */
  onReport(payload: Buffer, parsed: unknown): void;
  onAvailability(online: boolean): void;
}

const pushallPayload = Buffer.from('{"pushing":{"sequence_id":"0","command":"pushall"}}');
const startPushingPayload = Buffer.from('{"pushing":{"sequence_id":"0","command":"start"}}');

export class PrinterLink {
  readonly cache = new StateCache();
  readonly upstream: PrinterUpstream;
  private readonly rewrite: (payload: Buffer) => Buffer;
  private lastPushallAt = Number.NEGATIVE_INFINITY;
  private quietTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PrinterLinkOptions) {
    this.rewrite = addressRewriter(options.printer.address, options.lanAddress);
    this.upstream = new PrinterUpstream({
      printer: options.printer,
      accessCode: options.accessCode,
      logger: options.logger,
      retryMinMs: options.retryMinMs,
      retryMaxMs: options.retryMaxMs,
    });
    this.upstream.on('online', () => {
      options.onAvailability(true);
      // A printer that restarted, or dropped us, may have stopped pushing: restart it and take a full state.
      this.upstream.publish(startPushingPayload);
      this.requestPushall(true);
      this.armQuietTimer();
    });
    this.upstream.on('offline', () => {
      clearTimeout(this.quietTimer);
      options.onAvailability(false);
    });
    this.upstream.on('report', (payload) => this.onUpstreamReport(payload));
  }

  get serial(): string {
    return this.options.printer.serial;
  }

  get online(): boolean {
    return this.upstream.online;
  }

  start(): void {
    this.upstream.start();
  }

  /** Asks the printer for its full state unless it was asked within the interval; true when sent. */
  requestPushall(force = false): boolean {
    const now = Date.now();
    if (!force && now - this.lastPushallAt < this.options.pushallIntervalMs) return false;
    if (!this.upstream.publish(pushallPayload)) return false;
    this.lastPushallAt = now;
    return true;
  }

  async close(): Promise<void> {
    clearTimeout(this.quietTimer);
    await this.upstream.close();
  }

  private onUpstreamReport(payload: Buffer): void {
    this.armQuietTimer();
    const rewritten = this.rewrite(payload);
    let parsed: unknown;
    try {
      parsed = JSON.parse(rewritten.toString('utf8'));
      this.cache.apply(parsed);
    } catch {
      // Not JSON: forwarded as it came, not cached.
    }
    this.options.onReport(rewritten, parsed);
  }

  /** Clients run 30–60 s watchdogs; a printer gone quiet is asked again before they give up. */
  private armQuietTimer(): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => {
      this.requestPushall();
      this.armQuietTimer();
    }, this.options.quietRepushMs);
    this.quietTimer.unref();
  }
}
