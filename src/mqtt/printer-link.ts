import { performance } from 'node:perf_hooks';
import type { PrinterConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { addressRewriter } from './address-rewrite.js';
import { withoutSecrets } from './report-secrets.js';
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
  /** A report for LAN subscribers, rewritten, without credentials. */
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
  /** When the printer was last heard from (monotonic ms): the quiet timer reads it instead of being re-armed per report. */
  private lastHeardAt = 0;
  /** The code this connection logged in with: reports are searched for it (read once per connection). */
  private printerAccessCode: string | undefined;

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
      try {
        this.printerAccessCode = options.accessCode();
      } catch {
        // The connection just logged in with it; a code removed since is found missing at the next login.
      }
      options.onAvailability(true);
      // A printer that restarted, or dropped us, may have stopped pushing: restart it and take a full state.
      this.upstream.publish(startPushingPayload);
      this.requestPushall(true);
      this.lastHeardAt = performance.now();
      this.armQuietTimer(options.quietRepushMs);
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

  /** The one place upstream reports enter Moat: addresses rewritten, credentials removed, then cached and handed on. */
  private onUpstreamReport(payload: Buffer): void {
    this.lastHeardAt = performance.now();
    const clean = withoutSecrets(this.rewrite(payload), this.printerAccessCode);
    if (!clean) {
      this.options.logger.warn({ serial: this.serial }, 'report dropped: not JSON and holds the printer access code');
      return;
    }
    if (clean.removed.length > 0) {
      this.options.logger.info({ serial: this.serial, fields: clean.removed }, 'credentials removed from a report');
    }
    // Not JSON: forwarded as it came, not cached.
    if (clean.parsed !== undefined) this.cache.apply(clean.parsed);
    this.options.onReport(clean.payload, clean.parsed);
  }

  /**
   * Clients run 30–60 s watchdogs; a printer gone quiet is asked again before they give up. One timer per
   * quiet period, not one per report: when it fires after reports came, it waits out the rest of the period.
   */
  private armQuietTimer(delayMs: number): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => {
      const quietMs = this.options.quietRepushMs;
      const heardAgo = performance.now() - this.lastHeardAt;
      if (heardAgo < quietMs) {
        this.armQuietTimer(quietMs - heardAgo);
        return;
      }
      this.requestPushall();
      this.armQuietTimer(quietMs);
    }, delayMs);
    this.quietTimer.unref();
  }
}
