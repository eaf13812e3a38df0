import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { runSync } from './process.js';

export const cliPath = join(packageRoot, 'dist', 'src', 'cli.js');

/** Runs the compiled `moat` command and returns its exit status and output. */
export function runCli(args: string[], input?: string) {
  const { code, stdout, stderr } = runSync(process.execPath, [cliPath, ...args], 60_000, input);
  return { status: code, stdout, stderr };
}
