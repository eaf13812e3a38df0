import { createHmac, randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import type { AccessCodeEntry, MoatConfig, Role } from '../config/schema.js';

/**
 * LAN access codes: what slicers, Home Assistant and scripts type where they would type the printer's
 * access code. Stored only as scrypt hashes; checked in constant time.
 */

const scryptN = 16384;
const scryptR = 8;
const scryptP = 1;
const keyLength = 32;

function scryptAsync(secret: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, { N: n, r, p, maxmem: 128 * n * r * 2 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, scryptN, scryptR, scryptP);
  return ['scrypt', scryptN, scryptR, scryptP, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/**
 * Every scrypt verification is published here (`start`, then `end`): what a flood of logins really costs is
 * measured, not guessed from timings.
 */
export const scryptChannel = channel('moat:auth:scrypt-verify');

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const powerOfTwo = Number.isInteger(n) && n > 1 && n <= 1 << 20 && (n & (n - 1)) === 0;
  if (!powerOfTwo || ![r, p].every((v) => Number.isInteger(v) && v > 0 && v <= 16)) return false;
  const expected = Buffer.from(parts[5] as string, 'base64url');
  const salt = Buffer.from(parts[4] as string, 'base64url');
  if (expected.length !== keyLength || salt.length === 0) return false;
  scryptChannel.publish({ phase: 'start' });
  try {
    const actual = await scryptAsync(secret, salt, n, r, p);
    return timingSafeEqual(expected, actual);
  } finally {
    scryptChannel.publish({ phase: 'end' });
  }
}

// No 0/O/1/l/I: the code is read off a screen and typed into a slicer.
const codeAlphabet = 'abcdefghijkmnpqrstuvwxyz23456789';

/** Eight characters, as Bambu clients expect of an access code; ~40 bits, guarded by login delays. */
export function generateAccessCode(length = 8): string {
  let code = '';
  for (let i = 0; i < length; i++) code += codeAlphabet[randomInt(codeAlphabet.length)];
  return code;
}

export async function createAccessCode(
  label: string,
  role: Role,
  code = generateAccessCode(),
): Promise<{ entry: AccessCodeEntry; code: string }> {
  const entry: AccessCodeEntry = {
    id: randomBytes(8).toString('hex'),
    label,
    role,
    hash: await hashSecret(code),
    createdAt: new Date().toISOString(),
  };
  return { entry, code };
}

const roleRank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAllows(have: Role, need: Role): boolean {
  return roleRank[have] >= roleRank[need];
}

/**
 * Finds the access code entry a presented code belongs to. scrypt is deliberately slow, so a code that
 * verified once is remembered under a keyed hash (never the code itself) for the life of the process,
 * and a code already being checked is not checked again alongside: clients that reconnect together (after
 * Moat restarts, say) present the same code at once, and each check costs 16 MiB and ~50 ms per entry tried.
 */
export class AccessCodeVerifier {
  private readonly cacheKey = randomBytes(32);
  private readonly verified = new Map<string, string>();
  private readonly checking = new Map<string, Promise<AccessCodeEntry | undefined>>();

  constructor(private readonly getConfig: () => Pick<MoatConfig, 'accessCodes'>) {}

  verify(code: string): Promise<AccessCodeEntry | undefined> {
    if (code.length === 0 || code.length > 128) return Promise.resolve(undefined);
    const entries = this.getConfig().accessCodes;
    const digest = createHmac('sha256', this.cacheKey).update(code).digest('base64url');
    const cachedId = this.verified.get(digest);
    if (cachedId !== undefined) {
      const cached = entries.find((e) => e.id === cachedId);
      if (cached) return Promise.resolve(cached);
      this.verified.delete(digest);
    }
    let check = this.checking.get(digest);
    if (check === undefined) {
      check = this.check(code, digest, entries).finally(() => this.checking.delete(digest));
      this.checking.set(digest, check);
    }
    return check;
  }

  private async check(
    code: string,
    digest: string,
    entries: readonly AccessCodeEntry[],
  ): Promise<AccessCodeEntry | undefined> {
    for (const entry of entries) {
      if (await verifySecret(code, entry.hash)) {
        this.verified.set(digest, entry.id);
        return entry;
      }
    }
    return undefined;
  }
}
