import { Transform, type TransformCallback } from 'node:stream';

/**
 * Passes bytes through at no more than `bytesPerSecond`. It holds each chunk's callback until the chunk's
 * share of time has passed, so the stream behind it sees real backpressure (its buffer fills, TCP's
 * window closes) rather than a buffer that grows.
 */
export class Throttle extends Transform {
  private nextFreeAt = 0;

  constructor(private readonly bytesPerSecond: number) {
    super({ highWaterMark: 16 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const now = Date.now();
    const start = Math.max(now, this.nextFreeAt);
    this.nextFreeAt = start + (chunk.length * 1000) / this.bytesPerSecond;
    this.push(chunk);
    const wait = this.nextFreeAt - now;
    if (wait < 1) callback();
    else setTimeout(callback, wait);
  }
}
