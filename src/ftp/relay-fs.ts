import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { PassThrough, type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client, FileInfo } from 'basic-ftp';
import { FileSystem, type FtpConnection } from 'ftp-srv';
import { roleAllows } from '../auth/access-codes.js';
import type { Role } from '../config/schema.js';
import type { Logger } from '../log.js';
import { parseListDate } from './list-date.js';
import { type PrinterSession, refusedByPrinter } from './printer-session.js';
import type { Spool } from './spool/spool.js';
import type { Transfer, TransferTracker } from './transfers.js';
import { checkPathCharacters, FtpRefusal, type UploadPolicy, uploadPath } from './upload-policy.js';

/**
 * The ftp-srv FileSystem a LAN session sees: every call goes to the printer through that session's own
 * basic-ftp connection. Nothing is stored on Moat; files stream through with backpressure both ways.
 */

/** Bytes held per direction between the LAN and the printer: enough for large writes, bounded per transfer. */
const relayBufferBytes = 256 * 1024;

export interface RelayContext {
  session: PrinterSession;
  role: Role;
  policy: UploadPolicy;
  transfers: TransferTracker;
  serial: string;
  label: string;
  address: string;
  logger: Logger;
  /** Store-and-forward is on for this printer: uploads go to the spool, which drains them. */
  spool?: Spool;
}

/** An upload as the STOR handler drives it, streamed to the printer (`PrinterUpload`) or spooled (`SpoolUpload`). */
export interface Upload {
  /** Takes the LAN client's data connection to its end. */
  receive(source: Readable): Promise<void>;
  /** Makes the file final (the client's `226` follows). */
  commit(): Promise<void>;
  /** Removes what arrived after a failure. */
  discard(reason: string): Promise<void>;
}

/** What LIST and SIZE need of an entry, in the shape ftp-srv's listing formatter reads. */
export interface EntryStat {
  name: string;
  size: number;
  mtime: Date;
  mode: number;
  isDirectory(): boolean;
}

function entryStat(name: string, size: number, directory: boolean, mtime = new Date()): EntryStat {
  return { name, size, mtime, mode: directory ? 0o755 : 0o644, isDirectory: () => directory };
}

/** An entry of the printer's listing with the printer's date (basic-ftp parses a Unix LIST date only as text). */
function printerEntry(info: FileInfo, name = info.name, now = new Date()): EntryStat {
  const mtime = info.modifiedAt ?? parseListDate(info.rawModifiedAt, now);
  return entryStat(name, info.size, info.isDirectory, mtime);
}

/** A download from the printer that has not started: `start()` sends the printer's RETR. */
export interface PrinterDownload {
  start(): { stream: Readable; finished: Promise<void> };
}

/** A printer failure as an FTP reply: the printer's own refusal stays 550, anything else is 451. */
export function printerFailure(error: unknown): FtpRefusal {
  if (error instanceof FtpRefusal) return error;
  if (refusedByPrinter(error)) return new FtpRefusal(550, `Printer refused: ${error.message}`);
  return new FtpRefusal(451, `Printer unavailable: ${(error as Error).message}`);
}

export class RelayFileSystem extends FileSystem {
  private cwdPath = '/';

  constructor(
    connection: FtpConnection,
    private readonly relay: RelayContext,
  ) {
    super(connection, { root: '/', cwd: '/' });
  }

  override currentDirectory(): string {
    return this.cwdPath;
  }

  /** A client path as an absolute printer path; normalising an absolute path cannot climb above '/'. */
  private printerPath(path = '.'): string {
    checkPathCharacters(path);
    return posix.normalize(posix.isAbsolute(path) ? path : posix.join(this.cwdPath, path));
  }

  private requireWriter(action: string): void {
    if (!roleAllows(this.relay.role, 'operator'))
      throw new FtpRefusal(550, `Permission denied: a ${this.relay.role} may not ${action}`);
  }

  private async printer<T>(task: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await this.relay.session.run(task);
    } catch (error) {
      throw printerFailure(error);
    }
  }

  /** Spooled files not yet on the printer, in `dir`: a listing shows them as present. */
  private spooled(dir: string): EntryStat[] {
    const { spool, serial } = this.relay;
    if (!spool) return [];
    return spool
      .pending(serial)
      .filter((entry) => posix.dirname(entry.target) === dir)
      .map((entry) => entryStat(posix.basename(entry.target), entry.size, false, new Date(entry.receivedAt)));
  }

  override async get(fileName: string): Promise<EntryStat> {
    const path = this.printerPath(fileName);
    if (path === '/') return entryStat(fileName, 0, true);
    const spooled = this.spooled(posix.dirname(path)).findLast((entry) => entry.name === posix.basename(path));
    if (spooled) return { ...spooled, name: fileName };
    const parent = await this.printer((client) => client.list(posix.dirname(path)));
    const entry = parent.find((info) => info.name === posix.basename(path));
    if (!entry) throw new FtpRefusal(550, 'No such file or directory');
    return printerEntry(entry, fileName);
  }

  override async list(path = '.'): Promise<EntryStat[]> {
    const dir = this.printerPath(path);
    const entries: FileInfo[] = await this.printer((client) => client.list(dir));
    const now = new Date();
    // A spooled file stands in for the printer's older one of the same name: that is what will be there.
    const spooled = new Map(this.spooled(dir).map((entry) => [entry.name, entry]));
    const onPrinter = entries
      .filter((info) => !spooled.has(info.name))
      .map((info) => printerEntry(info, info.name, now));
    return [...onPrinter, ...spooled.values()];
  }

  /** The printer's own modification time of a file (its MDTM). */
  async modified(fileName: string): Promise<Date> {
    const path = this.printerPath(fileName);
    return this.printer((client) => client.lastMod(path));
  }

  override async chdir(path = '.'): Promise<string> {
    const target = this.printerPath(path);
    if (target !== '/' && !(await this.get(target)).isDirectory()) throw new FtpRefusal(550, 'Not a directory');
    this.cwdPath = target;
    return target;
  }

  /**
   * A download from the printer, checked (its size asked) but not started. `finished` settles when the printer
   * has confirmed the transfer (its 226): the LAN client gets its 226 only then, so a client that leaves right
   * after cannot cut a transfer that the printer has not finished yet.
   */
  override async read(fileName: string): Promise<PrinterDownload> {
    const path = this.printerPath(fileName);
    const total = await this.printer((client) => client.size(path));
    return { start: () => this.download(path, total) };
  }

  private download(path: string, total: number): { stream: Readable; finished: Promise<void> } {
    const transfer = this.startTransfer('download', path, total);
    // A Transform, not a 'data' listener: a listener would start the flow before the LAN side is attached.
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        transfer.add(chunk.length);
        callback(null, chunk);
      },
    });
    const fromPrinter = new PassThrough({ highWaterMark: relayBufferBytes });
    const finished = this.relay.session
      .run((client) => client.downloadTo(fromPrinter, path))
      .then(
        () => transfer.done(),
        (error) => {
          const failure = printerFailure(error);
          transfer.failed(failure.message);
          fromPrinter.destroy(failure);
          throw failure;
        },
      );
    // Settled here too, so a download the LAN side never waits for cannot become an unhandled rejection.
    finished.catch(() => {});
    // The counting tap is the stream handed out, so a slow LAN client slows the printer down (backpressure).
    fromPrinter.on('error', (error) => counted.destroy(error));
    // The LAN side gave up: stop the printer's transfer instead of leaving it stalled on a full buffer.
    counted.on('close', () => {
      if (!counted.readableEnded) this.relay.session.abort();
    });
    fromPrinter.pipe(counted);
    return { stream: counted, finished };
  }

  override write(fileName: string): Upload {
    this.requireWriter('upload');
    const path = uploadPath(fileName, this.cwdPath, this.relay.policy);
    const { spool, serial, policy, label, address, transfers } = this.relay;
    if (spool)
      return spool.receive({ serial, target: path, maxUploadBytes: policy.maxUploadBytes, label, address }, transfers);
    const temporary = posix.join(posix.dirname(path), `.moat-${randomBytes(6).toString('hex')}.part`);
    return new PrinterUpload(this.relay, temporary, path, this.startTransfer('upload', path));
  }

  override async delete(path: string): Promise<void> {
    this.requireWriter('delete');
    const target = this.printerPath(path);
    await this.printer((client) => client.remove(target));
  }

  override async mkdir(path: string): Promise<string> {
    this.requireWriter('create directories');
    const target = this.printerPath(path);
    await this.printer((client) => client.send(`MKD ${target}`));
    return target;
  }

  override async rename(from: string, to: string): Promise<void> {
    this.requireWriter('rename');
    const target = uploadPath(to, this.cwdPath, this.relay.policy);
    const source = this.printerPath(from);
    await this.printer((client) => client.rename(source, target));
  }

  override async chmod(): Promise<void> {
    throw new FtpRefusal(502, 'Not supported');
  }

  private startTransfer(direction: 'upload' | 'download', name: string, total?: number): Transfer {
    return this.relay.transfers.start({
      serial: this.relay.serial,
      direction,
      name,
      ...(total !== undefined && { total }),
      label: this.relay.label,
      address: this.relay.address,
    });
  }
}

/**
 * An upload on its way to the printer under a temporary name: one Transform between the LAN data
 * connection (written by `receive()`) and basic-ftp's upload (which reads it), counting bytes and enforcing
 * the size limit on the way. `commit()` renames it into place once the client's data ended and its session
 * is still there, `discard()` removes the temporary file after an abort, an error or a disconnect.
 */
export class PrinterUpload extends Transform implements Upload {
  private uploaded: Promise<unknown> | undefined;
  private bytes = 0;
  private source: Readable | undefined;

  constructor(
    private readonly relay: RelayContext,
    private readonly temporary: string,
    private readonly target: string,
    private readonly transfer: Transfer,
  ) {
    super({ highWaterMark: relayBufferBytes });
  }

  /** Streams the LAN client's data connection to the printer; settles once the printer has confirmed it. */
  async receive(source: Readable): Promise<void> {
    this.source = source;
    await pipeline(source, this);
    try {
      await this.upload();
    } catch (error) {
      throw printerFailure(error);
    }
  }

  /** Starts the printer's STOR with the first byte (or at the end, for an empty file), not before: a LAN
   * data connection that is refused (522) or never comes costs the printer nothing. */
  private upload(): Promise<unknown> {
    if (!this.uploaded) {
      const { temporary } = this;
      this.uploaded = this.relay.session.run((client) => client.uploadFrom(this, temporary));
      // The printer failing mid-stream ends the client's upload too.
      this.uploaded.catch((error) => this.destroy(printerFailure(error)));
    }
    return this.uploaded;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.relay.policy.maxUploadBytes) {
      callback(new FtpRefusal(552, `Upload exceeds the maximum size of ${this.relay.policy.maxUploadBytes} bytes`));
      return;
    }
    this.transfer.add(chunk.length);
    this.upload();
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.upload();
    callback();
  }

  /**
   * Names the side that failed. basic-ftp destroys this stream with the raw socket error when the printer
   * fails, while the LAN data connection is still intact: the client is then told it was the printer (451),
   * not given a generic abort. A refusal of our own (552) or the printer's reply (550) passes unchanged.
   */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const lanFailed = this.source !== undefined && (this.source.destroyed || this.source.errored !== null);
    callback(error && !lanFailed ? printerFailure(error) : error);
  }

  async commit(): Promise<void> {
    const { temporary, target } = this;
    try {
      await this.relay.session.run((client) => client.rename(temporary, target));
    } catch (error) {
      throw printerFailure(error);
    }
    this.transfer.done();
  }

  async discard(reason: string): Promise<void> {
    this.transfer.failed(reason);
    if (!this.uploaded) return;
    // Cut the printer connection (an upload may still be flowing), then remove what reached the printer.
    this.relay.session.abort();
    const { temporary } = this;
    await this.relay.session
      .run((client) => client.remove(temporary, true), { cleanup: true })
      .catch((error) =>
        this.relay.logger.warn({ err: (error as Error).message, file: temporary }, 'could not remove partial upload'),
      );
  }
}
