/**
 * Slows down guessing: after failed logins from an address, each further attempt from that address waits
 * base·2^(failures−1) ms (capped) before its code is checked, and attempts from one address are checked
 * one at a time, so a flood from one address can neither slow another address nor fill the scrypt pool.
 */
export interface LoginThrottleOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Attempts allowed to wait per address that has failed; beyond this they fail at once without a check. */
  maxPendingPerAddress?: number;
  /** A failure older than this is forgotten. */
  forgetAfterMs?: number;
  now?: () => number;
}

interface AddressRecord {
  failures: number;
  lastFailureAt: number;
}

const maxTrackedAddresses = 10000;

export class LoginThrottle {
  private readonly records = new Map<string, AddressRecord>();
  private readonly queues = new Map<string, { tail: Promise<unknown>; pending: number }>();
  private readonly now: () => number;

  constructor(private readonly options: LoginThrottleOptions) {
    this.now = options.now ?? Date.now;
  }

  delayFor(address: string): number {
    const record = this.records.get(address);
    if (!record) return 0;
    if (this.now() - record.lastFailureAt > (this.options.forgetAfterMs ?? 3600000)) {
      this.records.delete(address);
      return 0;
    }
    return Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(record.failures - 1, 30));
  }

  /**
   * Runs `check` for an address after its delay, serialised per address; records the outcome. An attempt
   * whose client has gone (`abandoned`) by its turn is dropped without a check or a wait.
   */
  attempt(address: string, check: () => Promise<boolean>, abandoned: () => boolean = () => false): Promise<boolean> {
    const queue = this.queues.get(address) ?? { tail: Promise.resolve(), pending: 0 };
    // Only an address that has failed is capped: a host opening many good connections at once waits its turn.
    if (this.delayFor(address) > 0 && queue.pending >= (this.options.maxPendingPerAddress ?? 32)) {
      this.recordFailure(address);
      return Promise.resolve(false);
    }
    queue.pending++;
    this.queues.set(address, queue);
    const run = queue.tail.then(async () => {
      if (abandoned()) return false;
      const delay = this.delayFor(address);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      const ok = await check().catch(() => false);
      if (ok) this.records.delete(address);
      else this.recordFailure(address);
      return ok;
    });
    queue.tail = run.catch(() => {});
    return run.finally(() => {
      queue.pending--;
      if (queue.pending === 0 && this.queues.get(address) === queue) this.queues.delete(address);
    });
  }

  private recordFailure(address: string): void {
    const record = this.records.get(address) ?? { failures: 0, lastFailureAt: 0 };
    record.failures++;
    record.lastFailureAt = this.now();
    this.records.delete(address);
    this.records.set(address, record);
    if (this.records.size > maxTrackedAddresses) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
  }
}
