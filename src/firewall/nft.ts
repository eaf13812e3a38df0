import { execFile } from 'node:child_process';
import { tableFamily, tableName } from './render.js';

/** Runs nft with the given arguments, feeding `input` on stdin; rejects with nft's own message. */
export function runNft(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('nft', args, { timeout: 15000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const detail = stderr.trim() || error.message;
        reject(new Error(`nft ${args.join(' ')}: ${detail}`));
      } else {
        resolve(stdout);
      }
    });
    // nft exits without reading stdin on some errors: a broken pipe then is nft's error, reported above.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

/** Checks a ruleset file without applying it (`nft -c -f`). */
export async function checkRulesetText(text: string): Promise<void> {
  await runNft(['-c', '-f', '-'], text);
}

/** Applies a ruleset file in one transaction (`nft -f`). */
export async function applyRulesetText(text: string): Promise<void> {
  await runNft(['-f', '-'], text);
}

/** Whether nft can run here (installed, and allowed to talk to the kernel). */
export async function nftUsable(): Promise<boolean> {
  try {
    await runNft(['-c', '-f', '-'], 'table inet moat_probe\n');
    return true;
  } catch {
    return false;
  }
}

export interface LiveRule {
  chain: string;
  comment?: string;
  /** Present when the rule has a counter. */
  counter?: { packets: number; bytes: number };
}

export interface LiveChain {
  name: string;
  hook?: string;
  policy?: string;
}

/** An element of a set with per-element counters: its key (one value, or the parts of a concatenation). */
export interface LiveSetElement {
  key: (string | number)[];
  counter?: { packets: number; bytes: number };
}

export interface LiveSet {
  name: string;
  elements: LiveSetElement[];
}

export interface LiveTable {
  sets: LiveSet[];
  chains: LiveChain[];
  rules: LiveRule[];
}

type NftCounter = { packets: number; bytes: number };
type NftValue = string | number | { concat: (string | number)[] };
interface NftJsonItem {
  set?: { name: string; elem?: (NftValue | { elem: { val: NftValue; counter?: NftCounter } })[] };
  chain?: { family: string; table: string; name: string; hook?: string; policy?: string };
  rule?: { family: string; table: string; chain: string; comment?: string; expr?: Record<string, unknown>[] };
}

function liveElement(item: NonNullable<NonNullable<NftJsonItem['set']>['elem']>[number]): LiveSetElement {
  const withCounter = typeof item === 'object' && 'elem' in item ? item.elem : undefined;
  const value = withCounter ? withCounter.val : (item as NftValue);
  const key = typeof value === 'object' ? value.concat : [value];
  const counter = withCounter?.counter;
  return { key, ...(counter && { counter: { packets: counter.packets, bytes: counter.bytes } }) };
}

/** Parses the output of `nft -j list table` (Moat's table), e.g. read in another network namespace by a test. */
export function parseTableJson(out: string): LiveTable {
  const items = (JSON.parse(out) as { nftables: NftJsonItem[] }).nftables;
  const table: LiveTable = { sets: [], chains: [], rules: [] };
  for (const item of items) {
    if (item.set) table.sets.push({ name: item.set.name, elements: (item.set.elem ?? []).map(liveElement) });
    if (item.chain) {
      table.chains.push({
        name: item.chain.name,
        ...(item.chain.hook !== undefined && { hook: item.chain.hook }),
        ...(item.chain.policy !== undefined && { policy: item.chain.policy }),
      });
    }
    if (item.rule) {
      const counter = item.rule.expr?.find((e) => 'counter' in e)?.counter as NftCounter | undefined;
      table.rules.push({
        chain: item.rule.chain,
        ...(item.rule.comment !== undefined && { comment: item.rule.comment }),
        ...(counter && { counter: { packets: counter.packets, bytes: counter.bytes } }),
      });
    }
  }
  return table;
}

/** Reads Moat's table back through `nft -j`; undefined when it is not loaded. */
export async function listTable(): Promise<LiveTable | undefined> {
  let out: string;
  try {
    out = await runNft(['-j', 'list', 'table', tableFamily, tableName]);
  } catch (error) {
    if (/No such file or directory/.test((error as Error).message)) return undefined;
    throw error;
  }
  return parseTableJson(out);
}

/**
 * Lists the table as nft prints it, counters zeroed and set contents left out (`-t`: the dropped-ports set
 * fills as the printer is refused), so two listings of the same rules compare equal.
 */
export async function listTableText(): Promise<string | undefined> {
  try {
    const text = await runNft(['-t', 'list', 'table', tableFamily, tableName]);
    return text.replace(/counter packets \d+ bytes \d+/g, 'counter packets 0 bytes 0');
  } catch (error) {
    if (/No such file or directory/.test((error as Error).message)) return undefined;
    throw error;
  }
}

/** Deletes Moat's table; a table that is not there is already removed. */
export async function deleteTable(): Promise<void> {
  try {
    await runNft(['delete', 'table', tableFamily, tableName]);
  } catch (error) {
    if (!/No such file or directory/.test((error as Error).message)) throw error;
  }
}
