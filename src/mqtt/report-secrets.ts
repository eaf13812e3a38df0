/**
 * Credentials out of the printer's reports before anything on the LAN can see them. A printer answers
 * `system.get_access_code` with its own access code on the report topic, and firmware may add other
 * credential fields: every report passes here once, where it enters Moat, before it is cached or fanned out.
 */

/** Field names that carry a credential (matched on the whole name, any case). */
const credentialField = /^(?:access_?code|dev_access_code|pass(?:word|wd)?|pwd|secret|\w*token)$/i;

export interface CleanReport {
  /** The bytes to forward: the printer's own unless something had to be removed. */
  payload: Buffer;
  /** The parsed report (after removal); undefined when the payload is not JSON. */
  parsed: unknown;
  /** Where fields were removed (`system.access_code`), for the log; never the values. */
  removed: string[];
}

/**
 * Removes credential fields by name, and any string field that holds the printer's access code whatever its
 * name. A payload that is not JSON cannot be cleaned field by field: it is dropped (undefined) when it
 * holds the access code, and forwarded as it came otherwise.
 */
export function withoutSecrets(payload: Buffer, printerAccessCode: string | undefined): CleanReport | undefined {
  const code = printerAccessCode === undefined || printerAccessCode === '' ? undefined : printerAccessCode;
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    if (code !== undefined && payload.includes(code)) return undefined;
    return { payload, parsed: undefined, removed: [] };
  }
  const removed: string[] = [];
  if (typeof parsed === 'object' && parsed !== null) strip(parsed as Record<string, unknown>, '', code, removed);
  if (removed.length === 0) return { payload, parsed, removed };
  return { payload: Buffer.from(JSON.stringify(parsed)), parsed, removed };
}

/** A field's path is built only for a field removed or descended into, not for each of a report's scalars. */
function strip(record: Record<string, unknown>, path: string, code: string | undefined, removed: string[]): void {
  for (const key of Object.keys(record)) {
    const field = record[key];
    if (credentialField.test(key) || (code !== undefined && typeof field === 'string' && field.includes(code))) {
      removed.push(pathOf(path, key));
      if (Array.isArray(record)) record[key] = null;
      else delete record[key];
      continue;
    }
    if (typeof field === 'object' && field !== null)
      strip(field as Record<string, unknown>, pathOf(path, key), code, removed);
  }
}

function pathOf(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}
