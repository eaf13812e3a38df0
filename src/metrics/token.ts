import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { deleteSecret, readSecret, writeSecret } from '../config/secrets.js';
import type { StatePaths } from '../config/state-dir.js';

/**
 * The bearer token a Prometheus server or Home Assistant presents to read /metrics. It is 32 random bytes,
 * shown to the owner once; Moat keeps only its SHA-256. A slow hash (scrypt, as for the admin password)
 * is there to make guessing a human-chosen secret expensive; nobody can guess 256 random bits, so a
 * single SHA-256 is as safe here and costs nothing on each scrape (every 15 s or so, on a small CPU).
 * Metrics are on exactly while a token exists: revoking the token turns them off.
 */
const secretName = 'metrics-token';
const tokenPattern = /^[A-Za-z0-9_-]{43}$/;

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

export function metricsEnabled(paths: StatePaths): boolean {
  return readSecret(paths, secretName) !== undefined;
}

/** A new token (replacing any previous one, which stops working at once); returned once, stored hashed. */
export function issueMetricsToken(paths: StatePaths): string {
  const token = randomBytes(32).toString('base64url');
  writeSecret(paths, secretName, digest(token).toString('hex'));
  return token;
}

export function revokeMetricsToken(paths: StatePaths): void {
  deleteSecret(paths, secretName);
}

/** `off` when no token exists, else whether the presented one is it (compared in constant time). */
export function checkMetricsToken(paths: StatePaths, presented: string | undefined): 'off' | 'ok' | 'refused' {
  const stored = readSecret(paths, secretName)?.trim();
  if (stored === undefined) return 'off';
  if (presented === undefined || !tokenPattern.test(presented) || !/^[0-9a-f]{64}$/.test(stored)) return 'refused';
  return timingSafeEqual(digest(presented), Buffer.from(stored, 'hex')) ? 'ok' : 'refused';
}
