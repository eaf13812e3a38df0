import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import type { StatePaths } from './state-dir.js';

/**
 * Secrets Moat must be able to read back in clear (the printer's access code, the printer segment's
 * Wi-Fi passphrase, the session key) live one per file, mode 0600, in a 0700 directory. They are never
 * part of the configuration object, so they cannot leak through it into logs or API answers.
 */
export type SecretName =
  | `printer-${string}`
  | 'segment-passphrase'
  | 'session-key'
  | 'admin-password'
  | 'claim-code'
  | 'metrics-token';

const secretNamePattern = /^[A-Za-z0-9-]{1,64}$/;

function secretPath(paths: StatePaths, name: SecretName): string {
  if (!secretNamePattern.test(name)) throw new Error('invalid secret name');
  return join(paths.secrets, name);
}

export function printerSecretName(serial: string): SecretName {
  return `printer-${serial}`;
}

export function writeSecret(paths: StatePaths, name: SecretName, value: string): void {
  writeFileAtomic(secretPath(paths, name), value, 0o600);
}

export function readSecret(paths: StatePaths, name: SecretName): string | undefined {
  const path = secretPath(paths, name);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

export function deleteSecret(paths: StatePaths, name: SecretName): void {
  rmSync(secretPath(paths, name), { force: true });
}
