import { writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fixturesDir } from '../../src/paths.js';

/**
 * Puts the stand-in nmcli (fixtures/nmcli) first on PATH for this process, recording every call it receives in
 * `log` and accepting `passphrase` as the one right Wi-Fi passphrase. This machine has no radio; Moat, running
 * in this process, finds the stand-in. Returns what puts the environment back.
 */
export function useNmcliStandin(log: string, passphrase: string): () => void {
  const saved = {
    PATH: process.env.PATH,
    NMCLI_STANDIN_LOG: process.env.NMCLI_STANDIN_LOG,
    NMCLI_STANDIN_PASSPHRASE: process.env.NMCLI_STANDIN_PASSPHRASE,
  };
  process.env.PATH = `${join(fixturesDir, 'nmcli')}${delimiter}${process.env.PATH ?? ''}`;
  process.env.NMCLI_STANDIN_LOG = log;
  process.env.NMCLI_STANDIN_PASSPHRASE = passphrase;
  writeFileSync(log, '');
  return () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}
