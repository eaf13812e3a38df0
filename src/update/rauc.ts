import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { UpdateBundle, UpdateSlot } from '../web/api-types.js';

/**
 * Moat's side of RAUC: everything goes through the `rauc` command (the update engine checks signatures,
 * writes the other slot and switches the boot loader; Moat only asks and reports).
 *
 * MOAT_RAUC_CONF names RAUC's system configuration (default /etc/rauc/system.conf): it holds the keyring and
 * the compatible string, so `rauc info --conf` checks a bundle against the same keyring `rauc install` uses.
 */
export interface RaucOptions {
  /** The rauc command (found on PATH). */
  command: string;
  systemConf: string;
}

export function raucOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RaucOptions {
  return { command: 'rauc', systemConf: env.MOAT_RAUC_CONF || '/etc/rauc/system.conf' };
}

/** A bundle RAUC has refused, with a sentence for the owner. */
export class BundleRefused extends Error {
  override name = 'BundleRefused';
}

/** The bundle's manifest and `signer`, the signing certificate's subject as RAUC names it. */
export type BundleInfo = UpdateBundle;

interface RaucRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runRauc(options: RaucOptions, args: string[], onLine?: (line: string) => void): Promise<RaucRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(options.command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!onLine) return;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error(`the update engine (${options.command}) is not installed`) : error),
    );
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** RAUC's own sentence from its log output: the last line that is not a timestamped progress message. */
function raucProblem(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !/^rauc-(Message|Debug|Info):/.test(line));
  return lines.at(-1) ?? 'no reason given';
}

function refusal(stderr: string): BundleRefused {
  const problem = raucProblem(stderr);
  if (/signature verification failed|Verify error/i.test(problem))
    return new BundleRefused(`The bundle is not signed with this Moat's update key (${problem}).`);
  if (/Bundle format '.*' not allowed/i.test(problem))
    return new BundleRefused(`The bundle is in a format this Moat does not take; only verity bundles (${problem}).`);
  if (/Invalid bundle format|exceeds bundle size|too small|Failed to read|squashfs/i.test(problem))
    return new BundleRefused(`The bundle is damaged or incomplete (${problem}).`);
  return new BundleRefused(`RAUC refused the bundle (${problem}).`);
}

/**
 * Checks a bundle without installing it: the signature against the keyring, the format and size, and the
 * compatible string against this system's. Throws BundleRefused with the reason.
 */
export async function checkBundle(options: RaucOptions, file: string): Promise<BundleInfo> {
  const result = await runRauc(options, ['info', `--conf=${options.systemConf}`, '--output-format=json', file]);
  if (result.code !== 0) throw refusal(result.stderr);
  let info: { compatible?: unknown; version?: unknown; images?: unknown };
  try {
    info = JSON.parse(result.stdout) as typeof info;
  } catch {
    throw new BundleRefused('RAUC described the bundle in a form Moat cannot read.');
  }
  const compatible = String(info.compatible ?? '');
  const expected = await systemCompatible(options);
  if (compatible !== expected)
    throw new BundleRefused(`The bundle is for "${compatible}"; this Moat takes only "${expected}" bundles.`);
  // A bundle without a system image would install nothing into the slot, yet switch the boot to it.
  const images = Array.isArray(info.images) ? (info.images as Record<string, unknown>[]) : [];
  if (!images.some((image) => 'rootfs' in image))
    throw new BundleRefused('The bundle holds no system image (rootfs); it is not a Moat update.');
  const signer = /Verified (?:inline |detached )?signature by '([^']*)'/.exec(result.stderr)?.[1] ?? '';
  return { compatible, version: String(info.version ?? ''), signer };
}

/** The compatible string from RAUC's system configuration (rauc info does not compare it; install does). */
async function systemCompatible(options: RaucOptions): Promise<string> {
  const conf = await readFile(options.systemConf, 'utf8').catch(() => {
    throw new Error(`RAUC's system configuration ${options.systemConf} cannot be read`);
  });
  const compatible = /^compatible\s*=\s*(\S+)\s*$/m.exec(conf)?.[1];
  if (!compatible) throw new Error(`${options.systemConf} names no compatible string`);
  return compatible;
}

/** A root-filesystem slot: its boot name (A/B), running or not, next to boot or not, good/bad, bundle version. */
export type SlotState = UpdateSlot;

export interface SystemState {
  compatible: string;
  booted: string;
  slots: SlotState[];
}

interface RaucStatusJson {
  compatible?: string;
  booted?: string;
  boot_primary?: string;
  slots?: Record<
    string,
    {
      class?: string;
      bootname?: string;
      state?: string;
      boot_status?: string;
      slot_status?: { bundle?: { version?: string } };
    }
  >[];
}

/** `rauc status` of the root-filesystem slots: which one runs, which boots next, what each holds. */
export async function systemState(options: RaucOptions): Promise<SystemState> {
  // status and install go to the RAUC service over D-Bus, which runs with the system's own configuration.
  const result = await runRauc(options, ['status', '--detailed', '--output-format=json']);
  if (result.code !== 0) throw new Error(`rauc status failed: ${raucProblem(result.stderr)}`);
  const status = JSON.parse(result.stdout) as RaucStatusJson;
  const slots: SlotState[] = [];
  for (const entry of status.slots ?? []) {
    for (const [name, slot] of Object.entries(entry)) {
      if (slot.class !== 'rootfs' || !slot.bootname) continue;
      const version = slot.slot_status?.bundle?.version;
      slots.push({
        bootname: slot.bootname,
        booted: slot.state === 'booted',
        primary: status.boot_primary === name,
        bootStatus: slot.boot_status ?? 'unknown',
        ...(version && { version }),
      });
    }
  }
  return { compatible: status.compatible ?? '', booted: status.booted ?? '', slots };
}

export interface InstallProgress {
  percent: number;
  message: string;
}

/**
 * `rauc install`: RAUC writes the slot that is not running and makes it the next to boot; the running
 * system is never touched. Progress lines ("NN% message") are passed on as they come.
 */
export async function installBundle(
  options: RaucOptions,
  file: string,
  onProgress: (progress: InstallProgress) => void,
): Promise<void> {
  const result = await runRauc(options, ['install', file], (line) => {
    const match = /^\s*(\d{1,3})%\s+(.*)$/.exec(line);
    if (match) onProgress({ percent: Number(match[1]), message: match[2] ?? '' });
  });
  // The client prints the service's reason as "LastError: …"; its stderr only says that the install failed.
  const lastError = /^LastError: (.*)$/m.exec(result.stdout)?.[1];
  if (result.code !== 0)
    throw new Error(`RAUC could not install the bundle: ${lastError ?? raucProblem(result.stderr)}`);
}
