import type { AuditEvent } from '../events.js';

/**
 * Holds the audit entry of a forwarded command until the printer answers it (a report echoing its
 * kind, command and sequence_id with a `result`), or until a timeout; then hands the entry on.
 */
export class CommandResults {
  private readonly pending = new Map<string, { event: AuditEvent; timer: NodeJS.Timeout }>();

  constructor(
    private readonly record: (event: AuditEvent) => void,
    private readonly timeoutMs = 10000,
    private readonly maxPending = 1000,
  ) {}

  /** Entries without a sequence id (nothing to match an answer to) are recorded at once. */
  expect(event: AuditEvent, kind: string, command: string, sequenceId: string | undefined): void {
    if (sequenceId === undefined || this.pending.size >= this.maxPending) {
      this.record(event);
      return;
    }
    const key = `${kind}.${command}#${sequenceId}`;
    this.settle(key);
    const timer = setTimeout(() => this.settle(key), this.timeoutMs);
    timer.unref();
    this.pending.set(key, { event, timer });
  }

  /** Looks at a report from the printer for answers to pending commands. */
  observe(report: unknown): void {
    if (this.pending.size === 0 || typeof report !== 'object' || report === null) return;
    for (const [kind, body] of Object.entries(report)) {
      if (typeof body !== 'object' || body === null) continue;
      const { command, sequence_id: sequenceId, result } = body as Record<string, unknown>;
      if (result === undefined || command === undefined) continue;
      this.settle(`${kind}.${String(command)}#${String(sequenceId)}`, String(result));
    }
  }

  flush(): void {
    for (const key of [...this.pending.keys()]) this.settle(key);
  }

  private settle(key: string, result?: string): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(key);
    this.record(result === undefined ? entry.event : { ...entry.event, result });
  }
}
