import { loadServerIdentity } from '../certs/identity.js';
import { ensureClaimCode } from '../claim/claim.js';
import { loadConfig, saveConfig } from '../config/store.js';
import { parseCommandArgs, resolveStatePaths } from './common.js';

/**
 * First boot (and any time after): state directory, configuration file, CA and server certificate, and —
 * while no admin password is set — the claim code and its file. Safe to run again: it keeps what exists.
 */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {}, 'usage: moat init [--state-dir DIR]');
  const paths = resolveStatePaths(values);
  const config = saveConfig(paths, loadConfig(paths));
  const identity = await loadServerIdentity(paths, config);
  console.log(`state directory: ${paths.root}`);
  console.log(`CA certificate: ${paths.caCert}\n  SHA-256: ${identity.caFingerprint256}`);
  const claim = await ensureClaimCode(paths, config.web.claimFile);
  if (claim?.code) {
    console.log(`claim code: ${claim.code}${claim.created ? '' : ' (unchanged)'}`);
    if (!claim.problem)
      console.log(`  also written to ${config.web.claimFile}; enter it on the setup page to set the admin password`);
  }
  if (claim?.problem) console.error(`moat: ${claim.problem}`);
  if (!claim) {
    console.log('already claimed: the admin password is set');
  }
  return 0;
}
