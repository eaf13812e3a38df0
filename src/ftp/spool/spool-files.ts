import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { writeFileAtomic } from '../../config/atomic-file.js';

/**
 * The spool on disk: one directory per printer, each upload as `<id>.data` and, once the whole file is on
 * disk and fsynced, `<id>.json` (target path, size, SHA-256). An entry without its `.json` never completed
 * (Moat stopped while receiving it) and is removed at start; one with it is drained to the printer.
 */

export interface SpoolEntry {
  id: string;
  serial: string;
  /** The absolute path on the printer. */
  target: string;
  size: number;
  sha256: string;
  receivedAt: string;
  /** Who uploaded it (the access code's label), for the dashboard. */
  label: string;
}

export const defaultSpoolMaxBytes = 2 * 1024 * 1024 * 1024;

export function printerSpoolDir(root: string, serial: string): string {
  return join(root, serial);
}

export function dataPath(root: string, entry: Pick<SpoolEntry, 'serial' | 'id'>): string {
  return join(printerSpoolDir(root, entry.serial), `${entry.id}.data`);
}

function metadataPath(root: string, entry: Pick<SpoolEntry, 'serial' | 'id'>): string {
  return join(printerSpoolDir(root, entry.serial), `${entry.id}.json`);
}

export function newEntryId(): string {
  return `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

/** Marks an entry complete: after this, a restart drains it. */
export function writeMetadata(root: string, entry: SpoolEntry): void {
  writeFileAtomic(metadataPath(root, entry), JSON.stringify(entry));
}

export function removeEntry(root: string, entry: Pick<SpoolEntry, 'serial' | 'id'>): void {
  rmSync(metadataPath(root, entry), { force: true });
  rmSync(dataPath(root, entry), { force: true });
}

function isEntry(value: unknown): value is SpoolEntry {
  const e = value as Partial<SpoolEntry>;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.id === 'string' &&
    typeof e.serial === 'string' &&
    typeof e.target === 'string' &&
    typeof e.size === 'number' &&
    typeof e.sha256 === 'string' &&
    typeof e.label === 'string'
  );
}

/**
 * The complete entries found on disk, oldest first; incomplete uploads and unreadable metadata are removed
 * (reported through `dropped`), so the spool never holds bytes nothing will drain.
 */
export function loadEntries(root: string, dropped: (file: string, why: string) => void): SpoolEntry[] {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const entries: SpoolEntry[] = [];
  for (const serial of readdirSync(root)) {
    const dir = printerSpoolDir(root, serial);
    const files = readdirSync(dir);
    for (const file of files) {
      if (!file.endsWith('.data')) continue;
      const id = file.slice(0, -'.data'.length);
      let entry: unknown;
      try {
        entry = JSON.parse(readFileSync(join(dir, `${id}.json`), 'utf8'));
      } catch {
        entry = undefined;
      }
      if (isEntry(entry) && entry.id === id && entry.serial === serial) entries.push(entry);
      else {
        dropped(join(dir, file), 'incomplete upload');
        removeEntry(root, { serial, id });
      }
    }
    for (const file of files) {
      if (file.endsWith('.json') && !files.includes(`${file.slice(0, -'.json'.length)}.data`))
        rmSync(join(dir, file), { force: true });
    }
  }
  return entries.sort((a, b) => a.id.localeCompare(b.id));
}

/** The spool's quota now: the configured one, else 2 GiB or a quarter of the space the spool could use. */
export function spoolQuota(root: string, configured: number | undefined, used: number): number {
  if (configured !== undefined) return configured;
  const fs = statfsSync(root);
  return Math.min(defaultSpoolMaxBytes, Math.floor((fs.bavail * fs.bsize + used) / 4));
}

/**
 * Where an upload's bytes go: the spool file, hashed on the way; `_final` fsyncs it, so a `226` is only
 * sent for bytes that are on disk. `limit()` is asked before each chunk is written (the quota).
 */
export class SpoolWriter extends Writable {
  private handle: FileHandle | undefined;
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(
    private readonly path: string,
    private readonly admit: (bytes: number) => Error | undefined,
  ) {
    super({ highWaterMark: 256 * 1024 });
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.path, 'wx', 0o600).then(
      (handle) => {
        this.handle = handle;
        callback();
      },
      (error: Error) => callback(error),
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const refused = this.admit(chunk.length);
    if (refused) {
      callback(refused);
      return;
    }
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.writeAll(chunk).then(() => callback(), callback);
  }

  private async writeAll(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await (this.handle as FileHandle).write(chunk, offset);
      offset += bytesWritten;
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    (this.handle as FileHandle).sync().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) {
      callback(error);
      return;
    }
    handle.close().then(
      () => callback(error),
      () => callback(error),
    );
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
