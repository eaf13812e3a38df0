import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type StatePaths, statePaths } from '../config/state-dir.js';
import { CliError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with the options every command shares (--state-dir, --help) and errors worded for people. */
export function parseCommandArgs<O extends Options>(args: string[], options: O, usage: string) {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, 'state-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if ((parsed.values as { help?: boolean }).help) {
      console.log(usage);
      process.exit(0);
    }
    return parsed;
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${usage}`);
  }
}

export function resolveStatePaths(values: { 'state-dir'?: unknown }): StatePaths {
  const dir = values['state-dir'];
  return statePaths(typeof dir === 'string' ? dir : undefined);
}

/** `--ftp-rate`: bytes per second for the simulated printer's FTP, a positive integer (undefined: uncapped). */
export function ftpRateArg(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const rate = Number(value);
  if (!Number.isSafeInteger(rate) || rate < 1)
    throw new CliError('--ftp-rate must be a positive number of bytes per second');
  return rate;
}
