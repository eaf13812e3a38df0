import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { hashSecret, verifySecret } from '../auth/access-codes.js';
import { writeFileAtomic } from '../config/atomic-file.js';
import { deleteSecret, readSecret, writeSecret } from '../config/secrets.js';
import type { StatePaths } from '../config/state-dir.js';

/**
 * The first-boot claim: until an admin password exists, only someone holding the device's one-time claim
 * code (printed on the console and written to the boot partition) may set it. Moat keeps only a scrypt
 * hash of the code; the clear code lives in the claim file, which disappears with the claim.
 */

// No 0/O/1/l/I: the code is read off a screen or a file and typed by hand.
const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
const groups = 4;
const groupLength = 5;
/** 20 symbols of 32: 100 bits, far beyond guessing even without the rate limit. */
export const claimCodeBits = groups * groupLength * Math.log2(alphabet.length);

export function generateClaimCode(): string {
  const parts: string[] = [];
  for (let g = 0; g < groups; g++) {
    let part = '';
    for (let i = 0; i < groupLength; i++) part += alphabet[randomInt(alphabet.length)];
    parts.push(part);
  }
  return parts.join('-');
}

/** What a person may type: any case, spaces or dashes anywhere. Returns undefined when it cannot be a code. */
export function normalizeClaimCode(input: string): string | undefined {
  const compact = input.toLowerCase().replace(/[\s-]/g, '');
  if (compact.length !== groups * groupLength || ![...compact].every((c) => alphabet.includes(c))) return undefined;
  const parts: string[] = [];
  for (let g = 0; g < groups; g++) parts.push(compact.slice(g * groupLength, (g + 1) * groupLength));
  return parts.join('-');
}

export function isClaimed(paths: StatePaths): boolean {
  return readSecret(paths, 'admin-password') !== undefined;
}

/** The code in the claim file; undefined when absent or not a code, `unreadable` when it cannot be read. */
function readClaimFile(claimFile: string): string | undefined | 'unreadable' {
  if (!existsSync(claimFile)) return undefined;
  let text: string;
  try {
    text = readFileSync(claimFile, 'utf8');
  } catch {
    return 'unreadable';
  }
  const match = /claim code:\s*([a-z2-9-]+)/i.exec(text);
  return match?.[1] ? normalizeClaimCode(match[1]) : undefined;
}

export interface ClaimCodeState {
  /** The code, when this process knows it (it made it, or read it from the claim file). */
  code?: string;
  /** False when an existing code was kept. */
  created: boolean;
  /** Why the claim file could not be read or written, when that happened. */
  problem?: string;
}

/**
 * Makes sure an unclaimed device has a claim code: keeps the one in the claim file when it matches the
 * stored hash (so `moat init` and every restart show the same code), otherwise makes a new one. A code
 * that exists is never replaced by one the owner could not see: when the claim file cannot be read or
 * written (the service runs without root, the boot partition belongs to root), the stored code stays.
 * Returns undefined once the device is claimed.
 */
export async function ensureClaimCode(paths: StatePaths, claimFile: string): Promise<ClaimCodeState | undefined> {
  if (isClaimed(paths)) return undefined;
  const stored = readSecret(paths, 'claim-code');
  const existing = readClaimFile(claimFile);
  if (stored && existing === 'unreadable')
    return { created: false, problem: `cannot read ${claimFile}; the code in it still works` };
  if (stored && existing && (await verifySecret(existing, stored))) return { code: existing, created: false };
  const code = generateClaimCode();
  let problem: string | undefined;
  try {
    mkdirSync(dirname(claimFile), { recursive: true });
    writeFileAtomic(
      claimFile,
      `Moat claim code: ${code}\n\nOpen https://moat.local and enter this code to set the admin password.\n` +
        'It works once; this file is removed when the device is claimed.\n',
      0o600,
    );
  } catch (error) {
    problem = `cannot write ${claimFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
    if (stored) return { created: false, problem: `${problem}; the earlier code still works` };
  }
  writeSecret(paths, 'claim-code', await hashSecret(code));
  return { code, created: true, ...(problem && { problem: `${problem}; the code is shown only here` }) };
}

/** True when the input is the device's current claim code. Constant-time via scrypt; false once claimed. */
export async function checkClaimCode(paths: StatePaths, input: string): Promise<boolean> {
  const code = normalizeClaimCode(input);
  const stored = readSecret(paths, 'claim-code');
  if (!code || !stored || isClaimed(paths)) return false;
  return verifySecret(code, stored);
}

export interface ClaimResult {
  claimed: boolean;
  /** The claim file could not be removed (the code is dead all the same). */
  claimFileLeft?: string;
}

let claiming: Promise<unknown> = Promise.resolve();

/**
 * Sets the admin password with the claim code, which dies in the same step. Claims run one at a time, so
 * two requests racing with the right code cannot both succeed.
 */
export function claimDevice(
  paths: StatePaths,
  claimFile: string,
  input: string,
  adminPassword: string,
): Promise<ClaimResult> {
  const attempt = claiming.then(async (): Promise<ClaimResult> => {
    if (!(await checkClaimCode(paths, input))) return { claimed: false };
    writeSecret(paths, 'admin-password', await hashSecret(adminPassword));
    deleteSecret(paths, 'claim-code');
    try {
      rmSync(claimFile, { force: true });
      return { claimed: true };
    } catch (error) {
      return { claimed: true, claimFileLeft: (error as NodeJS.ErrnoException).code ?? 'error' };
    }
  });
  claiming = attempt.catch(() => undefined);
  return attempt;
}
