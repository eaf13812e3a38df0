import { loadConfig } from '../config/store.js';
import { appliedRecordFile, applyFirewall, checkFirewall, firewallFacts, removeFirewall } from '../firewall/manager.js';
import { renderFirewall } from '../firewall/render.js';
import { parseCommandArgs, resolveStatePaths } from './common.js';
import { CliError } from './errors.js';

/** `moat firewall render | apply | check | remove`: Moat's nftables table from the command line. */

export async function runRender(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {}, 'usage: moat firewall render [--state-dir DIR]');
  const config = loadConfig(resolveStatePaths(values));
  process.stdout.write(renderFirewall(config, firewallFacts(config)));
  return 0;
}

function report(problems: string[], ok: string): number {
  if (problems.length === 0) {
    console.log(ok);
    return 0;
  }
  for (const problem of problems) console.log(`problem: ${problem}`);
  return 1;
}

export async function runApply(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {}, 'usage: moat firewall apply [--state-dir DIR]');
  const paths = resolveStatePaths(values);
  const config = loadConfig(paths);
  if (!config.firewall.enabled) throw new CliError('the firewall is disabled in the configuration (firewall.enabled)');
  let problems: string[];
  try {
    problems = await applyFirewall(config, appliedRecordFile(paths));
  } catch (error) {
    throw new CliError(`could not apply the firewall: ${(error as Error).message}`);
  }
  return report(problems, 'firewall applied and verified');
}

export async function runCheck(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, {}, 'usage: moat firewall check [--state-dir DIR]   (exit 1 on drift)');
  const paths = resolveStatePaths(values);
  return report(await checkFirewall(loadConfig(paths), appliedRecordFile(paths)), 'firewall matches the configuration');
}

export async function runRemove(args: string[]): Promise<number> {
  parseCommandArgs(args, {}, 'usage: moat firewall remove');
  await removeFirewall();
  console.log('firewall table removed; forwarding off');
  return 0;
}
