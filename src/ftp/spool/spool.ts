import { mkdirSync, rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type MoatConfig, storeAndForward } from '../../config/schema.js';
import type { MoatEvents, TransferEvent } from '../../events.js';
import type { Logger } from '../../log.js';
import { type Transfer, TransferTracker } from '../transfers.js';
import { FtpRefusal } from '../upload-policy.js';
import { type DrainOutcome, DrainQueue } from './drain-queue.js';
import {
  dataPath,
  loadEntries,
  newEntryId,
  printerSpoolDir,
  removeEntry,
  type SpoolEntry,
  SpoolWriter,
  spoolQuota,
  writeMetadata,
} from './spool-files.js';

export interface SpoolOptions {
  /** The spool's directory, under Moat's state. */
  root: string;
  config: () => MoatConfig;
  /** The printer's own access code. */
  accessCode: (serial: string) => string;
  events: MoatEvents;
  logger: Logger;
}

/** What one upload into the spool needs to know. */
export interface SpoolUploadRequest {
  serial: string;
  /** The absolute printer path, already through the upload policy. */
  target: string;
  maxUploadBytes: number;
  label: string;
  address: string;
}

/**
 * Store-and-forward: uploads taken whole into Moat's state (`spool-files.ts`), then drained to their printer
 * one at a time (`drain-queue.ts`). Made once per process on the service context, so it outlives restarts
 * of the bridges: the FTPS bridge puts files in, the MQTT bridge's print gate asks what is still draining.
 */
export class Spool {
  private readonly queues = new Map<string, DrainQueue>();
  private readonly waiters = new Map<string, ((outcome: DrainOutcome) => void)[]>();
  private readonly tracker: TransferTracker;
  private readonly log: Logger;
  /** Bytes of complete entries, and of uploads still arriving. */
  private stored = 0;
  private receiving = 0;

  constructor(private readonly options: SpoolOptions) {
    this.tracker = new TransferTracker(options.events);
    this.log = options.logger.child({ component: 'spool' });
  }

  /** Drains what an earlier run left (a restart or a power cut during a drain); removes incomplete uploads. */
  resume(): void {
    const entries = loadEntries(this.options.root, (file, why) => this.log.warn({ file }, `spool: removed ${why}`));
    for (const entry of entries) {
      this.stored += entry.size;
      this.log.info({ serial: entry.serial, file: entry.target, bytes: entry.size }, 'resuming drain');
      this.queue(entry.serial).add(entry);
    }
  }

  /** Whether uploads to this printer go through the spool now. */
  enabledFor(serial: string): boolean {
    const printer = this.options.config().printers.find((p) => p.serial === serial);
    return printer !== undefined && storeAndForward(printer);
  }

  /** Files received and not yet on the printer, in drain order. */
  pending(serial: string): readonly SpoolEntry[] {
    return this.queues.get(serial)?.pending() ?? [];
  }

  /**
   * Settles when every pending file of `serial` that `match` selects has drained: ok when all landed, else the
   * first failure. Nothing pending (or already delivered): ok at once.
   */
  async delivered(serial: string, match: (entry: SpoolEntry) => boolean): Promise<DrainOutcome> {
    const waiting = this.pending(serial)
      .filter(match)
      .map(
        (entry) =>
          new Promise<DrainOutcome>((resolve) =>
            this.waiters.set(entry.id, [...(this.waiters.get(entry.id) ?? []), resolve]),
          ),
      );
    const outcomes = await Promise.all(waiting);
    return outcomes.find((outcome) => !outcome.ok) ?? { ok: true };
  }

  /** The drains (Moat → printer) for the dashboard. */
  transfers(): TransferEvent[] {
    return this.tracker.list();
  }

  /** Starts receiving an upload; refused with 452 when the spool is already full. */
  receive(request: SpoolUploadRequest, tracker: TransferTracker): SpoolUpload {
    const configured = this.options.config().spool.maxBytes;
    mkdirSync(printerSpoolDir(this.options.root, request.serial), { recursive: true, mode: 0o700 });
    const quota = spoolQuota(this.options.root, configured, this.stored + this.receiving);
    if (this.stored + this.receiving >= quota)
      throw new FtpRefusal(452, "Insufficient storage space: Moat's spool is full; try again once it has drained");
    return new SpoolUpload(this, request, quota, tracker);
  }

  /** @internal SpoolUpload's share of the quota. */
  reserve(bytes: number, quota: number): boolean {
    if (this.stored + this.receiving + bytes > quota) return false;
    this.receiving += bytes;
    return true;
  }

  /** @internal */
  release(bytes: number): void {
    this.receiving -= bytes;
  }

  /** @internal A complete upload: on disk with its metadata, then queued for its printer. */
  accept(entry: SpoolEntry, reserved: number): void {
    writeMetadata(this.options.root, entry);
    this.receiving -= reserved;
    this.stored += entry.size;
    this.queue(entry.serial).add(entry);
  }

  get root(): string {
    return this.options.root;
  }

  close(): void {
    for (const queue of this.queues.values()) queue.close();
    this.queues.clear();
    // Held commands wait on these: after a stop they must be dropped, never sent late.
    for (const [id, waiters] of this.waiters) {
      for (const resolve of waiters) resolve({ ok: false, reason: 'Moat stopped before the file reached the printer' });
      this.waiters.delete(id);
    }
  }

  private queue(serial: string): DrainQueue {
    let queue = this.queues.get(serial);
    if (!queue) {
      queue = new DrainQueue(serial, {
        root: this.options.root,
        target: () => {
          const config = this.options.config();
          const printer = config.printers.find((p) => p.serial === serial);
          if (!printer) return undefined;
          return { printer, accessCode: this.options.accessCode(serial), timeoutMs: config.ftp.printerTimeoutMs };
        },
        retry: () => ({ minMs: this.options.config().spool.retryMinMs, maxMs: this.options.config().spool.retryMaxMs }),
        transfers: this.tracker,
        logger: this.log,
        settled: (entry, outcome) => this.settled(entry, outcome),
      });
      this.queues.set(serial, queue);
    }
    return queue;
  }

  private settled(entry: SpoolEntry, outcome: DrainOutcome): void {
    removeEntry(this.options.root, entry);
    this.stored -= entry.size;
    if (!outcome.ok)
      this.log.warn({ serial: entry.serial, file: entry.target, reason: outcome.reason }, 'drain failed');
    for (const resolve of this.waiters.get(entry.id) ?? []) resolve(outcome);
    this.waiters.delete(entry.id);
  }
}

/**
 * One upload into the spool, with the interface of the streaming `PrinterUpload`: `receive` writes the LAN
 * data connection to disk (hashed, under the size limit and the spool's quota, fsynced), `commit` makes it a
 * spool entry and queues its drain (before the client's `226`), `discard` removes what arrived.
 */
export class SpoolUpload {
  private readonly id = newEntryId();
  private readonly writer: SpoolWriter;
  private reserved = 0;
  private readonly transfer: Transfer;

  constructor(
    private readonly spool: Spool,
    private readonly request: SpoolUploadRequest,
    quota: number,
    tracker: TransferTracker,
  ) {
    this.transfer = tracker.start({
      serial: request.serial,
      direction: 'upload',
      stage: 'spool',
      name: request.target,
      label: request.label,
      address: request.address,
    });
    this.writer = new SpoolWriter(dataPath(spool.root, { serial: request.serial, id: this.id }), (bytes) => {
      if (this.writer.bytes + bytes > request.maxUploadBytes)
        return new FtpRefusal(552, `Upload exceeds the maximum size of ${request.maxUploadBytes} bytes`);
      if (!spool.reserve(bytes, quota))
        return new FtpRefusal(452, "Insufficient storage space: Moat's spool is full; try again once it has drained");
      this.reserved += bytes;
      this.transfer.add(bytes);
      return undefined;
    });
  }

  async receive(source: Readable): Promise<void> {
    try {
      await pipeline(source, this.writer);
    } catch (error) {
      // Only a failure of the spool file is Moat's (451, or 452 for a full disk); anything else is the client's.
      if (error instanceof FtpRefusal || this.writer.errored !== error) throw error;
      const full = (error as NodeJS.ErrnoException).code === 'ENOSPC';
      throw new FtpRefusal(full ? 452 : 451, `Moat could not store the upload: ${(error as Error).message}`);
    }
  }

  async commit(): Promise<void> {
    const { serial, target, label } = this.request;
    this.spool.accept(
      {
        id: this.id,
        serial,
        target,
        size: this.writer.bytes,
        sha256: this.writer.digest(),
        receivedAt: new Date().toISOString(),
        label,
      },
      this.reserved,
    );
    this.reserved = 0;
    this.transfer.done();
  }

  async discard(reason: string): Promise<void> {
    this.transfer.failed(reason);
    this.writer.destroy();
    this.spool.release(this.reserved);
    this.reserved = 0;
    rmSync(dataPath(this.spool.root, { serial: this.request.serial, id: this.id }), { force: true });
  }
}
