/**
 * One printer's state as Moat knows it: every report's `print` object merged into one full state, so a
 * new client gets everything at once and `pushall` can be answered without asking the printer.
 */
type Json = Record<string, unknown>;

/** Fields that describe one message, not the printer's state. */
const perMessageFields = new Set(['command', 'msg', 'sequence_id', 'result', 'reason']);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Objects merge field by field; arrays and scalars replace (the printer sends whole arrays). What the report
 * brings that the state lacks is taken as it is, not copied: the cache owns the report it is given.
 */
function mergeField(into: Json, key: string, value: unknown): void {
  if (key === '__proto__' || key === 'constructor' || key === 'prototype') return;
  const current = into[key];
  if (isObject(value) && isObject(current)) {
    for (const inner of Object.keys(value)) mergeField(current, inner, value[inner]);
  } else into[key] = value;
}

export class StateCache {
  private state: Json = {};
  /** A full state (msg 0: a pushall answer, or any report of a full-state printer) has been seen. */
  complete = false;
  /** When the last `push_status` was merged (epoch ms): a number per report, a Date only when asked. */
  lastReportAt: number | undefined;

  /**
   * Merges a report (already parsed); anything but a `push_status` is ignored. The cache keeps parts of the
   * report, so the caller must not change it afterwards (Moat parses each report once and only reads it).
   */
  apply(report: unknown): void {
    if (!isObject(report) || !isObject(report.print)) return;
    const print = report.print;
    if (print.command !== 'push_status') return;
    if (print.msg === 0) {
      this.state = {};
      this.complete = true;
    }
    for (const key of Object.keys(print)) if (!perMessageFields.has(key)) mergeField(this.state, key, print[key]);
    this.lastReportAt = Date.now();
  }

  snapshot(): Json {
    return structuredClone(this.state);
  }

  /** The cached state as the printer would answer a pushall. */
  fullReport(sequenceId = '0'): Buffer {
    return Buffer.from(
      JSON.stringify({ print: { ...this.state, command: 'push_status', msg: 0, sequence_id: sequenceId } }),
    );
  }
}
