import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Field names whose values are secrets wherever they appear in a log object. pino replaces them before
 * serialisation, so a secret cannot reach a log line through a structured field.
 */
export const redactedPaths = [
  'password',
  'passphrase',
  'accessCode',
  'access_code',
  'code',
  'claimCode',
  'key',
  'privateKey',
  'secret',
  'token',
  'cookie',
  'authorization',
  '*.password',
  '*.passphrase',
  '*.accessCode',
  '*.access_code',
  '*.claimCode',
  '*.key',
  '*.privateKey',
  '*.secret',
  '*.token',
  '*.cookie',
  '*.authorization',
  'req.headers.cookie',
  'req.headers.authorization',
];

export interface LoggerOptions {
  level?: string;
  /** Pretty, human output; default: when stdout is a terminal. */
  pretty?: boolean;
  /** Where JSON lines go (tests capture them); default stdout. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.MOAT_LOG_LEVEL ?? 'info';
  const base = { level, redact: { paths: redactedPaths, censor: '[redacted]' }, base: { service: 'moat' } };
  if (options.destination) return pino(base, options.destination);
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } });
  }
  return pino(base);
}

/** A logger that drops everything: for library use and tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
