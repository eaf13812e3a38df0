import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

export interface CapturedLog {
  logger: Logger;
  /** Every line, parsed. */
  lines: Record<string, unknown>[];
  /** Everything written, as written: what a search for a secret must look through. */
  text(): string;
}

/** A real pino logger whose JSON lines a test can read back. */
export function capturingLogger(level = 'info'): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = chunk.toString('utf8');
      chunks.push(text);
      for (const line of text.split('\n')) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: createLogger({ destination, level }), lines, text: () => chunks.join('') };
}
