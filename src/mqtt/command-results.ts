import type { AuditEvent } from '../events.js';

/** Reports how the publish of a command ended: undefined once sent, else what happened. */
export type CommandSent = (failure: string | undefined) => void;

interface Pending {
  event: AuditEvent;
  /** The publish ended well; the answer timeout runs from then. */
  sent: boolean;
  result?: string;
  timer?: NodeJS.Timeout;
}

/**
 * Holds the audit entry of a command sent to the printer until its publish has ended and the printer
 * answered it (a report echoing its kind, command and sequence_id with a `result`) or a timeout passed;
 * then hands the entry on. A command whose publish failed is recorded `dropped` with the failure as its
 * reason — unless the printer answered it anyway (the answer can come before the PUBACK), which proves
 * it arrived.
 */
export class CommandResults {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly record: (event: AuditEvent) => void,
    private readonly timeoutMs = 10000,
    private readonly maxPending = 1000,
  ) {}

  /**
   * Call before publishing: an answer can arrive before the publish is confirmed. Entries that cannot be
   * matched to an answer (no sequence id, or one already waiting under the same key) are recorded as soon
   * as the publish ends.
   */
  expect(event: AuditEvent, kind: string, command: string, sequenceId: string | undefined): CommandSent {
    const key = `${kind}.${command}#${sequenceId}`;
    if (sequenceId === undefined || this.pending.has(key) || this.pending.size >= this.maxPending) {
      return (failure) => this.record(ended(event, failure));
    }
    const entry: Pending = { event, sent: false };
    this.pending.set(key, entry);
    return (failure) => {
      if (this.pending.get(key) !== entry) return;
      if (failure !== undefined || entry.result !== undefined) {
        this.settle(key, failure);
        return;
      }
      entry.sent = true;
      entry.timer = setTimeout(() => this.settle(key), this.timeoutMs);
      entry.timer.unref();
    };
  }

  /** Looks at a report from the printer for answers to pending commands. */
  observe(report: unknown): void {
    if (this.pending.size === 0 || typeof report !== 'object' || report === null) return;
    for (const [kind, body] of Object.entries(report)) {
      if (typeof body !== 'object' || body === null) continue;
      const { command, sequence_id: sequenceId, result } = body as Record<string, unknown>;
      if (result === undefined || command === undefined) continue;
      const key = `${kind}.${String(command)}#${String(sequenceId)}`;
      const entry = this.pending.get(key);
      if (!entry) continue;
      entry.result = String(result);
      if (entry.sent) this.settle(key);
    }
  }

  /** Records every pending entry; one whose publish has not ended was never confirmed sent. */
  flush(): void {
    for (const [key, entry] of [...this.pending]) {
      this.settle(key, entry.sent ? undefined : 'Moat stopped before the command was confirmed sent');
    }
  }

  private settle(key: string, failure?: string): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(key);
    this.record(entry.result !== undefined ? { ...entry.event, result: entry.result } : ended(entry.event, failure));
  }
}

/** The entry of a command the printer did not answer: as it was when sent, `dropped` with the failure if not. */
function ended(event: AuditEvent, failure: string | undefined): AuditEvent {
  return failure === undefined ? event : { ...event, outcome: 'dropped', reason: failure };
}
