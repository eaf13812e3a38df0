import { EventEmitter } from 'node:events';
import type { MoatConfig } from './schema.js';
import type { StatePaths } from './state-dir.js';
import { loadConfig, saveConfig } from './store.js';

/**
 * The running configuration: read by every part through get(), changed only through update(), which
 * validates, saves atomically and then tells listeners (the firewall re-applies, bridges re-read).
 */
export class ConfigHolder extends EventEmitter<{ change: [MoatConfig, MoatConfig] }> {
  private current: MoatConfig;

  constructor(
    private readonly paths: StatePaths,
    initial: MoatConfig = loadConfig(paths),
  ) {
    super();
    this.current = initial;
  }

  get(): MoatConfig {
    return this.current;
  }

  update(change: (config: MoatConfig) => MoatConfig): MoatConfig {
    const previous = this.current;
    const next = saveConfig(this.paths, change(structuredClone(previous)));
    this.current = next;
    this.emit('change', next, previous);
    return next;
  }
}
