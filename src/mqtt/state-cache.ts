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

/** Objects merge field by field; arrays and scalars replace (the printer sends whole arrays). */
function merge(into: Json, from: Json): void {
  for (const [key, value] of Object.entries(from)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    const current = into[key];
    if (isObject(value) && isObject(current)) merge(current, value);
    else into[key] = isObject(value) ? structuredClone(value) : value;
  }
}

export class StateCache {
  private state: Json = {};
  /** A full state (msg 0: a pushall answer, or any report of a full-state printer) has been seen. */
  complete = false;
  lastReportAt: Date | undefined;

  /** Merges a report (already parsed); anything but a `push_status` is ignored. */
  apply(report: unknown): void {
    if (!isObject(report) || !isObject(report.print)) return;
    const print = report.print;
    if (print.command !== 'push_status') return;
    const fields: Json = {};
    for (const [key, value] of Object.entries(print)) if (!perMessageFields.has(key)) fields[key] = value;
    if (print.msg === 0) {
      this.state = {};
      this.complete = true;
    }
    merge(this.state, fields);
    this.lastReportAt = new Date();
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
