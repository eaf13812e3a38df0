import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { Transform } from 'node:stream';
import type { Logger } from '../../log.js';
import { backoffDelay } from '../../mqtt/backoff.js';
import type { PrinterFtpTarget, PrinterSession } from '../printer-session.js';
import type { TransferTracker } from '../transfers.js';
import { dataPath, type SpoolEntry } from './spool-files.js';

/** How a drain ended: the file is on the printer with its size, or it never will be (and why). */
export type DrainOutcome = { ok: true } | { ok: false; reason: string };

export interface DrainSettings {
  /** The spool's directory. */
  root: string;
  /** The printer's FTP target now; undefined when the printer is no longer configured. */
  target: () => PrinterFtpTarget | undefined;
  retry: () => { minMs: number; maxMs: number };
  transfers: TransferTracker;
  logger: Logger;
  /** Called once per entry, after its spool files may be removed. */
  settled: (entry: SpoolEntry, outcome: DrainOutcome) => void;
}

/** The printer refused the file itself (a 5xx, a size that does not match): retried a few times, then given up. */
const refusalsBeforeGivingUp = 3;

/** A drain that cannot succeed by retrying. */
class DrainFailure extends Error {}
/** The printer answered, but not with the file: worth a few more tries. */
class DrainRefused extends Error {}

/**
 * One printer's drain: spooled files go to the printer one at a time, in the order they were received, each
 * under a temporary name (`.moat-<id>.part`, the same on every attempt, so a resumed drain overwrites what an
 * interrupted one left) and renamed into place; the printer's size of the result must match. While the
 * printer cannot be reached the drain retries with backoff, for as long as it takes.
 */
export class DrainQueue {
  private readonly entries: SpoolEntry[] = [];
  /** The printer FTP client (basic-ftp), imported at the first drain: a Moat with nothing to drain does not carry it. */
  private ftp: typeof import('../printer-session.js') | undefined;
  private session: PrinterSession | undefined;
  private running = false;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    readonly serial: string,
    private readonly settings: DrainSettings,
  ) {}

  add(entry: SpoolEntry): void {
    this.entries.push(entry);
    if (!this.running) void this.run();
  }

  /** Entries not yet on the printer, the one draining first. */
  pending(): readonly SpoolEntry[] {
    return this.entries;
  }

  /** Stops at once; what was not drained stays in the spool for the next start. */
  close(): void {
    this.closed = true;
    this.session?.close();
    this.wake?.();
  }

  private async run(): Promise<void> {
    this.running = true;
    while (!this.closed && this.entries.length > 0) {
      const entry = this.entries[0] as SpoolEntry;
      const outcome = await this.drainWithRetries(entry);
      if (this.closed) break;
      this.entries.shift();
      this.settings.settled(entry, outcome);
    }
    this.running = false;
    this.session?.close();
    this.session = undefined;
  }

  private async drainWithRetries(entry: SpoolEntry): Promise<DrainOutcome> {
    const log = this.settings.logger.child({ serial: this.serial, file: entry.target });
    let refusals = 0;
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.drainOnce(entry);
        log.info({ bytes: entry.size }, 'spooled file delivered to the printer');
        return { ok: true };
      } catch (error) {
        if (this.closed) break;
        const reason = (error as Error).message;
        if (error instanceof DrainFailure) return { ok: false, reason };
        if (error instanceof DrainRefused || this.ftp?.refusedByPrinter(error)) refusals++;
        if (refusals >= refusalsBeforeGivingUp) return { ok: false, reason: `the printer refused it: ${reason}` };
        const { minMs, maxMs } = this.settings.retry();
        const delay = backoffDelay(attempt, minMs, maxMs);
        log.warn({ err: reason, retryInMs: delay }, 'drain to the printer failed; retrying');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
    return { ok: false, reason: 'Moat stopped' };
  }

  private async drainOnce(entry: SpoolEntry): Promise<void> {
    const target = this.settings.target();
    if (!target) throw new DrainFailure('the printer is no longer configured');
    this.ftp ??= await import('../printer-session.js');
    if (this.closed) throw new DrainFailure('Moat stopped');
    this.session ??= new this.ftp.PrinterSession(target, this.settings.logger);
    const transfer = this.settings.transfers.start({
      serial: this.serial,
      direction: 'upload',
      stage: 'drain',
      name: entry.target,
      total: entry.size,
      label: entry.label,
      address: target.printer.address,
    });
    const temporary = posix.join(posix.dirname(entry.target), `.moat-${entry.id}.part`);
    const hash = createHash('sha256');
    try {
      await this.session.run(async (client) => {
        const counted = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            transfer.add(chunk.length);
            callback(null, chunk);
          },
        });
        const file = createReadStream(dataPath(this.settings.root, entry), { highWaterMark: 256 * 1024 });
        file.on('error', (error) => counted.destroy(error));
        await client.uploadFrom(file.pipe(counted), temporary);
        if (hash.digest('hex') !== entry.sha256) {
          await client.remove(temporary, true);
          throw new DrainFailure('the spooled file no longer matches its SHA-256');
        }
        await client.rename(temporary, entry.target);
        const size = await client.size(entry.target);
        if (size !== entry.size) throw new DrainRefused(`the printer has ${size} of ${entry.size} bytes`);
      });
      transfer.done();
    } catch (error) {
      transfer.failed((error as Error).message);
      throw error;
    }
  }
}
