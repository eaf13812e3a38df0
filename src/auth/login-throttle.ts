/**
 * Slows down guessing: after failed logins from an address, each further attempt from that address waits
 * base·2^(failures−1) ms (capped) before its secret is checked, and attempts from one address are checked
 * one at a time, so a flood from one address can neither slow another address nor fill the scrypt pool.
 *
 * Moat has one of these for every way in (MQTT, FTPS, the setup page): a guesser gets one budget per
 * address, not one per protocol, and a restart of the bridges does not reset it. A success does not wipe
 * the record either: with one budget, a code that works (a guest's viewer code, say) would otherwise buy
 * fresh guesses at the admin password. Failures are forgotten a while after the last one.
 */
export interface LoginDelays {
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface LoginThrottleOptions {
  /** Attempts allowed to wait per address that has failed; beyond this they fail at once without a check. */
  maxPendingPerAddress?: number;
  /** Failures are forgotten this long after an address's last one. */
  forgetAfterMs?: number;
  now?: () => number;
}

export interface FailureRecord {
  failures: number;
  lastFailureAt: number;
}

const maxTrackedAddresses = 10000;

/** One key per host: an IPv4 client seen through a dual-stack socket is the same host as over IPv4. */
function hostKey(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export class LoginThrottle {
  private readonly records = new Map<string, FailureRecord>();
  private readonly queues = new Map<string, { tail: Promise<unknown>; pending: number }>();
  private readonly now: () => number;

  /** `delays` is read at each attempt, so a configuration change applies at once. */
  constructor(
    private readonly delays: () => LoginDelays,
    private readonly options: LoginThrottleOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The address's failures not yet forgotten. */
  failures(address: string): FailureRecord | undefined {
    const key = hostKey(address);
    const record = this.records.get(key);
    if (record && this.now() - record.lastFailureAt > (this.options.forgetAfterMs ?? 3600000)) {
      this.records.delete(key);
      return undefined;
    }
    return record && { ...record };
  }

  /**
   * How long the address must wait before a door that allows `attempts` failures per `windowMs` checks
   * its secret again (the setup page answers 429 meanwhile); 0 when it may try. Every door's failures count,
   * and so do attempts still waiting their turn, so a burst sent at once is held to the allowance too.
   */
  lockedFor(address: string, attempts: number, windowMs: number): number {
    const key = hostKey(address);
    const record = this.failures(key);
    const failures = record?.failures ?? 0;
    const waiting = this.queues.get(key)?.pending ?? 0;
    if (failures + waiting < attempts) return 0;
    const lockedUntil = record && failures >= attempts ? record.lastFailureAt + windowMs : 0;
    // Over the allowance only with attempts still waiting: come back once those have been checked.
    return Math.max(lockedUntil - this.now(), waiting > 0 ? 1000 : 0);
  }

  delayFor(address: string): number {
    const record = this.failures(address);
    if (!record) return 0;
    const { baseDelayMs, maxDelayMs } = this.delays();
    return Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(record.failures - 1, 30));
  }

  /**
   * Runs `check` for an address after its delay, serialised per address; records a failure. An attempt
   * whose client has gone (`abandoned`) by its turn is dropped without a check or a wait.
   */
  attempt(address: string, check: () => Promise<boolean>, abandoned: () => boolean = () => false): Promise<boolean> {
    const key = hostKey(address);
    const queue = this.queues.get(key) ?? { tail: Promise.resolve(), pending: 0 };
    // Only an address that has failed is capped: a host opening many good connections at once waits its turn.
    if (this.delayFor(key) > 0 && queue.pending >= (this.options.maxPendingPerAddress ?? 32)) {
      this.recordFailure(key);
      return Promise.resolve(false);
    }
    queue.pending++;
    this.queues.set(key, queue);
    const run = queue.tail.then(async () => {
      if (abandoned()) return false;
      const delay = this.delayFor(key);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      const ok = await check().catch(() => false);
      if (!ok) this.recordFailure(key);
      return ok;
    });
    queue.tail = run.catch(() => {});
    return run.finally(() => {
      queue.pending--;
      if (queue.pending === 0 && this.queues.get(key) === queue) this.queues.delete(key);
    });
  }

  private recordFailure(key: string): void {
    const record = this.failures(key) ?? { failures: 0, lastFailureAt: 0 };
    record.failures++;
    record.lastFailureAt = this.now();
    // Re-inserted so the Map's order is least recently failed first: that one goes when the table is full.
    this.records.delete(key);
    this.records.set(key, record);
    if (this.records.size > maxTrackedAddresses) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
  }
}
