import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic-file.js';
import { defaultConfig, type MoatConfig, parseConfig } from './schema.js';
import type { StatePaths } from './state-dir.js';
import { ConfigError } from './validate.js';

/** Creates the state directory tree with owner-only modes. */
export function ensureStateDir(paths: StatePaths): void {
  mkdirSync(paths.root, { recursive: true, mode: 0o700 });
  mkdirSync(paths.secrets, { recursive: true, mode: 0o700 });
  mkdirSync(paths.tls, { recursive: true, mode: 0o700 });
}

/** Reads and validates the configuration; a missing file gives the defaults. */
export function loadConfig(paths: StatePaths): MoatConfig {
  if (!existsSync(paths.config)) return defaultConfig();
  return parseConfigText(readFileSync(paths.config, 'utf8'), paths.config);
}

export function parseConfigText(text: string, source = 'config'): MoatConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError('', `${source} is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(raw);
}

/**
 * Validates, then writes atomically. A configuration that does not validate is never written, so the
 * previous file stays as it was.
 */
export function saveConfig(paths: StatePaths, config: MoatConfig): MoatConfig {
  const valid = parseConfig(config);
  ensureStateDir(paths);
  writeFileAtomic(paths.config, `${JSON.stringify(valid, null, 2)}\n`, 0o600);
  return valid;
}

/** Applies a change to the stored configuration and saves it: the one way every part updates it. */
export function updateConfig(paths: StatePaths, change: (config: MoatConfig) => MoatConfig | undefined): MoatConfig {
  const current = loadConfig(paths);
  const next = change(structuredClone(current)) ?? current;
  return saveConfig(paths, next);
}
