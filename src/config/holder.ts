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

/**
 * A part of the running configuration, as one printer's front sees it: each read narrows the holder's current
 * configuration (so settings read at each login stay live), and a change goes to the holder, whole.
 */
export class ConfigView extends ConfigHolder {
  private source: MoatConfig | undefined;
  private narrowed: MoatConfig | undefined;

  constructor(
    private readonly holder: ConfigHolder,
    paths: StatePaths,
    private readonly narrow: (config: MoatConfig) => MoatConfig,
  ) {
    super(paths, narrow(holder.get()));
  }

  override get(): MoatConfig {
    const current = this.holder.get();
    if (current !== this.source || this.narrowed === undefined) {
      this.source = current;
      this.narrowed = this.narrow(current);
    }
    return this.narrowed;
  }

  override update(change: (config: MoatConfig) => MoatConfig): MoatConfig {
    return this.holder.update(change);
  }
}
