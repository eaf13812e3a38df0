import { Duplex } from 'node:stream';

/**
 * A duplex over a socket with two hooks the plain socket lacks: every incoming chunk can be inspected
 * (and the connection cut) before anyone parses it, and outgoing bytes can be held back until a
 * condition holds (a printer certificate has been checked). Back-pressure is passed through.
 */
export interface SocketStreamOptions {
  /** Returns a reason to cut the connection, or undefined to let the chunk through. */
  inspect?(chunk: Buffer): string | undefined;
  onRefused?(reason: string): void;
  /** Writes wait for this; if it rejects, the connection is destroyed with its error. */
  writesAfter?: Promise<void>;
}

export class SocketStream extends Duplex {
  private writesReady: boolean;

  constructor(
    private readonly inner: NodeJS.ReadWriteStream & {
      destroy(error?: Error): void;
      pause(): unknown;
      resume(): unknown;
      end(cb?: () => void): unknown;
    },
    options: SocketStreamOptions = {},
  ) {
    super({ allowHalfOpen: false });
    this.writesReady = options.writesAfter === undefined;
    options.writesAfter?.then(
      () => {
        this.writesReady = true;
        this.emit('writes-ready');
      },
      (error: Error) => this.destroy(error),
    );
    inner.on('data', (chunk: Buffer) => {
      if (this.destroyed) return;
      const problem = options.inspect?.(chunk);
      if (problem !== undefined) {
        options.onRefused?.(problem);
        this.destroy();
        return;
      }
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('close', () => this.destroy());
    inner.on('error', (error: Error) => this.destroy(error));
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback);
  }

  private send(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.writesReady) {
      this.inner.write(chunk, (error?: Error | null) => callback(error));
      return;
    }
    this.once('writes-ready', () => this.inner.write(chunk, (error?: Error | null) => callback(error)));
  }

  /** A corked burst (mqtt-packet corks header, topic and payload) goes out as one write: one TLS record. */
  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    this.send(Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.destroy();
    callback(error);
  }
}
