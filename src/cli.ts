#!/usr/bin/env node
import { commands } from './cli/commands.js';
import { CliError } from './cli/errors.js';
import { ConfigError } from './config/validate.js';
import { moatVersion } from './paths.js';

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: moat <command> [options]   (moat <command> --help for its options)',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global: --version, --help. State directory: --state-dir DIR or MOAT_STATE_DIR (default /var/lib/moat).',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v') {
    console.log(moatVersion());
    return 0;
  }
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    console.log(usage());
    return first === undefined ? 2 : 0;
  }
  // Two-word commands (`cert show`) are matched before one-word ones (`cert`).
  const twoWords = rest[0] !== undefined ? `${first} ${rest[0]}` : undefined;
  const command = commands.find((c) => c.name === twoWords) ?? commands.find((c) => c.name === first);
  if (!command) {
    console.error(`moat: unknown command "${first}"\n\n${usage()}`);
    return 2;
  }
  const args = command.name === twoWords ? rest.slice(1) : rest;
  const run = await command.load();
  return (await run(args)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof CliError || error instanceof ConfigError) {
      console.error(`moat: ${error.message}`);
      process.exitCode = 2;
    } else {
      console.error('moat: unexpected error:', error);
      process.exitCode = 1;
    }
  },
);
