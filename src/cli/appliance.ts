import { randomInt } from 'node:crypto';
import { isValidPassphrase } from '../appliance/access-point.js';
import { removeStaleHostFiles, renderHostFiles, writeHostFiles } from '../appliance/host-files.js';
import { readSecret, writeSecret } from '../config/secrets.js';
import type { StatePaths } from '../config/state-dir.js';
import { ensureStateDir, loadConfig } from '../config/store.js';
import { parseCommandArgs, resolveStatePaths } from './common.js';
import { CliError } from './errors.js';

const usage = 'usage: moat appliance render --out DIR [--state-dir DIR]   (--out / writes the live system files)';

// No look-alike characters: the owner may have to type the passphrase on a printer's touch screen.
const passphraseAlphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** The access point's passphrase; a fresh appliance gets a random one (never logged, never printed). */
function segmentPassphrase(paths: StatePaths): string {
  const stored = readSecret(paths, 'segment-passphrase')?.trim();
  if (stored !== undefined) {
    if (!isValidPassphrase(stored))
      throw new CliError('the stored segment passphrase is not 8 to 63 printable ASCII characters; set a new one');
    return stored;
  }
  const fresh = Array.from({ length: 20 }, () => passphraseAlphabet[randomInt(passphraseAlphabet.length)]).join('');
  ensureStateDir(paths);
  writeSecret(paths, 'segment-passphrase', fresh);
  console.log('created a new printer Wi-Fi passphrase (shown in the setup page)');
  return fresh;
}

/** Writes the host configuration generated from Moat's settings below --out. */
export async function runRender(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { out: { type: 'string' } }, usage);
  if (typeof values.out !== 'string' || values.out === '') throw new CliError(`--out is required\n${usage}`);
  const paths = resolveStatePaths(values);
  const config = loadConfig(paths);
  const files = renderHostFiles(config, segmentPassphrase(paths));
  for (const written of writeHostFiles(values.out, files)) console.log(`wrote ${written}`);
  for (const removed of removeStaleHostFiles(values.out, files)) console.log(`removed ${removed}`);
  return 0;
}
