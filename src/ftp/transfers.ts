import { randomBytes } from 'node:crypto';
import type { MoatEvents, TransferEvent } from '../events.js';

/**
 * Transfers for the dashboard: the active ones and the most recent finished ones, each reported on the
 * event stream when it starts, at most every `progressIntervalMs` while it runs, and when it ends.
 */
export class TransferTracker {
  private readonly active = new Map<string, TransferEvent>();
  private readonly finished: TransferEvent[] = [];

  constructor(
    private readonly events: MoatEvents,
    private readonly keepFinished = 20,
    private readonly progressIntervalMs = 250,
  ) {}

  start(fields: Omit<TransferEvent, 'id' | 'bytes' | 'state' | 'startedAt'>): Transfer {
    const event: TransferEvent = {
      ...fields,
      id: randomBytes(6).toString('hex'),
      bytes: 0,
      state: 'active',
      startedAt: new Date().toISOString(),
    };
    this.active.set(event.id, event);
    this.events.emit('transfer', { ...event });
    let lastReport = Date.now();
    const end = (state: 'done' | 'failed', error?: string) => {
      if (event.state !== 'active') return;
      event.state = state;
      if (error !== undefined) event.error = error;
      this.active.delete(event.id);
      this.finished.push(event);
      if (this.finished.length > this.keepFinished) this.finished.shift();
      this.events.emit('transfer', { ...event });
    };
    return {
      add: (bytes) => {
        event.bytes += bytes;
        const now = Date.now();
        if (now - lastReport >= this.progressIntervalMs) {
          lastReport = now;
          this.events.emit('transfer', { ...event });
        }
      },
      done: () => end('done'),
      failed: (error) => end('failed', error),
    };
  }

  list(): TransferEvent[] {
    return [...this.active.values(), ...this.finished].map((event) => ({ ...event }));
  }
}

export interface Transfer {
  add(bytes: number): void;
  done(): void;
  failed(error: string): void;
}
