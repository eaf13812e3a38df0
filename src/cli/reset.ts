import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommandArgs, resolveStatePaths } from './common.js';
import { CliError } from './errors.js';

/** Factory reset: everything under the state directory goes (configuration, keys, secrets, audit, logs). */
export async function run(args: string[]): Promise<number> {
  const usage = 'usage: moat reset --yes [--state-dir DIR]   (wipes configuration, keys, secrets and logs)';
  const { values } = parseCommandArgs(args, { yes: { type: 'boolean' } }, usage);
  if (!values.yes) throw new CliError(`refusing to wipe without --yes\n${usage}`);
  const paths = resolveStatePaths(values);
  if (existsSync(paths.root)) {
    // Empty the directory rather than remove it: under systemd it is a StateDirectory owned by the unit.
    for (const name of readdirSync(paths.root)) rmSync(join(paths.root, name), { recursive: true, force: true });
  }
  console.log(`factory reset: ${paths.root} wiped; a new CA, keys and claim code are made at next start`);
  return 0;
}
