import { readFileSync } from 'node:fs';
import { publicConfig } from '../config/schema.js';
import { loadConfig, parseConfigText } from '../config/store.js';
import { parseCommandArgs, resolveStatePaths } from './common.js';
import { CliError } from './errors.js';

export async function runShow(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {}, 'usage: moat config show [--state-dir DIR]');
  console.log(JSON.stringify(publicConfig(loadConfig(resolveStatePaths(values))), null, 2));
  return 0;
}

export async function runCheck(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {}, 'usage: moat config check [FILE] [--state-dir DIR]');
  const file = positionals[0] ?? resolveStatePaths(values).config;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  parseConfigText(text, file);
  console.log(`${file}: valid`);
  return 0;
}
