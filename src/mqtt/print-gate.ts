import { posix } from 'node:path';
import type { DrainOutcome } from '../ftp/spool/drain-queue.js';
import type { SpoolEntry } from '../ftp/spool/spool-files.js';
import type { Logger } from '../log.js';

/** What a print command must wait for: one file by its path in the printer's storage, or every upload in flight. */
export type UploadWait = { file: string } | { every: true };

// Where printers mount the storage their FTP root serves, as `file://` URLs name it.
const storageMounts = ['/mnt/sdcard/', '/sdcard/'];

/**
 * Which upload a `print.project_file` payload depends on. `ftp://NAME`, `ftp:///NAME` and
 * `file:///sdcard/NAME` name a file in the printer's FTP storage; `url_enc` (printers without Developer Mode)
 * hides the name, so the command depends on every upload in flight. Other URLs (`brtc://`, the port-6000
 * tunnel) never come through the spool. Undefined: not a print of a file, or nothing to wait for.
 */
export function uploadWait(payload: Buffer): UploadWait | undefined {
  let message: unknown;
  try {
    message = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  const print = (message as { print?: unknown } | null)?.print as Record<string, unknown> | undefined;
  if (typeof print !== 'object' || print === null || print.command !== 'project_file') return undefined;
  if (print.url_enc !== undefined) return { every: true };
  const url = print.url;
  if (typeof url !== 'string') return undefined;
  let path: string;
  if (url.startsWith('ftp://')) path = `/${url.slice('ftp://'.length).replace(/^\/+/, '')}`;
  else if (url.startsWith('file://')) {
    const absolute = url.slice('file://'.length);
    const mount = storageMounts.find((prefix) => absolute.startsWith(prefix));
    if (!mount) return undefined;
    path = `/${absolute.slice(mount.length)}`;
  } else return undefined;
  return { file: posix.normalize(path) };
}

function matches(wait: UploadWait): (entry: SpoolEntry) => boolean {
  return 'every' in wait ? () => true : (entry) => entry.target === wait.file;
}

/** What the gate needs of the spool. */
export interface DrainingUploads {
  pending(serial: string): readonly SpoolEntry[];
  delivered(serial: string, match: (entry: SpoolEntry) => boolean): Promise<DrainOutcome>;
}

/** How a held command ends: sent byte for byte, or dropped with the reason (and never sent later). */
export interface HeldCommand {
  forward(): void;
  drop(reason: string): void;
}

/**
 * The print gate: a `project_file` for a file Moat is still draining to the printer is held, not refused,
 * and released once the drain succeeded. It is dropped when the drain failed, when it has been held longer
 * than the limit (a print must start moments after someone asked for it, never much later), or when the
 * bridge stops: held commands live in memory only and are never replayed.
 */
export class PrintGate {
  private readonly held = new Set<{ drop(reason: string): void }>();

  constructor(
    private readonly uploads: DrainingUploads,
    private readonly holdLimitMs: () => number,
    private readonly log: Logger,
  ) {}

  /** What the command would wait for now (the file, or "every upload in flight"); undefined: nothing. */
  awaiting(serial: string, payload: Buffer): string | undefined {
    const wait = uploadWait(payload);
    if (!wait || !this.uploads.pending(serial).some(matches(wait))) return undefined;
    return 'every' in wait ? 'every upload in flight' : wait.file;
  }

  hold(serial: string, payload: Buffer, command: HeldCommand): void {
    const wait = uploadWait(payload) ?? { every: true };
    const limitMs = this.holdLimitMs();
    let settled = false;
    const settle = (end: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.held.delete(entry);
      end();
    };
    const entry = { drop: (reason: string) => settle(() => command.drop(reason)) };
    const limit = limitMs >= 1000 ? `${Math.round(limitMs / 1000)} s` : `${limitMs} ms`;
    const timer = setTimeout(
      () => entry.drop(`held ${limit} while the file was still draining to the printer (the hold limit)`),
      limitMs,
    );
    this.held.add(entry);
    this.uploads.delivered(serial, matches(wait)).then((outcome) => {
      if (outcome.ok) settle(() => command.forward());
      else entry.drop(`the upload did not reach the printer: ${outcome.reason}`);
    });
  }

  /** Every held command is dropped: after a stop nothing is sent late. */
  close(): void {
    if (this.held.size > 0) this.log.info({ held: this.held.size }, 'dropping held print commands');
    for (const entry of [...this.held]) entry.drop('Moat stopped while the command was held');
  }
}
