import { createAccessCode } from '../auth/access-codes.js';
import { type Role, roles } from '../config/schema.js';
import { loadConfig, updateConfig } from '../config/store.js';
import { parseCommandArgs, resolveStatePaths } from './common.js';
import { CliError } from './errors.js';

export async function runAdd(args: string[]): Promise<number> {
  const usage = 'usage: moat access-code add --label NAME --role viewer|operator|admin [--state-dir DIR]';
  const { values } = parseCommandArgs(args, { label: { type: 'string' }, role: { type: 'string' } }, usage);
  const label = values.label;
  const role = values.role;
  if (typeof label !== 'string' || label.trim() === '') throw new CliError(`--label is required\n${usage}`);
  if (typeof role !== 'string' || !(roles as readonly string[]).includes(role))
    throw new CliError(`--role must be one of ${roles.join(', ')}\n${usage}`);
  const paths = resolveStatePaths(values);
  const { entry, code } = await createAccessCode(label.trim(), role as Role);
  updateConfig(paths, (config) => ({ ...config, accessCodes: [...config.accessCodes, entry] }));
  console.log(`access code for "${entry.label}" (${entry.role}): ${code}`);
  console.log('It is shown only now; Moat keeps only a hash. Username: bblp');
  return 0;
}

export async function runList(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {}, 'usage: moat access-code list [--state-dir DIR]');
  const config = loadConfig(resolveStatePaths(values));
  if (config.accessCodes.length === 0) console.log('no access codes');
  for (const entry of config.accessCodes)
    console.log(`${entry.id}  ${entry.role.padEnd(8)}  ${entry.label}  (${entry.createdAt})`);
  return 0;
}

export async function runRevoke(args: string[]): Promise<number> {
  const usage = 'usage: moat access-code revoke ID|LABEL [--state-dir DIR]';
  const { values, positionals } = parseCommandArgs(args, {}, usage);
  const which = positionals[0];
  if (!which) throw new CliError(usage);
  let removed = 0;
  updateConfig(resolveStatePaths(values), (config) => {
    const kept = config.accessCodes.filter((e) => e.id !== which && e.label !== which);
    removed = config.accessCodes.length - kept.length;
    return { ...config, accessCodes: kept };
  });
  if (removed === 0) throw new CliError(`no access code with id or label "${which}"`);
  console.log(`revoked ${removed} access code(s)`);
  return 0;
}
