import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';

export const cliPath = join(packageRoot, 'dist', 'src', 'cli.js');

/** Runs the compiled `moat` command and returns its exit status and output. */
export function runCli(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', input, timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
