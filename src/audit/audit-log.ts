import { appendFile, readFile, rename, stat } from 'node:fs/promises';
import type { AuditEvent } from '../events.js';
import type { AuditQuery } from '../status.js';

/**
 * The audit log: one JSON line per command a LAN client sent. Kept on disk within `maxBytes`: when the
 * file would pass half the cap it becomes `<file>.1` (replacing the previous one), so the two together
 * never exceed the cap and the newest entries are always kept. Writes are queued, so lines never interleave.
 */
export class AuditLog {
  private chain: Promise<void> = Promise.resolve();
  private size: number | undefined;

  constructor(
    private readonly file: string,
    private readonly maxBytes: () => number,
  ) {}

  append(event: AuditEvent): Promise<void> {
    const line = `${JSON.stringify(event)}\n`;
    const write = this.chain.then(async () => {
      const bytes = Buffer.byteLength(line);
      if (this.size === undefined)
        this.size = await stat(this.file).then(
          (s) => s.size,
          () => 0,
        );
      if (this.size + bytes > this.maxBytes() / 2) {
        await rename(this.file, `${this.file}.1`).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
        this.size = 0;
      }
      await appendFile(this.file, line, { mode: 0o600 });
      this.size += bytes;
    });
    this.chain = write.catch(() => {});
    return write;
  }

  /** Resolves when every queued entry is on disk. */
  async flush(): Promise<void> {
    await this.chain;
  }

  /** Newest last; `limit` keeps the newest ones. */
  async query(query: AuditQuery = {}): Promise<AuditEvent[]> {
    await this.flush();
    const read = (path: string) => readFile(path, 'utf8').catch(() => '');
    const text = (await read(`${this.file}.1`)) + (await read(this.file));
    const events: AuditEvent[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const event = JSON.parse(line) as AuditEvent;
        if (query.serial !== undefined && event.serial !== query.serial) continue;
        if (query.label !== undefined && event.label !== query.label) continue;
        if (query.outcome !== undefined && event.outcome !== query.outcome) continue;
        events.push(event);
      } catch {
        // A line torn by a power cut: skip it, keep the rest.
      }
    }
    return query.limit !== undefined ? events.slice(-query.limit) : events;
  }
}
