import { readFileSync } from 'node:fs';
import { describeLanAddressing } from '../appliance/printer-addresses.js';
import { publicConfig } from '../config/schema.js';
import { loadConfig, parseConfigText } from '../config/store.js';
import { parseCommandArgs, resolveStatePaths } from './common.js';
import { CliError } from './errors.js';

export async function runShow(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {}, 'usage: moat config show [--state-dir DIR]');
  const config = loadConfig(resolveStatePaths(values));
  console.log(JSON.stringify(publicConfig(config), null, 2));
  // A summary for people on stderr, so stdout stays JSON for scripts.
  for (const printer of config.printers)
    console.error(`printer ${printer.serial}: LAN address ${describeLanAddressing(config, printer)}`);
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
