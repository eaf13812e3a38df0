import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cloudAccessOn, type MoatConfig } from '../config/schema.js';
import { lanSubnets } from '../net/lan-addresses.js';
import type { DroppedPort } from '../status.js';
import { applyRulesetText, deleteTable, type LiveTable, listTable, listTableText } from './nft.js';
import { buildRuleset, droppedPortsSet, type FirewallFacts, type FirewallRuleset, renderRuleset } from './render.js';

/**
 * Applying, verifying and removing Moat's table, and the forwarding switches that go with it. The last
 * applied listing (as nft printed it back) is kept in a file so a later `moat firewall check`, in another
 * process, can also spot a rule changed in place, not only one deleted or added.
 */
const ipv4Forwarding = '/proc/sys/net/ipv4/ip_forward';
const ipv6Forwarding = '/proc/sys/net/ipv6/conf/all/forwarding';

export function firewallFacts(config: MoatConfig): FirewallFacts {
  return { lanSubnets: lanSubnets(config) };
}

/** Rule-by-rule differences between the rendered ruleset and the live table; empty when they agree. */
export function compareRuleset(expected: FirewallRuleset, live: LiveTable | undefined): string[] {
  if (!live) return ['table inet moat is not loaded'];
  const problems: string[] = [];
  for (const chain of expected.chains) {
    const liveChain = live.chains.find((c) => c.name === chain.name);
    if (!liveChain) {
      problems.push(`chain ${chain.name} is missing`);
      continue;
    }
    const policy = /policy (\w+);/.exec(chain.base ?? '')?.[1];
    if (policy && liveChain.policy !== policy)
      problems.push(`chain ${chain.name} has policy ${liveChain.policy ?? 'none'}, expected ${policy}`);
    const want = chain.rules.map((r) => r.comment);
    const have = live.rules.filter((r) => r.chain === chain.name).map((r) => r.comment ?? '(rule without comment)');
    for (const comment of want) {
      if (!have.includes(comment)) problems.push(`rule "${comment}" is missing from chain ${chain.name}`);
    }
    for (const comment of have) {
      if (!want.includes(comment)) problems.push(`unexpected rule "${comment}" in chain ${chain.name}`);
    }
    if (problems.length === 0 && want.join('\n') !== have.join('\n'))
      problems.push(`rules of chain ${chain.name} are out of order`);
  }
  for (const chain of live.chains) {
    if (!expected.chains.some((c) => c.name === chain.name)) problems.push(`unexpected chain ${chain.name}`);
  }
  for (const set of expected.sets) {
    if (!live.sets.some((s) => s.name === set.name)) problems.push(`set ${set.name} is missing`);
  }
  for (const set of live.sets) {
    if (!expected.sets.some((s) => s.name === set.name)) problems.push(`unexpected set ${set.name}`);
  }
  return problems;
}

/** What strict cloud access dropped, by protocol and destination port, most packets first (for the dashboard). */
export function droppedPorts(live: LiveTable | undefined): DroppedPort[] {
  const set = live?.sets.find((s) => s.name === droppedPortsSet);
  const ports: DroppedPort[] = [];
  for (const { key, counter } of set?.elements ?? []) {
    const [protocol, port] = key;
    if (typeof protocol === 'string' && typeof port === 'number' && counter) ports.push({ protocol, port, ...counter });
  }
  return ports.sort((a, b) => b.packets - a.packets || a.port - b.port);
}

/** Drop counters by rule comment, for the dashboard. */
export function dropCounters(live: LiveTable | undefined): Record<string, { packets: number; bytes: number }> {
  const counters: Record<string, { packets: number; bytes: number }> = {};
  for (const rule of live?.rules ?? []) {
    if (rule.comment && rule.counter) counters[rule.comment] = rule.counter;
  }
  return counters;
}

interface AppliedRecord {
  renderedSha256: string;
  listing: string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function readApplied(file: string | undefined): AppliedRecord | undefined {
  if (!file) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as AppliedRecord;
  } catch {
    return undefined;
  }
}

function readSwitch(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** IPv4 forwarding only with cloud access; IPv6 forwarding always off (the printer segment is IPv4 only, and
 * turning it on would make the Pi ignore router advertisements on the LAN). */
export function setForwarding(cloudAccess: boolean): void {
  writeSwitch(ipv4Forwarding, cloudAccess ? '1' : '0');
  if (readSwitch(ipv6Forwarding) !== undefined) writeSwitch(ipv6Forwarding, '0');
}

/**
 * On the appliance the service runs with ProtectKernelTunables (/proc/sys read-only) and the host's sysctl
 * drop-in, rendered from the same configuration, sets forwarding. A switch that already has the wanted value
 * is therefore fine; one that differs and cannot be written is an error that says so.
 */
function writeSwitch(file: string, wanted: '0' | '1'): void {
  try {
    writeFileSync(file, `${wanted}\n`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!['EROFS', 'EACCES', 'EPERM'].includes(code ?? '')) throw error;
    if (readSwitch(file) !== wanted)
      throw new Error(
        `${file} is ${readSwitch(file)} but must be ${wanted}, and this process may not change it (${code})`,
      );
  }
}

function forwardingProblems(cloudAccess: boolean): string[] {
  const problems: string[] = [];
  const v4 = readSwitch(ipv4Forwarding);
  if (v4 !== undefined && v4 !== (cloudAccess ? '1' : '0'))
    problems.push(`IPv4 forwarding is ${v4 === '1' ? 'on' : 'off'} but cloud access is ${cloudAccess ? 'on' : 'off'}`);
  const v6 = readSwitch(ipv6Forwarding);
  if (v6 !== undefined && v6 !== '0') problems.push('IPv6 forwarding is on');
  return problems;
}

/** Everything wrong with the live firewall compared with what the configuration renders. */
export async function checkFirewall(config: MoatConfig, appliedFile?: string): Promise<string[]> {
  const ruleset = buildRuleset(config, firewallFacts(config));
  const problems = compareRuleset(ruleset, await listTable());
  const applied = readApplied(appliedFile);
  if (problems.length === 0 && applied && applied.renderedSha256 === sha256(renderRuleset(ruleset))) {
    const listing = await listTableText();
    if (listing !== applied.listing) problems.push('a rule was changed in place since Moat applied the table');
  }
  return [...problems, ...forwardingProblems(cloudAccessOn(config))];
}

/** Applies the rendered table atomically, sets forwarding, reads the table back and reports any difference. */
export async function applyFirewall(config: MoatConfig, appliedFile?: string): Promise<string[]> {
  const ruleset = buildRuleset(config, firewallFacts(config));
  const text = renderRuleset(ruleset);
  await applyRulesetText(text);
  setForwarding(cloudAccessOn(config));
  const problems = compareRuleset(ruleset, await listTable());
  if (appliedFile && problems.length === 0) {
    const record: AppliedRecord = { renderedSha256: sha256(text), listing: (await listTableText()) ?? '' };
    writeFileSync(appliedFile, JSON.stringify(record), { mode: 0o600 });
  }
  return [...problems, ...forwardingProblems(cloudAccessOn(config))];
}

/** Removes Moat's table and turns forwarding off (without the table, nothing may be forwarded). */
export async function removeFirewall(): Promise<void> {
  await deleteTable();
  setForwarding(false);
}

/** Where the last applied listing is kept, below the state directory. */
export function appliedRecordFile(paths: { root: string }): string {
  return join(paths.root, 'firewall-applied.json');
}
